"""Sliders for the teaching notebooks that stay fast: debounced, cached, and a static path without ipywidgets.

:func:`interact` is ``ipywidgets.interact`` with three habits that keep a lesson responsive when a class
drags a slider:

* **debounced**: every control gets ``continuous_update=False``, so the figure is redrawn once when the
  slider is released, not for every pixel it passes (a queue of dozens of redraws is what made a notebook take
  minutes and leave an idle-looking kernel);
* **manual for heavy cells**: ``manual=True`` adds a "Run" button (``interact_manual``) for cells that
  simulate a population;
* **drawn once at the start**: the function runs with the initial values as the cell executes, so a
  notebook run headless (the tests, ``nbconvert --execute``) draws the same figure as a live one.

:func:`cached` memoises a simulation on its (hashable) arguments, so moving a slider back to a value already
seen costs nothing. :func:`widgets_available` says whether ipywidgets can be imported; without it notebooks
draw their static figures instead.

Not for: anything outside notebooks; the figures come from :mod:`pharmsim.plots` and the lesson code.
Teaching and research, not dosing advice.
"""

from __future__ import annotations

import functools

from .validate import PharmsimError

__all__ = ["cached", "interact", "widgets_available"]


def widgets_available() -> bool:
    """True when ``ipywidgets`` can be imported."""
    try:
        import ipywidgets  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


def cached(fn=None, *, maxsize: int = 64):
    """``functools.lru_cache`` for notebook simulations (arguments must be hashable: numbers, strings, tuples).

    Use as ``@cached`` or ``@cached(maxsize=16)``.
    """
    if fn is None:
        return lambda f: functools.lru_cache(maxsize=maxsize)(f)
    return functools.lru_cache(maxsize=maxsize)(fn)


def interact(fn, *, manual: bool = False, **controls):
    """Show ``controls`` (ipywidgets widgets, or ``ipywidgets.fixed`` values) driving ``fn``; draw it once now.

    Every control that has ``continuous_update`` gets ``False`` (redraw on release). With ``manual=True`` a
    "Run" button redraws (for cells that simulate). Returns the ``ipywidgets.interactive`` object.

    Raises
    ------
    PharmsimError
        When ipywidgets is not installed (check :func:`widgets_available` first and draw static figures).
    """
    try:
        import ipywidgets as widgets  # noqa: PLC0415
        from IPython.display import display  # noqa: PLC0415
    except ImportError:
        raise PharmsimError("pharmsim.notebook.interact needs ipywidgets (pip install -e \".[notebooks]\"); "
                            "check widgets_available() and draw static figures otherwise") from None
    if not callable(fn):
        raise PharmsimError(f"fn must be a function of the controls; got {fn!r}")
    for w in controls.values():
        if hasattr(w, "continuous_update"):
            w.continuous_update = False
    opts = {"manual": True, "manual_name": "Run"} if manual else {}
    w = widgets.interactive(fn, opts, **controls) if opts else widgets.interactive(fn, **controls)
    display(w)
    if manual:          # interact_manual draws nothing until the button is pressed: draw the initial values now
        w.update()
    return w
