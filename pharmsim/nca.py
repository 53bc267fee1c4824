"""Non-compartmental analysis (NCA) of a concentration-time profile, simulated or measured.

Statistics (Gabrielsson & Weiner, Pharmacokinetic and Pharmacodynamic Data Analysis, 5th ed. 2016;
Phoenix WinNonlin NCA conventions):

- ``Cmax``, ``Tmax``: the largest observed concentration and the first time it occurs.
- ``AUC0-t``: linear-up / log-down trapezoidal rule up to the last quantifiable concentration ``Clast`` at
  ``tlast``: linear trapezoid ``(C1 + C2)/2 * dt`` where the concentration rises or stays, logarithmic
  ``(C1 - C2) * dt / ln(C1/C2)`` where it falls (and both are > 0). The log rule is exact for a
  mono-exponential decline.
- ``lambda_z``: terminal rate constant, ``-slope`` of the least-squares line of ``ln C`` on t over the last
  k >= 3 points after Tmax (Tmax itself excluded unless ``include_tmax=True``, as PKNCA's
  ``adj.r.squared.factor``-free default vs. its option to start at Tmax); k is chosen by the best adjusted R^2
  ``1 - (1 - R^2)(k - 1)/(k - 2)``, and among fits within 1e-4 of the best the one with most points (the
  WinNonlin "best fit" rule). If no such fit has a negative slope, lambda_z and everything derived from it
  are NaN and ``note`` says why.
- ``t_half = ln 2 / lambda_z``; ``AUC0-inf = AUC0-t + Clast / lambda_z`` (observed Clast);
  ``AUC %extrap`` is the extrapolated share; ``AUC_extrap_flag`` is True (and ``note`` says so) when it is over
  20 % (EMA, Guideline on the investigation of bioequivalence, CPMP/EWP/QWP/1401/98 Rev. 1, 2010: AUC0-t must
  cover at least 80 % of AUC0-inf).
- Multiple dosing (``dose_time_h``, ``tau_h``): the profile is taken from the last dose on and every time is
  time after that dose (Tmax, tlast); ``AUCtau`` is the AUC over one interval from the dose (a sample at
  ``dose_time_h + tau_h`` is needed), and ``accumulation_pred = 1 / (1 - exp(-lambda_z tau))``.
- Accumulation: :func:`accumulation_ratio_predicted` ``1 / (1 - exp(-lambda_z tau))`` and
  :func:`accumulation_ratio_observed` ``AUC_tau(steady state) / AUC_tau(first dose)``.

Concentrations below ``lloq`` before the first quantifiable one count as 0; after it they are excluded
(the profile ends at the last quantifiable concentration).

Not for: compartmental fitting (see tools/derive_*.py) or simulation (see :mod:`pharmsim.pk`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from .validate import PharmsimError, require_finite, require_number, require_positive

__all__ = ["NCAResult", "nca", "nca_table", "auc_interval", "accumulation_ratio_predicted",
           "accumulation_ratio_observed"]

_UNITS = {"Cmax": "{c}", "Tmax": "h", "Clast": "{c}", "tlast": "h", "AUC0-t": "{c}*h", "AUC0-inf": "{c}*h",
          "AUC %extrap": "%", "lambda_z": "1/h", "t_half": "h", "R2_adj": "-", "n_lambda_z": "-",
          "AUC extrap > 20 %": "flag", "AUCtau": "{c}*h", "accumulation (predicted)": "-"}


@dataclass(frozen=True)
class NCAResult:
    """NCA statistics of one profile (concentration unit ``unit``, times in h)."""

    Cmax: float
    Tmax: float
    Clast: float
    tlast: float
    AUC0_t: float
    AUC0_inf: float
    AUC_pct_extrap: float
    lambda_z: float
    t_half: float
    R2_adj: float
    n_lambda_z: int
    unit: str = "nM"
    note: str = ""
    AUC_extrap_flag: bool = False
    AUC_tau: float = float("nan")
    accumulation_pred: float = float("nan")
    dose_time_h: float = 0.0

    def to_frame(self, subject=0, compound: str = "") -> pd.DataFrame:
        """Tidy rows: subject, compound, statistic, value, unit."""
        d = asdict(self)
        values = {"Cmax": d["Cmax"], "Tmax": d["Tmax"], "Clast": d["Clast"], "tlast": d["tlast"],
                  "AUC0-t": d["AUC0_t"], "AUC0-inf": d["AUC0_inf"], "AUC %extrap": d["AUC_pct_extrap"],
                  "lambda_z": d["lambda_z"], "t_half": d["t_half"], "R2_adj": d["R2_adj"],
                  "n_lambda_z": float(d["n_lambda_z"]), "AUC extrap > 20 %": float(d["AUC_extrap_flag"])}
        if np.isfinite(d["AUC_tau"]):            # multiple dosing (tau_h given): AUCtau and the accumulation
            values["AUCtau"] = d["AUC_tau"]
            values["accumulation (predicted)"] = d["accumulation_pred"]
        return pd.DataFrame({"subject": subject, "compound": compound, "statistic": list(values),
                             "value": list(values.values()),
                             "unit": [_UNITS[k].format(c=self.unit) for k in values]})


def _check_profile(t_h, conc, t_name: str = "t_h", c_name: str = "conc"):
    """``(t, c)`` float arrays of one profile, checked under the caller's parameter names."""
    t = require_finite(t_name, t_h, "h")
    c = require_finite(c_name, conc)
    if t.ndim != 1 or c.shape != t.shape:
        raise PharmsimError(f"{t_name} and {c_name} must be 1-D arrays of one length; got shapes {t.shape} and "
                            f"{c.shape}")
    if t.size < 3:
        raise PharmsimError(f"NCA needs at least 3 time points ({t_name}); got {t.size}")
    d = np.diff(t)
    if (d <= 0).any():
        i = int(np.argmax(d <= 0))
        raise PharmsimError(f"{t_name} must be strictly increasing; {t_name}[{i + 1}] = {t[i + 1]:g} follows "
                            f"{t_name}[{i}] = {t[i]:g}")
    if (c < 0).any():
        i = int(np.argmax(c < 0))
        raise PharmsimError(f"{c_name} must be >= 0; {c_name}[{i}] = {c[i]:g} at t = {t[i]:g} h")
    return t, c


