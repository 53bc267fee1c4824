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
from .receptor import Ligand, endpoint_ec50_emax, operational_mixture
from .result import Result
from .study import Arm, ModelOptions, Study, run_study
from .validate import PharmsimError, require_nonnegative, require_positive

__all__ = ["Comparison", "comparison_study", "compare_with_full_agonist", "ceiling_table", "ceiling_table_of",
           "displacement_table"]


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
                         "efficacy": lig.efficacy, "gain": ep.gain, "Em": ep.Em, "n": ep.n,
                         "tau": lig.efficacy * ep.gain * ep.receptor_fraction, "Emax": float(emax),
                         "EC50_unbound_nM": float(ec50), "efficacy_source": lig.sources.get("efficacy", ""),
                         "K_source": lig.sources.get("K", ""), "Ki_source": lig.sources.get("Ki", "")})
    return pd.DataFrame(rows)


def ceiling_table(model: Model) -> pd.DataFrame:
    """Each ligand's Emax and EC50 (unbound, nM) at each endpoint of ``model`` (:func:`ceiling_table_of`)."""
    return ceiling_table_of(model.ligands, model.endpoints)


def displacement_table(model: Model, reference: str, n_points: int = 61) -> pd.DataFrame:
    """Response with the full agonist at its EC80 as each partial agonist's concentration rises (equilibrium).

    ``E = Em S^n/(S^n + 1)``, ``S = sum_i tau_i p_i`` with Gaddum occupancies: as the partial agonist's
    occupancy approaches 1 the response falls towards the partial agonist's own Emax.
    """
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
    t_end = float(require_positive("t_end_h", t_end_h, "h"))
    step = float(require_positive("step_h", step_h, "h"))
    if step > t_end:
        raise PharmsimError(f"step_h must not exceed t_end_h ({t_end} h); got {step}")
    ref_time = float(require_nonnegative("reference_time_h", reference_time_h, "h"))
    nal_time = float(require_nonnegative("naloxone_time_h", naloxone_time_h, "h"))
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
