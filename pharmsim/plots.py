"""Every figure: receptor-occupancy and concentration-response curves, time courses, studies, comparisons.

Every plotting function takes an optional matplotlib ``Axes`` (a new figure is made if none is given),
draws into it and returns it; nothing here calls ``plt.show()`` or saves files. The rules of
:mod:`pharmsim.style` hold everywhere: **colour = compound** (:func:`pharmsim.style.compound_colour`, the
same in every figure), **line style = arm** (:func:`pharmsim.style.arm_linestyle`), legends outside the data
and clear of the teaching-and-research footer, units on every axis, occupancy and responses in **percent**
(of receptors, of the endpoint's maximum Em; the CSV tables keep fractions and say so in their ``unit``
column). ``style="classroom"`` gives large fonts and thick lines for a projector.

Every artist drawn for a compound carries a ``gid`` ``"<kind>:<compound>[:<detail>]"`` (``"occupancy:MG"``,
``"plasma_conc:morphine:arm name"``; ``"all"`` for a response to every ligand together), so that tests and
notebooks can find curves by what they show.

Curves are closed-form (:mod:`pharmsim.receptor`), so computing them here is cheap and exact.

Not for: solving time courses (plots never solve ODEs; pass a finished result), or choosing parameter
values (build :class:`pharmsim.receptor.Ligand` objects from :mod:`pharmsim.library`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from .receptor import Endpoint, Ligand, endpoint_ec50_emax, endpoint_response, hill_occupancy, tau_at
from .style import DISCLAIMER as _DISCLAIMER
from .style import (
    PALETTE,
    Style,
    _library_order,
    arm_linestyle,
    compound_colour,
    figure_legend,
    get_style,
)
from .style import footer as _style_footer
from .validate import PharmsimError, require_choice, require_count, require_instance, require_positive

__all__ = [
    "DISCLAIMER",
    "FONT_SIZES",
    "CONC_UNITS",
    "comparison_figures",
    "concentration_response_figure",
    "displacement_figure",
    "footer",
    "occupancy_curves",
    "response_curves",
    "study_figures",
    "style_axes",
    "time_course",
]

DISCLAIMER = _DISCLAIMER

#: Font sizes (points) of the default style (:data:`pharmsim.style.STYLES`); chosen to stay legible on a screen.
FONT_SIZES = dict(get_style().fonts)

#: Kept for code that draws a reference in black; pharmsim's own figures draw every compound in its colour.
REFERENCE_STYLE = {"color": "black", "linewidth": 3.5, "linestyle": "-", "zorder": 5}

#: Concentration units of plasma time courses: nM (``plasma_conc``) or ng/mL (``plasma_conc_mass``).
CONC_UNITS = {"nM": "plasma_conc", "ng/mL": "plasma_conc_mass"}

_PARTIAL_THRESHOLD = 0.95  # Emax/Em below which a ligand's ceiling is marked


def style_axes(
    ax: Axes,
    *,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    legend: bool = True,
    legend_loc: str = "best",
    grid: bool = True,
    style: str | Style | None = None,
) -> Axes:
    """Apply a pharmsim style (:func:`pharmsim.style.get_style`, default ``"default"``) to ``ax`` and return it.

    Sets title and axis labels (when given) at the style's font sizes, enlarges tick labels, adds a light
    grid, and draws a legend of the labelled artists (if any and ``legend`` is true). ``legend_loc``
    is any matplotlib legend location, or ``"below"`` for a legend under the axes (clear of the curves;
    use with a constrained-layout figure).
    """
    if not isinstance(ax, Axes):
        raise PharmsimError(f"ax must be a matplotlib Axes or None; got {type(ax).__name__}")
    st = get_style(style)
    if title is not None:
        ax.set_title(title, fontsize=st.font("title"), color=st.text_colour)
    if xlabel is not None:
        ax.set_xlabel(xlabel, fontsize=st.font("label"), color=st.text_colour)
    if ylabel is not None:
        ax.set_ylabel(ylabel, fontsize=st.font("label"), color=st.text_colour)
    ax.tick_params(axis="both", which="major", labelsize=st.font("tick"), colors=st.text_colour,
                   width=st.axes_line_width)
    for spine in ax.spines.values():
        spine.set_linewidth(st.axes_line_width)
    if grid:
        ax.grid(True, which="major", alpha=st.grid_alpha)
    handles, labels = ax.get_legend_handles_labels()
    if legend and handles:
        if legend_loc == "below":
            wide = max(len(line) for lab in labels for line in str(lab).splitlines()) > 44
            ax.legend(handles, labels, fontsize=st.font("legend"), loc="upper center", bbox_to_anchor=(0.5, -0.14),
                      ncols=1 if wide else min(2, len(handles)), frameon=False)
        else:
            ax.legend(handles, labels, fontsize=st.font("legend"), loc=legend_loc, framealpha=0.9)
    return ax


def footer(fig, style: str | Style | None = None) -> None:
    """The teaching-and-research statement under the figure (:func:`pharmsim.style.footer`)."""
    _style_footer(fig, style)


# --------------------------------------------------------------------------------------------------
# internal helpers
# --------------------------------------------------------------------------------------------------


def _axes(ax: Axes | None, style: Style, size=(9.0, 6.0)) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=style.figsize(*size), layout="constrained")
        return ax
    if not isinstance(ax, Axes):
        raise PharmsimError(f"ax must be a matplotlib Axes or None; got {type(ax).__name__}")
    return ax


def _ligands(ligands, name: str = "ligands") -> tuple[Ligand, ...]:
    if isinstance(ligands, Ligand):
        return (ligands,)
    if not isinstance(ligands, Sequence) or isinstance(ligands, str):
        raise PharmsimError(f"{name} must be a sequence of pharmsim.receptor.Ligand; got {ligands!r}")
    if len(ligands) == 0:
        raise PharmsimError(f"{name} must contain at least one Ligand; got an empty sequence")
    for i, lig in enumerate(ligands):
        if not isinstance(lig, Ligand):
            raise PharmsimError(f"{name}[{i}] must be a pharmsim.receptor.Ligand; got {lig!r}")
    return tuple(ligands)


def _base(name: str) -> str:
    """The compound of a drawn name: ``'MG [arm what-if]'`` is MG as one arm has it."""
    return name.split(" [", 1)[0]


def _colours(names: Sequence[str], style: Style) -> dict[str, str]:
    """Colours of ``names``: the compound's own colour (:func:`pharmsim.style.compound_colour`); names that are
    not compounds of the library (illustrations) take free palette colours when their hashed ones collide."""
    order, aliases = _library_order()
    out, used = {}, set()
    for n in names:
        base = _base(n)
        if base in order or base in aliases:
            out[n] = compound_colour(base, style)
            used.add(out[n])
    for n in names:
        if n in out:
            continue
        c = compound_colour(_base(n), style)
        if c in used:
            c = next((p for p in PALETTE if p not in used), c)
        out[n] = c
        used.add(c)
    return out


_MAX_POINTS = 100_000   # points per curve: far beyond what a figure can show


def _grid(conc_range_nM, default_lo: float, default_hi: float, n_points: int) -> np.ndarray:
    if isinstance(n_points, bool) or not isinstance(n_points, (int, np.integer)) or n_points < 2:
        raise PharmsimError(f"n_points must be an integer >= 2; got {n_points!r}")
    if n_points > _MAX_POINTS:
        raise PharmsimError(f"n_points must be an integer <= {_MAX_POINTS:,} (points per curve); got {n_points:,}")
    if conc_range_nM is None:
        lo, hi = default_lo, default_hi
    else:
        rng = require_positive("conc_range_nM", conc_range_nM, "nM")
        if rng.shape != (2,) or not rng[0] < rng[1]:
            raise PharmsimError(
                f"conc_range_nM must be two concentrations (low, high) in nM with 0 < low < high; got {conc_range_nM!r}"
            )
        lo, hi = float(rng[0]), float(rng[1])
    return np.geomspace(lo, hi, int(n_points))


def _decade_range(values) -> tuple[float, float]:
    """From 3 decades below the smallest to 3 decades above the largest value, rounded to decades."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    return 10.0 ** (np.floor(np.log10(v.min())) - 3), 10.0 ** (np.ceil(np.log10(v.max())) + 3)


