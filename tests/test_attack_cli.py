"""Attack suite, the running command (issue 14): signals to a ``pharmsim run`` subprocess, a full disk, and
hostile ``--out`` values.

- SIGINT, SIGTERM, SIGHUP while it simulates (nothing written yet) and while it writes (files in the temporary
  folder): the process ends with status 130/143/129 (or is ended by the signal), prints no traceback, and leaves
  neither ``out`` nor a temporary folder.
- SIGKILL while it writes leaves a temporary folder (nothing can catch SIGKILL); the next run beside the same
  ``out`` removes it, says so, and succeeds.
- A disk that fills up: a patched writer raising ``OSError(ENOSPC)`` and, when ``mount -t tmpfs`` works (root),
  a real 256 kB tmpfs. One message naming the file and "No space left on device"; nothing left; an earlier
  output replaced with ``--force`` survives intact.

The child is the real command (``tests/_output_scripts/paused_cli.py`` only pauses it at one phase).
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import default_signals

from pharmsim import cli, output

PAUSED = Path(__file__).resolve().parent / "_output_scripts" / "paused_cli.py"
ROOT = Path(__file__).resolve().parents[1]
POSIX = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
SCENARIO = """
[time]
end_h = 4
step_h = 1
[model]
binding = "equilibrium"
[output]
figures = false
report = false
[[dose]]
what = "morphine"
amount_mg = 10
route = "iv"
times_h = [0]
"""


@pytest.fixture
def work(tmp_path):
    (tmp_path / "s.toml").write_text(SCENARIO)
    return tmp_path


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def start(work: Path, phase: str, *args: str, seconds: float = 60.0) -> tuple[subprocess.Popen, str]:
    """Start the command paused at ``phase``; returns the process and the PAUSED line once it is there."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    proc = subprocess.Popen([sys.executable, str(PAUSED), phase, str(seconds), "--", "run", "s.toml", "--out", "out",
                             "--quiet", *args], cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, start_new_session=True, preexec_fn=default_signals)
    deadline = time.monotonic() + 120
    line = ""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("PAUSED") or proc.poll() is not None:
            break
    if not line.startswith("PAUSED"):
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the command did not reach {phase}: {line!r} {out!r} {err!r}")
    return proc, line.strip()


def finish(proc: subprocess.Popen) -> tuple[int, str]:
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


# ------------------------------------------------------------------------------------------- signals
@POSIX
@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM", "SIGHUP"])
@pytest.mark.parametrize("phase", ["solve", "write"])
def test_a_termination_signal_leaves_nothing(work, signame, phase):
    proc, line = start(work, phase)
    if phase == "write":
        tmp = Path(work / line.split(" ", 2)[2])
        assert tmp.name.startswith(".out.tmp-") and (tmp / "tables" / "summary.csv").is_file()
    sig = getattr(signal, signame)
    proc.send_signal(sig)
    rc, err = finish(proc)
    assert rc in (128 + sig, -sig), (rc, err)
    assert "Traceback" not in err
    if phase == "write" or signame == "SIGINT":      # caught: one line saying what happened
        assert err.count("\n") <= 2 and ("nothing was written" in err or "left as it was" in err), err
    assert listing(work) == ["s.toml"]


