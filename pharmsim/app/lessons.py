"""The four lessons of the classroom web app as plain functions: inputs -> figure, tables, sources.

Each lesson takes its inputs as plain values (what the page's widgets hold), computes everything with
pharmsim's public API and returns a :class:`LessonView`: the figure as PNG bytes (exactly what the page
shows and what its "download" button hands out), the tidy table(s) behind the figure, the inputs used,
a short summary table, every number's source and the modelling notes. Results are cached by their inputs
(``functools.lru_cache``), so moving a slider back to a value already seen costs nothing.

=========================  ====================================================================================
lesson                     how it computes
=========================  ====================================================================================
:func:`receptor_lesson`    closed forms (:mod:`pharmsim.receptor`): Hill-Langmuir occupancy, the operational
                           model with the endpoint's gain and Furchgott's fraction of receptors left
:func:`partial_lesson`     closed forms: Gaddum competition of a full agonist, a partial agonist and naloxone;
                           the Schild dose ratio
:func:`kratom_lesson`      :func:`pharmsim.study.run_study` with equilibrium binding (exact linear PK at the
                           output times; Gaddum occupancy, exact for fast binding)
:func:`population_lesson`  :func:`pharmsim.study.run_study` on a small population with a CYP3A4 inhibitor arm,
                           and :func:`pharmsim.titration.titrate` with :func:`pharmsim.titration.model_simulator`
=========================  ====================================================================================

Every number comes from the library (``data/*.csv``) and is listed with its source, except the few that
the page says are **illustrations** (a buprenorphine efficacy when the library holds none, the population's
variability, the titration protocol), which say so wherever they appear.

Not for: serving pages (:mod:`pharmsim.app.pages`, :mod:`pharmsim.app.server`) or choosing doses for people.
pharmsim is for teaching and research only, not dosing advice.
"""

from __future__ import annotations

import functools
import io
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..catalog import catalog, source_text
from ..library import Library, load_library
from ..receptor import (
    Endpoint,
    Ligand,
    antagonist_shifted_ec50,
    endpoint_ec50_emax,
    endpoint_response,
    hill_occupancy,
    operational_ec50_emax,
    schild_dose_ratio,
    tau_at,
)
from ..validate import PharmsimError, require_choice

__all__ = [
    "LessonView",
    "LESSONS",
    "CONCENTRATION_STEPS_NM",
    "receptor_lesson",
    "partial_lesson",
    "kratom_lesson",
    "population_lesson",
    "receptor_choices",
    "ligand_choices",
    "endpoint_choices",
    "partial_choices",
    "product_choices",
    "dor_choices",
    "lesson_library",
    "kratom_library",
    "full_agonist",
    "full_agonist_choices",
    "antagonist",
    "ILLUSTRATION_OMEGA_PARAMETERS",
    "titration_protocol",
]

#: The lessons: URL slug -> title (:data:`LESSON_FUNCTIONS` holds their functions).
LESSONS = {
    "receptors": "1. Occupancy and response",
    "partial-agonists": "2. A partial agonist meets a full agonist",
    "kratom": "3. Kratom: from grams to receptors",
    "population": "4. A population, a titration, CYP3A4",
}

#: Concentrations offered by the log-scaled concentration sliders (nM).
CONCENTRATION_STEPS_NM = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0,
                          10000.0)

#: Concentration grid of the curve lessons (nM): fixed, so the axes stay put while sliders move.
CURVE_RANGE_NM = (1e-3, 1e5)
CURVE_POINTS = 161

#: The PK parameters given inter-individual variability in lesson 4 (an illustration: the library holds
#: no published population-PK omega for MG or 7-OH-MG).
ILLUSTRATION_OMEGA_PARAMETERS = ("MG.CL_L_per_h", "7-OH-MG.CL_L_per_h")

_ILLUSTRATION = ("illustration (not published): tau set so that buprenorphine alone reaches 50 % of the "
                 "respiratory-depression maximum, cf. the ventilation plateau in Dahan 2005 (doi:10.1093/bja/aei145)")

SOURCE_COLUMNS = ["quantity", "compound", "target", "value", "unit", "kind", "source"]


# ------------------------------------------------------------------------------------------------ the view
@dataclass(frozen=True, eq=False)
class LessonView:
    """What one lesson shows for one set of inputs.

    Attributes
    ----------
    page : str
        The lesson's slug (:data:`LESSONS`).
    inputs : mapping
        The inputs the lesson computed with (JSON-able), including values the page derived (e.g. the gain).
    tables : mapping name -> DataFrame
        The tidy table(s) behind the figure; the first is *the* table of the page's CSV download.
    png : bytes
        The figure, as shown on the page.
    summary : DataFrame
        A few numbers worth reading (EC50, Emax, peaks ...), shown under the figure.
    sources : DataFrame
        Every number the lesson used with its source (columns :data:`SOURCE_COLUMNS`).
    notes : tuple of str
        The modelling choices, stated.
    elapsed_s : float
        Seconds taken to compute and draw (before caching).
    """

    page: str
    inputs: Mapping
    tables: Mapping[str, pd.DataFrame]
    png: bytes
    summary: pd.DataFrame
    sources: pd.DataFrame
    notes: tuple[str, ...] = ()
    elapsed_s: float = 0.0

    @property
    def table(self) -> pd.DataFrame:
        """The main tidy table (the page's CSV download)."""
        return next(iter(self.tables.values()))


