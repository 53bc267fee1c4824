"""Scenario files: a situation described once in TOML, checked key by key, read into a Study.

A scenario names one or more *arms* (sets of doses compared side by side on the same virtual population:
"kratom alone", "morphine alone", "morphine on top of kratom"), the population, the receptors and
endpoints, the choice of source per parameter, the time grid and the outputs. :func:`load` reads a file,
:func:`loads` TOML text and :func:`from_dict` the same tree as plain Python data (tests, programmatic use);
each returns a :class:`pharmsim.study.Study` (arms x population x time grid, the model options, the library
with the scenario's what-if values and source choices applied), which :func:`pharmsim.study.run_study`
runs. :func:`check` does every check that running does, short of solving.

Every key is checked. An error is one :class:`~pharmsim.validate.PharmsimError` whose message names the
key path (``arm[0].dose[1].amout_g``; indices count from 0 in the order the tables appear in the file),
the value and what was expected, and suggests the nearest valid key for a typo.

Schema (every key optional unless marked *required*)::

    name, title, description          strings (name defaults to the file stem)
    [time]          end_h (required, > 0), step_h (> 0, default 0.25), start_h (>= 0, default 0)
    [[arm]]         name (required, unique), description, dor_efficacy (overrides model.dor_efficacy),
                    [arm.covariates] (overrides population.covariates, same keys),
                    [[arm.covariate_changes]] (replaces population.covariate_changes for this arm; an empty
                    array ``covariate_changes = []``: none)
      [[arm.dose]]  what (required: a product form 'leaf powder' | 'capsule' | 'tea' | 'extract', or a compound
                    id/alias with a human PK model), amount_g | amount_mg (exactly one, > 0), route (compounds:
                    'iv' or one of the compound's routes, default 'oral' where it has one; products are taken
                    by mouth, their form is their route), mg_percent, oh_percent (product content, % w/w),
                    label, and the times: times_h = [...]  |  start_h + interval_h + n_doses  |
                    start_h + times_per_day + days  |  start_h alone (one dose);
                    steady_state (0, 1 or 2: the first dose at steady state, NONMEM's SS; with ii_h, or the
                    regimen's interval), ii_h (h), duration_h (h, > 0: zero-order infusions)
      [[arm.events]] file (required; NONMEM CSV ID,TIME,AMT,EVID,CMT[,RATE,II,ADDL,DUR,SS], relative to the
                    scenario file), what (required), unit ('g' | 'mg', default g for products, mg for
                    compounds), route; every CMT doses ``what``
    [[dose]], [[events]]  at top level: shorthand for one arm named "main"
    [population]    n (default 1), seed (default 0), omega = "library" (the published variability,
                    data/variability.csv; the default when n > 1) or [population.omega] {PK parameter = SD of
                    log}, e.g. MG.CL_L_per_h = 0.3, each with [population.omega_sources] {parameter = "source"};
                    [population.correlation] {"P1,P2" = r};
                    [population.covariates] body_weight_kg (number, or {median, sd_log}),
                    cyp3a4_inhibitor ('none' | 'moderate' | 'strong'),
                    hepatic_impairment ('none' | 'mild' | 'moderate' | 'severe');
                    [[population.covariate_changes]] time_h (required, > 0, increasing, <= time.end_h) and one or
                    more of body_weight_kg, cyp3a4_inhibitor, hepatic_impairment: from time_h on (last value
                    carried forward), e.g. a CYP3A4 inhibitor started on day 5 (time_h = 96);
                    [population.iov] {PK parameter = SD of log between occasions}, each with
                    [population.iov_sources] {parameter = "source"}; occasions_h = [...] (h, > 0, increasing:
                    when each occasion after the first starts)
    [model]         receptors (default ["MOR", "DOR"]), endpoints (default: all at those receptors),
                    binding ('kinetic' | 'equilibrium' or {MOR = ..., DOR = ...}; default 'kinetic'),
                    affinity ('functional' | 'in vitro' | 'binding'), dor_efficacy ('default' = the library's
                    preferred source, or the name of a source with a DOR tau row for MG/7-OH-MG), tolerance
                    (false, or the mechanism that drives desensitisation: 'gprotein' | 'arrestin' | 'both' -
                    always named, never a default),
                    max_step_h (largest integration step of kinetic binding and tolerance, h, default 0.25)
    [[value]]       quantity, compound, target, value, unit (required), pathway ('-'), source ('scenario'),
                    note, preferred (true): a what-if value added to the library, status 'assumption'
    [[source]]      quantity, compound, target, source (required), pathway: use that source's value
    [output]        figures (bool), per_subject_csv (bool), report (bool)

Not for: simulating (see :mod:`pharmsim.study`) or writing files (see :mod:`pharmsim.cli`).
This software is for teaching and research, not dosing advice.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from . import _toml
from ._toml import Table as _Table
from ._toml import number as _number
from ._toml import show as _show
from ._toml import suggest_key as _suggest_key
from .catalog import catalog
from .dosing import Doses
from .output import may_show
from .population import CYP3A4_LEVELS, HEPATIC_LEVELS, WEIGHT_RANGE_KG, Covariates
from .schedule import CovariateChange
from .study import Arm, ModelOptions, PopulationSpec, Study
from .validate import PharmsimError, suggest

__all__ = [
    "DISCLAIMER",
    "check",
    "from_dict",
    "load",
    "loads",
    "shipped_scenario_path",
    "shipped_scenarios",
]

DISCLAIMER = "pharmsim is for teaching and research, not dosing advice."

_BINDING_MODES = ("kinetic", "equilibrium")
_AFFINITY = ("functional", "in vitro", "binding")
_TOLERANCE_MECHANISMS = ("gprotein", "arrestin", "both")
_MAX_TIME_POINTS = 200_000
_MAX_SUBJECTS = 1_000_000
_MAX_DOSES = 100_000
#: Largest scenario file and event table read (bytes): far above any real one (the shipped scenarios are a few
#: kB; 100,000 event rows are a few MB), small enough that a wrong path (a disk image, a log) is refused
#: before it is read into memory.
_MAX_FILE_BYTES = 64 * 2**20
_DEFAULT = "default"


@dataclass(frozen=True)
class _Dose:
    """One [[dose]] table as read: doses of one product form or compound at the given times."""

    what: str
    amount: float
    unit: str
    route: str
    times_h: tuple[float, ...]
    is_product: bool
    contents: dict
    label: str = ""
    ss: int = 0
    ii_h: float = 0.0
    duration_h: float = 0.0


@dataclass(frozen=True)
class _EventTable:
    """One [[events]] table: a NONMEM-style dosing table of one product or compound."""

    path: Path
    what: str
    unit: str
    route: str
    is_product: bool
    contents: dict
    doses: Doses | None = None      # as read, in nmol (set once the table has been checked)


# --------------------------------------------------------------------------------------------------
# what the package knows (the catalogue): the context of one reading
# --------------------------------------------------------------------------------------------------


@dataclass
class _Context:
    library: object
    forms: tuple[str, ...]
    routes: dict            # compound id -> routes of its default human PK model ('iv' first)
    pk_parameters: tuple    # qualified PK parameter names (for population.omega)
    receptors: tuple[str, ...]
    endpoints: tuple[str, ...]
    t_end_h: float = 0.0
    base_dir: Path | None = None
    population: PopulationSpec | None = None


def _context(library) -> _Context:
    cat = catalog(library)
    dosable = [c for c in cat.pk_compounds() if cat.parent(c) is None or cat.routes(c)]
    pk = cat.pk_model(cat.pk_compounds())
    routes = {c: ("iv", *cat.routes(c)) for c in dosable}
    return _Context(library=cat.library, forms=cat.product_forms(), routes=routes,
                    pk_parameters=tuple(pk.parameter_info), receptors=cat.receptors(), endpoints=cat.endpoint_names())


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


def _read_time(root: _Table) -> np.ndarray:
    """The output grid ``start_h, start_h + step_h, ..., end_h`` (h); ``end_h`` is always included."""
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
            f"time.step_h gives {_count_text(n)} time points from {start_h:g} to {end_h:g} h; expected at most "
            f"{_MAX_TIME_POINTS} (use a coarser step_h); got step_h = {step_h:g}"
        )
    n = int(np.floor((end_h - start_h) / step_h + 1e-9))
    t = start_h + step_h * np.arange(n + 1, dtype=float)
    if end_h - t[-1] > 1e-9 * max(1.0, end_h):
        t = np.append(t, end_h)
    return t


def _count_text(n: float) -> str:
    """A large count for a message: ``1,000,000,000`` up to 10^15, ``2.4e+301`` beyond."""
    return f"{n:,.0f}" if n < 1e15 else f"{n:.3g}"


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
              "times_per_day", "days", "mg_percent", "oh_percent", "contents", "steady_state", "ii_h", "duration_h")


def _read_contents(d: _Table, what: str, is_product: bool, ctx: _Context) -> dict:
    """Product contents (% w/w) given in the dose table: ``mg_percent``, ``oh_percent`` or ``[contents]``."""
    keys = [k for k in ("mg_percent", "oh_percent", "contents") if k in d.data]
    if not keys:
        return {}
    if not is_product:
        raise PharmsimError(f"{d.key(keys[0])} applies to product forms only; {d.key('what')} is the compound {what!r}")
    from .products import SHORTHANDS  # noqa: PLC0415

    out = {}
    for key, cid in SHORTHANDS.items():
        v = d.number(key, None, minimum=0.0, unit="% w/w")
        if v is not None:
            out[cid] = (d.key(key), v)
    c_t = d.table("contents", None)
    if c_t is not None:
        for name in list(c_t.data):
            cid = _compound_id(ctx.library, c_t.key(name), name)
            if cid in out:
                raise PharmsimError(f"{c_t.key(name)} gives the {cid} content a second time (also {out[cid][0]})")
            out[cid] = (c_t.key(name), c_t.number(name, minimum=0.0, unit="% w/w"))
        c_t.done()
    for key, v in out.values():
        if v > 100:
            raise PharmsimError(f"{key} must be a percentage in [0, 100] (% w/w); got {v:g}")
    return {cid: v for cid, (_, v) in out.items()}


def _read_dose(d: _Table, ctx: _Context) -> _Dose:
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
    contents = _read_contents(d, what, is_product, ctx)
    if is_product:
        from .products import Product  # noqa: PLC0415

        try:
            Product(what, amount, contents=contents).contents_percent(ctx.library)
        except PharmsimError as err:
            raise PharmsimError(f"{d.path}: {err}") from None
    label = d.string("label", "")
    ss = d.integer("steady_state", 0, minimum=0, maximum=2)
    ii_h = d.number("ii_h", 0.0, minimum=0.0, unit="h")
    duration_h = d.number("duration_h", 0.0, minimum=0.0, unit="h")
    times = _dose_times(d)
    d.done()
    if ss and ii_h == 0.0:
        if len(times) < 2:
            raise PharmsimError(f"{d.key('steady_state')} = {ss} needs the dosing interval: give {d.key('ii_h')} (h) "
                                "or a regimen of at least two doses")
        ii_h = float(times[1] - times[0])
    late = [t for t in times if t > ctx.t_end_h]
    if late:
        raise PharmsimError(
            f"{d.path} has a dose at {late[0]:g} h, after the end of the simulation (time.end_h = "
            f"{ctx.t_end_h:g} h); expected every dose time <= time.end_h"
        )
    return _Dose(what=what, amount=amount, unit=unit, route=route, times_h=times, is_product=is_product,
                 contents=contents, label=label, ss=ss, ii_h=ii_h, duration_h=duration_h)


def _read_events(e: _Table, ctx: _Context) -> _EventTable:
    e.expect("file", "what", "unit", "route", "mg_percent", "oh_percent", "contents")
    file = e.string("file")
    what, is_product = _what(e, ctx)
    unit = e.string("unit", "g" if is_product else "mg", choices=("g", "mg"))
    route = _route(e, what, is_product, ctx)
    contents = _read_contents(e, what, is_product, ctx)
    e.done()
    base = ctx.base_dir or Path.cwd()
    path = Path(file)
    if not path.is_absolute():
        path = base / path
    if not path.is_file():
        what_is = "not a file" if path.exists() else "no such file"
        raise PharmsimError(
            f"{e.key('file')}: {what_is} {str(path)!r}; got {file!r} (paths are relative to the scenario file)"
        )
    table = _EventTable(path=path, what=what, unit=unit, route=route, is_product=is_product, contents=contents)
    try:
        _check_event_file(table)
        try:
            doses = _event_doses(table, ctx.library, ctx.base_dir)
        except PharmsimError as err:          # a cell of the table: say the units the scenario reads it in
            raise PharmsimError(f"{err}{_event_units(table)}") from None
        n_ids = doses.n_subjects
        n = ctx.population.n
        if doses.n_events == 0:
            raise PharmsimError("has no dose rows (EVID 1); expected at least one dose")
        if n_ids > 1 and n_ids != n:
            raise PharmsimError(f"doses {n_ids} subjects (IDs); expected one ID or population.n ({n}) IDs")
        late = doses.time_h[doses.time_h > ctx.t_end_h]
        if late.size:
            raise PharmsimError(f"has a dose at {late[0]:g} h, after time.end_h = {ctx.t_end_h:g} h")
        early = doses.time_h[doses.time_h < 0]
        if early.size:
            raise PharmsimError(f"has a dose at {early[0]:g} h; expected dose times >= 0 h (a simulation starts "
                                "at 0 h with nothing in the body)")
        table = replace(table, doses=doses)
    except PharmsimError as err:
        if not may_show(path, base):     # say nothing the file holds: it lies outside the scenario's folder
            raise PharmsimError(
                f"{e.key('file')} ({path.name}) is not a usable event table; what is wrong is not shown because "
                f"the file lies outside the scenario's folder ({str(base)!r}): copy it next to the scenario file "
                "to see the details") from None
        raise PharmsimError(f"{e.key('file')} ({path.name}): {err}") from None
    return table


def _event_units(table: _EventTable) -> str:
    """The units of an event table's columns as the scenario reads them, for its error messages."""
    of = f"{table.unit} of {table.what}"
    return f" (in this table AMT is in {of}, RATE in {table.unit}/h of {table.what}; TIME, II and DUR in h)"


