"""Tests of pharmsim.plots (curve figures): returned Axes, curves, labels, legends, marks, bad input."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from pharmsim.plots import FONT_SIZES, occupancy_curves, response_curves, style_axes  # noqa: E402
from pharmsim.receptor import Endpoint, Ligand, endpoint_ec50_emax, hill_occupancy  # noqa: E402
from pharmsim.validate import PharmsimError  # noqa: E402

# Illustrative values only (not library defaults): shapes of the curves are what is tested.
REF = Ligand("full agonist", 2.0, 50.0, receptor="MOR")
PARTIAL = Ligand("partial agonist", 20.0, 0.7, receptor="MOR", source="illustration")
WEAK = Ligand("weak partial", 200.0, 0.3, receptor="MOR")
ANTAGONIST = Ligand("antagonist", 5.0, 0.0, receptor="MOR")
MOR = Endpoint("GTPgS readout", "MOR", gain=1.0)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def by_gid(ax, prefix):
    return {ln.get_gid().split(":", 1)[1]: ln for ln in ax.get_lines() if (ln.get_gid() or "").startswith(prefix)}


def test_occupancy_curves_new_axes():
    ax = occupancy_curves([REF, PARTIAL, WEAK])
    curves = by_gid(ax, "occupancy:")
    assert set(curves) == {"full agonist", "partial agonist", "weak partial"}
    # the drawn data are the Hill-Langmuir occupancy in %
    x, y = curves["partial agonist"].get_data()
    np.testing.assert_allclose(y, 100 * hill_occupancy(x, 20.0), rtol=1e-12)
    assert x.min() == pytest.approx(1e-3) and x.max() == pytest.approx(1e6)  # K 2..200 nM, decades rounded out, +-3
    assert set(by_gid(ax, "K:")) == set(curves)
    assert ax.get_xscale() == "log"
    assert "nM" in ax.get_xlabel() and "%" in ax.get_ylabel()
    assert ax.get_title() == "Receptor occupancy at MOR"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(legend) == 3
    assert legend[0] == "full agonist (K = 2 nM)"
    assert "source: illustration" in legend[1]
    assert ax.title.get_fontsize() == FONT_SIZES["title"]
    assert ax.xaxis.label.get_fontsize() == FONT_SIZES["label"]


def test_occupancy_curves_draws_into_given_axes():
    fig, axes = plt.subplots(1, 2)
    out = occupancy_curves([REF], ax=axes[1], conc_range_nM=(0.1, 100.0), n_points=50, percent=False, title="T")
    assert out is axes[1]
    assert len(axes[0].get_lines()) == 0
    x, y = by_gid(out, "occupancy:")["full agonist"].get_data()
    assert len(x) == 50 and x[0] == pytest.approx(0.1) and x[-1] == pytest.approx(100.0)
    assert y.max() <= 1.0
    assert out.get_title() == "T"
    # default legend sits under the axes, clear of the curves; any matplotlib location can be asked for
    fig.canvas.draw()
    assert out.get_legend().get_window_extent().y1 <= out.get_window_extent().y0
    ax2 = occupancy_curves([REF], legend_loc="upper left")
    ax2.figure.canvas.draw()
    assert ax2.get_legend().get_window_extent().y1 > ax2.get_window_extent().y0
    assert out.figure is fig


def test_response_curves_reference_ceilings_and_antagonist():
    ax = response_curves([PARTIAL, WEAK, ANTAGONIST], MOR, reference=REF, mark_ec50=True)
    ref = by_gid(ax, "reference:")
    assert set(ref) == {"full agonist"}
    assert ref["full agonist"].get_color() == "black"
    assert ref["full agonist"].get_linewidth() > max(ln.get_linewidth() for ln in by_gid(ax, "response:").values())
    curves = by_gid(ax, "response:")
    assert set(curves) == {"partial agonist", "weak partial", "antagonist"}
    # partial agonists' ceilings at their own Emax (in % of Em); none for the reference or the antagonist
    ceilings = by_gid(ax, "emax:")
    assert set(ceilings) == {"partial agonist", "weak partial"}
    assert ceilings["partial agonist"].get_ydata()[0] == pytest.approx(100 * 0.7 / 1.7, rel=1e-12)
    assert ceilings["partial agonist"].get_color() == curves["partial agonist"].get_color()
    # the drawn curve approaches its ceiling
    assert curves["partial agonist"].get_ydata()[-1] == pytest.approx(100 * 0.7 / 1.7, rel=1e-3)
    # antagonist: flat at zero, dotted, labelled as such
    assert np.all(curves["antagonist"].get_ydata() == 0.0)
    assert curves["antagonist"].get_linestyle() == ":"
    # EC50 marks at (EC50, Emax/2)
    ec50 = by_gid(ax, "ec50:")
    assert set(ec50) == {"full agonist", "partial agonist", "weak partial"}
    e, m = endpoint_ec50_emax(PARTIAL, MOR)
    assert ec50["partial agonist"].get_xdata()[0] == pytest.approx(e)
    assert ec50["partial agonist"].get_ydata()[0] == pytest.approx(50 * m)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(legend) == 4
    assert legend[0].startswith("full agonist (reference; τ = 50")
    assert "Emax = 41% of Em" in legend[1]
    assert "antagonist (τ = 0: antagonist, no response)" in legend
    assert "Emax 41%" in [t.get_text() for t in ax.texts]
    assert ax.get_xscale() == "log" and "nM" in ax.get_xlabel() and "Em" in ax.get_ylabel()
    assert "GTPgS readout (MOR, gain 1)" in ax.get_title()


def test_response_curves_into_given_axes_high_gain_and_depletion():
    fig, ax = plt.subplots()
    high = Endpoint("analgesia", "MOR", gain=100.0)
    out = response_curves([PARTIAL], high, ax=ax)
    assert out is ax
    # high gain: the partial agonist is near full, so no ceiling is marked
    assert by_gid(ax, "emax:") == {}
    fig2, ax2 = plt.subplots()
    response_curves([REF], MOR.depleted(0.01), ax=ax2, percent=False)
    assert set(by_gid(ax2, "emax:")) == {"full agonist"}  # depletion made it partial: ceiling marked
    assert "1% of receptors left" in ax2.get_title()
    assert "units of Em" in ax2.get_ylabel()


def test_style_axes():
    fig, ax = plt.subplots()
    ax.plot([1, 2], [3, 4], label="a")
    out = style_axes(ax, title="t", xlabel="time (h)", ylabel="conc (nM)")
    assert out is ax
    assert ax.get_legend() is not None
    assert ax.yaxis.label.get_fontsize() == FONT_SIZES["label"]
    fig, ax = plt.subplots()
    style_axes(ax, title="empty")
    assert ax.get_legend() is None


def test_plots_bad_input():
    with pytest.raises(PharmsimError, match=r"ligands must contain at least one Ligand"):
        occupancy_curves([])
    with pytest.raises(PharmsimError, match=r"ligands\[1\] must be a pharmsim.receptor.Ligand; got 'MG'"):
        occupancy_curves([REF, "MG"])
    with pytest.raises(PharmsimError, match=r"conc_range_nM must be two concentrations.*got \(10.0, 1.0\)"):
        occupancy_curves([REF], conc_range_nM=(10.0, 1.0))
    with pytest.raises(PharmsimError, match=r"conc_range_nM must be a finite number > 0 nM; got -1"):
        occupancy_curves([REF], conc_range_nM=(-1.0, 1.0))
    with pytest.raises(PharmsimError, match=r"n_points must be an integer >= 2; got 1"):
        occupancy_curves([REF], n_points=1)
    with pytest.raises(PharmsimError, match=r"ax must be a matplotlib Axes or None; got str"):
        occupancy_curves([REF], ax="axes")
    with pytest.raises(PharmsimError, match=r"endpoint must be a pharmsim.receptor.Endpoint; got str"):
        response_curves([REF], "analgesia")
    with pytest.raises(PharmsimError, match=r"ligand 'MG' has values for receptor 'DOR'"):
        response_curves([Ligand("MG", 10.0, 0.0, receptor="DOR")], MOR)
