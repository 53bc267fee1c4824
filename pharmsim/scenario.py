"""Scenario files: a situation described once in TOML, checked key by key, as frozen objects.

A scenario names one or more *arms* (sets of doses compared side by side on the same virtual population:
"kratom alone", "morphine alone", "morphine on top of kratom"), the population, the receptors and
endpoints, the choice of source per parameter, the time grid and the outputs. :func:`load` reads a file,
:func:`loads` TOML text and :func:`from_dict` the same tree as plain Python data (tests, programmatic use);
:func:`to_model_inputs` maps a :class:`Scenario` to the arguments of :func:`pharmsim.model.build_model` and
:func:`pharmsim.model.simulate`.

Every key is checked. An error is one :class:`~pharmsim.validate.PharmsimError` whose message names the
key path (``arm[0].dose[1].amout_g``; indices count from 0 in the order the tables appear in the file),
the value and what was expected, and suggests the nearest valid key for a typo.

Schema (every key optional unless marked *required*)::

    name, title, description          strings (name defaults to the file stem)
    [time]          end_h (required, > 0), step_h (> 0, default 0.25), start_h (>= 0, default 0)
    [[arm]]         name (required, unique), description, dor_efficacy (overrides model.dor_efficacy),
                    [arm.covariates] (overrides population.covariates, same keys)
      [[arm.dose]]  what (required: a product form 'leaf powder' | 'capsule' | 'tea' | 'extract', or a compound
                    id/alias with a human PK model), amount_g | amount_mg (exactly one, > 0), route (compounds:
                    'iv' or one of the compound's routes, default 'oral' where it has one; products are taken
                    by mouth, their form is their route), mg_percent, oh_percent (product content, % w/w),
                    label, and the times: times_h = [...]  |  start_h + interval_h + n_doses  |
                    start_h + times_per_day + days  |  start_h alone (one dose)
      [[arm.events]] file (required; NONMEM CSV ID,TIME,AMT,EVID,CMT[,RATE,II,ADDL,DUR], relative to the
                    scenario file), what (required), unit ('g' | 'mg', default g for products, mg for
                    compounds), route; every CMT doses ``what``
    [[dose]], [[events]]  at top level: shorthand for one arm named "main"
    [population]    n (default 1), seed (default 0), [population.omega] {PK parameter = SD of log}, e.g.
                    MG.CL_L_per_h = 0.3; [population.correlation] {"P1,P2" = r};
                    [population.covariates] body_weight_kg (number, or {median, sd_log}),
                    cyp3a4_inhibitor ('none' | 'moderate' | 'strong'),
                    hepatic_impairment ('none' | 'mild' | 'moderate' | 'severe')
    [model]         receptors (default ["MOR", "DOR"]), endpoints (default: all at those receptors),
                    binding ('kinetic' | 'equilibrium' or {MOR = ..., DOR = ...}; default 'kinetic'),
                    affinity ('functional' | 'binding'), dor_efficacy ('default' = the library's preferred
                    source, or the name of a source with a DOR tau row for MG/7-OH-MG), tolerance (bool)
    [[value]]       quantity, compound, target, value, unit (required), pathway ('-'), source ('scenario'),
                    note, preferred (true): a what-if value added to the library, status 'assumption'
    [[source]]      quantity, compound, target, source (required), pathway: use that source's value
    [output]        figures (bool), per_subject_csv (bool), report (bool)

Not for: simulating (see :mod:`pharmsim.model`) or writing files (see :mod:`pharmsim.cli`).
This software is for teaching and research, not dosing advice.
"""

from __future__ import annotations

import math
import tomllib
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np

from .validate import PharmsimError, suggest

__all__ = [
    "Scenario",
    "Arm",
    "Dose",
    "EventTable",
    "TimeGrid",
    "PopulationSpec",
    "Covariates",
    "ModelSpec",
    "ValueOverride",
    "SourceChoice",
    "OutputSpec",
    "ArmInputs",
    "ModelInputs",
    "load",
    "loads",
    "from_dict",
    "to_model_inputs",
    "scenario_library",
    "shipped_scenarios",
    "shipped_scenario_path",
    "DISCLAIMER",
]

DISCLAIMER = "pharmsim is for teaching and research, not dosing advice."

_BINDING_MODES = ("kinetic", "equilibrium")
_AFFINITY = ("functional", "binding")
_MAX_TIME_POINTS = 200_000
_MAX_SUBJECTS = 1_000_000
_MAX_DOSES = 100_000
_DEFAULT = "default"


# --------------------------------------------------------------------------------------------------
# frozen object tree
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeGrid:
    """Output grid ``start_h, start_h + step_h, ..., end_h`` (h); ``end_h`` is always included."""

    end_h: float
    step_h: float = 0.25
    start_h: float = 0.0

    def t_h(self) -> np.ndarray:
        """The grid as a float array (h); the last step is shortened so that ``end_h`` is included."""
        n = int(math.floor((self.end_h - self.start_h) / self.step_h + 1e-9))
        t = self.start_h + self.step_h * np.arange(n + 1, dtype=float)
        if self.end_h - t[-1] > 1e-9 * max(1.0, self.end_h):
            t = np.append(t, self.end_h)
        return t


@dataclass(frozen=True)
class Dose:
    """Doses of one product form or compound at the given times.

    ``amount`` is in ``unit`` per administration: g of product for product forms, mg of compound
    otherwise. ``route`` is the product form for products. ``mg_percent``/``oh_percent`` override the
    product's mitragynine / 7-OH-MG content (% w/w).
    """

    what: str
    amount: float
    unit: str
    route: str
    times_h: tuple[float, ...]
    is_product: bool
    mg_percent: float | None = None
    oh_percent: float | None = None
    label: str = ""


@dataclass(frozen=True)
class EventTable:
    """A NONMEM-style dosing table (ID, TIME, AMT, EVID, CMT, RATE, II, ADDL) of one product or compound."""

    path: Path
    what: str
    unit: str
    route: str
    is_product: bool


