"""Tests of pharmsim.model: the composed PK/PD model against closed forms and the issue's invariants."""

import warnings

import numpy as np
import pytest

import pharmsim as ps
from pharmsim.comparison import ceiling_table, displacement_table
from pharmsim.receptor import Endpoint


@pytest.fixture(scope="module")
def lib():
    return ps.load_library()


def kratom_and_morphine(lib, morphine_mg=10.0, grams=2.0, form="tea", oh_percent=None, morphine_time_h=1.0):
    d = ps.Product(form, grams, oh_percent=oh_percent).doses([0.0], library=lib)
    if morphine_mg:
        d = d + ps.dose("morphine", morphine_mg, morphine_time_h, route="iv", library=lib)
    return d


def test_build_model_resolves_sources_and_states_choices(lib):
    m = ps.build_model(kratom_and_morphine(lib), library=lib)
    assert m.compounds == ("MG", "7-OH-MG", "speciociliatine", "morphine")  # the tea product holds speciociliatine
    assert {(x.compound, x.receptor) for x in m.ligands} == {
        ("MG", "MOR"), ("7-OH-MG", "MOR"), ("morphine", "MOR"), ("MG", "DOR"), ("7-OH-MG", "DOR"),
        ("morphine", "DOR")}
    mg_dor = [x for x in m.ligands if x.compound == "MG" and x.receptor == "DOR"][0]
    assert mg_dor.efficacy == 0.0 and "Kruegel 2016" in mg_dor.sources["efficacy"]
    # the DOR choice and the missing morphine DOR affinity are stated, not hidden
    assert any("MG at DOR modelled as a competitive antagonist" in n for n in m.notes)
    assert any("morphine at DOR" in n for n in m.notes)
    table = m.parameter_table()
    assert (table["source"].str.len() > 0).all()


def test_functional_affinity_is_ec50_times_one_plus_tau(lib):
    m = ps.build_model(kratom_and_morphine(lib), library=lib, binding="equilibrium")
    mor = {x.compound: x for x in m.ligands_at("MOR")}
    ec50 = lib.value("EC50", "morphine", "MOR", "nM", pathway="G protein")
    tau = lib.value("tau", "morphine", "MOR", "-", pathway="G protein")
    assert mor["morphine"].K_nM == pytest.approx(ec50 * (1 + tau), rel=1e-12)
    mb = ps.build_model(kratom_and_morphine(lib), library=lib, binding="equilibrium", affinity="binding")
    assert {x.compound: x for x in mb.ligands_at("MOR")}["morphine"].K_nM == pytest.approx(
        lib.value("Ki", "morphine", "MOR", "nM"))


def test_analgesia_gain_reproduces_dahan_c50(lib):
    """data/endpoints.csv: the analgesia gain is derived so that morphine's EC50 equals Dahan 2004's C50."""
    m = ps.build_model(ps.dose("morphine", 10, 0.0, route="iv", library=lib), library=lib, receptors=("MOR",))
    row = ceiling_table(m).query("compound == 'morphine' and endpoint == 'analgesia'").iloc[0]
    fu = lib.value("fu", "morphine", "PK", "fraction")
    c50_total = lib.value("C50", "morphine", "PK", "nM")
    assert row.EC50_unbound_nM / fu == pytest.approx(c50_total, rel=1e-3)


def test_response_is_operational_model_of_simulated_occupancy(lib):
    """Every endpoint's response equals E = Em S/(1 + S), S = sum tau_i B_i, on the simulated occupancies."""
    d = kratom_and_morphine(lib)
    m = ps.build_model(d, library=lib)
    t = np.arange(0, 12.01, 0.5)
    r = ps.simulate(m, d, t)
    for ep in m.endpoints:
        ligs = m.ligands_at(ep.receptor)
        S = sum(lig.efficacy * ep.gain * r.get("occupancy", lig.compound, ep.receptor) for lig in ligs)
        np.testing.assert_allclose(r.get("response", endpoint=ep.name), ep.Em * S / (1 + S), rtol=1e-12, atol=1e-15)


