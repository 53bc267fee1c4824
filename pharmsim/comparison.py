"""The comparison pharmsim exists for: MG + 7-OH-MG from a kratom product against a full-agonist reference.

:func:`compare_with_full_agonist` simulates, with one set of library parameters, four situations:

* ``kratom`` — the kratom product alone (MG and the 7-OH-MG formed from it);
* ``reference`` — the full agonist alone;
* ``reference_on_kratom`` — the full agonist given on top of kratom (the partial agonists compete with it);
* ``naloxone_reversal`` — the full agonist, then naloxone (a competitive antagonist), when the library has
  human naloxone PK;

and adds the equilibrium view: each ligand's ceiling (Emax) and potency at each endpoint from the operational
model (``Emax = Em tau^n/(1 + tau^n)``, ``EC50 = K/((2 + tau^n)^(1/n) - 1)``; Black & Leff 1983,
doi:10.1098/rspb.1983.0093), and how a saturating partial agonist lowers a full agonist's response.
:meth:`Comparison.figures` draws it (plots never solve).

Not for: dosing decisions. The doses are those of published human studies, used to show mechanisms.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .catalog import catalog
from .dosing import dose
from .model import Model
from .products import Product
from .receptor import Ligand, endpoint_ec50_emax, operational_mixture, tau_at
from .result import Result
from .study import Arm, ModelOptions, Study, run_study
from .validate import PharmsimError, require_count, require_instance, require_number, suggest

__all__ = ["Comparison", "Findings", "Reached", "comparison_study", "compare_with_full_agonist", "ceiling_table",
           "ceiling_table_of", "displacement_summary", "displacement_table", "peak_table", "reached_concentrations",
           "reference_ligand", "study_endpoints", "study_findings", "study_ligands"]


@dataclass(frozen=True)
class Comparison:
    """Results of the four situations, equilibrium tables and the notes that state modelling choices."""

    results: dict[str, Result]
    models: dict[str, Model]
    ceilings: pd.DataFrame
    displacement: pd.DataFrame
    reference: str
    notes: tuple[str, ...] = ()
    settings: dict = field(default_factory=dict)

    def timecourse(self) -> pd.DataFrame:
        """All situations in one tidy table (column ``scenario`` first)."""
        frames = []
        for name, res in self.results.items():
            df = res.tidy()
            df.insert(0, "scenario", name)
            frames.append(df)
        return pd.concat(frames, ignore_index=True)

    def peaks(self) -> pd.DataFrame:
        """Peak occupancy of each ligand at each receptor and peak response of each endpoint, per situation."""
        rows = []
        for name, res in self.results.items():
            for q in ("occupancy", "response"):
                for s in res.select(q):
                    k = int(np.argmax(s.values[0]))
                    rows.append({"scenario": name, "quantity": q, "compound": s.compound, "receptor": s.receptor,
                                 "endpoint": s.endpoint, "peak": float(s.values[0, k]),
                                 "time_of_peak_h": float(res.t_h[k]), "unit": s.unit})
        return pd.DataFrame(rows)

    def nca(self) -> pd.DataFrame:
        """NCA of the plasma profiles in the single-product situations."""
        frames = []
        for name in ("kratom", "reference"):
            if name in self.results:
                df = self.results[name].nca()
                df.insert(0, "scenario", name)
                frames.append(df)
        return pd.concat(frames, ignore_index=True)

    def parameters(self) -> pd.DataFrame:
        """PD parameters of every ligand and endpoint with their sources (from the richest model)."""
        model = self.models.get("reference_on_kratom") or next(iter(self.models.values()))
        return model.parameter_table()

    def figures(self) -> dict:
        """Named matplotlib figures (:func:`pharmsim.plots.comparison_figures`): PK, occupancy, responses,
        ceilings, displacement."""
        from .plots import comparison_figures

        return comparison_figures(self)


def ceiling_table_of(ligands, endpoints) -> pd.DataFrame:
    """Each ligand's Emax and EC50 (unbound, nM) at each endpoint at its receptor (operational model, closed
    form), with the K in use, what K it is, the binding Ki beside it, and the sources."""
    rows = []
    for ep in endpoints:
        for lig in (x for x in ligands if x.receptor == ep.receptor):
            ec50, emax = endpoint_ec50_emax(Ligand(lig.name, lig.K_nM, lig.efficacy, receptor=lig.receptor), ep)
            rows.append({"endpoint": ep.name, "receptor": ep.receptor, "compound": lig.name, "K_nM": lig.K_nM,
                         "K_kind": lig.K_kind, "Ki_nM": lig.Ki_nM if lig.Ki_nM is not None else np.nan,
                         "K_A_in_vitro_nM": lig.affinities.get("functional K_A (in vitro)", np.nan),
                         "efficacy": lig.efficacy, "gain": ep.gain, "Em": ep.Em, "n": ep.n,
                         "tau": lig.efficacy * ep.gain * ep.receptor_fraction, "Emax": float(emax),
                         "EC50_unbound_nM": float(ec50), "efficacy_source": lig.sources.get("efficacy", ""),
                         "K_source": lig.sources.get("K", ""), "Ki_source": lig.sources.get("Ki", "")})
    return pd.DataFrame(rows)


_MODEL = "a pharmsim Model (pharmsim.build_model(...))"
_MAX_CURVE_POINTS = 100_000
_MAX_GRID_POINTS = 200_000


def _name(name: str, value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PharmsimError(f"{name} must be a compound name (a non-empty string); got {value!r}")
    return value


def ceiling_table(model: Model) -> pd.DataFrame:
    """Each ligand's Emax and EC50 (unbound, nM) at each endpoint of ``model`` (:func:`ceiling_table_of`)."""
    require_instance("model", model, Model, _MODEL)
    return ceiling_table_of(model.ligands, model.endpoints)


