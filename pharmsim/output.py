"""Output folders and files, written safely: atomically, never over a user's folder, never half-written.

Everything pharmsim writes goes through this module. :func:`atomic_output_dir` gives a temporary folder
beside the target ``out``; the caller writes into it (with :func:`write_csv`, :func:`write_text` and
:func:`write_bytes`) and the folder is renamed into place only when the block completes. Whatever goes wrong
before that, ``out`` is left exactly as it was (absent, or the previous folder) and nothing is left behind.

The faults it handles, and how:

- ``out`` is ``.``, ``..``, the current folder or one of its ancestors, the file system root, or the home
  folder or one of its ancestors (judged with symbolic links resolved): refused by :func:`check_out` before
  any work, since replacing it would delete the user's files or the folder the shell stands in.
- ``out`` exists: refused unless ``force``; with ``force`` it is replaced only if it carries the marker file
  :data:`MARKER_NAME` (written into every folder made here) or is empty. ``--out ~/Documents --force`` is
  refused, never wiped. A symbolic link as ``out`` is refused (name the folder itself).
- An error in the block: the temporary folder is removed, ``out`` is untouched, the error propagates.
- An :class:`OSError` while creating, writing or renaming (ENOSPC, EDQUOT, EACCES, EROFS, ENAMETOOLONG...):
  one :class:`~pharmsim.validate.PharmsimError` naming the path as the user knows it (``out/tables/x.csv``,
  not the temporary folder) and the OS reason (``strerror``) with a hint; nothing is left behind.
- SIGINT, SIGTERM, SIGHUP, SIGQUIT: the temporary folder is removed and the process exits with status
  128 + signal number (:class:`OutputInterrupted`, a :class:`SystemExit`). Handlers are installed only for
  the duration of the block, only in the main thread, never over an ignored signal (``nohup`` keeps
  working), and the previous ones are restored afterwards.
- SIGKILL or a power cut cannot be caught: temporary folders are named ``.NAME.tmp-PID@HOST-RANDOM`` and the
  next run beside the same ``out`` removes those whose process is gone (:func:`remove_stale_temp`), reporting
  each. A live process's folder, or one made on another host (a shared file system), is never touched.
- The replace itself fails: on Linux the old and new folders are swapped in one step (``renameat2`` with
  ``RENAME_EXCHANGE``), so ``out`` is never missing; elsewhere the old folder is moved aside to
  ``.NAME.old-PID@HOST-RANDOM`` and moved back if the second rename fails (or by the next run, if the process
  was killed in between). ``..old-*`` leftovers cannot arise: ``.`` and ``..`` never get that far.

Typical use (the CLI)::

    check_out(args.out, args.force)                 # before simulating: a refusal costs nothing
    results = ...                                   # the work
    with atomic_output_dir(args.out, args.force) as tmp:
        write_csv(tmp / "tables" / "summary.csv", summary)
        write_bytes(tmp / "figures" / "plasma_conc.png", png)
        write_text(tmp / "report.html", html)

Writers: :func:`write_csv` escapes spreadsheet formula injection (OWASP "CSV Injection": a text cell that
starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return is prefixed with an apostrophe; numbers are left
alone). All three writers create the file exclusively (an existing file or link is never followed or
overwritten) and only inside an open :func:`atomic_output_dir`.

:func:`safe_excerpt` shows a few lines of a file in an error message only when the file lies inside an
allowed folder (the scenario's folder), so that an error never echoes ``/etc/shadow`` because a scenario named
it; control characters are shown escaped so that file contents cannot drive the terminal.

Not for: deciding what to write (tables, figures and the report are made elsewhere), reading inputs, or
locking ``out`` against two runs at once (each run stays whole; without ``force`` the second one to finish is
refused, with ``force`` the last one wins).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import stat
import sys
import threading
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path

from ._version import __version__
from .validate import PharmsimError

__all__ = [
    "MARKER_NAME",
    "MARKER_FORMAT",
    "OutputInterrupted",
    "atomic_output_dir",
    "check_out",
    "escape_formula",
    "is_pharmsim_output",
    "may_show",
    "remove_stale_temp",
    "safe_excerpt",
    "write_bytes",
    "write_csv",
    "write_text",
]

MARKER_NAME = ".pharmsim-output"
"""File name of the marker written into every output folder; ``--force`` replaces only folders that carry it."""

MARKER_FORMAT = "pharmsim-output-folder 1"
"""First line of the marker file: a format tag and its version (any version is recognised)."""

_MARKER_TAG = MARKER_FORMAT.rsplit(" ", 1)[0] + " "
_MARKER_TEXT = (
    f"{MARKER_FORMAT}\n"
    f"written by pharmsim {__version__}\n"
    "This folder was written by pharmsim. 'pharmsim ... --force' may replace it as a whole; a folder without\n"
    "this file is never replaced. Delete this file to protect the folder from --force.\n"
)

_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT") if hasattr(signal, n))
_WRITE_ERRNOS = frozenset(
    getattr(errno, n) for n in ("ENOSPC", "EDQUOT", "EFBIG", "EROFS", "EACCES", "EPERM", "EIO", "ENAMETOOLONG")
    if hasattr(errno, n)
)
_HINTS = {
    "ENOSPC": "free some disk space or choose another --out",
    "EDQUOT": "the disk quota is used up; free some space or choose another --out",
    "EFBIG": "the file is too large for this file system; choose another --out",
    "EROFS": "the file system is read-only; choose another --out",
    "EACCES": "check the folder's permissions or choose another --out",
    "EPERM": "check the folder's permissions or choose another --out",
    "ENAMETOOLONG": "choose a shorter --out",
}
_EXCERPT_READ_BYTES = 1 << 20
_EXCERPT_LINE_CHARS = 160

_log = logging.getLogger(__name__)

# open output folders: real path of the temporary folder -> (temporary folder, target, ``out`` as given)
_ACTIVE: dict[str, tuple[Path, Path, str]] = {}
_ACTIVE_LOCK = threading.Lock()


class OutputInterrupted(SystemExit):
    """A termination signal stopped the run; the unfinished output was removed.

    A :class:`SystemExit` whose ``code`` is the conventional status ``128 + signum`` (130 for SIGINT, 143 for
    SIGTERM, 129 for SIGHUP, 131 for SIGQUIT), so that an uncaught one ends the process with that status.

    Attributes
    ----------
    signum : int
        The signal received.
    message : str
        One line for the user: which signal, and that ``out`` was left as it was.
    """

    def __init__(self, signum: int, out: str = "", *, completed: bool = False):
        self.signum = int(signum)
        try:
            name = signal.Signals(self.signum).name
        except ValueError:
            name = f"signal {self.signum}"
        if completed:
            self.message = f"stopped by {name} after the output folder {out!r} was complete and in place"
        else:
            self.message = (f"stopped by {name}: the unfinished output was removed"
                            + (f" and {out!r} was left as it was" if out else ""))
        super().__init__(128 + self.signum)

    def __str__(self) -> str:
        return self.message


# --------------------------------------------------------------------------------------------------
# checks on ``out``
# --------------------------------------------------------------------------------------------------


def _real(path: str | os.PathLike) -> Path:
    return Path(os.path.realpath(path))


def _home() -> Path | None:
    home = os.path.expanduser("~")
    return None if home == "~" else _real(home)


def _cwd() -> Path | None:
    try:
        return _real(os.getcwd())
    except OSError:  # the current folder was deleted
        return None


def _is_empty(folder: Path) -> bool:
    with os.scandir(folder) as it:
        return next(it, None) is None


def is_pharmsim_output(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` carries pharmsim's marker file (and so may be replaced with ``force``).

    Parameters
    ----------
    folder : str or path-like
        A folder.

    Returns
    -------
    bool
        True if ``folder/.pharmsim-output`` is a regular file (not a link) whose first line is pharmsim's
        format tag; False otherwise, also when it cannot be read.
    """
    marker = os.path.join(folder, MARKER_NAME)
    try:
        if not stat.S_ISREG(os.lstat(marker).st_mode):
            return False
        with open(marker, "rb") as f:
            first = f.read(256).split(b"\n", 1)[0].decode("utf-8", errors="replace").strip()
    except OSError:
        return False
    return first.startswith(_MARKER_TAG)