def test_kinetic_converges_to_equilibrium_and_steady_state_is_gaddum(lib):
    """Fast binding (koff 60 /h) tracks Gaddum closely; with a constant infusion both reach the same steady state."""
    d = ps.dose("morphine", 10, 0.0, route="iv", duration_h=200.0, library=lib) + \
        ps.Product("tea", 2.0).doses([0.0], library=lib)
    t = np.concatenate([np.arange(0, 24.01, 0.25), [150.0, 199.0]])
    kin = ps.simulate(ps.build_model(d, library=lib, binding="kinetic"), d, t)
    eq = ps.simulate(ps.build_model(d, library=lib, binding="equilibrium"), d, t)
    for c in ("MG", "7-OH-MG", "morphine"):
        a, b = kin.get("occupancy", c, "MOR"), eq.get("occupancy", c, "MOR")
        assert np.max(np.abs(a - b)) < 2e-3          # lag of a 0.7-min binding half-life behind slow PK
    # a morphine infusion alone reaches a true steady state: kinetic binding equals Gaddum there
    inf = ps.dose("morphine", 10, 0.0, route="iv", duration_h=200.0, library=lib)
    kin = ps.simulate(ps.build_model(inf, library=lib, binding="kinetic", receptors=("MOR",)), inf, t)
    eq = ps.simulate(ps.build_model(inf, library=lib, binding="equilibrium", receptors=("MOR",)), inf, t)
    np.testing.assert_allclose(kin.get("occupancy", "morphine", "MOR")[:, -1],
                               eq.get("occupancy", "morphine", "MOR")[:, -1], rtol=1e-8)


def test_result_does_not_depend_on_output_grid(lib):
    d = kratom_and_morphine(lib)
    m = ps.build_model(d, library=lib)
    t1 = np.arange(0, 24.01, 0.1)
    t2 = np.array([0.0, 0.37, 1.0, 2.9, 6.0, 11.11, 24.0])
    r1, r2 = ps.simulate(m, d, t1), ps.simulate(m, d, t2)
    idx = [int(np.argmin(np.abs(t1 - x))) for x in (0.0, 1.0, 6.0, 24.0)]
    for q, c, rec in (("occupancy", "morphine", "MOR"), ("occupancy", "7-OH-MG", "MOR"), ("plasma_conc", "MG", "-")):
        a = r1.get(q, c, None if rec == "-" else rec)[:, idx]
        b = r2.get(q, c, None if rec == "-" else rec)[:, [0, 2, 4, 6]]
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-10)


def test_stiff_fast_binding_solves_without_warnings(lib):
    fast = lib.with_value("koff_fast_default", "-", "MOR", 1e5, "1/h", source="test: very fast binding")
    d = kratom_and_morphine(fast)
    m = ps.build_model(d, library=fast, receptors=("MOR",))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = ps.simulate(m, d, np.arange(0, 48.01, 0.5))
    eq = ps.simulate(ps.build_model(d, library=lib, receptors=("MOR",), binding="equilibrium"), d,
                     np.arange(0, 48.01, 0.5))
    np.testing.assert_allclose(r.get("occupancy", "morphine", "MOR"), eq.get("occupancy", "morphine", "MOR"),
                               atol=1e-5)


