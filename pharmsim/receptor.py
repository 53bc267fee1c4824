"""Equilibrium receptor theory: occupancy, competition, the operational model, reserve and Schild.

Closed-form, vectorized (numpy broadcasting) functions over concentrations in nM. Where several
ligands compete for one site they sit along the **last axis** of the concentration array, and their
per-ligand parameters (K, tau) along the last axis of theirs.

Drug and system are kept apart (Black & Leff 1983; Kenakin): a :class:`Ligand` brings its affinity
and its intrinsic efficacy; an :class:`Endpoint` (tissue, readout, clinical effect) brings its gain
(receptor density / transducer constant relative to a reference system), its maximal response Em,
its slope n and the fraction of receptors left after irreversible inactivation (Furchgott 1966).
:func:`tau_at` joins the two, so one ligand can be a partial agonist in a low-gain endpoint and
nearly full in a high-gain one.

References
----------
- Black JW, Leff P (1983) Operational models of pharmacological agonism. Proc R Soc Lond B 220:141-162.
  doi:10.1098/rspb.1983.0093
- Gaddum JH (1937) The quantitative effects of antagonistic drugs. J Physiol 89:7P-9P.
- Schild HO (1949) pAx and competitive drug antagonism. Br J Pharmacol Chemother 4:277-280.
- Arunlakshana O, Schild HO (1959) Some quantitative uses of drug antagonists. Br J Pharmacol 14:48-58.
  doi:10.1111/j.1476-5381.1959.tb00928.x
- Furchgott RF (1966) The use of beta-haloalkylamines in the differentiation of receptors and in the
  determination of dissociation constants of receptor-agonist complexes. Adv Drug Res 3:21-55.
- Black JW, Leff P, Shankley NP, Wood J (1985) Br J Pharmacol 84:561-571 (operational model under
  receptor depletion, non-hyperbolic curves). doi:10.1111/j.1476-5381.1985.tb12941.x
- Kenakin T (2009) A Pharmacology Primer, 3rd ed. Academic Press (drug vs system parameters).

Not for: binding kinetics over time (see :mod:`pharmsim.binding`), parameter values and their
sources (see :mod:`pharmsim.library`), or figures (see :mod:`pharmsim.plots`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np
from scipy.special import expit

from .validate import (
    PharmsimError,
    require_finite,
    require_fraction,
    require_nonnegative,
    require_number,
    require_positive,
)

__all__ = [
    "Ligand",
    "Endpoint",
    "tau_at",
    "hill_occupancy",
    "gaddum_occupancy",
    "operational_response",
    "operational_mixture",
    "response_from_occupancy",
    "endpoint_response",
    "operational_ec50_emax",
    "endpoint_ec50_emax",
    "tau_from_emax",
    "K_A_from_ec50",
    "schild_dose_ratio",
    "antagonist_shifted_ec50",
    "furchgott_tau",
    "affinity_table",
]

#: Tolerance on total occupancy above 1 accepted by :func:`response_from_occupancy` (round-off from
#: a numerical binding solver); values are used as given, never clipped.
OCCUPANCY_TOLERANCE = 1e-9


# --------------------------------------------------------------------------------------------------
# internal helpers
# --------------------------------------------------------------------------------------------------


def _hill_fraction(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """x^n / (1 + x^n) for x >= 0, n > 0, without overflow or division warnings.

    For x <= 1 computes x^n/(1+x^n); for x > 1 the equivalent 1/(1 + (1/x)^n).
    """
    x, n = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(n, dtype=float))
    small = x <= 1.0
    xs = np.where(small, x, 0.0) ** n
    xl = np.where(small, 1.0, x)
    inv = (1.0 / xl) ** n
    return np.where(small, xs / (1.0 + xs), 1.0 / (1.0 + inv))


def _ligand_axis(conc_name: str, conc: np.ndarray, par_name: str, par: np.ndarray) -> None:
    """Require conc (..., L) and par (..., L) (or scalar) to agree on the ligand axis and broadcast."""
    if conc.ndim == 0:
        raise PharmsimError(
            f"{conc_name} must have a last axis of ligands, shape (..., L); got a scalar {conc.item()!r}"
        )
    if par.ndim > 0 and par.shape[-1] != conc.shape[-1]:
        raise PharmsimError(
            f"{par_name} must have one value per ligand (last axis length {conc.shape[-1]}, as in "
            f"{conc_name} of shape {conc.shape}); got shape {par.shape}"
        )
    _broadcast(conc_name, conc, par_name, par)


def _broadcast(*pairs) -> tuple[int, ...]:
    names = pairs[0::2]
    arrays = pairs[1::2]
    try:
        return np.broadcast_shapes(*(np.shape(a) for a in arrays))
    except ValueError:
        shapes = ", ".join(f"{n} {np.shape(a)}" for n, a in zip(names, arrays, strict=True))
        raise PharmsimError(f"shapes must broadcast together; got {shapes}") from None


def _scalar_or_array(x: np.ndarray):
    return x.item() if np.ndim(x) == 0 else x


# --------------------------------------------------------------------------------------------------
# drug and system
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ligand:
    """A drug at one receptor: affinity, intrinsic efficacy and binding kinetics, with their sources.

    The one ligand object of pharmsim: the receptor theory functions use ``K_nM`` and ``efficacy``; the
    simulator also uses the rate constants; tables and figures show the binding Ki beside the K in use and
    say which K it is (``K_kind``) and where every number comes from (``sources``).

    Parameters
    ----------
    name : str
        Compound id, e.g. ``"7-OH-MG"``.
    K_nM : float
        Equilibrium dissociation constant used for occupancy and the operational model, nM (> 0): the
        operational K_A (agonist) or K_B (antagonist). For kinetic binding it must equal ``koff/kon``.
    efficacy : float
        Intrinsic efficacy expressed as the operational tau the ligand would have in a reference system
        of unit gain (>= 0). 0 is a neutral competitive antagonist. In an endpoint of gain g with a
        fraction q of receptors left, tau = efficacy * g * q (see :func:`tau_at`).
    receptor : str or None
        Receptor the values belong to (``"MOR"``, ``"DOR"`` ...). If given, :func:`tau_at` refuses an
        endpoint at another receptor.
    source : str or None
        A short label of where K and efficacy come from (figure legends).
    kon_per_nM_per_h, koff_per_h : float or None
        Association (1/(nM*h)) and dissociation (1/h) rate constants for kinetic binding; None for a ligand
        used only at equilibrium. Given both, ``K_nM`` must equal ``koff/kon`` (relative 1e-9).
    arrestin_efficacy : float or None
        Relative beta-arrestin / internalisation efficacy (drives arrestin-mediated desensitisation).
    Ki_nM : float or None
        The binding Ki (radioligand displacement), shown beside ``K_nM`` when they differ.
    K_kind : str
        What ``K_nM`` is: ``"functional K_A (in vitro)"`` (from EC50 and tau of one assay), ``"in-vivo K_A (human
        C50 anchor)"``, ``"binding Ki"``, ``"functional K_B"``, ``"in-vivo KD"``, ``"kinetic KD (koff/kon)"``,
        ``"K"`` (given directly).
    sources : mapping
        ``{'K': ..., 'Ki': ..., 'efficacy': ..., 'kinetics': ..., 'arrestin_efficacy': ...}``.
    affinities : mapping
        Every equilibrium constant the library holds for this ligand at this receptor, ``{kind: K in nM}`` on the
        unbound basis (binding Ki, functional K_A, ...), shown beside the one in use
        (:func:`affinity_table`); not used in any calculation.
    """

    name: str
    K_nM: float
    efficacy: float
    receptor: str | None = None
    source: str | None = None
    kon_per_nM_per_h: float | None = None
    koff_per_h: float | None = None
    arrestin_efficacy: float | None = None
    Ki_nM: float | None = None
    K_kind: str = "K"
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)
    affinities: Mapping[str, float] = field(default_factory=dict, compare=False)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise PharmsimError(f"Ligand.name must be a non-empty string; got {self.name!r}")
        label = f"Ligand({self.name!r})"
        K = require_positive(f"{label}.K_nM", self.K_nM, "nM")
        eff = _scalar_efficacy(label, self.efficacy)
        if K.ndim:
            raise PharmsimError(f"{label}.K_nM must be a single number; got K_nM={self.K_nM!r}")
        object.__setattr__(self, "K_nM", float(K))
        object.__setattr__(self, "efficacy", eff)
        if self.receptor is not None and (not isinstance(self.receptor, str) or not self.receptor):
            raise PharmsimError(f"Ligand.receptor must be a non-empty string or None; got {self.receptor!r}")
        for name in ("kon_per_nM_per_h", "koff_per_h", "arrestin_efficacy", "Ki_nM"):
            v = getattr(self, name)
            if v is not None:
                arr = (require_positive if name == "Ki_nM" else require_nonnegative)(f"{label}.{name}", v)
                if arr.ndim:
                    raise PharmsimError(f"{label}.{name} must be a single number; got {v!r}")
                object.__setattr__(self, name, float(arr))
        kon, koff = self.kon_per_nM_per_h, self.koff_per_h
        if (kon is None) != (koff is None):
            raise PharmsimError(f"{label}: give both kon_per_nM_per_h and koff_per_h (kinetic binding) or neither; "
                                f"got kon={kon!r}, koff={koff!r}")
        if kon is not None:
            if kon <= 0 or koff <= 0:
                raise PharmsimError(f"{label}: kon_per_nM_per_h and koff_per_h must be > 0 for kinetic binding; "
                                    f"got kon={kon!r}, koff={koff!r}")
            if abs(koff / kon - self.K_nM) > 1e-9 * self.K_nM:
                raise PharmsimError(f"{label}: K_nM ({self.K_nM!r} nM) must equal koff/kon = {koff / kon!r} nM for "
                                    "kinetic binding; build it with Ligand.with_kinetics")
        object.__setattr__(self, "sources", MappingProxyType(dict(self.sources)))
        affs = {}
        for kind, value in dict(self.affinities).items():
            v = require_positive(f"{label}.affinities[{kind!r}]", value, "nM")
            affs[str(kind)] = float(v)
        object.__setattr__(self, "affinities", MappingProxyType(affs))

    @property
    def compound(self) -> str:
        """The compound id (same as ``name``)."""
        return self.name

    @property
    def is_antagonist(self) -> bool:
        """True if the intrinsic efficacy is zero (neutral competitive antagonist)."""
        return self.efficacy == 0.0

    @property
    def has_kinetics(self) -> bool:
        return self.kon_per_nM_per_h is not None

    def with_kinetics(self, koff_per_h: float, kon_per_nM_per_h: float | None = None, source: str = "") -> Ligand:
        """This ligand with binding rate constants: ``kon = koff/K`` when ``kon`` is not given; with both,
        ``K`` becomes ``koff/kon`` (``K_kind`` then says so)."""
        koff = require_number(f"Ligand({self.name!r}).koff_per_h", koff_per_h, "1/h", minimum=0,
                              strict=True)
        src = dict(self.sources)
        if source:
            src["kinetics"] = source
        if kon_per_nM_per_h is None:
            return replace(self, kon_per_nM_per_h=koff / self.K_nM, koff_per_h=koff, sources=src)
        kon = require_number(f"Ligand({self.name!r}).kon_per_nM_per_h", kon_per_nM_per_h, "1/(nM*h)",
                             minimum=0, strict=True)
        return replace(self, K_nM=koff / kon, kon_per_nM_per_h=kon, koff_per_h=koff,
                       K_kind="kinetic KD (koff/kon)", sources=src)

    def at_equilibrium(self) -> Ligand:
        """This ligand without rate constants (equilibrium binding)."""
        return replace(self, kon_per_nM_per_h=None, koff_per_h=None)


def _scalar_efficacy(label: str, value) -> float:
    eff = require_finite(f"{label}.efficacy", value)
    if eff.ndim:
        raise PharmsimError(f"{label}.efficacy must be a single number; got efficacy={value!r}")
    if eff < 0:
        raise PharmsimError(f"{label}.efficacy must be >= 0 (0 = neutral competitive antagonist); got {float(eff)!r}. "
                            "Inverse agonism (negative efficacy) is not modelled")
    return float(eff)


@dataclass(frozen=True)
class Endpoint:
    """A system (tissue, assay readout or clinical effect) in which a receptor's occupancy is transduced.

    Parameters
    ----------
    name : str
        E.g. ``"analgesia"``, ``"respiratory_depression"``, ``"GTPgS (CHO-hMOR)"``.
    receptor : str
        The receptor whose activation this endpoint reads (``"MOR"``, ``"DOR"`` ...).
    gain : float
        Receptor density / transducer constant relative to the reference system in which ligand
        efficacies are expressed (R0/K_E relative; > 0). High gain = large receptor reserve.
    Em : float
        Maximal response of the system (> 0), in the endpoint's own units.
    n : float
        Slope of the transducer function (> 0).
    receptor_fraction : float
        Fraction of functional receptors remaining after irreversible inactivation (Furchgott 1966),
        in (0, 1]; 1 means no depletion.
    """

    name: str
    receptor: str
    gain: float = 1.0
    Em: float = 1.0
    n: float = 1.0
    receptor_fraction: float = 1.0

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise PharmsimError(f"Endpoint.name must be a non-empty string; got {self.name!r}")
        if not isinstance(self.receptor, str) or not self.receptor:
            raise PharmsimError(f"Endpoint({self.name!r}).receptor must be a non-empty string; got {self.receptor!r}")
        label = f"Endpoint({self.name!r})"
        for name, value in (("gain", self.gain), ("Em", self.Em), ("n", self.n)):
            arr = require_positive(f"{label}.{name}", value)
            if arr.ndim:
                raise PharmsimError(f"{label}.{name} must be a single number; got {value!r}")
            object.__setattr__(self, name, float(arr))
        q = require_fraction(f"{label}.receptor_fraction", self.receptor_fraction, allow_zero=False)
        if q.ndim:
            raise PharmsimError(f"{label}.receptor_fraction must be a single number; got {self.receptor_fraction!r}")
        object.__setattr__(self, "receptor_fraction", float(q))

    def depleted(self, fraction_remaining: float) -> Endpoint:
        """This endpoint after irreversible loss of receptors: ``receptor_fraction`` multiplied by
        ``fraction_remaining`` (in (0, 1]; Furchgott 1966)."""
        q = require_fraction("fraction_remaining", fraction_remaining, allow_zero=False)
        return replace(self, receptor_fraction=self.receptor_fraction * float(q))


def affinity_table(ligands):
    """The binding Ki and the operational constants of each ligand side by side, with the one in use named.

    One row per ligand: ``compound``, ``receptor``, ``K_in_use_nM``, ``K_kind`` (what that K is), one column per
    kind in ``Ligand.affinities`` (``'binding Ki'``, ``'functional K_A (in vitro)'``, ``'in-vivo K_A (human C50
    anchor)'``, ...; NaN where the library has none), ``efficacy`` and ``source`` (the ligand's label). A binding
    Ki (radioligand displacement) and an operational K_A (from a concentration-response curve) are different
    numbers; the table never lets one pass for the other.
    """
    import pandas as pd  # noqa: PLC0415

    ligands = _as_ligands(ligands)
    kinds = list(dict.fromkeys(k for lig in ligands for k in lig.affinities))
    rows = []
    for lig in ligands:
        row = {"compound": lig.name, "receptor": lig.receptor or "-", "K_in_use_nM": lig.K_nM, "K_kind": lig.K_kind}
        for k in kinds:
            row[f"{k} (nM)"] = lig.affinities.get(k, np.nan)
        if lig.Ki_nM is not None and "binding Ki" not in lig.affinities:
            row["binding Ki (nM)"] = lig.Ki_nM
        row["efficacy"] = lig.efficacy
        row["source"] = lig.source or ""
        rows.append(row)
    return pd.DataFrame(rows)


def tau_at(ligand: Ligand, endpoint: Endpoint) -> float:
    """Operational tau of ``ligand`` in ``endpoint``.

    tau = efficacy * gain * receptor_fraction, i.e. tau = epsilon * R0 / K_E with the receptor density
    scaled by the fraction left after irreversible inactivation (Black & Leff 1983,
    doi:10.1098/rspb.1983.0093; Furchgott 1966).

    Raises
    ------
    PharmsimError
        If the ligand names a receptor other than the endpoint's.
    """
    if not isinstance(ligand, Ligand):
        raise PharmsimError(f"ligand must be a pharmsim.receptor.Ligand; got {type(ligand).__name__}")
    if not isinstance(endpoint, Endpoint):
        raise PharmsimError(f"endpoint must be a pharmsim.receptor.Endpoint; got {type(endpoint).__name__}")
    if ligand.receptor is not None and ligand.receptor != endpoint.receptor:
        raise PharmsimError(
            f"ligand {ligand.name!r} has values for receptor {ligand.receptor!r}; endpoint "
            f"{endpoint.name!r} reads receptor {endpoint.receptor!r}"
        )
    return ligand.efficacy * endpoint.gain * endpoint.receptor_fraction


# --------------------------------------------------------------------------------------------------
# occupancy
# --------------------------------------------------------------------------------------------------


def hill_occupancy(conc_nM, K_nM, hill=1.0):
    """Fractional occupancy of one ligand (Hill-Langmuir).

    p = C^n / (C^n + K^n)

    Parameters
    ----------
    conc_nM : array_like
        Free ligand concentration C, nM (>= 0).
    K_nM : array_like
        Equilibrium dissociation constant K, nM (> 0); concentration at half occupancy.
    hill : array_like
        Hill slope n (> 0); 1 for simple mass-action binding.

    Returns
    -------
    ndarray or float
        Occupancy in [0, 1], broadcast shape of the inputs.

    Notes
    -----
    Hill AV (1910) J Physiol 40:iv-vii; Langmuir I (1918) J Am Chem Soc 40:1361.
    """
    C = require_nonnegative("conc_nM", conc_nM, "nM")
    K = require_positive("K_nM", K_nM, "nM")
    n = require_positive("hill", hill)
    _broadcast("conc_nM", C, "K_nM", K, "hill", n)
    return _scalar_or_array(_hill_fraction(C / K, n))


def gaddum_occupancy(conc_nM, K_nM):
    """Occupancies of several ligands competing for one site at equilibrium (Gaddum 1937).

    p_i = (C_i / K_i) / (1 + sum_j C_j / K_j);  sum_i p_i <= 1.

    Parameters
    ----------
    conc_nM : array_like, shape (..., L)
        Free concentrations, nM (>= 0); ligands along the last axis.
    K_nM : array_like, shape (L,) or broadcastable (..., L)
        Dissociation constants, nM (> 0), one per ligand.

    Returns
    -------
    ndarray, shape (..., L)
        Occupancy of each ligand.

    Notes
    -----
    Gaddum JH (1937) J Physiol 89:7P-9P; see also Kenakin (2009) A Pharmacology Primer, ch. 4.
    """
    C = require_nonnegative("conc_nM", conc_nM, "nM")
    K = require_positive("K_nM", K_nM, "nM")
    _ligand_axis("conc_nM", C, "K_nM", K)
    x = C / K
    return x / (1.0 + x.sum(axis=-1, keepdims=True))


# --------------------------------------------------------------------------------------------------
# operational model
# --------------------------------------------------------------------------------------------------


def _check_Em_n(Em, n):
    return require_positive("Em", Em), require_positive("n", n)


def operational_response(conc_nM, K_A_nM, tau, Em=1.0, n=1.0):
    """Response to one agonist, operational model (Black & Leff 1983).

    E = Em tau^n C^n / ((K_A + C)^n + tau^n C^n)

    For n = 1: E = Em tau C / (K_A + (1 + tau) C), so EC50 = K_A/(1 + tau), Emax = Em tau/(1 + tau).

    Parameters
    ----------
    conc_nM : array_like
        Agonist concentration C, nM (>= 0).
    K_A_nM : array_like
        Agonist dissociation constant K_A, nM (> 0).
    tau : array_like
        Transducer ratio tau = R0/K_E (>= 0); 0 gives no response.
    Em : array_like
        System maximal response (> 0).
    n : array_like
        Transducer slope (> 0).

    Returns
    -------
    ndarray or float
        Response in [0, Em tau^n/(1 + tau^n)].

    Notes
    -----
    Black JW, Leff P (1983) Proc R Soc Lond B 220:141-162, doi:10.1098/rspb.1983.0093.
    Computed as Em S^n/(1 + S^n) with stimulus S = tau C/(K_A + C), which is the same expression.
    """
    C = require_nonnegative("conc_nM", conc_nM, "nM")
    K = require_positive("K_A_nM", K_A_nM, "nM")
    t = require_nonnegative("tau", tau)
    Em, n = _check_Em_n(Em, n)
    _broadcast("conc_nM", C, "K_A_nM", K, "tau", t, "Em", Em, "n", n)
    S = t * (C / (K + C))
    return _scalar_or_array(Em * _hill_fraction(S, n))


def response_from_occupancy(occupancy, tau, Em=1.0, n=1.0):
    """Operational-model response from given occupancies (e.g. from kinetic binding).

    S = sum_i tau_i p_i ;  E = Em S^n / (S^n + 1)

    Parameters
    ----------
    occupancy : array_like, shape (..., L)
        Fractional occupancy of each ligand (each in [0, 1], total <= 1 within 1e-9); ligands along
        the last axis. Values are used as given, never clipped.
    tau : array_like, shape (L,) or broadcastable (..., L)
        Transducer ratio of each ligand in this system (>= 0; 0 = antagonist).
    Em, n : array_like
        System maximal response (> 0) and transducer slope (> 0); must broadcast with the leading
        axes (...) of ``occupancy``.

    Returns
    -------
    ndarray, shape (...)
        Response.

    Notes
    -----
    Black & Leff (1983) doi:10.1098/rspb.1983.0093, extended to several ligands acting at one receptor
    population by summing stimuli (Kenakin 2009, A Pharmacology Primer).
    """
    p = require_fraction("occupancy", occupancy)
    t = require_nonnegative("tau", tau)
    _ligand_axis("occupancy", p, "tau", t)
    total = p.sum(axis=-1)
    if np.any(total > 1.0 + OCCUPANCY_TOLERANCE):
        raise PharmsimError(
            f"occupancy must sum to at most 1 over ligands (last axis); got a total of {float(total.max()):.6g}"
        )
    Em, n = _check_Em_n(Em, n)
    S = (t * p).sum(axis=-1)
    _broadcast("occupancy (leading axes)", S, "Em", Em, "n", n)
    return _scalar_or_array(Em * _hill_fraction(S, n))


def operational_mixture(conc_nM, K_nM, tau, Em=1.0, n=1.0):
    """Response to any mix of agonists, partial agonists and antagonists at one receptor.

    p_i = (C_i/K_i)/(1 + sum_j C_j/K_j)  (Gaddum);  S = sum_i tau_i p_i;  E = Em S^n / (S^n + 1).

    Parameters
    ----------
    conc_nM : array_like, shape (..., L)
        Concentrations, nM (>= 0); ligands along the last axis.
    K_nM : array_like, shape (L,) or broadcastable (..., L)
        Dissociation constants, nM (> 0).
    tau : array_like, shape (L,) or broadcastable (..., L)
        Transducer ratios in this system (>= 0; 0 = competitive antagonist).
    Em, n : array_like
        System maximal response (> 0) and slope (> 0).

    Returns
    -------
    ndarray, shape (...)
        Response.

    Notes
    -----
    Black & Leff (1983) doi:10.1098/rspb.1983.0093; Gaddum (1937). With one ligand this equals
    :func:`operational_response`; with an agonist and a tau = 0 ligand the agonist curve shifts by
    the Schild dose ratio 1 + B/K_B (Arunlakshana & Schild 1959, doi:10.1111/j.1476-5381.1959.tb00928.x).
    """
    C = require_nonnegative("conc_nM", conc_nM, "nM")
    K = require_positive("K_nM", K_nM, "nM")
    t = require_nonnegative("tau", tau)
    _ligand_axis("conc_nM", C, "K_nM", K)
    _ligand_axis("conc_nM", C, "tau", t)
    Em, n = _check_Em_n(Em, n)
    x = C / K
    S = (t * x).sum(axis=-1) / (1.0 + x.sum(axis=-1))
    _broadcast("conc_nM (leading axes)", S, "Em", Em, "n", n)
    return _scalar_or_array(Em * _hill_fraction(S, n))


def endpoint_response(conc_nM, ligands, endpoint: Endpoint):
    """Response of ``endpoint`` to ligands at concentrations ``conc_nM`` (..., L).

    Uses :func:`operational_mixture` with K_i = ligand.K_nM and tau_i = :func:`tau_at`.

    Parameters
    ----------
    conc_nM : array_like, shape (..., L)
        Concentrations, nM, in the order of ``ligands``.
    ligands : sequence of Ligand
        The L ligands.
    endpoint : Endpoint
        The system (gain, Em, n, receptor fraction).
    """
    ligands = _as_ligands(ligands)
    K = np.array([lig.K_nM for lig in ligands])
    t = np.array([tau_at(lig, endpoint) for lig in ligands])
    return operational_mixture(conc_nM, K, t, endpoint.Em, endpoint.n)


def _as_ligands(ligands) -> tuple[Ligand, ...]:
    if isinstance(ligands, Ligand):
        return (ligands,)
    if isinstance(ligands, (str, bytes)) or not isinstance(ligands, Iterable):
        raise PharmsimError(f"ligands must be a Ligand or a sequence of pharmsim.receptor.Ligand; got "
                            f"{type(ligands).__name__} {ligands!r}"[:200])
    ligands = tuple(ligands)
    if not ligands:
        raise PharmsimError("ligands must contain at least one Ligand; got an empty sequence")
    for i, lig in enumerate(ligands):
        if not isinstance(lig, Ligand):
            raise PharmsimError(f"ligands[{i}] must be a pharmsim.receptor.Ligand; got {lig!r}")
    return ligands


# --------------------------------------------------------------------------------------------------
# helpers: EC50/Emax, tau, Schild, Furchgott
# --------------------------------------------------------------------------------------------------


def operational_ec50_emax(K_A_nM, tau, Em=1.0, n=1.0):
    """EC50 and Emax of the operational model, closed form for any slope n.

    EC50 = K_A / ((2 + tau^n)^(1/n) - 1);  Emax = Em tau^n / (1 + tau^n).

    For n = 1: EC50 = K_A/(1 + tau) and Emax = Em tau/(1 + tau).

    Parameters
    ----------
    K_A_nM : array_like
        Agonist dissociation constant, nM (> 0).
    tau : array_like
        Transducer ratio (>= 0). At tau = 0 Emax is 0 and the EC50 returned is its limit as tau -> 0
        (K_A/(2^(1/n) - 1)), the midpoint of a vanishing curve.
    Em, n : array_like
        System maximum (> 0) and slope (> 0).

    Returns
    -------
    (EC50_nM, Emax)
        EC50 in nM and Emax in the units of Em.

    Notes
    -----
    Black & Leff (1983) doi:10.1098/rspb.1983.0093, eqs for the midpoint and asymptote of
    E = Em tau^n C^n / ((K_A + C)^n + tau^n C^n).
    """
    K = require_positive("K_A_nM", K_A_nM, "nM")
    t = require_nonnegative("tau", tau)
    Em, n = _check_Em_n(Em, n)
    _broadcast("K_A_nM", K, "tau", t, "Em", Em, "n", n)
    # in logs, so that a steep slope (large n) cannot overflow tau^n: log(2 + tau^n) = logaddexp(log 2, n log tau)
    # and tau^n / (1 + tau^n) = expit(n log tau)
    with np.errstate(divide="ignore"):
        n_log_t = n * np.log(t)                    # -inf where tau = 0
    ec50 = K / np.expm1(np.logaddexp(np.log(2.0), n_log_t) / n)
    emax = Em * expit(n_log_t)
    return _scalar_or_array(ec50), _scalar_or_array(emax)


def endpoint_ec50_emax(ligand: Ligand, endpoint: Endpoint):
    """(EC50_nM, Emax) of one ligand alone in ``endpoint`` (see :func:`operational_ec50_emax`)."""
    tau = tau_at(ligand, endpoint)                 # checks the types of both
    return operational_ec50_emax(ligand.K_nM, tau, endpoint.Em, endpoint.n)


def tau_from_emax(emax_fraction, n=1.0):
    """Transducer ratio tau from a maximal response expressed as a fraction of the system maximum Em.

    tau = (e / (1 - e))^(1/n),  e = Emax/Em in [0, 1).

    Parameters
    ----------
    emax_fraction : array_like
        Emax / Em, in [0, 1). A published "% of DAMGO" equals Emax/Em only if the reference agonist
        reaches the system maximum in that assay (usually an approximation; say so in the provenance).
    n : array_like
        Transducer slope (> 0).

    Notes
    -----
    Inverse of Emax = Em tau^n/(1 + tau^n) (Black & Leff 1983, doi:10.1098/rspb.1983.0093).
    """
    e = require_fraction("emax_fraction", emax_fraction, allow_one=False)
    n = require_positive("n", n)
    _broadcast("emax_fraction", e, "n", n)
    return _scalar_or_array((e / (1.0 - e)) ** (1.0 / n))


def K_A_from_ec50(ec50_nM, tau, n=1.0):
    """Agonist dissociation constant K_A from a functional EC50 and tau.

    K_A = EC50 ((2 + tau^n)^(1/n) - 1);  for n = 1, K_A = EC50 (1 + tau).

    Parameters
    ----------
    ec50_nM : array_like
        EC50, nM (> 0).
    tau : array_like
        Transducer ratio (> 0; a ligand with tau = 0 has no EC50).
    n : array_like
        Transducer slope (> 0).

    Notes
    -----
    Inverse of :func:`operational_ec50_emax` (Black & Leff 1983, doi:10.1098/rspb.1983.0093).
    """
    ec50 = require_positive("ec50_nM", ec50_nM, "nM")
    t = require_positive("tau", tau)
    n = require_positive("n", n)
    _broadcast("ec50_nM", ec50, "tau", t, "n", n)
    # log(2 + tau^n) in logs, so that a steep slope cannot overflow tau^n (see operational_ec50_emax)
    return _scalar_or_array(ec50 * np.expm1(np.logaddexp(np.log(2.0), n * np.log(t)) / n))


def schild_dose_ratio(B_nM, K_B_nM):
    """Dose ratio produced by a competitive antagonist (Schild).

    r = 1 + [B]/K_B   (for several competitive antagonists at one site, r = 1 + sum_j [B_j]/K_Bj).

    Parameters
    ----------
    B_nM : array_like
        Antagonist concentration, nM (>= 0).
    K_B_nM : array_like
        Antagonist dissociation constant, nM (> 0).

    Notes
    -----
    Schild HO (1949) Br J Pharmacol Chemother 4:277-280; Arunlakshana O,
    Schild HO (1959) Br J Pharmacol 14:48, doi:10.1111/j.1476-5381.1959.tb00928.x.
    """
    B = require_nonnegative("B_nM", B_nM, "nM")
    KB = require_positive("K_B_nM", K_B_nM, "nM")
    _broadcast("B_nM", B, "K_B_nM", KB)
    return _scalar_or_array(1.0 + B / KB)


def antagonist_shifted_ec50(K_A_nM, tau, B_nM, K_B_nM, n=1.0):
    """EC50 of an agonist in the presence of a competitive (tau = 0) antagonist.

    EC50' = EC50 (1 + [B]/K_B), EC50 = K_A/((2 + tau^n)^(1/n) - 1); Emax is unchanged.

    With Gaddum competition the agonist's occupancy is C/(C + K_A(1 + B/K_B)), so the whole
    operational curve moves right by the Schild dose ratio for any tau and n.

    Returns
    -------
    ndarray or float
        Shifted EC50, nM.

    Notes
    -----
    Black & Leff (1983) doi:10.1098/rspb.1983.0093; Arunlakshana & Schild (1959)
    doi:10.1111/j.1476-5381.1959.tb00928.x.
    """
    ec50, _ = operational_ec50_emax(K_A_nM, tau, 1.0, n)
    r = schild_dose_ratio(B_nM, K_B_nM)
    _broadcast("K_A_nM/tau/n", ec50, "B_nM/K_B_nM", r)
    return _scalar_or_array(np.asarray(ec50) * np.asarray(r))


def furchgott_tau(tau, fraction_remaining):
    """Transducer ratio after irreversible inactivation of receptors (Furchgott 1966).

    tau' = q tau, with q the fraction of receptors remaining (R0' = q R0, tau = R0/K_E).

    Parameters
    ----------
    tau : array_like
        Transducer ratio before depletion (>= 0).
    fraction_remaining : array_like
        q in (0, 1].

    Notes
    -----
    Furchgott RF (1966) Adv Drug Res 3:21-55; in operational terms Black & Leff (1983)
    doi:10.1098/rspb.1983.0093; Black, Leff, Shankley & Wood (1985) doi:10.1111/j.1476-5381.1985.tb12941.x.
    A full agonist with a large reserve (tau >> 1) keeps its Emax and
    shifts right after modest depletion; once q tau is near 1 it becomes partial.
    """
    t = require_nonnegative("tau", tau)
    q = require_fraction("fraction_remaining", fraction_remaining, allow_zero=False)
    _broadcast("tau", t, "fraction_remaining", q)
    return _scalar_or_array(t * q)