def _render(fig, dpi: int = 80, footer: bool = True) -> bytes:
    """The figure as PNG bytes, with the teaching-and-research footer. Minor ticks of log axes are dropped
    (over eight decades they cost most of the drawing time and add nothing on a projector)."""
    from matplotlib.ticker import NullLocator

    from ..plots import footer as add_footer

    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_scale() == "log":
                axis.set_minor_locator(NullLocator())
    if footer:
        add_footer(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _figure(rows: int, cols: int, width: float, height: float, *, legend_rows: float = 0.0, **adjust):
    """A matplotlib Figure that is not registered with pyplot (safe to make per request, freed with it), with
    fixed margins: a constrained layout would cost a second full draw on every slider move. ``legend_rows``
    (lines of legend text under the bottom row of axes) adds room below for legends placed "below"."""
    from matplotlib.figure import Figure

    extra = 0.25 * legend_rows            # inches per line of 12-point legend text
    fig = Figure(figsize=(width, height + extra))
    axes = fig.subplots(rows, cols, squeeze=False)
    h = height + extra
    margins = {"left": 0.75 / width, "right": 1 - 0.25 / width, "top": 1 - 0.45 / h,
               "bottom": (0.95 + extra + (0.3 if legend_rows else 0.0)) / h, "wspace": 0.28, "hspace": 0.38}
    margins.update(adjust)
    fig.subplots_adjust(**margins)
    return fig, axes


def _legend_below(ax) -> None:
    """One column of legend entries under the axes (room made by :func:`_figure`'s ``legend_rows``)."""
    from ..plots import FONT_SIZES

    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, fontsize=FONT_SIZES["legend"], loc="upper center", bbox_to_anchor=(0.5, -0.16),
                  ncols=1, frameon=False)


def _timed(fn):
    """Cache a lesson by its inputs and record how long the first computation took."""

    @functools.lru_cache(maxsize=32)
    def cached(*args, **kwargs):
        t0 = time.perf_counter()
        view = fn(*args, **kwargs)
        object.__setattr__(view, "elapsed_s", time.perf_counter() - t0)
        return view

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return cached(*args, **{k: _hashable(v) for k, v in kwargs.items()})

    wrapper.cache_clear = cached.cache_clear
    wrapper.cache_info = cached.cache_info
    return wrapper


def _hashable(v):
    if isinstance(v, list):
        return tuple(v)
    return v


def _sources_frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=SOURCE_COLUMNS)


# ------------------------------------------------------------------------------------------------ libraries
@functools.lru_cache(maxsize=1)
def _shipped_library() -> Library:
    return load_library()


@functools.lru_cache(maxsize=4)
def lesson_library(library: Library | None = None) -> Library:
    """The library of lesson 2: the shipped one, plus a labelled **illustration** of buprenorphine's MOR
    efficacy when the library holds none (as in notebook 2: the only number the lessons add)."""
    lib = _shipped_library() if library is None else library
    cat = catalog(lib)
    if "buprenorphine" not in {c.id for c in lib.compounds()} or cat.binding_affinity("buprenorphine", "MOR") is None:
        return lib
    try:
        cat.ligand("buprenorphine", "MOR", kinetic=False)
    except PharmsimError:  # binds, but the library holds no efficacy: add the labelled illustration
        resp = cat.endpoint("respiratory_depression")
        efficacy = 1.0 / resp.gain  # tau = 1 at respiratory depression: Emax = tau/(1 + tau) = 50 %
        lib = lib.with_value("tau", "buprenorphine", "MOR", efficacy, "-", pathway="G protein", source=_ILLUSTRATION,
                             status="assumption", note="illustration for teaching (pharmsim app, lesson 2)")
    return lib


@functools.lru_cache(maxsize=1)
def kratom_library() -> Library:
    """The library of lesson 3: the shipped one with the what-if DOR efficacy rows of the shipped scenario
    ``dor_sources`` (not preferred, labelled illustrations), so the DOR choice can be made on the page. Falls
    back to the shipped library when that scenario cannot be read."""
    try:
        from ..scenario import load as load_scenario

        return load_scenario("dor_sources").library
    except Exception:  # noqa: BLE001 - the lesson still works without the what-if rows
        return _shipped_library()


# ------------------------------------------------------------------------------------------------ choices
def receptor_choices() -> tuple[str, ...]:
    return catalog(_shipped_library()).receptors()


def endpoint_choices(receptor: str) -> tuple[str, ...]:
    return catalog(_shipped_library()).endpoint_names(receptor)


@functools.lru_cache(maxsize=16)
def _ligands_at(receptor: str, affinity: str = "functional", library: Library | None = None) -> dict[str, Ligand]:
    lib = _shipped_library() if library is None else library
    cat = catalog(lib)
    out = {}
    for c in lib.compounds():
        try:
            lig = cat.ligand(c.id, receptor, affinity=affinity, kinetic=False)
        except PharmsimError:
            continue
        if lig is not None:
            out[c.id] = lig
    return out


def ligand_choices(receptor: str, affinity: str = "functional") -> tuple[str, ...]:
    """Compounds with an affinity and an efficacy at ``receptor`` in the library (curves can be drawn)."""
    return tuple(_ligands_at(receptor, affinity))


#: A MOR ligand is a "full agonist" in lesson 2 when it reaches at least this fraction of Em in the MOR endpoint
#: with the smallest gain (the least receptor reserve); a ligand with a lower ceiling (and tau > 0) is partial.
FULL_AGONIST_EMAX = 0.9


def _mor_classes(library: Library | None = None) -> tuple[dict[str, Ligand], dict[str, Ligand]]:
    lib = lesson_library(library)
    cat = catalog(lib)
    ligs = _ligands_at("MOR", "functional", lib)
    low = min((cat.endpoint(e) for e in cat.endpoint_names("MOR")), key=lambda ep: ep.gain)
    full, partial = {}, {}
    for name, lig in ligs.items():
        if lig.efficacy <= 0:
            continue
        _, emax = endpoint_ec50_emax(lig, low)
        (full if emax / low.Em >= FULL_AGONIST_EMAX else partial)[name] = lig
    return full, partial


def full_agonist_choices(library: Library | None = None) -> tuple[str, ...]:
    """MOR ligands that are full agonists even in the MOR endpoint with the least reserve (morphine first)."""
    names = list(_mor_classes(library)[0])
    if not names:
        raise PharmsimError("the library holds no full agonist at MOR for lesson 2")
    return tuple(sorted(names, key=lambda n: (n != "morphine", names.index(n))))


def full_agonist(name: str | None = None, library: Library | None = None) -> Ligand:
    """A full-agonist reference of lesson 2 (default: the first of :func:`full_agonist_choices`)."""
    choices = full_agonist_choices(library)
    name = choices[0] if name is None else name
    require_choice("full agonist", name, choices)
    return _mor_classes(library)[0][name]


