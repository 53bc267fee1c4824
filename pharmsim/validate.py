"""Input checks shared by every module, with errors that say what was expected.

Every public function of pharmsim validates its inputs through these helpers so that a user sees one
kind of message: the parameter's name, the value given, and what was expected (``dose_mg must be a
finite number >= 0 mg; got -5``). Nothing here clips or repairs a value.

The module is also callable: ``pharmsim.validate(out)`` runs the validation report against published data
(:func:`pharmsim.qualification.validate`).

Not for: physical unit conversion (see :mod:`pharmsim.units`).
"""

from __future__ import annotations

import difflib
import math
import sys
import types
from collections.abc import Iterable, Mapping

import numpy as np

__all__ = [
    "PharmsimError",
    "as_float_array",
    "require_count",
    "require_finite",
    "require_instance",
    "require_names",
    "require_number",
    "require_sequence",
    "require_nonnegative",
    "require_positive",
    "require_fraction",
    "require_choice",
    "suggest",
]


class PharmsimError(ValueError):
    """A user input was not what pharmsim expects. The message names the parameter and the value."""


def _show(value) -> str:
    if isinstance(value, np.generic):          # np.float64(-1.0) is shown as the user wrote it: -1.0
        value = value.item()
    if isinstance(value, (str, bytes, int, float, complex, type(None))):
        text = repr(value)
        return text if len(text) <= 80 else text[:77] + "..."
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError):
        arr = None
    if arr is not None and arr.ndim > 0 and arr.size > 6:
        return f"array of shape {arr.shape}"
    if arr is not None and arr.dtype == object and arr.ndim == 0:
        return f"a {type(value).__name__}"        # an object without a useful repr
    return repr(value.tolist() if isinstance(value, np.ndarray) else value)


def _unit(unit: str | None) -> str:
    return f" {unit}" if unit else ""


