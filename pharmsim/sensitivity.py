"""Global sensitivity analysis: Sobol' indices (Saltelli sampling) and Morris screening of scalar outputs.

Which parameters matter for a conclusion such as "peak MOR occupancy" or "AUC of analgesia"? This module
samples chosen parameters over chosen ranges, runs the model for every sample and computes, per output:

- **Sobol' indices** (Sobol' 2001; Saltelli et al. 2010), :func:`sobol`. With Y = f(X_1..X_k), independent
  inputs and V = Var(Y):

      S1_i = Var(E[Y | X_i]) / V            (first order: the share of V that X_i explains alone)
      ST_i = E[Var(Y | X_~i)] / V           (total: X_i's share including all its interactions)
      S2_ij = Var(E[Y | X_i, X_j]) / V - S1_i - S1_j   (second order, optional)

  estimated from the Saltelli (2002, 2010) design of N (D + 2) model runs (N (2D + 2) with second order) built
  from a scrambled Sobol' sequence: S1 by the estimator of Saltelli et al. 2010 (their table 2, (b)),
  ``S1_i = mean(f(B) (f(A_B^i) - f(A))) / V``, ST by Jansen's, ``ST_i = mean((f(A) - f(A_B^i))^2) / (2 V)``.
  For an additive function, Y = sum g_i(X_i), S1_i = ST_i = Var(g_i(X_i)) / sum_j Var(g_j(X_j)).
- **Morris elementary effects** (Morris 1991; Campolongo et al. 2007), :func:`morris`: r one-at-a-time
  trajectories on a p-level grid of the unit hypercube; per input the elementary effect
  ``EE_i = (f(x + Delta e_i) - f(x)) / Delta`` (Delta = p / (2 (p - 1)), x scaled to [0, 1], so EE is in the
  output's unit per full range of the input), summarised as mu (mean EE), mu* (mean |EE|: overall
  influence) and sigma (SD of EE: non-linearity and interactions). r (D + 1) runs; a screening method.

Both use SALib (Herman & Usher 2017, doi:10.21105/joss.00097; Iwanaga et al. 2022,
doi:10.18174/sesmo.18155), an optional extra: ``pip install "pharmsim[research]"``. The stated sampling
error of every index (``conf`` in the table) is SALib's bootstrap half-width at ``conf_level`` (Archer et al.
1997 for Sobol', Campolongo 2007 for mu*); with N Sobol' base samples it shrinks like 1/sqrt(N).

What can be varied, and how the runs are batched
------------------------------------------------
- **PK parameters** (any name of :attr:`pharmsim.pk.PKModel.parameter_info`, e.g. ``'MG.CL_L_per_h'``,
  ``'MG.tea.ka_per_h'``, ``'7-OH-MG.fm'``): the N samples become one per-subject parameter table, run by the
  population engine in one call, ``simulate(model, doses, t_h, population=<DataFrame>)``.
- **PD parameters**, by rebuilding the model per distinct PD sample (each a separate :func:`simulate` call of
  the PK rows that share it): ``'<receptor>.<compound>.K_nM'``, ``'<receptor>.<compound>.efficacy'``,
  ``'<receptor>.<compound>.koff_per_h'`` (ligands; varying K with kinetic binding keeps koff and sets
  kon = koff/K), ``'<endpoint>.gain'``, ``'<endpoint>.Em'``, ``'<endpoint>.n'``,
  ``'<endpoint>.receptor_fraction'``. This is cheap only with equilibrium binding (a few ms per run); a
  design needing more than ``max_models`` model builds is refused before anything runs.
- Not varied: doses (vary them by running :func:`simulate` yourself), tolerance parameters, structure.

Outputs are scalars per run, :class:`Metric` (peak, trough, AUC, mean, final value or time of the peak of a
series, occupancy summed over the ligands at a receptor when no compound is named) or any callable
``f(result) -> (N,) array``. :data:`DEFAULT_METRICS`: peak MOR occupancy (all ligands), AUC of the
analgesia response and peak respiratory depression (the nadir of breathing), where the model has them.

References
----------
- Sobol' IM (2001) Global sensitivity indices for nonlinear mathematical models and their Monte Carlo
  estimates. Math Comput Simul 55:271-280. doi:10.1016/S0378-4754(00)00270-6
- Saltelli A (2002) Making best use of model evaluations to compute sensitivity indices. Comput Phys Commun
  145:280-297. doi:10.1016/S0010-4655(02)00280-1
- Saltelli A, Annoni P, Azzini I, Campolongo F, Ratto M, Tarantola S (2010) Variance based sensitivity
  analysis of model output. Design and estimator for the total sensitivity index. Comput Phys Commun
  181:259-270. doi:10.1016/j.cpc.2009.09.018
- Jansen MJW (1999) Analysis of variance designs for model output. Comput Phys Commun 117:35-43.
- Morris MD (1991) Factorial sampling plans for preliminary computational experiments. Technometrics
  33:161-174. doi:10.1080/00401706.1991.10484804
- Campolongo F, Cariboni J, Saltelli A (2007) An effective screening design for sensitivity analysis of large
  models. Environ Model Softw 22:1509-1518. doi:10.1016/j.envsoft.2006.10.004
- Archer GEB, Saltelli A, Sobol' IM (1997) Sensitivity measures, ANOVA-like techniques and the use of
  bootstrap. J Stat Comput Simul 58:99-120. doi:10.1080/00949659708811825

Not for: which published source to believe (:func:`pharmsim.sources.across_sources`), population variability
(:class:`pharmsim.population.Population`), fitting (:mod:`pharmsim.fit`). Indices describe the model over the
ranges given, not the world; teaching and research only, not dosing advice.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .validate import PharmsimError, require_choice, suggest

__all__ = [
    "STATISTICS",
    "Metric",
    "DEFAULT_METRICS",
    "default_metrics",
    "Range",
    "SensitivityResult",
    "sobol",
    "morris",
    "tornado",
]

#: Statistics a :class:`Metric` can take of a series over the output grid.
STATISTICS = ("peak", "min", "auc", "mean", "final", "time_of_peak")
_LIGAND_FIELDS = ("K_nM", "efficacy", "koff_per_h")
_ENDPOINT_FIELDS = ("gain", "Em", "n", "receptor_fraction")


# --------------------------------------------------------------------------------------------------
# scalar outputs of a Result
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    """A scalar per subject read from a :class:`pharmsim.result.Result`.

    Parameters
    ----------
    statistic : {'peak', 'min', 'auc', 'mean', 'final', 'time_of_peak'}
        Over the output grid t_h: maximum, minimum, area under the curve by the trapezoidal rule
        (``sum (t_k+1 - t_k)(y_k + y_k+1)/2``, unit x h; as exact as the grid is fine), time-weighted mean
        (AUC / (t_end - t_0)), value at the last time, time of the maximum (h).
    quantity : str
        An output quantity of :func:`pharmsim.solve.simulate` (``'occupancy'``, ``'response'``,
        ``'plasma_conc'``, ``'effect_conc_unbound'`` ...).
    compound, receptor, endpoint : str, optional
        Select the series. For ``'occupancy'`` without a compound the occupancies of every ligand at the
        receptor are summed (total occupancy); otherwise exactly one series must match.
    name : str, optional
        Column label (default e.g. ``'peak occupancy MOR (all ligands)'``).
    """

    statistic: str
    quantity: str
    compound: str | None = None
    receptor: str | None = None
    endpoint: str | None = None
    name: str = ""

    def __post_init__(self):
        require_choice("Metric.statistic", self.statistic, STATISTICS)
        from .solve import OUTPUT_QUANTITIES

        if self.quantity not in OUTPUT_QUANTITIES:
            raise PharmsimError(f"Metric.quantity must be one of {', '.join(map(repr, OUTPUT_QUANTITIES))}; got "
                                f"{self.quantity!r}{suggest(str(self.quantity), OUTPUT_QUANTITIES)}")
        if not self.name:
            what = self.endpoint or " ".join(x for x in (self.compound, self.receptor) if x)
            if self.quantity == "occupancy" and self.compound is None:
                what = f"{self.receptor or ''} (all ligands)".strip()
            label = {"time_of_peak": "time of peak", "min": "minimum", "auc": "AUC"}.get(self.statistic,
                                                                                          self.statistic)
            object.__setattr__(self, "name", f"{label} {self.quantity} {what}".strip())

    @property
    def unit(self) -> str:
        from .solve import OUTPUT_QUANTITIES

        u = OUTPUT_QUANTITIES[self.quantity]
        return {"auc": f"{u} x h", "time_of_peak": "h"}.get(self.statistic, u)

    def series(self, result) -> np.ndarray:
        """The (N, T) values the statistic is taken of."""
        sel = result.select(self.quantity, self.compound, self.receptor, self.endpoint)
        if self.quantity == "occupancy" and self.compound is None and sel:
            if len({s.receptor for s in sel}) > 1:
                raise PharmsimError(f"metric {self.name!r} sums occupancy over ligands at one receptor; name the "
                                    f"receptor (got series at {sorted({s.receptor for s in sel})})")
            return np.sum([s.values for s in sel], axis=0)
        if len(sel) != 1:
            have = [(s.compound, s.receptor, s.endpoint) for s in result.select(self.quantity)]
            raise PharmsimError(f"metric {self.name!r} needs exactly one {self.quantity} series with compound="
                                f"{self.compound!r}, receptor={self.receptor!r}, endpoint={self.endpoint!r}; "
                                f"found {len(sel)}. Available (compound, receptor, endpoint): {have}")
        return sel[0].values

    def __call__(self, result) -> np.ndarray:
        """(N,) values, one per subject of ``result``."""
        y = self.series(result)
        t = result.t_h
        if self.statistic == "peak":
            return y.max(axis=1)
        if self.statistic == "min":
            return y.min(axis=1)
        if self.statistic == "final":
            return y[:, -1].copy()
        if self.statistic == "time_of_peak":
            return t[np.argmax(y, axis=1)]
        auc = np.sum(np.diff(t) * 0.5 * (y[:, 1:] + y[:, :-1]), axis=1) if t.size > 1 else np.zeros(y.shape[0])
        if self.statistic == "auc":
            return auc
        return auc / (t[-1] - t[0]) if t.size > 1 else y[:, 0].copy()

    def outputs(self) -> dict:
        """The labels of the series it reads (for :class:`pharmsim.solve.Outputs`)."""
        return {"quantities": self.quantity, "compounds": self.compound, "receptors": self.receptor,
                "endpoints": self.endpoint}


#: The default outputs: peak total MOR occupancy, AUC of analgesia, peak respiratory depression.
DEFAULT_METRICS = (
    Metric("peak", "occupancy", receptor="MOR", name="peak MOR occupancy"),
    Metric("auc", "response", receptor="MOR", endpoint="analgesia", name="AUC analgesia"),
    Metric("peak", "response", receptor="MOR", endpoint="respiratory_depression",
           name="peak respiratory depression"),
)


def default_metrics(model) -> tuple[Metric, ...]:
    """The members of :data:`DEFAULT_METRICS` that ``model`` (a :class:`pharmsim.model.Model`) can produce."""
    out = []
    eps = {e.name for e in model.endpoints}
    for m in DEFAULT_METRICS:
        if m.endpoint is not None and m.endpoint not in eps:
            continue
        if m.quantity == "occupancy" and (m.receptor not in model.receptors or not model.ligands_at(m.receptor)):
            continue
        out.append(m)
    if not out:
        raise PharmsimError(f"the model has none of the default outputs ({', '.join(m.name for m in DEFAULT_METRICS)}"
                            "); give metrics=[Metric(...)] or callables")
    return tuple(out)


def _as_metrics(metrics, model) -> list[tuple[str, Callable, str]]:
    """``[(name, callable, unit)]`` from None (defaults), Metric objects, or a mapping name -> Metric/callable."""
    if metrics is None:
        metrics = default_metrics(model)
    if isinstance(metrics, Metric) or callable(metrics) and not isinstance(metrics, Mapping):
        metrics = [metrics]
    items = list(metrics.items()) if isinstance(metrics, Mapping) else [(None, m) for m in metrics]
    if not items:
        raise PharmsimError("metrics must name at least one output")
    out = []
    for name, m in items:
        if isinstance(m, Metric):
            out.append((name or m.name, m, m.unit))
        elif callable(m):
            label = name or getattr(m, "__name__", "")
            if not label or label == "<lambda>":
                raise PharmsimError(f"a metric given as a callable needs a name: pass metrics={{'name': f}}; got {m!r}")
            out.append((label, m, getattr(m, "unit", "")))
        else:
            raise PharmsimError(f"metrics must be Metric objects or callables f(result) -> (N,) array; got {m!r}")
    names = [n for n, _, _ in out]
    if len(set(names)) != len(names):
        raise PharmsimError(f"metric names must be unique; got {names}")
    return out


def _metric_outputs(metrics):
    """An Outputs keeping only the series the metrics read (None when a metric is an opaque callable)."""
    from .solve import Outputs

    if not all(isinstance(m, Metric) for _, m, _ in metrics):
        return None
    sel = {"quantities": set(), "compounds": set(), "receptors": set(), "endpoints": set()}
    unrestricted = set()
    for _, m, _ in metrics:
        for k, v in m.outputs().items():
            if v is None:
                unrestricted.add(k)
            else:
                sel[k].add(v)
    return Outputs(**{k: (None if k in unrestricted or not v else tuple(sorted(v))) for k, v in sel.items()})


def _evaluate_metrics(metrics, result, n: int) -> np.ndarray:
    cols = []
    for name, f, _ in metrics:
        v = np.asarray(f(result), dtype=float).reshape(-1)
        if v.shape != (n,):
            raise PharmsimError(f"metric {name!r} must return one value per subject, shape ({n},); got {v.shape}")
        cols.append(v)
    return np.stack(cols, axis=1)


# --------------------------------------------------------------------------------------------------
# parameters and ranges
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    """A parameter's range: uniform on [low, high], or log-uniform (uniform in log) with ``log=True``."""

    low: float
    high: float
    log: bool = False

    def __post_init__(self):
        for f in ("low", "high"):
            v = getattr(self, f)
            if not isinstance(v, numbers.Real) or isinstance(v, bool) or not math.isfinite(float(v)):
                raise PharmsimError(f"Range.{f} must be a finite number; got {v!r}")
            object.__setattr__(self, f, float(v))
        if not self.low < self.high:
            raise PharmsimError(f"Range must have low < high; got low={self.low!r}, high={self.high!r}")
        if self.log and self.low <= 0:
            raise PharmsimError(f"Range.low must be > 0 for a log-uniform range (log=True); got {self.low!r}")

    @property
    def bounds(self) -> list[float]:
        """[low, high] on the sampling scale (log for log=True)."""
        return [math.log(self.low), math.log(self.high)] if self.log else [self.low, self.high]