def _label(lig: Ligand, detail: str) -> str:
    text = f"{lig.name} ({detail})"
    return f"{text}\n  source: {lig.source}" if lig.source else text


def _receptor_of(ligands: Sequence[Ligand]) -> str | None:
    receptors = {lig.receptor for lig in ligands if lig.receptor is not None}
    return receptors.pop() if len(receptors) == 1 else None


def _mark_value(mark):
    """(median, low, high) of a mark: a number, a (median, low, high) tuple or a Reached."""
    if hasattr(mark, "median"):
        return float(mark.median), float(mark.p05), float(mark.p95)
    if isinstance(mark, (tuple, list)):
        if len(mark) != 3:
            raise PharmsimError(f"a mark must be a concentration (nM) or (median, low, high); got {mark!r}")
        return tuple(float(x) for x in mark)
    v = float(mark)
    return v, v, v


def _check_marks(marks, ligands) -> dict:
    marks = dict(marks or {})
    unknown = sorted(set(marks) - {lig.name for lig in ligands})
    if unknown:
        raise PharmsimError(f"marks name ligands that are not drawn: {unknown}; drawn: {[x.name for x in ligands]}")
    for m in marks.values():
        if any(not np.isfinite(v) or v < 0 for v in _mark_value(m)):
            raise PharmsimError(f"a mark must be a finite concentration >= 0 nM; got {m!r}")
    return marks


def _draw_mark(ax, name: str, mark, y_of, color: str, st: Style) -> None:
    """A white ring on a curve at the concentration ``mark`` (a bar over its low..high range)."""
    med, lo, hi = _mark_value(mark)
    y = y_of(med)
    if hi > lo:
        bar = ax.hlines(y, lo, hi, color=color, linewidth=st.line_width * 1.6, alpha=0.55, zorder=6,
                        label="_nolegend_")
        bar.set_gid(f"reached-range:{name}")
    (dot,) = ax.plot([med], [y], marker="o", markersize=st.line_width * 4, markerfacecolor="white",
                     markeredgecolor=color, markeredgewidth=st.line_width * 0.9, linestyle="none", zorder=7,
                     label="_nolegend_")
    dot.set_gid(f"reached:{name}")


def _mark_legend_entry(ax, label: str, st: Style) -> None:
    ax.plot([], [], marker="o", markersize=st.line_width * 4, markerfacecolor="white", markeredgecolor="0.2",
            markeredgewidth=st.line_width * 0.9, linestyle="none", label=label)


# --------------------------------------------------------------------------------------------------
# equilibrium curves
# --------------------------------------------------------------------------------------------------


