"""Tests of pharmsim.binding: Gaddum steady state, fast limit, slow offset, stiffness, grid independence,
order of accuracy, batching paths, bad input, and the W1 workload against its tight scipy reference."""

import warnings

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from pharmsim.binding import (
    adapt_nodes,
    equilibrium_occupancy,
    iter_kinetic_occupancy,
    kinetic_occupancy,
    make_nodes,
    node_index,
    stage_times,
)
from pharmsim.validate import PharmsimError

# Literal published values (the library rows are data/kinetics.csv, H1):
# buprenorphine at MOR, Yassen 2007 Clin Pharmacokinet 46:965 (doi:10.2165/00003088-200746110-00004):
# koff 0.0172 /min = 1.032 /h; kon 0.203 mL/(ng*min) = 0.203 * 467.65/1000 * 60 = 5.696 /(nM*h).
BUP_KOFF, BUP_KON = 0.0172 * 60, 5.696
# morphine: no published kon/koff found (reference sheet section 3); the W1 workload's values (shared/bench/W1.md:
# kon 1.8 /(nM*h), koff 9 /h, Kd 5 nM) stand in as a fast-dissociating full agonist.
MOR_KOFF, MOR_KON = 9.0, 1.8


def pulse(t, amp, k_in=1.5, k_out=0.3):
    """A smooth Bateman-shaped concentration (nM), zero at t <= 0."""
    t = np.clip(np.asarray(t, dtype=float), 0, None)
    return amp * (np.exp(-k_out * t) - np.exp(-k_in * t))


def ce_three(t):
    """(T, 3) concentrations of three ligands (nM), different shapes."""
    return np.stack([pulse(t, 400.0), pulse(t, 60.0, 3.0, 0.5), pulse(t - 2.0, 30.0, 0.8, 0.2)], axis=-1)


def reference(t_eval, kon, koff, ce_fn, b0=None):
    """Tight solve_ivp (Radau) of the same one-site competition."""
    L = len(kon)

    def rhs(t, b):
        return kon * ce_fn(t) * (1 - b.sum()) - koff * b

    y0 = np.zeros(L) if b0 is None else np.asarray(b0, float)
    sol = solve_ivp(rhs, (t_eval[0], t_eval[-1]), y0, method="Radau", t_eval=t_eval, rtol=1e-11, atol=1e-14)
    assert sol.success
    return sol.y.T


def test_stage_times_layout():
    nodes = np.array([0.0, 0.5, 1.5])
    t = stage_times(nodes)
    assert t.size == 7
    np.testing.assert_array_equal(t[::3], nodes)
    assert np.all(np.diff(t) > 0)


def test_steady_state_equals_gaddum():
    # constant concentrations; buprenorphine (slowest) included; 60 h >> 1/koff
    kon = np.array([0.036, 0.36, BUP_KON])
    koff = np.array([25.0, 25.0, BUP_KOFF])
    ce = np.array([300.0, 20.0, 0.4])
    nodes = make_nodes([0.0, 60.0], max_step_h=0.5)
    B = kinetic_occupancy(nodes, np.broadcast_to(ce, (stage_times(nodes).size, 3)), kon, koff)
    gaddum = equilibrium_occupancy(ce, koff / kon)
    np.testing.assert_allclose(B[0, -1], gaddum, rtol=0, atol=1e-8)


def test_fast_binding_converges_to_equilibrium_path():
    kon = np.array([0.036, 0.36, 1.8])
    koff = np.array([25.0, 5.0, 9.0])
    t = np.linspace(0, 24, 97)
    eq = equilibrium_occupancy(ce_three(t), koff / kon)
    errs = []
    for scale in (1.0, 10.0, 100.0):
        nodes = adapt_nodes(t, ce_three_batch, kon * scale, koff * scale, breakpoints_h=[2.0])
        B = kinetic_occupancy(nodes, ce_three_batch(stage_times(nodes)), kon * scale, koff * scale)
        errs.append(np.abs(B[0, node_index(nodes, t)] - eq).max())
    # the lag behind the equilibrium path shrinks like 1/koff
    assert errs[-1] < 1e-3
    assert all(b < a / 5 for a, b in zip(errs[:-1], errs[1:], strict=False))


def ce_three_batch(times):
    return ce_three(times)[None]


