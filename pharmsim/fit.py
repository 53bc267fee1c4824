"""Fitting models to data: concentration-response (Hill, operational model) and concentration-time curves.

Three fitting functions share one engine (weighted nonlinear least squares, :func:`scipy.optimize.least_squares`)
and one result type, :class:`FitResult`:

- :func:`fit_hill` - per-ligand Hill (four-parameter logistic) fits,
  ``E = bottom + (top - bottom) C^n / (C^n + EC50^n)``, evaluated with :func:`pharmsim.receptor.hill_occupancy`.
- :func:`fit_operational` - a global fit of the operational model of agonism (Black & Leff 1983,
  doi:10.1098/rspb.1983.0093), ``E = Em tau^n C^n / ((K_A + C)^n + tau^n C^n)``, evaluated with
  :func:`pharmsim.receptor.operational_response`: per-ligand K_A and tau, shared system parameters Em and n,
  and (optionally) one receptor-density gain per extra system, so that tau = epsilon R0 / K_E keeps drug
  (epsilon, K_A) and system (R0/K_E, Em, n) apart.
- :func:`fit_profiles` - any concentration-time model given as a callable ``predict(values) -> array``
  aligned with the data rows, with additive, proportional or log-normal residual error.
- :func:`fit_pk_profiles` - a pharmsim PK model (:class:`pharmsim.pk.PKModel`) fitted to the concentration-time
  profiles of one or several subjects: any free subset of its parameters, with bounds and log scales by
  parameter kind; :func:`pk_predictor` builds the ``predict`` callable of :func:`fit_profiles` from the model,
  ``predict(values) = solve_pk(pk_model.with_parameters(values), t, doses).conc_nM(compound)``.

Statistics
----------
Parameters are estimated on an internal scale: ``log`` for positive parameters declared ``log=True``
(EC50, K_A, tau, n ... by default), linear otherwise. With weighted residuals r_i = sqrt(w_i) (y_i - f_i)
(or their log / proportional analogues, see :func:`fit_profiles`) the estimate minimises RSS = sum r_i^2.

- **Standard errors** come from the Jacobian J of the weighted residuals at the optimum (internal scale):
  ``Cov = s^2 (J^T J)^-1`` with ``s^2 = RSS/(N - p)`` (or ``s^2 = 1`` when the data carry a known ``sd``),
  computed by SVD (a singular J gives infinite SEs, not a silent pseudo-inverse). The SE of a
  log-parameter is reported on the natural scale by the delta method, ``se(theta) = theta se(log theta)``.
- **Wald** intervals: ``z +/- t_{N-p} se(z)`` on the internal scale, back-transformed (asymmetric for
  log-parameters); normal quantiles when s is known.
- **Profile likelihood** intervals (the default): for each free parameter the others are re-optimised with
  it held at b; b is in the interval while ``RSS_p(b) <= RSS (1 + F_{1,N-p}(level)/(N-p))`` (s estimated; the
  extra-sum-of-squares, "model comparison" interval of Motulsky & Christopoulos 2004, part E; Bates & Watts
  1988, profile t),
  or ``RSS_p(b) - RSS <= chi^2_1(level)`` (s known; Venzon & Moolgavkar 1988, doi:10.2307/2347496). A profile
  that never rises above the threshold is *flat*: the parameter is not identified by the data (Raue et al.
  2009, doi:10.1093/bioinformatics/btp358) and the interval is unbounded on that side.
- **Bootstrap** intervals (Efron 1979, doi:10.1214/aos/1176344552; Efron & Tibshirani 1993, ch. 9 and 13):
  ``'residual'`` resamples centred weighted residuals (inflated by sqrt(N/(N - p))) with replacement,
  ``'parametric'`` draws them from N(0, s^2); each synthetic data set is refitted and the interval is the
  percentile interval of the refits. Randomness comes only from the explicit ``rng``
  (a :class:`numpy.random.Generator`).
- **AIC** = 2k - 2 log L with the Gaussian log-likelihood of the data on their original scale (the log-normal
  Jacobian included for ``error='log'``), k = free parameters + 1 for s when it is estimated; AICc adds
  2k(k + 1)/(N - k - 1) (Hurvich & Tsai 1989, doi:10.1093/biomet/76.2.297).

Identifiability is reported, not hidden: :attr:`FitResult.warnings` lists (and :func:`warnings.warn` emits,
as :class:`IdentifiabilityWarning`) flat profiles, intervals that reach a bound, estimates on a bound,
relative SE > 50 % (for parameters that are positive by construction), |correlation| > 0.95, a singular
Jacobian, failed convergence and the operational model's structural limits (see :func:`fit_operational`).

References
----------
- Black JW, Leff P (1983) Operational models of pharmacological agonism. Proc R Soc Lond B 220:141-162.
  doi:10.1098/rspb.1983.0093
- Black JW, Leff P, Shankley NP, Wood J (1985) An operational model of pharmacological agonism: the effect of
  E/[A] curve shape on agonist dissociation constant estimation. Br J Pharmacol 84:561-571.
  doi:10.1111/j.1476-5381.1985.tb12941.x
- Furchgott RF (1966) Adv Drug Res 3:21-55 (irreversible receptor inactivation to estimate K_A).
- Motulsky H, Christopoulos A (2004) Fitting Models to Biological Data Using Linear and Nonlinear Regression.
  Oxford University Press (GraphPad 2003 edition): weighting, standard errors, part E "Confidence intervals of
  the parameters" (asymptotic and extra-sum-of-squares / profile intervals).
- Bates DM, Watts DG (1988) Nonlinear Regression Analysis and Its Applications. Wiley.
- Venzon DJ, Moolgavkar SH (1988) Appl Stat 37:87-94. doi:10.2307/2347496
- Raue A et al. (2009) Bioinformatics 25:1923-1929. doi:10.1093/bioinformatics/btp358
- Efron B (1979) Bootstrap methods: another look at the jackknife. Ann Stat 7:1-26. doi:10.1214/aos/1176344552
- Efron B, Tibshirani RJ (1993) An Introduction to the Bootstrap. Chapman & Hall.
- Carroll RJ, Ruppert D (1988) Transformation and Weighting in Regression. Chapman & Hall (iteratively
  reweighted least squares for proportional error).
- Hurvich CM, Tsai C-L (1989) Biometrika 76:297-307. doi:10.1093/biomet/76.2.297

Not for: mixed-effects (population) estimation - :func:`fit_profiles` pools subjects with one set of
parameters and one residual SD, it does not estimate between-subject variability; Bayesian inference or
priors; choosing which published value to use (see :mod:`pharmsim.library`); and simulation (the PK adapter
calls :func:`pharmsim.solve.solve_pk`, it does not solve anything itself).
This software is for teaching and research, not dosing advice.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np
import pandas as pd

from .receptor import hill_occupancy, operational_response
from .validate import PharmsimError, require_choice, suggest

__all__ = [
    "CI_METHODS",
    "ERROR_MODELS",
    "BOOTSTRAP_KINDS",
    "IdentifiabilityWarning",
    "FitParameter",
    "ParameterEstimate",
    "FitResult",
    "fit_hill",
    "fit_operational",
    "fit_profiles",
    "PKPredictor",
    "pk_predictor",
    "fit_pk_profiles",
    "fit_statistics",
]

#: Confidence-interval methods accepted by ``ci=``.
CI_METHODS = ("profile", "wald", "bootstrap")
#: Residual error models of :func:`fit_profiles`.
ERROR_MODELS = ("log", "proportional", "additive")
#: Bootstrap schemes accepted by ``bootstrap=``.
BOOTSTRAP_KINDS = ("residual", "parametric")

#: Thresholds of the identifiability checks.
RELATIVE_SE_LIMIT = 0.5
CORRELATION_LIMIT = 0.95
#: Emax/Em above which an agonist counts as full for the K_A warning of :func:`fit_operational`.
FULL_AGONIST_FRACTION = 0.9

_LOG_CLIP = 700.0            # |log value| beyond which exp over/underflows
_PROFILE_LOG_SPAN = 30.0     # profiles of log-parameters search e^30 (~1e13)-fold either side
_PROFILE_LIN_SPAN = 1e4      # ... of linear parameters 1e4 x max(|estimate|, Wald half-width)
_PROFILE_MAX_STEPS = 60
_MIN_BOOT = 20
_RANK_RTOL = 1e-10           # singular values below this x the largest count as zero (3-point Jacobian noise
                             # is ~eps^(2/3) ~ 4e-11 relative; a structural degeneracy gives ~1e-12)
_PROFILE_XTOL = 1e-3         # profile interval ends to 0.1 % of the Wald half-width
_PROFILE_NFEV = 40           # function evaluations per free parameter in one profile re-optimisation


class IdentifiabilityWarning(UserWarning):
    """A fitted parameter is poorly determined, or not determined at all, by the data."""


# --------------------------------------------------------------------------------------------------
# parameters
# --------------------------------------------------------------------------------------------------


def _is_number(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


@dataclass(frozen=True)
class FitParameter:
    """How one model parameter enters a fit: initial value, bounds, scale, fixed or free.

    Parameters
    ----------
    initial : float
        Starting value (the value used if ``fixed``), in the parameter's natural unit.
    low, high : float
        Bounds (natural scale), ``low < high``; ``-inf``/``inf`` for none. ``initial`` must lie within them.
    log : bool
        Estimate on the log scale (the parameter must be > 0: ``initial > 0``, ``low >= 0``). Standard errors
        are then computed for log(theta) and reported on the natural scale by the delta method; Wald intervals
        are exp(log theta +/- t se), which keeps them positive.
    fixed : bool
        Hold the parameter at ``initial`` (it is then not estimated and has no SE or interval).
    unit : str
        Unit shown in :meth:`FitResult.table` (e.g. ``'nM'``, ``'L/h'``); may be empty.
    """

    initial: float
    low: float = -math.inf
    high: float = math.inf
    log: bool = False
    fixed: bool = False
    unit: str = ""

    def __post_init__(self):
        for fld in ("initial", "low", "high"):
            v = getattr(self, fld)
            if not _is_number(v) or math.isnan(float(v)):
                raise PharmsimError(f"FitParameter.{fld} must be a number; got {v!r}")
            object.__setattr__(self, fld, float(v))
        if not math.isfinite(self.initial):
            raise PharmsimError(f"FitParameter.initial must be a finite number; got {self.initial!r}")
        if not isinstance(self.log, bool) or not isinstance(self.fixed, bool):
            raise PharmsimError(f"FitParameter.log and .fixed must be True or False; got log={self.log!r}, "
                                f"fixed={self.fixed!r}")
        if not isinstance(self.unit, str):
            raise PharmsimError(f"FitParameter.unit must be a string; got {self.unit!r}")
        if not self.low < self.high:
            raise PharmsimError(f"FitParameter bounds must have low < high; got low={self.low!r}, "
                                f"high={self.high!r}")
        if not self.low <= self.initial <= self.high:
            raise PharmsimError(f"FitParameter.initial must lie within [low, high] = [{self.low!r}, {self.high!r}]; "
                                f"got {self.initial!r}")
        if self.log:
            if self.initial <= 0:
                raise PharmsimError(f"FitParameter.initial must be > 0 for a log-scale parameter (log=True); "
                                    f"got {self.initial!r}")
            if self.low < 0:
                raise PharmsimError(f"FitParameter.low must be >= 0 for a log-scale parameter (log=True); "
                                    f"got {self.low!r}")

    @property
    def internal(self) -> tuple[float, float, float]:
        """(initial, low, high) on the internal (log or linear) scale."""
        if not self.log:
            return self.initial, self.low, self.high
        lo = math.log(self.low) if self.low > 0 else -math.inf
        hi = math.log(self.high) if math.isfinite(self.high) else math.inf
        return math.log(self.initial), lo, hi


@dataclass(frozen=True)
class _Spec:
    """A named parameter of one fit (internal)."""

    name: str
    par: FitParameter
    ligand: str | None = None
    system: str | None = None

    @property
    def key(self) -> str:
        return _label(self.name, self.ligand, self.system)


def _label(name: str, ligand: str | None = None, system: str | None = None) -> str:
    tags = [t for t in (ligand, system) if t is not None]
    return name + "".join(f"[{t}]" for t in tags)


def _as_parameter(label: str, value, default: FitParameter, *, positive: bool) -> FitParameter:
    """A user option (None = default, number = fixed, FitParameter = as given) as a checked FitParameter."""
    if value is None:
        return default
    if _is_number(value):
        v = float(value)
        if not math.isfinite(v) or (positive and v <= 0):
            need = "a finite number > 0" if positive else "a finite number"
            raise PharmsimError(f"{label} must be {need} (to fix it), a FitParameter or None; got {value!r}")
        log = default.log and v > 0
        return FitParameter(v, low=0.0 if log else -math.inf, fixed=True, log=log, unit=default.unit)
    if isinstance(value, FitParameter):
        p = value if value.unit else replace(value, unit=default.unit)
        if positive and (p.initial <= 0 or (not p.fixed and not p.log and p.low <= 0)):
            raise PharmsimError(f"{label} must stay > 0: give FitParameter(..., log=True) or low > 0 and "
                                f"initial > 0; got {p!r}")
        return p
    raise PharmsimError(f"{label} must be a number (to fix it), a FitParameter or None; got {value!r}")


def _per_key(option: str, value, keys: Sequence[str], what: str) -> dict:
    """Spread an option over ligands/systems: a mapping gives per-key values, anything else applies to all."""
    if isinstance(value, Mapping):
        for k in value:
            if k not in keys:
                raise PharmsimError(f"{option} names {what} {k!r}, which is not in the data; {what}s there: "
                                    f"{', '.join(map(repr, keys))}{suggest(str(k), keys)}")
        return {k: value.get(k) for k in keys}
    return dict.fromkeys(keys, value)


# --------------------------------------------------------------------------------------------------
# data checks
# --------------------------------------------------------------------------------------------------


def _check_frame(data, required: Sequence[str], optional: Sequence[str]) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise PharmsimError(f"data must be a pandas DataFrame with columns {', '.join(map(repr, required))}; "
                            f"got {type(data).__name__}")
    if len(data) == 0:
        raise PharmsimError(f"data must have at least one row; got an empty table (columns {list(data.columns)})")
    cols = [str(c) for c in data.columns]
    for c in required:
        if c not in cols:
            raise PharmsimError(f"data must have columns {', '.join(map(repr, required))}; missing {c!r}"
                                f"{suggest(c, cols)}")
    extras = [c for c in cols if c not in (*required, *optional)]
    for o in optional:
        if o in cols:
            continue
        for c in extras:
            if suggest(c, [o]):
                raise PharmsimError(f"data column {c!r} is not one fitting reads (did you mean {o!r}?); "
                                    f"rename or drop it")
    out = data.copy()
    out.columns = cols
    return out.reset_index(drop=True)


def _numeric(df: pd.DataFrame, col: str, unit: str = "", *, low: str | None = None, hint: str = "") -> np.ndarray:
    """Column ``col`` as floats: numeric, finite, and >= 0 / > 0 when ``low`` is '>=0' / '>0'."""
    s = df[col]
    u = f" {unit}" if unit else ""
    if s.dtype == bool or not pd.api.types.is_numeric_dtype(s):
        raise PharmsimError(f"data column {col!r} must be numeric{u}; got dtype {s.dtype} "
                            f"(first value {s.iloc[0]!r})")
    a = s.to_numpy(dtype=float)
    bad = ~np.isfinite(a)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise PharmsimError(f"data column {col!r} must hold finite numbers{u}; got {float(a[i])!r} in row {i}")
    if low is not None:
        bad = a < 0 if low == ">=0" else a <= 0
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise PharmsimError(f"data column {col!r} must be {low.replace('>=', '>= ').replace('>0', '> 0')}{u}; "
                                f"got {float(a[i])!r} in row {i}{hint}")
    return a


def _labels(df: pd.DataFrame, col: str) -> np.ndarray:
    s = df[col]
    bad = s.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise PharmsimError(f"data column {col!r} must name every row; got {s.iloc[i]!r} in row {i}")
    return s.astype(str).to_numpy()


def _weights(df: pd.DataFrame) -> tuple[np.ndarray, bool]:
    """sqrt-weights from 'weight' (relative, s estimated) or 'sd' (known SD, s = 1); and whether s is known."""
    if "weight" in df.columns and "sd" in df.columns:
        raise PharmsimError("data must have at most one of the columns 'weight' (relative weights) and 'sd' "
                            "(known standard deviations); got both")
    if "weight" in df.columns:
        return np.sqrt(_numeric(df, "weight", low=">0")), False
    if "sd" in df.columns:
        return 1.0 / _numeric(df, "sd", low=">0"), True
    return np.ones(len(df)), False


def _check_ci(ci, level, bootstrap, n_boot, rng) -> tuple[tuple[str, ...], float, str, int]:
    if ci is None:
        methods: tuple[str, ...] = ()
    elif isinstance(ci, str):
        methods = (require_choice("ci", ci, CI_METHODS),)
    elif isinstance(ci, Iterable):
        methods = tuple(require_choice("ci", m, CI_METHODS) for m in ci)
        if len(set(methods)) != len(methods):
            raise PharmsimError(f"ci must list each method once; got {ci!r}")
    else:
        raise PharmsimError(f"ci must be one of {', '.join(map(repr, CI_METHODS))}, a sequence of them or None; "
                            f"got {ci!r}")
    if not _is_number(level) or not 0.5 <= float(level) < 1:
        raise PharmsimError(f"level must be a number in [0.5, 1) (e.g. 0.95); got {level!r}")
    require_choice("bootstrap", bootstrap, BOOTSTRAP_KINDS)
    if "bootstrap" in methods:
        if not isinstance(n_boot, numbers.Integral) or isinstance(n_boot, bool) or n_boot < _MIN_BOOT:
            raise PharmsimError(f"n_boot must be an integer >= {_MIN_BOOT}; got {n_boot!r}")
        if not isinstance(rng, np.random.Generator):
            raise PharmsimError("rng must be a numpy.random.Generator (e.g. numpy.random.default_rng(1)) when ci "
                                f"includes 'bootstrap'; got {rng!r}")
    elif rng is not None and not isinstance(rng, np.random.Generator):
        raise PharmsimError(f"rng must be a numpy.random.Generator or None; got {rng!r}")
    return methods, float(level), bootstrap, int(n_boot)


# --------------------------------------------------------------------------------------------------
# the engine
# --------------------------------------------------------------------------------------------------


def _natural(z: np.ndarray, logm: np.ndarray) -> np.ndarray:
    return np.where(logm, np.exp(np.clip(z, -_LOG_CLIP, _LOG_CLIP)), z)


@dataclass(frozen=True)
class _Problem:
    """One least-squares problem: parameters, model and data (one ligand for a Hill fit, else everything)."""

    label: str                              # for messages ('' or a ligand name)
    specs: tuple[_Spec, ...]
    model: Callable[[np.ndarray], np.ndarray]   # natural parameter vector -> predictions (N,)
    y: np.ndarray
    sw: np.ndarray                          # base sqrt-weights
    error: str                              # 'additive' | 'log' | 'proportional'
    sigma_known: bool
    quiet_numpy: bool = True                # silence numpy floating-point warnings inside built-in models

    @property
    def logm(self) -> np.ndarray:
        return np.array([s.par.log for s in self.specs], dtype=bool)


class _Objective:
    """Weighted residuals of a problem on given data; ``scale`` holds fixed IRLS weights (proportional)."""

    def __init__(self, prob: _Problem, y: np.ndarray, scale: np.ndarray | None = None):
        self.prob, self.y, self.scale = prob, y, scale
        self.logm = prob.logm
        self.ly = np.log(y) if prob.error == "log" else None

    def with_y(self, y: np.ndarray) -> _Objective:
        return _Objective(self.prob, y, self.scale)

    def fitted(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(self.prob.model(_natural(z, self.logm)), dtype=float)

    def sw_eff(self) -> np.ndarray:
        return self.prob.sw / self.scale if self.prob.error == "proportional" else self.prob.sw

    def from_fitted(self, f: np.ndarray) -> np.ndarray:
        if self.prob.error == "log":
            return (self.ly - np.log(np.maximum(f, np.finfo(float).tiny))) * self.prob.sw
        return (self.y - f) * self.sw_eff()

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return self.from_fitted(self.fitted(z))


def _solve(obj: _Objective, z: np.ndarray, free: np.ndarray, lo: np.ndarray, hi: np.ndarray, *,
           jac: str = "2-point", tol: float = 1e-8, max_nfev: int | None = None):
    """Minimise the RSS over the ``free`` entries of the internal vector ``z``; returns (z_hat, result)."""
    idx = np.flatnonzero(free)
    base = z.copy()
    if idx.size == 0:
        return base, None

    def fun(x):
        zz = base.copy()
        zz[idx] = x
        return obj(zz)

    x0 = np.clip(z[idx], lo[idx], hi[idx])
    from scipy import optimize  # noqa: PLC0415  (imported when a fit runs: scipy.optimize costs ~0.5 s)

    res = optimize.least_squares(fun, x0, jac=jac, bounds=(lo[idx], hi[idx]), method="trf", x_scale="jac",
                                 ftol=tol, xtol=tol, gtol=tol, max_nfev=max_nfev)
    base[idx] = res.x
    return base, res


@dataclass
class _Solution:
    """What one problem's fit produced (internal, mutable while it is being built)."""

    prob: _Problem
    obj: _Objective
    z: np.ndarray
    free: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    fitted: np.ndarray
    resid: np.ndarray
    rss: float
    n: int
    p: int
    s2: float
    se_int: np.ndarray
    cov_int: np.ndarray
    converged: bool
    log_likelihood: float
    k: int
    ci: dict = field(default_factory=dict)     # method -> (low natural (P,), high natural (P,))
    warnings: list = field(default_factory=list)

    @property
    def values(self) -> np.ndarray:
        return _natural(self.z, self.prob.logm)

    @property
    def keys(self) -> list[str]:
        return [s.key for s in self.prob.specs]


