"""Tests of pharmsim.fit: recovery of known parameters, interval coverage, closed forms, warnings, bad input.

Every random number comes from an explicit ``numpy.random.default_rng(seed)``. Tolerances are stated per test:
closed forms (noiseless data, models linear in their parameters) at rel 1e-6 or tighter; noisy recoveries put
the truth within 4 standard errors (two-sided normal tail 6e-5 per parameter; the SEs themselves are checked by
the coverage test) and require the design to determine each parameter, relative SE below a stated limit (a
property of the design: the limits sit above the largest relative SE seen over 40 seeds). No tolerance depends
on the particular seed.
"""

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from scipy import stats

from pharmsim.fit import (
    FitParameter,
    FitResult,
    IdentifiabilityWarning,
    fit_hill,
    fit_operational,
    fit_profiles,
)
from pharmsim.receptor import K_A_from_ec50, hill_occupancy, operational_ec50_emax, operational_response, tau_from_emax
from pharmsim.validate import PharmsimError

CONC_8 = np.geomspace(1.0, 1e4, 8)


def hill_frame(ligand, conc, bottom, top, ec50, n, sd=0.0, rng=None, reps=1):
    c = np.repeat(conc, reps)
    y = bottom + (top - bottom) * hill_occupancy(c, ec50, n)
    if sd:
        y = y + rng.normal(0.0, sd, c.size)
    return pd.DataFrame({"ligand": ligand, "conc_nM": c, "response": y})


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IdentifiabilityWarning)
        return fn(*args, **kwargs)


# ------------------------------------------------------------------------------------------------
# Hill: closed forms and recovery
# ------------------------------------------------------------------------------------------------


def test_noiseless_hill_curve_fits_exactly():
    df = pd.concat([hill_frame("A", CONC_8, 5.0, 95.0, 120.0, 1.3),
                    hill_frame("B", CONC_8, 100.0, 10.0, 40.0, 0.8)], ignore_index=True)   # B decreases
    res = fit_hill(df, ci=None)
    for lig, truth in (("A", (5.0, 95.0, 120.0, 1.3)), ("B", (100.0, 10.0, 40.0, 0.8))):
        got = [res.value(p, lig) for p in ("bottom", "top", "EC50_nM", "n")]
        assert got == pytest.approx(truth, rel=1e-6, abs=1e-6)
    assert np.max(np.abs(res.residuals()["residual"])) < 1e-6
    assert res.converged and res.warnings == ()


def test_hill_recovers_parameters_with_noise_and_profile_intervals_contain_them():
    rng = np.random.default_rng(11)
    df = hill_frame("MG", CONC_8, 0.0, 80.0, 300.0, 1.0, sd=3.0, rng=rng, reps=3)
    res = fit_hill(df, bottom=0.0)
    for name, truth in (("top", 80.0), ("EC50_nM", 300.0), ("n", 1.0)):
        p = res.parameter(name, "MG")
        assert abs(p.estimate - truth) < 4 * p.se
        assert p.se / p.estimate < 0.25           # largest over 40 seeds: 0.14 (EC50)
        lo, hi = p.interval("profile")
        assert lo < p.estimate < hi
    # a log-parameter's profile interval is asymmetric on the natural scale (wider above)
    lo, hi = res.parameter("EC50_nM", "MG").interval()
    est = res.value("EC50_nM", "MG")
    assert hi - est > est - lo
    assert res.parameter("bottom", "MG").fixed and math.isnan(res.parameter("bottom", "MG").se)


def test_wald_interval_coverage_over_200_repeats():
    """Coverage of the 95 % Wald intervals of top, EC50 and n over 200 simulated experiments.

    Design: bottom fixed at 0, top 100, EC50 100 nM, n 1, 8 concentrations 1 nM-10 uM in duplicate, SD 8.
    If the intervals are right, the number of the 200 that cover the truth is Binomial(200, 0.95): mean 190,
    SD sqrt(200 0.95 0.05) = 3.1, i.e. a coverage SD of 0.015. The accepted band 0.88-0.99 is -4.5 / +2.6 SD
    around 0.95, wide enough for the small-sample nonlinearity of a 16-point fit (Wald intervals of
    nonlinear models are approximate) and narrow enough to fail if the standard errors are wrong by a factor of
    2 either way (coverage 0.68 or > 0.999). The negative control checks that half-width intervals do fall
    out of the band, so the band can detect that error. Seeded: deterministic.
    """
    rng = np.random.default_rng(20240517)
    truth = {"top": 100.0, "EC50_nM": 100.0, "n": 1.0}
    covered = dict.fromkeys(truth, 0)
    covered_half = dict.fromkeys(truth, 0)
    R = 200
    for _ in range(R):
        df = hill_frame("A", CONC_8, 0.0, 100.0, 100.0, 1.0, sd=8.0, rng=rng, reps=2)
        res = quiet(fit_hill, df, bottom=0.0, ci="wald")
        q = stats.t.ppf(0.975, res.n_obs - res.n_free)
        for name, v in truth.items():
            p = res.parameter(name, "A")
            lo, hi = p.interval("wald")
            covered[name] += lo <= v <= hi
            if p.log:   # half-width interval on the internal (log) scale
                half = 0.5 * q * p.se / p.estimate
                covered_half[name] += abs(math.log(v / p.estimate)) <= half
            else:
                covered_half[name] += abs(v - p.estimate) <= 0.5 * q * p.se
    for name in truth:
        assert 0.88 <= covered[name] / R <= 0.99, (name, covered[name] / R)
        assert covered_half[name] / R < 0.88, (name, covered_half[name] / R)


