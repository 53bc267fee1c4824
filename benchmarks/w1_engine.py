"""W1 (../shared/bench/W1.md) written with pharmsim: exact linear PK + Radau binding, batched over subjects.

Used by ``w1_bench.py`` (timing against the peers) and by ``tests/test_binding.py`` (accuracy on three
subjects). The model definition here is independent of the peers' code: only the parameter values and the
dose list (``w1_reference.TYPICAL``, ``population``, ``w1_doses``) are shared, so all tools do the same work.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from pharmsim.binding import RADAU_C, adapt_nodes, iter_kinetic_occupancy, make_nodes, node_index
from pharmsim.linear import Inputs, iter_linear_steps, solve_linear

#: linear states (amounts nmol; Ce in nM)
LIN = ("Ag", "Ac", "Ap", "Mc", "Mg", "Xc", "Ce_MG", "Ce_OH", "Ce_X")
LIGANDS = ("MG", "OH", "X")
OUTPUTS = ("C_MG", "C_OH", "C_X", "E_mu", "E_delta", "Bm_MG", "Bm_OH", "Bm_X", "Bd_MG", "Bd_OH", "Bd_X")
#: local error tolerance of the binding mesh (occupancy fractions); W1 asks 1e-5 absolute
ATOL, RTOL = 1e-10, 1e-5


def _params(typical: dict, pop: dict) -> tuple[dict, int]:
    N = len(next(iter(pop.values())))
    p = {k: np.broadcast_to(np.asarray(v, dtype=float), (N,)) for k, v in {**typical, **pop}.items()}
    return p, N


def linear_matrix(p: dict) -> np.ndarray:
    """(N, 9, 9) matrix of the PK + effect-site system in 1/h, states ``LIN``."""
    N = p["CL"].shape[0]
    A = np.zeros((N, 9, 9))
    k10, k12, k21 = p["CL"] / p["Vc"], p["Q"] / p["Vc"], p["Q"] / p["Vp"]
    A[:, 0, 0] = -p["ka"]
    A[:, 1, 0], A[:, 1, 1], A[:, 1, 2] = p["ka"], -(k10 + k12), k21
    A[:, 2, 1], A[:, 2, 2] = k12, -k21
    A[:, 3, 1], A[:, 3, 3] = p["fm"] * k10, -p["CLm"] / p["Vm"]
    A[:, 4, 4] = -p["kax"]
    A[:, 5, 4], A[:, 5, 5] = p["kax"], -p["CLx"] / p["Vx"]
    A[:, 6, 1], A[:, 6, 6] = p["ke0_MG"] * p["fu_MG"] / p["Vc"], -p["ke0_MG"]
    A[:, 7, 3], A[:, 7, 7] = p["ke0_OH"] * p["fu_OH"] / p["Vm"], -p["ke0_OH"]
    A[:, 8, 5], A[:, 8, 8] = p["ke0_X"] * p["fu_X"] / p["Vx"], -p["ke0_X"]
    return A


def dose_inputs(p: dict, doses) -> Inputs:
    """Boluses of bioavailable amounts (nmol) into the gut depots."""
    bio = {"Ag": p["F"], "Mg": p["F_X"]}
    return Inputs(bolus_time_h=np.array([t for t, _, _ in doses], dtype=float),
                  bolus_state=np.array([LIN.index(s) for _, s, _ in doses]),
                  bolus_amount=np.stack([bio[s] * a for _, s, a in doses], axis=1))


def _rates(p: dict, kind: str) -> np.ndarray:
    """(R=2, L=3) array of ``kind`` in ('kon', 'koff', 'tau') for mu then delta (typical values)."""
    return np.array([[float(p[f"{kind}_{r}_{lig}"][0]) for lig in LIGANDS] for r in "md"])


def pilot_subjects(pop: dict) -> np.ndarray:
    """Subjects used to adapt the mesh: the extremes (min and max) of every varying parameter and the median
    of the first one; at most 2 P + 1 subjects."""
    idx = set()
    for v in pop.values():
        v = np.asarray(v)
        idx.update((int(v.argmin()), int(v.argmax())))
    first = np.asarray(next(iter(pop.values())))
    idx.add(int(np.argsort(first)[first.size // 2]))
    return np.array(sorted(idx))


def w1_nodes(typical: dict, pop: dict, doses, grid, atol=ATOL, rtol=RTOL) -> np.ndarray:
    """Integration nodes for the binding, adapted on the pilot subjects at mu and delta together."""
    pilot = pilot_subjects(pop)
    sub = {k: np.asarray(v)[pilot] for k, v in pop.items()}
    p, n = _params(typical, sub)
    A, inp = linear_matrix(p), dose_inputs(p, doses)

    def ce_fn(t):
        ce = solve_linear(A, t, inp, observe=[6, 7, 8])
        return np.concatenate([ce, ce])          # mu rows, then delta rows

    kon, koff = _rates(p, "kon"), _rates(p, "koff")
    kon_b = np.repeat(kon, n, axis=0)            # (2n, L)
    koff_b = np.repeat(koff, n, axis=0)
    return adapt_nodes(grid, ce_fn, kon_b, koff_b, breakpoints_h=[t for t, _, _ in doses], atol=atol, rtol=rtol)


def simulate(typical: dict, pop: dict, doses, grid, nodes=None, workers: int = 1) -> np.ndarray:
    """W1 outputs (N, len(grid), 11) in the order ``OUTPUTS``.

    PK and effect sites: ``pharmsim.linear.iter_linear_steps`` (exact; whole state at the nodes, the three
    effect-site rows at the inner Radau stages); binding at mu and delta:
    ``pharmsim.binding.iter_kinetic_occupancy`` on the adapted nodes, both receptors in one batch
    (batch shape (2, N)); responses: operational model with n = 1. With ``workers`` > 1 the population is
    cut into that many contiguous blocks, solved batched in as many threads (numpy releases the GIL in its
    array loops) on the same nodes; the result agrees with one thread to round-off (about 1e-13: each block's
    matrix exponentials pick their Pade degree from that block's largest norm).
    """
    p, N = _params(typical, pop)
    if nodes is None:
        nodes = w1_nodes(typical, pop, doses, grid)
    out = np.empty((len(OUTPUTS), grid.size, N))                     # population last while filling
    workers = max(1, min(int(workers), N))
    bounds = np.linspace(0, N, workers + 1).astype(int)
    blocks = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    if workers == 1:
        _simulate_block(p, doses, grid, nodes, out)
    else:
        with ThreadPoolExecutor(workers) as ex:
            list(ex.map(lambda sl: _simulate_block({k: v[sl] for k, v in p.items()}, doses, grid, nodes,
                                                   out[..., sl]), blocks))
    return out.transpose(2, 1, 0)


def _simulate_block(p: dict, doses, grid, nodes, out: np.ndarray) -> None:
    """Fill ``out`` (11, T, n) with the W1 outputs of the subjects in ``p``."""
    A, inp = linear_matrix(p), dose_inputs(p, doses)
    keep = np.zeros(nodes.size, dtype=bool)
    keep[node_index(nodes, grid)] = True
    kon, koff, tau = _rates(p, "kon"), _rates(p, "koff"), _rates(p, "tau")
    inv_V = 1.0 / np.stack([p["Vc"], p["Vm"], p["Vx"]])             # (3, n)
    conc = []

    def ce_stream():
        # exact PK: the whole state at the nodes, only the three Ce rows at the two inner Radau stages
        steps = iter_linear_steps(A, nodes, RADAU_C[:-1], inp, observe_inside=[6, 7, 8], observe=[1, 3, 5, 6, 7, 8])
        for inside, x in steps:
            if inside is not None:
                yield inside[0][:, None, :]                          # (L, 1, n): shared by mu and delta
                yield inside[1][:, None, :]
            conc.append(x[:3])                                       # central amounts at a node
            yield x[3:, None, :]

    row = 0
    binder = iter_kinetic_occupancy(nodes, ce_stream(), kon.T[:, :, None], koff.T[:, :, None])
    for k, (_, B) in enumerate(binder):                               # B: (L, R, n)
        if keep[k]:
            np.multiply(conc[k], inv_V, out=out[0:3, row])
            out[5:8, row] = B[:, 0]
            out[8:11, row] = B[:, 1]
            row += 1
        conc[k] = None
    S_m = np.einsum("l,ltn->tn", tau[0], out[5:8])
    S_d = np.einsum("l,ltn->tn", tau[1], out[8:11])
    Em = p["Em"]
    out[3] = Em * S_m / (1.0 + S_m)
    out[4] = Em * S_d / (1.0 + S_d)


def default_nodes(grid, doses):
    """The un-adapted mesh (output grid plus dose times), for comparison."""
    return make_nodes(grid, [t for t, _, _ in doses], 0.25)