def test_buprenorphine_offset_slower_than_morphine():
    # both held at a constant concentration, then the drug is gone (Ce = 0 after t_off: an idealised jump;
    # the step ending at t_off sees the left limit)
    t_off = 4.0
    grid = np.linspace(0, 12, 49)
    out = {}
    for name, kon, koff, c in (("bup", BUP_KON, BUP_KOFF, 2.0), ("mor", MOR_KON, MOR_KOFF, 40.0)):

        def ce_fn(ts, c=c):
            return np.where(np.asarray(ts) <= t_off, c, 0.0)[None, :, None]

        nodes = adapt_nodes(grid, ce_fn, [kon], [koff], breakpoints_h=[t_off], atol=1e-13, rtol=1e-7)
        out[name] = kinetic_occupancy(nodes, ce_fn(stage_times(nodes)), [kon], [koff])[0, node_index(nodes, grid), 0]
    k = np.searchsorted(grid, [t_off, t_off + 1.0, t_off + 2.0])
    # closed form after washout: B(t) = B(t_off) exp(-koff (t - t_off)) (a single ligand, Ce = 0)
    for name, koff in (("bup", BUP_KOFF), ("mor", MOR_KOFF)):
        expected = out[name][k[0]] * np.exp(-koff * np.array([1.0, 2.0]))
        np.testing.assert_allclose(out[name][k[1:]], expected, rtol=1e-5, atol=1e-13)
    assert out["bup"][k[0]] > 0.9 and out["mor"][k[0]] > 0.85        # both near-saturating before washout
    assert out["bup"][k[1]] > 0.3 * out["bup"][k[0]]             # ~36 % still bound 1 h later
    assert out["mor"][k[1]] < 1e-3 * out["mor"][k[0]]            # morphine gone within the hour


def test_stiff_case_no_warnings_and_matches_reference():
    kon = np.array([0.0036, 0.036, 0.18 * 100])
    koff = np.array([25.0, 5.0, 45.0 * 10])                  # very fast dissociation against hours of PK
    t = np.linspace(0, 24, 49)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            nodes = adapt_nodes(t, ce_three_batch, kon, koff, breakpoints_h=[2.0])
            B = kinetic_occupancy(nodes, ce_three_batch(stage_times(nodes)), kon, koff)[0, node_index(nodes, t)]
    ref = reference(t, kon, koff, lambda s: ce_three(s))
    assert np.abs(B - ref).max() < 1e-6


def test_result_does_not_depend_on_output_grid():
    kon = np.array([0.036, 0.36, 1.8])
    koff = np.array([25.0, 5.0, 9.0])
    coarse = np.linspace(0, 24, 25)
    fine = np.linspace(0, 24, 241)
    # at the default tolerance (rtol 1e-5 on occupancy, fractions <= 1) and at a tight one
    for tol, agree in (({}, 1e-5), (dict(atol=1e-13, rtol=1e-9), 1e-9)):
        res = []
        for grid in (coarse, fine):
            nodes = adapt_nodes(grid, ce_three_batch, kon, koff, breakpoints_h=[2.0], **tol)
            B = kinetic_occupancy(nodes, ce_three_batch(stage_times(nodes)), kon, koff)
            res.append(B[0, node_index(nodes, coarse)])
        assert np.abs(res[0] - res[1]).max() < agree


def test_fifth_order_on_smooth_problem():
    kon = np.array([0.036, 0.36, 1.8])
    koff = np.array([2.5, 0.5, 0.9])      # non-stiff regime: the classical order 5 should show
    t_end = 8.0
    ref = reference(np.array([0.0, 3.0, t_end]), kon, koff, lambda s: ce_three(s))[-1]
    errs = []
    for h in (0.5, 0.25):
        nodes = make_nodes([0.0, 2.0, t_end], max_step_h=h)
        errs.append(np.abs(kinetic_occupancy(nodes, ce_three(stage_times(nodes)), kon, koff)[0, -1] - ref).max())
    assert errs[0] / errs[1] > 2 ** 4.5