@POSIX
def test_sigkill_then_a_rerun_cleans_up_and_succeeds(work):
    proc, line = start(work, "write")
    tmp = Path(work / line.split(" ", 2)[2])
    proc.send_signal(signal.SIGKILL)
    rc, _ = finish(proc)
    assert rc == -signal.SIGKILL
    assert tmp.is_dir() and listing(work) == sorted(["s.toml", tmp.name])      # what SIGKILL cannot avoid
    rerun = subprocess.run([sys.executable, "-m", "pharmsim", "run", "s.toml", "--out", "out", "--quiet"], cwd=work,
                           capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert rerun.returncode == 0, rerun.stderr
    assert tmp.name in rerun.stderr and "Traceback" not in rerun.stderr          # the removal is reported
    assert listing(work) == ["out", "s.toml"]
    assert output.is_pharmsim_output(work / "out")


@POSIX
def test_a_signal_during_a_forced_replace_keeps_the_old_output(work):
    first = cli.main(["run", str(work / "s.toml"), "--out", str(work / "out"), "--quiet"])
    assert first == 0
    before = {p.relative_to(work): p.read_bytes() for p in (work / "out").rglob("*") if p.is_file()}
    proc, _ = start(work, "write", "--force")
    proc.send_signal(signal.SIGTERM)
    rc, err = finish(proc)
    assert rc == 143 and "Traceback" not in err
    after = {p.relative_to(work): p.read_bytes() for p in (work / "out").rglob("*") if p.is_file()}
    assert after == before and listing(work) == ["out", "s.toml"]


# ------------------------------------------------------------------------------------------- a full disk
def test_disk_full_in_a_patched_writer(work, capsys, monkeypatch):
    """The third file written fails with ENOSPC: one message, exit 2, nothing left."""
    real_open = open
    opened = []

    def full_open(path, mode="r", *a, **kw):
        if "x" in mode or "w" in mode:
            opened.append(path)
            if len(opened) >= 3:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.fspath(path))
        return real_open(path, mode, *a, **kw)

    monkeypatch.setattr(output, "open", full_open, raising=False)
    monkeypatch.chdir(work)
    rc = cli.main(["run", "s.toml", "--out", "out", "--quiet"])
    _, err = capsys.readouterr()
    assert rc == 2 and len(opened) == 3
    assert err.startswith("pharmsim: error: cannot write 'out/tables/") and err.count("\n") == 1, err
    assert "No space left on device (free some disk space or choose another --out)" in err
    assert listing(work) == ["s.toml"]


@pytest.fixture
def small_disk(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_a_really_full_disk_through_the_command(work, small_disk, capsys):
    scenario = work / "full.toml"
    scenario.write_text(SCENARIO.replace("figures = false", "figures = true").replace("report = false",
                                                                                      "report = true"))
    rc = cli.main(["run", str(scenario), "--out", str(small_disk / "out"), "--quiet"])
    _, err = capsys.readouterr()
    assert rc == 2 and "No space left on device" in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert os.listdir(small_disk) == []


def test_a_full_disk_keeps_the_previous_output(work, small_disk, capsys):
    out = small_disk / "out"
    assert cli.main(["run", str(work / "s.toml"), "--out", str(out), "--quiet"]) == 0
    before = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    big = work / "big.toml"
    big.write_text(SCENARIO.replace("figures = false", "figures = true").replace("report = false", "report = true"))
    rc = cli.main(["run", str(big), "--out", str(out), "--quiet", "--force"])
    _, err = capsys.readouterr()
    assert rc == 2 and "No space left on device" in err
    assert {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert os.listdir(small_disk) == ["out"]


# ------------------------------------------------------------------------------------------- --out
@pytest.mark.parametrize("out", [".", "..", "./", "../.."])
def test_out_of_dot_and_dotdot_is_refused_before_any_work(work, out, capsys, monkeypatch):
    sub = work / "a" / "b"
    sub.mkdir(parents=True)
    (sub / "s.toml").write_text(SCENARIO)
    monkeypatch.chdir(sub)
    rc = cli.main(["run", "s.toml", "--out", out, "--force", "--quiet"])
    _, err = capsys.readouterr()
    assert rc == 2 and err.startswith("pharmsim: error: ") and "Traceback" not in err
    assert listing(sub) == ["s.toml"] and listing(work) == ["a", "s.toml"]


def test_out_that_is_a_users_folder_is_never_replaced(work, capsys):
    mine = work / "Documents"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    rc = cli.main(["run", str(work / "s.toml"), "--out", str(mine), "--force", "--quiet"])
    _, err = capsys.readouterr()
    assert rc == 2 and "pharmsim: error:" in err
    assert (mine / "thesis.tex").read_text() == "years of work" and listing(mine) == ["thesis.tex"]