def displacement_table(model: Model, reference: str, n_points: int = 61) -> pd.DataFrame:
    """Response with the full agonist at its EC80 as each partial agonist's concentration rises (equilibrium).

    ``E = Em S^n/(S^n + 1)``, ``S = sum_i tau_i p_i`` with Gaddum occupancies: as the partial agonist's
    occupancy approaches 1 the response falls towards the partial agonist's own Emax.
    """
    require_instance("model", model, Model, _MODEL)
    _name("reference", reference)
    n_points = require_count("n_points", n_points, minimum=2, maximum=_MAX_CURVE_POINTS)
    known = sorted({lig.name for lig in model.ligands})
    if reference not in known:
        raise PharmsimError(f"reference must be a ligand of the model ({', '.join(known)}); got {reference!r}"
                            f"{suggest(reference, known)}")
    rows = []
    for ep in model.endpoints:
        ligs = {lig.compound: lig for lig in model.ligands_at(ep.receptor)}
        if reference not in ligs:
            continue
        ref = ligs[reference]
        K_ref, tau_ref = ref.K_nM, ref.efficacy * ep.gain * ep.receptor_fraction
        if tau_ref <= 0:
            continue
        # EC80 of the reference alone: E/Emax = 0.8
        ec50, emax = endpoint_ec50_emax(Ligand(reference, K_ref, ref.efficacy), ep)
        grid = np.logspace(np.log10(ec50) - 3, np.log10(ec50) + 3, 2001)
        e_ref = operational_mixture(grid[:, None], [K_ref], [tau_ref], Em=ep.Em, n=ep.n)
        c80 = float(np.interp(0.8 * emax, e_ref, grid))
        for name, lig in ligs.items():
            if name == reference:
                continue
            K, tau = lig.K_nM, lig.efficacy * ep.gain * ep.receptor_fraction
            conc = np.logspace(np.log10(K) - 3, np.log10(K) + 3, n_points)
            C = np.stack([np.full_like(conc, c80), conc], axis=-1)
            E = operational_mixture(C, [K_ref, K], [tau_ref, tau], Em=ep.Em, n=ep.n)
            rows += [{"endpoint": ep.name, "receptor": ep.receptor, "reference": reference, "reference_conc_nM": c80,
                      "partial_agonist": name, "partial_conc_nM": c, "response": e}
                     for c, e in zip(conc, E, strict=True)]
    return pd.DataFrame(rows)