@dataclass(frozen=True)
class Covariates:
    """Covariates of the virtual population (see :class:`pharmsim.population.Covariates`).

    ``body_weight_kg`` is a fixed weight (``body_weight_sd_log = 0``) or the median of a log-normal
    distribution with SD of log ``body_weight_sd_log``; ``None`` is the 70 kg reference.
    """

    body_weight_kg: float | None = None
    body_weight_sd_log: float = 0.0
    cyp3a4_inhibitor: str = "none"
    hepatic_impairment: str = "none"


@dataclass(frozen=True)
class Arm:
    """One set of doses simulated on the scenario's population; arms are compared side by side.

    ``covariates`` and ``dor_efficacy`` (when not None) replace the scenario-wide choices for this arm.
    """

    name: str
    doses: tuple[Dose, ...] = ()
    events: tuple[EventTable, ...] = ()
    description: str = ""
    covariates: Covariates | None = None
    dor_efficacy: str | None = None


@dataclass(frozen=True)
class PopulationSpec:
    """Population size, seed, inter-individual variability (SD of log per PK parameter) and covariates."""

    n: int = 1
    seed: int = 0
    omega: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    correlation: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    covariates: Covariates = field(default_factory=Covariates)


@dataclass(frozen=True)
class ModelSpec:
    """Receptors, endpoints, binding mode per receptor, affinity kind, DOR efficacy source, tolerance."""

    receptors: tuple[str, ...] = ("MOR", "DOR")
    endpoints: tuple[str, ...] | None = None
    binding: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    affinity: str = "functional"
    dor_efficacy: str = _DEFAULT
    tolerance: bool = False


@dataclass(frozen=True)
class ValueOverride:
    """A what-if value added to the library for this scenario (status 'assumption', its note kept)."""

    quantity: str
    compound: str
    target: str
    value: float
    unit: str
    pathway: str = "-"
    source: str = "scenario"
    note: str = ""
    preferred: bool = True


@dataclass(frozen=True)
class SourceChoice:
    """Use ``source``'s value for (quantity, compound, target, pathway) instead of the library default."""

    quantity: str
    compound: str
    target: str
    source: str
    pathway: str | None = None


@dataclass(frozen=True)
class OutputSpec:
    """What ``pharmsim run`` writes besides the summaries: figures, per-subject CSV, HTML report."""

    figures: bool = True
    per_subject_csv: bool = False
    report: bool = True


@dataclass(frozen=True)
class Scenario:
    """A validated scenario; build it with :func:`load`, :func:`loads` or :func:`from_dict`."""

    name: str
    arms: tuple[Arm, ...]
    time: TimeGrid
    population: PopulationSpec = field(default_factory=PopulationSpec)
    model: ModelSpec = field(default_factory=ModelSpec)
    values: tuple[ValueOverride, ...] = ()
    sources: tuple[SourceChoice, ...] = ()
    output: OutputSpec = field(default_factory=OutputSpec)
    title: str = ""
    description: str = ""
    base_dir: Path | None = None
    text: str = ""


# --------------------------------------------------------------------------------------------------
# key-by-key reader
# --------------------------------------------------------------------------------------------------

_MISSING = object()


def _type_name(value) -> str:
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


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class _Table:
    """A TOML table being read: every key must be taken; what is left over is an unknown key."""

    def __init__(self, data, path: str, what: str = "a table"):
        if not isinstance(data, dict):
            raise PharmsimError(f"{path or 'scenario'} must be {what}; got {_type_name(data)} {_show(data)}")
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

    def raw(self, name: str, default=_MISSING):
        self.allow(name)
        if name in self.data:
            self.taken.append(name)
            return self.data[name]
        if default is _MISSING:
            raise PharmsimError(f"{self.key(name)} is required but missing{self._context()}")
        return default

    def _context(self) -> str:
        return f" (in {self.path})" if self.path else ""

    def string(self, name: str, default=_MISSING, choices=None) -> str:
        value = self.raw(name, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str):
            raise PharmsimError(f"{self.key(name)} must be a string; got {_type_name(value)} {_show(value)}")
        if choices is not None and value not in choices:
            raise PharmsimError(
                f"{self.key(name)} must be one of {', '.join(map(repr, choices))}; got {value!r}"
                f"{suggest(value, choices)}"
            )
        return value

    def boolean(self, name: str, default=_MISSING) -> bool:
        value = self.raw(name, default)
        if not isinstance(value, bool):
            raise PharmsimError(
                f"{self.key(name)} must be true or false; got {_type_name(value)} {_show(value)}"
            )
        return value

    def number(self, name: str, default=_MISSING, *, minimum=None, strict=False, unit="") -> float:
        value = self.raw(name, default)
        if value is default and default is not _MISSING:
            return value
        return _number(self.key(name), value, minimum=minimum, strict=strict, unit=unit)

    def integer(self, name: str, default=_MISSING, *, minimum=None, maximum=None) -> int:
        value = self.raw(name, default)
        if value is default and default is not _MISSING:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise PharmsimError(
                f"{self.key(name)} must be a whole number; got {_type_name(value)} {_show(value)}"
            )
        if minimum is not None and value < minimum:
            raise PharmsimError(f"{self.key(name)} must be a whole number >= {minimum}; got {value}")
        if maximum is not None and value > maximum:
            raise PharmsimError(f"{self.key(name)} must be a whole number <= {maximum}; got {value}")
        return value

    def table(self, name: str, default=_MISSING) -> _Table | None:
        value = self.raw(name, default)
        if value is None and default is None:
            return None
        return _Table(value, self.key(name))

    def tables(self, name: str) -> list[_Table]:
        """An array of tables (``[[name]]``); missing means empty."""
        value = self.raw(name, [])
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list):
            raise PharmsimError(
                f"{self.key(name)} must be an array of tables ([[{name}]]); got {_type_name(value)} {_show(value)}"
            )
        return [_Table(item, f"{self.key(name)}[{i}]") for i, item in enumerate(value)]

    def strings(self, name: str, default=_MISSING, choices=None) -> tuple[str, ...]:
        value = self.raw(name, default)
        if value is default and default is not _MISSING:
            return value
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise PharmsimError(
                f"{self.key(name)} must be an array of strings; got {_type_name(value)} {_show(value)}"
            )
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise PharmsimError(
                    f"{self.key(name)}[{i}] must be a string; got {_type_name(item)} {_show(item)}"
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
                f"{self.key(name)} must be an array of numbers{_unit(unit)}; got {_type_name(value)} {_show(value)}"
            )
        return tuple(
            _number(f"{self.key(name)}[{i}]", v, minimum=minimum, unit=unit) for i, v in enumerate(value)
        )

    def expect(self, *names: str) -> _Table:
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
                    f"{self.key(name)} is not a valid key (value {_show(value)}); "
                    f"expected one of: {', '.join(valid) if valid else '(no keys)'}{_suggest_key(name, valid)}"
                )


