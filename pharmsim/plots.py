"""Figures for teaching: receptor-occupancy and concentration-response curves.

Every plotting function takes an optional matplotlib ``Axes`` (a new figure is made if none is given),
draws into it and returns it; nothing here calls ``plt.show()`` or saves files. Fonts are large enough
to read when projected in a classroom; axis labels carry units; every curve has a legend entry.

Curves are closed-form (:mod:`pharmsim.receptor`), so computing them here is cheap and exact.

Not for: solving time courses (plots never solve ODEs; pass a finished result), or choosing parameter
values (build :class:`pharmsim.receptor.Ligand` objects from :mod:`pharmsim.library`).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from .receptor import Endpoint, Ligand, endpoint_ec50_emax, endpoint_response, hill_occupancy, tau_at
from .validate import PharmsimError, require_positive

__all__ = [
    "FONT_SIZES",
    "style_axes",
    "occupancy_curves",
    "response_curves",
]

#: Font sizes (points) used by :func:`style_axes`; chosen to stay legible on a projector.
FONT_SIZES = {"title": 16, "label": 14, "tick": 12, "legend": 12, "annotation": 11}

#: Colour and width of the full-agonist reference curve.
REFERENCE_STYLE = {"color": "black", "linewidth": 3.5, "linestyle": "-", "zorder": 5}

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
) -> Axes:
    """Apply pharmsim's classroom style to ``ax`` and return it.

    Sets title and axis labels (when given) at :data:`FONT_SIZES`, enlarges tick labels, adds a light
    grid, and draws a legend of the labelled artists (if any and ``legend`` is true). ``legend_loc``
    is any matplotlib legend location, or ``"below"`` for a legend under the axes (clear of the curves;
    use with a constrained-layout figure).
    """
    if not isinstance(ax, Axes):
        raise PharmsimError(f"ax must be a matplotlib Axes or None; got {type(ax).__name__}")
    if title is not None:
        ax.set_title(title, fontsize=FONT_SIZES["title"])
    if xlabel is not None:
        ax.set_xlabel(xlabel, fontsize=FONT_SIZES["label"])
    if ylabel is not None:
        ax.set_ylabel(ylabel, fontsize=FONT_SIZES["label"])
    ax.tick_params(axis="both", which="major", labelsize=FONT_SIZES["tick"])
    if grid:
        ax.grid(True, which="major", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if legend and handles:
        if legend_loc == "below":
            ax.legend(
                handles,
                labels,
                fontsize=FONT_SIZES["legend"],
                loc="upper center",
                bbox_to_anchor=(0.5, -0.14),
                ncols=min(2, len(handles)),
                frameon=False,
            )
        else:
            ax.legend(handles, labels, fontsize=FONT_SIZES["legend"], loc=legend_loc, framealpha=0.9)
    return ax


# --------------------------------------------------------------------------------------------------
# internal helpers
# --------------------------------------------------------------------------------------------------


def _axes(ax: Axes | None) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 6), layout="constrained")
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


def _grid(conc_range_nM, default_lo: float, default_hi: float, n_points: int) -> np.ndarray:
    if isinstance(n_points, bool) or not isinstance(n_points, (int, np.integer)) or n_points < 2:
        raise PharmsimError(f"n_points must be an integer >= 2; got {n_points!r}")
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
    return 10.0 ** (np.floor(np.log10(v.min())) - 3), 10.0 ** (np.ceil(np.log10(v.max())) + 3)


def _label(lig: Ligand, detail: str) -> str:
    text = f"{lig.name} ({detail})"
    return f"{text}\n  source: {lig.source}" if lig.source else text


def _receptor_of(ligands: Sequence[Ligand]) -> str | None:
    receptors = {lig.receptor for lig in ligands if lig.receptor is not None}
    return receptors.pop() if len(receptors) == 1 else None


# --------------------------------------------------------------------------------------------------
# figures
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

    Returns
    -------
    matplotlib.axes.Axes
        Curves carry ``gid`` "occupancy:<name>", K marks "K:<name>".
    """
    ligands = _ligands(ligands)
    ax = _axes(ax)
    C = _grid(conc_range_nM, *_decade_range([lig.K_nM for lig in ligands]), n_points)
    scale = 100.0 if percent else 1.0
    for i, lig in enumerate(ligands):
        color = f"C{i % 10}"
        (line,) = ax.plot(
            C,
            scale * hill_occupancy(C, lig.K_nM),
            color=color,
            linewidth=2.5,
            label=_label(lig, f"K = {lig.K_nM:.3g} nM"),
        )
        line.set_gid(f"occupancy:{lig.name}")
        if mark_K:
            mark = ax.axvline(lig.K_nM, color=color, linestyle=":", linewidth=1.5, label="_nolegend_")
            mark.set_gid(f"K:{lig.name}")
    if mark_K:
        ax.axhline(0.5 * scale, color="grey", linestyle=":", linewidth=1.0, label="_nolegend_")
    ax.set_xscale("log")
    ax.set_ylim(-0.02 * scale, 1.05 * scale)
    receptor = _receptor_of(ligands)
    default_title = "Receptor occupancy" + (f" at {receptor}" if receptor else "")
    return style_axes(
        ax,
        title=default_title if title is None else title,
        xlabel="concentration (nM, log scale)",
        ylabel="receptor occupancy (% of receptors)" if percent else "receptor occupancy (fraction)",
        legend_loc=legend_loc,
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
) -> Axes:
    """Concentration-response curves (operational model) of each ligand alone at one endpoint.

    E = Em tau^n C^n / ((K + C)^n + tau^n C^n) with tau = efficacy * gain * receptor_fraction
    (Black & Leff 1983, doi:10.1098/rspb.1983.0093). The full-agonist ``reference`` is drawn thick and
    black; the Emax ceiling of every partial agonist (Emax < 95 % of Em) is marked with a dashed line
    in its colour; a zero-efficacy ligand (antagonist) is drawn as a flat dotted line at zero so that a
    choice such as "DOR efficacy = 0" stays visible on the figure.

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

    Returns
    -------
    matplotlib.axes.Axes
        Curves carry ``gid`` "response:<name>" (reference: "reference:<name>"), ceilings
        "emax:<name>", EC50 marks "ec50:<name>".
    """
    ligands = _ligands(ligands)
    if not isinstance(endpoint, Endpoint):
        raise PharmsimError(f"endpoint must be a pharmsim.receptor.Endpoint; got {type(endpoint).__name__}")
    if reference is not None and not isinstance(reference, Ligand):
        raise PharmsimError(f"reference must be a pharmsim.receptor.Ligand or None; got {reference!r}")
    ax = _axes(ax)
    drawn = ([reference] if reference is not None else []) + list(ligands)
    summaries = [(lig, tau_at(lig, endpoint), *endpoint_ec50_emax(lig, endpoint)) for lig in drawn]
    scale = (100.0 if percent else 1.0) / (endpoint.Em if percent else 1.0)
    C = _grid(conc_range_nM, *_decade_range([lig.K_nM for lig in drawn] + [s[2] for s in summaries]), n_points)

    for i, (lig, tau, ec50, emax) in enumerate(summaries):
        is_ref = reference is not None and i == 0
        color = REFERENCE_STYLE["color"] if is_ref else f"C{(i - (reference is not None)) % 10}"
        E = scale * endpoint_response(C[:, None], [lig], endpoint)
        emax_pct = 100.0 * emax / endpoint.Em
        if tau == 0.0:
            detail = "τ = 0: antagonist, no response"
        else:
            detail = f"τ = {tau:.3g}, Emax = {emax_pct:.0f}% of Em"
        if is_ref:
            detail = "reference; " + detail
            style = dict(REFERENCE_STYLE)
        else:
            style = {"color": color, "linewidth": 2.5, "linestyle": ":" if tau == 0.0 else "-"}
        (line,) = ax.plot(C, E, label=_label(lig, detail), **style)
        line.set_gid(f"{'reference' if is_ref else 'response'}:{lig.name}")
        if mark_emax and tau > 0.0 and emax_pct < 100 * _PARTIAL_THRESHOLD:
            ceiling = ax.axhline(scale * emax, color=color, linestyle="--", linewidth=1.5, label="_nolegend_")
            ceiling.set_gid(f"emax:{lig.name}")
            ax.annotate(
                f"Emax {emax_pct:.0f}%",
                xy=(1.0, scale * emax),
                xycoords=("axes fraction", "data"),
                xytext=(-4, 3),
                textcoords="offset points",
                ha="right",
                va="bottom",
                color=color,
                fontsize=FONT_SIZES["annotation"],
            )
        if mark_ec50 and tau > 0.0:
            (dot,) = ax.plot(
                [ec50], [scale * emax / 2], marker="o", markersize=8, color=color, linestyle="none", label="_nolegend_"
            )
            dot.set_gid(f"ec50:{lig.name}")

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
        xlabel="concentration (nM, log scale)",
        ylabel="response (% of system maximum Em)" if percent else "response (units of Em)",
        legend_loc=legend_loc,
    )


