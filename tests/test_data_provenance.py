"""Every row of data/*.csv carries its provenance, and the tables are internally consistent.

Rules (see pharmsim/library.py and the data schema):
- every row has a numeric finite value, a unit, a species, an assay and a source;
- a DOI/PMID/PMC id (or another citable identifier) unless status is 'assumption'; assumption rows say
  'assumption' in the source column and give their reason in the note; derived rows show their formula/script
  in the note;
- status in {seen, check, derived, assumption}; preferred is 0/1 with exactly one preferred row per
  (compound, target, pathway, quantity);
- compound ids come from compounds.csv, or '-' for parameters that belong to no compound (system
  parameters such as a tolerance rate, or whole-product rows such as a leaf dose in g);
- units are known to pharmsim.units, or to the library's documented extras: content (mg/g, % w/w),
  exposure (nM*h, ng*h/mL), mass-based association rate constants (mL/ng/min), relative units
  '% of <reference>' / 'fraction of <reference>', and the non-convertible set
  pharmsim.library.NONCONVERTIBLE_UNITS ('% of dose', '% max inhibition', '% over basal').
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest

from pharmsim.library import COLUMNS, COMPOUND_COLUMNS, NONCONVERTIBLE_UNITS, STATUSES, data_dir, unit_known

DATA = data_dir()
TABLES = sorted(p for p in DATA.glob("*.csv") if p.name != "compounds.csv")
KEY = ["compound", "target", "pathway", "quantity"]
# IUPAC/CIAAW conventional atomic weights (g/mol) for the formula-mass check
ATOMIC_WEIGHT = {"C": 12.011, "H": 1.008, "N": 14.007, "O": 15.999, "S": 32.06, "Cl": 35.45, "F": 18.998}


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def compounds() -> pd.DataFrame:
    return _read(DATA / "compounds.csv")


@pytest.fixture(scope="module")
def everything() -> pd.DataFrame:
    frames = []
    for p in TABLES:
        df = _read(p)
        df["file"] = p.name
        df["line"] = range(2, len(df) + 2)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def _where(r) -> str:
    return f"{r['file']} line {r['line']} ({r['compound']}, {r['target']}, {r['quantity']}, {r['source']!r})"


def test_data_folder_has_the_core_tables():
    names = {p.name for p in DATA.glob("*.csv")}
    assert {"compounds.csv", "binding.csv", "function.csv", "kinetics.csv", "pk.csv", "products.csv"} <= names


@pytest.mark.parametrize("path", TABLES, ids=lambda p: p.name)
def test_every_table_has_the_schema_columns(path):
    df = _read(path)
    assert list(df.columns)[: len(COLUMNS)] == list(COLUMNS), path.name


def test_compounds_table_schema_and_molar_masses(compounds):
    assert list(compounds.columns) == list(COMPOUND_COLUMNS)
    assert compounds["id"].is_unique
    for _, r in compounds.iterrows():
        for col in ("id", "name", "source", "doi", "status", "formula"):
            assert r[col].strip(), f"compounds.csv {r['id']}: empty {col}"
        assert r["unit"] == "g/mol"
        assert r["status"] in STATUSES
        # the molar mass must be the formula mass of the stated formula (closed form, 0.05 g/mol)
        mass = sum(ATOMIC_WEIGHT[e] * (int(n) if n else 1) for e, n in re.findall(r"([A-Z][a-z]?)(\d*)", r["formula"]))
        assert float(r["molar_mass"]) == pytest.approx(mass, abs=0.05), r["id"]


def test_reference_sheet_molar_masses(compounds):
    mm = dict(zip(compounds["id"], compounds["molar_mass"].astype(float), strict=True))
    # stated in /work/shared/reference README: MG 398.5, 7-OH-MG 414.5, morphine 285.34 g/mol
    assert mm["MG"] == pytest.approx(398.5, abs=0.01)
    assert mm["7-OH-MG"] == pytest.approx(414.5, abs=0.01)
    assert mm["morphine"] == pytest.approx(285.34, abs=0.01)
    required = {"MG", "7-OH-MG", "morphine", "fentanyl", "DAMGO", "buprenorphine", "naloxone", "SNC80"}
    assert required <= set(mm)


def test_every_row_has_value_unit_species_assay_source(everything):
    for _, r in everything.iterrows():
        v = float(r["value"])  # raises on a non-number
        assert math.isfinite(v), _where(r)
        for col in ("unit", "species", "assay", "source", "status", "preferred", "pathway", "target"):
            assert r[col].strip(), f"{_where(r)}: empty {col}"


def test_doi_present_unless_assumption_and_assumptions_explain_themselves(everything):
    for _, r in everything.iterrows():
        if r["status"] == "assumption":
            assert r["note"].strip(), f"{_where(r)}: assumption without a reason in the note"
            assert "assumption" in r["source"].lower(), f"{_where(r)}: assumption rows say 'assumption' as source"
        else:
            assert r["doi"].strip() and r["doi"].strip() != "-", f"{_where(r)}: missing DOI/PMID"
        if r["status"] == "derived":
            assert r["note"].strip(), f"{_where(r)}: derived value without its formula/script in the note"


def test_status_and_preferred_values(everything):
    bad = everything[~everything["status"].isin(STATUSES)]
    assert bad.empty, [_where(r) for _, r in bad.iterrows()]
    bad = everything[~everything["preferred"].isin(["0", "1"])]
    assert bad.empty, [_where(r) for _, r in bad.iterrows()]


def test_exactly_one_preferred_row_per_parameter(everything):
    counts = everything.assign(p=everything["preferred"].astype(int)).groupby(KEY)["p"].sum()
    wrong = counts[counts != 1]
    assert wrong.empty, f"(compound, target, pathway, quantity) without exactly one preferred row:\n{wrong}"


def test_source_choice_is_unambiguous(everything):
    """A (parameter, source, assay) names one row, so Library.parameter(source=..., assay=...) is well defined."""
    dup = everything[everything.duplicated([*KEY, "source", "assay"], keep=False)]
    assert dup.empty, [_where(r) for _, r in dup.iterrows()]


def test_compound_ids_are_known(everything, compounds):
    known = set(compounds["id"])
    for _, r in everything.iterrows():
        assert r["compound"] in known | {"-"}, f"{_where(r)}: unknown compound id"


def test_units_are_recognised(everything):
    for _, r in everything.iterrows():
        assert unit_known(r["unit"]), f"{_where(r)}: unit {r['unit']!r} unknown"
    assert set(NONCONVERTIBLE_UNITS) == {"% of dose", "% max inhibition", "% over basal"}


def test_receptor_rows_have_a_receptor_target_and_pathway(everything):
    rec = everything[everything["file"].isin(["binding.csv", "function.csv", "kinetics.csv"])]
    assert set(rec["target"]) <= {"MOR", "DOR", "KOR"}
    structural = everything["quantity"].isin(["read_at", "formed_from", "presystemic_formation"])
    # interactions.csv: the site of an enzyme (gut, liver) or the route of a substrate's first pass;
    # variability.csv: the PK parameter an omega belongs to
    sites = everything["file"].eq("interactions.csv")
    assert set(everything.loc[sites, "pathway"]) <= {"-", "gut", "liver", "oral"}
    omegas = everything["file"].eq("variability.csv")
    assert set(everything.loc[omegas, "pathway"]) <= {"CL", "V", "Vc", "Vp", "Q", "ka", "fm", "fpre", "F"}
    assert set(everything.loc[~structural & ~sites & ~omegas, "pathway"]) <= {"-", "G protein", "beta-arrestin"}
    # structure rows: the pathway names the receptor an endpoint reads, or the enzyme that forms a metabolite
    reads = everything[everything["quantity"] == "read_at"]
    assert set(reads["pathway"]) <= {"MOR", "DOR", "KOR"} and len(reads) >= 3
    formed = everything[everything["quantity"].isin(["formed_from", "presystemic_formation"])]
    assert set(formed["pathway"]) <= {"CYP3A4", "CYP2D6", "-"}


def test_affinities_potencies_and_rates_are_positive(everything):
    positive = ("Ki", "Kd", "Kb", "EC50", "IC50", "C50", "kon", "koff", "ke0", "ka", "CL", "V", "Vc", "Vp", "Q",
                "t_half", "t_half_ke0", "t_half_dissociation")
    rows = everything[everything["quantity"].isin(positive)]
    assert (rows["value"].astype(float) > 0).all()
    nonneg = everything[everything["quantity"].isin(["tau", "Emax", "fu", "F", "content", "relative_efficacy"])]
    assert (nonneg["value"].astype(float) >= 0).all()


def test_ranges_are_ordered(everything):
    """Published ranges are split into *_low / *_high rows: low <= high for the same compound, target, source."""
    lows = everything[everything["quantity"].str.endswith("_low")]
    for _, r in lows.iterrows():
        hi = everything[(everything["compound"] == r["compound"]) & (everything["target"] == r["target"])
                        & (everything["quantity"] == r["quantity"][:-4] + "_high")
                        & (everything["source"] == r["source"])]
        assert len(hi) == 1, f"{_where(r)}: no matching _high row"
        assert float(r["value"]) <= float(hi["value"].iat[0]), _where(r)


def test_derived_taus_follow_the_operational_formula(everything):
    """tau = e/(1-e) with e = Emax/100 for the Emax row of the same compound, receptor, pathway and source."""
    taus = everything[(everything["quantity"] == "tau") & (everything["status"] == "derived")]
    checked = 0
    for _, r in taus.iterrows():
        em = everything[(everything["quantity"] == "Emax") & (everything["compound"] == r["compound"])
                        & (everything["target"] == r["target"]) & (everything["pathway"] == r["pathway"])
                        & (everything["source"] == r["source"])]
        if len(em) == 1 and em["unit"].iat[0].startswith("%"):
            e = float(em["value"].iat[0]) / 100
            assert float(r["value"]) == pytest.approx(e / (1 - e), abs=1e-3), _where(r)
            checked += 1
    assert checked >= 5


def test_delta_receptor_default_is_antagonism_for_the_alkaloids(everything):
    """Default DOR efficacy of MG and 7-OH-MG is zero (Kruegel 2016); the note documents the Gutridge question."""
    for c in ("MG", "7-OH-MG"):
        r = everything[(everything["compound"] == c) & (everything["target"] == "DOR")
                       & (everything["quantity"] == "tau") & (everything["preferred"] == "1")]
        assert len(r) == 1 and float(r["value"].iat[0]) == 0.0
        assert "Kruegel 2016" in r["source"].iat[0]
        assert "Gutridge" in r["note"].iat[0]


def test_no_invented_kinetics_for_the_kratom_alkaloids(everything):
    """MG / 7-OH-MG kon and koff are not published; they must not appear as published values."""
    rows = everything[everything["quantity"].isin(["kon", "koff"]) & everything["compound"].isin(["MG", "7-OH-MG"])]
    assert (rows["status"] == "assumption").all()