def _suggest_key(name: str, valid) -> str:
    """:func:`pharmsim.validate.suggest`, falling back to the one valid key that starts with ``name``."""
    hint = suggest(name, valid)
    if hint or len(name) < 3:
        return hint
    starts = [v for v in valid if str(v).lower().startswith(str(name).lower())]
    return f" (did you mean {starts[0]!r}?)" if len(starts) == 1 else ""


def _unit(unit: str) -> str:
    return f" ({unit})" if unit else ""


def _number(key: str, value, *, minimum=None, strict=False, unit="") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PharmsimError(f"{key} must be a number{_unit(unit)}; got {_type_name(value)} {_show(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise PharmsimError(f"{key} must be a finite number{_unit(unit)}; got {value!r}")
    if minimum is not None and (value <= minimum if strict else value < minimum):
        sign = ">" if strict else ">="
        raise PharmsimError(f"{key} must be a number {sign} {minimum:g}{_unit(unit)}; got {value:g}")
    return value


# --------------------------------------------------------------------------------------------------
# what the package knows (library, PK model, products, model): the context of one reading
# --------------------------------------------------------------------------------------------------


@dataclass
class _Context:
    library: object
    forms: tuple[str, ...]
    routes: dict            # compound id -> routes of its default human PK model ('iv' first)
    pk_parameters: tuple    # qualified PK parameter names (for population.omega)
    receptors: tuple[str, ...]
    endpoints: tuple[str, ...]
    grid: TimeGrid | None = None
    base_dir: Path | None = None
    population: PopulationSpec | None = None


#: Memo of the PK facts (routes, parameter names) of a library object: a Library is frozen, so what is derived
#: from it never changes; the entry is dropped when the library is garbage-collected. Building the default PK
#: model costs ~0.2 s, which would otherwise be paid on every scenario read.
_PK_FACTS: dict[int, tuple[dict, tuple]] = {}


def _pk_facts(library) -> tuple[dict, tuple]:
    key = id(library)
    facts = _PK_FACTS.get(key)
    if facts is None:
        from . import pk  # noqa: PLC0415

        pk_model = pk.default_model(tuple(pk.DEFAULT_COMPOUNDS), library=library)
        routes = {c.compound: ("iv", *(r.name for r in c.routes)) for c in pk_model.compounds}
        facts = (routes, tuple(pk_model.parameters))
        try:
            weakref.finalize(library, _PK_FACTS.pop, key, None)
        except TypeError:  # not weak-referenceable: do not memoise
            return facts
        _PK_FACTS[key] = facts
    return facts


def _context(library) -> _Context:
    from . import model  # noqa: PLC0415
    from .products import FORMS  # noqa: PLC0415

    routes, parameters = _pk_facts(library)
    return _Context(library=library, forms=tuple(FORMS), routes=dict(routes), pk_parameters=parameters,
                    receptors=tuple(model.RECEPTORS), endpoints=tuple(model.DEFAULT_ENDPOINTS))


def _compound_names(library) -> list[str]:
    names = []
    for c in library.compounds():
        names.append(c.id)
        names.extend(getattr(c, "aliases", ()) or ())
    return names


def _compound_id(library, key: str, name: str) -> str:
    """The library's id for ``name`` (an id or alias); an error naming the key otherwise."""
    try:
        return library.compound(name).id
    except PharmsimError:
        ids = [c.id for c in library.compounds()]
        raise PharmsimError(
            f"{key} must be a compound in the library ({', '.join(ids)}); got {name!r}"
            f"{suggest(name, _compound_names(library))}"
        ) from None


# --------------------------------------------------------------------------------------------------
# sections
# --------------------------------------------------------------------------------------------------


def _read_time(root: _Table) -> TimeGrid:
    t = root.table("time").expect("start_h", "end_h", "step_h")
    start_h = t.number("start_h", 0.0, minimum=0.0, unit="h")
    end_h = t.number("end_h", unit="h")
    step_h = t.number("step_h", 0.25, minimum=0.0, strict=True, unit="h")
    t.done()
    if end_h <= start_h:
        raise PharmsimError(f"time.end_h must be > time.start_h ({start_h:g} h); got {end_h:g}")
    if step_h > end_h - start_h:
        raise PharmsimError(
            f"time.step_h must not exceed the simulated span ({end_h - start_h:g} h); got {step_h:g}"
        )
    n = (end_h - start_h) / step_h
    if n > _MAX_TIME_POINTS:
        raise PharmsimError(
            f"time.step_h gives {n:.0f} time points from {start_h:g} to {end_h:g} h; expected at most "
            f"{_MAX_TIME_POINTS} (use a coarser step_h); got step_h = {step_h:g}"
        )
    return TimeGrid(end_h=end_h, step_h=step_h, start_h=start_h)


_REGIMEN_HELP = ("times_h = [...], or a regimen (start_h, interval_h, n_doses) or (start_h, times_per_day, days), "
                 "or start_h alone for one dose")


def _dose_times(d: _Table) -> tuple[float, ...]:
    given = [k for k in ("times_h", "start_h", "interval_h", "n_doses", "times_per_day", "days") if k in d.data]
    if "times_h" in given and len(given) > 1:
        raise PharmsimError(
            f"{d.path} gives times_h and {', '.join(k for k in given if k != 'times_h')}; expected either "
            f"times_h = [...] or a regimen"
        )
    if "times_h" in given:
        times = d.numbers("times_h", minimum=0.0, unit="h")
        if not times:
            raise PharmsimError(f"{d.key('times_h')} must list at least one time (h); got []")
        if any(b < a for a, b in zip(times, times[1:], strict=False)):
            raise PharmsimError(f"{d.key('times_h')} must be in increasing order (h); got {list(times)}")
        return times
    start_h = d.number("start_h", 0.0, minimum=0.0, unit="h")
    per_day_keys = {"times_per_day", "days"} & set(given)
    interval_keys = {"interval_h", "n_doses"} & set(given)
    if per_day_keys and interval_keys:
        raise PharmsimError(
            f"{d.path} mixes {', '.join(sorted(interval_keys))} with {', '.join(sorted(per_day_keys))}; expected "
            "interval_h + n_doses or times_per_day + days"
        )
    if per_day_keys:
        per_day = d.integer("times_per_day", minimum=1, maximum=48)
        days = d.number("days", minimum=0.0, strict=True, unit="days")
        n_doses = per_day * days
        if abs(n_doses - round(n_doses)) > 1e-9:
            raise PharmsimError(
                f"{d.key('days')} x times_per_day must be a whole number of doses; got {days:g} days x "
                f"{per_day} per day = {n_doses:g}"
            )
        n_doses, interval_h = int(round(n_doses)), 24.0 / per_day
    elif interval_keys:
        n_doses = d.integer("n_doses", 1, minimum=1, maximum=_MAX_DOSES)
        if n_doses > 1:
            interval_h = d.number("interval_h", minimum=0.0, strict=True, unit="h")
        else:
            interval_h = d.number("interval_h", 0.0, minimum=0.0, unit="h")
    elif "start_h" in given:
        return (start_h,)
    else:
        raise PharmsimError(f"{d.path} has no dosing times; expected {_REGIMEN_HELP}")
    if n_doses > _MAX_DOSES:
        raise PharmsimError(f"{d.path} gives {n_doses} doses; expected at most {_MAX_DOSES}")
    return tuple(float(start_h + i * interval_h) for i in range(n_doses))


def _what(d: _Table, ctx: _Context) -> tuple[str, bool]:
    what = d.string("what")
    lowered = {f.lower(): f for f in ctx.forms}
    if what.lower() in lowered:
        return lowered[what.lower()], True
    lib = ctx.library
    try:
        cid = lib.compound(what).id
    except PharmsimError:
        names = list(ctx.forms) + _compound_names(lib)
        raise PharmsimError(
            f"{d.key('what')} must be a product form ({', '.join(map(repr, ctx.forms))}) or a compound in the "
            f"library ({', '.join(c.id for c in lib.compounds())}); got {what!r}{suggest(what, names)}"
        ) from None
    if cid not in ctx.routes:
        raise PharmsimError(
            f"{d.key('what')}: {cid!r} is in the library but has no human PK model, so it cannot be dosed; "
            f"expected a product form or one of {', '.join(ctx.routes)}; got {what!r}"
        )
    return cid, False


def _route(d: _Table, what: str, is_product: bool, ctx: _Context) -> str:
    if is_product:
        route = d.string("route", "oral")
        if route not in ("oral", what):
            raise PharmsimError(
                f"{d.key('route')} must be 'oral' for a product form (the form {what!r} is its route); got {route!r}"
            )
        return what
    routes = ctx.routes[what]
    default = "oral" if "oral" in routes else None
    if default is None and not d.has("route"):
        raise PharmsimError(
            f"{d.key('route')} is required for {what} (it has no 'oral' route); expected one of "
            f"{', '.join(map(repr, routes))}"
        )
    route = d.string("route", default)
    if route not in routes:
        raise PharmsimError(
            f"{d.key('route')} must be one of {', '.join(map(repr, routes))} for {what}; got {route!r}"
            f"{suggest(route, routes)}"
        )
    return route


_DOSE_KEYS = ("what", "amount_g", "amount_mg", "route", "label", "times_h", "start_h", "interval_h", "n_doses",
              "times_per_day", "days", "mg_percent", "oh_percent")


def _read_dose(d: _Table, ctx: _Context) -> Dose:
    d.expect(*_DOSE_KEYS)
    what, is_product = _what(d, ctx)
    route = _route(d, what, is_product, ctx)
    given = [k for k in ("amount_g", "amount_mg") if k in d.data]
    if len(given) != 1:
        raise PharmsimError(
            f"{d.path} must give exactly one of amount_g (g) or amount_mg (mg); got "
            f"{' and '.join(given) if given else 'neither'}"
        )
    key = given[0]
    unit = key.split("_")[1]
    amount = d.number(key, minimum=0.0, strict=True, unit=unit)
    # products are dosed in g of product, compounds in mg of compound
    if is_product and unit == "mg":
        amount, unit = amount / 1000.0, "g"
    elif not is_product and unit == "g":
        amount, unit = amount * 1000.0, "mg"
    mg_percent = oh_percent = None
    if "mg_percent" in d.data or "oh_percent" in d.data:
        if not is_product:
            bad = "mg_percent" if "mg_percent" in d.data else "oh_percent"
            raise PharmsimError(
                f"{d.key(bad)} applies to product forms only; {d.key('what')} is the compound {what!r}"
            )
        mg_percent = d.number("mg_percent", None, minimum=0.0, unit="% w/w")
        oh_percent = d.number("oh_percent", None, minimum=0.0, unit="% w/w")
        for name, v in (("mg_percent", mg_percent), ("oh_percent", oh_percent)):
            if v is not None and v > 100:
                raise PharmsimError(f"{d.key(name)} must be a percentage in [0, 100] (% w/w); got {v:g}")
    if is_product:
        from .products import Product  # noqa: PLC0415

        try:
            Product(what, amount, mg_percent, oh_percent).contents_percent(ctx.library)
        except PharmsimError as err:
            raise PharmsimError(f"{d.path}: {err}") from None
    label = d.string("label", "")
    times = _dose_times(d)
    d.done()
    grid = ctx.grid
    late = [t for t in times if t > grid.end_h]
    if late:
        raise PharmsimError(
            f"{d.path} has a dose at {late[0]:g} h, after the end of the simulation (time.end_h = "
            f"{grid.end_h:g} h); expected every dose time <= time.end_h"
        )
    return Dose(what=what, amount=amount, unit=unit, route=route, times_h=times, is_product=is_product,
                mg_percent=mg_percent, oh_percent=oh_percent, label=label)


def _read_events(e: _Table, ctx: _Context) -> EventTable:
    e.expect("file", "what", "unit", "route")
    file = e.string("file")
    what, is_product = _what(e, ctx)
    unit = e.string("unit", "g" if is_product else "mg", choices=("g", "mg"))
    route = _route(e, what, is_product, ctx)
    e.done()
    path = Path(file)
    if not path.is_absolute():
        path = (ctx.base_dir or Path.cwd()) / path
    if not path.is_file():
        raise PharmsimError(
            f"{e.key('file')}: no such file {str(path)!r}; got {file!r} (paths are relative to the scenario file)"
        )
    table = EventTable(path=path, what=what, unit=unit, route=route, is_product=is_product)
    try:
        doses = _event_doses(table, ctx.library)
    except PharmsimError as err:
        raise PharmsimError(f"{e.key('file')} ({path.name}): {err}") from None
    n_ids = doses.n_subjects
    n = ctx.population.n
    if n_ids > 1 and n_ids != n:
        raise PharmsimError(
            f"{e.key('file')} ({path.name}) doses {n_ids} subjects (IDs); expected one ID or population.n "
            f"({n}) IDs"
        )
    late = doses.time_h[doses.time_h > ctx.grid.end_h]
    if late.size:
        raise PharmsimError(
            f"{e.key('file')} ({path.name}) has a dose at {late[0]:g} h, after time.end_h = {ctx.grid.end_h:g} h"
        )
    return table


def _read_arm(a: _Table, name_default, ctx: _Context) -> Arm:
    name = a.string("name") if name_default is None else name_default
    description = a.string("description", "") if name_default is None else ""
    covariates = dor = None
    if name_default is None:
        cov_t = a.table("covariates", None)
        covariates = None if cov_t is None else _read_covariates(cov_t, ctx.population.covariates)
        dor = a.string("dor_efficacy", None)
        if dor is not None:
            _check_dor_source(a.key("dor_efficacy"), dor, ctx.library)
    doses = tuple(_read_dose(d, ctx) for d in a.tables("dose"))
    events = tuple(_read_events(e, ctx) for e in a.tables("events"))
    if not doses and not events:
        prefix = "arm." if a.path else ""
        raise PharmsimError(
            f"{a.path or 'scenario'} has no doses; expected at least one [[{prefix}dose]] or [[{prefix}events]] table"
        )
    return Arm(name=name, doses=doses, events=events, description=description, covariates=covariates,
               dor_efficacy=dor)


def _read_arms(root: _Table, ctx: _Context) -> tuple[Arm, ...]:
    has_arms = "arm" in root.data
    has_top = "dose" in root.data or "events" in root.data
    if has_arms and has_top:
        raise PharmsimError(
            "scenario has both [[arm]] tables and top-level [[dose]]/[[events]]; expected one or the other "
            "(put each dose inside its arm as [[arm.dose]])"
        )
    if not has_arms:
        if not has_top:
            raise PharmsimError("scenario has no doses; expected [[dose]] tables, or [[arm]] tables with [[arm.dose]]")
        top = _Table({k: root.data[k] for k in ("dose", "events") if k in root.data}, "")
        root.taken.extend(k for k in ("dose", "events") if k in root.data)
        return (_read_arm(top, "main", ctx),)
    arm_tables = root.tables("arm")
    if not arm_tables:
        raise PharmsimError("arm must list at least one [[arm]] table; got an empty array")
    arms: list[Arm] = []
    for a in arm_tables:
        a.expect("name", "description", "dose", "events", "covariates", "dor_efficacy")
        arm = _read_arm(a, None, ctx)
        a.done()
        if arm.name in [x.name for x in arms]:
            raise PharmsimError(f"{a.key('name')} must be unique; {arm.name!r} is used twice")
        arms.append(arm)
    return tuple(arms)


def _flatten(table: _Table, prefix: str = "") -> dict[str, tuple[str, object]]:
    """``{'MG.CL_L_per_h': (key path, value)}`` from ``MG.CL_L_per_h = 0.3`` (nested tables) or quoted keys."""
    out = {}
    for k, v in table.data.items():
        table.taken.append(k)
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(_Table(v, table.key(k)), name + "."))
        else:
            out[name] = (table.key(k), v)
    return out


