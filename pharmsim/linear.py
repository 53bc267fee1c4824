"""Exact solution of linear ODE systems with dosing events, batched over subjects.

A linear compartment model (PK and effect sites) is ``dx/dt = A x + r(t)``, where ``r`` is the
zero-order input of the infusions running at time t and boluses make ``x`` jump. Between two
breakpoints (bolus times, infusion starts and ends, output times) ``r`` is constant and the solution
is exact (Moler & Van Loan 2003, SIAM Rev 45:3, doi:10.1137/S00361445024180)::

    x(t + h) = E(h) x(t) + G(h) r,    E(h) = exp(A h),    G(h) = integral_0^h exp(A s) ds,

with ``E`` and ``G`` read off one matrix exponential of the block matrix ``[[A, I], [0, 0]] * h``
(Van Loan 1978, IEEE Trans Autom Control 23:395, doi:10.1109/TAC.1978.1101743). The block form needs no
inverse of ``A``, so singular systems (accumulator states, no elimination) are fine. ``E`` and ``G``
are computed once per distinct step length and reused: on a uniform grid aligned with the doses a whole
simulation needs one or two matrix exponentials per subject.

Not for: nonlinear systems (saturable elimination, receptor binding); those have their own solvers.
Units are the caller's: typically amounts in nmol, time in h, ``A`` in 1/h.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .validate import PharmsimError, require_finite, require_nonnegative, require_number

__all__ = ["Inputs", "MeshStates", "expm", "iter_linear", "iter_linear_steps", "solve_linear", "solve_on_mesh",
           "step_key", "step_matrices"]

# Pade coefficients b_0..b_m of exp (Higham 2005, SIAM J Matrix Anal Appl 26:1179, doi:10.1137/04061101X,
# eq. 2.8) and the largest 1-norm theta_m for which the degree-m approximant is accurate to double precision
# (Higham 2005, Table 2.3).
_PADE = {
    3: (120.0, 60.0, 12.0, 1.0),
    5: (30240.0, 15120.0, 3360.0, 420.0, 30.0, 1.0),
    7: (17297280.0, 8648640.0, 1995840.0, 277200.0, 25200.0, 1512.0, 56.0, 1.0),
}
_THETA = {3: 1.495585217958292e-2, 5: 2.539398330063230e-1, 7: 9.504178996162932e-1}


#: Mantissa bits kept by :func:`step_key`: steps whose lengths agree to 2**-40 (about 1e-12) *relative*
#: share their step matrices.
_KEY_BITS = 40


def step_key(h):
    """Cache key of a step length (or an array of them): ``h`` with its mantissa rounded to 40 bits.

    Step lengths computed by different arithmetic (``t_(k+1) - t_k`` on a subdivided mesh) differ in their
    last bits; rounding them to about 12 significant digits lets them share one matrix exponential. The
    rounding is *relative*: keys of 1e-12 h and 1e-13 h stay apart (an absolute rounding to 12 decimals
    made every step under 5e-13 h share the key 0 and lost most of a short infusion). Using the matrices of
    the key instead of the exact step perturbs the step by at most ``2**-40 h`` relative. Halving is exact:
    ``step_key(h) / 2 == step_key(h / 2)``.
    """
    m, e = np.frexp(np.asarray(h, dtype=float))
    key = np.ldexp(np.round(np.ldexp(m, _KEY_BITS)), e - _KEY_BITS)
    return float(key) if key.ndim == 0 else key


def _empty_float():
    return np.zeros(0)


def _empty_int():
    return np.zeros(0, dtype=int)


@dataclass(frozen=True)
class Inputs:
    """Dosing inputs to a linear system, in the system's own units (amounts, h).

    Parameters
    ----------
    bolus_time_h : (E,) array
        Times of instantaneous doses.
    bolus_state : (E,) int array
        Index of the state each bolus enters.
    bolus_amount : (E,) or (N, E) array
        Amounts (>= 0); a 2-D array gives each of N subjects its own amounts.
    infusion_start_h, infusion_end_h : (I,) arrays
        Start and end of zero-order infusions (end > start).
    infusion_state : (I,) int array
        Index of the state each infusion enters.
    infusion_rate : (I,) or (N, I) array
        Input rates (amount per h, >= 0).
    """

    bolus_time_h: np.ndarray = field(default_factory=_empty_float)
    bolus_state: np.ndarray = field(default_factory=_empty_int)
    bolus_amount: np.ndarray = field(default_factory=_empty_float)
    infusion_start_h: np.ndarray = field(default_factory=_empty_float)
    infusion_end_h: np.ndarray = field(default_factory=_empty_float)
    infusion_state: np.ndarray = field(default_factory=_empty_int)
    infusion_rate: np.ndarray = field(default_factory=_empty_float)

    def __post_init__(self):
        s = object.__setattr__
        s(self, "bolus_time_h", np.atleast_1d(require_finite("bolus_time_h", self.bolus_time_h, "h")))
        s(self, "bolus_amount", np.atleast_1d(require_nonnegative("bolus_amount", self.bolus_amount)))
        s(self, "bolus_state", _as_index("bolus_state", self.bolus_state))
        s(self, "infusion_start_h", np.atleast_1d(require_finite("infusion_start_h", self.infusion_start_h, "h")))
        s(self, "infusion_end_h", np.atleast_1d(require_finite("infusion_end_h", self.infusion_end_h, "h")))
        s(self, "infusion_rate", np.atleast_1d(require_nonnegative("infusion_rate", self.infusion_rate)))
        s(self, "infusion_state", _as_index("infusion_state", self.infusion_state))
        E = self.bolus_time_h.shape[0]
        if self.bolus_time_h.ndim != 1 or self.bolus_state.shape != (E,) or self.bolus_amount.shape[-1:] != (E,) \
                or self.bolus_amount.ndim > 2:
            raise PharmsimError(
                "bolus_time_h, bolus_state must be 1-D of one length E and bolus_amount (E,) or (N, E); got "
                f"shapes {self.bolus_time_h.shape}, {self.bolus_state.shape}, {self.bolus_amount.shape}"
            )
        n_inf = self.infusion_start_h.shape[0]
        shapes = (self.infusion_start_h.shape, self.infusion_end_h.shape, self.infusion_state.shape)
        if any(sh != (n_inf,) for sh in shapes) or self.infusion_rate.shape[-1:] != (n_inf,) \
                or self.infusion_rate.ndim > 2:
            raise PharmsimError(
                "infusion_start_h, infusion_end_h, infusion_state must be 1-D of one length I and "
                f"infusion_rate (I,) or (N, I); got shapes {shapes} and {self.infusion_rate.shape}"
            )
        bad = self.infusion_end_h <= self.infusion_start_h
        if bad.any():
            i = int(np.argmax(bad))
            raise PharmsimError(
                f"infusion_end_h must be later than infusion_start_h; infusion {i} starts at "
                f"{self.infusion_start_h[i]} h and ends at {self.infusion_end_h[i]} h"
            )

    @property
    def n_subjects(self) -> int:
        """Subjects implied by the amounts (1 when they are shared)."""
        n = [a.shape[0] for a in (self.bolus_amount, self.infusion_rate) if a.ndim == 2]
        return max(n, default=1)


def _as_index(name, value) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(value))
    if arr.size == 0:
        return arr.astype(int)
    if arr.dtype.kind not in "iu":
        raise PharmsimError(f"{name} must hold integer state indices; got {value!r}")
    return arr.astype(int)


def expm(M) -> np.ndarray:
    """Matrix exponential of one (n, n) matrix or of a stack (..., n, n), vectorized over the stack.

    Scaling and squaring with a diagonal Pade approximant (Higham 2005, SIAM J Matrix Anal Appl 26:1179,
    doi:10.1137/04061101X): ``exp(M) = r_m(M / 2^s)^(2^s)``, with ``r_m = q_m^-1 p_m``. One degree
    m in {3, 5, 7} serves the whole stack: the smallest whose threshold theta_m (Higham 2005, Table 2.3)
    covers the largest 1-norm; beyond theta_7 each matrix is scaled by its own 2^-s into the theta_7 ball
    and squared s times. Within that ball ``r_m`` has a backward error below the unit roundoff (Higham 2005,
    Theorem 2.1), and ``q_m(A) / b_0 = I + E`` with ``||E||_1 < 0.6``, so ``q_m`` is strictly column
    diagonally dominant and is solved by Gaussian elimination without pivoting, which is then stable
    (Golub & Van Loan 2013, Thm 3.4.3). Degree 13 is not used: it would need fewer squarings but its
    denominator is not diagonally dominant. The stack is processed by whole-array products and one
    vectorized elimination, not one matrix at a time, which is what makes a population of thousands of
    subjects cheap (scipy.linalg.expm works matrix by matrix).
    """
    M = np.asarray(M, dtype=float)
    if M.ndim < 2 or M.shape[-1] != M.shape[-2]:
        raise PharmsimError(f"expm needs a square matrix or a stack of them (..., n, n); got shape {M.shape}")
    if M.size == 0:
        return M.copy()
    if not np.all(np.isfinite(M)):
        raise PharmsimError("expm needs finite matrix entries; got NaN or infinity")
    n = M.shape[-1]
    stack = M.shape[:-2]
    last = np.ascontiguousarray(np.moveaxis(M.reshape((-1, n, n)), 0, -1))  # (n, n, K): stack last
    return np.ascontiguousarray(np.moveaxis(_expm_last(last), -1, 0)).reshape(stack + (n, n))


def _expm_last(M: np.ndarray) -> np.ndarray:
    """:func:`expm` of a stack stored along the last axis, ``M`` of shape (n, n, K) -> (n, n, K).

    This layout keeps every elementwise operation on long contiguous rows of K values.
    """
    n = M.shape[0]
    norm = np.abs(M).sum(axis=0).max(axis=0)           # 1-norm of each matrix, (K,)
    top = float(norm.max())
    m = next((d for d in (3, 5, 7) if top <= _THETA[d]), 7)
    s = np.zeros(norm.shape, dtype=int)
    if top > _THETA[7]:
        s = np.maximum(0, np.ceil(np.log2(np.maximum(norm, 1e-300) / _THETA[7]))).astype(int)
        M = M * np.ldexp(1.0, -s)
    b = np.asarray(_PADE[m]) / _PADE[m][0]             # scaled so that q_m(A) = I + ...
    eye = np.eye(n)[:, :, None]
    powers = [_matmul_last(M, M)]                       # A^2, A^4, A^6
    for _ in range((m - 1) // 2 - 1):
        powers.append(_matmul_last(powers[-1], powers[0]))
    U = _matmul_last(M, b[1] * eye + sum(b[2 * k + 3] * P for k, P in enumerate(powers)))
    V = b[0] * eye + sum(b[2 * k + 2] * P for k, P in enumerate(powers))
    R = _solve_diagonally_dominant(V - U, V + U)
    for k in range(int(s.max(initial=0))):
        R = np.where(s > k, _matmul_last(R, R), R)
    return R


def _matmul_last(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Matrix products of two stacks stored along the last axis: (n, n, K) x (n, n, K) -> (n, n, K)."""
    return np.einsum("ijk,jlk->ilk", A, B)