@dataclass(frozen=True)
class _Param:
    name: str
    kind: str                # 'pk' | 'ligand' | 'endpoint'
    range: Range
    unit: str
    target: tuple = ()       # ligand: (receptor, compound, field); endpoint: (endpoint, field)


def _as_range(name, r) -> Range:
    if isinstance(r, Range):
        return r
    if isinstance(r, (tuple, list)) and len(r) == 2:
        return Range(*r)
    raise PharmsimError(f"ranges[{name!r}] must be (low, high) or a Range; got {r!r}")


def _params(model, ranges) -> list[_Param]:
    if not isinstance(ranges, Mapping) or not ranges:
        raise PharmsimError(f"ranges must be a non-empty mapping parameter name -> (low, high) or Range; got "
                            f"{ranges!r}")
    pk_info = model.pk.parameter_info
    eps = {e.name: e for e in model.endpoints}
    out = []
    for name, r in ranges.items():
        if not isinstance(name, str):
            raise PharmsimError(f"ranges keys must be parameter names; got {name!r}")
        rng_ = _as_range(name, r)
        if name in pk_info:
            out.append(_Param(name, "pk", rng_, pk_info[name].unit))
            continue
        head, _, rest = name.partition(".")
        if head in model.receptors and rest:
            compound, _, fld = rest.rpartition(".")
            require_choice(f"ligand parameter of {name!r}", fld, _LIGAND_FIELDS)
            model.ligand(compound, head)                                   # raises if not bound there
            unit = {"K_nM": "nM", "efficacy": "-", "koff_per_h": "1/h"}[fld]
            if fld == "koff_per_h" and model.binding[head] != "kinetic":
                raise PharmsimError(f"{name!r}: binding at {head} is at equilibrium, koff has no effect")
            out.append(_Param(name, "ligand", rng_, unit, (head, compound, fld)))
            continue
        ep, _, fld = name.rpartition(".")
        if ep in eps:
            require_choice(f"endpoint parameter of {name!r}", fld, _ENDPOINT_FIELDS)
            out.append(_Param(name, "endpoint", rng_, "-", (ep, fld)))
            continue
        pd_names = [f"{lig.receptor}.{lig.name}.{f}" for lig in model.ligands for f in _LIGAND_FIELDS] + \
                   [f"{e}.{f}" for e in eps for f in _ENDPOINT_FIELDS]
        raise PharmsimError(f"ranges names {name!r}, which is neither a PK parameter of the model nor a PD parameter "
                            f"('<receptor>.<compound>.K_nM|efficacy|koff_per_h', '<endpoint>.gain|Em|n|"
                            f"receptor_fraction'){suggest(name, [*pk_info, *pd_names])}")
    return out


