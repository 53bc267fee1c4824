"""Tests for pharmsim.scenario: TOML scenarios -> a validated Study (frozen objects), with clear errors."""

from __future__ import annotations

import dataclasses
import re
import textwrap

import numpy as np
import pytest

from pharmsim import scenario as sc
from pharmsim.library import load_library
from pharmsim.population import Covariates
from pharmsim.study import Study
from pharmsim.validate import PharmsimError

LIB = load_library()
WHATIF = {"quantity": "tau", "compound": "MG", "target": "DOR", "pathway": "G protein", "value": 0.1,
          "unit": "-", "source": "what-if", "note": "hypothetical", "preferred": False}


def _base(**extra):
    d = {
        "name": "t",
        "time": {"end_h": 24.0, "step_h": 0.5},
        "dose": [{"what": "leaf powder", "amount_g": 2.0, "times_h": [0.0]}],
    }
    d.update(extra)
    return d


def load(d, **kw):
    return sc.from_dict(d, library=LIB, **kw)


def err(d, *patterns):
    with pytest.raises(PharmsimError) as info:
        load(d)
    msg = str(info.value)
    assert "\n" not in msg
    for p in patterns:
        assert re.search(p, msg), f"{p!r} not in {msg!r}"
    return msg


# ----------------------------------------------------------------------------------------- valid trees


def test_minimal_scenario_defaults():
    s = load(_base())
    assert isinstance(s, Study) and s.name == "t"
    assert [a.name for a in s.arms] == ["main"]
    d = s.arms[0].doses
    assert d.compound == ("MG", "speciociliatine") and d.route == ("leaf powder",) * 2 and list(d.time_h) == [0.0, 0.0]
    # 2 g of leaf powder at the library's default content (19.48 mg/g, Tanna 2022's product)
    assert d.amount_nmol[0] == pytest.approx(2.0 * 19.48 * 1e6 / 398.5)
    assert s.arms[0].dose_labels == ("2 g leaf powder at 0 h",)
    assert s.population.n == 1 and s.population.seed == 0
    assert s.model.receptors == ("MOR", "DOR") and s.model.dor_efficacy is None
    assert s.figures and s.report and not s.per_subject_csv
    np.testing.assert_allclose(s.t_h, np.arange(0, 24.0001, 0.5))


def test_objects_are_frozen():
    s = load(_base())
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.name = "x"
    with pytest.raises(TypeError):
        s.population.omega["CL"] = 0.1


def test_time_grid_includes_end():
    t = load(_base(time={"end_h": 1.0, "step_h": 0.3})).t_h
    np.testing.assert_allclose(t, [0.0, 0.3, 0.6, 0.9, 1.0])


def test_regimens_expand_to_times():
    s = load(_base(time={"end_h": 400.0}, dose=[
        {"what": "leaf powder", "amount_g": 1.0, "times_per_day": 3, "days": 14},
        {"what": "morphine", "amount_mg": 10, "route": "iv", "start_h": 336, "interval_h": 4, "n_doses": 3},
        {"what": "naloxone", "amount_mg": 0.4, "route": "iv", "start_h": 340},
    ]))
    d = s.arms[0].doses
    times = {c: [float(t) for t, x in zip(d.time_h, d.compound, strict=True) if x == c]
             for c in ("MG", "morphine", "naloxone")}
    assert len(times["MG"]) == 42 and times["MG"][:3] == [0.0, 8.0, 16.0] and times["MG"][-1] == 328.0
    assert times["morphine"] == [336.0, 340.0, 344.0] and times["naloxone"] == [340.0]
    assert s.arms[0].dose_labels[1] == "10 mg morphine iv at 336, 340, 344 h"


def test_aliases_and_units_normalised():
    s = load(_base(dose=[{"what": "7OH", "amount_g": 0.005, "route": "tea", "times_h": [1]},
                         {"what": "Leaf Powder", "amount_mg": 500, "times_h": [0]}]))
    d = s.arms[0].doses
    assert d.compound == ("7-OH-MG", "MG", "speciociliatine") and d.route == ("tea", "leaf powder", "leaf powder")
    assert d.amount_nmol[0] == pytest.approx(5.0 * 1e6 / 414.5)                  # 0.005 g = 5 mg of 7-OH-MG
    assert d.amount_nmol[1] == pytest.approx(0.5 * 19.48 * 1e6 / 398.5)          # 500 mg = 0.5 g of leaf
    assert s.arms[0].dose_labels == ("5 mg 7-OH-MG tea at 1 h", "0.5 g leaf powder at 0 h")


