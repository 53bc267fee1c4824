"""Titration protocols: ceiling, target, thresholds, carry-over, bad input, figures, model wiring."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from pharmsim.titration import (
    TitrationProtocol,
    TitrationResult,
    closed_form_simulator,
    model_simulator,
    plot_dose_trajectories,
    plot_final_doses,
    titrate,
)
from pharmsim.validate import PharmsimError


def linear_simulator(gain_target, gain_adverse, calls=None):
    """Stand-in without memory: response on each day = gain x that day's dose (hourly grid)."""
    gt, ga = np.asarray(gain_target, float), np.asarray(gain_adverse, float)

    def simulate(schedule, subjects):
        if calls is not None:
            calls.append((schedule.copy(), np.asarray(subjects).copy()))
        M, D = schedule.shape
        t = np.arange(0.0, 24.0 * D + 0.5, 1.0)
        day = np.minimum((t // 24).astype(int), D - 1)
        dose_t = schedule[:, day]
        return t, {"analgesia": gt[subjects][:, None] * dose_t,
                   "respiratory_depression": ga[subjects][:, None] * dose_t}

    return simulate


def protocol(**kw):
    base = dict(start_dose=1.0, step=1.0, ceiling=5.0, days_per_step=3, target=0.5,
                thresholds={"respiratory_depression": 0.3}, unit="g")
    base.update(kw)
    return TitrationProtocol(**base)


def test_stops_at_the_first_level_that_reaches_the_target():
    # subject i reaches target 0.5 at dose >= 0.5 / g_i: g = 0.5 -> 1 g, 0.2 -> 3 g (2.5 rounds up), 0.13 -> 4 g
    g = np.array([0.5, 0.2, 0.13])
    res = titrate(protocol(), linear_simulator(g, np.zeros(3)), 3)
    assert res.final["final_dose"].tolist() == [1.0, 3.0, 4.0]
    assert res.final["reason"].tolist() == ["target"] * 3
    assert res.final["days"].tolist() == [3, 9, 12]
    for subj, rows in res.trajectory.groupby("subject"):
        assert rows["decision"].iloc[-1] == "target"
        assert (rows["decision"].iloc[:-1] == "continue").all()
        assert (rows["target_value"].iloc[:-1] < 0.5).all() and rows["target_value"].iloc[-1] >= 0.5
        assert rows["dose"].max() == res.final.loc[subj, "final_dose"]  # nothing given after the target


def test_never_exceeds_its_ceiling_and_lands_on_it():
    p = protocol(ceiling=3.5, target=10.0)  # unreachable target
    assert p.levels.tolist() == [1.0, 2.0, 3.0, 3.5]
    rng = np.random.default_rng(0)
    res = titrate(p, linear_simulator(rng.uniform(0, 1, 30), np.zeros(30)), 30)
    assert (res.trajectory["dose"] <= 3.5).all()
    assert (res.final["final_dose"] == 3.5).all() and (res.final["reason"] == "ceiling").all()


def test_next_level_that_would_cross_the_threshold_is_not_given():
    # adverse = 0.125 x dose (exact in binary); threshold 0.375 -> 3 g gives exactly 0.375 (allowed: not
    # above), 4 g would give 0.5
    res = titrate(protocol(target=10.0, thresholds={"respiratory_depression": 0.375}),
                  linear_simulator([0.01], [0.125]), 1)
    assert res.final.loc[0, "final_dose"] == 3.0 and res.final.loc[0, "reason"] == "threshold"
    last = res.trajectory.iloc[-1]
    assert last["dose"] == 4.0 and not last["given"] and last["decision"] == "threshold"
    assert last["respiratory_depression_peak"] == 0.5
    given = res.trajectory[res.trajectory["given"]]
    assert (given["respiratory_depression_peak"] <= 0.375).all()
    assert res.final.loc[0, "days"] == 9


def test_start_dose_that_would_cross_gives_nothing():
    res = titrate(protocol(), linear_simulator([1.0], [1.0]), 1)
    assert res.final.loc[0, "final_dose"] == 0.0 and res.final.loc[0, "reason"] == "threshold"
    assert res.final.loc[0, "days"] == 0
    assert not res.trajectory["given"].any()


def test_each_round_simulates_the_whole_history_of_the_subjects_still_titrating():
    calls = []
    g = np.array([0.5, 0.2])
    titrate(protocol(days_per_step=2), linear_simulator(g, np.zeros(2), calls), 2)
    shapes = [c[0].shape for c in calls]
    assert shapes == [(2, 2), (1, 4), (1, 6)]  # subject 0 stops after round 1
    np.testing.assert_array_equal(calls[2][0][0], [1, 1, 2, 2, 3, 3])
    np.testing.assert_array_equal(calls[2][1], [1])


def test_accumulation_carries_over_between_levels():
    """With the closed-form PK stand-in, a long half-life makes a later level's peak depend on earlier levels.

    One compartment, V = 100 L, CL = 1 L/h (t1/2 = 69 h), ka = 2/h; Emax 1, EC50 = 1 (dose units per L).
    The peak of analgesia at 2 units/day after 3 days at 1 unit/day must exceed the peak of 3 days of
    2 units/day from scratch (accumulated drug adds), which this test computes with the same stand-in.
    """
    sim = closed_form_simulator(CL_L_per_h=1.0, V_L=100.0, ka_per_h=2.0,
                                emax_models={"analgesia": (1.0, 1.0), "respiratory_depression": (1.0, 100.0)})
    res = titrate(protocol(target=10.0, ceiling=2.0), sim, 1)
    peak_after_history = res.trajectory.loc[1, "target_value"]
    t, fresh = sim(np.full((1, 3), 2.0), np.array([0]))
    assert peak_after_history > fresh["analgesia"].max() * 1.05
    # closed form check of the stand-in: one dose D at t=0, C(t) = D ka/(V(ka-k)) (e^-kt - e^-ka t)
    t, r = sim(np.array([[5.0]]), np.array([0]))
    k, ka = 0.01, 2.0
    C = 5.0 * ka / (100.0 * (ka - k)) * (np.exp(-k * t) - np.exp(-ka * t))
    np.testing.assert_allclose(r["analgesia"][0], C / (1 + C), rtol=1e-12)


def test_population_of_stand_in_subjects_and_the_final_dose_distribution():
    rng = np.random.default_rng(3)
    n = 40
    sim = closed_form_simulator(CL_L_per_h=10 * np.exp(0.4 * rng.standard_normal(n)), V_L=50.0, ka_per_h=1.0,
                                emax_models={"analgesia": (1.0, 0.5), "respiratory_depression": (1.0, 5.0)})
    p = TitrationProtocol(start_dose=5, step=5, ceiling=40, days_per_step=2, target=0.5,
                          thresholds={"respiratory_depression": 0.12}, unit="mg")
    res = titrate(p, sim, n)
    assert isinstance(res, TitrationResult)
    assert (res.trajectory["dose"] <= 40).all()
    dist = res.final_dose_distribution()
    assert dist["n_subjects"].sum() == n and dist["fraction"].sum() == pytest.approx(1.0)
    assert set(res.final["reason"]) <= {"target", "ceiling", "threshold"}
    summ = res.final_dose_summary()
    assert summ.loc[0, "n_subjects"] == n
    assert summ[["fraction_target", "fraction_ceiling", "fraction_threshold"]].sum(axis=1).iloc[0] == pytest.approx(1)
    fig, axes = plt.subplots(1, 2)
    assert plot_dose_trajectories(res, ax=axes[0]) is axes[0]
    assert plot_final_doses(res, ax=axes[1]) is axes[1]
    plt.close("all")


def test_target_statistic_mean_and_trough():
    res_peak = titrate(protocol(), linear_simulator([0.2], [0.0]), 1)
    res_trough = titrate(protocol(target_statistic="trough"), linear_simulator([0.2], [0.0]), 1)
    assert res_peak.final.loc[0, "final_dose"] == 3.0
    assert res_trough.final.loc[0, "final_dose"] == 3.0  # constant within a day in the linear stand-in


@pytest.mark.parametrize("kw, match", [
    (dict(step=0), r"step must be a finite number > 0 g; got 0"),
    (dict(start_dose=-1), r"start_dose must be a finite number > 0 g; got -1"),
    (dict(ceiling=0.5), r"ceiling must be >= start_dose \(1.0 g\); got 0.5"),
    (dict(days_per_step=0), r"days_per_step must be a whole number of days >= 1; got 0"),
    (dict(days_per_step=1.5), r"days_per_step.*got 1.5"),
    (dict(thresholds={}), r"thresholds must be a non-empty mapping"),
    (dict(thresholds={"respiratory_depression": float("nan")}), r"thresholds\['respiratory_depression'\]"),
    (dict(target_statistic="max"), r"target_statistic must be one of 'peak', 'mean', 'trough'; got 'max'"),
])
def test_bad_protocols_give_clear_errors(kw, match):
    with pytest.raises(PharmsimError, match=match):
        protocol(**kw)


def test_bad_simulators_and_counts_give_clear_errors():
    p = protocol()
    with pytest.raises(PharmsimError, match=r"n_subjects must be a whole number >= 1; got 0"):
        titrate(p, linear_simulator([1.0], [0.0]), 0)
    with pytest.raises(PharmsimError, match="simulate must be a callable"):
        titrate(p, "model", 1)

    def missing(schedule, subjects):
        t = np.arange(0, 24.0 * schedule.shape[1] + 1)
        return t, {"analgesia": np.zeros((schedule.shape[0], t.size))}

    with pytest.raises(PharmsimError, match=r"no endpoint 'respiratory_depression'"):
        titrate(p, missing, 1)

    def short(schedule, subjects):
        t = np.arange(0, 10.0)
        z = np.zeros((schedule.shape[0], t.size))
        return t, {"analgesia": z, "respiratory_depression": z}

    with pytest.raises(PharmsimError, match=r"covering \[0, 72"):
        titrate(p, short, 1)


def test_model_simulator_drives_pharmsim_model():
    """Wiring to pharmsim.model.simulate (2 subjects, 2 levels, equilibrium binding: a smoke test of shapes
    and of the protocol rules on the real model)."""
    from pharmsim.population import Population

    pop = Population(2, covariates={"cyp3a4_inhibitor": ["none", "strong"]})
    sim = model_simulator("leaf powder", population=pop, receptors=("MOR",), binding="equilibrium", step_h=0.5)
    t, out = sim(np.array([[1.0, 2.0], [1.0, 2.0]]), np.array([0, 1]))
    assert t[-1] == pytest.approx(48.0) and out["analgesia"].shape == (2, t.size)
    assert (out["analgesia"] >= 0).all() and (out["respiratory_depression"] <= 1).all()
    # the strong inhibitor lowers 7-OH-MG formation, so analgesia (mostly from 7-OH-MG) is lower
    assert out["analgesia"][1].max() < out["analgesia"][0].max()
    p = TitrationProtocol(start_dose=1.0, step=1.0, ceiling=2.0, days_per_step=1, target=2.0,
                          thresholds={"respiratory_depression": 0.9}, unit="g")
    res = titrate(p, sim, 2)
    assert (res.final["final_dose"] == 2.0).all() and (res.final["reason"] == "ceiling").all()
    with pytest.raises(PharmsimError, match="unit must be 'g' for a product form"):
        model_simulator("leaf powder", unit="mg")
