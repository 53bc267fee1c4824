"""Tests for the ``pharmsim`` command: exit codes, clear errors, atomic outputs, library look-ups, curves."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pharmsim import cli
from pharmsim.output import MARKER_NAME
from pharmsim.report import PNG_SIGNATURE
from pharmsim.validate import PharmsimError

ROOT = Path(__file__).resolve().parents[1]


def run_cmd(*args, cwd=None) -> subprocess.CompletedProcess:
    """``python -m pharmsim ARGS`` in a subprocess (the way a user runs it)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["MPLBACKEND"] = "Agg"
    return subprocess.run([sys.executable, "-m", "pharmsim", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=env, timeout=600)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if p.name.startswith(".")]


# ------------------------------------------------------------------------------------------ atomic folders


def test_atomic_output_dir_moves_complete_folder_into_place(tmp_path):
    out = tmp_path / "a" / "b" / "out"
    with cli.atomic_output_dir(out) as tmp:
        assert tmp.parent == out.parent and not out.exists()
        (tmp / "x.txt").write_text("done")
    assert (out / "x.txt").read_text() == "done"
    assert leftovers(out.parent) == []


def test_atomic_output_dir_failure_leaves_nothing(tmp_path):
    out = tmp_path / "new" / "out"
    with pytest.raises(RuntimeError), cli.atomic_output_dir(out) as tmp:
        (tmp / "half.csv").write_text("1,2")
        raise RuntimeError("boom")
    assert not out.exists() and not (tmp_path / "new").exists()


