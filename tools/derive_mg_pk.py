"""Derive pharmsim's default human PK of mitragynine (MG) and formed 7-hydroxymitragynine (7-OH-MG).

Data: Tanna 2022 (Pharmaceutics 14:620, doi:10.3390/pharmaceutics14030620), 2 g kratom leaf powder as tea
= 39 mg MG, median NCA statistics (n = 5, via Kamble/DMD 2023 review Table 3, PMC10353077):
MG Cmax 81.9 nM, Tmax 1 h, t1/2 45.3 h, AUCinf 420 nM*h; 7-OH-MG Cmax 16.1 nM, Tmax 1 h, t1/2 5.67 h,
AUCinf 106 nM*h. Huestis 2024 (Molecules 29:984, doi:10.3390/molecules29050984): capsules of leaf powder,
median MG Tmax 1.0-1.3 h.

Model (pharmsim.pk): MG two-compartment (Tanna 2022 report two-compartment disposition), first-order
absorption with lag from a 'tea' depot; a fraction fpre of the absorbed MG becomes 7-OH-MG presystemically
(7-OH-MG seen after oral, not i.v., MG in dogs: Maxwell 2020) and a fraction fm of MG's systemic clearance
forms 7-OH-MG; 7-OH-MG one-compartment. Apparent parameters (CL/F, V/F) with F = 1: human oral F of MG is
unknown (rat ~21 %, dog 70 %).

Identifiability: fm, CL(7-OH-MG) and V(7-OH-MG) scale together (only fm/V and CL/V shape the profile), so
CL(7-OH-MG) is fixed: hepatic extraction ratio 0.6 (hepatocytes, rat; Chiang 2025, Eur J Drug Metab
Pharmacokinet, doi:10.1007/s13318-025-00939-2) x human liver blood flow 20.7 mL/min/kg x 70 kg
(Davies & Morris 1993, Pharm Res 10:1093, doi:10.1023/A:1018943613122) = 52.2 L/h (an assumption: rat in vitro
extraction applied to humans, blood:plasma = 1).

Fit: scipy.optimize.least_squares over log-parameters (ka, CL, Vc, Q, Vp, fm, V7, fpre, tlag); residuals are
log(simulated/observed) of the 8 statistics, computed by pharmsim.nca on the simulated profile sampled at an
assumed schedule (0.25-6.5 h dense, then 8, 12, 24, 48, 72, 96, 120 h; Tanna's schedule was not retrieved; the
reported Tmax values 0.75...6.5 h fit it) with an assumed LLOQ of 0.5 ng/mL for both analytes (the LLOQ of a
comparable LC-MS/MS assay of 11 kratom alkaloids, Anal Bioanal Chem 2024, PMID 39644381; Tanna's LLOQ not
retrieved). Tmax is read on a 0.01 h grid (continuous, differentiable enough for the fit). The 7-OH-MG
half-life of 5.67 h emerges because 7-OH-MG falls below the LLOQ during MG's distribution phase.
Deterministic multi-start (fixed seed); the best start wins.

Capsule lag: the tea model's Tmax shifted to the Huestis median-range midpoint 1.15 h by a longer lag
(same ka): tlag_capsule = tlag_tea + (1.15 - Tmax_tea).

Run:  python tools/derive_mg_pk.py      (writes its rows into data/pk_derived.csv; ~1 min)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from derive_common import row, write_rows  # noqa: E402

from pharmsim.dosing import dose  # noqa: E402
from pharmsim.nca import nca  # noqa: E402
from pharmsim.pk import CompoundPK, Conversion, PKModel, Route, solve  # noqa: E402
from pharmsim.validate import PharmsimError  # noqa: E402

# numbers read in /work/shared/reference (literature.md section 0, 5a; observed_pk.csv)
MW_MG, MW_7OH = 398.5, 414.5
DOSE_MG = 39.0
OBS = {"MG": {"Cmax": 81.9, "Tmax": 1.0, "t_half": 45.3, "AUCinf": 420.0},
       "7-OH-MG": {"Cmax": 16.1, "Tmax": 1.0, "t_half": 5.67, "AUCinf": 106.0}}
OBS_VEC = np.array([OBS[c][k] for c in ("MG", "7-OH-MG") for k in ("Cmax", "Tmax", "t_half", "AUCinf")])
HUESTIS_TMAX_MID = (1.0 + 1.3) / 2
E_H_7OH, QH_L_PER_H = 0.6, 20.7e-3 * 60 * 70  # extraction ratio (rat hepatocytes); liver blood flow L/h
CL_7OH = E_H_7OH * QH_L_PER_H
SCHEDULE_H = np.array([0.25, 0.5, 0.75, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6.5, 8, 12, 24, 48, 72, 96, 120.0])
LLOQ_NG_PER_ML = 0.5
FINE_H = np.round(np.arange(0, 8.0001, 0.01), 10)
GRID_H = np.union1d(SCHEDULE_H, FINE_H)
NAMES = ["ka_per_h", "CL_L_per_h", "V_L", "Q_L_per_h", "Vp_L", "fm", "V7_L", "fpre", "tlag_h"]
UPPER = np.array([np.inf, np.inf, np.inf, np.inf, np.inf, 0.0, np.inf, 0.0, 0.0])  # log bounds: fractions, lag <= 1


def model(p) -> PKModel:
    ka, CL, Vc, Q, Vp, fm, V7, fpre, tlag = p
    return PKModel(
        (CompoundPK("MG", MW_MG, 2, (Route("tea"),)), CompoundPK("7-OH-MG", MW_7OH, 1, ())),
        (Conversion("MG", "7-OH-MG", presystemic=True),),
        {"MG.CL_L_per_h": CL, "MG.V_L": Vc, "MG.Q_L_per_h": Q, "MG.Vp_L": Vp, "MG.fu": 1.0,
         "MG.tea.ka_per_h": ka, "MG.tea.F": 1.0, "MG.tea.tlag_h": tlag, "MG.tea.fpre_7-OH-MG": fpre,
         "7-OH-MG.CL_L_per_h": CL_7OH, "7-OH-MG.V_L": V7, "7-OH-MG.fu": 1.0, "7-OH-MG.fm": fm},
    )


def statistics(p) -> np.ndarray:
    """Cmax, Tmax, t1/2, AUCinf of MG then 7-OH-MG for parameters p."""
    sol = solve(model(p), GRID_H, dose("MG", DOSE_MG, route="tea", molar_mass_g_per_mol=MW_MG))
    on_schedule = np.isin(GRID_H, SCHEDULE_H)
    on_fine = np.isin(GRID_H, FINE_H)
    out = []
    for cid, mw in (("MG", MW_MG), ("7-OH-MG", MW_7OH)):
        c = sol.conc_nM(cid)[0]
        r = nca(GRID_H[on_schedule], c[on_schedule], lloq=LLOQ_NG_PER_ML * 1000 / mw)
        out += [r.Cmax, FINE_H[np.argmax(c[on_fine])], r.t_half, r.AUC0_inf]
    return np.array(out)


def residuals(logp) -> np.ndarray:
    try:
        r = np.log(statistics(np.exp(logp)) / OBS_VEC)
    except PharmsimError:
        return np.full(OBS_VEC.size, 10.0)
    return np.where(np.isfinite(r), r, 10.0)


def fit(n_starts: int = 12, seed: int = 20240601):
    rng = np.random.default_rng(seed)
    centre = np.log([2.0, 230.0, 400.0, 600.0, 10000.0, 0.03, 300.0, 0.05, 0.25])
    best = None
    for k in range(n_starts):
        x0 = centre if k == 0 else centre + rng.normal(0.0, 0.7, centre.size)
        x0 = np.minimum(x0, UPPER - 1e-3)
        res = least_squares(residuals, x0, diff_step=1e-3, bounds=(-np.inf, UPPER))
        if best is None or res.cost < best.cost:
            best = res
    return best


def main():
    res = fit()
    p = np.exp(res.x)
    stats = statistics(p)
    labels = [f"{c} {k}" for c in ("MG", "7-OH-MG") for k in ("Cmax", "Tmax", "t_half", "AUCinf")]
    print("parameters:", dict(zip(NAMES, np.round(p, 5).tolist(), strict=True)))
    print(f"CL(7-OH-MG) fixed at {CL_7OH:.2f} L/h")
    for lab, s, o in zip(labels, stats, OBS_VEC, strict=True):
        print(f"  {lab:16s} simulated {s:9.3f}  observed {o:9.3f}  ratio {s / o:6.3f}")
    print(f"  sum of squared log residuals {2 * res.cost:.4f}")
    tmax_tea = stats[1]
    tlag_capsule = p[8] + (HUESTIS_TMAX_MID - tmax_tea)
    fitq = "; ".join(f"{lab} {s:.3g} vs {o:.3g}" for lab, s, o in zip(labels, stats, OBS_VEC, strict=True))
    src, doi = "Tanna 2022 (fit by pharmsim)", "10.3390/pharmaceutics14030620"
    how = ("least-squares fit (log-parameters) of a 2-cmt MG + 1-cmt 7-OH-MG model to Tanna 2022 median NCA "
           "statistics after 39 mg MG as tea; apparent value (F = 1; human oral F unknown)")
    ka, CL, Vc, Q, Vp, fm, V7, fpre, tlag = p
    rows = [
        row("MG", "PK", "CL", CL, "L/h", source=src, doi=doi, status="derived", assay="oral tea, NCA medians",
            note=f"CL/F: {how}. Fit: {fitq}"),
        row("MG", "PK", "Vc", Vc, "L", source=src, doi=doi, status="derived", assay="oral tea, NCA medians",
            note=f"central V/F: {how}"),
        row("MG", "PK", "Q", Q, "L/h", source=src, doi=doi, status="derived", assay="oral tea, NCA medians",
            note=f"intercompartmental Q/F: {how}"),
        row("MG", "PK", "Vp", Vp, "L", source=src, doi=doi, status="derived", assay="oral tea, NCA medians",
            note=f"peripheral V/F: {how}"),
        row("MG", "tea", "ka", ka, "1/h", source=src, doi=doi, status="derived", assay="oral tea",
            note=f"absorption rate constant: {how}"),
        row("MG", "tea", "tlag", tlag, "h", source=src, doi=doi, status="derived", assay="oral tea",
            note=f"absorption lag: {how}"),
        row("MG", "tea", "F", 1.0, "fraction", source="assumption", status="assumption",
            note="relative bioavailability of tea = 1: tea (Tanna 2022) is the reference form of the apparent "
                 "(CL/F, V/F) parameters"),
        row("7-OH-MG", "tea", "fpre", fpre, "fraction", source=src, doi=doi, status="derived",
            assay="oral tea", note=f"fraction of absorbed MG converted presystemically to 7-OH-MG: {how}"),
        row("7-OH-MG", "PK", "fm", fm, "fraction", source=src, doi=doi, status="derived", assay="oral tea",
            note=f"fraction of MG's (apparent) clearance forming 7-OH-MG (molar): {how}; identifiable only "
                 "given CL of 7-OH-MG (fixed, see that row)"),
        row("7-OH-MG", "PK", "V", V7, "L", source=src, doi=doi, status="derived", assay="oral tea",
            note=f"7-OH-MG volume (one compartment): {how}; given CL of 7-OH-MG fixed (see that row)"),
        row("7-OH-MG", "PK", "CL", CL_7OH, "L/h", source="assumption", doi="10.1007/s13318-025-00939-2",
            species="rat in vitro scaled to human", status="assumption",
            note="no human 7-OH-MG PK published: hepatic extraction ratio 0.6 (rat hepatocytes, Chiang 2025) x "
                 "human liver blood flow 20.7 mL/min/kg x 70 kg (Davies & Morris 1993, "
                 "doi:10.1023/A:1018943613122) = 52.2 L/h, blood:plasma taken as 1; fixes the fm/CL/V "
                 "scaling that Tanna's data cannot resolve"),
        row("MG", "capsule", "ka", ka, "1/h", source="assumption", status="assumption",
            note="capsule absorption rate taken as the tea value (no published capsule ka); the capsule "
                 "delay is carried by the lag time (see tlag row)"),
        row("MG", "capsule", "tlag", tlag_capsule, "h", source="Huestis 2024 (derived by pharmsim)",
            doi="10.3390/molecules29050984", status="derived", assay="capsules of leaf powder, median Tmax",
            note=f"tea lag {tlag:.3f} h + (1.15 h midpoint of Huestis 2024 median MG Tmax 1.0-1.3 h - model tea "
                 f"Tmax {tmax_tea:.2f} h)"),
        row("7-OH-MG", "capsule", "fpre", fpre, "fraction", source="assumption", status="assumption",
            note="presystemic conversion of MG to 7-OH-MG taken as the tea value (no form-specific data)"),
    ]
    write_rows(rows, "derive_mg_pk.py")
    print(f"wrote {len(rows)} rows")


if __name__ == "__main__":
    main()