def _pd_model(model, params: list[_Param], values: np.ndarray):
    """``model`` with the PD parameters ``params`` set to ``values``."""
    for p, v in zip(params, values, strict=True):
        if p.kind == "ligand":
            receptor, compound, fld = p.target
            lig = model.ligand(compound, receptor)
            if fld == "K_nM":
                new = replace(lig.at_equilibrium(), K_nM=float(v))
                new = new.with_kinetics(lig.koff_per_h) if lig.has_kinetics else new
            elif fld == "koff_per_h":
                new = lig.with_kinetics(float(v))                           # kon = koff / K, K kept
            else:
                new = replace(lig, efficacy=float(v))
            model = model.with_ligand(new)
        else:
            ep_name, fld = p.target
            eps = tuple(replace(e, **{fld: float(v)}) if e.name == ep_name else e for e in model.endpoints)
            model = replace(model, endpoints=eps)
    return model


def _run_design(model, doses, t_h, params: list[_Param], X: np.ndarray, metrics, *, max_models: int,
                simulate_kw: Mapping) -> np.ndarray:
    """(n_rows, n_metrics) outputs of the design ``X`` (natural scale): PK columns as one population table,
    one simulate call per distinct PD row."""
    from .solve import simulate

    outputs = simulate_kw.pop("outputs", None) if "outputs" in simulate_kw else _metric_outputs(metrics)
    if "population" in simulate_kw:
        raise PharmsimError("population= cannot be given: the design's parameter table is the population")
    pk_idx = [j for j, p in enumerate(params) if p.kind == "pk"]
    pd_idx = [j for j, p in enumerate(params) if p.kind != "pk"]
    n = X.shape[0]
    Y = np.empty((n, len(metrics)))
    if pd_idx:
        keys, inverse = np.unique(X[:, pd_idx], axis=0, return_inverse=True)
        inverse = np.asarray(inverse).reshape(-1)
        if keys.shape[0] > max_models:
            raise PharmsimError(f"the design varies PD parameters ({', '.join(params[j].name for j in pd_idx)}) over "
                                f"{keys.shape[0]:,} distinct values, so it needs {keys.shape[0]:,} models, over "
                                f"max_models = {max_models:,}; use fewer samples, vary PK parameters only (batched "
                                "as one population) or raise max_models")
        groups = [(np.flatnonzero(inverse == g), keys[g]) for g in range(keys.shape[0])]
    else:
        groups = [(np.arange(n), None)]
    pd_params = [params[j] for j in pd_idx]
    for rows, pd_values in groups:
        m = model if pd_values is None else _pd_model(model, pd_params, pd_values)
        table = pd.DataFrame({params[j].name: X[rows, j] for j in pk_idx}) if pk_idx else None
        if table is None and rows.size > 1:      # identical runs: simulate one, copy
            res = simulate(m, doses, t_h, outputs=outputs, **simulate_kw)
            Y[rows] = _evaluate_metrics(metrics, res, res.n_subjects)[0]
            continue
        res = simulate(m, doses, t_h, population=table, outputs=outputs, **simulate_kw)
        Y[rows] = _evaluate_metrics(metrics, res, rows.size)
    return Y


