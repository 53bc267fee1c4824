"""pharmsim's classroom web app: four lessons as browser pages with sliders (``pharmsim app``).

Built with Panel (HoloViz), an optional dependency (``pip install -e ".[app]"``); this package imports Panel
only when a page is built or the server starts, so ``import pharmsim.app`` and :mod:`pharmsim.app.lessons`
(the computations, cached by input) work without it.

- :mod:`pharmsim.app.lessons` inputs -> figure (PNG), tidy tables, sources; no Panel
- :mod:`pharmsim.app.pages`   the Panel pages: widgets, figure, downloads, sources, the disclaimer
- :mod:`pharmsim.app.server`  ``serve(host, port, open_browser, style)``: checks, then a Panel server

Not for: dosing anyone. pharmsim is for teaching and research only, not dosing advice.
"""

from .lessons import LESSONS

__all__ = ["LESSONS", "serve"]


def serve(*args, **kwargs):
    """Start the app's server (blocks until Ctrl-C); see :func:`pharmsim.app.server.serve`."""
    from .server import serve as _serve

    return _serve(*args, **kwargs)