def occupancy_curves(
    ligands: Sequence[Ligand],
    ax: Axes | None = None,
    conc_range_nM: tuple[float, float] | None = None,
    *,
    n_points: int = 300,
    mark_K: bool = True,
    percent: bool = True,
    title: str | None = None,
    legend_loc: str = "below",
    marks: Mapping | None = None,
    mark_label: str = "peak unbound concentration after the simulated doses (5-95 % range)",
    style: str | Style | None = None,
) -> Axes:
    """Receptor occupancy of each ligand alone versus concentration (log scale), one curve per ligand.

    p = C / (C + K) (Hill-Langmuir, slope 1), each ligand on its own (not competing).

    Parameters
    ----------
    ligands : sequence of Ligand
        Ligands at one receptor.
    ax : matplotlib Axes, optional
        Axes to draw into; a new figure is made if None.
    conc_range_nM : (low, high), optional
        Concentration range in nM; default 3 decades either side of the K values.
    n_points : int
        Points per curve.
    mark_K : bool
        Mark each K (half occupancy) with a dotted vertical line.
    percent : bool
        Occupancy in % of receptors (True) or as a fraction.
    title : str, optional
        Default "Receptor occupancy at <receptor>".
    legend_loc : str
        Legend location (see :func:`style_axes`); default ``"below"``, under the axes, clear of the curves.
    marks : mapping, optional
        ``{ligand name: concentration}`` as in :func:`response_curves`: a ring on the curve at that
        concentration (the peak after the simulated doses), with a bar over its 5-95 % range.
    mark_label : str
        Legend text of the marks.
    style : str or Style, optional
        ``"default"`` or ``"classroom"`` (:mod:`pharmsim.style`).

    Returns
    -------
    matplotlib.axes.Axes
        Curves carry ``gid`` "occupancy:<name>", K marks "K:<name>", concentration marks "reached:<name>"; each
        compound in its colour.
    """
    ligands = _ligands(ligands)
    st = get_style(style)
    ax = _axes(ax, st)
    marks = _check_marks(marks, ligands)
    extent = [lig.K_nM for lig in ligands] + [v for m in marks.values() for v in _mark_value(m) if v > 0]
    C = _grid(conc_range_nM, *_decade_range(extent), n_points)
    scale = 100.0 if percent else 1.0
    colours = _colours([lig.name for lig in ligands], st)
    for lig in ligands:
        color = colours[lig.name]
        (line,) = ax.plot(C, scale * hill_occupancy(C, lig.K_nM), color=color, linewidth=st.line_width,
                          label=_label(lig, f"K = {lig.K_nM:.3g} nM"))
        line.set_gid(f"occupancy:{lig.name}")
        if mark_K:
            mark = ax.axvline(lig.K_nM, color=color, linestyle=":", linewidth=1.5, label="_nolegend_")
            mark.set_gid(f"K:{lig.name}")
        if lig.name in marks:
            _draw_mark(ax, lig.name, marks[lig.name], lambda c, lig=lig: scale * float(hill_occupancy(c, lig.K_nM)),
                       color, st)
    if marks:
        _mark_legend_entry(ax, mark_label, st)
    if mark_K:
        ax.axhline(0.5 * scale, color="grey", linestyle=":", linewidth=1.0, label="_nolegend_")
    ax.set_xscale("log")
    ax.set_ylim(-0.02 * scale, 1.05 * scale)
    receptor = _receptor_of(ligands)
    default_title = "Receptor occupancy" + (f" at {receptor}" if receptor else "")
    return style_axes(
        ax,
        title=default_title if title is None else title,
        xlabel="unbound concentration (nM, log scale)" if marks else "concentration (nM, log scale)",
        ylabel="receptor occupancy (% of receptors)" if percent else "receptor occupancy (fraction)",
        legend_loc=legend_loc,
        style=st,
    )


