"""Command-line overrides of a scenario: ``--set population.n=500 --set arm[0].dose[0].amount_g=4``.

An override is ``KEY=VALUE``. ``KEY`` is a key path as pharmsim's error messages write it: table names
joined by dots, an array of tables indexed from 0 in the order the tables appear in the file
(``arm[0].dose[1].amount_g``), a quoted part for a name with dots (``population.omega."MG.CL_L_per_h"``;
``population.omega.MG.CL_L_per_h`` means the same nested table). ``VALUE`` is read as a TOML value
(``500``, ``4.5``, ``true``, ``"kinetic"``, ``[0, 24]``); a word that is not TOML is taken as a string, so
``--set model.binding=kinetic`` needs no quotes.

:func:`apply_overrides` writes the values into the parsed scenario tree, creating missing tables (a
scenario without ``[population]`` gets one); it refuses an index past the end of an array and a path through
a value that is not a table. The tree is then read by :func:`pharmsim.scenario.from_dict` like any file, so
an override meets exactly the key checks and suggestions of the file (``--set population.nn=5`` ->
``population.nn is not a valid key ... (did you mean 'n'?)``); :func:`load_with_overrides` does both and
names the override in the error.

Not for: what the keys mean (:mod:`pharmsim.scenario`) or parsing command lines (:mod:`pharmsim.cli`).
Teaching and research, not dosing advice.
"""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from . import _toml
from .validate import PharmsimError, suggest

__all__ = ["Override", "apply_overrides", "load_with_overrides", "parse_override"]

_PART = re.compile(r'(?:"(?P<quoted>[^"]+)"|(?P<bare>[A-Za-z0-9_\-]+))(?P<index>(?:\[\d+\])*)')


@dataclass(frozen=True)
class Override:
    """One ``KEY=VALUE``: ``path`` is a tuple of table names and array indices; ``text`` as typed."""

    path: tuple
    value: object
    text: str

    @property
    def key(self) -> str:
        """The key path as error messages write it (``arm[0].dose[0].amount_g``)."""
        out = ""
        for part in self.path:
            if isinstance(part, int):
                out += f"[{part}]"
            else:
                out += ("." if out else "") + (f'"{part}"' if "." in part else part)
        return out


def _parse_key(key: str, text: str) -> tuple:
    parts: list = []
    pos, key = 0, key.strip()
    if not key:
        raise PharmsimError(f"--set {text!r}: the key is empty; expected KEY=VALUE, e.g. population.n=500")
    while pos < len(key):
        m = _PART.match(key, pos)
        if m is None:
            raise PharmsimError(f"--set {text!r}: cannot read the key at {key[pos:]!r}; expected names joined by dots "
                                "with array indices in brackets, e.g. arm[0].dose[0].amount_g")
        parts.append(m.group("quoted") or m.group("bare"))
        parts += [int(i) for i in re.findall(r"\[(\d+)\]", m.group("index"))]
        pos = m.end()
        if pos < len(key):
            if key[pos] != ".":
                raise PharmsimError(f"--set {text!r}: expected '.' or '[index]' after {key[:pos]!r}; got "
                                    f"{key[pos]!r}")
            pos += 1
            if pos == len(key):
                raise PharmsimError(f"--set {text!r}: the key ends with '.'; expected a name after it")
    return tuple(parts)


def _parse_value(value: str):
    try:
        return tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return value.strip()


def parse_override(text: str) -> Override:
    """``'population.n=500'`` -> :class:`Override` (path ``('population', 'n')``, value ``500``)."""
    if not isinstance(text, str) or "=" not in text:
        raise PharmsimError(f"--set must be KEY=VALUE, e.g. --set population.n=500; got {text!r}")
    key, value = text.split("=", 1)
    if not value.strip():
        raise PharmsimError(f"--set {text!r} gives no value; expected KEY=VALUE, e.g. --set population.n=500")
    return Override(path=_parse_key(key, text), value=_parse_value(value), text=text)


def _where(path) -> str:
    return Override(tuple(path), None, "").key or "the scenario"


def apply_overrides(tree: dict, overrides: Sequence[Override | str]) -> dict:
    """A copy of the scenario ``tree`` with each override written in (later ones win)."""
    out = copy.deepcopy(tree)
    for o in overrides:
        o = parse_override(o) if isinstance(o, str) else o
        node, path = out, o.path
        for i, part in enumerate(path):
            last = i == len(path) - 1
            nxt = None if last else path[i + 1]
            if isinstance(part, int):
                if not isinstance(node, list):
                    raise PharmsimError(f"--set {o.text}: {_where(path[:i])} is not an array of tables, so it has "
                                        f"no [{part}]")
                if part >= len(node):
                    have = f"{len(node)} ({_where(path[:i])}[0] to [{len(node) - 1}])" if node else "none"
                    raise PharmsimError(f"--set {o.text}: {_where(path[:i + 1])} does not exist; the scenario has "
                                        f"{have}")
                if last:
                    node[part] = o.value
                else:
                    node = node[part]
                continue
            if not isinstance(node, dict):
                raise PharmsimError(f"--set {o.text}: {_where(path[:i])} is a value, not a table; it has no key "
                                    f"{part!r}")
            if last:
                node[part] = o.value
                break
            if part not in node:
                if isinstance(nxt, int):
                    names = [k for k, v in node.items() if isinstance(v, list)]
                    raise PharmsimError(f"--set {o.text}: the scenario has no [[{_where(path[:i + 1])}]] tables"
                                        f"{suggest(part, names)}")
                node[part] = {}
            elif isinstance(node[part], list) and nxt is not None and not isinstance(nxt, int):
                raise PharmsimError(f"--set {o.text}: {_where(path[:i + 1])} is an array of tables; give an index, "
                                    f"e.g. {_where(path[:i + 1])}[0].{nxt}")
            node = node[part]
    return out


def load_with_overrides(path: str | Path, overrides: Sequence[str], *, library=None):
    """:func:`pharmsim.scenario.load` with ``overrides`` applied before the checks; the Study's text is the
    file followed by the overrides (as TOML comments), its notes say what was overridden."""
    from . import scenario as sc  # noqa: PLC0415

    parsed = [parse_override(o) for o in overrides]
    if not parsed:
        return sc.load(path, library=library)
    p = Path(path)
    if not p.exists() and p.suffix == "" and str(path) in sc.shipped_scenarios():
        p = sc.shipped_scenario_path(str(path))
    if not p.is_file():
        return sc.load(path, library=library)          # the same error as without overrides
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise PharmsimError(f"scenario file {str(p)!r} cannot be read: {err}") from None
    tree = apply_overrides(_toml.parse(text, p.name), parsed)
    shown = ", ".join(f"--set {o.text}" for o in parsed)
    try:
        study = sc.from_dict(tree, base_dir=p.resolve().parent, library=library, name=p.stem, text=text)
    except PharmsimError as err:
        message = str(err)
        hit = [o for o in parsed if o.key in message or message.startswith(o.path[0] if o.path else "")]
        about = f" (with {', '.join(f'--set {o.text}' for o in hit) if hit else shown})"
        raise PharmsimError(f"{p.name}{about}: {message}") from None
    comment = "\n".join(f"# command-line override: --set {o.text}" for o in parsed)
    notes = tuple(f"override (command line): {o.key} = {_toml.show(o.value)}" for o in parsed)
    return replace(study, text=f"{text.rstrip()}\n\n{comment}\n", library_changes=notes + study.library_changes)
