"""Input checks shared by every module, with errors that say what was expected.

Every public function of pharmsim validates its inputs through these helpers so that a user sees one
kind of message: the parameter's name, the value given, and what was expected (``dose_mg must be a
finite number >= 0 mg; got -5``). Nothing here clips or repairs a value.

Not for: physical unit conversion (see :mod:`pharmsim.units`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import numpy as np

__all__ = [
    "PharmsimError",
    "as_float_array",
    "require_finite",
    "require_nonnegative",
    "require_positive",
    "require_fraction",
    "require_choice",
    "suggest",
]


class PharmsimError(ValueError):
    """A user input was not what pharmsim expects. The message names the parameter and the value."""


def _show(value) -> str:
    arr = np.asarray(value) if not isinstance(value, str) else None
    if arr is not None and arr.ndim > 0 and arr.size > 6:
        return f"array of shape {arr.shape}"
    return repr(value.tolist() if isinstance(value, np.ndarray) else value)


def _unit(unit: str | None) -> str:
    return f" {unit}" if unit else ""


def as_float_array(name: str, value, unit: str | None = None) -> np.ndarray:
    """``value`` as a float array; raises :class:`PharmsimError` naming ``name`` if it is not numeric.

    Booleans and strings are rejected (``True`` is not a concentration).
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise PharmsimError(f"{name} must be a number{_unit(unit)}; got {value!r}")
    arr = np.asarray(value)
    if arr.dtype == bool or arr.dtype.kind not in "iuf":
        raise PharmsimError(f"{name} must be numeric{_unit(unit)}; got {_show(value)}")
    return arr.astype(float, copy=False)


def _bad(arr: np.ndarray, mask: np.ndarray, value):
    """The first offending element (for the message), or the whole value for scalars."""
    if arr.ndim == 0:
        return value
    return arr[mask].flat[0].item()


def require_finite(name: str, value, unit: str | None = None) -> np.ndarray:
    """Float array of ``value``; every element finite (no NaN, no inf)."""
    arr = as_float_array(name, value, unit)
    mask = ~np.isfinite(arr)
    if mask.any():
        raise PharmsimError(
            f"{name} must be a finite number{_unit(unit)}; got {_bad(arr, mask, value)!r}"
            + ("" if arr.ndim == 0 else f" (in {_show(value)})")
        )
    return arr


def require_nonnegative(name: str, value, unit: str | None = None) -> np.ndarray:
    """Float array of ``value``; every element finite and >= 0."""
    arr = require_finite(name, value, unit)
    mask = arr < 0
    if mask.any():
        raise PharmsimError(
            f"{name} must be a finite number >= 0{_unit(unit)}; got {_bad(arr, mask, value)!r}"
        )
    return arr


def require_positive(name: str, value, unit: str | None = None) -> np.ndarray:
    """Float array of ``value``; every element finite and > 0."""
    arr = require_finite(name, value, unit)
    mask = arr <= 0
    if mask.any():
        raise PharmsimError(
            f"{name} must be a finite number > 0{_unit(unit)}; got {_bad(arr, mask, value)!r}"
        )
    return arr


def require_fraction(name: str, value, *, allow_zero: bool = True, allow_one: bool = True) -> np.ndarray:
    """Float array of ``value``; every element in [0, 1] (ends optionally excluded)."""
    arr = require_finite(name, value)
    low = arr < 0 if allow_zero else arr <= 0
    high = arr > 1 if allow_one else arr >= 1
    mask = low | high
    if mask.any():
        lo, hi = ("[" if allow_zero else "("), ("]" if allow_one else ")")
        raise PharmsimError(
            f"{name} must be a fraction in {lo}0, 1{hi}; got {_bad(arr, mask, value)!r}"
        )
    return arr


def suggest(name: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'X'?)`` for the closest of ``choices`` to ``name``, or an empty string."""
    choices = [str(c) for c in choices]
    lowered = {c.lower(): c for c in choices}
    if str(name).lower() in lowered:
        close = [lowered[str(name).lower()]]
    else:
        close = difflib.get_close_matches(str(name), choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def require_choice(name: str, value, choices: Iterable[str]) -> str:
    """``value`` if it is one of ``choices``; otherwise an error listing them and the nearest match."""
    choices = list(choices)
    if value not in choices:
        raise PharmsimError(
            f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}{suggest(value, choices)}"
        )
    return value
