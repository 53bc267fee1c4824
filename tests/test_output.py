"""Tests for :mod:`pharmsim.output`: atomic folders, the marker rule, refusals, signals, stale folders, disk
errors, CSV formula escaping and safe excerpts."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import default_signals

from pharmsim import output
from pharmsim.output import (
    MARKER_NAME,
    OutputInterrupted,
    atomic_output_dir,
    check_out,
    escape_formula,
    is_pharmsim_output,
    remove_stale_temp,
    safe_excerpt,
    write_bytes,
    write_csv,
    write_text,
)
from pharmsim.validate import PharmsimError

HOLD_OPEN = Path(__file__).resolve().parent / "_output_scripts" / "hold_open.py"
POSIX = pytest.mark.skipif(os.name != "posix", reason="POSIX signals and process ids")
MAIN_THREAD = pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                                 reason="in-process signals need the main thread")


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def hidden(parent: Path) -> list[str]:
    """What a run may leave beside ``out``: temporary (dot) folders."""
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def marked(folder: Path, files: dict[str, str] | None = None) -> Path:
    """A folder as pharmsim leaves it (marker and files)."""
    with atomic_output_dir(folder, force=folder.exists()) as tmp:
        for name, text in (files or {"old.txt": "old"}).items():
            write_text(tmp / name, text)
    return folder


def dead_pid() -> int:
    """The id of a process that has ended (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# ------------------------------------------------------------------------------------------ the atomic folder


def test_complete_folder_lands_in_place_with_the_marker(tmp_path):
    out = tmp_path / "a" / "b" / "out"
    with atomic_output_dir(out) as tmp:
        assert tmp.parent == out.parent and not out.exists()
        assert tmp.name.startswith(f".out.tmp-{os.getpid()}@")
        write_text(tmp / "x.txt", "done")
    assert (out / "x.txt").read_text() == "done"
    assert is_pharmsim_output(out)
    assert (out / MARKER_NAME).read_text().splitlines()[0] == output.MARKER_FORMAT
    assert hidden(out.parent) == []


def test_error_in_block_leaves_nothing_and_removes_new_parents(tmp_path):
    out = tmp_path / "new" / "out"
    with pytest.raises(RuntimeError, match="boom"), atomic_output_dir(out) as tmp:
        write_text(tmp / "half.csv", "1,2")
        raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []


def test_folder_permissions_follow_the_umask(tmp_path):
    out = tmp_path / "out"
    old = os.umask(0o027)
    try:
        with atomic_output_dir(out):
            pass
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o750


# ------------------------------------------------------------------------------------------ the marker rule


def test_existing_folder_needs_force(tmp_path):
    out = marked(tmp_path / "out")
    with pytest.raises(PharmsimError, match="already exists; use --force"), atomic_output_dir(out):
        pass


def test_force_replaces_a_marked_folder_and_a_failure_keeps_it(tmp_path):
    out = marked(tmp_path / "out")
    before = snapshot(out)
    with pytest.raises(RuntimeError), atomic_output_dir(out, force=True) as tmp:
        write_text(tmp / "new.txt", "new")
        raise RuntimeError("boom")
    assert snapshot(out) == before
    with atomic_output_dir(out, force=True) as tmp:
        write_text(tmp / "new.txt", "new")
    assert sorted(snapshot(out)) == [MARKER_NAME, "new.txt"]
    assert hidden(tmp_path) == []


def test_force_refuses_an_unmarked_folder_and_touches_nothing(tmp_path):
    out = tmp_path / "Documents"
    out.mkdir()
    (out / "thesis.docx").write_text("years of work")
    with pytest.raises(PharmsimError, match=f"not written by pharmsim.*no {MARKER_NAME}"):
        with atomic_output_dir(out, force=True):
            pytest.fail("the block must not run")
    assert snapshot(out) == {"thesis.docx": b"years of work"}
    assert hidden(tmp_path) == []


def test_force_accepts_an_empty_folder(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    with atomic_output_dir(out, force=True) as tmp:
        write_text(tmp / "x.txt", "x")
    assert sorted(snapshot(out)) == [MARKER_NAME, "x.txt"]


def test_a_fake_marker_is_not_enough(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / MARKER_NAME).write_text("hello\n")
    (out / "data.txt").write_text("x")
    assert not is_pharmsim_output(out)
    link = tmp_path / "linked"
    link.mkdir()
    (link / MARKER_NAME).symlink_to(marked(tmp_path / "real") / MARKER_NAME)
    (link / "data.txt").write_text("x")
    assert not is_pharmsim_output(link)
    for folder in (out, link):
        with pytest.raises(PharmsimError, match="not written by pharmsim"):
            check_out(folder, force=True)


def test_out_must_be_a_folder_not_a_file_or_link(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(PharmsimError, match="not a folder"), atomic_output_dir(f, force=True):
        pass
    link = tmp_path / "link"
    link.symlink_to(marked(tmp_path / "real"))
    with pytest.raises(PharmsimError, match="symbolic link"):
        check_out(link, force=True)
    assert f.read_text() == "x" and is_pharmsim_output(tmp_path / "real")


# ------------------------------------------------------------------------------------------ refused targets


@pytest.fixture
def in_work(tmp_path, monkeypatch):
    """cwd = tmp/home/work, HOME = tmp/home (so no test can touch the real home folder)."""
    home = tmp_path / "home"
    work = home / "work"
    work.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    return work


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize(("out", "reason"), [
    (".", "is the current folder"),
    ("./", "is the current folder"),
    ("..", "is your home folder"),        # cwd's parent is HOME here
    ("../..", "contains your home folder|contains the current folder"),
    ("sub/..", "is the current folder"),
    ("/", "root of the file system"),
])
def test_refuses_dot_dotdot_root(in_work, out, reason, force):
    (in_work / "sub").mkdir()
    before = sorted(os.listdir(in_work.parent))
    with pytest.raises(PharmsimError, match=reason):
        with atomic_output_dir(out, force=force):
            pytest.fail("the block must not run")
    assert sorted(os.listdir(in_work.parent)) == before


def test_refuses_cwd_ancestors_and_home_by_any_spelling(in_work, tmp_path):
    home = in_work.parent
    (tmp_path / "alias").symlink_to(in_work)
    cases = {
        str(in_work): "is the current folder",
        str(tmp_path / "alias"): "is the current folder",            # symlinks are resolved
        str(home): "is your home folder",
        str(tmp_path): "contains the current folder",                 # an ancestor of cwd
        "~": None,                                                   # a literal '~' is a new folder name
    }
    for out, reason in cases.items():
        if reason is None:
            assert check_out(out) == in_work / "~"
            continue
        for force in (False, True):
            with pytest.raises(PharmsimError, match=reason) as err:
                check_out(out, force=force)
            assert "Choose a new folder" in str(err.value)


def test_refuses_an_ancestor_of_home(tmp_path, monkeypatch):
    home = tmp_path / "users" / "me"
    home.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path / "users")
    with pytest.raises(PharmsimError, match="is your home folder"):
        check_out(home, force=True)
    monkeypatch.chdir("/")
    with pytest.raises(PharmsimError, match="contains your home folder"):
        check_out(tmp_path / "users", force=True)


def test_a_sibling_of_cwd_is_fine(in_work):
    with atomic_output_dir("../results") as tmp:
        write_text(tmp / "x.txt", "x")
    assert (in_work.parent / "results" / "x.txt").exists()


# ------------------------------------------------------------------------------------------ signals


def start_holder(out: Path, *extra: str) -> tuple[subprocess.Popen, Path]:
    proc = subprocess.Popen([sys.executable, str(HOLD_OPEN), str(out), *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=default_signals)
    line = proc.stdout.readline().strip()
    assert line, proc.stderr.read()
    return proc, Path(line)


@POSIX
@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP", "SIGINT", "SIGQUIT"])
def test_termination_signal_removes_the_temporary_folder(tmp_path, signame):
    signum = getattr(signal, signame)
    out = tmp_path / "out"
    proc, tmp = start_holder(out)
    assert (tmp / "tables" / "partial.csv").exists()
    proc.send_signal(signum)
    rc = proc.wait(timeout=10)
    err = proc.stderr.read()
    assert rc == 128 + signum, err
    assert f"stopped by {signame}" in err and "left as it was" in err
    assert not tmp.exists() and not out.exists()
    assert os.listdir(tmp_path) == []


@POSIX
def test_an_ignored_sighup_stays_ignored(tmp_path):
    out = tmp_path / "out"
    proc, tmp = start_holder(out, "--ignore-hup")
    proc.send_signal(signal.SIGHUP)
    with pytest.raises(subprocess.TimeoutExpired):
        proc.wait(timeout=0.3)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 128 + signal.SIGTERM
    assert os.listdir(tmp_path) == []


@POSIX
@MAIN_THREAD
def test_handlers_are_installed_only_during_the_block_and_restored(tmp_path, default_signal_handlers):
    before = {s: signal.getsignal(s) for s in output._SIGNALS}
    with atomic_output_dir(tmp_path / "out"):
        assert all(signal.getsignal(s) != before[s] for s in output._SIGNALS)
    assert {s: signal.getsignal(s) for s in output._SIGNALS} == before
    with pytest.raises(RuntimeError), atomic_output_dir(tmp_path / "out2"):
        raise RuntimeError
    assert {s: signal.getsignal(s) for s in output._SIGNALS} == before


@POSIX
def test_no_handlers_outside_the_main_thread(tmp_path):
    before = {s: signal.getsignal(s) for s in output._SIGNALS}
    seen, errors = [], []

    def work():
        try:
            with atomic_output_dir(tmp_path / "out") as tmp:
                seen.append({s: signal.getsignal(s) for s in output._SIGNALS})
                write_text(tmp / "x.txt", "x")
        except BaseException as err:
            errors.append(err)

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert errors == [] and seen == [before]
    assert (tmp_path / "out" / "x.txt").exists()


def deliver(signum: int) -> None:
    """Send ``signum`` to this (main) thread and give its Python handler the time to run."""
    signal.pthread_kill(threading.main_thread().ident, signum)
    for _ in range(50):
        time.sleep(0.01)


@POSIX
@MAIN_THREAD
def test_in_process_sigterm_becomes_output_interrupted(tmp_path):
    out = tmp_path / "out"
    notes: list[str] = []
    with pytest.raises(OutputInterrupted) as info, atomic_output_dir(out, report=notes.append) as tmp:
        write_text(tmp / "x.txt", "x")
        deliver(signal.SIGTERM)
        pytest.fail("SIGTERM did not interrupt the block")
    assert info.value.code == 128 + signal.SIGTERM and info.value.signum == signal.SIGTERM
    assert "stopped by SIGTERM" in notes[-1]
    assert os.listdir(tmp_path) == []


@POSIX
@MAIN_THREAD
def test_a_signal_during_the_final_rename_waits_for_it(tmp_path, monkeypatch):
    out = tmp_path / "out"
    real = output._put_in_place

    def slow_put(tmp, target, say):
        deliver(signal.SIGTERM)  # recorded, not raised: the rename must not be cut in half
        real(tmp, target, say)

    monkeypatch.setattr(output, "_put_in_place", slow_put)
    with pytest.raises(OutputInterrupted, match="complete and in place"), atomic_output_dir(out) as tmp:
        write_text(tmp / "x.txt", "x")
    assert (out / "x.txt").read_text() == "x" and hidden(tmp_path) == []


# ------------------------------------------------------------------------------------------ SIGKILL, stale folders


@POSIX
def test_sigkill_leftovers_are_removed_by_the_next_run_but_live_ones_are_kept(tmp_path):
    out = tmp_path / "out"
    proc, killed = start_holder(out)
    proc.kill()
    proc.wait(timeout=10)
    assert killed.exists() and not out.exists()
    host = output._host_tag()
    live = tmp_path / f".out.tmp-{os.getpid()}@{host}-0123abcd"          # this process: alive
    elsewhere = tmp_path / f".out.tmp-{dead_pid()}@{'0' * 8 if host != '0' * 8 else '1' * 8}-0123abcd"
    foreign = tmp_path / f".out.tmp-{dead_pid()}@{host}-4567abcd"       # not pharmsim's: no marker, not empty
    for folder in (live, elsewhere, foreign):
        folder.mkdir()
        (folder / "f").write_text("keep")
    notes: list[str] = []
    with atomic_output_dir(out, report=notes.append) as tmp:
        write_text(tmp / "x.txt", "x")
    assert not killed.exists()
    assert len(notes) == 1 and killed.name in notes[0] and f"process {proc.pid}" in notes[0]
    assert live.exists() and elsewhere.exists() and foreign.exists()
    assert (out / "x.txt").exists()


@POSIX
def test_stale_moved_aside_folder_is_restored_when_out_is_missing(tmp_path):
    out = marked(tmp_path / "out", {"old.txt": "old"})
    aside = tmp_path / f".out.old-{dead_pid()}@{output._host_tag()}-89abcdef"
    os.rename(out, aside)  # as if killed between the two renames of the fallback replace
    notes = remove_stale_temp(out)
    assert "restored" in notes[0]
    assert (out / "old.txt").read_text() == "old" and hidden(tmp_path) == []


def test_stale_sweep_ignores_other_names_and_missing_parents(tmp_path):
    (tmp_path / ".other.tmp-1@00000000-ab").mkdir()
    assert remove_stale_temp(tmp_path / "out") == []
    assert remove_stale_temp(tmp_path / "nowhere" / "out") == []
    assert (tmp_path / ".other.tmp-1@00000000-ab").exists()


# ------------------------------------------------------------------------------------------ replacing


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_replace_with_and_without_an_atomic_exchange(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(output, "_exchange", lambda a, b: False)
    elif output._renameat2() is None:
        pytest.skip("no renameat2 here")
    out = marked(tmp_path / "out", {"old.txt": "old"})
    with atomic_output_dir(out, force=True) as tmp:
        write_text(tmp / "new.txt", "new")
    assert sorted(snapshot(out)) == [MARKER_NAME, "new.txt"] and hidden(tmp_path) == []


def test_a_failed_replace_restores_the_old_folder(tmp_path, monkeypatch):
    out = marked(tmp_path / "out", {"old.txt": "old"})
    before = snapshot(out)
    monkeypatch.setattr(output, "_exchange", lambda a, b: False)
    real_rename = os.rename

    def rename(src, dst):
        if Path(src).name.startswith(".out.tmp-"):
            raise OSError(errno.EIO, os.strerror(errno.EIO), str(dst))
        real_rename(src, dst)

    monkeypatch.setattr(output.os, "rename", rename)
    with pytest.raises(PharmsimError, match="cannot move the finished output into place.*left as it was"):
        with atomic_output_dir(out, force=True) as tmp:
            write_text(tmp / "new.txt", "new")
    monkeypatch.undo()
    assert snapshot(out) == before and hidden(tmp_path) == []


def test_out_appearing_meanwhile_is_not_overwritten(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(PharmsimError, match="already exists"), atomic_output_dir(out) as tmp:
        write_text(tmp / "x.txt", "mine")
        out.mkdir()
        (out / "theirs.txt").write_text("theirs")
    assert snapshot(out) == {"theirs.txt": b"theirs"} and hidden(tmp_path) == []


# ------------------------------------------------------------------------------------------ OS errors


def enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_disk_full_in_a_writer_is_one_clear_error_and_leaves_nothing(tmp_path, monkeypatch):
    out = tmp_path / "out"
    real_open = open

    def full_open(file, mode="r", *args, **kwargs):
        f = real_open(file, mode, *args, **kwargs)
        if "x" in mode:
            f.write = enospc
        return f

    with pytest.raises(PharmsimError) as info, atomic_output_dir(out) as tmp:
        write_text(tmp / "ok.txt", "fine")
        monkeypatch.setattr(output, "open", full_open, raising=False)
        write_csv(tmp / "tables" / "summary.csv", pd.DataFrame({"a": [1.0, 2.0]}))
    msg = str(info.value)
    assert msg.count("No space left on device") == 1
    assert os.path.join("out", "tables", "summary.csv") in msg and ".tmp-" not in msg
    assert "free some disk space" in msg and "left as it was" in msg
    assert os.listdir(tmp_path) == []


def test_disk_full_while_creating_the_folder(tmp_path, monkeypatch):
    out = tmp_path / "new" / "out"
    monkeypatch.setattr(output, "open", enospc, raising=False)  # the marker cannot be written
    with pytest.raises(PharmsimError, match="cannot create the output folder.*No space left on device"):
        with atomic_output_dir(out):
            pytest.fail("the block must not run")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("code", [errno.EACCES, errno.EROFS])
def test_permission_and_read_only_errors(tmp_path, monkeypatch, code):
    out = tmp_path / "out"

    def mkdir(path, mode=0o777):
        raise OSError(code, os.strerror(code), str(path))

    monkeypatch.setattr(output.os, "mkdir", mkdir)
    with pytest.raises(PharmsimError, match=os.strerror(code)):
        with atomic_output_dir(out):
            pass
    monkeypatch.undo()
    assert os.listdir(tmp_path) == []


def test_name_too_long_is_a_clear_error(tmp_path):
    out = tmp_path / ("n" * 250)  # a legal name, but its temporary sibling's name is too long
    with pytest.raises(PharmsimError, match="File name too long.*shorter --out"):
        with atomic_output_dir(out):
            pass
    assert os.listdir(tmp_path) == []


def test_oserrors_raised_in_the_block(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(PharmsimError, match=r"cannot write '[^']*figures[/\\]a\.png': No space left"):
        with atomic_output_dir(out) as tmp:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp / "figures" / "a.png"))
    with pytest.raises(PharmsimError, match="cannot write .*Read-only file system"):
        with atomic_output_dir(out):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))  # no file name: a write that failed
    with pytest.raises(FileNotFoundError):  # about an input, not the output: left to the caller
        with atomic_output_dir(out):
            (tmp_path / "missing-input.csv").read_text()
    assert os.listdir(tmp_path) == []


def have_tmpfs_mount() -> bool:
    return sys.platform.startswith("linux") and os.geteuid() == 0 and shutil.which("mount") is not None


@pytest.mark.skipif(not have_tmpfs_mount(), reason="needs root on Linux with mount")
def test_a_really_full_disk(tmp_path):
    small = tmp_path / "small"
    small.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(small)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode(errors='replace').strip()}")
    try:
        with pytest.raises(PharmsimError, match="No space left on device") as info:
            with atomic_output_dir(small / "out") as tmp:
                write_text(tmp / "a.txt", "fits")
                write_bytes(tmp / "big.png", b"\0" * (1 << 20))
        assert str(info.value).count("No space left") == 1
        assert os.listdir(small) == []
    finally:
        subprocess.run(["umount", str(small)], check=False)


# ------------------------------------------------------------------------------------------ writers


def test_writers_only_write_inside_an_open_output_folder(tmp_path):
    with pytest.raises(RuntimeError, match="not inside an open atomic_output_dir"):
        write_text(tmp_path / "loose.txt", "x")
    with atomic_output_dir(tmp_path / "out") as tmp:
        with pytest.raises(RuntimeError, match="not inside"):
            write_text(tmp / ".." / "escaped.txt", "x")
        (tmp / "link").symlink_to(tmp_path)
        with pytest.raises(RuntimeError, match="not inside"):
            write_text(tmp / "link" / "escaped.txt", "x")
        write_bytes(tmp / "deep" / "er" / "a.bin", b"\x89PNG")
        with pytest.raises(RuntimeError, match="already written"):
            write_bytes(tmp / "deep" / "er" / "a.bin", b"again")
        (tmp / "link").unlink()
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "loose.txt").exists()
    assert (tmp_path / "out" / "deep" / "er" / "a.bin").read_bytes() == b"\x89PNG"


