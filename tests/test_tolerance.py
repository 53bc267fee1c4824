"""Tests of pharmsim.tolerance: closed forms, recovery, withdrawal sign, the three named mechanisms (their
normalised stimuli, their calibration on morphine, how they differ for partial agonists), the EC50 and
fixed-criterion shifts, the data file, and bad input."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pharmsim.catalog import catalog
from pharmsim.library import load_library
from pharmsim.tolerance import (
    MECHANISMS,
    ToleranceParams,
    counter_adaptation,
    criterion_shift,
    desensitisation,
    desensitising_stimulus,
    ec50_fold_shift,
    simulate_tolerance,
    steady_state_desensitisation,
)
from pharmsim.validate import PharmsimError

DATA = Path(__file__).resolve().parents[1] / "data" / "tolerance.csv"
LIB = load_library()
CAT = catalog(LIB)

# full agonist ~ morphine (tau 30 at the endpoint; Borgland 2003 internalisation efficacy 0.07) and partial
# agonist ~ 7-OH-MG (tau 1; no beta-arrestin recruitment, Kruegel 2016)
TAU_FULL, EPS_FULL = 30.0, 0.07
TAU_PART, EPS_PART = 1.0, 0.0


def params(mechanism, **kw):
    base = dict(k_des_per_h=0.05, k_rec_per_h=0.00675, k_adapt_per_h=0.0267, adapt_gain=0.5, mechanism=mechanism)
    base.update(kw)
    return ToleranceParams(**base)


def test_constant_stimulus_closed_form():
    t = np.linspace(0, 200, 801)
    S, k_des, k_rec = 0.3, 0.2, 0.01
    D = desensitisation(t, np.full(t.size, S), k_des, k_rec)[0]
    d_ss = steady_state_desensitisation(S, k_des, k_rec)
    assert d_ss == pytest.approx(k_des * S / (k_des * S + k_rec), rel=1e-15)
    np.testing.assert_allclose(D, d_ss * (1 - np.exp(-(k_des * S + k_rec) * t)), rtol=1e-12, atol=1e-15)


def test_counter_adaptation_closed_form():
    t = np.linspace(0, 100, 401)
    W = counter_adaptation(t, np.full(t.size, 0.8), 0.05, 0.5)[0]
    np.testing.assert_allclose(W, 0.4 * (1 - np.exp(-0.05 * t)), rtol=1e-12, atol=1e-15)


def test_recovery_when_stimulus_stops():
    t = np.linspace(0, 400, 1601)
    S = np.where(t < 100, 0.5, 0.0)
    S[t == 100] = 0.0
    k_des, k_rec = 0.3, 0.01
    D = desensitisation(t, S, k_des, k_rec)[0]
    i = np.searchsorted(t, 100.0)
    j = i + 1
    np.testing.assert_allclose(D[j:], D[j] * np.exp(-k_rec * (t[j:] - t[j])), rtol=1e-12)
    assert D[i] > 0.9 and D[-1] < 0.05 * D[i]


def _pulses(t, peak, period=6.0, n=28, k_in=3.0, k_out=1.0):
    """Occupancy pulse train (one dose every ``period`` h), peak occupancy ``peak``."""
    shape = np.zeros_like(t)
    for d in range(n):
        s = np.clip(t - d * period, 0, None)
        shape += np.exp(-k_out * s) - np.exp(-k_in * s)
    return peak * shape / shape.max()


def _equal_analgesia_occupancies(t, target_E=0.4):
    """Occupancy time courses of a full and a partial agonist with the same naive response E = S/(1+S)."""
    S = target_E / (1 - target_E) * _pulses(t, 1.0)
    occ = np.zeros((2, t.size, 2))                              # subjects: full, partial; ligands: full, partial
    occ[0, :, 0] = S / TAU_FULL
    occ[1, :, 1] = S / TAU_PART
    assert occ.max() <= 1
    return occ


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_equal_analgesia_desensitisation_depends_on_the_named_mechanism(mechanism):
    """gprotein: equal analgesia means equal desensitisation; arrestin: the non-recruiting partial agonist
    desensitises nothing; both: in between."""
    t = np.linspace(0, 168, 673)
    occ = _equal_analgesia_occupancies(t)
    p = params(mechanism, s_ref_arrestin=EPS_FULL / TAU_FULL)     # arrestin stimulus per unit of S_G for the full
    res = simulate_tolerance(t, occ, [TAU_FULL, TAU_PART], p, arrestin_efficacy=[EPS_FULL, EPS_PART])
    np.testing.assert_allclose(res.response_naive[0], res.response_naive[1], rtol=1e-12)   # equal analgesia
    D_full, D_part = res.desensitised[:, -1]
    assert D_full > 0.1
    if mechanism == "gprotein":
        np.testing.assert_allclose(res.desensitised[0], res.desensitised[1], rtol=1e-12)
    elif mechanism == "arrestin":
        assert D_part == 0.0
    else:
        assert 0.0 < D_part < D_full
    loss = (res.response_naive - res.response).sum(axis=1) / res.response_naive.sum(axis=1)
    assert (loss[0] > loss[1]) == (mechanism != "gprotein")


def test_normalised_stimuli_agree_at_the_reference_state():
    p = params("both", s_ref_gprotein=0.32, s_ref_arrestin=0.0016)
    for mech in MECHANISMS:
        q = params(mech, s_ref_gprotein=0.32, s_ref_arrestin=0.0016)
        assert desensitising_stimulus(q, 0.32, 0.0016) == pytest.approx(1.0, rel=1e-12)
    assert desensitising_stimulus(p, 0.64, 0.0) == pytest.approx(1.0, rel=1e-12)     # (2 + 0)/2
    assert desensitising_stimulus(p, 0.0, 0.0032) == pytest.approx(1.0, rel=1e-12)


def test_withdrawal_after_dosing_stops():
    t = np.linspace(0, 240, 961)
    occ = np.zeros((1, t.size, 1))
    occ[0, :, 0] = np.where(t < 120, _pulses(t, 0.6, n=20), 0.0)
    res = simulate_tolerance(t, occ, [TAU_FULL], params("gprotein"))
    during = (t > 60) & (t < 118)
    after = (t > 126) & (t < 150)
    assert res.net[0, during].mean() > 0
    assert np.all(res.net[0, after] < 0)
    assert np.all(res.withdrawal[0, after] > 0)
    assert res.withdrawal[0, -1] < res.withdrawal[0, after].max()
    assert np.all(res.withdrawal[0, t < 6] == 0)


def test_efficacy_separates_the_desensitising_stimulus_from_the_endpoint_gain():
    """The receptor-level stimulus uses the efficacy, not the endpoint tau: two endpoints of the same receptor
    (gains 1 and 3) desensitise identically."""
    t = np.linspace(0, 100, 401)
    occ = np.full((1, t.size, 1), 0.2)
    p = params("gprotein")
    a = simulate_tolerance(t, occ, [2.0], p, efficacy=[2.0])
    b = simulate_tolerance(t, occ, [6.0], p, efficacy=[2.0])
    np.testing.assert_allclose(a.desensitised, b.desensitised, rtol=1e-14)
    assert not np.allclose(a.response, b.response)


# ------------------------------------------------------------------------------- closed-form shifts
@settings(max_examples=200, deadline=None)
@given(tau=st.floats(0.01, 1e4), d=st.floats(0.0, 0.99))
def test_ec50_fold_shift_is_the_operational_model(tau, d):
    """EC50 = K/(1 + tau) before and K/(1 + tau (1 - D)) after: the ratio, >= 1, < 1/(1 - D)."""
    s = ec50_fold_shift(tau, d)
    assert s == pytest.approx((1 + tau) / (1 + tau * (1 - d)), rel=1e-12)
    assert 1.0 - 1e-12 <= s <= 1.0 / (1.0 - d) + 1e-9


@settings(max_examples=200, deadline=None)
@given(tau=st.floats(2.5, 1e3), ratio=st.floats(1.1, 50.0), d=st.floats(0.05, 0.6))
def test_lower_efficacy_agonists_shift_more_at_a_fixed_criterion(tau, ratio, d):
    """At a fixed effect level (the in-vivo 'ED50' of quantal tests) the same receptor loss shifts a
    lower-efficacy agonist more (or makes it fail): the pattern of the cross-tolerance literature."""
    hi, lo = criterion_shift(tau * ratio, d, 0.5), criterion_shift(tau, d, 0.5)
    assert lo >= hi * (1 - 1e-9)
    assert hi >= 1.0 - 1e-12


def test_criterion_shift_closed_form_and_failure():
    # tau 3, D 0.5: C* = K e/(tau - e (1 + tau)); before 3 - 2 = 1, after 1.5 - 1.25 = 0.25 -> shift 4
    assert criterion_shift(3.0, 0.5, 0.5) == pytest.approx(4.0, rel=1e-12)
    assert np.isinf(criterion_shift(3.0, 0.7, 0.5))          # tau' = 0.9 < 1: the criterion is out of reach


# ------------------------------------------------------------------------------- calibration from the data
@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_calibration_at_the_reference_state_reproduces_ekblom_half_life(mechanism):
    """Morphine held at its C50 (Dahan 2004): the normalised stimulus is 1 and D reaches half its steady state in
    26 h (Ekblom 1993) under every mechanism - the calibration (in-sample by construction)."""
    p = CAT.tolerance(mechanism)
    mor = CAT.ligand("morphine", "MOR", kinetic=False)
    c_u = LIB.value("tolerance_reference_conc", "morphine", "MOR", "nM") * LIB.value("fu", "morphine", "PK",
                                                                                      "fraction")
    B = c_u / (mor.K_nM + c_u)
    S = desensitising_stimulus(p, mor.efficacy * B, mor.arrestin_efficacy * B)
    assert S == pytest.approx(1.0, rel=1e-12)
    t_half = LIB.value("t_half_development", "-", "MOR", "h")
    t = np.linspace(0, 4 * t_half, 801)
    D = desensitisation(t, np.full(t.size, S), p.k_des_per_h, p.k_rec_per_h)[0]
    d_ss = steady_state_desensitisation(S, p.k_des_per_h, p.k_rec_per_h)
    assert np.interp(t_half, t, D) == pytest.approx(d_ss / 2, rel=1e-9)
    assert p.receptors == ("MOR",) and p.mechanism == mechanism and mechanism in p.label


def test_calibrated_params_come_from_the_data_file():
    d = pd.read_csv(DATA).set_index(["compound", "quantity"])["value"]
    p = CAT.tolerance("gprotein")
    assert p.k_rec_per_h == d[("-", "k_rec")]
    assert p.k_adapt_per_h == d[("-", "k_adapt")]
    assert p.adapt_gain == d[("-", "adapt_gain")]
    assert p.k_des_per_h + p.k_rec_per_h == pytest.approx(np.log(2) / d[("-", "t_half_development")], rel=1e-12)
    assert ("-", "k_des") not in d.index                      # derived in the catalogue, not a free number
    eps = pd.read_csv(DATA).query("quantity == 'internalisation_efficacy'").set_index("compound")["value"]
    assert eps["morphine"] == EPS_FULL and eps["7-OH-MG"] == EPS_PART and eps["DAMGO"] == 1
    assert eps["buprenorphine"] == 0                          # Grinnell 2016: no beta-arrestin-2 recruitment


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: desensitisation([0, 1, 2], [0.1, -0.1, 0.1], 0.1, 0.1), "stimulus"),
        (lambda: desensitisation([0, 1, 2], [0.1, 0.1], 0.1, 0.1), "shape"),
        (lambda: desensitisation([0, 2, 1], [0.1, 0.1, 0.1], 0.1, 0.1), "strictly increasing"),
        (lambda: desensitisation([0, 1, 2], [0.1, 0.1, 0.1], -0.1, 0.1), "k_des_per_h"),
        (lambda: ToleranceParams(0.1, 0.1, 0.1, 1.5, "gprotein"), "adapt_gain"),
        (lambda: ToleranceParams(0.1, 0.1, 0.1, 0.5), "needs a named mechanism"),
        (lambda: ToleranceParams(0.1, 0.1, 0.1, 0.5, mechanism="arrestine"), "did you mean 'arrestin'"),
        (lambda: ToleranceParams(0.1, 0.1, 0.1, 0.5, "both", s_ref_arrestin=0.0), "s_ref_arrestin"),
        (lambda: CAT.tolerance("G-protein"), "mechanism must be one of"),
        (lambda: simulate_tolerance([0, 1], np.full((2, 1), 0.5), [1.0], params("arrestin")), "arrestin_efficacy"),
        (lambda: simulate_tolerance([0, 1], np.full((2, 1), 0.5), [1.0], None), "named mechanism"),
        (lambda: simulate_tolerance([0, 1], np.full((2, 2), 0.5), [1.0], params("arrestin"),
                                    arrestin_efficacy=[0, 0]), "tau"),
        (lambda: steady_state_desensitisation(0.0, 0.1, 0.0), "steady state"),
        (lambda: ec50_fold_shift(10.0, 1.0), "desensitised"),
        (lambda: criterion_shift(0.5, 0.1), "cannot reach the criterion"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(PharmsimError, match=match):
        call()
