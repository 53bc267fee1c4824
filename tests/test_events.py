"""NONMEM record semantics (pharmsim.events, pharmsim.dosing) against closed forms of a one-compartment model.

Model: CL = 1.1 L/h, V = 20 L (k = CL/V = 0.055 /h), first-order absorption ka = 1.5 /h from an oral depot.
Closed forms (Gibaldi & Perrier, Pharmacokinetics, 2nd ed. 1982, ch. 1-3):

- bolus: ``C = D/V e^{-kt}``; at steady state every tau: ``C = D/V e^{-kt'}/(1 - e^{-k tau})``, t' time after dose;
- oral: ``C = F D ka/(V (ka - k)) (e^{-kt} - e^{-ka t})``; at steady state each exponential divided by
  ``1 - e^{-x tau}``; a lag L shifts t' = t - L (mod tau);
- infusion of rate R for D h: ``C = R/CL (1 - e^{-kt})`` while it runs, then decays with k.

Tolerances: the exact path is a matrix exponential, so 1e-10 relative; records moved by a float spacing for the
record order add at most ``k * 2e-16 * t`` relative.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

import pharmsim as ps
from pharmsim.events import cmt_map_of, from_doses, read_event_table
from pharmsim.receptor import Endpoint, Ligand
from pharmsim.validate import PharmsimError

CL, V, KA = 1.1, 20.0, 1.5
K = CL / V
CMT = {1: ("C", "oral"), 2: ("C", "iv")}
RTOL = 1e-10


def model(binding="equilibrium", saturable=False, F=1.0, tlag=0.0, extra=None, n_cmt=1):
    c = ps.CompoundPK("C", 300.0, n_cmt, (ps.Route("oral"),), effect_site=True, saturable=saturable)
    p = {"C.CL_L_per_h": CL, "C.V_L": V, "C.fu": 1.0, "C.ke0_per_h": 2.0, "C.oral.ka_per_h": KA, "C.oral.F": F,
         "C.oral.tlag_h": tlag}
    if n_cmt == 2:
        p.update({"C.Q_L_per_h": 2.0, "C.Vp_L": 40.0})
    if saturable:                      # a negligible saturable part: the ODE path with linear PK
        p.update({"C.Vmax_nmol_per_h": 1e-9, "C.Km_nM": 1e6})
    p.update(extra or {})
    lig = Ligand("C", K_nM=10.0, efficacy=1.0, receptor="MOR")
    if binding == "kinetic":
        lig = lig.with_kinetics(1.0)
    return ps.compose(ps.PKModel((c,), (), p), [lig], [Endpoint("e", "MOR")], binding=binding)


def conc(m, d, t, **kw):
    return ps.simulate(m, d, np.asarray(t, dtype=float), outputs="plasma_conc", **kw).get("plasma_conc", "C")[0]


def bolus_ss(D, tau, tp):
    return D / V * np.exp(-K * tp) / (1 - np.exp(-K * tau))


def oral_ss(D, tau, tp, F=1.0):
    return F * D * KA / (V * (KA - K)) * (np.exp(-K * tp) / (1 - np.exp(-K * tau))
                                          - np.exp(-KA * tp) / (1 - np.exp(-KA * tau)))


def infusion_conc(R, dur, t):
    """Concentration of one infusion of rate R (nmol/h) for ``dur`` h from 0 (1 compartment)."""
    up = R / CL * (1 - np.exp(-K * np.minimum(t, dur)))
    return np.where(t <= dur, up, up * np.exp(-K * (t - dur)))


def table(text):
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


# ------------------------------------------------------------------------------------------------ steady state
def test_iv_bolus_steady_state_with_addl_is_the_geometric_series():
    t = np.array([0.0, 1.0, 12.0, 23.9, 24.0, 50.0, 95.0])
    d = ps.dose("C", 1000.0, 0.0, unit="nmol", route="iv", ss=1, ii_h=24.0, addl=3)
    np.testing.assert_allclose(conc(model(), d, t), bolus_ss(1000.0, 24.0, np.mod(t, 24.0)), rtol=RTOL)


@pytest.mark.parametrize("lag", [0.0, 2.5, 30.0])     # a lag longer than the interval included
def test_oral_steady_state_with_lag(lag):
    """SS with lag (a combination peers had bugs with): the trough sits at the lagged dose time."""
    t = np.linspace(0.0, 72.0, 73)
    d = ps.regimen("C", 1000.0, 24.0, 4, unit="nmol", route="oral", ss=1)
    got = conc(model(tlag=lag), d, t)
    np.testing.assert_allclose(got, oral_ss(1000.0, 24.0, np.mod(t - lag, 24.0)), rtol=1e-9)


def test_steady_state_infusion_and_overlapping_addl_infusions():
    """SS infusion (D < tau) and, at steady state, infusions longer than the interval (ADDL with infusions)."""
    tau, D, amt = 12.0, 3.0, 600.0
    R = amt / D
    t = np.linspace(0.0, 24.0, 49)
    d = ps.dose("C", amt, 0.0, unit="nmol", route="iv", duration_h=D, ss=1, ii_h=tau, addl=1)
    trough = R / CL * (1 - np.exp(-K * D)) * np.exp(-K * (tau - D)) / (1 - np.exp(-K * tau))
    tp = np.mod(t, tau)
    want = np.where(tp <= D, R / CL * (1 - np.exp(-K * tp)) + trough * np.exp(-K * tp),
                    (R / CL * (1 - np.exp(-K * D)) + trough * np.exp(-K * D)) * np.exp(-K * (tp - D)))
    np.testing.assert_allclose(conc(model(), d, t), want, rtol=1e-9)
    # overlapping: 30-h infusions every 24 h add up (superposition of each infusion's closed form)
    d2 = ps.dose("C", 3000.0, 0.0, unit="nmol", route="iv", duration_h=30.0, ii_h=24.0, addl=2)
    t2 = np.linspace(0.0, 120.0, 121)
    want = sum(np.where(t2 >= 24.0 * j, infusion_conc(100.0, 30.0, np.maximum(t2 - 24.0 * j, 0.0)), 0.0)
               for j in range(3))
    np.testing.assert_allclose(conc(model(), d2, t2), want, rtol=1e-9, atol=1e-12)


def test_ss2_adds_a_second_regimen_and_constant_infusion_sets_its_state():
    t = np.linspace(0.0, 47.5, 96)
    d = (ps.dose("C", 1000.0, 0.0, unit="nmol", route="iv", ss=1, ii_h=24.0, addl=1)
         + ps.dose("C", 500.0, 12.0, unit="nmol", route="iv", ss=2, ii_h=24.0, addl=1))
    # SS = 2 superposes the second regimen's steady state at its record time (12 h), nothing before
    want = bolus_ss(1000.0, 24.0, np.mod(t, 24.0)) + np.where(t >= 12.0, bolus_ss(500.0, 24.0, np.mod(t - 12.0, 24.0)),
                                                               0.0)
    np.testing.assert_allclose(conc(model(), d, t), want, rtol=1e-9)
    # AMT = 0, RATE > 0, SS = 1, II = 0: the state of a constant infusion; it does not continue (NONMEM, rxode2)
    inf = ps.infusion("C", 100.0, 0.0, None, unit="nmol", ss=1)
    np.testing.assert_allclose(conc(model(), inf, [0.0, 10.0]), 100.0 / CL * np.exp(-K * np.array([0.0, 10.0])),
                               rtol=1e-10)


@pytest.mark.parametrize("binding,saturable", [("kinetic", False), ("equilibrium", True)])
def test_iterated_steady_state_of_nonlinear_paths_matches_the_exact_one(binding, saturable):
    """Streaming (kinetic binding) and ODE (saturable) paths iterate the steady state; their PK agrees with the
    exact path (the streaming path starts its linear PK at the exact steady state: 1e-9; the ODE path reaches it
    through the iteration and LSODA: 1e-5)."""
    t = np.linspace(0.0, 48.0, 25)
    d = ps.regimen("C", 1000.0, 12.0, 4, unit="nmol", route="oral", ss=1, lag_h=1.0)
    exact = conc(model(), d, t)
    r = ps.simulate(model(binding, saturable), d, t, outputs=("plasma_conc", "occupancy"), ss_rtol=1e-7)
    np.testing.assert_allclose(r.get("plasma_conc", "C")[0], exact, rtol=1e-9 if not saturable else 1e-5)
    assert any("iterated" in n for n in r.notes)
    occ = r.get("occupancy", "C", "MOR")[0]
    np.testing.assert_allclose(occ[t == 0.0], occ[t == 12.0], rtol=1e-5)      # periodic from the first record


# ------------------------------------------------------------------------------------------------ F, lag, rate
def test_rate_keeps_the_rate_and_dur_keeps_the_duration_under_F():
    """F with RATE: duration F*AMT/RATE (5 h, not 10); F with DUR: rate F*AMT/DUR over the whole 10 h."""
    m = model().with_pk(model().pk.with_parameters({"C.iv.F": 0.5}))
    t = np.array([2.0, 5.0, 8.0, 10.0, 20.0])
    by_rate = ps.dose("C", 100.0, 0.0, unit="nmol", route="iv", rate_per_h=10.0)
    np.testing.assert_allclose(conc(m, by_rate, t), infusion_conc(10.0, 5.0, t), rtol=RTOL)
    by_dur = ps.dose("C", 100.0, 0.0, unit="nmol", route="iv", duration_h=10.0)
    np.testing.assert_allclose(conc(m, by_dur, t), infusion_conc(5.0, 10.0, t), rtol=RTOL)


def test_iv_F_above_one_lag_and_per_dose_overrides():
    m = model().with_pk(model().pk.with_parameters({"C.iv.F": 1.3, "C.iv.tlag_h": 2.0}))
    t = np.array([1.0, 2.0, 5.0])
    got = conc(m, ps.dose("C", 100.0, 0.0, unit="nmol", route="iv"), t)
    np.testing.assert_allclose(got, np.where(t >= 2.0, 1.3 * 100.0 / V * np.exp(-K * (t - 2.0)), 0.0), rtol=RTOL)
    got = conc(m, ps.dose("C", 100.0, 0.0, unit="nmol", route="iv", F=0.5, lag_h=0.0), t)
    np.testing.assert_allclose(got, 0.5 * 100.0 / V * np.exp(-K * t), rtol=RTOL)


def test_modelled_rate_and_duration():
    m = model().with_pk(model().pk.with_parameters({"C.iv.R_nmol_per_h": 20.0, "C.iv.D_h": 4.0}))
    t = np.array([2.0, 5.0, 12.0])
    for rate, dur in ((-1, 5.0), (-2, 4.0)):
        got = conc(m, ps.dose("C", 100.0, 0.0, unit="nmol", route="iv", rate_per_h=rate), t)
        np.testing.assert_allclose(got, infusion_conc(100.0 / dur, dur, t), rtol=RTOL)
    with pytest.raises(PharmsimError, match=r"RATE = -2.*C\.iv\.D_h is 0"):
        conc(model(), ps.dose("C", 100.0, 0.0, unit="nmol", route="iv", rate_per_h=-2), t)


def test_dosing_into_any_compartment_by_cmt():
    m = model(n_cmt=2)
    cm = cmt_map_of(m)
    assert cm == {1: ("C", "oral"), 2: ("C", "iv"), 3: ("C", "peripheral")}
    s = ps.solve_pk(m.pk, [0.0, 5.0], ps.dose("C", 100.0, 0.0, unit="nmol", route="peripheral"))
    assert s.amount("C.peripheral")[0, 0] == 100.0 and s.amount("C.central")[0, 0] == 0.0
    np.testing.assert_allclose(s.in_body_nmol()[0] + s.eliminated_nmol()[0], 100.0, rtol=1e-12)
    with pytest.raises(PharmsimError, match="unknown route .effect."):
        m.check_doses(ps.dose("C", 1.0, 0.0, unit="nmol", route="effect"))


# ------------------------------------------------------------------------------------------------ records
def test_observation_before_a_dose_at_the_same_time_gets_the_trough():
    et = read_event_table(table("ID,TIME,EVID,AMT,CMT\n1,0,1,1000,2\n1,24,0,0,2\n1,24,1,1000,2\n1,24,0,0,2\n"),
                          CMT, amount_unit="nmol")
    ipred = et.simulate(model(), conc_unit="nM").records["IPRED"].to_numpy()
    pre = 1000.0 / V * np.exp(-K * 24.0)
    np.testing.assert_allclose(ipred[[1, 3]], [pre, pre + 1000.0 / V], rtol=1e-12)


@pytest.mark.parametrize("order,expected", [("dose_first", 1), ("observation_first", 0)])
def test_addl_order_is_selectable(order, expected):
    et = read_event_table(table("ID,TIME,EVID,AMT,CMT,II,ADDL\n1,0,1,1000,2,24,1\n1,24,0,0,2,0,0\n"), CMT,
                          amount_unit="nmol", addl_order=order)
    got = et.simulate(model(), conc_unit="nM").records["IPRED"].iloc[1]
    np.testing.assert_allclose(got, 1000.0 / V * np.exp(-K * 24.0) + expected * 1000.0 / V, rtol=1e-12)


def test_dot_placeholders_reappearing_ids_and_reset_then_dose():
    text = ("ID,TIME,EVID,AMT,CMT,RATE,II,ADDL,SS,DV\n"
            "1,0,1,1000,2,.,.,.,.,.\n1,5,0,.,2,.,.,.,.,3.1\n"
            "2,0,1,500,2,.,.,.,.,.\n2,5,0,.,2,.,.,.,.,.\n"
            "1,0,1,2000,2,.,.,.,.,.\n1,5,0,.,2,.,.,.,.,.\n"
            "3,0,1,1000,2,0,24,3,0,0\n3,10,3,0,2,0,0,0,0,0\n3,11,0,0,2,0,0,0,0,0\n3,12,4,300,2,0,0,0,0,0\n"
            "3,30,0,0,2,0,0,0,0,0\n")
    et = read_event_table(table(text), CMT, amount_unit="nmol")
    assert et.ids == (1, 2, 1, 3)                       # ID 1 again after ID 2: a new individual
    ipred = et.simulate(model(), conc_unit="nM").records["IPRED"].to_numpy()
    e5 = np.exp(-K * 5.0)
    np.testing.assert_allclose(ipred[[1, 3, 5]], np.array([1000.0, 500.0, 2000.0]) / V * e5, rtol=1e-12)
    # reset at 10 wipes the 1000 and cancels its ADDL doses (24, 48, 72); EVID 4 at 12 doses 300 after a reset
    np.testing.assert_allclose(ipred[[8, 10]], [0.0, 300.0 / V * np.exp(-K * 18.0)], rtol=1e-12, atol=1e-15)


def test_export_read_simulate_round_trip_is_identical(tmp_path):
    """The simulated data set round-trips: to_csv -> read_event_table -> simulate gives identical IPRED and DV."""
    d = (ps.regimen("C", 100.0, 12.0, 3, unit="nmol", route="oral", ss=1)
         + ps.dose("C", 50.0, 30.0, unit="nmol", route="iv", duration_h=2.0) + ps.reset(40.0)
         + ps.dose("C", 10.0, 41.0, unit="nmol", route="iv", rate_per_h=20.0))
    et = from_doses(d, CMT, np.arange(0.0, 60.0, 0.5), amount_unit="nmol")
    res = ps.ResidualError("combined", additive_sd=0.01, proportional_sd=0.1)
    sim = et.simulate(model(), conc_unit="nM", residual=res, rng=np.random.default_rng(7))
    path = sim.to_csv(tmp_path / "sim.csv")
    back = read_event_table(path, CMT, amount_unit="nmol")
    again = back.simulate(model(), conc_unit="nM", residual=res, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(again.records["IPRED"].to_numpy(), sim.records["IPRED"].to_numpy())
    np.testing.assert_array_equal(again.records["DV"].to_numpy(), sim.records["DV"].to_numpy())
    text = path.read_text()
    assert "." not in text.splitlines()[0] and ",." not in text and text.startswith("ID,TIME,EVID,AMT,CMT,RATE")
    direct = conc(model(), d, np.arange(0.0, 60.0, 0.5))        # the table means what the Doses meant
    obs = sim.records[sim.records["EVID"] == 0]
    np.testing.assert_allclose(obs["IPRED"].to_numpy(), direct, rtol=1e-12, atol=1e-15)


# ------------------------------------------------------------------------------------------------ bad records
GOOD = "ID,TIME,EVID,AMT,CMT,II,ADDL,SS\n1,0,1,10,1,0,0,0\n1,2,0,0,2,0,0,0\n"


@pytest.mark.parametrize("row,match", [
    ("1,4,1,10,1,0,0,1", r"'II', row 2: got 0\.0 h; expected > 0 h with SS = 1"),
    ("1,4,1,10,1,0,3,0", r"'II', row 2: got 0\.0 h; expected > 0 h with ADDL = 3"),
    ("1,4,5,10,1,0,0,0", r"'EVID', row 2: got 5\.0"),
    ("1,4,1,10,7,0,0,0", r"'CMT', row 2: got '7'"),
    ("abc,4,1,10,1,0,0,0", r"'ID', row 2: got 'abc'; expected a numeric"),
    ("1,4,1,-3,1,0,0,0", r"'AMT', row 2: got -3\.0 mg"),
    ("1,1,1,10,1,0,0,0", r"'TIME', row 2: got 1\.0 h"),
    ("1,4,1,x,1,0,0,0", r"'AMT', row 2: got 'x'"),
    ("1,4,1,10,1,24,10000000,0", r"'ADDL', row 2: got 10000000\.0; expected at most max_doses"),
])
def test_bad_records_name_row_column_and_value_in_the_users_units(row, match):
    with pytest.raises(PharmsimError, match=match):
        read_event_table(table(GOOD + row + "\n"), CMT, molar_masses={"C": 300.0})


@pytest.mark.parametrize("call,match", [
    (lambda: ps.regimen("C", 1.0, 12.0, "3", unit="nmol"), "n_doses must be a whole number"),
    (lambda: ps.regimen("C", 1.0, 12.0, 1e9, unit="nmol"), r"n_doses must be a whole number .*<= 100,000.*ss=1"),
    (lambda: ps.dose("C", 1.0, unit="nmol", addl=10_000_000, ii_h=1.0), r"addl .*<= 99,999"),
    (lambda: ps.dose("C", 1.0, unit="nmol", addl=2), r"ii_h .* must be > 0 h with addl = 2"),
    (lambda: ps.dose("C", 1.0, unit="nmol", ss=1), r"ii_h .* must be > 0 h with addl = 0 or ss = 1"),
    (lambda: ps.dose("C", 1.0, unit="nmol", ss=3, ii_h=1.0), "ss must be a whole number"),
    (lambda: ps.dose("C", 1.0, unit="nmol", rate_per_h=-3), "rate_per_h must be > 0"),
    (lambda: ps.dose("C", 1.0, unit="nmol", rate_per_h=2.0, duration_h=1.0), "give one"),
])
def test_count_and_option_arguments_are_checked(call, match):
    with pytest.raises(PharmsimError, match=match):
        call()
