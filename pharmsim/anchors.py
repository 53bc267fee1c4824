"""In-vivo pharmacodynamic anchors: the receptor framework against clinical and animal data (issue 11).

Each anchor is a :class:`pharmsim.qualification.Comparison` (published value, spread, criterion, in-sample or
out-of-sample, and a function that simulates the quantity through the public API with the library's defaults),
so the anchors run in ``tests/validation/test_anchors_*.py`` and can be listed by ``pharmsim validate``
beside the PK comparisons (:func:`comparisons`; the failures that are kept visible are in :data:`KNOWN_FAILURES`,
each with its reason).

The anchors, and what each one tests:

- **Buprenorphine's respiratory ceiling, fentanyl's none** (Dahan 2005 Br J Anaesth 94:825,
  doi:10.1093/bja/aei145; Dahan 2006 Br J Anaesth 96:627, doi:10.1093/bja/ael051). The 50 % ceiling set
  buprenorphine's efficacy (in-sample); the flat dose-response above 3 ug/kg, fentanyl's rise beyond it, the time
  of the peak and the analgesia-respiration contrast are tested against it.
- **Buprenorphine's slow offset and resistance to naloxone** (Yassen 2007 Clin Pharmacokinet 46:965,
  doi:10.2165/00003088-200746110-00004; van Dorp 2006 as summarised by Dahan 2006 Palliat Med, PMID 16764215).
- **Morphine's respiratory C50** (Dahan 2004 Anesthesiology 101:1201, PMID 15505457; in-sample: the respiratory
  gain is derived from it) and **fentanyl's** (Algera 2021 Clin Pharmacol Ther, doi:10.1002/cpt.2027; in-sample:
  fentanyl's K is anchored to it).
- **Fentanyl : morphine potency** (equianalgesic parenteral doses 0.1 : 10 mg; out-of-sample).
- **Tolerance under each mechanism** (calibration on Ekblom 1993; Algera 2021's 4.3-fold C50 shift in chronic
  users; animal morphine ED50 shifts; 7-OH-MG tolerance in mice, Matsumoto 2005; SNC80 desensitisation in cells,
  Malatynska 1996).

Doses here are those of the published studies, used to compare the model with them: for teaching and research,
not dosing advice.

Not for: PK comparisons (:mod:`pharmsim.qualification`), or choosing parameter values (:mod:`pharmsim.catalog`).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .qualification import Comparison

__all__ = ["KNOWN_FAILURES", "comparisons", "peak_response", "simulate_response"]

#: Body weight (kg) of the per-kg doses of Dahan 2005 (the study reports ug/kg; 70 kg as in Dahan 2006's mg/70 kg).
BODY_WEIGHT_KG = 70.0

#: Out-of-sample anchors that fail with the current defaults, and why (kept visible, never tuned away).
KNOWN_FAILURES = {
    "dahan2005.fentanyl.apnoea_at_2.9ugkg": (
        "the operational model with transducer slope n = 1 (which the tolerance model requires) approaches full "
        "depression only asymptotically: at 2.9 ug/kg fentanyl reaches about 82 % of apnoea; human ventilation falls "
        "more steeply with concentration (the respiratory C50 models use gamma > 1)"),
    "dahan2006.buprenorphine.analgesia_rises_more_than_respiration": (
        "one gain serves analgesia and respiration (Dahan 2004's common C50 for morphine), so buprenorphine's "
        "analgesic and respiratory responses have the same shape; Dahan 2006 saw analgesia rise 5.5-fold from 0.2 to "
        "0.4 mg while respiration did not - the endpoints differ in a way one gain per endpoint cannot carry"),
    "vandorp2006.naloxone.reversal_at_2.5mg": (
        "with Yassen 2007's koff (t1/2 40 min) only about half of the buprenorphine bound can dissociate during a "
        "30-min naloxone infusion, so the model's reversal saturates near 60 %; van Dorp found 80 % at 2.5 mg (the "
        "timing of the infusion relative to buprenorphine is an assumption here)"),
    "algera2021.fentanyl.respiratory_C50_from_in_vitro": (
        "fentanyl's only receptor-level numbers come from an amplified whole-cell cAMP assay (mouse MOR; EC50 "
        "0.15 nM) read on the GTPgammaS/BRET efficacy scale of morphine and the kratom alkaloids: with the "
        "respiratory gain from morphine they predict a C50 about 5 times too low. The model reconciles them by "
        "anchoring fentanyl's K to the human C50 (the default, affinity='functional'); both K are shown side by "
        "side"),
    "matsumoto2005.7-OH-MG.tolerance.arrestin": (
        "arrestin-driven desensitisation gives 7-OH-MG, which recruits no detectable beta-arrestin (Kruegel 2016), no "
        "tolerance at all; Matsumoto 2005 found tolerance to 7-OH-MG developing as it does to morphine"),
}


# ------------------------------------------------------------------------------------------- simulations
def simulate_response(doses, endpoint: str, t_h, *, binding: str = "kinetic", tolerance=False, library=None):
    """The (T,) response of ``endpoint`` of one typical subject to ``doses`` (public API: build_model + simulate)."""
    from .model import build_model
    from .solve import simulate

    model = build_model(doses, receptors=("MOR",), binding=binding, tolerance=tolerance, library=library)
    return simulate(model, doses, np.asarray(t_h, dtype=float)).get("response", endpoint=endpoint)[0]


_T8 = np.round(np.arange(0.0, 8.0001, 1.0 / 60.0), 10)


@lru_cache(maxsize=64)
def peak_response(compound: str, mg: float, endpoint: str) -> tuple[float, float]:
    """``(peak response as a fraction of Em, time of the peak in h)`` of one typical subject at ``endpoint`` after
    ``mg`` of ``compound`` i.v. over 90 s (the infusions of Dahan 2005/2006), over 8 h at 1-min resolution, with the
    library's defaults (kinetic binding at MOR)."""
    from .dosing import dose

    e = simulate_response(dose(compound, mg, 0.0, route="iv", duration_h=1.5 / 60), endpoint, _T8)
    k = int(np.argmax(e))
    return float(e[k]), float(_T8[k])


