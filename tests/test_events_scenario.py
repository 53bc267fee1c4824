"""Scenario files carry the new event fields: [[dose]] steady_state / ii_h / duration_h, and event tables with
SS, '.' placeholders and RATE (the rate kept)."""

import textwrap

import numpy as np
import pytest

import pharmsim as ps
from pharmsim import scenario as sc

LIB = ps.load_library()


def test_dose_table_steady_state_and_infusion(tmp_path):
    text = textwrap.dedent("""
        name = "ss"
        [time]
        end_h = 48
        [[dose]]
        what = "morphine"
        route = "iv"
        amount_mg = 10
        start_h = 0
        interval_h = 12
        n_doses = 4
        steady_state = 1
        duration_h = 0.5
    """)
    d = sc.loads(text, library=LIB).arms[0].doses
    assert list(d.ss) == [1, 0, 0, 0] and d.ii_h[0] == 12.0 and np.all(d.duration_h == 0.5)
    with pytest.raises(ps.PharmsimError, match=r"steady_state = 1 needs the dosing interval"):
        sc.loads(text.replace("n_doses = 4", "n_doses = 1"), library=LIB)


def test_event_table_with_ss_and_dot_placeholders(tmp_path):
    (tmp_path / "ev.csv").write_text("ID,TIME,AMT,EVID,CMT,RATE,II,ADDL,SS\n1,0,10,1,1,5,12,1,1\n1,2,.,0,1,.,.,.,.\n")
    text = textwrap.dedent("""
        name = "ev"
        [time]
        end_h = 24
        [[events]]
        file = "ev.csv"
        what = "morphine"
        route = "iv"
    """)
    (tmp_path / "s.toml").write_text(text)
    d = sc.load(tmp_path / "s.toml", library=LIB).arms[0].doses
    mw = LIB.compound("morphine").molar_mass_g_per_mol
    assert list(d.ss) == [1, 0] and list(d.time_h) == [0.0, 12.0]
    np.testing.assert_allclose(d.rate_nmol_per_h, 5.0 * 1e6 / mw)          # RATE kept (mg/h -> nmol/h)
