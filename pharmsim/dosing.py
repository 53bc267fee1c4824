"""Dosing events: regimens, dose lists, infusions and NONMEM-style event tables, as amounts in nmol.

A :class:`Doses` is a plain, frozen table of events (time, compound, route, amount in nmol, infusion
duration). It is what :func:`pharmsim.pk.solve` consumes. Doses given in mg become nmol here, once,
through the compound's molar mass (``n[nmol] = m[mg] * 1e6 / M[g/mol]``), read from the library unless
given. A route name is the model's: ``'iv'`` doses into the central compartment, any other name (``'oral'``,
``'tea'``, ``'capsule'`` ...) into that route's depot, where bioavailability F and lag time apply.

Event tables follow the NONMEM convention (Beal & Sheiner, NONMEM Users Guide; also mrgsolve/rxode2):
``ID, TIME, AMT, EVID, CMT, RATE, II, ADDL`` (optional ``DUR``, ``SS``). EVID 0 = observation,
1 = dose, 2 = other event (ignored); EVID 3/4 (reset) and SS = 1 (steady state) are not supported and
are refused. ``RATE > 0`` makes an infusion of duration AMT/RATE; ``DUR > 0`` gives the duration directly.
``ADDL`` additional doses follow every ``II`` hours.

Not for: product composition (see :mod:`pharmsim.products`) or solving (see :mod:`pharmsim.pk`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .validate import PharmsimError, require_finite, require_nonnegative, require_positive

__all__ = ["Doses", "EventTable", "dose", "dose_list", "infusion", "regimen", "read_event_table", "molar_mass_of"]


def molar_mass_of(compound: str, library=None) -> tuple[str, float]:
    """``(compound id, molar mass in g/mol)`` read from the library (:func:`pharmsim.library.load_library`)."""
    if library is None:
        from .library import load_library

        library = load_library()
    c = library.compound(compound)
    return c.id, float(c.molar_mass_g_per_mol)


def _to_nmol(name: str, amount, unit: str, compound: str, library, molar_mass_g_per_mol):
    """Amounts (mg or nmol) -> (compound id, nmol)."""
    amount = require_nonnegative(name, amount, unit)
    if unit == "nmol":
        cid = compound if library is None else molar_mass_of(compound, library)[0]
        return cid, amount
    if unit not in ("mg", "ug", "g"):
        raise PharmsimError(f"amount unit must be 'mg', 'ug', 'g' or 'nmol'; got {unit!r}")
    if molar_mass_g_per_mol is None:
        cid, mw = molar_mass_of(compound, library)
    else:
        cid, mw = compound, float(require_positive("molar_mass_g_per_mol", molar_mass_g_per_mol, "g/mol"))
    to_mg = {"mg": 1.0, "ug": 1e-3, "g": 1e3}[unit]
    return cid, amount * to_mg * 1e6 / mw


def _empty_f():
    return np.zeros(0)


@dataclass(frozen=True)
class Doses:
    """Dosing events in working units.

    Parameters
    ----------
    time_h : (E,) array
        Event times (h). Lag times of the route are added by the solver, not here.
    compound : tuple of str, length E
        Compound id of each event (as in the model).
    route : tuple of str, length E
        ``'iv'`` or the name of an extravascular route of the model.
    amount_nmol : (E,) or (N, E) array
        Amount of each event (nmol, >= 0); a 2-D array gives N subjects their own amounts
        (zeros where a subject does not receive that event).
    duration_h : (E,) array
        0 for a bolus; > 0 for a zero-order infusion of rate ``amount / duration``.
    """

    time_h: np.ndarray = field(default_factory=_empty_f)
    compound: tuple[str, ...] = ()
    route: tuple[str, ...] = ()
    amount_nmol: np.ndarray = field(default_factory=_empty_f)
    duration_h: np.ndarray = field(default_factory=_empty_f)

    def __post_init__(self):
        s = object.__setattr__
        t = np.atleast_1d(require_finite("time_h", self.time_h, "h"))
        s(self, "time_h", t)
        s(self, "compound", tuple(str(c) for c in self.compound))
        s(self, "route", tuple(str(r) for r in self.route))
        a = np.atleast_1d(require_nonnegative("amount_nmol", self.amount_nmol, "nmol"))
        s(self, "amount_nmol", a)
        d = np.atleast_1d(require_nonnegative("duration_h", self.duration_h, "h"))
        if d.size == 0 and t.size:
            d = np.zeros_like(t)
        s(self, "duration_h", d)
        E = t.size
        if d.shape == t.shape:
            lost = (d > 0) & (t + d == t)
            if lost.any():
                i = int(np.argmax(lost))
                raise PharmsimError(
                    f"duration_h = {float(d[i])!r} h of the dose at time_h = {float(t[i])!r} h is too short to be "
                    "told apart from a bolus in floating point (start + duration == start); give duration_h = 0 "
                    "(a bolus) or a longer infusion")
        if t.ndim != 1 or len(self.compound) != E or len(self.route) != E or d.shape != (E,) \
                or a.shape[-1:] != (E,) or a.ndim > 2:
            raise PharmsimError(
                "time_h, compound, route, duration_h must all have one length E and amount_nmol shape (E,) or "
                f"(N, E); got {t.shape}, {len(self.compound)}, {len(self.route)}, {d.shape}, {a.shape}"
            )

    @property
    def n_events(self) -> int:
        return int(self.time_h.size)

    @property
    def n_subjects(self) -> int:
        """N when amounts are per subject, else 1."""
        return int(self.amount_nmol.shape[0]) if self.amount_nmol.ndim == 2 else 1

    def __add__(self, other: Doses) -> Doses:
        if not isinstance(other, Doses):
            return NotImplemented
        a, b = self.amount_nmol, other.amount_nmol
        if a.ndim == 2 or b.ndim == 2:
            n = {x.shape[0] for x in (a, b) if x.ndim == 2}
            if len(n) > 1:
                raise PharmsimError(f"cannot add Doses for different numbers of subjects: {sorted(n)}")
            N = n.pop()
            a = np.broadcast_to(a, (N, a.shape[-1]))
            b = np.broadcast_to(b, (N, b.shape[-1]))
        return Doses(
            time_h=np.concatenate([self.time_h, other.time_h]),
            compound=self.compound + other.compound,
            route=self.route + other.route,
            amount_nmol=np.concatenate([a, b], axis=-1),
            duration_h=np.concatenate([self.duration_h, other.duration_h]),
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per event (and subject when amounts are per subject)."""
        amounts = np.atleast_2d(self.amount_nmol)
        rows = []
        for i, amt in enumerate(amounts):
            for e in range(self.n_events):
                rows.append({"subject": i, "time_h": self.time_h[e], "compound": self.compound[e],
                             "route": self.route[e], "amount_nmol": amt[e], "duration_h": self.duration_h[e]})
        return pd.DataFrame(rows, columns=["subject", "time_h", "compound", "route", "amount_nmol", "duration_h"])


