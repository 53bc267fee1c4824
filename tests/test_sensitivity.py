"""Tests of pharmsim.sensitivity: Sobol' indices against a closed form, Morris screening, the population batch,
PD parameters by model rebuilds, metrics, the tornado figure and bad input.

The known answer: after i.v. boluses of morphine and MG at t = 0 the plasma concentrations at t = 0 are D_m/V_m
and D_g/V_g, so Y = C_m(0) + C_g(0) is an additive function of V_m and V_g, and a clearance has no effect at t = 0.
For an additive Y the Sobol' indices are S1_i = ST_i = Var(D_i/V_i) / sum_j Var(D_j/V_j), with
V ~ U(a, b):        E[1/V] = ln(b/a)/(b - a),            E[1/V^2] = 1/(a b)
V ~ logU(a, b):     E[1/V] = (1/a - 1/b)/ln(b/a),        E[1/V^2] = (1/a^2 - 1/b^2)/(2 ln(b/a)).
"""

import math

import numpy as np
import pandas as pd
import pytest

import pharmsim as ps
from pharmsim.sensitivity import DEFAULT_METRICS, Metric, Range, SensitivityResult, morris, sobol, tornado
from pharmsim.validate import PharmsimError

pytest.importorskip("SALib")

LIB = ps.load_library()
IV = ps.dose("morphine", 10.0, 0.0, route="iv", library=LIB) + ps.dose("MG", 100.0, 0.0, route="iv", library=LIB)
RANGES = {"morphine.V_L": (40.0, 80.0), "MG.V_L": Range(300.0, 900.0, log=True), "morphine.CL_L_per_h": (50.0, 150.0)}


@pytest.fixture(scope="module")
def iv_model():
    return ps.build_model(IV, binding="equilibrium", library=LIB)


def c0_sum(result):
    """C_morphine(0) + C_MG(0), nM."""
    return result.get("plasma_conc", "morphine")[:, 0] + result.get("plasma_conc", "MG")[:, 0]


def var_inverse(D, a, b, log=False):
    if log:
        m1, m2 = (1 / a - 1 / b) / math.log(b / a), (1 / a**2 - 1 / b**2) / (2 * math.log(b / a))
    else:
        m1, m2 = math.log(b / a) / (b - a), 1 / (a * b)
    return D**2 * (m2 - m1**2)


def test_sobol_indices_of_an_additive_model_match_the_closed_form_within_the_stated_error(iv_model):
    """N = 1024 base samples (5120 subjects in one population run). Every S1 and ST lies within its stated
    sampling error (SALib's bootstrap 95 % half-width) of the closed form, and that error is small enough
    (< 0.1) for the check to mean something; the clearance, which cannot act at t = 0, gets exactly 0."""
    res = sobol(iv_model, IV, [0.0, 1.0], RANGES, metrics={"C0": c0_sum}, n=1024, rng=np.random.default_rng(7))
    assert isinstance(res, SensitivityResult) and res.n_evaluations == 1024 * (3 + 2)
    D_m, D_g = IV.amount_nmol
    v = {"morphine.V_L": var_inverse(D_m, 40.0, 80.0), "MG.V_L": var_inverse(D_g, 300.0, 900.0, log=True)}
    truth = {k: x / sum(v.values()) for k, x in v.items()}
    assert 0.2 < truth["morphine.V_L"] < 0.8                     # both inputs matter: a real test
    t = res.table().set_index(["parameter", "index"])
    for p, s in truth.items():
        for index in ("S1", "ST"):
            value, conf = t.loc[(p, index), ["value", "conf"]]
            assert conf < 0.1, (p, index, conf)
            assert abs(value - s) <= conf, (p, index, value, s, conf)
    for index in ("S1", "ST"):
        assert t.loc[("morphine.CL_L_per_h", index), "value"] == pytest.approx(0.0, abs=1e-12)
    # the population batch kept each row's parameters with its subject: outputs are D/V of the samples
    X, Y = res.samples, res.outputs
    np.testing.assert_allclose(Y["C0"], D_m / X["morphine.V_L"] + D_g / X["MG.V_L"], rtol=1e-12)
    assert X["MG.V_L"].between(300.0, 900.0).all() and X["morphine.V_L"].between(40.0, 80.0).all()
    # log-uniform: the samples of MG.V_L are uniform in log (median at the geometric mean, not the middle)
    assert abs(np.median(np.log(X["MG.V_L"])) - math.log(math.sqrt(300 * 900))) < 0.05