def _read_population(root: _Table, ctx: _Context) -> PopulationSpec:
    p = root.table("population", None)
    if p is None:
        return PopulationSpec()
    p.expect("n", "seed", "omega", "correlation", "covariates")
    n = p.integer("n", 1, minimum=1, maximum=_MAX_SUBJECTS)
    seed = p.integer("seed", 0, minimum=0)
    omega: dict[str, float] = {}
    omega_t = p.table("omega", None)
    if omega_t is not None:
        for name, (key, value) in _flatten(omega_t).items():
            if name not in ctx.pk_parameters:
                raise PharmsimError(
                    f"{key} is not a PK parameter (value {_show(value)}); expected a name such as "
                    f"'MG.CL_L_per_h', 'MG.V_L', 'morphine.CL_L_per_h'{suggest(name, ctx.pk_parameters)}"
                )
            omega[name] = _number(key, value, minimum=0.0, unit="SD of log")
    corr: dict[tuple[str, str], float] = {}
    corr_t = p.table("correlation", None)
    if corr_t is not None:
        for k in list(corr_t.data):
            r = corr_t.number(k)
            parts = [s.strip() for s in k.split(",")]
            if len(parts) != 2 or not all(parts) or parts[0] == parts[1]:
                raise PharmsimError(
                    f"{corr_t.key(k)}: a correlation key must name two different parameters as \"P1,P2\"; got {k!r}"
                )
            if not -1.0 < r < 1.0:
                raise PharmsimError(f"{corr_t.key(k)} must be a correlation in (-1, 1); got {r:g}")
            for part in parts:
                if part not in omega:
                    raise PharmsimError(
                        f"{corr_t.key(k)} names {part!r}, which has no population.omega entry; expected one of "
                        f"{', '.join(omega) or '(none)'}{suggest(part, omega)}"
                    )
            corr[(parts[0], parts[1])] = r
        corr_t.done()
        if corr:
            _check_correlation(omega, corr)
    cov_t = p.table("covariates", None)
    cov = Covariates() if cov_t is None else _read_covariates(cov_t)
    p.done()
    return PopulationSpec(n=n, seed=seed, omega=MappingProxyType(omega), correlation=MappingProxyType(corr),
                          covariates=cov)


