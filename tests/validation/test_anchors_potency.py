"""Respiratory potencies and the fentanyl : morphine ratio from the receptor framework.

- Morphine's respiratory C50 (Dahan 2004 Anesthesiology 101:1201, PMID 15505457): 32 nM total; in-sample (the
  respiratory gain was derived from it), checked here also through the whole engine (PK, fu, effect site,
  binding, response) at steady state.
- Fentanyl's respiratory C50 (Algera 2021 Clin Pharmacol Ther, doi:10.1002/cpt.2027): 0.42 ng/mL on the
  total-plasma scale; in-sample (fentanyl's K is anchored to it), likewise checked through the engine.
- Fentanyl : morphine potency (equianalgesic parenteral doses 0.1 : 10 mg, PMC4874752 Table 2): out-of-sample,
  by equal peak analgesia and by equal 0-8 h analgesia; both within a factor 3 of 100, and 100 lies between them.
"""

from __future__ import annotations

import numpy as np
import pytest
from anchor_helpers import anchor_params

import pharmsim as ps
from pharmsim.anchors import _potency_ratios

LIB = ps.load_library()


@pytest.mark.parametrize("comp", anchor_params("dahan2004.", "algera2021.fentanyl.respiratory", "equianalgesic."))
def test_anchor(comp, check_anchor):
    check_anchor(comp)


@pytest.mark.parametrize(("compound", "c50_nM"), [
    ("morphine", LIB.value("C50", "morphine", "PK", "nM")),
    ("fentanyl", LIB.value("C50", "fentanyl", "respiratory_depression", "nM", pathway="G protein")),
])
def test_steady_state_at_the_published_c50_gives_half_maximal_depression(compound, c50_nM):
    """A constant-rate infusion holding the total plasma concentration at the C50 (rate = CL x C50) gives half the
    ligand's maximal response at steady state (within 1 %: the effect site and peripheral compartments at
    equilibrium; the C50 is the half-maximal concentration, so E = Emax/2, not Em/2)."""
    cat = ps.catalog(LIB)
    pk = cat.pk_model([compound])
    V = pk.parameters[f"{compound}.V_L"]
    k10 = pk.parameters[f"{compound}.CL_L_per_h"] / V
    rate_nmol_h = k10 * V * c50_nM
    mg_per_h = rate_nmol_h * cat.molar_mass(compound) * 1e-6
    hours = 200.0
    d = ps.dose(compound, mg_per_h * hours, 0.0, route="iv", duration_h=hours, library=LIB)
    m = ps.build_model(d, receptors=("MOR",), binding="equilibrium", library=LIB)
    r = ps.simulate(m, d, np.array([0.0, hours - 1.0]))
    assert r.get("plasma_conc", compound)[0, -1] == pytest.approx(c50_nM, rel=1e-3)
    emax = ps.ceiling_table(m).query("endpoint == 'respiratory_depression'")["Emax"].iloc[0]
    assert r.get("response", endpoint="respiratory_depression")[0, -1] == pytest.approx(0.5 * emax, rel=0.01)


def test_the_clinical_ratio_lies_between_peak_and_exposure_based_ratios():
    """Morphine's slow effect-site equilibration (t1/2ke0 4.4 h) makes the peak-based ratio larger than the
    exposure-based one; the clinical 100 : 1 sits between them."""
    r = _potency_ratios()
    ratio = LIB.value("potency_ratio_to_morphine", "fentanyl", "analgesia", "ratio")
    assert r["auc"] < ratio < r["peak"]