def test_population_batch_equals_one_simulation_per_row_on_the_kinetic_model():
    """Default metrics of the kratom + morphine model (kinetic binding, streaming path): the batched design
    gives, row by row, what simulate gives for that row's parameters alone (rel 1e-6, the binding tolerance)."""
    doses = ps.Product("tea", 2.0).doses(0.0, library=LIB) + ps.dose("morphine", 10.0, 2.0, route="iv", library=LIB)
    model = ps.build_model(doses, library=LIB)
    t = np.arange(0.0, 12.01, 0.25)
    ranges = {"7-OH-MG.CL_L_per_h": (20.0, 100.0), "morphine.CL_L_per_h": (50.0, 150.0)}
    res = sobol(model, doses, t, ranges, n=8, rng=np.random.default_rng(1), rtol=1e-8, atol=1e-12)
    assert res.metrics == tuple(m.name for m in DEFAULT_METRICS)
    assert res.n_evaluations == 8 * 4
    for i in (0, 13, 31):
        row = res.samples.iloc[i]
        alone = ps.simulate(model.with_pk(model.pk.with_parameters(row.to_dict())), doses, t, rtol=1e-8, atol=1e-12)
        for m in DEFAULT_METRICS:
            assert res.outputs.iloc[i][m.name] == pytest.approx(m(alone)[0], rel=1e-6), (i, m.name)


def test_morris_screening_of_the_additive_model(iv_model):
    a = morris(iv_model, IV, [0.0, 1.0], RANGES, metrics={"C0": c0_sum}, trajectories=10, rng=np.random.default_rng(2))
    b = morris(iv_model, IV, [0.0, 1.0], RANGES, metrics={"C0": c0_sum}, trajectories=10, rng=np.random.default_rng(2))
    assert a.method == "morris" and a.n_evaluations == 10 * (3 + 1)
    pd.testing.assert_frame_equal(a.indices, b.indices)
    t = a.table().set_index(["parameter", "index"])["value"]
    for p in ("morphine.V_L", "MG.V_L"):
        # C = D/V falls with V: every elementary effect is negative, so mu = -mu*
        assert t[(p, "mu_star")] > 0 and t[(p, "mu")] == pytest.approx(-t[(p, "mu_star")], rel=1e-12)
    assert t[("morphine.CL_L_per_h", "mu_star")] == 0.0 and t[("morphine.CL_L_per_h", "sigma")] == 0.0
    # elementary effects in nM per range: for morphine V in [40, 80] the mean |slope| of D/V is between the
    # slopes at the ends, D/40^2 and D/80^2 (nM/L), times the range (40 L)
    D_m = IV.amount_nmol[0]
    assert D_m / 80**2 * 40 < t[("morphine.V_L", "mu_star")] < D_m / 40**2 * 40


def test_pd_parameters_are_varied_by_rebuilding_the_model(iv_model):
    """K of a ligand, its efficacy and an endpoint's gain: each run equals simulate with those values set."""
    ranges = {"MOR.morphine.K_nM": (300.0, 3000.0), "MOR.morphine.efficacy": (5.0, 20.0),
              "analgesia.gain": (1.0, 5.0), "morphine.CL_L_per_h": (50.0, 150.0)}
    t = np.linspace(0.0, 6.0, 13)
    res = morris(iv_model, IV, t, ranges, trajectories=3, rng=np.random.default_rng(5))
    from dataclasses import replace

    for i in (0, 5, 11):
        x = res.samples.iloc[i]
        lig = replace(iv_model.ligand("morphine", "MOR"), K_nM=x["MOR.morphine.K_nM"],
                      efficacy=x["MOR.morphine.efficacy"])
        m = iv_model.with_ligand(lig).with_pk(iv_model.pk.with_parameters({"morphine.CL_L_per_h":
                                                                           x["morphine.CL_L_per_h"]}))
        m = replace(m, endpoints=tuple(replace(e, gain=x["analgesia.gain"]) if e.name == "analgesia" else e
                                       for e in m.endpoints))
        alone = ps.simulate(m, IV, t)
        for metric in DEFAULT_METRICS:
            assert res.outputs.iloc[i][metric.name] == pytest.approx(metric(alone)[0], rel=1e-12), (i, metric.name)
    with pytest.raises(PharmsimError, match=r"over 15 distinct values, so it needs 15 models, over max_models = 10"):
        morris(iv_model, IV, t, ranges, trajectories=4, rng=np.random.default_rng(5), max_models=10)


