"""A generic key-checked reader of TOML trees: every key taken, every type checked, typos suggested.

:class:`Table` wraps one TOML table; its readers (``string``, ``number``, ``integer``, ``boolean``,
``strings``, ``numbers``, ``table``, ``tables``) take a key, check its type and range and remember it was
read; :meth:`Table.done` then fails on the first key nobody read, naming its key path (``arm[0].dose[1].amout_g``)
and suggesting the nearest valid key. :func:`parse` turns TOML text into a tree, with syntax errors and
absurd nesting as one clear message.

Not for: what the keys mean (that is :mod:`pharmsim.scenario`'s job).
"""

from __future__ import annotations

import math
import tomllib

from .validate import PharmsimError, suggest

__all__ = ["MISSING", "Table", "number", "parse", "show", "suggest_key", "type_name"]

#: Deepest nesting of tables and arrays accepted in a scenario file (the shipped ones use 3).
MAX_DEPTH = 32


def parse(text: str, name: str) -> dict:
    """TOML text -> dict; a syntax error or nesting deeper than :data:`MAX_DEPTH` becomes a PharmsimError."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise PharmsimError(f"{name}: not valid TOML: {err}") from None
    except RecursionError:
        raise PharmsimError(f"{name}: tables or arrays are nested too deeply to read (at most {MAX_DEPTH} "
                            "levels are meaningful in a scenario)") from None
    _check_depth(data, name, 0)
    return data


def _check_depth(value, name: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise PharmsimError(f"{name}: tables or arrays are nested {depth} levels deep; expected at most {MAX_DEPTH}")
    if isinstance(value, dict):
        for v in value.values():
            _check_depth(v, name, depth + 1)
    elif isinstance(value, list):
        for v in value:
            _check_depth(v, name, depth + 1)


MISSING = object()


def type_name(value) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def show(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class Table:
    """A TOML table being read: every key must be taken; what is left over is an unknown key."""

    def __init__(self, data, path: str, what: str = "a table"):
        if not isinstance(data, dict):
            raise PharmsimError(f"{path or 'scenario'} must be {what}; got {type_name(data)} {show(data)}")
        self.data = data
        self.path = path
        self.taken: list[str] = []
        self.allowed: list[str] = []

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def allow(self, *names: str) -> None:
        self.allowed.extend(n for n in names if n not in self.allowed)

    def has(self, name: str) -> bool:
        self.allow(name)
        return name in self.data

    def raw(self, name: str, default=MISSING):
        self.allow(name)
        if name in self.data:
            self.taken.append(name)
            return self.data[name]
        if default is MISSING:
            raise PharmsimError(f"{self.key(name)} is required but missing{self._context()}")
        return default

    def _context(self) -> str:
        return f" (in {self.path})" if self.path else ""

    def string(self, name: str, default=MISSING, choices=None) -> str:
        value = self.raw(name, default)
        if value is default and default is not MISSING:
            return value
        if not isinstance(value, str):
            raise PharmsimError(f"{self.key(name)} must be a string; got {type_name(value)} {show(value)}")
        if choices is not None and value not in choices:
            raise PharmsimError(
                f"{self.key(name)} must be one of {', '.join(map(repr, choices))}; got {value!r}"
                f"{suggest(value, choices)}"
            )
        return value

    def boolean(self, name: str, default=MISSING) -> bool:
        value = self.raw(name, default)
        if not isinstance(value, bool):
            raise PharmsimError(
                f"{self.key(name)} must be true or false; got {type_name(value)} {show(value)}"
            )
        return value

    def number(self, name: str, default=MISSING, *, minimum=None, strict=False, unit="") -> float:
        value = self.raw(name, default)
        if value is default and default is not MISSING:
            return value
        return number(self.key(name), value, minimum=minimum, strict=strict, unit=unit)

    def integer(self, name: str, default=MISSING, *, minimum=None, maximum=None) -> int:
        value = self.raw(name, default)
        if value is default and default is not MISSING:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise PharmsimError(
                f"{self.key(name)} must be a whole number; got {type_name(value)} {show(value)}"
            )
        if minimum is not None and value < minimum:
            raise PharmsimError(f"{self.key(name)} must be a whole number >= {minimum}; got {value}")
        if maximum is not None and value > maximum:
            raise PharmsimError(f"{self.key(name)} must be a whole number <= {maximum}; got {value}")
        return value

    def table(self, name: str, default=MISSING) -> Table | None:
        value = self.raw(name, default)
        if value is None and default is None:
            return None
        return Table(value, self.key(name))

    def tables(self, name: str) -> list[Table]:
        """An array of tables (``[[name]]``); missing means empty."""
        value = self.raw(name, [])
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list):
            raise PharmsimError(
                f"{self.key(name)} must be an array of tables ([[{name}]]); got {type_name(value)} {show(value)}"
            )
        return [Table(item, f"{self.key(name)}[{i}]") for i, item in enumerate(value)]

    def strings(self, name: str, default=MISSING, choices=None) -> tuple[str, ...]:
        value = self.raw(name, default)
        if value is default and default is not MISSING:
            return value
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise PharmsimError(
                f"{self.key(name)} must be an array of strings; got {type_name(value)} {show(value)}"
            )
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise PharmsimError(
                    f"{self.key(name)}[{i}] must be a string; got {type_name(item)} {show(item)}"
                )
            if choices is not None and item not in choices:
                raise PharmsimError(
                    f"{self.key(name)}[{i}] must be one of {', '.join(map(repr, choices))}; got {item!r}"
                    f"{suggest(item, choices)}"
                )
            out.append(item)
        if len(set(out)) != len(out):
            raise PharmsimError(f"{self.key(name)} lists a name twice; got {out!r}")
        return tuple(out)

    def numbers(self, name: str, *, minimum=None, unit="") -> tuple[float, ...]:
        value = self.raw(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list):
            raise PharmsimError(
                f"{self.key(name)} must be an array of numbers{unit_text(unit)}; got {type_name(value)} {show(value)}"
            )
        return tuple(
            number(f"{self.key(name)}[{i}]", v, minimum=minimum, unit=unit) for i, v in enumerate(value)
        )

    def expect(self, *names: str) -> Table:
        """Declare the valid keys of this table and fail now on the first unknown one."""
        self.allow(*names)
        self.done(only_unknown=True)
        return self

    def done(self, only_unknown: bool = False) -> None:
        """Raise for the first key that was not read: an unknown key (with the nearest valid name)."""
        for name, value in self.data.items():
            if name not in self.taken and not (only_unknown and name in self.allowed):
                valid = self.allowed
                raise PharmsimError(
                    f"{self.key(name)} is not a valid key (value {show(value)}); "
                    f"expected one of: {', '.join(valid) if valid else '(no keys)'}{suggest_key(name, valid)}"
                )


def suggest_key(name: str, valid) -> str:
    """:func:`pharmsim.validate.suggest`, falling back to the one valid key that starts with ``name``."""
    hint = suggest(name, valid)
    if hint or len(name) < 3:
        return hint
    starts = [v for v in valid if str(v).lower().startswith(str(name).lower())]
    return f" (did you mean {starts[0]!r}?)" if len(starts) == 1 else ""


def unit_text(unit: str) -> str:
    return f" ({unit})" if unit else ""


def number(key: str, value, *, minimum=None, strict=False, unit="") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PharmsimError(f"{key} must be a number{unit_text(unit)}; got {type_name(value)} {show(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise PharmsimError(f"{key} must be a finite number{unit_text(unit)}; got {value!r}")
    if minimum is not None and (value <= minimum if strict else value < minimum):
        sign = ">" if strict else ">="
        raise PharmsimError(f"{key} must be a number {sign} {minimum:g}{unit_text(unit)}; got {value:g}")
    return value