def test_arms_population_model_sources_output():
    s = load({
        "name": "full", "title": "T", "description": "D",
        "time": {"end_h": 48},
        "arm": [
            {"name": "kratom", "dose": [{"what": "capsule", "amount_g": 2, "times_h": [0], "mg_percent": 1.5,
                                         "oh_percent": 0.02}]},
            {"name": "both", "description": "morphine on top",
             "dose": [{"what": "capsule", "amount_g": 2, "times_h": [0]},
                      {"what": "morphine", "amount_mg": 10, "route": "iv", "times_h": [2]}]},
        ],
        "population": {"n": 50, "seed": 7, "omega": {"MG": {"CL_L_per_h": 0.3}, "MG.V_L": 0.2},
                       "omega_sources": {"MG.CL_L_per_h": "a teaching choice", "MG": {"V_L": "a teaching choice"}},
                       "correlation": {"MG.CL_L_per_h,MG.V_L": 0.4},
                       "covariates": {"body_weight_kg": {"median": 75, "sd_log": 0.15},
                                      "cyp3a4_inhibitor": "strong", "hepatic_impairment": "mild"}},
        "model": {"receptors": ["MOR"], "endpoints": ["analgesia"], "binding": {"MOR": "equilibrium"},
                  "dor_efficacy": "what-if", "tolerance": "gprotein", "affinity": "binding"},
        "value": [WHATIF],
        "source": [{"quantity": "Ki", "compound": "mitragynine", "target": "MOR",
                    "source": "Obeng 2021 J Pharmacol Exp Ther"}],
        "output": {"figures": False, "per_subject_csv": True},
    })
    assert [a.name for a in s.arms] == ["kratom", "both"]
    k = s.arms[0].doses
    assert k.compound == ("MG", "7-OH-MG")
    np.testing.assert_allclose(k.amount_nmol, [2000 * 0.015 * 1e6 / 398.5, 2000 * 0.0002 * 1e6 / 414.5])
    assert s.population.omega == {"MG.CL_L_per_h": 0.3, "MG.V_L": 0.2}
    assert s.population.correlation == {("MG.CL_L_per_h", "MG.V_L"): 0.4}
    cov = s.population.covariates
    assert (cov.body_weight_kg, cov.body_weight_sd_log, cov.cyp3a4_inhibitor, cov.hepatic_impairment) == (
        75.0, 0.15, "strong", "mild")
    assert s.model.binding == {"MOR": "equilibrium"} and s.model.tolerance and s.model.affinity == "binding"
    assert s.model.dor_efficacy == "what-if"
    # the source choice is in the library (preferred) and in the model options (PD sources)
    assert s.library.parameter("Ki", "MG", "MOR").source == "Obeng 2021 J Pharmacol Exp Ther"
    assert s.model.sources == {("K", "MG", "MOR"): "Obeng 2021 J Pharmacol Exp Ther"}
    assert s.library.has("tau", "MG", "DOR", pathway="G protein", source="what-if")
    assert s.library.parameter("tau", "MG", "DOR", pathway="G protein").source != "what-if"   # preferred = false
    assert any("what-if value" in c for c in s.library_changes)
    assert any("source chosen" in c and "Obeng 2021" in c for c in s.library_changes)
    assert not s.figures and s.per_subject_csv


def test_loads_and_event_table(tmp_path):
    (tmp_path / "ev.csv").write_text("ID,TIME,AMT,EVID,CMT\n1,0,10,1,1\n")
    text = textwrap.dedent("""
        name = "ev"
        [time]
        end_h = 12
        [[events]]
        file = "ev.csv"
        what = "morphine"
        route = "iv"
    """)
    (tmp_path / "s.toml").write_text(text)
    s = sc.load(tmp_path / "s.toml", library=LIB)
    d = s.arms[0].doses
    assert d.compound == ("morphine",) and d.route == ("iv",)
    assert d.amount_nmol[0, 0] == pytest.approx(10.0 * 1e6 / 285.34)              # AMT 10 mg of morphine
    assert s.arms[0].dose_labels == ("event table ev.csv (morphine)",)
    assert s.text == text


# ----------------------------------------------------------------------------------------- errors


def test_unknown_key_names_path_value_and_suggestion():
    d = _base(arm=[{"name": "a", "dose": [{"what": "leaf powder", "amount_g": 1, "times_h": [0]},
                                          {"what": "leaf powder", "amout_g": 2, "times_h": [0]}]}])
    del d["dose"]
    err(d, r"arm\[0\]\.dose\[1\]", r"amout_g", r"amount_g")
    err(_base(tme={"end_h": 1}), r"^tme is not a valid key", r"did you mean 'time'")
    err(_base(time={"end_h": 10, "stpe_h": 1}), r"time\.stpe_h is not a valid key \(value 1\)",
        r"did you mean 'step_h'")
    err(_base(population={"n": 5, "sede": 1}), r"population\.sede", r"did you mean 'seed'")
    err(_base(model={"toleranse": True}), r"model\.toleranse", r"did you mean 'tolerance'")
    err(_base(output={"figure": True}), r"output\.figure", r"did you mean 'figures'")
    err(_base(dose=[{"what": "leaf powder", "amount_g": 1, "time_h": [0]}]), r"dose\[0\]\.time_h",
        r"did you mean 'times_h'")