def antagonist(library: Library | None = None) -> Ligand:
    """The competitive antagonist of lesson 2: naloxone if the library has it at MOR, else any tau = 0 ligand."""
    ligs = _ligands_at("MOR", "functional", lesson_library(library))
    if "naloxone" in ligs and ligs["naloxone"].efficacy == 0:
        return ligs["naloxone"]
    zero = [lig for lig in ligs.values() if lig.efficacy == 0]
    if not zero:
        raise PharmsimError("the library holds no competitive antagonist (tau = 0) at MOR for lesson 2")
    return zero[0]


def partial_choices(library: Library | None = None) -> tuple[str, ...]:
    """MOR ligands of lesson 2 with a ceiling below :data:`FULL_AGONIST_EMAX` where the reserve is least
    (buprenorphine first)."""
    names = list(_mor_classes(library)[1])
    return tuple(sorted(names, key=lambda n: (n != "buprenorphine", names.index(n))))


def product_choices() -> tuple[str, ...]:
    """Product forms whose default contents include some MG (grams of product make sense)."""
    cat = catalog(_shipped_library())
    return tuple(f for f in cat.product_forms() if cat.product_contents_percent(f).get("MG", 0.0) > 0)


def dor_choices() -> dict[str, str]:
    """``{label: dor_efficacy}`` of lesson 3: the library's default and every source with a DOR tau row for
    MG or 7-OH-MG (``'default'`` means the preferred rows)."""
    lib = kratom_library()
    cat = catalog(lib)

    def label(rows, prefix):
        kind = "competitive antagonists" if all(r.value == 0 for r in rows) else "partial agonists"
        taus = ", ".join(dict.fromkeys(f"{r.value:g}" for r in rows))
        return f"{prefix}{kind}, tau {taus} ({rows[0].source})"

    out = {}
    pref = [lib.parameter("tau", c, "DOR", pathway="G protein") for c in ("MG", "7-OH-MG")
            if lib.has("tau", c, "DOR", pathway="G protein")]
    if pref:
        out[label(pref, "default: ")] = "default"
    for s in cat.efficacy_sources("DOR"):
        rows = [lib.parameter("tau", c, "DOR", pathway="G protein", source=s) for c in ("MG", "7-OH-MG")
                if lib.has("tau", c, "DOR", pathway="G protein", source=s)]
        if rows and not (pref and all(r.source == pref[0].source for r in rows)):
            out[label(rows, "")] = s
    return out


# ------------------------------------------------------------------------------------------------ helpers
def _ligand_sources(lig: Ligand, receptor: str) -> list[tuple]:
    rows = [("K (in use)", lig.name, receptor, lig.K_nM, "nM", lig.K_kind, lig.sources.get("K", ""))]
    if lig.Ki_nM is not None:
        rows.append(("Ki (binding)", lig.name, receptor, lig.Ki_nM, "nM", "binding Ki", lig.sources.get("Ki", "")))
    rows.append(("efficacy (tau, reference assay)", lig.name, receptor, lig.efficacy, "-",
                 "G protein", lig.sources.get("efficacy", "")))
    return rows


def _endpoint_sources(ep: Endpoint, library: Library) -> list[tuple]:
    rows = []
    for q in ("gain", "Em", "n"):
        p = library.parameter(q, "-", ep.name, pathway="G protein")
        rows.append((f"{q} of {ep.name}", "-", ep.receptor, float(p.value), p.unit, "endpoint", source_text(p)))
    return rows


def _concentration_for_fraction(lig: Ligand, ep: Endpoint, fraction: float) -> float:
    """Concentration (nM) at which ``lig`` alone gives ``fraction`` of its own Emax in ``ep`` (closed form:
    S = (e/(1-e))^(1/n), C = S K / (tau - S), the operational model inverted)."""
    tau = tau_at(lig, ep)
    _, emax = endpoint_ec50_emax(lig, ep)
    e = fraction * emax / ep.Em
    S = (e / (1.0 - e)) ** (1.0 / ep.n)
    return float(S * lig.K_nM / (tau - S))


def _short(text: str, limit: int = 38) -> str:
    """The first words of a source text ('Kruegel 2016 J Am Chem Soc (human, ...)' -> 'Kruegel 2016 J Am Chem Soc')."""
    head = str(text).split(" (")[0].split("; ")[0].replace("derived: ", "")
    return head if len(head) <= limit else head[: limit - 3].rstrip() + "..."


def _for_legend(lig: Ligand) -> Ligand:
    """``lig`` with a short ``source`` for figure legends (the full texts are in the page's source table)."""
    from dataclasses import replace

    eff = _short(lig.sources.get("efficacy", lig.source or ""))
    k = _short(lig.sources.get("K", "")) if lig.sources.get("K") else eff
    return replace(lig, source=eff if k == eff else f"K {k}; efficacy {eff}")


def _fmt(x: float) -> str:
    return f"{x:.3g}"


