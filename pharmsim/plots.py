"""Every figure: receptor-occupancy and concentration-response curves, time courses, studies, comparisons.

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
    "DISCLAIMER",
    "FONT_SIZES",
    "comparison_figures",
    "footer",
    "occupancy_curves",
    "response_curves",
    "study_figures",
    "style_axes",
    "time_course",
]

DISCLAIMER = "pharmsim is for teaching and research, not dosing advice."

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


# ------------------------------------------------------------------------------------------------ studies
def footer(fig) -> None:
    """The teaching-and-research statement under the figure (space kept by the constrained layout)."""
    fig.supxlabel(DISCLAIMER, x=0.995, ha="right", fontsize=9, color="0.35")


def _panels(n: int, width: float = 6.0, height: float = 4.8, sharey: bool = False):
    return plt.subplots(1, n, figsize=(min(width * n, 20), height), squeeze=False, layout="constrained",
                        sharey=sharey)


def _median_band(ax, t_h, values, label: str, color: str) -> None:
    """Median over subjects (rows of ``values``) with the 5-95 % band when there is more than one subject."""
    if values.shape[0] > 1:
        lo, med, hi = np.percentile(values, [5, 50, 95], axis=0)
        ax.fill_between(t_h, lo, hi, color=color, alpha=0.2, lw=0)
        ax.plot(t_h, med, color=color, lw=2.5, label=f"{label} (median)")
    else:
        ax.plot(t_h, values[0], color=color, lw=2.5, label=label)


def _has(result, quantity: str, **labels) -> bool:
    return quantity in result.quantities and bool(result.select(quantity, **labels))


def _dor_efficacy_note(models: dict) -> str:
    """What the figures must not hide: the efficacy of every ligand at DOR in each arm, and its source."""
    found: dict[tuple, list] = {}
    for model in models.values():
        if "DOR" not in model.receptors:
            continue
        for lig in model.ligands_at("DOR"):
            key = (lig.efficacy, str(lig.sources.get("efficacy", "")).split(" (")[0])
            found.setdefault(key, [])
            if lig.name not in found[key]:
                found[key].append(lig.name)
    lines = []
    for (tau, src), compounds in found.items():
        kind = "competitive antagonist" if tau == 0 else "agonist"
        lines.append(f"{', '.join(compounds)}: {kind}{'s' if len(compounds) > 1 else ''}, tau {tau:g}\n({src})")
    return "\n".join(lines)


def study_figures(study_result) -> list[tuple[str, object, str]]:
    """``(file name, Figure, caption)`` of a :class:`pharmsim.study.StudyResult`. Plots never solve: results
    are drawn as given."""
    results, models = dict(study_result.results), dict(study_result.models)
    figs: list[tuple[str, object, str]] = []
    arms = list(results)
    pop = any(r.n_subjects > 1 for r in results.values())
    subject = None if pop else 0
    band = " (median and 5-95 % band over the virtual population)" if pop else " (one typical adult)"

    fig, axes = _panels(len(arms))
    for ax, arm in zip(axes[0], arms, strict=True):
        time_course(results[arm], "plasma_conc", subject=subject, ax=ax, title=arm)
    footer(fig)
    figs.append(("plasma_conc.png", fig, "Total plasma concentrations (nM) by arm" + band))

    for receptor in ("MOR", "DOR"):
        have = [a for a in arms if _has(results[a], "occupancy", receptor=receptor)]
        if not have:
            continue
        fig, axes = _panels(len(have), sharey=True)
        for ax, arm in zip(axes[0], have, strict=True):
            time_course(results[arm], "occupancy", receptor=receptor, subject=subject, ax=ax,
                        title=f"{arm}: {receptor}")
            ax.set_ylim(bottom=0)
        footer(fig)
        figs.append((f"occupancy_{receptor}.png", fig,
                     f"Fraction of {receptor} receptors occupied by each ligand (%), by arm" + band))

    for quantity, what in (("response", "Response"), ("desensitised", "Desensitised receptors"),
                           ("withdrawal", "Withdrawal read-out")):
        endpoints = list(dict.fromkeys(s.endpoint for r in results.values() if quantity in r.quantities
                                       for s in r.select(quantity)))
        if not endpoints:
            continue
        fig, axes = _panels(len(endpoints))
        for ax, ep in zip(axes[0], endpoints, strict=True):
            receptor, top = "", 0.0
            for i, arm in enumerate(arms):
                if _has(results[arm], quantity, endpoint=ep):
                    series = results[arm].select(quantity, endpoint=ep)[0]
                    receptor = series.receptor
                    top = max(top, 100.0 * float(np.max(series.values)))
                    _median_band(ax, results[arm].t_h, 100.0 * series.values, arm, f"C{i % 10}")
            title = f"{ep.replace('_', ' ')} ({receptor})"
            if receptor == "DOR" and top < 20:            # a small DOR signal would vanish on a 0-100 % scale
                ax.set_ylim(-0.05 * max(top * 1.3, 1.0), max(top * 1.3, 1.0))
                title += ": y axis zoomed"
            else:
                ax.set_ylim(-2, 102)
            style_axes(ax, title=title, xlabel="time (h)", ylabel=f"{what.lower()} (% of maximum)", legend=False)
            if receptor == "DOR" and (note := _dor_efficacy_note(models)):
                ax.text(0.98, 0.97, note, transform=ax.transAxes, fontsize=10, va="top", ha="right", color="0.2",
                        bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "0.7", "alpha": 0.9})
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=1 if max(map(len, labels)) > 40 else 3,
                   fontsize=12, frameon=False)
        footer(fig)
        figs.append((f"{quantity}.png", fig, f"{what} of each endpoint (% of its maximum), all arms" + band))

    # equilibrium concentration-response curves of the ligands in the richest model: the ceilings
    from .comparison import ceiling_table  # noqa: PLC0415

    richest = max(models.values(), key=lambda m: len(m.ligands))
    table = ceiling_table(richest)
    for ep_name, sub in table.groupby("endpoint", sort=False):
        row = sub.iloc[0]
        endpoint = Endpoint(ep_name, row.receptor, gain=row.gain, Em=row.Em, n=row.n)
        ligands = [Ligand(r.compound, r.K_nM, r.efficacy, receptor=r.receptor) for r in sub.itertuples()]
        fig, axes = _panels(1, width=9.0, height=6.0)
        response_curves(ligands, endpoint, ax=axes[0][0],
                        title=f"{ep_name.replace('_', ' ')} ({row.receptor}): concentration-response at equilibrium")
        footer(fig)
        figs.append((f"curve_{ep_name}.png", fig,
                     f"Each ligand alone at {ep_name.replace('_', ' ')} (operational model; unbound nM): the "
                     "ceiling (Emax) of a partial agonist is marked; a zero-efficacy ligand is a flat line"))
    return figs


def comparison_figures(comparison) -> dict:
    """Named figures of a :class:`pharmsim.comparison.Comparison`: PK, occupancy, responses, ceilings,
    displacement. Plots never solve: everything is read from the comparison."""
    import matplotlib.pyplot as plt


    figs = {}
    kr = comparison.results["kratom"]
    fig, ax = plt.subplots(figsize=(9, 5.5), layout="constrained")
    time_course(kr, "plasma_conc", ax=ax, title="Kratom: plasma MG and 7-OH-MG (total)")
    if "reference" in comparison.results:
        time_course(comparison.results["reference"], "plasma_conc", ax=ax, linestyle="--",
                    title="Plasma concentrations: kratom (solid) and the reference (dashed)")
    ax.set_yscale("log")
    ax.set_ylim(bottom=0.01)
    figs["pk_plasma"] = fig

    for receptor in ("MOR", "DOR"):
        if not kr.select("occupancy", receptor=receptor):
            continue
        fig, axes = plt.subplots(1, 2, figsize=(14, 5.5), layout="constrained", sharey=False)
        time_course(kr, "occupancy", receptor=receptor, ax=axes[0],
                    title=f"{receptor} occupancy after kratom alone")
        on = comparison.results.get("reference_on_kratom")
        if on is not None and on.select("occupancy", receptor=receptor):
            time_course(on, "occupancy", receptor=receptor, ax=axes[1],
                        title=f"{receptor} occupancy: {comparison.reference} on top of kratom")
        figs[f"occupancy_{receptor}"] = fig

    endpoints = [s.endpoint for s in kr.select("response")]
    fig, axes = plt.subplots(1, len(endpoints), figsize=(6.5 * len(endpoints), 6), layout="constrained",
                             squeeze=False)
    styles = {"kratom": "-", "reference": "--", "reference_on_kratom": "-.", "naloxone_reversal": ":"}
    labels = {"kratom": "kratom alone", "reference": f"{comparison.reference} alone",
              "reference_on_kratom": f"{comparison.reference} on top of kratom",
              "naloxone_reversal": f"{comparison.reference}, then naloxone"}
    for ax, ep in zip(axes[0], endpoints, strict=True):
        for name, res in comparison.results.items():
            for s in res.select("response", endpoint=ep):
                ax.plot(res.t_h, 100 * s.values[0], lw=2.5, linestyle=styles.get(name, "-"),
                        label=labels.get(name, name))
        ax.set_ylim(-2, 102)
        style_axes(ax, title=f"{ep.replace('_', ' ')} ({s.receptor})", xlabel="time (h)",
                   ylabel="response (% of system maximum)", legend=ax is axes[0][0], legend_loc="best")
    figs["response_timecourse"] = fig

    lig_rows = comparison.ceilings
    for ep in lig_rows["endpoint"].unique():
        sub = lig_rows[lig_rows["endpoint"] == ep]
        ligs = [Ligand(r.compound, r.K_nM, r.efficacy, receptor=r.receptor) for r in sub.itertuples()]
        ref = [lig for lig in ligs if lig.name == comparison.reference]
        others = [lig for lig in ligs if lig.name != comparison.reference]
        row = sub.iloc[0]
        endpoint = Endpoint(ep, row.receptor, gain=row.gain, Em=row.Em, n=row.n)
        fig, ax = plt.subplots(figsize=(9, 6), layout="constrained")
        response_curves(others, endpoint, reference=ref[0] if ref else None, ax=ax,
                        title=f"Concentration-response at equilibrium: {ep.replace('_', ' ')} ({row.receptor})")
        figs[f"ceiling_{ep}"] = fig

    if not comparison.displacement.empty:
        fig, ax = plt.subplots(figsize=(9, 6), layout="constrained")
        for ep, sub in comparison.displacement.groupby("endpoint", sort=False):
            for partial, s2 in sub.groupby("partial_agonist", sort=False):
                ax.plot(s2["partial_conc_nM"], 100 * s2["response"], lw=2.5, label=f"{ep}: {partial} added")
        ax.set_xscale("log")
        style_axes(ax, title=f"A partial agonist displaces {comparison.reference} (equilibrium)",
                   xlabel="partial agonist unbound concentration (nM, log scale)",
                   ylabel=f"response with {comparison.reference} at its EC80 (%)", legend_loc="below")
        figs["displacement"] = fig
    return figs