def as_float_array(name: str, value, unit: str | None = None) -> np.ndarray:
    """``value`` as a float array; raises :class:`PharmsimError` naming ``name`` if it is not numeric.

    Booleans and strings are rejected (``True`` is not a concentration).
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise PharmsimError(f"{name} must be a number{_unit(unit)}; got {value!r}")
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError):            # ragged nesting: numpy refuses it
        raise PharmsimError(f"{name} must be numeric{_unit(unit)} (a number or a rectangular array of numbers); "
                            f"got {_show(value)}") from None
    if arr.dtype == bool or arr.dtype.kind not in "iuf":
        raise PharmsimError(f"{name} must be numeric{_unit(unit)}; got {_show(value)}")
    return arr.astype(float, copy=False)


def _bad(arr: np.ndarray, mask: np.ndarray, value):
    """The first offending element (for the message), or the whole value for scalars."""
    if arr.ndim == 0:
        return value.item() if isinstance(value, np.generic) else value
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


def require_number(name: str, value, unit: str | None = None, *, minimum: float | None = None,
                   maximum: float | None = None, strict: bool = False) -> float:
    """One finite number as a Python float, optionally in a range; raises :class:`PharmsimError` otherwise.

    For scalar parameters (``interval_h``, ``rtol``, ``max_step_h``...): an array, a list, a string, a boolean
    or ``None`` is refused with the parameter's name, the value and what was expected. ``strict`` excludes
    ``minimum`` itself (``> 0`` rather than ``>= 0``).
    """
    arr = as_float_array(name, value, unit)
    if arr.ndim != 0:
        raise PharmsimError(f"{name} must be one number{_unit(unit)}; got {_show(value)}")
    x = float(arr)
    if not math.isfinite(x):
        raise PharmsimError(f"{name} must be a finite number{_unit(unit)}; got {_show(value)}")
    if minimum is not None and (x <= minimum if strict else x < minimum):
        raise PharmsimError(f"{name} must be a finite number {'>' if strict else '>='} {minimum:g}{_unit(unit)}; "
                            f"got {_show(value)}")
    if maximum is not None and x > maximum:
        raise PharmsimError(f"{name} must be a finite number <= {maximum:g}{_unit(unit)}; got {_show(value)}")
    return x


def require_count(name: str, value, *, minimum: int = 0, maximum: int | None = None, unit: str = "",
                  hint: str = "") -> int:
    """A whole number (an int, a numpy integer, or a float with a whole value such as ``1e3``) in
    ``[minimum, maximum]``, as a Python int.

    Booleans, strings, ``3.5``, NaN and infinities are refused. ``unit`` names what is counted (``"days"``);
    ``maximum`` bounds what a count may ask for (memory, time) and ``hint`` says what to do instead when it is
    exceeded (it names the knob).
    """
    what = f"a whole number{' of ' + unit if unit else ''}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer, float, np.floating)) or (
            isinstance(value, (float, np.floating)) and not (math.isfinite(value) and float(value).is_integer())):
        raise PharmsimError(f"{name} must be {what} >= {minimum}; got {_show(value)}")
    n = int(value)
    if n < minimum:
        raise PharmsimError(f"{name} must be {what} >= {minimum}; got {_show(value)}")
    if maximum is not None and n > maximum:
        raise PharmsimError(f"{name} must be {what} <= {maximum:,}; got {n:,}" + (f"; {hint}" if hint else ""))
    return n


def require_instance(name: str, value, types, expected: str):
    """``value`` if it is an instance of ``types``; otherwise an error naming ``name``, what was given and
    ``expected`` (e.g. ``"a pharmsim Model (pharmsim.build_model(...))"``)."""
    if not isinstance(value, types):
        raise PharmsimError(f"{name} must be {expected}; got {_kind(value)}")
    return value


def require_names(name: str, value, *, allow_empty: bool = True) -> tuple[str, ...]:
    """A tuple of names from one string (``"MOR"``) or a sequence of strings (``["MOR", "DOR"]``); anything
    else (a number, ``None``, a mapping, a sequence holding a non-string) is refused naming ``name``."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (bytes, dict)) or not isinstance(value, Iterable):
        raise PharmsimError(f"{name} must be a name or a sequence of names (strings); got {_kind(value)}")
    out = tuple(value)
    bad = [v for v in out if not isinstance(v, str)]
    if bad:
        raise PharmsimError(f"{name} must hold names (strings); got {_kind(bad[0])} in {_show(list(out))}")
    if not out and not allow_empty:
        raise PharmsimError(f"{name} must name at least one; got an empty sequence")
    return out


def require_sequence(name: str, value, types, expected: str) -> tuple:
    """A tuple of ``types`` instances from one instance or a sequence of them; anything else is refused
    naming ``name`` (``ligands[2] must be a pharmsim Ligand; got str 'MG'``)."""
    if isinstance(value, types):
        return (value,)
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise PharmsimError(f"{name} must be {expected} or a sequence of them; got {_kind(value)}")
    out = tuple(value)
    for i, v in enumerate(out):
        if not isinstance(v, types):
            raise PharmsimError(f"{name}[{i}] must be {expected}; got {_kind(v)}")
    return out


def _kind(value) -> str:
    """What a wrong value is, for messages: its type, and its value when that is short."""
    kind = type(value).__name__
    if isinstance(value, (bool, int, float, str, np.generic, type(None))) or \
            (isinstance(value, (list, tuple)) and len(value) <= 6):
        return f"{kind} {_show(value)}"
    return kind


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


class _ValidateModule(types.ModuleType):
    """This module, callable: ``pharmsim.validate(out=None, force=False)`` runs the validation report
    (:func:`pharmsim.qualification.validate`), while ``pharmsim.validate.require_number`` and the other input
    checks stay reachable as module attributes (one name, no shadowing)."""

    def __call__(self, out=None, *, force: bool = False):
        from .qualification import validate as _report

        return _report(out, force=force)


sys.modules[__name__].__class__ = _ValidateModule