def test_profile_interval_equals_t_interval_for_a_linear_model():
    """With EC50 and n fixed the Hill model is linear in bottom and top: the F-threshold profile interval
    (RSS <= RSS_min (1 + F_{1,N-p}/(N-p))) is then exactly the t interval, since F_{1,v} = t_v^2."""
    rng = np.random.default_rng(5)
    df = hill_frame("A", CONC_8, 10.0, 90.0, 100.0, 1.0, sd=5.0, rng=rng, reps=2)
    res = fit_hill(df, EC50_nM=100.0, n=1.0, ci=("profile", "wald"))
    for name in ("bottom", "top"):
        p = res.parameter(name, "A")
        (plo, phi), (wlo, whi) = p.interval("profile"), p.interval("wald")
        half = whi - p.estimate
        assert plo == pytest.approx(wlo, abs=2e-3 * half)
        assert phi == pytest.approx(whi, abs=2e-3 * half)


def test_profile_interval_ends_sit_on_the_threshold():
    """Refitting with EC50 held at either profile end gives RSS = RSS_min (1 + F_{1,N-p}(0.95)/(N-p))."""
    rng = np.random.default_rng(8)
    df = hill_frame("A", CONC_8, 0.0, 100.0, 50.0, 1.2, sd=6.0, rng=rng, reps=2)
    res = fit_hill(df, bottom=0.0, ci="profile")
    dof = res.n_obs - res.n_free
    threshold = res.rss * (1 + stats.f.ppf(0.95, 1, dof) / dof)
    for end in res.parameter("EC50_nM", "A").interval():
        held = fit_hill(df, bottom=0.0, EC50_nM=end, ci=None)
        assert held.rss == pytest.approx(threshold, rel=2e-3)


def test_known_sd_column_is_a_chi_square_fit():
    """With an 'sd' column the residual SD is known (s = 1); with weight = 1/sd^2 it is estimated, so the SEs
    differ by exactly sqrt(RSS/(N - p)) and the estimates agree."""
    rng = np.random.default_rng(3)
    df = hill_frame("A", CONC_8, 0.0, 100.0, 80.0, 1.0, sd=4.0, rng=rng, reps=2)
    known = fit_hill(df.assign(sd=4.0), bottom=0.0, ci="wald")
    rel = fit_hill(df.assign(weight=1 / 16.0), bottom=0.0, ci="wald")
    assert known.sigma_known and not rel.sigma_known
    s = math.sqrt(rel.rss / (rel.n_obs - rel.n_free))
    for name in ("top", "EC50_nM", "n"):
        assert known.value(name, "A") == pytest.approx(rel.value(name, "A"), rel=1e-7)
        assert rel.parameter(name, "A").se == pytest.approx(s * known.parameter(name, "A").se, rel=1e-5)


def test_bootstrap_is_reproducible_and_agrees_with_wald_for_a_well_determined_fit():
    rng = np.random.default_rng(21)
    df = hill_frame("A", CONC_8, 0.0, 100.0, 100.0, 1.0, sd=3.0, rng=rng, reps=3)
    a = fit_hill(df, bottom=0.0, ci=("bootstrap", "wald"), n_boot=200, rng=np.random.default_rng(1))
    b = fit_hill(df, bottom=0.0, ci="bootstrap", n_boot=200, rng=np.random.default_rng(1))
    c = fit_hill(df, bottom=0.0, ci="bootstrap", n_boot=200, rng=np.random.default_rng(2))
    p = fit_hill(df, bottom=0.0, ci="bootstrap", bootstrap="parametric", n_boot=200, rng=np.random.default_rng(1))
    ec = ("EC50_nM", "A")
    assert a.parameter(*ec).interval("bootstrap") == b.parameter(*ec).interval()
    assert a.parameter(*ec).interval("bootstrap") != c.parameter(*ec).interval()
    wlo, whi = a.parameter(*ec).interval("wald")
    for r in (a, c, p):   # within 30 % of the Wald half-widths (200 refits: percentile ends vary by ~10 %)
        lo, hi = r.parameter(*ec).interval("bootstrap")
        est = r.value(*ec)
        assert lo == pytest.approx(wlo, abs=0.3 * (est - wlo))
        assert hi == pytest.approx(whi, abs=0.3 * (whi - est))


def test_flat_profile_is_reported_when_the_plateau_is_never_reached():
    rng = np.random.default_rng(4)
    conc = np.geomspace(0.1, 10.0, 6)                     # all far below EC50 = 1000 nM
    df = hill_frame("A", conc, 0.0, 100.0, 1000.0, 1.0, sd=0.2, rng=rng, reps=2)
    with pytest.warns(IdentifiabilityWarning) as record:
        res = fit_hill(df, bottom=0.0, n=1.0)
    text = " | ".join(res.warnings)
    assert "top" in text and "EC50_nM[A]" in text
    assert "flat profile" in text or "reaching a bound" in text
    assert {str(w.message) for w in record} == set(res.warnings)
    lo, hi = res.parameter("top", "A").interval()
    assert hi == math.inf or hi > 10 * res.value("top", "A")


# ------------------------------------------------------------------------------------------------
# operational model
# ------------------------------------------------------------------------------------------------

LIGANDS = {"full": (30.0, 20.0), "mid": (300.0, 2.0), "weak": (1000.0, 0.5)}   # K_A nM, tau (reference system)
CONC_OP = np.geomspace(0.1, 1e5, 13)


