"""Tests of pharmsim.sbml: the exported model, simulated in a second simulator (libroadrunner, CVODE), matches
pharmsim.simulate; the document is valid SBML L3V2 with consistent units and names its sources.

Tolerances (the issue's): plasma concentrations 1e-6 relative, occupancies (and responses) 1e-6 absolute.
pharmsim runs with rtol 1e-10 / atol 1e-13 on the kinetic binding (its PK is exact for linear models);
roadrunner with relative 1e-10 / absolute 1e-12 (amounts ~1e5 nmol): both an order of magnitude or more
inside the tolerances, so a wrong rate, lag, bioavailability, event or rule in the export fails.
"""

import numpy as np
import pytest

import pharmsim as ps
from pharmsim.pk import CompoundPK, Conversion, PKModel, Route
from pharmsim.sbml import sbml_ids, to_antimony, to_sbml
from pharmsim.validate import PharmsimError

libsbml = pytest.importorskip("libsbml")
roadrunner = pytest.importorskip("roadrunner")

LIB = ps.load_library()
TIGHT = {"rtol": 1e-10, "atol": 1e-13}


def single_dose():
    return ps.Product("tea", 2.0).doses(0.0, library=LIB) + ps.dose("morphine", 10.0, 2.0, route="iv", library=LIB)


def regimen():
    return (ps.regimen("MG", 20.0, 6.0, 4, route="tea", library=LIB)
            + ps.regimen("morphine", 10.0, 12.0, 2, start_h=2.0, route="iv", library=LIB))


def in_roadrunner(model, doses, t):
    """(pharmsim Result, roadrunner values (T, S) in the Result's series order)."""
    res = ps.simulate(model, doses, t, **TIGHT)
    ids = sbml_ids(model)
    rr = roadrunner.RoadRunner(to_sbml(model, doses))
    rr.integrator.relative_tolerance = 1e-10
    rr.integrator.absolute_tolerance = 1e-12
    rr.integrator.maximum_num_steps = 500_000
    rr.timeCourseSelections = ["time"] + [ids[(s.quantity, s.compound, s.receptor, s.endpoint)] for s in res.series]
    out = np.asarray(rr.simulate(times=t))
    np.testing.assert_array_equal(out[:, 0], t)
    return res, out[:, 1:]


def assert_matches(res, out, *, rel=1e-6, abs_=1e-6):
    seen = set()
    for j, s in enumerate(res.series):
        a, b = s.values[0], out[:, j]
        where = (s.quantity, s.compound, s.receptor, s.endpoint)
        if s.quantity in ("plasma_conc", "plasma_conc_mass", "effect_conc_unbound"):
            np.testing.assert_allclose(b, a, rtol=rel, atol=1e-12, err_msg=str(where))
        else:
            np.testing.assert_allclose(b, a, rtol=0, atol=abs_, err_msg=str(where))
        seen.add(s.quantity)
    assert {"plasma_conc", "occupancy", "response"} <= seen


def test_default_kratom_model_single_dose_matches_libroadrunner():
    """2 g tea (MG -> 7-OH-MG, lag, presystemic formation) + 10 mg i.v. morphine at 2 h, kinetic binding at MOR
    and DOR: plasma 1e-6 relative, occupancy 1e-6 absolute, every time (the morphine bolus at 2 h included)."""
    doses = single_dose()
    model = ps.build_model(doses, library=LIB)
    assert set(model.binding.values()) == {"kinetic"}
    t = np.arange(0.0, 12.01, 0.25)
    res, out = in_roadrunner(model, doses, t)
    assert_matches(res, out)
    occ = res.get("occupancy", "7-OH-MG", "MOR")[0]
    assert occ.max() > 0.01                    # the comparison covers occupancies well above the tolerance