def test_wrong_types():
    err(_base(time={"end_h": "24"}), r"time\.end_h must be a number \(h\); got a string '24'")
    err(_base(population={"n": 2.5}), r"population\.n must be a whole number; got a number 2\.5")
    err(_base(population={"n": True}), r"population\.n must be a whole number; got a boolean")
    err(_base(model={"tolerance": "yes"}), r"model\.tolerance must be one of 'gprotein', 'arrestin', 'both'; got 'yes'")
    err(_base(model={"tolerance": True}), r"model\.tolerance must name the desensitisation mechanism.*got true")
    err(_base(model={"tolerance": 3}), r"model\.tolerance must be a string")
    err(_base(dose=[{"what": "leaf powder", "amount_g": 1, "times_h": ["0"]}]), r"dose\[0\]\.times_h\[0\]")
    err(_base(time=5), r"^time must be a table; got an integer")
    err(_base(model={"receptors": "XOR"}), r"model\.receptors\[0\] must be one of 'MOR', 'DOR'")


def test_negative_and_impossible_values():
    err(_base(dose=[{"what": "leaf powder", "amount_g": -1, "times_h": [0]}]),
        r"dose\[0\]\.amount_g must be a number > 0 \(g\); got -1")
    err(_base(dose=[{"what": "leaf powder", "amount_g": 1, "times_h": [-2]}]), r"dose\[0\]\.times_h\[0\].*>= 0")
    err(_base(dose=[{"what": "leaf powder", "amount_g": 1, "times_h": [4, 2]}]), r"increasing order")
    err(_base(dose=[{"what": "leaf powder", "amount_g": 1, "times_h": [30]}]), r"after the end of the simulation")
    err(_base(dose=[{"what": "leaf powder", "amount_g": 1, "n_doses": 3, "interval_h": 0}]),
        r"dose\[0\]\.interval_h must be a number > 0")
    err(_base(dose=[{"what": "leaf powder", "amount_g": 1, "n_doses": 0, "interval_h": 2}]),
        r"dose\[0\]\.n_doses must be a whole number >= 1; got 0")
    err(_base(dose=[{"what": "leaf powder", "amount_g": 1, "times_per_day": 3, "days": 0.5}]),
        r"whole number of doses")
    err(_base(dose=[{"what": "leaf powder", "amount_g": 1, "times_h": [0], "interval_h": 2}]),
        r"either times_h")
    err(_base(dose=[{"what": "leaf powder", "amount_g": 1}]), r"dose\[0\] has no dosing times")
    err(_base(dose=[{"what": "leaf powder", "amount_g": 1, "amount_mg": 2, "times_h": [0]}]), r"exactly one")
    err(_base(dose=[{"what": "leaf powder", "amount_g": 1, "mg_percent": 120, "times_h": [0]}]), r"\[0, 100\]")
    err(_base(dose=[{"what": "morphine", "amount_mg": 1, "mg_percent": 1, "times_h": [0]}]),
        r"product forms only")
    err(_base(dose=[{"what": "leaf powder", "amount_g": 1, "route": "iv", "times_h": [0]}]),
        r"'oral' for a product form")
    err(_base(time={"end_h": 0}), r"time\.end_h must be > time\.start_h")
    err(_base(time={"end_h": 1e6, "step_h": 0.001}), r"time points")
    err(_base(population={"n": 0}), r"population\.n must be a whole number >= 1; got 0")
    err(_base(population={"omega": {"MG.CL_L_per_h": -0.1}}),
        r"population\.omega\.MG\.CL_L_per_h must be a number >= 0")
    err(_base(population={"omega": {"MG": {"CL_L_per": 0.1}}}),
        r"population\.omega\.MG\.CL_L_per is not a PK parameter", r"did you mean 'MG\.CL_L_per_h'")
    cl, v = "MG.CL_L_per_h", "MG.V_L"
    src = {cl: "test", v: "test"}
    err(_base(population={"omega": {cl: 0.1}, "omega_sources": {cl: "test"}, "correlation": {f"{cl},{v}": 0.2}}),
        r"no population\.omega entry")
    err(_base(population={"omega": {cl: 0.1, v: 0.1}, "omega_sources": src, "correlation": {f"{cl},{v}": 1.0}}),
        r"\(-1, 1\)")
    err(_base(population={"omega": {cl: 0.1}}), r"population\.omega\.MG\.CL_L_per_h = 0\.1 has no source")
    err(_base(population={"omega": {cl: 0.1}, "omega_sources": {cl: "x", v: "y"}}),
        r"omega_sources\.MG\.V_L names no \[population\.omega\] entry")
    err(_base(population={"omega": "published"}), r"population\.omega must be one of 'library'")
    err(_base(population={"covariates": {"body_weight_kg": 5}}), r"\[30, 200\] kg")
    err(_base(population={"covariates": {"cyp3a4_inhibitor": "strnog"}}), r"did you mean 'strong'")
    err({"time": {"end_h": 1}}, r"no doses")
    err(_base(arm=[{"name": "a", "dose": [{"what": "tea", "amount_g": 1, "times_h": [0]}]}]), r"one or the other")