@pytest.mark.parametrize("grams", [0.5, 5.0, 50.0, 500.0])
def test_partial_agonist_ceiling_at_any_dose(lib, grams):
    """MG + 7-OH-MG alone never exceed the larger of their operational Emax, below the full agonist's maximum."""
    d = ps.Product("extract", grams, mg_percent=40.0, oh_percent=2.0).doses([0.0, 6.0, 12.0], library=lib)
    m = ps.build_model(d, library=lib, receptors=("MOR",))
    r = ps.simulate(m, d, np.arange(0, 48.01, 0.25))
    ref = ps.build_model(ps.dose("morphine", 10, 0.0, route="iv", library=lib), library=lib, receptors=("MOR",))
    for ep in m.endpoints:
        taus = [lig.efficacy * ep.gain for lig in m.ligands_at(ep.receptor)]
        ceiling = ep.Em * max(taus) / (1 + max(taus))
        tau_full = [x for x in ref.ligands_at("MOR") if x.compound == "morphine"][0].efficacy * ep.gain
        full_max = ep.Em * tau_full / (1 + tau_full)
        peak = r.get("response", endpoint=ep.name).max()
        assert peak <= ceiling + 1e-12
        assert full_max - peak >= full_max - ceiling - 1e-12 > 0.2


def test_saturating_partial_agonist_lowers_full_agonist_response(lib):
    """Morphine near its maximum at the low-reserve endpoint is pulled down by a large 7-OH-MG occupancy."""
    d_alone = ps.dose("morphine", 60, 0.0, route="iv", library=lib)
    m_alone = ps.build_model(d_alone, library=lib, receptors=("MOR",), binding="equilibrium")
    both = ps.dose("morphine", 60, 0.0, route="iv", library=lib) + \
        ps.Product("extract", 200.0, mg_percent=0.0, oh_percent=50.0).doses([0.0], library=lib)
    m_both = ps.build_model(both, library=lib, receptors=("MOR",), binding="equilibrium")
    t = np.arange(0, 6.01, 0.25)
    alone = ps.simulate(m_alone, d_alone, t).get("response", endpoint="respiratory_depression")
    mixed_r = ps.simulate(m_both, both, t)
    mixed = mixed_r.get("response", endpoint="respiratory_depression")
    occ_oh = mixed_r.get("occupancy", "7-OH-MG", "MOR")
    k = int(np.argmax(occ_oh[0]))
    assert occ_oh[0, k] > 0.5
    assert mixed[0, k] < alone[0, k] - 0.05
    # and the equilibrium displacement curve falls monotonically towards the partial agonist's own Emax
    disp = displacement_table(m_both, "morphine").query("endpoint == 'respiratory_depression'")
    e = disp["response"].to_numpy()
    assert np.all(np.diff(e) <= 1e-12)
    emax_oh = ceiling_table(m_both).query("endpoint == 'respiratory_depression' and compound == '7-OH-MG'").Emax.iloc[0]
    assert e[-1] == pytest.approx(emax_oh, abs=0.02)


def test_tolerance_full_agonist_loses_more_per_unit_analgesia(lib):
    """Repeated dosing: morphine desensitises MOR (arrestin-driven), the partial agonists do not."""
    t = np.arange(0, 7 * 24 + 0.01, 0.5)
    morph = ps.regimen("morphine", 10, 6.0, 28, route="iv", library=lib)
    kratom = ps.Product("tea", 4.0).doses(np.arange(0, 7 * 24, 6.0), library=lib)
    losses = {}
    for name, d in (("morphine", morph), ("kratom", kratom)):
        r = ps.simulate(ps.build_model(d, library=lib, receptors=("MOR",), tolerance="arrestin"), d, t)
        naive = r.get("response_naive", endpoint="analgesia")[0]
        real = r.get("response", endpoint="analgesia")[0]
        assert np.all(real <= naive + 1e-12)
        losses[name] = np.trapezoid(naive - real, t) / np.trapezoid(naive, t)
        if name == "morphine":
            assert r.get("desensitised", endpoint="analgesia")[0, -1] > 0.01
    assert losses["morphine"] > 10 * max(losses["kratom"], 1e-6)


def test_withdrawal_after_stopping(lib):
    t = np.arange(0, 10 * 24 + 0.01, 0.5)
    d = ps.regimen("morphine", 10, 6.0, 20, route="iv", library=lib)
    r = ps.simulate(ps.build_model(d, library=lib, receptors=("MOR",), tolerance="gprotein"), d, t)
    w = r.get("withdrawal", endpoint="analgesia")[0]
    assert w[t < 100].max() < w[t > 140].max()
    assert r.get("net_signal", endpoint="analgesia")[0, t > 150].min() < 0