# --------------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SensitivityResult:
    """Indices of one sensitivity analysis (:func:`sobol` or :func:`morris`), with its design and outputs.

    Attributes
    ----------
    method : {'sobol', 'morris'}
    parameters : tuple of str
    ranges : mapping name -> Range
    metrics : tuple of str
        Output names, with ``units``.
    indices : pandas.DataFrame
        Tidy: method, metric, unit, parameter, parameter_2 (second-order Sobol' only, else ''), index
        (``'S1'``, ``'ST'``, ``'S2'``; ``'mu'``, ``'mu_star'``, ``'sigma'``), value, conf (the bootstrap
        half-width at ``conf_level``; NaN where SALib gives none), conf_level, n_evaluations.
    samples : pandas.DataFrame
        The design, natural scale (one row per model run).
    outputs : pandas.DataFrame
        The outputs of every run (one column per metric).
    notes : tuple of str
    """

    method: str
    parameters: tuple[str, ...]
    ranges: Mapping[str, Range]
    metrics: tuple[str, ...]
    units: tuple[str, ...]
    indices: pd.DataFrame = field(repr=False)
    samples: pd.DataFrame = field(repr=False)
    outputs: pd.DataFrame = field(repr=False)
    n_evaluations: int = 0
    conf_level: float = 0.95
    notes: tuple[str, ...] = ()

    def table(self) -> pd.DataFrame:
        """The indices table (a copy)."""
        return self.indices.copy()

    def tornado(self, metric: str | None = None, **kw):
        """The tornado figure (:func:`tornado`)."""
        return tornado(self, metric=metric, **kw)


