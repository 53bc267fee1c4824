"""``pharmsim app``: check the host, port and style, then serve the lessons with Panel until Ctrl-C.

:func:`serve` refuses bad values before anything starts, with one :class:`~pharmsim.validate.PharmsimError`
naming the option, the value and what was expected (the command line prints it on one line and exits 2):
a host that is not an address or a name this machine resolves, a port outside 0-65535 or already taken,
an unknown style. Port 0 (the default) takes a free port; the address is printed on one line once the
server listens, ``pharmsim app: serving ... at http://HOST:PORT/``. SIGINT (Ctrl-C) and SIGTERM stop the
server cleanly: the function returns 0 and prints ``pharmsim app: stopped``.

Not for: the lessons themselves (:mod:`pharmsim.app.lessons`, :mod:`pharmsim.app.pages`). pharmsim is for
teaching and research only, not dosing advice.
"""

from __future__ import annotations

import errno
import ipaddress
import signal
import socket
import sys
import threading

from ..validate import PharmsimError, suggest

__all__ = ["STYLE_NAMES", "check_host", "check_port", "check_style", "serve"]

STYLE_NAMES = ("classroom", "default")
_WILDCARD = ("0.0.0.0", "::")


def check_style(style) -> str:
    """The style name, or an error naming the choices."""
    if style not in STYLE_NAMES:
        raise PharmsimError(f"--style must be one of {', '.join(STYLE_NAMES)}; got {style!r}"
                            f"{suggest(str(style), STYLE_NAMES)}")
    return style


def check_port(port) -> int:
    """A TCP port number 0-65535 (0 = a free port), from an int or a string of digits."""
    text = str(port).strip()
    try:
        value = int(text, 10)
    except ValueError:
        raise PharmsimError(f"--port must be a whole number from 0 to 65535 (0 = a free port); got {port!r}") from None
    if not 0 <= value <= 65535:
        raise PharmsimError(f"--port must be a whole number from 0 to 65535 (0 = a free port); got {value}")
    return value


def check_host(host) -> str:
    """An IP address or a host name this machine resolves (the server then listens there)."""
    text = str(host).strip()
    if not text or any(c.isspace() for c in text) or "/" in text:
        raise PharmsimError(f"--host must be an IP address or a host name such as 127.0.0.1 or localhost; "
                            f"got {host!r}")
    try:
        ipaddress.ip_address(text)
        return text
    except ValueError:
        pass
    try:
        socket.getaddrinfo(text, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise PharmsimError(f"--host {text!r} is neither an IP address nor a host name this machine can resolve; "
                            "use e.g. 127.0.0.1 (this computer only) or 0.0.0.0 (every network interface)") from None
    return text


def _bind_error(host: str, port: int, err: OSError) -> PharmsimError:
    reason = {errno.EADDRINUSE: "the port is already in use (choose another, or --port 0 for a free one)",
              errno.EADDRNOTAVAIL: "that address does not belong to this computer",
              errno.EACCES: "permission denied (ports below 1024 need administrator rights)"}.get(
        err.errno, err.strerror or str(err))
    return PharmsimError(f"cannot listen on --host {host} --port {port}: {reason}")


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _origins(host: str, port: int) -> list[str]:
    if host in _WILDCARD:
        return [f"*:{port}"]
    names = {host, "localhost", "127.0.0.1"}
    return [f"{h}:{port}" for h in sorted(names)]


def _url_host(host: str) -> str:
    if host in _WILDCARD:
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _warm() -> None:
    """Compute every lesson's first view in the background, so the first visitor of each page waits less."""
    from .lessons import LESSON_FUNCTIONS

    for fn in LESSON_FUNCTIONS.values():
        try:
            fn()
        except Exception:  # noqa: BLE001 - the page shows the error when it is opened
            pass


def _app(factory, style: str):
    """A plain function building one page per browser session (Panel calls functions, not partials)."""

    def make():
        return factory(style)

    make.__name__ = getattr(factory, "__name__", "page")
    return make


def serve(host: str = "127.0.0.1", port=0, open_browser: bool = False, style: str = "classroom", *,
          out=None) -> int:
    """Serve the four lessons (and a home page) until SIGINT/SIGTERM; returns 0.

    Parameters
    ----------
    host : str
        Address to listen on (default 127.0.0.1: this computer only; 0.0.0.0 lets a classroom's devices in).
    port : int or str
        TCP port (0 = a free port; the address is printed).
    open_browser : bool
        Open the home page in the default browser once the server listens.
    style : {'classroom', 'default'}
        ``classroom``: large fonts for a projector (the default); ``default``: ordinary sizes.
    out : file, optional
        Where the address and the stop message are printed (default ``sys.stdout``).
    """
    out = sys.stdout if out is None else out
    style = check_style(style)
    port = check_port(port)
    host = check_host(host)
    try:
        import panel as pn
    except ImportError:
        raise PharmsimError('pharmsim app needs Panel: pip install -e ".[app]" (or pip install panel)') from None
    from .lessons import LESSONS
    from .pages import PAGES, home_page

    try:
        if port == 0:
            port = _free_port(host)
    except OSError as err:
        raise _bind_error(host, port, err) from None
    apps = {"/": _app(home_page, style)}
    apps.update({slug: _app(factory, style) for slug, factory in PAGES.items()})
    titles = {"/": "pharmsim: lessons", **{slug: f"pharmsim: {t}" for slug, t in LESSONS.items()}}
    try:
        server = pn.serve(apps, port=port, address=host, websocket_origin=_origins(host, port), show=False,
                          start=False, title=titles, verbose=False)
    except OSError as err:
        raise _bind_error(host, port, err) from None

    loop = server.io_loop

    def stop(*_args):
        loop.asyncio_loop.call_soon_threadsafe(loop.stop)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    url = f"http://{_url_host(host)}:{server.port}/"
    print(f"pharmsim app: serving the lessons ({style} style) at {url} — press Ctrl-C to stop", file=out, flush=True)
    if host in _WILDCARD:
        print(f"pharmsim app: listening on every network interface ({host}); other devices use this computer's "
              "address", file=out, flush=True)
    threading.Thread(target=_warm, name="pharmsim-app-warm", daemon=True).start()
    if open_browser:
        import webbrowser

        loop.add_callback(lambda: webbrowser.open(url))
    try:
        server.start()
        loop.start()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        try:
            server.stop()
        except Exception:  # noqa: BLE001 - stopping twice is harmless
            pass
    print("pharmsim app: stopped", file=out, flush=True)
    return 0
