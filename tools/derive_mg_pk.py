"""Derive pharmsim's default human PK of mitragynine (MG) and formed 7-hydroxymitragynine (7-OH-MG).

Why a new fit (issue 10): the earlier default met Tanna 2022's eight median NCA statistics but lost the curve
(absorption t1/2 3 min, distribution t1/2 6.5 min, Q/F 3,244 L/h ~ 10x cardiac output; MG at 1 h a third of
its peak; 7-OH-MG above MG from 1 to 8 h). Summary statistics cannot identify the distribution phase, so this
fit adds what is known about the curve and about physiology, and reports what the data cannot identify.

Data (in-sample: used to fit):
- Tanna 2022 (Pharmaceutics 14:620, doi:10.3390/pharmaceutics14030620): 2 g kratom leaf powder as tea =
  39 mg MG, 5 participants; median (range) NCA statistics read in PMC10353077 Table 3: MG Cmax 81.9
  (50.1-177) nM, Tmax 1 (0.75-1.5) h, t1/2 45.3 (31.9-50.2) h, AUCinf 420 (324-1360) nM*h; 7-OH-MG Cmax 16.1
  (11.9-22.2) nM, Tmax 1 (0.75-2.5) h, t1/2 5.67 (5.03-6.52) h, AUCinf 106 (60.8-126) nM*h. The SD of each
  log median: SD_between ~ ln(max/min)/2.33 (expected range of 5 normal values; Hozo 2005,
  doi:10.1186/1471-2288-5-13) and SE(median) ~ 1.2533 SD/sqrt(5).
- Huestis 2024 (Molecules 29:984, doi:10.3390/molecules29050984): mean 7-OH-MG/MG plasma concentration
  ratio 0.20-0.31 after single doses (all dose groups, capsules); fitted as the mean of the model's ratio on
  the sampling schedule up to 24 h, target 0.255 with SD ln(0.31/0.20)/2. The concentration-time curves of
  Tanna 2022, Huestis 2024 and the posterior of Notario 2026 (doi:10.5599/admet.3170) could not be retrieved
  here (only abstracts): if you have them, fit them with pharmsim.fit.fit_pk_profiles.
- Huestis 2024 capsules: median MG Tmax 1.0-1.3 h -> the capsule ka (below).

Physiological constraints (assumptions, each a bound, not an estimate):
- Q/F <= cardiac output / F = 5.6 L/min x 60 / 0.696 = 483 L/h: human cardiac output 5,600 mL/min (Davies &
  Morris 1993, Pharm Res 10:1093, doi:10.1023/A:1018943613122); the oral F of MG is unknown in humans, the dog
  value 69.6 % (Maxwell 2020, doi:10.1055/a-1212-5475) is the library's preferred one. Inter-compartmental
  clearance cannot exceed the blood flow that carries the drug.
- absorption t1/2 >= 6 min (ka <= 6.9 1/h): faster than the emptying of a drink from the stomach is not
  physically plausible for an oral dose; tea lag <= 0.25 h.
- fm, fpre in (0, 1).
- CL(7-OH-MG) fixed at 52.2 L/h: hepatic extraction 0.6 (rat hepatocytes, Chiang 2025,
  doi:10.1007/s13318-025-00939-2) x human liver blood flow 20.7 mL/min/kg x 70 kg (Davies & Morris 1993).
  fm, CL(7-OH-MG) and V(7-OH-MG) scale together, so one must be fixed.

Model (pharmsim.pk): MG two-compartment (Tanna 2022 report a two-compartment disposition) with first-order
absorption and lag from the 'tea' depot; a fraction fpre of absorbed MG is converted presystemically and a
fraction fm of MG's clearance forms 7-OH-MG (one compartment). Apparent parameters (F = 1).
MG's t1/2 is the model's terminal half-life (PKModel.terminal_half_life_h; Tanna's 120-h sampling covers the
terminal phase); the other statistics are computed by pharmsim.nca on the simulated profile sampled on an
assumed schedule (Tanna's
schedule from the trial registry NCT04392011: 0.25, 0.5, 1, 1.5, 2, 3, 4, 6, 8, 12, 24, 48, 72, 96, 120 h)
with an assumed LLOQ of 0.5 ng/mL (the LLOQ of a comparable LC-MS/MS assay of kratom alkaloids; Tanna's was
not retrieved); Tmax on a 0.01 h grid.

Uncertainty: profile-likelihood 95 % intervals (pharmsim.fit.fit_statistics, chi-square thresholds with the
known SDs); a flat profile (interval reaching a bound) means the data do not identify the parameter.

Capsule: ka such that the model's MG Tmax is the midpoint of Huestis 2024's median range, 1.15 h, with the tea
lag (no capsule-specific lag data).

Run:  python tools/derive_mg_pk.py      (writes its rows into data/pk_derived.csv and the fit table into
      tools/derive_mg_pk_fit.csv; about 3 minutes)
This software is for teaching and research, not dosing advice.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import brentq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from derive_common import row, write_rows  # noqa: E402

from pharmsim.dosing import dose  # noqa: E402
from pharmsim.fit import FitParameter, IdentifiabilityWarning, fit_statistics  # noqa: E402
from pharmsim.nca import nca  # noqa: E402
from pharmsim.pk import CompoundPK, Conversion, PKModel, Route  # noqa: E402
from pharmsim.solve import solve_pk  # noqa: E402

MW_MG, MW_7OH = 398.5, 414.5
DOSE_MG = 39.0
TANNA = [("MG Cmax", 81.9, 50.1, 177.0), ("MG Tmax", 1.0, 0.75, 1.5), ("MG t_half", 45.3, 31.9, 50.2),
         ("MG AUCinf", 420.0, 324.0, 1360.0), ("7-OH-MG Cmax", 16.1, 11.9, 22.2), ("7-OH-MG Tmax", 1.0, 0.75, 2.5),
         ("7-OH-MG t_half", 5.67, 5.03, 6.52), ("7-OH-MG AUCinf", 106.0, 60.8, 126.0)]
N_TANNA = 5
RATIO = (0.255, 0.20, 0.31)   # Huestis 2024 mean 7-OH-MG/MG ratio, midpoint and range
SCHEDULE_H = np.array([0.25, 0.5, 1, 1.5, 2, 3, 4, 6, 8, 12, 24, 48, 72, 96, 120.0])
LLOQ_NG_PER_ML = 0.5
FINE_H = np.round(np.arange(0, 12.0001, 0.01), 10)
GRID_H = np.union1d(SCHEDULE_H, FINE_H)
CARDIAC_OUTPUT_L_PER_H = 5.6 * 60
F_DOG = 0.696
Q_MAX = CARDIAC_OUTPUT_L_PER_H / F_DOG
KA_MAX = np.log(2) / 0.1
CL_7OH = 0.6 * 20.7e-3 * 60 * 70
HUESTIS_TMAX_MID = (1.0 + 1.3) / 2


def data() -> pd.DataFrame:
    rows = []
    for label, med, lo, hi in TANNA:
        sd = 1.2533 * np.log(hi / lo) / 2.326 / np.sqrt(N_TANNA)
        rows.append((label, med, sd, "Tanna 2022 median (range)"))
    rows.append(("7-OH-MG/MG mean ratio", RATIO[0], np.log(RATIO[2] / RATIO[1]) / 2, "Huestis 2024 range"))
    return pd.DataFrame(rows, columns=["statistic", "value", "sd", "source"])


def model(v, route: str = "tea") -> PKModel:
    return PKModel(
        (CompoundPK("MG", MW_MG, 2, (Route(route),)), CompoundPK("7-OH-MG", MW_7OH, 1, ())),
        (Conversion("MG", "7-OH-MG", presystemic=True),),
        {"MG.CL_L_per_h": v["CL"], "MG.V_L": v["Vc"], "MG.Q_L_per_h": v["Q"], "MG.Vp_L": v["Vp"], "MG.fu": 1.0,
         f"MG.{route}.ka_per_h": v["ka"], f"MG.{route}.F": 1.0, f"MG.{route}.tlag_h": v["tlag"],
         f"MG.{route}.fpre_7-OH-MG": v["fpre"], "7-OH-MG.CL_L_per_h": CL_7OH, "7-OH-MG.V_L": v["V7"],
         "7-OH-MG.fu": 1.0, "7-OH-MG.fm": v["fm"]})


def curves(v, route: str = "tea"):
    d = dose("MG", DOSE_MG, route=route, molar_mass_g_per_mol=MW_MG)
    sol = solve_pk(model(v, route), GRID_H, d)
    return sol.conc_nM("MG")[0], sol.conc_nM("7-OH-MG")[0]


def tmax_h(c_fine: np.ndarray) -> float:
    """Continuous Tmax: the vertex of the parabola through the fine-grid maximum and its neighbours (a
    smooth function of the parameters, which finite-difference Jacobians need; the grid step is 0.01 h)."""
    i = int(np.clip(np.argmax(c_fine), 1, c_fine.size - 2))
    y0, y1, y2 = c_fine[i - 1:i + 2]
    den = y0 - 2 * y1 + y2
    shift = 0.5 * (y0 - y2) / den if den < 0 else 0.0
    return float(FINE_H[i] + np.clip(shift, -1.0, 1.0) * (FINE_H[1] - FINE_H[0]))


def statistics(v) -> np.ndarray:
    """The model's values of the data's statistics, in the same order."""
    a, b = curves(v)
    on, fine = np.isin(GRID_H, SCHEDULE_H), np.isin(GRID_H, FINE_H)
    out = []
    for c, mw in ((a, MW_MG), (b, MW_7OH)):
        r = nca(GRID_H[on], c[on], lloq=LLOQ_NG_PER_ML * 1000 / mw)
        # MG: the terminal (slowest disposition) half-life of the model - Tanna sampled to 120 h, long enough
        # to see it; an NCA of the simulated curve would hinge on where the assumed LLOQ cuts the tail.
        # 7-OH-MG: the NCA half-life on the schedule above the LLOQ, as the study measured it.
        t_half = float(model(v).terminal_half_life_h("MG")) if c is a else r.t_half
        out += [r.Cmax, tmax_h(c[fine]), t_half, r.AUC0_inf]
    both = on & (GRID_H <= 24) & (a > LLOQ_NG_PER_ML * 1000 / MW_MG) & (b > LLOQ_NG_PER_ML * 1000 / MW_7OH)
    out.append(float(np.mean(b[both] / a[both])))
    return np.array(out)


PARAMS = {
    "ka": FitParameter(4.24, low=0.05, high=KA_MAX, log=True, unit="1/h"),
    "CL": FitParameter(163.0, low=10.0, high=2000.0, log=True, unit="L/h"),
    "Vc": FitParameter(1019.0, low=10.0, high=2e4, log=True, unit="L"),
    "Q": FitParameter(103.7, low=1.0, high=Q_MAX, log=True, unit="L/h"),
    "Vp": FitParameter(4320.0, low=10.0, high=1e5, log=True, unit="L"),
    "fm": FitParameter(0.0034, low=1e-4, high=1.0, log=True, unit="fraction"),
    "V7": FitParameter(403.0, low=1.0, high=1e5, log=True, unit="L"),
    "fpre": FitParameter(0.0631, low=1e-4, high=1.0, log=True, unit="fraction"),
    "tlag": FitParameter(0.2306, low=0.0, high=0.25, log=False, unit="h"),
}


def fit():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", IdentifiabilityWarning)
        res = fit_statistics(data(), statistics, PARAMS, ci="profile")
    return res, [str(w.message) for w in caught if issubclass(w.category, IdentifiabilityWarning)]


def capsule_ka(v) -> float:
    """ka of capsules giving the Huestis median-range midpoint Tmax (1.15 h) with the tea lag."""
    def tmax(ka):
        a, _ = curves({**v, "ka": ka}, route="capsule")
        fine = np.isin(GRID_H, FINE_H)
        return tmax_h(a[fine]) - HUESTIS_TMAX_MID
    return brentq(tmax, 0.3, v["ka"] + 1e-9, xtol=1e-4)


def main():
    res, warns = fit()
    est = res.table()
    v = dict(zip(est["parameter"], est["estimate"], strict=True))
    stats = statistics(v)
    d = data()
    print(est.to_string(index=False))
    for w in warns:
        print("identifiability:", w)
    for lab, s, o in zip(d["statistic"], stats, d["value"], strict=True):
        print(f"  {lab:24s} simulated {s:9.3f}  observed {o:9.3f}")
    est.to_csv(Path(__file__).with_name("derive_mg_pk_fit.csv"), index=False)
    ka_cap = capsule_ka(v)

    def ci(name):
        r = est[est["parameter"] == name].iloc[0]
        lo, hi = r["ci_low"], r["ci_high"]
        # only the profile-bound warning says that an interval is truncated by a bound (a flat profile);
        # the standard-error and correlation warnings name parameters too, but do not mean that
        bound = [w for w in warns if "reaching a bound" in w]
        flat = any(f" {name} (" in w or f": {name} (" in w for w in bound)
        text = f"profile-likelihood 95 % interval {lo:.3g}-{hi:.3g}"
        return text + (" (NOT identified by the data: the profile reaches a bound of the search)" if flat or
                       not (np.isfinite(lo) and np.isfinite(hi)) else "")

    fitq = "; ".join(f"{lab} {s:.3g} vs {o:.3g}" for lab, s, o in zip(d["statistic"], stats, d["value"], strict=True))
    src, doi = "Tanna 2022 + Huestis 2024 (fit by pharmsim)", "10.3390/pharmaceutics14030620"
    how = ("weighted least-squares fit (pharmsim.fit.fit_statistics) of a 2-cmt MG + 1-cmt 7-OH-MG model to the "
           "Tanna 2022 median NCA statistics after 39 mg MG as tea and the Huestis 2024 mean 7-OH-MG/MG ratio, "
           "with physiological bounds (Q/F <= cardiac output / F_dog; absorption t1/2 >= 6 min); apparent value "
           "(F = 1; human oral F unknown)")
    rows = [
        row("MG", "PK", "CL", v["CL"], "L/h", source=src, doi=doi, status="derived", assay="oral tea, NCA medians",
            note=f"CL/F: {how}; {ci('CL')}. Fit: {fitq}"),
        row("MG", "PK", "Vc", v["Vc"], "L", source=src, doi=doi, status="derived", assay="oral tea, NCA medians",
            note=f"central V/F: {how}; {ci('Vc')}"),
        row("MG", "PK", "Q", v["Q"], "L/h", source=src, doi=doi, status="derived", assay="oral tea, NCA medians",
            note=f"intercompartmental Q/F: {how}; {ci('Q')}; bound {Q_MAX:.0f} L/h"),
        row("MG", "PK", "Vp", v["Vp"], "L", source=src, doi=doi, status="derived", assay="oral tea, NCA medians",
            note=f"peripheral V/F: {how}; {ci('Vp')}"),
        row("MG", "tea", "ka", v["ka"], "1/h", source=src, doi=doi, status="derived", assay="oral tea",
            note=f"absorption rate constant: {how}; {ci('ka')}"),
        row("MG", "tea", "tlag", v["tlag"], "h", source=src, doi=doi, status="derived", assay="oral tea",
            note=f"absorption lag: {how}; {ci('tlag')}"),
        row("MG", "tea", "F", 1.0, "fraction", source="assumption", status="assumption",
            note="relative bioavailability of tea = 1: tea (Tanna 2022) is the reference form of the apparent "
                 "(CL/F, V/F) parameters"),
        row("7-OH-MG", "tea", "fpre", v["fpre"], "fraction", source=src, doi=doi, status="derived",
            assay="oral tea", note=f"fraction of absorbed MG converted presystemically to 7-OH-MG: {how}; "
                                   f"{ci('fpre')}"),
        row("7-OH-MG", "PK", "fm", v["fm"], "fraction", source=src, doi=doi, status="derived", assay="oral tea",
            note=f"fraction of MG's (apparent) clearance forming 7-OH-MG (molar): {how}; {ci('fm')}; identifiable "
                 "only given CL of 7-OH-MG (fixed, see that row)"),
        row("7-OH-MG", "PK", "V", v["V7"], "L", source=src, doi=doi, status="derived", assay="oral tea",
            note=f"7-OH-MG volume (one compartment): {how}; {ci('V7')}; given CL of 7-OH-MG fixed (see that row)"),
        row("7-OH-MG", "PK", "CL", CL_7OH, "L/h", source="assumption", doi="10.1007/s13318-025-00939-2",
            species="rat in vitro scaled to human", status="assumption",
            note="no human 7-OH-MG PK published: hepatic extraction ratio 0.6 (rat hepatocytes, Chiang 2025) x "
                 "human liver blood flow 20.7 mL/min/kg x 70 kg (Davies & Morris 1993, "
                 "doi:10.1023/A:1018943613122) = 52.2 L/h, blood:plasma taken as 1; fixes the fm/CL/V "
                 "scaling that the data cannot resolve"),
        row("MG", "capsule", "ka", ka_cap, "1/h", source="Huestis 2024 (derived by pharmsim)",
            doi="10.3390/molecules29050984", status="derived", assay="capsules of leaf powder, median Tmax",
            note=f"ka giving the model's MG Tmax = 1.15 h, the midpoint of Huestis 2024's median MG Tmax range "
                 f"1.0-1.3 h, with the tea disposition and lag (tea ka {v['ka']:.3g} 1/h)"),
        row("MG", "capsule", "tlag", v["tlag"], "h", source="assumption", status="assumption",
            note="capsule lag taken as the tea lag (no capsule-specific lag data; the slower capsule absorption is "
                 "carried by its ka)"),
        row("7-OH-MG", "capsule", "fpre", v["fpre"], "fraction", source="assumption", status="assumption",
            note="presystemic conversion of MG to 7-OH-MG taken as the tea value (no form-specific data)"),
    ]
    write_rows(rows, "derive_mg_pk.py")
    print(f"capsule ka {ka_cap:.4g} 1/h; wrote {len(rows)} rows")


if __name__ == "__main__":
    main()