def _numpy_quiet(prob: _Problem):
    return np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore") if prob.quiet_numpy \
        else np.errstate()


def _fit_problem(prob: _Problem, methods: tuple[str, ...], level: float, bootstrap: str, n_boot: int,
                 rng: np.random.Generator | None) -> _Solution:
    specs = prob.specs
    z0 = np.array([s.par.internal[0] for s in specs], dtype=float)
    lo = np.array([s.par.internal[1] for s in specs], dtype=float)
    hi = np.array([s.par.internal[2] for s in specs], dtype=float)
    free = np.array([not s.par.fixed for s in specs], dtype=bool)
    n, p = prob.y.size, int(free.sum())
    where = f" for ligand {prob.label!r}" if prob.label else ""
    if p == 0:
        raise PharmsimError(f"at least one parameter must be free (not fixed){where}; got all of "
                            f"{', '.join(s.key for s in specs)} fixed")
    need = p if prob.sigma_known else p + 1
    if n < need:
        raise PharmsimError(f"data{where} must have at least {need} rows to fit {p} free parameters"
                            f"{'' if prob.sigma_known else ' and the residual SD'}; got {n}")

    with _numpy_quiet(prob):
        obj = _Objective(prob, prob.y)
        f0 = obj.fitted(z0)
        if f0.shape != prob.y.shape:
            raise PharmsimError(f"the model{where} must return one prediction per data row, shape {prob.y.shape}; "
                                f"got shape {f0.shape}")
        if prob.error == "proportional":
            floor = 1e-12 * max(float(np.max(np.abs(prob.y))), 1e-300)
            obj.scale = np.maximum(np.abs(prob.y), floor)
        r0 = obj(z0)
        if prob.error == "log" and not np.all(f0 > 0):
            r0 = np.where(f0 > 0, r0, np.nan)
        if not np.all(np.isfinite(r0)):
            i = int(np.flatnonzero(~np.isfinite(r0))[0])
            vals = ", ".join(f"{s.key}={v:.6g}" for s, v in zip(specs, _natural(z0, prob.logm), strict=True))
            raise PharmsimError(f"the model{where} must give finite predictions at the initial values ({vals}); "
                                f"got {float(f0[i])!r} for data row {i}"
                                + (" (error='log' needs predictions > 0)" if prob.error == "log" else ""))
        z, res = _solve(obj, z0, free, lo, hi, jac="3-point", tol=1e-10)
        settled = True
        if prob.error == "proportional":        # iteratively reweighted least squares (Carroll & Ruppert 1988)
            settled = False
            for _ in range(50):
                obj.scale = np.maximum(np.abs(obj.fitted(z)), floor)
                z_new, res = _solve(obj, z, free, lo, hi, jac="3-point", tol=1e-10)
                settled = bool(np.max(np.abs(z_new - z)) <= 1e-8 * (1.0 + np.max(np.abs(z))))
                z = z_new
                if settled:
                    break
        fitted = obj.fitted(z)
        resid = obj.from_fitted(fitted)
    rss = float(resid @ resid)
    dof = n - p
    s2 = 1.0 if prob.sigma_known else rss / dof
    warn: list[str] = []
    if not res.success:
        warn.append(f"the optimizer did not converge{where}: {res.message}")
    if not settled:
        warn.append(f"the proportional-error weights{where} did not settle in 50 reweighting rounds; the estimates "
                    "may depend on the starting values")

    # standard errors from the Jacobian (SVD; singular directions give infinite variance)
    J = np.asarray(res.jac, dtype=float)
    P = len(specs)
    se_int = np.full(P, np.nan)
    cov_free = np.full((p, p), np.nan)
    if np.all(np.isfinite(J)):
        _, sv, Vt = np.linalg.svd(J, full_matrices=False)
        keep = sv > _RANK_RTOL * (sv[0] if sv.size else 0.0)
        cov_free = (Vt[keep].T / sv[keep] ** 2) @ Vt[keep] * s2
        if not keep.all():
            null = np.any(np.abs(Vt[~keep]) > 1e-6, axis=0)
            cov_free[null, :] = np.inf
            cov_free[:, null] = np.inf
            names = [s.key for s, f in zip(specs, free, strict=True) if f]
            warn.append("the Jacobian is singular: " + ", ".join(n_ for n_, b in zip(names, null, strict=True) if b)
                        + " cannot be separated by these data (infinite standard errors)")
        se_int[free] = np.sqrt(np.diag(cov_free))
    else:
        warn.append(f"the Jacobian at the optimum{where} is not finite; standard errors are unavailable")

    # log-likelihood on the data's own scale (Gaussian in the residual scale, log-normal Jacobian for 'log')
    log_sw = float(np.sum(np.log(obj.sw_eff())))
    if prob.sigma_known:
        ll = -0.5 * n * math.log(2 * math.pi) + log_sw - 0.5 * rss
        k = p
    else:
        s2_ml = max(rss / n, np.finfo(float).tiny)
        ll = -0.5 * n * (math.log(2 * math.pi * s2_ml) + 1.0) + log_sw
        k = p + 1
    if prob.error == "log":
        ll -= float(np.sum(obj.ly))

    sol = _Solution(prob=prob, obj=obj, z=z, free=free, lo=lo, hi=hi, fitted=fitted, resid=resid, rss=rss, n=n,
                    p=p, s2=s2, se_int=se_int, cov_int=cov_free, converged=bool(res.success), log_likelihood=ll,
                    k=k, warnings=warn)
    _standard_checks(sol, res)
    with _numpy_quiet(prob):
        for m in methods:
            if m == "wald":
                sol.ci["wald"] = _wald(sol, level)
            elif m == "profile":
                sol.ci["profile"] = _profile_all(sol, level)
            else:
                sol.ci["bootstrap"] = _bootstrap(sol, level, bootstrap, n_boot, rng)
    return sol


