"""The one engine, pharmsim.solve.simulate: accuracy against a tight reference, invariants of its paths, the
choice of outputs, and the limits it checks before solving."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import pharmsim as ps
from pharmsim import solve
from pharmsim.solve import check_run

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO.parent / "shared" / "bench"
LN2 = float(np.log(2.0))


@pytest.fixture(scope="module")
def lib():
    return ps.load_library()


# ------------------------------------------------------------------------------------------------ W1
def w1_library(lib, p):
    """W1 (shared/bench/W1.md) as library overrides: the catalogue path a user takes to change numbers."""
    rows = [  # (quantity, compound, target, value, unit, pathway)
        ("n_compartments", "morphine", "PK", 1, "-", "-"),
        ("CL", "MG", "PK", p["CL"], "L/h", "-"), ("Vc", "MG", "PK", p["Vc"], "L", "-"),
        ("Q", "MG", "PK", p["Q"], "L/h", "-"), ("Vp", "MG", "PK", p["Vp"], "L", "-"),
        ("fu", "MG", "PK", p["fu_MG"], "fraction", "-"), ("t_half_ke0", "MG", "PK", LN2 / p["ke0_MG"], "h", "-"),
        ("ka", "MG", "oral", p["ka"], "1/h", "-"), ("F", "MG", "oral", p["F"], "fraction", "-"),
        ("tlag", "MG", "oral", 0.0, "h", "-"),
        ("CL", "7-OH-MG", "PK", p["CLm"], "L/h", "-"), ("V", "7-OH-MG", "PK", p["Vm"], "L", "-"),
        ("fu", "7-OH-MG", "PK", p["fu_OH"], "fraction", "-"),
        ("t_half_ke0", "7-OH-MG", "PK", LN2 / p["ke0_OH"], "h", "-"), ("fm", "7-OH-MG", "PK", p["fm"], "fraction", "-"),
        ("presystemic_formation", "7-OH-MG", "MG", 0, "-", "CYP3A4"),
        ("CL", "morphine", "PK", p["CLx"], "L/h", "-"), ("V", "morphine", "PK", p["Vx"], "L", "-"),
        ("fu", "morphine", "PK", p["fu_X"], "fraction", "-"),
        ("t_half_ke0", "morphine", "PK", LN2 / p["ke0_X"], "h", "-"),
        ("ka", "morphine", "oral", p["kax"], "1/h", "-"), ("F", "morphine", "oral", p["F_X"], "fraction", "-"),
        ("gain", "-", "analgesia", 1.0, "fraction", "G protein"), ("Em", "-", "analgesia", p["Em"], "fraction",
                                                                   "G protein"),
        ("Em", "-", "DOR_signal", p["Em"], "fraction", "G protein"),
    ]
    for r, tag in (("MOR", "m"), ("DOR", "d")):
        for cid, w in (("MG", "MG"), ("7-OH-MG", "OH"), ("morphine", "X")):
            rows += [("kon", cid, r, p[f"kon_{tag}_{w}"], "1/(nM*h)", "-"),
                     ("koff", cid, r, p[f"koff_{tag}_{w}"], "1/h", "-"),
                     ("tau", cid, r, p[f"tau_{tag}_{w}"], "-", "G protein"),
                     ("Ki", cid, r, p[f"koff_{tag}_{w}"] / p[f"kon_{tag}_{w}"], "nM", "-")]
    for quantity, c, target, value, unit, pathway in rows:
        lib = lib.with_value(quantity, c, target, value, unit, pathway=pathway, source="W1")
    return lib


@pytest.mark.skipif(not (BENCH / "w1_reference.py").exists(), reason="shared/bench (W1 peers) not present")
def test_w1_through_the_catalogue_meets_the_w1_accuracy(lib):
    """W1 built from library rows (build_model), with W1's per-subject draws as a parameter table, matches the
    tight scipy reference (LSODA rtol 1e-8) to W1's criterion with a margin of 10."""
    sys.path.insert(0, str(BENCH))
    try:
        import w1_reference as ref
    finally:
        sys.path.remove(str(BENCH))
    w1 = w1_library(lib, ref.TYPICAL)
    doses = ps.Doses()
    compound = {"Ag": "MG", "Mg": "morphine"}
    for t, depot, amount in ref.w1_doses("B"):
        doses = doses + ps.dose(compound[depot], amount, t, unit="nmol", route="oral", library=w1)
    model = ps.build_model(doses, endpoints=("analgesia", "DOR_signal"), affinity="binding", library=w1)
    assert model.pk.compound("morphine").n_compartments == 1 and not model.pk.conversions[0].presystemic
    pop = ref.population(3, seed=2024)
    names = {"CL": "MG.CL_L_per_h", "Vc": "MG.V_L", "ka": "MG.oral.ka_per_h", "CLm": "7-OH-MG.CL_L_per_h",
             "fm": "7-OH-MG.fm"}
    table = {names[k]: v for k, v in pop.items()}
    r = ps.simulate(model, doses, ref.GRID_H, population=table)
    order = {"C_MG": ("plasma_conc", "MG", None, None), "C_OH": ("plasma_conc", "7-OH-MG", None, None),
             "C_X": ("plasma_conc", "morphine", None, None), "E_mu": ("response", None, "MOR", "analgesia"),
             "E_delta": ("response", None, "DOR", "DOR_signal")}
    for rec, tag in (("MOR", "m"), ("DOR", "d")):
        for cid, w in (("MG", "MG"), ("7-OH-MG", "OH"), ("morphine", "X")):
            order[f"B{tag}_{w}"] = ("occupancy", cid, rec, None)
    ours = np.stack([r.get(*order[n]) for n in ref.OUTPUTS], axis=-1)
    tight = ref.simulate_population(pop, ref.w1_doses("B"))
    rel_c, abs_be = ref.compare(ours, tight)
    assert rel_c <= 1e-5 and abs_be <= 1e-6                          # W1 asks 1e-4 and 1e-5