def _solve_diagonally_dominant(Q: np.ndarray, P: np.ndarray) -> np.ndarray:
    """``Q^-1 P`` for a stack (n, n, K) of strictly column diagonally dominant ``Q``, stack along the last
    axis, by Gaussian elimination without pivoting, each row operation vectorized over the stack."""
    n = Q.shape[0]
    W = np.concatenate([Q, P], axis=1)                  # augmented [Q | P], (n, 2n, K)
    for k in range(n):
        W[k, k:] /= W[k, k]
        if k + 1 < n:                                   # eliminate column k from every row below at once
            W[k + 1:, k:] -= W[k + 1:, k:k + 1] * W[k:k + 1, k:]
    for k in range(n - 1, 0, -1):                       # back substitution (unit upper triangle)
        W[:k, n:] -= W[:k, k:k + 1] * W[k:k + 1, n:]
    return W[:, n:]


def step_matrices(A: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    """``E = exp(A h)`` and ``G = integral_0^h exp(A s) ds`` for ``A`` of shape (..., n, n).

    Both come from one exponential of the block matrix ``[[A, I], [0, 0]] h`` (Van Loan 1978).
    """
    n = A.shape[-1]
    M = np.zeros(A.shape[:-2] + (2 * n, 2 * n))
    M[..., :n, :n] = A * h
    M[..., :n, n:] = np.eye(n) * h
    F = expm(M)
    return F[..., :n, :n], F[..., :n, n:]


def solve_linear(A, t_h, inputs: Inputs | None = None, x0=None, t_start_h: float = 0.0,
                 observe=None) -> np.ndarray:
    """Exact state trajectories of ``dx/dt = A x + r(t)`` with boluses, on the times ``t_h``.

    Parameters
    ----------
    A : (n, n) or (N, n, n) array
        System matrix (1/h). A 3-D array gives each of N subjects its own matrix.
    t_h : (T,) array
        Output times (h), non-decreasing, all >= ``t_start_h``.
    inputs : Inputs, optional
        Boluses and infusions; event times must be >= ``t_start_h``.
    x0 : (n,) or (N, n) array, optional
        State at ``t_start_h`` (default zeros).
    t_start_h : float
        Start of the simulation.
    observe : sequence of int, optional
        Indices of the states to return (default all); limits memory on long, fine grids.

    Returns
    -------
    numpy.ndarray
        Amounts of shape (N, T, n_observed); N = 1 when nothing is batched. The array may be a
        non-contiguous view (the population is stored along the last axis while solving). A bolus given
        at time t is included in the output at t (right-continuous trajectories).
    """
    out = None
    for k, (_, xk) in enumerate(iter_linear(A, t_h, inputs, x0, t_start_h, observe)):
        if out is None:
            out = np.empty((np.size(t_h),) + xk.shape)
        out[k] = xk
    return np.moveaxis(out, -1, 0)


@dataclass(frozen=True)
class _Setup:
    """The validated, permuted problem shared by the marching solvers (population along the last axis)."""

    A_perm: np.ndarray            # (n, n) or (N, n, n), states permuted so that every block is contiguous
    slices: tuple                 # one slice per independent block
    where: np.ndarray             # where[state] = its position in the permuted order
    x: np.ndarray                 # (n, N) permuted initial state
    bolus_amount: np.ndarray      # (N, E)
    inf_rate: np.ndarray          # (N, I)
    bolus_state: np.ndarray       # permuted
    infusion_state: np.ndarray    # permuted


def _setup(A, inputs: Inputs, x0, observed: dict) -> tuple[_Setup, dict]:
    """Check ``A``, ``x0``, the inputs' states and the observed state lists; permute into independent blocks.

    ``observed`` maps a parameter name to its state list (None = all states); returns their permuted
    positions under the same names.
    """
    A = require_finite("A", A, "1/h")
    if A.ndim not in (2, 3) or A.shape[-1] != A.shape[-2]:
        raise PharmsimError(f"A must be a square (n, n) or batched (N, n, n) matrix; got shape {A.shape}")
    n = A.shape[-1]
    for name, idx in (("bolus_state", inputs.bolus_state), ("infusion_state", inputs.infusion_state)):
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise PharmsimError(f"{name} must index one of the {n} states (0..{n - 1}); got {idx.tolist()}")
    sizes = {A.shape[0] if A.ndim == 3 else 1, inputs.n_subjects}
    if x0 is not None:
        x0 = require_finite("x0", x0)
        if x0.shape[-1:] != (n,) or x0.ndim > 2:
            raise PharmsimError(f"x0 must have shape ({n},) or (N, {n}); got {x0.shape}")
        sizes.add(x0.shape[0] if x0.ndim == 2 else 1)
    sizes.discard(1)
    if len(sizes) > 1:
        raise PharmsimError(f"the number of subjects differs between A, inputs and x0: {sorted(sizes)}")
    N = sizes.pop() if sizes else 1
    positions_in = {}
    for name, idx in observed.items():
        idx = np.arange(n) if idx is None else _as_index(name, idx)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise PharmsimError(f"{name} must index the {n} states (0..{n - 1}); got {idx.tolist()}")
        positions_in[name] = idx
    # propagate each independent block of states with its own (smaller) matrices; states are permuted so
    # that every block is a contiguous slice, the states left out of every block last
    lists = [None if observed[k] is None else positions_in[k] for k in observed]
    blocks, pruned = _propagated_blocks(A, lists or [None])
    perm = np.concatenate([*blocks, pruned]).astype(int)
    where = np.empty(n, dtype=int)
    where[perm] = np.arange(n)
    slices, start = [], 0
    for blk in blocks:
        slices.append(slice(start, start + blk.size))
        start += blk.size
    x = np.zeros((N, n)) if x0 is None else np.broadcast_to(x0, (N, n)).astype(float)
    positions = {name: where[idx] for name, idx in positions_in.items()}
    setup = _Setup(
        A_perm=A[..., perm[:, None], perm[None, :]], slices=tuple(slices), where=where,
        x=np.ascontiguousarray(x.T[perm]),  # (n, N): the population runs along the last, contiguous axis
        bolus_amount=np.broadcast_to(inputs.bolus_amount, (N, inputs.bolus_time_h.size)),
        inf_rate=np.broadcast_to(inputs.infusion_rate, (N, inputs.infusion_start_h.size)),
        bolus_state=where[inputs.bolus_state], infusion_state=where[inputs.infusion_state])
    return setup, positions


def iter_linear(A, t_h, inputs: Inputs | None = None, x0=None, t_start_h: float = 0.0, observe=None):
    """Yield ``(t, amounts)`` at each output time, ``amounts`` of shape (n_observed, N), population last.

    The streaming form of :func:`solve_linear` (same arguments, same exact solution): a caller that
    consumes states as they come (a binding integrator, a running summary) never holds the whole
    trajectory. Each yielded array is a fresh copy.
    """
    inputs = Inputs() if inputs is None else inputs
    t = np.atleast_1d(require_finite("t_h", t_h, "h"))
    t0 = require_number("t_start_h", t_start_h, "h")
    if t.ndim != 1 or t.size == 0:
        raise PharmsimError(f"t_h must be a non-empty 1-D array of times in h; got shape {t.shape}")
    if np.any(np.diff(t) < 0):
        i = int(np.argmax(np.diff(t) < 0))
        raise PharmsimError(f"t_h must be sorted (non-decreasing); t_h[{i + 1}] = {t[i + 1]} < t_h[{i}] = {t[i]}")
    if t[0] < t0:
        raise PharmsimError(f"t_h must be >= t_start_h = {t0} h; got {t[0]} h")
    for name, times in (("bolus_time_h", inputs.bolus_time_h), ("infusion_start_h", inputs.infusion_start_h)):
        if times.size and times.min() < t0:
            raise PharmsimError(f"{name} must be >= t_start_h = {t0} h; got {times.min()} h")
    su, pos = _setup(A, inputs, x0, {"observe": observe})
    obs_perm = pos["observe"]
    for tk, xk in _march(su.A_perm, su.slices, su.x, t, t0, inputs, su.bolus_amount, su.inf_rate, su.bolus_state,
                         su.infusion_state):
        yield tk, xk[obs_perm]


def iter_linear_steps(A, nodes_h, fractions, inputs: Inputs | None = None, x0=None, observe_inside=None,
                      observe=None):
    """Exact states at the nodes of a mesh and, cheaply, chosen states inside each step.

    For an integrator of a nonlinear part driven by the linear states (the kinetic binding driven by
    effect-site concentrations): each step ``[t_k, t_k+1]`` needs a few states at its stage abscissae
    ``t_k + c_j h`` and the whole state at its end. Inside a step there is no event (every bolus time and
    infusion start and end must be a node), so ``x(t_k + c h) = E(c h) x(t_k) + G(c h) r`` (Van Loan
    1978), and only the rows ``observe_inside`` of ``E(c h)`` are applied: with m states of which r are
    observed a stage costs r x m products instead of the m x m of a full step.

    Parameters
    ----------
    A : (n, n) or (N, n, n) array
        System matrix (1/h).
    nodes_h : (T,) array
        Strictly increasing nodes (h); the simulation starts at ``nodes_h[0]`` (state ``x0``).
    fractions : (S,) array
        Stage abscissae ``c_j`` in (0, 1), increasing.
    inputs : Inputs, optional
        Boluses and infusions; every event time must be one of the nodes.
    x0 : (n,) or (N, n) array, optional
    observe_inside, observe : sequence of int, optional
        States returned inside the steps and at the nodes (default all).

    Yields
    ------
    (numpy.ndarray or None, numpy.ndarray)
        First ``(None, x_obs(t_0))``; then per step ``(inside, x_obs(t_k+1))`` with ``inside`` of shape
        (S, n_inside, N) and the node states (n_observed, N), population last, fresh arrays, the node
        state after the boluses given at that node.
    """
    inputs = Inputs() if inputs is None else inputs
    nodes = np.atleast_1d(require_finite("nodes_h", nodes_h, "h"))
    if nodes.ndim != 1 or nodes.size < 1 or np.any(np.diff(nodes) <= 0):
        raise PharmsimError("nodes_h must be a non-empty 1-D array of strictly increasing times in h")
    c = np.atleast_1d(require_finite("fractions", fractions))
    if c.ndim != 1 or np.any(c <= 0) or np.any(c >= 1) or np.any(np.diff(c) <= 0):
        raise PharmsimError(f"fractions must be increasing numbers strictly between 0 and 1; got {c.tolist()}")
    events = np.concatenate([inputs.bolus_time_h, inputs.infusion_start_h, inputs.infusion_end_h])
    off_mesh = events[~np.isin(events, nodes)]
    if off_mesh.size:
        raise PharmsimError(f"every dosing event time must be a node of nodes_h; {off_mesh[:5].tolist()} h are not")
    su, pos = _setup(A, inputs, x0, {"observe": observe, "observe_inside": observe_inside})
    A_perm, slices, x = su.A_perm, su.slices, su.x
    n, N = x.shape
    obs_perm, inside_perm = pos["observe"], pos["observe_inside"]
    bolus_amount, inf_rate = su.bolus_amount, su.inf_rate
    bolus_state, infusion_state = su.bolus_state, su.infusion_state
    # per block: the observed-inside rows (block-local) and where they go in the output
    rows = [(k, np.nonzero((inside_perm >= sl.start) & (inside_perm < sl.stop))[0]) for k, sl in enumerate(slices)]
    rows = [(k, _as_slice(dest), inside_perm[dest] - slices[k].start) for k, dest in rows if dest.size]
    bolus_at = np.searchsorted(nodes, inputs.bolus_time_h)
    boluses: dict[int, list[int]] = {}
    for j, k in enumerate(bolus_at.tolist()):
        boluses.setdefault(k, []).append(j)
    for j in boluses.get(0, ()):
        x[bolus_state[j]] += bolus_amount[:, j]
    yield None, x[obs_perm]

    h_all = np.diff(nodes)
    keys = step_key(h_all).tolist()
    starts = nodes[:-1]
    running = (inputs.infusion_start_h[None, :] <= starts[:, None]) & (inputs.infusion_end_h[None, :] > starts[:, None])
    any_running = running.any(axis=1).tolist()
    has_infusions = inputs.infusion_start_h.size > 0
    # step matrices for every distinct step length, shortest first; a length twice one already done is
    # obtained by doubling, E(2h) = E(h)^2 and G(2h) = G(h) + E(h) G(h), instead of a new exponential
    # (adapted meshes halve steps, so most lengths are powers of two apart)
    whole: dict[float, list] = {}
    inner: dict[float, list] = {}
    for key in sorted(set(keys)):
        half = key / 2
        if half in whole:
            whole[key] = [_double(E, G) for E, G in whole[half]]
            inner[key] = [[_double(E, G) for E, G in stage] for stage in inner[half]]
            continue
        h = float(h_all[keys.index(key)])
        whole[key] = [_block_matrices(A_perm, sl, h, with_integral=has_infusions) for sl in slices]
        inner[key] = [[_block_matrices(A_perm, slices[b], float(cj) * h, with_integral=has_infusions)
                       for b, _, _ in rows] for cj in c]
    # per block with rows observed inside: the rows of every stage stacked row by row, (r S, m[, N]) in the order
    # (row, stage), so that one product per step fills the block's rows of the (n_inside, S, N) stage array
    def stacked(stages, loc, which):
        M = np.stack([stage[which][loc] for stage in stages], axis=1)         # (r, S, m[, N])
        return M.reshape((-1,) + M.shape[2:])

    cache = {key: (whole[key], [(stacked([st[i] for st in inner[key]], loc, 0),
                                 stacked([st[i] for st in inner[key]], loc, 1) if has_infusions else None)
                                for i, (_, _, loc) in enumerate(rows)])
             for key in whole}
    del whole, inner
    spare = x.copy()          # rows outside every block (unobserved sinks) stay defined
    for k in range(h_all.size):
        full, stages = cache[keys[k]]
        r = None
        if any_running[k]:
            r = np.zeros((n, N))
            for j in np.nonzero(running[k])[0]:
                r[infusion_state[j]] += inf_rate[:, j]
        out_inside = np.empty((inside_perm.size, c.size, N))
        for (b, dest, loc), (E, G) in zip(rows, stages, strict=True):
            sl = slices[b]
            if isinstance(dest, slice):                              # every stage at once, in place
                y = out_inside[dest].reshape(-1, N)
                _apply(E, x[sl], out=y)
            else:
                y = _apply(E, x[sl])
            if r is not None:
                y += _apply(G, r[sl])
            if not isinstance(dest, slice):
                out_inside[dest] = y.reshape(loc.size, c.size, N)
        for sl, (E, G) in zip(slices, full, strict=True):
            _apply(E, x[sl], out=spare[sl])
            if r is not None:
                spare[sl] += _apply(G, r[sl])
        x, spare = spare, x
        for j in boluses.get(k + 1, ()):
            x[bolus_state[j]] += bolus_amount[:, j]
        yield out_inside.transpose(1, 0, 2), x[obs_perm]


class MeshStates:
    """Exact states of ``dx/dt = A x + r(t)`` at many times inside a mesh, the node states marched once.

    For a caller that needs the solution again and again at times with few distinct offsets from the nodes of
    a mesh (the stage abscissae of a step-doubling estimate on a uniform mesh): the states at the nodes are
    marched exactly once, one product per node and block; a time ``t`` in the step ``[t_k, t_k+1)`` is then
    ``x(t) = E(t - t_k) x(t_k) + G(t - t_k) r_k`` (Van Loan 1978), with ``E`` and ``G`` computed once per
    distinct offset (:func:`step_key`) and applied to every time with that offset in one product. Every event
    time must be a node (inside a step nothing jumps); a time on a node reads the state after that node's
    boluses (right-continuous, as :func:`solve_linear`).

    Parameters
    ----------
    A : (n, n) or (N, n, n) array
    nodes_h : (K,) array
        Strictly increasing nodes; the simulation starts at ``nodes_h[0]`` from ``x0``.
    inputs : Inputs, optional
    x0 : (n,) or (N, n) array, optional
        State at ``nodes_h[0]`` (default zeros), before the boluses given there.
    """

    #: Largest condition number of a block's eigenvector matrix for which :meth:`at` evaluates offsets through
    #: the eigendecomposition (error about cond x 1e-16 relative); beyond it, one matrix exponential per offset.
    EIG_COND_MAX = 1e6

    def __init__(self, A, nodes_h, inputs: Inputs | None = None, x0=None):
        inputs = Inputs() if inputs is None else inputs
        nodes = np.atleast_1d(require_finite("nodes_h", nodes_h, "h"))
        if nodes.ndim != 1 or nodes.size < 1 or np.any(np.diff(nodes) <= 0):
            raise PharmsimError("nodes_h must be a non-empty 1-D array of strictly increasing times in h")
        events = np.concatenate([inputs.bolus_time_h, inputs.infusion_start_h, inputs.infusion_end_h])
        off_mesh = events[(events >= nodes[0]) & (events <= nodes[-1]) & ~np.isin(events, nodes)]
        if off_mesh.size:
            raise PharmsimError(f"every dosing event time must be a node of nodes_h; {off_mesh[:5].tolist()} h "
                                "are not")
        su, _ = _setup(A, inputs, x0, {})
        n, N = su.x.shape
        X = np.empty((nodes.size, n, N))
        for k, (_, xk) in enumerate(_march(su.A_perm, su.slices, su.x, nodes, float(nodes[0]), inputs,
                                           su.bolus_amount, su.inf_rate, su.bolus_state, su.infusion_state)):
            X[k] = xk
        self.nodes, self.inputs, self._su, self._X = nodes, inputs, su, X
        self._cache: dict[float, list] = {}
        self._Z: dict[int, np.ndarray] = {}
        self._eig = [self._eigen(su.A_perm[..., sl, sl]) for sl in su.slices]

    @classmethod
    def _eigen(cls, A_blk: np.ndarray):
        """``(lambda, V, V^-1)`` of a block, population last ((m,), (m, m)) or ((m, N), (m, m, N)); None when the
        eigenvectors are ill-conditioned (a defective or nearly defective matrix)."""
        A3 = A_blk if A_blk.ndim == 3 else A_blk[None]
        lam, V = np.linalg.eig(A3)
        try:
            Vi = np.linalg.inv(V)
        except np.linalg.LinAlgError:
            return None
        cond = np.linalg.norm(V, ord=1, axis=(-2, -1)) * np.linalg.norm(Vi, ord=1, axis=(-2, -1))
        if not np.all(np.isfinite(cond)) or cond.max() > cls.EIG_COND_MAX:
            return None
        if A_blk.ndim == 2:
            return lam[0], V[0], Vi[0]
        return np.moveaxis(lam, 0, -1), np.moveaxis(V, 0, -1), np.moveaxis(Vi, 0, -1)

    def _modal(self, b: int, Vi: np.ndarray, sl: slice) -> np.ndarray:
        """``V^-1 x(t_k)`` of block ``b`` at every node, (K, m, N), computed on first use."""
        Z = self._Z.get(b)
        if Z is None:
            sub = "ij,kjn->kin" if Vi.ndim == 2 else "ijn,kjn->kin"
            Z = self._Z[b] = np.einsum(sub, Vi, self._X[:, sl])
        return Z

    def _matrices(self, key: float, h: float, with_integral: bool):
        hit = self._cache.get(key)
        if hit is None or (with_integral and hit[0][1] is None):
            hit = [_block_matrices(self._su.A_perm, sl, h, with_integral=with_integral) for sl in self._su.slices]
            self._cache[key] = hit
        return hit

    def at(self, t_h, observe=None) -> np.ndarray:
        """States ``observe`` (default all) at the times ``t_h`` (any order, within the mesh): (N, T, n_obs)."""
        nodes, inputs, su, X = self.nodes, self.inputs, self._su, self._X
        t = np.atleast_1d(require_finite("t_h", t_h, "h"))
        slack = 1e-12 * max(1.0, abs(float(nodes[-1])))    # a + (b - a) may exceed b by an ulp
        if t.ndim != 1 or t.size == 0 or t.min() < nodes[0] or t.max() > nodes[-1] + slack:
            raise PharmsimError(f"t_h must be a non-empty 1-D array of times within the mesh [{nodes[0]}, "
                                f"{nodes[-1]}] h")
        n, N = su.x.shape
        obs = np.arange(n) if observe is None else su.where[_as_index("observe", observe)]
        k = np.clip(np.searchsorted(nodes, t, side="right") - 1, 0, nodes.size - 1)
        off = t - nodes[k]
        out = np.empty((t.size, obs.size, N))
        at_node = off == 0
        out[at_node] = X[k[at_node]][:, obs]
        inside = np.nonzero(~at_node)[0]
        if inside.size and all(e is not None for e in self._eig) and inputs.infusion_start_h.size == 0:
            # x(t_k + tau) = V exp(lambda tau) V^-1 x(t_k): every offset at once, no exponential per offset; the
            # modal coordinates V^-1 x(t_k) of the node states are formed once, and only the observed rows of V
            # are applied
            kk, tau = k[inside], off[inside]
            for b, (sl, (lam, V, Vi)) in enumerate(zip(su.slices, self._eig, strict=True)):
                dest = np.nonzero((obs >= sl.start) & (obs < sl.stop))[0]
                if not dest.size:
                    continue
                Vo = V[obs[dest] - sl.start]
                if V.ndim == 2:
                    z = self._modal(b, Vi, sl)[kk] * np.exp(lam[None, :, None] * tau[:, None, None])
                    out[inside[:, None], dest[None, :]] = np.einsum("ij,kjn->kin", Vo, z).real
                else:
                    z = self._modal(b, Vi, sl)[kk] * np.exp(lam[None] * tau[:, None, None])
                    out[inside[:, None], dest[None, :]] = np.einsum("ijn,kjn->kin", Vo, z).real
            inside = inside[:0]
        if inside.size:
            starts = nodes[k[inside]]
            running = ((inputs.infusion_start_h[None, :] <= starts[:, None])
                       & (inputs.infusion_end_h[None, :] > starts[:, None]))                 # (m, I)
            keys = step_key(off[inside])
            for key in np.unique(keys):
                pick = keys == key
                sel = inside[pick]
                xs = X[k[sel]]                                                               # (m, n, N)
                res = np.empty_like(xs)
                r = None
                if running[pick].any():
                    r = np.zeros_like(xs)
                    for i, j in zip(*np.nonzero(running[pick]), strict=True):
                        r[i, su.infusion_state[j]] += su.inf_rate[:, j]
                for sl, (E, G) in zip(su.slices, self._matrices(float(key), float(off[sel[0]]), r is not None),
                                      strict=True):
                    res[:, sl] = _apply_many(E, xs[:, sl])
                    if r is not None:
                        res[:, sl] += _apply_many(G, r[:, sl])
                out[sel] = res[:, obs]
        return np.moveaxis(out, -1, 0)


def solve_on_mesh(A, nodes_h, t_h, inputs: Inputs | None = None, observe=None) -> np.ndarray:
    """Exact states at times inside a mesh, ``(N, T, n_observed)``: :class:`MeshStates` used once."""
    return MeshStates(A, nodes_h, inputs).at(t_h, observe)


def _apply_many(M: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``M x_k`` for a stack x of shape (K, m, N), with ``M`` shared (m, m) or per subject (m, m, N)."""
    if M.ndim == 2:
        return np.einsum("ij,kjn->kin", M, x)
    return np.einsum("ijn,kjn->kin", M, x)


def _march(A_perm, slices, x, t, t0, inputs, bolus_amount, inf_rate, bolus_state, infusion_state):
    """Yield ``(t_k, x(t_k))`` for each output time, ``x`` of shape (n, N) in permuted state order.

    The yielded array is the solver's working state: copy it to keep it past the next iteration. Everything
    that does not depend on the state (step lengths, running infusions, boluses at each breakpoint) is
    worked out once before the loop, so each step costs one product per block.
    """
    n, N = x.shape
    breaks = np.unique(np.concatenate([t, inputs.bolus_time_h, inputs.infusion_start_h, inputs.infusion_end_h]))
    breaks = breaks[breaks >= t0]
    starts = np.concatenate([[t0], breaks[:-1]])
    steps = breaks - starts
    keys = step_key(steps).tolist()
    running = (inputs.infusion_start_h[None, :] <= starts[:, None]) & (inputs.infusion_end_h[None, :] > starts[:, None])
    any_running = running.any(axis=1).tolist()
    bolus_at = np.searchsorted(breaks, inputs.bolus_time_h)           # every bolus time is a breakpoint
    boluses: dict[int, list[int]] = {}
    for j, k in enumerate(bolus_at.tolist()):
        boluses.setdefault(k, []).append(j)
    n_out = np.searchsorted(t, breaks, side="right") - np.searchsorted(t, breaks, side="left")
    cache_E: dict[float, list] = {}
    cache_G: dict[float, list] = {}
    spare = x.copy()          # rows outside every block (unobserved sinks) stay defined
    for k, b in enumerate(breaks.tolist()):
        h, key = float(steps[k]), keys[k]
        if h > 0:
            if any_running[k]:
                if key not in cache_G:
                    pairs = [_block_matrices(A_perm, sl, h, with_integral=True) for sl in slices]
                    cache_E[key] = [E for E, _ in pairs]
                    cache_G[key] = [G for _, G in pairs]
                r = np.zeros((n, N))
                for j in np.nonzero(running[k])[0]:
                    r[infusion_state[j]] += inf_rate[:, j]
                for sl, E, G in zip(slices, cache_E[key], cache_G[key], strict=True):
                    _apply(E, x[sl], out=spare[sl])
                    spare[sl] += _apply(G, r[sl])
            else:
                if key not in cache_E:
                    cache_E[key] = [_block_matrices(A_perm, sl, h)[0] for sl in slices]
                for sl, E in zip(slices, cache_E[key], strict=True):
                    _apply(E, x[sl], out=spare[sl])
            x, spare = spare, x
        for j in boluses.get(k, ()):
            x[bolus_state[j]] += bolus_amount[:, j]
        for _ in range(int(n_out[k])):
            yield b, x


def step_matrix_bytes(A, nodes_h, n_inside_stages: int, observe_inside, observe, with_integral: bool) -> float:
    """Bytes per subject that :func:`iter_linear_steps` holds in step matrices when ``A`` is per subject.

    Per distinct step length it builds, for every propagated block of m_b states, the whole-step
    ``E (m_b x m_b)`` and, for each inner stage, a full ``E`` from which the observed rows are kept
    (``G`` as well with infusions): ``8 K (1 + S) sum_b m_b^2 (2 with G)`` bytes with K distinct step
    lengths and S inner stages, doubled for the temporaries of the exponentials and the doubling (measured on
    the W1 workload: 10.5 kB per subject against 5.4 kB from the matrices alone). The engine sizes its chunks
    of subjects with this (:mod:`pharmsim.solve`).
    """
    blocks, _ = _propagated_blocks(np.asarray(A), [observe_inside, observe])
    m2 = float(sum(b.size**2 for b in blocks))
    keys = np.unique(step_key(np.diff(np.asarray(nodes_h, dtype=float)))).size
    return 2 * 8.0 * keys * (1 + n_inside_stages) * m2 * (2 if with_integral else 1)


def _propagated_blocks(A: np.ndarray, observed: list) -> tuple[list[np.ndarray], np.ndarray]:
    """``(blocks, left out)``: the independent blocks of states the marching solvers propagate, and the states
    they leave out. With every entry of ``observed`` a state list (None = all states), only the observed states
    and those they depend on are propagated (a sink such as 'eliminated' that nothing observed reads is left
    out of every block); otherwise every state."""
    if any(o is None for o in observed):
        return _independent_blocks(A), np.zeros(0, dtype=int)
    need = _needed_states(A, np.concatenate([np.zeros(0, dtype=int), *(np.asarray(o, dtype=int) for o in observed)]))
    sub = np.nonzero(need)[0]
    blocks = [sub[b] for b in _independent_blocks(A[..., sub[:, None], sub[None, :]])] if sub.size else []
    return blocks, np.nonzero(~need)[0]


def _needed_states(A: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """(n,) bool: the ``observed`` states and every state they depend on, directly or through others
    (``dx_i/dt`` depends on ``x_j`` where ``A_ij != 0``). The others never influence what is observed."""
    pattern = np.any(A != 0, axis=0) if A.ndim == 3 else A != 0
    need = np.zeros(pattern.shape[0], dtype=bool)
    stack = [int(i) for i in np.unique(observed)]
    need[stack] = True
    while stack:
        for j in np.nonzero(pattern[stack.pop()] & ~need)[0]:
            need[j] = True
            stack.append(int(j))
    return need


def _independent_blocks(A: np.ndarray) -> list[np.ndarray]:
    """State indices of the weakly connected components of the coupling graph of ``A``.

    States of different components never exchange mass, so each component is propagated with its own,
    smaller matrix exponential (for example a kratom block and a morphine block).
    """
    pattern = np.any(A != 0, axis=0) if A.ndim == 3 else A != 0
    n = pattern.shape[0]
    linked = pattern | pattern.T
    label = -np.ones(n, dtype=int)
    for s in range(n):
        if label[s] >= 0:
            continue
        stack, label[s] = [s], s
        while stack:
            i = stack.pop()
            for j in np.nonzero(linked[i])[0]:
                if label[j] < 0:
                    label[j] = s
                    stack.append(j)
    return [np.nonzero(label == lab)[0] for lab in np.unique(label)]


def _block_matrices(A_perm: np.ndarray, sl: slice, h: float, with_integral: bool = False):
    """``(E, G)`` of one block for a step ``h`` (``G`` only ``with_integral``, else None).

    Shapes: (m, m) if ``A`` is shared by all subjects, else (m, m, N), population last (computed in that
    layout, without transposing the stack back and forth).
    """
    sub = A_perm[..., sl, sl]
    if sub.ndim == 2:
        return step_matrices(sub, h) if with_integral else (expm(sub * h), None)
    m = sub.shape[-1]
    last = np.moveaxis(sub, 0, -1)                       # (m, m, N) view
    if not with_integral:
        return _expm_last(np.ascontiguousarray(last * h)), None
    M = np.zeros((2 * m, 2 * m, sub.shape[0]))           # Van Loan block [[A, I], [0, 0]] h
    M[:m, :m] = last * h
    M[np.arange(m), m + np.arange(m)] = h
    F = _expm_last(M)
    return np.ascontiguousarray(F[:m, :m]), np.ascontiguousarray(F[:m, m:])


def _as_slice(idx: np.ndarray):
    """``idx`` as a slice when it is a run of consecutive integers (so that indexing gives a view)."""
    if idx.size and np.all(np.diff(idx) == 1):
        return slice(int(idx[0]), int(idx[-1]) + 1)
    return idx


def _double(E: np.ndarray, G: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """``(E(2h), G(2h))`` from ``(E(h), G(h))``: ``E^2`` and ``G + E G`` (shared (m, m) or (m, m, N))."""
    mul = np.matmul if E.ndim == 2 else _matmul_last
    return mul(E, E), (None if G is None else G + mul(E, G))


def _apply(M: np.ndarray, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``M x`` for x of shape (m, N), with ``M`` shared (m, m) or per subject (m, m, N)."""
    if M.ndim == 2:
        return np.matmul(M, x, out=out)
    return np.einsum("ijn,jn->in", M, x, out=out)