def test_atomic_output_dir_existing_needs_force_and_failure_keeps_old(tmp_path):
    out = tmp_path / "out"
    with cli.atomic_output_dir(out) as tmp:            # a folder pharmsim wrote carries its marker
        (tmp / "old.txt").write_text("old")
    marker = {MARKER_NAME}
    assert set(snapshot(out)) == {"old.txt"} | marker
    with pytest.raises(PharmsimError, match="already exists; use --force"), cli.atomic_output_dir(out):
        pass
    with pytest.raises(RuntimeError), cli.atomic_output_dir(out, force=True) as tmp:
        (tmp / "new.txt").write_text("new")
        raise RuntimeError("boom")
    assert snapshot(out)["old.txt"] == b"old" and set(snapshot(out)) == {"old.txt"} | marker
    with cli.atomic_output_dir(out, force=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert snapshot(out)["new.txt"] == b"new" and set(snapshot(out)) == {"new.txt"} | marker
    assert leftovers(tmp_path) == []
    # --force never replaces a folder pharmsim did not write (issue 14: --out ~/Documents --force)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.txt").write_text("precious")
    with pytest.raises(PharmsimError, match="was not written by pharmsim"), cli.atomic_output_dir(mine, force=True):
        pass
    assert snapshot(mine) == {"thesis.txt": b"precious"}


def test_out_must_be_a_folder(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(PharmsimError, match="not a folder"), cli.atomic_output_dir(f, force=True):
        pass


# ------------------------------------------------------------------------------------------ user errors

GOOD_DOSE = '[[dose]]\nwhat = "leaf powder"\namount_g = 2\ntimes_h = [0]\n'
MALFORMED = {
    "bad_toml": ('name = "x"\n[time\nend_h = 3\n', r"bad_toml\.toml: not valid TOML"),
    "unknown_key": ('[time]\nend_h = 3\n[[dose]]\nwhat = "leaf powder"\namout_g = 2\ntimes_h = [0]\n',
                    r"dose\[0\]\.amout_g is not a valid key \(value 2\).*did you mean 'amount_g'"),
    "wrong_type": ('[time]\nend_h = "three"\n' + GOOD_DOSE, r"time\.end_h must be a number \(h\); got a string"),
    "negative_dose": ('[time]\nend_h = 3\n[[dose]]\nwhat = "morphine"\namount_mg = -10\ntimes_h = [0]\n',
                      r"dose\[0\]\.amount_mg must be a number > 0 \(mg\); got -10"),
    "missing_compound": ('[time]\nend_h = 3\n[[dose]]\nwhat = "morfine"\namount_mg = 10\ntimes_h = [0]\n',
                         r"dose\[0\]\.what must be a product form.*got 'morfine'.*did you mean 'morphine'"),
    "impossible_regimen": ('[time]\nend_h = 30\n[[dose]]\nwhat = "tea"\namount_g = 1\nn_doses = 3\ninterval_h = 0\n',
                           r"dose\[0\]\.interval_h must be a number > 0"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_scenario_clear_error_and_output_untouched(case, tmp_path, capsys):
    text, pattern = MALFORMED[case]
    scen = tmp_path / f"{case}.toml"
    scen.write_text(text)
    out = tmp_path / "out"
    assert cli.main(["run", str(scen), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pharmsim: error: ") and err.count("\n") == 1, err
    assert re.search(pattern, err), err
    assert not out.exists() and leftovers(tmp_path) == []
    # an existing output folder survives a failed --force run byte for byte
    out.mkdir()
    (out / "keep.csv").write_text("a,b\n1,2\n")
    before = snapshot(out)
    assert cli.main(["run", str(scen), "--out", str(out), "--force"]) == 2
    assert snapshot(out) == before and leftovers(tmp_path) == []


def test_user_errors_in_a_subprocess_have_no_traceback(tmp_path):
    scen = tmp_path / "s.toml"
    scen.write_text(MALFORMED["unknown_key"][0])
    r = run_cmd("run", scen, "--out", tmp_path / "out")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and r.stderr.startswith("pharmsim: error: s.toml: dose[0].amout_g")
    r = run_cmd("run", tmp_path / "nope.toml", "--out", tmp_path / "out")
    assert r.returncode == 2 and "does not exist" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()


def test_existing_output_needs_force(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    assert cli.main(["run", "demo", "--out", str(out)]) == 2
    assert "already exists; use --force" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["frobnicate"])
    assert info.value.code == 2


# ------------------------------------------------------------------------------------------ look-ups


def test_scenarios_and_check(capsys):
    assert cli.main(["scenarios"]) == 0
    listed = capsys.readouterr().out
    for name in ("demo", "daily_leaf_then_morphine", "naloxone_reversal", "cyp3a4_inhibitor", "dor_sources"):
        assert name in listed
    assert cli.main(["check", "demo"]) == 0
    assert "OK" in capsys.readouterr().out


def test_compounds(capsys):
    assert cli.main(["compounds"]) == 0
    out = capsys.readouterr().out
    for name in ("MG", "7-OH-MG", "morphine", "naloxone", "398.5"):
        assert name in out


def test_sources(capsys):
    assert cli.main(["sources", "Ki", "--compound", "mitragynine", "--target", "MOR"]) == 0
    out = capsys.readouterr().out
    assert "Kruegel 2016" in out and "status" in out and "preferred" in out
    assert cli.main(["sources", "Kii"]) == 2
    assert "pharmsim: error:" in capsys.readouterr().err


def test_curve_writes_png_and_csv(tmp_path):
    out = tmp_path / "curves"
    r = run_cmd("curve", "--receptor", "MOR", "--ligands", "MG", "7-OH-MG", "morphine", "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    pngs = sorted(out.glob("*.png"))
    assert pngs and all(p.read_bytes().startswith(PNG_SIGNATURE) and p.stat().st_size > 5000 for p in pngs)
    curves = pd.read_csv(out / "curves.csv")
    assert {"quantity", "receptor", "endpoint", "conc_nM", "ligand", "value", "unit"} <= set(curves.columns)
    assert not curves.isna().any().any()
    assert set(curves["ligand"]) >= {"MG", "7-OH-MG", "morphine"}
    occ = curves[curves["quantity"] == "occupancy"]
    assert occ["value"].between(0, 1).all() and set(occ["unit"]) == {"fraction"}
    # the parameter table behind the curves: one row per endpoint and ligand, each value with its source
    params = pd.read_csv(out / "ligands.csv")
    assert {"endpoint", "compound", "K_nM", "tau", "Emax", "EC50_unbound_nM", "K_source"} <= set(params.columns)
    assert set(params["compound"]) == {"MG", "7-OH-MG", "morphine"}
    assert params["K_source"].str.len().gt(0).all()
    assert "not dosing advice" in (out / "README.txt").read_text()


# ------------------------------------------------------------------------------------------ issue 15: the demo story


def test_demo_prints_modelling_choices_dropped_ligands_and_conclusions(tmp_path, capsys):
    from pharmsim import scenario as sc
    from pharmsim.study import run_study

    out = tmp_path / "results"
    assert cli.main(["demo", "--out", str(out), "--force"]) == 0
    printed = capsys.readouterr().out
    assert "Modelling choices:" in printed and "Left out of the model (dropped ligands and situations):" in printed
    assert "What the model shows:" in printed and "not dosing advice" in printed
    for note in run_study(sc.load("demo")).notes:           # every modelling choice reaches the terminal
        assert note in printed
    # a ligand the library cannot bind at a receptor is printed as dropped
    scen = tmp_path / "fentanyl.toml"
    scen.write_text('[time]\nend_h = 4\nstep_h = 0.5\n[[dose]]\nwhat = "fentanyl"\namount_mg = 0.1\nroute = "iv"\n'
                    'times_h = [0]\n[model]\nbinding = "equilibrium"\nreceptors = ["MOR", "DOR"]\n')
    assert cli.main(["run", str(scen), "--out", str(tmp_path / "f")]) == 0
    printed = capsys.readouterr().out
    dropped = printed.split("Left out of the model", 1)[1].split("What the model shows", 1)[0]
    assert "fentanyl at DOR" in dropped and "not bound at DOR" in dropped


def test_run_with_overrides_and_classroom_style(tmp_path, capsys):
    out = tmp_path / "o"
    assert cli.main(["run", "demo", "--out", str(out), "--quiet", "--style", "classroom", "--log-y",
                     "--conc-unit", "ng/mL", "--set", "population.n=3", "--set", "population.omega=library",
                     "--set", "arm[0].dose[0].amount_g=4", "--set", "time.end_h=12"]) == 0
    assert capsys.readouterr().out == ""
    summary = pd.read_csv(out / "tables" / "summary.csv")
    assert set(summary["n_subjects"]) == {3} and summary["time_h"].max() == 12
    mg = summary[(summary["quantity"] == "plasma_conc") & (summary["compound"] == "MG")]
    assert (mg["p95"] > mg["p05"]).any()                     # the override gave the population its spread
    doses = pd.read_csv(out / "tables" / "doses.csv")
    first = doses[(doses["arm"] == "kratom 2 g") & (doses["compound"] == "MG") & (doses["subject"] == 0)]
    assert first["amount_mg"].iloc[0] == pytest.approx(4 / 2 * 39.0, rel=0.2)   # 4 g leaf: about twice 2 g's 39 mg
    text = (out / "scenario.toml").read_text()
    assert "# command-line override: --set arm[0].dose[0].amount_g=4" in text
    assert "override (command line): population.n = 3" in (out / "report.html").read_text()


def test_set_errors_name_the_key_and_suggest(tmp_path, capsys):
    assert cli.main(["check", "demo", "--set", "population.nn=500"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pharmsim: error: demo.toml (with --set population.nn=500): population.nn is not a valid "
                          "key") and "did you mean 'n'" in err and err.count("\n") == 1
    assert cli.main(["run", "demo", "--out", str(tmp_path / "x"), "--set", "arm[9].name=a"]) == 2
    assert "arm[9] does not exist; the scenario has 3" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    assert cli.main(["check", "demo", "--set", "population.n=2"]) == 0
    assert "2 subject(s)" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(["demo", "--out", str(tmp_path / "y"), "--style", "loud"])