def comparison_study(product: Product | None = None, *, kratom_times_h=(0.0,), reference: str = "morphine",
                     reference_dose_mg: float = 10.0, reference_route: str = "iv", reference_time_h: float = 1.0,
                     naloxone_dose_mg: float = 0.4, naloxone_time_h: float = 2.0, t_end_h: float = 24.0,
                     step_h: float = 0.1, binding: str = "kinetic", dor_efficacy: str | None = None,
                     library=None) -> Study:
    """The comparison as a :class:`pharmsim.study.Study`: arms ``kratom``, ``reference``,
    ``reference_on_kratom`` and, when the library has human naloxone PK, ``naloxone_reversal`` (arguments as
    :func:`compare_with_full_agonist`)."""
    cat = catalog(library)
    product = Product("tea", 2.0) if product is None else product
    if not isinstance(product, Product):
        raise PharmsimError(f"product must be a pharmsim Product; got {type(product).__name__}")
    t_end = require_number("t_end_h", t_end_h, "h", minimum=0.0, strict=True)
    step = require_number("step_h", step_h, "h", minimum=0.0, strict=True)
    if step > t_end:
        raise PharmsimError(f"step_h must not exceed t_end_h ({t_end} h); got {step}")
    if t_end / step > _MAX_GRID_POINTS:
        raise PharmsimError(f"t_end_h / step_h must give at most {_MAX_GRID_POINTS:,} output times; got t_end_h = "
                            f"{t_end:g} h with step_h = {step:g} h (use a coarser step_h or a shorter t_end_h)")
    ref_time = require_number("reference_time_h", reference_time_h, "h", minimum=0.0)
    nal_time = require_number("naloxone_time_h", naloxone_time_h, "h", minimum=0.0)
    reference = _name("reference", reference)
    require_number("reference_dose_mg", reference_dose_mg, "mg", minimum=0.0, strict=True)
    require_number("naloxone_dose_mg", naloxone_dose_mg, "mg", minimum=0.0, strict=True)
    try:
        cid = cat.compound_id(reference)
    except PharmsimError as err:
        raise PharmsimError(f"reference must be a compound of the library: {err}") from None
    if not cat.has_pk(cid):
        raise PharmsimError(f"reference must be a compound with human PK in the library; got {reference!r} ({cid} "
                            "has none)")
    for name, v in (("reference_time_h", ref_time), ("naloxone_time_h", nal_time)):
        if v >= t_end:
            raise PharmsimError(f"{name} must be before t_end_h = {t_end} h; got {v}")
    t = np.round(np.arange(0.0, t_end + step / 2, step), 10)
    lib = cat.library
    kratom = product.doses(list(kratom_times_h), library=lib)
    ref_at = dose(reference, reference_dose_mg, ref_time, route=reference_route, library=lib)
    ref_0 = dose(reference, reference_dose_mg, 0.0, route=reference_route, library=lib)
    k_label = f"{product.amount_g:g} g {product.form} at {', '.join(f'{x:g}' for x in kratom_times_h)} h"
    r_label = f"{reference} {reference_dose_mg:g} mg {reference_route}"
    arms = [Arm("kratom", kratom, "kratom alone", (k_label,)),
            Arm("reference", ref_0, f"{reference} alone", (f"{r_label} at 0 h",)),
            Arm("reference_on_kratom", kratom + ref_at, f"{reference} on top of kratom",
                (k_label, f"{r_label} at {ref_time:g} h"))]
    notes = []
    if cat.has_pk("naloxone"):
        arms.append(Arm("naloxone_reversal", ref_0 + dose("naloxone", naloxone_dose_mg, nal_time, route="iv",
                                                          library=lib), f"{reference}, then naloxone",
                        (f"{r_label} at 0 h", f"naloxone {naloxone_dose_mg:g} mg iv at {nal_time:g} h")))
    else:
        notes.append("naloxone reversal not simulated: the library has no human naloxone PK")
    return Study(arms=tuple(arms), t_h=t, model=ModelOptions(binding=binding, dor_efficacy=dor_efficacy),
                 library=lib, name="comparison", title=f"Kratom against {reference}", library_changes=tuple(notes))


def compare_with_full_agonist(product: Product | None = None, *, kratom_times_h=(0.0,), reference: str = "morphine",
                              reference_dose_mg: float = 10.0, reference_route: str = "iv",
                              reference_time_h: float = 1.0, naloxone_dose_mg: float = 0.4,
                              naloxone_time_h: float = 2.0, t_end_h: float = 24.0, step_h: float = 0.1,
                              binding: str = "kinetic", dor_efficacy: str | None = None, library=None) -> Comparison:
    """Simulate kratom, the full-agonist reference, the reference on top of kratom and a naloxone reversal.

    Parameters
    ----------
    product : Product, optional
        Default: 2 g of leaf powder as tea (the single dose of Tanna 2022, doi:10.3390/pharmaceutics14030620).
    kratom_times_h : sequence of float
        Times of the kratom doses (h).
    reference : str
        The full agonist (default morphine; it must have human PK, affinity and efficacy in the library).
    reference_dose_mg, reference_route, reference_time_h
        The reference dose (default 10 mg i.v., the dose of Stuart-Harris 2000), given at ``reference_time_h``
        in ``reference_on_kratom`` and ``naloxone_reversal`` and at 0 h in ``reference``.
    naloxone_dose_mg, naloxone_time_h
        Naloxone i.v. after the reference (default 0.4 mg at 2 h) in ``naloxone_reversal``.
    t_end_h, step_h
        Output grid.
    binding : {'kinetic', 'equilibrium'}
    dor_efficacy : str, optional
        Source of MG/7-OH-MG efficacy at DOR (default: the library's preferred, competitive antagonism).

    Returns
    -------
    Comparison
        Built on :func:`comparison_study` and :func:`pharmsim.study.run_study`.
    """
    study = comparison_study(product, kratom_times_h=kratom_times_h, reference=reference,
                             reference_dose_mg=reference_dose_mg, reference_route=reference_route,
                             reference_time_h=reference_time_h, naloxone_dose_mg=naloxone_dose_mg,
                             naloxone_time_h=naloxone_time_h, t_end_h=t_end_h, step_h=step_h, binding=binding,
                             dor_efficacy=dor_efficacy, library=library)
    sr = run_study(study)
    rich = sr.models["reference_on_kratom"]
    product = Product("tea", 2.0) if product is None else product
    return Comparison(results=dict(sr.results), models=dict(sr.models), ceilings=ceiling_table(rich),
                      displacement=displacement_table(rich, reference), reference=reference, notes=sr.notes,
                      settings={"product": product, "kratom_times_h": tuple(kratom_times_h), "reference": reference,
                                "reference_dose_mg": reference_dose_mg, "reference_route": reference_route,
                                "reference_time_h": float(reference_time_h), "naloxone_dose_mg": naloxone_dose_mg,
                                "naloxone_time_h": float(naloxone_time_h), "t_end_h": float(t_end_h),
                                "step_h": float(step_h), "binding": binding})