def _dose_rise(compound: str, mg_low: float, mg_high: float, endpoint: str) -> float:
    """Peak response at ``mg_high`` over that at ``mg_low``."""
    return peak_response(compound, mg_high, endpoint)[0] / peak_response(compound, mg_low, endpoint)[0]


def _ugkg(ug_per_kg: float) -> float:
    return ug_per_kg * BODY_WEIGHT_KG / 1000.0


@lru_cache(maxsize=16)
def _bup_naloxone(naloxone_mg: float) -> float:
    """Peak reversal of the respiratory depression of buprenorphine 0.2 mg i.v. by naloxone infused over 30 min from
    30 min after it (assumed timing): max over time of 1 - E(with)/E(without)."""
    from .dosing import dose

    t = np.round(np.arange(0.0, 6.0001, 1.0 / 60.0), 10)
    bup = dose("buprenorphine", 0.2, 0.0, route="iv")
    base = simulate_response(bup, "respiratory_depression", t)
    if naloxone_mg == 0:
        return 0.0
    with_nal = simulate_response(bup + dose("naloxone", naloxone_mg, 0.5, route="iv", duration_h=0.5),
                                 "respiratory_depression", t)
    on = t > 0.5
    return float(np.max(1.0 - with_nal[on] / base[on]))


def _naloxone_dose_for_half_reversal() -> float:
    from scipy.optimize import brentq

    return float(brentq(lambda mg: _bup_naloxone(round(mg, 4)) - 0.5, 0.05, 2.5, xtol=1e-3))


def _ec50_total(compound: str, endpoint: str, unit: str, affinity: str = "functional") -> float:
    """The model's EC50 of ``compound`` at ``endpoint`` on the total plasma basis (unbound EC50 / fu), in ``unit``,
    with the K chosen by ``affinity`` (:meth:`pharmsim.catalog.Catalog.ligand`)."""
    from .catalog import catalog
    from .receptor import endpoint_ec50_emax
    from .units import convert

    cat = catalog()
    ec50_u, _ = endpoint_ec50_emax(cat.ligand(compound, "MOR", affinity=affinity, kinetic=False),
                                   cat.endpoint(endpoint))
    total = ec50_u / cat.library.value("fu", compound, "PK", "fraction")
    return float(convert(total, "nM", unit, molar_mass_g_per_mol=cat.molar_mass(compound)))


