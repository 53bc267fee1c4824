"""pharmsim.library: look-ups by alias, sources, overrides without mutation, conversions, and clear errors."""

from __future__ import annotations

import dataclasses
import math

import pandas as pd
import pytest

from pharmsim.library import COLUMNS, Compound, Library, Parameter, data_dir, load_library, unit_known
from pharmsim.validate import PharmsimError

KRUEGEL = "Kruegel 2016 J Am Chem Soc"
OBENG = "Obeng 2021 J Pharmacol Exp Ther"


@pytest.fixture(scope="module")
def lib() -> Library:
    return load_library()


# ------------------------------------------------------------------------------------------ compounds
@pytest.mark.parametrize("alias, expected", [
    ("mitragynine", "MG"), ("MG", "MG"), ("Mitragynine", "MG"),
    ("7-hydroxymitragynine", "7-OH-MG"), ("7OH", "7-OH-MG"), ("7-OH", "7-OH-MG"), ("7-HMG", "7-OH-MG"),
    ("7 OH MG", "7-OH-MG"), ("Morphine", "morphine"), ("SNC 80", "SNC80"), ("bup", "buprenorphine"),
])
def test_compound_lookup_by_alias(lib, alias, expected):
    assert lib.compound(alias).id == expected


def test_compound_records_carry_molar_mass_and_provenance(lib):
    mg = lib.compound("MG")
    assert isinstance(mg, Compound)
    assert mg.molar_mass_g_per_mol == pytest.approx(398.5, abs=0.01)
    assert mg.source and mg.doi
    assert {c.id for c in lib.compounds()} >= {"MG", "7-OH-MG", "morphine", "fentanyl", "DAMGO", "buprenorphine",
                                                "naloxone", "SNC80"}


def test_unknown_compound_names_it_lists_and_suggests(lib):
    with pytest.raises(PharmsimError) as err:
        lib.compound("mitragynene")
    msg = str(err.value)
    assert "compound" in msg and "'mitragynene'" in msg and "MG" in msg and "did you mean" in msg


# ------------------------------------------------------------------------------------------ look-ups
def test_default_is_the_documented_preferred_row(lib):
    p = lib.parameter("Ki", "mitragynine", "MOR")
    assert isinstance(p, Parameter) and p.preferred
    assert (p.value, p.unit, p.species, p.source) == (233.0, "nM", "human", KRUEGEL)
    assert p.doi == "10.1021/jacs.6b00360"


def test_listing_sources_keeps_every_published_value(lib):
    df = lib.sources("Ki", "MG", "MOR")
    assert isinstance(df, pd.DataFrame)
    assert {KRUEGEL, OBENG, "Takayama 2002 J Med Chem"} <= set(df["source"])
    assert df["preferred"].sum() == 1
    assert set(COLUMNS) <= set(df.columns)
    # all quantities of a compound at a receptor (as the scenario reader asks)
    dor = lib.sources(None, compound="7OH", target="DOR")
    assert {"Ki", "tau", "Emax"} <= set(dor["quantity"])


def test_choosing_a_source(lib):
    assert lib.parameter("Ki", "MG", "MOR", source=OBENG).value == 709.0
    assert lib.value("Emax", "7-OH-MG", "MOR", "%", pathway="G protein", source=OBENG) == pytest.approx(41.3)
    # case-insensitive source names
    assert lib.parameter("Ki", "MG", "MOR", source=OBENG.lower()).source == OBENG


def test_prefer_returns_a_new_library(lib):
    lib2 = lib.prefer("Ki", "MG", "MOR", OBENG)
    assert lib2.parameter("Ki", "MG", "MOR").value == 709.0
    assert lib.parameter("Ki", "MG", "MOR").value == 233.0
    assert lib2.sources("Ki", "MG", "MOR")["preferred"].sum() == 1


def test_pathway_is_required_when_rows_differ_by_pathway(lib):
    with pytest.raises(PharmsimError, match="pathway must be given"):
        lib.parameter("Emax", "MG", "MOR")
    assert lib.parameter("tau", "MG", "MOR", pathway="beta-arrestin").value == 0.0


