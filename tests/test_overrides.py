"""Tests of pharmsim.overrides: ``--set KEY=VALUE`` on a scenario, checked like the file's keys."""

from __future__ import annotations

import pytest

from pharmsim.overrides import apply_overrides, load_with_overrides, parse_override
from pharmsim.validate import PharmsimError


def test_parse_key_paths_and_values():
    o = parse_override("arm[0].dose[1].amount_g=4")
    assert o.path == ("arm", 0, "dose", 1, "amount_g") and o.value == 4 and o.key == "arm[0].dose[1].amount_g"
    assert parse_override("population.n = 500").value == 500
    assert parse_override("model.binding=kinetic").value == "kinetic"          # a bare word is a string
    assert parse_override('model.binding="kinetic"').value == "kinetic"
    assert parse_override("model.tolerance=true").value is True
    assert parse_override("model.receptors=[\"MOR\"]").value == ["MOR"]
    assert parse_override('population.omega."MG.CL_L_per_h"=0.3').path == ("population", "omega", "MG.CL_L_per_h")
    assert parse_override("population.omega.7-OH-MG.CL_L_per_h=0.3").path[2] == "7-OH-MG"
    for bad, pattern in (("population.n", "KEY=VALUE"), ("population.n=", "gives no value"),
                         ("=3", "key is empty"), ("population..n=3", "cannot read the key"),
                         ("population.=3", "ends with"), ("arm[x].name=a", "expected '.' or")):
        with pytest.raises(PharmsimError, match=pattern):
            parse_override(bad)


def test_apply_creates_tables_and_refuses_impossible_paths():
    tree = {"time": {"end_h": 3}, "arm": [{"name": "a", "dose": [{"what": "tea", "amount_g": 1}]}]}
    out = apply_overrides(tree, ["population.n=500", "arm[0].dose[0].amount_g=4"])
    assert out["population"] == {"n": 500} and out["arm"][0]["dose"][0]["amount_g"] == 4
    assert tree["arm"][0]["dose"][0]["amount_g"] == 1                            # the input is not changed
    with pytest.raises(PharmsimError, match=r"arm\[3\] does not exist; the scenario has 1 \(arm\[0\] to \[0\]\)"):
        apply_overrides(tree, ["arm[3].name=b"])
    with pytest.raises(PharmsimError, match=r"arm is an array of tables; give an index, e.g. arm\[0\].name"):
        apply_overrides(tree, ["arm.name=b"])
    with pytest.raises(PharmsimError, match=r"time.end_h is a value, not a table"):
        apply_overrides(tree, ["time.end_h.x=1"])
    with pytest.raises(PharmsimError, match=r"no \[\[dose\]\] tables"):
        apply_overrides(tree, ["dose[0].amount_g=1"])


def test_load_with_overrides_runs_the_file_checks():
    study = load_with_overrides("demo", ["population.n=7", "arm[0].dose[0].amount_g=4"])
    assert study.population.n == 7
    assert "4 g leaf powder" in study.arms[0].dose_labels[0]
    assert "# command-line override: --set population.n=7" in study.text
    assert any(n.startswith("override (command line): population.n = 7") for n in study.library_changes)
    # the same key checks and suggestions as a key in the file
    with pytest.raises(PharmsimError, match=r"demo.toml \(with --set population.nn=5\): population.nn is not a "
                                            r"valid key.*did you mean 'n'"):
        load_with_overrides("demo", ["population.nn=5"])
    with pytest.raises(PharmsimError, match=r"arm\[0\].dose\[0\].amout_g is not a valid key.*did you mean"):
        load_with_overrides("demo", ["arm[0].dose[0].amout_g=4"])
    with pytest.raises(PharmsimError, match=r"population.n must be a whole number >= 1; got 0"):
        load_with_overrides("demo", ["population.n=0"])
    with pytest.raises(PharmsimError, match=r"model.binding must be one of 'kinetic', 'equilibrium'"):
        load_with_overrides("demo", ["model.binding=kinetik"])