@lru_cache(maxsize=1)
def _potency_ratios() -> dict:
    """Morphine : fentanyl i.v. dose ratio for equal analgesia: by peak response, and by the 0-8 h response AUC."""
    from scipy.optimize import brentq

    from .dosing import dose

    def auc(compound, mg):
        e = simulate_response(dose(compound, mg, 0.0, route="iv"), "analgesia", _T8)
        return float(np.trapezoid(e, _T8))

    ref_peak, _ = peak_response("morphine", 10.0, "analgesia")
    ref_auc = auc("morphine", 10.0)
    f_peak = brentq(lambda mg: peak_response("fentanyl", round(mg, 6), "analgesia")[0] - ref_peak, 1e-3, 1.0, xtol=1e-5)
    f_auc = brentq(lambda mg: auc("fentanyl", mg) - ref_auc, 1e-3, 5.0, xtol=1e-5)
    return {"peak": 10.0 / f_peak, "auc": 10.0 / f_auc}


def _steady_state_desensitisation(mechanism: str, compound: str, conc_unbound_nM: float) -> float:
    """D at steady state for ``compound`` held at ``conc_unbound_nM`` under ``mechanism`` (closed form)."""
    from .catalog import catalog
    from .tolerance import desensitising_stimulus, steady_state_desensitisation

    cat = catalog()
    p = cat.tolerance(mechanism)
    lig = cat.ligand(compound, "MOR", kinetic=False)
    B = conc_unbound_nM / (lig.K_nM + conc_unbound_nM)
    s = desensitising_stimulus(p, lig.efficacy * B, (lig.arrestin_efficacy or 0.0) * B)
    return float(steady_state_desensitisation(s, p.k_des_per_h, p.k_rec_per_h))


def _equianalgesic_conc(compound: str, response: float) -> float:
    """Unbound concentration (nM) at which ``compound`` alone gives ``response`` (fraction of Em) at analgesia."""
    from .catalog import catalog

    cat = catalog()
    lig = cat.ligand(compound, "MOR", kinetic=False)
    tau = lig.efficacy * cat.endpoint("analgesia").gain
    if tau / (1 + tau) <= response:
        raise ValueError(f"{compound} cannot reach the response {response}")
    return lig.K_nM * response / (tau - response * (1 + tau))      # E = tau C/(K + (1 + tau) C), n = 1


def _tolerance_relative_to_morphine(mechanism: str, compound: str = "7-OH-MG", response: float = 0.5) -> float:
    """Steady-state desensitisation of ``compound`` relative to morphine's at equal analgesia (E = 0.5)."""
    d_c = _steady_state_desensitisation(mechanism, compound, _equianalgesic_conc(compound, response))
    d_m = _steady_state_desensitisation(mechanism, "morphine", _equianalgesic_conc("morphine", response))
    return d_c / d_m


def _fentanyl_c50_shift() -> float:
    """Steady-state fold shift of fentanyl's respiratory EC50 after morphine held at the calibration state (the
    same for every mechanism: each is calibrated there)."""
    from .catalog import catalog
    from .tolerance import ec50_fold_shift, steady_state_desensitisation

    cat = catalog()
    p = cat.tolerance("gprotein")
    d = steady_state_desensitisation(1.0, p.k_des_per_h, p.k_rec_per_h)
    fen = cat.ligand("fentanyl", "MOR", kinetic=False)
    return float(ec50_fold_shift(fen.efficacy * cat.endpoint("respiratory_depression").gain, d))


def _morphine_criterion_shift() -> float:
    from .catalog import catalog
    from .tolerance import criterion_shift, steady_state_desensitisation

    cat = catalog()
    p = cat.tolerance("gprotein")
    d = steady_state_desensitisation(1.0, p.k_des_per_h, p.k_rec_per_h)
    mor = cat.ligand("morphine", "MOR", kinetic=False)
    return float(criterion_shift(mor.efficacy * cat.endpoint("analgesia").gain, d, 0.5))


def _snc80_predicted_ec50_shift() -> float:
    """Receptor depletion in the operational model: the Emax fall 86 % -> 48 % after 24 h SNC80 (Malatynska 1996)
    implies tau' = e'/(1 - e'); the EC50 then moves by (1 + tau)/(1 + tau')."""
    from .catalog import catalog
    from .receptor import tau_from_emax

    cat = catalog()
    lib = cat.library
    tau = cat.ligand("SNC80", "DOR", kinetic=False).efficacy
    e_after = lib.parameter("Emax_after_pretreatment", "SNC80", "DOR", pathway="G protein").value / 100.0
    # '% max inhibition' of forskolin-stimulated cAMP, read against complete inhibition as the system maximum,
    # the convention of SNC80's tau row (data/function.csv)
    tau_after = float(tau_from_emax(e_after))
    return (1.0 + tau) / (1.0 + tau_after)


# ------------------------------------------------------------------------------------------- the registry
def _obs(quantity, compound, target, pathway="-"):
    from .library import load_library

    return load_library().parameter(quantity, compound, target, pathway=pathway)