def _check_correlation(omega, corr) -> None:
    names = list(omega)
    R = np.eye(len(names))
    for (a, b), r in corr.items():
        i, j = names.index(a), names.index(b)
        R[i, j] = R[j, i] = r
    if np.linalg.eigvalsh(R).min() <= 1e-12:
        raise PharmsimError(
            f"population.correlation must form a positive definite correlation matrix; got {dict(corr)!r} "
            f"(smallest eigenvalue {np.linalg.eigvalsh(R).min():.3g})"
        )


def _read_covariates(cov_t: _Table, base: Covariates | None = None) -> Covariates:
    """Covariates from a table; keys not given keep their value in ``base`` (population-level) or the default."""
    from .population import CYP3A4_LEVELS, HEPATIC_LEVELS, WEIGHT_RANGE_KG  # noqa: PLC0415

    base = base or Covariates()
    cov_t.expect("body_weight_kg", "cyp3a4_inhibitor", "hepatic_impairment")
    bw, bw_sd = base.body_weight_kg, base.body_weight_sd_log
    if "body_weight_kg" in cov_t.data:
        value = cov_t.raw("body_weight_kg")
        if isinstance(value, dict):
            w = _Table(value, cov_t.key("body_weight_kg")).expect("median", "sd_log")
            bw = w.number("median", minimum=0.0, strict=True, unit="kg")
            bw_sd = w.number("sd_log", 0.0, minimum=0.0, unit="SD of log")
            w.done()
        else:
            bw = _number(cov_t.key("body_weight_kg"), value, minimum=0.0, strict=True, unit="kg")
            bw_sd = 0.0
        lo, hi = WEIGHT_RANGE_KG
        if not lo <= bw <= hi:
            raise PharmsimError(
                f"{cov_t.key('body_weight_kg')} must be an adult body weight in [{lo:g}, {hi:g}] kg; got {bw:g}"
            )
    cyp = cov_t.string("cyp3a4_inhibitor", base.cyp3a4_inhibitor, choices=CYP3A4_LEVELS)
    hep = cov_t.string("hepatic_impairment", base.hepatic_impairment, choices=HEPATIC_LEVELS)
    cov_t.done()
    return Covariates(body_weight_kg=bw, body_weight_sd_log=bw_sd, cyp3a4_inhibitor=cyp, hepatic_impairment=hep)