def tornado(result: SensitivityResult, metric: str | Sequence[str] | None = None, *, figsize=None):
    """Tornado figure of a sensitivity result: one panel per metric, parameters sorted by influence.

    Sobol': a bar of the total index ST (light) with the first-order S1 (dark) inside it; Morris: mu*
    with sigma beside it. Error bars are the stated sampling error (``conf``). Returns a
    :class:`matplotlib.figure.Figure` (nothing is re-run).
    """
    from matplotlib.figure import Figure

    from .plots import style_axes

    if not isinstance(result, SensitivityResult):
        raise PharmsimError(f"result must be a SensitivityResult (sobol(), morris()); got {type(result).__name__}")
    names = list(result.metrics) if metric is None else ([metric] if isinstance(metric, str) else list(metric))
    for m in names:
        require_choice("metric", m, result.metrics)
    main, inner = ("ST", "S1") if result.method == "sobol" else ("mu_star", "sigma")
    k = len(result.parameters)
    fig = Figure(figsize=figsize or (7.0, 0.9 + (0.45 * k + 0.9) * len(names)), layout="constrained")
    axes = fig.subplots(len(names), 1, squeeze=False)[:, 0]
    t = result.indices
    for ax, m in zip(axes, names, strict=True):
        d = t[(t["metric"] == m) & (t["parameter_2"] == "")]
        a = d[d["index"] == main].set_index("parameter").reindex(result.parameters)
        b = d[d["index"] == inner].set_index("parameter").reindex(result.parameters)
        order = np.argsort(np.nan_to_num(a["value"].to_numpy(), nan=-np.inf))       # largest on top
        pos = np.arange(k)
        va, ca = a["value"].to_numpy()[order], a["conf"].to_numpy()[order]
        vb, cb = b["value"].to_numpy()[order], b["conf"].to_numpy()[order]
        labels = [result.parameters[i] for i in order]
        if result.method == "sobol":
            ax.barh(pos, va, xerr=np.nan_to_num(ca), color="C0", alpha=0.35, label="total (ST)", capsize=3)
            ax.barh(pos, vb, height=0.45, xerr=np.nan_to_num(cb), color="C0", label="first order (S1)", capsize=3)
            xlabel = "Sobol' index (share of output variance)"
        else:
            ax.barh(pos + 0.2, va, height=0.4, xerr=np.nan_to_num(ca), color="C1", label="mu* (mean |EE|)",
                    capsize=3)
            ax.barh(pos - 0.2, vb, height=0.4, color="C2", alpha=0.7, label="sigma (SD of EE)")
            unit = result.units[result.metrics.index(m)]
            xlabel = f"elementary effect ({unit} per range)" if unit else "elementary effect (per range)"
        ax.set_yticks(pos, labels)
        ax.axvline(0.0, color="0.3", linewidth=0.8)
        style_axes(ax, title=m, xlabel=xlabel)
    return fig