def _rel(rel: float) -> str:
    return f"{rel:.0%}" if rel < 10 else f"{rel:.2g} x the estimate"


def _standard_checks(sol: _Solution, res) -> None:
    """Bound, relative-SE and correlation checks; one message per kind of problem."""
    specs, logm = sol.prob.specs, sol.prob.logm
    idx = np.flatnonzero(sol.free)
    vals = sol.values
    on_bound, poor = [], []
    for j_free, j in enumerate(idx):
        s = specs[j]
        if res.active_mask[j_free] != 0:
            b = s.par.low if res.active_mask[j_free] < 0 else s.par.high
            on_bound.append(f"{s.key} = {vals[j]:.4g} (bound {b:.4g})")
        se = sol.se_int[j]
        rel = se if logm[j] else (se / abs(vals[j]) if vals[j] != 0 else math.inf)
        if (logm[j] or s.par.low >= 0) and np.isfinite(rel) and rel > RELATIVE_SE_LIMIT:
            poor.append(f"{s.key} ({_rel(float(rel))})")
    if on_bound:
        sol.warnings.append("estimates on a bound (the data push them there; their standard errors and Wald "
                            "intervals ignore the bound): " + ", ".join(on_bound))
    if poor:
        sol.warnings.append(f"relative standard error > {RELATIVE_SE_LIMIT:.0%} (poorly determined by these data): "
                            + ", ".join(poor))
    if idx.size > 1:
        cov = sol.cov_int
        d = np.sqrt(np.diag(cov))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = cov / np.outer(d, d)
        pairs = [f"{specs[idx[a]].key} ~ {specs[idx[b]].key} ({corr[a, b]:+.3f})"
                 for a in range(idx.size) for b in range(a + 1, idx.size)
                 if np.isfinite(corr[a, b]) and abs(corr[a, b]) > CORRELATION_LIMIT]
        if pairs:
            sol.warnings.append(f"|correlation| > {CORRELATION_LIMIT} (the data determine a combination of these "
                                "better than either): " + ", ".join(pairs))


def _t_quantile(sol: _Solution, level: float) -> float:
    from scipy import stats  # noqa: PLC0415  (scipy.stats costs ~0.8 s to import)

    q = 0.5 + level / 2
    return float(stats.norm.ppf(q) if sol.prob.sigma_known else stats.t.ppf(q, sol.n - sol.p))


def _wald(sol: _Solution, level: float):
    logm = sol.prob.logm
    hw = _t_quantile(sol, level) * sol.se_int
    lo_i = np.where(sol.free, sol.z - hw, np.nan)
    hi_i = np.where(sol.free, sol.z + hw, np.nan)
    hits = []
    for j in np.flatnonzero(sol.free):
        for end, arr, bound, word in ((0, lo_i, sol.lo[j], "lower"), (1, hi_i, sol.hi[j], "upper")):
            if (arr[j] < bound) if end == 0 else (arr[j] > bound):
                arr[j] = bound
                hits.append(f"{sol.prob.specs[j].key} ({word} {_natural(np.array([bound]), logm[j:j + 1])[0]:.4g})")
    if hits:
        sol.warnings.append(f"Wald {level:.0%} intervals reaching a bound (truncated there): " + ", ".join(hits))
    return _natural(lo_i, logm), _natural(hi_i, logm)


def _threshold(sol: _Solution, level: float) -> float:
    from scipy import stats  # noqa: PLC0415  (scipy.stats costs ~0.8 s to import)

    if sol.prob.sigma_known:
        return sol.rss + float(stats.chi2.ppf(level, 1))
    dof = sol.n - sol.p
    return sol.rss * (1.0 + float(stats.f.ppf(level, 1, dof)) / dof)


def _profile_all(sol: _Solution, level: float):
    logm = sol.prob.logm
    P = len(sol.prob.specs)
    lo_n, hi_n = np.full(P, np.nan), np.full(P, np.nan)
    thr = _threshold(sol, level)
    q = _t_quantile(sol, level)
    best = sol.rss
    flat, at_bound, capped = [], [], []
    for j in np.flatnonzero(sol.free):
        (a, sa), (b, sb), low_rss, n_capped = _profile_one(sol, j, thr, q)
        if n_capped:
            capped.append(sol.prob.specs[j].key)
        best = min(best, low_rss)
        key = sol.prob.specs[j].key
        for end, status, word in ((a, sa, "lower"), (b, sb, "upper")):
            if status == "bound":
                at_bound.append(f"{key} ({word} {_natural(np.array([end]), logm[j:j + 1])[0]:.4g})")
            elif status == "flat":
                flat.append(f"{key} ({word} side)")
        lo_n[j] = (0.0 if logm[j] else -math.inf) if sa == "flat" else _natural(np.array([a]), logm[j:j + 1])[0]
        hi_n[j] = math.inf if sb == "flat" else _natural(np.array([b]), logm[j:j + 1])[0]
    if flat:
        sol.warnings.append(f"flat profiles - the residual sum of squares stays below the {level:.0%} threshold, so "
                            "these are not identified by the data (interval unbounded there): " + ", ".join(flat))
    if at_bound:
        sol.warnings.append(f"profile {level:.0%} intervals reaching a bound before the residual sum of squares "
                            "crosses its threshold (truncated there): " + ", ".join(at_bound))
    if capped:
        sol.warnings.append("some profile re-optimisations stopped at their evaluation limit (a flat or curved "
                            "valley), so these profile intervals may be too narrow: " + ", ".join(capped))
    if best < sol.rss * (1 - 1e-6) - 1e-12:
        sol.warnings.append(f"a profile found a lower residual sum of squares ({best:.6g} < {sol.rss:.6g}): the fit "
                            "stopped at a local minimum; try other initial values")
    return lo_n, hi_n


def _profile_one(sol: _Solution, j: int, thr: float, q: float):
    """Both ends of the profile interval of internal parameter j: ((end, status), (end, status), lowest RSS)."""
    from scipy import optimize  # noqa: PLC0415  (see _solve)

    obj, z_hat, lo, hi = sol.obj, sol.z, sol.lo, sol.hi
    others = sol.free.copy()
    others[j] = False
    u = z_hat[j]
    log = bool(sol.prob.logm[j])
    se = sol.se_int[j]
    hw = q * se if np.isfinite(se) and se > 0 else 0.1 * (1.0 if log else max(1.0, abs(u)))
    span = _PROFILE_LOG_SPAN if log else _PROFILE_LIN_SPAN * max(abs(u), hw)
    hw = min(hw, span / 4)
    cache: list[tuple[float, np.ndarray]] = [(u, z_hat.copy())]
    lowest = [sol.rss]
    capped = [0]
    big = 1e300

    def prof(b: float) -> float:
        start = min(cache, key=lambda t: abs(t[0] - b))[1].copy()
        start[j] = b
        if others.any():
            try:
                start, res = _solve(obj, start, others, lo, hi, tol=1e-9,
                                    max_nfev=_PROFILE_NFEV * int(others.sum() + 1))
            except (ValueError, np.linalg.LinAlgError):
                return big
            capped[0] += int(res.status == 0)
        r = obj(start)
        val = float(r @ r)
        if not math.isfinite(val):
            return big
        cache.append((b, start))
        lowest[0] = min(lowest[0], val)
        return min(val, big)

    ends = []
    for sign in (-1.0, 1.0):
        bound = lo[j] if sign < 0 else hi[j]
        inside, d = u, hw
        result = None
        for _ in range(_PROFILE_MAX_STEPS):
            b, status = u + sign * d, None
            if sign * (b - bound) >= 0:
                b, status = bound, "bound"
            if abs(b - u) >= span:
                b, status = u + sign * span, "flat"
            if prof(b) > thr:
                a_, c_ = sorted((inside, b))
                try:
                    end = optimize.brentq(lambda x: prof(x) - thr, a_, c_, xtol=max(_PROFILE_XTOL * hw, 1e-12),
                                          rtol=1e-8, maxiter=100)
                except ValueError:          # a warm start changed the inside value: keep the outside point
                    end = b
                result = (end, "ok")
                break
            inside = b
            if status is not None:
                result = (b, status)
                break
            d *= 2.0
        ends.append(result if result is not None else (inside, "flat"))
    return ends[0], ends[1], lowest[0], capped[0]