def test_delta_receptor_defaults_and_the_choice_is_visible(lib):
    for c in ("MG", "7OH"):
        p = lib.parameter("tau", c, "DOR", pathway="G protein")
        assert p.value == 0.0 and p.source == KRUEGEL
        assert "Gutridge" in p.note


# ------------------------------------------------------------------------------------------ overrides
def test_with_value_overrides_without_mutating(lib):
    before = lib.table()
    lib2 = lib.with_value("Ki", "MG", "MOR", 100.0, "nM", note="teaching example")
    assert lib2 is not lib
    p = lib2.parameter("Ki", "MG", "MOR")
    assert (p.value, p.source, p.status, p.preferred) == (100.0, "user", "assumption", True)
    assert lib2.sources("Ki", "MG", "MOR")["preferred"].sum() == 1
    assert lib.parameter("Ki", "MG", "MOR").value == 233.0
    pd.testing.assert_frame_equal(lib.table(), before)
    # a second override from the same source replaces, not duplicates
    lib3 = lib2.with_value("Ki", "MG", "MOR", 0.1, "uM")
    assert lib3.value("Ki", "MG", "MOR", "nM") == pytest.approx(100.0)
    assert (lib3.sources("Ki", "MG", "MOR")["source"] == "user").sum() == 1


def test_returned_tables_are_copies(lib):
    t = lib.table()
    t.loc[:, "value"] = -1.0
    assert lib.parameter("Ki", "MG", "MOR").value == 233.0
    s = lib.sources("Ki", "MG", "MOR")
    s.loc[:, "preferred"] = False
    assert lib.parameter("Ki", "MG", "MOR").preferred


def test_records_are_frozen(lib):
    with pytest.raises(dataclasses.FrozenInstanceError):
        lib.path = "elsewhere"
    p = lib.parameter("Ki", "MG", "MOR")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.value = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        lib.compound("MG").molar_mass_g_per_mol = 1.0


def test_adding_a_compound(lib):
    mp = Compound(id="MP", name="mitragynine pseudoindoxyl", molar_mass_g_per_mol=414.5,
                  aliases=("mitragynine-pseudoindoxyl",), source="formula C23H30N2O5", doi="-")
    lib2 = lib.with_compound(mp)
    assert lib2.compound("mitragynine pseudoindoxyl").id == "MP"
    with pytest.raises(PharmsimError):
        lib.compound("MP")  # the original library does not know it
    lib3 = lib2.with_value("Ki", "MP", "MOR", 0.087, "nM", species="guinea pig", note="illustration")
    assert lib3.value("Ki", "MP", "MOR", "pM") == pytest.approx(87.0)
    with pytest.raises(PharmsimError, match="already used"):
        lib.with_compound(Compound(id="M2", name="other", molar_mass_g_per_mol=100.0, aliases=("7OH",)))
    with pytest.raises(PharmsimError, match="molar_mass_g_per_mol"):
        Compound(id="X", name="x", molar_mass_g_per_mol=0.0)


# ------------------------------------------------------------------------------------------ conversions
def test_mass_based_kon_converts_with_the_molar_mass(lib):
    M = lib.compound("buprenorphine").molar_mass_g_per_mol
    kon = lib.value("kon", "buprenorphine", "MOR", "1/(nM*h)")
    assert kon == pytest.approx(0.203 * M / 1000 * 60, rel=1e-12)
    koff = lib.value("koff", "buprenorphine", "MOR", "1/h")
    assert koff == pytest.approx(0.0172 * 60, rel=1e-12)
    # the model's KD = koff/kon reproduces the published in vivo KD (Yassen 2007: 0.18 nM)
    assert koff / kon == pytest.approx(lib.value("Kd", "buprenorphine", "MOR", "nM"), rel=0.02)


