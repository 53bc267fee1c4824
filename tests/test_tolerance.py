"""Tests of pharmsim.tolerance: closed forms, recovery, withdrawal sign, the partial-vs-full agonist
comparison at equal analgesia (and its dependence on the mechanism), the data file, and bad input."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pharmsim.tolerance import (
    DEFAULTS,
    ToleranceParams,
    counter_adaptation,
    desensitisation,
    simulate_tolerance,
    steady_state_desensitisation,
)
from pharmsim.validate import PharmsimError

DATA = Path(__file__).resolve().parents[1] / "data" / "tolerance.csv"

# full agonist ~ morphine in W1 (tau 30; Borgland 2003 internalisation efficacy 0.07) and partial agonist
# ~ 7-OH-MG (tau 1; no beta-arrestin recruitment, Kruegel 2016)
TAU_FULL, EPS_FULL = 30.0, 0.07
TAU_PART, EPS_PART = 1.0, 0.0


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
    # after the stimulus ends D decays at the recovery rate (closed form from t = 100.25 h on)
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
    S = target_E / (1 - target_E) * _pulses(t, 1.0)           # same naive stimulus time course
    B_full = S / TAU_FULL
    B_part = S / TAU_PART
    assert B_part.max() <= 1
    occ = np.zeros((2, t.size, 2))                              # subjects: full, partial; ligands: full, partial
    occ[0, :, 0] = B_full
    occ[1, :, 1] = B_part
    return occ


def test_partial_agonist_desensitises_less_at_equal_analgesia():
    t = np.linspace(0, 168, 673)
    occ = _equal_analgesia_occupancies(t)
    res = simulate_tolerance(t, occ, [TAU_FULL, TAU_PART], DEFAULTS, arrestin_efficacy=[EPS_FULL, EPS_PART])
    np.testing.assert_allclose(res.response_naive[0], res.response_naive[1], rtol=1e-12)   # equal analgesia
    assert res.desensitised[0, -1] > 0.01 and res.desensitised[1, -1] == 0.0
    # response lost per unit of (naive) analgesia over the week of repeated dosing
    loss = (res.response_naive - res.response).sum(axis=1) / res.response_naive.sum(axis=1)
    assert loss[0] > loss[1]
    # and the last dose's peak is lower, relative to the first dose's, for the full agonist
    first, last = t < 6, t >= 162
    ratio = res.response[:, last].max(axis=1) / res.response[:, first].max(axis=1)
    assert ratio[0] < ratio[1]


def test_gprotein_mechanism_gives_equal_desensitisation_at_equal_analgesia():
    # the documented caveat: with the G-protein stimulus, equal analgesia means equal desensitisation
    t = np.linspace(0, 168, 673)
    occ = _equal_analgesia_occupancies(t)
    params = ToleranceParams(k_des_per_h=0.05, k_rec_per_h=DEFAULTS.k_rec_per_h,
                             k_adapt_per_h=DEFAULTS.k_adapt_per_h, adapt_gain=0.5, mechanism="gprotein")
    res = simulate_tolerance(t, occ, [TAU_FULL, TAU_PART], params)
    np.testing.assert_allclose(res.desensitised[0], res.desensitised[1], rtol=1e-12)
    assert res.desensitised[0, -1] > 0.1


def test_withdrawal_after_dosing_stops():
    t = np.linspace(0, 240, 961)
    occ = np.zeros((1, t.size, 1))
    occ[0, :, 0] = np.where(t < 120, _pulses(t, 0.6, n=20), 0.0)
    res = simulate_tolerance(t, occ, [TAU_FULL], DEFAULTS, arrestin_efficacy=[EPS_FULL])
    during = (t > 60) & (t < 118)
    after = (t > 126) & (t < 150)
    assert res.net[0, during].mean() > 0                         # the drug still helps while taken
    assert np.all(res.net[0, after] < 0)                         # net signal negative once it stops
    assert np.all(res.withdrawal[0, after] > 0)
    assert res.withdrawal[0, -1] < res.withdrawal[0, after].max()  # and fades
    assert np.all(res.withdrawal[0, t < 6] == 0)


def test_defaults_match_data_file():
    d = pd.read_csv(DATA)
    rows = d[d.compound == "-"].set_index("quantity")["value"]
    assert rows["k_des"] == DEFAULTS.k_des_per_h
    assert rows["k_rec"] == DEFAULTS.k_rec_per_h
    assert rows["k_adapt"] == DEFAULTS.k_adapt_per_h
    assert rows["adapt_gain"] == DEFAULTS.adapt_gain
    assert set(d.status) <= {"seen", "check", "derived", "assumption"}
    assert (d.loc[d.status == "assumption", "source"] == "assumption").all()
    eps = d[d.quantity == "internalisation_efficacy"].set_index("compound")["value"]
    assert eps["morphine"] == EPS_FULL and eps["7-OH-MG"] == EPS_PART and eps["DAMGO"] == 1


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: desensitisation([0, 1, 2], [0.1, -0.1, 0.1], 0.1, 0.1), "stimulus"),
        (lambda: desensitisation([0, 1, 2], [0.1, 0.1], 0.1, 0.1), "shape"),
        (lambda: desensitisation([0, 2, 1], [0.1, 0.1, 0.1], 0.1, 0.1), "strictly increasing"),
        (lambda: desensitisation([0, 1, 2], [0.1, 0.1, 0.1], -0.1, 0.1), "k_des_per_h"),
        (lambda: ToleranceParams(0.1, 0.1, 0.1, 1.5), "adapt_gain"),
        (lambda: ToleranceParams(0.1, 0.1, 0.1, 0.5, mechanism="arrestine"), "did you mean 'arrestin'"),
        (lambda: simulate_tolerance([0, 1], np.full((2, 1), 0.5), [1.0]), "arrestin_efficacy"),
        (lambda: simulate_tolerance([0, 1], np.full((2, 2), 0.5), [1.0], arrestin_efficacy=[0, 0]), "tau"),
        (lambda: steady_state_desensitisation(0.0, 0.1, 0.0), "steady state"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(PharmsimError, match=match):
        call()
