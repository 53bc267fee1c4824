"""Tests of pharmsim.catalog: every compound `pharmsim compounds` lists does what the list claims (dose, curve,
comparison) and refuses, with a clear error, what it says it cannot do; the K in use, the binding Ki and the
operational K_A are kept apart and named; choosing a source keeps K_A and tau of one assay together (Kruegel 2016
reproduces Kruegel's EC50 and Emax); affinities are used on the unbound basis; bad input gets clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pharmsim as ps
from pharmsim.catalog import AFFINITY_CHOICES, catalog
from pharmsim.cli import main
from pharmsim.cli import write_curves as _write_curves
from pharmsim.output import atomic_output_dir
from pharmsim.receptor import Endpoint, Ligand, affinity_table, endpoint_ec50_emax

LIB = ps.load_library()
CAT = catalog(LIB)
CAPS = CAT.capabilities()
KRUEGEL = "Kruegel 2016 J Am Chem Soc"
#: A small i.v. test amount per compound (mg); the catalogue decides whether it can be dosed at all.
TEST_DOSE_MG = {"fentanyl": 0.1, "buprenorphine": 0.3, "naloxone": 0.4, "morphine": 10.0}


def write_curves(out, **kw):
    """:func:`pharmsim.cli.write_curves` inside the atomic output folder it expects."""
    with atomic_output_dir(out / "curves") as tmp:
        return _write_curves(tmp, **kw)


def _claim(compound: str) -> pd.Series:
    return CAPS.set_index("compound").loc[compound]


def test_the_list_covers_every_compound_and_the_issue_references():
    assert list(CAPS["compound"]) == [c.id for c in LIB.compounds()]
    for c in ("morphine", "fentanyl", "buprenorphine", "naloxone"):
        row = _claim(c)
        assert row["dose"] and "MOR" in row["curve_at"].split(", ") and row["comparison"] in ("reference", "reversal")
    assert _claim("DAMGO")["curve_at"] == "MOR" and not _claim("DAMGO")["dose"]
    assert "in-vitro reference" in _claim("DAMGO")["cannot"]
    assert _claim("SNC80")["curve_at"] == "DOR"
    assert _claim("morphine")["DOR"].startswith("agonist")           # morphine at DOR, with published values


@pytest.mark.parametrize("compound", list(CAPS["compound"]))
def test_dose_claim_is_true(compound):
    row = _claim(compound)
    mg = TEST_DOSE_MG.get(compound, 1.0)
    doses = ps.dose(compound, mg, 0.0, route="iv", library=LIB)
    if row["dose"]:
        m = ps.build_model(doses, library=LIB, binding="equilibrium")
        r = ps.simulate(m, doses, np.linspace(0.0, 6.0, 13))
        conc = r.get("plasma_conc", compound)
        assert np.all(np.isfinite(conc)) and conc.max() > 0
        for s in (r.select("response") if m.ligands else ()):
            assert np.all((s.values >= 0) & (s.values <= 1))
        assert CAT.require(compound, "dose") == compound
    else:
        with pytest.raises(ps.PharmsimError, match=rf"{compound} has no human PK model.*cannot be dosed"):
            ps.build_model(doses, library=LIB)
        with pytest.raises(ps.PharmsimError, match=rf"{compound} cannot be used for dose: .*Compounds that can: "):
            CAT.require(compound, "dose")


@pytest.mark.parametrize("compound", list(CAPS["compound"]))
@pytest.mark.parametrize("receptor", CAT.receptors())
def test_curve_claim_is_true(compound, receptor, tmp_path):
    row = _claim(compound)
    if receptor in row["curve_at"].split(", "):
        written = write_curves(tmp_path, receptor=receptor, ligands=[compound], library=LIB)
        assert {p.name for p in written} >= {f"occupancy_{receptor}.png", "ligands.csv", "curves.csv"}
        table = pd.read_csv(tmp_path / "curves" / "ligands.csv")
        assert set(table["compound"]) == {compound} and table["K_kind"].str.len().min() > 0
    elif row[receptor].startswith("binds"):
        with pytest.raises(ps.PharmsimError, match=rf"{compound} cannot be drawn at {receptor}.*no G-protein efficacy"):
            write_curves(tmp_path, receptor=receptor, ligands=[compound], library=LIB)
        with pytest.raises(ps.PharmsimError, match=rf"{compound} cannot be used for curve at {receptor}: .*binds"):
            CAT.require(compound, "curve", receptor)
    else:
        assert row[receptor] == "-"
        with pytest.raises(ps.PharmsimError, match=rf"none of \['{compound}'\] has an affinity at {receptor}"):
            write_curves(tmp_path, receptor=receptor, ligands=[compound], library=LIB)


@pytest.mark.parametrize("compound", list(CAPS["compound"]))
def test_comparison_claim_is_true(compound):
    role = _claim(compound)["comparison"]
    if role == "reference":
        c = ps.compare_with_full_agonist(reference=compound, reference_dose_mg=TEST_DOSE_MG.get(compound, 1.0),
                                         t_end_h=4.0, step_h=0.5, binding="equilibrium", library=LIB)
        assert set(c.results) >= {"kratom", "reference", "reference_on_kratom"}
        peak = c.peaks().query("scenario == 'reference' and quantity == 'response' and endpoint == 'analgesia'")
        assert peak["peak"].iloc[0] > 0.05
        assert compound in set(c.ceilings["compound"])
    elif role == "reversal":
        study = ps.comparison_study(t_end_h=4.0, step_h=0.5, binding="equilibrium", library=LIB)
        arm = study.arm("naloxone_reversal")
        assert compound in arm.doses.compound
        r = ps.run_study(study).results["naloxone_reversal"]
        assert r.get("occupancy", compound, "MOR").max() > 0.1
    elif role == "kratom":
        form = next(f for f in CAT.product_forms() if set(CAT.with_metabolites(list(CAT.product_contents_percent(f))))
                    & {compound} and CAT.product_contents_percent(f))
        c = ps.compare_with_full_agonist(ps.Product(form, 2.0), t_end_h=4.0, step_h=0.5, binding="equilibrium",
                                         library=LIB)
        kratom = c.results["kratom"]
        assert kratom.get("plasma_conc", compound).max() > 0
        if "MOR" in _claim(compound)["curve_at"].split(", "):
            assert kratom.get("occupancy", compound, "MOR").max() > 0
    else:
        assert "comparison:" in _claim(compound)["cannot"]
        with pytest.raises(ps.PharmsimError, match=rf"{compound} cannot be used for comparison"):
            CAT.require(compound, "comparison")


def test_the_curve_commands_of_the_issue_draw_with_the_K_in_use_named(tmp_path):
    mor, dor = tmp_path / "mor", tmp_path / "dor"
    assert main(["curve", "--receptor", "MOR", "--ligands", "morphine", "fentanyl", "buprenorphine", "DAMGO", "MG",
                 "7-OH-MG", "--out", str(mor), "--quiet"]) == 0
    assert main(["curve", "--receptor", "DOR", "--ligands", "SNC80", "MG", "7-OH-MG", "morphine", "--out", str(dor),
                 "--quiet"]) == 0
    t = pd.read_csv(mor / "ligands.csv")
    assert set(t["compound"]) == {"morphine", "fentanyl", "buprenorphine", "DAMGO", "MG", "7-OH-MG"}
    kinds = t.drop_duplicates("compound").set_index("compound")["K_kind"]
    assert kinds["fentanyl"] == "in-vivo K_A (human C50 anchor)"
    assert kinds["morphine"] == kinds["MG"] == "functional K_A (in vitro)"
    assert kinds["buprenorphine"] == "in-vivo KD"
    # the binding Ki and the in-vitro K_A are beside the K in use
    assert t.set_index("compound").loc["fentanyl", "Ki_nM"].iloc[0] == pytest.approx(1.346)
    assert t.set_index("compound").loc["fentanyl", "K_A_in_vitro_nM"].iloc[0] == pytest.approx(0.15 * 117.1)
    d = pd.read_csv(dor / "ligands.csv").drop_duplicates("compound").set_index("compound")
    assert d.loc["SNC80", "Emax"] > 0.8 and d.loc["MG", "Emax"] == 0.0 and 0 < d.loc["morphine", "Emax"] < 0.6


# ------------------------------------------------------------------------------- which K, which source
def test_choosing_kruegel_reproduces_kruegels_ec50_and_emax():
    """Issue 11: with Kruegel 2016 chosen, MG's EC50 in a unit-gain system is Kruegel's 339 nM (not 154 nM from
    pairing the binding Ki with Kruegel's tau) and its Emax 34 % of DAMGO."""
    assay = Endpoint("Kruegel BRET (reference assay)", "MOR", gain=1.0)
    for sources in ({("K", "MG", "MOR"): KRUEGEL}, {("tau", "MG", "MOR"): KRUEGEL},
                    {("K", "MG", "MOR"): KRUEGEL, ("tau", "MG", "MOR"): KRUEGEL}):
        m = ps.build_model(ps.Product("tea", 2.0).doses(0.0, library=LIB), receptors=("MOR",),
                           binding="equilibrium", sources=sources, library=LIB)
        ec50, emax = endpoint_ec50_emax(m.ligand("MG", "MOR"), assay)
        assert ec50 == pytest.approx(LIB.value("EC50", "MG", "MOR", "nM", pathway="G protein", source=KRUEGEL))
        assert ec50 == pytest.approx(339.0)
        assert emax == pytest.approx(0.34, abs=5e-4)
    # the library route: prefer_source moves every number of that assay together
    lib2 = LIB.prefer_source("7-OH-MG", "MOR", "Obeng 2021 J Pharmacol Exp Ther")
    assert lib2.parameter("Ki", "7-OH-MG", "MOR").source.startswith("Obeng")
    assert lib2.parameter("tau", "7-OH-MG", "MOR", pathway="G protein").source.startswith("Obeng")
    assert lib2.parameter("Emax", "7-OH-MG", "MOR", pathway="G protein").value == pytest.approx(41.3)
    assert LIB.parameter("tau", "7-OH-MG", "MOR", pathway="G protein").source == KRUEGEL   # LIB unchanged


def test_a_binding_only_source_for_K_is_stated_as_a_different_assay():
    notes: list = []
    lig = CAT.ligand("MG", "MOR", K_source="Takayama 2002 J Med Chem", kinetic=False, notes=notes)
    assert lig.K_nM == pytest.approx(7.24) and lig.K_kind == "binding Ki"
    assert any("different assays" in n for n in notes)


@pytest.mark.parametrize("affinity", AFFINITY_CHOICES)
def test_affinity_choice_names_the_K_and_keeps_the_others(affinity):
    lig = CAT.ligand("fentanyl", "MOR", affinity=affinity, kinetic=False)
    expected = {"functional": "in-vivo K_A (human C50 anchor)", "in vitro": "functional K_A (in vitro)",
                "binding": "binding Ki"}[affinity]
    assert lig.K_kind == expected
    assert lig.K_nM == pytest.approx(lig.affinities[expected])
    assert set(lig.affinities) == {"in-vivo K_A (human C50 anchor)", "functional K_A (in vitro)", "binding Ki"}
    assert lig.affinities["functional K_A (in vitro)"] == pytest.approx(0.15 * (1 + 116.1))
    table = affinity_table([lig, CAT.ligand("morphine", "MOR", kinetic=False)])
    assert {"K_in_use_nM", "K_kind", "binding Ki (nM)", "functional K_A (in vitro) (nM)"} <= set(table.columns)
    assert table.set_index("compound").loc["morphine", "binding Ki (nM)"] == pytest.approx(1.168)


def test_in_vivo_anchor_reproduces_the_c50_it_is_anchored_to():
    """Fentanyl's K is anchored to Algera 2021's respiratory C50 (effect site, total-plasma scale): the model's
    unbound EC50 times 1/fu gives back 0.42 ng/mL (in-sample, a check of the arithmetic and the basis)."""
    lig = CAT.ligand("fentanyl", "MOR", kinetic=False)
    ec50_u, emax = endpoint_ec50_emax(lig, CAT.endpoint("respiratory_depression"))
    fu = LIB.value("fu", "fentanyl", "PK", "fraction")
    assert ec50_u / fu == pytest.approx(LIB.value("C50", "fentanyl", "respiratory_depression", "nM",
                                                  pathway="G protein"), rel=1e-9)
    assert emax > 0.99


def test_total_plasma_affinities_are_converted_to_unbound():
    """Yassen 2007's buprenorphine KD (0.18 nM) and kon are per total plasma concentration: the model binds the
    unbound concentration, so KD,u = KD fu and kon,u = kon/fu (the same binding rate)."""
    fu = LIB.value("fu", "buprenorphine", "PK", "fraction")
    eq = CAT.ligand("buprenorphine", "MOR", kinetic=False)
    kin = CAT.ligand("buprenorphine", "MOR", kinetic=True)
    kd_total = LIB.value("Kd", "buprenorphine", "MOR", "nM")
    assert eq.K_nM == pytest.approx(kd_total * fu, rel=1e-12)
    assert kin.kon_per_nM_per_h == pytest.approx(LIB.value("kon", "buprenorphine", "MOR", "1/(nM*h)") / fu)
    assert kin.K_nM == pytest.approx(kin.koff_per_h / kin.kon_per_nM_per_h)
    assert kin.K_nM == pytest.approx(eq.K_nM, rel=0.02)        # koff/kon reproduces the reported KD
    assert eq.affinities["binding Ki"] == pytest.approx(0.2157)  # in vitro, used as it is


def test_efficacy_from_an_in_vivo_ceiling_follows_the_gain_row():
    """Buprenorphine's efficacy is derived from its 50 % ventilation ceiling (Dahan 2005) and the respiratory gain:
    under either gain row its respiratory Emax stays 50 %, while the kratom alkaloids' ceilings move."""
    for source in CAT.gain_sources("respiratory_depression"):
        cat = CAT.with_gain("respiratory_depression", source)
        ep = cat.endpoint("respiratory_depression")
        bup = cat.ligand("buprenorphine", "MOR", kinetic=False)
        assert endpoint_ec50_emax(bup, ep)[1] == pytest.approx(0.5, rel=1e-12)
        assert "in-vivo ceiling" in bup.sources["efficacy"]
    gains = [CAT.with_gain("respiratory_depression", s).endpoint("respiratory_depression").gain
             for s in CAT.gain_sources("respiratory_depression")]
    assert gains[0] == pytest.approx(2.98) and sorted(gains) == [0.745, 2.98]


def test_antagonists_use_their_functional_K_B():
    nal = CAT.ligand("naloxone", "MOR", kinetic=False)
    assert nal.efficacy == 0 and nal.K_kind == "functional K_B" and nal.K_nM == pytest.approx(1.39)
    assert nal.Ki_nM == pytest.approx(4.23)
    bup_dor = CAT.ligand("buprenorphine", "DOR", kinetic=False)
    assert bup_dor.efficacy == 0 and bup_dor.K_nM == pytest.approx(1.15)


# ------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: Ligand("x", 10.0, -0.5), r"efficacy must be >= 0 .*Inverse agonism \(negative efficacy\) is not "
                                          r"modelled"),
        (lambda: LIB.with_value("tau", "MG", "MOR", -0.5, "-", pathway="G protein"), r"tau of MG at MOR must be a "
                                                                                      r"finite number >= 0"),
        (lambda: CAT.ligand("MG", "MOR", affinity="operational"), r"affinity must be one of"),
        (lambda: CAT.tolerance("opioid"), r"mechanism must be one of 'arrestin', 'gprotein', 'both'"),
        (lambda: ps.build_model(["morphine"], tolerance="arestin", library=LIB), r"did you mean 'arrestin'"),
        (lambda: ps.build_model(["morphine"], tolerance=True, library=LIB), r"tolerance must name its mechanism"),
        (lambda: ps.ModelOptions(tolerance=True), r"tolerance must name its mechanism"),
        (lambda: ps.ModelOptions(tolerance="g protein"), r"tolerance \(mechanism\) must be one of"),
        (lambda: CAT.require("DAMGO", "dose"), r"DAMGO cannot be used for dose: dose: no human PK"),
        (lambda: CAT.require("MG", "swim"), r"capability must be one of 'dose', 'curve', 'comparison'"),
        (lambda: CAT.ligand("MG", "MOR", K_source="Nobody 2030"), r"no Ki or Kd of MG at MOR from 'Nobody 2030'"),
        (lambda: LIB.prefer_source("MG", "MOR", "Nobody 2030"), r"source must be one of"),
        (lambda: LIB.with_value("Ki", "MG", "MOR", 5.0, "nM", basis="plasma"), r"basis must be one of"),
    ],
)
def test_bad_input_gets_a_clear_error(call, match):
    with pytest.raises(ps.PharmsimError, match=match):
        call()


