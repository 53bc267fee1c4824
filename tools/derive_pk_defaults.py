"""Write the arithmetic and assumption rows of pharmsim's PK and product defaults into data/pk_derived.csv.

Rows (each with its reason):
- MG fu = 0.10: midpoint of 85-95 % bound (Ya 2019 review, doi:10.1016/j.ajp.2019.05.016): 1 - 0.90.
- morphine fu = 0.647: 1 - 0.353, serum protein binding 35.3 +/- 0.2 % by ultrafiltration at 37 C and
  physiological pH (Leow 1993, Ther Drug Monit 15:440, doi:10.1097/00007691-199310000-00014, abstract).
- absorption of forms without their own data ('leaf powder', 'extract'): ka, tlag and presystemic conversion
  as for tea (assumption); relative F = 1 for every form (no head-to-head comparison of forms found).
- 7-OH-MG contained in a product (dosed directly): ka, tlag as MG of the same form, F = 1 (assumption: no
  human data on oral 7-OH-MG).
- contents: MG in tea = the leaf powder swallowed with the brew (Tanna 2022 product K51, 19.48 mg/g);
  7-OH-MG content 0 by default in leaf, capsule and tea (below LOQ, < 0.124 mg/g, in K51; the fitted fpre and
  fm already carry whatever the reference product delivered, so a default content would double count).
- MG and 7-OH-MG t1/2ke0 = 0.5 h (assumption): no published biophase equilibration data; MG crosses the
  blood-brain barrier passively and rapidly (Ya 2019, qualitative).

Run:  python tools/derive_pk_defaults.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from derive_common import row, write_rows  # noqa: E402

TEA_KA_SRC = "value of the 'tea' route (tools/derive_mg_pk.py)"


def main():
    import pandas as pd
    from derive_common import PATH

    derived = pd.read_csv(PATH)

    def tea(compound, quantity):
        sel = derived[(derived.compound == compound) & (derived.target == "tea") & (derived.quantity == quantity)]
        if len(sel) != 1:
            raise SystemExit(f"run tools/derive_mg_pk.py first: no single {compound}/tea/{quantity} row")
        return float(sel.value.iloc[0])

    ka, tlag, fpre = tea("MG", "ka"), tea("MG", "tlag"), tea("7-OH-MG", "fpre")
    cap = derived[(derived.compound == "MG") & (derived.target == "capsule") & (derived.quantity == "tlag")]
    tlag_cap = float(cap.value.iloc[0])
    rows = [
        row("MG", "PK", "fu", 0.10, "fraction", species="mixed (review)", source="Ya 2019 Asian J Psychiatr",
            doi="10.1016/j.ajp.2019.05.016", status="derived", assay="equilibrium dialysis (review)",
            note="1 - 0.90: midpoint of the 85-95 % bound range (fu 0.05-0.15 kept as fu_low/fu_high rows)"),
        row("morphine", "PK", "fu", 0.647, "fraction", source="Leow 1993 Ther Drug Monit",
            doi="10.1097/00007691-199310000-00014", status="derived", assay="ultrafiltration, human serum, 37 C",
            note="1 - 0.353 (35.3 +/- 0.2 % bound at physiological pH and temperature; abstract read)"),
    ]
    for form in ("leaf powder", "extract"):
        rows += [
            row("MG", form, "ka", ka, "1/h", source="assumption", status="assumption",
                note=f"no form-specific absorption data: {TEA_KA_SRC}"),
            row("MG", form, "tlag", tlag, "h", source="assumption", status="assumption",
                note=f"no form-specific absorption data: {TEA_KA_SRC}"),
            row("7-OH-MG", form, "fpre", fpre, "fraction", source="assumption", status="assumption",
                note=f"presystemic MG -> 7-OH-MG conversion taken as for tea: {TEA_KA_SRC}"),
        ]
    for form in ("leaf powder", "capsule", "extract"):
        rows.append(row("MG", form, "F", 1.0, "fraction", source="assumption", status="assumption",
                        note="relative bioavailability vs tea (Tanna 2022) = 1: no head-to-head comparison of "
                             "kratom forms was found"))
    for form, lag in (("leaf powder", tlag), ("capsule", tlag_cap), ("tea", tlag), ("extract", tlag)):
        rows += [
            row("7-OH-MG", form, "ka", ka, "1/h", source="assumption", status="assumption",
                note="7-OH-MG contained in the product: absorption as MG of the same form (no human oral "
                     "7-OH-MG data; dogs absorb it within 15 min, Maxwell 2021)"),
            row("7-OH-MG", form, "tlag", lag, "h", source="assumption", status="assumption",
                note="7-OH-MG contained in the product: lag as MG of the same form"),
            row("7-OH-MG", form, "F", 1.0, "fraction", source="assumption", status="assumption",
                note="7-OH-MG contained in the product: F = 1 on the scale of the apparent (F = 1) MG parameters; "
                     "no human oral 7-OH-MG data"),
        ]
    rows.append(row("MG", "tea", "content", 19.48, "mg/g", species="-", source="NaPDI record NPDI-scab3g "
                    "(Tanna 2022 product)", doi="10.3390/pharmaceutics14030620", status="derived",
                    assay="LC-MS/MS, product K51",
                    note="tea made from leaf powder that is swallowed with the brew (Tanna 2022: 2 g K51 = 39 mg "
                         "MG): the leaf content applies; for a strained infusion give mg_percent of what is drunk "
                         "(tea-bag infusions extract ~13-21 %, see content_low/high rows)"))
    for form in ("leaf powder", "capsule", "tea"):
        rows.append(row("7-OH-MG", form, "content", 0.0, "% w/w", species="-", source="assumption",
                        status="assumption",
                        note="7-OH-MG below LOQ (< 0.124 mg/g) in the reference leaf product K51 (NaPDI "
                             "NPDI-scab3g); fitted fpre/fm already carry what it delivered, so a default content "
                             "would double count; give oh_percent for 7-OH-MG-enriched products"))
    for cid in ("MG", "7-OH-MG"):
        rows.append(row(cid, "PK", "t_half_ke0", 0.5, "h", source="assumption", status="assumption",
                        note="no published biophase (effect-site) equilibration data for MG or 7-OH-MG; MG crosses "
                             "the blood-brain barrier passively and rapidly (Ya 2019, qualitative); vary it"))
    write_rows(rows, "derive_pk_defaults.py")
    print(f"wrote {len(rows)} rows")


if __name__ == "__main__":
    main()
