"""Streamed population summaries (simulate(..., summaries=)) and the Dask backend (scheduler=), issue 18.

The chunks are fixed by ``chunk_size`` (never by the number of workers) and merged in subject order, so a
local run, threads and a LocalCluster with 1 or 2 worker processes give the same summaries; quantiles are
within the sketch's stated bound of numpy's exact percentiles; memory does not grow with N.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import pharmsim as ps
from pharmsim.solve import series_label
from pharmsim.summaries import Summaries

T = np.arange(0.0, 24.01, 0.5)


@pytest.fixture(scope="module")
def case():
    lib = ps.load_library()
    d = ps.Product("tea", 2.0).doses([0.0, 12.0], library=lib) + ps.dose("morphine", 10.0, 2.0, route="iv",
                                                                         library=lib)
    m = ps.build_model(d, library=lib)
    pop = ps.Population(1200, omega={"MG.CL_L_per_h": 0.3, "MG.V_L": 0.2, "morphine.CL_L_per_h": 0.3}, rng=11)
    return m, d, pop


SPEC = Summaries(quantiles=(5.0, 50.0, 95.0), n_sampled=4, quantile_error=0.01)


def _same(a, b, labels, rtol):
    for lab in labels:
        for stat in ("mean", "sd", "p5", "p50", "p95"):
            np.testing.assert_allclose(a.get(lab, stat), b.get(lab, stat), rtol=rtol, atol=0, err_msg=f"{lab} {stat}")


def test_summaries_match_the_full_run_and_the_quantile_bound(case):
    m, d, pop = case
    full = ps.simulate(m, d, T, population=pop)
    s = ps.simulate(m, d, T, population=pop, summaries=SPEC, chunk_size=300)
    for ser in full.series:
        lab = series_label(ser)
        x = ser.values
        scale = np.abs(x).max() + 1e-300
        np.testing.assert_allclose(s.get(lab, "mean"), x.mean(axis=0), rtol=1e-12, atol=1e-14 * scale)
        np.testing.assert_allclose(s.get(lab, "sd"), x.std(axis=0, ddof=1), rtol=1e-9, atol=1e-12 * scale)
        floor, _ = SPEC.value_range_for(lab)
        for q in (5.0, 50.0, 95.0):
            exact = np.percentile(x, q, axis=0)
            bound = SPEC.quantile_error * np.abs(exact) + floor             # the stated bound (summaries.py)
            assert np.all(np.abs(s.get(lab, f"p{q:g}") - exact) <= bound * (1 + 1e-12)), (lab, q)
    sampled = s.sampled()
    assert sampled["subject"].nunique() == 4
    subj = int(sampled["subject"].iloc[0])
    lab = "plasma_conc/MG/-/-"
    got = sampled.query("subject == @subj and series == @lab")["value"].to_numpy()
    np.testing.assert_array_equal(got, full.get("plasma_conc", "MG")[subj])


def test_results_do_not_depend_on_threads_or_cluster_workers(case):
    distributed = pytest.importorskip("distributed")
    m, d, pop = case
    labels = ["plasma_conc/MG/-/-", "occupancy/7-OH-MG/MOR/-", "response/all/MOR/analgesia"]
    local = ps.simulate(m, d, T, population=pop, summaries=SPEC, chunk_size=300)
    threads = ps.simulate(m, d, T, population=pop, summaries=SPEC, chunk_size=300, workers=2)
    _same(local, threads, labels, rtol=0)
    for n_workers in (1, 2):
        with distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster, distributed.Client(cluster) as client:
            remote = ps.simulate(m, d, T, population=pop, summaries=SPEC, chunk_size=300, scheduler=client)
        _same(local, remote, labels, rtol=1e-12)
        np.testing.assert_array_equal(local.scalars()["Cmax"], remote.scalars()["Cmax"])


def test_memory_does_not_grow_with_the_population(case):
    """What grows with N in a summaries run is only the per-subject scalars (a few floats per subject and
    series) and the population's own draws, never the trajectories: from 2,000 to 12,000 subjects the peak
    traced memory grows by at most 1.5 x (scalar columns x 8 bytes + 64 bytes) per subject, a small fraction of
    the T x S doubles per subject that full outputs would take."""
    m, d, _ = case
    spec = Summaries(n_sampled=2)
    peaks = {}
    for n in (2000, 12000):
        pop = ps.Population(n, omega={"MG.CL_L_per_h": 0.3}, rng=2)
        tracemalloc.start()
        r = ps.simulate(m, d, T, population=pop, summaries=spec, chunk_size=500)
        peaks[n] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    n_series = r.table()["series"].nunique()
    scalar_cols = r.scalars().shape[1] - 2                                        # minus subject, series
    per_subject = (peaks[12000] - peaks[2000]) / 10000
    assert per_subject <= 1.5 * (scalar_cols * n_series * 8 + 64)
    assert per_subject <= 0.15 * T.size * n_series * 8


def test_bad_streaming_arguments_are_named(case):
    m, d, pop = case
    with pytest.raises(ps.PharmsimError, match="summaries must be a pharmsim.summaries.Summaries"):
        ps.simulate(m, d, T, population=pop, summaries={"mean": True})
    with pytest.raises(ps.PharmsimError, match="scheduler= runs streamed summaries on a cluster"):
        ps.simulate(m, d, T, population=pop, scheduler=object())
    with pytest.raises(ps.PharmsimError, match=r"streamed summaries would hold about .*max_output_mb"):
        ps.simulate(m, d, T, population=pop, summaries=SPEC, chunk_size=1200, max_output_mb=1.0)


def test_populations_larger_than_the_pilot_cap_stream(case, monkeypatch):
    """Past the cap on subjects gathered to choose the mesh's pilots (200,000 in use; 500 here), the streamed
    summaries still equal the in-memory result (regression: an IndexError at N = 10^6)."""
    import pharmsim.solve as solve_mod

    m, d, pop = case
    monkeypatch.setattr(solve_mod, "_VARYING_CAP", 500)
    full = ps.simulate(m, d, T, population=pop)
    s = ps.simulate(m, d, T, population=pop, summaries=SPEC, chunk_size=300)
    for ser in full.series:
        np.testing.assert_allclose(s.get(series_label(ser), "mean"), ser.values.mean(axis=0), rtol=1e-12,
                                   atol=1e-14 * (np.abs(ser.values).max() + 1e-300))