def _check_event_file(table: _EventTable) -> None:
    """What the scenario bounds before an event table is expanded: the file's size and the number of doses
    it asks for (its rows plus every ADDL), at most :data:`_MAX_DOSES` as for a [[dose]] table."""
    import pandas as pd  # noqa: PLC0415

    size = table.path.stat().st_size
    if size > _MAX_FILE_BYTES:
        raise PharmsimError(f"is {size / 2**20:,.0f} MB; expected an event table of at most "
                            f"{_MAX_FILE_BYTES // 2**20} MB")
    try:
        df = pd.read_csv(table.path)
    except (OSError, ValueError) as err:
        raise PharmsimError(f"cannot read the event table: {err}") from None
    df.columns = [str(c).strip().upper() for c in df.columns]
    if len(df) == 0:
        raise PharmsimError("has no rows (only a header); expected at least one dose row (EVID 1)")
    if "ADDL" not in df.columns or "EVID" not in df.columns:
        return
    evid = pd.to_numeric(df["EVID"], errors="coerce").to_numpy()
    addl = pd.to_numeric(df["ADDL"], errors="coerce").to_numpy()
    count = np.where((evid == 1) & np.isfinite(addl) & (addl >= 0), addl + 1, 0.0)
    total = float(np.sum(count))
    if total > _MAX_DOSES:
        row = int(np.argmax(np.cumsum(count) > _MAX_DOSES))
        raise PharmsimError(
            f"asks for {_count_text(total)} doses (rows plus ADDL; column 'ADDL', row {row}: "
            f"{_count_text(addl[row])}); expected at most {_MAX_DOSES:,} doses in one event table")