# ------------------------------------------------------------------------------------------------ lesson 1
@_timed
def receptor_lesson(receptor: str = "MOR", endpoint: str = "analgesia", ligands=("MG", "7-OH-MG", "morphine"),
                    gain: float | None = None, receptors_left: float = 1.0,
                    affinity: str = "functional") -> LessonView:
    """Occupancy vs response: each ligand alone at ``receptor``, read out in ``endpoint`` with ``gain``.

    occupancy p = C/(C + K) (Hill-Langmuir); response E = Em S^n/(1 + S^n), S = tau C/(K + C),
    tau = efficacy x gain x receptors_left (Black & Leff 1983, doi:10.1098/rspb.1983.0093; Furchgott 1966).

    Parameters
    ----------
    receptor, endpoint : str
        The receptor and an endpoint that reads it (its gain, Em and slope from the library).
    ligands : sequence of str
        Compounds with an affinity and an efficacy at the receptor (:func:`ligand_choices`).
    gain : float, optional
        Receptor reserve of the system (default: the library's gain of the endpoint).
    receptors_left : float
        Fraction q of receptors left after an irreversible antagonist, in (0, 1].
    affinity : {'functional', 'binding'}
        Which K the ligands use (:meth:`pharmsim.catalog.Catalog.ligand`).
    """
    lib = _shipped_library()
    require_choice("receptor", receptor, receptor_choices())
    require_choice("endpoint", endpoint, endpoint_choices(receptor))
    require_choice("affinity", affinity, ("functional", "binding"))
    names = tuple(dict.fromkeys(ligands))
    if not names:
        raise PharmsimError("choose at least one ligand")
    available = _ligands_at(receptor, affinity)
    for n in names:
        require_choice("ligand", n, tuple(available))
    ligs = [available[n] for n in names]
    base = catalog(lib).endpoint(endpoint)
    gain = base.gain if gain is None else float(gain)
    ep = Endpoint(base.name, base.receptor, gain=gain, Em=base.Em, n=base.n, receptor_fraction=float(receptors_left))
    intact = Endpoint(base.name, base.receptor, gain=gain, Em=base.Em, n=base.n)
    C = np.geomspace(*CURVE_RANGE_NM, CURVE_POINTS)

    rows = []
    for lig in ligs:
        occ = hill_occupancy(C, lig.K_nM)
        resp = endpoint_response(C[:, None], [lig], ep)
        rows.append(pd.DataFrame({"quantity": "occupancy", "receptor": receptor, "endpoint": "-", "ligand": lig.name,
                                  "conc_nM": C, "value": occ, "unit": "fraction", "gain": gain,
                                  "receptors_left": 1.0}))
        rows.append(pd.DataFrame({"quantity": "response", "receptor": receptor, "endpoint": endpoint,
                                  "ligand": lig.name, "conc_nM": C, "value": resp, "unit": "fraction of Em",
                                  "gain": gain, "receptors_left": ep.receptor_fraction}))
        if ep.receptor_fraction < 1.0:
            rows.append(pd.DataFrame({"quantity": "response", "receptor": receptor, "endpoint": endpoint,
                                      "ligand": lig.name, "conc_nM": C,
                                      "value": endpoint_response(C[:, None], [lig], intact),
                                      "unit": "fraction of Em", "gain": gain, "receptors_left": 1.0}))
    table = pd.concat(rows, ignore_index=True)

    from ..plots import FONT_SIZES, occupancy_curves, response_curves

    fig, axes = _figure(1, 2, 13.0, 4.8, legend_rows=1.5 * len(ligs))
    shown = [_for_legend(lig) for lig in ligs]
    occupancy_curves(shown, ax=axes[0][0], conc_range_nM=CURVE_RANGE_NM, n_points=CURVE_POINTS,
                     title=f"Occupancy at {receptor} (affinity only)")
    ax = axes[0][1]
    title = f"{endpoint.replace('_', ' ')}: gain {gain:.3g}"
    if ep.receptor_fraction < 1.0:
        title += f", {100 * ep.receptor_fraction:.3g} % of receptors left"
        for i, lig in enumerate(ligs):
            ax.plot(C, 100 * endpoint_response(C[:, None], [lig], intact) / ep.Em, color=f"C{i % 10}", lw=1.2,
                    ls="--", alpha=0.7, label="_nolegend_")
        ax.text(0.01, 0.99, "dashed: all receptors", transform=ax.transAxes, va="top", ha="left",
                fontsize=FONT_SIZES["annotation"], color="0.3")
    response_curves(shown, ep, ax=ax, conc_range_nM=CURVE_RANGE_NM, n_points=CURVE_POINTS, mark_ec50=True,
                    title=f"Response: {title}")
    for a in axes[0]:
        _legend_below(a)
    png = _render(fig)

    summary, sources = [], []
    for lig in ligs:
        ec50, emax = endpoint_ec50_emax(lig, ep)
        tau = tau_at(lig, ep)
        summary.append({"ligand": lig.name, "K (nM)": lig.K_nM, "K kind": lig.K_kind, "efficacy": lig.efficacy,
                        "tau here": tau, "Emax (% of Em)": 100 * emax / ep.Em,
                        "EC50 (nM)": ec50 if tau > 0 else math.nan,
                        "occupancy at EC50 (%)": 100 * float(hill_occupancy(ec50, lig.K_nM)) if tau > 0 else math.nan})
        sources += _ligand_sources(lig, receptor)
    sources += _endpoint_sources(base, lib)
    if gain != base.gain:
        sources.append((f"gain of {endpoint} (in use)", "-", receptor, gain, "-", "set on the page",
                        f"your choice on the page; the library's value is {base.gain:g}"))
    if ep.receptor_fraction < 1.0:
        sources.append(("receptors left", "-", receptor, ep.receptor_fraction, "fraction", "set on the page",
                        "your choice on the page (an irreversible antagonist, Furchgott 1966)"))
    kind = "functional K_A (EC50 x (1 + tau), one assay)" if affinity == "functional" else "binding Ki"
    notes = (f"K in use: the {kind}; the binding Ki is listed beside it.",
             "tau = efficacy x gain x fraction of receptors left; Emax = Em tau/(1 + tau); EC50 = K/(1 + tau) (n = 1).",
             "Concentrations are unbound concentrations at the receptor (nM).")
    inputs = {"receptor": receptor, "endpoint": endpoint, "ligands": list(names), "gain": gain,
              "library_gain": base.gain, "receptors_left": ep.receptor_fraction, "affinity": affinity}
    return LessonView("receptors", inputs, {"curves": table}, png, pd.DataFrame(summary), _sources_frame(sources),
                      notes)


