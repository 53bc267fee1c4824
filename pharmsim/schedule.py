"""Parameter schedules: PK parameters that change during a run, piecewise constant, last value carried forward.

A :class:`ParameterSchedule` cuts the time axis at its change times ``times_h`` into periods; period 0 runs from
0 h to ``times_h[0]``, period k from ``times_h[k-1]`` to ``times_h[k]``. In each period every subject has one set
of PK parameter values, held from the start of the period until the next change (LOCF, last observation
carried forward: rxode2's default ``covsInterpolation = "locf"``, mrgsolve's ``nocb = FALSE``). Three things may
change at a period start:

- **covariates** (``body_weight_kg``, ``cyp3a4_inhibitor``, ``hepatic_impairment``): mapped to PK parameters by
  the population's covariate model (:meth:`pharmsim.population.Population.parameters`, the equations and
  sources in :mod:`pharmsim.population`), for example a CYP3A4 inhibitor started on day 5;
- the **occasion**: with inter-occasion variability (IOV; Karlsson & Sheiner 1993,
  doi:10.1007/BF01113502) subject i in a period of occasion m has
  ``P_i = P_typ exp(eta_i + kappa_im)`` (logit scale for fractions), ``kappa_im ~ N(0, omega_IOV^2)`` drawn
  once per occasion and subject by the :class:`~pharmsim.population.Population` from its Generator;
- **explicit values** of PK parameters (per-record columns of an event table), set after the population's
  random effects and covariates.

An entry ``None`` means "unchanged": in period 0 the population's own value (or the model's), later the value of
the period before. Entries are one value for everyone or one per subject.

The engine (:func:`pharmsim.solve.simulate`) solves each period with its parameters, starting from the whole state
at the end of the period before: PK amounts, effect sites, kinetic-binding occupancies, tolerance states and
enzyme fractions are carried across a change, so nothing jumps there but what is a direct function of the
parameters (a concentration ``A/V`` when V changes). A dose takes the F, lag time and modelled rate or duration
of the period its record time falls in (NONMEM evaluates F1, ALAG1, R1, D1 with the dose record's data items).
A change time is a breakpoint of every path (a node of the integration mesh).

NONMEM's PREDPP advances the system to each record with the PK parameters computed from that record, so a value
acts from the record *before* it on (next observation carried backward, NOCB; mrgsolve's default ``nocb = TRUE``;
nlmixr2/rxode2 documentation of ``covsInterpolation``). pharmsim has LOCF only: a data set written for NONMEM whose
covariates change between records gives the same answer here when each new value is moved up to the record from
which NONMEM applies it (the previous one).

Not for: drawing random effects (see :mod:`pharmsim.population`), solving (see :mod:`pharmsim.solve`), reading
event tables (see :mod:`pharmsim.events`). This software is for teaching and research, not dosing advice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from .validate import PharmsimError, require_count, require_finite, require_number, suggest

__all__ = ["COVARIATE_NAMES", "CovariateChange", "ParameterSchedule"]

#: The covariates a schedule may change (the attributes of :class:`pharmsim.population.Covariates`).
COVARIATE_NAMES = ("body_weight_kg", "cyp3a4_inhibitor", "hepatic_impairment")
_MAX_PERIODS = 100_000


def _is_per_subject(value) -> bool:
    return isinstance(value, (list, tuple)) or (isinstance(value, np.ndarray) and value.ndim > 0)


def _increasing_times(name: str, value, kind: str, expected: str) -> np.ndarray:
    """``value`` as a 1-D float array of strictly increasing times > 0 h; errors name ``name`` (its last dotted part
    when indexing), the value and ``expected``."""
    t = np.atleast_1d(require_finite(name, value, "h")).astype(float)
    short = name.rsplit(".", 1)[-1]
    if t.ndim != 1:
        raise PharmsimError(f"{name} must be a 1-D sequence of {kind} in h; got shape {t.shape}")
    if t.size and t.min() <= 0:
        i = int(np.argmax(t <= 0))
        raise PharmsimError(f"{name}[{i}] = {t[i]:g} h; expected {expected}")
    bad = np.diff(t) <= 0
    if bad.any():
        i = int(np.argmax(bad)) + 1
        raise PharmsimError(f"{name} must be strictly increasing; {short}[{i}] = {t[i]:g} h does not come after "
                            f"{short}[{i - 1}] = {t[i - 1]:g} h")
    return t


def check_covariate_value(name: str, value, where: str):
    """``value`` of covariate ``name`` checked (a level, a number or one per subject); ``where`` prefixes the
    message (``'covariate change at 96 h'``)."""
    from .population import CYP3A4_LEVELS, HEPATIC_LEVELS, WEIGHT_RANGE_KG

    items = list(value) if _is_per_subject(value) else [value]
    if not items:
        raise PharmsimError(f"{where}: {name} must be one value or one per subject; got an empty sequence")
    for v in items:
        if name == "body_weight_kg":
            lo, hi = WEIGHT_RANGE_KG
            w = require_number(f"{where}: body_weight_kg", v, "kg")
            if not lo <= w <= hi:
                raise PharmsimError(f"{where}: body_weight_kg must be an adult body weight in [{lo:g}, {hi:g}] kg; "
                                    f"got {w:g}")
        elif name == "cyp3a4_inhibitor":
            if isinstance(v, str):
                if v not in CYP3A4_LEVELS:
                    raise PharmsimError(f"{where}: cyp3a4_inhibitor must be one of {list(CYP3A4_LEVELS)} or the "
                                        f"fraction of CYP3A4 activity inhibited in [0, 1]; got {v!r}"
                                        f"{suggest(v, CYP3A4_LEVELS)}")
            else:
                f = require_number(f"{where}: cyp3a4_inhibitor (fraction of CYP3A4 activity inhibited)", v)
                if not 0.0 <= f <= 1.0:
                    raise PharmsimError(f"{where}: cyp3a4_inhibitor (fraction of CYP3A4 activity inhibited) must be "
                                        f"in [0, 1]; got {f:g}")
        else:
            if not isinstance(v, str) or v not in HEPATIC_LEVELS:
                raise PharmsimError(f"{where}: hepatic_impairment must be one of {list(HEPATIC_LEVELS)}; got {v!r}"
                                    f"{suggest(str(v), HEPATIC_LEVELS)}")
    return value


@dataclass(frozen=True)
class CovariateChange:
    """From ``time_h`` on, these covariates (the others unchanged): one record of a covariate schedule.

    Parameters
    ----------
    time_h : float
        When the change starts to act (h, > 0; the values from 0 h are the population's ``covariates``).
    body_weight_kg : float or (N,) array, optional
        New body weight (kg, adult range :data:`pharmsim.population.WEIGHT_RANGE_KG`).
    cyp3a4_inhibitor : str, float or sequence, optional
        A level (``'none'``, ``'moderate'``, ``'strong'``) or the fraction of CYP3A4 activity inhibited; ``'none'``
        stops an inhibitor (an instant return of enzyme activity: the static model of
        :mod:`pharmsim.population` has no enzyme turnover).
    hepatic_impairment : str or sequence, optional
        ``'none'``, ``'mild'``, ``'moderate'``, ``'severe'``.
    """

    time_h: float
    body_weight_kg: object = None
    cyp3a4_inhibitor: object = None
    hepatic_impairment: object = None

    def __post_init__(self):
        t = require_number("CovariateChange.time_h", self.time_h, "h")
        if t < 0:
            raise PharmsimError(f"CovariateChange.time_h must be a time >= 0 h (when the change starts to act); got "
                                f"{t:g} h")
        if t == 0:
            raise PharmsimError("CovariateChange.time_h = 0 h: the values from 0 h are the population's covariates "
                                "(Population(covariates=...)); a change acts at a time > 0 h")
        object.__setattr__(self, "time_h", t)
        given = self.changed()
        if not given:
            raise PharmsimError(f"the covariate change at {t:g} h changes nothing; give at least one of "
                                f"{list(COVARIATE_NAMES)}")
        for k, v in given.items():
            check_covariate_value(k, v, f"covariate change at {t:g} h")

    def changed(self) -> dict:
        """``{covariate: value}`` of the covariates this record sets."""
        return {k: getattr(self, k) for k in COVARIATE_NAMES if getattr(self, k) is not None}


def _as_change(i: int, c) -> CovariateChange:
    if isinstance(c, CovariateChange):
        return c
    if isinstance(c, Mapping):
        known = ("time_h",) + COVARIATE_NAMES
        for k in c:
            if k not in known:
                raise PharmsimError(f"covariate_changes[{i}] has an unknown key {k!r}{suggest(str(k), known)}; "
                                    f"known: {list(known)}")
        if "time_h" not in c:
            raise PharmsimError(f"covariate_changes[{i}] needs time_h (h, when the change starts to act)")
        return CovariateChange(**dict(c))
    raise PharmsimError(f"covariate_changes[{i}] must be a pharmsim CovariateChange or a dict with time_h and "
                        f"covariates; got {type(c).__name__}")


@dataclass(frozen=True, eq=False)
class ParameterSchedule:
    """Per-subject PK parameters that change at given times (module docstring).

    Parameters
    ----------
    times_h : sequence of float
        The K change times (h), > 0 and strictly increasing; there are K + 1 periods.
    covariates : mapping, optional
        ``{covariate: K + 1 entries}`` for covariates among :data:`COVARIATE_NAMES`; each entry ``None``
        (unchanged), one value for everyone, or one per subject.
    values : mapping, optional
        ``{PK parameter: K + 1 entries}`` (``'MG.CL_L_per_h'``, in the parameter's unit); each entry ``None``
        (unchanged), a number, or one per subject. Set after the population's random effects and covariates.
    occasion : sequence, optional
        K + 1 entries: the occasion (0, 1, 2 ...) of each period, one for everyone or one per subject (default:
        every period in occasion 0). Occasions index the population's IOV draws.

    Attributes
    ----------
    n : int
        Subjects (1: every entry is one value for everyone).
    """

    times_h: object = ()
    covariates: Mapping = field(default_factory=dict)
    values: Mapping = field(default_factory=dict)
    occasion: object = None
    n: int = field(init=False)

    def __post_init__(self):
        s = object.__setattr__
        t = _increasing_times("ParameterSchedule.times_h", self.times_h, "change times",
                              "change times > 0 h (the values from 0 h are those of period 0)")
        if t.size > _MAX_PERIODS:
            raise PharmsimError(f"ParameterSchedule.times_h has {t.size:,} change times; at most {_MAX_PERIODS:,}")
        t.setflags(write=False)
        s(self, "times_h", t)
        P = t.size + 1
        sizes: set[int] = set()

        def entries(kind: str, name: str, seq) -> list:
            where = f"ParameterSchedule.{kind}[{name!r}]"
            if isinstance(seq, (str, bytes, Mapping)) or not isinstance(seq, Sequence | np.ndarray):
                raise PharmsimError(f"{where} must be a sequence of {P} entries (one per period); got "
                                    f"{type(seq).__name__}")
            seq = list(seq)
            if len(seq) != P:
                raise PharmsimError(f"{where} has {len(seq)} entries; expected {P} (one per period: {t.size} change "
                                    "times)")
            out, last = [], None
            for v in seq:
                if v is None:
                    out.append(last)
                    continue
                if _is_per_subject(v):
                    sizes.add(len(v))
                last = v
                out.append(v)
            return out

        cov = {}
        if not isinstance(self.covariates, Mapping):
            raise PharmsimError(f"ParameterSchedule.covariates must be a mapping {{covariate: entries}}; got "
                                f"{type(self.covariates).__name__}")
        for name, seq in self.covariates.items():
            if name not in COVARIATE_NAMES:
                raise PharmsimError(f"ParameterSchedule.covariates names {name!r}, which is not a covariate"
                                    f"{suggest(str(name), COVARIATE_NAMES)}; covariates: {list(COVARIATE_NAMES)}")
            vals = entries("covariates", name, seq)
            for k, v in enumerate(vals):
                if v is not None:
                    start = 0.0 if k == 0 else t[k - 1]
                    check_covariate_value(name, v, f"the schedule's period from {start:g} h")
            cov[name] = tuple(np.array(v, dtype=object if name != "body_weight_kg" else float)
                              if _is_per_subject(v) else v for v in vals)
        s(self, "covariates", MappingProxyType(cov))
        vals_out = {}
        if not isinstance(self.values, Mapping):
            raise PharmsimError(f"ParameterSchedule.values must be a mapping {{PK parameter: entries}}; got "
                                f"{type(self.values).__name__}")
        for name, seq in self.values.items():
            if not isinstance(name, str) or not name:
                raise PharmsimError(f"ParameterSchedule.values keys must be PK parameter names such as "
                                    f"'MG.CL_L_per_h'; got {name!r}")
            vv = entries("values", name, seq)
            arr = []
            for k, v in enumerate(vv):
                if v is None:
                    arr.append(None)
                    continue
                a = require_finite(f"ParameterSchedule.values[{name!r}] (period {k})", v)
                if a.ndim > 1:
                    raise PharmsimError(f"ParameterSchedule.values[{name!r}] (period {k}) must be a number or one per "
                                        f"subject; got shape {a.shape}")
                a = a.astype(float)
                a.setflags(write=False)
                arr.append(a)
            vals_out[name] = tuple(arr)
        s(self, "values", MappingProxyType(vals_out))
        if self.occasion is None:
            occ = np.zeros((P, 1), dtype=int)
        else:
            seq = self.occasion
            if isinstance(seq, (str, bytes, Mapping)) or not isinstance(seq, Sequence | np.ndarray):
                raise PharmsimError(f"ParameterSchedule.occasion must be a sequence of {P} entries; got "
                                    f"{type(seq).__name__}")
            seq = list(seq)
            if len(seq) != P:
                raise PharmsimError(f"ParameterSchedule.occasion has {len(seq)} entries; expected {P} (one per period)")
            rows = []
            for k, v in enumerate(seq):
                items = list(v) if _is_per_subject(v) else [v]
                if _is_per_subject(v):
                    sizes.add(len(items))
                rows.append([require_count(f"ParameterSchedule.occasion[{k}]", x, minimum=0) for x in items])
            width = max(len(r) for r in rows)
            bad = [k for k, r in enumerate(rows) if len(r) not in (1, width)]
            if bad:
                raise PharmsimError(f"ParameterSchedule.occasion[{bad[0]}] has {len(rows[bad[0]])} values; "
                                    f"expected one or one per subject ({width})")
            occ = np.array([r * width if len(r) == 1 else r for r in rows], dtype=int)
        sizes.discard(1)
        if len(sizes) > 1:
            raise PharmsimError(f"ParameterSchedule entries for several subjects must share one length; got "
                                f"{sorted(sizes)}")
        n = sizes.pop() if sizes else 1
        if occ.shape[1] not in (1, n):
            raise PharmsimError(f"ParameterSchedule.occasion has {occ.shape[1]} subjects; expected {n}")
        occ.setflags(write=False)
        s(self, "occasion", occ)
        s(self, "n", int(n))

    # ------------------------------------------------------------------------------------------ build
    @classmethod
    def from_changes(cls, changes: Sequence = (), *, occasions_h: Sequence = ()) -> ParameterSchedule:
        """A schedule of covariate changes and occasion boundaries.

        Parameters
        ----------
        changes : sequence of CovariateChange (or dicts with ``time_h`` and covariates)
            Sorted by time, at most one per time; each holds until the next change of the same covariate.
        occasions_h : sequence of float
            Times (h, > 0, strictly increasing) at which a new occasion starts (occasion 0 starts at 0 h).
        """
        if isinstance(changes, (CovariateChange, Mapping)):
            changes = [changes]
        if isinstance(changes, (str, bytes)) or not isinstance(changes, Sequence):
            raise PharmsimError(f"covariate_changes must be a sequence of CovariateChange; got "
                                f"{type(changes).__name__}")
        recs = [_as_change(i, c) for i, c in enumerate(changes)]
        for i in range(1, len(recs)):
            if recs[i].time_h <= recs[i - 1].time_h:
                raise PharmsimError(
                    f"covariate_changes[{i}].time_h = {recs[i].time_h:g} h does not come after covariate_changes"
                    f"[{i - 1}].time_h = {recs[i - 1].time_h:g} h; expected changes sorted by time, one per time")
        occ_t = _increasing_times("occasions_h", occasions_h, "times",
                                  "the start times (> 0 h) of the occasions after the first (occasion 0 starts at 0 h)")
        times = np.unique(np.concatenate([[r.time_h for r in recs], occ_t]))
        P = times.size + 1
        at = {r.time_h: r for r in recs}
        cov: dict[str, list] = {}
        for k in range(P):
            r = at.get(float(times[k - 1])) if k else None
            for name in COVARIATE_NAMES:
                v = None if r is None else getattr(r, name)
                if v is not None or name in cov:
                    cov.setdefault(name, [None] * k).append(v)
        starts = np.concatenate([[0.0], times])
        occasion = list(np.searchsorted(occ_t, starts, side="right"))
        return cls(times_h=times, covariates=cov, occasion=occasion if occ_t.size else None)

    # ------------------------------------------------------------------------------------------ read
    @property
    def n_periods(self) -> int:
        return int(self.times_h.size + 1)

    @property
    def starts_h(self) -> np.ndarray:
        """(P,) start of each period (h): 0 and the change times."""
        return np.concatenate([[0.0], self.times_h])

    @property
    def n_occasions(self) -> int:
        """Occasions the schedule refers to (the largest occasion + 1)."""
        return int(self.occasion.max()) + 1

    def period_at(self, t_h) -> np.ndarray:
        """The period (0 .. K) in which each time of ``t_h`` falls (a change at t acts from t on)."""
        return np.searchsorted(self.times_h, require_finite("t_h", t_h, "h"), side="right")

    def _period(self, period) -> int:
        return require_count("period", period, minimum=0, maximum=self.n_periods - 1)

    def _subjects(self, idx) -> np.ndarray:
        idx = np.atleast_1d(np.asarray(idx))
        if idx.ndim != 1 or idx.dtype.kind not in "iu" or (idx.size and (idx.min() < 0 or (
                self.n > 1 and idx.max() >= self.n))):
            raise PharmsimError(f"subjects must be a 1-D array of subject numbers in 0..{self.n - 1}; got "
                                f"{np.asarray(idx).tolist()!r}"[:200])
        return idx

    def covariate(self, name: str, period: int):
        """The entry of covariate ``name`` in ``period`` (None: the population's own)."""
        seq = self.covariates.get(name)
        return None if seq is None else seq[self._period(period)]

    def occasion_of(self, period: int, idx) -> np.ndarray:
        """(n,) occasion of the subjects ``idx`` in ``period``."""
        idx = self._subjects(idx)
        row = self.occasion[self._period(period)]
        return np.broadcast_to(row, (idx.size,)) if row.size == 1 else row[idx]

    def values_at(self, period: int, idx) -> dict[str, np.ndarray]:
        """``{parameter: (n,) values}`` set explicitly in ``period`` for the subjects ``idx``."""
        period, idx = self._period(period), self._subjects(idx)
        out = {}
        for k, seq in self.values.items():
            v = seq[period]
            if v is None:
                continue
            out[k] = np.array(np.broadcast_to(v, (idx.size,)) if v.ndim == 0 else v[idx], dtype=float)
        return out

    @property
    def is_trivial(self) -> bool:
        """No change time, no explicit value and one occasion: the schedule changes nothing."""
        return self.times_h.size == 0 and not self.values and not self.covariates and self.n_occasions == 1

    # ------------------------------------------------------------------------------------------ transform
    def take(self, idx) -> ParameterSchedule:
        """The subjects ``idx`` (in that order)."""
        idx = self._subjects(idx)
        if self.n == 1:
            return self

        def pick(v):
            return v if v is None or np.ndim(v) == 0 else np.asarray(v)[idx]

        occ = self.occasion if self.occasion.shape[1] == 1 else self.occasion[:, idx]
        return ParameterSchedule(times_h=self.times_h,
                                 covariates={k: [pick(v) for v in seq] for k, seq in self.covariates.items()},
                                 values={k: [pick(v) for v in seq] for k, seq in self.values.items()},
                                 occasion=[list(r) if r.size > 1 else int(r[0]) for r in occ])

    def shifted(self, by_h: float) -> ParameterSchedule:
        """The schedule seen from a clock ``by_h`` hours later (change times + by_h); the periods that end at or
        before 0 h on the new clock are dropped and the one running at 0 h becomes period 0 (with their values
        carried forward)."""
        by_h = require_number("by_h", by_h, "h")
        t = self.times_h + by_h
        k0 = int(np.searchsorted(t, 0.0, side="right"))     # periods whose start is <= 0 on the new clock
        keep = slice(k0, None)

        def cut(seq):
            return list(seq)[k0:]

        occ = self.occasion[k0:]
        return ParameterSchedule(times_h=t[keep], covariates={k: cut(v) for k, v in self.covariates.items()},
                                 values={k: cut(v) for k, v in self.values.items()},
                                 occasion=[list(r) if r.size > 1 else int(r[0]) for r in occ])

    def merged(self, other: ParameterSchedule) -> ParameterSchedule:
        """Both schedules on the union of their change times (each value carried forward); where both set a
        covariate or parameter in a period, ``other``'s value holds, and ``other``'s occasions replace this
        schedule's when it has more than one."""
        if not isinstance(other, ParameterSchedule):
            raise PharmsimError(f"other must be a ParameterSchedule; got {type(other).__name__}")
        times = np.unique(np.concatenate([self.times_h, other.times_h]))
        starts = np.concatenate([[0.0], times])
        pa, pb = self.period_at(starts), other.period_at(starts)
        cov: dict[str, list] = {}
        for name in COVARIATE_NAMES:
            a, b = self.covariates.get(name), other.covariates.get(name)
            if a is None and b is None:
                continue
            cov[name] = [(b[j] if b is not None and b[j] is not None else (None if a is None else a[i]))
                         for i, j in zip(pa, pb, strict=True)]
        values = {}
        for name in dict.fromkeys(list(self.values) + list(other.values)):
            a, b = self.values.get(name), other.values.get(name)
            values[name] = [(b[j] if b is not None and b[j] is not None else (None if a is None else a[i]))
                            for i, j in zip(pa, pb, strict=True)]
        src, per = (other, pb) if other.n_occasions > 1 else (self, pa)
        occ = [list(src.occasion[p]) if src.occasion.shape[1] > 1 else int(src.occasion[p, 0]) for p in per]
        return ParameterSchedule(times_h=times, covariates=cov, values=values, occasion=occ)

    def table(self) -> pd.DataFrame:
        """One row per period: ``period, start_h, end_h, occasion`` and each covariate and value (a number or
        label for everyone, else ``'per subject'``)."""
        starts = self.starts_h
        ends = np.concatenate([self.times_h, [np.inf]])

        def show(v):
            if v is None:
                return "unchanged"
            return "per subject" if np.ndim(v) > 0 and np.size(v) > 1 else (v if isinstance(v, str) else
                                                                              float(np.asarray(v).reshape(-1)[0]))

        rows = []
        for k in range(self.n_periods):
            occ = self.occasion[k]
            row = {"period": k, "start_h": starts[k], "end_h": ends[k],
                   "occasion": int(occ[0]) if np.ptp(occ) == 0 else "per subject"}
            for name, seq in self.covariates.items():
                row[name] = show(seq[k])
            for name, seq in self.values.items():
                row[name] = show(seq[k])
            rows.append(row)
        return pd.DataFrame(rows)


def schedule_of(population) -> ParameterSchedule | None:
    """The schedule a ``population`` argument carries (a Population's, or a ParameterSchedule itself), or None
    when its parameters do not change during the run."""
    if isinstance(population, ParameterSchedule):
        return None if population.is_trivial else population
    sched = getattr(population, "schedule", None)
    return sched if isinstance(sched, ParameterSchedule) and not sched.is_trivial else None


def shift_population(population, by_h: float):
    """``population`` seen from a clock ``by_h`` hours later (its schedule shifted; unchanged without one)."""
    if isinstance(population, ParameterSchedule):
        return population.shifted(by_h)
    if schedule_of(population) is None:
        return population
    return population.shifted(by_h)