def _times_text(times) -> str:
    if len(times) <= 4:
        return ", ".join(f"{t:g}" for t in times) + " h"
    return f"{len(times)} times from {times[0]:g} to {times[-1]:g} h"


def _dose_label(d: _Dose) -> str:
    text = f"{d.amount:g} {d.unit} {d.what}{'' if d.is_product else ' ' + d.route} at {_times_text(d.times_h)}"
    return f"{d.label}: {text}" if d.label else text


def _read_arm(a: _Table, name_default, ctx: _Context) -> Arm:
    name = a.string("name") if name_default is None else name_default
    description = a.string("description", "") if name_default is None else ""
    covariates = dor = changes = None
    if name_default is None:
        cov_t = a.table("covariates", None)
        covariates = None if cov_t is None else _read_covariates(cov_t, ctx.population.covariates)
        if a.has("covariate_changes"):
            changes = _read_covariate_changes(a, ctx)
        dor = a.string("dor_efficacy", None)
        if dor is not None:
            _check_dor_source(a.key("dor_efficacy"), dor, ctx.library)
            dor = None if dor == _DEFAULT else dor
    doses = [_read_dose(d, ctx) for d in a.tables("dose")]
    events = [_read_events(e, ctx) for e in a.tables("events")]
    if not doses and not events:
        prefix = "arm." if a.path else ""
        raise PharmsimError(
            f"{a.path or 'scenario'} has no doses; expected at least one [[{prefix}dose]] or [[{prefix}events]] table"
        )
    all_doses = Doses()
    for d in doses:
        all_doses = all_doses + _dose_events(d, ctx.library)
    for e in events:
        all_doses = all_doses + e.doses
    labels = tuple(_dose_label(d) for d in doses) + tuple(f"event table {e.path.name} ({e.what})" for e in events)
    return Arm(name=name, doses=all_doses, description=description, dose_labels=labels, covariates=covariates,
               dor_efficacy=dor, covariate_changes=changes)


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
        a.expect("name", "description", "dose", "events", "covariates", "dor_efficacy", "covariate_changes")
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
    p.expect("n", "seed", "omega", "omega_sources", "correlation", "covariates", "covariate_changes", "iov",
             "iov_sources", "occasions_h")
    n = p.integer("n", 1, minimum=1, maximum=_MAX_SUBJECTS)
    seed = p.integer("seed", 0, minimum=0)
    library_omega = isinstance(p.data.get("omega"), str)
    if library_omega:
        p.string("omega", choices=("library",))
    table = _read_sd_table(p, "omega", "omega_sources", ctx, each="omega", every="omega",
                           examples="'MG.CL_L_per_h', 'MG.V_L', 'morphine.CL_L_per_h'",
                           hint=' (or omega = "library" for the published variability, data/variability.csv)',
                           read_table=not library_omega)
    omega: dict[str, float] | str
    if library_omega or (table is None and n > 1):
        omega = "library"   # given, or a population with no omega: the published variability (stated in the notes)
    else:
        omega = {} if table is None else table
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
                if not isinstance(omega, dict) or part not in omega:
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
    changes = _read_covariate_changes(p, ctx) if p.has("covariate_changes") else ()
    iov = _read_sd_table(p, "iov", "iov_sources", ctx, each="value", every="between-occasion variability value",
                         examples="'MG.CL_L_per_h'") or {}
    occasions = ()
    if p.has("occasions_h"):
        occasions = p.numbers("occasions_h", minimum=0.0, unit="h")
        for i, x in enumerate(occasions):
            key = f"{p.key('occasions_h')}[{i}]"
            if x <= 0:
                raise PharmsimError(f"{key} must be a time > 0 h (occasion 0 starts at 0 h; list when each later "
                                    f"occasion starts); got {x:g}")
            if i and x <= occasions[i - 1]:
                raise PharmsimError(f"{key} = {x:g} h must come after {p.key('occasions_h')}[{i - 1}] = "
                                    f"{occasions[i - 1]:g} h (strictly increasing)")
    if occasions and not iov:
        raise PharmsimError(f"{p.key('occasions_h')} is given but [population.iov] is not: occasions only matter with "
                            "between-occasion variability")
    p.done()
    return PopulationSpec(n=n, seed=seed, omega=omega, correlation=corr, covariates=cov, covariate_changes=changes,
                          iov=iov, occasions_h=occasions)