def _interval_auc(t, c, start: float, end: float) -> float | None:
    """AUC of the checked profile ``(t, c)`` from ``start`` to ``end`` (both sampling times), or None when
    they are not (the caller says so, naming its own parameters)."""
    sel = (t >= start - 1e-12) & (t <= end + 1e-12)
    ts = t[sel]
    if ts.size < 2 or abs(ts[0] - start) > 1e-9 or abs(ts[-1] - end) > 1e-9:
        return None
    return _auc_linlog(ts, c[sel])


def _auc_linlog(t, c) -> float:
    """Linear-up / log-down trapezoids (see module docstring)."""
    c1, c2, dt = c[:-1], c[1:], np.diff(t)
    down = (c2 < c1) & (c2 > 0)
    area = (c1 + c2) / 2 * dt
    if down.any():
        ratio = c1[down] / c2[down]
        area[down] = (c1[down] - c2[down]) * dt[down] / np.log(ratio)
    return float(area.sum())


def auc_interval(t_h, conc, start_h: float, end_h: float) -> float:
    """AUC from ``start_h`` to ``end_h`` (both sampling times of the profile), linear-up/log-down."""
    t, c = _check_profile(t_h, conc)
    start = require_number("start_h", start_h, "h")
    end = require_number("end_h", end_h, "h")
    if end <= start:
        raise PharmsimError(f"end_h must be after start_h = {start:g} h; got {end:g} h")
    auc = _interval_auc(t, c, start, end)
    if auc is None:
        raise PharmsimError(f"auc_interval needs samples at start_h = {start:g} h and end_h = {end:g} h (times of "
                            f"t_h, which runs from {t[0]:g} to {t[-1]:g} h)")
    return auc