def operational_frame(rng, systems, Em=100.0, n=1.3, sd=3.0, reps=2):
    rows = []
    for system, gain in systems.items():
        for lig, (ka, tau) in LIGANDS.items():
            c = np.repeat(CONC_OP, reps)
            y = operational_response(c, ka, tau * gain, Em, n) + rng.normal(0.0, sd, c.size)
            rows.append(pd.DataFrame({"ligand": lig, "system": system, "conc_nM": c, "response": y}))
    return pd.concat(rows, ignore_index=True)


def test_global_operational_fit_recovers_shared_Em_n_and_per_ligand_K_A_tau():
    """Control + receptor-depleted system (gain 0.1, Furchgott): every parameter is identified (relative SE
    < 0.4; largest over 40 seeds 0.28, K_A of the weakest partial agonist) and within 4 SE of the truth."""
    df = operational_frame(np.random.default_rng(7), {"control": 1.0, "depleted": 0.1})
    res = quiet(fit_operational, df, ci="wald")
    truth = {"Em": 100.0, "n": 1.3, "gain[depleted]": 0.1}
    for lig, (ka, tau) in LIGANDS.items():
        truth[f"K_A_nM[{lig}]"], truth[f"tau[{lig}]"] = ka, tau
    assert set(res.estimates) == set(truth)
    for label, v in truth.items():
        p = res.parameter(label)
        assert abs(p.estimate - v) < 4 * p.se, label
        assert p.se / p.estimate < 0.4, label
    assert not any("poorly identified" in w for w in res.warnings)


def test_operational_fit_of_noiseless_partial_agonists_matches_the_closed_form():
    """n = 1, Em fixed: tau and K_A are exactly e/(1 - e) and EC50 (1 + tau) of each curve's Hill EC50 and
    Emax/Em (Black & Leff 1983), the same numbers pharmsim.receptor's closed forms give."""
    c = np.geomspace(0.1, 1e5, 13)
    rows = [pd.DataFrame({"ligand": lig, "conc_nM": c, "response": operational_response(c, ka, tau, 100.0, 1.0)})
            for lig, (ka, tau) in (("mid", (300.0, 2.0)), ("weak", (1000.0, 0.5)))]
    df = pd.concat(rows, ignore_index=True)
    op = fit_operational(df, Em=100.0, n=1.0, ci=None)
    hill = fit_hill(df, bottom=0.0, n=1.0, ci=None)
    for lig, (ka, tau) in (("mid", (300.0, 2.0)), ("weak", (1000.0, 0.5))):
        assert op.value("tau", lig) == pytest.approx(tau, rel=1e-6)
        assert op.value("K_A_nM", lig) == pytest.approx(ka, rel=1e-6)
        ec50, emax = operational_ec50_emax(ka, tau, 100.0, 1.0)
        assert hill.value("EC50_nM", lig) == pytest.approx(ec50, rel=1e-6)
        assert hill.value("top", lig) == pytest.approx(emax, rel=1e-6)
        t = tau_from_emax(hill.value("top", lig) / 100.0)
        assert t == pytest.approx(op.value("tau", lig), rel=1e-6)
        assert K_A_from_ec50(hill.value("EC50_nM", lig), t) == pytest.approx(op.value("K_A_nM", lig), rel=1e-6)


def test_full_agonist_K_A_is_reported_as_not_identified():
    c = np.geomspace(0.01, 1e4, 13)
    rng = np.random.default_rng(2)
    rows = [pd.DataFrame({"ligand": lig, "conc_nM": c,
                          "response": operational_response(c, ka, tau, 100.0, 1.0) + rng.normal(0, 2.0, c.size)})
            for lig, (ka, tau) in (("DAMGO", (200.0, 100.0)), ("fentanyl", (20.0, 200.0)))]
    with pytest.warns(IdentifiabilityWarning) as record:
        res = fit_operational(pd.concat(rows, ignore_index=True), Em=100.0, n=1.0, ci="wald")
    for lig in ("DAMGO", "fentanyl"):
        assert any(f"K_A_nM[{lig}] is poorly identified" in str(w.message) for w in record)
        assert any(f"K_A_nM[{lig}] is poorly identified" in w for w in res.warnings)


def test_single_system_with_n_fixed_at_1_warns_that_Em_is_not_identifiable():
    df = operational_frame(np.random.default_rng(9), {"s": 1.0}, n=1.0).drop(columns="system")
    with pytest.warns(IdentifiabilityWarning) as record:
        res = fit_operational(df, n=1.0, ci="wald")
    assert any(str(w.message).startswith("Em is not identifiable") for w in record)
    assert any("singular" in w or "correlation" in w for w in res.warnings)


# ------------------------------------------------------------------------------------------------
# concentration-time profiles
# ------------------------------------------------------------------------------------------------

TIMES = np.array([0.25, 0.5, 1, 2, 4, 6, 8, 12, 24.0])


def one_compartment_oral(ka, ke, V, t, dose_nmol=1000.0):
    return dose_nmol / V * ka / (ka - ke) * (np.exp(-ke * t) - np.exp(-ka * t))


def profile_frame(rng, cv=0.15, subjects=4):
    rows = []
    for s in range(subjects):
        c = one_compartment_oral(1.5, 0.15, 50.0, TIMES) * np.exp(rng.normal(0.0, cv, TIMES.size))
        rows.append(pd.DataFrame({"subject": f"S{s}", "compound": "X", "time_h": TIMES, "conc_nM": c}))
    return pd.concat(rows, ignore_index=True)


