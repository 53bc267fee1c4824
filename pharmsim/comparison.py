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

from . import pk as _pk
from .dosing import Doses, dose
from .model import Model, build_model, simulate
from .products import Product
from .receptor import Ligand, endpoint_ec50_emax, operational_mixture
from .result import Result
from .validate import PharmsimError, require_nonnegative, require_positive

__all__ = ["Comparison", "compare_with_full_agonist", "ceiling_table", "displacement_table"]


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
        """Named matplotlib figures: PK, occupancy, responses, ceilings, displacement."""
        import matplotlib.pyplot as plt

        from .plots import response_curves, style_axes, time_course

        figs = {}
        kr = self.results["kratom"]
        fig, ax = plt.subplots(figsize=(9, 5.5), layout="constrained")
        time_course(kr, "plasma_conc", ax=ax, title="Kratom: plasma MG and 7-OH-MG (total)")
        if "reference" in self.results:
            time_course(self.results["reference"], "plasma_conc", ax=ax, linestyle="--",
                        title="Plasma concentrations: kratom (solid) and the reference (dashed)")
        ax.set_yscale("log")
        ax.set_ylim(bottom=0.01)
        figs["pk_plasma"] = fig

        for receptor in ("MOR", "DOR"):
            if not kr.select("occupancy", receptor=receptor):
                continue
            fig, axes = plt.subplots(1, 2, figsize=(14, 5.5), layout="constrained", sharey=False)
            time_course(kr, "occupancy", receptor=receptor, ax=axes[0],
                        title=f"{receptor} occupancy after kratom alone")
            on = self.results.get("reference_on_kratom")
            if on is not None and on.select("occupancy", receptor=receptor):
                time_course(on, "occupancy", receptor=receptor, ax=axes[1],
                            title=f"{receptor} occupancy: {self.reference} on top of kratom")
            figs[f"occupancy_{receptor}"] = fig

        endpoints = [s.endpoint for s in kr.select("response")]
        fig, axes = plt.subplots(1, len(endpoints), figsize=(6.5 * len(endpoints), 6), layout="constrained",
                                 squeeze=False)
        styles = {"kratom": "-", "reference": "--", "reference_on_kratom": "-.", "naloxone_reversal": ":"}
        labels = {"kratom": "kratom alone", "reference": f"{self.reference} alone",
                  "reference_on_kratom": f"{self.reference} on top of kratom",
                  "naloxone_reversal": f"{self.reference}, then naloxone"}
        for ax, ep in zip(axes[0], endpoints, strict=True):
            for name, res in self.results.items():
                for s in res.select("response", endpoint=ep):
                    ax.plot(res.t_h, 100 * s.values[0], lw=2.5, linestyle=styles.get(name, "-"),
                            label=labels.get(name, name))
            ax.set_ylim(-2, 102)
            style_axes(ax, title=f"{ep.replace('_', ' ')} ({s.receptor})", xlabel="time (h)",
                       ylabel="response (% of system maximum)", legend=ax is axes[0][0], legend_loc="best")
        figs["response_timecourse"] = fig

        lig_rows = self.ceilings
        for ep in lig_rows["endpoint"].unique():
            sub = lig_rows[lig_rows["endpoint"] == ep]
            ligs = [Ligand(r.compound, r.K_nM, r.efficacy, receptor=r.receptor) for r in sub.itertuples()]
            ref = [lig for lig in ligs if lig.name == self.reference]
            others = [lig for lig in ligs if lig.name != self.reference]
            row = sub.iloc[0]
            from .receptor import Endpoint

            endpoint = Endpoint(ep, row.receptor, gain=row.gain, Em=row.Em, n=row.n)
            fig, ax = plt.subplots(figsize=(9, 6), layout="constrained")
            response_curves(others, endpoint, reference=ref[0] if ref else None, ax=ax,
                            title=f"Concentration-response at equilibrium: {ep.replace('_', ' ')} ({row.receptor})")
            figs[f"ceiling_{ep}"] = fig

        if not self.displacement.empty:
            fig, ax = plt.subplots(figsize=(9, 6), layout="constrained")
            for ep, sub in self.displacement.groupby("endpoint", sort=False):
                for partial, s2 in sub.groupby("partial_agonist", sort=False):
                    ax.plot(s2["partial_conc_nM"], 100 * s2["response"], lw=2.5, label=f"{ep}: {partial} added")
            ax.set_xscale("log")
            style_axes(ax, title=f"A partial agonist displaces {self.reference} (equilibrium)",
                       xlabel="partial agonist unbound concentration (nM, log scale)",
                       ylabel=f"response with {self.reference} at its EC80 (%)", legend_loc="below")
            figs["displacement"] = fig
        return figs