def _lambda_z(t, c, i_max, include_tmax: bool = False):
    """Best adjusted-R^2 log-linear fit of the terminal points after Tmax (from Tmax with ``include_tmax``);
    (lambda_z, r2adj, k, note)."""
    tt, cc = t[i_max + (0 if include_tmax else 1):], c[i_max + (0 if include_tmax else 1):]
    pos = cc > 0
    tt, cc = tt[pos], cc[pos]
    if tt.size < 3:
        return np.nan, np.nan, 0, f"lambda_z not estimated: {tt.size} positive point(s) after Tmax (need >= 3)"
    y = np.log(cc)
    best = []
    for k in range(3, tt.size + 1):
        x, yy = tt[-k:], y[-k:]
        xm, ym = x.mean(), yy.mean()
        sxx = ((x - xm) ** 2).sum()
        slope = ((x - xm) * (yy - ym)).sum() / sxx
        resid = yy - (ym + slope * (x - xm))
        syy = ((yy - ym) ** 2).sum()
        r2 = 1.0 - (resid ** 2).sum() / syy if syy > 0 else 1.0
        r2adj = 1.0 - (1.0 - r2) * (k - 1) / (k - 2)
        if slope < 0:
            best.append((r2adj, k, -slope))
    if not best:
        return np.nan, np.nan, 0, "lambda_z not estimated: no terminal fit with a negative slope"
    top = max(b[0] for b in best)
    r2adj, k, lam = max((b for b in best if b[0] >= top - 1e-4), key=lambda b: b[1])
    return lam, r2adj, k, ""


def nca(t_h, conc, *, lloq: float = 0.0, unit: str = "nM", include_tmax: bool = False, dose_time_h: float = 0.0,
        tau_h: float | None = None) -> NCAResult:
    """NCA statistics of one profile (see the module docstring for the methods).

    Parameters
    ----------
    t_h : (T,) array
        Strictly increasing sampling times (h), T >= 3.
    conc : (T,) array
        Concentrations (>= 0, finite), in ``unit``.
    lloq : float
        Lower limit of quantification (same unit); 0 keeps every point.
    include_tmax : bool
        Let the lambda_z fit start at Tmax (PKNCA's option); default: the points after Tmax.
    dose_time_h : float
        Time of the last dose (multiple dosing): the profile from it on, times after it.
    tau_h : float, optional
        Dosing interval: AUCtau (a sample at ``dose_time_h + tau_h`` is needed) and the predicted accumulation.

    Returns
    -------
    NCAResult
    """
    t, c = _check_profile(t_h, conc)
    lloq = require_number("lloq", lloq, unit, minimum=0)
    if not isinstance(include_tmax, (bool, np.bool_)):
        raise PharmsimError(f"include_tmax must be True or False; got {include_tmax!r}")
    t0 = require_number("dose_time_h", dose_time_h, "h")
    if t0 != 0.0:
        after = t >= t0 - 1e-12
        if after.sum() < 3:
            raise PharmsimError(f"NCA after the dose at dose_time_h = {t0:g} h needs at least 3 samples from it on; "
                                f"got "
                                f"{int(after.sum())}")
        t, c = t[after] - t0, c[after]
    auc_tau = tau = np.nan
    if tau_h is not None:
        tau = require_number("tau_h", tau_h, "h", minimum=0, strict=True)
        auc_tau = _interval_auc(t, c, 0.0, tau)
        if auc_tau is None:
            raise PharmsimError(f"tau_h = {tau:g} h needs a sample at dose_time_h + tau_h = {t0 + tau:g} h (AUCtau "
                                f"is the AUC over one dosing interval); t_h runs to {t[-1] + t0:g} h")
    q = c >= lloq if lloq > 0 else c > 0
    if not q.any():
        raise PharmsimError(f"no concentration is quantifiable (all < lloq = {lloq} {unit} or zero)")
    first, last = int(np.argmax(q)), int(np.nonzero(q)[0][-1])
    c = c.copy()
    c[:first] = 0.0
    keep = np.ones(t.size, dtype=bool)
    keep[first:last + 1] = q[first:last + 1]
    keep[last + 1:] = False
    t, c = t[keep], c[keep]
    i_max = int(np.argmax(c))
    auc = _auc_linlog(t, c)
    lam, r2adj, k, note = _lambda_z(t, c, i_max, bool(include_tmax))
    clast, tlast = float(c[-1]), float(t[-1])
    flag = False
    acc = np.nan
    if np.isfinite(lam):
        auc_inf = auc + clast / lam
        pct = 100.0 * (auc_inf - auc) / auc_inf
        thalf = np.log(2) / lam
        flag = bool(pct > 20.0)
        if flag:
            note = (note + "; " if note else "") + f"AUC0-inf extrapolated by {pct:.1f} % (> 20 %): sample longer"
        if tau_h is not None:
            acc = 1.0 / (1.0 - np.exp(-lam * tau))
    else:
        auc_inf = pct = thalf = np.nan
    return NCAResult(Cmax=float(c[i_max]), Tmax=float(t[i_max]), Clast=clast, tlast=tlast, AUC0_t=auc,
                     AUC0_inf=float(auc_inf), AUC_pct_extrap=float(pct), lambda_z=float(lam), t_half=float(thalf),
                     R2_adj=float(r2adj), n_lambda_z=int(k), unit=unit, note=note, AUC_extrap_flag=flag,
                     AUC_tau=float(auc_tau), accumulation_pred=float(acc), dose_time_h=t0)