def test_metrics_read_the_result():
    t = np.array([0.0, 1.0, 3.0])
    series = (ps.Series("occupancy", "A", "MOR", "-", "fraction", np.array([[0.0, 0.2, 0.1]])),
              ps.Series("occupancy", "B", "MOR", "-", "fraction", np.array([[0.0, 0.1, 0.3]])),
              ps.Series("response", "all", "MOR", "analgesia", "fraction of Em", np.array([[0.0, 0.5, 0.1]])))
    r = ps.Result(t_h=t, series=series)
    assert Metric("peak", "occupancy", receptor="MOR")(r)[0] == pytest.approx(0.4)        # summed, at 3 h
    assert Metric("peak", "occupancy", "A", "MOR")(r)[0] == 0.2
    assert Metric("auc", "response", endpoint="analgesia")(r)[0] == pytest.approx(0.25 + 0.6)
    assert Metric("mean", "response", endpoint="analgesia")(r)[0] == pytest.approx(0.85 / 3)
    assert Metric("time_of_peak", "response", endpoint="analgesia")(r)[0] == 1.0
    assert Metric("min", "occupancy", "B", "MOR")(r)[0] == 0.0
    assert Metric("final", "occupancy", "B", "MOR")(r)[0] == 0.3
    assert Metric("auc", "response", endpoint="analgesia").unit == "fraction of Em x h"
    with pytest.raises(PharmsimError, match=r"needs exactly one response series.*found 0"):
        Metric("peak", "response", endpoint="respiratory_depression")(r)
    with pytest.raises(PharmsimError, match=r"statistic must be one of .*got 'max'"):
        Metric("max", "occupancy")


def test_tornado_figure(iv_model):
    from matplotlib.figure import Figure

    res = sobol(iv_model, IV, np.linspace(0.0, 6.0, 13), RANGES, n=16, rng=np.random.default_rng(0))
    fig = tornado(res)
    assert isinstance(fig, Figure) and len(fig.axes) == len(DEFAULT_METRICS)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()][-1] == \
        res.table().query("metric == 'peak MOR occupancy' and index == 'ST'").sort_values("value")["parameter"].iloc[-1]
    assert len(res.tornado("AUC analgesia").axes) == 1
    with pytest.raises(PharmsimError, match=r"metric must be one of.*got 'AUC'"):
        res.tornado("AUC")


def test_bad_input_names_the_parameter_and_value(iv_model):
    rng = np.random.default_rng(0)
    with pytest.raises(PharmsimError, match=r"ranges names 'morphine.V'.*did you mean 'morphine.V_L'"):
        sobol(iv_model, IV, [0.0, 1.0], {"morphine.V": (1.0, 2.0)}, n=8, rng=rng)
    with pytest.raises(PharmsimError, match=r"n must be a power of 2, >= 8.*e.g. 512; got 500"):
        sobol(iv_model, IV, [0.0, 1.0], RANGES, n=500, rng=rng)
    with pytest.raises(PharmsimError, match=r"rng must be a numpy.random.Generator.*got 1"):
        sobol(iv_model, IV, [0.0, 1.0], RANGES, n=8, rng=1)
    with pytest.raises(PharmsimError, match=r"Range must have low < high; got low=2.0, high=1.0"):
        sobol(iv_model, IV, [0.0, 1.0], {"morphine.V_L": (2.0, 1.0)}, n=8, rng=rng)
    with pytest.raises(PharmsimError, match=r"Range.low must be > 0 for a log-uniform range"):
        Range(0.0, 1.0, log=True)
    with pytest.raises(PharmsimError, match=r"binding at MOR is at equilibrium, koff has no effect"):
        sobol(iv_model, IV, [0.0, 1.0], {"MOR.morphine.koff_per_h": (1.0, 2.0)}, n=8, rng=rng)
    with pytest.raises(PharmsimError, match=r"a metric given as a callable needs a name"):
        sobol(iv_model, IV, [0.0, 1.0], RANGES, n=8, rng=rng, metrics=[lambda r: r.get("plasma_conc", "MG")[:, 0]])
    with pytest.raises(PharmsimError, match=r"population= cannot be given"):
        sobol(iv_model, IV, [0.0, 1.0], RANGES, n=8, rng=rng, population={"MG.V_L": [1.0]})
    with pytest.raises(PharmsimError, match=r"levels must be an even whole number"):
        morris(iv_model, IV, [0.0, 1.0], RANGES, levels=3, rng=rng)
    with pytest.raises(PharmsimError, match=r"MG.V_L must be a finite number > 0 L"):
        sobol(iv_model, IV, [0.0, 1.0], {"MG.V_L": (-10.0, 10.0)}, n=8, rng=rng)