def test_mass_concentration_and_exposure_convert_with_the_molar_mass(lib):
    M = lib.compound("MG").molar_mass_g_per_mol
    cmax = lib.parameter("Cmax", "MG", "PK", source="Maxwell 2020 Planta Med")
    assert cmax.unit == "ng/mL"
    assert cmax.to("nM") == pytest.approx(278.0 * 1000 / M)
    assert lib.value("AUCinf", "MG", "PK", "ng*h/mL") == pytest.approx(420 * M / 1000)
    with pytest.raises(PharmsimError, match="molar_mass"):
        Parameter("MG", "PK", "-", "Cmax", 1.0, "ng/mL", "-", "-", "-", "-", "seen", True).to("nM")


def test_relative_content_and_per_kg_units(lib):
    assert lib.value("Emax", "MG", "MOR", "fraction", pathway="G protein") == pytest.approx(0.34)
    assert lib.value("content", "MG", "capsule", "mg/g") == pytest.approx(13.3)
    assert lib.value("content", "MG", "leaf powder", "% w/w") == pytest.approx(1.948)
    cl = lib.parameter("CL", "MG", "PK", source="Maxwell 2020 Planta Med")
    assert cl.to("L/h", body_weight_kg=10.0) == pytest.approx(18.0)
    with pytest.raises(PharmsimError, match="body_weight_kg"):
        cl.to("L/h")
    with pytest.raises(PharmsimError, match="reference agonists differ"):
        lib.parameter("Emax", "morphine", "MOR", pathway="G protein", source="Xu 2011 Mol Pain",
                      assay="[35S]GTPgammaS, rat MOR-1 in CHO cells").to("% of DAMGO")
    assert lib.value("CL", "morphine", "PK", "L/h", source="Stuart-Harris 2000 Br J Clin Pharmacol") == \
        pytest.approx(1584 * 0.06)


# ------------------------------------------------------------------------------------------ errors
@pytest.mark.parametrize("call, words", [
    (lambda L: L.parameter("Ki", "MG", "MORR"), ["target", "'MORR'", "did you mean 'MOR'"]),
    (lambda L: L.parameter("Kii", "MG", "MOR"), ["quantity", "'Kii'", "did you mean 'Ki'"]),
    (lambda L: L.parameter("Ki", "MG", "MOR", source="Kruegel 2061"), ["source", "'Kruegel 2061'", KRUEGEL]),
    (lambda L: L.parameter("Emax", "MG", "MOR", pathway="G-protein"), ["pathway", "'G-protein'", "G protein"]),
    (lambda L: L.parameter("kon", "MG", "MOR"), ["no kon for MG at MOR", "with_value"]),
    (lambda L: L.value("Ki", "MG", "MOR", ""), ["unit", "Ki of MG at MOR"]),
    (lambda L: L.value("Ki", "MG", "MOR", "nanomolar"), ["unit", "'nanomolar'"]),
])
def test_errors_name_parameter_value_and_expectation(lib, call, words):
    with pytest.raises(PharmsimError) as err:
        call(lib)
    for w in words:
        assert w in str(err.value)


@pytest.mark.parametrize("value, unit, words", [
    (0.0, "nM", ["Ki of MG at MOR", "> 0", "0.0"]),
    (-5.0, "nM", ["Ki of MG at MOR", "> 0", "-5.0"]),
    (math.nan, "nM", ["Ki of MG at MOR", "finite", "nan"]),
    (10.0, None, ["unit of Ki of MG at MOR", "must be given", "10.0"]),
    (10.0, "", ["unit of Ki of MG at MOR", "must be given"]),
    (10.0, "nmolar", ["unit", "'nmolar'"]),
])
def test_with_value_rejects_bad_input(lib, value, unit, words):
    with pytest.raises(PharmsimError) as err:
        lib.with_value("Ki", "MG", "MOR", value, unit)
    for w in words:
        assert w in str(err.value)


