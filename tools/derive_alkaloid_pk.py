"""Derive one-compartment human PK of the minor kratom alkaloid speciociliatine from the published NCA medians
of Tanna 2022 (Pharmaceutics 14:620, doi:10.3390/pharmaceutics14030620; via the DMD 2023 review PMC10353077,
Table 3; 2 g of product K51 as tea, n = 5):

    speciociliatine (10 mg dosed): Cmax 308 (154-380) nM, Tmax 2.5 (1-3.5) h, t1/2 12.3 (10.4-21.1) h,
                                   AUCinf 5120 (3200-7560) nM*h, CL/F 5.01 (3.40-8.04) L/h

Paynantheine (12 mg dosed: Cmax 61.1 nM, Tmax 1 h, t1/2 27.0 h, CL/F 67.4 L/h; its NCA rows are in data/pk.csv)
is NOT given a model: a one-compartment model from its CL/F, t1/2 and Tmax peaks at 11 nM, a fifth of the
published Cmax, so its disposition has a distribution phase that NCA medians cannot identify.

Model: one compartment with first-order absorption from the 'tea' (and, same leaf, 'leaf powder') depot,
apparent parameters (F = 1). CL/F is the published median (= dose / AUC); V/F = CL/F x t1/2 / ln 2 from the
median terminal half-life (the published Vz/F median, 130 L, comes from other subjects' t1/2 and CL,
so it is not used); ka solves Tmax = ln(ka/k) / (ka - k) at the median Tmax. Cmax is NOT used: it is the
out-of-sample check (pharmsim.qualification). Assumptions: one compartment (the review reports no
compartmental model for these alkaloids), no lag, no metabolite formation, fu unknown (taken as 1, labelled),
no effect site.

The MOR/DOR data of these alkaloids are separate rows (data/binding.csv, data/function.csv) where published
numbers exist; without them an alkaloid is dosed and its plasma concentrations simulated, but it binds no
receptor (pharmsim compounds says so).

Run:  python tools/derive_alkaloid_pk.py      (writes its rows into data/pk_derived.csv)
This software is for teaching and research, not dosing advice.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

from scipy.optimize import brentq

sys.path.insert(0, str(Path(__file__).resolve().parent))

from derive_common import row, write_rows  # noqa: E402

NCA = {  # median CL/F (L/h), t1/2 (h), Tmax (h) of Tanna 2022
    "speciociliatine": {"CL": 5.01, "t_half": 12.3, "Tmax": 2.5},
}
SRC, DOI = "Tanna 2022 Pharmaceutics (derived by pharmsim)", "10.3390/pharmaceutics14030620"


def one_compartment(CL: float, t_half: float, tmax: float) -> tuple[float, float]:
    """(V/F in L, ka in 1/h) from CL/F, the terminal half-life and Tmax of a one-compartment oral model:
    k = ln2 / t1/2, V = CL / k, and ka > k solving ln(ka/k)/(ka - k) = Tmax."""
    k = math.log(2) / t_half
    ka = brentq(lambda ka: math.log(ka / k) / (ka - k) - tmax, k * (1 + 1e-9), 1e3)
    return CL / k, ka


def main():
    rows = []
    for c, p in NCA.items():
        V, ka = one_compartment(p["CL"], p["t_half"], p["Tmax"])
        how = (f"one-compartment model from Tanna 2022 NCA medians (CL/F {p['CL']} L/h, t1/2 {p['t_half']} h, Tmax "
               f"{p['Tmax']} h; PMC10353077 Table 3): ")
        rows += [
            row(c, "PK", "CL", p["CL"], "L/h", source=SRC, doi=DOI, status="derived", assay="oral tea, NCA median",
                note=how + "CL/F = the median apparent oral clearance (dose / AUC); apparent value, F = 1"),
            row(c, "PK", "V", V, "L", source=SRC, doi=DOI, status="derived", assay="oral tea, NCA medians",
                note=how + f"V/F = CL/F x t1/2 / ln 2 = {V:.4g} L"),
            row(c, "PK", "fu", 1.0, "fraction", source="assumption", status="assumption",
                note="no plasma protein binding measured in humans for this alkaloid; fu = 1 keeps total = unbound "
                     "(it matters only if receptor data are added)"),
        ]
        for form in ("tea", "leaf powder"):
            rows += [
                row(c, form, "ka", ka, "1/h", source=SRC, doi=DOI, status="derived", assay="oral tea, NCA medians",
                    note=how + f"ka solves ln(ka/k)/(ka - k) = Tmax with k = ln2/t1/2 ({ka:.4g} 1/h)"
                    + ("" if form == "tea" else "; leaf powder taken as tea (the same leaf swallowed: assumption)")),
                row(c, form, "F", 1.0, "fraction", source="assumption", status="assumption",
                    note="relative bioavailability 1: tea (Tanna 2022) is the reference of the apparent parameters"),
                row(c, form, "tlag", 0.0, "h", source="assumption", status="assumption",
                    note="no absorption lag (assumption; the one-compartment fit has none)"),
            ]
    write_rows(rows, "derive_alkaloid_pk.py")
    print(f"wrote {len(rows)} rows")


if __name__ == "__main__":
    main()