def _read_sd_table(p: _Table, name: str, sources_name: str, ctx: _Context, *, each: str, every: str, examples: str,
                   hint: str = "", read_table: bool = True) -> dict[str, float] | None:
    """``{PK parameter: SD of log}`` of ``[population.<name>]`` (None when there is no such table, or when
    ``read_table`` is False: its value is not a table), every entry with a source in
    ``[population.<sources_name>]``, and every source naming an entry. ``each`` / ``every`` / ``examples`` /
    ``hint`` word the messages."""
    table = p.table(name, None) if read_table else None
    src_t = p.table(sources_name, None)
    sources = {}
    for k, (key, value) in ({} if src_t is None else _flatten(src_t)).items():
        if not isinstance(value, str):
            raise PharmsimError(f"{key} must be text naming the source of that {each}; got {_show(value)}")
        sources[k] = value
    out = {}
    for k, (key, value) in ({} if table is None else _flatten(table)).items():
        if k not in ctx.pk_parameters:
            raise PharmsimError(f"{key} is not a PK parameter (value {_show(value)}); expected a name such as "
                                f"{examples}{suggest(k, ctx.pk_parameters)}")
        out[k] = _number(key, value, minimum=0.0, unit="SD of log")
        if not sources.get(k, "").strip():
            raise PharmsimError(f"{key} = {_show(value)} has no source: every {every} needs one, e.g. "
                                f"[population.{sources_name}] \"{k}\" = \"Smith 2020, Table 2\"{hint}")
    for k in sources:
        if k not in out:
            raise PharmsimError(f"population.{sources_name}.{k} names no [population.{name}] entry"
                                f"{suggest(k, list(out))}")
    return None if table is None else out