# ------------------------------------------------------------------------------------------------ lesson 2
@_timed
def partial_lesson(endpoint: str = "respiratory_depression", partial: str | None = None, partial_nM: float = 1.0,
                   naloxone_nM: float = 10.0, full: str | None = None) -> LessonView:
    """A partial agonist meets a full agonist, and naloxone reverses both (equilibrium, Gaddum competition).

    Every response is the operational model of the mixture at one receptor:
    p_i = (C_i/K_i)/(1 + sum_j C_j/K_j), S = sum_i tau_i p_i, E = Em S^n/(1 + S^n). Panel 3 is the Schild
    plot of naloxone against the full agonist: r = 1 + [B]/K_B (Arunlakshana & Schild 1959,
    doi:10.1111/j.1476-5381.1959.tb00928.x).

    Parameters
    ----------
    endpoint : str
        A MOR endpoint (analgesia or respiratory depression).
    partial : str, optional
        The partial agonist (:func:`partial_choices`; default the first, buprenorphine).
    partial_nM, naloxone_nM : float
        Unbound concentrations of the partial agonist and of naloxone (nM, >= 0).
    """
    lib = lesson_library()
    cat = catalog(lib)
    require_choice("endpoint", endpoint, endpoint_choices("MOR"))
    choices = partial_choices()
    partial = choices[0] if partial is None else partial
    require_choice("partial", partial, choices)
    Cp, B = float(partial_nM), float(naloxone_nM)
    if not (Cp >= 0 and B >= 0 and math.isfinite(Cp) and math.isfinite(B)):
        raise PharmsimError(f"concentrations must be finite and >= 0 nM; got partial {Cp!r}, naloxone {B!r}")
    full, part, nal = full_agonist(full), _ligands_at("MOR", "functional", lib)[partial], antagonist()
    trio = [full, part, nal]
    ep = cat.endpoint(endpoint)
    C = np.geomspace(1e-2, 1e6, CURVE_POINTS)
    c_full = _concentration_for_fraction(full, ep, 0.8)

    def curve(panel, label, x, full_nM, partial_conc, nal_nM):
        conc = np.stack(np.broadcast_arrays(full_nM, partial_conc, nal_nM), axis=-1).astype(float)
        return pd.DataFrame({"panel": panel, "curve": label, "quantity": "response", "endpoint": endpoint,
                             "x": x, f"{full.name}_nM": conc[:, 0], f"{part.name}_nM": conc[:, 1],
                             f"{nal.name}_nM": conc[:, 2], "value": endpoint_response(conc, trio, ep),
                             "unit": "fraction of Em"})

    zero = np.zeros_like(C)
    frames = [
        curve("A", f"{full.name} alone", C, C, zero, zero),
        curve("A", f"{full.name} + {part.name} {Cp:g} nM", C, C, Cp, zero),
        curve("A", f"{full.name} + {nal.name} {B:g} nM", C, C, zero, B),
        curve("B", f"{full.name} {_fmt(c_full)} nM + {nal.name}", C, c_full, zero, C),
        curve("B", f"{part.name} {Cp:g} nM + {nal.name}", C, zero, Cp, C),
    ]
    r = schild_dose_ratio(C, nal.K_nM)
    frames.append(pd.DataFrame({"panel": "C", "curve": f"{nal.name} against {full.name}: dose ratio",
                                "quantity": "dose_ratio", "endpoint": endpoint, "x": C, f"{full.name}_nM": 0.0,
                                f"{part.name}_nM": 0.0, f"{nal.name}_nM": C, "value": r, "unit": "1"}))
    table = pd.concat(frames, ignore_index=True)

    from ..plots import REFERENCE_STYLE, style_axes

    fig, axes = _figure(1, 3, 16.5, 5.0, legend_rows=4.2)
    ax = axes[0][0]
    styles = {0: dict(REFERENCE_STYLE), 1: {"color": "C0", "lw": 2.8}, 2: {"color": "C3", "lw": 2.8, "ls": "--"}}
    for i, f in enumerate(frames[:3]):
        ax.plot(C, 100 * f["value"], label=f["curve"].iat[0], **styles[i])
    alone = float(endpoint_response(np.array([0.0, Cp, 0.0]), trio, ep))
    ax.axhline(100 * alone, color="C0", ls=":", lw=1.5, label=f"{part.name} {Cp:g} nM alone: {100 * alone:.0f} %")
    ax.set_xscale("log")
    ax.set_ylim(-2, 102)
    style_axes(ax, title=f"Add {full.name}: {endpoint.replace('_', ' ')}",
               xlabel=f"{full.name} unbound concentration (nM, log scale)", ylabel="response (% of Em)",
               legend=False)
    _legend_below(ax)
    ax = axes[0][1]
    for f, color in ((frames[3], "black"), (frames[4], "C0")):
        ax.plot(C, 100 * f["value"], color=color, lw=2.8, label=f["curve"].iat[0])
    ax.axvline(B, color="C3", ls=":", lw=2, label=f"{nal.name} {B:g} nM (slider)")
    ax.set_xscale("log")
    ax.set_ylim(-2, 102)
    style_axes(ax, title=f"Naloxone reversal: {endpoint.replace('_', ' ')}",
               xlabel=f"{nal.name} unbound concentration (nM, log scale)", ylabel="response (% of Em)",
               legend=False)
    _legend_below(ax)
    ax = axes[0][2]
    ax.plot(np.log10(C), np.log10(r - 1.0), color="C3", lw=2.8,
            label=f"log(r - 1) = log[B] - log K_B; K_B = {nal.K_nM:.3g} nM")
    if B > 0:
        ec50, _ = operational_ec50_emax(full.K_nM, tau_at(full, ep), ep.Em, ep.n)
        r_here = float(antagonist_shifted_ec50(full.K_nM, tau_at(full, ep), B, nal.K_nM, ep.n)) / float(ec50)
        ax.plot([math.log10(B)], [math.log10(r_here - 1.0)], "o", ms=11, color="black",
                label=f"{nal.name} {B:g} nM: EC50 x {r_here:.3g}")
    ax.axhline(0.0, color="grey", ls=":", lw=1)
    style_axes(ax, title="Schild plot: slope 1 (competitive)",
               xlabel=f"log10 [{nal.name}] (nM)", ylabel="log10 (dose ratio - 1)", legend=False)
    _legend_below(ax)
    png = _render(fig)

    summary = []
    for lig, conc in ((full, None), (part, Cp), (nal, B)):
        ec50, emax = endpoint_ec50_emax(lig, ep)
        row = {"ligand": lig.name, "K (nM)": lig.K_nM, "K kind": lig.K_kind, "tau here": tau_at(lig, ep),
               "Emax (% of Em)": 100 * emax / ep.Em, "EC50 (nM)": ec50 if lig.efficacy > 0 else math.nan,
               "concentration (nM)": math.nan if conc is None else conc,
               "dose ratio it causes, 1 + C/K": math.nan if conc is None else float(schild_dose_ratio(conc, lig.K_nM))}
        summary.append(row)
    sources = []
    for lig in trio:
        sources += _ligand_sources(lig, "MOR")
    sources += _endpoint_sources(ep, lib)
    notes = [f"{full.name} in panel B is held at {_fmt(c_full)} nM, where alone it gives 80 % of its own maximum.",
             "Equilibrium: every drug's unbound concentration at the receptor is held constant (Gaddum competition).",
             f"{nal.name} is a neutral competitive antagonist (tau = 0): the dose ratio 1 + [B]/K_B does not depend "
             "on the agonist."]
    if part.sources.get("efficacy", "").startswith("illustration"):
        notes.insert(0, f"The library holds no efficacy for {part.name}: its tau here is an ILLUSTRATION "
                        f"({part.efficacy:.3g} in the reference assay; {_ILLUSTRATION}).")
    inputs = {"endpoint": endpoint, "full_agonist": full.name, "partial": part.name, "antagonist": nal.name,
              "partial_nM": Cp, "naloxone_nM": B, "full_agonist_panel_B_nM": c_full}
    return LessonView("partial-agonists", inputs, {"curves": table}, png, pd.DataFrame(summary),
                      _sources_frame(sources), tuple(notes))