# ------------------------------------------------------------------------------------------------------------
# what a study shows: peaks, the concentrations reached, displacement thresholds and conclusions in numbers
# ------------------------------------------------------------------------------------------------------------

#: Quantities whose peaks :func:`peak_table` reports.
PEAK_QUANTITIES = ("plasma_conc", "plasma_conc_mass", "effect_conc_unbound", "occupancy", "response")


def peak_table(results) -> pd.DataFrame:
    """Per arm and series: each subject's peak over the time grid, summarised over subjects.

    Columns ``arm, quantity, compound, receptor, endpoint, unit, peak_median, peak_p05, peak_p95,
    time_of_peak_h_median, n_subjects``. Percentiles are of the per-subject peaks (numpy's linear
    interpolation), so a population shows its spread; one subject gives p05 = median = p95.
    """
    rows = []
    for arm, res in dict(results).items():
        for s in res.series:
            if s.quantity not in PEAK_QUANTITIES:
                continue
            k = np.argmax(s.values, axis=1)
            peaks = s.values[np.arange(s.values.shape[0]), k]
            lo, med, hi = np.percentile(peaks, [5.0, 50.0, 95.0])
            rows.append({"arm": arm, "quantity": s.quantity, "compound": s.compound, "receptor": s.receptor,
                         "endpoint": s.endpoint, "unit": s.unit, "peak_median": float(med), "peak_p05": float(lo),
                         "peak_p95": float(hi), "time_of_peak_h_median": float(np.median(res.t_h[k])),
                         "n_subjects": int(s.values.shape[0])})
    return pd.DataFrame(rows, columns=["arm", "quantity", "compound", "receptor", "endpoint", "unit", "peak_median",
                                       "peak_p05", "peak_p95", "time_of_peak_h_median", "n_subjects"])


@dataclass(frozen=True)
class Reached:
    """The peak unbound effect-site concentration of one compound after the simulated doses (nM).

    ``median``, ``p05`` and ``p95`` are over subjects of each subject's peak, in the arm (``arm``) where the
    median peak is highest.
    """

    compound: str
    median: float
    p05: float
    p95: float
    arm: str


def reached_concentrations(peaks: pd.DataFrame) -> dict[str, Reached]:
    """``{compound: Reached}`` from a :func:`peak_table` (the arm of highest median peak of
    ``effect_conc_unbound``)."""
    out: dict[str, Reached] = {}
    sub = peaks[peaks["quantity"] == "effect_conc_unbound"] if len(peaks) else peaks
    for row in sub.itertuples():
        if row.compound not in out or row.peak_median > out[row.compound].median:
            out[row.compound] = Reached(row.compound, row.peak_median, row.peak_p05, row.peak_p95, row.arm)
    return out


def study_ligands(models) -> dict[str, list[tuple[Ligand, tuple[str, ...]]]]:
    """Every distinct ligand of a study, per receptor, with the arms that use it.

    ``{receptor: [(Ligand, (arm, ...)), ...]}``; a compound appears twice at a receptor when arms use different
    values for it (for example a what-if DOR efficacy in one arm).
    """
    out: dict[str, list] = {}
    for arm, model in dict(models).items():
        for lig in model.ligands:
            entries = out.setdefault(lig.receptor, [])
            for i, (known, arms) in enumerate(entries):
                if (known.name, known.K_nM, known.efficacy) == (lig.name, lig.K_nM, lig.efficacy):
                    entries[i] = (known, arms + (arm,))
                    break
            else:
                entries.append((lig, (arm,)))
    return out