def _read_covariate_changes(parent: _Table, ctx: _Context) -> tuple[CovariateChange, ...]:
    """``[[<parent>.covariate_changes]]``: each with time_h and the covariates it changes, sorted by time."""
    raw = parent.data.get("covariate_changes")
    if isinstance(raw, list) and not raw:
        parent.taken.append("covariate_changes")
        return ()
    out: list[CovariateChange] = []
    for c in parent.tables("covariate_changes"):
        c.expect("time_h", "body_weight_kg", "cyp3a4_inhibitor", "hepatic_impairment")
        t = c.number("time_h", unit="h")
        if t <= 0:
            raise PharmsimError(f"{c.key('time_h')} must be a time > 0 h (the values from 0 h are the covariates' "
                                f"own); got {t:g}")
        if t > ctx.t_end_h:
            raise PharmsimError(f"{c.key('time_h')} = {t:g} h is after the end of the simulation (time.end_h = "
                                f"{ctx.t_end_h:g} h); expected a change time <= time.end_h")
        if out and t <= out[-1].time_h:
            raise PharmsimError(f"{c.key('time_h')} = {t:g} h must come after the previous change "
                                f"({out[-1].time_h:g} h): list the changes in time order, one per time")
        kw = {}
        if "body_weight_kg" in c.data:
            w = c.number("body_weight_kg", minimum=0.0, strict=True, unit="kg")
            lo, hi = WEIGHT_RANGE_KG
            if not lo <= w <= hi:
                raise PharmsimError(f"{c.key('body_weight_kg')} must be an adult body weight in [{lo:g}, {hi:g}] kg; "
                                    f"got {w:g}")
            kw["body_weight_kg"] = w
        if "cyp3a4_inhibitor" in c.data:
            kw["cyp3a4_inhibitor"] = c.string("cyp3a4_inhibitor", choices=CYP3A4_LEVELS)
        if "hepatic_impairment" in c.data:
            kw["hepatic_impairment"] = c.string("hepatic_impairment", choices=HEPATIC_LEVELS)
        if not kw:
            raise PharmsimError(f"{c.path} changes nothing; expected time_h and at least one of body_weight_kg, "
                                "cyp3a4_inhibitor, hepatic_impairment")
        c.done()
        out.append(CovariateChange(time_h=t, **kw))
    return tuple(out)


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


