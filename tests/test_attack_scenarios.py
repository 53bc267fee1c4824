"""Attack suite, scenario files (issue 14): broken, hostile and absurd scenarios through ``pharmsim check`` and
``pharmsim run``, and the rule that ``check`` runs every semantic check ``run`` runs, short of solving.

Every attack ends in one line ``pharmsim: error: FILE: ...`` on stderr with exit status 2 that names the key
(or the file, row and column) and what was expected, no traceback and nothing left behind (no output folder,
no temporary folder) - or, where the scenario is legitimate, in a correct run. ``check`` and ``run`` give the
same message for the same scenario.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pharmsim import cli
from pharmsim import scenario as sc
from pharmsim.library import load_library
from pharmsim.study import run_study
from pharmsim.validate import PharmsimError

LIB = load_library()

HEAD = """
[time]
end_h = 6
step_h = 1
[model]
binding = "equilibrium"
"""
LEAF = """
[[dose]]
what = "leaf powder"
amount_g = 2
times_h = [0]
"""
SRC = '[population.omega_sources]\n"MG.CL_L_per_h" = "test value"\n'
MORPHINE = """
[[dose]]
what = "morphine"
amount_mg = 10
route = "iv"
times_h = [0]
"""


def cli_main(capsys, *argv):
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def one_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pharmsim: error: "), err
    assert "Traceback" not in err
    return lines[0][len("pharmsim: error: "):]


# ------------------------------------------------------------------------------------------- attacks
# name -> (scenario text, expected message regex); every one must fail in check and in run, identically.
ATTACKS = {
    "empty file": ("", r"time is required but missing"),
    "only comments": ("# nothing\n", r"time is required but missing"),
    "no doses": (HEAD, r"scenario has no doses"),
    "not TOML": ("[time\nend_h = 2", r"not valid TOML"),
    "binary": ("\x00\x01\x02", r"not valid TOML"),
    "byte order mark": ("\ufeff" + HEAD + LEAF, r"not valid TOML"),
    "duplicate key": (HEAD + LEAF + 'name = "a"\nname = "b"\n', r"not valid TOML"),
    "unknown top-level key": (HEAD + LEAF + "bogus = 1\n", r"dose\[0\]\.bogus is not a valid key"),
    "unknown table": ("[bogus]\na = 1\n" + HEAD + LEAF, r"bogus is not a valid key .*expected one of: name"),
    "unknown time key": ("[time]\nend_h = 6\nsteph = 1\n" + LEAF, r"time\.steph is not a valid key.*step_h"),
    "time is a number": ("time = 3\n" + LEAF, r"time must be a table; got an integer 3"),
    "end_h a string": ('[time]\nend_h = "24"\n' + LEAF, r"time\.end_h must be a number \(h\); got a string '24'"),
    "end_h a boolean": ("[time]\nend_h = true\n" + LEAF, r"time\.end_h must be a number \(h\); got a boolean"),
    "end_h nan": ("[time]\nend_h = nan\n" + LEAF, r"time\.end_h must be a finite number \(h\); got nan"),
    "end_h inf": ("[time]\nend_h = inf\n" + LEAF, r"time\.end_h must be a finite number \(h\); got inf"),
    "end_h negative": ("[time]\nend_h = -5\n" + LEAF, r"time\.end_h must be > time\.start_h"),
    "step_h zero": ("[time]\nend_h = 6\nstep_h = 0\n" + LEAF, r"time\.step_h must be a number > 0"),
    "step_h tiny": ("[time]\nend_h = 24\nstep_h = 1e-300\n" + LEAF,
                    r"time\.step_h gives 2\.4e\+301 time points .*expected at most 200000"),
    "a billion output times": ("[time]\nend_h = 1e9\nstep_h = 1\n" + LEAF, r"1,000,000,000 time points"),
    "huge span, kinetic": ("[time]\nend_h = 1e6\nstep_h = 10000\n" + MORPHINE,
                           r"integration mesh would need about 4,000,00\d nodes .*max_step_h.*equilibrium"),
    "huge span, kinetic, tolerance": ("[time]\nend_h = 1e6\nstep_h = 10000\n[model]\ntolerance = 'gprotein'\n" + LEAF,
                                      r"integration mesh would need about"),
    "deep nesting, arrays": (HEAD + LEAF + "x = " + "[" * 200 + "]" * 200 + "\n", r"nested .* deep"),
    "deep nesting, tables": (HEAD + LEAF + "x = " + "{a=" * 100 + "1" + "}" * 100 + "\n", r"nested .* deep"),
    "n a string": (HEAD + LEAF + '[population]\nn = "3"\n', r"population\.n must be a whole number; got a string"),
    "n a fraction": (HEAD + LEAF + "[population]\nn = 3.5\n", r"population\.n must be a whole number; got a number"),
    "n a boolean": (HEAD + LEAF + "[population]\nn = true\n", r"population\.n must be a whole number; got a boolean"),
    "n zero": (HEAD + LEAF + "[population]\nn = 0\n", r"population\.n must be a whole number >= 1; got 0"),
    "n ten million": (HEAD + LEAF + "[population]\nn = 10000000\n", r"population\.n must be a whole number <= "),
    "n a million": ("[time]\nend_h = 24\nstep_h = 0.1\n" + LEAF + "[population]\nn = 1000000\n",
                    r"would take [\d,]+ MB \(1,000,000 subjects .*max_output_mb"),
    "seed negative": (HEAD + LEAF + "[population]\nseed = -1\n", r"population\.seed must be a whole number >= 0"),
    "n_doses a billion": (HEAD + '[[dose]]\nwhat = "leaf powder"\namount_g = 2\nstart_h = 0\ninterval_h = 1e-3\n'
                          'n_doses = 1000000000\n', r"dose\[0\]\.n_doses must be a whole number <= 100000"),
    "n_doses a string": (HEAD + '[[dose]]\nwhat = "leaf powder"\namount_g = 2\nstart_h = 0\ninterval_h = 1\n'
                         'n_doses = "3"\n', r"dose\[0\]\.n_doses must be a whole number; got a string"),
    "days huge": (HEAD + '[[dose]]\nwhat = "leaf powder"\namount_g = 1\ntimes_per_day = 48\ndays = 1e9\n',
                  r"doses; expected at most 100000"),
    "amount negative": (HEAD + LEAF.replace("amount_g = 2", "amount_g = -2"),
                        r"dose\[0\]\.amount_g must be a number > 0 \(g\); got -2"),
    "amount zero": (HEAD + LEAF.replace("amount_g = 2", "amount_g = 0"), r"dose\[0\]\.amount_g must be a number > 0"),
    "amount a string": (HEAD + LEAF.replace("amount_g = 2", 'amount_g = "2"'),
                        r"dose\[0\]\.amount_g must be a number \(g\); got a string '2'"),
    "two amounts": (HEAD + LEAF.replace("amount_g = 2", "amount_g = 2\namount_mg = 5"), r"exactly one of amount_g"),
    "what unknown": (HEAD + LEAF.replace('"leaf powder"', '"leaf powdr"'), r"did you mean 'leaf powder'"),
    "what a number": (HEAD + LEAF.replace('"leaf powder"', "3"), r"dose\[0\]\.what must be a string"),
    "route unknown": (HEAD + MORPHINE.replace('"iv"', '"ivv"'), r"dose\[0\]\.route must be one of 'iv'"),
    "dose after the end": (HEAD + LEAF.replace("[0]", "[100]"), r"dose at 100 h, after the end"),
    "dose times empty": (HEAD + LEAF.replace("[0]", "[]"), r"times_h must list at least one time"),
    "dose time nan": (HEAD + LEAF.replace("[0]", "[nan]"), r"times_h\[0\] must be a finite number \(h\); got nan"),
    "dose time negative": (HEAD + LEAF.replace("[0]", "[-1]"), r"times_h\[0\] must be a number >= 0 \(h\); got -1"),
    "content over 100 %": (HEAD + LEAF + "mg_percent = 150\n", r"mg_percent must be a percentage in \[0, 100\]"),
    "omega negative": (HEAD + LEAF + '[population]\nn = 3\n[population.omega]\n"MG.CL_L_per_h" = -1\n',
                       r"population\.omega\.MG\.CL_L_per_h must be a number >= 0"),
    "omega typo": (HEAD + LEAF + '[population]\nn = 3\n[population.omega]\n"MG.CL_L_per_hh" = 0.3\n' + SRC,
                   r"did you mean 'MG\.CL_L_per_h'"),
    "omega of a compound not dosed": (HEAD + LEAF + '[population]\nn = 3\n[population.omega]\n'
                                      '"morphine.CL_L_per_h" = 0.3\n[population.omega_sources]\n'
                                      '"morphine.CL_L_per_h" = "test"\n', r"population\.omega names 'morphine"),
    "correlation out of range": (HEAD + LEAF + '[population]\nn = 3\n[population.omega]\n"MG.CL_L_per_h" = 0.3\n'
                                 '"MG.V_L" = 0.3\n[population.omega_sources]\n"MG.CL_L_per_h" = "test"\n'
                                 '"MG.V_L" = "test"\n[population.correlation]\n"MG.CL_L_per_h,MG.V_L" = 1.5\n',
                                 r"must be a correlation in \(-1, 1\); got 1\.5"),
    "body weight absurd": (HEAD + LEAF + "[population.covariates]\nbody_weight_kg = 5000\n",
                           r"body_weight_kg must be an adult body weight in \[30, 200\] kg; got 5000"),
    "inhibitor unknown": (HEAD + LEAF + '[population.covariates]\ncyp3a4_inhibitor = "huge"\n',
                          r"cyp3a4_inhibitor must be one of 'none'"),
    "receptor unknown": ('[time]\nend_h = 6\n[model]\nreceptors = ["MORR"]\n' + LEAF, r"did you mean 'MOR'"),
    "receptors empty": ("[time]\nend_h = 6\n[model]\nreceptors = []\n" + LEAF, r"model\.receptors must list at least"),
    "binding unknown": ('[time]\nend_h = 6\n[model]\nbinding = "fast"\n' + LEAF, r"model\.binding must be one of"),
    "max_step_h zero": ("[time]\nend_h = 6\n[model]\nmax_step_h = 0\n" + LEAF,
                        r"model\.max_step_h must be a number > 0"),
    "max_step_h tiny": ("[time]\nend_h = 24\n[model]\nmax_step_h = 1e-6\n" + MORPHINE,
                        r"integration mesh would need about .* max_step_h = 1e-06 h"),
    "dor source unknown": ('[time]\nend_h = 6\n[model]\ndor_efficacy = "nobody"\n' + LEAF,
                           r"model\.dor_efficacy must be 'default'"),
    "what-if negative K": (HEAD + LEAF + '[[value]]\nquantity = "Ki"\ncompound = "MG"\ntarget = "MOR"\nvalue = -5\n'
                           'unit = "nM"\n', r"value\[0\]: Ki of MG at MOR must be a finite number > 0 nM; got -5"),
    "what-if unit unknown": (HEAD + LEAF + '[[value]]\nquantity = "Ki"\ncompound = "MG"\ntarget = "MOR"\nvalue = 5\n'
                             'unit = "parsec"\n', r"must be a known unit; got 'parsec'"),
    "source unknown": (HEAD + LEAF + '[[source]]\nquantity = "Ki"\ncompound = "MG"\ntarget = "MOR"\n'
                       'source = "nobody"\n', r"source\[0\]\.source must be a source the library holds"),
    "arms and top-level doses": (HEAD + LEAF + '[[arm]]\nname = "a"\n[[arm.dose]]\nwhat = "morphine"\n'
                                 'amount_mg = 1\nroute = "iv"\ntimes_h = [0]\n', r"both \[\[arm\]\] tables and"),
    "arm names twice": (HEAD + '[[arm]]\nname = "a"\n[[arm.dose]]\nwhat = "morphine"\namount_mg = 1\nroute = "iv"\n'
                        'times_h = [0]\n[[arm]]\nname = "a"\n[[arm.dose]]\nwhat = "morphine"\namount_mg = 2\n'
                        'route = "iv"\ntimes_h = [0]\n', r"arm\[1\]\.name must be unique"),
    "arm without doses": (HEAD + '[[arm]]\nname = "a"\n', r"arm\[0\] has no doses"),
    "output key a string": (HEAD + LEAF + '[output]\nfigures = "no"\n', r"output\.figures must be true or false"),
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_fails_clearly_in_check_and_run_and_leaves_nothing(name, tmp_path, capsys, monkeypatch):
    text, expected = ATTACKS[name]
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "attack.toml"
    path.write_text(text, encoding="utf-8")
    before = listing(tmp_path)
    rc, out, err = cli_main(capsys, "check", path)
    assert rc == 2 and out == ""
    check_msg = one_error(err)
    assert check_msg.startswith("attack.toml: "), check_msg
    assert re.search(expected, check_msg), f"{expected!r} not in {check_msg!r}"
    rc, out, err = cli_main(capsys, "run", path, "--out", tmp_path / "out", "--quiet")
    assert rc == 2
    assert one_error(err) == check_msg                     # check and run agree, word for word
    assert listing(tmp_path) == before                     # no output folder, no temporary folder


# ------------------------------------------------------------------------------------------- legitimate oddities
# scenarios that look unusual but are valid: check and run both succeed and the numbers are sane
ODD = {
    "no model table (kinetic default)": "[time]\nend_h = 4\nstep_h = 1\n" + MORPHINE,
    "no model table, product": "[time]\nend_h = 4\nstep_h = 1\n" + LEAF,
    "only end_h": "[time]\nend_h = 2\n" + MORPHINE,
    "a dose at the very end": "[time]\nend_h = 4\n" + MORPHINE.replace("[0]", "[4]"),
    "start_h alone": HEAD + '[[dose]]\nwhat = "morphine"\namount_mg = 10\nroute = "iv"\nstart_h = 2\n',
    "arm named like a formula": HEAD + '[[arm]]\nname = "=HYPERLINK(\\"x\\")"\n[[arm.dose]]\nwhat = "morphine"\n'
                                       'amount_mg = 10\nroute = "iv"\ntimes_h = [0]\n',
    "unicode names": 'title = "Kratom — 2 g, ñ"\n' + HEAD + '[[arm]]\nname = "ärm ☕"\n[[arm.dose]]\n'
                                                        'what = "leaf powder"\namount_g = 2\ntimes_h = [0]\n',
    "tiny amount": HEAD + LEAF.replace("amount_g = 2", "amount_g = 1e-12"),
    "absurd amount": HEAD + MORPHINE.replace("amount_mg = 10", "amount_mg = 1e12"),
    "absurd amount, kinetic": "[time]\nend_h = 4\nstep_h = 1\n" + MORPHINE.replace("amount_mg = 10",
                                                                                   "amount_mg = 1e12"),
    "kinetic, two doses": "[time]\nend_h = 4\nstep_h = 1\n" + MORPHINE.replace("times_h = [0]", "times_h = [0, 1]"),
    "population of three": HEAD + LEAF + '[population]\nn = 3\nseed = 7\n[population.omega]\n"MG.CL_L_per_h" = 0.3\n'
                                         + SRC,
}


ODD_KNOWN: dict[str, str] = {}     # case -> reason, for a known bug in another issue's module


@pytest.mark.parametrize("name", [pytest.param(n, marks=[pytest.mark.xfail(strict=True, reason=ODD_KNOWN[n])]
                                               if n in ODD_KNOWN else []) for n in sorted(ODD)])
def test_legitimate_oddities_check_and_run(name, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "odd.toml"
    path.write_text(ODD[name], encoding="utf-8")
    rc, out, err = cli_main(capsys, "check", path)
    assert rc == 0, err
    assert "OK" in out
    rc, out, err = cli_main(capsys, "run", path, "--out", tmp_path / "out", "--quiet")
    assert rc == 0, err
    assert err == ""
    summary = (tmp_path / "out" / "tables" / "summary.csv").read_text(encoding="utf-8")
    assert "nan" not in summary.lower().replace("name", "") and "inf" not in summary.lower()
    for line in summary.splitlines()[1:]:
        assert not line.startswith(("=", "+", "-", "@")), line          # formula cells escaped
    assert listing(tmp_path) == ["odd.toml", "out"]


def test_absurd_doses_with_kinetic_binding_saturate_cleanly():
    """1e12 mg of morphine with kinetic binding: occupancy reaches 1 without an internal error (the issue saw
    'occupancy 1.0000000000000002')."""
    study = sc.loads("[time]\nend_h = 4\nstep_h = 1\n" + MORPHINE.replace("amount_mg = 10", "amount_mg = 1e12"),
                     library=LIB)
    sr = run_study(study)
    occ = sr.results["main"].get("occupancy", "morphine", "MOR")
    assert np.all((occ >= 0) & (occ <= 1)) and occ[0, -1] == pytest.approx(1.0, abs=1e-6)


def test_a_dose_so_large_it_overflows_is_refused_clearly():
    """1e308 mg is beyond floating point once in nmol: a clear error (in mg, the user's unit), not inf."""
    with pytest.raises(PharmsimError, match=r"amount") as info:
        study = sc.loads("[time]\nend_h = 4\n" + MORPHINE.replace("amount_mg = 10", "amount_mg = 1e308"), library=LIB)
        study.check()
        run_study(study).summary_table()
    assert "Traceback" not in str(info.value)


# ------------------------------------------------------------------------------------------- files
def test_scenario_path_of_the_wrong_kind(tmp_path, capsys):
    rc, _, err = cli_main(capsys, "check", tmp_path)
    assert rc == 2 and "is not a regular file" in one_error(err)
    rc, _, err = cli_main(capsys, "check", tmp_path / "missing.toml")
    assert rc == 2 and "does not exist" in one_error(err)
    rc, _, err = cli_main(capsys, "check", "dem")
    assert rc == 2 and "did you mean 'demo'" in one_error(err)
    if Path("/dev/zero").exists():
        rc, _, err = cli_main(capsys, "check", "/dev/zero")
        assert rc == 2 and "is not a regular file" in one_error(err)


def test_a_huge_scenario_file_is_refused_before_it_is_read(tmp_path, capsys):
    big = tmp_path / "big.toml"
    with open(big, "wb") as f:            # sparse: no disk space used
        f.truncate(sc._MAX_FILE_BYTES + 1)
    rc, _, err = cli_main(capsys, "check", big)
    assert rc == 2 and re.search(r"big\.toml' is 64 MB; expected a scenario of at most 64 MB", one_error(err))


def test_a_scenario_that_is_not_utf8(tmp_path, capsys):
    p = tmp_path / "latin1.toml"
    p.write_bytes(("[time]\nend_h = 2\ntitle = 'caf\xe9'\n").encode("latin-1"))
    rc, _, err = cli_main(capsys, "check", p)
    assert rc == 2 and "cannot be read" in one_error(err)


def test_api_entry_points_refuse_what_is_not_a_path():
    for bad in (3.0, None, True, ["demo"], b"demo", ""):
        with pytest.raises(PharmsimError, match=r"scenario must be the path of a \.toml file"):
            sc.load(bad)
        with pytest.raises(PharmsimError, match=r"scenario must be the path"):
            sc.check(bad)


# ------------------------------------------------------------------------------------------- check == run
#: minimal and unusual scenarios that must pass check and run alike (issue 14, item 2)
MINIMAL = {
    "no model table": "[time]\nend_h = 2\n" + MORPHINE,
    "no model table, two receptors, product": "[time]\nend_h = 2\n" + LEAF,
    "no population table": HEAD + LEAF,
    "no output table": HEAD + MORPHINE,
    "model table, nothing in it": "[time]\nend_h = 2\n[model]\n" + MORPHINE,
    "MOR only": '[time]\nend_h = 2\n[model]\nreceptors = ["MOR"]\n' + LEAF,
    "DOR only": '[time]\nend_h = 2\n[model]\nreceptors = ["DOR"]\n' + LEAF,
    "tolerance, kinetic": "[time]\nend_h = 4\n[model]\ntolerance = 'gprotein'\n" + LEAF,
    "tolerance, equilibrium": '[time]\nend_h = 4\n[model]\ntolerance = "both"\nbinding = "equilibrium"\n' + MORPHINE,
    "binding per receptor": '[time]\nend_h = 2\n[model]\nbinding = {MOR = "kinetic", DOR = "equilibrium"}\n' + LEAF,
    "one arm": '[time]\nend_h = 2\n[[arm]]\nname = "only"\n[[arm.dose]]\nwhat = "morphine"\namount_mg = 5\n'
               'route = "iv"\ntimes_h = [0]\n',
}


def _check_and_run(study):
    """(check outcome, run outcome): 'ok' or the PharmsimError message."""
    outcomes = []
    for step in (lambda: study.check(), lambda: (lambda sr: (sr.summary_table(), sr.nca_table(),
                                                              sr.endpoint_table()))(run_study(study))):
        try:
            step()
            outcomes.append("ok")
        except PharmsimError as err:
            outcomes.append(str(err))
    return tuple(outcomes)


@pytest.mark.parametrize("name", sc.shipped_scenarios())
def test_shipped_scenarios_pass_check_and_run(name):
    assert _check_and_run(sc.load(name, library=LIB)) == ("ok", "ok")


@pytest.mark.parametrize("name", sorted(MINIMAL))
def test_minimal_scenarios_pass_check_and_run(name):
    assert _check_and_run(sc.loads(MINIMAL[name], library=LIB)) == ("ok", "ok")


@st.composite
def scenario_trees(draw):
    """Scenario trees as TOML gives them, mostly valid, with values near the limits: tiny steps, long spans,
    kinetic binding and tolerance (meshes), several subjects, doses at the end of the simulation."""
    end_h = draw(st.sampled_from([0.5, 2.0, 24.0, 2000.0, 6e5]))
    step_h = draw(st.sampled_from([0.01, 0.25, 1.0, 100.0]).filter(lambda s: s <= end_h))
    receptors = draw(st.sampled_from([["MOR"], ["DOR"], ["MOR", "DOR"]]))
    model = {"receptors": receptors,
             "binding": draw(st.sampled_from(["kinetic", "equilibrium"])),
             "tolerance": draw(st.booleans()),
             "max_step_h": draw(st.sampled_from([0.25, 0.05, 2.0]))}
    what = draw(st.sampled_from(["leaf powder", "tea", "morphine", "MG", "naloxone"]))
    dose = {"what": what, "times_h": [draw(st.sampled_from([0.0, end_h / 2, end_h]))]}
    if what in ("leaf powder", "tea"):
        dose["amount_g"] = draw(st.sampled_from([1e-9, 2.0, 1e4]))
    else:
        dose["amount_mg"] = draw(st.sampled_from([1e-9, 10.0, 1e9]))
        dose["route"] = draw(st.sampled_from(["iv", "capsule", "oral"]))
    tree = {"time": {"end_h": end_h, "step_h": step_h}, "model": model, "dose": [dose]}
    if draw(st.booleans()):
        omega = draw(st.sampled_from([{}, {"MG.CL_L_per_h": 0.3}, {"morphine.V_L": 0.2}, "library"]))
        tree["population"] = {"n": draw(st.sampled_from([1, 3, 400_000])), "seed": 1, "omega": omega}
        if isinstance(omega, dict) and omega:
            tree["population"]["omega_sources"] = {k: "test value" for k in omega}
    return tree


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=scenario_trees())
def test_check_and_run_agree_on_random_scenarios(tree):
    """Property: a scenario that reads and passes ``check`` runs (and its tables are made); one that passes
    reading but fails ``check`` fails ``run`` with the same message. Runs that would be long (large meshes, many
    subjects) are only checked, never solved here: check's size estimate is what keeps them out."""
    try:
        study = sc.from_dict(tree, library=LIB)
    except PharmsimError:
        return                                     # refused while reading: the same for check and run
    try:
        sizes = study.check()
    except PharmsimError as err:
        with pytest.raises(PharmsimError) as info:
            run_study(study)
        assert str(info.value) == str(err)
        return
    if sizes["nodes_estimate"] > 20_000 or study.population.n * study.t_h.size > 200_000:
        return                                     # valid but long: check said how long; not solved in a test
    outcome = _check_and_run(study)
    assert outcome == ("ok", "ok"), (tree, outcome)


# ------------------------------------------------------------------------------------------- CLI only
def test_file_names_of_run_time_errors(tmp_path, capsys, monkeypatch):
    """A refusal found by the size check names the scenario file, as reading errors do."""
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "long.toml"
    p.write_text(ATTACKS["huge span, kinetic"][0])
    rc, _, err = cli_main(capsys, "check", p)
    assert rc == 2 and one_error(err).startswith("long.toml: the integration mesh")


def test_shipped_scenario_by_name_and_demo_name_errors_after_reading(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc, out, _ = cli_main(capsys, "check", "demo")
    assert rc == 0 and out.startswith("demo: OK")

