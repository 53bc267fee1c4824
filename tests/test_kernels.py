"""The compiled kernels (pharmsim/_kernels.py, the ``fast`` extra) against the numpy code they replace."""

from __future__ import annotations

import numpy as np
import pytest

import pharmsim as ps
from pharmsim import binding

pytest.importorskip("numba")

@pytest.mark.parametrize("G,L,N", [(1, 1, 1), (1, 3, 7), (2, 3, 100), (3, 4, 33), (2, 6, 1000)])
def test_the_compiled_radau_step_is_the_numpy_step(G, L, N):
    rng = np.random.default_rng(G * 100 + L * 10 + N)
    kon = rng.uniform(1e-4, 5.0, (L, G))
    koff = rng.uniform(1e-3, 50.0, (L, G))
    B = rng.dirichlet(np.ones(L + 1), size=(G, N))[..., :L].transpose(0, 2, 1).copy()   # occupancies, sum < 1
    ce = rng.uniform(0.0, 500.0, (3, L, N))
    fast = binding._RadauShared(kon, koff, compiled=True)
    slow = binding._RadauShared(kon, koff, compiled=False)
    assert fast.kernel is not None and slow.kernel is None
    for h in (1e-3, 0.25, 6.0):
        a, b = fast.step(B, ce, h), slow.step(B, ce, h)
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
        B = a


def test_simulate_gives_the_same_numbers_without_numba(monkeypatch):
    """A kratom + morphine population through the public API (streaming kinetic binding) with the compiled step
    and with numpy only (as without the ``fast`` extra), on one and two threads: the same numbers to round-off."""
    lib = ps.load_library()
    d = ps.Product("tea", 2.0).doses([0.0, 12.0], library=lib) + ps.dose("morphine", 10.0, 2.0, route="iv",
                                                                         library=lib)
    m = ps.build_model(d, tolerance="gprotein", library=lib)
    pop = ps.Population(40, omega={"MG.CL_L_per_h": 0.3, "morphine.CL_L_per_h": 0.3}, rng=11)
    t = np.arange(0.0, 36.01, 0.25)
    fast = ps.simulate(m, d, t, population=pop)
    fast2 = ps.simulate(m, d, t, population=pop, workers=2, chunk_size=15)
    assert "streaming" in fast.notes[-1]
    monkeypatch.setattr(binding, "_compiled_step", lambda: None)
    slow = ps.simulate(m, d, t, population=pop)
    assert fast.notes[-1] == slow.notes[-1]                          # the same mesh
    for a, b, c in zip(fast.series, slow.series, fast2.series, strict=True):
        np.testing.assert_allclose(a.values, b.values, rtol=1e-11, atol=1e-14, err_msg=a.quantity)
        np.testing.assert_allclose(c.values, a.values, rtol=1e-12, atol=1e-14, err_msg=a.quantity)