def _indices_rows(method, metric, unit, names, Si, keys, n_eval, conf_level, second=None):
    rows = []
    for key in keys:
        vals = np.asarray(Si[key], dtype=float)
        conf = np.asarray(Si.get(f"{key}_conf", np.full(len(names), np.nan)), dtype=float)
        for i, p in enumerate(names):
            rows.append({"method": method, "metric": metric, "unit": unit, "parameter": p, "parameter_2": "",
                         "index": key, "value": float(vals[i]), "conf": float(conf[i]), "conf_level": conf_level,
                         "n_evaluations": n_eval})
    if second is not None:
        S2, S2c = np.asarray(second[0], dtype=float), np.asarray(second[1], dtype=float)
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                rows.append({"method": method, "metric": metric, "unit": unit, "parameter": names[i],
                             "parameter_2": names[j], "index": "S2", "value": float(S2[i, j]),
                             "conf": float(S2c[i, j]), "conf_level": conf_level, "n_evaluations": n_eval})
    return rows


_COLUMNS = ["method", "metric", "unit", "parameter", "parameter_2", "index", "value", "conf", "conf_level",
            "n_evaluations"]


def _salib():
    try:
        import SALib  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the environment
        raise PharmsimError("global sensitivity analysis needs SALib, an optional extra: pip install "
                            "'pharmsim[research]' (or pip install SALib)") from None


