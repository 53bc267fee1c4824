"""Dose titration: "start low, go slow" protocols simulated per subject.

A :class:`TitrationProtocol` starts every subject at ``start_dose`` (taken every day), holds each dose level
for ``days_per_step`` days, and then either stops (the target endpoint reached ``target``) or moves up by
``step`` (never above ``ceiling``). Before a level is given, its course is predicted: if the peak of an
adverse endpoint over the new level's days would exceed its threshold, that level is **not** given and the
subject stays at the previous level (0 if even the start dose would cross). Each subject ends with a reason:

============== ====================================================================================
``target``     the target endpoint reached ``target`` at the final dose
``ceiling``    the protocol's maximum dose was given without reaching the target
``threshold``  the next level would have crossed an adverse threshold (so it was not given)
============== ====================================================================================

The protocol drives a model through a *simulate* callable (dependency injection)::

    simulate(schedule, subjects) -> (t_h, {endpoint: (M, T) array})

``schedule`` is an (M, D) array of the dose taken on each day 0..D-1 (protocol units) by the M subjects
``subjects`` (indices into the population), and the result covers at least ``[0, 24 D]`` h. The whole dose
history is simulated each time, so accumulation (MG's terminal half-life is ~45 h) and tolerance carry over
from one level to the next. :func:`closed_form_simulator` is a one-compartment oral PK + Emax stand-in for
tests and teaching (every number supplied by the caller); :func:`model_simulator` wraps
:func:`pharmsim.model.simulate` (optionally on a :class:`pharmsim.population.Population`).

Not for: choosing doses for people. This software is for teaching and research, not dosing advice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from .validate import PharmsimError, require_choice, require_count, require_finite, require_number, require_positive

__all__ = [
    "TitrationProtocol",
    "TitrationResult",
    "titrate",
    "closed_form_simulator",
    "model_simulator",
    "plot_dose_trajectories",
    "plot_final_doses",
]

STATISTICS = ("peak", "mean", "trough")
REASONS = ("target", "ceiling", "threshold")
_REL = 1e-9  # relative tolerance for "dose equals the ceiling" after repeated additions


@dataclass(frozen=True)
class TitrationProtocol:
    """A start-low, step-up protocol.

    Parameters
    ----------
    start_dose : float
        First daily dose (> 0), in ``unit``.
    step : float
        Increase per level (> 0), in ``unit``.
    ceiling : float
        The protocol's maximum daily dose (>= start_dose). The last step is shortened to land on it.
    days_per_step : int
        Days each level is held (k >= 1) before the next decision.
    target : float
        Target value of ``target_endpoint`` (same unit as the simulated response).
    thresholds : mapping endpoint -> float
        Adverse endpoints and the values their peak must not exceed (e.g. ``{'respiratory_depression': 0.2}``).
    target_endpoint : str
        Endpoint whose ``target_statistic`` over the last ``days_per_step`` days is compared with ``target``.
    target_statistic : {'peak', 'mean', 'trough'}
        Peak, time-average or minimum of the target endpoint over the level's days.
    unit : str
        Label of the dose unit (e.g. ``'g'`` of leaf, ``'mg'``).
    """

    start_dose: float
    step: float
    ceiling: float
    days_per_step: int
    target: float
    thresholds: Mapping[str, float]
    target_endpoint: str = "analgesia"
    target_statistic: str = "peak"
    unit: str = "g"

    def __post_init__(self):
        s = object.__setattr__
        for name in ("start_dose", "step", "ceiling"):
            s(self, name, require_number(name, getattr(self, name), self.unit, minimum=0, strict=True))
        if self.ceiling < self.start_dose:
            raise PharmsimError(f"ceiling must be >= start_dose ({self.start_dose} {self.unit}); got {self.ceiling}")
        s(self, "days_per_step", require_count("days_per_step", self.days_per_step, minimum=1, unit="days"))
        s(self, "target", require_number("target", self.target))
        if not isinstance(self.thresholds, Mapping) or not self.thresholds:
            raise PharmsimError("thresholds must be a non-empty mapping {adverse endpoint: threshold}; got "
                                f"{self.thresholds!r}")
        th = {}
        for ep, v in self.thresholds.items():
            if not isinstance(ep, str) or not ep:
                raise PharmsimError(f"thresholds keys must be endpoint names; got {ep!r}")
            th[ep] = require_number(f"thresholds[{ep!r}]", v)
        s(self, "thresholds", MappingProxyType(th))
        if not isinstance(self.target_endpoint, str) or not self.target_endpoint:
            raise PharmsimError(f"target_endpoint must be an endpoint name; got {self.target_endpoint!r}")
        require_choice("target_statistic", self.target_statistic, STATISTICS)

    @property
    def levels(self) -> np.ndarray:
        """Every dose level the protocol can reach: start, start + step, ..., ceiling."""
        n = int(np.floor((self.ceiling - self.start_dose) / self.step * (1 + _REL))) + 1
        lv = self.start_dose + self.step * np.arange(n)
        lv = lv[lv < self.ceiling * (1 - _REL)]
        return np.append(lv, self.ceiling)


@dataclass(frozen=True)
class TitrationResult:
    """Outcome of :func:`titrate`.

    Attributes
    ----------
    protocol : TitrationProtocol
    trajectory : DataFrame
        One row per subject and level tried: ``subject, level, day_start, day_end, dose, unit, given,
        target_value, <endpoint>_peak ..., decision`` (``given`` False for a level that was predicted to
        cross a threshold and therefore not taken; ``decision`` is 'continue' or the stop reason).
    final : DataFrame
        One row per subject: ``subject, final_dose, unit, reason, days, target_value``.
    """

    protocol: TitrationProtocol
    trajectory: pd.DataFrame = field(repr=False)
    final: pd.DataFrame = field(repr=False)

    def final_dose_distribution(self) -> pd.DataFrame:
        """Number and share of subjects at each final dose and reason (tidy)."""
        g = self.final.groupby(["final_dose", "reason"]).size().rename("n_subjects").reset_index()
        g["fraction"] = g["n_subjects"] / len(self.final)
        g.insert(1, "unit", self.protocol.unit)
        return g

    def final_dose_summary(self, lower: float = 5.0, upper: float = 95.0) -> pd.DataFrame:
        """Median and percentile band of the final dose, and the share of each stop reason."""
        d = self.final["final_dose"].to_numpy()
        lo, med, hi = np.percentile(d, [lower, 50.0, upper])
        row = {"median": med, f"p{lower:g}": lo, f"p{upper:g}": hi, "unit": self.protocol.unit,
               "n_subjects": d.size}
        for r in REASONS:
            row[f"fraction_{r}"] = float(np.mean(self.final["reason"] == r))
        return pd.DataFrame([row])


Simulator = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, Mapping[str, np.ndarray]]]


def _statistic(values: np.ndarray, stat: str) -> np.ndarray:
    if stat == "peak":
        return values.max(axis=1)
    if stat == "trough":
        return values.min(axis=1)
    return values.mean(axis=1)


def _call(simulate: Simulator, schedule, subjects, endpoints):
    out = simulate(schedule, subjects)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise PharmsimError("simulate must return (t_h, {endpoint: (M, T) array})")
    t, resp = out
    t = np.atleast_1d(require_finite("t_h returned by simulate", t, "h"))
    M, D = schedule.shape
    if t.ndim != 1 or t[-1] < 24.0 * D - 1e-9:
        raise PharmsimError(f"simulate must return times covering [0, {24 * D}] h (D = {D} days)")
    arrays = {}
    for ep in endpoints:
        if ep not in resp:
            raise PharmsimError(f"simulate returned no endpoint {ep!r}; it returned {list(resp)}")
        a = require_finite(f"{ep} returned by simulate", resp[ep])
        if a.shape != (M, t.size):
            raise PharmsimError(f"simulate returned {ep} of shape {a.shape}; expected ({M}, {t.size})")
        arrays[ep] = a
    return t, arrays


def titrate(protocol: TitrationProtocol, simulate: Simulator, n_subjects: int, *, progress=None) -> TitrationResult:
    """Run ``protocol`` for ``n_subjects`` subjects with the model behind ``simulate``.

    Each round simulates, for the subjects still titrating, their whole dose history plus ``days_per_step``
    days of the next level (one call of ``simulate`` per round; a subject's course does not depend on the
    others). The next level is given only if no adverse endpoint's peak over those days exceeds its
    threshold ("would be crossed"); after it, the subject stops when the target statistic reaches the
    target, or when the ceiling has been given. At most ``len(protocol.levels)`` rounds.

    Parameters
    ----------
    protocol : TitrationProtocol
    simulate : callable
        ``simulate(schedule (M, D), subjects (M,)) -> (t_h (T,), {endpoint: (M, T)})`` (module docstring).
    n_subjects : int
        Subjects 0..n-1 (indices passed to ``simulate``).
    progress : callable, optional
        Called with the number of subjects that stopped after each round (e.g. ``bar.update`` of
        :func:`pharmsim.population.progress`).

    Returns
    -------
    TitrationResult
    """
    if not isinstance(protocol, TitrationProtocol):
        raise PharmsimError(f"protocol must be a TitrationProtocol; got {type(protocol).__name__}")
    if not callable(simulate):
        raise PharmsimError(f"simulate must be a callable; got {type(simulate).__name__}")
    from .population import _MAX_SUBJECTS  # noqa: PLC0415

    n_subjects = require_count("n_subjects", n_subjects, minimum=1, maximum=_MAX_SUBJECTS,
                               hint="titrate fewer subjects at a time")
    n = int(n_subjects)
    p = protocol
    k = p.days_per_step
    endpoints = list(dict.fromkeys([p.target_endpoint, *p.thresholds]))
    levels = p.levels
    active = np.arange(n)
    schedule = np.zeros((n, 0))
    current = np.zeros(n)
    reason = np.array([""] * n, dtype=object)
    days = np.zeros(n, dtype=int)
    target_value = np.full(n, np.nan)
    rows = []
    for level_index, dose in enumerate(levels):
        if active.size == 0:
            break
        D0 = schedule.shape[1]
        trial = np.concatenate([schedule, np.full((active.size, k), dose)], axis=1)  # rows = active
        t, resp = _call(simulate, trial, active, endpoints)
        window = (t >= 24.0 * D0) & (t <= 24.0 * (D0 + k))
        if not window.any():
            raise PharmsimError(f"simulate returned no time in the level's window [{24 * D0}, {24 * (D0 + k)}] h")
        peaks = {ep: resp[ep][:, window].max(axis=1) for ep in p.thresholds}
        crossing = np.zeros(active.size, dtype=bool)
        for ep, th in p.thresholds.items():
            crossing |= peaks[ep] > th
        tv = _statistic(resp[p.target_endpoint][:, window], p.target_statistic)
        reached = ~crossing & (tv >= p.target)
        at_ceiling = ~crossing & ~reached & (level_index == levels.size - 1)
        decision = np.where(crossing, "threshold", np.where(reached, "target",
                                                            np.where(at_ceiling, "ceiling", "continue")))
        for j, subj in enumerate(active):
            row = {"subject": int(subj), "level": level_index, "day_start": D0, "day_end": D0 + k,
                   "dose": float(dose), "unit": p.unit, "given": bool(not crossing[j]),
                   "target_value": float(tv[j]) if not crossing[j] else np.nan}
            row.update({f"{ep}_peak": float(peaks[ep][j]) for ep in p.thresholds})
            row["decision"] = str(decision[j])
            rows.append(row)
        given = active[~crossing]
        current[given] = dose
        target_value[given] = tv[~crossing]
        days[given] = D0 + k
        stopped = decision != "continue"
        reason[active[stopped]] = decision[stopped]
        # subjects that took this level keep its days; the others leave the (aligned) schedule
        keep = ~stopped
        schedule = trial[keep]
        active = active[keep]
        if progress is not None:
            progress(int(stopped.sum()))
    if active.size:  # cannot happen: the last level always stops (ceiling) or crosses
        raise PharmsimError("titration did not finish; this is a bug")
    traj = pd.DataFrame(rows).sort_values(["subject", "level"], kind="stable").reset_index(drop=True)
    final = pd.DataFrame({"subject": np.arange(n), "final_dose": current, "unit": p.unit,
                          "reason": reason.astype(str), "days": days, "target_value": target_value})
    return TitrationResult(protocol=p, trajectory=traj, final=final)


# ------------------------------------------------------------------------------------------ simulators
def closed_form_simulator(*, CL_L_per_h, V_L, ka_per_h, emax_models: Mapping[str, tuple[float, float]],
                          dose_times_in_day_h: Sequence[float] = (0.0,), step_h: float = 0.25,
                          amount_scale: float = 1.0) -> Simulator:
    """A closed-form stand-in model: one-compartment oral PK (superposed Bateman functions) + Emax.

    ``C(t) = sum_doses s D ka / (V (ka - k)) (exp(-k (t - t_d)) - exp(-ka (t - t_d)))`` for ``t >= t_d``,
    ``k = CL / V`` (Bateman 1910), and ``E = Emax C / (EC50 + C)`` for each endpoint. Every number is the
    caller's (no defaults pretend to describe a drug): it is for tests and teaching of the protocol logic.

    Parameters
    ----------
    CL_L_per_h, V_L, ka_per_h : float or (N,) array
        Per-subject PK (L/h, L, 1/h); ``ka != CL/V``.
    emax_models : mapping endpoint -> (Emax, EC50)
        Response model of each endpoint (EC50 in the concentration unit of ``amount_scale * dose / V``).
    dose_times_in_day_h : sequence of float
        Times within each day (h, in [0, 24)) at which the day's dose is taken (split evenly).
    step_h : float
        Output grid spacing (h).
    amount_scale : float
        Multiplies the dose (e.g. nmol per protocol unit).
    """
    CL = require_positive("CL_L_per_h", CL_L_per_h, "L/h")
    V = require_positive("V_L", V_L, "L")
    ka = require_positive("ka_per_h", ka_per_h, "1/h")
    ke = CL / V
    if np.any(np.isclose(np.broadcast_to(ka, np.broadcast(ka, ke).shape), ke, rtol=1e-9)):
        raise PharmsimError("ka_per_h must differ from CL/V for the Bateman function")
    times = np.atleast_1d(require_finite("dose_times_in_day_h", dose_times_in_day_h, "h"))
    if times.ndim != 1 or times.size == 0 or times.min() < 0 or times.max() >= 24:
        raise PharmsimError(f"dose_times_in_day_h must be times in [0, 24) h; got {dose_times_in_day_h!r}")
    step = require_number("step_h", step_h, "h", minimum=0, strict=True)
    scale = require_number("amount_scale", amount_scale, minimum=0, strict=True)
    for name, arr in (("CL_L_per_h", CL), ("V_L", V), ("ka_per_h", ka)):
        if arr.ndim > 1 or arr.size == 0:
            raise PharmsimError(f"{name} must be one number or an (N,) array, one per subject; got shape {arr.shape}")
    if not isinstance(emax_models, Mapping) or not emax_models:
        raise PharmsimError("emax_models must be a non-empty mapping endpoint -> (Emax, EC50); got "
                            f"{type(emax_models).__name__} {emax_models!r}"[:200])
    models = {}
    for ep, pair in emax_models.items():
        emax, ec50 = (float(x) for x in pair)
        require_positive(f"emax_models[{ep!r}] EC50", ec50)
        models[ep] = (emax, ec50)

    def simulate(schedule, subjects):
        sched = np.asarray(schedule, dtype=float)
        subj = np.asarray(subjects)
        M, D = sched.shape
        t = np.arange(0.0, 24.0 * D + step / 2, step)

        def pick(v):
            return v[subj] if np.ndim(v) else np.full(M, float(v))

        kk, kaa, VV = pick(ke)[:, None], pick(ka)[:, None], pick(V)[:, None]
        C = np.zeros((M, t.size))
        for d in range(D):
            for td in times:
                tau = t[None, :] - (24.0 * d + td)
                amt = scale * sched[:, d:d + 1] / times.size
                on = tau >= 0
                taup = np.where(on, tau, 0.0)
                C += np.where(on, amt * kaa / (VV * (kaa - kk)) * (np.exp(-kk * taup) - np.exp(-kaa * taup)), 0.0)
        return t, {ep: emax * C / (ec50 + C) for ep, (emax, ec50) in models.items()}

    return simulate


def model_simulator(what: str = "leaf powder", *, unit: str = "g", route: str = "oral",
                    dose_times_in_day_h: Sequence[float] = (0.0,), population=None, step_h: float = 0.25,
                    endpoints: Sequence[str] = ("analgesia", "respiratory_depression"), library=None,
                    **build_kwargs) -> Simulator:
    """A ``simulate`` callable for :func:`titrate` backed by :func:`pharmsim.model.simulate`.

    Parameters
    ----------
    what : str
        A kratom product form (``'leaf powder'``, ``'capsule'``, ``'tea'``, ``'extract'``; doses in g of
        product) or a compound id (doses in ``unit``, e.g. mg).
    unit : str
        Dose unit of the protocol (``'g'`` for products; ``'mg'``, ``'ug'``, ``'g'`` for compounds).
    route : str
        Route for a compound (products use their own form route).
    dose_times_in_day_h : sequence of float
        Times within each day (h) at which the day's dose is taken, split evenly.
    population : pharmsim.population.Population, optional
        Per-subject PK (the titration's subject i is the population's subject i). None: identical subjects.
    step_h : float
        Output grid spacing (h) on which peaks are read.
    endpoints : sequence of str
        Endpoints returned (must include the protocol's target and adverse endpoints).
    **build_kwargs
        Passed to :func:`pharmsim.model.build_model` (``binding``, ``tolerance``, ``receptors``, ...).
    """
    from .catalog import catalog
    from .dosing import Doses, dose
    from .model import build_model
    from .population import Population
    from .products import Product
    from .solve import Outputs, simulate

    times = np.atleast_1d(require_finite("dose_times_in_day_h", dose_times_in_day_h, "h"))
    if times.ndim != 1 or times.size == 0 or times.min() < 0 or times.max() >= 24:
        raise PharmsimError(f"dose_times_in_day_h must be times in [0, 24) h; got {dose_times_in_day_h!r}")
    step = require_number("step_h", step_h, "h", minimum=0, strict=True)
    if population is not None and not isinstance(population, Population):
        raise PharmsimError(f"population must be a pharmsim.population.Population; got {type(population).__name__}")
    cat = catalog(library)
    if not isinstance(what, str) or not what:
        raise PharmsimError(f"what must be a product form ({', '.join(map(repr, cat.product_forms()))}) or a compound "
                            f"id; got {type(what).__name__} {what!r}"[:300])
    is_product = what in cat.product_forms()
    if not is_product:                             # an unknown name is an error now, not at the first simulation
        try:
            cat.compound_id(what)
        except PharmsimError as err:
            raise PharmsimError(f"what must be a product form ({', '.join(map(repr, cat.product_forms()))}) or a "
                                f"compound: {err}") from None
    if is_product and unit != "g":
        raise PharmsimError(f"unit must be 'g' for a product form ({what!r}); got {unit!r}")
    endpoints = tuple(endpoints)

    def unit_doses(all_times):
        if is_product:
            return Product(what, 1.0).doses(all_times, library=library)
        out = Doses()
        for tt in all_times:
            out = out + dose(what, 1.0, float(tt), unit=unit, route=route, library=library)
        return out

    def simulate_fn(schedule, subjects):
        sched = np.asarray(schedule, dtype=float)
        subj = np.asarray(subjects)
        M, D = sched.shape
        all_times = (24.0 * np.arange(D)[:, None] + times[None, :]).reshape(-1)
        base = unit_doses(all_times)
        ev_day = np.minimum(np.searchsorted(24.0 * np.arange(1, D + 1), base.time_h, side="right"), D - 1)
        amounts = np.atleast_1d(base.amount_nmol)[None, :] * sched[:, ev_day] / times.size
        doses = Doses(base.time_h, base.compound, base.route, amounts, base.duration_h)
        model = build_model(doses, endpoints=endpoints, library=library, **build_kwargs)
        pop = None if population is None else population.take(subj)
        t = np.arange(0.0, 24.0 * D + step / 2, step)
        res = simulate(model, doses, t, population=pop, outputs=Outputs(quantities=("response",), endpoints=endpoints),
                       strict=False)
        out = {}
        for ep in endpoints:
            v = res.get("response", endpoint=ep)
            out[ep] = np.broadcast_to(v, (M, t.size))
        return t, out

    return simulate_fn


# ------------------------------------------------------------------------------------------ figures
def plot_dose_trajectories(result: TitrationResult, *, ax=None, max_subjects: int = 50):
    """Daily dose against day for each subject (steps), coloured by stop reason; returns the Axes."""
    import matplotlib.pyplot as plt

    if not isinstance(result, TitrationResult):
        raise PharmsimError(f"result must be a TitrationResult; got {type(result).__name__}")
    max_subjects = require_count("max_subjects", max_subjects, minimum=1)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    colors = {"target": "C2", "ceiling": "C0", "threshold": "C3"}
    given = result.trajectory[result.trajectory["given"]]
    reasons = dict(zip(result.final["subject"], result.final["reason"], strict=True))
    shown = set()
    for subj in list(dict.fromkeys(given["subject"]))[:max_subjects]:
        rows = given[given["subject"] == subj]
        x = np.append(rows["day_start"].to_numpy(), rows["day_end"].to_numpy()[-1])
        y = np.append(rows["dose"].to_numpy(), rows["dose"].to_numpy()[-1])
        r = reasons[subj]
        ax.step(x, y, where="post", color=colors[r], alpha=0.5, linewidth=1.5,
                label=None if r in shown else f"stopped: {r}")
        shown.add(r)
    ax.axhline(result.protocol.ceiling, color="0.3", linestyle="--", linewidth=1, label="protocol ceiling")
    ax.set_xlabel("day", fontsize=14)
    ax.set_ylabel(f"daily dose ({result.protocol.unit})", fontsize=14)
    ax.tick_params(labelsize=12)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=12)
    return ax


def plot_final_doses(result: TitrationResult, *, ax=None):
    """Bar chart of the number of subjects at each final dose, stacked by stop reason; returns the Axes."""
    import matplotlib.pyplot as plt

    if not isinstance(result, TitrationResult):
        raise PharmsimError(f"result must be a TitrationResult; got {type(result).__name__}")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    dist = result.final_dose_distribution()
    doses = np.unique(np.append(result.protocol.levels, dist["final_dose"]))
    width = 0.8 * (np.min(np.diff(doses)) if doses.size > 1 else result.protocol.step)
    bottom = np.zeros(doses.size)
    colors = {"target": "C2", "ceiling": "C0", "threshold": "C3"}
    for r in REASONS:
        part = dist[dist["reason"] == r].set_index("final_dose")["n_subjects"]
        h = np.array([part.get(d, 0) for d in doses], dtype=float)
        if h.any():
            ax.bar(doses, h, width=width, bottom=bottom, color=colors[r], label=f"stopped: {r}")
        bottom += h
    ax.set_xlabel(f"final daily dose ({result.protocol.unit})", fontsize=14)
    ax.set_ylabel("subjects", fontsize=14)
    ax.tick_params(labelsize=12)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=12)
    return ax
