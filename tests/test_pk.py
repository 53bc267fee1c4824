"""Tests of pharmsim.pk against closed forms (Bateman, bi-exponential, accumulation, metabolite, transit,
infusion), mass balance, exact vs ODE, batching and bad input."""

import math

import numpy as np
import pytest

from pharmsim.dosing import Doses, dose, dose_list, infusion, regimen
from pharmsim.pk import CompoundPK, Conversion, PKModel, Route, combine
from pharmsim.solve import solve_pk as solve
from pharmsim.validate import PharmsimError

MW = 300.0


def one_cmt(CL=10.0, V=50.0, ka=1.2, F=1.0, tlag=0.0, fu=1.0, **extra):
    p = {"X.CL_L_per_h": CL, "X.V_L": V, "X.fu": fu, "X.oral.ka_per_h": ka, "X.oral.F": F, "X.oral.tlag_h": tlag}
    p.update(extra)
    eff = "X.ke0_per_h" in p
    return PKModel((CompoundPK("X", MW, 1, (Route("oral"),), effect_site=eff),), (), p)


def nmol(mg):
    return mg * 1e6 / MW


def bateman(t, D, F, ka, k, V):
    return F * D * ka / (V * (ka - k)) * (np.exp(-k * t) - np.exp(-ka * t))


T = np.linspace(0, 48, 193)