def dose(compound: str, amount, time_h: float = 0.0, *, unit: str = "mg", route: str = "oral",
         duration_h: float = 0.0, library=None, molar_mass_g_per_mol=None) -> Doses:
    """One dose of ``amount`` (``unit``: mg, ug, g or nmol) at ``time_h``.

    ``amount`` may be an (N,) array (one amount per subject). ``duration_h > 0`` makes it a zero-order
    infusion. mg -> nmol: ``n = m * 1e6 / M``. Overlapping infusions given as separate events add up
    (superposition); :func:`regimen` and :func:`read_event_table` refuse repeated infusions longer than the interval.
    """
    cid, amt = _to_nmol("amount", amount, unit, compound, library, molar_mass_g_per_mol)
    t = float(require_finite("time_h", time_h, "h"))
    dur = float(require_nonnegative("duration_h", duration_h, "h"))
    amt = amt[..., None] if np.ndim(amt) == 1 else np.atleast_1d(amt)
    return Doses(time_h=[t], compound=(cid,), route=(route,), amount_nmol=amt, duration_h=[dur])


def dose_list(compound: str, times_h: Sequence[float], amounts: Sequence[float] | float, *, unit: str = "mg",
              route: str = "oral", duration_h: float = 0.0, library=None, molar_mass_g_per_mol=None) -> Doses:
    """Irregular doses: ``amounts[i]`` (or one shared amount) at ``times_h[i]``."""
    times = np.atleast_1d(require_finite("times_h", times_h, "h"))
    if times.ndim != 1 or times.size == 0:
        raise PharmsimError(f"times_h must be a non-empty 1-D list of times in h; got {times_h!r}")
    amts = np.broadcast_to(np.atleast_1d(require_nonnegative("amounts", amounts, unit)), times.shape) \
        if np.ndim(amounts) <= 1 and np.size(amounts) in (1, times.size) else None
    if amts is None:
        raise PharmsimError(f"amounts must be one number or one per time ({times.size}); got {amounts!r}")
    cid, nmol = _to_nmol("amounts", amts, unit, compound, library, molar_mass_g_per_mol)
    dur = float(require_nonnegative("duration_h", duration_h, "h"))
    return Doses(time_h=times, compound=(cid,) * times.size, route=(route,) * times.size,
                 amount_nmol=np.array(nmol, dtype=float), duration_h=np.full(times.size, dur))


