"""Tests of pharmsim.nca on analytic profiles (Bateman AUC, mono-exponential half-life) and bad input."""

import numpy as np
import pytest

from pharmsim.nca import (
    accumulation_ratio_observed,
    accumulation_ratio_predicted,
    auc_interval,
    nca,
    nca_table,
)
from pharmsim.validate import PharmsimError


def test_monoexponential_half_life_and_auc_exact():
    k, c0 = 0.173, 100.0
    t = np.array([0.0, 0.5, 1, 2, 4, 6, 8, 12, 24])
    r = nca(t, c0 * np.exp(-k * t))
    assert r.lambda_z == pytest.approx(k, rel=1e-12)
    assert r.t_half == pytest.approx(np.log(2) / k, rel=1e-12)
    # log-down trapezoid is exact for an exponential decline; AUC0-inf = c0/k
    assert r.AUC0_inf == pytest.approx(c0 / k, rel=1e-12)
    assert r.Cmax == c0 and r.Tmax == 0.0


def test_bateman_auc_and_tmax():
    D, ka, k, V = 1000.0, 1.5, 0.1, 20.0
    t = np.concatenate([np.linspace(0, 4, 401), np.linspace(4.1, 120, 1160)])
    c = D * ka / (V * (ka - k)) * (np.exp(-k * t) - np.exp(-ka * t))
    r = nca(t, c)
    assert r.AUC0_inf == pytest.approx(D / (V * k), rel=1e-4)  # dense grid: trapezoid error < 1e-4
    assert r.Tmax == pytest.approx(np.log(ka / k) / (ka - k), abs=0.01)
    # best adjusted R2 takes in points from 4 h, where exp(-ka t) still adds <= exp(-(ka - k) 4) = 0.4 %
    assert r.t_half == pytest.approx(np.log(2) / k, rel=2e-3)
    assert r.AUC_pct_extrap < 1


def test_lloq_truncates_profile():
    t = np.array([0.0, 1, 2, 4, 8, 16, 32])
    c = 100 * np.exp(-0.2 * t)
    r = nca(t, c, lloq=1.0)
    assert r.tlast == 16 and r.Clast == pytest.approx(c[5])


def test_lambda_z_not_estimable_gives_nan_and_note():
    r = nca([0.0, 1.0, 2.0], [0.0, 1.0, 2.0])
    assert np.isnan(r.lambda_z) and np.isnan(r.AUC0_inf) and "lambda_z" in r.note


def test_accumulation_ratios():
    k, tau = 0.1, 12.0
    assert accumulation_ratio_predicted(k, tau) == pytest.approx(1 / (1 - np.exp(-k * tau)))
    t1 = np.arange(0, tau + 1e-9, 0.25)
    t19 = 18 * tau + t1
    c1 = np.exp(-k * t1)
    c19 = sum(np.exp(-k * (t19 - d)) for d in np.arange(0, 18 * tau + 1, tau))  # 19 i.v. doses
    obs = accumulation_ratio_observed(t1, c1, t19, c19, tau)
    # after 19 doses: (1 - exp(-19 k tau)) / (1 - exp(-k tau)); exact (log-down trapezoid, exponential pieces)
    assert obs == pytest.approx((1 - np.exp(-19 * k * tau)) / (1 - np.exp(-k * tau)), rel=1e-9)
    assert auc_interval(t1, c1, 0.0, tau) == pytest.approx((1 - np.exp(-k * tau)) / k, rel=1e-9)


def test_tidy_table():
    t = np.linspace(0, 24, 25)
    c = np.vstack([np.exp(-0.1 * t), 2 * np.exp(-0.2 * t)])
    df = nca_table(t, c, compound="X")
    assert set(df.columns) == {"subject", "compound", "statistic", "value", "unit"}
    th = df.query("statistic == 't_half'").value.to_numpy()
    np.testing.assert_allclose(th, np.log(2) / np.array([0.1, 0.2]), rtol=1e-10)
    assert df.query("statistic == 'AUC0-inf'").unit.iloc[0] == "nM*h"


@pytest.mark.parametrize("t,c,match", [
    ([0, 2, 1, 3], [1, 2, 3, 4], "strictly increasing"),
    ([0, 1, 1, 3], [1, 2, 3, 4], "strictly increasing"),
    ([0, 1, 2, 3], [1, np.nan, 3, 4], "conc"),
    ([0, 1, 2, 3], [1, -2, 3, 4], ">= 0"),
    ([0, 1], [1, 2], "at least 3"),
    ([0, 1, 2], [0, 0, 0], "quantifiable"),
    ([0, 1, 2], [1, 2], "one length"),
])
def test_bad_input(t, c, match):
    with pytest.raises(PharmsimError, match=match):
        nca(t, c)


# ------------------------------------------------------------------------------------------------ multiple dosing
def test_multiple_dosing_times_after_the_last_dose_auctau_accumulation_and_extrapolation_flag():
    """IV bolus every tau at steady state (1 compartment, k): after the last dose C = D/V e^{-k t'}/(1 - e^{-k tau});
    AUCtau = D/CL (log-down trapezoids are exact for a mono-exponential); accumulation 1/(1 - e^{-k tau})."""
    from pharmsim.nca import nca

    D, V, k, tau = 100.0, 20.0, 0.1, 12.0
    t = np.arange(0.0, 72.01, 1.0)
    last = 36.0
    tp = np.mod(t, tau)
    c = D / V * np.exp(-k * tp) / (1 - np.exp(-k * tau))
    after = t >= last
    c[after] = D / V * np.exp(-k * (t[after] - last)) / (1 - np.exp(-k * tau))    # no dose after 36 h
    r = nca(t, c, dose_time_h=last, tau_h=tau)
    assert r.Tmax == 0.0 and r.tlast == 36.0 and r.dose_time_h == last            # times after the last dose
    np.testing.assert_allclose(r.AUC_tau, D / (k * V), rtol=1e-12)
    np.testing.assert_allclose(r.lambda_z, k, rtol=1e-10)
    np.testing.assert_allclose(r.accumulation_pred, 1 / (1 - np.exp(-k * tau)), rtol=1e-10)
    assert not r.AUC_extrap_flag
    short = nca(t[:8], np.exp(-0.01 * t[:8]) + 0.0)                               # 7 h of a 69 h half-life
    assert short.AUC_extrap_flag and "> 20 %" in short.note
    frame = r.to_frame()
    assert {"AUCtau", "AUC extrap > 20 %", "accumulation (predicted)"} <= set(frame["statistic"])


def test_include_tmax_in_the_lambda_z_fit():
    """With include_tmax the fit may start at Tmax (PKNCA's option): on a mono-exponential decline from Tmax it
    uses one point more and gives the same slope."""
    from pharmsim.nca import nca

    t = np.array([0.0, 1.0, 2.0, 4.0, 6.0, 8.0])
    c = np.array([0.0, 10.0, 10.0 * np.exp(-0.3), 10.0 * np.exp(-0.9), 10.0 * np.exp(-1.5), 10.0 * np.exp(-2.1)])
    a, b = nca(t, c), nca(t, c, include_tmax=True)
    assert b.n_lambda_z == a.n_lambda_z + 1
    np.testing.assert_allclose([a.lambda_z, b.lambda_z], 0.3, rtol=1e-12)
    with pytest.raises(PharmsimError, match="include_tmax"):
        nca(t, c, include_tmax="yes")