def _refuse(shown: str, reason: str) -> PharmsimError:
    return PharmsimError(f"--out {shown!r} {reason}; pharmsim writes a new folder at --out (and --force would "
                         "replace it), so it refuses this one. Choose a new folder, e.g. --out results")


def check_out(out: str | os.PathLike, force: bool = False) -> Path:
    """Check that ``out`` may be written (and, with ``force``, replaced); call it before any work is done.

    Parameters
    ----------
    out : str or path-like
        The output folder asked for.
    force : bool
        Whether an existing folder may be replaced. Even then only a folder written by pharmsim (one carrying
        :data:`MARKER_NAME`) or an empty folder is replaced.

    Returns
    -------
    pathlib.Path
        ``out`` as an absolute path (symbolic links in its parents are kept as given).

    Raises
    ------
    PharmsimError
        If ``out`` is ``.``, ``..``, the current folder or one of its ancestors, the file system root, the home
        folder or one of its ancestors (all judged with symbolic links resolved); if it is a symbolic link or
        an existing non-folder; if it exists and ``force`` is false; if it exists, is not empty and was not
        written by pharmsim.
    """
    shown = os.fspath(out)
    if not shown:
        raise PharmsimError("--out is empty; expected a folder path, e.g. --out results")
    path = Path(shown)
    real = _real(path)
    cwd, home = _cwd(), _home()
    if real.parent == real:
        raise _refuse(shown, "is the root of the file system")
    if home is not None and real == home:
        raise _refuse(shown, "is your home folder")
    if cwd is not None and real == cwd:
        raise _refuse(shown, "is the current folder")
    if cwd is not None and cwd.is_relative_to(real):
        raise _refuse(shown, f"contains the current folder ({str(cwd)!r})")
    if home is not None and home.is_relative_to(real):
        raise _refuse(shown, f"contains your home folder ({str(home)!r})")
    if path.name in ("", ".", ".."):
        raise _refuse(shown, "does not end in a folder name of its own")
    try:
        if os.path.islink(path):
            raise PharmsimError(f"--out {shown!r} is a symbolic link (to {os.readlink(path)!r}); pharmsim replaces "
                                "folders, not links: give the folder itself as --out")
        if not os.path.lexists(path):
            return path.absolute()
        if not path.is_dir():
            raise PharmsimError(f"--out {shown!r} exists and is not a folder; expected a folder path")
        if not force:
            raise PharmsimError(
                f"output folder {shown!r} already exists; use --force to replace it, or choose another --out")
        if not (is_pharmsim_output(path) or _is_empty(path)):
            raise PharmsimError(
                f"--out {shown!r} exists and was not written by pharmsim (it has no {MARKER_NAME} file), so "
                "--force will not replace it; choose a new folder, or empty or remove this one yourself")
    except OSError as err:
        raise PharmsimError(f"cannot inspect --out {shown!r}: {_reason(err)}") from None
    return path.absolute()