# ------------------------------------------------------------------------------------------------ invariants
def kratom_morphine(lib):
    return ps.Product("tea", 2.0).doses([0.0, 12.0], library=lib) + ps.dose("morphine", 10.0, 2.0, route="iv",
                                                                            library=lib)


@pytest.mark.parametrize("binding,tolerance", [("kinetic", False), ("equilibrium", "gprotein"),
                                                   ("kinetic", "both")])
def test_results_do_not_depend_on_chunks_or_threads(lib, binding, tolerance):
    d = kratom_morphine(lib)
    m = ps.build_model(d, binding=binding, tolerance=tolerance, library=lib)
    pop = ps.Population(7, omega={"MG.CL_L_per_h": 0.3, "morphine.CL_L_per_h": 0.3}, rng=3)
    t = np.arange(0.0, 30.01, 0.5)
    one = ps.simulate(m, d, t, population=pop)
    for kw in ({"chunk_size": 2}, {"chunk_size": 3, "workers": 2}, {"workers": 2}, {"workers": 2, "split": 3}):
        kw = dict(kw)
        with pytest.MonkeyPatch.context() as mp:      # a one-chunk population split over threads (7 >= 3 x 2)
            mp.setattr(solve, "MIN_SUBJECTS_PER_THREAD", kw.pop("split", solve.MIN_SUBJECTS_PER_THREAD))
            other = ps.simulate(m, d, t, population=pop, **kw)
        for a, b in zip(one.series, other.series, strict=True):
            np.testing.assert_allclose(b.values, a.values, rtol=1e-12, atol=1e-14, err_msg=f"{kw} {a.quantity}")


def test_outputs_keep_only_what_is_asked_and_change_nothing(lib):
    d = kratom_morphine(lib)
    m = ps.build_model(d, library=lib)
    t = np.arange(0.0, 24.01, 0.25)
    full = ps.simulate(m, d, t)
    part = ps.simulate(m, d, t, outputs=ps.Outputs(quantities=("occupancy", "plasma_conc"), receptors=("MOR",),
                                                   compounds=("morphine", "7-OH-MG")))
    assert {(s.quantity, s.compound, s.receptor) for s in part.series} == {
        ("plasma_conc", "7-OH-MG", "-"), ("plasma_conc", "morphine", "-"), ("occupancy", "7-OH-MG", "MOR"),
        ("occupancy", "morphine", "MOR")}
    for s in part.series:
        np.testing.assert_array_equal(s.values, full.get(s.quantity, s.compound, None if s.receptor == "-"
                                                         else s.receptor))
    # PK only: no receptor is computed, so no mesh either
    pk_only = ps.simulate(m, d, t, outputs="plasma_conc")
    assert pk_only.quantities == ("plasma_conc",) and "exact PK at the output times" in pk_only.notes[-1]
    with pytest.raises(ps.PharmsimError, match="outputs: quantity must be one of.*did you mean 'occupancy'"):
        ps.simulate(m, d, t, outputs="ocupancy")
    with pytest.raises(ps.PharmsimError, match="outputs select nothing"):
        ps.simulate(m, d, t, outputs=ps.Outputs(receptors=("KOR",), quantities=("occupancy",)))