def study_endpoints(models) -> list:
    """The endpoints of every arm's model, each once, in order of appearance."""
    seen, out = set(), []
    for model in dict(models).values():
        for ep in model.endpoints:
            if ep.name not in seen:
                seen.add(ep.name)
                out.append(ep)
    return out


def reference_ligand(ligands) -> Ligand | None:
    """The ligand of highest efficacy among ``ligands`` (the full-agonist reference), or None if none is an
    agonist."""
    agonists = [lig for lig in ligands if lig.efficacy > 0]
    return max(agonists, key=lambda x: x.efficacy) if agonists else None


def _stimulus(tau, x):
    return tau * x / (1.0 + x)


def _transduce(S, ep):
    return ep.Em * S ** ep.n / (S ** ep.n + 1.0)


def displacement_summary(ligands, endpoints, reference: str, reached: dict[str, Reached] | None = None
                         ) -> pd.DataFrame:
    """When does a partial agonist (or an antagonist) lower a full agonist's response? Closed forms.

    With the reference R (``K_R``, ``tau_R``) and a second ligand P (``K_P``, ``tau_P < tau_R``) competing for
    one site (Gaddum) and the operational model (Black & Leff 1983, doi:10.1098/rspb.1983.0093), the stimulus
    is ``S = (tau_R x_R + tau_P x_P)/(1 + x_R + x_P)`` with ``x = C/K``. Adding P changes the response in the
    sign of ``tau_P - S_R`` with ``S_R = tau_R x_R/(1 + x_R)``, whatever P's concentration (the transducer
    ``E = Em S^n/(S^n + 1)`` is increasing in S). So P lowers R's response only where R alone occupies more
    than ``tau_P/tau_R`` of the receptors, that is above the crossover concentration

        ``C_R* = K_R tau_P/(tau_R - tau_P)``  (0 for an antagonist: any concentration is lowered),

    and the size of the change is set by P's share of the receptors, one half at

        ``C_P,half = K_P (1 + C_R/K_R)``.

    Both are independent of the endpoint's gain (tau_P/tau_R is an efficacy ratio); the responses are not.

    Parameters
    ----------
    ligands : sequence of Ligand
        Ligands at one receptor (the reference among them).
    endpoints : sequence of Endpoint
        Endpoints at that receptor.
    reference : str
        The full agonist.
    reached : dict, optional
        :func:`reached_concentrations`; without it the concentration columns are NaN.

    Returns
    -------
    DataFrame
        One row per endpoint and second ligand: ``endpoint, receptor, reference, partial_agonist, K_reference_nM,
        tau_reference, K_partial_nM, tau_partial, reference_reached_nM, partial_reached_nM,
        partial_reached_p05_nM, partial_reached_p95_nM, crossover_reference_nM, crossover_occupancy,
        crossover_fold, half_occupancy_partial_nM, half_occupancy_fold, reference_EC80_nM,
        response_reference_alone, response_with_partial, response_partial_ceiling, effect``
        (responses as fractions of Em; ``effect`` 'adds' | 'lowers' | 'no change').
    """
    reached = reached or {}
    ligs = {lig.name: lig for lig in ligands}
    if reference not in ligs:
        raise PharmsimError(f"reference must be one of the ligands {list(ligs)}; got {reference!r}"
                            f"{suggest(reference, ligs)}")
    ref = ligs[reference]
    rows = []
    for ep in endpoints:
        if ep.receptor != ref.receptor:
            continue
        tau_r = tau_at(ref, ep)
        if tau_r <= 0:
            continue
        ec50, emax = endpoint_ec50_emax(ref, ep)
        grid = np.logspace(np.log10(ec50) - 4, np.log10(ec50) + 4, 4001)
        e_ref = _transduce(_stimulus(tau_r, grid / ref.K_nM), ep)
        c80 = float(np.interp(0.8 * emax, e_ref, grid))
        C_r = reached[reference].median if reference in reached else np.nan
        x_r = C_r / ref.K_nM
        for name, p in ligs.items():
            tau_p = tau_at(p, ep)
            if name == reference or tau_p >= tau_r:
                continue
            C_p = reached[name].median if name in reached else np.nan
            cross = ref.K_nM * tau_p / (tau_r - tau_p)
            half = p.K_nM * (1.0 + x_r) if np.isfinite(x_r) else np.nan
            S_ref = _stimulus(tau_r, x_r)
            x_p = C_p / p.K_nM
            S_mix = (tau_r * x_r + tau_p * x_p) / (1.0 + x_r + x_p)
            e_alone, e_mix = _transduce(S_ref, ep), _transduce(S_mix, ep)
            if not (np.isfinite(e_alone) and np.isfinite(e_mix)):
                effect = ""
            elif np.isclose(tau_p, S_ref, rtol=1e-12, atol=0.0) or x_p == 0:
                effect = "no change"
            else:
                effect = "adds" if tau_p > S_ref else "lowers"
            rows.append({
                "endpoint": ep.name, "receptor": ep.receptor, "reference": reference, "partial_agonist": name,
                "K_reference_nM": ref.K_nM, "tau_reference": tau_r, "K_partial_nM": p.K_nM, "tau_partial": tau_p,
                "reference_reached_nM": C_r, "partial_reached_nM": C_p,
                "partial_reached_p05_nM": reached[name].p05 if name in reached else np.nan,
                "partial_reached_p95_nM": reached[name].p95 if name in reached else np.nan,
                "crossover_reference_nM": cross, "crossover_occupancy": tau_p / tau_r,
                "crossover_fold": cross / C_r if np.isfinite(C_r) and C_r > 0 else np.nan,
                "half_occupancy_partial_nM": half,
                "half_occupancy_fold": half / C_p if np.isfinite(C_p) and C_p > 0 else np.nan,
                "reference_EC80_nM": c80, "response_reference_alone": float(e_alone),
                "response_with_partial": float(e_mix), "response_partial_ceiling": float(_transduce(tau_p, ep)),
                "effect": effect})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Findings:
    """What a study's results show, in numbers: the tables behind the report's conclusions and figures.

    Attributes
    ----------
    peaks : DataFrame
        :func:`peak_table`.
    reached : dict
        ``{compound: Reached}``: peak unbound effect-site concentrations after the simulated doses.
    ligands : dict
        :func:`study_ligands`.
    endpoints : tuple of Endpoint
    references : dict
        ``{receptor: compound}``: the full-agonist reference at each receptor that has an agonist.
    displacement : DataFrame
        :func:`displacement_summary` for every receptor with a reference.
    comparators : dict
        ``{receptor: (Ligand, ...)}``: agonists of the library not in the study, drawn for comparison where the
        study has no agonist at that receptor (none if the library holds none).
    conclusions : tuple of str
        Sentences written from the numbers above.
    warnings : tuple of str
        What the reader must know about the run itself (a population without variability ...).
    """

    peaks: pd.DataFrame
    reached: dict
    ligands: dict
    endpoints: tuple
    references: dict
    displacement: pd.DataFrame
    comparators: dict
    conclusions: tuple[str, ...]
    warnings: tuple[str, ...] = ()