# --------------------------------------------------------------------------------------------------
# temporary folders: names, owners, stale ones
# --------------------------------------------------------------------------------------------------


def _host_tag() -> str:
    return hashlib.blake2s(socket.gethostname().encode("utf-8", "replace"), digest_size=4).hexdigest()


def _temp_name(name: str, kind: str) -> str:
    return f".{name}.{kind}-{os.getpid()}@{_host_tag()}-{secrets.token_hex(4)}"


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host; True whenever that cannot be told (the safe answer)."""
    if pid <= 0 or os.name == "nt":  # os.kill(pid, 0) would terminate the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, another user's
        return True
    return True


def _rmtree(path: Path) -> str | None:
    """Remove ``path``; the OS reason if some of it could not be removed."""
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        return None
    except OSError as err:
        shutil.rmtree(path, ignore_errors=True)
        return _reason(err)
    return None


def remove_stale_temp(out: str | os.PathLike) -> list[str]:
    """Remove the temporary folders that killed pharmsim runs left beside ``out``.

    A folder ``.NAME.tmp-PID@HOST-RANDOM`` (or ``.NAME.old-...``) beside ``out`` is stale when it was made on
    this host by a process ``PID`` that no longer runs. It is removed only if it carries the marker or is
    empty; a ``.old-`` folder (a previous output moved aside during a replace) is moved back to ``out`` when
    ``out`` is missing. Folders of live processes, of other hosts, or not recognisably pharmsim's are left.
    On Windows nothing is removed (whether a process runs cannot be asked safely there).

    Parameters
    ----------
    out : str or path-like
        The output folder about to be written.

    Returns
    -------
    list of str
        One message per folder removed, restored or left because it could not be removed.
    """
    target = Path(out).absolute()
    name = target.name
    if name in ("", ".", ".."):
        return []
    pattern = re.compile(rf"\.{re.escape(name)}\.(tmp|old)-(\d+)@([0-9a-f]{{8}})-[0-9a-f]+")
    try:
        with os.scandir(target.parent) as it:
            entries = [e for e in it if pattern.fullmatch(e.name)]
    except OSError:
        return []
    notes: list[str] = []
    host = _host_tag()
    for entry in sorted(entries, key=lambda e: e.name):
        kind, pid, tag = pattern.fullmatch(entry.name).groups()
        path = Path(entry.path)
        try:
            if tag != host or _pid_alive(int(pid)) or not entry.is_dir(follow_symlinks=False):
                continue
            if not (is_pharmsim_output(path) or _is_empty(path)):
                continue
            if kind == "old" and not os.path.lexists(target):
                os.rename(path, target)
                notes.append(f"restored the previous output folder {str(target)!r}, which an interrupted run "
                             f"(process {pid}) had moved aside")
                continue
        except OSError:
            continue
        failed = _rmtree(path)
        if failed:
            notes.append(f"could not fully remove {str(path)!r}, left by an interrupted run (process {pid}): "
                         f"{failed}")
        else:
            notes.append(f"removed {str(path)!r}, an unfinished output folder left by an interrupted run "
                         f"(process {pid}, no longer running)")
    return notes


# --------------------------------------------------------------------------------------------------
# signals
# --------------------------------------------------------------------------------------------------


class _SignalGuard:
    """Termination signals become :class:`OutputInterrupted` while an output folder is open.

    ``deferred`` (the state during set-up, the final rename and clean-up) records a signal without raising,
    so that no rename is cut in half; :meth:`allow` raises a recorded one.
    """

    def __init__(self, shown: str):
        self.shown = shown
        self.pid = os.getpid()
        self.previous: dict[int, object] = {}
        self.pending: int | None = None
        self.deferred = True

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in _SIGNALS:
            try:
                prev = signal.getsignal(sig)
                if prev is signal.SIG_IGN or prev is None:  # ignored (nohup) or set outside Python: leave it
                    continue
                signal.signal(sig, self._handle)
            except (ValueError, OSError):
                continue
            self.previous[sig] = prev

    def restore(self) -> None:
        for sig, prev in self.previous.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(sig, prev)
        self.previous.clear()

    def _handle(self, signum, frame) -> None:
        if os.getpid() != self.pid:  # a forked child inherited the handler: behave as before
            prev = self.previous.get(signum, signal.SIG_DFL)
            if callable(prev):
                prev(signum, frame)
                return
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        if self.pending is None:
            self.pending = signum
        if not self.deferred:
            self.deferred = True
            raise OutputInterrupted(signum, self.shown)

    def defer(self) -> None:
        self.deferred = True

    def allow(self) -> None:
        if self.pending is not None:
            raise OutputInterrupted(self.pending, self.shown)
        self.deferred = False


# --------------------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------------------


def _reason(err: OSError) -> str:
    text = err.strerror or str(err) or type(err).__name__
    hint = _HINTS.get(errno.errorcode.get(err.errno or 0, ""))
    return f"{text} ({hint})" if hint else text


def _shown_path(path: str | os.PathLike, tmp: Path, shown: str) -> str:
    """``path`` as the user will know it: inside ``out`` rather than inside the temporary folder."""
    try:
        rel = Path(os.path.abspath(path)).relative_to(tmp)
    except ValueError:
        return os.fspath(path)
    return shown if rel == Path(".") else os.path.join(shown, rel)


def _inside(path: str | os.PathLike, folder: Path) -> bool:
    try:
        Path(os.path.abspath(path)).relative_to(folder)
    except ValueError:
        return False
    return True


def _write_error(err: OSError, tmp: Path, shown: str) -> PharmsimError:
    where = _shown_path(err.filename, tmp, shown) if err.filename else shown
    return PharmsimError(f"cannot write {where!r}: {_reason(err)}; nothing was written and --out {shown!r} "
                         "was left as it was")


# --------------------------------------------------------------------------------------------------
# the atomic folder
# --------------------------------------------------------------------------------------------------


@functools.cache
def _renameat2():
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes  # noqa: PLC0415

        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError, ImportError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def _exchange(a: Path, b: Path) -> bool:
    """Swap folders ``a`` and ``b`` in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    fn = _renameat2()
    if fn is None:
        return False
    import ctypes  # noqa: PLC0415

    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, getattr(errno, "EOPNOTSUPP", errno.EINVAL)):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _put_in_place(tmp: Path, target: Path, say: Callable[[str], None]) -> None:
    """Rename the complete ``tmp`` to ``target``, replacing an existing ``target`` (already checked)."""
    if not os.path.lexists(target):
        os.rename(tmp, target)
        return
    if _exchange(tmp, target):
        old = tmp  # now holds the previous output
    else:
        old = target.parent / _temp_name(target.name, "old")
        os.rename(target, old)
        try:
            os.rename(tmp, target)
        except BaseException:
            try:
                os.rename(old, target)
            except OSError as err:
                raise PharmsimError(f"cannot move the finished output into place at {str(target)!r}, nor the "
                                    f"previous output back ({_reason(err)}); the previous output is in "
                                    f"{str(old)!r} (the next run moves it back)") from None
            raise
    failed = _rmtree(old)
    if failed:
        say(f"the new output is in {str(target)!r}, but the previous one, moved to {str(old)!r}, could not be "
            f"fully removed: {failed}")