def test_equilibrium_and_kinetic_paths_agree_when_binding_is_fast(lib):
    fast = lib.with_value("koff_fast_default", "-", "MOR", 1e4, "1/h", source="test")
    d = kratom_morphine(fast)
    t = np.arange(0.0, 24.01, 0.5)
    kin = ps.simulate(ps.build_model(d, receptors=("MOR",), library=fast), d, t)
    eq = ps.simulate(ps.build_model(d, receptors=("MOR",), binding="equilibrium", library=fast), d, t)
    assert "streaming" in kin.notes[-1] and "exact-at-outputs" in eq.notes[-1]
    for c in ("MG", "7-OH-MG", "morphine"):
        np.testing.assert_allclose(kin.get("occupancy", c, "MOR"), eq.get("occupancy", c, "MOR"), atol=2e-5)


def test_population_table_joins_by_parameter_name(lib):
    d = ps.dose("morphine", 10.0, 0.0, route="iv", library=lib)
    m = ps.build_model(d, receptors=("MOR",), binding="equilibrium", library=lib)
    t = np.linspace(0, 6, 13)
    cl = m.pk.parameters["morphine.CL_L_per_h"]
    r = ps.simulate(m, d, t, population={"morphine.CL_L_per_h": [cl, 2 * cl]})
    c = r.get("plasma_conc", "morphine")
    one = ps.simulate(m, d, t).get("plasma_conc", "morphine")[0]
    np.testing.assert_allclose(c[0], one, rtol=1e-13)
    assert np.all(c[1, 1:] < c[0, 1:])                                   # faster clearance, lower exposure
    with pytest.raises(ps.PharmsimError, match=r"population column 'morphine.CL' .*did you mean"):
        ps.simulate(m, d, t, population={"morphine.CL": [1.0, 2.0]})
    pop = ps.Population(2, omega={"MG.CL_L_per_h": 0.2}, rng=1)
    with pytest.raises(ps.PharmsimError, match=r"varies \['MG.CL_L_per_h'\].*strict=False"):
        ps.simulate(m, d, t, population=pop)
    assert ps.simulate(m, d, t, population=pop, strict=False).n_subjects == 2


# ------------------------------------------------------------------------------------------------ limits
def test_size_limits_are_checked_before_solving_and_name_the_knob(lib):
    d = ps.dose("morphine", 10.0, 0.0, route="iv", library=lib)
    m = ps.build_model(d, receptors=("MOR",), library=lib)
    pop = ps.Population(200_000, rng=1)
    with pytest.raises(ps.PharmsimError, match=r"would take .* MB .*200,000 subjects.*max_output_mb"):
        ps.simulate(m, d, np.arange(0, 24.01, 0.1), population=pop)
    with pytest.raises(ps.PharmsimError, match=r"mesh would need about .* nodes .*max_step_h"):
        ps.simulate(m, d, np.array([0.0, 1e6]))
    with pytest.raises(ps.PharmsimError, match=r"mesh would need about"):
        check_run(m, d, np.array([0.0, 1e12]))
    sizes = check_run(m, d, np.arange(0, 24.01, 0.5))
    assert sizes["path"] == "streaming" and sizes["nodes_estimate"] >= 49
    for name, bad in (("chunk_size", 0), ("chunk_size", "3"), ("workers", 1.5), ("max_nodes", True)):
        with pytest.raises(ps.PharmsimError, match=rf"{name} must be a whole number"):
            ps.simulate(m, d, [0.0, 1.0], **{name: bad})