def response_curves(
    ligands: Sequence[Ligand],
    endpoint: Endpoint,
    ax: Axes | None = None,
    reference: Ligand | None = None,
    conc_range_nM: tuple[float, float] | None = None,
    *,
    n_points: int = 300,
    mark_emax: bool = True,
    mark_ec50: bool = False,
    percent: bool = True,
    title: str | None = None,
    legend_loc: str = "below",
    marks: Mapping | None = None,
    mark_label: str = "peak unbound concentration after the simulated doses (5-95 % range)",
    style: str | Style | None = None,
) -> Axes:
    """Concentration-response curves (operational model) of each ligand alone at one endpoint.

    E = Em tau^n C^n / ((K + C)^n + tau^n C^n) with tau = efficacy * gain * receptor_fraction
    (Black & Leff 1983, doi:10.1098/rspb.1983.0093). Every ligand is drawn in its compound's colour; the
    full-agonist ``reference`` is drawn thicker; the Emax ceiling of every partial agonist (Emax < 95 % of
    Em) is marked with a dashed line in its colour; a zero-efficacy ligand (antagonist) is drawn as a flat
    dotted line at zero so that a choice such as "DOR efficacy = 0" stays visible on the figure.

    Parameters
    ----------
    ligands : sequence of Ligand
        Ligands at the endpoint's receptor.
    endpoint : Endpoint
        The system (gain, Em, slope, receptor fraction).
    ax : matplotlib Axes, optional
        Axes to draw into; a new figure is made if None.
    reference : Ligand, optional
        Full-agonist reference (e.g. DAMGO, morphine, fentanyl).
    conc_range_nM : (low, high), optional
        Concentration range in nM; default 3 decades either side of the K and EC50 values.
    n_points : int
        Points per curve.
    mark_emax : bool
        Mark the ceilings of partial agonists.
    mark_ec50 : bool
        Mark each curve's EC50 (a dot at half its Emax).
    percent : bool
        Response in % of the system maximum Em (True) or in the units of Em.
    title : str, optional
        Default "<endpoint> (<receptor>, gain g): concentration-response".
    legend_loc : str
        Legend location (see :func:`style_axes`); default ``"below"``, under the axes, clear of the curves.
    marks : mapping, optional
        ``{ligand name: concentration}`` (nM; a number, ``(median, low, high)`` or a
        :class:`pharmsim.comparison.Reached`): a ring on the ligand's curve at that concentration, with a
        horizontal bar over ``low..high``; used for the concentrations the simulated doses reach.
    mark_label : str
        Legend text of the marks.
    style : str or Style, optional

    Returns
    -------
    matplotlib.axes.Axes
        Curves carry ``gid`` "response:<name>" (reference: "reference:<name>"), ceilings
        "emax:<name>", EC50 marks "ec50:<name>", concentration marks "reached:<name>".
    """
    ligands = _ligands(ligands)
    if not isinstance(endpoint, Endpoint):
        raise PharmsimError(f"endpoint must be a pharmsim.receptor.Endpoint; got {type(endpoint).__name__}")
    if reference is not None and not isinstance(reference, Ligand):
        raise PharmsimError(f"reference must be a pharmsim.receptor.Ligand or None; got {reference!r}")
    st = get_style(style)
    ax = _axes(ax, st)
    drawn = ([reference] if reference is not None else []) + list(ligands)
    summaries = [(lig, tau_at(lig, endpoint), *endpoint_ec50_emax(lig, endpoint)) for lig in drawn]
    marks = _check_marks(marks, drawn)
    scale = (100.0 if percent else 1.0) / (endpoint.Em if percent else 1.0)
    extent = [lig.K_nM for lig in drawn] + [s[2] for s in summaries if np.isfinite(s[2])]
    extent += [v for m in marks.values() for v in _mark_value(m) if v > 0]
    C = _grid(conc_range_nM, *_decade_range(extent), n_points)
    colours = _colours([lig.name for lig in drawn], st)

    for i, (lig, tau, ec50, emax) in enumerate(summaries):
        is_ref = reference is not None and i == 0
        color = colours[lig.name]
        E = scale * endpoint_response(C[:, None], [lig], endpoint)
        emax_pct = 100.0 * emax / endpoint.Em
        detail = "τ = 0: antagonist, no response" if tau == 0.0 else f"τ = {tau:.3g}, Emax = {emax_pct:.0f}% of Em"
        if is_ref:
            detail = "reference; " + detail
            style_kw = {"color": color, "linewidth": st.reference_line_width, "linestyle": "-", "zorder": 5}
        else:
            style_kw = {"color": color, "linewidth": st.line_width, "linestyle": ":" if tau == 0.0 else "-"}
        (line,) = ax.plot(C, E, label=_label(lig, detail), **style_kw)
        line.set_gid(f"{'reference' if is_ref else 'response'}:{lig.name}")
        if mark_emax and tau > 0.0 and emax_pct < 100 * _PARTIAL_THRESHOLD:
            ceiling = ax.axhline(scale * emax, color=color, linestyle="--", linewidth=1.5, label="_nolegend_")
            ceiling.set_gid(f"emax:{lig.name}")
            ax.annotate(f"Emax {emax_pct:.0f}%", xy=(1.0, scale * emax), xycoords=("axes fraction", "data"),
                        xytext=(-4, 3), textcoords="offset points", ha="right", va="bottom", color=color,
                        fontsize=st.font("annotation"))
        if mark_ec50 and tau > 0.0:
            (dot,) = ax.plot([ec50], [scale * emax / 2], marker="o", markersize=8, color=color, linestyle="none",
                             label="_nolegend_")
            dot.set_gid(f"ec50:{lig.name}")
        if lig.name in marks:
            _draw_mark(ax, lig.name, marks[lig.name],
                       lambda c, lig=lig: float(scale * endpoint_response(np.array([[c]]), [lig], endpoint)[0]),
                       color, st)
    if marks:
        _mark_legend_entry(ax, mark_label, st)

    ax.set_xscale("log")
    top = 100.0 if percent else endpoint.Em
    ax.set_ylim(-0.02 * top, 1.05 * top)
    gain = f"gain {endpoint.gain:g}"
    if endpoint.receptor_fraction < 1.0:
        gain += f", {100 * endpoint.receptor_fraction:.3g}% of receptors left"
    default_title = f"{endpoint.name} ({endpoint.receptor}, {gain}): concentration-response"
    return style_axes(
        ax,
        title=default_title if title is None else title,
        xlabel="unbound concentration (nM, log scale)" if marks else "concentration (nM, log scale)",
        ylabel="response (% of system maximum Em)" if percent else "response (units of Em)",
        legend_loc=legend_loc,
        style=st,
    )


# --------------------------------------------------------------------------------------------------
# time courses of simulation results (plots never solve: they draw a Result)
# --------------------------------------------------------------------------------------------------

_QUANTITY_LABELS = {
    "plasma_conc": "plasma conc., total (nM)",
    "plasma_conc_mass": "plasma conc., total (ng/mL)",
    "effect_conc_unbound": "unbound effect-site conc. (nM)",
    "occupancy": "occupancy (% of receptors)",
    "response": "response (% of Em)",
    "response_naive": "response, no desensitisation (% of Em)",
    "desensitised": "desensitised (% of receptors)",
    "counter_adaptation": "counter-adaptation (% of max.)",
    "net_signal": "net signal (% of Em)",
    "withdrawal": "withdrawal read-out (% of Em)",
}
_PERCENT = {"occupancy", "response", "response_naive", "desensitised", "counter_adaptation", "net_signal",
            "withdrawal"}


def _series_label(s) -> str:
    return ":".join(x for x in (s.compound, s.receptor, s.endpoint) if x not in ("-", "all"))


