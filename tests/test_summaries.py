"""Tests of pharmsim.summaries: streaming per-time moments, quantile sketches, per-subject scalars, sampled
subjects; compared with numpy on populations that fit in memory."""

from __future__ import annotations

import dataclasses
import math
import pickle

import numpy as np
import pandas as pd
import pytest

from pharmsim.summaries import (
    DEFAULT_VALUE_RANGE,
    LogGrid,
    Summaries,
    SummaryAccumulator,
    SummaryPartial,
)
from pharmsim.validate import PharmsimError

N, T = 20_000, 50
T_H = np.linspace(0.0, 24.0, T)
ALPHA = 0.01
QS = (0.0, 0.1, 1.0, 5.0, 25.0, 37.3, 50.0, 75.0, 95.0, 99.0, 99.9, 100.0)
LABELS = ("conc", "occ", "resp")


@pytest.fixture(scope="module")
def population():
    """Log-normal concentrations, fractions with many exact zeros, and responses with negatives."""
    rng = np.random.default_rng(20261201)
    conc = 50.0 * np.exp(rng.normal(0.0, 1.2, (N, T)))
    occ = np.where(rng.random((N, T)) < 0.4, 0.0, rng.beta(0.5, 5.0, (N, T)))
    occ[:, 0] = 0.0  # t = 0: nobody is dosed yet
    resp = rng.normal(0.05, 0.3, (N, T))
    return {"conc": conc, "occ": occ, "resp": resp}


def _spec(**kw):
    base = dict(quantiles=QS, quantile_error=ALPHA, thresholds={"conc": (30.0, 100.0), "resp": 0.0},
                value_range={"occ": (1e-9, 1.0)}, scalars=("Cmax", "Tmax", "AUC", "nadir", "Tnadir", "time_above"))
    base.update(kw)
    return Summaries(**base)


