"""Tests of pharmsim.comparison: the four situations, tables and figures."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

import pharmsim as ps
from pharmsim.comparison import compare_with_full_agonist


@pytest.fixture(scope="module")
def comparison():
    return compare_with_full_agonist(t_end_h=12.0, step_h=0.25)


def test_situations_and_tables(comparison):
    assert {"kratom", "reference", "reference_on_kratom"} <= set(comparison.results)
    peaks = comparison.peaks()
    kr = peaks.query("scenario == 'kratom' and quantity == 'occupancy' and receptor == 'MOR'")
    # at a published human dose (2 g leaf, 39 mg MG) MG and 7-OH-MG occupy only a few percent of MOR
    assert kr["peak"].max() < 0.1
    ceil = comparison.ceilings
    mor = ceil.query("endpoint == 'analgesia'").set_index("compound")
    assert mor.loc["MG", "Emax"] < mor.loc["7-OH-MG", "Emax"] < mor.loc["morphine", "Emax"]
    # closed form: Emax = tau/(1+tau), EC50 = K/(1+tau) for n = 1
    np.testing.assert_allclose(ceil["Emax"], ceil["Em"] * ceil["tau"] / (1 + ceil["tau"]), rtol=1e-12)
    agon = ceil[ceil["tau"] > 0]
    np.testing.assert_allclose(agon["EC50_unbound_nM"], agon["K_nM"] / (1 + agon["tau"]), rtol=1e-9)
    tc = comparison.timecourse()
    assert tc.columns[0] == "scenario" and not tc["value"].isna().any()
    assert not comparison.nca().empty
    assert (comparison.parameters()["source"].str.len() > 0).all()
    # the DOR choice is visible
    assert any("DOR modelled as a competitive antagonist" in n for n in comparison.notes)


def test_figures_are_drawn(comparison):
    figs = comparison.figures()
    assert {"pk_plasma", "occupancy_MOR", "response_timecourse", "ceiling_analgesia", "displacement"} <= set(figs)
    for fig in figs.values():
        assert fig.axes and any(ax.lines for ax in fig.axes)
        plt.close(fig)


def test_time_course_plot_population_band():
    lib = ps.load_library()
    d = ps.Product("tea", 2.0).doses([0.0], library=lib)
    m = ps.build_model(d, library=lib, receptors=("MOR",))
    r = ps.simulate(m, d, np.arange(0, 12.01, 0.5), population={"MG.CL_L_per_h": [150.0, 220.0, 300.0]})
    ax = ps.plots.time_course(r, "occupancy", receptor="MOR", subject=None)
    assert len(ax.collections) == 2 and "median" in ax.get_legend_handles_labels()[1][0]
    with pytest.raises(ps.PharmsimError, match="no series"):
        ps.plots.time_course(r, "occupancy", receptor="DOR")
    plt.close("all")


def test_bad_comparison_input():
    with pytest.raises(ps.PharmsimError, match="reference_time_h must be before t_end_h"):
        compare_with_full_agonist(t_end_h=1.0, reference_time_h=2.0)
    with pytest.raises(ps.PharmsimError, match="product must be a pharmsim Product"):
        compare_with_full_agonist(product="2 g tea")
