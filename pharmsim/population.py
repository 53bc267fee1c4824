"""Virtual populations: inter-individual variability, covariates and interactions, drawn reproducibly.

A :class:`Population` is drawn once (from an explicit :class:`numpy.random.Generator` or an int seed) and
then applied to any parameter mapping, for example a :class:`pharmsim.pk.PKModel`'s parameters
(:func:`apply_population` returns the model with (N,) parameter arrays; simulators solve all subjects at
once). For subject i and a parameter P with typical value P_typ::

    P_i = P_typ * exp(eta_i,P)                    log-normal (clearances, volumes, rates ...)
    logit(P_i) = logit(P_typ) + eta_i,P           for fractions (fu, F, fm, fpre_*), so P_i stays in (0, 1)
    eta_i ~ N(0, Omega),  Omega = diag(omega) R diag(omega)     omega = SD of the log (logit), R = correlation

then the covariates multiply (in this order):

- body weight WT (Anderson & Holford 2008, doi:10.1146/annurev.pharmtox.48.113006.094708):
  ``CL, Q, Q2, Vmax x (WT/70)^0.75``; ``V, Vp, Vp2 x (WT/70)^1`` (exponents from ``data/covariates.csv``);
- a CYP3A4 inhibitor taken alongside, removing a fraction I of CYP3A4 activity (static model, Rowland &
  Matin 1973, doi:10.1007/BF01059461, ``I = ([I]/Ki) / (1 + [I]/Ki)``)::

      CL_c      -> CL_c * (1 - fm3A4_c * I)                 each compound c with a CYP3A4 fraction fm3A4_c
      fm_m      -> fm_m * (1 - I) / (1 - fm3A4_p * I)       metabolite m formed by CYP3A4 from parent p
      fpre_m    -> fpre_m * (1 - I)                         presystemic formation of m

  so the formation clearance ``fm_m CL_p`` falls by ``(1 - I)`` and the parent's exposure rises by
  ``1 / (1 - fm3A4_p I)`` (``1/(1 - fm)`` for complete inhibition): the 7-OH-MG/MG ratio falls;
- hepatic impairment (Child-Pugh A/B/C): the clearances of hepatically cleared compounds x a ratio.

Covariates may change during a run and random effects may differ between occasions (inter-occasion
variability, IOV: ``eta_i + kappa_im`` in occasion m): a :class:`pharmsim.schedule.ParameterSchedule` on the
population says when (``Population(..., schedule=..., iov=...)``); each period is the same equations with that
period's covariates and random effects.

Every number of the covariate model comes from ``data/covariates.csv`` with its source and status
(:func:`covariate_effects`); read the notes: the MG fm,CYP3A4 is a rat value, rats disagree with the human in
vitro picture about 7-OH-MG, and the severe-impairment ratio is an assumption.

Also here: population summaries (median and 5-95 % bands, :func:`summarize`), a band figure
(:func:`plot_bands`) and a progress bar helper (:func:`progress`) for long population runs.

Not for: solving (see :mod:`pharmsim.pk`, :mod:`pharmsim.model`), dose protocols (see
:mod:`pharmsim.titration`). This software is for teaching and research, not dosing advice.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from .catalog import CovariateEffects, catalog
from .pk import ParamInfo, PKModel
from .schedule import CovariateChange, ParameterSchedule
from .validate import (
    PharmsimError,
    require_choice,
    require_count,
    require_finite,
    require_instance,
    require_number,
    suggest,
)

__all__ = [
    "REFERENCE_WEIGHT_KG",
    "WEIGHT_RANGE_KG",
    "CYP3A4_LEVELS",
    "HEPATIC_LEVELS",
    "CovariateEffects",
    "covariate_effects",
    "Covariates",
    "CovariateChange",
    "ParameterSchedule",
    "Population",
    "apply_population",
    "population_parameters",
    "summarize",
    "tidy_from_array",
    "plot_bands",
    "progress",
]

#: Reference body weight of the allometric model (kg); Anderson & Holford 2008.
REFERENCE_WEIGHT_KG = 70.0
#: Accepted adult body weights (kg): the allometric model is not meant for children or extremes.
WEIGHT_RANGE_KG = (30.0, 200.0)
#: Levels of a CYP3A4 inhibitor taken alongside (FDA categories; magnitudes in data/covariates.csv).
CYP3A4_LEVELS = ("none", "moderate", "strong")
#: Hepatic impairment levels and their Child-Pugh classes.
HEPATIC_LEVELS = ("none", "mild", "moderate", "severe")
_MAX_SUBJECTS = 10_000_000


# ------------------------------------------------------------------------------------------ covariate model
def covariate_effects(library=None) -> CovariateEffects:
    """The documented default covariate model, every number read from ``data/covariates.csv``
    (:meth:`pharmsim.catalog.Catalog.covariate_effects`).

    Parameters
    ----------
    library : pharmsim.library.Library, optional
        Use ``Library.with_value`` / ``prefer`` to change a number (e.g.
        ``with_value('fm', 'MG', 'CYP3A4', 0.8, 'fraction')``).
    """
    return catalog(library).covariate_effects()


@dataclass(frozen=True)
class Covariates:
    """Covariates of a virtual population (each a population-wide value or one value per subject).

    Parameters
    ----------
    body_weight_kg : float or (N,) array, optional
        Body weight (kg, within :data:`WEIGHT_RANGE_KG`). ``None``: everyone at the 70 kg reference.
        With ``body_weight_sd_log > 0`` a scalar is the median of a log-normal distribution truncated to
        :data:`WEIGHT_RANGE_KG` (drawn by inverse CDF, so no subject is discarded or clipped).
    body_weight_sd_log : float
        SD of log body weight (>= 0).
    cyp3a4_inhibitor : str, float or sequence
        A level of :data:`CYP3A4_LEVELS`, or the fraction of CYP3A4 activity inhibited (0-1), for everyone
        or per subject.
    hepatic_impairment : str or sequence
        A level of :data:`HEPATIC_LEVELS` (none, mild = Child-Pugh A, moderate = B, severe = C).

    Any object with these attributes (e.g. :class:`pharmsim.scenario.Covariates`) or a dict is accepted too.
    """

    body_weight_kg: object = None
    body_weight_sd_log: float = 0.0
    cyp3a4_inhibitor: object = "none"
    hepatic_impairment: object = "none"


def _fraction(name, value):
    arr = require_finite(name, value)
    bad = (arr < 0) | (arr > 1)
    if bad.any():
        raise PharmsimError(f"{name} must be a fraction in [0, 1]; got {arr[bad].flat[0].item()!r}")
    return arr


def _as_covariates(cov) -> Covariates:
    if cov is None:
        return Covariates()
    if isinstance(cov, Covariates):
        return cov
    if isinstance(cov, Mapping):
        known = ("body_weight_kg", "body_weight_sd_log", "cyp3a4_inhibitor", "hepatic_impairment")
        for k in cov:
            if k not in known:
                raise PharmsimError(f"covariates has an unknown key {k!r}{suggest(k, known)}; known: {list(known)}")
        return Covariates(**dict(cov))
    try:
        return Covariates(body_weight_kg=cov.body_weight_kg, body_weight_sd_log=cov.body_weight_sd_log,
                          cyp3a4_inhibitor=cov.cyp3a4_inhibitor, hepatic_impairment=cov.hepatic_impairment)
    except AttributeError:
        raise PharmsimError("covariates must be a pharmsim.population.Covariates, a dict or an object with "
                            "body_weight_kg, body_weight_sd_log, cyp3a4_inhibitor and hepatic_impairment; got "
                            f"{type(cov).__name__}") from None


def _check_weights(name: str, w: np.ndarray) -> np.ndarray:
    lo, hi = WEIGHT_RANGE_KG
    bad = (w < lo) | (w > hi)
    if bad.any():
        raise PharmsimError(f"{name} must be an adult body weight in [{lo:g}, {hi:g}] kg; "
                            f"got {w[bad].flat[0].item()!r}")
    return w


def _per_subject(name: str, value, n: int) -> list:
    """A scalar or string for everyone, or a sequence of length n."""
    if isinstance(value, str) or not isinstance(value, (list, tuple, np.ndarray)):
        return [value] * n
    seq = list(value)
    if len(seq) != n:
        raise PharmsimError(f"{name} must be one value or one per subject ({n}); got {len(seq)} values")
    return seq


def _cyp_levels(value, n: int, effects: CovariateEffects) -> tuple[np.ndarray, np.ndarray]:
    labels, frac = [], np.empty(n)
    for i, v in enumerate(_per_subject("cyp3a4_inhibitor", value, n)):
        if isinstance(v, str):
            require_choice("cyp3a4_inhibitor", v, tuple(effects.inhibited_fraction))
            labels.append(v)
            frac[i] = effects.inhibited_fraction[v]
        else:
            if isinstance(v, bool) or v is None:
                raise PharmsimError(f"cyp3a4_inhibitor must be one of {list(effects.inhibited_fraction)} or a "
                                    f"fraction of CYP3A4 activity inhibited in [0, 1]; got {v!r}")
            frac[i] = float(_fraction("cyp3a4_inhibitor (fraction of CYP3A4 activity inhibited)", v))
            labels.append("none" if frac[i] == 0 else f"I={frac[i]:g}")
    return np.array(labels, dtype=object), frac


def _hep_levels(value, n: int, effects: CovariateEffects) -> tuple[np.ndarray, np.ndarray]:
    labels = _per_subject("hepatic_impairment", value, n)
    for v in labels:
        if not isinstance(v, str):
            raise PharmsimError(f"hepatic_impairment must be one of {list(effects.hepatic_cl_ratio)}; got {v!r}")
        require_choice("hepatic_impairment", v, tuple(effects.hepatic_cl_ratio))
    return np.array(labels, dtype=object), np.array([effects.hepatic_cl_ratio[v] for v in labels], dtype=float)


# ------------------------------------------------------------------------------------------ correlation
def _correlation_matrix(correlation, names: list[str]) -> np.ndarray:
    K = len(names)
    if correlation is None:
        return np.eye(K)
    if isinstance(correlation, Mapping):
        R = np.eye(K)
        for key, r in correlation.items():
            parts = [s.strip() for s in key.split(",")] if isinstance(key, str) else list(key)
            if len(parts) != 2 or parts[0] == parts[1]:
                raise PharmsimError(f"correlation keys must name two different parameters ('P1,P2' or (P1, P2)); "
                                    f"got {key!r}")
            for p in parts:
                if p not in names:
                    raise PharmsimError(f"correlation names {p!r}, which has no omega entry; expected one of "
                                        f"{names}{suggest(p, names)}")
            r = require_number(f"correlation[{key!r}]", r)
            i, j = names.index(parts[0]), names.index(parts[1])
            if R[i, j] != 0 and R[i, j] != r:
                raise PharmsimError(f"correlation of {parts[0]!r} and {parts[1]!r} is given twice with different "
                                    f"values ({R[i, j]} and {r})")
            R[i, j] = R[j, i] = r
    else:
        R = require_finite("correlation", correlation)
        if R.shape != (K, K):
            raise PharmsimError(f"correlation must be a ({K}, {K}) matrix in the order of omega ({names}); "
                                f"got shape {R.shape}")
        if not np.allclose(R, R.T, rtol=0, atol=1e-12):
            i, j = np.unravel_index(np.argmax(np.abs(R - R.T)), R.shape)
            raise PharmsimError(f"correlation must be symmetric; got R[{i},{j}] = {R[i, j]} but R[{j},{i}] = {R[j, i]}")
        diag = np.diag(R)
        if not np.all(diag == 1.0):
            k = int(np.argmax(diag != 1.0))
            raise PharmsimError(f"correlation must have a unit diagonal; got {diag[k]!r} for {names[k]!r}")
    off = np.abs(R - np.eye(K))
    if np.any(off > 1):
        i, j = np.unravel_index(np.argmax(off), R.shape)
        raise PharmsimError(f"correlation of {names[i]!r} and {names[j]!r} must be in [-1, 1]; got {R[i, j]}")
    eig = np.linalg.eigvalsh(R) if K else np.array([1.0])
    if eig.min() <= 1e-10:
        raise PharmsimError(f"correlation matrix must be positive definite; its smallest eigenvalue is "
                            f"{eig.min():.3g} (names {names})")
    return R


# ------------------------------------------------------------------------------------------ population
def _rng(rng) -> tuple[np.random.Generator | None, int | None]:
    if rng is None:
        return None, None
    if isinstance(rng, np.random.Generator):
        return rng, None
    if isinstance(rng, (bool, np.bool_)) or not isinstance(rng, (int, np.integer)) or rng < 0:
        raise PharmsimError(f"rng must be a numpy.random.Generator or an int seed >= 0; got {rng!r}")
    return np.random.default_rng(int(rng)), int(rng)


@dataclass(frozen=True, eq=False)
class Population:
    """N virtual subjects: random effects and covariates, drawn once at construction.

    Parameters
    ----------
    n : int
        Number of subjects (>= 1).
    omega : mapping name -> float, optional
        SD of the log (logit for fractions) of each varied parameter, by qualified name (``'MG.CL_L_per_h'``);
        0 keeps everyone at the typical value.
    correlation : (K, K) array or mapping, optional
        Correlation of the random effects, in the order of ``omega`` or as ``{('P1', 'P2'): r}`` /
        ``{'P1,P2': r}``. Must be symmetric with a unit diagonal and positive definite.
    covariates : Covariates, dict or object with the same attributes, optional
    rng : numpy.random.Generator or int, optional
        The only source of randomness (an int is a seed for :func:`numpy.random.default_rng`). Required when
        anything is random (an omega > 0 or a body-weight distribution). Draw order: the random effects
        (N x K standard normals), then body weights.
    effects : CovariateEffects, optional
        Default: the catalogue's (``data/covariates.csv`` of ``library``) when a covariate needs it.
    library : Library, optional
        Where the default covariate effects come from (default: the shipped data).
    schedule : ParameterSchedule or sequence of CovariateChange, optional
        Covariates that change during the run, occasion boundaries and explicit values
        (:mod:`pharmsim.schedule`); a list of :class:`~pharmsim.schedule.CovariateChange` is
        ``ParameterSchedule.from_changes(list)``.
    iov : mapping name -> float, optional
        SD of the log (logit for fractions) of the between-occasion random effect kappa of each parameter:
        ``P = P_typ exp(eta_i + kappa_im)`` in occasion m (Karlsson & Sheiner 1993, doi:10.1007/BF01113502).
        One kappa per subject and occasion, drawn after the body weights (M x N x K_iov standard normals, M the
        number of occasions); independent of eta and of each other.
    n_occasions : int, optional
        How many occasions to draw kappa for (default: those of ``schedule``); needed when the occasions come
        from the OCC column of an event table (:meth:`pharmsim.events.EventTable.simulate`).

    Attributes
    ----------
    eta : mapping name -> (N,) array
        Random effects (log or logit scale).
    body_weight_kg, cyp3a4_inhibited_fraction, hepatic_cl_ratio : (N,) arrays
    cyp3a4_inhibitor, hepatic_impairment : (N,) object arrays of labels
    seed : int or None
        The seed when ``rng`` was an int.
    kappa : mapping name -> (M, N) array
        Between-occasion random effects (occasion x subject).
    """

    n: int
    omega: Mapping[str, float] = field(default_factory=dict)
    correlation: object = None
    covariates: object = None
    rng: object = field(default=None, repr=False)
    effects: CovariateEffects | None = field(default=None, repr=False)
    library: object = field(default=None, repr=False)
    schedule: object = field(default=None, repr=False)
    iov: Mapping[str, float] = field(default_factory=dict)
    n_occasions: int | None = None
    eta: Mapping[str, np.ndarray] = field(init=False, repr=False)
    kappa: Mapping[str, np.ndarray] = field(init=False, repr=False)
    body_weight_kg: np.ndarray = field(init=False, repr=False)
    cyp3a4_inhibitor: np.ndarray = field(init=False, repr=False)
    cyp3a4_inhibited_fraction: np.ndarray = field(init=False, repr=False)
    hepatic_impairment: np.ndarray = field(init=False, repr=False)
    hepatic_cl_ratio: np.ndarray = field(init=False, repr=False)
    seed: int | None = field(init=False)
    _periods: tuple = field(init=False, repr=False)

    def __post_init__(self):
        s = object.__setattr__
        n = self.n
        n = require_count("n (number of subjects)", n, minimum=1, maximum=_MAX_SUBJECTS,
                          hint="simulate fewer subjects, or several populations one after another")
        s(self, "n", n)
        omega = _sd_mapping("omega", self.omega)
        s(self, "omega", MappingProxyType(omega))
        names = list(omega)
        R = _correlation_matrix(self.correlation, names)
        s(self, "correlation", R)
        cov = _as_covariates(self.covariates)
        s(self, "covariates", cov)
        gen, seed = _rng(self.rng)
        s(self, "seed", seed)
        sd_w = require_number("body_weight_sd_log", cov.body_weight_sd_log)
        if sd_w < 0:
            raise PharmsimError(f"body_weight_sd_log must be a finite number >= 0; got {cov.body_weight_sd_log!r}")
        iov = _sd_mapping("iov", self.iov)
        s(self, "iov", MappingProxyType(iov))
        sched = _as_schedule(self.schedule, n)
        s(self, "schedule", sched)
        M = _occasion_count(self.n_occasions, sched)
        s(self, "n_occasions", M)
        random = any(w > 0 for w in omega.values()) or sd_w > 0 or any(w > 0 for w in iov.values())
        if random and gen is None:
            raise PharmsimError("rng must be given (a numpy.random.Generator or an int seed) when the population "
                                "is random (omega > 0, iov > 0 or body_weight_sd_log > 0); pharmsim has no hidden "
                                "seed")
        # random effects: eta = z L^T diag(omega)
        K = len(names)
        if K and any(w > 0 for w in omega.values()):
            z = gen.standard_normal((n, K))
            L = np.linalg.cholesky(R)
            eta = (z @ L.T) * np.array([omega[k] for k in names])
        else:
            eta = np.zeros((n, K))
        s(self, "eta", MappingProxyType({k: eta[:, j].copy() for j, k in enumerate(names)}))
        # body weight
        if cov.body_weight_kg is None:
            if sd_w > 0:
                raise PharmsimError("body_weight_sd_log > 0 needs a median body_weight_kg")
            wt = np.full(n, REFERENCE_WEIGHT_KG)
        else:
            w = require_finite("body_weight_kg", cov.body_weight_kg, "kg")
            if w.ndim == 0:
                _check_weights("body_weight_kg", w)
                wt = np.full(n, float(w)) if sd_w == 0 else _truncated_lognormal(gen, float(w), sd_w, n)
            elif w.shape == (n,):
                if sd_w > 0:
                    raise PharmsimError("body_weight_sd_log must be 0 when body_weight_kg gives one weight per subject")
                wt = _check_weights("body_weight_kg", w.astype(float).copy())
            else:
                raise PharmsimError(f"body_weight_kg must be one weight or one per subject ({n}); got shape {w.shape}")
        s(self, "body_weight_kg", wt)
        # between-occasion random effects: kappa = z omega_IOV, drawn after the weights
        names_iov = list(iov)
        if names_iov and any(w > 0 for w in iov.values()):
            z = gen.standard_normal((M, n, len(names_iov)))
            kappa = {k: z[:, :, j] * iov[k] for j, k in enumerate(names_iov)}
        else:
            kappa = {k: np.zeros((M, n)) for k in names_iov}
        for v in kappa.values():
            v.setflags(write=False)
        s(self, "kappa", MappingProxyType(kappa))
        effects = self.effects
        needs_effects = (cov.body_weight_kg is not None or not _all_default(cov.cyp3a4_inhibitor, "none")
                         or not _all_default(cov.hepatic_impairment, "none")
                         or (sched is not None and bool(sched.covariates)))
        if effects is None:
            effects = catalog(self.library).covariate_effects() if needs_effects else CovariateEffects()
        elif not isinstance(effects, CovariateEffects):
            raise PharmsimError(f"effects must be a CovariateEffects; got {type(effects).__name__}")
        s(self, "effects", effects)
        lab, frac = _cyp_levels(cov.cyp3a4_inhibitor, n, effects)
        s(self, "cyp3a4_inhibitor", lab)
        s(self, "cyp3a4_inhibited_fraction", frac)
        lab, ratio = _hep_levels(cov.hepatic_impairment, n, effects)
        s(self, "hepatic_impairment", lab)
        s(self, "hepatic_cl_ratio", ratio)
        for a in (self.body_weight_kg, self.cyp3a4_inhibitor, self.cyp3a4_inhibited_fraction,
                  self.hepatic_impairment, self.hepatic_cl_ratio, *self.eta.values()):
            a.setflags(write=False)
        s(self, "_periods", _resolve_periods(self, sched))

    # ------------------------------------------------------------------------------------ use
    def parameters(self, base, *, subjects=None, strict: bool = True,
                   info: Mapping[str, ParamInfo] | None = None, period: int = 0) -> dict[str, np.ndarray]:
        """Per-subject values of every parameter of ``base`` (a PKModel, or typical values with ``info``).

        Parameters
        ----------
        base : PKModel or mapping name -> value
            Typical values (scalars or one value per subject). A PKModel brings its own parameter metadata.
        subjects : slice or int array, optional
            The subjects wanted (default all): the engine asks chunk by chunk.
        strict : bool
            Every ``omega`` name must be a parameter of ``base`` (a typo raises with a suggestion);
            ``strict=False`` applies only the names found (one population shared by models of different
            compounds).
        info : mapping name -> ParamInfo, optional
            Metadata of the names of a plain mapping ``base`` (what kind each parameter is).
        period : int
            The period of the population's :attr:`schedule` (0 .. K; default 0): its covariates, occasion
            (``eta + kappa``) and explicit values.

        Returns
        -------
        dict
            ``{name: (n,) array}`` for every key of ``base`` (equations in the module docstring). A subject
            with eta = 0 and reference covariates gets exactly the typical value.
        """
        if isinstance(base, PKModel):
            values, info = base.parameters, base.parameter_info
        elif isinstance(base, Mapping):
            if info is None:
                raise PharmsimError("Population.parameters needs a PKModel, or a mapping with info= (the "
                                    "ParamInfo of each name: PKModel.parameter_info)")
            values = base
            unknown = [k for k in values if k not in info]
            if unknown:
                raise PharmsimError(f"no metadata (info) for parameter(s) {unknown}")
        else:
            raise PharmsimError(f"base must be a PKModel or a mapping of parameter names to values; got "
                                f"{type(base).__name__}")
        P = len(self._periods)
        period = require_count("period", period, minimum=0, maximum=P - 1)
        if strict:
            for k in dict.fromkeys([*self.omega, *self.iov]):
                if k not in values:
                    raise PharmsimError(f"omega names {k!r}, which is not a parameter here{suggest(k, list(values))}; "
                                        f"parameters: {list(values)}")
        idx = np.arange(self.n) if subjects is None else np.arange(self.n)[subjects]
        n = idx.size
        out = {}
        for k, v in values.items():
            a = require_finite(k, v)
            if a.ndim > 1 or (a.ndim == 1 and a.shape not in ((self.n,), (n,))):
                raise PharmsimError(f"{k} must be a scalar or one value per subject ({self.n}); got shape {a.shape}")
            if a.ndim == 1 and a.shape == (self.n,) and n != self.n:
                a = a[idx]
            out[k] = np.array(np.broadcast_to(a, (n,)), dtype=float)
        sched = self.schedule
        occ = sched.occasion_of(period, idx) if sched is not None else np.zeros(n, dtype=int)
        for k in dict.fromkeys([*self.omega, *self.iov]):
            if k not in out:
                continue
            e = self.eta[k][idx] if self.omega.get(k, 0.0) > 0 else None
            if self.iov.get(k, 0.0) > 0:
                kap = self.kappa[k][occ, idx]
                e = kap if e is None else e + kap
            if e is None:
                continue
            if info[k].kind == "fraction":
                p = out[k]
                if np.any((p <= 0) | (p >= 1)):
                    raise PharmsimError(f"{k} is a fraction at 0 or 1 ({p[(p <= 0) | (p >= 1)][0]!r}); its "
                                        "variability is on the logit scale and needs a value strictly inside (0, 1)")
                out[k] = 1.0 / (1.0 + (1.0 - p) / p * np.exp(-e))
            else:
                out[k] = out[k] * np.exp(e)
        eff = self.effects
        per = self._periods[period]
        wr = per["body_weight_kg"][idx] / REFERENCE_WEIGHT_KG
        I = per["cyp3a4_inhibited_fraction"][idx]
        hep = per["hepatic_cl_ratio"][idx]
        for k in out:
            i = info[k]
            if i.kind in ("clearance", "amount_rate"):
                out[k] = out[k] * wr ** eff.cl_exponent
            elif i.kind == "volume":
                out[k] = out[k] * wr ** eff.v_exponent
            if i.role == "CL":
                if i.compound in eff.fm_cyp3a4:
                    out[k] = out[k] * (1.0 - eff.fm_cyp3a4[i.compound] * I)
                f_hep = eff.hepatic_fraction.get(i.compound, 0.0)
                if f_hep:
                    out[k] = out[k] * (1.0 - f_hep + f_hep * hep)
        formed = set(eff.cyp3a4_formed)
        for k in out:
            i = info[k]
            if i.parent is None or (i.parent, i.compound) not in formed:
                continue
            if i.role == "fm":
                out[k] = out[k] * (1.0 - I) / (1.0 - eff.fm_cyp3a4[i.parent] * I)
            elif i.role in ("fpre", "Vmax_form"):
                out[k] = out[k] * (1.0 - I)
        if sched is not None:
            out.update(sched.values_at(period, idx))
        return out

    @property
    def change_times_h(self) -> np.ndarray:
        """(K,) times (h) at which the parameters change (the schedule's; empty without one)."""
        return np.zeros(0) if self.schedule is None else self.schedule.times_h

    def with_schedule(self, schedule) -> Population:
        """The same subjects and draws (eta, body weights, kappa) with another schedule (None: none)."""
        new = self.take(np.arange(self.n))
        sched = _as_schedule(schedule, self.n)
        if sched is not None and sched.n_occasions > self.n_occasions:
            raise PharmsimError(f"the schedule refers to occasion {sched.n_occasions} (counted from 1) but the "
                                f"population drew kappa for n_occasions = {self.n_occasions}; build the Population "
                                "with n_occasions at least that")
        object.__setattr__(new, "schedule", sched)
        object.__setattr__(new, "_periods", _resolve_periods(new, sched))
        return new

    def shifted(self, by_h: float) -> Population:
        """The population seen from a clock ``by_h`` hours later (its schedule shifted,
        :meth:`ParameterSchedule.shifted`)."""
        if self.schedule is None:
            return self
        return self.with_schedule(self.schedule.shifted(by_h))

    def schedule_table(self) -> pd.DataFrame:
        """One row per subject and period: ``subject, period, start_h, end_h, occasion``, the covariates of the
        period and the random effect of each IOV parameter there (``eta+kappa[<name>]``)."""
        sched = self.schedule
        P = len(self._periods)
        starts = np.zeros(1) if sched is None else sched.starts_h
        ends = np.concatenate([starts[1:], [np.inf]])
        idx = np.arange(self.n)
        frames = []
        for k in range(P):
            per = self._periods[k]
            occ = sched.occasion_of(k, idx) if sched is not None else np.zeros(self.n, dtype=int)
            df = pd.DataFrame({"subject": idx, "period": k, "start_h": starts[k], "end_h": ends[k], "occasion": occ,
                               "body_weight_kg": per["body_weight_kg"], "cyp3a4_inhibitor": per["cyp3a4_inhibitor"],
                               "cyp3a4_inhibited_fraction": per["cyp3a4_inhibited_fraction"],
                               "hepatic_impairment": per["hepatic_impairment"],
                               "hepatic_cl_ratio": per["hepatic_cl_ratio"]})
            for name in self.iov:
                eta = self.eta[name] if name in self.eta else 0.0
                df[f"eta+kappa[{name}]"] = eta + self.kappa[name][occ, idx]
            frames.append(df)
        return pd.concat(frames, ignore_index=True).sort_values(["subject", "period"], kind="stable").reset_index(
            drop=True)

    def take(self, indices) -> Population:
        """The subjects ``indices`` (in that order) as a population of their own (same draws)."""
        idx = np.atleast_1d(np.asarray(indices))
        if idx.ndim != 1 or idx.size == 0 or idx.dtype.kind not in "iu" or idx.min() < -self.n or idx.max() >= self.n:
            raise PharmsimError(f"indices must be a non-empty 1-D array of subject numbers in 0..{self.n - 1}; "
                                f"got {indices!r}")
        new = object.__new__(Population)
        s = object.__setattr__
        s(new, "n", int(idx.size))
        s(new, "omega", self.omega)
        s(new, "correlation", self.correlation)
        s(new, "covariates", self.covariates)
        s(new, "rng", None)
        s(new, "effects", self.effects)
        s(new, "library", self.library)
        s(new, "seed", self.seed)
        s(new, "eta", MappingProxyType({k: v[idx] for k, v in self.eta.items()}))
        for name in ("body_weight_kg", "cyp3a4_inhibitor", "cyp3a4_inhibited_fraction", "hepatic_impairment",
                     "hepatic_cl_ratio"):
            s(new, name, getattr(self, name)[idx])
        s(new, "iov", self.iov)
        s(new, "n_occasions", self.n_occasions)
        s(new, "kappa", MappingProxyType({k: v[:, idx] for k, v in self.kappa.items()}))
        s(new, "schedule", None if self.schedule is None else self.schedule.take(np.arange(self.n)[idx]))
        s(new, "_periods", tuple({k: v[idx] for k, v in per.items()} for per in self._periods))
        return new

    def table(self) -> pd.DataFrame:
        """One row per subject: covariates and random effects (``eta[<name>]``)."""
        df = pd.DataFrame({"subject": np.arange(self.n), "body_weight_kg": self.body_weight_kg,
                           "cyp3a4_inhibitor": self.cyp3a4_inhibitor,
                           "cyp3a4_inhibited_fraction": self.cyp3a4_inhibited_fraction,
                           "hepatic_impairment": self.hepatic_impairment, "hepatic_cl_ratio": self.hepatic_cl_ratio})
        for k, v in self.eta.items():
            df[f"eta[{k}]"] = v
        return df


def _sd_mapping(name: str, value) -> dict[str, float]:
    if not isinstance(value, Mapping):
        raise PharmsimError(f"{name} must be a mapping {{parameter name: SD of log}}; got {type(value).__name__}")
    out = {}
    for k, v in value.items():
        if not isinstance(k, str) or not k:
            raise PharmsimError(f"{name} keys must be parameter names such as 'MG.CL_L_per_h'; got {k!r}")
        w = require_finite(f"{name}[{k!r}]", v)
        if w.ndim != 0 or w < 0:
            raise PharmsimError(f"{name}[{k!r}] must be a finite number >= 0 (SD of log); got {v!r}")
        out[k] = float(w)
    return out


def _as_schedule(schedule, n: int) -> ParameterSchedule | None:
    if schedule is None:
        return None
    if not isinstance(schedule, ParameterSchedule):
        is_change = (CovariateChange, Mapping)
        if isinstance(schedule, is_change) or (
                isinstance(schedule, (list, tuple)) and all(isinstance(c, is_change) for c in schedule)):
            schedule = ParameterSchedule.from_changes(schedule)
        else:
            raise PharmsimError(f"schedule must be a pharmsim ParameterSchedule or a list of CovariateChange; got "
                                f"{type(schedule).__name__}")
    if schedule.n not in (1, n):
        raise PharmsimError(f"the schedule gives values for {schedule.n} subjects; the population has {n}")
    return schedule


def _occasion_count(n_occasions, sched) -> int:
    need = 1 if sched is None else sched.n_occasions
    if n_occasions is None:
        return need
    M = require_count("n_occasions", n_occasions, minimum=1, maximum=100_000)
    if need > M:
        raise PharmsimError(f"the schedule refers to {need} occasions but n_occasions = {M}; give n_occasions >= "
                            f"{need}")
    return M


def _resolve_periods(pop: Population, sched: ParameterSchedule | None) -> tuple[dict, ...]:
    """Per period the covariate arrays of every subject: ``body_weight_kg``, ``cyp3a4_inhibitor`` (labels),
    ``cyp3a4_inhibited_fraction``, ``hepatic_impairment`` (labels), ``hepatic_cl_ratio`` ((N,) each); an entry
    ``None`` keeps the population's own (period 0) values."""
    base = {"body_weight_kg": pop.body_weight_kg, "cyp3a4_inhibitor": pop.cyp3a4_inhibitor,
            "cyp3a4_inhibited_fraction": pop.cyp3a4_inhibited_fraction,
            "hepatic_impairment": pop.hepatic_impairment, "hepatic_cl_ratio": pop.hepatic_cl_ratio}
    if sched is None:
        return (base,)
    n, eff = pop.n, pop.effects
    out = []
    for k in range(sched.n_periods):
        per = dict(base)
        where = "period 0" if k == 0 else f"the change at {sched.times_h[k - 1]:g} h"
        w = sched.covariate("body_weight_kg", k)
        if w is not None:
            arr = np.asarray(w, dtype=float)
            per["body_weight_kg"] = _check_weights(f"body_weight_kg ({where})", np.array(np.broadcast_to(arr, (n,))))
        c = sched.covariate("cyp3a4_inhibitor", k)
        if c is not None:
            per["cyp3a4_inhibitor"], per["cyp3a4_inhibited_fraction"] = _cyp_levels(
                list(c) if np.ndim(c) else c, n, eff)
        h = sched.covariate("hepatic_impairment", k)
        if h is not None:
            per["hepatic_impairment"], per["hepatic_cl_ratio"] = _hep_levels(list(h) if np.ndim(h) else h, n, eff)
        for a in per.values():
            a.setflags(write=False)
        out.append(per)
    return tuple(out)


def _all_default(value, default: str) -> bool:
    if isinstance(value, str):
        return value == default
    if np.ndim(value) == 0:
        return False
    return all(isinstance(v, str) and v == default for v in value)


def _truncated_lognormal(gen, median: float, sd_log: float, n: int) -> np.ndarray:
    """Log-normal(median, sd_log) truncated to WEIGHT_RANGE_KG by inverse CDF (one uniform per subject)."""
    from scipy.special import ndtr, ndtri

    lo, hi = (np.log(b / median) / sd_log for b in WEIGHT_RANGE_KG)
    a, b = ndtr(lo), ndtr(hi)
    u = gen.random(n)
    z = ndtri(a + u * (b - a))
    return _check_weights("body_weight_kg (drawn)", median * np.exp(sd_log * z))


def population_parameters(population: Population, model, *, strict: bool = True) -> dict[str, np.ndarray]:
    """``{PK parameter name: (N,) array}`` of ``model`` (a :class:`pharmsim.pk.PKModel`) for ``population``.

    ``strict=False`` applies only the ``omega`` names that ``model`` has (see :meth:`Population.parameters`).
    """
    if not isinstance(population, Population):
        raise PharmsimError(f"population must be a Population; got {type(population).__name__}")
    _require_pk_model(model)
    return population.parameters(model, strict=strict)


def _require_pk_model(model) -> None:
    require_instance("model", model, PKModel, "a pharmsim PKModel (e.g. Model.pk)")


def apply_population(population: Population, model, *, strict: bool = True):
    """``model`` (a :class:`pharmsim.pk.PKModel`) with (N,) parameter arrays for the N subjects.

    Use with the composed model: ``model.with_pk(apply_population(pop, model.pk))``. With ``strict=False`` a
    population that varies parameters of compounds the model lacks (one population shared by a kratom arm
    and a morphine-only arm, say) applies only the names the model has; the same subjects keep the same
    random effects in every arm. With ``strict=True`` (default) an unknown name is an error, so a typo is
    never ignored.
    """
    if not isinstance(population, Population):
        raise PharmsimError(f"population must be a Population; got {type(population).__name__}")
    _require_pk_model(model)
    if model.n_subjects > 1 and model.n_subjects != population.n:
        raise PharmsimError(f"model has parameters for {model.n_subjects} subjects but the population has "
                            f"{population.n}")
    return model.with_parameters(population_parameters(population, model, strict=strict))


# ------------------------------------------------------------------------------------------ summaries
def tidy_from_array(values, t_h, **labels) -> pd.DataFrame:
    """An (N, T) array as a tidy table: ``subject, time_h, <labels...>, value``."""
    v, t = _check_nt(values, t_h)
    N, T = v.shape
    df = pd.DataFrame({"subject": np.repeat(np.arange(N), T), "time_h": np.tile(t, N)})
    for k, lab in labels.items():
        df[k] = lab
    df["value"] = v.reshape(-1)
    return df


def _check_nt(values, t_h):
    v = require_finite("values", values)
    if v.ndim == 1:
        v = v[None, :]
    if v.ndim != 2:
        raise PharmsimError(f"values must be an (N subjects, T times) array; got shape {v.shape}")
    if t_h is None:
        raise PharmsimError("t_h (the T output times in h) must be given with an array of values")
    t = require_finite("t_h", t_h, "h")
    if t.shape != (v.shape[1],):
        raise PharmsimError(f"t_h must have one time per column of values ({v.shape[1]}); got shape {t.shape}")
    return v, t


def _pct_name(p: float) -> str:
    return f"p{p:g}"


def summarize(values, t_h=None, *, lower: float = 5.0, upper: float = 95.0) -> pd.DataFrame:
    """Population median and percentile band per time (and per label), in tidy form.

    Parameters
    ----------
    values : (N, T) array or DataFrame
        Per-subject results; or a tidy table with columns ``subject``, ``time_h``, ``value`` (any further
        columns except ``subject`` and ``value``, e.g. quantity, compound, unit, are grouping labels).
    t_h : (T,) array
        Output times (h) for an array.
    lower, upper : float
        Percentiles of the band (default 5 and 95; numpy's linear interpolation).

    Returns
    -------
    DataFrame
        ``time_h, <labels...>, median, p<lower>, p<upper>, mean, n_subjects`` (same column names as
        :meth:`pharmsim.result.Result.summary`).
    """
    lower = require_number("lower", lower)
    upper = require_number("upper", upper)
    if not 0 <= lower < 50 < upper <= 100:
        raise PharmsimError(f"percentiles must satisfy 0 <= lower < 50 < upper <= 100; got {lower}, {upper}")
    lo_name, hi_name = _pct_name(lower), _pct_name(upper)
    if isinstance(values, pd.DataFrame):
        missing = [c for c in ("subject", "time_h", "value") if c not in values.columns]
        if missing:
            raise PharmsimError(f"a tidy table must have columns subject, time_h, value; missing {missing}")
        if values.empty:
            raise PharmsimError("the tidy table is empty")
        v = require_finite("value", values["value"].to_numpy(dtype=float))
        keys = ["time_h"] + [c for c in values.columns if c not in ("subject", "time_h", "value")]
        g = values.assign(value=v).groupby(keys, sort=False, dropna=False)["value"]
        out = g.agg(median="median", mean="mean", n_subjects="count").reset_index()
        q = g.quantile([lower / 100, upper / 100]).unstack()
        out[lo_name] = q[lower / 100].to_numpy()
        out[hi_name] = q[upper / 100].to_numpy()
        return out[keys + ["median", lo_name, hi_name, "mean", "n_subjects"]]
    v, t = _check_nt(values, t_h)
    lo, med, hi = np.percentile(v, [lower, 50.0, upper], axis=0)
    return pd.DataFrame({"time_h": t, "median": med, lo_name: lo, hi_name: hi, "mean": v.mean(axis=0),
                         "n_subjects": v.shape[0]})


def plot_bands(data, t_h=None, *, ax=None, label: str | None = None, color=None, ylabel: str | None = None,
               lower: float = 5.0, upper: float = 95.0, title: str | None = None):
    """Population median (line) and percentile band (shaded) over time; returns the Axes.

    ``data`` is an (N, T) array (with ``t_h``) or a one-series summary from :func:`summarize` /
    :meth:`pharmsim.result.Result.summary` (columns ``time_h``, ``median``, ``p<lower>``, ``p<upper>``).
    Plots never solve: pass finished results.
    """
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    elif not isinstance(ax, Axes):
        raise PharmsimError(f"ax must be a matplotlib Axes or None; got {type(ax).__name__}")
    if isinstance(data, pd.DataFrame):
        lo_name, hi_name = _pct_name(lower), _pct_name(upper)
        missing = [c for c in ("time_h", "median", lo_name, hi_name) if c not in data.columns]
        if missing:
            raise PharmsimError(f"a summary table needs columns time_h, median, {lo_name}, {hi_name}; "
                                f"missing {missing}")
        if data["time_h"].duplicated().any():
            raise PharmsimError("the summary has several rows per time (several series): select one series first")
        s = data
    else:
        s = summarize(data, t_h, lower=lower, upper=upper)
        lo_name, hi_name = _pct_name(lower), _pct_name(upper)
    n = int(s["n_subjects"].max()) if "n_subjects" in s.columns else None
    line = ax.plot(s["time_h"], s["median"], color=color, linewidth=2.5,
                   label=(label or "median") + (f" (median, N = {n})" if n and label else ""))[0]
    if n is None or n > 1:
        band = f"{lower:g}-{upper:g} % of subjects" if label is None else f"{label}: {lower:g}-{upper:g} %"
        ax.fill_between(s["time_h"], s[lo_name], s[hi_name], color=line.get_color(), alpha=0.25, linewidth=0,
                        label=band)
    ax.set_xlabel("time (h)", fontsize=14)
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=14)
    if title:
        ax.set_title(title, fontsize=16)
    ax.tick_params(labelsize=12)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=12)
    return ax