def test_default_kratom_model_multiple_dose_regimen_matches_libroadrunner():
    """MG tea 20 mg every 6 h x 4 and morphine 10 mg i.v. every 12 h x 2 (from 2 h) over 36 h."""
    doses = regimen()
    model = ps.build_model(doses, library=LIB)
    t = np.arange(0.0, 36.01, 0.25)
    res, out = in_roadrunner(model, doses, t)
    assert_matches(res, out)
    c = res.get("plasma_conc", "MG")[0]
    assert c[t == 18.75] > c[t == 0.75]        # accumulation: the fourth dose peaks higher than the first


def test_equilibrium_binding_and_an_infusion_match_libroadrunner():
    doses = single_dose() + ps.infusion("morphine", 5.0, 1.0, 2.0, library=LIB)
    model = ps.build_model(doses, library=LIB, binding="equilibrium")
    t = np.arange(0.0, 12.01, 0.25)
    res, out = in_roadrunner(model, doses, t)
    assert_matches(res, out)


def test_transit_chain_saturable_pk_and_michaelis_menten_formation_match_libroadrunner():
    """A model of one's own (compose): oral route behind 3 transit compartments with lag and F < 1, saturable
    elimination, Michaelis-Menten formation of a metabolite, an i.v. infusion; pharmsim's ODE path."""
    x = CompoundPK("X", 300.0, 2, routes=(Route("oral", n_transit=3),), effect_site=True, saturable=True)
    y = CompoundPK("Y", 316.0, 1, routes=(), effect_site=True)
    pk = PKModel((x, y), (Conversion("X", "Y", kinetics="michaelis-menten"),),
                 {"X.CL_L_per_h": 5.0, "X.V_L": 50.0, "X.fu": 0.3, "X.Q_L_per_h": 20.0, "X.Vp_L": 100.0,
                  "X.ke0_per_h": 0.8, "X.Vmax_nmol_per_h": 2000.0, "X.Km_nM": 40.0, "X.oral.ka_per_h": 1.2,
                  "X.oral.F": 0.6, "X.oral.tlag_h": 0.25, "X.oral.mtt_h": 0.9, "Y.CL_L_per_h": 10.0, "Y.V_L": 80.0,
                  "Y.fu": 0.5, "Y.ke0_per_h": 1.5, "Y.Vmax_form_nmol_per_h": 800.0, "Y.Km_form_nM": 25.0})
    ligands = [ps.Ligand("X", 50.0, 3.0, receptor="MOR").with_kinetics(20.0),
               ps.Ligand("Y", 200.0, 0.0, receptor="MOR").with_kinetics(5.0)]
    model = ps.compose(pk, ligands, [ps.Endpoint("analgesia", "MOR", gain=2.0)])
    doses = ps.Doses(time_h=np.array([0.0, 8.0, 3.0]), compound=("X", "X", "X"), route=("oral", "oral", "iv"),
                     amount_nmol=np.array([20000.0, 20000.0, 5000.0]), duration_h=np.array([0.0, 0.0, 1.5]))
    t = np.arange(0.0, 24.01, 0.25)
    res, out = in_roadrunner(model, doses, t)
    assert_matches(res, out, rel=1e-5)          # pharmsim's ODE path: LSODA at rtol 1e-8 (its fixed default)


def test_dose_options_match_libroadrunner():
    """A dose's own F and lag, a dose into a compartment by name (no route F or lag), an infusion given by its
    rate (duration F amount / rate), and the model's i.v. F and lag parameters."""
    doses = (ps.dose("MG", 20.0, 0.0, route="tea", library=LIB)
             + ps.dose("MG", 10.0, 3.0, route="tea", F=0.5, lag_h=0.2, library=LIB)
             + ps.dose("morphine", 5.0, 1.0, route="peripheral", library=LIB)
             + ps.dose("morphine", 10.0, 2.0, route="iv", rate_per_h=4.0, library=LIB))
    model = ps.build_model(["MG", "morphine"], routes={"MG": ["tea"], "morphine": []}, library=LIB,
                           binding="equilibrium")
    model = model.with_pk(model.pk.with_parameters({"morphine.iv.F": 0.8, "morphine.iv.tlag_h": 0.3}))
    t = np.arange(0.0, 12.01, 0.25)
    res, out = in_roadrunner(model, doses, t)
    assert_matches(res, out)


