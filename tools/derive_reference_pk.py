"""Derive the arithmetic, fitted and assumption rows of the reference compounds' PK (naloxone, buprenorphine,
fentanyl) and write them into data/pk_derived.csv.

Rows (each with its reason; the published inputs are data/pk.csv rows):
- fu = 1 - fraction bound:
  naloxone 1 - 0.385 = 0.615 (midpoint of 32-45 % bound, Swiss Fachinformation; the US label says only
  'relatively weak');
  buprenorphine 1 - 0.96 = 0.04 (Elkader & Sproule 2005, Clin Pharmacokinet 44:661,
  doi:10.2165/00003088-200544070-00001, abstract);
  fentanyl 1 - 0.7916 = 0.208 (equilibrium dialysis, plasma of 15 volunteers, J Pharm Pharmacol 1981 33:507,
  doi:10.1111/j.2042-7158.1981.tb13849.x, abstract).
- tlag = 0 (assumption) for naloxone i.m. / intranasal (Dowling 2008 fitted first-order absorption without a
  lag in the abstract) and buprenorphine sublingual (see below).
- buprenorphine sublingual ka: Bjornsson 2023 (Clin Pharmacokinet 62:1427, doi:10.1007/s40262-023-01288-6;
  structure as quoted in stanpumpR R/drugs_buprenorphine.R, primary not read) absorbs a sublingual tablet by
  two parallel pathways: 75.9 % of the bioavailable dose after a 0.171 h lag as a 0.419 h zero-order input into
  a depot absorbed at 1.72 /h, and 24.1 % first-order at 0.0875 /h. pharmsim routes are single first-order
  inputs, so that input is simulated exactly on the Bjornsson 3-compartment disposition (pharmsim.pk, a
  zero-order infusion into a depot) and one ka (no lag) is fitted by least squares to the plasma profile from
  0.25 to 24 h (scipy.optimize.minimize_scalar on log ka). stanpumpR did the same fit and reports
  0.777 /h; the value here is recomputed, not copied.

Run:  python tools/derive_reference_pk.py      (writes its rows into data/pk_derived.csv)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize_scalar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from derive_common import row, write_rows  # noqa: E402

from pharmsim.dosing import dose  # noqa: E402
from pharmsim.pk import CompoundPK, PKModel, Route, solve  # noqa: E402

MW_BUP = 467.65
# Bjornsson 2023 disposition (data/pk.csv rows, L and L/h)
BUP = {"CL_L_per_h": 52.1, "V_L": 64.3, "Q_L_per_h": 186.0, "Vp_L": 130.0, "Q2_L_per_h": 60.3, "Vp2_L": 1580.0}
# Bjornsson 2023 two-pathway sublingual input (as quoted by stanpumpR)
FRAC_FAST, LAG_FAST_H, ZO_FAST_H, KA_FAST, KA_SLOW = 0.759, 0.171, 0.419, 1.72, 0.0875
FIT_T = np.linspace(0.25, 24.0, 96)
DOSE_MG = 16.0  # reference dose of the published F (shape of the profile does not depend on it: linear model)


def _disposition(routes):
    p = {f"B.{k}": v for k, v in BUP.items()}
    p["B.fu"] = 1.0
    return CompoundPK("B", MW_BUP, 3, routes), p


def two_pathway_profile(t):
    """Plasma concentration (nM) after DOSE_MG of bioavailable buprenorphine by the two-pathway input."""
    comp, p = _disposition((Route("fast"), Route("slow")))
    p.update({"B.fast.ka_per_h": KA_FAST, "B.fast.F": 1.0, "B.fast.tlag_h": 0.0,
              "B.slow.ka_per_h": KA_SLOW, "B.slow.F": 1.0, "B.slow.tlag_h": 0.0})
    m = PKModel((comp,), (), p)
    d = (dose("B", FRAC_FAST * DOSE_MG, LAG_FAST_H, route="fast", duration_h=ZO_FAST_H, molar_mass_g_per_mol=MW_BUP)
         + dose("B", (1 - FRAC_FAST) * DOSE_MG, 0.0, route="slow", molar_mass_g_per_mol=MW_BUP))
    return solve(m, t, d).conc_nM("B")[0]


def one_pathway_profile(t, ka):
    comp, p = _disposition((Route("sl"),))
    p.update({"B.sl.ka_per_h": ka, "B.sl.F": 1.0, "B.sl.tlag_h": 0.0})
    return solve(PKModel((comp,), (), p), t, dose("B", DOSE_MG, 0.0, route="sl",
                                                  molar_mass_g_per_mol=MW_BUP)).conc_nM("B")[0]


def fit_sublingual_ka():
    target = two_pathway_profile(FIT_T)
    res = minimize_scalar(lambda lk: float(np.sum((one_pathway_profile(FIT_T, np.exp(lk)) - target) ** 2)),
                          bounds=(np.log(0.05), np.log(20.0)), method="bounded", options={"xatol": 1e-10})
    ka = float(np.exp(res.x))
    grid = np.linspace(0.0, 24.0, 2401)
    two, one = two_pathway_profile(grid), one_pathway_profile(grid, ka)
    return ka, {"tmax_two_h": grid[np.argmax(two)], "tmax_one_h": grid[np.argmax(one)],
                "cmax_ratio": one.max() / two.max(), "c24_ratio": one[-1] / two[-1]}


def main():
    ka, chk = fit_sublingual_ka()
    print(f"sublingual ka {ka:.4f} 1/h; Tmax two-pathway {chk['tmax_two_h'] * 60:.0f} min, one-pathway "
          f"{chk['tmax_one_h'] * 60:.0f} min; Cmax ratio {chk['cmax_ratio']:.3f}; C(24 h) ratio {chk['c24_ratio']:.3f}")
    rows = [
        row("naloxone", "PK", "fu", 0.615, "fraction",
            source="Naloxone HCl Swiss Fachinformation (derived by pharmsim)",
            doi="ch.oddb.org Fachinformation 56952 (label; no DOI)", status="derived",
            assay="plasma protein binding 32-45 % (label)",
            note="1 - 0.385: midpoint of the 32-45 % bound range of the label (protein_binding_low/high rows); "
                 "the US label says binding is 'relatively weak' (albumin); primary study not named"),
        row("buprenorphine", "PK", "fu", 0.04, "fraction", source="Elkader & Sproule 2005 (derived by pharmsim)",
            doi="10.2165/00003088-200544070-00001", status="derived", assay="review (96 % bound)",
            note="1 - 0.96 (protein_binding row)"),
        row("fentanyl", "PK", "fu", 0.2084, "fraction",
            source="J Pharm Pharmacol 1981 fentanyl protein binding (derived by pharmsim)",
            doi="10.1111/j.2042-7158.1981.tb13849.x", status="derived",
            assay="equilibrium dialysis, 15 volunteers, 37 C",
            note="1 - 0.7916 (protein_binding row); Xenobiotica 2015 found 86-89 % bound in seeded plasma "
                 "(fu 0.11-0.14), so fu is uncertain within ~2-fold"),
        row("naloxone", "im", "tlag", 0.0, "h", source="assumption", status="assumption",
            note="Dowling 2008 describes i.m. absorption as first order; no lag time is reported in the abstract"),
        row("naloxone", "intranasal", "tlag", 0.0, "h", source="assumption", status="assumption",
            note="Dowling 2008 describes intranasal absorption as first order; no lag time is reported in the "
                 "abstract"),
        row("buprenorphine", "sublingual", "ka", ka, "1/h", source="Bjornsson 2023 (fit by pharmsim)",
            doi="10.1007/s40262-023-01288-6", status="derived", assay="sublingual tablet, population PK",
            note=f"single first-order ka (no lag) least-squares fitted 0.25-24 h to the published two-pathway "
                 f"sublingual input (75.9 % after 0.171 h lag as a 0.419 h zero-order input into a depot at "
                 f"1.72/h; 24.1 % first order at 0.0875/h; as quoted by stanpumpR, primary not read) on the "
                 f"Bjornsson 3-cmt disposition; Tmax {chk['tmax_one_h'] * 60:.0f} vs {chk['tmax_two_h'] * 60:.0f} "
                 f"min, Cmax {100 * (chk['cmax_ratio'] - 1):+.0f} %, C(24 h) {100 * (chk['c24_ratio'] - 1):+.0f} % "
                 f"vs the two-pathway profile (stanpumpR's own fit: 0.777/h)"),
        row("buprenorphine", "sublingual", "tlag", 0.0, "h", source="assumption", status="assumption",
            note="the single first-order sublingual input is fitted without a lag (see the ka row); Bjornsson's "
                 "0.171 h lag applies to the fast pathway only"),
    ]
    write_rows(rows, "derive_reference_pk.py")
    print(f"wrote {len(rows)} rows")


if __name__ == "__main__":
    main()