def test_population_of_identical_subjects_matches_single(lib):
    """Identical subjects reproduce the single subject to machine precision (batched products sum in another order)."""
    d = kratom_and_morphine(lib)
    m = ps.build_model(d, library=lib)
    t = np.arange(0, 12.01, 0.5)
    one = ps.simulate(m, d, t)
    pk_n = m.pk.with_parameters({k: np.full(4, float(v)) for k, v in m.pk.parameters.items()})
    many = ps.simulate(m.with_pk(pk_n), d, t, chunk_size=3)
    table = ps.simulate(m, d, t, population={k: np.full(4, float(v)) for k, v in m.pk.parameters.items()},
                        chunk_size=3)
    assert many.n_subjects == 4
    for s in one.series:
        for res in (many, table):
            np.testing.assert_allclose(res.get(s.quantity, s.compound, s.receptor if s.receptor != "-" else None,
                                               s.endpoint if s.endpoint != "-" else None),
                                       np.repeat(s.values, 4, axis=0), rtol=1e-13, atol=1e-300)


def test_tidy_result_columns_and_units(lib):
    d = kratom_and_morphine(lib)
    r = ps.simulate(ps.build_model(d, library=lib), d, np.arange(0, 6.01, 1.0))
    df = r.tidy()
    assert list(df.columns) == ["subject", "time_h", "quantity", "compound", "receptor", "endpoint", "value", "unit"]
    assert not df["value"].isna().any()
    assert set(df.query("quantity == 'plasma_conc'")["unit"]) == {"nM"}
    assert set(r.summary("response").columns) >= {"median", "p5", "p95"}
    assert (r.endpoint_summary()["peak_response"] <= 1).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"receptors": ("MOR", "KOR")}, "receptors must be one of"),
        ({"binding": "fast"}, r"binding\['MOR'\] must be one of"),
        ({"endpoints": (Endpoint("x", "MOR"), 3)}, "endpoints must be names or Endpoint"),
        ({"tolerance": "yes"}, r"mechanism must be one of 'arrestin', 'gprotein', 'both'; got 'yes'"),
        ({"tolerance": True}, "tolerance must name its mechanism"),
        ({"dor_efficacy": "Gutridge 2020"}, r"dor_efficacy must be a source with a DOR tau row.*'Gutridge 2020'"),
        ({"affinity": "functionnal"}, "affinity must be one of"),
        # a misspelt source key is an error, never silently ignored (the default would stay in place)
        ({"sources": {("Ki", "MG", "MOR"): "Takayama 2002 J Med Chem"}}, r"quantity must be one of 'K', 'tau'.*'K'"),
        ({"sources": {("K", "MG", "mor"): "Takayama 2002 J Med Chem"}}, r"receptor must be one of.*did you mean 'MOR'"),
        ({"sources": {("K", "mitragynne", "MOR"): "Takayama 2002 J Med Chem"}}, r"mitragynne.*did you mean"),
        ({"sources": {("K", "MG", "MOR"): "Takayama 2003"}},
         r"no Ki or Kd of MG at MOR from 'Takayama 2003'.*Takayama 2002"),
        ({"sources": {("K", "naloxone", "MOR"): "x"}}, r"sources name compound\(s\) \['naloxone'\] that are not in"),
        ({"sources": {"K": "x"}}, r"sources keys must be \(quantity, compound, receptor\) tuples"),
    ],
)
def test_bad_model_arguments(lib, kwargs, match):
    with pytest.raises(ps.PharmsimError, match=match):
        ps.build_model(kratom_and_morphine(lib), library=lib, **kwargs)
    if "sources" in kwargs and "Takayama 2003" in str(kwargs["sources"]):
        with pytest.raises(ps.PharmsimError, match=r"no Ki or Kd of MG at MOR from 'Takayama 2003'"):
            ps.build_model(kratom_and_morphine(lib), library=lib, affinity="binding", **kwargs)


