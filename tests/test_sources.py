"""Tests of pharmsim.sources: every combination of published sources runs, bands are the runs' min-max and
percentiles, the influence table is the main effect of each choice, Latin-hypercube sampling is balanced.

Each run is re-built here independently (Library.prefer + build_model + simulate), so a source that is listed
but not applied, or a band computed over the wrong runs, fails the tests.
"""

import itertools
import math
import warnings

import numpy as np
import pytest

import pharmsim as ps
from pharmsim.sources import SourceBands, across_sources, source_candidates
from pharmsim.validate import PharmsimError

LIB = ps.load_library()
T = np.arange(0.0, 12.01, 0.5)
OPTS = {"binding": "equilibrium"}          # exact-at-outputs path: fast and deterministic
KEYS = [("tau", "7-OH-MG", "MOR", "G protein"), ("t_half_ke0", "morphine", "PK"),
        ("gain", "-", "respiratory_depression", "G protein")]


@pytest.fixture(scope="module")
def doses():
    return ps.Product("tea", 2.0).doses(0.0, library=LIB) + ps.dose("morphine", 10.0, 2.0, route="iv")


@pytest.fixture(scope="module")
def bands(doses):
    return across_sources(doses, T, KEYS, library=LIB, model_options=OPTS)


def by_hand(doses, choice):
    """The run for ``choice`` = {key: source}: Library.prefer for each key, build_model, simulate."""
    lib = LIB
    for (q, c, t, *pw), src in choice.items():
        lib = lib.prefer(q, c, t, src, pw[0] if pw else None)
    model = ps.build_model(doses, library=lib, **OPTS)
    return model, ps.simulate(model, doses, T), lib


def test_every_key_here_has_exactly_two_sources():
    for k in KEYS:
        assert len(source_candidates(k, LIB).sources) == 2, k


def test_two_sources_per_quantity_every_combination_ran_and_band_is_the_min_max_of_the_runs(doses, bands):
    assert isinstance(bands, SourceBands) and bands.design == "full factorial"
    cands = [source_candidates(k, LIB) for k in KEYS]
    labels = [c.label for c in cands]
    assert bands.n_runs == 8 and len(bands.results) == 8
    ran = {tuple(r) for r in bands.runs[labels].to_numpy()}
    assert ran == set(itertools.product(*[c.sources for c in cands]))
    # every run re-built by hand: the chosen values are in the model and the outputs are the same
    hand = []
    for _, row in bands.runs.iterrows():
        choice = {k: row[c.label] for k, c in zip(KEYS, cands, strict=True)}
        model, res, lib = by_hand(doses, choice)
        assert model.ligand("7-OH-MG", "MOR").efficacy == lib.parameter(*KEYS[0]).value
        assert float(model.pk.parameters["morphine.ke0_per_h"]) == pytest.approx(
            math.log(2) / lib.parameter(*KEYS[1]).to("h"), rel=1e-12)
        assert next(e for e in model.endpoints if e.name == "respiratory_depression").gain == \
            lib.parameter(*KEYS[2]).to("fraction")
        mine = bands.results[row["combination"]]
        for a, b in zip(mine.series, res.series, strict=True):
            np.testing.assert_array_equal(a.values, b.values)
        hand.append(res)
    # the band of every series at every time is the min-max (and the percentiles) of the eight runs
    for s_i, s in enumerate(hand[0].series):
        V = np.stack([r.series[s_i].values[0] for r in hand])
        b = bands.bands[(bands.bands.quantity == s.quantity) & (bands.bands.compound == s.compound)
                        & (bands.bands.receptor == s.receptor) & (bands.bands.endpoint == s.endpoint)]
        np.testing.assert_array_equal(b["time_h"], T)
        np.testing.assert_array_equal(b["min"], V.min(axis=0))
        np.testing.assert_array_equal(b["max"], V.max(axis=0))
        np.testing.assert_allclose(b["p50"], np.median(V, axis=0), rtol=1e-14, atol=0)
        np.testing.assert_allclose(b["p5"], np.percentile(V, 5, axis=0), rtol=1e-14, atol=0)
        assert set(b["n_runs"]) == {8}
    # the default column is the run with every key at its preferred source
    _, res0, _ = by_hand(doses, {k: c.default for k, c in zip(KEYS, cands, strict=True)})
    occ = bands.bands[(bands.bands.quantity == "occupancy") & (bands.bands.compound == "7-OH-MG")
                      & (bands.bands.receptor == "MOR")]
    np.testing.assert_array_equal(occ["default"], res0.get("occupancy", "7-OH-MG", "MOR")[0])
    assert (occ["min"] < occ["max"]).any()                   # the tau sources do move this band


