"""Reliability: no silent wrong numbers at the edges of the time axis (issue 14, items 1).

Closed forms for a one-compartment i.v. model run through the public API with kinetic binding (the
default, which puts Radau stages inside every step): the amount delivered by an infusion of any duration
down to 0, and the values at output times that straddle a dose, however close they are.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pharmsim as ps

CL, V, KE0, FU = 12.0, 40.0, 2.0, 0.5          # L/h, L, 1/h, fraction
K = CL / V


@pytest.fixture(scope="module")
def lib():
    return ps.load_library()


@pytest.fixture(scope="module")
def pk_model(lib):
    mw = lib.compound("morphine").molar_mass_g_per_mol
    comp = ps.CompoundPK("morphine", mw, 1, routes=(), effect_site=True)
    return ps.PKModel((comp,), (), {"morphine.CL_L_per_h": CL, "morphine.V_L": V, "morphine.fu": FU,
                                    "morphine.ke0_per_h": KE0})


def run(lib, pk_model, doses, t_h):
    model = ps.build_model(doses, pk_model=pk_model, receptors=("MOR",), binding="kinetic", library=lib)
    res = ps.simulate(model, doses, t_h)
    return res.get("plasma_conc", "morphine")[0], res.get("occupancy", "morphine", "MOR")[0]


def infusion_conc_nM(t_h, amount_nmol, start_h, duration_h):
    """One-compartment i.v. infusion (or bolus when duration_h = 0), closed form (nM)."""
    t = np.asarray(t_h, dtype=float)
    if duration_h == 0:
        return np.where(t >= start_h, amount_nmol / V * np.exp(-K * (t - start_h)), 0.0)
    rate = amount_nmol / duration_h
    during = rate / CL * -np.expm1(-K * np.clip(t - start_h, 0.0, duration_h))
    after = during * np.exp(-K * np.clip(t - start_h - duration_h, 0.0, None))
    return np.where(t < start_h, 0.0, after)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(log_duration=st.floats(min_value=-13.0, max_value=0.7), start_h=st.floats(min_value=0.0, max_value=30.0))
def test_infusion_delivers_its_dose_for_any_duration(lib, pk_model, log_duration, start_h):
    """An infusion of 1e-13 h to 5 h delivers its whole amount: concentrations after it match the closed form.

    Before the fix the step-matrix cache keyed steps by an absolute rounding to 1e-12 h, so the Radau
    sub-steps of a very short infusion shared one key and about half of the dose was lost.
    """
    duration = 10.0**log_duration
    if start_h + duration == start_h:
        return  # not representable at this start time: refused with a clear error (next test)
    amount_mg = 5.0
    doses = ps.dose("morphine", amount_mg, start_h, route="iv", duration_h=duration, library=lib)
    amount_nmol = float(doses.amount_nmol[0])
    end = start_h + duration
    t = np.unique(np.array([start_h / 2, start_h, end, end + 0.5, end + 3.0, end + 12.0]))
    t = t[t > 0] if start_h > 0 else t
    conc, _ = run(lib, pk_model, doses, t)
    expected = infusion_conc_nM(t, amount_nmol, start_h, end - start_h)
    np.testing.assert_allclose(conc, expected, rtol=1e-9, atol=1e-12 * amount_nmol / V)


def test_bolus_is_the_limit_of_short_infusions(lib, pk_model):
    t = np.array([1.0, 2.0, 5.0, 10.0])
    bolus, _ = run(lib, pk_model, ps.dose("morphine", 5.0, 0.5, route="iv", library=lib), t)
    for d in (1e-6, 1e-9, 1e-12):
        inf, _ = run(lib, pk_model, ps.dose("morphine", 5.0, 0.5, route="iv", duration_h=d, library=lib), t)
        np.testing.assert_allclose(inf, bolus, rtol=2 * K * d + 1e-12)


def test_unrepresentable_infusion_is_refused_by_name(lib):
    with pytest.raises(ps.PharmsimError, match=r"duration_h = 1e-15 h .* time_h = 100.0 h .*bolus"):
        ps.dose("morphine", 5.0, 100.0, route="iv", duration_h=1e-15, library=lib)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(log_gap=st.floats(min_value=-12.0, max_value=-1.0), dose_h=st.floats(min_value=1.0, max_value=48.0))
def test_outputs_straddling_a_dose_read_before_and_after(lib, pk_model, log_gap, dose_h):
    """Outputs at T - gap, T and T + gap around a bolus at T read the pre-dose, post-dose and later values.

    Before the fix output times within 1e-9 h of a node were snapped onto it, so T - gap read the post-dose
    value, and a gap of about 1e-9 h raised an internal error.
    """
    gap = 10.0**log_gap
    if dose_h - gap == dose_h:
        return
    doses = (ps.dose("morphine", 5.0, 0.0, route="iv", library=lib)
             + ps.dose("morphine", 5.0, dose_h, route="iv", library=lib))
    a = float(doses.amount_nmol[0])
    t = np.array([dose_h - gap, dose_h, dose_h + gap])
    conc, occ = run(lib, pk_model, doses, t)
    expected = infusion_conc_nM(t, a, 0.0, 0.0) + infusion_conc_nM(t, a, dose_h, 0.0)
    np.testing.assert_allclose(conc, expected, rtol=1e-9)
    if gap <= 1e-6:                                               # the jump of the dose, not before it
        assert conc[1] - conc[0] == pytest.approx(a / V, rel=1e-5)
    # binding is continuous across the dose (the effect site does not jump): |dB/dt| < 1000 /h here
    assert abs(occ[1] - occ[0]) <= 1e3 * gap + 1e-12