def make_predict(df):
    t = df["time_h"].to_numpy()

    def predict(v):
        return one_compartment_oral(v["ka_per_h"], v["ke_per_h"], v["V_L"], t)

    predict.parameter_names = ("ka_per_h", "ke_per_h", "V_L")
    return predict


PARAMS = {"ka_per_h": FitParameter(1.0, low=0.0, log=True, unit="1/h"),
          "ke_per_h": FitParameter(0.1, low=0.0, log=True, unit="1/h"),
          "V_L": FitParameter(30.0, low=0.0, log=True, unit="L")}


def test_fit_profiles_recovers_parameters_under_each_error_model():
    df = profile_frame(np.random.default_rng(3))
    aic = {}
    for error in ("log", "proportional", "additive"):
        res = fit_profiles(df, make_predict(df), PARAMS, error=error, ci="wald")
        for name, v in (("ka_per_h", 1.5), ("ke_per_h", 0.15), ("V_L", 50.0)):
            p = res.parameter(name)
            assert abs(p.estimate - v) < 4 * p.se, (error, name)
            assert p.se / p.estimate < 0.3, (error, name)     # largest over 40 seeds: 0.18 (additive ka)
        aic[error] = res.aic
    # the data have log-normal error: AIC (on the data's own scale) prefers 'log' to 'additive'
    assert aic["log"] < aic["additive"]
    t = res.table()
    assert list(t.columns) == ["parameter", "estimate", "unit", "se", "ci_low", "ci_high", "method", "scale"]
    assert t.set_index("parameter").loc["V_L", "unit"] == "L"


def test_log_likelihood_and_weights_match_their_closed_forms_for_each_error_model():
    """log L on the data's own scale, with s^2 = RSS/N (maximum likelihood):
    additive  sum log N(y; f, s^2);  log  sum [log N(ln y; ln f, s^2) - ln y] (log-normal density of y);
    proportional  sum log N(y; f, s^2 f^2) with the weights 1/f^2 of the converged fit (IRLS fixed point:
    the weighted residual is (y - f)/f). AIC = 2(p + 1) - 2 log L."""
    df = profile_frame(np.random.default_rng(6))
    for error in ("additive", "log", "proportional"):
        res = fit_profiles(df, make_predict(df), PARAMS, error=error, ci=None)
        r = res.residuals()
        y, f = r["conc_nM"].to_numpy(), r["fitted"].to_numpy()
        if error == "additive":
            s = math.sqrt(np.mean((y - f) ** 2))
            ll = stats.norm.logpdf(y, f, s).sum()
        elif error == "log":
            s = math.sqrt(np.mean(np.log(y / f) ** 2))
            ll = (stats.norm.logpdf(np.log(y), np.log(f), s) - np.log(y)).sum()
        else:
            assert np.allclose(r["weighted_residual"], (y - f) / f, rtol=1e-6, atol=1e-12)
            s = math.sqrt(np.mean(((y - f) / f) ** 2))
            ll = stats.norm.logpdf(y, f, s * f).sum()
        assert res.log_likelihood == pytest.approx(ll, rel=1e-9), error
        assert res.aic == pytest.approx(2 * (3 + 1) - 2 * ll, rel=1e-9), error


def test_fit_profiles_noiseless_log_error_is_exact_and_fixed_parameters_are_passed():
    df = profile_frame(np.random.default_rng(0), cv=0.0)
    res = fit_profiles(df, make_predict(df), {**PARAMS, "V_L": 50.0}, ci=None)
    assert res.value("ka_per_h") == pytest.approx(1.5, rel=1e-6)
    assert res.value("ke_per_h") == pytest.approx(0.15, rel=1e-6)
    assert res.parameter("V_L").fixed and res.value("V_L") == 50.0


def test_fit_profiles_bad_input_names_the_parameter_and_value():
    df = profile_frame(np.random.default_rng(1))
    predict = make_predict(df)
    with pytest.raises(PharmsimError, match=r"data must have at least one row"):
        fit_profiles(df.iloc[:0], predict, PARAMS)
    with pytest.raises(PharmsimError, match=r"data column 'conc_nM' must hold finite numbers nM; got nan in row 2"):
        fit_profiles(df.assign(conc_nM=np.where(df.index == 2, np.nan, df["conc_nM"])), predict, PARAMS)
    with pytest.raises(PharmsimError, match=r"'conc_nM' must be > 0 nM; got 0.0 in row 0.*error='additive'"):
        fit_profiles(df.assign(conc_nM=np.where(df.index == 0, 0.0, df["conc_nM"])), predict, PARAMS)
    with pytest.raises(PharmsimError, match=r"params names 'V_l'.*did you mean 'V_L'"):
        fit_profiles(df, predict, {"ka_per_h": PARAMS["ka_per_h"], "ke_per_h": PARAMS["ke_per_h"],
                                   "V_l": PARAMS["V_L"]})
    bare = lambda v: one_compartment_oral(v["ka_per_h"], v["ke_per_h"], v["Vd_L"], df["time_h"].to_numpy())  # noqa: E731
    with pytest.raises(PharmsimError, match=r"predict asked for parameter 'Vd_L'.*did you mean 'V_L'"):
        fit_profiles(df, bare, PARAMS)
    with pytest.raises(PharmsimError, match=r"low < high; got low=5.0, high=1.0"):
        FitParameter(2.0, low=5.0, high=1.0)
    with pytest.raises(PharmsimError, match=r"initial must lie within \[low, high\] = \[0.0, 1.0\]; got 2.0"):
        FitParameter(2.0, low=0.0, high=1.0)
    with pytest.raises(PharmsimError, match=r"initial must be > 0 for a log-scale parameter.*got -1.0"):
        FitParameter(-1.0, log=True)
    with pytest.raises(PharmsimError, match=r"one prediction per data row, shape \(36,\); got shape \(3,\)"):
        fit_profiles(df, lambda v: np.ones(3), PARAMS)
    with pytest.raises(PharmsimError, match=r"error must be one of 'log', 'proportional', 'additive'; got 'lognormal'"):
        fit_profiles(df, predict, PARAMS, error="lognormal")
    with pytest.raises(PharmsimError, match=r"missing 'time_h' \(did you mean 'time'\?\)"):
        fit_profiles(df.rename(columns={"time_h": "time"}), predict, PARAMS)
    with pytest.raises(PharmsimError, match=r"params\['V_L'\] must be a FitParameter or a number"):
        fit_profiles(df, predict, {**PARAMS, "V_L": "50"})


