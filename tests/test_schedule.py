"""Parameter schedules (pharmsim.schedule): time-varying covariates (piecewise constant, LOCF) and inter-occasion
variability, through simulate, Population, Study, scenario files and event tables.

Closed forms, one compartment (CL = 1.1 L/h, V = 20 L, ka = 1.5 /h; Gibaldi & Perrier, Pharmacokinetics, 2nd ed.
1982, ch. 1): after a change at t0 to k2 = CL2/V2 the central amount continues from the state carried at t0,
``A(t) = A(t0) e^{-k2 tau} + A_depot(t0) ka/(ka - k2) (e^{-k2 tau} - e^{-ka tau})``, tau = t - t0, and
``C = A/V2``. Tolerances: exact path 1e-12 relative (matrix exponentials); the streaming path's PK is exact
too; occupancies of kinetic binding agree with the ODE reference to the binding tolerance (rtol 1e-5 of the
Radau mesh, compared at 1e-4); the ODE path (LSODA, rtol 1e-8) to 1e-6.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pharmsim as ps
from pharmsim import scenario as sc
from pharmsim.events import read_event_table
from pharmsim.receptor import Endpoint, Ligand
from pharmsim.schedule import CovariateChange, ParameterSchedule
from pharmsim.summaries import Summaries
from pharmsim.validate import PharmsimError

CL, V, KA = 1.1, 20.0, 1.5
CMT = {1: ("C", "oral"), 2: ("C", "iv")}
PATHS = {"exact": ("equilibrium", False), "streaming": ("kinetic", False), "ode": ("equilibrium", True)}


def model(binding="equilibrium", saturable=False, kon=1.0):
    c = ps.CompoundPK("C", 300.0, 1, (ps.Route("oral"),), effect_site=True, saturable=saturable)
    p = {"C.CL_L_per_h": CL, "C.V_L": V, "C.fu": 1.0, "C.ke0_per_h": 2.0, "C.oral.ka_per_h": KA, "C.oral.F": 1.0,
         "C.oral.tlag_h": 0.0}
    if saturable:                      # a negligible saturable part: the ODE path with linear PK
        p.update({"C.Vmax_nmol_per_h": 1e-9, "C.Km_nM": 1e6})
    lig = Ligand("C", K_nM=10.0, efficacy=1.0, receptor="MOR")
    if binding == "kinetic":
        lig = lig.with_kinetics(kon)
    return ps.compose(ps.PKModel((c,), (), p), [lig], [Endpoint("e", "MOR")], binding=binding)


def conc(res):
    return res.get("plasma_conc", "C")[0]


def oral_after_change(t, t0, D, CL2, V2):
    """Closed form of an oral dose D at 0 with CL, V until t0 and CL2, V2 after (module docstring)."""
    k1, k2 = CL / V, CL2 / V2
    Ad0 = D * np.exp(-KA * t0)
    Ac0 = D * KA / (KA - k1) * (np.exp(-k1 * t0) - np.exp(-KA * t0))
    tau = t - t0
    before = D * KA / (KA - k1) * (np.exp(-k1 * t) - np.exp(-KA * t)) / V
    after = (Ac0 * np.exp(-k2 * tau) + Ad0 * KA / (KA - k2) * (np.exp(-k2 * tau) - np.exp(-KA * tau))) / V2
    return np.where(t < t0, before, after)


# ------------------------------------------------------------------------------------------------ closed forms
@pytest.mark.parametrize("path", sorted(PATHS))
def test_clearance_halving_follows_the_closed_form_from_the_carried_state(path):
    binding, saturable = PATHS[path]
    t0, D = 6.0, 1000.0
    t = np.concatenate([np.linspace(0.0, 40.0, 81), [t0 - 1e-9]])
    t.sort()
    sched = ParameterSchedule(times_h=[t0], values={"C.CL_L_per_h": [CL, CL / 2]})
    res = ps.simulate(model(binding, saturable), ps.dose("C", D, 0.0, unit="nmol", route="oral"), t,
                      population=sched)
    ref = oral_after_change(t, t0, D, CL / 2, V)
    rtol = 1e-6 if path == "ode" else 1e-12
    np.testing.assert_allclose(conc(res), ref, rtol=rtol, atol=1e-12 * ref.max())
    assert any("parameters change at 6 h" in n for n in res.notes)
    assert any(f"engine path: {'exact-at-outputs' if path == 'exact' else path}" in n for n in res.notes)


def test_volume_change_moves_the_concentration_not_the_amount():
    """V doubles at t0 with CL kept: the amount is carried, so C(t0) is half of C(t0-), then decays with CL/2V."""
    t0, D = 8.0, 1000.0
    t = np.array([0.0, t0 - 1e-12, t0, 12.0, 30.0])
    sched = ParameterSchedule(times_h=[t0], values={"C.V_L": [V, 2 * V]})
    c = conc(ps.simulate(model(), ps.dose("C", D, 0.0, unit="nmol", route="iv"), t, population=sched))
    A0 = D * np.exp(-CL / V * t0)
    np.testing.assert_allclose(c[1], A0 / V, rtol=1e-12)
    np.testing.assert_allclose(c[2:], A0 / (2 * V) * np.exp(-CL / (2 * V) * (t[2:] - t0)), rtol=1e-12)


def test_mass_is_conserved_across_changes_with_an_infusion_running_through_them():
    """Delivered = V(t) C(t) + integral of CL(s) C(s) ds for an infusion running through two changes of CL and V
    and a bolus between them (Simpson's rule on 4001 points per smooth piece, each integrated up to 1e-10 h before
    its end: error < 1e-9 relative); at each change the amount V C is continuous."""
    from scipy.integrate import simpson

    starts = np.array([0.0, 10.0, 20.0])
    cls, vs = [CL, 0.4, 2.5], [V, 35.0, 12.0]
    R, T_inf, B, tB = 50.0, 30.0, 300.0, 15.0
    sched = ParameterSchedule(times_h=starts[1:], values={"C.CL_L_per_h": cls, "C.V_L": vs})
    d = ps.infusion("C", R, 0.0, T_inf, unit="nmol") + ps.dose("C", B, tB, unit="nmol", route="iv")
    m = model()
    eliminated = 0.0
    pieces = [(0.0, 10.0, 0), (10.0, 15.0, 1), (15.0, 20.0, 1), (20.0, 30.0, 2), (30.0, 40.0, 2)]   # smooth parts
    for a, b, k in pieces:
        g = np.linspace(a, b - (1e-10 if b < 40 else 0.0), 4001)
        c = conc(ps.simulate(m, d, g, population=sched, outputs="plasma_conc"))
        eliminated += simpson(cls[k] * c, x=g)
    c_end = conc(ps.simulate(m, d, [40.0], population=sched, outputs="plasma_conc"))[0]
    delivered = R * T_inf + B
    assert abs(vs[-1] * c_end + eliminated - delivered) / delivered < 1e-9
    for k in (1, 2):
        c = conc(ps.simulate(m, d, [starts[k] - 1e-10, starts[k]], population=sched, outputs="plasma_conc"))
        np.testing.assert_allclose(vs[k] * c[1], vs[k - 1] * c[0], rtol=1e-9)


@pytest.mark.parametrize("path", sorted(PATHS))
def test_a_change_to_the_same_values_gives_the_run_without_a_change(path):
    binding, saturable = PATHS[path]
    m = model(binding, saturable)
    d = ps.dose("C", 1000.0, 0.0, unit="nmol", route="oral") + ps.infusion("C", 80.0, 4.0, 6.0, unit="nmol")
    t = np.linspace(0.0, 30.0, 61)
    same = ParameterSchedule(times_h=[5.0, 7.5], values={"C.CL_L_per_h": [CL, CL, CL], "C.V_L": [V, V, V]})
    a, b = ps.simulate(m, d, t, population=same), ps.simulate(m, d, t)
    tol = 1e-6 if path == "ode" else 1e-12           # LSODA restarts at the change: its own tolerance
    for x, y in zip(a.series, b.series, strict=True):
        np.testing.assert_allclose(x.values, y.values, rtol=tol, atol=tol * max(np.abs(y.values).max(), 1e-300),
                                   err_msg=x.quantity)


def test_kinetic_binding_state_is_carried_with_no_jump_in_occupancy():
    """V doubles at t0: plasma concentration halves at once, the effect site and the (slow) occupancy do not
    jump; the streaming path agrees with the ODE reference on the whole run."""
    t0 = 3.0
    t = np.array([0.5, 1.0, 2.0, t0 - 1e-9, t0, t0 + 1e-9, 4.0, 8.0, 16.0])
    d = ps.dose("C", 2000.0, 0.0, unit="nmol", route="iv")
    sched = ParameterSchedule(times_h=[t0], values={"C.V_L": [V, 2 * V], "C.CL_L_per_h": [CL, 3 * CL]})
    fast = ps.simulate(model("kinetic", kon=0.01), d, t, population=sched)
    ref = ps.simulate(model("kinetic", saturable=True, kon=0.01), d, t, population=sched)
    occ, c = fast.get("occupancy", "C", "MOR")[0], conc(fast)
    assert occ[3] > 0.05                                          # a real occupancy, far from zero
    assert abs(occ[4] - occ[3]) < 1e-6 and abs(occ[5] - occ[3]) < 1e-6
    np.testing.assert_allclose(c[4], c[3] / 2, rtol=1e-6)
    ce = fast.get("effect_conc_unbound", "C")[0]
    assert abs(ce[4] - ce[3]) < 1e-6 * ce[3]
    np.testing.assert_allclose(occ, ref.get("occupancy", "C", "MOR")[0], rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(c, conc(ref), rtol=1e-6)


def test_tolerance_and_binding_states_are_carried_through_a_covariate_change():
    """A strong CYP3A4 inhibitor from 12 h (kratom, kinetic binding, tolerance): the desensitised fraction and
    occupancy are continuous at 12 h; the same population without a change is identical to 1e-12."""
    lib = None
    d = ps.Product("tea", 2.0).doses([0.0, 8.0], library=lib)
    m = ps.build_model(d, binding="kinetic", tolerance="gprotein", receptors=["MOR"], library=lib)
    t = np.array([1.0, 6.0, 12.0 - 1e-9, 12.0, 12.0 + 1e-9, 16.0, 24.0])
    pop = ps.Population(3, omega={"MG.CL_L_per_h": 0.3}, rng=2, library=lib,
                        schedule=[CovariateChange(12.0, cyp3a4_inhibitor="strong")])
    r = ps.simulate(m, d, t, population=pop)
    for q in ("desensitised", "occupancy"):
        for s in r.series:
            if s.quantity == q:
                v = s.values
                assert np.max(np.abs(v[:, 3] - v[:, 2])) < 1e-7 and np.max(np.abs(v[:, 4] - v[:, 2])) < 1e-7, q
    des = next(s.values for s in r.series if s.quantity == "desensitised")
    assert des[:, 2].min() > 1e-4                               # tolerance has built up: a state worth carrying
    mg = r.get("plasma_conc", "MG")
    base = ps.simulate(m, d, t, population=ps.Population(3, omega={"MG.CL_L_per_h": 0.3}, rng=2, library=lib))
    assert np.all(mg[:, -1] > base.get("plasma_conc", "MG")[:, -1])          # less CYP3A4: more MG
    np.testing.assert_array_equal(mg[:, :3], base.get("plasma_conc", "MG")[:, :3])
    same = pop.with_schedule([CovariateChange(12.0, cyp3a4_inhibitor="none")])
    r0 = ps.simulate(m, d, t, population=same)
    for a, b in zip(r0.series, base.series, strict=True):
        np.testing.assert_allclose(a.values, b.values, rtol=1e-12, atol=1e-14, err_msg=a.quantity)


def test_a_reset_and_a_steady_state_dose_keep_the_schedule_clock():
    """CL halves at 10 h; a reset at 20 h then a bolus: after it C = D/V e^{-k2 (t - 20)} (k2 still applies); a
    steady-state bolus at 48 h every 24 h takes the steady state of k2 (the period of its record)."""
    k2 = CL / 2 / V
    m = model()
    sched = ParameterSchedule(times_h=[10.0], values={"C.CL_L_per_h": [CL, CL / 2]})
    d = ps.dose("C", 1000.0, 0.0, unit="nmol", route="iv") + ps.Doses(
        time_h=[20.0], compound=("C",), route=("iv",), amount_nmol=[700.0], reset_h=[20.0])
    t = np.array([5.0, 19.0, 20.0, 30.0])
    c = conc(ps.simulate(m, d, t, population=sched))
    np.testing.assert_allclose(c[2:], 700.0 / V * np.exp(-k2 * (t[2:] - 20.0)), rtol=1e-12)
    ss = ps.dose("C", 1000.0, 48.0, unit="nmol", route="iv", ss=1, ii_h=24.0)
    t = np.array([48.0, 60.0, 71.0])
    c = conc(ps.simulate(m, ss, t, population=sched))
    np.testing.assert_allclose(c, 1000.0 / V * np.exp(-k2 * (t - 48.0)) / (1 - np.exp(-k2 * 24.0)), rtol=1e-12)


def test_doses_take_the_bioavailability_of_the_period_of_their_record():
    m = model()
    sched = ParameterSchedule(times_h=[24.0], values={"C.oral.F": [1.0, 0.5]})
    d = ps.dose("C", 1000.0, 0.0, unit="nmol", route="oral") + ps.dose("C", 1000.0, 24.0, unit="nmol",
                                                                       route="oral")
    t = np.array([10.0, 30.0, 60.0])
    both = conc(ps.simulate(m, d, t, population=sched))
    k = CL / V

    def oral(tt, D):
        tt = np.maximum(tt, 0.0)
        return D * KA / (V * (KA - k)) * (np.exp(-k * tt) - np.exp(-KA * tt))

    np.testing.assert_allclose(both, oral(t, 1000.0) + oral(t - 24.0, 500.0), rtol=1e-12)


def test_summaries_stream_the_same_numbers_with_a_schedule():
    m = model("kinetic")
    d = ps.dose("C", 1000.0, 0.0, unit="nmol", route="oral")
    t = np.linspace(0.0, 24.0, 25)
    pop = ps.Population(6, omega={"C.CL_L_per_h": 0.3}, iov={"C.CL_L_per_h": 0.2}, rng=4,
                        schedule=ParameterSchedule.from_changes(occasions_h=[8.0, 16.0]))
    full = ps.simulate(m, d, t, population=pop)
    summ = ps.simulate(m, d, t, population=pop, summaries=Summaries(quantiles=()), chunk_size=4)
    j = summ.series.index("plasma_conc/C/-/-")
    np.testing.assert_allclose(summ.mean[j], full.get("plasma_conc", "C").mean(axis=0), rtol=1e-12)


# ------------------------------------------------------------------------------------------------ IOV
def test_iov_zero_is_no_iov_and_iov_draws_come_after_the_others():
    m = model()
    d = ps.dose("C", 1000.0, 0.0, unit="nmol", route="oral")
    t = np.linspace(0.0, 48.0, 49)
    occ = ParameterSchedule.from_changes(occasions_h=[12.0, 24.0])
    plain = ps.Population(20, omega={"C.CL_L_per_h": 0.3}, rng=11)
    zero = ps.Population(20, omega={"C.CL_L_per_h": 0.3}, iov={"C.CL_L_per_h": 0.0}, schedule=occ, rng=11)
    some = ps.Population(20, omega={"C.CL_L_per_h": 0.3}, iov={"C.CL_L_per_h": 0.25}, schedule=occ, rng=11)
    np.testing.assert_array_equal(plain.eta["C.CL_L_per_h"], some.eta["C.CL_L_per_h"])
    a, b = ps.simulate(m, d, t, population=zero), ps.simulate(m, d, t, population=plain)
    np.testing.assert_allclose(conc_all(a), conc_all(b), rtol=1e-12, atol=0)
    assert np.max(np.abs(conc_all(ps.simulate(m, d, t, population=some)) - conc_all(b))) > 1e-3


def conc_all(res):
    return res.get("plasma_conc", "C")


def test_iov_is_reproducible_by_seed_and_differs_between_occasions():
    occ = ParameterSchedule.from_changes(occasions_h=[24.0, 48.0])
    kw = {"omega": {"C.CL_L_per_h": 0.3}, "iov": {"C.CL_L_per_h": 0.2}, "schedule": occ}
    p1, p2 = ps.Population(4000, rng=5, **kw), ps.Population(4000, rng=np.random.default_rng(5), **kw)
    p3 = ps.Population(4000, rng=6, **kw)
    np.testing.assert_array_equal(p1.kappa["C.CL_L_per_h"], p2.kappa["C.CL_L_per_h"])
    assert not np.array_equal(p1.kappa["C.CL_L_per_h"], p3.kappa["C.CL_L_per_h"])
    kappa = p1.kappa["C.CL_L_per_h"]                               # (3 occasions, N)
    assert kappa.shape == (3, 4000)
    assert np.all(np.abs(kappa.std(axis=1) / 0.2 - 1) < 0.05)       # SD of 4000 draws: about 1.1 % error
    assert np.all(np.abs(np.corrcoef(kappa)[np.triu_indices(3, 1)]) < 0.06)   # independent occasions
    pk = model().pk
    cl = [p1.parameters(pk, period=k)["C.CL_L_per_h"] for k in range(3)]
    np.testing.assert_allclose(cl[1] / cl[0], np.exp(kappa[1] - kappa[0]), rtol=1e-12)
    np.testing.assert_allclose(cl[0], CL * np.exp(p1.eta["C.CL_L_per_h"] + kappa[0]), rtol=1e-12)
    table = p1.schedule_table()
    assert list(table["occasion"][:3]) == [0, 1, 2] and len(table) == 3 * 4000


def test_iov_simulated_elimination_rate_changes_between_occasions():
    """One subject, IV bolus, occasions from 24 h: the log-slope of C is -CL_occasion/V in each occasion."""
    pop = ps.Population(1, iov={"C.CL_L_per_h": 0.4}, schedule=ParameterSchedule.from_changes(occasions_h=[24.0]),
                        rng=1)
    t = np.array([2.0, 20.0, 26.0, 44.0])
    c = conc(ps.simulate(model(), ps.dose("C", 1000.0, 0.0, unit="nmol", route="iv"), t, population=pop))
    k = np.array([np.log(c[0] / c[1]) / 18.0, np.log(c[2] / c[3]) / 18.0])
    np.testing.assert_allclose(k, CL * np.exp(pop.kappa["C.CL_L_per_h"][:, 0]) / V, rtol=1e-10)
    assert abs(k[0] - k[1]) > 1e-3


# ------------------------------------------------------------------------------------------------ event tables
def table(text):
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def test_event_table_values_hold_from_their_record_until_the_next():
    """LOCF: CL from its record's time on; at one TIME the last record's value; before the first record its
    first value. Individual 1 changes at 10 h (the change record sits between observations), 2 never."""
    txt = """ID,TIME,EVID,AMT,CMT,CLX