def _read_model(root: _Table, ctx: _Context) -> ModelSpec:
    m = root.table("model", None)
    if m is None:
        return ModelSpec(receptors=ctx.receptors)
    m.expect("receptors", "endpoints", "binding", "affinity", "dor_efficacy", "tolerance")
    receptors = m.strings("receptors", ctx.receptors, choices=ctx.receptors)
    if not receptors:
        raise PharmsimError(f"model.receptors must list at least one of {', '.join(ctx.receptors)}; got []")
    endpoints = m.strings("endpoints", None, choices=ctx.endpoints)
    if endpoints is not None:
        from .model import ENDPOINT_RECEPTOR  # noqa: PLC0415

        for e in endpoints:
            if ENDPOINT_RECEPTOR.get(e, receptors[0]) not in receptors:
                raise PharmsimError(
                    f"model.endpoints names {e!r}, read at {ENDPOINT_RECEPTOR[e]}, which is not in model.receptors "
                    f"({', '.join(receptors)})"
                )
    binding: dict[str, str] = {}
    if "binding" in m.data:
        value = m.raw("binding")
        if isinstance(value, str):
            mode = m.string("binding", choices=_BINDING_MODES)
            binding = {r: mode for r in receptors}
        else:
            b = _Table(value, m.key("binding"), "a binding mode ('kinetic' or 'equilibrium') or a table per receptor")
            b.expect(*receptors)
            for r in receptors:
                binding[r] = b.string(r, "kinetic", choices=_BINDING_MODES)
            b.done()
    else:
        binding = {r: "kinetic" for r in receptors}
    affinity = m.string("affinity", "functional", choices=_AFFINITY)
    dor = m.string("dor_efficacy", _DEFAULT)
    tolerance = m.boolean("tolerance", False)
    m.done()
    return ModelSpec(receptors=receptors, endpoints=endpoints, binding=MappingProxyType(binding),
                     affinity=affinity, dor_efficacy=dor, tolerance=tolerance)


def _dor_sources(library) -> list[str]:
    names: list[str] = []
    for compound in ("MG", "7-OH-MG"):
        try:
            table = library.sources("tau", compound=compound, target="DOR", pathway="G protein")
        except PharmsimError:
            continue
        names += [str(s) for s in table["source"] if str(s) not in names]
    return names


def _check_dor_source(key: str, source: str, library) -> None:
    """``source`` must be 'default' or report a G-protein tau at DOR for MG or 7-OH-MG in the library."""
    if source == _DEFAULT:
        return
    names = _dor_sources(library)
    if source not in names:
        raise PharmsimError(
            f"{key} must be 'default' (the library's preferred source) or a source with a G-protein tau at DOR "
            f"for MG/7-OH-MG ({'; '.join(repr(n) for n in names) or 'none'}); got {source!r}"
            f"{_suggest_key(source, [_DEFAULT, *names])}"
        )


def _read_values(root: _Table, ctx: _Context) -> tuple[ValueOverride, ...]:
    out = []
    for v in root.tables("value"):
        v.expect("quantity", "compound", "target", "pathway", "value", "unit", "source", "note", "preferred")
        item = ValueOverride(
            quantity=v.string("quantity"),
            compound=_compound_id(ctx.library, v.key("compound"), v.string("compound")),
            target=v.string("target"),
            value=v.number("value"),
            unit=v.string("unit"),
            pathway=v.string("pathway", "-"),
            source=v.string("source", "scenario"),
            note=v.string("note", ""),
            preferred=v.boolean("preferred", True),
        )
        v.done()
        try:
            ctx.library = _apply_value(ctx.library, item)
        except PharmsimError as err:
            raise PharmsimError(f"{v.path}: {err}") from None
        out.append(item)
    return tuple(out)


