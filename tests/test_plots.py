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
    # every ligand in its own colour (no black reference any more); the reference is drawn thicker
    colours = {ln.get_color() for ln in [*ref.values(), *by_gid(ax, "response:").values()]}
    assert len(colours) == 4
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


# ------------------------------------------------------------------------------------------ style and colours
from matplotlib.colors import to_hex  # noqa: E402

from pharmsim.style import (  # noqa: E402
    PALETTE,
    STYLES,
    arm_linestyle,
    compound_colour,
    figure_legend,
    get_style,
)


def test_compound_colours_are_stable_for_any_id():
    import pharmsim as ps

    ids = [c.id for c in ps.load_library().compounds()]
    # library compounds take the palette in library order: distinct while the palette lasts
    first = [compound_colour(c) for c in ids[:len(PALETTE)]]
    assert len(set(first)) == len(first)
    assert compound_colour("mitragynine") == compound_colour("MG")          # names and aliases resolve
    # any other id (a compound added later, an illustration) gets a stable palette colour
    assert compound_colour("SNC80-like compound") == compound_colour("SNC80-like compound")
    assert compound_colour("brand new opioid") in PALETTE
    assert compound_colour("all") == get_style().combined_colour
    assert compound_colour("all", "classroom") == STYLES["classroom"].combined_colour
    with pytest.raises(PharmsimError, match="compound must be a compound id"):
        compound_colour(3)


def test_illustrative_names_never_share_a_colour_in_one_figure():
    names = [f"illustrative ligand {i}" for i in range(8)]
    ax = occupancy_curves([Ligand(n, 10.0 * (i + 1), 1.0, receptor="MOR") for i, n in enumerate(names)])
    colours = [ln.get_color() for ln in by_gid(ax, "occupancy:").values()]
    assert len(set(colours)) == len(colours)


def test_styles_and_arm_linestyles():
    assert get_style() is STYLES["default"] and get_style("classroom") is STYLES["classroom"]
    assert get_style(STYLES["classroom"]) is STYLES["classroom"]
    with pytest.raises(PharmsimError, match=r"style must be one of .*did you mean 'classroom'"):
        get_style("clasroom")
    big, small = STYLES["classroom"], STYLES["default"]
    assert all(big.font(k) > small.font(k) for k in small.fonts) and big.line_width > small.line_width
    assert arm_linestyle(0) == "-" and arm_linestyle(1) != arm_linestyle(2)
    with pytest.raises(PharmsimError, match="arm index"):
        arm_linestyle(-1)
    ax = occupancy_curves([REF], style="classroom")
    assert ax.title.get_fontsize() == big.font("title")
    assert by_gid(ax, "occupancy:")["full agonist"].get_linewidth() == big.line_width


def test_figure_legend_sits_above_the_panels():
    fig, axes = plt.subplots(1, 2, layout="constrained")
    for ax in axes:
        ax.plot([0, 1], [0, 1])
        ax.set_title("t")
    leg = figure_legend(fig, compounds=["MG", "morphine"], arms=["a", "b"])
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    assert all(leg.get_window_extent(r).y0 >= ax.get_window_extent(r).y1 - 1 for ax in axes)
    colours = {t.get_text(): to_hex(h.get_color()) for h, t in zip(leg.legend_handles, leg.get_texts(), strict=True)}
    assert colours["MG"] == to_hex(compound_colour("MG"))
    assert figure_legend(fig) is None


def test_marks_on_curves():
    ax = response_curves([PARTIAL], MOR, reference=REF, marks={"partial agonist": (20.0, 10.0, 40.0),
                                                               "full agonist": 2.0})
    dot = by_gid(ax, "reached:")["partial agonist"]
    x, y = dot.get_data()
    assert x[0] == 20.0 and y[0] == pytest.approx(100 * 0.7 * 0.5 / (1 + 0.7 * 0.5))   # E at C = K: tau/2/(1+tau/2)
    assert dot.get_markeredgecolor() == by_gid(ax, "response:")["partial agonist"].get_color()
    bars = [c for c in ax.collections if c.get_gid() == "reached-range:partial agonist"]
    assert len(bars) == 1
    assert "unbound" in ax.get_xlabel()
    ax = occupancy_curves([PARTIAL], marks={"partial agonist": 20.0})
    assert by_gid(ax, "reached:")["partial agonist"].get_ydata()[0] == pytest.approx(50.0)
    with pytest.raises(PharmsimError, match="marks name ligands that are not drawn"):
        response_curves([PARTIAL], MOR, marks={"MG": 1.0})
    with pytest.raises(PharmsimError, match="finite concentration"):
        occupancy_curves([PARTIAL], marks={"partial agonist": -1.0})


@pytest.fixture(scope="module")
def small_study():
    import pharmsim as ps

    lib = ps.load_library()
    kr = ps.Product("tea", 2.0).doses([0.0], library=lib)
    mo = ps.dose("morphine", 10.0, 1.0, route="iv", library=lib)
    study = ps.Study(arms=(ps.Arm("kratom", kr), ps.Arm("morphine", mo), ps.Arm("both", kr + mo)),
                     t_h=np.arange(0.0, 12.01, 0.25), model=ps.ModelOptions(binding="equilibrium"), library=lib)
    return ps.run_study(study)


def test_study_figures_units_log_axis_and_arm_styles(small_study):
    from pharmsim.plots import study_figures

    figs = {name: fig for name, fig, _ in study_figures(small_study, conc_unit="ng/mL", log_y=True)}
    plasma = figs["plasma_conc.png"]
    assert all("ng/mL" in ax.get_ylabel() and ax.get_yscale() == "log" for ax in plasma.axes)
    # line style = arm: arm i is drawn with arm_linestyle(i) in every panel
    for i, ax in enumerate(plasma.axes):
        styles = {ln.get_linestyle() for ln in ax.lines if (ln.get_gid() or "").startswith("plasma_conc_mass:")}
        assert styles == {Line2DStyle(arm_linestyle(i))}
    resp = figs["response.png"]
    for ax in resp.axes:
        assert {ln.get_color() for ln in ax.lines} == {get_style().combined_colour}
        assert len({ln.get_linestyle() for ln in ax.lines}) == len(ax.lines)
    assert any(n.startswith("displacement_") for n in figs)
    with pytest.raises(PharmsimError, match="conc_unit must be one of"):
        study_figures(small_study, conc_unit="mg/L")


def Line2DStyle(ls):
    """The linestyle string matplotlib reports for a dash pattern given to plot()."""
    from matplotlib.lines import Line2D

    return Line2D([], [], linestyle=ls).get_linestyle()
