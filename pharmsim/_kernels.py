"""Compiled inner loops (numba), used when the optional ``fast`` extra is installed.

Each kernel here is the loop form of a numpy function elsewhere, with the same arithmetic in the same order, and
is tested against it (``tests/test_kernels.py``). The numpy form stays the reference and the fallback: pharmsim
runs without numba, only slower where the per-step Python overhead dominates (small populations).

Why numba: the shared-rate Radau IIA step of the kinetic binding (:class:`pharmsim.binding._RadauShared`) is about
thirty small array operations per step; for a population of 100 each costs more in interpreter overhead than in
arithmetic, and the step runs about 1,500 times per simulation. One compiled loop over (receptor, subject) does the
same work without temporaries (and releases the GIL, so ``simulate(..., workers=2)`` threads run it in parallel).
The compiled code is cached beside this file (numba ``cache=True``), so only the first import on a machine compiles
(about 1 s); later imports load it (numba's own import is the larger cost, about 1 s on a 2-core VM).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["radau_shared_step"]


_C3 = numba.float64[:, :, ::1]
_C4 = numba.float64[:, :, :, ::1]


# one signature (C-contiguous float64 arrays), compiled once and cached: callers pass contiguous writable arrays
@numba.njit(_C3(_C3, _C3, _C3, _C3, _C4, _C3, _C3), cache=True, nogil=True, fastmath=False)
def radau_shared_step(B, ce, Qm, W, Qlast, w_last, out):  # pragma: no cover - compiled; tested through binding
    """One shared-rate Radau IIA step, :meth:`pharmsim.binding._RadauShared.step` as one loop.

    ``B`` (G, L, N) occupancies at the step's start; ``ce`` (3, L, N) stage concentrations (nM); ``Qm`` (3, 3G, L),
    ``W`` (G, 3, L), ``Qlast`` (3, G, L, 1), ``w_last`` (G, L, 1) the step constants of ``_RadauShared.constants``;
    writes the occupancies at the step's end into ``out`` (G, L, N). Per (receptor g, subject n): ``v = 1 - W B``,
    ``G = I + K`` with ``K_ij = sum_l Qm[j, i G + g, l] ce[j, l, n]``, ``G u = v`` by Gaussian elimination without
    pivoting (diagonally dominant), then ``B' = w_last B + sum_j Qlast_j ce_j u_j``.
    """
    Gn, L, N = B.shape
    # loops with the subjects innermost (contiguous, vectorised by the compiler); accumulators per subject
    v = np.empty((3, N))
    K = np.empty((9, N))            # K[3 i + j] = K_ij
    u = np.empty((3, N))
    for g in range(Gn):
        v[:] = 0.0
        K[:] = 0.0
        for lig in range(L):
            w0 = W[g, 0, lig]
            w1 = W[g, 1, lig]
            w2 = W[g, 2, lig]
            for n in range(N):
                b = B[g, lig, n]
                v[0, n] += w0 * b
                v[1, n] += w1 * b
                v[2, n] += w2 * b
        for lig in range(L):
            q00 = Qm[0, g, lig]
            q10 = Qm[0, Gn + g, lig]
            q20 = Qm[0, 2 * Gn + g, lig]
            q01 = Qm[1, g, lig]
            q11 = Qm[1, Gn + g, lig]
            q21 = Qm[1, 2 * Gn + g, lig]
            q02 = Qm[2, g, lig]
            q12 = Qm[2, Gn + g, lig]
            q22 = Qm[2, 2 * Gn + g, lig]
            for n in range(N):
                c0 = ce[0, lig, n]
                c1 = ce[1, lig, n]
                c2 = ce[2, lig, n]
                K[0, n] += q00 * c0
                K[3, n] += q10 * c0
                K[6, n] += q20 * c0
                K[1, n] += q01 * c1
                K[4, n] += q11 * c1
                K[7, n] += q21 * c1
                K[2, n] += q02 * c2
                K[5, n] += q12 * c2
                K[8, n] += q22 * c2
        for n in range(N):
            v0 = 1.0 - v[0, n]
            v1 = 1.0 - v[1, n]
            v2 = 1.0 - v[2, n]
            k00 = K[0, n] + 1.0
            k01 = K[1, n]
            k02 = K[2, n]
            k10 = K[3, n]
            k11 = K[4, n] + 1.0
            k12 = K[5, n]
            k20 = K[6, n]
            k21 = K[7, n]
            k22 = K[8, n] + 1.0
            l10 = k10 / k00
            l20 = k20 / k00
            g11 = k11 - k01 * l10
            g12 = k12 - k02 * l10
            g21 = k21 - k01 * l20
            g22 = k22 - k02 * l20
            w1 = v1 - l10 * v0
            w2 = v2 - l20 * v0
            l21 = g21 / g11
            u2 = (w2 - l21 * w1) / (g22 - l21 * g12)
            u1 = (w1 - g12 * u2) / g11
            u[0, n] = (v0 - k01 * u1 - k02 * u2) / k00
            u[1, n] = u1
            u[2, n] = u2
        for lig in range(L):
            wl = w_last[g, lig, 0]
            a0 = Qlast[0, g, lig, 0]
            a1 = Qlast[1, g, lig, 0]
            a2 = Qlast[2, g, lig, 0]
            for n in range(N):
                acc = wl * B[g, lig, n]
                acc += ce[0, lig, n] * u[0, n] * a0
                acc += ce[1, lig, n] * u[1, n] * a1
                acc += ce[2, lig, n] * u[2, n] * a2
                out[g, lig, n] = acc
    return out