# ------------------------------------------------------------------------------------------------
# bad input to the concentration-response fits; the result object
# ------------------------------------------------------------------------------------------------


def test_hill_bad_input_names_the_parameter_and_value():
    df = hill_frame("A", CONC_8, 0.0, 100.0, 100.0, 1.0)
    with pytest.raises(PharmsimError, match=r"data must be a pandas DataFrame.*got dict"):
        fit_hill({"ligand": ["A"], "conc_nM": [1.0], "response": [1.0]})
    with pytest.raises(PharmsimError, match=r"missing 'conc_nM' \(did you mean 'conc'\?\)"):
        fit_hill(df.rename(columns={"conc_nM": "conc"}))
    with pytest.raises(PharmsimError, match=r"'response' must hold finite numbers; got nan in row 3"):
        fit_hill(df.assign(response=np.where(df.index == 3, np.nan, df["response"])))
    with pytest.raises(PharmsimError, match=r"'conc_nM' must be >= 0 nM; got -1.0 in row 0"):
        fit_hill(df.assign(conc_nM=np.where(df.index == 0, -1.0, df["conc_nM"])))
    with pytest.raises(PharmsimError, match=r"column 'weights' is not one fitting reads \(did you mean 'weight'\?\)"):
        fit_hill(df.assign(weights=1.0))
    with pytest.raises(PharmsimError, match=r"at most one of the columns 'weight'.*and 'sd'"):
        fit_hill(df.assign(weight=1.0, sd=1.0))
    with pytest.raises(PharmsimError, match=r"'sd' must be > 0; got 0.0 in row 0"):
        fit_hill(df.assign(sd=0.0))
    with pytest.raises(PharmsimError, match=r"EC50_nM names ligand 'a', which is not in the data.*did you mean 'A'"):
        fit_hill(df, EC50_nM={"a": 10.0})
    with pytest.raises(PharmsimError, match=r"EC50_nM\[A\] must be a finite number > 0 \(to fix it\).*got -5"):
        fit_hill(df, EC50_nM=-5)
    with pytest.raises(PharmsimError, match=r"EC50_nM\[A\] must stay > 0"):
        fit_hill(df, EC50_nM=FitParameter(10.0))
    with pytest.raises(PharmsimError, match=r"ci must be one of 'profile', 'wald', 'bootstrap'; got 'wold'"):
        fit_hill(df, ci="wold")
    with pytest.raises(PharmsimError, match=r"rng must be a numpy.random.Generator.*got None"):
        fit_hill(df, ci="bootstrap")
    with pytest.raises(PharmsimError, match=r"rng must be a numpy.random.Generator or None; got 42"):
        fit_hill(df, rng=42)
    with pytest.raises(PharmsimError, match=r"level must be a number in \[0.5, 1\).*got 95"):
        fit_hill(df, level=95)
    with pytest.raises(PharmsimError, match=r"ligand 'A' must have at least 5 rows to fit 4 free parameters.*got 4"):
        fit_hill(df.iloc[:4])
    with pytest.raises(PharmsimError, match=r"at least 2 distinct concentrations > 0 nM; got \[0.0, 10.0\]"):
        fit_hill(pd.DataFrame({"ligand": "A", "conc_nM": [0.0, 10.0] * 3, "response": [0.0, 1.0] * 3}))
    with pytest.raises(PharmsimError, match=r"column 'ligand' must name every row; got (None|nan) in row 1"):
        fit_hill(df.assign(ligand=["A", None, *["A"] * 6]))
    with pytest.raises(PharmsimError, match=r"gain needs a 'system' column"):
        fit_operational(df, gain=2.0)
    with pytest.raises(PharmsimError, match=r"reference_system must be one of 'c', 'd'; got 'x'"):
        fit_operational(df.assign(system=["c", "d"] * 4), reference_system="x")