def test_one_compartment_oral_bateman_with_F_and_lag():
    m = one_cmt(F=0.6, tlag=0.5)
    s = solve(m, T, dose("X", 30.0, molar_mass_g_per_mol=MW))
    expected = np.where(T >= 0.5, bateman(np.clip(T - 0.5, 0, None), nmol(30), 0.6, 1.2, 0.2, 50.0), 0.0)
    np.testing.assert_allclose(s.conc_nM("X")[0], expected, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(s.conc_ng_per_mL("X")[0], expected * MW / 1000, rtol=1e-10, atol=1e-10)


def test_iv_bolus_monoexponential():
    s = solve(one_cmt(), T, dose("X", 10.0, route="iv", molar_mass_g_per_mol=MW))
    np.testing.assert_allclose(s.conc_nM("X")[0], nmol(10) / 50 * np.exp(-0.2 * T), rtol=1e-11)


def test_two_compartment_iv_biexponential():
    CL, V, Q, Vp = 12.0, 20.0, 30.0, 80.0
    m = PKModel((CompoundPK("X", MW, 2, ()),), (),
                {"X.CL_L_per_h": CL, "X.V_L": V, "X.Q_L_per_h": Q, "X.Vp_L": Vp, "X.fu": 1.0})
    s = solve(m, T, dose("X", 5.0, route="iv", molar_mass_g_per_mol=MW))
    k10, k12, k21 = CL / V, Q / V, Q / Vp
    ssum = k10 + k12 + k21
    disc = math.sqrt(ssum**2 - 4 * k10 * k21)
    a, b = (ssum + disc) / 2, (ssum - disc) / 2
    D = nmol(5.0)
    expected = D / V * ((a - k21) / (a - b) * np.exp(-a * T) + (k21 - b) / (a - b) * np.exp(-b * T))
    np.testing.assert_allclose(s.conc_nM("X")[0], expected, rtol=1e-10)


def test_three_compartment_mass_balance_and_terminal_rate():
    p = {"X.CL_L_per_h": 5.0, "X.V_L": 10.0, "X.Q_L_per_h": 20.0, "X.Vp_L": 40.0, "X.Q2_L_per_h": 2.0,
         "X.Vp2_L": 200.0, "X.fu": 1.0}
    m = PKModel((CompoundPK("X", MW, 3, ()),), (), p)
    t = np.linspace(0, 2000, 401)
    s = solve(m, t, dose("X", 5.0, route="iv", molar_mass_g_per_mol=MW))
    total = s.in_body_nmol() + s.eliminated_nmol()
    np.testing.assert_allclose(total, s.total_dosed_nmol(), rtol=1e-9)
    # terminal rate equals the smallest eigenvalue magnitude of the disposition matrix
    A = m.matrix()
    idx = [m.index(f"X.{n}") for n in ("central", "peripheral", "peripheral2")]
    lam = -max(np.linalg.eigvals(A[np.ix_(idx, idx)]).real)
    c = s.conc_nM("X")[0]
    slope = -(np.log(c[-1]) - np.log(c[-5])) / (t[-1] - t[-5])
    assert slope == pytest.approx(lam, rel=1e-4)


def test_superposition_of_doses():
    m = one_cmt()
    both = solve(m, T, dose_list("X", [0.0, 7.0], [10.0, 25.0], molar_mass_g_per_mol=MW)).conc_nM("X")
    a = solve(m, T, dose("X", 10.0, 0.0, molar_mass_g_per_mol=MW)).conc_nM("X")
    b = solve(m, T, dose("X", 25.0, 7.0, molar_mass_g_per_mol=MW)).conc_nM("X")
    np.testing.assert_allclose(both, a + b, rtol=1e-11, atol=1e-12)


def test_steady_state_accumulation_ratio():
    k, tau, n = 0.2, 8.0, 12
    m = one_cmt()
    t = np.arange(0, n * tau + 1e-9, 0.5)
    s = solve(m, t, regimen("X", 10.0, tau, n, route="iv", molar_mass_g_per_mol=MW))
    c = s.conc_nM("X")[0]
    first = c[np.isclose(t, 0.0)][0]
    last = c[np.isclose(t, (n - 1) * tau)][0]
    expected = (1 - np.exp(-n * k * tau)) / (1 - np.exp(-k * tau))  # after n doses; -> 1/(1-exp(-k tau))
    assert last / first == pytest.approx(expected, rel=1e-10)
    assert expected == pytest.approx(1 / (1 - np.exp(-k * tau)), rel=1e-4)


def test_parent_metabolite_analytic():
    CL, V, CLm, Vm, fm = 10.0, 50.0, 30.0, 40.0, 0.3
    m = PKModel((CompoundPK("P", MW, 1, ()), CompoundPK("M", 350.0, 1, ())), (Conversion("P", "M"),),
                {"P.CL_L_per_h": CL, "P.V_L": V, "P.fu": 1.0, "M.CL_L_per_h": CLm, "M.V_L": Vm, "M.fu": 1.0,
                 "M.fm": fm})
    D = 1000.0
    s = solve(m, T, Doses(time_h=[0.0], compound=("P",), route=("iv",), amount_nmol=[D]))
    k, km = CL / V, CLm / Vm
    Am = fm * k * D / (km - k) * (np.exp(-k * T) - np.exp(-km * T))  # molar: nmol of M
    np.testing.assert_allclose(s.conc_nM("M")[0], Am / Vm, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(s.in_body_nmol() + s.eliminated_nmol(), s.total_dosed_nmol(), rtol=1e-9)


def test_presystemic_conversion_splits_absorbed_dose():
    m = PKModel((CompoundPK("P", MW, 1, (Route("oral"),)), CompoundPK("M", 350.0, 1, ())),
                (Conversion("P", "M", presystemic=True),),
                {"P.CL_L_per_h": 10.0, "P.V_L": 50.0, "P.fu": 1.0, "P.oral.ka_per_h": 2.0, "P.oral.F": 0.8,
                 "P.oral.tlag_h": 0.0, "P.oral.fpre_M": 0.25, "M.CL_L_per_h": 30.0, "M.V_L": 40.0, "M.fu": 1.0,
                 "M.fm": 0.0})
    t = np.array([0.0, 200.0])
    s = solve(m, t, Doses(time_h=[0.0], compound=("P",), route=("oral",), amount_nmol=[1000.0]))
    # fm = 0: all metabolite eliminated comes from the presystemic route; AUC-weighted totals are exact
    assert s.amount("M.eliminated")[0, -1] == pytest.approx(0.25 * 0.8 * 1000.0, rel=1e-9)
    assert s.amount("P.eliminated")[0, -1] == pytest.approx(0.75 * 0.8 * 1000.0, rel=1e-9)


def test_transit_compartments_erlang():
    n, mtt = 4, 2.0
    ktr = n / mtt
    p = {"X.CL_L_per_h": 10.0, "X.V_L": 50.0, "X.fu": 1.0, "X.oral.ka_per_h": 1.0, "X.oral.F": 1.0,
         "X.oral.tlag_h": 0.0, "X.oral.mtt_h": mtt}
    m = PKModel((CompoundPK("X", MW, 1, (Route("oral", n_transit=n),)),), (), p)
    D = 500.0
    s = solve(m, T, Doses(time_h=[0.0], compound=("X",), route=("oral",), amount_nmol=[D]))
    # amount in the last transit compartment: Erlang/gamma density D (ktr t)^(n-1) e^(-ktr t) / (n-1)!
    expected = D * (ktr * T) ** (n - 1) * np.exp(-ktr * T) / math.factorial(n - 1)
    np.testing.assert_allclose(s.amount(f"X.oral.transit{n}")[0], expected, rtol=1e-9, atol=1e-10)
    # flux into the depot integrates to D and has mean time n/ktr = mtt
    dense = np.linspace(0, 60, 6001)
    sd = solve(m, dense, Doses(time_h=[0.0], compound=("X",), route=("oral",), amount_nmol=[D]))
    flux = ktr * sd.amount(f"X.oral.transit{n}")[0]
    assert np.trapezoid(flux * dense, dense) / D == pytest.approx(mtt, rel=1e-4)


def test_infusion_closed_form():
    k, V, R, dur = 0.2, 50.0, 100.0, 3.0
    m = one_cmt()
    s = solve(m, T, Doses(time_h=[1.0], compound=("X",), route=("iv",), amount_nmol=[R * dur], duration_h=[dur]))
    tt = T - 1.0
    during = R / (k * V) * (1 - np.exp(-k * np.clip(tt, 0, None)))
    after = R / (k * V) * (1 - np.exp(-k * dur)) * np.exp(-k * (tt - dur))
    expected = np.where(tt <= 0, 0.0, np.where(tt <= dur, during, after))
    np.testing.assert_allclose(s.conc_nM("X")[0], expected, rtol=1e-10, atol=1e-12)
    # infusion helper converts mg/h
    d = infusion("X", 2.0, 1.0, 3.0, molar_mass_g_per_mol=MW)
    assert d.amount_nmol[0] == pytest.approx(nmol(6.0))


def test_mass_balance_combined_model_many_subjects():
    N = 5
    rng = np.random.default_rng(1)
    m1 = one_cmt(CL=rng.uniform(5, 15, N), F=0.7, tlag=0.25)
    m2 = PKModel((CompoundPK("Y", 285.34, 2, (Route("oral"),), effect_site=True),), (),
                 {"Y.CL_L_per_h": 95.0, "Y.V_L": 60.0, "Y.Q_L_per_h": 480.0, "Y.Vp_L": 216.0, "Y.fu": 0.65,
                  "Y.ke0_per_h": 0.16, "Y.oral.ka_per_h": 1.4, "Y.oral.F": 0.24, "Y.oral.tlag_h": 0.0})
    m = combine(m1, m2)
    d = regimen("X", 10.0, 6.0, 4, molar_mass_g_per_mol=MW) + dose("Y", 10.0, 2.0, route="iv",
                                                                    molar_mass_g_per_mol=285.34) \
        + dose("Y", 20.0, 3.0, duration_h=2.0, molar_mass_g_per_mol=285.34)
    s = solve(m, T, d)
    assert s.amounts.shape == (N, T.size, len(m.states))
    np.testing.assert_allclose(s.in_body_nmol() + s.eliminated_nmol(), s.total_dosed_nmol(), rtol=1e-9, atol=1e-9)
    assert np.all(s.effect_nM("Y") >= 0)


def test_effect_site_fed_by_unbound_concentration():
    ke0, fu = 0.5, 0.3
    m = one_cmt(fu=fu, **{"X.ke0_per_h": ke0})
    s = solve(m, T, dose("X", 10.0, route="iv", molar_mass_g_per_mol=MW))
    k = 0.2
    C0 = nmol(10) / 50
    expected = fu * C0 * ke0 / (ke0 - k) * (np.exp(-k * T) - np.exp(-ke0 * T))
    np.testing.assert_allclose(s.effect_nM("X")[0], expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(s.unbound_nM("X")[0], fu * s.conc_nM("X")[0])


def test_exact_and_ode_paths_agree_on_linear_model():
    m = combine(one_cmt(F=0.8, tlag=0.3, **{"X.ke0_per_h": 0.4}),
                PKModel((CompoundPK("M", 350.0, 2, ()),), (),
                        {"M.CL_L_per_h": 5.0, "M.V_L": 20.0, "M.Q_L_per_h": 8.0, "M.Vp_L": 60.0, "M.fu": 1.0}))
    d = regimen("X", 10.0, 12.0, 3, molar_mass_g_per_mol=MW) + Doses(
        time_h=[2.0], compound=("M",), route=("iv",), amount_nmol=[300.0], duration_h=[1.5])
    a = solve(m, T, d).amounts
    b = solve(m, T, d, method="ode", rtol=1e-11, atol=1e-12).amounts
    scale = np.abs(a).max(axis=(0, 1))
    sig = np.abs(a) > 1e-6 * scale
    np.testing.assert_array_less(np.abs(a - b)[sig] / np.abs(a)[sig], 1e-6)


def test_ode_michaelis_menten_implicit_solution():
    # dC/dt = -Vmax/V * C/(Km + C)  =>  Km ln(C0/C) + (C0 - C) = Vmax t / V  (Michaelis-Menten, exact implicit)
    V, vmax, km = 50.0, 2000.0, 20.0
    p = {"X.CL_L_per_h": 0.0, "X.V_L": V, "X.fu": 1.0, "X.Vmax_nmol_per_h": vmax, "X.Km_nM": km}
    m = PKModel((CompoundPK("X", MW, 1, (), saturable=True),), (), p)
    s = solve(m, T, dose("X", 1.0, route="iv", molar_mass_g_per_mol=MW), method="ode", rtol=1e-11, atol=1e-13)
    c = s.conc_nM("X")[0]
    c0 = nmol(1.0) / V
    keep = c > 1e-3
    lhs = km * np.log(c0 / c[keep]) + (c0 - c[keep])
    np.testing.assert_allclose(lhs, vmax * T[keep] / V, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(s.in_body_nmol() + s.eliminated_nmol(), s.total_dosed_nmol(), rtol=1e-9)
    with pytest.raises(PharmsimError, match="method='ode'"):
        solve(m, T, dose("X", 1.0, route="iv", molar_mass_g_per_mol=MW), method="exact")
    # the default method for a saturable model is the ODE path
    np.testing.assert_allclose(solve(m, T, dose("X", 1.0, route="iv", molar_mass_g_per_mol=MW)).conc_nM("X"),
                               s.conc_nM("X"), rtol=1e-6, atol=1e-9)


def test_batched_parameters_match_individual_solves():
    CLs = np.array([5.0, 10.0, 20.0])
    lags = np.array([0.0, 0.5, 0.0])
    m = one_cmt(CL=CLs, tlag=lags)
    d = dose("X", 10.0, molar_mass_g_per_mol=MW)
    s = solve(m, T, d).conc_nM("X")
    for i in range(3):
        si = solve(one_cmt(CL=CLs[i], tlag=lags[i]), T, d).conc_nM("X")[0]
        np.testing.assert_allclose(s[i], si, rtol=1e-12, atol=1e-14)


def test_tidy_output_columns_and_units():
    s = solve(one_cmt(), np.array([0.0, 1.0, 2.0]), dose("X", 1.0, molar_mass_g_per_mol=MW))
    df = s.tidy()
    assert list(df.columns) == ["subject", "time_h", "quantity", "compound", "value", "unit"]
    assert set(df.unit) == {"nM", "ng/mL", "nmol"}


@pytest.mark.parametrize("bad,match", [
    ({"X.CL_L_per_h": -1.0}, "X.CL_L_per_h"),
    ({"X.oral.ka_per_h": float("nan")}, "X.oral.ka_per_h"),
    ({"X.oral.ka_per_h": -0.5}, "X.oral.ka_per_h"),
    ({"X.V_L": 0.0}, "X.V_L"),
    ({"X.oral.F": -0.2}, "X.oral.F"),
    ({"X.fu": -0.1}, "X.fu"),
    ({"X.V_L": np.ones((2, 2))}, "X.V_L"),
])
def test_bad_parameters(bad, match):
    with pytest.raises(PharmsimError, match=match):
        one_cmt().with_parameters(bad)


def test_structural_errors():
    with pytest.raises(PharmsimError, match="missing"):
        PKModel((CompoundPK("X", MW, 2, ()),), (), {"X.CL_L_per_h": 1.0, "X.V_L": 1.0, "X.fu": 1.0})
    with pytest.raises(PharmsimError, match="unknown PK parameter"):
        one_cmt(**{"X.Vq_L": 3.0})
    with pytest.raises(PharmsimError, match="n_compartments"):
        CompoundPK("X", MW, 4)
    with pytest.raises(PharmsimError, match="share one length"):
        one_cmt(CL=np.ones(2), V=np.ones(3))
    with pytest.raises(PharmsimError, match="unknown route"):
        solve(one_cmt(), T, dose("X", 1.0, route="tea", molar_mass_g_per_mol=MW))
    with pytest.raises(PharmsimError, match="unknown compound"):
        solve(one_cmt(), T, dose("Z", 1.0, molar_mass_g_per_mol=MW))
    with pytest.raises(PharmsimError, match="Route.name"):
        Route("iv")
    with pytest.raises(PharmsimError, match="method"):
        solve(one_cmt(), T, method="euler")
    with pytest.raises(PharmsimError, match="sorted"):
        solve(one_cmt(), T[::-1])


def test_relative_bioavailability_above_one_is_allowed():
    """F of a route is relative to the reference route: values above 1 are common (issue 13) and accepted."""
    m = one_cmt().with_parameters({"X.oral.F": 1.5})
    a = solve(m, T, dose("X", 10.0, molar_mass_g_per_mol=MW)).conc_nM("X")
    b = solve(one_cmt().with_parameters({"X.oral.F": 1.0}), T, dose("X", 10.0, molar_mass_g_per_mol=MW)).conc_nM("X")
    np.testing.assert_allclose(a, 1.5 * b, rtol=1e-12)
