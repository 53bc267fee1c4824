"""Tests of pharmsim.comparison's study findings: peaks, concentrations reached, displacement closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pharmsim as ps
from pharmsim.comparison import (
    Reached,
    displacement_summary,
    peak_table,
    reached_concentrations,
    reference_ligand,
    study_findings,
)
from pharmsim.receptor import Endpoint, Ligand, operational_mixture

# illustrative values (not library defaults): the closed forms are what is tested
FULL = Ligand("full", 100.0, 30.0, receptor="MOR")
PART = Ligand("part", 20.0, 0.8, receptor="MOR")
ANTA = Ligand("anta", 5.0, 0.0, receptor="MOR")
EP = Endpoint("ep", "MOR", gain=2.0)


def reached(**conc):
    return {k: Reached(k, v, v, v, "arm") for k, v in conc.items()}


def test_crossover_and_half_occupancy_closed_forms():
    d = displacement_summary([FULL, PART, ANTA], [EP], "full", reached(full=5.0, part=3.0, anta=1.0))
    p = d.set_index("partial_agonist")
    tr, tp = 30.0 * 2, 0.8 * 2
    assert p.loc["part", "crossover_reference_nM"] == pytest.approx(100.0 * tp / (tr - tp), rel=1e-12)
    assert p.loc["part", "crossover_occupancy"] == pytest.approx(0.8 / 30.0, rel=1e-12)   # gain-free efficacy ratio
    assert p.loc["part", "half_occupancy_partial_nM"] == pytest.approx(20.0 * (1 + 5.0 / 100.0), rel=1e-12)
    # at that concentration the partial agonist holds exactly half of the receptors (Gaddum)
    x_r, x_p = 5.0 / 100.0, p.loc["part", "half_occupancy_partial_nM"] / 20.0
    assert x_p / (1 + x_r + x_p) == pytest.approx(0.5, rel=1e-12)
    assert p.loc["anta", "crossover_reference_nM"] == 0.0 and p.loc["anta", "effect"] == "lowers"
    # responses agree with the operational model of the mixture
    E = operational_mixture(np.array([5.0, 3.0]), [100.0, 20.0], [tr, tp])
    assert p.loc["part", "response_with_partial"] == pytest.approx(float(E), rel=1e-12)
    assert p.loc["part", "response_partial_ceiling"] == pytest.approx(tp / (1 + tp), rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(c_ref=st.floats(1e-3, 1e4), c_p=st.floats(1e-3, 1e4), n=st.floats(0.5, 2.5))
def test_the_sign_of_the_change_is_set_by_the_crossover(c_ref, c_p, n):
    ep = Endpoint("ep", "MOR", gain=2.0, n=n)
    row = displacement_summary([FULL, PART], [ep], "full", reached(full=c_ref, part=c_p)).iloc[0]
    diff = row.response_with_partial - row.response_reference_alone
    if abs(c_ref - row.crossover_reference_nM) < 1e-6 * row.crossover_reference_nM or abs(diff) < 1e-12:
        return
    # below the crossover the partial agonist adds, above it lowers, whatever its own concentration and slope n
    assert (diff > 0) == (c_ref < row.crossover_reference_nM)
    assert row.effect == ("adds" if diff > 0 else "lowers")


def test_reference_and_bad_reference():
    assert reference_ligand([PART, FULL, ANTA]) is FULL
    assert reference_ligand([ANTA]) is None
    with pytest.raises(ps.PharmsimError, match="reference must be one of the ligands"):
        displacement_summary([FULL, PART], [EP], "fulll")


@pytest.fixture(scope="module")
def population_run():
    lib = ps.load_library()
    d = ps.Product("tea", 2.0).doses([0.0], library=lib)
    spec = ps.PopulationSpec(n=40, seed=3, omega={"MG.CL_L_per_h": 0.3})
    study = ps.Study(arms=(ps.Arm("kratom", d),), t_h=np.arange(0.0, 12.01, 0.25), population=spec,
                     model=ps.ModelOptions(binding="equilibrium", receptors=("MOR",)), library=lib)
    return ps.run_study(study)


def test_peaks_of_a_population_show_spread(population_run):
    peaks = peak_table(population_run.results)
    mg = peaks[(peaks["quantity"] == "plasma_conc") & (peaks["compound"] == "MG")].iloc[0]
    direct = population_run.results["kratom"].get("plasma_conc", compound="MG").max(axis=1)
    assert mg.peak_median == pytest.approx(np.median(direct))
    assert mg.peak_p05 < mg.peak_median < mg.peak_p95 and mg.n_subjects == 40
    r = reached_concentrations(peaks)
    assert set(r) >= {"MG", "7-OH-MG"} and r["MG"].arm == "kratom"
    f = study_findings(population_run)
    assert not f.warnings                                 # variability given: no warning
    assert any("5th-95th percentile" in c for c in f.conclusions)


def test_a_population_without_variability_is_reported():
    lib = ps.load_library()
    d = ps.Product("tea", 2.0).doses([0.0], library=lib)
    study = ps.Study(arms=(ps.Arm("kratom", d),), t_h=np.arange(0.0, 6.01, 0.5), population=ps.PopulationSpec(n=5),
                     model=ps.ModelOptions(binding="equilibrium", receptors=("MOR",)), library=lib)
    f = study_findings(ps.run_study(study))
    assert len(f.warnings) == 1 and "All 5 virtual subjects are identical" in f.warnings[0]
    assert "population.omega" in f.warnings[0]