def _bootstrap(sol: _Solution, level: float, kind: str, n_boot: int, rng: np.random.Generator):
    prob, obj = sol.prob, sol.obj
    P = len(prob.specs)
    sw = obj.sw_eff()
    if kind == "residual":
        e = sol.resid - sol.resid.mean()
        e = e * math.sqrt(sol.n / (sol.n - sol.p)) if sol.n > sol.p else e
    draws = np.empty((n_boot, P))
    ok = np.zeros(n_boot, dtype=bool)
    for b in range(n_boot):
        eps = rng.choice(e, size=sol.n, replace=True) if kind == "residual" \
            else rng.normal(0.0, math.sqrt(sol.s2), size=sol.n)
        delta = eps / sw
        y_star = sol.fitted * np.exp(delta) if prob.error == "log" else sol.fitted + delta
        try:
            zb, res = _solve(obj.with_y(y_star), sol.z, sol.free, sol.lo, sol.hi, tol=1e-8)
        except (ValueError, np.linalg.LinAlgError):
            continue
        if res.success and np.all(np.isfinite(zb)):
            draws[b] = _natural(zb, prob.logm)
            ok[b] = True
    lo_n, hi_n = np.full(P, np.nan), np.full(P, np.nan)
    good = draws[ok]
    where = f" for ligand {prob.label!r}" if prob.label else ""
    if ok.sum() < max(_MIN_BOOT, n_boot // 2):
        sol.warnings.append(f"only {int(ok.sum())} of {n_boot} bootstrap refits{where} succeeded; no bootstrap "
                            "interval is reported")
        return lo_n, hi_n
    if ok.sum() < 0.9 * n_boot:
        sol.warnings.append(f"{n_boot - int(ok.sum())} of {n_boot} bootstrap refits{where} failed; the interval "
                            "uses the others and may be too narrow")
    qs = np.quantile(good, [0.5 - level / 2, 0.5 + level / 2], axis=0)
    lo_n[sol.free], hi_n[sol.free] = qs[0][sol.free], qs[1][sol.free]
    hits = []
    for j in np.flatnonzero(sol.free):
        par = prob.specs[j].par
        for v, bnd, word in ((lo_n[j], par.low, "lower"), (hi_n[j], par.high, "upper")):
            if math.isfinite(bnd) and abs(v - bnd) <= 1e-6 * max(1.0, abs(bnd)):
                hits.append(f"{prob.specs[j].key} ({word} {bnd:.4g})")
    if hits:
        sol.warnings.append(f"bootstrap {level:.0%} intervals reaching a bound (refits pile up there): "
                            + ", ".join(hits))
    return lo_n, hi_n


# --------------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParameterEstimate:
    """One parameter of a fit: estimate, standard error and confidence intervals (natural scale).

    ``ci`` holds ``(method, low, high)`` triples for the methods requested; ``se`` is the Jacobian
    (asymptotic) standard error (delta method for log-scale parameters), NaN for a fixed parameter.
    """

    name: str
    estimate: float
    unit: str
    se: float
    fixed: bool
    log: bool
    low: float
    high: float
    ci: tuple[tuple[str, float, float], ...] = ()
    ligand: str | None = None
    system: str | None = None

    @property
    def label(self) -> str:
        """``'EC50_nM[MG]'``-style key (name, then ligand and system in brackets)."""
        return _label(self.name, self.ligand, self.system)

    def interval(self, method: str | None = None) -> tuple[float, float]:
        """(low, high) of ``method`` (default: the first method of the fit)."""
        if not self.ci:
            raise PharmsimError(f"{self.label} has no confidence interval ({'fixed' if self.fixed else 'ci=None'})")
        if method is None:
            return self.ci[0][1], self.ci[0][2]
        have = [m for m, _, _ in self.ci]
        require_choice("method", method, have)
        m = self.ci[have.index(method)]
        return m[1], m[2]


@dataclass(frozen=True, eq=False)
class FitResult:
    """The outcome of :func:`fit_hill`, :func:`fit_operational` or :func:`fit_profiles` (immutable).

    Attributes
    ----------
    model : str
        ``'hill'``, ``'operational'`` or ``'profiles'``.
    parameters : tuple of ParameterEstimate
        Every parameter (fixed ones included), in model order.
    ci_methods : tuple of str
        Interval methods computed, in the order asked for.
    level : float
        Confidence level of the intervals.
    error : str
        Residual error model (``'additive'`` for concentration-response fits).
    sigma_known : bool
        True if the data's ``sd`` column was taken as the known measurement SD (s = 1), False if the residual
        SD was estimated from the residuals.
    n_obs, n_free : int
        Data rows and free parameters (summed over the independent per-ligand fits of :func:`fit_hill`).
    rss : float
        Weighted residual sum of squares at the optimum.
    log_likelihood, aic, aicc : float
        Gaussian log-likelihood, AIC and AICc (see the module docstring).
    converged : bool
        Every optimisation reported success.
    warnings : tuple of str
        Identifiability and convergence warnings (also emitted as :class:`IdentifiabilityWarning`).
    """

    model: str
    parameters: tuple[ParameterEstimate, ...]
    ci_methods: tuple[str, ...]
    level: float
    error: str
    sigma_known: bool
    n_obs: int
    n_free: int
    rss: float
    log_likelihood: float
    aic: float
    aicc: float
    converged: bool
    warnings: tuple[str, ...]
    _correlation: pd.DataFrame = field(repr=False)
    _residuals: pd.DataFrame = field(repr=False)
    _curves: pd.DataFrame = field(repr=False)
    _plot: Mapping = field(repr=False)

    def __repr__(self) -> str:
        return (f"FitResult({self.model}, {len(self.parameters)} parameters ({self.n_free} free), "
                f"n_obs={self.n_obs}, AIC={self.aic:.4g}, {len(self.warnings)} warning(s))")

    # ---------------------------------------------------------------------------------------- access
    @property
    def estimates(self) -> dict[str, float]:
        """``{label: estimate}`` for every parameter (labels as :attr:`ParameterEstimate.label`)."""
        return {p.label: p.estimate for p in self.parameters}

    def parameter(self, name: str, ligand: str | None = None, system: str | None = None) -> ParameterEstimate:
        """The estimate of parameter ``name`` (of ``ligand`` / ``system`` where it has one).

        ``name`` may also be a full label such as ``'EC50_nM[MG]'``.
        """
        label = name if (ligand is None and system is None) else _label(name, ligand, system)
        for p in self.parameters:
            if p.label == label:
                return p
        labels = [p.label for p in self.parameters]
        raise PharmsimError(f"parameter must be one of {', '.join(map(repr, labels))}; got {label!r}"
                            f"{suggest(label, labels)}")

    def value(self, name: str, ligand: str | None = None, system: str | None = None) -> float:
        """The estimate of ``name`` (see :meth:`parameter`)."""
        return self.parameter(name, ligand, system).estimate

    def table(self) -> pd.DataFrame:
        """Tidy table: one row per parameter and interval method.

        Columns: parameter, [ligand], [system], estimate, unit, se, ci_low, ci_high, method, scale. Fixed
        parameters have one row with method ``'fixed'``; with ``ci=None`` the method column is empty.
        """
        rows = []
        for p in self.parameters:
            base = {"parameter": p.name, "ligand": p.ligand, "system": p.system, "estimate": p.estimate,
                    "unit": p.unit, "se": p.se, "scale": "log" if p.log else "linear"}
            if p.fixed:
                rows.append({**base, "ci_low": math.nan, "ci_high": math.nan, "method": "fixed"})
            elif not p.ci:
                rows.append({**base, "ci_low": math.nan, "ci_high": math.nan, "method": ""})
            for m, a, b in p.ci:
                rows.append({**base, "ci_low": a, "ci_high": b, "method": m})
        cols = ["parameter", "ligand", "system", "estimate", "unit", "se", "ci_low", "ci_high", "method", "scale"]
        df = pd.DataFrame(rows, columns=cols)
        for c in ("ligand", "system"):
            if df[c].isna().all():
                df = df.drop(columns=c)
        return df

    def residuals(self) -> pd.DataFrame:
        """Data with ``fitted``, ``residual`` (observed - fitted), ``weighted_residual`` (the least-squares
        residual, log scale for ``error='log'``) and ``standardized_residual`` (weighted / s); a copy."""
        return self._residuals.copy()

    def curves(self) -> pd.DataFrame:
        """The fitted curves drawn by :meth:`plot` (a copy): a fine concentration grid per ligand (and
        system) for concentration-response fits, the fitted value at each data row for :func:`fit_profiles`."""
        return self._curves.copy()

    def correlation(self) -> pd.DataFrame:
        """Correlation matrix of the free parameters (internal scale: log for log-parameters); a copy."""
        return self._correlation.copy()

    # ---------------------------------------------------------------------------------------- figure
    def plot(self, *, title: str | None = None, figsize: tuple[float, float] = (8.0, 6.5)):
        """Data, fitted curves and a standardized-residual panel; returns a :class:`matplotlib.figure.Figure`.

        Draws what the fit stored (:meth:`curves`, :meth:`residuals`): nothing is refitted or re-solved.
        Concentration-response data at concentration 0 are not shown (log axis).
        """
        from matplotlib.figure import Figure

        from .plots import style_axes

        spec = self._plot
        x, y = spec["x"], spec["y"]
        res, cur = self._residuals, self._curves
        if spec["xlog"]:
            res = res[res[x] > 0]
        color_keys = list(pd.unique(self._residuals[spec["color"]]))
        colors = {k: f"C{i % 10}" for i, k in enumerate(color_keys)}
        styles = spec.get("styles", {})
        fig = Figure(figsize=figsize, layout="constrained")
        ax, axr = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
        for keys, d in cur.groupby(spec["lines"], sort=False):
            keys = keys if isinstance(keys, tuple) else (keys,)
            lab = dict(zip(spec["lines"], keys, strict=True))
            ls, mk = styles.get(lab.get(spec.get("style_col")), ("-", "o"))
            ax.plot(d[x], d["fitted"], color=colors[lab[spec["color"]]], linestyle=ls, linewidth=2)
        for keys, d in res.groupby(spec["markers"], sort=False):
            keys = keys if isinstance(keys, tuple) else (keys,)
            lab = dict(zip(spec["markers"], keys, strict=True))
            ls, mk = styles.get(lab.get(spec.get("style_col")), ("-", "o"))
            name = " / ".join(str(k) for k in keys)
            c = colors[lab[spec["color"]]]
            ax.scatter(d[x], d[y], color=c, marker=mk, s=30, alpha=0.8, label=name)
            axr.scatter(d[x], d["standardized_residual"], color=c, marker=mk, s=20, alpha=0.8)
        for v, st in ((0.0, "-"), (-2.0, ":"), (2.0, ":")):
            axr.axhline(v, color="0.4", linestyle=st, linewidth=1)
        if spec["xlog"]:
            ax.set_xscale("log")
        if spec.get("ylog"):
            ax.set_yscale("log")
        style_axes(ax, title=title or spec["title"], ylabel=spec["ylabel"])
        style_axes(axr, xlabel=spec["xlabel"], ylabel="standardized\nresidual", legend=False)
        return fig


def _assemble(model: str, sols: list[_Solution], methods, level, error, residuals: pd.DataFrame,
              curves: pd.DataFrame, plot_spec: dict, extra_warnings: Sequence[str] = ()) -> FitResult:
    params = []
    free_labels, blocks = [], []
    for sol in sols:
        vals = sol.values
        for j, s in enumerate(sol.prob.specs):
            fixed = not sol.free[j]
            se = math.nan if fixed else float(sol.se_int[j] * (vals[j] if s.par.log else 1.0))
            ci = () if fixed else tuple((m, float(sol.ci[m][0][j]), float(sol.ci[m][1][j])) for m in methods)
            params.append(ParameterEstimate(name=s.name, estimate=float(vals[j]), unit=s.par.unit, se=se,
                                            fixed=fixed, log=s.par.log, low=s.par.low, high=s.par.high, ci=ci,
                                            ligand=s.ligand, system=s.system))
        free_labels += [s.key for s, f in zip(sol.prob.specs, sol.free, strict=True) if f]
        cov = sol.cov_int
        d = np.sqrt(np.diag(cov))
        with np.errstate(invalid="ignore", divide="ignore"):
            blocks.append(cov / np.outer(d, d))
    m = sum(b.shape[0] for b in blocks)
    corr = np.zeros((m, m))
    i = 0
    for b in blocks:
        corr[i:i + b.shape[0], i:i + b.shape[0]] = b
        i += b.shape[0]
    ll = sum(s.log_likelihood for s in sols)
    k = sum(s.k for s in sols)
    n = sum(s.n for s in sols)
    aic = 2 * k - 2 * ll
    aicc = aic + 2 * k * (k + 1) / (n - k - 1) if n - k - 1 > 0 else math.inf
    warns = tuple(dict.fromkeys([*extra_warnings, *(w for s in sols for w in s.warnings)]))
    return FitResult(model=model, parameters=tuple(params), ci_methods=tuple(methods), level=level, error=error,
                     sigma_known=sols[0].prob.sigma_known, n_obs=n, n_free=sum(s.p for s in sols),
                     rss=sum(s.rss for s in sols), log_likelihood=ll, aic=aic, aicc=aicc,
                     converged=all(s.converged for s in sols), warnings=warns,
                     _correlation=pd.DataFrame(corr, index=free_labels, columns=free_labels),
                     _residuals=residuals, _curves=curves, _plot=MappingProxyType(plot_spec))


def _emit(result: FitResult) -> FitResult:
    for w in result.warnings:
        warnings.warn(w, IdentifiabilityWarning, stacklevel=3)
    return result


def _residual_frame(df: pd.DataFrame, keep: Sequence[str], observed: str, sols_rows) -> pd.DataFrame:
    """The data columns ``keep`` with fitted values and residuals; ``sols_rows`` = [(solution, row index)]."""
    out = df[list(keep)].copy()
    for c in ("fitted", "residual", "weighted_residual", "standardized_residual"):
        out[c] = np.nan
    for sol, rows in sols_rows:
        s = math.sqrt(sol.s2) if sol.s2 > 0 else math.nan
        out.loc[rows, "fitted"] = sol.fitted
        out.loc[rows, "residual"] = out.loc[rows, observed].to_numpy() - sol.fitted
        out.loc[rows, "weighted_residual"] = sol.resid
        out.loc[rows, "standardized_residual"] = sol.resid / s
    return out


def _grid(conc: np.ndarray) -> np.ndarray:
    pos = conc[conc > 0]
    return np.geomspace(pos.min() / 3.0, pos.max() * 3.0, 200)


def _ec50_guess(conc: np.ndarray, resp: np.ndarray) -> float:
    """Concentration where the mean response first crosses half-way between its ends (log interpolation)."""
    pos = conc > 0
    cs = np.unique(conc[pos])
    if cs.size < 2:
        return float(cs[0]) if cs.size else 1.0
    means = np.array([resp[conc == c].mean() for c in cs])
    mid = 0.5 * (means[0] + means[-1])
    sgn = np.sign(means - mid)
    cross = np.flatnonzero(sgn[:-1] != sgn[1:])
    if cross.size:
        i = int(cross[0])
        return float(math.sqrt(cs[i] * cs[i + 1]))
    return float(math.exp(np.mean(np.log(cs))))


def _conc_response(data, extra_optional: Sequence[str] = ()) -> tuple[pd.DataFrame, np.ndarray, np.ndarray,
                                                                         np.ndarray, np.ndarray, bool]:
    df = _check_frame(data, ("ligand", "conc_nM", "response"), ("weight", "sd", *extra_optional))
    lig = _labels(df, "ligand")
    conc = _numeric(df, "conc_nM", "nM", low=">=0")
    resp = _numeric(df, "response")
    sw, known = _weights(df)
    df["ligand"] = lig
    for name in pd.unique(lig):
        c = conc[lig == name]
        if np.unique(c[c > 0]).size < 2:
            raise PharmsimError(f"data for ligand {name!r} must have at least 2 distinct concentrations > 0 nM; "
                                f"got {sorted(set(c.tolist()))}")
    return df, lig, conc, resp, sw, known


# --------------------------------------------------------------------------------------------------
# Hill
# --------------------------------------------------------------------------------------------------


def fit_hill(data: pd.DataFrame, *, bottom=None, top=None, EC50_nM=None, n=None, ci="profile",
             level: float = 0.95, bootstrap: str = "residual", n_boot: int = 1000,
             rng: np.random.Generator | None = None, response_unit: str = "") -> FitResult:
    """Fit a Hill (four-parameter logistic) curve to each ligand's concentration-response data.

    E = bottom + (top - bottom) C^n / (C^n + EC50^n)

    Each ligand is an independent least-squares fit with its own residual SD (the result gathers them; its
    AIC sums the per-ligand log-likelihoods). The occupancy-like term is :func:`pharmsim.receptor.hill_occupancy`.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy table, one row per observation: ``ligand`` (name), ``conc_nM`` (>= 0; 0 = vehicle),
        ``response`` (any unit); optionally ``weight`` (relative weights, > 0; the residual SD is estimated)
        or ``sd`` (known measurement SDs, > 0; residuals are divided by them and the SD is not re-estimated,
        a chi-square fit). Other columns are ignored.
    bottom, top, EC50_nM, n : None, float, FitParameter or mapping
        ``None``: estimated from a data-driven start (bottom/top linear and unbounded; EC50_nM on the log scale
        within 1e-6 x the lowest and 1e6 x the highest positive concentration; n on the log scale in
        [0.1, 10], start 1). A number fixes the parameter (``bottom=0.0`` for a curve from zero, ``n=1.0``
        for mass-action slope, ``top=100.0`` to a known maximum). A :class:`FitParameter` sets start, bounds,
        scale or fixing. A mapping ``{ligand: value}`` gives per-ligand choices (ligands not named keep the
        default).
    ci : {'profile', 'wald', 'bootstrap'}, sequence of them, or None
        Interval method(s); ``'profile'`` (default) re-optimises the other parameters along each one.
    level : float
        Confidence level, in [0.5, 1).
    bootstrap : {'residual', 'parametric'}
        Bootstrap scheme when ``ci`` includes ``'bootstrap'``.
    n_boot : int
        Bootstrap refits (>= 20; Efron & Tibshirani recommend >= 1000 for percentile intervals).
    rng : numpy.random.Generator
        Required for the bootstrap; the only source of randomness.
    response_unit : str
        Unit of ``response``, shown for bottom and top in :meth:`FitResult.table`.

    Returns
    -------
    FitResult
        Parameters ``bottom``, ``top`` (response unit), ``EC50_nM`` (nM), ``n`` (Hill slope, -) per ligand.
        A decreasing curve has top < bottom.

    Raises
    ------
    PharmsimError
        Non-table or empty data, missing or misspelt columns, NaN/inf values, negative concentrations,
        non-positive weights/SDs, fewer than 2 distinct positive concentrations or too few rows for a ligand,
        unknown ligand names in a per-ligand option, bad options.

    Notes
    -----
    Hill AV (1910) J Physiol 40:iv-vii; fitting, weighting and intervals as in Motulsky & Christopoulos (2004).
    """
    df, lig, conc, resp, sw, known = _conc_response(data)
    methods, level, bootstrap, n_boot = _check_ci(ci, level, bootstrap, n_boot, rng)
    if not isinstance(response_unit, str):
        raise PharmsimError(f"response_unit must be a string; got {response_unit!r}")
    ligands = list(pd.unique(lig))
    opts = {name: _per_key(name, v, ligands, "ligand")
            for name, v in (("bottom", bottom), ("top", top), ("EC50_nM", EC50_nM), ("n", n))}
    sols, curves = [], []
    for name in ligands:
        rows = np.flatnonzero(lig == name)
        c, r = conc[rows], resp[rows]
        cpos = c[c > 0]
        low_c = np.unique(cpos)[0]
        b0 = float(r[c == 0].mean()) if np.any(c == 0) else float(r[c == low_c].mean())
        t0 = float(r[c == cpos.max()].mean())
        lo_e, hi_e = float(cpos.min()) * 1e-6, float(cpos.max()) * 1e6
        e0 = min(max(_ec50_guess(c, r), lo_e), hi_e)
        defaults = {"bottom": FitParameter(b0, unit=response_unit), "top": FitParameter(t0, unit=response_unit),
                    "EC50_nM": FitParameter(e0, lo_e, hi_e, log=True, unit="nM"),
                    "n": FitParameter(1.0, 0.1, 10.0, log=True, unit="-")}
        specs = tuple(_Spec(p, _as_parameter(_label(p, name), opts[p][name], defaults[p],
                                             positive=p in ("EC50_nM", "n")), ligand=name)
                      for p in ("bottom", "top", "EC50_nM", "n"))

        def model(v, c=c):
            return v[0] + (v[1] - v[0]) * hill_occupancy(c, v[2], v[3])

        prob = _Problem(label=name, specs=specs, model=model, y=r, sw=sw[rows], error="additive", sigma_known=known)
        sol = _fit_problem(prob, methods, level, bootstrap, n_boot, rng)
        sols.append(sol)
        g = _grid(c)
        v = sol.values
        curves.append(pd.DataFrame({"ligand": name, "conc_nM": g,
                                    "fitted": v[0] + (v[1] - v[0]) * hill_occupancy(g, v[2], v[3])}))
    keep = ["ligand", "conc_nM", "response"] + [c for c in ("weight", "sd") if c in df.columns]
    resid = _residual_frame(df, keep, "response", [(s, np.flatnonzero(lig == s.prob.label)) for s in sols])
    spec = {"x": "conc_nM", "y": "response", "xlog": True, "color": "ligand", "lines": ["ligand"],
            "markers": ["ligand"], "title": "Hill fit", "xlabel": "concentration (nM)",
            "ylabel": f"response ({response_unit})" if response_unit else "response"}
    return _emit(_assemble("hill", sols, methods, level, "additive", resid, pd.concat(curves, ignore_index=True),
                           spec))


# --------------------------------------------------------------------------------------------------
# operational model
# --------------------------------------------------------------------------------------------------


def fit_operational(data: pd.DataFrame, *, Em=None, n=None, K_A_nM=None, tau=None, gain=None,
                    reference_system: str | None = None, ci="profile", level: float = 0.95,
                    bootstrap: str = "residual", n_boot: int = 1000, rng: np.random.Generator | None = None,
                    response_unit: str = "") -> FitResult:
    """Global fit of the operational model of agonism (Black & Leff 1983) to several agonists' curves.

    E = Em tau^n C^n / ((K_A + C)^n + tau^n C^n),   tau = epsilon R0 / K_E

    evaluated with :func:`pharmsim.receptor.operational_response`. Drug parameters are per ligand (K_A, and
    tau in the reference system, which carries the ligand's efficacy epsilon); system parameters are shared
    (Em, the transducer slope n and, through tau, R0/K_E). With a ``system`` column (e.g. control and
    after irreversible receptor inactivation, or two cell lines of different receptor density) each further
    system s has a gain g_s = R0,s / R0,ref shared by all ligands: tau_{i,s} = tau_i g_s, and K_A_i is the
    same in every system (Furchgott 1966; Black, Leff, Shankley & Wood 1985).

    Identifiability (Black & Leff 1983; Black, Leff, Shankley & Wood 1985). For n = 1 each curve
    is a rectangular hyperbola that carries two numbers only, EC50 = K_A/(1 + tau) and
    Emax = Em tau/(1 + tau); one system with n fixed at 1 therefore cannot separate Em from the taus and
    K_As (a warning says so: fix Em, e.g. to the reference full agonist's maximum, or add a depletion
    system). For a full agonist (tau >> 1, Emax ~ Em) the curve tends to a Hill curve with midpoint
    K_A/tau and slope n, so only K_A/tau (~ EC50) is determined and K_A and tau are not separately
    identifiable; they are, if the same agonist is also tested where it is partial (receptor depletion,
    a ``system`` column). Partial agonists (Emax clearly below Em) identify their K_A ~ EC50 (1 + tau).
    After the fit, ligands whose Emax/Em exceeds 0.9 in every system they were tested in are reported in
    :attr:`FitResult.warnings`, as are the generic signs (flat profiles, high correlations).

    Parameters
    ----------
    data : pandas.DataFrame
        ``ligand``, ``conc_nM`` (>= 0), ``response`` (baseline-subtracted: 0 without agonist, increasing
        with agonism); optionally ``weight`` or ``sd`` (as in :func:`fit_hill`) and ``system``.
    Em, n : None, float or FitParameter
        Shared system maximum (default: estimated, linear, > 0, start 1.1 x the largest mean response) and
        transducer slope (default: estimated on the log scale in [0.1, 10], start 1). A number fixes it.
    K_A_nM, tau : None, float, FitParameter or mapping {ligand: ...}
        Per-ligand affinity (nM; log scale, within 1e-4 x the lowest and 1e5 x the highest positive
        concentration) and transducer ratio in the reference system (log scale, in [1e-4, 1e5]); defaults
        start from each curve's EC50 and Emax (tau = e/(1 - e), K_A = EC50 (1 + tau)).
    gain : None, float, FitParameter or mapping {system: ...}
        Receptor-density gain of each non-reference system (log scale, in [1e-4, 1e4], start 1). The
        reference system's gain is 1 by definition.
    reference_system : str, optional
        The system whose tau are reported (default: the first system in the data).
    ci, level, bootstrap, n_boot, rng, response_unit
        As in :func:`fit_hill`; ``response_unit`` is Em's unit.

    Returns
    -------
    FitResult
        ``Em``, ``n``, then ``K_A_nM`` and ``tau`` per ligand, then ``gain`` per non-reference system.

    Raises
    ------
    PharmsimError
        As :func:`fit_hill`; also unknown ligands or systems in per-key options and an unknown
        ``reference_system`` (with the nearest name).
    """
    df, lig, conc, resp, sw, known = _conc_response(data, ("system",))
    methods, level, bootstrap, n_boot = _check_ci(ci, level, bootstrap, n_boot, rng)
    if not isinstance(response_unit, str):
        raise PharmsimError(f"response_unit must be a string; got {response_unit!r}")
    has_sys = "system" in df.columns
    system = _labels(df, "system") if has_sys else np.full(len(df), "", dtype=object)
    systems = list(pd.unique(system))
    if reference_system is not None:
        if not has_sys:
            raise PharmsimError(f"reference_system needs a 'system' column in data; got {reference_system!r}")
        require_choice("reference_system", reference_system, systems)
        systems.remove(reference_system)
        systems.insert(0, reference_system)
    elif gain is not None and not has_sys:
        raise PharmsimError(f"gain needs a 'system' column in data (one gain per non-reference system); got {gain!r}")
    if has_sys:
        df["system"] = system
    ligands = list(pd.unique(lig))
    ref = systems[0]
    other_sys = systems[1:]

    # data-driven starts
    emax_obs, ec50_obs = {}, {}
    for name in ligands:
        m = (lig == name) & (system == ref) if np.any((lig == name) & (system == ref)) else lig == name
        c, r = conc[m], resp[m]
        emax_obs[name] = float(r[c == c.max()].mean())
        ec50_obs[name] = _ec50_guess(c, r)
    pos = conc[conc > 0]
    top_obs = max(max(emax_obs.values()), float(np.max(np.abs(resp))) * 1e-3, 1e-12)
    em_spec = _as_parameter("Em", Em, FitParameter(1.1 * top_obs, low=top_obs * 1e-6, unit=response_unit),
                            positive=True)
    n_spec = _as_parameter("n", n, FitParameter(1.0, 0.1, 10.0, log=True, unit="-"), positive=True)
    em0 = em_spec.initial
    ka_opts = _per_key("K_A_nM", K_A_nM, ligands, "ligand")
    tau_opts = _per_key("tau", tau, ligands, "ligand")
    gain_opts = _per_key("gain", gain, other_sys, "system") if other_sys else {}
    if isinstance(gain, Mapping) and ref in gain:
        raise PharmsimError(f"gain of the reference system {ref!r} is 1 by definition; got gain={gain!r}")
    specs = [_Spec("Em", em_spec), _Spec("n", n_spec)]
    ka_lo, ka_hi = float(pos.min()) * 1e-4, float(pos.max()) * 1e5
    for name in ligands:
        e = min(max(emax_obs[name] / em0, 0.02), 0.95)
        t0 = e / (1 - e)
        k0 = min(max(ec50_obs[name] * (1 + t0), ka_lo), ka_hi)
        specs.append(_Spec("K_A_nM", _as_parameter(_label("K_A_nM", name), ka_opts[name],
                                                   FitParameter(k0, ka_lo, ka_hi, log=True, unit="nM"),
                                                   positive=True), ligand=name))
        specs.append(_Spec("tau", _as_parameter(_label("tau", name), tau_opts[name],
                                                FitParameter(t0, 1e-4, 1e5, log=True, unit="-"), positive=True),
                           ligand=name))
    for s in other_sys:
        specs.append(_Spec("gain", _as_parameter(_label("gain", None, s), gain_opts[s],
                                                 FitParameter(1.0, 1e-4, 1e4, log=True, unit="-"), positive=True),
                           system=s))
    L = len(ligands)
    li = np.array([ligands.index(x) for x in lig])
    si = np.array([systems.index(x) for x in system])

    def model(v, conc=conc):
        ka = v[2:2 + 2 * L:2][li]
        g = np.concatenate(([1.0], v[2 + 2 * L:]))[si]
        t = v[3:3 + 2 * L:2][li] * g
        return operational_response(conc, ka, t, v[0], v[1])

    pre = []
    if n_spec.fixed and n_spec.initial == 1.0 and not em_spec.fixed and not other_sys:
        pre.append("Em is not identifiable: with n fixed at 1 and a single system every curve is a hyperbola "
                   "that fixes only EC50 = K_A/(1 + tau) and Emax = Em tau/(1 + tau), so Em trades off against "
                   "every tau and K_A (Black & Leff 1983); fix Em (e.g. to the reference full agonist's "
                   "maximum), let n be estimated, or add a receptor-depletion system")
    prob = _Problem(label="", specs=tuple(specs), model=model, y=resp, sw=sw, error="additive", sigma_known=known)
    sol = _fit_problem(prob, methods, level, bootstrap, n_boot, rng)
    v = sol.values
    gains = np.concatenate(([1.0], v[2 + 2 * L:]))
    for i, name in enumerate(ligands):
        tested = sorted({si[k] for k in np.flatnonzero(li == i)})
        t_n = (v[3 + 2 * i] * gains[tested]) ** v[1]
        frac = t_n / (1 + t_n)
        if not specs[2 + 2 * i].par.fixed and np.min(frac) > FULL_AGONIST_FRACTION:
            sol.warnings.append(
                f"K_A_nM[{name}] is poorly identified: {name} is a (nearly) full agonist (Emax/Em = "
                f"{float(np.min(frac)):.2f}) in every system it was tested in, so its curve fixes the midpoint "
                f"(~ K_A/(1 + tau), the EC50) but K_A and tau separately only through the small shortfall of Emax "
                "below Em; they trade off (Black & Leff 1983) - test it where it is partial (receptor depletion) "
                "or fix one of them")
    g = _grid(conc)
    curves = []
    for i, name in enumerate(ligands):
        for s_i in sorted({si[k] for k in np.flatnonzero(li == i)}):
            curves.append(pd.DataFrame({"ligand": name, "system": systems[s_i], "conc_nM": g,
                                        "fitted": operational_response(g, v[2 + 2 * i], v[3 + 2 * i] * gains[s_i],
                                                                       v[0], v[1])}))
    curves_df = pd.concat(curves, ignore_index=True)
    keep = ["ligand", *(["system"] if has_sys else []), "conc_nM", "response"]
    keep += [c for c in ("weight", "sd") if c in df.columns]
    resid = _residual_frame(df, keep, "response", [(sol, np.arange(len(df)))])
    spec = {"x": "conc_nM", "y": "response", "xlog": True, "color": "ligand",
            "lines": ["ligand", "system"] if has_sys else ["ligand"],
            "markers": ["ligand", "system"] if has_sys else ["ligand"],
            "title": "Operational-model fit (Black & Leff 1983)", "xlabel": "concentration (nM)",
            "ylabel": f"response ({response_unit})" if response_unit else "response"}
    if not has_sys:
        curves_df = curves_df.drop(columns="system")
    else:
        spec["style_col"] = "system"
        spec["styles"] = {s: (ls, mk) for s, ls, mk in zip(systems, _cycle(("-", "--", ":", "-.")),
                                                            _cycle(("o", "s", "^", "D")), strict=False)}
    return _emit(_assemble("operational", [sol], methods, level, "additive", resid, curves_df, spec, pre))


def _cycle(items: Sequence[str]) -> Iterator[str]:
    while True:
        yield from items


# --------------------------------------------------------------------------------------------------
# concentration-time profiles
# --------------------------------------------------------------------------------------------------


class _Values(Mapping):
    """Read-only parameter values handed to ``predict``; an unknown name raises a PharmsimError with a hint."""

    def __init__(self, names: Sequence[str], values: np.ndarray):
        self._d = dict(zip(names, (float(x) for x in values), strict=True))

    def __getitem__(self, key):
        try:
            return self._d[key]
        except KeyError:
            raise PharmsimError(f"predict asked for parameter {key!r}, which params does not define; params: "
                                f"{', '.join(map(repr, self._d))}{suggest(str(key), self._d)}") from None

    def __iter__(self):
        return iter(self._d)

    def __len__(self):
        return len(self._d)

    def __repr__(self):
        return f"{type(self).__name__}({self._d!r})"


def fit_profiles(data: pd.DataFrame, predict: Callable[[Mapping[str, float]], np.ndarray],
                 params: Mapping[str, FitParameter | float], *, error: str = "log", ci="profile",
                 level: float = 0.95, bootstrap: str = "residual", n_boot: int = 1000,
                 rng: np.random.Generator | None = None) -> FitResult:
    """Fit any concentration-time model, given as a callable, to tidy concentration data.

    Residuals, by ``error`` (w_i = ``weight`` column, default 1):

    - ``'log'`` (default; log-normal error, constant CV): r_i = sqrt(w_i) (ln y_i - ln f_i)
    - ``'proportional'``: r_i = sqrt(w_i) (y_i - f_i) / f^_i with f^ the fitted values, by iteratively
      reweighted least squares (weights refreshed until the estimates settle; Carroll & Ruppert 1988)
    - ``'additive'``: r_i = sqrt(w_i) (y_i - f_i)

    Parameters
    ----------
    data : pandas.DataFrame
        ``subject``, ``time_h`` (finite), ``conc_nM`` (> 0 for ``error='log'``: drop values below the limit of
        quantification first; >= 0 otherwise); optionally ``compound`` (colours the plot, kept in residuals)
        and either ``weight`` (relative weights, > 0; the residual SD is estimated) or ``sd`` (known SDs, > 0,
        on the residual scale of ``error``: nM for ``'additive'``, SD of ln C for ``'log'``, CV for
        ``'proportional'``; the residuals are divided by them and the SD is not re-estimated, as in
        :func:`fit_hill`). Rows are used in the order given.
    predict : callable
        ``predict(values) -> array`` of shape (number of rows,): the model's concentration (nM) at each data
        row, in row order, for the parameter values ``values`` (a read-only mapping name -> float holding
        every entry of ``params``, fixed ones included; an unknown name raises a PharmsimError naming it).
        If ``predict`` has an attribute ``parameter_names``, the keys of ``params`` must be exactly those.
        pharmsim never calls it with values outside the bounds.
    params : mapping name -> FitParameter or float
        Every parameter predict reads; a float fixes it. Use ``log=True`` for rate constants, volumes,
        clearances (anything > 0).
    error : {'log', 'proportional', 'additive'}
        Residual error model.
    ci, level, bootstrap, n_boot, rng
        As in :func:`fit_hill`. The bootstrap treats rows as exchangeable (it ignores within-subject
        correlation).

    Returns
    -------
    FitResult
        One row per parameter of ``params``; residuals per data row (``fitted`` is predict at the estimate).

    Raises
    ------
    PharmsimError
        Empty data, missing columns, NaN/inf, non-positive concentrations with ``error='log'``, a
        non-callable ``predict``, empty or non-FitParameter ``params``, parameter names not in
        ``predict.parameter_names`` (with "did you mean"), predictions of the wrong shape or not finite (not
        > 0 for ``error='log'``) at the initial values.
    """
    error = require_choice("error", error, ERROR_MODELS)
    df = _check_frame(data, ("subject", "time_h", "conc_nM"), ("compound", "weight", "sd"))
    df["subject"] = _labels(df, "subject")
    if "compound" in df.columns:
        df["compound"] = _labels(df, "compound")
    _numeric(df, "time_h", "h")
    y = _numeric(df, "conc_nM", "nM", low=">0" if error == "log" else ">=0",
                 hint=(" (error='log' takes logarithms: drop rows below the limit of quantification or use "
                       "error='additive')") if error == "log" else "")
    sw, sd_known = _weights(df)
    methods, level, bootstrap, n_boot = _check_ci(ci, level, bootstrap, n_boot, rng)
    if not callable(predict):
        raise PharmsimError(f"predict must be a callable predict(values) -> array; got {predict!r}")
    if not isinstance(params, Mapping) or not params:
        raise PharmsimError(f"params must be a non-empty mapping of parameter name -> FitParameter; got {params!r}")
    known = getattr(predict, "parameter_names", None)
    if known is not None:
        known = [str(k) for k in known]
    specs = []
    for name, p in params.items():
        if not isinstance(name, str) or not name:
            raise PharmsimError(f"params keys must be non-empty parameter names; got {name!r}")
        if known is not None and name not in known:
            raise PharmsimError(f"params names {name!r}, which predict does not use; its parameters: "
                                f"{', '.join(map(repr, known))}{suggest(name, known)}")
        if isinstance(p, FitParameter):
            specs.append(_Spec(name, p))
        elif _is_number(p) and math.isfinite(float(p)):
            specs.append(_Spec(name, FitParameter(float(p), fixed=True)))
        else:
            raise PharmsimError(f"params[{name!r}] must be a FitParameter or a number (to fix it); got {p!r}")
    if known is not None:
        missing = [k for k in known if k not in params]
        if missing:
            raise PharmsimError(f"params must define every parameter predict uses; missing {missing[0]!r}")
    names = [s.name for s in specs]

    def model(v):
        return predict(_Values(names, v))

    prob = _Problem(label="", specs=tuple(specs), model=model, y=y, sw=sw, error=error, sigma_known=sd_known,
                    quiet_numpy=False)
    sol = _fit_problem(prob, methods, level, bootstrap, n_boot, rng)
    keep = ["subject", *(["compound"] if "compound" in df.columns else []), "time_h", "conc_nM"]
    keep += [c for c in ("weight", "sd") if c in df.columns]
    resid = _residual_frame(df, keep, "conc_nM", [(sol, np.arange(len(df)))])
    group = ["compound", "subject"] if "compound" in df.columns else ["subject"]
    curves = resid[[*group, "time_h", "fitted"]].sort_values([*group, "time_h"], kind="stable")
    spec = {"x": "time_h", "y": "conc_nM", "xlog": False, "ylog": error == "log", "color": group[0],
            "lines": group, "markers": [group[0]], "title": f"Concentration-time fit ({error} error)",
            "xlabel": "time (h)", "ylabel": "concentration (nM)"}
    return _emit(_assemble("profiles", [sol], methods, level, error, resid, curves.reset_index(drop=True), spec))


# --------------------------------------------------------------------------------------------------
# pharmsim PK models: the predict of fit_profiles, and the fit
# --------------------------------------------------------------------------------------------------

#: Default scale and bounds of a free PK parameter by its kind (:data:`pharmsim.pk.KINDS`), when
#: :func:`fit_pk_profiles` is given ``None`` for it: (log scale, low, high).
PK_DEFAULT_SCALES = {
    "clearance": (True, 0.0, math.inf), "volume": (True, 0.0, math.inf), "rate": (True, 0.0, math.inf),
    "concentration": (True, 0.0, math.inf), "amount_rate": (True, 0.0, math.inf),
    "bioavailability": (True, 0.0, math.inf), "fraction": (False, 0.0, 1.0), "time": (False, 0.0, math.inf),
}


def _pk_of(model):
    """The PKModel of a PKModel or a pharmsim Model (its ``.pk``), checked to be one typical subject."""
    from .model import Model
    from .pk import PKModel

    pk = model.pk if isinstance(model, Model) else model
    if not isinstance(pk, PKModel):
        raise PharmsimError(f"pk_model must be a pharmsim PKModel (or a Model, whose .pk is used); got "
                            f"{type(model).__name__}")
    if pk.n_subjects != 1:
        raise PharmsimError(f"pk_model must have one value per parameter (one typical subject) to be fitted; got "
                            f"per-subject arrays for {pk.n_subjects} subjects (use pk_model.subset([i]))")
    return pk


def _dose_groups(doses, subjects: Sequence[str], pk) -> dict[str, object]:
    """``{subject: Doses}``: one Doses for every subject, or a mapping subject -> Doses (keys compared as str)."""
    from .dosing import Doses

    def check(d, where):
        if not isinstance(d, Doses) or d.n_events == 0:
            raise PharmsimError(f"doses{where} must be a non-empty pharmsim Doses (dose(), regimen(), "
                                f"Product.doses()); got {d!r}")
        if d.n_subjects != 1:
            raise PharmsimError(f"doses{where} must hold one amount per event (one subject); got amounts for "
                                f"{d.n_subjects} subjects - give a mapping subject -> Doses instead")
        for c, route in dict.fromkeys(zip(d.compound, d.route, strict=True)):
            if c not in pk.compound_ids:
                raise PharmsimError(f"doses{where} name {c!r}, which is not a compound of pk_model "
                                    f"{list(pk.compound_ids)}{suggest(c, pk.compound_ids)}")
            pk.route_state(c, route)
        return d

    if isinstance(doses, Mapping):
        given = {str(k): v for k, v in doses.items()}
        missing = [s for s in subjects if s not in given]
        if missing:
            raise PharmsimError(f"doses must give a Doses for every subject in data; missing subject {missing[0]!r}"
                                f"{suggest(missing[0], given)} (doses has {', '.join(map(repr, given))})")
        return {s: check(given[s], f"[{s!r}]") for s in subjects}
    d = check(doses, "")
    return dict.fromkeys(subjects, d)


def _event_key(d) -> tuple:
    """Every field of a Doses but its amounts: doses with equal keys differ only in how much is given."""
    from dataclasses import fields

    out = []
    for f in fields(d):
        if f.name == "amount_nmol":
            continue
        v = getattr(d, f.name)
        out.append((f.name, v.dtype.str, v.shape, v.tobytes()) if isinstance(v, np.ndarray) else (f.name, v))
    return tuple(out)


class PKPredictor:
    """``predict(values)``: the concentration (nM) a pharmsim PK model gives at each data row.

    Built by :func:`pk_predictor`; pass it to :func:`fit_profiles`. For parameter values ``values`` (a mapping
    holding exactly :attr:`parameter_names`) it solves ``pk_model.with_parameters(values)`` once per distinct
    dosing history (:func:`pharmsim.solve.solve_pk`: exact matrix exponential for linear models, LSODA for
    saturable ones) at the data's times and returns the total plasma concentration
    ``C = A_central / V`` of each row's compound, in row order.

    Attributes
    ----------
    parameter_names : tuple of str
        The PK parameters ``predict`` reads (the rest keep the model's values).
    pk_model : PKModel
        The model whose other parameters stay fixed.
    """

    def __init__(self, pk, parameter_names: tuple[str, ...], groups: list, n_rows: int):
        self.pk_model = pk
        self.parameter_names = parameter_names
        self._groups = groups          # [(doses, sorted times, [(compound, subject in doses, rows, time index)])]
        self._n = n_rows

    def model(self, values: Mapping[str, float]):
        """The PK model with ``values`` put in (checked by :class:`pharmsim.pk.PKModel`)."""
        return self.pk_model.with_parameters({k: float(values[k]) for k in self.parameter_names})

    def __call__(self, values: Mapping[str, float]) -> np.ndarray:
        from .solve import solve_pk

        pk = self.model(values)
        out = np.empty(self._n)
        for doses, times, parts in self._groups:
            sol = solve_pk(pk, times, doses)
            conc = {}
            for compound, k, rows, ti in parts:
                if compound not in conc:
                    conc[compound] = sol.conc_nM(compound)
                out[rows] = conc[compound][k, ti]
        return out

    def __repr__(self) -> str:
        return f"PKPredictor({', '.join(self.parameter_names)}; {self._n} rows)"


def pk_predictor(pk_model, doses, data: pd.DataFrame, parameters: Sequence[str], *,
                 compound: str | None = None) -> PKPredictor:
    """The ``predict`` callable of :func:`fit_profiles` for a pharmsim PK model.

    ``predict(values)[i] = solve_pk(pk_model.with_parameters(values), t, doses_s).conc_nM(c_i)[t_i]``: the
    total plasma concentration (nM) of row i's compound c_i, for row i's subject s (dosed ``doses_s``) at its
    time t_i. The equations are those of :mod:`pharmsim.pk`; solving is :func:`pharmsim.solve.solve_pk`.

    Parameters
    ----------
    pk_model : PKModel or Model
        The model (of a Model, its ``.pk``), one typical subject (scalar parameters). Parameters not in
        ``parameters`` keep its values.
    doses : Doses or mapping subject -> Doses
        One dosing history for every subject, or one per subject (keys compared as strings with the data's
        ``subject`` labels). Amounts in nmol, as :func:`pharmsim.dosing.dose` makes them.
    data : pandas.DataFrame
        ``subject``, ``time_h`` (>= 0) and, if the profiles are of several compounds, ``compound`` (ids of
        ``pk_model``); the rows in the order :func:`fit_profiles` will use.
    parameters : sequence of str
        The PK parameter names ``predict`` reads (:attr:`pharmsim.pk.PKModel.parameter_info`, e.g.
        ``'MG.CL_L_per_h'``, ``'MG.tea.ka_per_h'``).
    compound : str, optional
        The compound measured, when ``data`` has no ``compound`` column (default: the model's only compound).

    Returns
    -------
    PKPredictor
        Callable, with ``parameter_names`` (so :func:`fit_profiles` checks its ``params`` against them).

    Raises
    ------
    PharmsimError
        A model with per-subject parameters, unknown parameter or compound names (with the nearest),
        missing columns, negative or non-finite times, doses naming compounds or routes the model lacks,
        a subject without doses.
    """
    pk = _pk_of(pk_model)
    if isinstance(parameters, str) or not isinstance(parameters, Iterable):
        raise PharmsimError(f"parameters must be a sequence of PK parameter names; got {parameters!r}")
    names = tuple(parameters)
    if not names:
        raise PharmsimError("parameters must name at least one PK parameter")
    for k in names:
        if not isinstance(k, str) or k not in pk.parameter_info:
            raise PharmsimError(f"parameters names {k!r}, which is not a parameter of pk_model"
                                f"{suggest(str(k), pk.parameter_info)}; parameters: {', '.join(pk.parameter_info)}")
    if len(set(names)) != len(names):
        raise PharmsimError(f"parameters must name each parameter once; got {list(names)}")
    df = _check_frame(data, ("subject", "time_h"), ("compound", "conc_nM", "weight", "sd"))
    subj = _labels(df, "subject")
    t = _numeric(df, "time_h", "h", low=">=0")
    if "compound" in df.columns:
        if compound is not None:
            raise PharmsimError(f"compound must be None when data has a 'compound' column; got {compound!r}")
        comp = _labels(df, "compound")
    else:
        if compound is None:
            if len(pk.compound_ids) != 1:
                raise PharmsimError(f"compound must name the compound measured (data has no 'compound' column and "
                                    f"pk_model has {', '.join(map(repr, pk.compound_ids))}); got None")
            compound = pk.compound_ids[0]
        comp = np.full(len(df), str(compound), dtype=object)
    for c in pd.unique(comp):
        if c not in pk.compound_ids:
            raise PharmsimError(f"compound {c!r} is not a compound of pk_model {list(pk.compound_ids)}"
                                f"{suggest(str(c), pk.compound_ids)}")
    subjects = list(pd.unique(subj))
    by_subject = _dose_groups(doses, subjects, pk)
    # subjects whose doses differ only in amounts are solved together (one solve_pk with (n, E) amounts), on the
    # union of their sampling times
    groups: dict = {}
    for s in subjects:
        groups.setdefault(_event_key(by_subject[s]), []).append(s)
    built = []
    for members in groups.values():
        ds = [by_subject[s] for s in members]
        d = ds[0] if len(members) == 1 else replace(ds[0], amount_nmol=np.stack([x.amount_nmol for x in ds]))
        rows_g = np.flatnonzero(np.isin(subj, members))
        times = np.unique(t[rows_g])
        parts = []
        for k, s in enumerate(members):
            rows_s = rows_g[subj[rows_g] == s]
            for c in pd.unique(comp[rows_s]):
                rows = rows_s[comp[rows_s] == c]
                parts.append((c, k, rows, np.searchsorted(times, t[rows])))
        built.append((d, times, parts))
    return PKPredictor(pk, names, built, len(df))


def fit_pk_profiles(data: pd.DataFrame, pk_model, doses, params, *, compound: str | None = None,
                    error: str = "log", ci="profile", level: float = 0.95, bootstrap: str = "residual",
                    n_boot: int = 1000, rng: np.random.Generator | None = None) -> FitResult:
    """Fit parameters of a pharmsim PK model to the concentration-time profiles of one or several subjects.

    :func:`fit_profiles` with ``predict = pk_predictor(pk_model, doses, data, params)``: every subject shares
    one set of parameter values (a pooled, "naive pooled" fit; fit subjects one by one for individual
    estimates). The fitted model is ``pk_model.with_parameters(result.estimates)``.

    Parameters
    ----------
    data : pandas.DataFrame
        ``subject``, ``time_h`` (>= 0), ``conc_nM`` (total plasma concentration; > 0 for ``error='log'``: leave
        out samples below the limit of quantification and pre-dose zeros), optionally ``compound`` and
        ``weight`` or ``sd`` (as :func:`fit_profiles`).
    pk_model : PKModel or Model
        One typical subject; parameters not in ``params`` keep its values.
    doses : Doses or mapping subject -> Doses
        As :func:`pk_predictor`.
    params : mapping name -> FitParameter, float or None; or a sequence of names
        The parameters to estimate or fix. ``None`` (or a bare name in a sequence) estimates the parameter
        from the model's value with the default scale of its kind (:data:`PK_DEFAULT_SCALES`: log scale for
        clearances, volumes, rate constants, concentrations, amount rates and bioavailabilities; linear in
        [0, 1] for fractions; linear >= 0 for times such as lag times; the mean transit time ``mtt`` on the
        log scale) and its unit; a float fixes it at that value; a :class:`FitParameter` sets start,
        bounds and scale.
    compound : str, optional
        As :func:`pk_predictor`.
    error, ci, level, bootstrap, n_boot, rng
        As :func:`fit_profiles`.

    Returns
    -------
    FitResult
        One row per entry of ``params``, with units from the model's parameter metadata.

    Raises
    ------
    PharmsimError
        As :func:`pk_predictor` and :func:`fit_profiles`; also a default (``None``) for a parameter whose
        model value is 0 on a log scale (give a FitParameter with a start > 0).

    Notes
    -----
    Identifiability: a lag time makes the model non-differentiable at t = tlag (the Jacobian and profile
    are then approximate near samples at the lag); oral data alone identify CL/F and V/F, not F (fix F);
    a handful of samples cannot separate a distribution phase (two-compartment Q, Vp) from absorption - the
    identifiability checks of :func:`fit_profiles` say so when it happens.
    """
    pk = _pk_of(pk_model)
    if isinstance(params, Mapping):
        items = list(params.items())
    elif isinstance(params, Iterable) and not isinstance(params, str):
        items = [(k, None) for k in params]
    else:
        raise PharmsimError(f"params must be a mapping name -> FitParameter/float/None or a sequence of PK "
                            f"parameter names; got {params!r}")
    if not items:
        raise PharmsimError("params must name at least one PK parameter")
    spec: dict[str, FitParameter | float] = {}
    for name, p in items:
        if not isinstance(name, str) or name not in pk.parameter_info:
            raise PharmsimError(f"params names {name!r}, which is not a parameter of pk_model"
                                f"{suggest(str(name), pk.parameter_info)}; parameters: "
                                f"{', '.join(pk.parameter_info)}")
        info = pk.parameter_info[name]
        if p is None:
            log, low, high = PK_DEFAULT_SCALES[info.kind]
            if info.role == "mtt":
                log = True
            v = float(pk.parameters[name])
            if log and v <= 0:
                raise PharmsimError(f"params[{name!r}] = None starts from the model's value, {v!r} {info.unit}, "
                                    "which cannot start a log-scale fit; give a FitParameter with initial > 0")
            spec[name] = FitParameter(v, low, high, log=log, unit=info.unit)
        elif isinstance(p, FitParameter):
            spec[name] = p if p.unit else replace(p, unit=info.unit)
        elif _is_number(p) and math.isfinite(float(p)):
            spec[name] = FitParameter(float(p), fixed=True, unit=info.unit)
        else:
            raise PharmsimError(f"params[{name!r}] must be a FitParameter, a number (to fix it) or None (estimate "
                                f"from the model's value); got {p!r}")
    predict = pk_predictor(pk, doses, data, tuple(spec), compound=compound)
    return fit_profiles(data, predict, spec, error=error, ci=ci, level=level, bootstrap=bootstrap, n_boot=n_boot,
                        rng=rng)


# --------------------------------------------------------------------------------------------------
# summary statistics (published NCA medians, ratios) as the data
# --------------------------------------------------------------------------------------------------

def fit_statistics(data: pd.DataFrame, predict: Callable[[Mapping[str, float]], np.ndarray],
                   params: Mapping[str, FitParameter | float], *, ci="profile", level: float = 0.95,
                   bootstrap: str = "parametric", n_boot: int = 200,
                   rng: np.random.Generator | None = None) -> FitResult:
    """Fit a model to published summary statistics (NCA medians, concentration ratios ...) with known SDs.

    Where a study reports only summary statistics of its concentration-time curves (Cmax, Tmax, t1/2, AUC:
    the usual case for small human studies), the statistics are the data: r_i = (ln y_i - ln f_i) / sd_i,
    with ``f = predict(values)`` the model's statistics computed the same way (for example NCA of the
    simulated profile on the study's schedule) and ``sd_i`` the SD of ln y_i (for a median of n subjects,
    about 1.25 SD_between / sqrt(n); from a range of n values, SD_between ~ ln(max/min) / d_n with d_n the
    expected range of n standard normals, 2.33 for n = 5; Hozo et al. 2005, BMC Med Res Methodol 5:13,
    doi:10.1186/1471-2288-5-13). Summary statistics identify fewer parameters than curves do: read the
    profile-likelihood intervals (flat profiles are reported in :attr:`FitResult.warnings`) before trusting
    an estimate.

    Parameters
    ----------
    data : pandas.DataFrame
        ``statistic`` (a label, unique), ``value`` (> 0) and ``sd`` (> 0, SD of ln value); optionally
        ``source``. Rows are used in the order given.
    predict : callable
        ``predict(values) -> array`` of the model's statistics in row order (> 0), for the parameter
        values ``values`` (a read-only mapping of every entry of ``params``).
    params, ci, level, bootstrap, n_boot, rng
        As in :func:`fit_profiles` (``sd`` is known, so the residual SD is not estimated and profile
        intervals use chi-square thresholds).

    Returns
    -------
    FitResult
        ``residuals()`` has one row per statistic (observed, fitted, weighted residual = z-score).
    """
    df = _check_frame(data, ("statistic", "value", "sd"), ("source",))
    labels = _labels(df, "statistic")
    if len(set(labels)) != len(labels):
        raise PharmsimError(f"data['statistic'] must be unique labels; got duplicates "
                            f"{sorted({x for x in labels if list(labels).count(x) > 1})}")
    df["statistic"] = labels
    frame = pd.DataFrame({"subject": "summary", "compound": df["statistic"], "time_h": np.arange(len(df), dtype=float),
                          "conc_nM": df["value"], "sd": df["sd"]})
    res = fit_profiles(frame, predict, params, error="log", ci=ci, level=level, bootstrap=bootstrap, n_boot=n_boot,
                       rng=rng)
    resid = res.residuals().rename(columns={"compound": "statistic", "conc_nM": "value"})
    resid = resid.drop(columns=[c for c in ("subject", "time_h") if c in resid.columns])
    spec = {"x": "statistic", "y": "value", "xlog": False, "ylog": True, "color": "statistic", "lines": [],
            "markers": ["statistic"], "title": "Summary statistics: observed and fitted",
            "xlabel": "statistic", "ylabel": "value"}
    return replace(res, model="statistics", _residuals=resid.reset_index(drop=True),
                   _curves=resid[["statistic", "fitted"]].reset_index(drop=True), _plot=MappingProxyType(spec))