def regimen(compound: str, dose_amount, interval_h: float, n_doses: int, *, start_h: float = 0.0,
            unit: str = "mg", route: str = "oral", duration_h: float = 0.0, library=None,
            molar_mass_g_per_mol=None) -> Doses:
    """``n_doses`` doses of ``dose_amount`` every ``interval_h`` from ``start_h``.

    An infusion (``duration_h > 0``) longer than ``interval_h`` is refused (infusions would overlap).
    """
    tau = float(require_positive("interval_h", interval_h, "h"))
    if isinstance(n_doses, bool) or not float(n_doses).is_integer() or n_doses < 1:
        raise PharmsimError(f"n_doses must be a whole number >= 1; got {n_doses!r}")
    dur = float(require_nonnegative("duration_h", duration_h, "h"))
    if dur > tau:
        raise PharmsimError(f"duration_h ({dur} h) must not exceed interval_h ({tau} h): infusions would overlap")
    start = float(require_finite("start_h", start_h, "h"))
    times = start + tau * np.arange(int(n_doses))
    return dose_list(compound, times, dose_amount, unit=unit, route=route, duration_h=dur, library=library,
                     molar_mass_g_per_mol=molar_mass_g_per_mol)


def infusion(compound: str, rate_per_h, start_h: float, duration_h: float, *, unit: str = "mg",
             route: str = "iv", library=None, molar_mass_g_per_mol=None) -> Doses:
    """Zero-order infusion of ``rate_per_h`` (``unit`` per h) from ``start_h`` for ``duration_h``."""
    dur = float(require_positive("duration_h", duration_h, "h"))
    rate = require_nonnegative("rate_per_h", rate_per_h, f"{unit}/h")
    return dose(compound, rate * dur, start_h, unit=unit, route=route, duration_h=dur, library=library,
                molar_mass_g_per_mol=molar_mass_g_per_mol)


# --------------------------------------------------------------------------------------------- event tables
_REQUIRED = ("ID", "TIME", "AMT", "EVID", "CMT")
_OPTIONAL = {"RATE": 0.0, "II": 0.0, "ADDL": 0, "DUR": 0.0, "SS": 0}


@dataclass(frozen=True)
class EventTable:
    """An expanded NONMEM event table.

    Attributes
    ----------
    ids : tuple
        Subject IDs in order of first appearance; row i of ``doses.amount_nmol`` belongs to ``ids[i]``.
    doses : Doses
        Union of all subjects' events with per-subject amounts (N, E) (0 where a subject has no such event).
    observations : pandas.DataFrame
        The EVID 0 rows (ID, TIME, CMT), e.g. as sampling times.
    """

    ids: tuple
    doses: Doses
    observations: pd.DataFrame


