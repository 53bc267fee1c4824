"""Attack suite, event tables (issue 14): NONMEM-style dosing tables that are broken, hostile or huge, read
through a scenario's ``[[events]]`` table and through :func:`pharmsim.read_event_table`.

What must hold:

- a broken table ends in one clear message naming the scenario key, the file, the column and the row, with the
  value as the user wrote it and the unit the scenario reads it in (``AMT -10`` is ``-10`` in ``mg``, never the
  value converted to nmol);
- nothing a file holds is echoed when the file lies outside the scenario's folder (``file = "/etc/shadow"``);
- sizes are bounded before anything is expanded (a 10^9 ADDL, a huge file);
- a valid table gives exactly the doses :func:`pharmsim.read_event_table` gives (a property over random
  tables), wherever the file lies.

Row errors name the row (0-based, as read) and its line in the CSV file (the header is line 1).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pharmsim as ps
from pharmsim import scenario as sc
from pharmsim.validate import PharmsimError

LIB = ps.load_library()
MW_MORPHINE = LIB.compound("morphine").molar_mass_g_per_mol
HEADER = "ID,TIME,AMT,EVID,CMT\n"


def scenario(folder: Path, file: str, what: str = "morphine", extra: str = 'route = "iv"\n', end_h: float = 24.0,
             population: str = "") -> Path:
    p = folder / "s.toml"
    p.write_text(f'[time]\nend_h = {end_h}\nstep_h = 1\n[model]\nbinding = "equilibrium"\n{population}'
                 f'[[events]]\nfile = "{file}"\nwhat = "{what}"\n{extra}', encoding="utf-8")
    return p


def load_error(path: Path) -> str:
    with pytest.raises(PharmsimError) as info:
        sc.load(path, library=LIB)
    msg = str(info.value)
    assert "\n" not in msg and "Traceback" not in msg
    return msg


# ------------------------------------------------------------------------------------------- broken tables
# name -> (CSV text, what the message must contain: regexes)
BROKEN = {
    "negative AMT": (HEADER + "1,0,-10,1,1\n", [r"column 'AMT', row 0", r"-10", r"AMT is in mg of morphine"]),
    "negative TIME": (HEADER + "1,-1,10,1,1\n", [r"has a dose at -1 h; expected dose times >= 0 h"]),
    "text AMT": (HEADER + "1,0,abc,1,1\n", [r"column 'AMT', row 0: got 'abc'; expected a number"]),
    "inf AMT": (HEADER + "1,0,inf,1,1\n", [r"column 'AMT', row 0", r"finite"]),
    "negative RATE": ("ID,TIME,AMT,EVID,CMT,RATE\n1,0,10,1,1,-5\n", [r"column 'RATE', row 0", r"-5",
                                                                       r"RATE in mg/h of morphine"]),
    "RATE and DUR": ("ID,TIME,AMT,EVID,CMT,RATE,DUR\n1,0,10,1,1,5,2\n", [r"column 'DUR', row 0",
                                                                            r"give RATE or DUR, not both"]),
    "EVID 7": (HEADER + "1,0,10,7,1\n", [r"column 'EVID', row 0"]),
    "SS 5": ("ID,TIME,AMT,EVID,CMT,SS,II\n1,0,10,1,1,5,12\n", [r"column 'SS', row 0"]),
    "fractional ADDL": ("ID,TIME,AMT,EVID,CMT,II,ADDL\n1,0,10,1,1,6,1.5\n", [r"column 'ADDL', row 0", r"whole"]),
    "ADDL without II": ("ID,TIME,AMT,EVID,CMT,II,ADDL\n1,0,10,1,1,0,3\n", [r"column 'II', row 0", r"> 0 h"]),
    "unsorted TIME": (HEADER + "1,2,10,1,1\n1,1,10,1,1\n", [r"column 'TIME', row 1", r"non-decreasing"]),
    "missing columns": ("ID,TIME,AMT\n1,0,10\n", [r"missing column\(s\) \['CMT'\]"]),
    "missing ID": (HEADER + ",0,10,1,1\n", [r"column 'ID', row 0"]),
    "header only": (HEADER, [r"has no rows \(only a header\)"]),
    "only observations": (HEADER + "1,0,0,0,1\n1,1,0,0,1\n", [r"has no dose rows"]),
    "empty file": ("", [r"cannot read the event table"]),
    "ragged rows": (HEADER + "1,0,10,1,1,9,9\n", [r"cannot read the event table|column"]),
    "dose after the end": (HEADER + "1,100,10,1,1\n", [r"has a dose at 100 h, after time\.end_h = 24 h"]),
    "ADDL past the end": ("ID,TIME,AMT,EVID,CMT,II,ADDL\n1,0,10,1,1,12,5\n", [r"has a dose at 36 h"]),
    "ADDL ten million": ("ID,TIME,AMT,EVID,CMT,II,ADDL\n1,0,10,1,1,1,10000000\n",
                         [r"asks for 10,000,001 doses \(rows plus ADDL; column 'ADDL', row 0: 10,000,000\); "
                          r"expected at most 100,000"]),
    "ADDL 1e300": ("ID,TIME,AMT,EVID,CMT,II,ADDL\n1,0,10,1,1,1,1e300\n", [r"asks for 1e\+300 doses"]),
    "too many IDs": (HEADER + "1,0,10,1,1\n2,0,10,1,1\n3,0,10,1,1\n", [r"doses 3 subjects \(IDs\); expected one ID "
                                                                       r"or population\.n \(1\)"]),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_event_table_names_file_key_column_row(name, tmp_path):
    text, patterns = BROKEN[name]
    (tmp_path / "ev.csv").write_text(text, encoding="utf-8")
    msg = load_error(scenario(tmp_path, "ev.csv"))
    assert msg.startswith("s.toml: events[0].file (ev.csv)"), msg
    for p in patterns:
        assert re.search(p, msg), f"{p!r} not in {msg!r}"
    assert "nmol" not in msg                              # never the converted amount


def test_amounts_of_a_product_table_are_reported_in_grams_of_product(tmp_path):
    (tmp_path / "ev.csv").write_text(HEADER + "1,0,-2,1,1\n")
    msg = load_error(scenario(tmp_path, "ev.csv", what="leaf powder", extra=""))
    assert re.search(r"column 'AMT', row 0: got .*-2", msg) and "AMT is in g of leaf powder" in msg
    assert "nmol" not in msg and "-5" not in msg.split("got")[1][:12]      # not -2 g converted


def test_milligram_table_says_mg(tmp_path):
    (tmp_path / "ev.csv").write_text(HEADER + "1,0,-10,1,1\n")
    msg = load_error(scenario(tmp_path, "ev.csv", extra='route = "iv"\nunit = "mg"\n'))
    assert "AMT is in mg of morphine" in msg
    assert "35045" not in msg and "-35" not in msg        # -10 mg of morphine is -35,045.9 nmol


def test_row_errors_show_the_value_as_written_with_its_unit(tmp_path):
    """AMT -10 in a mg table reads -10 mg (the issue saw it converted: -35045.9 nmol)."""
    (tmp_path / "ev.csv").write_text(HEADER + "1,0,10,1,1\n1,1,-10,1,1\n")
    msg = load_error(scenario(tmp_path, "ev.csv"))
    assert re.search(r"column 'AMT', row 1: got -10(\.0)? mg; expected a number >= 0", msg), msg
    (tmp_path / "ev.csv").write_text(HEADER + "1,0,-2,1,1\n")
    msg = load_error(scenario(tmp_path, "ev.csv", what="leaf powder", extra=""))
    assert re.search(r"got -2(\.0)? g; expected", msg), msg


def test_row_errors_name_the_csv_line_without_numpy_reprs(tmp_path):
    (tmp_path / "ev.csv").write_text(HEADER + "1,0,10,1,1\n1,1,-10,1,1\n")
    assert "line 3" in load_error(scenario(tmp_path, "ev.csv"))
    (tmp_path / "ev.csv").write_text(HEADER + "1,2,10,1,1\n1,1,10,1,1\n")
    assert "np.float64" not in load_error(scenario(tmp_path, "ev.csv"))


def test_read_event_table_errors_carry_the_amount_unit():
    df = pd.read_csv(io.StringIO(HEADER + "1,0,-10,1,1\n"))
    with pytest.raises(PharmsimError, match=r"got -10(\.0)? mg"):
        ps.read_event_table(df, {1: ("morphine", "iv")}, amount_unit="mg", library=LIB)


def test_read_event_table_of_no_rows():
    df = pd.read_csv(io.StringIO(HEADER))
    with pytest.raises(PharmsimError, match=r"event table has no records \(only a header"):
        ps.read_event_table(df, {1: ("morphine", "iv")}, library=LIB)


def test_read_event_table_bounds_addl():
    df = pd.DataFrame({"ID": [1], "TIME": [0.0], "AMT": [10.0], "EVID": [1], "CMT": [1], "II": [1.0],
                       "ADDL": [1e9]})
    with pytest.raises(PharmsimError, match=r"ADDL"):
        ps.read_event_table(df, {1: ("morphine", "iv")}, library=LIB)


# ------------------------------------------------------------------------------------------- files
def test_absent_file_and_a_folder_as_file(tmp_path):
    msg = load_error(scenario(tmp_path, "nope.csv"))
    assert re.search(r"events\[0\]\.file: no such file .*nope\.csv'; got 'nope\.csv' \(paths are relative to the "
                     r"scenario file\)", msg)
    (tmp_path / "adir").mkdir()
    assert "not a file" in load_error(scenario(tmp_path, "adir"))


def test_a_huge_event_file_is_refused_before_it_is_read(tmp_path):
    with open(tmp_path / "ev.csv", "wb") as f:
        f.write(HEADER.encode())
        f.truncate(sc._MAX_FILE_BYTES + 10)                  # sparse
    msg = load_error(scenario(tmp_path, "ev.csv"))
    assert re.search(r"ev\.csv\): is 64 MB; expected an event table of at most 64 MB", msg)


def test_binary_event_file(tmp_path):
    (tmp_path / "ev.csv").write_bytes(b"\x00\xff\xfe\x01" * 50)
    assert "cannot read the event table" in load_error(scenario(tmp_path, "ev.csv"))


SECRET = "TOPSECRET_first_line,42424242\nsecond,line\n"
OUTSIDE_BROKEN = {
    "not a table": SECRET,
    "negative AMT": HEADER.replace("ID", "TOPSECRET_ID") + "1,0,-10,1,1\n",
    "bad AMT text": HEADER + "1,0,TOPSECRET_amt,1,1\n",
    "dose late": HEADER + "1,4242,10,1,1\n",
    "many IDs": HEADER + "".join(f"{i},0,10,1,1\n" for i in range(4242, 4245)),
    "ADDL huge": "ID,TIME,AMT,EVID,CMT,II,ADDL\n1,0,10,1,1,1,424242424\n",
}


@pytest.mark.parametrize("name", sorted(OUTSIDE_BROKEN))
@pytest.mark.parametrize("how", ["absolute", "relative", "symlink"])
def test_nothing_is_echoed_from_a_file_outside_the_scenario_folder(name, how, tmp_path):
    scen_dir, elsewhere = tmp_path / "scenario", tmp_path / "elsewhere"
    scen_dir.mkdir()
    elsewhere.mkdir()
    secret = elsewhere / "secret.csv"
    secret.write_text(OUTSIDE_BROKEN[name])
    file = {"absolute": str(secret), "relative": "../elsewhere/secret.csv", "symlink": "link.csv"}[how]
    if how == "symlink":
        (scen_dir / "link.csv").symlink_to(secret)
    msg = load_error(scenario(scen_dir, file))
    assert "is not a usable event table; what is wrong is not shown because the file lies outside" in msg
    shown = msg.replace(str(scen_dir), "").replace("secret.csv", "").replace("link.csv", "")
    for leak in ("TOPSECRET", "4242", "second", "line", "-10", "secret_"):
        assert leak not in shown, msg


def test_a_valid_table_outside_the_folder_is_read(tmp_path):
    scen_dir, elsewhere = tmp_path / "scenario", tmp_path / "elsewhere"
    scen_dir.mkdir()
    elsewhere.mkdir()
    (elsewhere / "ev.csv").write_text(HEADER + "1,0,10,1,1\n1,6,5,1,1\n")
    study = sc.load(scenario(scen_dir, str(elsewhere / "ev.csv")), library=LIB)
    d = study.arms[0].doses
    np.testing.assert_allclose(d.time_h, [0.0, 6.0])
    np.testing.assert_allclose(d.amount_nmol.ravel(), np.array([10.0, 5.0]) * 1e6 / MW_MORPHINE)


def test_the_cli_run_on_a_broken_table_leaves_nothing(tmp_path, capsys):
    from pharmsim import cli

    (tmp_path / "ev.csv").write_text(HEADER + "1,0,-10,1,1\n")
    p = scenario(tmp_path, "ev.csv")
    before = sorted(x.name for x in tmp_path.iterdir())
    rc = cli.main(["run", str(p), "--out", str(tmp_path / "out"), "--quiet"])
    _, err = capsys.readouterr()
    assert rc == 2 and err.startswith("pharmsim: error: s.toml: events[0].file (ev.csv): event table column 'AMT', "
                                      "row 0")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert sorted(x.name for x in tmp_path.iterdir()) == before


# ------------------------------------------------------------------------------------------- properties
@st.composite
def event_tables(draw):
    """A valid one-subject table: sorted times, positive amounts, optional infusions (RATE) and ADDL."""
    n = draw(st.integers(1, 6))
    times = sorted(draw(st.lists(st.floats(0.0, 40.0, allow_nan=False).map(lambda x: round(x, 3)),
                                 min_size=n, max_size=n)))
    amounts = draw(st.lists(st.floats(1e-6, 1e4, allow_nan=False), min_size=n, max_size=n))
    rate = draw(st.lists(st.sampled_from([0.0, 1.0, 100.0]), min_size=n, max_size=n))
    addl = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    ii = [12.0 if a else 0.0 for a in addl]
    df = pd.DataFrame({"ID": 1, "TIME": times, "AMT": amounts, "EVID": 1, "CMT": 1, "RATE": rate, "II": ii,
                       "ADDL": addl})
    # an infusion must end before the next ADDL dose: AMT / RATE <= II
    df.loc[(df["RATE"] > 0) & (df["AMT"] / df["RATE"].where(df["RATE"] > 0, 1.0) > 12.0), "RATE"] = 0.0
    return df


def _write(folder: Path, df: pd.DataFrame) -> None:
    df.to_csv(folder / "ev.csv", index=False, float_format="%.17g")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(df=event_tables())
def test_scenario_doses_equal_read_event_table(tmp_path_factory, df):
    """The scenario reads a table exactly as read_event_table does (mg -> nmol once), and conserves the amount:
    total nmol = sum AMT (ADDL + 1) x 1e6 / M."""
    folder = tmp_path_factory.mktemp("ev")
    _write(folder, df)
    study = sc.load(scenario(folder, "ev.csv", end_h=100.0), library=LIB)
    got = study.arms[0].doses
    ref = ps.read_event_table(pd.read_csv(folder / "ev.csv"), {1: ("morphine", "iv")}, amount_unit="mg",
                              library=LIB).doses
    np.testing.assert_allclose(got.time_h, ref.time_h)
    np.testing.assert_allclose(got.amount_nmol, ref.amount_nmol, rtol=1e-12)
    np.testing.assert_allclose(got.duration_h, ref.duration_h)
    total = float(np.sum(df["AMT"] * (df["ADDL"] + 1))) * 1e6 / MW_MORPHINE
    assert got.amount_nmol.sum() == pytest.approx(total, rel=1e-12)


CORRUPTIONS = {
    "AMT": (-5.0, r"column 'AMT', row {row}"),
    "RATE": (-3.0, r"column 'RATE', row {row}"),
    "EVID": (7, r"column 'EVID', row {row}"),
    "ADDL": (0.5, r"column 'ADDL', row {row}"),
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(df=event_tables(), column=st.sampled_from(sorted(CORRUPTIONS)), data=st.data())
def test_one_bad_cell_is_named_by_column_and_row(tmp_path_factory, df, column, data):
    """Property: corrupt one cell of a valid table; the error names that column and that row (0-based, as
    read), the file and the scenario key."""
    row = data.draw(st.integers(0, len(df) - 1))
    value, pattern = CORRUPTIONS[column]
    df = df.astype({column: float})
    df.loc[:, "EVID"] = df["EVID"].astype(float)
    df.loc[row, column] = value
    folder = tmp_path_factory.mktemp("ev")
    _write(folder, df)
    msg = load_error(scenario(folder, "ev.csv", end_h=100.0))
    assert msg.startswith("s.toml: events[0].file (ev.csv): "), msg
    assert re.search(pattern.format(row=row), msg), msg