def test_negative_efficacy_in_the_library_is_refused_where_it_is_used():
    lib = LIB.with_value("tau", "MG", "MOR", -0.5, "-", pathway="G protein", allow_negative=True)
    with pytest.raises(ps.PharmsimError, match=r"efficacy must be >= 0 .*Inverse agonism"):
        catalog(lib).ligand("MG", "MOR")


def test_the_basis_column_is_optional_and_checked(tmp_path):
    """A table without the basis column loads with basis '-'; an unknown basis is refused with the row number."""
    from pharmsim.library import COLUMNS, load_library

    (tmp_path / "compounds.csv").write_text(
        "id,name,aliases,molar_mass,unit,formula,species,assay,source,doi,status,note\n"
        "A,alpha,,100.0,g/mol,C8H4,-,formula mass,test,-,derived,n\n")
    (tmp_path / "binding.csv").write_text(",".join(COLUMNS) + "\nA,MOR,-,Ki,5,nM,human,a,Test 2020,10.0/x,seen,1,\n")
    assert load_library(tmp_path).parameter("Ki", "A", "MOR").basis == "-"
    bad = tmp_path / "bad"                      # a new folder: libraries are cached per folder
    bad.mkdir()
    (bad / "compounds.csv").write_text((tmp_path / "compounds.csv").read_text())
    (bad / "binding.csv").write_text(",".join(COLUMNS) + ",basis\n"
                                     "A,MOR,-,Ki,5,nM,human,a,Test 2020,10.0/x,seen,1,,plasma\n")
    with pytest.raises(ps.PharmsimError, match=r"binding.csv row 2: basis must be one of 'in vitro', 'unbound', "
                                               r"'total plasma', '-'; got 'plasma'"):
        load_library(bad)


