"""Mechanism-based enzyme inactivation (pharmsim.pk.Enzyme): closed forms, mass balance, bad input."""

import numpy as np
import pytest

from pharmsim.dosing import dose, infusion
from pharmsim.pk import CompoundPK, Enzyme, PKModel, Route
from pharmsim.solve import solve_pk
from pharmsim.validate import PharmsimError

VICTIM = {"vic.CL_L_per_h": 16.7, "vic.V_L": 50.2, "vic.fu": 0.03, "vic.oral.ka_per_h": 3.0, "vic.oral.F": 1.0,
          "vic.oral.tlag_h": 0.0, "vic.E3.fm": 1.0, "vic.E3.EH": 0.43, "vic.oral.E3.Fg": 0.39}
ENZ = {"E3.gut.kdeg_per_h": 0.03, "E3.liver.kdeg_per_h": 0.0096, "E3.gut.Qent_L_per_h": 18.0}
PERP = {"perp.CL_L_per_h": 50.0, "perp.V_L": 100.0, "perp.fu": 0.5, "perp.oral.ka_per_h": 2.0, "perp.oral.F": 1.0,
        "perp.oral.tlag_h": 0.0}
INH = {f"perp.E3.{s}.{q}": v for s in ("gut", "liver") for q, v in (("KI_nM", 4000.0), ("kinact_per_h", 4.0))}


def model(**over):
    comps = (CompoundPK("vic", 325.8, 1, (Route("oral"),)), CompoundPK("perp", 398.5, 1, (Route("oral"),)))
    par = {**VICTIM, **ENZ, **PERP, **INH, **over}
    return PKModel(comps, (), par, {}, (Enzyme("E3", ("perp",), ("vic",)),))


T = np.linspace(0.0, 48.0, 961)


def test_baseline_victim_is_linear_with_first_pass():
    """No inhibitor dosed: F = Fa Fg0 (1 - EH0), CL = CL0, so AUC = F dose / CL0 and C follows the 1-cmt
    oral closed form (Bateman)."""
    sol = solve_pk(model(), T, dose("vic", 2.5, route="oral", molar_mass_g_per_mol=325.8))
    F = 0.39 * (1 - 0.43)
    D = 2.5e6 / 325.8
    ka, k = 3.0, 16.7 / 50.2
    exact = F * D * ka / (50.2 * (ka - k)) * (np.exp(-k * T) - np.exp(-ka * T))
    np.testing.assert_allclose(sol.conc_nM("vic")[0], exact, rtol=1e-5, atol=1e-6 * exact.max())
    np.testing.assert_allclose(sol.enzyme_active("E3", "liver")[0], 1.0)


def test_mass_balance_with_inhibition():
    """Everything dosed is in the body or eliminated (first-pass loss included), to solver tolerance."""
    d = dose("vic", 2.5, route="oral", molar_mass_g_per_mol=325.8) + dose("perp", 40.0, route="oral",
                                                                         molar_mass_g_per_mol=398.5)
    sol = solve_pk(model(), T, d)
    total = sol.in_body_nmol() + sol.eliminated_nmol()
    np.testing.assert_allclose(total[0, 1:], total[0, -1], rtol=1e-6)
    np.testing.assert_allclose(total[0, -1], (2.5e6 / 325.8 + 40e6 / 398.5), rtol=1e-6)


def test_enzyme_steady_state_closed_form():
    """A constant unbound inhibitor concentration I holds the liver enzyme at kdeg / (kdeg + kinact I/(KI+I))
    (Mayhew 2000). Constant-rate infusion of the perpetrator: Css = R/CL, I = fu Css."""
    R_nmol_h = 50.0 * 2000.0  # Css = 2000 nM, I = 1000 nM
    d = infusion("perp", R_nmol_h, 0.0, 2000.0, unit="nmol")
    t = np.array([0.0, 1500.0, 1900.0])
    sol = solve_pk(model(), t, d)
    I, KI, kin, kdeg = 1000.0, 4000.0, 4.0, 0.0096
    expect = kdeg / (kdeg + kin * I / (KI + I))
    np.testing.assert_allclose(sol.enzyme_active("E3", "liver")[0, 1:], expect, rtol=1e-5)


def test_inhibition_raises_victim_exposure_and_recovers():
    d_v = dose("vic", 2.5, route="oral", molar_mass_g_per_mol=325.8)
    d_p = dose("perp", 40.0, route="oral", molar_mass_g_per_mol=398.5)
    base = solve_pk(model(), T, d_v).conc_nM("vic")[0]
    inh = solve_pk(model(), T, d_v + d_p).conc_nM("vic")[0]
    assert np.trapezoid(inh, T) > 1.2 * np.trapezoid(base, T)
    # complete, permanent inactivation (kdeg -> 0, huge kinact) gives the closed-form upper bound:
    # F = Fa * 1 * 1, CL = 0 (fm = 1) -> no elimination at all
    hard = model(**{"E3.gut.kdeg_per_h": 0.0, "E3.liver.kdeg_per_h": 0.0,
                    **{f"perp.E3.{s}.kinact_per_h": 1e4 for s in ("gut", "liver")},
                    **{f"perp.E3.{s}.KI_nM": 1e-3 for s in ("gut", "liver")}})
    d = dose("perp", 40.0, 0.0, route="oral", molar_mass_g_per_mol=398.5) + dose(
        "vic", 2.5, 1.0, route="oral", molar_mass_g_per_mol=325.8)
    sol = solve_pk(hard, np.array([1.0, 25.0]), d)
    # all of the victim dose absorbed after 24 h stays in the body (no first pass, no clearance)
    assert sol.amount("vic.central")[0, -1] == pytest.approx(2.5e6 / 325.8, rel=1e-4)


@pytest.mark.parametrize("name, value, match", [
    ("vic.oral.E3.Fg", 0.0, "gut-wall"), ("vic.E3.EH", 1.0, "extraction"),
    ("perp.E3.gut.KI_nM", 0.0, "KI_nM"), ("perp.E3.liver.kinact_per_h", -1.0, "kinact"),
    ("E3.gut.kdeg_per_h", -0.1, "kdeg")])
def test_bad_parameters(name, value, match):
    with pytest.raises(PharmsimError, match=match):
        model(**{name: value})


def test_bad_structure():
    with pytest.raises(PharmsimError, match="not a compound"):
        PKModel((CompoundPK("vic", 325.8, 1, (Route("oral"),)),), (), VICTIM | ENZ, {}, (Enzyme("E3", ("x",)),))
    with pytest.raises(PharmsimError, match="auto-inhibition"):
        Enzyme("E3", ("a",), ("a",))


def test_substrate_without_inhibitor_is_linear_and_matches_ode():
    """With no inhibitor in the model the substrate's first pass is the baseline one, solved exactly; the ODE
    path of the same model with an inhibitor that is never dosed gives the same curve."""
    lin = PKModel((CompoundPK("vic", 325.8, 1, (Route("oral"),)),), (), {**VICTIM, **ENZ}, {},
                  (Enzyme("E3", (), ("vic",)),))
    assert lin.is_linear
    d = dose("vic", 2.5, route="oral", molar_mass_g_per_mol=325.8)
    a = solve_pk(lin, T, d).conc_nM("vic")[0]
    b = solve_pk(model(), T, d).conc_nM("vic")[0]
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7 * a.max())