def time_course(result, quantity: str, *, compound: str | None = None, receptor: str | None = None,
                endpoint: str | None = None, subject: int | None = 0, ax: Axes | None = None,
                label_prefix: str = "", title: str | None = None, log_y: bool = False, band: bool = True,
                style: str | Style | None = None, gid_suffix: str = "", **line_kw) -> Axes:
    """Draw every series of ``quantity`` in ``result`` (optionally filtered) against time.

    Each series is drawn in its compound's colour (a response to every ligand together in the style's
    combined colour) unless ``color`` is given. With ``subject=None`` and more than one subject, the
    population median is drawn with its 5-95 % band (``band=True``). Percent-type quantities (occupancy,
    responses) are shown in %. ``line_kw`` go to ``Axes.plot`` (e.g. ``linestyle`` for an arm). Lines carry
    ``gid`` ``"<quantity>:<compound>"`` (+ ``":" + gid_suffix``). Returns the Axes.
    """
    from .result import Result  # noqa: PLC0415

    st = get_style(style)
    require_instance("result", result, Result, "a pharmsim Result (pharmsim.simulate(...))")
    if not isinstance(quantity, str):
        raise PharmsimError(f"quantity must be one of {list(result.quantities)}; got {quantity!r}")
    if subject is not None:
        subject = require_count("subject", subject, minimum=0, maximum=max(result.n_subjects - 1, 0),
                                unit="(subject index)")
    ax = _axes(ax, st)
    series = result.select(quantity, compound, receptor, endpoint)
    if not series:
        raise PharmsimError(f"no series of quantity {quantity!r} with compound={compound!r}, receptor={receptor!r}, "
                            f"endpoint={endpoint!r} in the result")
    scale = 100.0 if quantity in _PERCENT else 1.0
    for s in series:
        label = label_prefix + _series_label(s)
        kw = {"lw": st.line_width, "color": compound_colour(s.compound, st)}
        kw.update(line_kw)
        gid = f"{quantity}:{s.compound}" + (f":{gid_suffix}" if gid_suffix else "")
        if subject is None and s.values.shape[0] > 1:
            lo, med, hi = np.percentile(s.values * scale, [5, 50, 95], axis=0)
            (line,) = ax.plot(result.t_h, med, label=f"{label} (median)", **kw)
            if band:
                fill = ax.fill_between(result.t_h, lo, hi, color=line.get_color(), alpha=0.2, lw=0)
                fill.set_gid(gid + ":band")
        else:
            (line,) = ax.plot(result.t_h, s.values[subject or 0] * scale, label=label, **kw)
        line.set_gid(gid)
    if log_y:
        ax.set_yscale("log")
    return style_axes(ax, title=title, xlabel="time (h)", ylabel=_QUANTITY_LABELS.get(quantity, quantity), style=st)


# ------------------------------------------------------------------------------------------------ studies
def _panels(n: int, style: Style, width: float = 6.0, height: float = 5.2, sharey: bool = False, rows: int = 1):
    w = min(width * n, 20.0)
    return plt.subplots(rows, n, figsize=style.figsize(w, height * rows), squeeze=False, layout="constrained",
                        sharey=sharey)


def _has(result, quantity: str, **labels) -> bool:
    return quantity in result.quantities and bool(result.select(quantity, **labels))


def _compounds_in(results, quantity: str, **labels) -> list[str]:
    out = []
    for r in results.values():
        if quantity in r.quantities:
            for s in r.select(quantity, **labels):
                if s.compound not in out:
                    out.append(s.compound)
    return out


def _log_limits(ax, values) -> None:
    v = np.asarray([x for x in values if np.isfinite(x) and x > 0])
    if v.size:
        ax.set_ylim(max(v.min() * 0.8, v.max() * 1e-4), v.max() * 2.0)


def _arm_timecourse_figure(results, arms, quantity, style, *, receptor=None, subject, log_y=False, sharey=False,
                           ylim_bottom=None):
    fig, axes = _panels(len(arms), style, sharey=sharey)
    positives = []
    for i, (ax, arm) in enumerate(zip(axes[0], arms, strict=True)):
        time_course(results[arm], quantity, receptor=receptor, subject=subject, ax=ax, style=style,
                    title=arm if receptor is None else f"{arm}: {receptor}", linestyle=arm_linestyle(i),
                    gid_suffix=arm)
        ax.get_legend() and ax.get_legend().remove()
        for s in results[arm].select(quantity, receptor=receptor):
            positives += [float(s.values.max()), float(s.values[s.values > 0].min()) if (s.values > 0).any() else 0]
        if ylim_bottom is not None and not log_y:
            ax.set_ylim(bottom=ylim_bottom)
    if log_y:
        for ax in axes[0]:
            ax.set_yscale("log")
            _log_limits(ax, positives)
    return fig, axes


def _zero_efficacy_note(findings, receptor: str) -> str:
    entries = findings.ligands.get(receptor, []) if findings is not None else []
    if not entries or any(lig.efficacy > 0 for lig, _ in entries):
        return ""
    names = ", ".join(sorted({lig.name for lig, _ in entries}))
    return f"{names}: τ = 0 (antagonists) — zero by model choice"


