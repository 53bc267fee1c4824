"""The one engine: ``simulate(model, doses, t_h, population=..., outputs=...)`` and the PK solver it uses.

Which path runs when (like scipy's table of ``OdeSolver`` methods, each path is an exact or documented
approximation of the same equations, :mod:`pharmsim.model`):

=====================  ===============================================  ===========================================
path                   when                                             how
=====================  ===============================================  ===========================================
``exact-at-outputs``   linear PK, every receptor at equilibrium, no     exact linear PK (matrix exponential,
                       tolerance                                        :mod:`pharmsim.linear`) evaluated at the
                                                                        output times only; Gaddum occupancy; the
                                                                        operational model
``streaming``          linear PK with kinetic binding or tolerance      one mesh of integration nodes for every
                                                                        receptor (output times, dose times, lag
                                                                        times are nodes), refined once by step
                                                                        doubling on a few pilot subjects; exact PK
                                                                        at the nodes and only the effect-site rows
                                                                        at the Radau stages
                                                                        (:func:`pharmsim.linear.iter_linear_steps`);
                                                                        3-stage Radau IIA binding with rates
                                                                        shared by all subjects, every kinetic
                                                                        receptor in one batch
                                                                        (:func:`pharmsim.binding.iter_kinetic_occupancy`);
                                                                        tolerance stepped node by node
                                                                        (:class:`pharmsim.tolerance.ToleranceStepper`)
``ode``                saturable PK (Michaelis-Menten elimination or    LSODA (scipy) between dose events for the
                       formation)                                       PK states at the times needed, then the
                                                                        same binding, responses and tolerance
=====================  ===============================================  ===========================================

Only the rows of the requested outputs are kept, at the output times (``outputs=``, like diffrax's
``SaveAt``): nothing is computed for a receptor, endpoint or tolerance read-out nobody asked for, and
nothing is stored between output times. Subjects are solved in chunks (``chunk_size``), optionally on
several threads (``workers``; numpy releases the GIL in its array loops); the result does not depend on
either beyond round-off. Before solving, the size of the outputs and of the mesh is estimated and a run
over the stated limits is refused with the knob to turn.

Parameters that change during the run (a :class:`pharmsim.schedule.ParameterSchedule`: time-varying covariates,
inter-occasion variability, per-record values) split every path at the change times: each period is solved with
its own parameters from the whole state at the end of the period before (PK amounts, effect sites, binding
occupancies, tolerance and enzyme states), the change times are nodes of the mesh, and each dose takes the
parameters (F, lag, modelled rate or duration) of the period of its record time.

Adding a path: give it a name in :data:`PATHS`, a predicate in :func:`_choose_path` and a function that
fills the output arrays from ``(_Plan, chunk)``; keep the contract that the output times are nodes, that
every dose time is a breakpoint, and that results agree with the ``ode`` path (the reference) in the tests.

Not for: building models (:mod:`pharmsim.model`, :mod:`pharmsim.catalog`), drawing populations
(:mod:`pharmsim.population`), summaries and tables (:mod:`pharmsim.result`, :mod:`pharmsim.study`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import binding as _binding
from . import events as _events_mod
from .dosing import Doses
from .linear import Inputs, MeshStates, iter_linear, iter_linear_steps, solve_linear, step_matrix_bytes
from .model import Model
from .pk import PKModel
from .result import Result, Series
from .schedule import ParameterSchedule, schedule_of
from .tolerance import ToleranceStepper, desensitising_stimulus
from .validate import PharmsimError, require_count, require_finite, require_names, require_number, suggest

__all__ = ["OUTPUT_QUANTITIES", "PATHS", "Outputs", "PKSolution", "check_run", "series_label", "simulate",
           "solve_pk"]

#: Every output quantity, with its unit.
OUTPUT_QUANTITIES = {
    "plasma_conc": "nM", "plasma_conc_mass": "ng/mL", "effect_conc_unbound": "nM", "occupancy": "fraction",
    "response": "fraction of Em", "response_naive": "fraction of Em", "desensitised": "fraction",
    "counter_adaptation": "fraction of Em", "net_signal": "fraction of Em", "withdrawal": "fraction of Em",
}
_TOLERANCE_QUANTITIES = ("response_naive", "desensitised", "counter_adaptation", "net_signal", "withdrawal")
PATHS = ("exact-at-outputs", "streaming", "ode")
_RADAU_INNER = _binding.RADAU_C[:-1]
#: Fewest subjects per thread for which ``simulate(..., workers=k)`` splits a one-chunk population (W1 on 2 cores:
#: two threads were slower than one at 100 and 1,000 subjects, even at 10,000; ``benchmarks/w1_bench.py``)
MIN_SUBJECTS_PER_THREAD = 1000

#: Default limits, refused beyond with the knob to turn (each overridable per call).
MAX_OUTPUT_MB = 2048.0
MAX_NODES = _binding.MAX_NODES


# ------------------------------------------------------------------------------------------------ outputs
@dataclass(frozen=True)
class Outputs:
    """What :func:`simulate` keeps (``None`` = every one of that label).

    Parameters
    ----------
    quantities : sequence of str, optional
        Among :data:`OUTPUT_QUANTITIES` (default all that the model produces).
    compounds, receptors, endpoints : sequence of str, optional
        Restrict the series to these labels.
    """

    quantities: tuple[str, ...] | None = None
    compounds: tuple[str, ...] | None = None
    receptors: tuple[str, ...] | None = None
    endpoints: tuple[str, ...] | None = None

    def __post_init__(self):
        for name in ("quantities", "compounds", "receptors", "endpoints"):
            v = getattr(self, name)
            if v is None:
                continue
            object.__setattr__(self, name, require_names(f"Outputs.{name}", v))
        for q in self.quantities or ():
            if q not in OUTPUT_QUANTITIES:
                raise PharmsimError(f"outputs: quantity must be one of {list(OUTPUT_QUANTITIES)}; got {q!r}"
                                    f"{suggest(q, OUTPUT_QUANTITIES)}")

    def wants(self, quantity: str, compound: str = "-", receptor: str = "-", endpoint: str = "-") -> bool:
        return ((self.quantities is None or quantity in self.quantities)
                and (self.compounds is None or compound in ("-", "all") or compound in self.compounds)
                and (self.receptors is None or receptor == "-" or receptor in self.receptors)
                and (self.endpoints is None or endpoint == "-" or endpoint in self.endpoints))


def _as_outputs(outputs) -> Outputs:
    if outputs is None:
        return Outputs()
    if isinstance(outputs, Outputs):
        return outputs
    if isinstance(outputs, str) or (isinstance(outputs, Sequence) and all(isinstance(q, str) for q in outputs)):
        return Outputs(quantities=outputs)
    raise PharmsimError(f"outputs must be None, a quantity name, a list of them or an Outputs(...); got {outputs!r}")


@dataclass(frozen=True)
class _SeriesSpec:
    quantity: str
    compound: str
    receptor: str
    endpoint: str

    @property
    def unit(self) -> str:
        return OUTPUT_QUANTITIES[self.quantity]


@dataclass(frozen=True)
class _Plan:
    """What a run computes: the series kept, and the parts needed to compute them."""

    series: tuple[_SeriesSpec, ...]
    conc_compounds: tuple[str, ...]          # central amounts needed at output times
    effect_compounds: tuple[str, ...]        # effect-site rows needed (effect outputs and binding)
    receptors: tuple[str, ...]               # receptors whose occupancy is computed
    kinetic: tuple[str, ...]                 # of those, kinetic ones
    endpoints: tuple                         # Endpoint objects whose response is computed
    tolerance: bool                          # tolerance integrated (some endpoint needs it)


def _plan(model: Model, outputs: Outputs) -> _Plan:
    series = []
    for c in model.compounds:
        for q in ("plasma_conc", "plasma_conc_mass"):
            if outputs.wants(q, c):
                series.append(_SeriesSpec(q, c, "-", "-"))
        if c in model.pk.effect_states() and outputs.wants("effect_conc_unbound", c):
            series.append(_SeriesSpec("effect_conc_unbound", c, "-", "-"))
    receptors, endpoints = [], []
    tol = model.tolerance is not None
    for r in model.receptors:
        ligs = model.ligands_at(r)
        if not ligs:
            continue
        occ = [lig.name for lig in ligs if outputs.wants("occupancy", lig.name, r)]
        series += [_SeriesSpec("occupancy", c, r, "-") for c in occ]
        eps = []
        for ep in (e for e in model.endpoints if e.receptor == r):
            qs = ["response"] + (list(_TOLERANCE_QUANTITIES) if tol else [])
            wanted = [q for q in qs if outputs.wants(q, "all", r, ep.name)]
            if wanted:
                eps.append(ep)
                series += [_SeriesSpec(q, "all", r, ep.name) for q in wanted]
        if occ or eps:
            receptors.append(r)
            endpoints += eps
    kinetic = tuple(r for r in receptors if model.binding[r] == "kinetic")
    bound = {lig.name for r in receptors for lig in model.ligands_at(r)}
    eff = [c for c in model.compounds if c in bound or any(
        s.quantity == "effect_conc_unbound" and s.compound == c for s in series)]
    conc = [c for c in model.compounds if any(s.quantity in ("plasma_conc", "plasma_conc_mass") and s.compound == c
                                              for s in series)]
    if not series:
        raise PharmsimError(f"outputs select nothing this model produces: {outputs!r}; expected outputs among "
                            f"what the model has: compounds {list(model.compounds)}, receptors "
                            f"{list(model.receptors)} and endpoints {[e.name for e in model.endpoints]}")
    return _Plan(tuple(series), tuple(conc), tuple(eff), tuple(receptors), kinetic, tuple(endpoints),
                 tol and bool(endpoints))


# ------------------------------------------------------------------------------------------------ subjects
class _Subjects:
    """Per-subject PK parameters and dose amounts, chunk by chunk (a Population, a per-subject table, or
    the model's own (N,) arrays)."""

    def __init__(self, model: Model, doses: Doses, population):
        self.pk = model.pk
        self.doses = doses
        self.population = None
        self.table: dict[str, np.ndarray] = {}
        sizes = {model.pk.n_subjects, doses.n_subjects}
        bare_schedule = None
        if population is None:
            pass
        elif isinstance(population, ParameterSchedule):
            bare_schedule = population
            sizes.add(population.n)
        elif hasattr(population, "parameters") and hasattr(population, "n") and not isinstance(population, Mapping):
            self.population = population
            sizes.add(int(population.n))
        else:
            self.table = _parameter_table(population, model.pk)
            sizes.add(len(next(iter(self.table.values()))) if self.table else 1)
        sizes.discard(1)
        if len(sizes) > 1:
            raise PharmsimError(f"the number of subjects differs between the model's parameters, the doses and the "
                                f"population: {sorted(sizes)}")
        self.n = sizes.pop() if sizes else 1
        if bare_schedule is not None:          # a schedule alone: on the model's values (no random effects)
            from .population import Population

            self.population = Population(n=self.n, schedule=bare_schedule)
        self.schedule = schedule_of(self.population)
        self.starts = np.zeros(1) if self.schedule is None else self.schedule.starts_h

    def pk_for(self, idx: np.ndarray, period: int = 0) -> PKModel:
        """The PK model of the subjects ``idx`` ((n,) parameter arrays where they differ) in ``period`` of the
        schedule."""
        pk = self.pk.subset(idx) if self.pk.n_subjects > 1 else self.pk
        if self.population is not None:
            return pk.with_parameters(self.population.parameters(pk, subjects=idx, strict=False, period=period))
        if self.table:
            return pk.with_parameters({k: v[idx] for k, v in self.table.items()})
        return pk

    def pks_for(self, idx: np.ndarray, periods: int = 1) -> tuple[PKModel, ...]:
        """The PK models of the subjects ``idx`` in the first ``periods`` periods."""
        return tuple(self.pk_for(idx, k) for k in range(periods))

    def lag_model(self) -> PKModel:
        """A PK model whose event timing parameters are per subject when they differ (for grouping subjects by
        event times): lag times, and for infusions whose duration depends on them F, modelled rates and
        durations."""
        roles = {"tlag"}
        if np.any(self.doses.rate_nmol_per_h != 0):
            roles |= {"F", "R", "D"}
        names = [k for k, i in self.pk.parameter_info.items() if i.role in roles]
        if self.n == 1 or not names:
            return self.pk_for(np.arange(1)) if self.n == 1 else self.pk
        pk = self.pk_for(np.arange(self.n))
        if not any(np.ndim(pk.parameters[k]) == 1 and np.ptp(pk.parameters[k]) > 0 for k in names):
            return self.pk.subset(np.arange(1)) if self.pk.n_subjects > 1 else self.pk
        return pk

    def timing(self, starts=None):
        """``(event states, (M, 2, E) rows of [lag; duration])``: M = 1 when every subject shares them, else N.
        With period ``starts`` (h) each event's timing comes from the period of its record time."""
        if starts is not None and len(starts) > 1:
            pks = self.pks_for(np.arange(self.n), len(starts))
            per_subject = any(p.n_subjects > 1 for p in pks) or (self.doses.amount_nmol.ndim == 2
                                                                  and np.any(self.doses.rate_nmol_per_h != 0))
            m = self.n if per_subject else 1
            pks = tuple(p.subset(np.arange(m)) if p.n_subjects > m else p for p in pks)
            state, _, lag, dur = _scheduled_events(pks, starts, self.doses, self.amounts_for(np.arange(m)))
            return state, np.stack([lag, dur], axis=1)
        pk = self.lag_model()
        per_subject = pk.n_subjects > 1 or (self.doses.amount_nmol.ndim == 2
                                            and np.any(self.doses.rate_nmol_per_h != 0))
        m = self.n if per_subject else 1
        state, F, lag = _events(pk, self.doses, m)
        amounts = self.amounts_for(np.arange(m))
        dur = _events_mod.event_durations(pk, self.doses, amounts, F)
        return state, np.stack([lag, dur], axis=1)

    def amounts_for(self, idx: np.ndarray) -> np.ndarray:
        a = self.doses.amount_nmol
        return a[idx] if a.ndim == 2 else np.broadcast_to(a, (idx.size, a.size))

    def varying(self) -> dict[str, np.ndarray]:
        """Per-subject arrays that vary (for choosing pilot subjects)."""
        if self.n == 1:
            return {}
        idx = np.arange(self.n)
        out = {}
        if self.population is not None or self.table or self.pk.n_subjects > 1:
            sub = idx[:_VARYING_CAP]
            for k in range(len(self.starts)):
                pk = self.pk_for(sub, k)
                out.update({(name if k == 0 else f"{name} (period {k})"): np.asarray(v)
                            for name, v in pk.parameters.items() if np.ndim(v) == 1 and np.ptp(v) > 0})
        a = self.doses.amount_nmol
        if a.ndim == 2:
            for c in dict.fromkeys(self.doses.compound):
                cols = [i for i, x in enumerate(self.doses.compound) if x == c]
                tot = a[:, cols].sum(axis=1)
                if np.ptp(tot) > 0:
                    out[f"dose {c}"] = tot
        return out


#: At most this many subjects' parameters are gathered to choose the mesh's pilot subjects (memory bound).
_VARYING_CAP = 200_000


def _parameter_table(table, pk: PKModel) -> dict[str, np.ndarray]:
    """Per-subject parameter columns (mrgsolve's idata): a DataFrame or mapping name -> (N,) values."""
    if isinstance(table, pd.DataFrame):
        cols = {str(c): table[c].to_numpy() for c in table.columns}
    elif isinstance(table, Mapping):
        cols = {str(k): np.asarray(v) for k, v in table.items()}
    else:
        raise PharmsimError(f"population must be a Population, a DataFrame or a mapping of per-subject parameter "
                            f"values; got {type(table).__name__}")
    out = {}
    for k, v in cols.items():
        if k in ("ID", "subject"):
            continue
        if k not in pk.parameter_info:
            raise PharmsimError(f"population column {k!r} is not a PK parameter of the model"
                                f"{suggest(k, pk.parameter_info)}; parameters: {list(pk.parameter_info)}")
        arr = require_finite(f"population[{k!r}]", v, pk.parameter_info[k].unit)
        if arr.ndim != 1 or arr.size == 0:
            raise PharmsimError(f"population[{k!r}] must be one value per subject; got shape {arr.shape}")
        out[k] = arr.astype(float)
    sizes = {a.size for a in out.values()}
    if len(sizes) > 1:
        raise PharmsimError(f"population columns must have one length (subjects); got {sorted(sizes)}")
    return out


def _pilot(varying: dict, n: int) -> np.ndarray:
    """Subjects that choose the mesh: the extremes (min, max) of every varying per-subject value and the median
    subject of the first; all subjects of a small population."""
    if n <= 8 or not varying:
        return np.arange(n) if n <= 8 else np.array([0])
    idx = set()
    for v in varying.values():
        idx.update((int(np.argmin(v)), int(np.argmax(v))))
    first = next(iter(varying.values()))
    idx.add(int(np.argsort(first)[first.size // 2]))
    return np.array(sorted(idx))


# ------------------------------------------------------------------------------------------------ events
def _events(pk: PKModel, doses: Doses, n: int):
    """Per-event state index, F (n, E) and lag (n, E) for ``n`` subjects of ``pk``."""
    E = doses.n_events
    state = np.zeros(E, dtype=int)
    F = np.ones((n, E))
    lag = np.zeros((n, E))
    for e in range(E):
        state[e] = pk.route_state(doses.compound[e], doses.route[e])
        f, tl = pk.route_F_lag(doses.compound[e], doses.route[e])
        F[:, e] = np.broadcast_to(f if np.isnan(doses.F[e]) else doses.F[e], (n,))
        lag[:, e] = np.broadcast_to(tl if np.isnan(doses.lag_h[e]) else doses.lag_h[e], (n,))
    return state, F, lag


def _event_period(starts, doses: Doses) -> np.ndarray:
    """(E,) the period (of the ``starts``) in which each event's record time falls."""
    return np.searchsorted(np.asarray(starts)[1:], doses.time_h, side="right")


def _events_by_period(pks, starts, doses: Doses):
    """``(model, event columns, their Doses)`` for each period of ``starts`` in which some record time falls."""
    per = _event_period(starts, doses)
    for k, pk in enumerate(pks):
        cols = np.nonzero(per == k)[0]
        if cols.size:
            yield pk, cols, doses.select(cols)


def _scheduled_events(pks, starts, doses: Doses, amounts: np.ndarray):
    """Per-event state, F, lag and duration (n, E) with each event's parameters taken from the model ``pks[k]``
    of the period of its record time."""
    n = amounts.shape[0]
    state, F, lag = _events(pks[0], doses, n)
    dur = _events_mod.event_durations(pks[0], doses, amounts, F) if len(pks) == 1 else np.zeros_like(F)
    if len(pks) == 1:
        return state, F, lag, dur
    for pk, cols, d in _events_by_period(pks, starts, doses):
        _, Fk, lk = _events(pk, d, n)
        F[:, cols], lag[:, cols] = Fk, lk
        dur[:, cols] = _events_mod.event_durations(pk, d, amounts[:, cols], Fk)
    return state, F, lag, dur


def _scheduled_inputs(doses: Doses, state, amounts, pks, starts, lag_row, t_end) -> Inputs:
    """:func:`_inputs` with each event's F (and steady state) from the model of the period of its record time."""
    n = amounts.shape[0]
    if len(pks) == 1:
        _, F, _ = _events(pks[0], doses, n)
        return _inputs(doses, state, amounts, F, lag_row, t_end, pks[0])
    lag_row = np.asarray(lag_row, dtype=float)
    parts = []
    for pk, cols, d in _events_by_period(pks, starts, doses):
        _, F, _ = _events(pk, d, n)
        parts.append(_inputs(d, state[cols], amounts[:, cols], F, lag_row[..., cols], t_end, pk))
    return _join_inputs(parts, n)


def _join_inputs(parts, n: int) -> Inputs:
    if not parts:
        return Inputs()

    def cat(name, amounts=False):
        vals = [getattr(p, name) for p in parts]
        if amounts:
            vals = [np.broadcast_to(v, (n, v.shape[-1])) for v in vals]
            return np.concatenate(vals, axis=-1)
        return np.concatenate(vals)

    return Inputs(bolus_time_h=cat("bolus_time_h"), bolus_state=cat("bolus_state"),
                  bolus_amount=cat("bolus_amount", True), infusion_start_h=cat("infusion_start_h"),
                  infusion_end_h=cat("infusion_end_h"), infusion_state=cat("infusion_state"),
                  infusion_rate=cat("infusion_rate", True))


def _slice_inputs(inp: Inputs, a: float, b: float) -> Inputs:
    """The inputs that act in ``[a, b)``: boluses at ``a <= t < b``, infusions clipped to the window."""
    bk = (inp.bolus_time_h >= a) & (inp.bolus_time_h < b)
    ik = (inp.infusion_start_h < b) & (inp.infusion_end_h > a)
    return Inputs(bolus_time_h=inp.bolus_time_h[bk], bolus_state=inp.bolus_state[bk],
                  bolus_amount=inp.bolus_amount[..., bk], infusion_start_h=np.maximum(inp.infusion_start_h[ik], a),
                  infusion_end_h=np.minimum(inp.infusion_end_h[ik], b), infusion_state=inp.infusion_state[ik],
                  infusion_rate=inp.infusion_rate[..., ik])


def _period_bounds(starts, k: int) -> tuple[float, float]:
    return float(starts[k]), (float(starts[k + 1]) if k + 1 < len(starts) else np.inf)


class _PiecewiseMesh:
    """:class:`~pharmsim.linear.MeshStates` chained over the periods of a schedule: each period's node states
    marched from the state at the end of the period before."""

    def __init__(self, pks, starts, nodes, inp: Inputs):
        self.starts, self.parts = np.asarray(starts), []
        x = None
        for k, pk in enumerate(pks):
            a, b = _period_bounds(starts, k)
            nd = nodes[(nodes >= a) & (nodes <= b)]
            ms = MeshStates(pk.matrix(), nd, _slice_inputs(inp, a, b), x0=x)
            self.parts.append(ms)
            if np.isfinite(b):
                x = ms.at([b])[:, 0, :]

    def at(self, times, observe=None) -> np.ndarray:
        times = np.asarray(times, dtype=float)
        seg = np.searchsorted(self.starts[1:], times, side="right")
        out = None
        for k in np.unique(seg):
            sel = seg == k
            part = self.parts[int(k)].at(times[sel], observe)
            if out is None:
                out = np.empty((part.shape[0], times.size, part.shape[2]))
            out[:, sel] = part
        return out


def _chained_steps(pks, starts, nodes, inp: Inputs, rows, inside_rows):
    """The :func:`~pharmsim.linear.iter_linear_steps` stream across the periods of a schedule: each period on its
    nodes with its matrix, started from the whole state at the end of the period before; at a change time the
    stages of the step before it and the state after that node's boluses (right-continuous)."""
    carry, pending = None, None
    last_k = len(pks) - 1
    for k, pk in enumerate(pks):
        a, b = _period_bounds(starts, k)
        nd = nodes[(nodes >= a) & (nodes <= b)]
        it = iter_linear_steps(pk.matrix(), nd, _RADAU_INNER, _slice_inputs(inp, a, b), x0=carry,
                               observe_inside=inside_rows, observe=None)
        _, x = next(it)
        yield pending, x[rows]
        last = None
        for inside, x in it:
            if last is not None:
                yield last[0], last[1][rows]
            last = (inside, x)
        if k == last_k:
            if last is not None:
                yield last[0], last[1][rows]
        else:
            pending, carry = last[0], last[1].T.copy()


def _inputs(doses: Doses, state, amounts, F, lag_row, t_end=None, pk: PKModel | None = None) -> Inputs:
    """Boluses and infusions (bioavailable amounts, lagged times) for subjects that share ``lag_row``.

    ``lag_row`` is the (2, E) timing row ``[lag; duration]`` of :meth:`_Subjects.timing` (or (E,) lags, the
    durations then ``doses.duration_h``). With ``t_end`` events after it are dropped and infusions running past
    it end there (exact within the simulated window: nothing after ``t_end`` can change what is computed before
    it). Steady-state events (``doses.ss``) add the boluses and infusions of
    :func:`pharmsim.events.steady_state_inputs` (the linear part of ``pk``).
    """
    lag_row = np.asarray(lag_row, dtype=float)
    lag, dur = (lag_row[0], lag_row[1]) if lag_row.ndim == 2 else (lag_row, doses.duration_h)
    times = doses.time_h + lag
    amt = amounts * F
    constant = np.isinf(dur)             # a constant infusion at steady state: its state only (NONMEM, rxode2)
    bolus = dur == 0
    inf = ~bolus & ~constant
    b_keep = bolus & (True if t_end is None else times <= t_end)
    start, end = times[inf], times[inf] + dur[inf]
    if np.any(end <= start):
        e = int(np.nonzero(inf)[0][np.argmax(end <= start)])
        raise PharmsimError(
            f"the infusion of {doses.compound[e]} at {float(doses.time_h[e])!r} h (duration {float(dur[e])!r} h, "
            f"lag {float(lag[e])!r} h) is too short to be represented after its lag time; give duration_h = 0 "
            "(a bolus) or a longer infusion")
    # the rate over the duration as represented in floating point (end - start), so that the amount delivered
    # is the dose to round-off even for infusions of 1e-12 h
    rate = amt[:, inf] / (end - start)
    bt, bs, ba = times[b_keep], state[b_keep], amt[:, b_keep]
    st_i, en_i, ss_i, ra_i = start, end, state[inf], rate
    if np.any(doses.ss > 0):
        if pk is None or not pk.is_linear:
            raise PharmsimError("internal: steady-state inputs need the linear PK model")
        full_rate = np.zeros_like(amt)
        full_rate[:, inf] = rate
        full_rate[:, constant] = F[:, constant] * doses.rate_nmol_per_h[constant]
        keep = np.array([not s.endswith(".eliminated") for s in pk.states])
        extra = _events_mod.steady_state_inputs(pk.matrix(), state, doses.time_h, lag, dur, amt, full_rate, doses.ss,
                                                doses.ii_h, keep)
        n = amt.shape[0]
        bt = np.concatenate([bt, extra["bolus_time"]])
        bs = np.concatenate([bs, extra["bolus_state"]])
        ba = np.concatenate([np.broadcast_to(ba, (n, ba.shape[1])), np.broadcast_to(
            extra["bolus_amount"], (n, extra["bolus_amount"].shape[1]))], axis=1)
        st_i = np.concatenate([st_i, extra["inf_start"]])
        en_i = np.concatenate([en_i, extra["inf_end"]])
        ss_i = np.concatenate([ss_i, extra["inf_state"]])
        ra_i = np.concatenate([np.broadcast_to(ra_i, (n, ra_i.shape[1])), np.broadcast_to(
            extra["inf_rate"], (n, extra["inf_rate"].shape[1]))], axis=1)
        if t_end is not None:
            kb = bt <= t_end
            bt, bs, ba = bt[kb], bs[kb], ba[:, kb]
    i_keep = np.ones(st_i.size, dtype=bool) if t_end is None else st_i < t_end
    end_c = en_i if t_end is None else np.minimum(en_i, t_end)
    return Inputs(bolus_time_h=bt, bolus_state=bs, bolus_amount=ba, infusion_start_h=st_i[i_keep],
                  infusion_end_h=end_c[i_keep], infusion_state=ss_i[i_keep], infusion_rate=ra_i[:, i_keep])


def _breakpoints(inp: Inputs) -> np.ndarray:
    return np.unique(np.concatenate([inp.bolus_time_h, inp.infusion_start_h, inp.infusion_end_h]))


# ------------------------------------------------------------------------------------------------ ODE PK
def _ode_states(pk, times: np.ndarray, inp: Inputs, rows, rtol: float = 1e-8, atol: float = 1e-9, starts=None):
    """States ``rows`` at sorted ``times`` for every subject of ``pk`` by LSODA between events:
    (len(rows), T, n) with saturable terms (:meth:`PKModel.nonlinear_terms`). ``pk`` may be a sequence of
    models, one per period of a schedule starting at ``starts`` (h): the state is carried across each change."""
    from scipy.integrate import solve_ivp

    pks = (pk,) if isinstance(pk, PKModel) else tuple(pk)
    starts = np.zeros(1) if starts is None else np.asarray(starts, dtype=float)
    N = max(max(p.n_subjects for p in pks), inp.n_subjects)
    n = len(pks[0].states)
    mats = [np.broadcast_to(p.matrix(), (N, n, n)) for p in pks]
    nonlinears = [p.nonlinear_rhs() for p in pks]
    bolus_amount = np.broadcast_to(inp.bolus_amount, (N, inp.bolus_time_h.size))
    inf_rate = np.broadcast_to(inp.infusion_rate, (N, inp.infusion_start_h.size))

    def rhs(_t, y, r, A, nonlinear):
        x = y.reshape(N, n)
        dx = np.einsum("nij,nj->ni", A, x) + r
        if nonlinear is not None:
            dx += nonlinear(x)
        return dx.reshape(-1)

    x = np.zeros((N, n))
    events = np.unique(np.concatenate([[0.0], inp.bolus_time_h, inp.infusion_start_h, inp.infusion_end_h,
                                       starts[1:]]))
    out = np.empty((len(rows), times.size, N))
    k, now = 0, 0.0
    segments = list(events[events > 0]) + [max(times[-1], 0.0) + 1.0]
    for b in segments:
        for j in np.nonzero(inp.bolus_time_h == now)[0]:
            x[:, inp.bolus_state[j]] += bolus_amount[:, j]
        upto = np.searchsorted(times, b, side="left")
        want = times[k:upto]
        active = (inp.infusion_start_h <= now) & (inp.infusion_end_h > now)
        r = np.zeros((N, n))
        for j in np.nonzero(active)[0]:
            r[:, inp.infusion_state[j]] += inf_rate[:, j]
        at_now = want[want == now]
        for _ in at_now:
            out[:, k] = x[:, rows].T
            k += 1
        later = want[want > now]
        t_stop = float(b)
        if later.size or k < times.size:
            piece = int(np.searchsorted(starts, now, side="right")) - 1
            args = (r, mats[piece], nonlinears[piece])
            sol = solve_ivp(rhs, (now, t_stop), x.reshape(-1), method="LSODA", args=args, rtol=rtol, atol=atol,
                            t_eval=later if later.size else None)
            if not sol.success:
                raise PharmsimError(f"the ODE solver failed between {now} h and {t_stop} h: {sol.message}")
            for j in range(later.size):
                out[:, k] = sol.y[:, j].reshape(N, n)[:, rows].T
                k += 1
            x = sol.y[:, -1].reshape(N, n).copy() if sol.t[-1] == t_stop else _advance(sol, t_stop, rhs, args, N, n)
        now = t_stop
        if k >= times.size:
            break
    return out


def _advance(sol, t_stop, rhs, args, N, n):
    from scipy.integrate import solve_ivp

    s = solve_ivp(rhs, (sol.t[-1], t_stop), sol.y[:, -1], method="LSODA", args=args, rtol=1e-8, atol=1e-9)
    return s.y[:, -1].reshape(N, n).copy()


# ------------------------------------------------------------------------------------------------ the engine
def _choose_path(model: Model, plan: _Plan) -> str:
    if not model.pk.is_linear:
        return "ode"
    if plan.kinetic or plan.tolerance:
        return "streaming"
    return "exact-at-outputs"


@dataclass
class _Work:
    """Everything shared by the chunks of one run."""

    model: Model
    plan: _Plan
    subjects: _Subjects
    t: np.ndarray
    out: np.ndarray | None           # (T, S, N): every requested series, output times first
    path: str
    nodes: np.ndarray | None = None
    keep: np.ndarray | None = None   # nodes that are output times
    lig_u: tuple = ()                # union of compounds bound at the computed receptors
    notes: list = field(default_factory=list)
    starts: np.ndarray = field(default_factory=lambda: np.zeros(1))   # period starts (h) up to the last output


def _ligand_arrays(model: Model, plan: _Plan):
    """Union ligand order and per-receptor (L_u,) arrays of kon, koff, membership."""
    lig_u = tuple(dict.fromkeys(lig.name for r in plan.receptors for lig in model.ligands_at(r)))
    return lig_u


def simulate(model: Model, doses: Doses, t_h, *, population=None, outputs=None, rtol: float = 1e-5,
             atol: float = 1e-10, chunk_size: int | None = None, workers: int = 1, progress=None,
             max_output_mb: float = MAX_OUTPUT_MB, max_nodes: int = MAX_NODES, strict: bool = True,
             summaries=None, scheduler=None, seed=0, ss_rtol: float = 1e-6, ss_max_periods: int = 1024):
    """Simulate ``model`` with ``doses`` on the output times ``t_h`` (h), for one subject or a population.

    Parameters
    ----------
    model : Model
        From :func:`pharmsim.model.build_model` or :func:`pharmsim.model.compose`.
    doses : Doses
        Dosing events (:func:`pharmsim.dosing.dose`, :func:`~pharmsim.dosing.regimen`,
        :meth:`pharmsim.products.Product.doses`, added with ``+``); amounts may be per subject (N, E).
    t_h : (T,) array
        Output times (h), strictly increasing, >= 0 (the simulation starts at 0 h with nothing in the body).
    population : Population, ParameterSchedule, DataFrame or mapping, optional
        Per-subject PK parameters: a :class:`pharmsim.population.Population` (random effects and covariates
        applied to the model's typical values, and with its ``schedule`` covariates that change during the run
        and inter-occasion variability), a :class:`pharmsim.schedule.ParameterSchedule` alone (parameter values
        or covariates that change at given times, on the model's typical values), or a table of per-subject
        values joined by parameter name (columns such as ``'MG.CL_L_per_h'``; mrgsolve's ``idata``).
    outputs : None, str, sequence of str or Outputs
        What to keep (default everything the model produces): quantities among :data:`OUTPUT_QUANTITIES`,
        optionally restricted to compounds, receptors and endpoints. Parts nobody asked for are not computed.
    rtol, atol : float
        Local error tolerance of the kinetic binding on occupancies (fractions); the mesh (at most
        ``model.max_step_h`` between nodes) is refined by step doubling on pilot subjects until every step
        meets ``|err| <= atol + rtol |B|``.
    chunk_size : int, optional
        Subjects solved together (bounds working memory; default all, at most 20,000).
    workers : int
        Threads over chunks (default 1). Results do not depend on it beyond round-off (about 1e-13). A population
        that fits in one chunk is split over the threads only with at least ``MIN_SUBJECTS_PER_THREAD`` subjects
        each (smaller shares cost more in thread overhead than they save).
    progress : callable, optional
        Called with the number of subjects finished after each chunk.
    max_output_mb, max_nodes : float, int
        Limits checked before solving: the output arrays (subjects x times x series x 8 bytes) and the
        integration mesh. A run beyond them is refused with what to change.
    strict : bool
        Every ``omega`` name of a Population must be a parameter of the model (default); ``False`` applies
        only the names the model has (one population shared by arms with different compounds).
    summaries : pharmsim.summaries.Summaries, optional
        Keep only these population summaries (per-time mean, SD, quantiles with a stated error bound,
        per-subject scalars, a few sampled trajectories), chunk by chunk: memory independent of N. Returns a
        :class:`pharmsim.summaries.SummaryResult` whose series are labelled ``quantity/compound/receptor/endpoint``.
        Chunks are of ``chunk_size`` subjects (default 5,000) whatever ``workers`` or ``scheduler`` are, so the
        result is the same for any of them.
    scheduler : dask.distributed.Client, optional
        With ``summaries``: run the chunks on this Dask cluster (the mesh is adapted here, once); the partial
        summaries are merged in subject order exactly as a local run merges them.
    seed : int or numpy.random.SeedSequence
        Which subjects' full trajectories ``summaries`` keeps (chosen from N before the run).
    ss_rtol, ss_max_periods : float, int
        Steady state (``Doses.ss``) on the kinetic-binding, tolerance and saturable paths is iterated: the dose
        repeated over K intervals (K = 8, 16, ... up to ``ss_max_periods``) until two runs agree to ``ss_rtol``
        relative at every output (:mod:`pharmsim.events`); on the exact path it is exact.

    Returns
    -------
    Result
        Per subject and output time the requested series (plasma concentrations in nM and ng/mL, unbound
        effect-site concentrations, occupancy of each ligand at each receptor, each endpoint's response, and
        with tolerance the desensitised fraction, counter-adaptation, net signal and withdrawal), and notes;
        a SummaryResult with ``summaries``.

    Notes
    -----
    Resets (``Doses.reset_h``, ``ss = 1`` after 0 h) split the run into segments started from zero, joined on
    ``t_h`` (an output at a reset time shows the state after it); see :mod:`pharmsim.events`.
    """
    kw = {"population": population, "outputs": outputs, "rtol": rtol, "atol": atol, "chunk_size": chunk_size,
          "workers": workers, "progress": progress, "max_output_mb": max_output_mb, "max_nodes": max_nodes,
          "strict": strict}
    if isinstance(model, Model) and isinstance(doses, Doses) and (doses.has_resets or np.any(doses.ss > 0)):
        path = _choose_path(model, _plan(model, _as_outputs(outputs)))
        if _events_mod.needs_segments(doses, path):
            if summaries is not None or scheduler is not None:
                raise PharmsimError("summaries= and scheduler= stream one run; doses with resets after 0 h, or steady "
                                    "state with kinetic binding, tolerance or saturable PK, need several: simulate "
                                    "without summaries, or give the doses without them")
            return _events_mod.simulate_segments(_simulate_plain, model, doses, t_h, path=path, ss_rtol=ss_rtol,
                                                 ss_max_periods=ss_max_periods, **kw)
    return _simulate_plain(model, doses, t_h, summaries=summaries, scheduler=scheduler, seed=seed, **kw)


def _simulate_plain(model, doses, t_h, *, population, outputs, rtol, atol, chunk_size, workers, progress,
                    max_output_mb, max_nodes, strict, summaries=None, scheduler=None, seed=0):
    """:func:`simulate` of one segment (no resets after 0 h; steady state only on the exact path)."""
    if summaries is not None:
        return _simulate_summaries(model, doses, t_h, population, outputs, rtol, atol, chunk_size, workers,
                                   progress, max_nodes, strict, summaries, scheduler, seed, max_output_mb)
    if scheduler is not None:
        raise PharmsimError("scheduler= runs streamed summaries on a cluster: give summaries=Summaries(...) too "
                            "(full trajectories of every subject stay in this process)")
    work, groups, state, opts = _prepare(model, doses, t_h, population, outputs, rtol, atol, chunk_size, workers,
                                         max_output_mb, max_nodes, strict)
    t, chunk, workers = work.t, opts["chunk"], opts["workers"]
    for members, lag_row in groups:
        if work.path != "exact-at-outputs":
            work.nodes = _mesh(work, members, lag_row, state, opts["rtol"], opts["atol"], opts["max_nodes"])
            work.keep = np.zeros(work.nodes.size, dtype=bool)
            work.keep[_binding.node_index(work.nodes, t)] = True
        if opts["auto_chunk"] and work.path == "streaming":
            chunk = _chunk_for_memory(work, members, lag_row, state, workers, opts["chunk"])
        blocks = [members[i:i + chunk] for i in range(0, members.size, chunk)]
        if workers > 1 and len(blocks) < workers and members.size >= MIN_SUBJECTS_PER_THREAD * workers:
            blocks = [b for b in np.array_split(members, workers) if b.size]
        if workers > 1 and len(blocks) > 1:
            with ThreadPoolExecutor(workers) as ex:
                futures = [ex.submit(_run_chunk, work, idx, lag_row, state) for idx in blocks]
                for f, idx in zip(futures, blocks, strict=True):
                    f.result()
                    if progress is not None:
                        progress(idx.size)
        else:
            for idx in blocks:
                _run_chunk(work, idx, lag_row, state)
                if progress is not None:
                    progress(idx.size)
    notes = list(model.notes)
    notes.append(f"engine path: {work.path}" + (f" ({work.nodes.size} integration nodes)" if work.nodes is not None
                                                else " (exact PK at the output times)"))
    notes += _schedule_notes(work)
    series = tuple(Series(quantity=s.quantity, compound=s.compound, receptor=s.receptor, endpoint=s.endpoint,
                          unit=s.unit, values=work.out[:, j, :].T) for j, s in enumerate(work.plan.series))
    return Result(t_h=t, series=series, notes=tuple(dict.fromkeys(notes)))


def _schedule_notes(work: _Work) -> list[str]:
    if work.subjects.schedule is None:
        return []
    ch = work.starts[1:]
    if not ch.size:
        return ["parameter schedule: no change before the last output time"]
    return [f"parameter schedule: parameters change at {', '.join(f'{x:g}' for x in ch)} h (piecewise constant, "
            "last value carried forward; the state is carried across each change)"]


def series_label(spec) -> str:
    """``'quantity/compound/receptor/endpoint'``: how streamed summaries name a series."""
    return f"{spec.quantity}/{spec.compound}/{spec.receptor}/{spec.endpoint}"


@dataclass
class _ChunkSubjects:
    """The subjects of one chunk as plain arrays (what a remote worker receives instead of the population)."""

    pks: tuple
    amounts: np.ndarray
    doses: Doses

    def pks_for(self, idx, periods: int = 1):
        return self.pks[:periods]

    def amounts_for(self, idx):
        return self.amounts


def _chunk_partial(work: _Work, idx: np.ndarray, lag_row, state, acc, start: int):
    """One chunk's partial summaries: simulate it into a local block and hand the block to ``acc``."""
    block = np.empty((work.t.size, len(work.plan.series), idx.size))
    _run_chunk(work, idx, lag_row, state, out=block)
    return acc.chunk(start, {series_label(sp): block[:, j, :].T for j, sp in enumerate(work.plan.series)})


def _remote_chunk(payload):
    """A Dask task: the chunk's arrays arrive in ``payload``; nothing else of the population is shipped."""
    work, idx, lag_row, state, acc, start = payload
    return _chunk_partial(work, np.arange(idx.size), lag_row, state, acc, start)


def _simulate_summaries(model, doses, t_h, population, outputs, rtol, atol, chunk_size, workers, progress,
                        max_nodes, strict, summaries, scheduler, seed, max_output_mb):
    from dataclasses import replace as _replace

    from .summaries import Summaries, SummaryAccumulator

    if not isinstance(summaries, Summaries):
        raise PharmsimError(f"summaries must be a pharmsim.summaries.Summaries(...); got {type(summaries).__name__}")
    chunk_size = 5_000 if chunk_size is None else chunk_size
    work, groups, state, opts = _prepare(model, doses, t_h, population, outputs, rtol, atol, chunk_size, workers,
                                         1e300, max_nodes, strict, allocate=False)
    N = work.subjects.n
    labels = [series_label(sp) for sp in work.plan.series]
    acc = SummaryAccumulator(summaries, work.t, labels, N, seed=seed)
    chunk = opts["chunk"]
    # at most this many chunks are simulated (or their partials waiting for an earlier one) at a time
    in_flight = max(2, 2 * (_cluster_workers(scheduler) if scheduler is not None else opts["workers"]))
    need_mb = (in_flight * (work.t.size * len(labels) * chunk * 8 + acc.nbytes_bound(chunk))
               + acc.nbytes_bound(N)) / 2**20
    if need_mb > max_output_mb:
        raise PharmsimError(
            f"streamed summaries would hold about {need_mb:,.0f} MB ({in_flight} chunk(s) of {chunk:,} subjects x "
            f"{work.t.size:,} times x {len(labels)} series with their partial summaries, and the per-subject "
            f"scalars of {N:,} subjects), over max_output_mb = {max_output_mb:,.0f} MB; use a smaller chunk_size, "
            "fewer series (outputs=) or scalars, a coarser quantile_error or value_range in Summaries, or raise "
            "max_output_mb")
    folded = _Fold(acc)
    for members, lag_row in groups:
        if work.path != "exact-at-outputs":
            work.nodes = _mesh(work, members, lag_row, state, opts["rtol"], opts["atol"], opts["max_nodes"])
            work.keep = np.zeros(work.nodes.size, dtype=bool)
            work.keep[_binding.node_index(work.nodes, work.t)] = True
        blocks = [members[i:i + chunk] for i in range(0, members.size, chunk)]
        if scheduler is not None:
            from distributed import as_completed

            light = _replace(work, subjects=None, out=None)

            def submit(idx, light=light, lag_row=lag_row):
                sub = _ChunkSubjects(work.subjects.pks_for(idx, work.starts.size), work.subjects.amounts_for(idx),
                                     work.subjects.doses)
                return scheduler.submit(_remote_chunk, (_replace(light, subjects=sub), idx, lag_row, state, acc,
                                                        int(idx[0])), pure=False)

            todo = iter(blocks)
            running = as_completed([submit(idx) for idx in itertools.islice(todo, in_flight)])
            for future in running:
                part = future.result()
                folded.add(part)
                if progress is not None:
                    progress(part.n)
                nxt = next(todo, None)
                if nxt is not None:
                    running.add(submit(nxt))
        elif opts["workers"] > 1 and len(blocks) > 1:
            with ThreadPoolExecutor(opts["workers"]) as ex:
                window = in_flight
                for start in range(0, len(blocks), window):
                    futures = [ex.submit(_chunk_partial, work, idx, lag_row, state, acc, int(idx[0]))
                               for idx in blocks[start:start + window]]
                    for f, idx in zip(futures, blocks[start:start + window], strict=True):
                        folded.add(f.result())
                        if progress is not None:
                            progress(idx.size)
        else:
            for idx in blocks:
                folded.add(_chunk_partial(work, idx, lag_row, state, acc, int(idx[0])))
                if progress is not None:
                    progress(idx.size)
    return folded.result()


class _Fold:
    """Partial summaries folded in subject order as they arrive (out-of-order ones wait): the same sequence of
    combinations whatever the number of workers, so the result is too."""

    def __init__(self, acc):
        self.acc, self.pending, self.running, self.next = acc, {}, None, 0
        self.scalars: list[np.ndarray] = []       # per-subject columns, joined once at the end (not per fold)

    def add(self, part) -> None:
        from dataclasses import replace as _replace

        self.pending[part.start] = part
        while self.next in self.pending:
            p = self.pending.pop(self.next)
            self.scalars.append(p.scalars)
            p = _replace(p, scalars=p.scalars[:, :0])
            self.running = p if self.running is None else self.acc.combine(self.running, p)
            self.next = p.start + p.n

    def result(self):
        from dataclasses import replace as _replace

        if self.pending or self.running is None:
            raise PharmsimError("internal: streamed summaries are missing a chunk")      # pragma: no cover
        return self.acc.finalize(_replace(self.running, scalars=np.concatenate(self.scalars, axis=1)))


def _cluster_workers(client) -> int:
    try:
        return max(1, len(client.scheduler_info().get("workers", {})))
    except Exception:                      # a scheduler without workers' info: assume one
        return 1


def check_run(model: Model, doses: Doses, t_h, *, population=None, outputs=None, max_output_mb=MAX_OUTPUT_MB,
              max_nodes=MAX_NODES, strict: bool = False, **_ignored) -> dict:
    """Every check :func:`simulate` makes before solving (arguments, doses against the model, the
    population against the model, the size of the outputs and of the mesh), without solving.

    Returns ``{'path', 'n_subjects', 'output_mb', 'nodes_estimate'}``.
    """
    work, groups, state, opts = _prepare(model, doses, t_h, population, outputs, 1e-5, 1e-10, None, 1,
                                         max_output_mb, max_nodes, strict, allocate=False)
    est = 0
    if work.path != "exact-at-outputs":
        for members, lag_row in groups:
            est = max(est, _mesh_estimate(work, members, lag_row, state, opts["max_nodes"])[0])
    return {"path": work.path, "n_subjects": work.subjects.n, "output_mb": opts["output_mb"], "nodes_estimate": est}


def _prepare(model, doses, t_h, population, outputs, rtol, atol, chunk_size, workers, max_output_mb, max_nodes,
             strict, allocate: bool = True):
    """Validate a run and lay out its work: ``(work, [(members, lag_row)], event states, options)``."""
    if not isinstance(model, Model):
        raise PharmsimError(f"model must be a pharmsim Model (build_model()); got {type(model).__name__}")
    model.check_doses(doses)
    t = np.atleast_1d(require_finite("t_h", t_h, "h"))
    if t.ndim != 1 or t.size == 0:
        raise PharmsimError(f"t_h must be a non-empty 1-D array of times in h; got shape {t.shape}")
    if np.any(np.diff(t) <= 0):
        i = int(np.argmax(np.diff(t) <= 0))
        raise PharmsimError(f"t_h must be strictly increasing; t_h[{i + 1}] = {t[i + 1]!r} h follows "
                            f"t_h[{i}] = {t[i]!r} h")
    if t[0] < 0:
        raise PharmsimError(f"t_h must be >= 0 h (simulations start at 0 h); got {t[0]!r} h")
    rtol = require_number("rtol", rtol, minimum=0, strict=True)
    atol = require_number("atol", atol, minimum=0, strict=True)
    workers = _count("workers", workers, 1)
    max_nodes = _count("max_nodes", max_nodes, 2)
    max_output_mb = require_number("max_output_mb", max_output_mb, "MB", minimum=0, strict=True)
    plan = _plan(model, _as_outputs(outputs))
    subjects = _Subjects(model, doses, population)
    if strict and subjects.population is not None:
        names = list(subjects.population.omega) + list(getattr(subjects.population, "iov", {}))
        missing = [k for k in dict.fromkeys(names) if k not in model.pk.parameter_info]
        if missing:
            raise PharmsimError(f"the population varies {missing}, which are not parameters of the model"
                                f"{suggest(missing[0], model.pk.parameter_info)}; pass strict=False to apply only "
                                "the parameters the model has")
    if subjects.schedule is not None:
        known = {**model.pk._optional_info(), **model.pk.parameter_info}
        for k in subjects.schedule.values:
            if k not in known:
                raise PharmsimError(f"the parameter schedule sets {k!r}, which is not a PK parameter of the model"
                                    f"{suggest(k, known)}; parameters: {list(model.pk.parameter_info)}")
    N = subjects.n
    chunk = min(N, 20_000) if chunk_size is None else _count("chunk_size", chunk_size, 1)
    need_mb = N * t.size * len(plan.series) * 8 / 2**20
    if need_mb > max_output_mb:
        raise PharmsimError(
            f"the requested outputs would take {need_mb:,.0f} MB ({N:,} subjects x {t.size:,} times x "
            f"{len(plan.series)} series x 8 bytes), over max_output_mb = {max_output_mb:,.0f} MB; keep fewer series "
            "(outputs=...), fewer output times or subjects, or raise max_output_mb")
    path = _choose_path(model, plan)
    out = np.empty((t.size, len(plan.series), N)) if allocate else None
    starts = subjects.starts[subjects.starts <= t[-1]]
    work = _Work(model, plan, subjects, t, out, path, lig_u=_ligand_arrays(model, plan), starts=starts)
    state, lag_all = subjects.timing(starts if starts.size > 1 else None)
    # subjects with identical lag times and infusion durations share event times and one mesh
    if lag_all.shape[0] == 1:
        groups = [(np.arange(N), lag_all[0])]
    else:
        flat = lag_all.reshape(lag_all.shape[0], -1)
        lag_rows, group = np.unique(flat, axis=0, return_inverse=True)
        group = np.asarray(group).reshape(-1)
        groups = [(np.nonzero(group == g)[0], lag_rows[g].reshape(2, -1)) for g in range(lag_rows.shape[0])]
    opts = {"chunk": chunk, "workers": workers, "rtol": rtol, "atol": atol, "max_nodes": max_nodes,
            "output_mb": need_mb, "auto_chunk": chunk_size is None}
    return work, groups, state, opts


#: Working memory (MiB) the streamed path may hold in per-subject step matrices at once, over all threads,
#: besides the outputs: the default chunk of subjects is cut to stay within it (``chunk_size=`` overrides).
_STEP_MATRIX_MB = 48.0


def _stream_rows(pk: PKModel, plan: _Plan, lig_u) -> tuple[list[int], list[int]]:
    """``(rows, inside)``: the states kept at the nodes (central compartments of the concentration outputs, then
    the effect sites of the effect outputs) and those needed inside each step (the effect sites of the bound
    ligands with kinetic binding, else the first row)."""
    central, effect = pk.central_states(), pk.effect_states()
    rows = [central[c] for c in plan.conc_compounds] + [effect[c] for c in plan.effect_compounds]
    inside = ([effect[c] for c in lig_u] if plan.kinetic else None) or rows[:1]
    return rows, inside


def _chunk_for_memory(work: _Work, members, lag_row, state, workers: int, chunk: int) -> int:
    """The default chunk of subjects, cut so that the per-subject step matrices of the chunks running at once
    (one per thread) stay within :data:`_STEP_MATRIX_MB` (:func:`pharmsim.linear.step_matrix_bytes`); at least
    1,000 subjects, so the per-step Python work stays small beside the array work."""
    subj = work.subjects
    if not (subj.population is not None or subj.table or subj.pk.n_subjects > 1):
        return chunk                                           # one matrix per step length, shared by all
    pk1 = subj.pks_for(members[:1], work.starts.size)
    rows, inside = _stream_rows(pk1[0], work.plan, work.lig_u)
    inp = _scheduled_inputs(subj.doses, state, subj.amounts_for(members[:1]), pk1, work.starts, lag_row,
                            float(work.t[-1]))
    per = step_matrix_bytes(pk1[0].matrix(), work.nodes, _RADAU_INNER.size, inside, rows,
                            inp.infusion_start_h.size > 0)
    fit = int(_STEP_MATRIX_MB * 2**20 / max(per * max(workers, 1), 1.0))
    return int(min(chunk, max(1_000, fit)))


def _count(name: str, value, minimum: int) -> int:
    return require_count(name, value, minimum=minimum)


def _mesh_estimate(work: _Work, members, lag_row, state, max_nodes):
    """``(estimated nodes, grid, breakpoints)`` of the un-refined mesh of one lag group; refuses a mesh over
    ``max_nodes`` before anything is allocated."""
    model, t, subj = work.model, work.t, work.subjects
    grid = np.unique(np.concatenate([[0.0], t]))
    t_end = float(t[-1])
    pks1 = subj.pks_for(members[:1], work.starts.size)
    inp1 = _scheduled_inputs(subj.doses, state, subj.amounts_for(members[:1]), pks1, work.starts, lag_row, t_end)
    breaks = np.unique(np.concatenate([_breakpoints(inp1), work.starts[1:]]))
    h = model.max_step_h
    base = np.unique(np.concatenate([grid, breaks[breaks <= t_end]]))
    estimate = float(np.sum(np.ceil(np.diff(base) / h))) + 1      # a float: 1e300 h must not build a huge int
    if estimate > max_nodes:
        shown = f"{estimate:,.0f}" if estimate < 1e15 else f"{estimate:.3g}"
        raise PharmsimError(
            f"the integration mesh would need about {shown} nodes (t_h up to {t_end:g} h at max_step_h = {h:g} h), "
            f"over max_nodes = {max_nodes:,}; shorten the time span, raise the model's max_step_h "
            "(build_model(..., max_step_h=...); model.max_step_h in a scenario), use binding='equilibrium' without "
            "tolerance (no mesh), or raise max_nodes")
    return int(estimate), grid, breaks


def _mesh(work: _Work, members, lag_row, state, rtol, atol, max_nodes) -> np.ndarray:
    """Integration nodes for the subjects ``members`` (one lag group): outputs, breakpoints, max step; refined
    on pilot subjects for the kinetic receptors."""
    model, plan, t = work.model, work.plan, work.t
    subj = work.subjects
    t_end = float(t[-1])
    h = model.max_step_h
    _, grid, breaks = _mesh_estimate(work, members, lag_row, state, max_nodes)
    nodes = _binding.make_nodes(grid, breaks, h, max_nodes=max_nodes)
    if not plan.kinetic:
        return nodes
    var = subj.varying() if subj.n > 1 else {}
    # pilots are chosen among the subjects whose varying values were gathered (the first _VARYING_CAP, to
    # bound memory in very large populations)
    n_var = min((v.shape[0] for v in var.values()), default=subj.n)
    cand = members[members < n_var]
    if cand.size:
        pilot = cand[_pilot({k: v[cand] for k, v in var.items()}, cand.size)]
    else:  # a lag group wholly beyond the gathered subjects: its first member pilots
        pilot = members[:1]
    pks_p = subj.pks_for(pilot, work.starts.size)
    pk_p = pks_p[0]
    inp = _scheduled_inputs(subj.doses, state, subj.amounts_for(pilot), pks_p, work.starts, lag_row, t_end)
    eff_rows = [pk_p.effect_states()[c] for c in work.lig_u]
    kon, koff = _kinetic_rates(model, plan, work.lig_u)          # (L_u, R_k)
    R = len(plan.kinetic)
    linear = model.pk.is_linear
    if linear:
        mesh_states = (MeshStates(pk_p.matrix(), nodes, inp) if len(pks_p) == 1
                       else _PiecewiseMesh(pks_p, work.starts, nodes, inp))

    def ce_fn(times):
        if linear:      # exact, from the node states of the base mesh (few distinct offsets inside steps)
            ce = mesh_states.at(times, observe=eff_rows)                         # (n_p, T, L_u)
        else:
            ce = np.moveaxis(_ode_states(pks_p, np.asarray(times), inp, eff_rows, starts=work.starts), 0,
                             -1).transpose(1, 0, 2)
        return np.maximum(ce, 0.0)

    nodes = _binding.adapt_nodes(nodes, ce_fn, kon.T, koff.T, breakpoints_h=breaks, max_step_h=h, rtol=rtol,
                                 atol=atol, groups=R, max_nodes=max_nodes)
    if nodes.size > max_nodes:
        raise PharmsimError(f"the adapted integration mesh has {nodes.size:,} nodes, over max_nodes = {max_nodes:,}; "
                            "loosen rtol/atol, shorten the time span or raise max_nodes")
    return nodes


def _kinetic_rates(model: Model, plan: _Plan, lig_u) -> tuple[np.ndarray, np.ndarray]:
    """(L_u, R_k) kon and koff at the kinetic receptors; 0 where a compound is not bound there (its occupancy
    then stays exactly 0)."""
    kon = np.zeros((len(lig_u), len(plan.kinetic)))
    koff = np.zeros_like(kon)
    for j, r in enumerate(plan.kinetic):
        for lig in model.ligands_at(r):
            i = lig_u.index(lig.name)
            kon[i, j], koff[i, j] = lig.kon_per_nM_per_h, lig.koff_per_h
    return kon, koff


def _run_chunk(work: _Work, idx: np.ndarray, lag_row, state, *, pk: PKModel | None = None, amounts=None,
               out: np.ndarray | None = None) -> None:
    """Fill the outputs of the subjects ``idx``: ``work.out[:, :, idx]``, or the block ``out`` (T, S, n) of a
    chunk (summaries, remote workers), with that chunk's PK model ``pk`` (or one per period) and dose amounts when
    given."""
    model, plan, t = work.model, work.plan, work.t
    starts = work.starts
    if pk is None:
        pks = work.subjects.pks_for(idx, starts.size)
    else:
        pks = (pk,) if isinstance(pk, PKModel) else tuple(pk)
    pk = pks[0]
    amounts = work.subjects.amounts_for(idx) if amounts is None else amounts
    inp = _scheduled_inputs(work.subjects.doses, state, amounts, pks, starts, lag_row, float(t[-1]))
    n = idx.size
    conc_c = list(plan.conc_compounds)
    eff_c = list(plan.effect_compounds)
    rows, inside = _stream_rows(pk, plan, work.lig_u)

    def inv_volumes(pk_k):
        p = {k: np.broadcast_to(v, (n,)) for k, v in pk_k.parameters.items()}
        return np.stack([1.0 / p[f"{c}.V_L"] for c in conc_c]) if conc_c else np.zeros((0, n))

    inv_V = [inv_volumes(p) for p in pks]
    mw = {c: model.pk.compound(c).molar_mass_g_per_mol for c in conc_c}
    writer = _Writer(work, idx if out is None else np.arange(idx.size), conc_c, eff_c, inv_V[0], mw,
                     work.out if out is None else out)
    if work.path == "exact-at-outputs":
        if len(pks) == 1:
            for k, (_, x) in enumerate(iter_linear(pk.matrix(), t, inp, observe=rows)):
                writer.node(k, x)
            writer.flush()
            return
        row, carry = 0, None
        for k, pk_k in enumerate(pks):              # each period from the whole state at the end of the one before
            a, b = _period_bounds(starts, k)
            sel = t[(t >= a) & (t < b)]
            times = np.append(sel, b) if np.isfinite(b) else sel
            writer.inv_V = inv_V[k]
            for j, (_, x) in enumerate(iter_linear(pk_k.matrix(), times, _slice_inputs(inp, a, b), x0=carry,
                                                   t_start_h=a)):
                if j < sel.size:
                    writer.node(row, x[rows])
                    row += 1
                else:
                    carry = x.T.copy()
        writer.flush()
        return
    nodes = work.nodes
    lig_u = work.lig_u
    eff_pos = {c: len(conc_c) + i for i, c in enumerate(eff_c)}
    lu_rows = [eff_pos[c] for c in lig_u]
    if work.path == "streaming" and len(pks) == 1:
        steps = iter_linear_steps(pk.matrix(), nodes, _RADAU_INNER, inp, observe_inside=inside, observe=rows)
    elif work.path == "streaming":
        steps = _chained_steps(pks, starts, nodes, inp, rows, inside)
    else:
        steps = _ode_steps(pks, nodes, inp, rows, inside, starts)
    node_period = np.searchsorted(starts[1:], nodes, side="right")
    row = 0
    if not plan.kinetic:
        for k, (_, x) in enumerate(steps):
            writer.inv_V = inv_V[node_period[k]]
            writer.stream_node(k, x, None, row if work.keep[k] else None, nodes)
            row += bool(work.keep[k])
        writer.flush()
        return
    kon, koff = _kinetic_rates(model, plan, lig_u)
    pending: list = []

    def ce_stream():            # the first node's concentrations, then each step's three stages together
        for inside, x in steps:
            pending.append(x)
            if inside is None:
                yield np.maximum(x[lu_rows], 0.0)[:, None, :]                  # (L_u, 1, n)
                continue
            ce3 = np.empty((_binding.RADAU_C.size, len(lig_u), n))
            np.maximum(inside, 0.0, out=ce3[:-1])
            np.maximum(x[lu_rows], 0.0, out=ce3[-1])
            yield ce3[:, :, None, :]                                           # (3, L_u, 1, n)

    binder = _binding.iter_kinetic_occupancy(nodes, ce_stream(), kon[:, :, None], koff[:, :, None], by_step=True)
    for k, (_, B) in enumerate(binder):                                        # B: (L_u, R_k, n)
        x = pending.pop(0)
        writer.inv_V = inv_V[node_period[k]]
        writer.stream_node(k, x, B, row if work.keep[k] else None, nodes)
        row += bool(work.keep[k])
    writer.flush()


def _ode_steps(pk, nodes, inp: Inputs, rows, inside_rows, starts=None):
    """The ``iter_linear_steps`` stream from the ODE solution (nonlinear PK): states at the nodes and the
    effect-site rows at the inner Radau stages (``pk`` one model, or one per period starting at ``starts``)."""
    times = _binding.stage_times(nodes)
    allrows = list(rows) + list(inside_rows)
    st = _ode_states(pk, times, inp, allrows, starts=starts)                                  # (rows, 3(T-1)+1, n)
    node_x = st[:len(rows)]
    ins = st[len(rows):]
    yield None, node_x[:, 0]
    for k in range(nodes.size - 1):
        inside = np.stack([ins[:, 3 * k + 1], ins[:, 3 * k + 2]])             # (2, L, n)
        yield inside, node_x[:, 3 * k + 3]


class _Writer:
    """Turns the states (and occupancies) at a node into the requested outputs of one chunk.

    All series live in one (T, S, N) block (``work.out``); at an output node each kind of output is written
    with one vectorised assignment: concentrations, effect sites, the occupancy of every (receptor, ligand)
    pair (kinetic ones gathered from the binding state, equilibrium ones by Gaddum), and the responses of
    every endpoint at once, ``S = TAU @ occupancy`` (operational model), or the tolerance read-outs.
    """

    def __init__(self, work: _Work, idx, conc_c, eff_c, inv_V, mw, out: np.ndarray):
        model, plan = work.model, work.plan
        self.work = work
        self.sl = slice(int(idx[0]), int(idx[-1]) + 1) if idx.size and np.all(np.diff(idx) == 1) else idx
        self.out = out
        col = {(sp.quantity, sp.compound, sp.receptor, sp.endpoint): j for j, sp in enumerate(plan.series)}
        self.inv_V = inv_V
        # concentrations: rows of x[:n_conc] and their columns
        self.c_rows = [i for i, c in enumerate(conc_c) if ("plasma_conc", c, "-", "-") in col]
        self.c_cols = [col[("plasma_conc", conc_c[i], "-", "-")] for i in self.c_rows]
        self.m_rows = [i for i, c in enumerate(conc_c) if ("plasma_conc_mass", c, "-", "-") in col]
        self.m_cols = [col[("plasma_conc_mass", conc_c[i], "-", "-")] for i in self.m_rows]
        self.m_fac = np.array([mw[conc_c[i]] / 1000.0 for i in self.m_rows])[:, None]
        off = len(conc_c)
        self.e_rows = [off + i for i, c in enumerate(eff_c) if ("effect_conc_unbound", c, "-", "-") in col]
        self.e_cols = [col[("effect_conc_unbound", eff_c[i - off], "-", "-")] for i in self.e_rows]
        # occupancy pairs: kinetic (gathered from B) first, then equilibrium receptors (Gaddum)
        eff_pos = {c: off + i for i, c in enumerate(eff_c)}
        lig_u = work.lig_u
        self.pairs: list[tuple[str, str]] = []
        kin_l, kin_r = [], []
        for j, r in enumerate(plan.kinetic):
            for lig in model.ligands_at(r):
                self.pairs.append((r, lig.name))
                kin_l.append(lig_u.index(lig.name))
                kin_r.append(j)
        self.kin_l, self.kin_r = np.array(kin_l, dtype=int), np.array(kin_r, dtype=int)
        self.eq = []
        for r in plan.receptors:
            if r in plan.kinetic:
                continue
            ligs = model.ligands_at(r)
            self.eq.append(([eff_pos[lig.name] for lig in ligs], np.array([lig.K_nM for lig in ligs])[:, None]))
            self.pairs += [(r, lig.name) for lig in ligs]
        self.o_rows = [i for i, (r, c) in enumerate(self.pairs) if ("occupancy", c, r, "-") in col]
        self.o_cols = [col[("occupancy", self.pairs[i][1], self.pairs[i][0], "-")] for i in self.o_rows]
        # endpoints: S = TAU @ occupancy (n_ep, N); arrestin weights for the desensitising stimulus
        eps = plan.endpoints
        self.TAU = np.zeros((len(eps), len(self.pairs)))
        self.EFF = np.zeros_like(self.TAU)     # receptor-level G-protein stimulus (desensitisation), no gain
        self.ARR = np.zeros_like(self.TAU)
        for e, ep in enumerate(eps):
            for lig in model.ligands_at(ep.receptor):
                i = self.pairs.index((ep.receptor, lig.name))
                self.TAU[e, i] = lig.efficacy * ep.gain * ep.receptor_fraction
                self.EFF[e, i] = lig.efficacy * ep.receptor_fraction
                self.ARR[e, i] = 0.0 if lig.arrestin_efficacy is None else lig.arrestin_efficacy
        tol = model.tolerance
        self.DES = np.array([[1.0 if tol is None or tol.applies_to(ep.receptor) else 0.0] for ep in eps])
        self.Em = np.array([ep.Em for ep in eps])[:, None]
        self.slope = np.array([ep.n for ep in eps])[:, None]
        self.hyperbolic = bool(np.all(self.slope == 1.0))
        self.r_cols = {}
        quantities = ("response",) + (_TOLERANCE_QUANTITIES if plan.tolerance else ())
        for q in quantities:
            rows = [e for e, ep in enumerate(eps) if (q, "all", ep.receptor, ep.name) in col]
            if rows:
                self.r_cols[q] = (rows, [col[(q, "all", eps[e].receptor, eps[e].name)] for e in rows])
        self.stepper = None
        self._buf: list = []
        self._row0, self._buf_inv = 0, None

    def _occupancy(self, x, B):
        parts = []
        if self.kin_l.size:
            parts.append(B[self.kin_l, self.kin_r])                             # (n_kin_pairs, n)
        for erows, K in self.eq:
            ratio = np.maximum(x[erows], 0.0) / K
            parts.append(ratio / (1.0 + ratio.sum(axis=0, keepdims=True)))      # Gaddum
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)

    #: Output rows whose node values (states and occupancies) take at most this many bytes are buffered and written
    #: together (small chunks, where the cost of a write is its Python overhead); larger ones are written at once
    #: (the copy into a buffer would cost more than it saves)
    BUFFER_ROW_BYTES = 64 << 10
    #: Most output rows written at once
    BUFFER_ROWS = 32

    def _assign(self, rows: slice, cols, values: np.ndarray) -> None:
        """``out[rows, cols, subjects] = values`` (R, len(cols), n) for a slice or an index array of subjects."""
        if isinstance(self.sl, slice):
            self.out[rows, cols, self.sl] = values
        else:
            self.out[np.ix_(np.arange(rows.start, rows.stop), cols, self.sl)] = values

    def _write(self, row0: int, X: np.ndarray, occ, reads, inv_V: np.ndarray) -> None:
        """Write the output rows ``row0, row0 + 1, ...`` from the stacked node states ``X`` (R, n_x, n), occupancies
        ``occ`` (R, pairs, n) and tolerance read-outs ``reads`` (each (R, endpoints, n)), with one assignment per
        kind of output."""
        rows = slice(row0, row0 + X.shape[0])
        if self.c_rows or self.m_rows:
            C = X[:, :inv_V.shape[0]] * inv_V
            if self.c_rows:
                self._assign(rows, self.c_cols, C[:, self.c_rows])
            if self.m_rows:
                self._assign(rows, self.m_cols, C[:, self.m_rows] * self.m_fac)
        if self.e_rows:
            self._assign(rows, self.e_cols, np.maximum(X[:, self.e_rows], 0.0))
        if self.o_rows:
            self._assign(rows, self.o_cols, occ[:, self.o_rows])
        if not self.r_cols:
            return
        if reads is None:
            S = np.matmul(self.TAU, occ)
            if not self.hyperbolic:
                S = S**self.slope
            reads = {"response": self.Em * S / (1.0 + S)}
        for q, (e_rows, cols) in self.r_cols.items():
            self._assign(rows, cols, reads[q][:, e_rows])

    def _put(self, row: int, x: np.ndarray, occ) -> None:
        """Buffer one output row (consecutive rows with the same volumes) and write the buffer when it is full."""
        buf = self._buf
        if buf and (row != self._row0 + len(buf) or self.inv_V is not self._buf_inv):
            self.flush()
        if not buf:
            if x.nbytes + (0 if occ is None else occ.nbytes) > self.BUFFER_ROW_BYTES:
                self._write(row, x[None], None if occ is None else occ[None], None, self.inv_V)
                return
            self._row0, self._buf_inv = row, self.inv_V
        buf.append((x, occ))
        if len(buf) >= self.BUFFER_ROWS:
            self.flush()

    def flush(self) -> None:
        """Write the buffered output rows (call once after the last node of a chunk)."""
        buf = self._buf
        if not buf:
            return
        X = np.stack([x for x, _ in buf])
        occ = None if buf[0][1] is None else np.stack([o for _, o in buf])
        self._write(self._row0, X, occ, None, self._buf_inv)
        buf.clear()

    def node(self, row, x):
        """Exact-at-outputs: every call is an output time."""
        self._put(row, x, self._occupancy(x, None) if self.pairs else None)

    def stream_node(self, k, x, B, row, nodes):
        """Streaming / ODE: called at every node; ``row`` is the output row when the node is an output time."""
        plan = self.work.plan
        if not plan.tolerance and row is None:
            return
        occ = self._occupancy(x, B) if self.pairs else None
        if not plan.tolerance:
            self._put(row, x, occ)
            return
        s_g = self.TAU @ occ
        s_des = self.DES * desensitising_stimulus(self.work.model.tolerance, self.EFF @ occ, self.ARR @ occ)
        if self.stepper is None:
            self.stepper = ToleranceStepper(self.work.model.tolerance, s_g, s_des, Em=self.Em)
        else:
            self.stepper.step(float(nodes[k] - nodes[k - 1]), s_g, s_des)
        if row is not None:
            reads = {q: v[None] for q, v in self.stepper.read().items()}
            self._write(row, x[None], None if occ is None else occ[None], reads, self.inv_V)


# ------------------------------------------------------------------------------------------------ PK alone
@dataclass(frozen=True)
class PKSolution:
    """Amounts of every state on the output grid, with concentration helpers.

    Attributes
    ----------
    model : PKModel
    t_h : (T,) array
    amounts : (N, T, n) array
        State amounts (nmol; effect-site states in nM).
    dosed_nmol : (N, T, C) array
        Cumulative bioavailable amount (F * dose, after lag; infusions pro rata) of each compound that has
        entered the body by each time, for mass balance: the sum over the compound's chain of amount states
        equals the dosed amount of the chain (one mole of metabolite per mole of parent).
    """

    model: PKModel
    t_h: np.ndarray
    amounts: np.ndarray
    dosed_nmol: np.ndarray

    def amount(self, state: str) -> np.ndarray:
        """(N, T) amount of one state (nmol; nM for an effect site)."""
        return self.amounts[:, :, self.model.index(state)]

    def _per_subject(self, name):
        return np.broadcast_to(self.model.parameters[name], (self.amounts.shape[0],))[:, None]

    def conc_nM(self, compound: str) -> np.ndarray:
        """(N, T) total plasma concentration ``C = A_central / V`` (nM = nmol/L)."""
        return self.amount(f"{compound}.central") / self._per_subject(f"{compound}.V_L")

    def conc_ng_per_mL(self, compound: str) -> np.ndarray:
        """(N, T) total plasma concentration in ng/mL (``C[nM] * M / 1000``)."""
        return self.conc_nM(compound) * self.model.compound(compound).molar_mass_g_per_mol / 1000.0

    def unbound_nM(self, compound: str) -> np.ndarray:
        """(N, T) unbound plasma concentration ``fu * C`` (nM)."""
        return self._per_subject(f"{compound}.fu") * self.conc_nM(compound)

    def effect_nM(self, compound: str) -> np.ndarray:
        """(N, T) unbound effect-site concentration ``Ce`` (nM)."""
        return self.amount(f"{compound}.effect")

    def in_body_nmol(self) -> np.ndarray:
        """(N, T) total amount in all depots and compartments (nmol), excluding eliminated amounts."""
        keep = [i for i in self.model.mass_states() if not self.model.states[i].endswith(".eliminated")]
        return self.amounts[:, :, keep].sum(axis=-1)

    def enzyme_active(self, enzyme: str, site: str) -> np.ndarray:
        """(N, T) active fraction E = 1 - L of an :class:`~pharmsim.pk.Enzyme` at ``site`` ('gut' or 'liver')."""
        return 1.0 - self.amount(f"{enzyme}.{site}.inactive")

    def eliminated_nmol(self) -> np.ndarray:
        """(N, T) total amount eliminated (not converted to a metabolite of the model) (nmol)."""
        keep = [i for i, s in enumerate(self.model.states) if s.endswith(".eliminated")]
        return self.amounts[:, :, keep].sum(axis=-1)

    def total_dosed_nmol(self) -> np.ndarray:
        """(N, T) bioavailable amount dosed so far, all compounds (nmol)."""
        return self.dosed_nmol.sum(axis=-1)

    def tidy(self) -> pd.DataFrame:
        """Long table: subject, time_h, quantity, compound, value, unit (plasma_conc in nM and ng/mL,
        unbound_conc, effect_conc, eliminated)."""
        N, T = self.amounts.shape[:2]
        frames = []
        subj = np.repeat(np.arange(N), T)
        t = np.tile(self.t_h, N)

        def add(q, c, v, unit):
            frames.append(pd.DataFrame({"subject": subj, "time_h": t, "quantity": q, "compound": c,
                                        "value": np.asarray(v).reshape(-1), "unit": unit}))

        for c in self.model.compounds:
            cid = c.compound
            add("plasma_conc", cid, self.conc_nM(cid), "nM")
            add("plasma_conc", cid, self.conc_ng_per_mL(cid), "ng/mL")
            add("unbound_conc", cid, self.unbound_nM(cid), "nM")
            if c.effect_site:
                add("effect_conc", cid, self.effect_nM(cid), "nM")
            add("eliminated", cid, self.amount(f"{cid}.eliminated"), "nmol")
        return pd.concat(frames, ignore_index=True)


def _dosed_inputs(model: PKModel, inp: Inputs, t, n: int):
    """(n, T, C) cumulative amount put into each compound's amount states by ``inp`` (bioavailable doses, and the
    amounts of a steady state), for mass balance."""
    ids = list(model.compound_ids)
    owner = [ids.index(s.split(".", 1)[0]) if s.split(".", 1)[0] in ids and i in set(model.mass_states()) else -1
             for i, s in enumerate(model.states)]
    out = np.zeros((n, t.size, len(ids)))
    ba = np.broadcast_to(inp.bolus_amount, (n, inp.bolus_time_h.size))
    for j, (tb, sb) in enumerate(zip(inp.bolus_time_h, inp.bolus_state, strict=True)):
        if owner[sb] >= 0:
            out[:, :, owner[sb]] += (t[None, :] >= tb) * ba[:, j][:, None]
    ra = np.broadcast_to(inp.infusion_rate, (n, inp.infusion_start_h.size))
    for j in range(inp.infusion_start_h.size):
        c = owner[inp.infusion_state[j]]
        if c >= 0:
            a, b = inp.infusion_start_h[j], inp.infusion_end_h[j]
            out[:, :, c] += np.clip(t[None, :] - a, 0.0, b - a) * ra[:, j][:, None]
    return out


def solve_pk(model: PKModel, t_h, doses: Doses | None = None, *, method: str | None = None, rtol: float = 1e-8,
             atol: float = 1e-9) -> PKSolution:
    """Every PK state of ``model`` with ``doses`` on the output times ``t_h`` (h), all subjects at once.

    Parameters
    ----------
    model : PKModel
    t_h : (T,) array
        Output times (h), non-decreasing, >= 0. A bolus at t is included in the output at t.
    doses : Doses
        Events (amounts in nmol). Each event's F multiplies its amount (or infusion rate) and its route's
        lag time delays it.
    method : {'exact', 'ode'}, optional
        Default ``'exact'`` (matrix exponential, :func:`pharmsim.linear.solve_linear`) for linear models and
        ``'ode'`` (LSODA between events) for models with saturable parts.
    rtol, atol : float
        ODE tolerances (``atol`` in nmol).
    """
    doses = Doses() if doses is None else doses
    if not isinstance(model, PKModel):
        raise PharmsimError(f"model must be a pharmsim PKModel; got {type(model).__name__}")
    if not isinstance(doses, Doses):
        raise PharmsimError(f"doses must be a pharmsim.dosing.Doses; got {type(doses).__name__}")
    method = ("exact" if model.is_linear else "ode") if method is None else method
    if method not in ("exact", "ode"):
        raise PharmsimError(f"method must be 'exact' or 'ode'; got {method!r}{suggest(str(method), ('exact', 'ode'))}")
    if method == "exact" and not model.is_linear:
        raise PharmsimError("the model has saturable (Michaelis-Menten) parts: use method='ode'")
    rtol = require_number("rtol", rtol, minimum=0, strict=True)
    atol = require_number("atol", atol, "nmol", minimum=0, strict=True)
    t = np.atleast_1d(require_finite("t_h", t_h, "h"))
    if t.ndim != 1 or t.size == 0:
        raise PharmsimError(f"t_h must be a non-empty 1-D array of times in h; got shape {t.shape}")
    if np.any(np.diff(t) < 0):
        raise PharmsimError("t_h must be sorted (non-decreasing)")
    if t[0] < 0:
        raise PharmsimError(f"t_h must be >= 0 h; got {t[0]!r}")
    for c, route in dict.fromkeys(zip(doses.compound, doses.route, strict=True)):
        model.route_state(c, route)
    N = max(model.n_subjects, doses.n_subjects)
    if doses.n_subjects > 1 and model.n_subjects > 1 and doses.n_subjects != model.n_subjects:
        raise PharmsimError(f"doses are for {doses.n_subjects} subjects but parameters for {model.n_subjects}")
    if doses.has_resets and np.any(np.concatenate([doses.reset_h, doses.time_h[doses.ss == 1]]) > 0):
        raise PharmsimError("solve_pk starts at 0 h and does not split at resets (EVID 3/4, SS = 1 after 0 h); use "
                            "pharmsim.simulate, which does")
    if np.any(doses.ss > 0) and method != "exact":
        raise PharmsimError("solve_pk computes steady state exactly for linear models only; for saturable PK use "
                            "pharmsim.simulate (which iterates it)")
    state, F, lag = _events(model, doses, N)
    amounts = np.broadcast_to(doses.amount_nmol, (N, doses.n_events)).astype(float)
    dur = _events_mod.event_durations(model, doses, amounts, F)
    timing = np.stack([lag, dur], axis=1)
    n = len(model.states)
    out = np.empty((N, t.size, n))
    dosed = np.zeros((N, t.size, len(model.compound_ids)))
    flat = timing.reshape(N, -1)
    lag_rows, group = (np.unique(flat, axis=0, return_inverse=True) if flat.size
                       else (np.zeros((1, 0)), np.zeros(N, dtype=int)))
    group = np.asarray(group).reshape(-1)
    A = model.matrix()
    for g in range(lag_rows.shape[0]):
        members = np.nonzero(group == g)[0]
        sub = model.subset(members) if model.n_subjects > 1 else model
        inp = _inputs(doses, state, amounts[members], F[members], lag_rows[g].reshape(2, -1), float(t[-1]), sub)
        dosed[members] = _dosed_inputs(model, inp, t, members.size)
        if method == "exact":
            Ag = A if A.ndim == 2 else A[members]
            out[members] = solve_linear(Ag, t, inp)
        else:
            if model.n_subjects == 1 and members.size > 1:
                sub = model.with_parameters({k: np.broadcast_to(v, (members.size,)) for k, v in
                                             model.parameters.items()})
            out[members] = np.moveaxis(_ode_states(sub, t, inp, list(range(n)), rtol, atol), 0, -1).transpose(
                1, 0, 2)
    return PKSolution(model=model, t_h=t, amounts=out, dosed_nmol=dosed)