def test_an_alkaloid_binds_at_a_receptor_by_data_rows_alone(tmp_path):
    """Speciociliatine ships with human PK rows only (no primary MOR value was readable here). Three rows added to
    a copy of data/ (an effect-site half-life, a Ki and a tau: MADE-UP test values, not published ones) are all it
    takes for the model to bind it at MOR and the engine to simulate its occupancy: no Python changes."""
    import shutil  # noqa: PLC0415

    from pharmsim.library import data_dir  # noqa: PLC0415

    folder = tmp_path / "data"
    shutil.copytree(data_dir(), folder)
    shipped = ps.load_library()
    d0 = ps.Product("tea", 2.0).doses([0.0], library=shipped)
    shipped_pairs = {(lg.name, lg.receptor) for lg in ps.build_model(d0, library=shipped).ligands}
    assert ("speciociliatine", "MOR") not in shipped_pairs
    tail = 'human,test row,pharmsim test,-,assumption,1,"A made-up value (pharmsim test): not published."'
    rows = {"pk.csv": f"speciociliatine,PK,-,t_half_ke0,1,h,{tail}\n",
            "binding.csv": f"speciociliatine,MOR,-,Ki,100,nM,{tail},in vitro\n",
            "function.csv": f"speciociliatine,MOR,G protein,tau,0.2,-,{tail},-\n"}
    for name, row in rows.items():
        with open(folder / name, "a", encoding="utf-8") as f:
            f.write(row)
    lib = ps.load_library(folder)
    d = ps.Product("tea", 2.0).doses([0.0], library=lib)
    m = ps.build_model(d, library=lib)
    lig = next(lg for lg in m.ligands if lg.name == "speciociliatine" and lg.receptor == "MOR")
    assert lig.K_nM == pytest.approx(100.0) and lig.efficacy == pytest.approx(0.2)
    t = np.linspace(0.0, 24.0, 49)
    r = ps.simulate(m, d, t)
    occ = r.get("occupancy", "speciociliatine", "MOR")[0]
    assert occ[0] == 0.0 and occ.max() > 0.1
    # its share of MOR lowers the others' there (competition), and the PK is the shipped one
    base = ps.simulate(ps.build_model(d0, library=shipped), d0, t)
    assert np.all(r.get("occupancy", "MG", "MOR")[0][1:] < base.get("occupancy", "MG", "MOR")[0][1:])
    np.testing.assert_allclose(r.get("plasma_conc", "speciociliatine"), base.get("plasma_conc", "speciociliatine"),
                               rtol=1e-9)