def test_population_paths_agree():
    rng = np.random.default_rng(7)
    N = 5
    scale = rng.uniform(0.2, 3.0, N)
    nodes = make_nodes(np.linspace(0, 12, 25), [2.0], 0.25)
    ts = stage_times(nodes)
    ce = ce_three(ts)[None] * scale[:, None, None]                            # (N, T3, L)
    kon = np.array([0.036, 0.36, 1.8])
    koff = np.array([25.0, 5.0, 9.0])
    per_subject = np.stack([kinetic_occupancy(nodes, ce[i], kon, koff)[0] for i in range(N)])
    batched = kinetic_occupancy(nodes, ce, kon, koff)                         # shared-rate path
    general = kinetic_occupancy(nodes, ce, np.tile(kon, (N, 1)), np.tile(koff, (N, 1)))   # per-subject path
    np.testing.assert_allclose(batched, per_subject, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(general, per_subject, rtol=1e-12, atol=1e-15)
    # streaming with two receptor groups sharing the concentrations (batch shape (R=2, N))
    kon2 = np.stack([kon, kon * 0.1], axis=1)[:, :, None]                     # (L, R, 1)
    koff2 = np.stack([koff, koff], axis=1)[:, :, None]
    stream = (c[:, None, :] for c in np.moveaxis(ce, 0, -1))                  # (L, 1, N) each
    out = np.stack([B for _, B in iter_kinetic_occupancy(nodes, stream, kon2, koff2)])   # (T, L, R, N)
    np.testing.assert_allclose(out[:, :, 0].transpose(2, 0, 1), per_subject, rtol=1e-12, atol=1e-15)
    # the same stream grouped by step (the first node, then each step's three stages together): the same numbers
    c = np.moveaxis(ce, 0, -1)[:, :, None, :]                                 # (T3, L, 1, N)
    grouped = [c[0]] + [c[3 * k + 1:3 * k + 4] for k in range(nodes.size - 1)]
    out_g = np.stack([B for _, B in iter_kinetic_occupancy(nodes, grouped, kon2, koff2, by_step=True)])
    np.testing.assert_array_equal(out_g, out)
    # and for per-subject rates (the general path)
    kon_n, koff_n = np.tile(kon, (N, 1)).T, np.tile(koff, (N, 1)).T           # (L, N)
    one = np.stack([B for _, B in iter_kinetic_occupancy(nodes, iter(np.moveaxis(ce, 0, -1)), kon_n, koff_n)])
    grouped_n = [c[0, :, 0]] + [c[3 * k + 1:3 * k + 4, :, 0] for k in range(nodes.size - 1)]
    two = np.stack([B for _, B in iter_kinetic_occupancy(nodes, grouped_n, kon_n, koff_n, by_step=True)])
    np.testing.assert_array_equal(two, one)
    np.testing.assert_allclose(one.transpose(2, 0, 1), per_subject, rtol=1e-12, atol=1e-15)


def test_initial_occupancy_washout():
    nodes = make_nodes([0.0, 2.0], max_step_h=0.1)
    ce = np.zeros((stage_times(nodes).size, 2))
    B = kinetic_occupancy(nodes, ce, [1.0, 1.0], [0.5, 2.0], b0=[0.3, 0.4])[0]
    np.testing.assert_allclose(B[-1], [0.3 * np.exp(-1.0), 0.4 * np.exp(-4.0)], rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(kon=[-1.0, 1.0]), "kon_per_nM_per_h"),
        (dict(koff=[1.0, -2.0]), "koff_per_h"),
        (dict(ce_bad="nan"), "ce_nM"),
        (dict(ce_bad="neg"), "ce_nM"),
        (dict(ce_bad="shape"), "ce_nM must have shape"),
        (dict(kon=[1.0, 1.0, 1.0]), "ligands"),
        (dict(b0=[0.7, 0.6]), "sum to <= 1"),
    ],
)
def test_bad_input(kwargs, match):
    nodes = make_nodes([0.0, 1.0], max_step_h=0.5)
    ce = np.ones((stage_times(nodes).size, 2))
    if kwargs.get("ce_bad") == "nan":
        ce[1, 0] = np.nan
    elif kwargs.get("ce_bad") == "neg":
        ce[1, 0] = -1.0
    elif kwargs.get("ce_bad") == "shape":
        ce = ce[:-1]
    with pytest.raises(PharmsimError, match=match):
        kinetic_occupancy(nodes, ce, kwargs.get("kon", [1.0, 1.0]), kwargs.get("koff", [1.0, 1.0]),
                          b0=kwargs.get("b0"))


def test_equilibrium_and_mesh_errors():
    with pytest.raises(PharmsimError, match="kd_nM"):
        equilibrium_occupancy([1.0, 2.0], [1.0, 0.0])
    with pytest.raises(PharmsimError, match="max_step_h"):
        make_nodes([0.0, 1.0], max_step_h=0.0)
    with pytest.raises(PharmsimError, match="strictly increasing"):
        stage_times([0.0, 0.0, 1.0])
    with pytest.raises(PharmsimError, match="not one of the integration nodes"):
        node_index(make_nodes([0.0, 1.0]), [0.3])