def _pct(x: float) -> str:
    v = 100.0 * float(x)
    return f"{v:.2g} %" if abs(v) < 1 else f"{v:.1f} %"


def _nM(x: float) -> str:
    return f"{x:.3g} nM"


def _fold(x: float) -> str:
    return f"{x:.2g}" if x < 10 else f"{x:.0f}"


def _comparators(models, ligands_by_receptor, library) -> dict:
    """Library agonists not in the study, at receptors where the study has no agonist."""
    out = {}
    cat = None
    for receptor, entries in ligands_by_receptor.items():
        if any(lig.efficacy > 0 for lig, _ in entries):
            continue
        if cat is None:
            cat = catalog(library)
        present = {lig.name for lig, _ in entries}
        found = []
        for c in cat.library.compounds():
            if c.id in present:
                continue
            try:
                lig = cat.ligand(c.id, receptor, kinetic=False)
            except PharmsimError:
                continue
            if lig is not None and lig.efficacy > 0:
                found.append(lig)
        out[receptor] = tuple(found)
    return out


def _spread_warning(results, population) -> list[str]:
    n = max((r.n_subjects for r in dict(results).values()), default=1)
    if n <= 1:
        return []
    varies = any(np.ptp(s.values, axis=0).max() > 1e-12 * max(1.0, float(np.abs(s.values).max()))
                 for r in dict(results).values() for s in r.series if s.values.shape[0] > 1)
    if varies:
        return []
    why = ""
    if population is not None and not population.omega:
        why = " because the run gives no variability (no population.omega, body weight fixed)"
    return [f"All {n} virtual subjects are identical{why}, so the 5th and 95th percentiles equal the median. "
            "Add variability: population.omega = \"library\" (the published variability) or [population.omega] "
            "values with their [population.omega_sources]; on the command line --set population.omega=library."]


def _arm_compounds(models) -> dict[str, set]:
    return {arm: set(m.compounds) for arm, m in dict(models).items()}