def _apply_value(library, item: ValueOverride):
    previous = None
    if not item.preferred:
        try:
            previous = library.parameter(item.quantity, item.compound, item.target, pathway=item.pathway)
        except PharmsimError:
            previous = None
    note = item.note or "what-if value set in the scenario file"
    lib = library.with_value(item.quantity, item.compound, item.target, item.value, item.unit, pathway=item.pathway,
                             source=item.source, status="assumption", note=note, assay="scenario file")
    if previous is not None:
        lib = lib.prefer(item.quantity, item.compound, item.target, previous.source, pathway=item.pathway,
                         assay=previous.assay)
    return lib


def _read_sources(root: _Table, ctx: _Context) -> tuple[SourceChoice, ...]:
    out = []
    for s in root.tables("source"):
        s.expect("quantity", "compound", "target", "pathway", "source")
        quantity = s.string("quantity")
        compound = _compound_id(ctx.library, s.key("compound"), s.string("compound"))
        target = s.string("target")
        pathway = s.string("pathway", None)
        source = s.string("source")
        s.done()
        try:
            table = ctx.library.sources(quantity, compound=compound, target=target, pathway=pathway)
        except PharmsimError as err:
            raise PharmsimError(f"{s.path}: {err}") from None
        names = list(dict.fromkeys(str(x) for x in table["source"]))
        if source not in names:
            raise PharmsimError(
                f"{s.key('source')} must be a source the library holds for {quantity} of {compound} at "
                f"{target} ({'; '.join(repr(n) for n in names) or 'none'}); got {source!r}{_suggest_key(source, names)}"
            )
        out.append(SourceChoice(quantity=quantity, compound=compound, target=target, source=source, pathway=pathway))
        ctx.library = _apply_source(ctx.library, out[-1])
    return tuple(out)


def _apply_source(library, choice: SourceChoice):
    try:
        return library.prefer(choice.quantity, choice.compound, choice.target, choice.source, pathway=choice.pathway)
    except PharmsimError as err:
        raise PharmsimError(f"source choice {choice.quantity} of {choice.compound} at {choice.target}: {err}") from None


def _read_output(root: _Table) -> OutputSpec:
    o = root.table("output", None)
    if o is None:
        return OutputSpec()
    o.expect("figures", "per_subject_csv", "report")
    spec = OutputSpec(figures=o.boolean("figures", True), per_subject_csv=o.boolean("per_subject_csv", False),
                      report=o.boolean("report", True))
    o.done()
    return spec


# --------------------------------------------------------------------------------------------------
# public entry points
# --------------------------------------------------------------------------------------------------


def from_dict(data: dict, *, base_dir: str | Path | None = None, library=None, name: str = "scenario",
              text: str = "") -> Scenario:
    """A validated :class:`Scenario` from a plain nested dict with the TOML file's structure.

    Parameters
    ----------
    data : dict
        The scenario tree (what :func:`tomllib.loads` returns for a scenario file).
    base_dir : path, optional
        Folder against which relative event-table paths are resolved (default: the working directory).
    library : pharmsim.library.Library, optional
        Library used to check compounds, routes and sources (default: :func:`pharmsim.library.load_library`).
    name : str
        Scenario name when the data has no ``name`` key.
    text : str
        The source text, kept for the report.

    Raises
    ------
    PharmsimError
        On the first key that is unknown, of the wrong type or out of range (the message names the key path).
    """
    library = _library(library)
    ctx = _context(library)
    ctx.base_dir = Path(base_dir) if base_dir is not None else None
    root = _Table(data, "").expect("name", "title", "description", "time", "arm", "dose", "events", "population",
                                   "model", "value", "source", "output")
    name = root.string("name", name)
    title = root.string("title", "")
    description = root.string("description", "")
    ctx.grid = _read_time(root)
    ctx.population = _read_population(root, ctx)
    values = _read_values(root, ctx)          # what-if values first: sources and DOR choices may name them
    sources = _read_sources(root, ctx)
    model = _read_model(root, ctx)
    _check_dor_source("model.dor_efficacy", model.dor_efficacy, ctx.library)
    arms = _read_arms(root, ctx)
    output = _read_output(root)
    root.done()
    return Scenario(name=name, arms=arms, time=ctx.grid, population=ctx.population, model=model, values=values,
                    sources=sources, output=output, title=title, description=description, base_dir=ctx.base_dir,
                    text=text)


def _library(library):
    if library is not None:
        return library
    from .library import load_library  # noqa: PLC0415

    return load_library()


