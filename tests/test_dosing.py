"""Tests of pharmsim.dosing: regimens, dose lists, mg -> nmol, NONMEM event tables and their validation."""

import numpy as np
import pandas as pd
import pytest

from pharmsim.dosing import Doses, dose, dose_list, read_event_table, regimen
from pharmsim.validate import PharmsimError

MW = {"MG": 398.5, "morphine": 285.34}
CMT = {1: ("MG", "tea"), 2: ("morphine", "iv")}


def table(**over):
    base = {"ID": [1, 1, 2], "TIME": [0.0, 4.0, 0.0], "AMT": [39.0, 0.0, 10.0], "EVID": [1, 0, 1],
            "CMT": [1, 1, 2], "RATE": [0, 0, 0], "II": [24, 0, 0], "ADDL": [2, 0, 0]}
    base.update(over)
    return pd.DataFrame(base)


def test_mg_to_nmol_through_molar_mass():
    d = dose("MG", 39.0, molar_mass_g_per_mol=398.5)
    assert d.amount_nmol[0] == pytest.approx(39.0 * 1e6 / 398.5)
    assert dose("MG", 97867.0, unit="nmol").amount_nmol[0] == 97867.0


def test_regimen_and_list():
    d = regimen("MG", 10.0, 12.0, 4, start_h=2.0, molar_mass_g_per_mol=398.5)
    np.testing.assert_allclose(d.time_h, [2, 14, 26, 38])
    d2 = dose_list("MG", [0, 5, 7.5], [1, 2, 3], molar_mass_g_per_mol=398.5)
    np.testing.assert_allclose(d2.amount_nmol, np.array([1, 2, 3]) * 1e6 / 398.5)
    both = d + d2
    assert both.n_events == 7 and both.route == ("oral",) * 7


def test_per_subject_amounts_and_addition():
    d = dose("MG", np.array([10.0, 20.0]), molar_mass_g_per_mol=398.5)
    assert d.amount_nmol.shape == (2, 1) and d.n_subjects == 2
    both = d + dose("MG", 5.0, 3.0, molar_mass_g_per_mol=398.5)
    assert both.amount_nmol.shape == (2, 2)


def test_event_table_expands_addl_and_per_id_amounts():
    et = read_event_table(table(), CMT, molar_masses=MW)
    assert et.ids == (1, 2)
    d = et.doses
    np.testing.assert_allclose(d.time_h, [0, 0, 24, 48])
    assert d.compound == ("MG", "morphine", "MG", "MG")
    assert d.amount_nmol.shape == (2, 4)
    np.testing.assert_allclose(d.amount_nmol[0], [39e6 / 398.5, 0, 39e6 / 398.5, 39e6 / 398.5])
    np.testing.assert_allclose(d.amount_nmol[1], [0, 10e6 / 285.34, 0, 0])
    assert len(et.observations) == 1


def test_event_table_infusion_rate_and_dur(tmp_path):
    t = table(RATE=[0, 0, 5.0])
    d = read_event_table(t, CMT, molar_masses=MW).doses
    e = d.compound.index("morphine")
    assert d.duration_h[e] == 0.0 and d.rate_nmol_per_h[e] == pytest.approx(5.0 * 1e6 / 285.34)  # rate kept
    t2 = table(DUR=[0, 0, 0.5])
    path = tmp_path / "events.csv"
    t2.to_csv(path, index=False)
    d2 = read_event_table(path, CMT, molar_masses=MW).doses
    assert d2.duration_h[d2.compound.index("morphine")] == pytest.approx(0.5)


@pytest.mark.parametrize("over,match", [
    ({"AMT": [-1.0, 0.0, 10.0]}, r"'AMT', row 0"),
    ({"AMT": ["x", 0.0, 10.0]}, r"'AMT', row 0"),
    ({"EVID": [1, 0, 7]}, r"'EVID', row 2"),
    ({"TIME": [5.0, 4.0, 0.0]}, r"'TIME', row 1"),
    ({"ADDL": [1.5, 0, 0]}, r"'ADDL', row 0"),
    ({"II": [0, 0, 0]}, r"'II', row 0"),
    ({"RATE": [-3, 0, 0]}, r"'RATE', row 0"),
    ({"SS": [3, 0, 0]}, r"'SS', row 0"),
    ({"SS": [0, 0, 1]}, r"'II', row 2.*SS = 1"),
    ({"CMT": [3, 1, 2]}, r"'CMT', row 0"),
])
def test_event_table_errors(over, match):
    with pytest.raises(PharmsimError, match=match):
        read_event_table(table(**over), CMT, molar_masses=MW)


def test_event_table_missing_column_and_file():
    with pytest.raises(PharmsimError, match=r"missing column.*CMT"):
        read_event_table(table().drop(columns="CMT"), CMT, molar_masses=MW)
    no_evid = read_event_table(table().drop(columns="EVID"), CMT, molar_masses=MW)     # EVID from AMT
    assert list(no_evid.records["EVID"]) == [1, 0, 1]
    with pytest.raises(PharmsimError, match="not found"):
        read_event_table("/nonexistent/events.csv", CMT)


def test_regimen_errors():
    with pytest.raises(PharmsimError, match="amount"):
        regimen("MG", -5.0, 12.0, 2, molar_mass_g_per_mol=398.5)
    with pytest.raises(PharmsimError, match="interval_h"):
        regimen("MG", 5.0, 0.0, 2, molar_mass_g_per_mol=398.5)
    with pytest.raises(PharmsimError, match="n_doses"):
        regimen("MG", 5.0, 12.0, 2.5, molar_mass_g_per_mol=398.5)
    overlapping = regimen("morphine", 5.0, 2.0, 3, route="iv", duration_h=3.0, molar_mass_g_per_mol=285.34)
    assert overlapping.n_events == 3                 # infusions longer than the interval add up (superposition)
    with pytest.raises(PharmsimError, match="unit"):
        dose("MG", 5.0, unit="tablets", molar_mass_g_per_mol=398.5)
    with pytest.raises(PharmsimError, match="one length"):
        Doses(time_h=[0.0, 1.0], compound=("MG",), route=("oral",), amount_nmol=[1.0])