def nca_table(t_h, conc, *, compound: str = "", lloq: float = 0.0, unit: str = "nM", include_tmax: bool = False,
              dose_time_h: float = 0.0, tau_h: float | None = None) -> pd.DataFrame:
    """Tidy NCA of many profiles: ``conc`` (N, T) -> rows subject, compound, statistic, value, unit."""
    c = np.atleast_2d(require_finite("conc", conc))
    frames = [nca(t_h, ci, lloq=lloq, unit=unit, include_tmax=include_tmax, dose_time_h=dose_time_h,
                  tau_h=tau_h).to_frame(subject=i, compound=compound) for i, ci in enumerate(c)]
    return pd.concat(frames, ignore_index=True)


def accumulation_ratio_predicted(lambda_z_per_h, tau_h):
    """Predicted accumulation ratio ``R = 1 / (1 - exp(-lambda_z tau))`` (one-compartment, linear PK;
    Gibaldi & Perrier, Pharmacokinetics 2nd ed. 1982)."""
    lam = require_positive("lambda_z_per_h", lambda_z_per_h, "1/h")
    tau = require_positive("tau_h", tau_h, "h")
    out = 1.0 / (1.0 - np.exp(-lam * tau))
    return float(out) if np.ndim(out) == 0 else out


def accumulation_ratio_observed(t_first_h, conc_first, t_ss_h, conc_ss, tau_h: float) -> float:
    """Observed accumulation ratio ``AUC_tau(steady state) / AUC_tau(first dose)``.

    Each profile covers one dosing interval: from its dose (first sample, post-dose value) to ``tau_h``
    later (last sample, before the next dose). Pass the two intervals as separate arrays so that the
    jump of the next dose is not inside either interval.
    """
    tau = require_number("tau_h", tau_h, "h", minimum=0, strict=True)
    aucs = []
    for t_name, c_name, t_h, conc in (("t_first_h", "conc_first", t_first_h, conc_first),
                                      ("t_ss_h", "conc_ss", t_ss_h, conc_ss)):
        t, c = _check_profile(t_h, conc, t_name, c_name)
        auc = _interval_auc(t, c, t[0], t[0] + tau)
        if auc is None:
            raise PharmsimError(f"tau_h = {tau:g} h needs a sample of {t_name} at its first time + tau_h = "
                                f"{t[0] + tau:g} h (each profile covers one dosing interval); {t_name} runs from "
                                f"{t[0]:g} to {t[-1]:g} h")
        aucs.append(auc)
    if aucs[0] <= 0:
        raise PharmsimError("the AUC over the first dosing interval is 0; no accumulation ratio")
    return aucs[1] / aucs[0]