def loads(text: str, *, base_dir: str | Path | None = None, library=None, name: str = "scenario") -> Scenario:
    """A validated :class:`Scenario` from TOML text; a TOML syntax error becomes a :class:`PharmsimError`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise PharmsimError(f"{name}: not valid TOML: {err}") from None
    return from_dict(data, base_dir=base_dir, library=library, name=name, text=text)


def load(path: str | Path, *, library=None) -> Scenario:
    """A validated :class:`Scenario` from a TOML file; errors start with the file name, then the key path.

    ``path`` may also be the name of a shipped scenario (``'demo'``, see :func:`shipped_scenarios`).
    """
    p = Path(path)
    if not p.exists() and p.suffix == "" and str(path) in shipped_scenarios():
        p = shipped_scenario_path(str(path))
    if not p.is_file():
        raise PharmsimError(
            f"scenario file {str(path)!r} does not exist; expected a .toml file or the name of a shipped "
            f"scenario ({', '.join(shipped_scenarios())}){suggest(str(path), shipped_scenarios())}"
        )
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise PharmsimError(f"scenario file {str(p)!r} cannot be read: {err}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise PharmsimError(f"{p.name}: not valid TOML: {err}") from None
    try:
        return from_dict(data, base_dir=p.resolve().parent, library=library, name=p.stem, text=text)
    except PharmsimError as err:
        raise PharmsimError(f"{p.name}: {err}") from None


def _scenario_dir() -> Path:
    return Path(__file__).resolve().parent / "scenarios"


def shipped_scenarios() -> tuple[str, ...]:
    """Names of the example scenarios shipped with the package (``pharmsim/scenarios/*.toml``)."""
    return tuple(sorted(p.stem for p in _scenario_dir().glob("*.toml")))


def shipped_scenario_path(name: str) -> Path:
    """Path of the shipped scenario ``name``; an error listing the shipped names otherwise."""
    names = shipped_scenarios()
    if name not in names:
        raise PharmsimError(
            f"shipped scenario must be one of {', '.join(map(repr, names))}; got {name!r}{suggest(name, names)}"
        )
    return _scenario_dir() / f"{name}.toml"


# --------------------------------------------------------------------------------------------------
# scenario -> model API
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArmInputs:
    """What one arm passes to the model: ``build_model(doses, **build_kwargs)``, then the population."""

    name: str
    doses: object                 # pharmsim.dosing.Doses
    build_kwargs: MappingProxyType
    population: object | None     # pharmsim.population.Population, or None for one typical subject
    description: str = ""


@dataclass(frozen=True)
class ModelInputs:
    """Everything :func:`pharmsim.model.simulate` needs for every arm of a scenario."""

    t_h: np.ndarray
    library: object
    arms: tuple[ArmInputs, ...]


def scenario_library(scenario: Scenario, library=None):
    """The library with the scenario's what-if values added and its source choices preferred."""
    lib = _library(library)
    for item in scenario.values:
        lib = _apply_value(lib, item)
    for choice in scenario.sources:
        lib = _apply_source(lib, choice)
    return lib


def _product_factor_nmol_per_unit(dose_like, library) -> dict[str, float]:
    """nmol of each compound per unit amount (g of product or mg of compound)."""
    from .dosing import molar_mass_of  # noqa: PLC0415
    from .products import Product  # noqa: PLC0415

    if dose_like.is_product:
        per_g = Product(dose_like.what, 1.0, getattr(dose_like, "mg_percent", None),
                        getattr(dose_like, "oh_percent", None)).amounts_mg(library)
        scale = 1.0 if dose_like.unit == "g" else 1e-3
        return {c: mg * scale * 1e6 / molar_mass_of(c, library)[1] for c, mg in per_g.items() if mg > 0}
    mw = molar_mass_of(dose_like.what, library)[1]
    scale = 1.0 if dose_like.unit == "mg" else 1e3
    return {dose_like.what: scale * 1e6 / mw}


def _dose_events(d: Dose, library):
    from .dosing import Doses  # noqa: PLC0415

    out = Doses()
    times = np.asarray(d.times_h, dtype=float)
    for compound, per_unit in _product_factor_nmol_per_unit(d, library).items():
        out = out + Doses(time_h=times, compound=(compound,) * times.size, route=(d.route,) * times.size,
                          amount_nmol=np.full(times.size, d.amount * per_unit), duration_h=np.zeros(times.size))
    return out


def _event_doses(table: EventTable, library):
    """Doses (nmol, per subject when the table has several IDs) of a NONMEM event table."""
    import pandas as pd  # noqa: PLC0415

    from .dosing import Doses, read_event_table  # noqa: PLC0415

    try:
        df = pd.read_csv(table.path)
    except (OSError, ValueError) as err:
        raise PharmsimError(f"cannot read the event table: {err}") from None
    df.columns = [str(c).strip().upper() for c in df.columns]
    out = Doses()
    cmts = df["CMT"].dropna().unique() if "CMT" in df.columns else []
    for compound, per_unit in _product_factor_nmol_per_unit(table, library).items():
        scaled = df.copy()
        for col in ("AMT", "RATE"):
            if col in scaled.columns:
                scaled[col] = pd.to_numeric(scaled[col], errors="coerce") * per_unit
        part = read_event_table(scaled, {c: (compound, table.route) for c in cmts}, amount_unit="nmol",
                                library=library)
        out = out + part.doses
    return out


def _population(scenario: Scenario, covariates: Covariates):
    from .population import Population  # noqa: PLC0415

    pop = scenario.population
    if pop.n == 1 and not pop.omega and covariates == Covariates():
        return None
    corr = {f"{a},{b}": r for (a, b), r in pop.correlation.items()} or None
    return Population(n=pop.n, omega=dict(pop.omega), correlation=corr, covariates=covariates, rng=pop.seed)


def to_model_inputs(scenario: Scenario, library=None) -> ModelInputs:
    """Map a :class:`Scenario` to the model API: per arm the doses, ``build_model`` keywords and population.

    Every arm gets the same population draws (same seed, same random effects), so arms are compared on the
    same virtual subjects; an arm's covariates, when given, replace the population's.
    ``[[source]]`` choices of ``Ki``/``Kd``/``tau`` also go to ``build_model(sources=...)`` so that the model
    uses the chosen affinity and efficacy (the others act through the library's preferred rows).
    """
    lib = scenario_library(scenario, library)
    m = scenario.model
    pd_sources = {}
    for s in scenario.sources:
        key = {"Ki": "K", "Kd": "K", "tau": "tau"}.get(s.quantity)
        if key is not None:
            for r in m.receptors:
                if s.target == r:
                    pd_sources[(key, s.compound, r)] = s.source
    arms = []
    for arm in scenario.arms:
        doses = None
        for d in arm.doses:
            ev = _dose_events(d, lib)
            doses = ev if doses is None else doses + ev
        for table in arm.events:
            ev = _event_doses(table, lib)
            doses = ev if doses is None else doses + ev
        dor = arm.dor_efficacy if arm.dor_efficacy is not None else m.dor_efficacy
        kwargs = {
            "receptors": m.receptors,
            "binding": dict(m.binding),
            "affinity": m.affinity,
            "dor_efficacy": None if dor == _DEFAULT else dor,
            "tolerance": m.tolerance,
            "sources": dict(pd_sources),
        }
        if m.endpoints is not None:
            kwargs["endpoints"] = m.endpoints
        covariates = arm.covariates if arm.covariates is not None else scenario.population.covariates
        arms.append(ArmInputs(name=arm.name, doses=doses, build_kwargs=MappingProxyType(kwargs),
                              population=_population(scenario, covariates), description=arm.description))
    return ModelInputs(t_h=scenario.time.t_h(), library=lib, arms=tuple(arms))