# --------------------------------------------------------------------------------------------------
# time courses of simulation results (plots never solve: they draw a Result)
# --------------------------------------------------------------------------------------------------

_QUANTITY_LABELS = {
    "plasma_conc": "plasma concentration (nM)",
    "plasma_conc_mass": "plasma concentration (ng/mL)",
    "effect_conc_unbound": "unbound effect-site concentration (nM)",
    "occupancy": "receptor occupancy (%)",
    "response": "response (% of system maximum)",
    "response_naive": "response without desensitisation (%)",
    "desensitised": "desensitised receptors (%)",
    "counter_adaptation": "counter-adaptation (% of maximum)",
    "net_signal": "net signal (% of maximum)",
    "withdrawal": "withdrawal read-out (% of maximum)",
}
_PERCENT = {"occupancy", "response", "response_naive", "desensitised", "counter_adaptation", "net_signal",
            "withdrawal"}


def time_course(result, quantity: str, *, compound: str | None = None, receptor: str | None = None,
                endpoint: str | None = None, subject: int | None = 0, ax: Axes | None = None,
                label_prefix: str = "", title: str | None = None, log_y: bool = False, band: bool = True,
                **line_kw) -> Axes:
    """Draw every series of ``quantity`` in ``result`` (optionally filtered) against time.

    With ``subject=None`` and more than one subject, the population median is drawn with its 5-95 %
    band (``band=True``). Percent-type quantities (occupancy, responses) are shown in %. Returns the Axes.
    """
    ax = _axes(ax)
    series = result.select(quantity, compound, receptor, endpoint)
    if not series:
        raise PharmsimError(f"no series of quantity {quantity!r} with compound={compound!r}, receptor={receptor!r}, "
                            f"endpoint={endpoint!r} in the result")
    scale = 100.0 if quantity in _PERCENT else 1.0
    for s in series:
        label = label_prefix + ":".join(x for x in (s.compound, s.receptor, s.endpoint) if x not in ("-", "all"))
        if subject is None and s.values.shape[0] > 1:
            lo, med, hi = np.percentile(s.values * scale, [5, 50, 95], axis=0)
            (line,) = ax.plot(result.t_h, med, label=f"{label} (median)", lw=2.5, **line_kw)
            if band:
                ax.fill_between(result.t_h, lo, hi, color=line.get_color(), alpha=0.2, lw=0)
        else:
            ax.plot(result.t_h, s.values[subject or 0] * scale, label=label, lw=2.5, **line_kw)
    if log_y:
        ax.set_yscale("log")
    return style_axes(ax, title=title, xlabel="time (h)", ylabel=_QUANTITY_LABELS.get(quantity, quantity))