def ceiling_table(model: Model) -> pd.DataFrame:
    """Each ligand's Emax and EC50 (unbound, nM) at each endpoint of ``model`` (operational model, closed form)."""
    rows = []
    for ep in model.endpoints:
        for lig in model.ligands_at(ep.receptor):
            K, eff = float(np.mean(lig.K_nM)), float(np.mean(lig.efficacy))
            L = Ligand(lig.compound, K, eff, receptor=lig.receptor)
            ec50, emax = endpoint_ec50_emax(L, ep)
            rows.append({"endpoint": ep.name, "receptor": ep.receptor, "compound": lig.compound, "K_nM": K,
                         "efficacy": eff, "gain": ep.gain, "Em": ep.Em, "n": ep.n,
                         "tau": eff * ep.gain * ep.receptor_fraction, "Emax": float(emax),
                         "EC50_unbound_nM": float(ec50), "efficacy_source": lig.sources.get("efficacy", ""),
                         "K_source": lig.sources.get("K", "")})
    return pd.DataFrame(rows)


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
        K_ref, tau_ref = float(np.mean(ref.K_nM)), float(np.mean(ref.efficacy)) * ep.gain * ep.receptor_fraction
        if tau_ref <= 0:
            continue
        # EC80 of the reference alone: E/Emax = 0.8
        ec50, emax = endpoint_ec50_emax(Ligand(reference, K_ref, float(np.mean(ref.efficacy))), ep)
        grid = np.logspace(np.log10(ec50) - 3, np.log10(ec50) + 3, 2001)
        e_ref = operational_mixture(grid[:, None], [K_ref], [tau_ref], Em=ep.Em, n=ep.n)
        c80 = float(np.interp(0.8 * emax, e_ref, grid))
        for name, lig in ligs.items():
            if name == reference:
                continue
            K, tau = float(np.mean(lig.K_nM)), float(np.mean(lig.efficacy)) * ep.gain * ep.receptor_fraction
            conc = np.logspace(np.log10(K) - 3, np.log10(K) + 3, n_points)
            C = np.stack([np.full_like(conc, c80), conc], axis=-1)
            E = operational_mixture(C, [K_ref, K], [tau_ref, tau], Em=ep.Em, n=ep.n)
            rows += [{"endpoint": ep.name, "receptor": ep.receptor, "reference": reference, "reference_conc_nM": c80,
                      "partial_agonist": name, "partial_conc_nM": c, "response": e}
                     for c, e in zip(conc, E, strict=True)]
    return pd.DataFrame(rows)


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
    """
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
    kratom = product.doses(list(kratom_times_h), library=library)
    ref_at = dose(reference, reference_dose_mg, ref_time, route=reference_route, library=library)
    ref_0 = dose(reference, reference_dose_mg, 0.0, route=reference_route, library=library)

    kw = {"binding": binding, "dor_efficacy": dor_efficacy, "library": library}
    situations: dict[str, Doses] = {"kratom": kratom, "reference": ref_0, "reference_on_kratom": kratom + ref_at}
    notes = []
    if "naloxone" in _pk.DEFAULT_COMPOUNDS:
        situations["naloxone_reversal"] = ref_0 + dose("naloxone", naloxone_dose_mg, nal_time, route="iv",
                                                       library=library)
    else:
        notes.append("naloxone reversal not simulated: the library has no human naloxone PK")
    models = {name: build_model(d, **kw) for name, d in situations.items()}
    results = {name: simulate(m, t) for name, m in models.items()}
    for m in models.values():
        notes += list(m.notes)
    rich = models["reference_on_kratom"]
    return Comparison(results=results, models=models, ceilings=ceiling_table(rich),
                      displacement=displacement_table(rich, reference), reference=reference,
                      notes=tuple(dict.fromkeys(notes)),
                      settings={"product": product, "kratom_times_h": tuple(kratom_times_h), "reference": reference,
                                "reference_dose_mg": reference_dose_mg, "reference_route": reference_route,
                                "reference_time_h": ref_time, "naloxone_dose_mg": naloxone_dose_mg,
                                "naloxone_time_h": nal_time, "t_end_h": t_end, "step_h": step, "binding": binding})