def test_result_table_residuals_and_plot():
    rng = np.random.default_rng(12)
    df = pd.concat([hill_frame("A", CONC_8, 0.0, 100.0, 100.0, 1.0, sd=3.0, rng=rng, reps=2),
                    hill_frame("B", CONC_8, 0.0, 50.0, 20.0, 1.0, sd=3.0, rng=rng, reps=2)], ignore_index=True)
    res = fit_hill(df, bottom=0.0, n=1.0, ci=("profile", "wald"), response_unit="% of DAMGO")
    assert isinstance(res, FitResult)
    t = res.table()
    assert list(t.columns) == ["parameter", "ligand", "estimate", "unit", "se", "ci_low", "ci_high", "method",
                               "scale"]
    assert len(t) == 2 * (2 + 2 * 2)                    # per ligand: 2 fixed rows + 2 free x 2 methods
    assert set(t[t.parameter == "top"]["unit"]) == {"% of DAMGO"}
    assert set(t[t.parameter == "bottom"]["method"]) == {"fixed"}
    r = res.residuals()
    assert {"fitted", "residual", "weighted_residual", "standardized_residual"} <= set(r.columns)
    assert np.allclose(r["residual"], r["response"] - r["fitted"])
    # independent per-ligand fits: AIC sums their log-likelihoods, each with its own residual SD
    one = fit_hill(df[df.ligand == "A"], bottom=0.0, n=1.0, ci=None)
    two = fit_hill(df[df.ligand == "B"], bottom=0.0, n=1.0, ci=None)
    assert res.aic == pytest.approx(one.aic + two.aic, rel=1e-9)
    assert res.correlation().loc["top[A]", "EC50_nM[B]"] == 0.0
    fig = res.plot()
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert fig.axes[0].get_xscale() == "log"
    with pytest.raises(PharmsimError, match=r"got 'EC50\[A\]' \(did you mean 'EC50_nM\[A\]'\?\)"):
        res.parameter("EC50[A]")
    assert res.value("EC50_nM", "A") == res.estimates["EC50_nM[A]"]


def test_fit_profiles_known_sd_column_is_a_chi_square_fit():
    """An 'sd' column (known SD on the residual scale) gives sigma_known, the same estimates as weight = 1/sd^2,
    and SEs smaller by exactly s = sqrt(RSS/(N - p)) of the relative-weight fit."""
    df = profile_frame(np.random.default_rng(2))
    known = fit_profiles(df.assign(sd=0.15), make_predict(df), PARAMS, ci="wald")
    rel = fit_profiles(df.assign(weight=1 / 0.15**2), make_predict(df), PARAMS, ci="wald")
    assert known.sigma_known and not rel.sigma_known
    s = math.sqrt(rel.rss / (rel.n_obs - rel.n_free))
    for name in PARAMS:
        assert known.value(name) == pytest.approx(rel.value(name), rel=1e-7)
        assert rel.parameter(name).se == pytest.approx(s * known.parameter(name).se, rel=1e-5)
    assert "sd" in known.residuals().columns


# ------------------------------------------------------------------------------------------------
# pharmsim PK models: pk_predictor and fit_pk_profiles
# ------------------------------------------------------------------------------------------------

PK_TIMES = np.array([0.65, 0.7, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 24.0])   # MG tea lag 0.6 h
PK_FREE = ("MG.CL_L_per_h", "MG.V_L", "MG.tea.ka_per_h")


@pytest.fixture(scope="module")
def kratom_pk():
    """The library's MG (tea) -> 7-OH-MG model: 2-compartment MG with lag and presystemic + systemic formation."""
    from pharmsim.catalog import catalog

    return catalog().pk_model(["MG"], routes={"MG": ["tea"]})


def pk_doses(amounts_mg=(20.0, 40.0, 60.0, 80.0)):
    from pharmsim.dosing import dose

    return {f"S{i}": dose("MG", a, 0.0, route="tea") for i, a in enumerate(amounts_mg)}


def pk_frame(pk, doses, rng, cv=0.15, compounds=("MG", "7-OH-MG")):
    from pharmsim.solve import solve_pk

    rows = []
    for s, d in doses.items():
        sol = solve_pk(pk, PK_TIMES, d)
        for c in compounds:
            y = sol.conc_nM(c)[0] * np.exp(rng.normal(0.0, cv, PK_TIMES.size)) if cv else sol.conc_nM(c)[0]
            rows.append(pd.DataFrame({"subject": s, "compound": c, "time_h": PK_TIMES, "conc_nM": y}))
    return pd.concat(rows, ignore_index=True)


def test_pk_predictor_is_solve_pk_at_each_row_and_solves_subjects_together(kratom_pk):
    """The predictor equals solve_pk per subject and compound (subjects with their own regimen or their own F
    included), with the free parameters put in and the others at the model's values."""
    from pharmsim.dosing import dose, regimen
    from pharmsim.fit import PKPredictor, pk_predictor
    from pharmsim.solve import solve_pk

    doses = {**pk_doses((20.0, 50.0)), "R": regimen("MG", 30.0, 6.0, 3, route="tea"),
             "F": dose("MG", 20.0, 0.0, route="tea", F=0.5)}          # the same event, its own F
    df = pk_frame(kratom_pk, doses, np.random.default_rng(0), cv=0.0).sample(frac=1.0, random_state=1)
    pred = pk_predictor(kratom_pk, doses, df, ("MG.CL_L_per_h", "7-OH-MG.V_L"))
    assert isinstance(pred, PKPredictor) and pred.parameter_names == ("MG.CL_L_per_h", "7-OH-MG.V_L")
    values = {"MG.CL_L_per_h": 150.0, "7-OH-MG.V_L": 500.0}
    got = pred(values)
    changed = kratom_pk.with_parameters(values)
    for (s, c), rows in df.groupby(["subject", "compound"]).groups.items():
        t = df.loc[rows, "time_h"].to_numpy()
        want = solve_pk(changed, np.sort(t), doses[s]).conc_nM(c)[0][np.argsort(np.argsort(t))]
        np.testing.assert_allclose(got[df.index.get_indexer(rows)], want, rtol=1e-12, atol=0)
    assert len(pred._groups) == 3          # the two single doses share one solve; the regimen and the dose with
    #                                        its own F have theirs