1,0,1,1000,2,1.1
1,5,0,0,2,1.1
1,10,0,0,2,9.9
1,10,0,0,2,0.55
1,20,0,0,2,0.55
1,30,0,0,2,0.55
2,2,1,1000,2,1.1
2,20,0,0,2,1.1
"""
    et = read_event_table(table(txt), CMT, amount_unit="nmol")
    out = et.simulate(model(), parameters={"C.CL_L_per_h": "CLX"}, conc_unit="nM").records["IPRED"]
    k1, k2 = CL / V, CL / 2 / V
    ref = [0.0, 1000 / V * np.exp(-k1 * 5), 1000 / V * np.exp(-k1 * 10), 1000 / V * np.exp(-k1 * 10),
           1000 / V * np.exp(-k1 * 10 - k2 * 10), 1000 / V * np.exp(-k1 * 10 - k2 * 20), 0.0,
           1000 / V * np.exp(-k1 * 18)]
    np.testing.assert_allclose(out.to_numpy(), ref, rtol=1e-12)


def test_event_table_covariate_and_occ_columns_equal_the_api_schedule():
    """A WT column changing at 24 h and an OCC column starting occasion 2 at 48 h give what the same changes
    through Population(schedule=...) give (to 1e-12)."""
    times = (6, 12, 24, 30, 48, 50, 70)
    d_rows = "\n".join(f"1,{t},0,0,2,{70 if t < 24 else 90},{1 if t < 48 else 2}" for t in times)
    txt = "ID,TIME,EVID,AMT,CMT,WT,OCC\n1,0,1,1000,2,70,1\n" + d_rows + "\n"
    et = read_event_table(table(txt), CMT, amount_unit="nmol")
    kw = {"omega": {"C.CL_L_per_h": 0.2}, "iov": {"C.CL_L_per_h": 0.3}, "rng": 9}
    pop = ps.Population(1, n_occasions=2, **kw)
    out = et.simulate(model(), population=pop, covariates={"body_weight_kg": "WT"}, occasions="OCC",
                      conc_unit="nM").records
    api = ps.Population(1, schedule=ParameterSchedule.from_changes(
        [CovariateChange(24.0, body_weight_kg=90.0)], occasions_h=[48.0]), **kw)
    t = np.array(times, dtype=float)
    ref = conc(ps.simulate(model(), ps.dose("C", 1000.0, 0.0, unit="nmol", route="iv"), t, population=api))
    np.testing.assert_allclose(out["IPRED"].to_numpy()[1:], ref, rtol=1e-12)
    # the weight matters (allometry) and so do the occasions
    flat = et.simulate(model(), population=pop, occasions="OCC", conc_unit="nM").records["IPRED"].to_numpy()[1:]
    assert np.max(np.abs(flat - ref) / ref) > 1e-3


@pytest.mark.parametrize("text,kw,match", [
    ("ID,TIME,EVID,AMT,CMT,OCC\n1,0,1,100,2,1\n1,5,0,0,2,1.5\n", {"occasions": "OCC"},
     r"column 'OCC', row 1: got '1\.5'; expected a whole number >= 1"),
    ("ID,TIME,EVID,AMT,CMT,OCC\n1,0,1,100,2,1\n1,5,0,0,2,3\n", {"occasions": "OCC"},
     r"column 'OCC', row 1: got 3\.0; expected at most n_occasions = 2"),
    ("ID,TIME,EVID,AMT,CMT,WT\n1,0,1,100,2,70\n1,5,0,0,2,7\n", {"covariates": {"body_weight_kg": "WT"}},
     r"column 'WT', row 1: got 7\.0 kg; expected an adult body weight"),
    ("ID,TIME,EVID,AMT,CMT,INH\n1,0,1,100,2,none\n1,5,0,0,2,strnog\n", {"covariates": {"cyp3a4_inhibitor": "INH"}},
     r"column 'INH', row 1: got 'strnog'; expected a CYP3A4 inhibitor level"),
    ("ID,TIME,EVID,AMT,CMT,WT\n1,0,1,100,2,70\n", {"covariates": {"body_wieght_kg": "WT"}},
     r"'body_wieght_kg', which is not a covariate \(did you mean 'body_weight_kg'\?\)"),
    ("ID,TIME,EVID,AMT,CMT,WT\n1,0,1,100,2,70\n", {"covariates": {"body_weight_kg": "W"}},
     r"column 'W', which the event table does not have"),
])
def test_bad_event_table_columns_name_column_row_and_value(text, kw, match):
    et = read_event_table(table(text), CMT, amount_unit="nmol")
    pop = ps.Population(1, iov={"C.CL_L_per_h": 0.2}, n_occasions=2, rng=1)
    with pytest.raises(PharmsimError, match=match):
        et.simulate(model(), population=pop, **kw)


def test_occ_without_iov_and_iov_without_occasions_are_refused():
    et = read_event_table(table("ID,TIME,EVID,AMT,CMT,OCC\n1,0,1,100,2,1\n1,5,0,0,2,2\n"), CMT, amount_unit="nmol")
    with pytest.raises(PharmsimError, match="only with inter-occasion variability"):
        et.simulate(model(), occasions="OCC")
    pop = ps.Population(1, iov={"C.CL_L_per_h": 0.2}, n_occasions=2, rng=1)
    with pytest.raises(PharmsimError, match="give occasions="):
        et.simulate(model(), population=pop)


# ------------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("make,match", [
    (lambda: ParameterSchedule(times_h=[-1.0], values={"C.V_L": [1, 2]}),
     r"times_h\[0\] = -1 h; expected change times > 0 h"),
    (lambda: ParameterSchedule(times_h=[5.0, 3.0], values={"C.V_L": [1, 2, 3]}),
     r"strictly increasing; times_h\[1\] = 3 h does not come after times_h\[0\] = 5 h"),
    (lambda: ParameterSchedule(times_h=[5.0], values={"C.V_L": [1, 2, 3]}),
     r"values\['C.V_L'\] has 3 entries; expected 2"),
    (lambda: ParameterSchedule(times_h=[5.0], covariates={"body_wieght_kg": [None, 80]}),
     r"'body_wieght_kg', which is not a covariate \(did you mean 'body_weight_kg'\?\)"),
    (lambda: ParameterSchedule(times_h=[5.0], covariates={"cyp3a4_inhibitor": [None, "stron"]}),
     r"period from 5 h: cyp3a4_inhibitor must be one of .* got 'stron' \(did you mean 'strong'\?\)"),
    (lambda: ParameterSchedule(times_h=[5.0], values={"C.V_L": [1.0, float("nan")]}),
     r"values\['C.V_L'\] \(period 1\) must be a finite number"),
    (lambda: ParameterSchedule(times_h=[5.0], occasion=[0, 1.5]), r"occasion\[1\] must be a whole number"),
    (lambda: CovariateChange(-2.0, body_weight_kg=80.0), r"time_h must be a time >= 0 h .* got -2 h"),
    (lambda: CovariateChange(4.0), r"changes nothing"),
    (lambda: CovariateChange(4.0, body_weight_kg=500.0), r"at 4 h: body_weight_kg must be an adult body weight"),
    (lambda: ParameterSchedule.from_changes([CovariateChange(9.0, cyp3a4_inhibitor="strong"),
                                             CovariateChange(3.0, cyp3a4_inhibitor="none")]),
     r"covariate_changes\[1\].time_h = 3 h does not come after covariate_changes\[0\].time_h = 9 h"),
    (lambda: ParameterSchedule.from_changes([{"time_h": 3.0, "cyp3a4": "strong"}]),
     r"covariate_changes\[0\] has an unknown key 'cyp3a4'"),
    (lambda: ParameterSchedule.from_changes(occasions_h=[0.0, 5.0]), r"occasions_h\[0\] = 0 h"),
    (lambda: ps.Population(2, iov={"C.CL_L_per_h": 0.2}), r"rng must be given"),
    (lambda: ps.Population(2, iov={"C.CL_L_per_h": -0.2}, rng=1), r"iov\['C.CL_L_per_h'\] must be a finite number"),
    (lambda: ps.Population(2, n_occasions=1, rng=1, schedule=ParameterSchedule.from_changes(occasions_h=[5.0])),
     r"refers to 2 occasions but n_occasions = 1"),
    (lambda: ps.Population(3, schedule=ParameterSchedule(times_h=[1.0], values={"C.V_L": [[1, 2], None]})),
     r"values for 2 subjects; the population has 3"),
])
def test_bad_schedules_are_refused_naming_the_parameter(make, match):
    with pytest.raises(PharmsimError, match=match):
        make()


def test_simulate_refuses_a_schedule_of_unknown_parameters_and_iov_names():
    d = ps.dose("C", 100.0, 0.0, unit="nmol", route="iv")
    with pytest.raises(PharmsimError, match=r"sets 'C.CL_L_per_hr'.*did you mean 'C.CL_L_per_h'"):
        ps.simulate(model(), d, [1.0, 2.0], population=ParameterSchedule(times_h=[1.0],
                                                                          values={"C.CL_L_per_hr": [1, 2]}))
    pop = ps.Population(2, iov={"C.CL_L_per": 0.1}, rng=1)
    with pytest.raises(PharmsimError, match=r"varies \['C.CL_L_per'\]"):
        ps.simulate(model(), d, [1.0, 2.0], population=pop)


def test_schedule_transforms():
    s = ParameterSchedule(times_h=[5.0, 10.0], values={"C.V_L": [1.0, None, [3.0, 4.0]]}, occasion=[0, 1, 1])
    assert s.n == 2 and s.n_periods == 3 and s.n_occasions == 2
    np.testing.assert_array_equal(s.values_at(1, np.arange(2))["C.V_L"], [1.0, 1.0])   # None: carried forward
    sh = s.shifted(-7.0)
    np.testing.assert_array_equal(sh.times_h, [3.0])
    np.testing.assert_array_equal(sh.values_at(0, np.arange(2))["C.V_L"], [1.0, 1.0])
    assert list(sh.occasion[:, 0]) == [1, 1]
    assert s.shifted(4.0).times_h.tolist() == [9.0, 14.0]
    assert s.take([1]).values_at(2, np.arange(1))["C.V_L"].tolist() == [4.0]
    m = s.merged(ParameterSchedule(times_h=[7.0], values={"C.CL_L_per_h": [1.0, 2.0]}))
    assert m.times_h.tolist() == [5.0, 7.0, 10.0]
    assert m.values_at(2, np.arange(2))["C.CL_L_per_h"].tolist() == [2.0, 2.0]
    assert m.values_at(2, np.arange(2))["C.V_L"].tolist() == [1.0, 1.0]
    assert list(s.table()["period"]) == [0, 1, 2]
    assert s.period_at([0.0, 4.99, 5.0, 11.0]).tolist() == [0, 0, 1, 2]


# ------------------------------------------------------------------------------------------------ study, scenario
SCENARIO = """
name = "inhibitor"
[time]
end_h = 192
step_h = 2
[population]
n = 4
seed = 1
omega = {{ "MG.CL_L_per_h" = 0.3 }}
omega_sources = {{ "MG.CL_L_per_h" = "test" }}
occasions_h = [96]
{changes}
[population.iov]
"MG.CL_L_per_h" = 0.2
[population.iov_sources]
"MG.CL_L_per_h" = "assumption (test)"
[model]
binding = "equilibrium"
receptors = ["MOR"]
[[arm]]
name = "inhibitor"
[[arm.dose]]
what = "MG"
amount_mg = 10
route = "capsule"
start_h = 0
interval_h = 24
n_doses = 8
[[arm]]
name = "control"
covariate_changes = []
[[arm.dose]]
what = "MG"
amount_mg = 10
route = "capsule"
start_h = 0
interval_h = 24
n_doses = 8
"""
CHANGE = '[[population.covariate_changes]]\ntime_h = {t}\ncyp3a4_inhibitor = "{level}"\n'


def test_scenario_covariate_changes_and_iov_run_like_the_api():
    study = sc.loads(SCENARIO.format(changes=CHANGE.format(t=96, level="strong")))
    assert study.population.covariate_changes[0].time_h == 96.0 and study.arms[1].covariate_changes == ()
    assert study.check()["paths"] == {"inhibitor": "exact-at-outputs", "control": "exact-at-outputs"}
    res = ps.run_study(study)
    mg = {a: r.get("plasma_conc", "MG") for a, r in res.results.items()}
    t = study.t_h
    before, after = t < 96, t > 120
    np.testing.assert_array_equal(mg["inhibitor"][:, before], mg["control"][:, before])
    assert np.all(mg["inhibitor"][:, after] > mg["control"][:, after])
    assert any("from 96 h cyp3a4_inhibitor = strong" in n for n in res.notes)
    assert any("inter-occasion variability" in n for n in res.notes)
    # the same through the API
    pop = res.populations["inhibitor"]
    api = ps.Population(4, omega={"MG.CL_L_per_h": 0.3}, iov={"MG.CL_L_per_h": 0.2}, rng=1,
                        schedule=ParameterSchedule.from_changes([CovariateChange(96, cyp3a4_inhibitor="strong")],
                                                                occasions_h=[96]))
    np.testing.assert_array_equal(pop.kappa["MG.CL_L_per_h"], api.kappa["MG.CL_L_per_h"])
    direct = ps.simulate(res.models["inhibitor"], study.arms[0].doses, t, population=api)
    np.testing.assert_allclose(direct.get("plasma_conc", "MG"), mg["inhibitor"], rtol=1e-12)


@pytest.mark.parametrize("changes,match", [
    (CHANGE.format(t=-5, level="strong"), r"population.covariate_changes\[0\].time_h must be a time > 0 h"),
    (CHANGE.format(t=96, level="strong") + CHANGE.format(t=48, level="none"),
     r"covariate_changes\[1\].time_h = 48 h must come after the previous change \(96 h\)"),
    (CHANGE.format(t=400, level="strong"), r"time_h = 400 h is after the end of the simulation"),
    (CHANGE.format(t=96, level="strnog"), r"cyp3a4_inhibitor must be one of .*did you mean 'strong'"),
    ("[[population.covariate_changes]]\ntime_h = 96\ncyp3a4_inhibtor = \"strong\"\n",
     r"covariate_changes\[0\].cyp3a4_inhibtor is not a valid key.*did you mean 'cyp3a4_inhibitor'"),
    ("[[population.covariate_changes]]\ntime_h = 96\n", r"covariate_changes\[0\] changes nothing"),
])
def test_bad_scenario_changes_name_the_key(changes, match):
    with pytest.raises(PharmsimError, match=match):
        sc.loads(SCENARIO.format(changes=changes))


def test_scenario_iov_needs_a_source_and_occasions_are_checked():
    text = SCENARIO.format(changes="").replace('[population.iov_sources]\n"MG.CL_L_per_h" = "assumption (test)"\n',
                                               "")
    with pytest.raises(PharmsimError, match=r"population.iov.MG.CL_L_per_h = 0.2 has no source"):
        sc.loads(text)
    with pytest.raises(PharmsimError, match=r"occasions_h\[1\] = 50 h must come after"):
        sc.loads(SCENARIO.format(changes="").replace("occasions_h = [96]", "occasions_h = [96, 50]"))
    with pytest.raises(PharmsimError, match=r"not a PK parameter.*did you mean 'MG.CL_L_per_h'"):
        sc.loads(SCENARIO.format(changes="").replace('"MG.CL_L_per_h" = 0.2', '"MG.CL_L_perh" = 0.2'))


def test_shipped_inhibitor_day5_scenario_checks_and_runs():
    study = sc.load("cyp3a4_inhibitor_day5")
    assert study.check()["paths"]
    res = ps.run_study(study)
    t = study.t_h
    mg = {a: r.get("plasma_conc", "MG") for a, r in res.results.items()}
    np.testing.assert_array_equal(mg["inhibitor from day 5"][:, t <= 96], mg["no inhibitor"][:, t <= 96])
    assert np.median(mg["inhibitor from day 5"][:, -1]) > 1.5 * np.median(mg["no inhibitor"][:, -1])


# ------------------------------------------------------------------------------------------------ property
def _two_cmt():
    c = ps.CompoundPK("C", 300.0, 2, (ps.Route("oral"),), effect_site=True)
    p = {"C.CL_L_per_h": CL, "C.V_L": V, "C.Q_L_per_h": 2.0, "C.Vp_L": 40.0, "C.fu": 1.0, "C.ke0_per_h": 2.0,
         "C.oral.ka_per_h": KA, "C.oral.F": 1.0, "C.oral.tlag_h": 0.0}
    lig = Ligand("C", K_nM=10.0, efficacy=1.0, receptor="MOR")
    return ps.compose(ps.PKModel((c,), (), p), [lig], [Endpoint("e", "MOR")], binding="equilibrium")


@given(st.lists(st.tuples(st.floats(0.5, 30.0), st.floats(0.2, 5.0), st.floats(5.0, 60.0), st.floats(0.1, 8.0)),
                min_size=1, max_size=3, unique_by=lambda x: round(x[0], 3)))
@settings(max_examples=25, deadline=None)
def test_piecewise_two_compartment_matches_an_independent_ode(changes):
    """Random changes of CL, V and Q (2-compartment, oral dose at 0 and infusion 4-9 h) against scipy's Radau on
    the piecewise right-hand side (rtol 1e-11): agreement to 1e-7 relative."""
    from scipy.integrate import solve_ivp

    changes = sorted(changes)
    times = [c[0] for c in changes]
    cl, v, q = ([first] + [c[i] for c in changes] for i, first in ((1, CL), (2, V), (3, 2.0)))
    sched = ParameterSchedule(times_h=times, values={"C.CL_L_per_h": cl, "C.V_L": v, "C.Q_L_per_h": q})
    d = ps.dose("C", 1000.0, 0.0, unit="nmol", route="oral") + ps.infusion("C", 60.0, 4.0, 5.0, unit="nmol")
    t = np.linspace(0.0, 36.0, 73)
    m = _two_cmt()
    got = ps.simulate(m, d, t, population=sched, outputs="plasma_conc").get("plasma_conc", "C")[0]
    starts = np.array([0.0] + times)

    def rhs(tt, y, k):
        ad, ac, ap = y
        r = 60.0 if 4.0 <= tt < 9.0 else 0.0
        out = q[k] / v[k] * ac - q[k] / 40.0 * ap
        return [-KA * ad, KA * ad - cl[k] / v[k] * ac - out + r, out]

    edges = np.unique(np.concatenate([starts, [4.0, 9.0, 36.0]]))
    y, ref = np.array([1000.0, 0.0, 0.0]), np.empty_like(t)
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        k = int(np.searchsorted(starts, a, side="right")) - 1
        sel = (t >= a) & (t < b) if b < 36.0 else (t >= a)
        if not sel.any():
            y = solve_ivp(rhs, (a, b), y, method="Radau", rtol=1e-11, atol=1e-12, args=(k,)).y[:, -1]
            continue
        sol = solve_ivp(rhs, (a, b), y, method="Radau", rtol=1e-11, atol=1e-12, t_eval=t[sel], args=(k,),
                        dense_output=False)
        ref[sel] = sol.y[1] / v[k]
        y = solve_ivp(rhs, (a, b), y, method="Radau", rtol=1e-11, atol=1e-12, args=(k,)).y[:, -1]
    np.testing.assert_allclose(got, ref, rtol=1e-7, atol=1e-9)