def _read_model(root: _Table, ctx: _Context) -> ModelOptions:
    m = root.table("model", None)
    if m is None:
        return ModelOptions(receptors=ctx.receptors)
    m.expect("receptors", "endpoints", "binding", "affinity", "dor_efficacy", "tolerance", "max_step_h")
    receptors = m.strings("receptors", ctx.receptors, choices=ctx.receptors)
    if not receptors:
        raise PharmsimError(f"model.receptors must list at least one of {', '.join(ctx.receptors)}; got []")
    endpoints = m.strings("endpoints", None, choices=ctx.endpoints)
    if endpoints is not None:
        cat = catalog(ctx.library)
        for e in endpoints:
            if cat.endpoint_receptor(e) not in receptors:
                raise PharmsimError(
                    f"model.endpoints names {e!r}, read at {cat.endpoint_receptor(e)}, which is not in "
                    f"model.receptors ({', '.join(receptors)})"
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
    _check_dor_source("model.dor_efficacy", dor, ctx.library)
    tolerance = False
    if "tolerance" in m.data and m.raw("tolerance") is not False:
        if m.raw("tolerance") is True:
            raise PharmsimError(f"{m.key('tolerance')} must name the desensitisation mechanism, one of "
                                f"{', '.join(map(repr, _TOLERANCE_MECHANISMS))}, or be false; got true. No mechanism "
                                "is a default: it decides whether the partial agonists develop tolerance")
        tolerance = m.string("tolerance", choices=_TOLERANCE_MECHANISMS)
    max_step_h = m.number("max_step_h", ModelOptions.max_step_h, minimum=0.0, strict=True, unit="h")
    m.done()
    return ModelOptions(receptors=receptors, endpoints=endpoints, binding=binding, affinity=affinity,
                        dor_efficacy=None if dor == _DEFAULT else dor, tolerance=tolerance, max_step_h=max_step_h)


def _check_dor_source(key: str, source: str, library) -> None:
    """``source`` must be 'default' or a source with a G-protein tau row at DOR in the library."""
    if source == _DEFAULT:
        return
    names = list(catalog(library).efficacy_sources("DOR"))
    if source not in names:
        raise PharmsimError(
            f"{key} must be 'default' (the library's preferred source) or a source with a G-protein tau at DOR "
            f"({'; '.join(repr(n) for n in names) or 'none'}); got {source!r}"
            f"{_suggest_key(source, [_DEFAULT, *names])}"
        )


def _read_values(root: _Table, ctx: _Context) -> list[str]:
    """``[[value]]`` what-if rows, added to ``ctx.library``; returns what was changed, in words."""
    changes = []
    for v in root.tables("value"):
        v.expect("quantity", "compound", "target", "pathway", "value", "unit", "source", "note", "preferred")
        quantity = v.string("quantity")
        compound = _compound_id(ctx.library, v.key("compound"), v.string("compound"))
        target = v.string("target")
        value = v.number("value")
        unit = v.string("unit")
        pathway = v.string("pathway", "-")
        source = v.string("source", "scenario")
        note = v.string("note", "") or "what-if value set in the scenario file"
        preferred = v.boolean("preferred", True)
        v.done()
        lib = ctx.library
        previous = None
        if not preferred and lib.has(quantity, compound, target, pathway=pathway):
            previous = lib.parameter(quantity, compound, target, pathway=pathway)
        try:
            lib = lib.with_value(quantity, compound, target, value, unit, pathway=pathway, source=source,
                                 status="assumption", note=note, assay="scenario file")
            if previous is not None:
                lib = lib.prefer(quantity, compound, target, previous.source, pathway=pathway, assay=previous.assay)
        except PharmsimError as err:
            raise PharmsimError(f"{v.path}: {err}") from None
        ctx.library = lib
        changes.append(f"what-if value (scenario file): {quantity} of {compound} at {target} = {value:g} {unit} "
                       f"(source {source!r}, {'preferred' if preferred else 'not preferred'}): {note}")
    return changes


def _read_sources(root: _Table, ctx: _Context) -> tuple[list[str], dict]:
    """``[[source]]`` choices, made the library's preferred rows; returns the changes in words and the PD
    ``(K|tau, compound, receptor) -> source`` choices for the model."""
    changes, pd_sources = [], {}
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
        try:
            ctx.library = ctx.library.prefer(quantity, compound, target, source, pathway=pathway)
        except PharmsimError as err:
            raise PharmsimError(f"{s.path}: {err}") from None
        key = {"Ki": "K", "Kd": "K", "tau": "tau"}.get(quantity)
        if key is not None and target in ctx.receptors:
            pd_sources[(key, compound, target)] = source
        changes.append(f"source chosen (scenario file): {quantity} of {compound} at {target} from {source!r}")
    return changes, pd_sources


def _read_output(root: _Table) -> dict:
    o = root.table("output", None)
    if o is None:
        return {"figures": True, "per_subject_csv": False, "report": True}
    o.expect("figures", "per_subject_csv", "report")
    spec = {"figures": o.boolean("figures", True), "per_subject_csv": o.boolean("per_subject_csv", False),
            "report": o.boolean("report", True)}
    o.done()
    return spec


# --------------------------------------------------------------------------------------------------
# public entry points
# --------------------------------------------------------------------------------------------------


def from_dict(data: dict, *, base_dir: str | Path | None = None, library=None, name: str = "scenario",
              text: str = "") -> Study:
    """A validated :class:`pharmsim.study.Study` from a plain nested dict with the TOML file's structure.

    Parameters
    ----------
    data : dict
        The scenario tree (what :func:`tomllib.loads` returns for a scenario file).
    base_dir : path, optional
        Folder against which relative event-table paths are resolved (default: the working directory).
    library : pharmsim.library.Library, optional
        Library used to check compounds, routes and sources (default: the shipped data).
    name : str
        Scenario name when the data has no ``name`` key.
    text : str
        The source text, kept for the report.

    Raises
    ------
    PharmsimError
        On the first key that is unknown, of the wrong type or out of range (the message names the key path).
    """
    ctx = _context(catalog(library).library)
    ctx.base_dir = Path(base_dir) if base_dir is not None else None
    root = _Table(data, "").expect("name", "title", "description", "time", "arm", "dose", "events", "population",
                                   "model", "value", "source", "output")
    name = root.string("name", name)
    title = root.string("title", "")
    description = root.string("description", "")
    t_h = _read_time(root)
    ctx.t_end_h = float(t_h[-1])
    ctx.population = _read_population(root, ctx)
    changes = _read_values(root, ctx)          # what-if values first: sources and DOR choices may name them
    src_changes, pd_sources = _read_sources(root, ctx)
    model = _read_model(root, ctx)
    model = ModelOptions(receptors=model.receptors, endpoints=model.endpoints, binding=model.binding,
                         affinity=model.affinity, dor_efficacy=model.dor_efficacy, tolerance=model.tolerance,
                         max_step_h=model.max_step_h,
                         sources=pd_sources)
    arms = _read_arms(root, ctx)
    output = _read_output(root)
    root.done()
    return Study(arms=arms, t_h=t_h, population=ctx.population, model=model, library=ctx.library, name=name,
                 title=title, description=description, library_changes=tuple(changes + src_changes),
                 figures=output["figures"], report=output["report"], per_subject_csv=output["per_subject_csv"],
                 text=text)


def loads(text: str, *, base_dir: str | Path | None = None, library=None, name: str = "scenario") -> Study:
    """A validated :class:`pharmsim.study.Study` from TOML text; a TOML syntax error becomes a PharmsimError."""
    if not isinstance(text, str):
        raise PharmsimError(f"text must be the TOML text of a scenario (a str); got {type(text).__name__}"
                            + (f" {text!r}"[:80] if isinstance(text, (int, float)) else ""))
    return from_dict(_toml.parse(text, name), base_dir=base_dir, library=library, name=name, text=text)


def load(path: str | Path, *, library=None) -> Study:
    """A validated :class:`pharmsim.study.Study` from a TOML file; errors start with the file name, then the key
    path. ``path`` may also be the name of a shipped scenario (``'demo'``, see :func:`shipped_scenarios`)."""
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
        raise PharmsimError(f"scenario must be the path of a .toml file or the name of a shipped scenario "
                            f"({', '.join(shipped_scenarios())}); got {type(path).__name__} {path!r}"[:300])
    p = Path(path)
    if not p.exists() and p.suffix == "" and str(path) in shipped_scenarios():
        p = shipped_scenario_path(str(path))
    if p.exists() and not p.is_file():
        raise PharmsimError(f"scenario file {str(path)!r} is not a regular file (a folder, a device or a pipe); "
                            "expected a .toml file")
    if not p.is_file():
        raise PharmsimError(
            f"scenario file {str(path)!r} does not exist; expected a .toml file or the name of a shipped "
            f"scenario ({', '.join(shipped_scenarios())}){suggest(str(path), shipped_scenarios())}"
        )
    try:
        size = p.stat().st_size
        if size > _MAX_FILE_BYTES:
            raise PharmsimError(f"scenario file {str(p)!r} is {size / 2**20:,.0f} MB; expected a scenario of at "
                                f"most {_MAX_FILE_BYTES // 2**20} MB (is it the right file?)")
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise PharmsimError(f"scenario file {str(p)!r} cannot be read: {err}") from None
    data = _toml.parse(text, p.name)
    try:
        return from_dict(data, base_dir=p.resolve().parent, library=library, name=p.stem, text=text)
    except PharmsimError as err:
        raise PharmsimError(f"{p.name}: {err}") from None


def check(path_or_study, *, library=None) -> dict:
    """Every semantic check that running the scenario makes, short of solving (see
    :meth:`pharmsim.study.Study.check`): returns the study's size figures."""
    study = path_or_study if isinstance(path_or_study, Study) else load(path_or_study, library=library)
    return study.check()


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
# doses of the tables
# --------------------------------------------------------------------------------------------------


def _nmol_per_unit(dose_like, library) -> dict[str, float]:
    """nmol of each compound per unit amount (g of product or mg of compound)."""
    cat = catalog(library)
    if dose_like.is_product:
        from .products import Product  # noqa: PLC0415

        per_g = Product(dose_like.what, 1.0, contents=dose_like.contents).amounts_mg(cat)
        scale = 1.0 if dose_like.unit == "g" else 1e-3
        return {c: mg * scale * 1e6 / cat.molar_mass(c) for c, mg in per_g.items() if mg > 0}
    scale = 1.0 if dose_like.unit == "mg" else 1e3
    return {dose_like.what: scale * 1e6 / cat.molar_mass(dose_like.what)}


def _dose_events(d: _Dose, library) -> Doses:
    out = Doses()
    times = np.asarray(d.times_h, dtype=float)
    for compound, per_unit in _nmol_per_unit(d, library).items():
        ss = np.zeros(times.size, dtype=int)
        ss[0] = d.ss
        out = out + Doses(time_h=times, compound=(compound,) * times.size, route=(d.route,) * times.size,
                          amount_nmol=np.full(times.size, d.amount * per_unit),
                          duration_h=np.full(times.size, d.duration_h), ss=ss,
                          ii_h=np.full(times.size, d.ii_h if d.ss else 0.0))
    return out


def _event_doses(table: _EventTable, library, base_dir=None) -> Doses:
    """Doses (nmol, per subject when the table has several IDs) of a NONMEM event table.

    The table is checked first as written (its AMT and RATE in the user's unit), so that an error names the
    row, the column and the value as the user wrote it; then it is converted to nmol of each compound.
    """
    import pandas as pd  # noqa: PLC0415

    from .dosing import read_event_table  # noqa: PLC0415

    try:
        df = pd.read_csv(table.path)
    except (OSError, ValueError) as err:
        raise PharmsimError(f"cannot read the event table: {err}") from None
    df.columns = [str(c).strip().upper() for c in df.columns]
    cmts = list(df["CMT"].dropna().unique()) if "CMT" in df.columns else []
    cmts = cmts or [1]        # no CMT values: let the reader say what is missing (a column, the dose rows)
    factors = _nmol_per_unit(table, library)
    first = next(iter(factors))
    # checked as written: AMT in the scenario's unit (g of product or mg of compound), so that an error shows
    # the value and unit the user wrote; the amounts of this pass are not used
    read_event_table(df, {c: (first, table.route) for c in cmts}, amount_unit=table.unit,
                     molar_masses={first: catalog(library).molar_mass(first)}, library=library)
    out = Doses()
    for compound, per_unit in factors.items():
        scaled = df.copy()
        amt = pd.to_numeric(scaled["AMT"], errors="coerce")
        scaled["AMT"] = amt.where(amt.isna(), amt * per_unit)            # empty cells stay empty
        if "RATE" in scaled.columns:                                     # a rate, not the -1/-2 flags
            rate = pd.to_numeric(scaled["RATE"], errors="coerce")
            scaled["RATE"] = rate.where(~(rate > 0), rate * per_unit)
        part = read_event_table(scaled, {c: (compound, table.route) for c in cmts}, amount_unit="nmol",
                                library=library)
        out = out + part.doses
    return out
