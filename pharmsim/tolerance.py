"""Tolerance over time: receptor desensitisation with recovery, and an opponent-process withdrawal read-out.

Two slow states per subject and receptor, both linear given their drivers, integrated batched over subjects:

* Desensitisation ``D`` (fraction of the receptor pool that no longer signals)::

      dD/dt = k_des * S_des(t) * (1 - D) - k_rec * D

  It removes functional receptors, so every ligand's transducer ratio shrinks: ``tau_i -> tau_i (1 - D)``
  (receptor depletion in the operational model; Black & Leff 1983, doi:10.1098/rspb.1983.0093). With a
  constant stimulus ``D`` approaches ``D_ss = k_des S/(k_des S + k_rec)`` exponentially at the rate
  ``k_des S + k_rec``.

* Counter-adaptation ``W`` (an opponent process that follows the response slowly; Solomon & Corbit 1974,
  Psychol Rev 81:119, doi:10.1037/h0036128; the feedback-tolerance model family, PMID 18446507)::

      dW/dt = k_adapt * (gain * E(t) - W),      net signal = E - W

  While a drug acts, ``W`` erodes the net signal (tolerance); when dosing stops ``E`` falls fast and ``W``
  slowly, so the net signal turns negative: the withdrawal read-out, ``withdrawal = max(W - E, 0)``.

Which stimulus drives desensitisation (``mechanism``, always named: there is no default mechanism):

* ``"gprotein"``: the receptor-level G-protein activation ``S_G = sum_i eps_i B_i`` (``eps_i`` the ligand's
  intrinsic efficacy, the tau it has in the reference assay). Rapid MOR desensitisation follows the G-protein
  efficacy order DAMGO >= methadone > morphine > pentazocine (Borgland 2003, J Biol Chem 278:18776, PMID
  12642578); 7-OH-MG, which recruits no detectable beta-arrestin, still produces tolerance and cross-tolerance
  to morphine in mice (Matsumoto 2005, Life Sci 78:2, PMID 16169018).
* ``"arrestin"``: ``S_A = sum_i a_i B_i`` with ``a_i`` the relative efficacy for GRK/beta-arrestin regulation
  (internalisation: DAMGO 1, methadone 0.59, morphine 0.07; Borgland 2003). MG, 7-OH-MG and buprenorphine
  recruit no detectable beta-arrestin (Kruegel 2016, doi:10.1021/jacs.6b00360; Grinnell 2016, PMC4980214), so
  they desensitise nothing; beta-arrestin-2 knockout mice do not become tolerant to morphine (Raehal & Bohn
  2011).
* ``"both"``: the mean of the two normalised stimuli.

Each stimulus is **normalised to its value at a reference state** (``s_ref_gprotein``, ``s_ref_arrestin``), so
one rate constant ``k_des`` serves every mechanism and each mechanism is calibrated on the same published
data: :meth:`pharmsim.catalog.Catalog.tolerance` puts morphine at its analgesic C50 (Dahan 2004, PMID 15505457)
and chooses ``k_des`` so that ``D`` approaches its steady state there with the tolerance half-life of 26 h
(Ekblom 1993, JPET 266:244, rat), given the recovery rate (Ouellet & Pollack 1995). All three mechanisms
therefore agree for morphine and differ for every other ligand - which is the point of choosing one.

What the calibration reproduces and what it predicts (``tests/validation/test_anchors_tolerance.py``): the
steady-state EC50 shift of a full agonist, ``(1 + tau)/(1 + tau (1 - D))`` (:func:`ec50_fold_shift`), near 4
(Algera 2021: fentanyl's respiratory C50 4.3 times higher in chronic high-dose opioid users); a fixed-criterion
dose shift (:func:`criterion_shift`) that is larger for lower-efficacy agonists, as in the animal literature.
The opponent process ``W`` is a separate read-out (withdrawal) and is not calibrated.

Integration: on each interval the drivers are replaced by their trapezoidal means and the linear scalar
equation is solved exactly (an exponential integrator, second order, unconditionally stable, exact for
piecewise-constant drivers). Use a grid fine against the dosing interval (the W1 grid, 0.25 h, is).

Not for: receptor binding (:mod:`pharmsim.binding`), the operational model itself (:mod:`pharmsim.receptor`),
or predicting any person's tolerance; this is a teaching model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .validate import (
    PharmsimError,
    require_choice,
    require_finite,
    require_fraction,
    require_nonnegative,
    require_number,
)

__all__ = [
    "MECHANISMS",
    "ToleranceParams",
    "criterion_shift",
    "desensitising_stimulus",
    "ec50_fold_shift",
    "ToleranceResult",
    "counter_adaptation",
    "desensitisation",
    "desensitisation_stimulus",
    "simulate_tolerance",
    "steady_state_desensitisation",
    "stimuli",
    "ToleranceStepper",
]

MECHANISMS = ("arrestin", "gprotein", "both")


@dataclass(frozen=True)
class ToleranceParams:
    """Rate constants of the tolerance model (1/h), the opponent-process gain, and the named mechanism.

    Attributes
    ----------
    k_des_per_h : float
        Desensitisation rate per unit of the normalised stimulus (1/h).
    k_rec_per_h : float
        Recovery (resensitisation) rate (1/h).
    k_adapt_per_h : float
        Rate at which the counter-adaptation follows the response (1/h).
    adapt_gain : float
        Counter-adaptation at steady state as a fraction of the sustained response (0..1).
    mechanism : {'gprotein', 'arrestin', 'both'}
        Which stimulus drives desensitisation (module docstring). Required: no mechanism is a default.
    s_ref_gprotein, s_ref_arrestin : float
        The G-protein and arrestin stimuli at the calibration state (> 0); the desensitising stimulus is
        each divided by its reference (default 1: the raw stimulus).
    receptors : tuple of str or None
        Receptors whose endpoints desensitise (None: all). The shipped calibration uses MOR data only, so
        :meth:`pharmsim.catalog.Catalog.tolerance` gives ``('MOR',)``.
    description : str
        Where the numbers come from (shown in model notes and reports).
    """

    k_des_per_h: float
    k_rec_per_h: float
    k_adapt_per_h: float
    adapt_gain: float
    mechanism: str | None = None
    s_ref_gprotein: float = 1.0
    s_ref_arrestin: float = 1.0
    receptors: tuple[str, ...] | None = None
    description: str = ""

    def __post_init__(self):
        for name in ("k_des_per_h", "k_rec_per_h", "k_adapt_per_h"):
            object.__setattr__(self, name, require_number(name, getattr(self, name), "1/h", minimum=0))
        gain = require_number("adapt_gain", self.adapt_gain)
        object.__setattr__(self, "adapt_gain", float(require_fraction("adapt_gain", gain)))
        if self.mechanism is None:
            raise PharmsimError(f"ToleranceParams needs a named mechanism, one of {', '.join(map(repr, MECHANISMS))}: "
                                "no mechanism is a default (it decides whether partial agonists desensitise)")
        require_choice("mechanism", self.mechanism, MECHANISMS)
        for name in ("s_ref_gprotein", "s_ref_arrestin"):
            object.__setattr__(self, name, require_number(name, getattr(self, name), minimum=0, strict=True))
        if self.receptors is not None:
            rec = (self.receptors,) if isinstance(self.receptors, str) else tuple(self.receptors)
            if not rec or not all(isinstance(r, str) and r for r in rec):
                raise PharmsimError(f"receptors must be receptor names (e.g. ('MOR',)) or None; got {self.receptors!r}")
            object.__setattr__(self, "receptors", rec)
        if not isinstance(self.description, str):
            raise PharmsimError(f"description must be a string; got {type(self.description).__name__}")

    def applies_to(self, receptor: str) -> bool:
        """True if endpoints at ``receptor`` desensitise under these parameters."""
        return self.receptors is None or receptor in self.receptors

    @property
    def label(self) -> str:
        """``"tolerance: mechanism 'gprotein' (...)"`` for notes, tables and figure titles."""
        where = "all receptors" if self.receptors is None else ", ".join(self.receptors)
        text = f"tolerance: mechanism {self.mechanism!r} ({where})"
        return f"{text}; {self.description}" if self.description else text


def desensitising_stimulus(params: ToleranceParams, s_gprotein, s_arrestin=None):
    """The stimulus that drives desensitisation under ``params.mechanism``, normalised to the calibration state.

    ``gprotein``: ``S_G / S_G,ref``; ``arrestin``: ``S_A / S_A,ref``; ``both``: ``(S_G/S_G,ref + S_A/S_A,ref)/2``,
    with ``S_G = sum_i eps_i B_i`` (receptor-level G-protein activation) and ``S_A = sum_i a_i B_i`` (arrestin).

    Parameters
    ----------
    params : ToleranceParams
    s_gprotein : array_like
        ``S_G`` (any shape).
    s_arrestin : array_like, optional
        ``S_A`` (same shape); required unless the mechanism is ``'gprotein'``.
    """
    if not isinstance(params, ToleranceParams):
        raise PharmsimError(f"params must be a pharmsim ToleranceParams; got {type(params).__name__}")
    g = np.asarray(s_gprotein, dtype=float) / params.s_ref_gprotein
    if params.mechanism == "gprotein":
        return g
    if s_arrestin is None:
        raise PharmsimError(f"arrestin_efficacy (one value per ligand) is required for mechanism={params.mechanism!r}")
    a = np.asarray(s_arrestin, dtype=float) / params.s_ref_arrestin
    return a if params.mechanism == "arrestin" else 0.5 * (g + a)


def ec50_fold_shift(tau, desensitised):
    """EC50 after desensitisation over EC50 before: ``(1 + tau) / (1 + tau (1 - D))`` (operational model, n = 1).

    Receptor depletion scales tau by ``1 - D`` (Black & Leff 1983, doi:10.1098/rspb.1983.0093; Furchgott 1966);
    the half-maximal concentration ``K/(1 + tau)`` moves accordingly. For a full agonist (tau >> 1) the shift
    tends to ``1/(1 - D)``; a low-efficacy agonist loses Emax instead (see :func:`criterion_shift`).
    """
    t = require_nonnegative("tau", tau)
    d = require_fraction("desensitised", desensitised, allow_one=False)
    return (1.0 + t) / (1.0 + t * (1.0 - d))


def criterion_shift(tau, desensitised, criterion=0.5):
    """Shift of the concentration that reaches a fixed response ``criterion`` (fraction of Em), as in in-vivo
    "ED50" tests that score a fixed effect level: ``C* = K e/(tau - e (1 + tau))`` for ``E = e``, so the shift is
    ``(tau - e (1 + tau)) / (tau' - e (1 + tau'))`` with ``tau' = tau (1 - D)`` (n = 1).

    Infinite when the desensitised agonist can no longer reach the criterion (``tau'/(1 + tau') <= e``): the
    lower the efficacy, the larger the shift - the pattern of the animal data (etorphine-tolerant rats: morphine
    x3, buprenorphine x6, dezocine x9; Analgesia 3:251, 1998).
    """
    t = require_nonnegative("tau", tau)
    d = require_fraction("desensitised", desensitised)
    e = require_fraction("criterion", criterion, allow_zero=False, allow_one=False)
    before = t - e * (1.0 + t)
    if np.any(before <= 0):
        raise PharmsimError(f"an agonist with tau {t} cannot reach the criterion {e} before desensitisation")
    td = t * (1.0 - d)
    after = td - e * (1.0 + td)
    with np.errstate(divide="ignore"):
        return np.where(after > 0, before / np.where(after > 0, after, 1.0), np.inf)


@dataclass(frozen=True)
class ToleranceResult:
    """Time courses (N, T) of the tolerance model on the grid ``t_h``.

    ``desensitised`` D, ``stimulus`` S_G = (1 - D) sum tau_i B_i, ``response`` E = Em S_G/(1 + S_G),
    ``response_naive`` (what E would be with D = 0), ``counter`` W, ``net`` E - W,
    ``withdrawal`` max(W - E, 0).
    """

    t_h: np.ndarray
    desensitised: np.ndarray
    stimulus: np.ndarray
    response: np.ndarray
    response_naive: np.ndarray
    counter: np.ndarray
    net: np.ndarray
    withdrawal: np.ndarray


def steady_state_desensitisation(stimulus, k_des_per_h, k_rec_per_h):
    """Closed-form steady state ``D_ss = k_des S / (k_des S + k_rec)`` for a constant stimulus ``S``."""
    s = require_nonnegative("stimulus", stimulus)
    k_des = require_nonnegative("k_des_per_h", k_des_per_h, "1/h")
    k_rec = require_nonnegative("k_rec_per_h", k_rec_per_h, "1/h")
    rate = k_des * s + k_rec
    if np.any(rate <= 0):
        raise PharmsimError("k_des_per_h * stimulus + k_rec_per_h must be > 0 for a steady state to exist")
    return k_des * s / rate


def desensitisation_stimulus(occupancy, efficacy) -> np.ndarray:
    """``S = sum_i efficacy_i B_i`` over ligands (last axis of ``occupancy``, (..., L)); ``efficacy`` (L,)."""
    b = require_fraction("occupancy", occupancy)
    e = require_nonnegative("efficacy", efficacy)
    if e.shape[-1:] != b.shape[-1:]:
        raise PharmsimError(f"efficacy has {e.shape[-1:]} ligands but occupancy has {b.shape[-1:]}")
    return (b * e).sum(axis=-1)


def _grid(t_h):
    t = np.atleast_1d(require_finite("t_h", t_h, "h"))
    if t.ndim != 1 or t.size < 1 or np.any(np.diff(t) <= 0):
        raise PharmsimError("t_h must be a 1-D array of strictly increasing times in h")
    return t


def _driver(name, value, T):
    x = np.atleast_2d(require_nonnegative(name, value))
    if x.ndim != 2 or x.shape[1] != T:
        raise PharmsimError(f"{name} must have shape (T,) or (N, T) with T = {T} times; got {np.shape(value)}")
    return x


def _relax(t, rate_mean, target_mean, y0):
    """March dy/dt = rate(t) (target(t) - y) with interval means (exact for constant ones); (N, T)."""
    N, T = rate_mean.shape[0], t.size
    y = np.empty((N, T))
    y[:, 0] = y0
    h = np.diff(t)
    decay = np.exp(-rate_mean * h)                                # (N, T-1)
    for k in range(T - 1):
        y[:, k + 1] = target_mean[:, k] + (y[:, k] - target_mean[:, k]) * decay[:, k]
    return y


def desensitisation(t_h, stimulus, k_des_per_h, k_rec_per_h, d0=0.0) -> np.ndarray:
    """Desensitised fraction ``D`` (N, T) for a stimulus ``S`` (T,) or (N, T) on the grid ``t_h``.

    ``dD/dt = k_des S (1 - D) - k_rec D``. On each interval ``S`` is replaced by its trapezoidal mean
    ``s`` and the equation solved exactly: ``D(t+h) = D* + (D(t) - D*) exp(-(k_des s + k_rec) h)`` with
    ``D* = k_des s/(k_des s + k_rec)``.
    """
    t = _grid(t_h)
    S = _driver("stimulus", stimulus, t.size)
    k_des = require_number("k_des_per_h", k_des_per_h, "1/h", minimum=0)
    k_rec = require_number("k_rec_per_h", k_rec_per_h, "1/h", minimum=0)
    d0 = require_fraction("d0", d0)
    s = 0.5 * (S[:, 1:] + S[:, :-1])
    rate = k_des * s + k_rec
    with np.errstate(invalid="ignore", divide="ignore"):
        target = np.where(rate > 0, k_des * s / np.where(rate > 0, rate, 1.0), 0.0)
    return _relax(t, rate, target, np.broadcast_to(d0, (S.shape[0],)))


def counter_adaptation(t_h, response, k_adapt_per_h, adapt_gain, w0=0.0) -> np.ndarray:
    """Opponent process ``W`` (N, T): ``dW/dt = k_adapt (gain E(t) - W)``, same integrator as
    :func:`desensitisation` (trapezoidal mean of ``E`` per interval, exact exponential relaxation)."""
    t = _grid(t_h)
    E = _driver("response", response, t.size)
    k = require_number("k_adapt_per_h", k_adapt_per_h, "1/h", minimum=0)
    g = float(require_fraction("adapt_gain", require_number("adapt_gain", adapt_gain)))
    w0 = require_finite("w0", w0)
    target = g * 0.5 * (E[:, 1:] + E[:, :-1])
    rate = np.full_like(target, k)
    return _relax(t, rate, target, np.broadcast_to(w0, (E.shape[0],)))


class ToleranceStepper:
    """The tolerance model advanced one interval at a time, batched over subjects (the engine's form).

    State per subject: desensitised fraction ``D``, counter-adaptation ``W``, and the previous drivers. Each
    :meth:`step` takes the stimuli at the end of the interval and applies the same exponential integrator as
    :func:`desensitisation` and :func:`counter_adaptation` (trapezoidal means of the drivers; exact for
    piecewise-constant drivers), so :func:`simulate_tolerance` on a grid and the engine on its nodes give the
    same numbers.
    """

    def __init__(self, params: ToleranceParams, s_gprotein, s_des, *, Em=1.0, d0=0.0, w0=0.0):
        self.params = params
        self.Em = np.asarray(Em, dtype=float)       # a number, or one per row of the stimuli
        n = np.shape(s_gprotein)
        self.D = np.broadcast_to(np.asarray(d0, dtype=float), n).astype(float)
        self.s_g = np.asarray(s_gprotein, dtype=float).copy()
        self.s_des = np.asarray(s_des, dtype=float).copy()
        self.E = self._response(self.D, self.s_g)
        self.W = np.broadcast_to(np.asarray(w0, dtype=float), n).astype(float)

    def _response(self, D, s_g):
        S = (1.0 - D) * s_g
        return self.Em * S / (1.0 + S)

    def step(self, h: float, s_gprotein, s_des) -> None:
        """Advance by ``h`` (h) to the end of an interval where the stimuli are ``s_gprotein``, ``s_des``."""
        p = self.params
        s = 0.5 * (self.s_des + s_des)
        rate = p.k_des_per_h * s + p.k_rec_per_h
        with np.errstate(invalid="ignore", divide="ignore"):
            target = np.where(rate > 0, p.k_des_per_h * s / np.where(rate > 0, rate, 1.0), 0.0)
        self.D = target + (self.D - target) * np.exp(-rate * h)
        E_new = self._response(self.D, s_gprotein)
        w_target = p.adapt_gain * 0.5 * (self.E + E_new)
        self.W = w_target + (self.W - w_target) * np.exp(-p.k_adapt_per_h * h)
        self.E = E_new
        self.s_g = np.asarray(s_gprotein, dtype=float)
        self.s_des = np.asarray(s_des, dtype=float)

    def read(self) -> dict[str, np.ndarray]:
        """The read-outs now: desensitised, response, response_naive, counter_adaptation, net_signal, withdrawal."""
        return {"desensitised": self.D, "response": self.E,
                "response_naive": self.Em * self.s_g / (1.0 + self.s_g), "counter_adaptation": self.W,
                "net_signal": self.E - self.W, "withdrawal": np.maximum(self.W - self.E, 0.0)}


def stimuli(params: ToleranceParams, occupancy, tau, arrestin_efficacy=None, efficacy=None):
    """``(S, S_des)`` from occupancies ``(..., L)``: the response stimulus ``S = sum tau_i B_i`` (endpoint taus)
    and the desensitising stimulus of the mechanism (:func:`desensitising_stimulus`) from the receptor-level
    ``S_G = sum eps_i B_i`` (``efficacy``; default ``tau``, i.e. an endpoint of unit gain) and
    ``S_A = sum a_i B_i`` (``arrestin_efficacy``)."""
    s_g = (occupancy * tau).sum(axis=-1)
    s_rec = s_g if efficacy is None else (occupancy * efficacy).sum(axis=-1)
    s_a = None if arrestin_efficacy is None else (occupancy * arrestin_efficacy).sum(axis=-1)
    return s_g, desensitising_stimulus(params, s_rec, s_a)


def simulate_tolerance(t_h, occupancy, tau, params: ToleranceParams, arrestin_efficacy=None,
                       Em: float = 1.0, d0=0.0, w0=0.0, efficacy=None) -> ToleranceResult:
    """Desensitisation, desensitised response and withdrawal read-out from occupancies over time.

    Parameters
    ----------
    t_h : (T,) array
        Grid (h), strictly increasing.
    occupancy : (N, T, L) or (T, L) array
        Fractional occupancies of the L ligands at one receptor (from :mod:`pharmsim.binding`).
    tau : (L,) array
        Transducer ratios of the ligands for the endpoint (operational model, n = 1).
    params : ToleranceParams
        Rates, gain and the named mechanism (e.g. :meth:`pharmsim.catalog.Catalog.tolerance`); required.
    arrestin_efficacy : (L,) array, optional
        Relative beta-arrestin/internalisation efficacy of each ligand; required for
        ``mechanism="arrestin"`` and ``"both"``.
    Em : float
        System maximum of the response.
    d0, w0 : float or (N,) array
        Initial desensitisation and counter-adaptation (default 0: a naive subject).
    efficacy : (L,) array, optional
        Receptor-level G-protein efficacy of each ligand (the desensitising G-protein stimulus is
        ``sum eps_i B_i``); default ``tau`` (an endpoint of unit gain).

    Returns
    -------
    ToleranceResult
        ``E = Em S/(1 + S)`` with ``S = (1 - D) sum_i tau_i B_i``; ``net = E - W``.
    """
    if not isinstance(params, ToleranceParams):
        raise PharmsimError(f"params must be a pharmsim ToleranceParams with a named mechanism (one of "
                            f"{', '.join(map(repr, MECHANISMS))}), e.g. catalog().tolerance('gprotein'); got "
                            f"{type(params).__name__}")
    t = _grid(t_h)
    B = require_fraction("occupancy", occupancy)
    if B.ndim == 2:
        B = B[None]
    if B.ndim != 3 or B.shape[1] != t.size:
        raise PharmsimError(f"occupancy must have shape (N, {t.size}, L); got {np.shape(occupancy)}")
    tau = require_nonnegative("tau", tau)
    if tau.shape != (B.shape[-1],):
        raise PharmsimError(f"tau must have one value per ligand, shape ({B.shape[-1]},); got {tau.shape}")
    Em = require_number("Em", Em, minimum=0)
    if arrestin_efficacy is not None:
        arrestin_efficacy = require_nonnegative("arrestin_efficacy", arrestin_efficacy)
    if efficacy is not None:
        efficacy = require_nonnegative("efficacy", efficacy)
        if efficacy.shape != tau.shape:
            raise PharmsimError(f"efficacy must have one value per ligand, shape {tau.shape}; got {efficacy.shape}")
    s_g, s_des = stimuli(params, B, tau, arrestin_efficacy, efficacy)          # (N, T)
    d0 = require_fraction("d0", d0)
    w0 = require_finite("w0", w0)
    st = ToleranceStepper(params, s_g[:, 0], s_des[:, 0], Em=Em, d0=d0, w0=w0)
    keys = ("desensitised", "response", "response_naive", "counter_adaptation", "net_signal", "withdrawal")
    out = {k: np.empty(s_g.shape) for k in keys}
    for k in range(t.size):
        if k:
            st.step(float(t[k] - t[k - 1]), s_g[:, k], s_des[:, k])
        for name, v in st.read().items():
            out[name][:, k] = v
    S = (1.0 - out["desensitised"]) * s_g
    return ToleranceResult(t, out["desensitised"], S, out["response"], out["response_naive"],
                           out["counter_adaptation"], out["net_signal"], out["withdrawal"])