def _conclusions(findings_parts: dict, models, results, population) -> list[str]:
    peaks, reached, ligands = findings_parts["peaks"], findings_parts["reached"], findings_parts["ligands"]
    references, disp = findings_parts["references"], findings_parts["displacement"]
    endpoints = findings_parts["endpoints"]
    out: list[str] = []
    arm_cpds = _arm_compounds(models)
    occ = peaks[peaks["quantity"] == "occupancy"] if len(peaks) else peaks
    resp = peaks[peaks["quantity"] == "response"] if len(peaks) else peaks
    n = max((r.n_subjects for r in dict(results).values()), default=1)
    stat = "at their peaks" if n == 1 else f"at their peaks (median over {n} virtual subjects)"
    stat_r = "peaks" if n == 1 else f"median peaks over {n} virtual subjects"

    # 1. occupancy by the partial agonists in arms without the reference
    for receptor, ref in references.items():
        partial_names = [lig.name for lig, _ in ligands.get(receptor, ()) if lig.name != ref]
        for arm, cpds in arm_cpds.items():
            if ref in cpds or not (set(partial_names) & cpds):
                continue
            rows = occ[(occ["arm"] == arm) & (occ["receptor"] == receptor)]
            parts = []
            for r in rows.itertuples():
                lig = next((x for x, arms in ligands[receptor] if x.name == r.compound and arm in arms), None)
                conc = peaks[(peaks["arm"] == arm) & (peaks["quantity"] == "effect_conc_unbound")
                             & (peaks["compound"] == r.compound)]
                c_txt = f" at {_nM(conc['peak_median'].iat[0])} unbound" if len(conc) else ""
                k_txt = f" (K in use {_nM(lig.K_nM)}, {lig.K_kind})" if lig is not None else ""
                parts.append(f"{r.compound} {_pct(r.peak_median)}{c_txt}{k_txt}")
            if parts:
                out.append(f"In '{arm}', {stat}, the ligands occupy {'; '.join(parts)} of {receptor}.")

    # 2. the reference on top of the partial agonists against the reference alone
    for receptor, ref in references.items():
        alone = [a for a, c in arm_cpds.items() if ref in c and not (c - {ref})]
        combos = [a for a, c in arm_cpds.items() if ref in c and (c - {ref})]
        eps = [ep.name for ep in endpoints if ep.receptor == receptor]
        for combo in combos:
            for base in alone[:1]:
                parts = []
                for ep in eps:
                    a = resp[(resp["arm"] == combo) & (resp["endpoint"] == ep)]
                    b = resp[(resp["arm"] == base) & (resp["endpoint"] == ep)]
                    if len(a) and len(b):
                        da = 100 * (a["peak_median"].iat[0] - b["peak_median"].iat[0])
                        parts.append(f"{ep.replace('_', ' ')} {_pct(a['peak_median'].iat[0])} vs "
                                     f"{_pct(b['peak_median'].iat[0])} ({da:+.1f} percentage points)")
                if not parts:
                    continue
                bound = {lig.name for lig in models[combo].ligands if lig.receptor == receptor}
                others = [c for c in models[combo].compounds if c != ref and c in bound]
                sub = disp[(disp["reference"] == ref) & (disp["receptor"] == receptor)
                           & disp["partial_agonist"].isin(others)] if len(disp) else disp
                verdicts = set(sub["effect"]) if len(sub) else set()
                if verdicts == {"adds"}:
                    why = (f" At the concentrations reached, {', '.join(others)} add to {ref}'s response: {ref}'s "
                           f"own stimulus stays below their ceilings, so no displacement can happen.")
                elif "lowers" in verdicts:
                    low = sorted(set(sub.loc[sub["effect"] == "lowers", "partial_agonist"]))
                    why = f" At the concentrations reached, {', '.join(low)} lower {ref}'s response (displacement)."
                else:
                    why = ""
                out.append(f"{ref} on top of {', '.join(others)} ('{combo}') against {ref} alone ('{base}'), "
                           f"{stat_r}: {'; '.join(parts)}.{why}")

    # 3. where displacement would happen, and where the doses reach
    if len(disp):
        first_ep = {}
        for r in disp.itertuples():
            first_ep.setdefault((r.reference, r.partial_agonist), r)
        for (ref, p), r in first_ep.items():
            if r.tau_partial == 0:
                text = (f"{p} (tau 0, a competitive antagonist at {r.receptor}) lowers {ref}'s response at any "
                        f"concentration; it holds half of the receptors from {ref} at "
                        f"{_nM(r.half_occupancy_partial_nM)} unbound")
            else:
                text = (f"{p} can lower {ref}'s {r.receptor} response only where {ref} alone occupies more than "
                        f"{_pct(r.crossover_occupancy)} of {r.receptor} (tau ratio {r.tau_partial:.3g}/"
                        f"{r.tau_reference:.3g}, the same in every endpoint), i.e. above "
                        f"{_nM(r.crossover_reference_nM)} {ref} unbound")
                if np.isfinite(r.crossover_fold):
                    text += (f" ({_fold(r.crossover_fold)}x the peak after the simulated dose, "
                             f"{_nM(r.reference_reached_nM)})" if r.crossover_fold >= 1 else
                             f" (the simulated dose reaches {_nM(r.reference_reached_nM)}, above it)")
                text += (f"; to take half of the receptors from {ref} it needs "
                         f"{_nM(r.half_occupancy_partial_nM)} unbound")
            if np.isfinite(r.partial_reached_nM):
                text += (f", and the simulated doses reach {_nM(r.partial_reached_nM)}"
                         + (f" ({_fold(r.half_occupancy_fold)}x lower)" if r.half_occupancy_fold > 1 else ""))
            out.append(text + ".")

    # 4. the K in use against the binding Ki, for the reference
    for receptor, ref in references.items():
        lig = next(x for x, _ in ligands[receptor] if x.name == ref)
        if lig.Ki_nM is not None and ref in reached and not np.isclose(lig.Ki_nM, lig.K_nM, rtol=0.05):
            c = reached[ref].median
            out.append(f"{ref} at {receptor} uses its {lig.K_kind} ({_nM(lig.K_nM)}), not its binding Ki "
                       f"({_nM(lig.Ki_nM)}): at its peak ({_nM(c)} unbound) it occupies {_pct(c / (c + lig.K_nM))} "
                       f"of {receptor}; with the Ki it would be {_pct(c / (c + lig.Ki_nM))}. Which K applies in vivo "
                       "is a modelling choice (see 'K in use and binding Ki').")

    # 5. receptors where nothing signals
    for receptor, entries in ligands.items():
        if any(lig.efficacy > 0 for lig, _ in entries):
            continue
        names = sorted({lig.name for lig, _ in entries})
        rows = occ[occ["receptor"] == receptor]
        top = rows.groupby("compound")["peak_median"].max() if len(rows) else pd.Series(dtype=float)
        occ_txt = "; ".join(f"{c} up to {_pct(v)}" for c, v in top.items())
        srcs = sorted({str(lig.sources.get("efficacy", "")).split(" (")[0] for lig, _ in entries})
        out.append(f"At {receptor} every ligand in the study ({', '.join(names)}) has zero efficacy (competitive "
                   f"antagonists; efficacy source: {'; '.join(s for s in srcs if s) or 'not stated'}), so the "
                   f"{receptor} response is zero in every arm by that modelling choice"
                   + (f"; they occupy {occ_txt} of {receptor}." if occ_txt else "."))

    # 6. spread
    if n > 1 and len(resp):
        r = resp.sort_values("peak_median", ascending=False).iloc[0]
        if r.peak_p95 > r.peak_p05:
            out.append(f"Spread over {n} virtual subjects: peak {r.endpoint.replace('_', ' ')} in '{r.arm}' "
                       f"{_pct(r.peak_median)} (5th-95th percentile {_pct(r.peak_p05)} to {_pct(r.peak_p95)}).")
    elif n == 1:
        out.append("One typical adult was simulated (no population): read the numbers as a model's central case, "
                   "not as the range people show.")
    return out