def comparisons() -> tuple[Comparison, ...]:
    """The PD anchors, each a :class:`~pharmsim.qualification.Comparison` (observed values read from the library's
    ``data/observed_pd.csv``, ``data/endpoints.csv`` and ``data/pk.csv`` rows where it holds them)."""
    D5 = ("Dahan 2005 Br J Anaesth 94:825", "10.1093/bja/aei145")
    D6 = ("Dahan 2006 Br J Anaesth 96:627", "10.1093/bja/ael051")
    VD = ("van Dorp 2006, via Dahan 2006 Palliat Med 20 Suppl 1:s3", "PMID 16764215")
    AL = ("Algera 2021 Clin Pharmacol Ther", "10.1002/cpt.2027")
    out = []
    bup_ceiling = _obs("Emax", "buprenorphine", "respiratory_depression", "G protein")
    out.append(Comparison(
        "dahan2005.buprenorphine.ventilation_plateau", "buprenorphine 8.6 ug/kg i.v.: peak respiratory depression "
        "(fraction of apnoea; 50 % of baseline ventilation = 0.5)", "fraction", bup_ceiling.value / 100, 0.4, 0.6,
        "'about 50 %' (abstract), +/- 0.1 allowed", "inside", "in-sample", *D5,
        "the 50 % ceiling set buprenorphine's efficacy (derived in pharmsim.catalog from the endpoints.csv row)",
        lambda: peak_response("buprenorphine", _ugkg(8.6), "respiratory_depression")[0]))
    out.append(Comparison(
        "dahan2005.buprenorphine.plateau_above_3ugkg", "buprenorphine: rise of the peak respiratory depression from "
        "4.3 to 8.6 ug/kg i.v. (a ceiling: no rise)", "fraction", 0.0, 0.0, 0.05, "levelled off at >= 3.0 ug/kg",
        "below", "out-of-sample", *D5,
        "not fitted: the plateau follows from the in-vivo KD (Yassen 2007) and the PK; only its level was set",
        lambda: peak_response("buprenorphine", _ugkg(8.6), "respiratory_depression")[0]
        - peak_response("buprenorphine", _ugkg(4.3), "respiratory_depression")[0]))
    out.append(Comparison(
        "dahan2005.fentanyl.no_ceiling", "fentanyl 7.1 ug/kg minus buprenorphine 8.6 ug/kg: peak respiratory "
        "depression (fentanyl: apnoea, no ceiling)", "fraction", 0.5, 0.3, 1.0, "apnoea vs a 50 % plateau",
        "above", "out-of-sample", *D5,
        "not fitted: fentanyl's K is anchored to Algera 2021's C50 and its efficacy is in vitro (cAMP)",
        lambda: peak_response("fentanyl", _ugkg(7.1), "respiratory_depression")[0]
        - peak_response("buprenorphine", _ugkg(8.6), "respiratory_depression")[0]))
    out.append(Comparison(
        "dahan2005.fentanyl.apnoea_at_2.9ugkg", "fentanyl 2.9 ug/kg i.v.: peak respiratory depression (apnoea = 1)",
        "fraction", 1.0, 0.95, 1.0, "apnoea observed at >= 2.9 ug/kg", "above", "out-of-sample", *D5,
        "not fitted (see above)", lambda: peak_response("fentanyl", _ugkg(2.9), "respiratory_depression")[0]))
    lo, hi = (_obs(q, "buprenorphine", "respiratory_depression").value for q in ("peak_time_low", "peak_time_high"))
    out.append(Comparison(
        "dahan2006.buprenorphine.peak_time", "buprenorphine 0.2 mg/70 kg i.v.: time of the peak respiratory depression",
        "min", 0.5 * (lo + hi), lo, hi, "150-180 min, dose-independent", "inside", "in-sample", *D6,
        "the biophase t1/2 (173 min) and kon/koff of the defaults were fit by Yassen 2007 to volunteers given these "
        "doses", lambda: 60.0 * peak_response("buprenorphine", 0.2, "respiratory_depression")[1]))
    a2, a4 = (_obs(f"pain_tolerance_increase_{d}mg", "buprenorphine", "analgesia").value for d in ("0.2", "0.4"))
    out.append(Comparison(
        "dahan2006.buprenorphine.analgesia_rises_more_than_respiration", "buprenorphine 0.4 vs 0.2 mg/70 kg: relative "
        "rise of the peak analgesic response over the relative rise of the peak respiratory response", "ratio",
        a4 / a2, 2.0, np.inf, "analgesia +29 % -> +160 % (x5.5), respiration unchanged (13.1 vs 12.0 L/min)",
        "above", "out-of-sample", *D6, "not fitted",
        lambda: _dose_rise("buprenorphine", 0.2, 0.4, "analgesia") / _dose_rise("buprenorphine", 0.2, 0.4,
                                                                               "respiratory_depression")))
    nal = _obs("reversal_dose_50pct", "naloxone", "respiratory_depression")
    out.append(Comparison(
        "vandorp2006.naloxone.dose_for_50pct_reversal", "naloxone dose (i.v. over 30 min, from 30 min after "
        "buprenorphine 0.2 mg) for 50 % peak reversal of the respiratory depression", "mg", nal.value,
        nal.value - 2 * 0.32, nal.value + 2 * 0.32, "1.20 +/- 0.32 mg (mean +/- SD; +/- 2 SD allowed)", "inside",
        "out-of-sample", *VD,
        "naloxone's K_B (guinea-pig GTPgammaS) and PK (Dowling 2008) are independent of it; buprenorphine's kon/koff "
        "were fit by Yassen 2007 to reversal data of this kind", _naloxone_dose_for_half_reversal))
    out.append(Comparison(
        "vandorp2006.naloxone.reversal_at_2.5mg", "peak reversal of buprenorphine 0.2 mg by 2.5 mg naloxone over 30 "
        "min", "fraction", 0.8, 0.65, 0.95, "2.50 +/- 0.60 mg for 80 % reversal", "inside", "out-of-sample", *VD,
        "as above", lambda: _bup_naloxone(2.5)))
    out.append(Comparison(
        "dahan2006.naloxone.morphine_vs_buprenorphine", "0.4 mg naloxone i.v.: peak reversal of morphine 10 mg "
        "(at 1 h) minus that of buprenorphine 0.2 mg (infusion, see above)", "fraction", 0.5, 0.3, 1.0,
        "0.4 mg 'easily reverses morphine'; buprenorphine needs 1.2-2.5 mg", "above", "out-of-sample", *VD,
        "as above", lambda: _morphine_naloxone_reversal(0.4) - _bup_naloxone(0.4)))
    c50 = _obs("C50", "morphine", "PK")
    out.append(Comparison(
        "dahan2004.morphine.respiratory_C50", "morphine: total plasma concentration for half-maximal respiratory "
        "depression (EC50 / fu)", "nM", c50.value, c50.value - 1.4, c50.value + 1.4, "32 +/- 1.4 nM (SE)", "inside",
        "in-sample", "Dahan 2004 Anesthesiology 101:1201", "PMID 15505457",
        "the respiratory gain was derived from this C50 (data/endpoints.csv)",
        lambda: _ec50_total("morphine", "respiratory_depression", "nM")))
    fc50 = _obs("C50", "fentanyl", "respiratory_depression", "G protein")
    out.append(Comparison(
        "algera2021.fentanyl.respiratory_C50", "fentanyl: effect-site concentration (total-plasma scale) for "
        "half-maximal respiratory depression", "ng/mL", fc50.value, fc50.value - 0.07, fc50.value + 0.07,
        "0.42 +/- 0.07 ng/mL (SE)", "inside", "in-sample", *AL,
        "fentanyl's K in use was derived from this C50 (the in-vivo anchor of pharmsim.catalog)",
        lambda: _ec50_total("fentanyl", "respiratory_depression", "ng/mL")))
    out.append(Comparison(
        "algera2021.fentanyl.respiratory_C50_from_in_vitro", "fentanyl: respiratory C50 (effect site, total-plasma "
        "scale) predicted from the in-vitro numbers alone (cAMP K_A and tau, respiratory gain from morphine)", "ng/mL",
        fc50.value, fc50.value / 2, fc50.value * 2, "0.42 +/- 0.07 ng/mL; a factor 2 allowed", "inside",
        "out-of-sample", *AL, "not fitted: affinity='in vitro' ignores the in-vivo anchor",
        lambda: _ec50_total("fentanyl", "respiratory_depression", "ng/mL", affinity="in vitro")))
    ratio = _obs("potency_ratio_to_morphine", "fentanyl", "analgesia")
    for how, text in (("peak", "equal peak analgesia"), ("auc", "equal 0-8 h analgesia (response AUC)")):
        out.append(Comparison(
            f"equianalgesic.fentanyl_to_morphine.{how}", f"morphine : fentanyl i.v. dose ratio for {text} "
            "(morphine 10 mg)", "ratio", ratio.value, ratio.value / 3, ratio.value * 3,
            "equianalgesic tables 100 (parenteral; 50-150 across tables); a factor 3 allowed", "inside",
            "out-of-sample", ratio.source, ratio.doi,
            "not fitted: the analgesia gain is from morphine's C50, fentanyl's K from its respiratory C50; doses, "
            "PK and effect-site equilibration decide the ratio", lambda how=how: _potency_ratios()[how]))
    # tolerance
    chronic = _obs("C50_chronic_users", "fentanyl", "respiratory_depression")
    lo, hi = (chronic.value - 0.39) / (fc50.value + 0.07), (chronic.value + 0.39) / (fc50.value - 0.07)
    out.append(Comparison(
        "algera2021.fentanyl.C50_shift_in_chronic_users", "fentanyl's respiratory EC50 after steady morphine at the "
        "calibration state / naive (every mechanism: each is calibrated there)", "ratio", chronic.value / fc50.value,
        lo, hi, "1.82 +/- 0.39 vs 0.42 +/- 0.07 ng/mL (ratio range from the SEs)", "inside", "out-of-sample", *AL,
        "not fitted: D follows from Ekblom 1993's half-life and the recovery rate; that chronic high-dose users sit "
        "at the calibration state is an assumption", _fentanyl_c50_shift))
    pellet = _obs("ED50_ratio_pellet", "morphine", "analgesia")
    daily = _obs("ED50_ratio_daily_injections", "morphine", "analgesia")
    out.append(Comparison(
        "animals.morphine.ED50_shift", "morphine: shift of the concentration for a fixed analgesic effect (50 % of "
        "Em) at steady-state desensitisation", "ratio", 4.0, daily.value, pellet.value,
        "1.8 (20 daily injections, rat) to 7.3 (pellet, mouse); > 4 (4-week infusion, rat)", "inside",
        "out-of-sample", "Abbott 1982; PMC2189837; Psychopharmacology 1990", f"{pellet.doi}; {daily.doi}",
        "not fitted: calibrated on the time course (Ekblom 1993), not the magnitude", _morphine_criterion_shift))
    for mech in ("gprotein", "arrestin", "both"):
        out.append(Comparison(
            f"matsumoto2005.7-OH-MG.tolerance.{mech}", f"7-OH-MG: steady-state desensitisation at equal analgesia "
            f"(E = 0.5), relative to morphine's, mechanism {mech!r}", "ratio", 1.0, 0.5, np.inf,
            "tolerance 'developed as occurs to morphine' (qualitative; >= half of morphine's required)", "above",
            "out-of-sample", "Matsumoto 2005 Life Sci 78:2", "PMID 16169018",
            "not fitted: each mechanism is calibrated on morphine only",
            lambda mech=mech: _tolerance_relative_to_morphine(mech)))
    e0, e1 = (_obs(q, "SNC80", "DOR", "G protein").value for q in ("EC50_control", "EC50_after_pretreatment"))
    out.append(Comparison(
        "malatynska1996.SNC80.EC50_shift", "SNC80 at human DOR after 24 h SNC80: EC50 shift predicted by receptor "
        "depletion from the measured Emax fall (86 -> 48 %)", "ratio", e1 / e0, (44.1 - 12) / (7.7 + 4.2),
        (44.1 + 12) / max(7.7 - 4.2, 1e-9), "7.7 +/- 4.2 -> 44.1 +/- 12 nM", "inside", "out-of-sample",
        "Malatynska 1996 J Pharmacol Exp Ther", "J Pharmacol Exp Ther pp. 1083-1089",
        "not fitted: tests the operational model's depletion structure behind the tolerance model",
        _snc80_predicted_ec50_shift))
    return tuple(out)


@lru_cache(maxsize=4)
def _morphine_naloxone_reversal(naloxone_mg: float) -> float:
    """Peak reversal of morphine 10 mg i.v. respiratory depression by a naloxone bolus at 1 h."""
    from .dosing import dose

    t = np.round(np.arange(0.0, 6.0001, 1.0 / 60.0), 10)
    mor = dose("morphine", 10.0, 0.0, route="iv")
    base = simulate_response(mor, "respiratory_depression", t)
    with_nal = simulate_response(mor + dose("naloxone", naloxone_mg, 1.0, route="iv"), "respiratory_depression", t)
    on = t > 1.0
    return float(np.max(1.0 - with_nal[on] / base[on]))