def _row_err(col, row, value, expected):
    return PharmsimError(f"event table column {col!r}, row {row}: got {value!r}; expected {expected}")


def read_event_table(table, cmt_map: Mapping, *, amount_unit: str = "mg", library=None,
                     molar_masses: Mapping[str, float] | None = None) -> EventTable:
    """Read a NONMEM-style event table (CSV path or DataFrame) into :class:`EventTable`.

    Parameters
    ----------
    table : str, pathlib.Path or pandas.DataFrame
        Columns ID, TIME (h), AMT, EVID, CMT required; RATE (AMT/h), II (h), ADDL, DUR (h), SS optional.
    cmt_map : mapping
        CMT value -> ``(compound, route)``, e.g. ``{1: ("MG", "tea"), 2: ("morphine", "iv")}``.
    amount_unit : {'mg', 'ug', 'g', 'nmol'}
        Unit of AMT (RATE is AMT per h).
    library, molar_masses : optional
        Where molar masses come from (``molar_masses`` {compound: g/mol} wins over the library).

    Raises
    ------
    PharmsimError
        Missing column, NaN, negative amount/rate, unknown EVID, unsupported EVID 3/4 or SS=1, unsorted TIME
        within an ID, non-integer ADDL, ADDL without II > 0, an infusion longer than II, an unknown CMT. The
        message names the column, the row (0-based, as read) and the value.
    """
    if isinstance(table, (str, Path)):
        path = Path(table)
        if not path.exists():
            raise PharmsimError(f"event table file not found: {str(path)!r}")
        df = pd.read_csv(path)
    elif isinstance(table, pd.DataFrame):
        df = table.copy()
    else:
        raise PharmsimError(f"table must be a CSV path or a pandas DataFrame; got {type(table).__name__}")
    df.columns = [str(c).strip().upper() for c in df.columns]
    missing = [c for c in _REQUIRED if c not in df.columns]
    if missing:
        raise PharmsimError(f"event table is missing column(s) {missing}; required {list(_REQUIRED)}, "
                            f"optional {list(_OPTIONAL)}; got columns {list(df.columns)}")
    for c, default in _OPTIONAL.items():
        if c not in df.columns:
            df[c] = default
    df = df.reset_index(drop=True)

    num = {}
    for c in ("TIME", "AMT", "EVID", "RATE", "II", "ADDL", "DUR", "SS"):
        col = pd.to_numeric(df[c], errors="coerce")
        bad = col.isna() & ~((c in ("AMT", "RATE", "II", "ADDL", "DUR", "SS")) & df[c].isna() & (df["EVID"] == 0))
        if bad.any():
            r = int(np.argmax(bad.to_numpy()))
            raise _row_err(c, r, df[c].iloc[r], "a finite number")
        num[c] = col.fillna(0.0).to_numpy(dtype=float)
    if df["ID"].isna().any():
        r = int(np.argmax(df["ID"].isna().to_numpy()))
        raise _row_err("ID", r, df["ID"].iloc[r], "a subject identifier")
    for c in ("TIME", "AMT", "RATE", "II", "ADDL", "DUR"):
        x = num[c]
        if not np.all(np.isfinite(x)):
            r = int(np.argmax(~np.isfinite(x)))
            raise _row_err(c, r, x[r], "a finite number")
    for c in ("TIME", "AMT", "II", "ADDL", "DUR"):
        if (num[c] < 0).any():
            r = int(np.argmax(num[c] < 0))
            raise _row_err(c, r, num[c][r], "a number >= 0")
    bad_rate = (num["RATE"] < 0)
    if bad_rate.any():
        r = int(np.argmax(bad_rate))
        raise _row_err("RATE", r, num["RATE"][r], "0 (bolus) or > 0 (infusion); modelled rates (-1, -2) are not "
                       "supported")
    evid = num["EVID"]
    ok = np.isin(evid, (0, 1, 2))
    if not ok.all():
        r = int(np.argmax(~ok))
        hint = " (EVID 3/4 reset events are not supported)" if evid[r] in (3, 4) else ""
        raise _row_err("EVID", r, evid[r], f"0 (observation), 1 (dose) or 2 (other){hint}")
    if (num["SS"] != 0).any():
        r = int(np.argmax(num["SS"] != 0))
        raise _row_err("SS", r, num["SS"][r], "0 (steady-state dosing is not supported; give the doses explicitly)")
    addl = num["ADDL"]
    if not np.all(addl == np.round(addl)):
        r = int(np.argmax(addl != np.round(addl)))
        raise _row_err("ADDL", r, addl[r], "a whole number of additional doses")
    need_ii = (addl > 0) & (num["II"] <= 0) & (evid == 1)
    if need_ii.any():
        r = int(np.argmax(need_ii))
        raise _row_err("II", r, num["II"][r], f"> 0 h when ADDL = {int(addl[r])}")
    both = (num["RATE"] > 0) & (num["DUR"] > 0) & (evid == 1)
    if both.any():
        r = int(np.argmax(both))
        raise _row_err("DUR", r, num["DUR"][r], "0 when RATE > 0 (give RATE or DUR, not both)")

    ids = tuple(pd.unique(df["ID"]))
    time = num["TIME"]
    for sid in ids:
        rows = np.nonzero((df["ID"] == sid).to_numpy())[0]
        d = np.diff(time[rows])
        if (d < 0).any():
            r = int(rows[int(np.argmax(d < 0)) + 1])
            raise _row_err("TIME", r, time[r], f"times sorted (non-decreasing) within ID {sid!r}; the previous "
                           f"row has TIME {time[rows[int(np.argmax(d < 0))]]}")

    cmt_map = dict(cmt_map)
    events: dict[tuple, dict] = {}  # (time, compound, route, duration) -> {subject index: nmol}
    molar_masses = dict(molar_masses or {})
    for r in np.nonzero(evid == 1)[0]:
        cmt = df["CMT"].iloc[r]
        key_cmt = cmt
        if key_cmt not in cmt_map:
            try:
                key_cmt = int(cmt) if float(cmt).is_integer() else cmt
            except (TypeError, ValueError):
                pass
        if key_cmt not in cmt_map:
            raise _row_err("CMT", int(r), cmt, f"one of the compartments in cmt_map {sorted(map(str, cmt_map))}")
        compound, route = cmt_map[key_cmt]
        amt = num["AMT"][r]
        if num["RATE"][r] > 0:
            dur = amt / num["RATE"][r]
        else:
            dur = num["DUR"][r]
        n_add = int(addl[r])
        ii = num["II"][r]
        if dur > 0 and n_add > 0 and dur > ii + 1e-12:
            raise _row_err("II", int(r), ii, f">= the infusion duration {dur} h (AMT/RATE or DUR); the ADDL "
                           "infusions would overlap")
        mw = molar_masses.get(compound)
        cid, nmol = _to_nmol("AMT", amt, amount_unit, compound, library, mw)
        subj = ids.index(df["ID"].iloc[r])
        for k in range(n_add + 1):
            key = (float(time[r] + k * ii), cid, str(route), float(dur))
            events.setdefault(key, {})
            events[key][subj] = events[key].get(subj, 0.0) + float(nmol)
    keys = sorted(events, key=lambda k: (k[0], k[1], k[2], k[3]))
    amounts = np.zeros((len(ids), len(keys)))
    for j, k in enumerate(keys):
        for subj, v in events[k].items():
            amounts[subj, j] = v
    doses = Doses(time_h=np.array([k[0] for k in keys], dtype=float), compound=tuple(k[1] for k in keys),
                  route=tuple(k[2] for k in keys), amount_nmol=amounts,
                  duration_h=np.array([k[3] for k in keys], dtype=float))
    obs = df.loc[evid == 0, ["ID", "TIME", "CMT"]].reset_index(drop=True)
    return EventTable(ids=ids, doses=doses, observations=obs)