def test_fit_pk_profiles_recovers_known_parameters_from_noisy_profiles(kratom_pk):
    """Four subjects (20-80 mg MG as tea), MG and 7-OH-MG sampled 13 times, 15 % log-normal noise; start at
    1.7 x the truth. CL, V and ka of MG and the clearance of 7-OH-MG: truth within 4 SE, relative SE below
    a design limit (largest over 60 seeds: ka 0.09, MG CL 0.16, V 0.08, 7-OH-MG CL 0.03)."""
    from pharmsim.fit import fit_pk_profiles

    free = (*PK_FREE, "7-OH-MG.CL_L_per_h")
    truth = {k: float(kratom_pk.parameters[k]) for k in free}
    doses = pk_doses()
    df = pk_frame(kratom_pk, doses, np.random.default_rng(5))
    start = {k: FitParameter(1.7 * v, low=0.0, log=True) for k, v in truth.items()}
    res = quiet(fit_pk_profiles, df, kratom_pk, doses, start, ci="wald")
    for k, v in truth.items():
        p = res.parameter(k)
        assert abs(p.estimate - v) < 4 * p.se, k
        assert p.se / p.estimate < 0.3, k
    assert res.converged
    fitted = kratom_pk.with_parameters(res.estimates)          # the fitted model, as the docstring says
    assert float(fitted.parameters["MG.CL_L_per_h"]) == res.value("MG.CL_L_per_h")
    t = res.table().set_index("parameter")
    assert t.loc["MG.CL_L_per_h", "unit"] == "L/h" and t.loc["MG.tea.ka_per_h", "unit"] == "1/h"


def test_fit_pk_profiles_noiseless_is_exact_with_default_scales_and_fixed_values(kratom_pk):
    """Noiseless data from a model with other values: the fit returns them (rel 1e-6) from the model's own
    values as starts (params=None); a fraction (presystemic formation) is fitted on its default linear [0, 1]
    scale, a clearance on the log scale; a float fixes a parameter."""
    from pharmsim.fit import PK_DEFAULT_SCALES, fit_pk_profiles

    truth = {"MG.CL_L_per_h": 180.0, "MG.tea.fpre_7-OH-MG": 0.09, "7-OH-MG.CL_L_per_h": 70.0}
    doses = pk_doses((40.0, 80.0))
    df = pk_frame(kratom_pk.with_parameters(truth), doses, np.random.default_rng(0), cv=0.0)
    params = {k: None for k in truth} | {"MG.tea.tlag_h": float(kratom_pk.parameters["MG.tea.tlag_h"])}
    res = fit_pk_profiles(df, kratom_pk, doses, params, ci=None)
    for k, v in truth.items():
        assert res.value(k) == pytest.approx(v, rel=1e-6), k
    scales = res.table().set_index("parameter")["scale"]
    assert scales["MG.tea.fpre_7-OH-MG"] == "linear" and scales["MG.CL_L_per_h"] == "log"
    fpre = res.parameter("MG.tea.fpre_7-OH-MG")
    assert (fpre.low, fpre.high) == (0.0, 1.0) and PK_DEFAULT_SCALES["fraction"] == (False, 0.0, 1.0)
    assert res.parameter("MG.tea.tlag_h").fixed


def test_fit_pk_profiles_wald_coverage_over_60_repeats():
    """95 % Wald intervals of CL, V, ka of a one-compartment oral model (three subjects, 11 samples each, 15 %
    log-normal noise) over 60 simulated studies, pooled over the three parameters (180 intervals). Over 20 seeds
    the pooled coverage was 0.91-0.98 (mean 0.947, SD 0.02: the three intervals of one study are correlated);
    accepted 0.87-0.995, which fails if the SEs are half what they should be (coverage ~0.68) or twice (every
    interval covers). Negative control: half-width intervals cover < 0.85 (0.58-0.78 over the 20 seeds)."""
    from pharmsim.dosing import Doses
    from pharmsim.fit import fit_pk_profiles
    from pharmsim.pk import CompoundPK, PKModel, Route
    from pharmsim.solve import solve_pk

    pk = PKModel((CompoundPK("X", 300.0, 1, routes=(Route("oral"),)),), (),
                 {"X.CL_L_per_h": 20.0, "X.V_L": 100.0, "X.fu": 1.0, "X.oral.ka_per_h": 1.5, "X.oral.F": 1.0,
                  "X.oral.tlag_h": 0.0})
    doses = {f"S{i}": Doses(time_h=np.array([0.0]), compound=("X",), route=("oral",), amount_nmol=np.array([a]),
                            duration_h=np.array([0.0])) for i, a in enumerate((1000.0, 2000.0, 4000.0))}
    times = np.array([0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 24.0])
    free = ("X.CL_L_per_h", "X.V_L", "X.oral.ka_per_h")
    truth = {k: float(pk.parameters[k]) for k in free}
    clean = {s: solve_pk(pk, times, d).conc_nM("X")[0] for s, d in doses.items()}
    rng = np.random.default_rng(17)
    covered = half = 0
    R = 60
    for _ in range(R):
        df = pd.concat([pd.DataFrame({"subject": s, "time_h": times,
                                      "conc_nM": c * np.exp(rng.normal(0.0, 0.15, times.size))})
                        for s, c in clean.items()], ignore_index=True)
        res = quiet(fit_pk_profiles, df, pk, doses, free, ci="wald")
        q = stats.t.ppf(0.975, res.n_obs - res.n_free)
        for k, v in truth.items():
            p = res.parameter(k)
            lo, hi = p.interval("wald")
            covered += lo <= v <= hi
            half += abs(math.log(v / p.estimate)) <= 0.5 * q * p.se / p.estimate
    n = R * len(truth)
    assert 0.87 <= covered / n <= 0.995, covered / n
    assert half / n < 0.85, half / n