def _setup(model, doses, t_h, ranges, metrics, rng, conf_level, num_resamples, max_models):
    from .model import Model

    if not isinstance(model, Model):
        raise PharmsimError(f"model must be a pharmsim Model (build_model()); got {type(model).__name__}")
    if model.n_subjects != 1:
        raise PharmsimError(f"model must be one typical subject (scalar PK parameters); got {model.n_subjects} "
                            "subjects")
    model.check_doses(doses)
    if not isinstance(rng, np.random.Generator):
        raise PharmsimError(f"rng must be a numpy.random.Generator (e.g. numpy.random.default_rng(1)); got {rng!r}")
    if not isinstance(conf_level, numbers.Real) or not 0 < float(conf_level) < 1:
        raise PharmsimError(f"conf_level must be a number in (0, 1), e.g. 0.95; got {conf_level!r}")
    for name, v, lo in (("num_resamples", num_resamples, 10), ("max_models", max_models, 1)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < lo:
            raise PharmsimError(f"{name} must be a whole number >= {lo}; got {v!r}")
    params = _params(model, ranges)
    mets = _as_metrics(metrics, model)
    problem = {"num_vars": len(params), "names": [p.name for p in params], "bounds": [p.range.bounds for p in params]}
    return params, mets, problem


def _natural(params, Xs: np.ndarray) -> np.ndarray:
    X = Xs.copy()
    for j, p in enumerate(params):
        if p.range.log:
            X[:, j] = np.exp(X[:, j])
    return X


def _frames(params, mets, X, Y):
    return (pd.DataFrame(X, columns=[p.name for p in params]),
            pd.DataFrame(Y, columns=[n for n, _, _ in mets]))


def sobol(model, doses, t_h, ranges: Mapping, *, metrics=None, n: int = 512, rng: np.random.Generator,
          second_order: bool = False, conf_level: float = 0.95, num_resamples: int = 200, max_models: int = 2000,
          **simulate_kw) -> SensitivityResult:
    """Sobol' first-order and total indices (and optionally second-order) of chosen outputs.

    Saltelli's design (Saltelli 2002, 2010) of ``n (D + 2)`` runs (``n (2D + 2)`` with ``second_order``) from a
    scrambled Sobol' sequence (:func:`SALib.sample.sobol.sample`), analysed by :func:`SALib.analyze.sobol.analyze`
    (S1: Saltelli et al. 2010; ST: Jansen 1999; bootstrap confidence half-widths). Equations in the module
    docstring.

    Parameters
    ----------
    model : Model
        One typical subject (:func:`pharmsim.model.build_model`).
    doses : Doses
    t_h : (T,) array
        Output grid (h); AUC-type metrics integrate over it.
    ranges : mapping name -> (low, high) or Range
        The parameters varied (module docstring: PK names, PD names) and their uniform or log-uniform ranges;
        the others keep the model's values.
    metrics : None, Metric, sequence of Metric, or mapping name -> Metric or callable
        Scalar outputs (default :func:`default_metrics`).
    n : int
        Base samples N, a power of 2 (Sobol' sequences balance at powers of 2).
    rng : numpy.random.Generator
        Scrambles the Sobol' sequence and seeds the bootstrap; the only source of randomness.
    second_order : bool
        Also estimate S2 (doubles the runs).
    conf_level : float
        Level of the stated sampling error ``conf``.
    num_resamples : int
        Bootstrap resamples.
    max_models : int
        Refuse designs needing more model builds than this (PD parameters).
    **simulate_kw
        Passed to :func:`pharmsim.solve.simulate` (``rtol``, ``atol``, ``chunk_size``, ``workers``, ``outputs``).

    Returns
    -------
    SensitivityResult

    Raises
    ------
    PharmsimError
        Unknown parameter names (with the nearest), bad ranges, ``n`` not a power of 2, no Generator, a design
        over ``max_models``, metrics the model cannot produce, SALib not installed.
    """
    _salib()
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 8 or (n & (n - 1)) != 0:
        near = 2 ** max(3, round(math.log2(n))) if isinstance(n, numbers.Real) and n > 0 else 512
        raise PharmsimError(f"n must be a power of 2, >= 8 (Sobol' base samples), e.g. {near}; got {n!r}")
    params, mets, problem = _setup(model, doses, t_h, ranges, metrics, rng, conf_level, num_resamples, max_models)
    Xs = sobol_sample.sample(problem, int(n), calc_second_order=bool(second_order), scramble=True, seed=rng)
    X = _natural(params, Xs)
    Y = _run_design(model, doses, t_h, params, X, mets, max_models=int(max_models), simulate_kw=dict(simulate_kw))
    rows, notes = [], []
    names = problem["names"]
    for k, (mname, _, unit) in enumerate(mets):
        y = Y[:, k]
        if not np.all(np.isfinite(y)):
            raise PharmsimError(f"metric {mname!r} is not finite in {int(np.sum(~np.isfinite(y)))} of {y.size} runs")
        if np.ptp(y) == 0:
            notes.append(f"{mname!r} does not vary over the ranges given: every index is 0")
            zeros = {key: np.zeros(len(names)) for key in ("S1", "ST")}
            zeros.update({"S1_conf": np.zeros(len(names)), "ST_conf": np.zeros(len(names))})
            sec = (np.zeros((len(names),) * 2), np.zeros((len(names),) * 2)) if second_order else None
            rows += _indices_rows("sobol", mname, unit, names, zeros, ("S1", "ST"), y.size, conf_level, sec)
            continue
        Si = sobol_analyze.analyze(problem, y, calc_second_order=bool(second_order), num_resamples=int(num_resamples),
                                   conf_level=float(conf_level), print_to_console=False,
                                   seed=int(rng.integers(1, 2**31 - 1)))
        sec = (Si["S2"], Si["S2_conf"]) if second_order else None
        rows += _indices_rows("sobol", mname, unit, names, Si, ("S1", "ST"), y.size, conf_level, sec)
    samples, outputs = _frames(params, mets, X, Y)
    return SensitivityResult(method="sobol", parameters=tuple(names), ranges={p.name: p.range for p in params},
                             metrics=tuple(m for m, _, _ in mets), units=tuple(u for _, _, u in mets),
                             indices=pd.DataFrame(rows, columns=_COLUMNS), samples=samples, outputs=outputs,
                             n_evaluations=int(X.shape[0]), conf_level=float(conf_level), notes=tuple(notes))


def morris(model, doses, t_h, ranges: Mapping, *, metrics=None, trajectories: int = 20, levels: int = 4,
           rng: np.random.Generator, conf_level: float = 0.95, num_resamples: int = 200, max_models: int = 2000,
           **simulate_kw) -> SensitivityResult:
    """Morris elementary-effects screening (mu, mu*, sigma) of chosen outputs.

    ``trajectories (D + 1)`` runs on a ``levels``-level grid (:func:`SALib.sample.morris.sample`, Morris 1991),
    analysed by :func:`SALib.analyze.morris.analyze` (mu* of Campolongo et al. 2007 with a bootstrap
    confidence half-width). Elementary effects are in the output's unit per full range of the input (on the
    log scale for a log-uniform range). Parameters as :func:`sobol`, with ``trajectories`` (r >= 2) and
    ``levels`` (an even number >= 2) in place of ``n`` and ``second_order``.

    Returns
    -------
    SensitivityResult
        Indices ``mu``, ``mu_star``, ``sigma`` per metric and parameter (``conf`` for ``mu_star``).
    """
    _salib()
    from SALib.analyze import morris as morris_analyze
    from SALib.sample import morris as morris_sample

    if isinstance(trajectories, bool) or not isinstance(trajectories, numbers.Integral) or trajectories < 2:
        raise PharmsimError(f"trajectories must be a whole number >= 2; got {trajectories!r}")
    if isinstance(levels, bool) or not isinstance(levels, numbers.Integral) or levels < 2 or levels % 2:
        raise PharmsimError(f"levels must be an even whole number >= 2 (e.g. 4); got {levels!r}")
    params, mets, problem = _setup(model, doses, t_h, ranges, metrics, rng, conf_level, num_resamples, max_models)
    Xs = morris_sample.sample(problem, int(trajectories), num_levels=int(levels), seed=rng)
    X = _natural(params, Xs)
    Y = _run_design(model, doses, t_h, params, X, mets, max_models=int(max_models), simulate_kw=dict(simulate_kw))
    rows = []
    names = problem["names"]
    for k, (mname, _, unit) in enumerate(mets):
        y = Y[:, k]
        if not np.all(np.isfinite(y)):
            raise PharmsimError(f"metric {mname!r} is not finite in {int(np.sum(~np.isfinite(y)))} of {y.size} runs")
        Si = morris_analyze.analyze(problem, Xs, y, num_resamples=int(num_resamples), conf_level=float(conf_level),
                                    print_to_console=False, num_levels=int(levels), seed=rng)
        rows += _indices_rows("morris", mname, unit, names, Si, ("mu", "mu_star", "sigma"), y.size, conf_level)
    samples, outputs = _frames(params, mets, X, Y)
    return SensitivityResult(method="morris", parameters=tuple(names), ranges={p.name: p.range for p in params},
                             metrics=tuple(m for m, _, _ in mets), units=tuple(u for _, _, u in mets),
                             indices=pd.DataFrame(rows, columns=_COLUMNS), samples=samples, outputs=outputs,
                             n_evaluations=int(X.shape[0]), conf_level=float(conf_level))