# ------------------------------------------------------------------------------------------------ lesson 3
def kratom_study(form: str = "leaf powder", grams: float = 2.0, morphine_mg: float = 10.0,
                 dor_efficacy: str = "default", hours: float = 24.0, step_h: float = 0.25):
    """The :class:`pharmsim.study.Study` of lesson 3 (kratom arm, and a morphine i.v. arm when
    ``morphine_mg`` > 0), equilibrium binding at MOR and DOR."""
    from ..dosing import dose
    from ..products import Product
    from ..solve import Outputs
    from ..study import Arm, ModelOptions, Study

    lib = kratom_library()
    require_choice("form", form, product_choices())
    dor = None if dor_efficacy in (None, "default") else dor_efficacy
    if dor is not None:
        require_choice("dor_efficacy", dor, tuple(dor_choices().values()))
    product = Product(form, float(grams))
    arms = [Arm(f"kratom {float(grams):g} g {form}", product.doses(0.0, library=lib),
                description=f"{float(grams):g} g {form} by mouth at 0 h")]
    if morphine_mg and morphine_mg > 0:
        arms.append(Arm(f"morphine {float(morphine_mg):g} mg i.v.", dose("morphine", float(morphine_mg), 0.0,
                                                                        route="iv", library=lib),
                        description=f"morphine {float(morphine_mg):g} mg intravenous bolus at 0 h (full agonist)"))
    t = np.arange(0.0, float(hours) + step_h / 2, step_h)
    return Study(arms=tuple(arms), t_h=t, model=ModelOptions(binding="equilibrium", dor_efficacy=dor),
                 library=lib, outputs=Outputs(quantities=("plasma_conc", "occupancy", "response")),
                 name="app_kratom")


@_timed
def kratom_lesson(form: str = "leaf powder", grams: float = 2.0, morphine_mg: float = 10.0,
                  dor_efficacy: str = "default") -> LessonView:
    """Grams of a kratom product -> MG and 7-OH-MG in plasma -> occupancy at MOR and DOR -> responses,
    beside a full agonist (morphine i.v.); the DOR efficacy source is a visible choice."""
    from ..plots import style_axes, time_course
    from ..study import run_study

    study = kratom_study(form, grams, morphine_mg, dor_efficacy)
    sr = run_study(study)
    table = sr.tidy()
    fig, axes = _figure(2, 2, 13.0, 9.0)
    (a_pk, a_mor), (a_dor, a_resp) = axes
    names = list(sr.results)
    for i, arm in enumerate(names):
        res = sr.results[arm]
        ls = "-" if i == 0 else "--"
        prefix = "" if i == 0 else "morphine arm: "
        time_course(res, "plasma_conc", ax=a_pk, label_prefix=prefix, linestyle=ls,
                    title="Plasma concentration (total)")
        time_course(res, "occupancy", receptor="MOR", ax=a_mor, label_prefix=prefix, linestyle=ls,
                    title="MOR occupancy")
        if res.select("occupancy", receptor="DOR"):
            time_course(res, "occupancy", receptor="DOR", ax=a_dor, label_prefix=prefix, linestyle=ls)
        for s in res.select("response"):
            color = {"analgesia": "C0", "respiratory_depression": "C3", "DOR_signal": "C2"}.get(s.endpoint, None)
            a_resp.plot(res.t_h, 100 * s.values[0], ls=ls, lw=4.5 if s.endpoint == "analgesia" else 2.5, color=color,
                        label=f"{'kratom' if i == 0 else 'morphine'}: {s.endpoint.replace('_', ' ')} ({s.receptor})")
    a_pk.set_yscale("log")
    lo = max(1e-3, float(table.loc[(table.quantity == "plasma_conc") & (table.value > 0), "value"].min())
             if ((table.quantity == "plasma_conc") & (table.value > 0)).any() else 1e-3)
    a_pk.set_ylim(bottom=max(lo, 1e-3))
    groups: dict[tuple, list[str]] = {}
    for model in sr.models.values():
        for lig in model.ligands_at("DOR") if "DOR" in model.receptors else ():
            key = (lig.efficacy, _short(lig.sources.get("efficacy", ""), 60))
            if lig.name not in groups.setdefault(key, []):
                groups[key].append(lig.name)
    dor_text = []
    for (tau, source), names_ in groups.items():
        kind = "competitive antagonist" if tau == 0 else "agonist"
        plural = "s" if len(names_) > 1 else ""
        dor_text.append(f"{', '.join(names_)}: {kind}{plural}, tau {tau:g}\n({source})")
    style_axes(a_dor, title="DOR occupancy", xlabel="time (h)", ylabel="receptor occupancy (%)",
               legend_loc="center right")
    a_dor.set_ylim(0, 1.9 * max(a_dor.get_ylim()[1], 1e-6))
    a_dor.text(0.02, 0.97, "DOR efficacy in use: " + "\n".join(dor_text), transform=a_dor.transAxes, fontsize=11,
               ha="left", va="top", bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "0.6"})
    a_resp.set_ylim(-2, 102)
    style_axes(a_resp, title="Responses (operational model)", xlabel="time (h)",
               ylabel="response (% of system maximum)", legend_loc="upper right")
    a_mor.set_ylim(bottom=0)
    png = _render(fig)

    summary = []
    for arm, res in sr.results.items():
        for s in res.series:
            k = int(np.argmax(s.values[0]))
            scale = 100.0 if s.unit.startswith("fraction") else 1.0
            summary.append({"arm": arm, "quantity": s.quantity, "compound": s.compound, "receptor": s.receptor,
                            "endpoint": s.endpoint, "peak": scale * float(s.values[0, k]),
                            "unit": "%" if scale == 100.0 else s.unit, "time of peak (h)": float(res.t_h[k])})
    params = sr.parameter_table()
    lib = study.library
    sources = [(r.parameter, r.compound, r.receptor, r.value, r.unit, f"{r.kind} {r.K_kind}".strip(" -"), r.source)
               for r in params.itertuples()]
    for c, pct in _contents(form, lib).items():
        p = lib.parameter("content", c, form)
        sources.append(("content", c, form, pct, "% w/w", "product", source_text(p)))
    inputs = {"form": form, "grams": float(grams), "morphine_mg": float(morphine_mg), "dor_efficacy": dor_efficacy,
              "t_h": [float(study.t_h[0]), float(study.t_h[-1]), float(study.t_h[1] - study.t_h[0])],
              "binding": "equilibrium", "arms": names}
    return LessonView("kratom", inputs, {"time_course": table}, png, pd.DataFrame(summary), _sources_frame(sources),
                      sr.notes)