def study_findings(study_result, *, library=None) -> Findings:
    """The :class:`Findings` of a :class:`pharmsim.study.StudyResult` (or anything with ``results`` and
    ``models`` mappings): peaks, concentrations reached, displacement thresholds, conclusions. Nothing is
    simulated; the equilibrium numbers are closed forms."""
    results = dict(study_result.results)
    models = dict(study_result.models)
    study = getattr(study_result, "study", None)
    population = getattr(study, "population", None)
    lib = library if library is not None else getattr(study, "library", None)
    peaks = peak_table(results)
    reached = reached_concentrations(peaks)
    ligands = study_ligands(models)
    endpoints = tuple(study_endpoints(models))
    references, frames = {}, []
    for receptor, entries in ligands.items():
        ref = reference_ligand([lig for lig, _ in entries])
        if ref is None:
            continue
        references[receptor] = ref.name
        first = list({lig.name: lig for lig, _ in reversed(entries)}.values())[::-1]
        frames.append(displacement_summary(first, [e for e in endpoints if e.receptor == receptor], ref.name,
                                           reached))
    frames = [f for f in frames if len(f)]
    disp = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    parts = {"peaks": peaks, "reached": reached, "ligands": ligands, "references": references,
             "displacement": disp, "endpoints": endpoints}
    conclusions = _conclusions(parts, models, results, population)
    return Findings(peaks=peaks, reached=reached, ligands=ligands, endpoints=endpoints, references=references,
                    displacement=disp, comparators=_comparators(models, ligands, lib),
                    conclusions=tuple(conclusions), warnings=tuple(_spread_warning(results, population)))