def _run(data, bounds, spec=None, seed=7, order=None, t_h=T_H):
    acc = SummaryAccumulator(spec or _spec(), t_h, list(data), next(iter(data.values())).shape[0], seed=seed)
    parts = [acc.chunk(a, {k: v[a:b] for k, v in data.items()}) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    if order is not None:
        parts = [parts[i] for i in order]
    return acc, parts, acc.merge(parts)


CHUNKINGS = {
    "one": [0, N],
    "even": list(range(0, N + 1, 2_000)),
    "ragged": [0, 1, 2, 999, 5_000, 5_001, 13_337, N],
}


@pytest.fixture(scope="module")
def runs(population):
    return {name: _run(population, b) for name, b in CHUNKINGS.items()}


# ---------------------------------------------------------------------------------------------- moments
def test_moments_match_numpy_for_any_chunking(population, runs):
    for name, (_, _, res) in runs.items():
        for i, s in enumerate(LABELS):
            x = population[s]
            mean, sd = x.mean(axis=0), x.std(axis=0, ddof=1)
            scale = np.abs(x).max()
            np.testing.assert_allclose(res.mean[i], mean, rtol=1e-12, atol=1e-14 * scale, err_msg=f"{name} {s}")
            np.testing.assert_allclose(res.sd[i], sd, rtol=1e-12, atol=1e-14 * scale, err_msg=f"{name} {s}")
            np.testing.assert_array_equal(res.vmin[i], x.min(axis=0))
            np.testing.assert_array_equal(res.vmax[i], x.max(axis=0))
            np.testing.assert_array_equal(res.get(s, "mean"), res.mean[i])
    # t = 0 of the occupancy is exactly 0 for everybody: mean and SD exactly 0, whatever the chunking
    for _, _, res in runs.values():
        assert res.get("occ", "mean")[0] == 0.0 and res.get("occ", "sd")[0] == 0.0


def test_moments_with_large_offset_merge_stably():
    rng = np.random.default_rng(3)
    x = 1e6 + rng.normal(0.0, 1.0, (3_000, T))
    _, _, res = _run({"x": x}, [0, 7, 1_000, 1_001, 3_000], spec=Summaries(quantiles=(), scalars=()))
    np.testing.assert_allclose(res.sd[0], x.std(axis=0, ddof=1), rtol=1e-9)


def test_same_chunks_same_order_are_bit_identical(population):
    b = CHUNKINGS["ragged"]
    _, parts1, r1 = _run(population, b)
    _, _, r2 = _run(population, b)
    shuffled = list(reversed(range(len(b) - 1)))
    _, _, r3 = _run(population, b, order=shuffled)  # merge sorts by start: same fold, same bits
    acc = SummaryAccumulator(_spec(), T_H, list(population), N, seed=7)
    r4 = acc.merge([pickle.loads(pickle.dumps(p)) for p in parts1])  # shipped between processes
    worker = pickle.loads(pickle.dumps(acc))  # an accumulator shipped to a worker makes compatible partials
    assert worker.fingerprint == acc.fingerprint
    p0 = worker.chunk(0, {k: v[:1] for k, v in population.items()})
    assert p0.scalars.tobytes() == parts1[0].scalars.tobytes()
    for other in (r2, r3, r4):
        for f in ("mean", "sd", "vmin", "vmax", "quantiles", "scalar_values", "sampled_values", "sampled_index"):
            assert getattr(r1, f).tobytes() == getattr(other, f).tobytes(), f
        assert r1.table().equals(other.table())


def test_sketch_scalars_and_samples_do_not_depend_on_chunking(runs):
    ref = runs["one"][2]
    for name, (_, _, res) in runs.items():
        # integer bucket counts and exact extremes: identical for every chunking, not only to round-off
        np.testing.assert_array_equal(res.quantiles, ref.quantiles, err_msg=name)
        for a, b in zip(res.sketches, ref.sketches, strict=True):
            for f in dataclasses.fields(a):
                np.testing.assert_array_equal(getattr(a, f.name), getattr(b, f.name), err_msg=f"{name} {f.name}")
        np.testing.assert_array_equal(res.scalar_values, ref.scalar_values, err_msg=name)
        np.testing.assert_array_equal(res.sampled_index, ref.sampled_index)
        np.testing.assert_array_equal(res.sampled_values, ref.sampled_values)


def test_tree_of_combines_agrees_with_merge(population, runs):
    acc, parts, res = runs["even"]
    level = parts
    while len(level) > 1:  # pairwise tree, as a distributed reduction would do
        nxt = [acc.combine(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        level = nxt + ([level[-1]] if len(level) % 2 else [])
    tree = acc.finalize(level[0])
    np.testing.assert_array_equal(tree.quantiles, res.quantiles)
    np.testing.assert_array_equal(tree.scalar_values, res.scalar_values)
    np.testing.assert_allclose(tree.mean, res.mean, rtol=1e-13)
    np.testing.assert_allclose(tree.sd, res.sd, rtol=1e-12)
    with pytest.raises(PharmsimError, match="b must start where a ends"):
        acc.combine(parts[0], parts[2])


# ---------------------------------------------------------------------------------------------- quantiles
def _bound(x_sorted, q, alpha, floor):
    """The stated bound alpha((1 - f)|x_(k)| + f|x_(k+1)|) + floor, with numpy's 'linear' k and f."""
    n = x_sorted.shape[0]
    h = (n - 1) * (q / 100.0)
    k = int(math.floor(h))
    f = h - k
    k1 = min(k + 1, n - 1)
    return alpha * ((1 - f) * np.abs(x_sorted[k]) + f * np.abs(x_sorted[k1])) + floor


def test_quantiles_within_the_stated_bound(population, runs):
    res = runs["ragged"][2]
    for i, s in enumerate(LABELS):
        x = population[s]
        xs = np.sort(x, axis=0)
        exact = np.percentile(x, QS, axis=0)
        floor = 1e-9
        for j, q in enumerate(QS):
            err = np.abs(res.quantiles[i, j] - exact[j])
            bound = _bound(xs, q, ALPHA, floor) * (1 + 1e-9) + 1e-13 * np.abs(exact[j])
            assert (err <= bound).all(), (s, q, float((err - bound).max()))
            if s != "resp":  # no negatives: the bound is relative to the quantile itself
                assert (err <= ALPHA * (1 + 1e-9) * np.abs(exact[j]) + floor).all(), (s, q)
        # extremes are exact; the bound is not vacuous (the sketch is really approximate elsewhere)
        np.testing.assert_array_equal(res.get(s, "p0"), x.min(axis=0))
        np.testing.assert_array_equal(res.get(s, "p100"), x.max(axis=0))
    rel = np.abs(res.get("conc", "p50") / np.percentile(population["conc"], 50, axis=0) - 1)
    assert 1e-5 < rel.max() <= ALPHA
    # any other percentile from the kept sketch, same bound
    q = 12.5
    err = np.abs(res.quantile("conc", q) - np.percentile(population["conc"], q, axis=0))
    assert (err <= _bound(np.sort(population["conc"], axis=0), q, ALPHA, 1e-9) * (1 + 1e-9)).all()
    assert res.get("occ", "p50")[0] == 0.0  # all zeros at t = 0


def test_constant_and_repeated_values_are_exact():
    x = np.full((1_000, T), 3.7)
    x[::2, 1] = -0.25  # half the subjects at each of two values at t_h[1]
    _, _, res = _run({"x": x}, [0, 333, 1_000], spec=Summaries(quantiles=(1, 25, 50, 75, 99), scalars=()))
    for q in (1, 25, 50, 75, 99):
        assert (res.get("x", f"p{q:g}")[2:] == 3.7).all()  # clipped to [min, max] = [3.7, 3.7]
    assert abs(res.get("x", "p25")[1] + 0.25) <= 0.25 * ALPHA and abs(res.get("x", "p75")[1] - 3.7) <= 3.7 * ALPHA
    assert (res.get("x", "sd")[2:] == 0).all()


def test_tighter_accuracy_gives_smaller_errors(population):
    x = {"conc": population["conc"][:5_000]}
    errs = []
    for a in (0.05, 0.002):
        _, _, res = _run(x, [0, 2_500, 5_000], spec=Summaries(quantiles=(50.0,), quantile_error=a, scalars=()))
        e = np.abs(res.get("conc", "p50") / np.percentile(x["conc"], 50, axis=0) - 1)
        assert e.max() <= a
        errs.append(e.max())
    assert errs[1] < errs[0]


def test_values_outside_the_declared_range():
    x = np.tile(np.array([1e-12, 0.0, 0.5, 50.0, 60.0])[:, None], (1, 3))  # ceiling 10: 50 and 60 are over
    spec = Summaries(quantiles=(0, 10, 50, 80, 100), value_range=(1e-9, 10.0), scalars=())
    _, _, res = _run({"x": x}, [0, 2, 5], spec=spec, t_h=[0.0, 1.0, 2.0])
    assert res.get("x", "p0")[0] == 0.0 and res.get("x", "p10")[0] == 0.0  # 1e-12 is below the floor: 0
    assert abs(res.get("x", "p50")[0] - 0.5) <= ALPHA * 0.5
    assert np.isnan(res.get("x", "p80")[0])  # needs x_(3) = 50, counted but not placed: no bound, so NaN
    assert res.get("x", "p100")[0] == 60.0  # the exact max
    assert res.sketches[0].above.tolist() == [2, 2, 2]
    assert any("6 value(s) beyond +-10" in n for n in res.notes)


def test_log_grid_edges_and_representatives():
    g = LogGrid(1e-3, 1e3, 0.02)
    assert g.edges[0] == 1e-3 and g.edges[-1] >= 1e3
    gamma = (1 + 0.02) / (1 - 0.02)
    np.testing.assert_allclose(g.edges[1:] / g.edges[:-1], gamma, rtol=1e-12)
    m = np.geomspace(1.0001e-3, 1e3, 20_001)
    m = np.concatenate([m, g.edges[1:-1], np.nextafter(g.edges[1:-1], np.inf)])  # on and just past edges
    k = g.keys(m)
    np.testing.assert_array_equal(k, np.searchsorted(g.edges, m))  # e_{k-1} < m <= e_k exactly
    assert (np.abs(g.reps[k] / m - 1) <= 0.02 * (1 + 1e-12)).all()


# ---------------------------------------------------------------------------------------------- scalars
def _auc_linlog_loop(t, c):
    total = 0.0
    for i in range(t.size - 1):
        c1, c2, dt = c[i], c[i + 1], t[i + 1] - t[i]
        total += (c1 - c2) * dt / math.log(c1 / c2) if (c2 < c1 and c2 > 0) else 0.5 * (c1 + c2) * dt
    return total


def _time_above_fine(t, c, thr, k=2_000):
    tf = np.linspace(t[0], t[-1], (t.size - 1) * k + 1)
    cf = np.interp(tf, t, c)
    mid = 0.5 * (cf[1:] + cf[:-1])
    return float(np.sum((mid > thr) * np.diff(tf)))


def test_scalars_against_direct_computation(population, runs):
    res = runs["ragged"][2]
    df = res.scalars()
    assert list(df.columns[:2]) == ["subject", "series"] and len(df) == N * len(LABELS)
    for s in LABELS:
        x = population[s]
        d = df[df["series"] == s].reset_index(drop=True)
        np.testing.assert_array_equal(d["subject"], np.arange(N))
        np.testing.assert_array_equal(d["Cmax"], x.max(axis=1))
        np.testing.assert_array_equal(d["Tmax"], T_H[np.argmax(x, axis=1)])
        np.testing.assert_array_equal(d["nadir"], x.min(axis=1))
        np.testing.assert_array_equal(d["Tnadir"], T_H[np.argmin(x, axis=1)])
        for i in range(0, N, 997):
            assert d["AUC"][i] == pytest.approx(_auc_linlog_loop(T_H, x[i]), rel=1e-12)
    conc = population["conc"]
    d = df[df["series"] == "conc"].reset_index(drop=True)
    for i in range(0, N, 1999):
        for thr in (30.0, 100.0):
            assert d[f"time_above_{thr:g}"][i] == pytest.approx(_time_above_fine(T_H, conc[i], thr), abs=1e-2)
    assert d["time_above_0"].isna().all()  # the threshold 0 belongs to 'resp' only
    assert "time_above_30" not in res.scalars(series="occ").columns


def test_auc_rules_and_time_above_closed_forms():
    t = np.linspace(0.0, 10.0, 11)
    k, c0 = 0.3, 40.0
    c = np.vstack([c0 * np.exp(-k * t), np.r_[np.zeros(5), 1.0, np.zeros(5)], np.full(11, 2.0)])
    tri = np.interp(t, [0.0, 5.0, 10.0], [0.0, 2.0, 0.0])  # rises to 2 at t = 5 and falls back
    c = np.vstack([c, tri, 5.0 + 1e-13 * t[::-1]])  # last: nearly flat and falling (log-down cancellation)
    for method, exp_auc in (("lin up/log down", c0 * (1 - np.exp(-k * 10)) / k), ("linear", None)):
        spec = Summaries(quantiles=(), scalars=("AUC", "time_above", "Tmax", "Tnadir"), thresholds=1.0,
                         auc_method=method)
        _, _, res = _run({"x": c}, [0, 2, 5], spec=spec, t_h=t)
        d = res.scalars()
        if exp_auc is not None:
            assert d["AUC"][0] == pytest.approx(exp_auc, rel=1e-12)  # log-down is exact for an exponential
            assert d["AUC"][4] == pytest.approx(50.0 + 5e-12, rel=1e-14)  # a difference of logs: ~1 % off
        else:
            np.testing.assert_allclose(d["AUC"], np.trapezoid(c, t, axis=1), rtol=1e-13)
        assert d["AUC"][1] == pytest.approx(1.0) and d["AUC"][2] == pytest.approx(20.0)
        # time above 1: the exponential until ln(40)/0.3 h; the spike touches 1 (not > 1); the triangle
        # from t = 2.5 to 7.5 (linear crossings); the constant 2 all the time
        assert d["time_above_1"][0] == pytest.approx(_time_above_fine(t, c[0], 1.0), abs=1e-3)
        assert d["time_above_1"][1] == 0.0
        assert d["time_above_1"][2] == pytest.approx(10.0)
        assert d["time_above_1"][3] == pytest.approx(5.0, rel=1e-12)
        # ties: the first time of the max and of the min (the constant row: t = 0 for both)
        assert d["Tmax"].tolist()[:4] == [0.0, 5.0, 0.0, 5.0] and d["Tnadir"].tolist()[:4] == [10.0, 0.0, 0.0, 0.0]


def test_scalar_summary_is_exact(population, runs):
    res = runs["even"][2]
    ss = res.scalar_summary()
    v = population["conc"].max(axis=1)
    got = ss[(ss["series"] == "conc") & (ss["scalar"] == "Cmax")].set_index("statistic")["value"]
    assert got["mean"] == pytest.approx(v.mean(), rel=1e-13)
    assert got["sd"] == pytest.approx(v.std(ddof=1), rel=1e-12)
    assert got["p5"] == np.percentile(v, 5) and got["max"] == v.max() and got["min"] == v.min()


# ---------------------------------------------------------------------------------------------- sampled
def test_sampled_subjects_do_not_depend_on_chunk_size(population):
    x = {"conc": population["conc"][:3_000]}
    spec = Summaries(n_sampled=12, quantiles=(), scalars=())
    results = [_run(x, b, spec=spec, seed=np.random.SeedSequence(42))[2]
               for b in ([0, 3_000], [0, 1, 1_500, 2_999, 3_000], list(range(0, 3_001, 100)))]
    for r in results:
        np.testing.assert_array_equal(r.sampled_index, results[0].sampled_index)
        np.testing.assert_array_equal(r.sampled_values[0], x["conc"][r.sampled_index])
    idx = results[0].sampled_index
    assert idx.size == 12 and np.unique(idx).size == 12 and (np.diff(idx) > 0).all()
    tidy = results[0].sampled()
    assert list(tidy.columns) == ["subject", "time_h", "series", "value"] and len(tidy) == 12 * T
    np.testing.assert_array_equal(tidy["value"], x["conc"][np.repeat(idx, T), np.tile(np.arange(T), 12)])
    # a Generator or an int seed give the same choice as its SeedSequence; another seed another choice
    a = SummaryAccumulator(spec, T_H, ["conc"], 3_000, seed=np.random.default_rng(np.random.SeedSequence(42)))
    np.testing.assert_array_equal(a.sampled_index, idx)
    assert not np.array_equal(SummaryAccumulator(spec, T_H, ["conc"], 3_000, seed=43).sampled_index, idx)
    assert SummaryAccumulator(spec, T_H, ["conc"], 5, seed=0).sampled_index.tolist() == [0, 1, 2, 3, 4]


# ---------------------------------------------------------------------------------------------- memory
def test_partial_memory_does_not_grow_with_n(population):
    spec = _spec(n_sampled=0)
    block = {k: v[:500] for k, v in population.items()}
    sizes = []
    for n_total in (1_000, 1_000_000):
        acc = SummaryAccumulator(spec, T_H, list(block), n_total)
        p = acc.chunk(0, block)
        sizes.append(p.nbytes)
        assert p.nbytes <= acc.nbytes_bound(500)
    assert sizes[0] == sizes[1]
    # the per-time part (moments, sketches) of a merged 20,000-subject run stays below the N-free bound
    acc, _, res = _run(population, CHUNKINGS["even"], spec=spec)
    per_time = sum(s.nbytes for s in res.sketches) + 4 * len(LABELS) * T * 8
    assert per_time <= acc.nbytes_bound(0)
    K = LogGrid(*DEFAULT_VALUE_RANGE, ALPHA).K
    assert all(s.nbytes <= 8 * T * 7 + 4 * T * 2 * K for s in res.sketches)
    assert per_time < population["conc"].nbytes  # far smaller than one series' trajectories


def test_nothing_kept_that_nobody_asked_for(population):
    spec = Summaries(mean=False, sd=False, quantiles=(), scalars=(), n_sampled=0)
    acc = SummaryAccumulator(spec, T_H, ["conc"], N)
    p = acc.chunk(0, {"conc": population["conc"][:100]})
    assert p.sketches == () and p.mean.size == 0 and p.scalars.shape == (0, 100)
    res = acc.merge([acc.chunk(0, {"conc": population["conc"]})])
    assert res.spec.statistics == ("min", "max") and res.mean is None and res.sd is None
    assert set(res.table()["statistic"]) == {"min", "max"}


# ---------------------------------------------------------------------------------------------- tables
def test_tidy_table(runs):
    res = runs["one"][2]
    tab = res.table()
    assert list(tab.columns) == ["time_h", "series", "statistic", "value"]
    assert len(tab) == len(LABELS) * len(res.spec.statistics) * T
    assert res.spec.statistics[:4] == ("mean", "sd", "min", "max") and "p37.3" in res.spec.statistics
    sub = tab[(tab["series"] == "conc") & (tab["statistic"] == "p95")]
    np.testing.assert_array_equal(sub["value"], res.get("conc", "p95"))
    np.testing.assert_array_equal(sub["time_h"], T_H)
    one = res.table(statistics="p50", series="occ")
    assert len(one) == T and set(one["statistic"]) == {"p50"}
    assert isinstance(res.scalars(), pd.DataFrame)
    assert any("ddof = 1" in n for n in res.notes) and any("alpha = 0.01" in n for n in res.notes)


def test_single_subject_and_pickling():
    x = np.linspace(1.0, 2.0, T)[None, :]
    acc = SummaryAccumulator(Summaries(), T_H, ["x"], 1)
    res = acc.merge([acc.chunk(0, {"x": x})])
    assert np.isnan(res.sd).all()
    np.testing.assert_array_equal(res.get("x", "p50"), x[0])  # the only value is both min and max: exact
    again = pickle.loads(pickle.dumps(res))
    np.testing.assert_array_equal(again.quantiles, res.quantiles)
    spec = pickle.loads(pickle.dumps(_spec()))
    assert spec == _spec() and hash(spec) == hash(_spec())
    assert dataclasses.replace(spec, n_sampled=3).thresholds_for("conc") == (30.0, 100.0)
    assert spec.value_range_for("occ") == (1e-9, 1.0) and spec.value_range_for("conc") == DEFAULT_VALUE_RANGE


# ---------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(("kwargs", "match"), [
    ({"quantiles": (5.0, 101.0)}, r"quantiles must be percentiles in \[0, 100\]; got 101"),
    ({"quantiles": (-1.0,)}, r"quantiles must be percentiles in \[0, 100\]; got -1"),
    ({"quantiles": (5.0, np.nan)}, r"quantiles must be a finite number; got nan"),
    ({"quantiles": (5.0, 5.0)}, "must not repeat"),
    ({"quantile_error": 0.0}, r"quantile_error must be a relative accuracy in \(0, 1\).*got 0.0"),
    ({"quantile_error": -0.01}, r"quantile_error must be a relative accuracy in \(0, 1\).*got -0.01"),
    ({"quantile_error": 1.0}, "quantile_error"),
    ({"scalars": ("Cmx",)}, r"scalars must be among .*got 'Cmx' \(did you mean 'Cmax'\?\)"),
    ({"n_sampled": -1}, "n_sampled must be an integer >= 0; got -1"),
    ({"n_sampled": 2.5}, "n_sampled must be an integer"),
    ({"mean": "yes"}, "mean must be True or False"),
    ({"value_range": (1.0, 0.5)}, r"value_range must be a pair \(floor, ceiling\).*0 < floor < ceiling"),
    ({"value_range": {"conc": (0.0, 1.0)}}, r"value_range\['conc'\] must be a pair"),
    ({"value_range": (1e-300, 1e300), "quantile_error": 1e-6}, "buckets per sign"),
    ({"thresholds": {"conc": np.inf}}, r"thresholds\['conc'\] must be a finite number; got inf"),
    ({"auc_method": "lin-up/log-down"}, r"auc_method must be one of .*did you mean 'lin up/log down'"),
])
def test_bad_spec_raises_naming_it(kwargs, match):
    with pytest.raises(PharmsimError, match=match):
        Summaries(**kwargs)


def test_bad_accumulator_and_chunk_input(population):
    spec = Summaries(thresholds={"conc": 1.0})
    with pytest.raises(PharmsimError, match=r"t_h must be strictly increasing; t_h\[2\] = 1.0 follows"):
        SummaryAccumulator(spec, [0.0, 1.0, 1.0], ["conc"], 10)
    with pytest.raises(PharmsimError, match="t_h must be a finite number h; got nan"):
        SummaryAccumulator(spec, [0.0, np.nan], ["conc"], 10)
    with pytest.raises(PharmsimError, match="n_total must be an integer in 1..4294967295"):
        SummaryAccumulator(spec, T_H, ["conc"], 0)
    with pytest.raises(PharmsimError, match="series_labels must be unique"):
        SummaryAccumulator(spec, T_H, ["conc", "conc"], 10)
    with pytest.raises(PharmsimError, match=r"thresholds names series 'conc'.*did you mean 'Conc'"):
        SummaryAccumulator(spec, T_H, ["Conc"], 10)
    with pytest.raises(PharmsimError, match="seed must be"):
        SummaryAccumulator(spec, T_H, ["conc"], 10, seed="42")
    with pytest.raises(PharmsimError, match="spec must be"):
        SummaryAccumulator({"mean": True}, T_H, ["conc"], 10)

    acc = SummaryAccumulator(_spec(), T_H, list(LABELS), 100)
    good = {k: v[:10] for k, v in population.items()}
    with pytest.raises(PharmsimError, match=r"arrays\['occ'\] must have shape \(n_subjects >= 1, T = 50\); "
                                            r"got shape \(10, 49\)"):
        acc.chunk(0, {**good, "occ": good["occ"][:, 1:]})
    with pytest.raises(PharmsimError, match=r"arrays\['resp'\] has 9 subjects but arrays\['conc'\] has 10"):
        acc.chunk(0, {**good, "resp": good["resp"][:9]})
    bad = good["conc"].copy()
    bad[3, 7] = np.nan
    with pytest.raises(PharmsimError, match=r"arrays\['conc'\] must be finite; got nan at subject 23 \(row 3\), "
                                            r"t_h = 3.42857 h"):
        acc.chunk(20, {**good, "conc": bad})
    with pytest.raises(PharmsimError, match=r"arrays has unknown series 'ocupancy'"):
        acc.chunk(0, {**good, "ocupancy": good["occ"]})
    with pytest.raises(PharmsimError, match=r"arrays is missing series \['resp'\]"):
        acc.chunk(0, {k: good[k] for k in ("conc", "occ")})
    with pytest.raises(PharmsimError, match=r"arrays\['conc'\] must be numeric"):
        acc.chunk(0, {**good, "conc": good["conc"] > 1})
    with pytest.raises(PharmsimError, match=r"start_index must be an integer in 0..99; got 100"):
        acc.chunk(100, good)
    with pytest.raises(PharmsimError, match=r"start_index \+ n_subjects must be <= n_total = 100; got 95 \+ 10"):
        acc.chunk(95, good)


def test_bad_merge_and_statistic(population):
    acc = SummaryAccumulator(_spec(), T_H, list(LABELS), 30)
    blk = lambda a, b: {k: v[a:b] for k, v in population.items()}  # noqa: E731
    p0, p1, p2 = acc.chunk(0, blk(0, 10)), acc.chunk(10, blk(10, 20)), acc.chunk(20, blk(20, 30))
    with pytest.raises(PharmsimError, match="a gap at subject 10"):
        acc.merge([p0, p2])
    with pytest.raises(PharmsimError, match="an overlap at subject 10"):
        acc.merge([p0, p1, acc.chunk(10, blk(10, 20)), p2])
    with pytest.raises(PharmsimError, match="they end at subject 19"):
        acc.merge([p0, p1])
    with pytest.raises(PharmsimError, match="at least one"):
        acc.merge([])
    other = SummaryAccumulator(_spec(), T_H, list(LABELS), 30, seed=1)
    with pytest.raises(PharmsimError, match="from another accumulator"):
        other.merge([p0, p1, p2])
    with pytest.raises(PharmsimError, match="must hold SummaryPartial"):
        acc.merge([p0, p1, "p2"])
    res = acc.merge([p2, p0, p1])
    assert isinstance(p0, SummaryPartial)
    with pytest.raises(PharmsimError, match=r"statistic must be one of .*got 'median'"):
        res.get("conc", "median")
    with pytest.raises(PharmsimError, match=r"statistic must be one of .*got 'p101'"):
        res.table(statistics=["p101"])
    with pytest.raises(PharmsimError, match=r"series must be one of .*got 'cnoc' \(did you mean 'conc'\?\)"):
        res.get("cnoc", "mean")
    with pytest.raises(PharmsimError, match=r"q must be percentiles in \[0, 100\]; got 150"):
        res.quantile("conc", 150)
    np.testing.assert_array_equal(res.get("conc", "p12"), res.quantile("conc", 12))