def test_influence_table_is_the_main_effect_of_each_choice(bands):
    runs, infl = bands.runs, bands.influence.set_index(["metric", "key"])
    gain = source_candidates(KEYS[2], LIB)
    y = runs["peak respiratory depression"]
    means = {s: y[runs[gain.label] == s].mean() for s in gain.sources}
    row = infl.loc[("peak respiratory depression", gain.label)]
    assert row["swing"] == pytest.approx(max(means.values()) - min(means.values()), rel=1e-12)
    assert row["high_source"] == max(means, key=means.get) and row["rank"] == 1
    assert row["swing_fraction"] == pytest.approx(row["swing"] / np.ptp(y), rel=1e-12)
    n = {s: (runs[gain.label] == s).mean() for s in gain.sources}
    share = sum(n[s] * (means[s] - y.mean()) ** 2 for s in gain.sources) / y.var(ddof=0)
    assert row["variance_share"] == pytest.approx(share, rel=1e-12)
    # the respiratory gain cannot move MOR occupancy or analgesia: swing exactly 0
    assert infl.loc[("peak MOR occupancy", gain.label), "swing"] == 0.0
    assert infl.loc[("AUC analgesia", gain.label), "swing"] == pytest.approx(0.0, abs=1e-12)
    # per metric the ranks are 1..3 by decreasing swing
    for _, d in bands.influence.groupby("metric"):
        assert list(d.sort_values("rank")["swing"]) == sorted(d["swing"], reverse=True)
    me = bands.main_effects
    assert set(me["source"]) >= set(gain.sources) and set(me["n_runs"]) == {4}


def test_latin_hypercube_sample_is_balanced_and_reproducible(doses):
    keys = [("K", "7-OH-MG", "MOR"), ("Ki", "7-OH-MG", "DOR"), ("tau", "MG", "MOR", "G protein")]
    sizes = [len(source_candidates(k, LIB).sources) for k in keys]
    assert math.prod(sizes) > 12
    a = across_sources(doses, T, keys, library=LIB, model_options=OPTS, max_runs=12, rng=np.random.default_rng(3))
    b = across_sources(doses, T, keys, library=LIB, model_options=OPTS, max_runs=12, rng=np.random.default_rng(3))
    c = across_sources(doses, T, keys, library=LIB, model_options=OPTS, max_runs=12, rng=np.random.default_rng(4))
    assert a.design == "latin hypercube" and a.n_runs == 12
    labels = [k.label for k in a.keys]
    assert a.runs[labels].equals(b.runs[labels]) and not a.runs[labels].equals(c.runs[labels])
    for lab, m in zip(labels, sizes, strict=True):
        counts = a.runs[lab].value_counts()
        assert len(counts) == m and counts.max() - counts.min() <= 1, (lab, counts.to_dict())
    # a 'K' key is build_model(sources={('K', compound, receptor): source}); the sources give different K
    want = {src: ps.build_model(doses, library=LIB, sources={("K", "7-OH-MG", "MOR"): src},
                                **OPTS).ligand("7-OH-MG", "MOR").K_nM for src in set(a.runs[labels[0]])}
    for _, row in a.runs.iterrows():
        assert a.models[row["combination"]].ligand("7-OH-MG", "MOR").K_nM == want[row[labels[0]]]
    assert len(set(want.values())) > 2
    with pytest.raises(PharmsimError, match=r"rng must be a numpy.random.Generator: there are \d+ combinations of "
                                            r"sources, more than max_runs = 12"):
        across_sources(doses, T, keys, library=LIB, model_options=OPTS, max_runs=12)


def test_a_key_the_model_does_not_read_is_reported(doses):
    with pytest.warns(UserWarning, match=r"sources of V of morphine at PK .* all give the same model"):
        b = across_sources(doses, T, [("V", "morphine", "PK"), KEYS[1]], library=LIB, model_options=OPTS)
    assert any("V of morphine" in n for n in b.notes)
    assert (b.influence[b.influence.key == "V of morphine at PK"]["swing"] == 0).all()