def test_write_text_keeps_text_as_given(tmp_path):
    with atomic_output_dir(tmp_path / "out") as tmp:
        write_text(tmp / "a.txt", "é\nline\r\n")
    assert (tmp_path / "out" / "a.txt").read_bytes() == "é\nline\r\n".encode()


def test_escape_formula_follows_owasp():
    for cell in ["=1+1", "+A1", "-2+3", "@SUM(A1)", "\tx", "\rx", "=HYPERLINK(\"http://x\")", "-cmd|' /C calc'!A0"]:
        assert escape_formula(cell) == "'" + cell
    for cell in ["plain", "a=b", " =1", "-", "-5", "+1.5e-3", "", "'=already"]:
        assert escape_formula(cell) == cell
    for value in [-5, -1.5, float("nan"), None, np.float64(-2.0), pd.NA]:
        assert escape_formula(value) is value


def test_write_csv_escapes_text_and_leaves_numbers(tmp_path):
    frame = pd.DataFrame({
        "arm": ["=cmd", "+x", "-y", "@z", "\tt", "ok", "-", "-5", None],
        "value": [-5.0, -0.25, np.nan, 1e-12, 0.0, 3.0, -1.0, 2.0, 4.0],
        "n": [-1, 2, 3, 4, 5, 6, 7, 8, 9],
        "kind": pd.Categorical(["=a", "b", "=a", "b", "b", "b", "b", "b", "b"]),
        "=col": ["a"] * 9,
    })
    with atomic_output_dir(tmp_path / "out") as tmp:
        write_csv(tmp / "tables" / "t.csv", frame)
    path = tmp_path / "out" / "tables" / "t.csv"
    text = path.read_text()
    assert text.splitlines()[0] == "arm,value,n,kind,'=col"
    assert "\r\n" not in text.replace("\"\r", "")
    back = pd.read_csv(path, keep_default_na=False, na_values=[""])
    assert back["arm"].tolist()[:8] == ["'=cmd", "'+x", "'-y", "'@z", "'\tt", "ok", "-", "-5"]
    assert pd.isna(back["arm"].iloc[8])
    np.testing.assert_array_equal(back["value"].to_numpy(), frame["value"].to_numpy())
    assert back["n"].tolist() == frame["n"].tolist() and back["n"].dtype.kind == "i"
    assert back["kind"].tolist()[:2] == ["'=a", "b"]
    assert frame["arm"].iloc[0] == "=cmd"  # the caller's frame is not changed