# ------------------------------------------------------------------------------------------ progress
class _Silent:
    """A do-nothing stand-in for a tqdm bar (iterates, updates and closes silently)."""

    def __init__(self, iterable=None):
        self._it = iterable

    def __iter__(self):
        return iter(self._it if self._it is not None else ())

    def update(self, n=1):
        return None

    def set_postfix_str(self, *args, **kwargs):
        return None

    def close(self):
        return None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def progress(iterable: Iterable | None = None, *, total: int | None = None, desc: str | None = None,
             quiet: bool = False, unit: str = "subject", stream=None):
    """A progress bar (tqdm) for long population runs; silent when quiet, not a terminal, or tqdm absent.

    Use as an iterator (``for chunk in progress(chunks, desc='solving')``) or as a context manager with
    ``update`` (``with progress(total=N) as bar: ... bar.update(k)``), e.g. as the ``progress`` callback of
    :func:`pharmsim.model.simulate` (``progress=bar.update``). tqdm is optional (``pip install
    pharmsim[progress]``). ``stream`` defaults to ``sys.stderr``; the bar shows only if it is a TTY.
    """
    stream = sys.stderr if stream is None else stream
    try:
        tty = bool(stream.isatty())
    except (AttributeError, ValueError):
        tty = False
    if quiet or not tty:
        return _Silent(iterable)
    try:
        from tqdm import tqdm
    except ImportError:
        return _Silent(iterable)
    return tqdm(iterable, total=total, desc=desc, unit=unit, file=stream, leave=False)
