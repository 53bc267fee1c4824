"""Dosing events: doses, regimens, infusions, steady state and resets, as amounts in nmol.

A :class:`Doses` is a plain, frozen table of events. It is what :func:`pharmsim.solve.simulate` and
:func:`pharmsim.solve.solve_pk` consume. Doses given in mg become nmol here, once, through the compound's
molar mass (``n[nmol] = m[mg] * 1e6 / M[g/mol]``), read from the library unless given.

Where a dose goes (``route``, NONMEM's CMT): ``'iv'`` (the central compartment), an extravascular route of the
model (``'oral'``, ``'tea'`` ...: its depot or first transit compartment), or any amount compartment by name
(``'central'`` = ``'iv'``, ``'peripheral'``, ``'tea.depot'`` ..., see :meth:`pharmsim.pk.PKModel.dose_targets`).

The record semantics are NONMEM's (Beal, Sheiner, Boeckmann & Bauer, NONMEM Users Guide Part VI, PREDPP,
chapter V "Event records"), which mrgsolve and rxode2 follow:

- **F and lag.** Each dose's amount is multiplied by the bioavailability F of its route and delayed by the
  route's lag time: model parameters ``"<c>.<route>.F"`` / ``"<c>.<route>.tlag_h"``, the IV route included
  (``"<c>.iv.F"``, ``"<c>.iv.tlag_h"``, default 1 and 0; relative F above 1 is allowed). A dose's own ``F`` /
  ``lag_h`` (not NaN) replace the model's for that dose. A bare compartment has F = 1 and no lag.
- **Infusions** (``rate_nmol_per_h``, NONMEM's RATE; ``duration_h``, rxode2's DUR):

  ===================  =========================================  ==============================
  given                rate delivered                             duration
  ===================  =========================================  ==============================
  ``duration_h = D``   ``F A / D``                                ``D`` (kept)
  ``rate = R > 0``     ``R`` (kept)                               ``F A / R`` (shortened by F)
  ``rate = -1``        model parameter ``"<c>.<route>.R_nmol_per_h"``  ``F A / R``
  ``rate = -2``        ``F A / D``                                ``duration_h`` if > 0, else the model
                                                                  parameter ``"<c>.<route>.D_h"``
  ===================  =========================================  ==============================

  Overlapping infusions add up (superposition). ``rate > 0`` with amount 0 and ``ss > 0``, ``ii_h = 0`` is
  a constant infusion at steady state: it sets the state of that infusion run for ever, and (as in NONMEM and
  rxode2; NONMEM 7.4.3 on rxode2's nmtest ID 26) does not go on after its time.
- **Steady state** (``ss``, ``ii_h``): ``ss = 1`` resets the system and puts it at the steady state of this
  dose repeated every ``ii_h`` hours for ever before (the dose itself is given at its time, so an output at
  that time shows the post-dose value; the trough is the value just before); ``ss = 2`` adds that steady
  state to the current state (superposition: linear PK only). Exact for linear PK (matrix series), iterated
  for nonlinear models (:mod:`pharmsim.events`).
- **Resets** (``reset_h``, NONMEM's EVID 3; EVID 4 is a reset and a dose at one time): every state returns to
  zero, running infusions and doses still in their lag time are cancelled; doses at the reset time are given
  after it.
- **ADDL / II**: :func:`dose` with ``addl=k, ii_h=tau`` gives the dose and k more every tau hours (expanded
  here into explicit events, at most :data:`MAX_EVENTS`).

NONMEM-style event tables (CSV records with ID, TIME, AMT, EVID, CMT, RATE, DUR, II, ADDL, SS) are read and
written by :mod:`pharmsim.events` (:func:`read_event_table`, :class:`EventTable`, re-exported here).

Not for: product composition (see :mod:`pharmsim.products`) or solving (see :mod:`pharmsim.solve`).
This software is for teaching and research, not dosing advice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd

from .validate import (
    PharmsimError,
    require_count,
    require_finite,
    require_instance,
    require_nonnegative,
    require_number,
    require_positive,
)

__all__ = ["MAX_EVENTS", "Doses", "EventTable", "dose", "dose_list", "infusion", "regimen", "read_event_table",
           "molar_mass_of", "reset"]

#: Most dosing events one call may create (``n_doses``, ``addl``): a bound on memory, not on pharmacology.
MAX_EVENTS = 100_000

#: Codes of ``Doses.rate_nmol_per_h`` below zero (NONMEM's RATE = -1 / -2).
MODELLED_RATE, MODELLED_DURATION = -1.0, -2.0


def molar_mass_of(compound: str, library=None) -> tuple[str, float]:
    """``(compound id, molar mass in g/mol)`` read from the library (:func:`pharmsim.library.load_library`)."""
    if library is None:
        from .library import load_library

        library = load_library()
    c = library.compound(compound)
    return c.id, float(c.molar_mass_g_per_mol)


def _nmol_factor(unit: str, compound: str, library, molar_mass_g_per_mol) -> tuple[str, float]:
    """``(compound id, nmol per unit)`` for amounts in ``unit`` (mg, ug, g or nmol)."""
    if unit == "nmol":
        cid = compound if library is None else molar_mass_of(compound, library)[0]
        return cid, 1.0
    if unit not in ("mg", "ug", "g"):
        raise PharmsimError(f"amount unit must be 'mg', 'ug', 'g' or 'nmol'; got {unit!r}")
    if molar_mass_g_per_mol is None:
        cid, mw = molar_mass_of(compound, library)
    else:
        cid, mw = compound, float(require_positive("molar_mass_g_per_mol", molar_mass_g_per_mol, "g/mol"))
    to_mg = {"mg": 1.0, "ug": 1e-3, "g": 1e3}[unit]
    return cid, to_mg * 1e6 / mw


def _to_nmol(name: str, amount, unit: str, compound: str, library, molar_mass_g_per_mol):
    """Amounts (mg, ug, g or nmol) -> (compound id, nmol)."""
    amount = require_nonnegative(name, amount, unit)
    cid, factor = _nmol_factor(unit, compound, library, molar_mass_g_per_mol)
    return cid, amount * factor


#: What a dose's route may be; which names exist is the model's to say (:meth:`pharmsim.pk.PKModel.dose_targets`,
#: checked when the doses are simulated).
_ROUTE_KINDS = "a compartment such as 'central' or 'peripheral'"


def _require_route(route, compound: str | None = None, library=None, name: str = "route") -> str:
    """``route`` if it is a non-empty string; otherwise an error naming ``name``, the value and the choices (the
    library's routes of ``compound`` when a library is given)."""
    if isinstance(route, str) and route.strip():
        return route
    choices = "'iv', a route of the model such as 'oral'"
    if library is not None and compound is not None:
        try:
            from .catalog import catalog  # noqa: PLC0415  (catalog builds on the library, not on dosing)

            routes = catalog(library).routes(compound)
        except PharmsimError:
            routes = ()
        if routes:
            choices = f"'iv', a route of {compound} ({', '.join(map(repr, routes))})"
    expected = f"a non-empty string naming where the dose goes: {choices}, or {_ROUTE_KINDS}"
    require_instance(name, route, str, expected)
    raise PharmsimError(f"{name} must be {expected}; got {route!r}")


def _empty_f():
    return np.zeros(0)


def _per_event(name, value, E, default, unit=None):
    """A (E,) float array from ``value`` (None -> ``default``; a scalar is broadcast)."""
    if value is None or (np.size(value) == 0 and E > 0):
        return np.full(E, default, dtype=float)
    if isinstance(value, (str, bytes, bool, np.bool_)):
        raise PharmsimError(f"{name} must be numeric{'' if unit is None else ' ' + unit}; got {value!r}")
    arr = np.asarray(value, dtype=float).reshape(-1) if np.ndim(value) else np.full(E, float(value))
    if arr.shape != (E,):
        raise PharmsimError(f"{name} must have one value per event ({E}); got shape {np.shape(value)}")
    return arr


@dataclass(frozen=True)
class Doses:
    """Dosing events in working units (the module docstring gives their meaning).

    Parameters
    ----------
    time_h : (E,) array
        Event times (h). Lag times are added by the solver, not here.
    compound : tuple of str, length E
        Compound id of each event (as in the model).
    route : tuple of str, length E
        ``'iv'``, an extravascular route of the model, or a compartment name (NONMEM's CMT).
    amount_nmol : (E,) or (N, E) array
        Amount of each event (nmol, >= 0); a 2-D array gives N subjects their own amounts.
    duration_h : (E,) array, optional
        0 for a bolus; > 0 for a zero-order infusion of that duration (rate ``F amount / duration``).
    rate_nmol_per_h : (E,) array, optional
        0: use ``duration_h``; > 0: an infusion at this rate, lasting ``F amount / rate``; -1 / -2: modelled
        rate / duration (NONMEM's RATE = -1 / -2).
    ss : (E,) int array, optional
        0, 1 (steady state after a reset) or 2 (steady state added to the current state).
    ii_h : (E,) array, optional
        Interdose interval of a steady-state dose (h).
    F, lag_h : (E,) arrays, optional
        Per-dose bioavailability and lag time (h) replacing the model's; NaN (default) keeps the model's.
    reset_h : (R,) array, optional
        Times of resets (NONMEM's EVID 3), for every subject.
    """

    time_h: np.ndarray = field(default_factory=_empty_f)
    compound: tuple[str, ...] = ()
    route: tuple[str, ...] = ()
    amount_nmol: np.ndarray = field(default_factory=_empty_f)
    duration_h: np.ndarray = field(default_factory=_empty_f)
    rate_nmol_per_h: np.ndarray = field(default_factory=_empty_f)
    ss: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    ii_h: np.ndarray = field(default_factory=_empty_f)
    F: np.ndarray = field(default_factory=_empty_f)
    lag_h: np.ndarray = field(default_factory=_empty_f)
    reset_h: np.ndarray = field(default_factory=_empty_f)

    def __post_init__(self):
        s = object.__setattr__
        t = np.atleast_1d(require_finite("time_h", self.time_h, "h"))
        s(self, "time_h", t)
        E = t.size
        s(self, "compound", tuple(str(c) for c in self.compound))
        s(self, "route", tuple(str(_require_route(r, name=f"route[{i}]")) for i, r in enumerate(self.route)))
        a = np.atleast_1d(require_nonnegative("amount_nmol", self.amount_nmol, "nmol"))
        s(self, "amount_nmol", a)
        d = np.atleast_1d(require_nonnegative("duration_h", self.duration_h, "h"))
        if d.size == 0 and E:
            d = np.zeros(E)
        s(self, "duration_h", d)
        if t.ndim != 1 or len(self.compound) != E or len(self.route) != E or d.shape != (E,) \
                or a.shape[-1:] != (E,) or a.ndim > 2:
            raise PharmsimError(
                "time_h, compound, route, duration_h must all have one length E and amount_nmol shape (E,) or "
                f"(N, E); got {t.shape}, {len(self.compound)}, {len(self.route)}, {d.shape}, {a.shape}"
            )
        rate = require_finite("rate_nmol_per_h", _per_event("rate_nmol_per_h", self.rate_nmol_per_h, E, 0.0),
                              "nmol/h")
        bad = (rate < 0) & ~np.isin(rate, (MODELLED_RATE, MODELLED_DURATION))
        if bad.any():
            raise PharmsimError(f"rate_nmol_per_h must be >= 0 nmol/h, or -1 (modelled rate) or -2 (modelled "
                                f"duration); got {rate[bad][0]:g} at time_h = {t[bad][0]:g} h")
        both = (rate > 0) & (d > 0)
        if both.any():
            i = int(np.argmax(both))
            raise PharmsimError(f"the infusion at time_h = {t[i]:g} h gives both rate_nmol_per_h ({rate[i]:g}) and "
                                f"duration_h ({d[i]:g} h); give one (NONMEM's RATE or DUR)")
        s(self, "rate_nmol_per_h", rate)
        ss = _per_event("ss", self.ss, E, 0)
        if not np.all(np.isin(ss, (0, 1, 2))):
            raise PharmsimError(f"ss must be 0, 1 or 2 for every event; got {ss[~np.isin(ss, (0, 1, 2))][0]:g}")
        s(self, "ss", ss.astype(int))
        ii = require_nonnegative("ii_h", _per_event("ii_h", self.ii_h, E, 0.0), "h")
        s(self, "ii_h", ii)
        amounts = np.atleast_2d(a)
        constant = (rate > 0) & np.all(amounts == 0, axis=0)
        need_ii = (self.ss > 0) & (ii <= 0) & ~constant
        if need_ii.any():
            i = int(np.argmax(need_ii))
            raise PharmsimError(f"the steady-state dose (ss = {int(self.ss[i])}) at time_h = {t[i]:g} h needs "
                                f"ii_h > 0 h (the dosing interval); got {ii[i]:g}")
        open_ended = constant & (self.ss == 0)
        if open_ended.any() and E:
            i = int(np.argmax(open_ended))
            raise PharmsimError(f"the infusion at time_h = {t[i]:g} h has a rate but no amount; a constant infusion "
                                "needs ss = 1 or 2 and ii_h = 0 (NONMEM's steady-state infusion)")
        for name in ("F", "lag_h"):
            v = _per_event(name, getattr(self, name), E, np.nan)
            bad = ~np.isnan(v) & ~(np.isfinite(v) & (v >= 0))
            if bad.any():
                raise PharmsimError(f"{name} must be a finite number >= 0 (or NaN: the model's) for every dose; "
                                    f"got {v[bad][0]:g}")
            s(self, name, v)
        r = np.atleast_1d(require_finite("reset_h", self.reset_h, "h")).reshape(-1)
        s(self, "reset_h", np.unique(r))
        lost = (d > 0) & (t + d == t)
        if lost.any():
            i = int(np.argmax(lost))
            raise PharmsimError(
                f"duration_h = {float(d[i])!r} h of the dose at time_h = {float(t[i])!r} h is too short to be "
                "told apart from a bolus in floating point (start + duration == start); give duration_h = 0 "
                "(a bolus) or a longer infusion")

    @property
    def n_events(self) -> int:
        return int(self.time_h.size)

    @property
    def n_subjects(self) -> int:
        """N when amounts are per subject, else 1."""
        return int(self.amount_nmol.shape[0]) if self.amount_nmol.ndim == 2 else 1

    @property
    def has_resets(self) -> bool:
        """True when the events reset the system (a reset time or an ``ss = 1`` dose)."""
        return bool(self.reset_h.size or np.any(self.ss == 1))

    def select(self, keep) -> Doses:
        """The events ``keep`` (a boolean mask or index array), resets unchanged."""
        keep = np.arange(self.n_events)[keep]
        return Doses._of_checked(time_h=self.time_h[keep], compound=tuple(self.compound[i] for i in keep),
                     route=tuple(self.route[i] for i in keep), amount_nmol=self.amount_nmol[..., keep],
                     duration_h=self.duration_h[keep], rate_nmol_per_h=self.rate_nmol_per_h[keep],
                     ss=self.ss[keep], ii_h=self.ii_h[keep], F=self.F[keep], lag_h=self.lag_h[keep],
                     reset_h=self.reset_h)

    def shifted(self, by_h: float, *, resets=None) -> Doses:
        """The events ``by_h`` hours later (resets too, or replaced by ``resets``)."""
        return Doses(time_h=self.time_h + by_h, compound=self.compound, route=self.route,
                     amount_nmol=self.amount_nmol, duration_h=self.duration_h, rate_nmol_per_h=self.rate_nmol_per_h,
                     ss=self.ss, ii_h=self.ii_h, F=self.F, lag_h=self.lag_h,
                     reset_h=self.reset_h + by_h if resets is None else resets)

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
        return Doses._of_checked(
            time_h=np.concatenate([self.time_h, other.time_h]),
            compound=self.compound + other.compound,
            route=self.route + other.route,
            amount_nmol=np.concatenate([a, b], axis=-1),
            duration_h=np.concatenate([self.duration_h, other.duration_h]),
            rate_nmol_per_h=np.concatenate([self.rate_nmol_per_h, other.rate_nmol_per_h]),
            ss=np.concatenate([self.ss, other.ss]),
            ii_h=np.concatenate([self.ii_h, other.ii_h]),
            F=np.concatenate([self.F, other.F]),
            lag_h=np.concatenate([self.lag_h, other.lag_h]),
            reset_h=np.unique(np.concatenate([self.reset_h, other.reset_h])),
        )

    @classmethod
    def _of_checked(cls, **fields) -> Doses:
        """A Doses from fields that are already in their checked form (the union or a selection of checked events:
        every check of ``__post_init__`` is per event, so it holds again); skips re-checking them."""
        if fields.keys() != _DOSES_FIELDS:
            raise TypeError(f"Doses._of_checked needs every field; got {sorted(fields)}")
        out = object.__new__(cls)
        for name, value in fields.items():
            object.__setattr__(out, name, value)
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per event (and subject when amounts are per subject); resets as rows with route 'reset'. The
        columns rate_nmol_per_h, ss, ii_h, F and lag_h appear only when some event uses them."""
        amounts = np.atleast_2d(self.amount_nmol)
        cols = ["subject", "time_h", "compound", "route", "amount_nmol", "duration_h"]
        if np.any(self.rate_nmol_per_h != 0):
            cols.append("rate_nmol_per_h")
        if np.any(self.ss != 0) or np.any(self.ii_h != 0):
            cols += ["ss", "ii_h"]
        if np.any(~np.isnan(self.F)) or np.any(~np.isnan(self.lag_h)):
            cols += ["F", "lag_h"]
        rows = []
        for i, amt in enumerate(amounts):
            for e in range(self.n_events):
                rows.append({"subject": i, "time_h": self.time_h[e], "compound": self.compound[e],
                             "route": self.route[e], "amount_nmol": amt[e], "duration_h": self.duration_h[e],
                             "rate_nmol_per_h": self.rate_nmol_per_h[e], "ss": int(self.ss[e]),
                             "ii_h": self.ii_h[e], "F": self.F[e], "lag_h": self.lag_h[e]})
            for r in self.reset_h:
                rows.append({"subject": i, "time_h": r, "compound": "-", "route": "reset", "amount_nmol": 0.0,
                             "duration_h": 0.0, "rate_nmol_per_h": 0.0, "ss": 0, "ii_h": 0.0, "F": np.nan,
                             "lag_h": np.nan})
        return pd.DataFrame(rows, columns=cols + [c for c in rows[0] if c not in cols][:0] if rows else cols)[cols]


def reset(time_h: float) -> Doses:
    """A reset at ``time_h`` (NONMEM's EVID 3): every state returns to zero; add it to other doses with ``+``."""
    return Doses(reset_h=[require_number("time_h", time_h, "h")])


def _schedule(name_n: str, n, interval_h, start_h) -> np.ndarray:
    """Times ``start + k * interval`` for k < n, with n checked as a bounded count."""
    n = require_count(name_n, n, minimum=1, maximum=MAX_EVENTS,
                      hint=f"pharmsim expands repeated doses into explicit events (at most {MAX_EVENTS:,}); for a "
                           "long regimen at steady state use ss=1 with ii_h (one event)")
    return start_h + interval_h * np.arange(n)


def _dose_options(ss, ii_h, addl, F, lag_h, rate, E):
    ss = require_count("ss", ss, minimum=0, maximum=2)
    addl = require_count("addl", addl, minimum=0, maximum=MAX_EVENTS - 1,
                         hint=f"pharmsim expands ADDL into explicit events (at most {MAX_EVENTS:,}); for a long "
                              "regimen at steady state use ss=1 with ii_h (one event)")
    ii = require_number("ii_h", ii_h, "h", minimum=0)
    if (addl > 0 or ss > 0) and ii <= 0 and not (ss > 0 and rate):
        raise PharmsimError(f"ii_h (the dosing interval) must be > 0 h with addl = {addl} or ss = {ss}; got {ii_h!r}")
    f = np.nan if F is None else require_number("F", F, minimum=0)
    lag = np.nan if lag_h is None else require_number("lag_h", lag_h, "h", minimum=0)
    return ss, ii, addl, f, lag


def dose(compound: str, amount, time_h: float = 0.0, *, unit: str = "mg", route: str = "oral",
         duration_h: float = 0.0, rate_per_h=None, ss: int = 0, ii_h: float = 0.0, addl: int = 0, F=None,
         lag_h=None, library=None, molar_mass_g_per_mol=None) -> Doses:
    """One dose of ``amount`` (``unit``: mg, ug, g or nmol) at ``time_h``, and ``addl`` more every ``ii_h``.

    Parameters
    ----------
    amount : float or (N,) array
        One amount, or one per subject.
    route : str
        ``'iv'``, a route of the model or a compartment name (module docstring).
    duration_h : float
        > 0: a zero-order infusion of this duration (rate ``F amount / duration``; NONMEM's DUR / D).
    rate_per_h : float, optional
        An infusion at this rate (``unit`` per h) lasting ``F amount / rate`` (NONMEM's RATE); -1 / -2: the
        model's rate / duration parameter. Give ``duration_h`` or ``rate_per_h``, not both.
    ss : {0, 1, 2}
        Steady state (1: reset, then steady state; 2: steady state added), with ``ii_h``.
    ii_h : float
        Dosing interval (h) of ``addl`` and ``ss``.
    addl : int
        Additional doses (expanded here, at most :data:`MAX_EVENTS` in all).
    F, lag_h : float, optional
        This dose's bioavailability and lag time, replacing the model's.

    mg -> nmol: ``n = m * 1e6 / M``. Overlapping infusions add up (superposition).
    """
    return _dose("amount", compound, amount, time_h, unit=unit, route=route, duration_h=duration_h,
                 rate_per_h=rate_per_h, ss=ss, ii_h=ii_h, addl=addl, F=F, lag_h=lag_h, library=library,
                 molar_mass_g_per_mol=molar_mass_g_per_mol)


def _dose(amount_name: str, compound: str, amount, time_h, *, unit, route, duration_h, rate_per_h, ss, ii_h, addl, F,
          lag_h, library, molar_mass_g_per_mol) -> Doses:
    """:func:`dose`, its amount checked under the caller's parameter name ``amount_name``."""
    cid, amt = _to_nmol(amount_name, amount, unit, compound, library, molar_mass_g_per_mol)
    if amt.ndim > 1 or amt.size == 0:
        raise PharmsimError(f"{amount_name} must be one number or a non-empty 1-D array (one amount per subject) "
                            f"in {unit}; got " + ("an empty array" if amt.size == 0 else f"shape {amt.shape}"))
    _require_route(route, cid, library)
    t = require_number("time_h", time_h, "h")
    dur = require_number("duration_h", duration_h, "h", minimum=0)
    rate = 0.0
    if rate_per_h is not None:
        rate = require_number("rate_per_h", rate_per_h, f"{unit}/h")
        if rate not in (MODELLED_RATE, MODELLED_DURATION):
            if rate <= 0:
                raise PharmsimError(f"rate_per_h must be > 0 {unit}/h, or -1 (modelled rate) or -2 (modelled "
                                    f"duration); got {rate_per_h!r}")
            rate = rate * _nmol_factor(unit, compound, library, molar_mass_g_per_mol)[1]
    ss, ii, addl, f, lag = _dose_options(ss, ii_h, addl, F, lag_h, rate, 1)
    times = t + ii * np.arange(addl + 1)
    E = times.size
    amounts = np.repeat(amt[:, None], E, axis=1) if amt.ndim == 1 else np.full(E, float(amt))
    return Doses(time_h=times, compound=(cid,) * E, route=(route,) * E, amount_nmol=amounts,
                 duration_h=np.full(E, dur), rate_nmol_per_h=np.full(E, rate), ss=[ss] + [0] * (E - 1),
                 ii_h=np.full(E, ii), F=np.full(E, f), lag_h=np.full(E, lag))


def dose_list(compound: str, times_h: Sequence[float], amounts: Sequence[float] | float, *, unit: str = "mg",
              route: str = "oral", duration_h: float = 0.0, F=None, lag_h=None, library=None,
              molar_mass_g_per_mol=None) -> Doses:
    """Irregular doses: ``amounts[i]`` (or one shared amount) at ``times_h[i]``."""
    times = np.atleast_1d(require_finite("times_h", times_h, "h"))
    if times.ndim != 1 or times.size == 0:
        raise PharmsimError(f"times_h must be a non-empty 1-D list of times in h; got {times_h!r}")
    if times.size > MAX_EVENTS:
        raise PharmsimError(f"times_h gives {times.size:,} doses; at most {MAX_EVENTS:,} (for a long regimen at "
                            "steady state use dose(..., ss=1, ii_h=...))")
    given = require_nonnegative("amounts", amounts, unit)
    if given.ndim > 1 or given.size not in (1, times.size):
        raise PharmsimError(f"amounts must be one number or one per time ({times.size}) in {unit}; got "
                            + ("an empty array" if given.size == 0 else f"shape {given.shape}"))
    amts = np.broadcast_to(np.atleast_1d(given), times.shape)
    cid, nmol = _to_nmol("amounts", amts, unit, compound, library, molar_mass_g_per_mol)
    _require_route(route, cid, library)
    dur = require_number("duration_h", duration_h, "h", minimum=0)
    _, _, _, f, lag = _dose_options(0, 0.0, 0, F, lag_h, 0.0, times.size)
    return Doses(time_h=times, compound=(cid,) * times.size, route=(route,) * times.size,
                 amount_nmol=np.array(nmol, dtype=float), duration_h=np.full(times.size, dur),
                 F=np.full(times.size, f), lag_h=np.full(times.size, lag))


def regimen(compound: str, dose_amount, interval_h: float, n_doses: int, *, start_h: float = 0.0,
            unit: str = "mg", route: str = "oral", duration_h: float = 0.0, rate_per_h=None, ss: int = 0, F=None,
            lag_h=None, library=None, molar_mass_g_per_mol=None) -> Doses:
    """``n_doses`` doses of ``dose_amount`` every ``interval_h`` from ``start_h``.

    ``ss=1`` starts the regimen at steady state (the first dose is a steady-state dose with ``ii_h =
    interval_h``: the system is as after infinitely many doses before it). Infusions longer than the interval
    overlap and add up. ``n_doses`` must be a whole number in [1, :data:`MAX_EVENTS`].
    """
    tau = require_number("interval_h", interval_h, "h", minimum=0, strict=True)
    n = require_count("n_doses", n_doses, minimum=1, maximum=MAX_EVENTS,
                      hint=f"pharmsim expands a regimen into explicit events (at most {MAX_EVENTS:,}); for a long "
                           "regimen at steady state use ss=1")
    start = require_number("start_h", start_h, "h")
    return _dose("dose_amount", compound, dose_amount, start, unit=unit, route=route, duration_h=duration_h,
                 rate_per_h=rate_per_h, ss=ss, ii_h=tau, addl=n - 1, F=F, lag_h=lag_h, library=library,
                 molar_mass_g_per_mol=molar_mass_g_per_mol)


def infusion(compound: str, rate_per_h, start_h: float, duration_h: float | None, *, unit: str = "mg",
             route: str = "iv", ss: int = 0, ii_h: float = 0.0, addl: int = 0, F=None, lag_h=None, library=None,
             molar_mass_g_per_mol=None) -> Doses:
    """Zero-order infusion of ``rate_per_h`` (``unit`` per h) from ``start_h`` for ``duration_h``.

    The amount is ``rate * duration`` and the duration is kept (``F`` scales the rate). ``duration_h=None``
    with ``ss=1`` is a constant infusion at steady state (NONMEM's AMT = 0, RATE > 0, SS = 1, II = 0) that runs
    until a reset or the end of the simulation.
    """
    rate = require_number("rate_per_h", rate_per_h, f"{unit}/h", minimum=0)
    if duration_h is None:
        if ss not in (1, 2) or addl:
            raise PharmsimError("duration_h=None (a constant infusion) needs ss=1 or 2 and no addl; got "
                                f"ss={ss!r}, addl={addl!r}")
        if rate <= 0:
            raise PharmsimError(f"rate_per_h of a constant infusion must be > 0 {unit}/h; got {rate_per_h!r}")
        return dose(compound, 0.0, start_h, unit=unit, route=route, rate_per_h=rate, ss=ss, F=F, lag_h=lag_h,
                    library=library, molar_mass_g_per_mol=molar_mass_g_per_mol)
    dur = require_number("duration_h", duration_h, "h", minimum=0, strict=True)
    return dose(compound, rate * dur, start_h, unit=unit, route=route, duration_h=dur, ss=ss, ii_h=ii_h, addl=addl,
                F=F, lag_h=lag_h, library=library, molar_mass_g_per_mol=molar_mass_g_per_mol)


#: The fields of :class:`Doses` (for ``Doses._of_checked``)
_DOSES_FIELDS = {f.name for f in fields(Doses)}


from .events import EventTable, read_event_table  # noqa: E402  (events builds on Doses)