def _missing_parents(folder: Path) -> list[Path]:
    """The folders above (and including) ``folder`` that do not exist yet, innermost first."""
    missing = []
    for p in [folder, *folder.parents]:
        if os.path.lexists(p):
            break
        missing.append(p)
    return missing


@contextlib.contextmanager
def atomic_output_dir(out: str | os.PathLike, force: bool = False, *,
                      report: Callable[[str], None] | None = None) -> Iterator[Path]:
    """A temporary folder beside ``out``, renamed to ``out`` when the block completes without error.

    Stale temporary folders of killed runs beside ``out`` are removed first (see :func:`remove_stale_temp`).
    The temporary folder carries the marker file :data:`MARKER_NAME`, so the folder that lands at ``out`` does
    too. On any error in the block the temporary folder is removed and ``out`` is left exactly as it was
    (absent, or the previous folder); folders made above ``out`` for it are removed again if still empty.

    Parameters
    ----------
    out : str or path-like
        The output folder to produce. Checked by :func:`check_out` before anything is done.
    force : bool
        Replace an existing ``out``, but only one written by pharmsim or an empty one.
    report : callable, optional
        Called with one line per note (stale folders removed, an interruption); default: a warning on the
        ``pharmsim.output`` logger (printed on stderr when logging is not configured).

    Yields
    ------
    pathlib.Path
        The temporary folder to write into.

    Raises
    ------
    PharmsimError
        If :func:`check_out` refuses ``out``; if ``out`` appeared meanwhile (without ``force``); if creating,
        writing or renaming fails with an :class:`OSError` (disk full, permission denied, read-only file
        system, name too long...): one message naming the path and the OS reason. An OSError raised in the
        block is converted when it concerns the temporary folder (its file name lies inside it, or it has no
        file name and a writing errno); other errors propagate unchanged.
    OutputInterrupted
        On SIGINT, SIGTERM, SIGHUP or SIGQUIT received during the block (main thread only), after the clean-up;
        it exits the process with status 128 + signal number unless caught. A signal that arrives during the
        final rename is honoured after it (the message then says the output is complete).

    Notes
    -----
    Signal handlers are installed only for the duration of the block, only in the main thread, and not for a
    signal that is ignored (``nohup``); the previous handlers are restored afterwards. SIGKILL cannot be
    caught: the next run removes what it left. A signal landing in the few byte-codes between another error
    and the start of its clean-up can still leave the temporary folder; the next run removes that too.
    """
    shown = os.fspath(out)
    target = check_out(out, force)
    say = report if report is not None else _log.warning
    notes = remove_stale_temp(target)
    for note in notes:
        say(note)
    if notes:
        target = check_out(out, force)  # a restored previous output may now be there
    parent = target.parent
    created = _missing_parents(parent)
    tmp: Path | None = None
    key = None
    guard = _SignalGuard(shown)
    guard.install()
    try:
        try:
            parent.mkdir(parents=True, exist_ok=True)
            for _ in range(100):
                candidate = parent / _temp_name(target.name, "tmp")
                try:
                    os.mkdir(candidate, 0o777)  # the umask applies, as for any other folder
                except FileExistsError:
                    continue
                tmp = candidate
                break
            else:
                raise FileExistsError(errno.EEXIST, "no free temporary folder name", str(parent))
            with open(tmp / MARKER_NAME, "x", encoding="utf-8", newline="\n") as f:
                f.write(_MARKER_TEXT)
        except OSError as err:
            raise PharmsimError(f"cannot create the output folder {shown!r} in {str(parent)!r}: "
                                f"{_reason(err)}") from None
        key = os.path.realpath(tmp)
        with _ACTIVE_LOCK:
            _ACTIVE[key] = (tmp, target, shown)
        guard.allow()
        yield tmp
        guard.defer()
        check_out(out, force)  # it may have appeared while we worked
        try:
            _put_in_place(tmp, target, say)
        except OSError as err:
            raise PharmsimError(f"cannot move the finished output into place at {shown!r}: {_reason(err)}; "
                                f"--out {shown!r} was left as it was") from None
        tmp = None
    except BaseException as exc:
        guard.defer()
        if tmp is not None:
            _rmtree(tmp)
        for p in created:  # innermost first; only folders we made and that are still empty
            with contextlib.suppress(OSError):
                p.rmdir()
        if guard.pending is not None:
            stop = exc if isinstance(exc, OutputInterrupted) else OutputInterrupted(guard.pending, shown)
            say(stop.message)
            if stop is exc:
                raise
            raise stop from None
        if isinstance(exc, OSError) and tmp is not None and (
                _inside(exc.filename, tmp) if exc.filename else exc.errno in _WRITE_ERRNOS):
            raise _write_error(exc, tmp, shown) from None
        raise
    finally:
        if key is not None:
            with _ACTIVE_LOCK:
                _ACTIVE.pop(key, None)
        guard.restore()
    if guard.pending is not None:
        stop = OutputInterrupted(guard.pending, shown, completed=True)
        say(stop.message)
        raise stop