def test_missing_compound_and_source():
    err(_base(dose=[{"what": "morfine", "amount_mg": 10, "times_h": [0]}]),
        r"dose\[0\]\.what must be a product form", r"got 'morfine'", r"did you mean 'morphine'")
    err(_base(source=[{"quantity": "Ki", "compound": "mitragyine", "target": "MOR", "source": "X"}]),
        r"source\[0\]\.compound", r"did you mean 'mitragynine'")
    err(_base(source=[{"quantity": "Ki", "compound": "MG", "target": "MOR", "source": "Obeng 2021"}]),
        r"source\[0\]\.source must be a source the library holds", r"did you mean 'Obeng 2021 J Pharmacol Exp Ther'")
    err(_base(model={"dor_efficacy": "Kruegel 2016"}), r"model\.dor_efficacy must be 'default'",
        r"did you mean 'Kruegel 2016 J Am Chem Soc'")
    err(_base(dose=[{"what": "DAMGO", "amount_mg": 1, "times_h": [0]}]), r"dose\[0\]\.what: 'DAMGO'.*no human PK")
    err(_base(dose=[{"what": "morphine", "amount_mg": 1, "route": "IV", "times_h": [0]}]),
        r"dose\[0\]\.route must be one of 'iv', 'oral' for morphine; got 'IV'", r"did you mean 'iv'")
    err(_base(dose=[{"what": "MG", "amount_mg": 1, "times_h": [0]}]), r"dose\[0\]\.route is required for MG")


def test_arm_names_unique_and_required():
    d = {"time": {"end_h": 5}, "arm": [{"name": "a", "dose": [{"what": "tea", "amount_g": 1, "times_h": [0]}]},
                                       {"name": "a", "dose": [{"what": "tea", "amount_g": 1, "times_h": [0]}]}]}
    err(d, r"arm\[1\]\.name must be unique")
    err({"time": {"end_h": 5}, "arm": [{"dose": [{"what": "tea", "amount_g": 1, "times_h": [0]}]}]},
        r"arm\[0\]\.name is required")


def test_toml_syntax_error_and_missing_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 'x'\n[time\nend_h = 3\n")
    with pytest.raises(PharmsimError, match=r"^bad\.toml: not valid TOML"):
        sc.load(bad, library=LIB)
    with pytest.raises(PharmsimError, match=r"does not exist"):
        sc.load(tmp_path / "nope.toml", library=LIB)
    (tmp_path / "s.toml").write_text(
        '[time]\nend_h = 5\n[[events]]\nfile = "missing.csv"\nwhat = "MG"\nroute = "tea"\n')
    with pytest.raises(PharmsimError, match=r"s\.toml: events\[0\]\.file: no such file"):
        sc.load(tmp_path / "s.toml", library=LIB)


def test_shipped_scenarios_listed():
    names = sc.shipped_scenarios()
    assert "demo" in names
    assert sc.shipped_scenario_path("demo").is_file()
    with pytest.raises(PharmsimError, match="did you mean 'demo'"):
        sc.shipped_scenario_path("demoo")


def test_arm_overrides_keep_population_covariates():
    s = load({
        "time": {"end_h": 5},
        "population": {"covariates": {"body_weight_kg": 80, "hepatic_impairment": "mild"}},
        "value": [WHATIF],
        "arm": [{"name": "a", "dose": [{"what": "tea", "amount_g": 1, "times_h": [0]}]},
                {"name": "b", "covariates": {"cyp3a4_inhibitor": "strong"}, "dor_efficacy": "what-if",
                 "dose": [{"what": "tea", "amount_g": 1, "times_h": [0]}]}],
    })
    a, b = s.arms
    assert a.covariates is None and a.dor_efficacy is None
    assert b.covariates == Covariates(body_weight_kg=80.0, cyp3a4_inhibitor="strong", hepatic_impairment="mild")
    assert b.dor_efficacy == "what-if"
    err({"time": {"end_h": 5}, "arm": [{"name": "a", "covariates": {"cyp3a4": "strong"},
                                         "dose": [{"what": "tea", "amount_g": 1, "times_h": [0]}]}]},
        r"arm\[0\]\.covariates\.cyp3a4 is not a valid key", r"did you mean 'cyp3a4_inhibitor'")