def test_with_value_other_checks(lib):
    with pytest.raises(PharmsimError, match="target"):
        lib.with_value("Ki", "MG", "mu", 10.0, "nM")
    with pytest.raises(PharmsimError, match="compound"):
        lib.with_value("Ki", "kratomine", "MOR", 10.0, "nM")
    with pytest.raises(PharmsimError, match=">= 0"):
        lib.with_value("tau", "MG", "DOR", -0.1, "-", pathway="G protein")
    with pytest.raises(PharmsimError, match="status"):
        lib.with_value("Ki", "MG", "MOR", 10.0, "nM", status="guess")
    with pytest.raises(PharmsimError, match="unexpected keyword"):
        lib.with_value("Ki", "MG", "MOR", 10.0, "nM", speceis="human")
    ok = lib.with_value("tau", "MG", "DOR", 0.1, "-", pathway="G protein", source="Gutridge 2020 (illustration)")
    assert ok.parameter("tau", "MG", "DOR", pathway="G protein").value == pytest.approx(0.1)


# ------------------------------------------------------------------------------------------ loading
def test_data_location_and_cache():
    assert (data_dir() / "compounds.csv").is_file()
    assert load_library() is load_library()
    assert load_library(data_dir()) is load_library()


def _write_minimal(folder, extra_rows=""):
    (folder / "compounds.csv").write_text(
        "id,name,aliases,molar_mass,unit,formula,species,assay,source,doi,status,note\n"
        "A,alpha,alf;a-1,100.0,g/mol,C8H4,-,formula mass,test,-,derived,n\n")
    (folder / "tolerance.csv").write_text(
        ",".join(COLUMNS) + "\n"
        "A,MOR,-,Ki,5,nM,human,test assay,Test 2020,10.0/x,seen,1,\n" + extra_rows)


def test_loader_reads_every_csv_generically(tmp_path):
    _write_minimal(tmp_path)
    lib = load_library(tmp_path)
    assert lib.compound("alf").id == "A"
    assert lib.value("Ki", "A", "MOR", "uM") == pytest.approx(0.005)
    assert set(lib.table()["table"]) == {"tolerance"}


@pytest.mark.parametrize("bad, words", [
    ("A,MOR,-,Ki,five,nM,human,a,s,d,seen,0,\n", ["tolerance.csv", "value must be a number", "'five'"]),
    ("A,MOR,-,Ki,5,nM,human,a,s,d,seen,yes,\n", ["preferred must be 0 or 1", "'yes'"]),
    ("Z,MOR,-,Ki,5,nM,human,a,s,d,seen,0,\n", ["compound must be an id", "'Z'"]),
])
def test_loader_rejects_malformed_rows(tmp_path, bad, words):
    _write_minimal(tmp_path, bad)
    with pytest.raises(PharmsimError) as err:
        load_library(tmp_path)
    for w in words:
        assert w in str(err.value)


def test_loader_rejects_missing_folder_or_columns(tmp_path):
    with pytest.raises(PharmsimError, match="folder"):
        load_library(tmp_path / "nowhere")
    _write_minimal(tmp_path)
    (tmp_path / "broken.csv").write_text("compound,value\nA,1\n")
    with pytest.raises(PharmsimError, match="broken.csv must have columns"):
        load_library(tmp_path)


# ------------------------------------------------------------------------------------------ reports
def test_provenance_table(lib):
    df = lib.provenance(["mitragynine", "7OH"])
    assert {"value", "unit", "species", "assay", "source", "doi", "status"} <= set(df.columns)
    assert set(df["compound"]) == {"MG", "7-OH-MG"}
    keys = df[["compound", "target", "pathway", "quantity"]]
    assert not keys.duplicated().any()  # preferred rows only: one per parameter
    assert len(lib.provenance("MG", preferred_only=False)) > len(lib.provenance("MG"))


def test_unit_known():
    for u in ("nM", "% of DAMGO", "fraction of DAMGO", "mg/g", "% w/w", "nM*h", "mL/ng/min", "% of dose"):
        assert unit_known(u)
    for u in ("", "parsec", None, "% of"):
        assert not unit_known(u)