def _contents(form: str, lib: Library) -> dict[str, float]:
    return {c: v for c, v in catalog(lib).product_contents_percent(form).items() if v > 0}


# ------------------------------------------------------------------------------------------------ lesson 4
def titration_protocol(step_g: float = 1.0, threshold: float = 0.045):
    """The start-low protocol of lesson 4 (an **illustration**, as in notebook 5): 1 g/day of leaf powder,
    up by ``step_g`` every 3 days to at most 6 g/day, target 15 % analgesia, a respiratory-depression
    ``threshold`` the next level must not cross."""
    from ..titration import TitrationProtocol

    return TitrationProtocol(start_dose=1.0, step=float(step_g), ceiling=6.0, days_per_step=3, unit="g",
                             target=0.15, target_endpoint="analgesia", target_statistic="peak",
                             thresholds={"respiratory_depression": float(threshold)})


def population_study(n: int = 40, omega: float = 0.4, cyp3a4: str = "strong", grams: float = 2.0, seed: int = 2024):
    """The :class:`pharmsim.study.Study` of lesson 4: one dose of leaf powder in ``n`` virtual adults without
    and with a CYP3A4 inhibitor (the same random effects), equilibrium binding at MOR."""
    from ..population import CYP3A4_LEVELS, Covariates
    from ..products import Product
    from ..solve import Outputs
    from ..study import Arm, ModelOptions, PopulationSpec, Study

    require_choice("cyp3a4", cyp3a4, CYP3A4_LEVELS)
    doses = Product("leaf powder", float(grams)).doses(0.0)
    arms = [Arm("no CYP3A4 inhibitor", doses, covariates=Covariates(cyp3a4_inhibitor="none"))]
    if cyp3a4 != "none":
        arms.append(Arm(f"{cyp3a4} CYP3A4 inhibitor", doses, covariates=Covariates(cyp3a4_inhibitor=cyp3a4)))
    spec = PopulationSpec(n=int(n), seed=int(seed), omega={k: float(omega) for k in ILLUSTRATION_OMEGA_PARAMETERS})
    return Study(arms=tuple(arms), t_h=np.arange(0.0, 48.01, 0.5), population=spec,
                 model=ModelOptions(receptors=("MOR",), binding="equilibrium"),
                 outputs=Outputs(quantities=("plasma_conc", "response")), name="app_population")


@functools.lru_cache(maxsize=32)
def _population_bands(n: int, omega: float, cyp3a4: str, grams: float, seed: int):
    """The population part of lesson 4 (cached apart from the titration): study result, bands, figure."""
    from ..plots import style_axes
    from ..population import plot_bands
    from ..study import run_study

    study = population_study(n, omega, cyp3a4, grams, seed)
    sr = run_study(study)
    bands = sr.summary_table()
    fig, axes = _figure(1, 4, 20.0, 4.9, bottom=0.19, top=0.9, wspace=0.3)
    panels = [("plasma_conc", "MG", "MG in plasma (nM, total)", 1.0),
              ("plasma_conc", "7-OH-MG", "7-OH-MG in plasma (nM, total)", 1.0),
              ("response", "analgesia", "analgesia (% of Em)", 100.0),
              ("response", "respiratory_depression", "respiratory depression (% of Em)", 100.0)]
    for ax, (quantity, what, ylabel, scale) in zip(axes[0], panels, strict=True):
        for i, arm in enumerate(sr.results):
            sub = bands[(bands.arm == arm) & (bands.quantity == quantity)
                        & ((bands.compound == what) if quantity == "plasma_conc" else (bands.endpoint == what))]
            data = pd.DataFrame({"time_h": sub["time_h"].to_numpy(), "median": scale * sub["median"].to_numpy(),
                                 "p5": scale * sub["p05"].to_numpy(), "p95": scale * sub["p95"].to_numpy(),
                                 "n_subjects": sub["n_subjects"].to_numpy()})
            plot_bands(data, ax=ax, label=arm.replace(" CYP3A4 inhibitor", " inhibitor"), color=f"C{i}")
        style_axes(ax, title=ylabel.split(" (")[0] + f", N = {int(n)}", xlabel="time (h)", ylabel=ylabel,
                   legend=ax is axes[0][0], legend_loc="upper right")
        if ax is not axes[0][0] and ax.get_legend() is not None:
            ax.get_legend().remove()
    peaks = []
    for arm, res in sr.results.items():
        for ser in res.series:
            lo, med, hi = np.percentile(ser.values.max(axis=1), [5, 50, 95])
            label = ser.compound if ser.quantity == "plasma_conc" else ser.endpoint
            peaks.append({"what": f"{arm}: peak {label}", "median": med, "p5": lo, "p95": hi,
                          "unit": ser.unit, "n_subjects": ser.values.shape[0]})
    params = sr.parameter_table()
    sources = [(r.parameter, r.compound, r.receptor, r.value, r.unit, f"{r.kind} {r.K_kind}".strip(" -"), r.source)
               for r in params.itertuples()]
    eff = catalog(study.library).covariate_effects().table()
    sources += [(r.quantity, "-", "CYP3A4/covariates", r.value, r.unit, "covariate", r.source)
                for r in eff.itertuples()]
    return study, sr, bands, _render(fig, footer=False), tuple(peaks), tuple(sources)