def test_bad_simulation_input(lib):
    d = kratom_and_morphine(lib)
    m = ps.build_model(d, library=lib)
    with pytest.raises(ps.PharmsimError, match="strictly increasing"):
        ps.simulate(m, d, [0.0, 2.0, 1.0])
    with pytest.raises(ps.PharmsimError, match="t_h must be >= 0"):
        ps.simulate(m, d, [-1.0, 2.0])
    with pytest.raises(ps.PharmsimError, match="t_h must be a finite number"):
        ps.simulate(m, d, [0.0, np.nan])
    with pytest.raises(ps.PharmsimError, match="DAMGO has no human PK model in the library.*cannot be dosed"):
        ps.build_model(ps.dose("DAMGO", 1.0, 0.0, route="iv", library=lib), library=lib)
    with pytest.raises(ps.PharmsimError, match=r"doses name 'naloxone', which is not a compound of the model"):
        ps.simulate(m, ps.dose("naloxone", 1.0, 0.0, route="iv", library=lib), [0.0, 1.0])
    with pytest.raises(ps.PharmsimError, match=r"unknown route 'im' for morphine"):
        ps.simulate(m, ps.dose("morphine", 1.0, 0.0, route="im", library=lib), [0.0, 1.0])


def test_source_keys_accept_aliases(lib):
    """A compound alias in a source key selects that source (Takayama 2002's guinea-pig Ki of MG at MOR)."""
    doses = ps.Product("tea", 2.0).doses(0.0, library=lib)
    m = ps.build_model(doses, receptors=("MOR",), binding="equilibrium", library=lib,
                       sources={("K", "mitragynine", "MOR"): "Takayama 2002 J Med Chem"})
    mg = next(p for p in m.ligands_at("MOR") if p.compound == "MG")
    assert float(mg.K_nM) == pytest.approx(float(lib.value("Ki", "MG", "MOR", "nM", source="Takayama 2002 J Med Chem")))


def test_equilibrium_binding_is_gaddum_of_exact_effect_sites_on_any_grid(lib):
    """With equilibrium binding (and no tolerance) the model evaluates the exact PK at the output times only:
    occupancies are Gaddum's closed form of the unbound effect-site concentrations, whatever the grid."""
    d = kratom_and_morphine(lib)
    model = ps.build_model(d, binding="equilibrium", library=lib)
    coarse = np.array([0.5, 1.0, 1.7, 3.0, 12.0])
    fine = np.union1d(coarse, np.arange(0.0, 12.01, 0.05))
    rc, rf = ps.simulate(model, d, coarse), ps.simulate(model, d, fine)
    at = np.searchsorted(fine, coarse)
    ligs = model.ligands_at("MOR")
    conc = np.stack([rc.select("effect_conc_unbound", compound=lig.compound)[0].values[0] for lig in ligs], axis=-1)
    K = np.array([float(lig.K_nM) for lig in ligs])
    expected = ps.gaddum_occupancy(conc, K)
    for j, lig in enumerate(ligs):
        got = rc.select("occupancy", compound=lig.compound, receptor="MOR")[0].values[0]
        np.testing.assert_allclose(got, expected[:, j], rtol=1e-12, atol=1e-15)
        fine_v = rf.select("occupancy", compound=lig.compound, receptor="MOR")[0].values[0][at]
        np.testing.assert_allclose(got, fine_v, rtol=1e-10, atol=1e-15)
    for ep in ("analgesia", "respiratory_depression"):
        np.testing.assert_allclose(rc.select("response", endpoint=ep)[0].values[0],
                                   rf.select("response", endpoint=ep)[0].values[0][at], rtol=1e-10, atol=1e-15)