def _endpoint_figure(results, arms, quantity, what, style, findings, subject, band_text):
    endpoints = list(dict.fromkeys(s.endpoint for r in results.values() if quantity in r.quantities
                                   for s in r.select(quantity)))
    if not endpoints:
        return None
    fig, axes = _panels(len(endpoints), style)
    for ax, ep in zip(axes[0], endpoints, strict=True):
        receptor, top = "", 0.0
        for i, arm in enumerate(arms):
            if not _has(results[arm], quantity, endpoint=ep):
                continue
            s = results[arm].select(quantity, endpoint=ep)[0]
            receptor = s.receptor
            values = 100.0 * s.values
            top = max(top, float(values.max()))
            kw = {"color": compound_colour(s.compound, style), "lw": style.line_width, "linestyle": arm_linestyle(i)}
            if subject is None and values.shape[0] > 1:
                lo, med, hi = np.percentile(values, [5, 50, 95], axis=0)
                band = ax.fill_between(results[arm].t_h, lo, hi, color=kw["color"], alpha=0.12, lw=0)
                band.set_gid(f"{quantity}:{s.compound}:{arm}:band")
                (line,) = ax.plot(results[arm].t_h, med, **kw)
            else:
                (line,) = ax.plot(results[arm].t_h, values[0], **kw)
            line.set_gid(f"{quantity}:{s.compound}:{arm}")
        title = f"{ep.replace('_', ' ')} ({receptor})"
        ylabel = f"{what.lower()} (% of Em)"
        note = _zero_efficacy_note(findings, receptor)
        if top == 0.0:
            ax.set_ylim(-2, 102)
            if note:
                title += f"\n{note}"
        elif top < 20:              # a small signal would vanish on a 0-100 % scale: zoom, and say so on the axis
            hi = top * 1.3
            ax.set_ylim(-0.05 * hi, hi)
            ylabel = f"{what.lower()} (% of Em; axis 0-{hi:.2g} %)"
        else:
            ax.set_ylim(-2, 102)
        style_axes(ax, title=title, xlabel="time (h)", ylabel=ylabel, legend=False, style=style)
    figure_legend(fig, arms=arms, style=style)
    footer(fig, style)
    return (f"{quantity}.png", fig, f"{what} of each endpoint (% of its maximum Em) to every ligand together; line "
                                    f"style = arm{band_text}")


def _short_source(text: str) -> str:
    """The study named in a long source string ("derived: ... from Kruegel 2016 J Am Chem Soc (human, ...)")."""
    text = str(text or "")
    if text.startswith("derived") and " from " in text:
        text = text.split(" from ", 1)[1]
    return text.split(" (")[0].split(";")[0].strip()


def _sources_label(lig: Ligand) -> str:
    k, e = _short_source(lig.sources.get("K", "")), _short_source(lig.sources.get("efficacy", ""))
    if k and e and k != e:
        return f"K: {k}; τ: {e}"
    return k or e or (lig.source or "")


def concentration_response_figure(findings, endpoint: Endpoint, *, style: str | Style | None = None):
    """Each ligand of a study alone at ``endpoint`` (operational model, unbound nM), in its colour, with the
    peak unbound effect-site concentration after the simulated doses marked on its curve.

    At a receptor where the study has no agonist, the library's agonists there (``findings.comparators``) are
    drawn for comparison (labelled "not dosed"). Returns the Figure.
    """
    st = get_style(style)
    entries = findings.ligands.get(endpoint.receptor, [])
    ligands = []
    for lig, arms in entries:
        name = lig.name
        if sum(x.name == lig.name for x, _ in entries) > 1:      # arms disagree about this ligand: name the arms
            name = f"{lig.name} [{', '.join(arms)}]"
        ligands.append(Ligand(name, lig.K_nM, lig.efficacy, receptor=lig.receptor, source=_sources_label(lig)))
    comparators = [Ligand(f"{c.name} [not dosed]", c.K_nM, c.efficacy, receptor=c.receptor,
                          source=_sources_label(c)) for c in findings.comparators.get(endpoint.receptor, ())]
    ref_name = findings.references.get(endpoint.receptor)
    ref = next((x for x in ligands if x.name == ref_name), None)
    others = [x for x in ligands if x is not ref] + comparators
    marks = {x.name: findings.reached[_base(x.name)] for x in ligands if _base(x.name) in findings.reached}
    fig, ax = plt.subplots(figsize=st.figsize(10.0, 7.0), layout="constrained")
    name = endpoint.name.replace("_", " ")
    if not any(x.efficacy > 0 for x in ligands + comparators):
        # nothing signals here (every ligand an antagonist, no agonist in the library): what the ligands do is
        # occupy receptors, so show that instead of flat zero lines
        occupancy_curves(ligands, ax=ax, marks=marks, style=st,
                         title=f"{name} ({endpoint.receptor}): every ligand has τ = 0, so the response is zero;\n"
                               f"occupancy of {endpoint.receptor} at equilibrium (no agonist there in the library)")
    else:
        if not others and ref is not None:
            others, ref = [ref], None
        response_curves(others, endpoint, ax=ax, reference=ref, marks=marks, style=st,
                        title=f"{name} ({endpoint.receptor}): concentration-response at equilibrium")
    footer(fig, st)
    return fig