def test_fit_pk_profiles_bad_input_names_the_parameter_and_value(kratom_pk):
    from pharmsim.fit import fit_pk_profiles, pk_predictor

    doses = pk_doses((20.0, 40.0))
    df = pk_frame(kratom_pk, doses, np.random.default_rng(1))
    with pytest.raises(PharmsimError, match=r"params names 'MG.CL_L_perh'.*did you mean 'MG.CL_L_per_h'"):
        fit_pk_profiles(df, kratom_pk, doses, ["MG.CL_L_perh"])
    with pytest.raises(PharmsimError, match=r"doses must give a Doses for every subject in data; missing subject "
                                            r"'S1'"):
        fit_pk_profiles(df, kratom_pk, {"S0": doses["S0"]}, ["MG.V_L"])
    with pytest.raises(PharmsimError, match=r"compound 'MG7' is not a compound of pk_model"):
        fit_pk_profiles(df.assign(compound="MG7"), kratom_pk, doses, ["MG.V_L"])
    with pytest.raises(PharmsimError, match=r"compound must name the compound measured.*got None"):
        pk_predictor(kratom_pk, doses, df.drop(columns="compound"), ["MG.V_L"])
    with pytest.raises(PharmsimError, match=r"compound must be None when data has a 'compound' column"):
        pk_predictor(kratom_pk, doses, df, ["MG.V_L"], compound="MG")
    with pytest.raises(PharmsimError, match=r"one typical subject.*2 subjects"):
        fit_pk_profiles(df, kratom_pk.with_parameters({"MG.V_L": np.array([500.0, 600.0])}), doses, ["MG.V_L"])
    with pytest.raises(PharmsimError, match=r"params\['MG.tea.ka_per_h'\] = None starts from the model's value, "
                                            r"0.0 1/h, which cannot start a log-scale fit"):
        fit_pk_profiles(df, kratom_pk.with_parameters({"MG.tea.ka_per_h": 0.0}), doses, ["MG.tea.ka_per_h"])
    with pytest.raises(PharmsimError, match=r"'time_h' must be >= 0 h; got -1.0 in row 0"):
        pk_predictor(kratom_pk, doses, df.assign(time_h=np.where(df.index == 0, -1.0, df["time_h"])), ["MG.V_L"])
    with pytest.raises(PharmsimError, match=r"doses\['S0'\] name 'morphine', which is not a compound of pk_model"):
        from pharmsim.dosing import dose

        fit_pk_profiles(df, kratom_pk, {**doses, "S0": dose("morphine", 5.0, route="iv")}, ["MG.V_L"])


# --------------------------------------------------------------------------------------------------
# fit_statistics: published summary statistics as data
# --------------------------------------------------------------------------------------------------

def test_fit_statistics_recovers_a_closed_form_and_its_interval():
    """One-compartment i.v. bolus, data = (C0, t1/2) with known SDs of their logs: C0 = D/V and
    t1/2 = ln2 V/CL identify V and CL exactly; the profile interval of V on the log scale is
    ln V +/- 1.96 sd(C0) (C0 depends on V alone)."""
    import math

    from pharmsim.fit import FitParameter, fit_statistics

    D, V, CL = 1000.0, 50.0, 10.0
    data = pd.DataFrame({"statistic": ["C0", "t_half"], "value": [D / V, math.log(2) * V / CL], "sd": [0.1, 0.2]})

    def predict(v):
        return np.array([D / v["V"], math.log(2) * v["V"] / v["CL"]])

    res = fit_statistics(data, predict, {"V": FitParameter(20.0, low=1.0, high=1e4, log=True),
                                         "CL": FitParameter(3.0, low=0.1, high=1e3, log=True)})
    assert res.value("V") == pytest.approx(V, rel=1e-6)
    assert res.value("CL") == pytest.approx(CL, rel=1e-6)
    row = res.table().set_index("parameter").loc["V"]
    assert row["ci_low"] == pytest.approx(V * math.exp(-1.959964 * 0.1), rel=2e-3)
    assert row["ci_high"] == pytest.approx(V * math.exp(1.959964 * 0.1), rel=2e-3)
    assert list(res.residuals()["statistic"]) == ["C0", "t_half"]


def test_fit_statistics_refuses_duplicates_and_bad_sd():
    from pharmsim.fit import FitParameter, fit_statistics
    from pharmsim.validate import PharmsimError

    dup = pd.DataFrame({"statistic": ["a", "a"], "value": [1.0, 2.0], "sd": [0.1, 0.1]})
    with pytest.raises(PharmsimError, match="unique"):
        fit_statistics(dup, lambda v: np.array([v["x"], v["x"]]),
                       {"x": FitParameter(1.0, low=1e-3, high=1e3, log=True)})
    bad = pd.DataFrame({"statistic": ["a"], "value": [1.0], "sd": [0.0]})
    with pytest.raises(PharmsimError, match="sd"):
        fit_statistics(bad, lambda v: np.array([v["x"]]), {"x": FitParameter(1.0, low=1e-3, high=1e3, log=True)})