# ------------------------------------------------------------------------------------------ safe excerpts


def test_safe_excerpt_inside_and_outside_the_base(tmp_path):
    base = tmp_path / "scenario"
    base.mkdir()
    scen = base / "s.toml"
    scen.write_text("title = 'x'\n[arm.a]\ndose_mg = 'lots'\nend = 1\n")
    secret = tmp_path / "secret.txt"
    secret.write_text("password = hunter2\n")
    (base / "link.csv").symlink_to(secret)

    shown = safe_excerpt(scen, base, line=3, context=1)
    assert shown.startswith("s.toml, line 3:")
    assert "> 3 | dose_mg = 'lots'" in shown and "  2 | [arm.a]" in shown and "title" not in shown
    assert "title = 'x'" in safe_excerpt(scen, base)
    assert safe_excerpt(secret, base) == "secret.txt"
    assert safe_excerpt(base / "link.csv", base, line=1) == "link.csv"  # a link out of the base is outside
    assert safe_excerpt(base / ".." / "secret.txt", base) == "secret.txt"
    assert safe_excerpt(base / "missing.toml", base) == "missing.toml"
    assert safe_excerpt(scen, base, line=99) == "s.toml"
    assert safe_excerpt(base, base) == "scenario"


def test_safe_excerpt_escapes_terminal_control_characters(tmp_path):
    f = tmp_path / "evil.toml"
    f.write_text("a = '\x1b[2J\x1b]0;pwned\x07'\nb = '\u202eevil'\n" + "x" * 500 + "\n")
    shown = safe_excerpt(f, tmp_path, line=1)
    assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown
    assert "\\x1b[2J" in shown and "\\u202e" in shown
    assert max(len(line) for line in shown.splitlines()) < 200


def test_fifo_is_not_read(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    fifo = tmp_path / f"pipe-{uuid.uuid4().hex[:6]}"
    os.mkfifo(fifo)
    assert safe_excerpt(fifo, tmp_path) == fifo.name  # would block forever if opened