def _legend_below(ax, style: Style) -> None:
    """A one-column legend under ``ax`` (the constrained layout keeps it clear of the other panels)."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, fontsize=style.font("legend"), loc="upper center", bbox_to_anchor=(0.5, -0.16),
                  ncols=1, frameon=False)


def _half_occupancy_y(ep, K_r, tau_r, C_r, K_p, tau_p, C_p):
    x_r, x_p = C_r / K_r, C_p / K_p
    S = (tau_r * x_r + tau_p * x_p) / (1.0 + x_r + x_p)
    return ep.Em * S ** ep.n / (S ** ep.n + 1.0)


def displacement_figure(findings, endpoint: Endpoint, *, style: str | Style | None = None):
    """Where a partial agonist lowers a full agonist's response, and where the simulated doses reach.

    One row per second ligand at the endpoint's receptor (from ``findings.displacement``, closed forms of
    :func:`pharmsim.comparison.displacement_summary`). Left: the response as the partial agonist's unbound
    concentration rises, with the reference held at the concentration its simulated dose reaches (solid) and
    at its EC80 (dashed); the band marks the partial agonist's peak after the simulated doses and the diamond
    where it holds half of the receptors. Right: the reference's concentration-response alone, with the partial
    agonist at its simulated peak and near saturation (100 K); the curves cross at ``C_R*``, below which the
    partial agonist adds to the response and above which it lowers it. Returns the Figure, or None when the
    study has no such pair at this endpoint.
    """
    st = get_style(style)
    d = findings.displacement
    if d is None or not len(d):
        return None
    rows = d[d["endpoint"] == endpoint.name]
    if not len(rows):
        return None
    fig, axes = plt.subplots(len(rows), 2, figsize=st.figsize(16.0, 6.6 * len(rows)), layout="constrained",
                             squeeze=False)
    for (axA, axB), r in zip(axes, rows.itertuples(), strict=True):
        ref, p = r.reference, r.partial_agonist
        c_ref, c_p = compound_colour(ref, st), compound_colour(p, st)
        K_r, t_r, K_p, t_p = r.K_reference_nM, r.tau_reference, r.K_partial_nM, r.tau_partial

        def E(Cr, Cp, K_r=K_r, t_r=t_r, K_p=K_p, t_p=t_p):
            return 100.0 * _half_occupancy_y(endpoint, K_r, t_r, Cr, K_p, t_p, Cp) / endpoint.Em

        # A: partial agonist concentration on x
        lo, hi = _decade_range([K_p, *(v for v in (r.partial_reached_nM,) if np.isfinite(v) and v > 0)])
        x = np.geomspace(lo, hi, 400)
        holds = [("reached", r.reference_reached_nM, "-", f"{ref} at its simulated peak"),
                 ("ec80", r.reference_EC80_nM, "--", f"{ref} at its EC80")]
        for key, Cr, ls, text in holds:
            if not (np.isfinite(Cr) and Cr > 0):
                continue
            (line,) = axA.plot(x, E(Cr, x), color=c_p, lw=st.line_width, ls=ls,
                               label=f"{p} added, {text} ({Cr:.3g} nM)")
            line.set_gid(f"displacement:{p}:{key}")
            alone = axA.axhline(E(Cr, 0.0), color=c_ref, lw=1.6, ls=ls, alpha=0.8,
                                label=f"{ref} alone there: {E(Cr, 0.0):.0f} %")
            alone.set_gid(f"displacement-level:{ref}:{key}")
            half = K_p * (1.0 + Cr / K_r)
            (dia,) = axA.plot([half], [E(Cr, half)], marker="D", ms=st.line_width * 3, color=st.combined_colour,
                              ls="none", zorder=6, label="_nolegend_")
            dia.set_gid(f"half-occupancy:all:{p}:{key}")
        axA.plot([], [], marker="D", ms=st.line_width * 3, color=st.combined_colour, ls="none",
                 label=f"{p} holds half of the receptors")
        if np.isfinite(r.partial_reached_nM) and r.partial_reached_nM > 0:
            if r.partial_reached_p95_nM > r.partial_reached_p05_nM:
                band = axA.axvspan(r.partial_reached_p05_nM, r.partial_reached_p95_nM, color=c_p, alpha=0.15, lw=0)
                band.set_gid(f"reached-range:{p}")
            _mark_reached(axA, r.partial_reached_nM, c_p, f"{p} peak after the simulated doses", p)
        _finish_displacement_axes(axA, f"{p} added to {ref}: {endpoint.name.replace('_', ' ')}", p, st)

        # B: reference concentration on x
        ec50 = K_r / (1.0 + t_r)
        lo, hi = _decade_range([ec50, K_r, *(v for v in (r.reference_reached_nM,) if np.isfinite(v) and v > 0)])
        x = np.geomspace(lo, hi, 400)
        (line,) = axB.plot(x, E(x, 0.0), color=c_ref, lw=st.reference_line_width, label=f"{ref} alone")
        line.set_gid(f"displacement:{ref}:alone")
        levels = [(r.partial_reached_nM, "--", f"with {p} at its simulated peak ({r.partial_reached_nM:.3g} nM)",
                   "reached"), (100.0 * K_p, ":", f"with {p} at 100 x its K ({100 * K_p:.3g} nM)",
                                "saturating")]
        for Cp, ls, text, key in levels:
            if np.isfinite(Cp) and Cp > 0:
                (line,) = axB.plot(x, E(x, Cp), color=c_p, lw=st.line_width, ls=ls, label=text)
                line.set_gid(f"displacement:{p}:{key}")
        if t_p > 0:
            Cx = r.crossover_reference_nM
            (dia,) = axB.plot([Cx], [E(Cx, 0.0)], marker="D", ms=st.line_width * 3, color=st.combined_colour,
                              ls="none", zorder=6,
                              label=f"crossover at {Cx:.3g} nM: {p} adds below, lowers above")
            dia.set_gid(f"crossover:all:{p}")
        if np.isfinite(r.reference_reached_nM) and r.reference_reached_nM > 0:
            _mark_reached(axB, r.reference_reached_nM, c_ref, f"{ref} peak after the simulated dose", ref)
        _finish_displacement_axes(axB, f"{ref} with {p} present: {endpoint.name.replace('_', ' ')}", ref, st)
    footer(fig, st)
    return fig


def _mark_reached(ax, conc_nM: float, colour, text: str, compound: str) -> None:
    """The dotted vertical line at the concentration a compound reaches after the simulated doses."""
    mark = ax.axvline(conc_nM, color=colour, lw=2.2, ls=":", label=f"{text} ({conc_nM:.3g} nM)")
    mark.set_gid(f"reached:{compound}")


def _finish_displacement_axes(ax, title: str, x_compound: str, st) -> None:
    """Log concentration axis, response in % of Em, title and the legend below the axes."""
    ax.set_xscale("log")
    ax.set_ylim(-2, 102)
    style_axes(ax, title=title, xlabel=f"{x_compound} unbound concentration (nM, log scale)",
               ylabel="response (% of Em)", legend=False, style=st)
    _legend_below(ax, st)


def study_figures(study_result, *, style: str | Style | None = None, conc_unit: str = "nM", log_y: bool = False,
                  findings=None) -> list[tuple[str, object, str]]:
    """``(file name, Figure, caption)`` of a :class:`pharmsim.study.StudyResult`. Plots never solve: results
    are drawn as given, and the equilibrium curves are closed forms.

    Parameters
    ----------
    study_result : StudyResult
    style : str or Style, optional
        ``"default"`` or ``"classroom"``.
    conc_unit : {'nM', 'ng/mL'}
        Unit of the plasma concentration figure.
    log_y : bool
        Plasma concentrations on a log axis.
    findings : pharmsim.comparison.Findings, optional
        Default: :func:`pharmsim.comparison.study_findings` of ``study_result``.

    Figures: plasma concentrations and receptor occupancy per arm (colour = compound, line style = arm),
    responses per endpoint (line style = arm), the concentration-response curves of every ligand with the
    concentrations reached marked, and, where the study has a full agonist and a partial agonist or antagonist
    at one receptor, the displacement figures.
    """
    from .comparison import study_findings  # noqa: PLC0415

    st = get_style(style)
    require_choice("conc_unit", conc_unit, tuple(CONC_UNITS))
    results, models = dict(study_result.results), dict(study_result.models)
    findings = study_findings(study_result) if findings is None else findings
    figs: list[tuple[str, object, str]] = []
    arms = list(results)
    pop = any(r.n_subjects > 1 for r in results.values())
    subject = None if pop else 0
    band = ("; median and 5-95 % band over the virtual population" if pop else "; one typical adult")

    with plt.rc_context(st.rc()):
        quantity = CONC_UNITS[conc_unit]
        have = [a for a in arms if _has(results[a], quantity)]
        if have:
            fig, _ = _arm_timecourse_figure(results, have, quantity, st, subject=subject, log_y=log_y)
            figure_legend(fig, compounds=_compounds_in(results, quantity), arms=have, style=st)
            footer(fig, st)
            axis = ", log axis" if log_y else ""
            figs.append(("plasma_conc.png", fig, f"Total plasma concentrations ({conc_unit}{axis}) by arm; colour = "
                                                 f"compound, line style = arm{band}"))

        for receptor in dict.fromkeys(r for m in models.values() for r in m.receptors):
            have = [a for a in arms if _has(results[a], "occupancy", receptor=receptor)]
            if not have:
                continue
            fig, _ = _arm_timecourse_figure(results, have, "occupancy", st, receptor=receptor, subject=subject,
                                            sharey=True, ylim_bottom=0)
            figure_legend(fig, compounds=_compounds_in(results, "occupancy", receptor=receptor), arms=have, style=st)
            footer(fig, st)
            figs.append((f"occupancy_{receptor}.png", fig,
                         f"Share of {receptor} receptors occupied by each ligand (%), by arm; colour = compound{band}"))

        for quantity, what in (("response", "Response"), ("desensitised", "Desensitised receptors"),
                               ("withdrawal", "Withdrawal read-out")):
            made = _endpoint_figure(results, arms, quantity, what, st, findings, subject, band)
            if made is not None:
                figs.append(made)

        for ep in findings.endpoints:
            if not findings.ligands.get(ep.receptor):
                continue
            fig = concentration_response_figure(findings, ep, style=st)
            figs.append((f"curve_{ep.name}.png", fig,
                         f"Each ligand alone at {ep.name.replace('_', ' ')} (operational model, unbound nM), in its "
                         "colour; rings: the peak unbound effect-site concentration after the simulated doses (bar: "
                         "5-95 % over subjects); dashed: the ceiling (Emax) of a partial agonist; a zero-efficacy "
                         "ligand is a flat dotted line"))
        for ep in findings.endpoints:
            fig = displacement_figure(findings, ep, style=st)
            if fig is not None:
                ref = findings.references.get(ep.receptor, "")
                figs.append((f"displacement_{ep.name}.png", fig,
                             f"Displacement of {ref} at {ep.name.replace('_', ' ')} (equilibrium, closed forms): left, "
                             f"the response as each other ligand's unbound concentration rises ({ref} held at its "
                             "simulated peak and at its EC80), with the concentration the simulated doses reach; "
                             f"right, {ref}'s curve with the other ligand present. Below the crossover concentration "
                             "a partial agonist adds to the response; above it, it lowers it"))
    return figs


# ------------------------------------------------------------------------------------------------ comparison
def comparison_figures(comparison, *, style: str | Style | None = None) -> dict:
    """Named figures of a :class:`pharmsim.comparison.Comparison` (the study figures of its four situations):
    ``pk_plasma``, ``occupancy_<R>``, ``response_timecourse``, ``ceiling_<endpoint>``, ``displacement`` (the
    first endpoint's) and ``displacement_<endpoint>``. Plots never solve: everything is read from the
    comparison."""
    names = {"plasma_conc.png": "pk_plasma", "response.png": "response_timecourse"}
    out = {}
    for file, fig, _ in study_figures(comparison, style=style, log_y=True):
        key = names.get(file, file.removesuffix(".png").replace("curve_", "ceiling_"))
        out[key] = fig
        if key.startswith("displacement_") and "displacement" not in out:
            out["displacement"] = fig
    return out