@functools.lru_cache(maxsize=32)
def _population_titration(n: int, omega: float, cyp3a4: str, step_g: float, threshold: float, seed: int):
    """The titration part of lesson 4 (cached apart from the bands): one titration per arm, and its figure."""
    from ..plots import style_axes
    from ..titration import model_simulator, plot_dose_trajectories, plot_final_doses, titrate

    study = population_study(n, omega, cyp3a4, 2.0, seed)   # the protocol sets its own doses
    protocol = titration_protocol(step_g, threshold)
    titrations = {}
    for arm in study.arms:
        pop = study.population.draw(arm.covariates, study.library)
        sim = model_simulator("leaf powder", population=pop, dose_times_in_day_h=(0.0, 8.0, 16.0),
                              receptors=("MOR",), binding="equilibrium", step_h=1.0, max_step_h=1.0)
        titrations[arm.name] = titrate(protocol, sim, int(n))
    fig, axes = _figure(1, 3, 20.0, 4.6, bottom=0.2, top=0.88, wspace=0.25)
    first = study.arms[0].name
    plot_dose_trajectories(titrations[first], ax=axes[0][0])
    style_axes(axes[0][0], title=f"Start low, step up: {first}", legend_loc="lower right")
    for ax, (arm, res) in zip(axes[0][1:], titrations.items(), strict=False):
        plot_final_doses(res, ax=ax)
        style_axes(ax, title=f"Where each subject stopped: {arm.replace(' CYP3A4 inhibitor', ' inhibitor')}",
                   legend_loc="upper left")
    if len(titrations) == 1:
        axes[0][2].set_axis_off()
    return protocol, titrations, _render(fig)


def _stack_png(*images: bytes) -> bytes:
    """PNG images one above the other (white background), as one PNG."""
    from PIL import Image

    parts = [Image.open(io.BytesIO(b)).convert("RGB") for b in images]
    out = Image.new("RGB", (max(p.width for p in parts), sum(p.height for p in parts)), "white")
    y = 0
    for p in parts:
        out.paste(p, (0, y))
        y += p.height
    buf = io.BytesIO()
    out.save(buf, format="PNG", compress_level=3)
    return buf.getvalue()


@_timed
def population_lesson(n: int = 40, omega: float = 0.4, cyp3a4: str = "strong", grams: float = 2.0,
                      step_g: float = 1.0, threshold: float = 0.045, seed: int = 2024) -> LessonView:
    """A population after one dose (median and 5-95 % band), with and without a CYP3A4 inhibitor, and a
    start-low titration protocol run on the same virtual adults, without and with the inhibitor.

    The two halves are computed and drawn separately and cached by their own inputs, so moving a titration
    slider does not redraw the bands (and the other way round)."""
    n, omega, grams, step_g, threshold, seed = int(n), float(omega), float(grams), float(step_g), float(threshold), \
        int(seed)
    study, sr, bands, png_bands, peaks, sources = _population_bands(n, omega, cyp3a4, grams, seed)
    protocol, titrations, png_titration = _population_titration(n, omega, cyp3a4, step_g, threshold, seed)
    png = _stack_png(png_bands, png_titration)

    final = pd.concat([res.final.assign(arm=arm) for arm, res in titrations.items()], ignore_index=True)
    final = final[["arm", *[c for c in final.columns if c != "arm"]]]
    peaks = list(peaks)
    for arm, res in titrations.items():
        row = res.final_dose_summary().iloc[0].to_dict()
        row["what"] = f"{arm}: final daily dose of the titration"
        peaks.append(row)
    summary = pd.DataFrame(peaks)
    sources = list(sources)
    sources += [(f"omega of {k}", k.split(".")[0], "PK", omega, "SD of log", "illustration",
                 "illustration set on the page: the library holds no published inter-individual variability")
                for k in ILLUSTRATION_OMEGA_PARAMETERS]
    p = protocol
    sources.append(("titration protocol", "leaf powder", "-", p.step, "g/day step", "illustration",
                    f"illustration (as in notebook 5): start {p.start_dose:g} g/day, step {p.step:g}, ceiling "
                    f"{p.ceiling:g}, {p.days_per_step} days per level, target {p.target:g} analgesia, threshold "
                    f"{p.thresholds['respiratory_depression']:g} respiratory depression; three intakes a day"))
    notes = list(sr.notes) + [
        f"Population: {n} virtual adults, seed {seed}; omega {omega:g} on "
        f"{', '.join(ILLUSTRATION_OMEGA_PARAMETERS)} (illustration).",
        "The titration is a model experiment on the same virtual adults, not a plan for anyone."]
    inputs = {"n": n, "omega": omega, "cyp3a4": cyp3a4, "grams": grams, "step_g": step_g, "threshold": threshold,
              "seed": seed, "arms": list(sr.results), "omega_parameters": list(ILLUSTRATION_OMEGA_PARAMETERS)}
    return LessonView("population", inputs, {"bands": bands, "titration": final}, png, summary,
                      _sources_frame(sources), tuple(notes))


LESSON_FUNCTIONS = {"receptors": receptor_lesson, "partial-agonists": partial_lesson, "kratom": kratom_lesson,
                    "population": population_lesson}