def test_the_document_is_valid_sbml_with_units_events_and_sources():
    doses = single_dose()
    model = ps.build_model(doses, library=LIB)
    text = to_sbml(model, doses, model_id="kratom tea")
    doc = libsbml.readSBMLFromString(text)
    assert (doc.getLevel(), doc.getVersion()) == (3, 2)
    doc.setConsistencyChecks(libsbml.LIBSBML_CAT_UNITS_CONSISTENCY, True)
    doc.checkConsistency()
    problems = [doc.getError(i).getMessage() for i in range(doc.getNumErrors())]
    assert problems == []                       # no error and no warning, units included
    m = doc.getModel()
    assert m.getId() == "kratom_tea" and m.getTimeUnits() == "hour" and m.getSubstanceUnits() == "nmol"
    assert all(m.getParameter(i).isSetUnits() for i in range(m.getNumParameters()))
    assert m.getNumEvents() == doses.n_events
    cl = m.getParameter("MG_CL_L_per_h")
    assert cl.getValue() == float(model.pk.parameters["MG.CL_L_per_h"]) and cl.getUnits() == "litre_per_hour"
    assert "Tanna 2022" in cl.getNotesString()
    eff = m.getParameter("efficacy_MOR_MG")
    assert "Kruegel 2016" in eff.getNotesString()
    uris = [eff.getCVTerm(i).getResourceURI(j) for i in range(eff.getNumCVTerms())
            for j in range(eff.getCVTerm(i).getNumResources())]
    assert "https://identifiers.org/doi:10.1021/jacs.6b00360" in uris
    notes = m.getNotesString()
    assert "not dosing advice" in notes and "fast binding assumed" in notes
    assert m.getEvent("dose2").getTrigger().getInitialValue() is False
    ids = sbml_ids(model)
    for key in [("plasma_conc", "MG", "-", "-"), ("occupancy", "7-OH-MG", "MOR", "-"),
                ("response", "all", "MOR", "analgesia"), ("state", "MG.tea.depot", "-", "-")]:
        assert m.getElementBySId(ids[key]) is not None, key


def test_antimony_text():
    doses = single_dose()
    text = to_antimony(ps.build_model(doses, library=LIB), doses)
    assert text.startswith("// Created by libAntimony")
    for piece in ("A_MG_central", "C_MG := A_MG_central/MG_V_L", "B_MOR_MG' =",
                  "dose1: at time >= (dose1_time_h + MG_tea_tlag_h)"):
        assert piece in text, piece


def test_refusals_name_what_is_not_supported():
    doses = single_dose()
    with pytest.raises(PharmsimError, match=r"does not support tolerance"):
        to_sbml(ps.build_model(doses, library=LIB, tolerance="gprotein", binding="equilibrium"), doses)
    model = ps.build_model(doses, library=LIB)
    two = model.with_pk(model.pk.with_parameters({"MG.V_L": np.array([500.0, 600.0])}))
    with pytest.raises(PharmsimError, match=r"one subject; the model has per-subject parameters for 2"):
        to_sbml(two, doses)
    per_subject = ps.dose("MG", np.array([10.0, 20.0]), route="tea", library=LIB)
    with pytest.raises(PharmsimError, match=r"per-subject amounts for 2"):
        to_sbml(model, per_subject)
    with pytest.raises(PharmsimError, match=r"doses name 'naloxone'"):
        to_sbml(model, ps.dose("naloxone", 0.4, route="iv", library=LIB))
    with pytest.raises(PharmsimError, match=r"model must be a pharmsim Model"):
        to_sbml(model.pk, doses)