def test_michaelis_menten_formation_is_linear_at_low_and_zero_order_at_high_concentration(lib):
    """Closed forms (Michaelis & Menten 1913): formation rate Vmax C/(Km + C) -> (Vmax/Km) C for C << Km, and
    -> Vmax for C >> Km. A parent in a constant-concentration state (a large volume) forms its metabolite at
    exactly that rate."""
    comps = (ps.CompoundPK("P", 300.0, 1, (), effect_site=False), ps.CompoundPK("M", 300.0, 1, (), effect_site=False))
    base = {"P.CL_L_per_h": 0.0, "P.V_L": 1e9, "P.fu": 1.0, "M.CL_L_per_h": 0.0, "M.V_L": 10.0, "M.fu": 1.0}
    vmax, km = 500.0, 100.0                                               # nmol/h, nM
    for conc in (1e-3, 1e5):                                              # C << Km and C >> Km
        params = {**base, "M.Vmax_form_nmol_per_h": vmax, "M.Km_form_nM": km}
        pk = ps.PKModel(comps, (ps.Conversion("P", "M", kinetics="michaelis-menten"),), params)
        assert not pk.is_linear
        d = ps.Doses(time_h=[0.0], compound=("P",), route=("iv",), amount_nmol=[conc * 1e9])
        s = ps.solve_pk(pk, [0.0, 1.0, 2.0], d)
        rate = np.diff(s.amount("M.central")[0])                          # nmol formed per hour
        expected = vmax * conc / (km + conc)
        np.testing.assert_allclose(rate, expected, rtol=1e-6)
        if conc < km:
            np.testing.assert_allclose(rate, vmax / km * conc, rtol=1e-4)   # linear: formation clearance Vmax/Km
        else:
            np.testing.assert_allclose(rate, vmax, rtol=1e-3)                 # zero order
        np.testing.assert_allclose(s.in_body_nmol()[0], conc * 1e9, rtol=1e-9)   # mass is conserved


def test_the_default_chunk_bounds_step_matrix_memory_and_changes_no_number(monkeypatch):
    """With per-subject PK the streamed path cuts its default chunk so that the chunks' step matrices stay
    within _STEP_MATRIX_MB (at least 1,000 subjects a chunk); the outputs equal one chunk of everyone's."""
    import pharmsim.solve as solve_mod

    lib = ps.load_library()
    d = ps.Product("tea", 2.0).doses(0.0, library=lib) + ps.dose("morphine", 10.0, 2.0, route="iv", library=lib)
    m = ps.build_model(d, library=lib)
    pop = ps.Population(1300, omega={"MG.CL_L_per_h": 0.3, "morphine.CL_L_per_h": 0.3}, rng=3)
    t = np.arange(0.0, 8.01, 0.5)
    chunks = []
    orig = solve_mod._chunk_for_memory
    monkeypatch.setattr(solve_mod, "_STEP_MATRIX_MB", 1e-3)
    monkeypatch.setattr(solve_mod, "_chunk_for_memory", lambda *a: chunks.append(orig(*a)) or chunks[-1])
    cut = ps.simulate(m, d, t, population=pop, workers=1)
    assert chunks == [1000]
    whole = ps.simulate(m, d, t, population=pop, workers=1, chunk_size=1300)
    assert len(chunks) == 1                                   # an explicit chunk_size is kept
    for a, b in zip(cut.series, whole.series, strict=True):
        np.testing.assert_allclose(a.values, b.values, rtol=1e-12, atol=0)


@pytest.mark.parametrize("binding", ["equilibrium", "kinetic"])
def test_interleaved_lag_groups_write_each_subject_to_its_own_column(lib, binding):
    """Subjects with different absorption lags are solved in lag groups whose members need not be neighbours
    (here 0, 2, 4, 6 and 1, 3, 5); each subject's outputs equal its own run (the writer once indexed the columns of
    such a group as if they were contiguous and failed, or with as many members as series, wrote a diagonal)."""
    d = kratom_morphine(lib)
    m = ps.build_model(d, binding=binding, library=lib)
    t = np.arange(0.0, 24.01, 0.5)
    lag = np.array([0.0, 0.5, 0.0, 0.5, 0.0, 0.5, 0.0])
    table = {"MG.tea.tlag_h": lag, "MG.CL_L_per_h": m.pk.parameters["MG.CL_L_per_h"] * np.linspace(0.6, 1.4, 7)}
    r = ps.simulate(m, d, t, population=table)
    tol = {"equilibrium": dict(rtol=1e-12, atol=1e-14), "kinetic": dict(rtol=1e-5, atol=1e-8)}[binding]
    for i in range(lag.size):
        one = ps.simulate(m, d, t, population={k: v[i:i + 1] for k, v in table.items()})
        for a, b in zip(r.series, one.series, strict=True):
            np.testing.assert_allclose(a.values[i], b.values[0], err_msg=f"subject {i} {a.quantity}", **tol)
