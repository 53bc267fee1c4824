"""Derive pharmsim's default human morphine PK (two-compartment, i.v. and oral) and effect-site ke0.

I.v. data: Stuart-Harris 2000, Br J Clin Pharmacol 49:207, doi:10.1046/j.1365-2125.2000.00141.x, Table 1
(PMC2014910; healthy volunteers, 10 mg/70 kg): CL 1584 mL/min (95.0 L/h), Vd 276 L, t1/2 2.2 h,
Cmax 283 nM at the first sample, tmax 0.08 h (5 min).
A one-compartment model with CL 95 L/h and V 276 L gives C(0) = 127 nM and cannot reach the 283 nM observed at
5 min, so the default is two-compartment. Three unknowns (Vc, Q, Vp), three conditions:
  Vc + Vp = 276 L (reported Vd taken as Vss, an assumption: the paper's Vd method was not retrieved),
  terminal half-life 2.2 h, and C(5 min) = 283 nM after a 10 mg bolus (35,046 nmol; M = 285.34 g/mol),
solved by scipy.optimize.least_squares (log-parameters).
Oral: F = 0.239 (solution; Hoskin 1989, Br J Clin Pharmacol 27:499, doi:10.1111/j.1365-2125.1989.tb05399.x,
abstract as quoted in the reference sheet); ka chosen so that the model's Tmax after an oral solution is the
reported 45 min (Hoskin 1989), by scipy.optimize.brentq.
CL (1584 mL/min), F (23.9 %) and t1/2ke0 (4.4 h, Dahan 2004) are data/pk.csv rows read by the library; this
script writes only Vc, Q, Vp, ka and the tlag assumption.

Run:  python tools/derive_morphine_pk.py      (writes its rows into data/pk_derived.csv)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy.optimize import brentq, least_squares

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from derive_common import row, write_rows  # noqa: E402

MW = 285.34
DOSE_NMOL = 10.0 * 1e6 / MW
CL = 1584 * 0.06  # mL/min -> L/h
VSS, THALF, C5, T5 = 276.0, 2.2, 283.0, 5 / 60
F_ORAL, TMAX_ORAL = 0.239, 0.75


def biexp(Vc, Q, Vp):
    """Rate constants and macro-constants of the 2-cmt i.v. bolus (Gibaldi & Perrier 1982)."""
    k10, k12, k21 = CL / Vc, Q / Vc, Q / Vp
    s = k10 + k12 + k21
    d = np.sqrt(s * s - 4 * k10 * k21)
    alpha, beta = (s + d) / 2, (s - d) / 2
    A = DOSE_NMOL / Vc * (alpha - k21) / (alpha - beta)
    B = DOSE_NMOL / Vc * (k21 - beta) / (alpha - beta)
    return alpha, beta, A, B, k21


def residuals(logp):
    Vc, Q = np.exp(logp)
    Vp = VSS - Vc
    if Vp <= 0:
        return np.array([10.0, 10.0])
    alpha, beta, A, B, _ = biexp(Vc, Q, Vp)
    return np.array([np.log((np.log(2) / beta) / THALF), np.log((A * np.exp(-alpha * T5) + B * np.exp(-beta * T5))
                                                             / C5)])


def oral_tmax(ka, Vc, Q, Vp):
    """Tmax of the oral 2-cmt model (first zero of dC/dt after 0), on a fine grid then refined."""
    alpha, beta, _, _, k21 = biexp(Vc, Q, Vp)

    def dcdt(t):  # derivative of the 3-exponential oral profile (up to a positive factor)
        coef = {ka: (k21 - ka) / ((alpha - ka) * (beta - ka)),
                alpha: (k21 - alpha) / ((ka - alpha) * (beta - alpha)),
                beta: (k21 - beta) / ((ka - beta) * (alpha - beta))}
        return sum(-r * c * np.exp(-r * t) for r, c in coef.items())

    grid = np.linspace(1e-4, 10, 20001)
    v = dcdt(grid)
    i = int(np.argmax(v < 0))
    return brentq(dcdt, grid[i - 1], grid[i])


def main():
    fit = least_squares(residuals, np.log([100.0, 150.0]), xtol=1e-14, ftol=1e-14, gtol=1e-14)
    Vc, Q = np.exp(fit.x)
    Vp = VSS - Vc
    alpha, beta, A, B, _ = biexp(Vc, Q, Vp)
    c5 = A * np.exp(-alpha * T5) + B * np.exp(-beta * T5)
    print(f"Vc {Vc:.2f} L  Q {Q:.2f} L/h  Vp {Vp:.2f} L  t1/2,alpha {np.log(2) / alpha * 60:.1f} min  "
          f"t1/2,beta {np.log(2) / beta:.3f} h  C(5 min) {c5:.1f} nM  AUCinf {DOSE_NMOL / CL:.1f} nM*h "
          "(observed 290 +- 67)")
    ka = brentq(lambda k: oral_tmax(k, Vc, Q, Vp) - TMAX_ORAL, 0.3, 50.0)
    print(f"oral ka {ka:.4f} 1/h gives Tmax {oral_tmax(ka, Vc, Q, Vp):.4f} h")
    sh = "Stuart-Harris 2000 (derived by pharmsim)"
    sh_doi = "10.1046/j.1365-2125.2000.00141.x"
    how = (f"2-cmt fit to Stuart-Harris 2000 i.v. 10 mg/70 kg means: CL 95.0 L/h fixed, Vc + Vp = Vd 276 L "
           f"(taken as Vss), terminal t1/2 2.2 h, C(5 min) = 283 nM; gives t1/2,alpha "
           f"{np.log(2) / alpha * 60:.1f} min; least-squares compromise (no exact solution): model t1/2 "
           f"{np.log(2) / beta:.2f} h, C(5 min) {c5:.0f} nM; model AUCinf {DOSE_NMOL / CL:.0f} nM*h vs reported mean "
           "290 (SD 67): the mean CL and mean AUC of the paper are not reciprocal")
    rows = [
        row("morphine", "PK", "Vc", Vc, "L", source=sh, doi=sh_doi, status="derived", assay="i.v. bolus",
            note=how),
        row("morphine", "PK", "Q", Q, "L/h", source=sh, doi=sh_doi, status="derived", assay="i.v. bolus",
            note=how),
        row("morphine", "PK", "Vp", Vp, "L", source=sh, doi=sh_doi, status="derived", assay="i.v. bolus",
            note=how),
        row("morphine", "oral", "ka", ka, "1/h", source="Hoskin 1989 (derived by pharmsim)",
            doi="10.1111/j.1365-2125.1989.tb05399.x", status="derived", assay="oral solution, Tmax",
            note="ka such that the 2-cmt model's oral Tmax is 45 min (Hoskin 1989 oral solution), brentq"),
        row("morphine", "oral", "tlag", 0.0, "h", source="assumption", status="assumption",
            note="no lag reported for oral morphine solution; Tmax 45 min is carried by ka"),
    ]
    write_rows(rows, "derive_morphine_pk.py")
    print(f"wrote {len(rows)} rows")


if __name__ == "__main__":
    main()