def test_bad_keys_and_options_name_the_value(doses):
    with pytest.raises(PharmsimError, match=r"has rows for several pathways \('G protein', 'beta-arrestin'\); give "
                                            r"the pathway"):
        across_sources(doses, T, [("tau", "MG", "MOR")], library=LIB)
    with pytest.raises(PharmsimError, match=r"source must be one of .*got 'Dahan 2004 Anesthesiolgy'.*did you mean "
                                            r"'Dahan 2004 Anesthesiology'"):
        across_sources(doses, T, {KEYS[1]: ["Dahan 2004 Anesthesiolgy"]}, library=LIB)
    with pytest.raises(PharmsimError, match=r"quantity must be one of .*got 'Kx'"):
        across_sources(doses, T, [("Kx", "morphine", "MOR")], library=LIB)
    with pytest.raises(PharmsimError, match=r"keys vary both \('K', '7-OH-MG', 'MOR'\) and 'tau of 7-OH-MG at MOR"):
        across_sources(doses, T, [("K", "7-OH-MG", "MOR"), KEYS[0]], library=LIB)
    with pytest.raises(PharmsimError, match=r"keys must be \(quantity, compound, target\)"):
        across_sources(doses, T, ["tau"], library=LIB)
    with pytest.raises(PharmsimError, match=r"pinned by model_options.sources"):
        across_sources(doses, T, [KEYS[0]], library=LIB,
                       model_options={"sources": {("tau", "7-OH-MG", "MOR"): "Kruegel 2016 J Am Chem Soc"}})
    with pytest.raises(PharmsimError, match=r"model_options has 'bindings'.*did you mean 'binding'"):
        across_sources(doses, T, [KEYS[1]], library=LIB, model_options={"bindings": "equilibrium"})
    with pytest.raises(PharmsimError, match=r"population= is not supported"):
        across_sources(doses, T, [KEYS[1]], library=LIB, population={"MG.V_L": [500.0, 600.0]})
    with pytest.raises(PharmsimError, match=r"percentiles must be distinct numbers in \[0, 100\]"):
        across_sources(doses, T, [KEYS[1]], library=LIB, percentiles=(5, 120))
    with pytest.raises(PharmsimError, match=r"CL of morphine at PK = Stanski 1978.*body weight|body_weight"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            across_sources(doses, T, [("CL", "morphine", "PK")], library=LIB, model_options=OPTS)


def test_band_figure(bands):
    from matplotlib.figure import Figure

    fig = bands.plot("occupancy", "7-OH-MG", "MOR")
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    with pytest.raises(PharmsimError, match=r"plot needs exactly one series; 3 match"):
        bands.plot("occupancy", receptor="MOR")


# ------------------------------------------------------------------------------------------- the command line
def test_pharmsim_bands_writes_the_runs_the_influence_table_figures_and_report(tmp_path, capsys):
    """`pharmsim bands demo --key K MG MOR --key K 7-OH-MG MOR`: 3 x 5 runs of the first arm, every file
    written, the influence table and the runs in the report; without --key, the K of every ligand with two or
    more sources is varied."""
    import pandas as pd

    from pharmsim.cli import default_source_keys, main

    out = tmp_path / "b"
    assert main(["bands", "demo", "--out", str(out), "--key", "K", "MG", "MOR", "--key", "K", "7-OH-MG", "MOR",
                 "--quiet"]) == 0
    runs = pd.read_csv(out / "tables" / "runs.csv")
    n_mg = len(source_candidates(("K", "MG", "MOR")).sources)
    n_oh = len(source_candidates(("K", "7-OH-MG", "MOR")).sources)
    assert len(runs) == n_mg * n_oh
    influence = pd.read_csv(out / "tables" / "influence.csv")
    assert set(influence["key"]) == {"K of MG at MOR", "K of 7-OH-MG at MOR"}
    bands = pd.read_csv(out / "tables" / "bands.csv")
    assert (bands["min"] <= bands["default"] + 1e-12).all() and (bands["default"] <= bands["max"] + 1e-12).all()
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Which source moves which output" in html and "K of 7-OH-MG at MOR" in html
    assert "not dosing advice" in html
    assert any(p.name.startswith("response_MOR_analgesia") for p in (out / "figures").iterdir())
    lib = ps.load_library()
    study = ps.load_scenario("demo")
    keys = default_source_keys(study.model.build(study.arms[0].doses, lib), lib)
    assert ("K", "MG", "MOR") in keys and ("K", "7-OH-MG", "MOR") in keys
    assert all(len(source_candidates(k, lib).sources) >= 2 for k in keys)


@pytest.mark.parametrize("argv, match", [
    (["--key", "K", "MG"], r"--key takes QUANTITY COMPOUND TARGET \[PATHWAY\].*got 2 value"),
    (["--arm", "kratom"], r"--arm 'kratom' is not an arm.*did you mean 'kratom 2 g'"),
    (["--max-runs", "two"], r"--max-runs must be a whole number >= 1; got 'two'"),
    (["--max-runs", "2"], r"more than --max-runs = 2: give --seed N"),
])
def test_pharmsim_bands_bad_arguments_are_named(tmp_path, capsys, argv, match):
    import re

    from pharmsim.cli import main

    out = tmp_path / "b"
    assert main(["bands", "demo", "--out", str(out), *argv]) != 0
    assert re.search(match, capsys.readouterr().err)
    assert not out.exists()