# --------------------------------------------------------------------------------------------------
# writers
# --------------------------------------------------------------------------------------------------


def _owner(path: Path) -> tuple[Path, Path, str]:
    real = os.path.realpath(path)
    with _ACTIVE_LOCK:
        for key, owner in _ACTIVE.items():
            if os.path.commonpath([key, real]) == key and real != key:
                return owner
    raise RuntimeError(f"{os.fspath(path)!r} is not inside an open atomic_output_dir(); pharmsim writes files "
                       "only into its temporary output folder")


def _write(path: str | os.PathLike, mode: str, body: Callable, **open_kw) -> Path:
    path = Path(path)
    tmp, _target, shown = _owner(path)
    opened = False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, mode, **open_kw) as f:
            opened = True
            body(f)
    except OSError as err:
        if isinstance(err, FileExistsError) and not opened and os.path.lexists(path):
            raise RuntimeError(f"{_shown_path(path, tmp, shown)!r} was already written in this output folder; "
                               "each file is written once") from err
        if opened:
            with contextlib.suppress(OSError):
                path.unlink()
        if err.filename is None:
            err.filename = os.fspath(path)
        raise _write_error(err, tmp, shown) from None
    return path


def write_text(path: str | os.PathLike, text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to a new file ``path`` inside an open :func:`atomic_output_dir`.

    Parameters
    ----------
    path : str or path-like
        The file, inside the temporary folder; missing sub-folders are created. It must not exist yet.
    text : str
        Written as given (no newline translation).
    encoding : str
        Text encoding (UTF-8).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    PharmsimError
        On an :class:`OSError` (disk full, permission...): the path as inside ``out`` and the OS reason; the
        partial file is removed.
    RuntimeError
        If ``path`` is not inside an open output folder, or was already written (a programming error).
    """
    return _write(path, "x", lambda f: f.write(text), encoding=encoding, newline="")


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to a new file ``path`` inside an open :func:`atomic_output_dir` (a PNG, say).

    Parameters
    ----------
    path : str or path-like
        The file, inside the temporary folder; missing sub-folders are created. It must not exist yet.
    data : bytes-like
        The content.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    PharmsimError, RuntimeError
        As :func:`write_text`.
    """
    return _write(path, "xb", lambda f: f.write(data))


_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(value):
    """``value`` made safe for a spreadsheet cell: a text that could start a formula gets a leading ``'``.

    The rule is OWASP's (https://owasp.org/www-community/attacks/CSV_Injection): a cell that begins with
    ``=``, ``+``, ``-``, ``@``, tab (0x09) or carriage return (0x0D) is prefixed with a single quote, which
    spreadsheets read as "text follows" (the quote itself stays visible in other readers, pandas included).
    Only text is escaped: numbers (``-5``, ``nan``), missing values and other objects are returned unchanged,
    and so is a text that is, as a whole, a plain decimal number (``'-5'``, ``'+1e-3'``) or the placeholder
    ``'-'``, none of which a spreadsheet can evaluate as a formula.

    Parameters
    ----------
    value : object
        One cell.

    Returns
    -------
    object
        ``"'" + value`` for a text that could start a formula; ``value`` otherwise.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START) and value != "-" \
            and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def _escaped_frame(frame):
    import pandas as pd  # noqa: PLC0415

    frame = frame.copy(deep=False)
    for i in range(frame.shape[1]):
        col = frame.iloc[:, i]
        if col.dtype == object or pd.api.types.is_string_dtype(col.dtype) or isinstance(col.dtype,
                                                                                        pd.CategoricalDtype):
            if isinstance(col.dtype, pd.CategoricalDtype):
                col = col.astype(object)
            frame.isetitem(i, col.map(escape_formula))
    if not isinstance(frame.columns, pd.MultiIndex):
        frame.columns = [escape_formula(c) for c in frame.columns]
    return frame


def write_csv(path: str | os.PathLike, frame) -> Path:
    """Write ``frame`` as CSV (no index, UTF-8, ``\\n`` line ends) inside an open :func:`atomic_output_dir`.

    Every text cell and column name goes through :func:`escape_formula` (OWASP CSV-injection rule), so that
    an arm named ``=HYPERLINK(...)`` in a scenario file cannot become a live formula when the table is opened
    in a spreadsheet. Numeric columns, negative numbers and NaN are written exactly as pandas writes them.

    Parameters
    ----------
    path : str or path-like
        The file, inside the temporary folder; missing sub-folders are created. It must not exist yet.
    frame : pandas.DataFrame
        The table; its index is not written.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    PharmsimError, RuntimeError
        As :func:`write_text`.
    """
    safe = _escaped_frame(frame)
    return _write(path, "x", lambda f: safe.to_csv(f, index=False, lineterminator="\n"), encoding="utf-8",
                  newline="")


# --------------------------------------------------------------------------------------------------
# showing a file in an error message
# --------------------------------------------------------------------------------------------------


def _printable(line: str) -> str:
    out = []
    for ch in line:
        if ch == "\t":
            out.append("    ")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp"):
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    text = "".join(out)
    return text if len(text) <= _EXCERPT_LINE_CHARS else text[: _EXCERPT_LINE_CHARS - 1] + "…"


def may_show(path: str | os.PathLike, base_dir: str | os.PathLike) -> bool:
    """Whether the contents of ``path`` may appear in a message: it is a regular file inside ``base_dir``
    (typically the scenario's folder), symbolic links resolved. Whatever cannot be judged is not shown."""
    try:
        real = _real(path)
        return real.is_relative_to(_real(base_dir)) and stat.S_ISREG(os.stat(real).st_mode)
    except (OSError, ValueError):
        return False


def safe_excerpt(path: str | os.PathLike, base_dir: str | os.PathLike, *, line: int | None = None,
                 context: int = 2) -> str:
    """A few numbered lines of ``path`` for an error message, or only its name when showing it is not safe.

    The content is shown only when ``path`` (symbolic links resolved) is a regular file inside ``base_dir``
    (typically the scenario's folder): a scenario that names ``/etc/shadow`` as an event table gets an error
    naming ``shadow``, never its lines. Control and format characters (terminal escapes, bidirectional
    overrides) are shown escaped (``\\x1b``); long lines are cut.

    Parameters
    ----------
    path : str or path-like
        The file the message is about.
    base_dir : str or path-like
        The folder whose files may be shown.
    line : int, optional
        The 1-based line to point at (marked ``>``); default: the first lines of the file.
    context : int
        Lines shown before and after ``line`` (and ``2 * context + 1`` lines without ``line``).

    Returns
    -------
    str
        ``"NAME, line N:\\n  lines..."`` when the file may be shown and has that line; otherwise ``"NAME"``
        (also when it cannot be read).
    """
    name = Path(path).name or os.fspath(path)
    if not may_show(path, base_dir):
        return name
    try:
        with open(_real(path), "rb") as f:
            data = f.read(_EXCERPT_READ_BYTES)
    except (OSError, ValueError):
        return name
    lines = data.decode("utf-8", errors="replace").splitlines()
    context = max(int(context), 0)
    if line is None:
        lo, hi = 1, min(len(lines), 2 * context + 1)
    elif 1 <= line <= len(lines):
        lo, hi = max(1, line - context), min(len(lines), line + context)
    else:
        return name
    if hi < lo:
        return name
    width = len(str(hi))
    rows = [f"{'>' if n == line else ' '} {n:>{width}} | {_printable(lines[n - 1])}" for n in range(lo, hi + 1)]
    where = f", line {line}" if line is not None else ""
    return f"{name}{where}:\n" + "\n".join(rows)
