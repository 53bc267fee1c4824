"""Receptor binding over time: several ligands competing for one site, batched over subjects.

Kinetic binding (mass action, one site, L ligands; e.g. Motulsky & Mahan 1984, Mol Pharmacol 25:1)::

    dB_i/dt = kon_i Ce_i(t) (1 - sum_j B_j) - koff_i B_i          (B_i fraction of receptors, Ce in nM)

Its steady state is Gaddum's competitive occupancy ``B_i = (Ce_i/Kd_i) / (1 + sum_j Ce_j/Kd_j)`` with
``Kd_i = koff_i/kon_i``, the fast limit that :func:`equilibrium_occupancy` returns directly.

How it is solved. Given the effect-site concentrations (from the exact linear PK, :mod:`pharmsim.linear`),
the system is *linear* in B with time-varying coefficients, and stiff (koff up to ~45 /h against hours of
PK). Each step uses the 3-stage Radau IIA collocation method (order 5, L-stable, stiffly accurate;
Hairer & Wanner 1996, Solving ODEs II, ch. IV.5, doi:10.1007/978-3-642-05221-7), with Ce taken exactly at
the stage abscissae. Because ``free = 1 - sum_j B_j`` couples the ligands only through a rank-one term, the
implicit stage equations reduce, per subject and step, to one 3 x 3 linear system for the free fraction at
the three stages, whatever the number of ligands; it is solved in closed form elementwise, so a whole
population advances with a few dozen numpy operations per step (population along the last axis).

The contract with the linear solver:

1. ``nodes = make_nodes(t_h, breakpoints_h)`` — output times, dose times (where Ce is only C1) and a
   maximum step; optionally ``adapt_nodes`` refines it to a local-error tolerance by step doubling.
2. ``times = stage_times(nodes)`` — every time at which Ce is needed (nodes and stage abscissae).
3. Ce at ``times`` from :func:`pharmsim.linear.solve_linear` / ``iter_linear``, then
   :func:`kinetic_occupancy` (arrays) or :func:`iter_kinetic_occupancy` (streaming, population last).

Not for: receptor responses (operational model: :mod:`pharmsim.receptor`), PK, or desensitisation
(:mod:`pharmsim.tolerance`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from .linear import step_key
from .validate import (
    PharmsimError,
    require_count,
    require_finite,
    require_nonnegative,
    require_number,
    require_positive,
)

__all__ = [
    "RADAU_C",
    "adapt_nodes",
    "equilibrium_occupancy",
    "iter_kinetic_occupancy",
    "kinetic_occupancy",
    "make_nodes",
    "node_index",
    "stage_times",
]

_SQ6 = np.sqrt(6.0)
#: Radau IIA (3 stages, order 5) Butcher matrix and abscissae (Hairer & Wanner 1996, Table IV.5.6).
RADAU_A = np.array([
    [(88 - 7 * _SQ6) / 360, (296 - 169 * _SQ6) / 1800, (-2 + 3 * _SQ6) / 225],
    [(296 + 169 * _SQ6) / 1800, (88 + 7 * _SQ6) / 360, (-2 - 3 * _SQ6) / 225],
    [(16 - _SQ6) / 36, (16 + _SQ6) / 36, 1 / 9],
])
RADAU_C = np.array([(4 - _SQ6) / 10, (4 + _SQ6) / 10, 1.0])
_S = 3

#: Default largest step (h). W1 (kratom + morphine, koff up to 45 /h) needs local refinement only in the
#: first hour after a morphine dose; see :func:`adapt_nodes`.
DEFAULT_MAX_STEP_H = 0.25
#: Default bound on the number of integration nodes (each is a step of every subject's binding states); the
#: engine's limit (:data:`pharmsim.solve.MAX_NODES`) is this one.
MAX_NODES = 2_000_000


# ------------------------------------------------------------------------------------------------
# equilibrium (fast) limit
# ------------------------------------------------------------------------------------------------

def equilibrium_occupancy(ce_nM, kd_nM) -> np.ndarray:
    """Gaddum competitive occupancy of one site by L ligands.

    ``p_i = (C_i/Kd_i) / (1 + sum_j C_j/Kd_j)`` (Gaddum 1937; Black & Leff 1983,
    doi:10.1098/rspb.1983.0093, for its use with the operational model).

    Parameters
    ----------
    ce_nM : (..., L) array
        Unbound concentrations at the receptor (nM), ligands on the last axis.
    kd_nM : (L,) or broadcastable (..., L) array
        Equilibrium dissociation constants (nM), > 0.

    Returns
    -------
    numpy.ndarray
        Fractional occupancies, same shape as ``ce_nM``.
    """
    ce = require_nonnegative("ce_nM", ce_nM, "nM")
    kd = require_positive("kd_nM", kd_nM, "nM")
    try:
        x = ce / kd
    except ValueError:
        raise PharmsimError(f"kd_nM of shape {kd.shape} does not match ce_nM of shape {ce.shape} "
                            "(ligands on the last axis)") from None
    return x / (1.0 + x.sum(axis=-1, keepdims=True))


# ------------------------------------------------------------------------------------------------
# meshes
# ------------------------------------------------------------------------------------------------

def make_nodes(t_h, breakpoints_h=(), max_step_h: float = DEFAULT_MAX_STEP_H, *, max_nodes: int = MAX_NODES
               ) -> np.ndarray:
    """Integration nodes: the union of output times and breakpoints, each step at most ``max_step_h``.

    Breakpoints (dose times, infusion starts/ends) must be nodes: there Ce is only once differentiable,
    and a step across them would lose the method's order. Steps longer than ``max_step_h`` are divided
    into equal parts. More than ``max_nodes`` nodes are refused before they are made.
    """
    t = np.atleast_1d(require_finite("t_h", t_h, "h"))
    b = np.atleast_1d(require_finite("breakpoints_h", breakpoints_h, "h")).ravel()
    hmax = require_number("max_step_h", max_step_h, "h", minimum=0, strict=True)
    max_nodes = require_count("max_nodes", max_nodes, minimum=2)
    if t.ndim != 1 or t.size == 0:
        raise PharmsimError(f"t_h must be a non-empty 1-D array of times in h; got shape {t.shape}")
    if np.any(np.diff(t) < 0):
        raise PharmsimError("t_h must be sorted (non-decreasing)")
    b = b[(b >= t[0]) & (b <= t[-1])]
    base = np.unique(np.concatenate([t, b]))
    if base.size == 1:
        return base
    h = np.diff(base)
    wanted = np.maximum(1.0, np.ceil(h / hmax * (1 - 1e-12)))
    if wanted.sum() + 1 > max_nodes:
        raise PharmsimError(f"t_h from {t[0]:g} to {t[-1]:g} h at max_step_h = {hmax:g} h needs about "
                            f"{wanted.sum() + 1:.4g} integration nodes, over max_nodes = {max_nodes:,}; shorten "
                            "the time span, raise max_step_h, or raise max_nodes")
    parts = wanted.astype(int)
    seg = np.repeat(np.arange(h.size), parts)                     # the base interval of every node but the last
    j = np.arange(seg.size) - np.repeat(np.cumsum(parts) - parts, parts)
    return np.concatenate([base[seg] + h[seg] * j / parts[seg], base[-1:]])


def node_index(nodes_h, t_h) -> np.ndarray:
    """Positions of the times ``t_h`` in ``nodes_h``; each must be a node, exactly.

    :func:`make_nodes` and :func:`adapt_nodes` keep every output time as a node bit for bit, so no
    tolerance is needed; a tolerance would snap an output time onto a neighbouring node (two outputs
    1e-12 h apart on either side of a dose would then both read the post-dose state).
    """
    nodes = np.asarray(nodes_h, dtype=float)
    t = np.atleast_1d(np.asarray(t_h, dtype=float))
    k = np.clip(np.searchsorted(nodes, t), 0, nodes.size - 1)
    off = nodes[k] != t
    if np.any(off):
        raise PharmsimError(f"t_h = {t[off][0]!r} h is not one of the integration nodes")
    return k


def stage_times(nodes_h) -> np.ndarray:
    """Every time at which the integrator needs Ce: ``nodes[0]`` then, per step, its three stage abscissae.

    Returns ``3 (T - 1) + 1`` times; the node ``k`` sits at position ``3 k`` (see :func:`node_index`),
    the last stage of each step being the next node.
    """
    nodes = np.atleast_1d(require_finite("nodes_h", nodes_h, "h"))
    h = np.diff(nodes)
    if nodes.ndim != 1 or np.any(h <= 0):
        raise PharmsimError("nodes_h must be a 1-D array of strictly increasing times in h")
    inner = nodes[:-1, None] + h[:, None] * RADAU_C[None, :]
    inner[:, -1] = nodes[1:]  # exact, no rounding
    return np.concatenate([nodes[:1], inner.ravel()])


# ------------------------------------------------------------------------------------------------
# the Radau IIA step for one-site competition
# ------------------------------------------------------------------------------------------------

class _Radau:
    """Per-step constants and the step of Radau IIA for dB/dt = a(t)(1 - sum B) - koff B, batched.

    Arrays are ligands first, batch (subjects, receptors, ...) last. For a step h and each ligand,
    ``P = (I + h koff A)^-1``; the stage values are ``Y_l = P 1 B_l + h P A (a_l * u)`` with ``u`` the free
    fraction at the stages, so ``sum_l Y_l = 1 - u`` gives the 3 x 3 system ``(I + K) u = 1 - r``,
    ``K_ij = sum_l h (P A)_lij a_lj`` and ``r_i = sum_l (P 1)_li B_l``.
    """

    def __init__(self, kon: np.ndarray, koff: np.ndarray):
        self.kon = kon      # (L, *batch)
        self.koff = koff    # (L, *batch)
        self._cache: dict[float, tuple] = {}

    def constants(self, h: float):
        key = step_key(h)
        if key not in self._cache:
            # P depends on koff and h only: invert once per distinct koff (rates are mostly shared)
            uniq, where = np.unique(self.koff, return_inverse=True)
            P = np.linalg.inv(np.eye(_S) + h * uniq[:, None, None] * RADAU_A)[where.reshape(self.koff.shape)]
            Q = h * (P @ RADAU_A) * self.kon[..., None, None]                  # kon folded in
            w = P.sum(axis=-1)                                                 # (L, *b, 3)
            L = self.kon.shape[0]
            # nested lists [i][j][l] / [i][l] of contiguous batch arrays: one numpy operation per term
            Q = [[[np.ascontiguousarray(Q[l, ..., i, j]) for l in range(L)] for j in range(_S)] for i in range(_S)]
            w = [[np.ascontiguousarray(w[l, ..., i]) for l in range(L)] for i in range(_S)]
            self._cache[key] = (w, Q)
        return self._cache[key]

    def step(self, B: np.ndarray, ce: list, h: float) -> np.ndarray:
        """One step from ``B`` (L, *batch); ``ce`` = the three stage concentrations, each (L, *batch')."""
        w, Q = self.constants(h)
        L = B.shape[0]
        # r_i = sum_l (P 1)_li B_l ; G = I + K with K_ij = sum_l Q_lij ce_lj (kon folded into Q)
        v = []
        for i in range(_S):
            acc = w[i][0] * B[0]
            for lig in range(1, L):
                acc += w[i][lig] * B[lig]
            v.append(1.0 - acc)
        G = [[None] * _S for _ in range(_S)]
        last = [[None] * L for _ in range(_S)]       # Q_l,3j ce_lj, reused for the new B
        for i in range(_S):
            for j in range(_S):
                terms = [Q[i][j][lig] * ce[j][lig] for lig in range(L)]
                if i == _S - 1:
                    last[j] = terms
                acc = terms[0] + 1.0 if i == j else terms[0].copy()
                for term in terms[1:]:
                    acc += term
                G[i][j] = acc
        # Gaussian elimination without pivoting: G = I + K has a positive diagonal that grows with the
        # binding rates (checked against LAPACK in the tests)
        l10 = G[1][0] / G[0][0]
        l20 = G[2][0] / G[0][0]
        g11 = G[1][1] - l10 * G[0][1]
        g12 = G[1][2] - l10 * G[0][2]
        g21 = G[2][1] - l20 * G[0][1]
        g22 = G[2][2] - l20 * G[0][2]
        v1 = v[1] - l10 * v[0]
        v2 = v[2] - l20 * v[0]
        l21 = g21 / g11
        u2 = (v2 - l21 * v1) / (g22 - l21 * g12)
        u1 = (v1 - g12 * u2) / g11
        u0 = (v[0] - G[0][1] * u1 - G[0][2] * u2) / G[0][0]
        # stiffly accurate: the new value is the last stage, Y_3l = (P 1)_3l B_l + sum_j Q_l3j ce_lj u_j
        out = np.empty((L,) + np.broadcast_shapes(B.shape[1:], last[0][0].shape))
        for lig in range(L):
            acc = w[2][lig] * B[lig]
            acc += last[0][lig] * u0
            acc += last[1][lig] * u1
            acc += last[2][lig] * u2
            out[lig] = acc
        return out


@functools.cache
def _compiled_step():
    """The compiled shared-rate step, or None without numba (the ``fast`` extra)."""
    try:
        from ._kernels import radau_shared_step  # noqa: PLC0415  (numba is optional and costs ~1 s to import)
    except ImportError:
        return None
    return radau_shared_step


class _RadauShared(_Radau):
    """The same step when the rate constants are shared by all subjects (they differ only between the
    leading batch groups, e.g. receptors): the sums over ligands become small dense matrix products
    (BLAS), which halves the work per step. State layout (G, L, N): groups, ligands, subjects."""

    def __init__(self, kon: np.ndarray, koff: np.ndarray, compiled: bool | None = None):
        super().__init__(kon, koff)
        #: the numba kernel (:func:`pharmsim._kernels.radau_shared_step`) when the ``fast`` extra is installed and
        #: ``compiled`` is not False; else None (numpy)
        self.kernel = None if compiled is False else _compiled_step()
        if compiled and self.kernel is None:
            raise PharmsimError("compiled=True needs numba (pip install pharmsim[fast])")

    def constants(self, h: float):
        if h == getattr(self, "_last_h", None):      # most steps repeat the step before: skip the key
            return self._last
        key = step_key(h)
        if key not in self._cache:
            L, Gn = self.kon.shape
            P = np.linalg.inv(np.eye(_S) + h * self.koff[..., None, None] * RADAU_A)   # (L, G, 3, 3)
            Q = h * (P @ RADAU_A) * self.kon[..., None, None]                        # (L, G, 3, 3)
            w = P.sum(axis=-1)                                                        # (L, G, 3)
            Qm = np.ascontiguousarray(np.stack([Q[:, :, :, j].transpose(2, 1, 0).reshape(_S * Gn, L)
                                                for j in range(_S)]))                 # (3, 3G, L)
            W = np.ascontiguousarray(w.transpose(1, 2, 0))                            # (G, 3, L)
            Qlast = np.empty((_S, Gn, L, 1))                                          # (3, G, L, 1)
            for j in range(_S):
                Qlast[j, :, :, 0] = Q[:, :, 2, j].T
            w_last = np.empty((Gn, L, 1))                                             # (G, L, 1)
            w_last[:, :, 0] = w[:, :, 2].T
            self._cache[key] = (Qm, W, Qlast, w_last)
        self._last_h, self._last = h, self._cache[key]
        return self._last

    def _scratch(self, Gn: int, L: int, N: int):
        """Work arrays reused from step to step (one integrator per chunk and thread): a step allocates only the
        array it returns, so a large chunk does not fault fresh pages in at every step."""
        if getattr(self, "_scratch_key", None) != (Gn, L, N):
            self._scratch_key = (Gn, L, N)
            self._work = (np.empty((_S, _S * Gn, N)), np.empty((Gn, _S, N)), np.empty((2, Gn, N)),
                          np.empty((2, 2, Gn, N)), np.empty((2, 2, Gn, N)), np.empty((Gn, 2, N)),
                          np.empty((Gn, 2, N)), np.empty((3, Gn, N)), np.empty((_S, Gn, L, N)),
                          np.empty((_S, Gn, N)))
        return self._work

    def step(self, B: np.ndarray, ce: np.ndarray, h: float) -> np.ndarray:
        """``B`` (G, L, N); ``ce`` (3, L, N), the stage concentrations. The same arithmetic as :meth:`_Radau.step`:
        compiled (:func:`pharmsim._kernels.radau_shared_step`) when numba is installed, else in numpy, in place,
        with the symmetric parts of the elimination done as one operation on stacked arrays."""
        Qm, W, Qlast, w_last = self.constants(h)
        if self.kernel is not None:
            B = np.require(B, np.float64, ("C", "W"))
            return self.kernel(B, np.require(ce, np.float64, ("C", "W")), Qm, W, Qlast, w_last, np.empty_like(B))
        Gn, L, N = B.shape
        Kb, v, lv, prod, g, tv, v12, t, terms, u = self._scratch(Gn, L, N)
        np.matmul(W, B, out=v)
        np.subtract(1.0, v, out=v)                                     # v = 1 - r, (G, 3, N)
        np.matmul(Qm, ce, out=Kb)
        G = Kb.reshape(_S, _S, Gn, N)                                  # G[j, i] = K_ij, (G, N)
        Kb.reshape(_S * _S, Gn, N)[::_S + 1] += 1.0                   # + I: the diagonal, (0,0) (1,1) (2,2)
        K00 = G[0, 0]
        # Gaussian elimination without pivoting (see _Radau.step); l_i = K_i0 / K00 (i = 1, 2) and
        # g_ij = K_ij - l_i K_0j, kept transposed as g[j-1, i-1] like G
        np.divide(G[0, 1:], K00, out=lv)                               # lv[i-1] = l_i0
        np.multiply(G[1:, 0][:, None], lv[None], out=prod)
        np.subtract(G[1:, 1:], prod, out=g)
        g11, g12, g21, g22 = g[0, 0], g[1, 0], g[0, 1], g[1, 1]
        v0 = v[:, 0]
        np.multiply(lv.transpose(1, 0, 2), v0[:, None], out=tv)        # v_i - l_i v0 (i = 1, 2)
        np.subtract(v[:, 1:], tv, out=v12)
        v1, v2 = v12[:, 0], v12[:, 1]
        l21, den, w0 = t
        u0, u1, u2 = u
        np.divide(g21, g11, out=l21)
        np.multiply(l21, v1, out=u2)                                   # u2 = (v2 - l21 v1) / (g22 - l21 g12)
        np.subtract(v2, u2, out=u2)
        np.multiply(l21, g12, out=den)
        np.subtract(g22, den, out=den)
        np.divide(u2, den, out=u2)
        np.multiply(g12, u2, out=u1)                                   # u1 = (v1 - g12 u2) / g11
        np.subtract(v1, u1, out=u1)
        np.divide(u1, g11, out=u1)
        np.multiply(G[1, 0], u1, out=u0)                               # u0 = (v0 - K01 u1 - K02 u2) / K00
        np.subtract(v0, u0, out=u0)
        np.multiply(G[2, 0], u2, out=w0)
        np.subtract(u0, w0, out=u0)
        np.divide(u0, K00, out=u0)
        # new B = w_last B + sum_j Qlast_j ce_j u_j, the three terms stacked
        np.multiply(ce[:, None], u[:, :, None, :], out=terms)
        terms *= Qlast
        out = np.multiply(w_last, B)
        out += terms[0]
        out += terms[1]
        out += terms[2]
        return out


# ------------------------------------------------------------------------------------------------
# public integrators
# ------------------------------------------------------------------------------------------------

def _rates(kon, koff, L=None):
    kon = require_nonnegative("kon_per_nM_per_h", kon, "1/(nM*h)")
    koff = require_nonnegative("koff_per_h", koff, "1/h")
    if kon.ndim == 0 or koff.ndim == 0 or kon.shape[-1] != koff.shape[-1] or kon.ndim > 2 or koff.ndim > 2:
        raise PharmsimError("kon_per_nM_per_h and koff_per_h must be (L,) or (N, L) arrays with the same number "
                            f"L of ligands; got shapes {kon.shape} and {koff.shape}")
    if L is not None and kon.shape[-1] != L:
        raise PharmsimError(f"kon_per_nM_per_h has {kon.shape[-1]} ligands but ce_nM has {L}")
    return kon, koff


def _initial(b0, N, L):
    if b0 is None:
        return np.zeros((N, L))
    b = require_nonnegative("b0", b0)
    if b.shape[-1:] != (L,) or b.ndim > 2:
        raise PharmsimError(f"b0 must have shape ({L},) or ({N}, {L}); got {b.shape}")
    if np.any(b.sum(axis=-1) > 1 + 1e-12):
        raise PharmsimError(f"b0 (initial occupancies) must sum to <= 1 per subject; got sums up to {b.sum(-1).max()}")
    return np.broadcast_to(b, (N, L))


def iter_kinetic_occupancy(nodes_h, ce_stream: Iterable, kon_per_nM_per_h, koff_per_h,
                           b0=None, *, by_step: bool = False) -> Iterator[tuple[float, np.ndarray]]:
    """Streaming kinetic binding; yields ``(t, B)`` at every node, ``B`` of shape (L, *batch).

    Parameters
    ----------
    nodes_h : (T,) array
        Integration nodes (h), strictly increasing (see :func:`make_nodes`).
    ce_stream : iterable of (L, *batch) arrays
        Unbound effect-site concentrations (nM) at ``stage_times(nodes_h)``, in order, population last
        (for example ``iter_linear(...)`` scaled to nM). Only the arrays after the first are used; each is
        read before the next is requested.
    kon_per_nM_per_h, koff_per_h : (L,) or (L, *batch) arrays
        Association (1/(nM*h)) and dissociation (1/h) rate constants, >= 0. Population LAST here.
    b0 : (L,) or (L, *batch) array, optional
        Occupancies at ``nodes_h[0]`` (default 0).
    by_step : bool
        The stream gives, after the first array, one (3, L, *batch) array per step: the concentrations at the
        step's three stage times (the same numbers, grouped; a producer that has them together saves the
        splitting and regrouping).

    Yields
    ------
    (float, numpy.ndarray)
        The node time and the occupancies there (a fresh array each time).

    Notes
    -----
    Arrays are validated once (rates); concentrations are assumed finite and >= 0 in the streaming path
    for speed: use :func:`kinetic_occupancy` for checked input.
    """
    nodes = np.atleast_1d(require_finite("nodes_h", nodes_h, "h"))
    kon = require_nonnegative("kon_per_nM_per_h", kon_per_nM_per_h, "1/(nM*h)")
    koff = require_nonnegative("koff_per_h", koff_per_h, "1/h")
    h = np.diff(nodes)
    if np.any(h <= 0):
        raise PharmsimError("nodes_h must be strictly increasing")
    it = iter(ce_stream)
    first = np.asarray(next(it), dtype=float)
    if by_step:
        def stages():
            return np.asarray(next(it), dtype=float)
    else:
        def stages():
            return np.stack([np.asarray(next(it), dtype=float) for _ in range(_S)])
    shape = np.broadcast_shapes(kon.shape, koff.shape, first.shape)
    kon_b = np.broadcast_to(kon.reshape(kon.shape + (1,) * (len(shape) - kon.ndim)), shape)
    koff_b = np.broadcast_to(koff.reshape(koff.shape + (1,) * (len(shape) - koff.ndim)), shape)
    B = np.zeros(shape) if b0 is None else np.broadcast_to(
        np.asarray(b0, dtype=float).reshape(np.shape(b0) + (1,) * (len(shape) - np.ndim(b0))), shape).copy()
    yield float(nodes[0]), B.copy()
    # rates shared by all subjects (last axis) and concentrations shared by the groups: matrix form
    shared = (len(shape) >= 2 and shape[-1] > 1 and kon.shape[-1:] != shape[-1:] and koff.shape[-1:] != shape[-1:]
              and all(d == 1 for d in first.shape[1:-1]))
    if shared:
        groups = shape[1:-1]
        n_grp = int(np.prod(groups))
        rad = _RadauShared(np.ascontiguousarray(kon_b[..., 0].reshape(shape[0], n_grp)),
                           np.ascontiguousarray(koff_b[..., 0].reshape(shape[0], n_grp)))
        Bg = np.ascontiguousarray(B.reshape(shape[0], n_grp, shape[-1]).transpose(1, 0, 2))     # (G, L, N)
        flat = (_S, shape[0], shape[-1])
        for n in range(h.size):
            Bg = rad.step(Bg, stages().reshape(flat), float(h[n]))
            yield float(nodes[n + 1]), Bg.transpose(1, 0, 2).reshape(shape)
        return
    rad = _Radau(np.ascontiguousarray(kon_b), np.ascontiguousarray(koff_b))
    for n in range(h.size):
        B = rad.step(B, stages(), float(h[n]))
        yield float(nodes[n + 1]), B


def kinetic_occupancy(nodes_h, ce_nM, kon_per_nM_per_h, koff_per_h, b0=None) -> np.ndarray:
    """Kinetic one-site binding of L competing ligands for N subjects, on the integration nodes.

    ``dB_i/dt = kon_i Ce_i(t) (1 - sum_j B_j) - koff_i B_i`` integrated by 3-stage Radau IIA (order 5,
    L-stable) with Ce taken exactly at the stage abscissae; see the module docstring.

    Parameters
    ----------
    nodes_h : (T,) array
        Strictly increasing integration nodes (h); from :func:`make_nodes` or :func:`adapt_nodes`.
    ce_nM : (N, 3 (T - 1) + 1, L) or (3 (T - 1) + 1, L) array
        Unbound effect-site concentrations (nM) at ``stage_times(nodes_h)``.
    kon_per_nM_per_h : (L,) or (N, L) array
        Association rate constants, 1/(nM*h), >= 0.
    koff_per_h : (L,) or (N, L) array
        Dissociation rate constants, 1/h, >= 0.
    b0 : (L,) or (N, L) array, optional
        Occupancies at ``nodes_h[0]``; default 0. Must sum to <= 1.

    Returns
    -------
    numpy.ndarray
        Occupancies (N, T, L), fractions of the receptor pool.
    """
    nodes = np.atleast_1d(require_finite("nodes_h", nodes_h, "h"))
    times = stage_times(nodes)
    ce = require_nonnegative("ce_nM", ce_nM, "nM")
    if ce.ndim == 2:
        ce = ce[None]
    if ce.ndim != 3 or ce.shape[1] != times.size:
        raise PharmsimError(f"ce_nM must have shape (N, {times.size}, L) (Ce at stage_times(nodes_h)); "
                            f"got {np.shape(ce_nM)}")
    N, _, L = ce.shape
    kon, koff = _rates(kon_per_nM_per_h, koff_per_h, L)
    for name, arr in (("kon_per_nM_per_h", kon), ("koff_per_h", koff)):
        if arr.ndim == 2 and arr.shape[0] not in (1, N):
            raise PharmsimError(f"{name} has {arr.shape[0]} subjects but ce_nM has {N}")
    b = _initial(b0, N, L)
    ce_t = np.ascontiguousarray(np.moveaxis(ce, 1, 0).transpose(0, 2, 1))  # (T3, L, N)
    kon_t = np.broadcast_to(np.atleast_2d(kon), (N, L)).T
    koff_t = np.broadcast_to(np.atleast_2d(koff), (N, L)).T
    out = np.empty((nodes.size, L, N))
    for k, (_, B) in enumerate(iter_kinetic_occupancy(nodes, iter(ce_t), kon_t, koff_t, b.T)):
        out[k] = B
    return np.ascontiguousarray(out.transpose(2, 0, 1))


def _rates_radau(kon, koff, n: int) -> _Radau:
    """The Radau integrator of :func:`_steps_from` for ``n`` subjects: rates (L, 1, n), broadcast over the
    intervals of each step; built once per mesh adaptation so that its step constants are reused."""
    L = np.shape(kon)[-1]
    kon_b = np.broadcast_to(np.atleast_2d(kon), (n, L)).T[:, None, :]
    koff_b = np.broadcast_to(np.atleast_2d(koff), (n, L)).T[:, None, :]
    return _Radau(np.ascontiguousarray(kon_b), np.ascontiguousarray(koff_b))


def _steps_from(B0, a, h, ce_fn, rad: _Radau, n_steps):
    """Integrate ``n_steps`` equal steps of length ``h`` from each start (``B0`` (n, k, L) at times ``a`` (k,)),
    batched over the k intervals, with ``rad`` (:func:`_rates_radau`); returns the states after each step,
    (n_steps, n, k, L)."""
    n, k, L = B0.shape
    t_need = _stage_points(a, h, n_steps)
    times, inv = np.unique(t_need, return_inverse=True)
    ce = np.asarray(ce_fn(times), dtype=float)[:, inv].reshape(n, n_steps, _S, k, L)
    B = B0.transpose(2, 1, 0)                                              # (L, k, n)
    out = np.empty((n_steps, n, k, L))
    for s in range(n_steps):
        B = rad.step(B, [ce[:, s, j].transpose(2, 1, 0) for j in range(_S)], h)
        out[s] = B.transpose(2, 1, 0)
    return out


def _stage_points(a, h: float, n_steps: int) -> np.ndarray:
    """The stage times of ``n_steps`` equal steps of ``h`` from each start ``a`` (k,), flattened in the order
    :func:`_steps_from` reads them."""
    offs = (np.arange(n_steps)[:, None] + RADAU_C[None, :]) * h            # (n_steps, 3)
    return (a[None, None, :] + offs[:, :, None]).ravel()


def _local_errors(a, b, B0, ce_fn, rad: _Radau, atol, rtol):
    """Step-doubling estimate of each interval's local error (one step vs two half steps from ``B0``),
    scaled by ``atol + rtol |B|``; max over subjects and ligands, shape (k,)."""
    err = np.zeros(a.size)
    h = b - a
    keys = step_key(h)
    groups = [(np.nonzero(keys == hk)[0]) for hk in np.unique(keys)]
    # the concentrations of every estimate (each step length: one step and two half steps) from one evaluation
    # at the union of their stage times
    points = [np.concatenate([_stage_points(a[idx], float(h[idx[0]]), 1),
                              _stage_points(a[idx], float(h[idx[0]]) / 2, 2)]) for idx in groups]
    times = np.unique(np.concatenate(points))
    ce_all = np.asarray(ce_fn(times), dtype=float)

    def ce_at(t):
        return ce_all[:, np.searchsorted(times, t)]

    for idx in groups:
        hh = float(h[idx[0]])
        one = _steps_from(B0[:, idx], a[idx], hh, ce_at, rad, 1)[-1]
        two = _steps_from(B0[:, idx], a[idx], hh / 2, ce_at, rad, 2)[-1]
        err[idx] = (np.abs(one - two) / (atol + rtol * np.abs(two))).max(axis=(0, 2))
    return err


def len_of(ce_fn, nodes) -> int:
    """Subjects of a ``ce_fn`` (evaluated at the first node)."""
    return int(np.asarray(ce_fn(nodes[:1])).shape[0])


def adapt_nodes(t_h, ce_fn: Callable[[np.ndarray], np.ndarray], kon_per_nM_per_h, koff_per_h, *,
                breakpoints_h=(), max_step_h: float = DEFAULT_MAX_STEP_H, atol: float = 1e-10,
                rtol: float = 1e-5, b0=None, max_rounds: int = 12, start: str = "integrate",
                groups: int | None = None, max_nodes: int = MAX_NODES) -> np.ndarray:
    """Nodes whose every step meets a local-error tolerance, found by step doubling.

    Starting from ``make_nodes(t_h, breakpoints_h, max_step_h)``, the state at the start of every step is
    taken from one integration of the population given by ``ce_fn`` on those nodes (``start='integrate'``)
    or, without any sequential integration, from the equilibrium (Gaddum) occupancy of the effect-site
    concentrations there (``start='equilibrium'``): the local error of a step is driven by how fast the
    concentrations change inside it, and depends on the start state only through the homogeneous part, whose
    Radau IIA error is small (L-stable, order 5), so the quasi-steady state is a sufficient start for the
    estimate and every step is checked at once, vectorised. From that state one step is compared with
    two half steps (step doubling: the difference estimates the local error of the step). Steps with
    ``|error| > atol + rtol |B|`` (any subject, any ligand) are split into ``2^m`` equal parts (``m`` of 1
    to 4 from the error's ``h^4`` scaling, the stiff lower bound of Radau IIA's local order); the parts are
    integrated from the step's start and checked the same way, locally, until none fails. Only the failing
    steps are revisited, so later rounds cost little.

    Pass the whole population when it is small, or a pilot set (for example the subjects at the extremes of
    each varying parameter) for large ones, then integrate everyone on the nodes returned.

    Parameters
    ----------
    t_h : (T,) array
        Output times (h); they remain nodes.
    ce_fn : callable
        ``ce_fn(times_h) -> (n, len(times_h), L)`` unbound effect-site concentrations (nM) at sorted times,
        e.g. a closure around :func:`pharmsim.linear.solve_linear`.
    kon_per_nM_per_h, koff_per_h : (L,) or (n, L) arrays
        As in :func:`kinetic_occupancy`.
    breakpoints_h : array
        Dose and infusion times.
    max_step_h : float
        Largest step (h).
    atol, rtol : float
        Local error tolerance on occupancies (fractions). Defaults 1e-10 and 1e-5: the W1 workload then
        meets its 1e-5 absolute criterion with a margin of about 10 and MG occupancies of ~1e-4 to 1e-5
        relative.
    b0 : optional
        Initial occupancies (``start='integrate'`` only).
    max_rounds : int
        Refinement rounds before giving up with an error.
    start : {'integrate', 'equilibrium'}
        Where the start state of each step's error estimate comes from (see above).
    groups : int, optional
        With ``groups = G``, ``kon`` and ``koff`` are (G, L): G receptors, each binding every subject of
        ``ce_fn`` with its own rates (the layout of a model's kinetic receptors, shared by all subjects); the
        integration then runs in the shared-rate form (:func:`iter_kinetic_occupancy`) and every step must
        meet the tolerance at every receptor.
    max_nodes : int
        The starting mesh is refused beyond this many nodes (:func:`make_nodes`).

    Returns
    -------
    numpy.ndarray
        The nodes (h).
    """
    atol = require_number("atol", atol, minimum=0, strict=True)
    rtol = require_number("rtol", rtol, minimum=0)
    if start not in ("integrate", "equilibrium"):
        raise PharmsimError(f"start must be 'integrate' or 'equilibrium'; got {start!r}")
    nodes = make_nodes(t_h, breakpoints_h, max_step_h, max_nodes=max_nodes)
    if nodes.size < 2:
        return nodes
    if groups is not None:
        kon_g, koff_g = _rates(kon_per_nM_per_h, koff_per_h)
        if kon_g.ndim != 2 or kon_g.shape[0] != groups:
            raise PharmsimError(f"with groups={groups}, kon and koff must be ({groups}, L); got {kon_g.shape}")
        inner = ce_fn

        def ce_fn(times, inner=inner):            # every group sees the same concentrations
            return np.concatenate([np.asarray(inner(times), dtype=float)] * groups, axis=0)

        if start == "integrate":
            ce = np.maximum(np.asarray(inner(stage_times(nodes)), dtype=float), 0.0)     # (n, T3, L)
            n_s = ce.shape[0]
            ce_t = np.ascontiguousarray(ce.transpose(1, 2, 0))[:, :, None, :]             # (T3, L, 1, n)
            stream = [ce_t[0]] + [ce_t[3 * k + 1:3 * k + 4] for k in range(nodes.size - 1)]  # by step: views
            out = np.empty((nodes.size, groups, n_s, ce.shape[-1]))
            for k, (_, Bk) in enumerate(iter_kinetic_occupancy(nodes, stream, kon_g.T[:, :, None],
                                                               koff_g.T[:, :, None], by_step=True)):  # (L, G, n)
                out[k] = Bk.transpose(1, 2, 0)
            B = np.ascontiguousarray(out.transpose(1, 2, 0, 3).reshape(groups * n_s, nodes.size, ce.shape[-1]))
            start = "done"
        kon_per_nM_per_h = np.repeat(kon_g, len_of(inner, nodes) if start != "done" else B.shape[0] // groups,
                                     axis=0)
        koff_per_h = np.repeat(koff_g, kon_per_nM_per_h.shape[0] // groups, axis=0)
    if start == "done":
        kon, koff = _rates(kon_per_nM_per_h, koff_per_h, B.shape[-1])
    elif start == "integrate":
        ce = np.asarray(ce_fn(stage_times(nodes)), dtype=float)
        B = kinetic_occupancy(nodes, ce, kon_per_nM_per_h, koff_per_h, b0)       # (n, T, L)
        kon, koff = _rates(kon_per_nM_per_h, koff_per_h, B.shape[-1])
    else:
        ce = np.maximum(np.asarray(ce_fn(nodes), dtype=float), 0.0)              # (n, T, L)
        kon, koff = _rates(kon_per_nM_per_h, koff_per_h, ce.shape[-1])
        kon_b = np.broadcast_to(np.atleast_2d(kon), (ce.shape[0], ce.shape[-1]))[:, None, :]
        koff_b = np.broadcast_to(np.atleast_2d(koff), (ce.shape[0], ce.shape[-1]))[:, None, :]
        x = np.where(koff_b > 0, kon_b * ce / np.where(koff_b > 0, koff_b, 1.0), 0.0)   # Ce/K; unbound ligands 0
        B = x / (1.0 + x.sum(axis=-1, keepdims=True))
    a, b, B0 = nodes[:-1], nodes[1:], B[:, :-1]
    rad = _rates_radau(kon, koff, B.shape[0])
    added = []
    for _ in range(int(max_rounds)):
        err = _local_errors(a, b, B0, ce_fn, rad, atol, rtol)
        bad = err > 1.0
        if not bad.any():
            return np.unique(np.concatenate([nodes, *added]))
        m = np.clip(np.ceil(np.log2(err[bad]) / 4.0), 1, 4).astype(int)
        a_bad, b_bad, B_bad = a[bad], b[bad], B0[:, bad]
        new_a, new_b, new_B = [], [], []
        for mk in np.unique(m):
            sel = m == mk
            parts = 2**mk
            h = (b_bad[sel] - a_bad[sel]) / parts
            h_keys = step_key(h)
            for hk in np.unique(h_keys):
                g = np.nonzero(sel)[0][h_keys == hk]
                hh = float((b_bad[g[0]] - a_bad[g[0]]) / parts)
                states = _steps_from(B_bad[:, g], a_bad[g], hh, ce_fn, rad, parts - 1)        # (parts-1, n, k, L)
                starts = np.concatenate([B_bad[:, g][None], states], axis=0)                  # (parts, n, k, L)
                t0 = a_bad[g][None, :] + hh * np.arange(parts)[:, None]                      # (parts, k)
                new_a.append(t0.ravel())
                new_b.append((t0 + hh).ravel())
                new_B.append(starts.transpose(1, 0, 2, 3).reshape(starts.shape[1], -1, starts.shape[-1]))
                added.append(t0[1:].ravel())
        a, b = np.concatenate(new_a), np.concatenate(new_b)
        B0 = np.concatenate(new_B, axis=1)
    raise PharmsimError(f"adapt_nodes did not meet atol={atol}, rtol={rtol} within {max_rounds} rounds of "
                        "refinement; loosen the tolerance or check the concentrations")
