"""A self-contained HTML report: tables, figures embedded as base64 PNG, and the parameter provenance.

:func:`html_report` turns pandas tables and matplotlib figures (or PNG bytes) into one HTML file that
opens in any browser with nothing beside it: no external images, scripts or style sheets. The style is
plain and large enough to project in a classroom; every table sits in a horizontally scrolling box and long
cells wrap, so the page never grows wider than the window (1,280 px and less). Every report carries the
statement that pharmsim is for teaching and research, not dosing advice.

:func:`study_report` is the report of a study run (``pharmsim run``, ``pharmsim demo``): the conclusions
written from the run's numbers (:func:`pharmsim.comparison.study_findings`), the modelling choices and what
was left out, the figures, and tables for people: responses in % of Em, NCA with Tmax after the dose and a
flag for AUC0-inf extrapolated by more than 20 %, and the K in use beside the binding Ki.
:func:`terminal_lines` is the same story for the terminal.

Not for: simulating (tables and figures arrive ready-made or are read from a finished study result) or
writing files (see :mod:`pharmsim.cli`).
"""

from __future__ import annotations

import base64
import html
import io
import multiprocessing
import re
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from ._version import __version__
from .validate import PharmsimError

__all__ = ["AUC_EXTRAP_LIMIT_PCT", "PNG_SIGNATURE", "ReportFigure", "ReportTable", "affinity_table", "figure_pngs",
           "displacement_report_table", "endpoint_report_table", "figure_png", "html_report", "nca_report_table",
           "split_notes", "study_report", "table_html", "terminal_lines"]

DISCLAIMER = "pharmsim is for teaching and research, not dosing advice."
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MAX_ROWS = 300

_CSS = """
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       font-size: 18px; line-height: 1.45; color: #1a1a1a; background: #fff; margin: 0 auto;
       width: 100%; max-width: 1200px; padding: 0 1.5em 3em; overflow-wrap: break-word; }
header { border-bottom: 3px solid #2b5797; margin-bottom: 1em; }
h1 { font-size: 1.9em; margin: 0.6em 0 0.2em; color: #2b5797; }
h2 { font-size: 1.4em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.15em; }
section, figure, .scroll, pre, nav { max-width: 100%; }
.disclaimer { background: #fff4e5; border-left: 6px solid #e08a00; padding: 0.6em 1em; font-weight: 600; }
.warning { background: #fdecea; border-left: 6px solid #c62828; padding: 0.6em 1em; }
.conclusions li { margin: 0.35em 0; }
.meta { color: #555; font-size: 0.85em; }
figure { margin: 1.2em 0; text-align: center; }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: 0.9em; color: #333; margin-top: 0.3em; text-align: left; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; font-size: 0.78em; margin: 0.6em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
td { max-width: 32em; overflow-wrap: anywhere; }
th { background: #eef2f8; }
tr:nth-child(even) td { background: #fafafa; }
td.flag { color: #b71c1c; font-weight: 600; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.8em; white-space: pre-wrap; }
nav ul { columns: 2; }
footer { margin-top: 3em; color: #555; font-size: 0.85em; border-top: 1px solid #ccc; }
@media (max-width: 800px) { body { font-size: 16px; padding: 0 0.8em 2em; } nav ul { columns: 1; } }
"""


@dataclass(frozen=True)
class ReportFigure:
    """A figure for the report: ``png`` bytes (from :func:`figure_png`), a file ``name`` and a caption."""

    name: str
    png: bytes
    caption: str = ""


@dataclass(frozen=True)
class ReportTable:
    """A table for the report: a DataFrame, a title and a caption (``csv`` names the full CSV file)."""

    title: str
    frame: pd.DataFrame
    caption: str = ""
    csv: str = ""


def figure_png(fig, dpi: int = 110) -> bytes:
    """PNG bytes of a matplotlib Figure (``fig``), or ``fig`` itself if it is already PNG bytes."""
    if isinstance(fig, (bytes, bytearray)):
        data = bytes(fig)
    else:
        buf = io.BytesIO()
        try:
            # a constrained-layout figure already fits its artists (legends and footers included) in its canvas;
            # bbox_inches='tight' would draw it a second time to measure it (the demo's main cost)
            engine = fig.get_layout_engine() if hasattr(fig, "get_layout_engine") else None
            # zlib level 1: faster encoding of these large figures (the demo: 8.5-9.8 s -> 7.0-8.4 s), files
            # about 5 % larger
            fig.savefig(buf, format="png", dpi=dpi, bbox_inches=None if engine is not None else "tight",
                        pil_kwargs={"compress_level": 1})
        except AttributeError:
            raise PharmsimError(
                f"figure must be a matplotlib Figure or PNG bytes; got {type(fig).__name__}"
            ) from None
        data = buf.getvalue()
    if not data.startswith(PNG_SIGNATURE):
        raise PharmsimError("figure must be PNG bytes (starting with the PNG signature); got other bytes")
    return data


def figure_pngs(figs: Sequence, dpi: int = 110, *, workers: int | None = None) -> list[bytes]:
    """PNG bytes of several figures, each as :func:`figure_png` (the same bytes), in the order given.

    Drawing dominates the cost of a report (text layout and rasterising in matplotlib, which holds the
    interpreter lock), so the figures are drawn in up to ``workers`` processes (default: the CPU count, at most
    one per figure), largest first. Processes are forked, which is only safe in a process with a single thread
    (and, among the platforms pharmsim runs on, only done on Linux: macOS frameworks may not survive a fork): in a
    threaded caller (a web server, a test runner's worker), elsewhere than Linux, or with ``workers=1``, the
    figures are drawn here one after another.
    """
    figs = list(figs)
    n_cpu = multiprocessing.cpu_count()
    workers = min(n_cpu if workers is None else int(workers), len(figs))
    drawn = [i for i, f in enumerate(figs) if not isinstance(f, (bytes, bytearray))]
    if (workers < 2 or len(drawn) < 2 or threading.active_count() != 1 or not sys.platform.startswith("linux")
            or "fork" not in multiprocessing.get_all_start_methods()):
        return [figure_png(f, dpi=dpi) for f in figs]
    import pickle  # noqa: PLC0415
    from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415
    from concurrent.futures.process import BrokenProcessPool  # noqa: PLC0415

    def size(i):
        w, h = figs[i].get_size_inches()
        return w * h * max(len(figs[i].axes), 1)

    order = sorted(drawn, key=size, reverse=True)
    out: list = [None] * len(figs)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as ex:
        futures = {i: ex.submit(figure_png, figs[i], dpi) for i in order}
        for i, f in enumerate(figs):
            if i not in futures:
                out[i] = figure_png(f, dpi=dpi)
                continue
            try:
                out[i] = futures[i].result()
            except (pickle.PicklingError, AttributeError, TypeError, BrokenProcessPool):
                # a figure that cannot be sent to a process (an unpicklable artist), or a pool that broke: drawn
                # here instead, where any genuine error of figure_png is raised as it would be one by one
                out[i] = figure_png(f, dpi=dpi)
    return out


def _esc(value) -> str:
    return html.escape(str(value), quote=True)


_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_PMID = re.compile(r"^(?:PMID:?\s*)?(\d{6,9})$")
_PMC = re.compile(r"^(PMC\d+)$")


def _link(value: str) -> str:
    """HTML for a DOI / PMID / PMC / URL cell: a link where the identifier is recognisable."""
    text = str(value).strip()
    if _DOI.match(text):
        return f'<a href="https://doi.org/{_esc(text)}">{_esc(text)}</a>'
    if text.startswith(("http://", "https://")):
        return f'<a href="{_esc(text)}">{_esc(text)}</a>'
    m = _PMID.match(text)
    if m:
        return f'<a href="https://pubmed.ncbi.nlm.nih.gov/{m.group(1)}/">{_esc(text)}</a>'
    m = _PMC.match(text)
    if m:
        return f'<a href="https://www.ncbi.nlm.nih.gov/pmc/articles/{m.group(1)}/">{_esc(text)}</a>'
    return _esc(text)


def _fmt(value) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        return f"{value:.4g}"
    if value is None:
        return ""
    return str(value)


def table_html(frame: pd.DataFrame, max_rows: int = _MAX_ROWS, link_columns: Sequence[str] = ("doi",)) -> str:
    """An HTML table of ``frame`` (escaped; numbers to 4 significant digits; DOI columns as links), inside a
    horizontally scrolling box so that a wide table never widens the page; a non-empty ``flag`` cell is
    highlighted."""
    if not isinstance(frame, pd.DataFrame):
        raise PharmsimError(f"table must be a pandas DataFrame; got {type(frame).__name__}")
    shown = frame.head(max_rows)
    cols = list(shown.columns)
    head = "".join(f"<th>{_esc(c)}</th>" for c in cols)
    rows = []
    for rec in shown.itertuples(index=False, name=None):
        cells = []
        for c, v in zip(cols, rec, strict=True):
            cls = ' class="flag"' if c == "flag" and _fmt(v) else ""
            cells.append(f"<td{cls}>{_link(_fmt(v)) if c in link_columns else _esc(_fmt(v))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if len(frame) > max_rows:
        more = f'<p class="meta">First {max_rows} of {len(frame)} rows shown.</p>'
    return (f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody>'
            f"</table></div>{more}")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def html_report(
    title: str,
    *,
    summary: str = "",
    figures: Sequence[ReportFigure] = (),
    tables: Sequence[ReportTable] = (),
    parameters: pd.DataFrame | None = None,
    provenance: pd.DataFrame | None = None,
    scenario_text: str = "",
    notes: Sequence[str] = (),
    generated: datetime | None = None,
    conclusions: Sequence[str] = (),
    warnings: Sequence[str] = (),
    dropped: Sequence[str] = (),
) -> str:
    """One self-contained HTML document (a string).

    Parameters
    ----------
    title : str
        Report title (escaped).
    summary : str
        Plain-text paragraph(s) under the title; blank lines separate paragraphs.
    figures : sequence of ReportFigure
        Embedded as ``<img src="data:image/png;base64,...">``, in order, each with its caption.
    tables : sequence of ReportTable
        Shown as HTML tables (long tables truncated, with a pointer to the CSV file).
    parameters : DataFrame, optional
        The parameters the model used, each with its source.
    provenance : DataFrame, optional
        The library rows behind them (value, unit, species, assay, source, DOI, status); DOI cells become links.
    scenario_text : str
        The scenario file, shown verbatim.
    notes : sequence of str
        Extra notes (model choices worth making visible, e.g. the delta-receptor efficacy choice).
    conclusions : sequence of str
        What the results show, in sentences written from the numbers (first section).
    warnings : sequence of str
        What the reader must know about the run itself (shown highlighted, before everything else).
    dropped : sequence of str
        Ligands or situations left out of the model, and why.
    """
    figures = [f if isinstance(f, ReportFigure) else ReportFigure(*f) for f in figures]
    tables = [t if isinstance(t, ReportTable) else ReportTable(*t) for t in tables]
    when = (generated or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    parts: list[str] = []
    toc: list[tuple[str, str]] = []

    def section(name: str, body: str) -> None:
        anchor = _slug(name)
        toc.append((anchor, name))
        parts.append(f'<section id="{anchor}"><h2>{_esc(name)}</h2>{body}</section>')

    def items(values) -> str:
        return "<ul>" + "".join(f"<li>{_esc(n)}</li>" for n in values) + "</ul>"

    if warnings:
        parts.append('<div class="warning"><b>Read this first.</b>' + items(warnings) + "</div>")
    if conclusions:
        section("What the model shows", '<div class="conclusions">' + items(conclusions) + "</div>"
                '<p class="meta">Every number above is computed from this run (peaks over the time grid; '
                "equilibrium thresholds from the operational model and Gaddum competition). Responses are % of "
                "each endpoint's maximum Em; occupancies % of receptors.</p>")
    if notes:
        section("Model choices", items(notes))
    if dropped:
        section("Left out of the model", items(dropped))
    if figures:
        body = []
        for f in figures:
            png = figure_png(f.png)
            b64 = base64.b64encode(png).decode("ascii")
            alt = f.caption or f.name
            body.append(
                f'<figure id="fig-{_slug(f.name)}"><img src="data:image/png;base64,{b64}" alt="{_esc(alt)}" '
                f'data-name="{_esc(f.name)}"><figcaption><b>{_esc(f.name)}</b>'
                f'{" — " + _esc(f.caption) if f.caption else ""}</figcaption></figure>'
            )
        section("Figures", "".join(body))
    for t in tables:
        cap = f"<p>{_esc(t.caption)}</p>" if t.caption else ""
        csv = f'<p class="meta">Full table: <code>{_esc(t.csv)}</code></p>' if t.csv else ""
        section(t.title, cap + table_html(t.frame) + csv)
    if parameters is not None:
        section(
            "Parameters and their sources",
            "<p>Every parameter value the model used (typical values for a population), with its unit and "
            "source.</p>" + table_html(parameters, max_rows=max(len(parameters), 1)),
        )
    if provenance is not None:
        section(
            "Library rows in use",
            "<p>The preferred (default) library rows for the compounds and endpoints of this report, with species, "
            "assay, source, DOI and status (seen: read in the source; check: quoted, not confirmed in the "
            "primary paper; derived: arithmetic from published numbers; assumption: no published value, reason "
            "in the library note).</p>" + table_html(provenance, max_rows=max(len(provenance), 1)),
        )
    if scenario_text:
        section("Scenario file", f"<pre>{_esc(scenario_text)}</pre>")

    nav = ""
    if toc:
        nav = "<nav><ul>" + "".join(f'<li><a href="#{a}">{_esc(n)}</a></li>' for a, n in toc) + "</ul></nav>"
    summary_html = "".join(f"<p>{_esc(p.strip())}</p>" for p in summary.split("\n\n") if p.strip())
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<header><h1>{_esc(title)}</h1>"
        f'<p class="disclaimer">{_esc(DISCLAIMER)} Simulated values describe a model, not a person.</p>'
        f'<p class="meta">Generated by pharmsim {_esc(__version__)} on {when}.</p></header>\n'
        f"{summary_html}{nav}\n" + "\n".join(parts) + "\n"
        f"<footer>{_esc(DISCLAIMER)}</footer>\n</body>\n</html>\n"
    )


# ------------------------------------------------------------------------------------------------ studies
_DROPPED = re.compile(r"\bnot bound at\b|\bnot simulated\b|\bleft out\b|\bdropped\b", re.IGNORECASE)

#: AUC0-inf is flagged when more than this share (%) of it is extrapolated beyond the last sample
#: (the usual acceptance limit, e.g. EMA 2010 bioequivalence guideline, CPMP/EWP/QWP/1401/98 Rev. 1).
AUC_EXTRAP_LIMIT_PCT = 20.0


def split_notes(notes: Sequence[str]) -> tuple[list[str], list[str]]:
    """``(modelling choices, left out)``: the notes that say a ligand or a situation is not modelled go second."""
    choices, dropped = [], []
    for n in notes:
        (dropped if _DROPPED.search(str(n)) else choices).append(str(n))
    return choices, dropped


def endpoint_report_table(endpoints: pd.DataFrame) -> pd.DataFrame:
    """Per arm and endpoint: peak response (% of Em; median, 5th and 95th percentile over subjects), time of the
    peak and response at the end (from :meth:`pharmsim.study.StudyResult.endpoint_table`, which holds
    fractions)."""
    if not len(endpoints):
        return pd.DataFrame()
    g = endpoints.groupby(["arm", "receptor", "endpoint"], sort=False)
    out = g.agg(peak_median=("peak_response", "median"), peak_p05=("peak_response", lambda x: x.quantile(0.05)),
                peak_p95=("peak_response", lambda x: x.quantile(0.95)),
                time_of_peak_h=("time_of_peak_h", "median"), at_end=("response_at_end", "median")).reset_index()
    for c in ("peak_median", "peak_p05", "peak_p95", "at_end"):
        out[c] = 100.0 * out[c]
    return out.rename(columns={"peak_median": "peak response, median (% Em)", "peak_p05": "5th pct (% Em)",
                               "peak_p95": "95th pct (% Em)", "time_of_peak_h": "time of peak (h, median)",
                               "at_end": "at the end (% Em, median)"})


def _dose_times(doses: pd.DataFrame, arm: str, compound: str, parents: dict) -> np.ndarray:
    if not len(doses):
        return np.array([])
    d = doses[(doses["arm"] == arm) & (doses["route"] != "reset")]
    if "subject" in d.columns:
        d = d[d["subject"] == d["subject"].min()]
    names = {compound}
    while compound in parents and parents[compound] and parents[compound] not in names:
        compound = parents[compound]
        names.add(compound)
    return np.sort(d.loc[d["compound"].isin(names), "time_h"].to_numpy(dtype=float))


def _median(values) -> float:
    v = np.asarray(values, dtype=float)
    return float(np.nanmedian(v)) if np.isfinite(v).any() else np.nan


def nca_report_table(nca: pd.DataFrame, doses: pd.DataFrame, parents: dict | None = None,
                     limit_pct: float = AUC_EXTRAP_LIMIT_PCT) -> pd.DataFrame:
    """The NCA of every arm and compound (median over subjects), with Tmax as time after dose and a flag.

    ``Tmax after dose = Tmax - t_d`` with ``t_d`` the last dose of the compound (or of the parent it is formed
    from, ``parents``) at or before Tmax, per subject; ``flag`` says when more than ``limit_pct`` % of AUC0-inf
    is extrapolated (AUC0-inf then rests on the terminal fit more than on the simulated profile: sample
    longer).
    """
    if not len(nca):
        return pd.DataFrame()
    parents = dict(parents or {})
    wide = nca.pivot_table(index=["arm", "subject", "compound"], columns="statistic", values="value",
                           aggfunc="first", sort=False).reset_index()
    units = dict(zip(nca["statistic"], nca["unit"], strict=False))
    for stat in ("Cmax", "Tmax", "AUC0-t", "AUC0-inf", "AUC %extrap", "t_half"):
        if stat not in wide.columns:      # e.g. no terminal phase sampled: the statistic is absent, not an error
            wide[stat] = np.nan
    rows = []
    for (arm, compound), g in wide.groupby(["arm", "compound"], sort=False):
        times = _dose_times(doses, arm, compound, parents)
        after, dose_at = [], []
        for tmax in g["Tmax"]:
            if not np.isfinite(tmax):
                after.append(np.nan)
                dose_at.append(np.nan)
                continue
            prior = times[times <= tmax + 1e-9] if times.size else times
            t_d = float(prior[-1]) if prior.size else 0.0
            after.append(tmax - t_d)
            dose_at.append(t_d)
        extrap = float(np.nanmedian(g["AUC %extrap"])) if g["AUC %extrap"].notna().any() else np.nan
        n_over = int((g["AUC %extrap"] > limit_pct).sum())
        flag = ""
        if n_over:
            who = "" if len(g) == 1 else f" in {n_over} of {len(g)} subjects"
            flag = (f"AUC0-inf {extrap:.0f} % extrapolated (> {limit_pct:g} %){who}: not reliable; AUC0-t is what "
                    "was simulated")
        conc = units.get("Cmax", "nM")
        rows.append({"arm": arm, "compound": compound, f"Cmax ({conc})": _median(g["Cmax"]),
                     "Tmax after dose (h)": _median(after),
                     "dose at (h)": _median(dose_at),
                     f"AUC0-t ({units.get('AUC0-t', conc + '*h')})": _median(g["AUC0-t"]),
                     f"AUC0-inf ({units.get('AUC0-inf', conc + '*h')})": float(np.nanmedian(g["AUC0-inf"]))
                     if g["AUC0-inf"].notna().any() else np.nan,
                     "AUC extrapolated (%)": extrap,
                     "t_half (h)": float(np.nanmedian(g["t_half"])) if g["t_half"].notna().any() else np.nan,
                     "subjects": int(len(g)), "flag": flag})
    return pd.DataFrame(rows)


def affinity_table(models) -> pd.DataFrame:
    """Per compound and receptor: the K in use (and what K it is) beside the binding Ki, each with its source."""
    rows, seen = [], set()
    for arm, model in dict(models).items():
        for lig in model.ligands:
            key = (lig.name, lig.receptor, lig.K_nM, lig.Ki_nM)
            if key in seen:
                continue
            seen.add(key)
            rows.append({"compound": lig.name, "receptor": lig.receptor, "K in use (nM)": lig.K_nM,
                         "K in use is": lig.K_kind, "binding Ki (nM)": lig.Ki_nM if lig.Ki_nM is not None else np.nan,
                         "K in use / Ki": lig.K_nM / lig.Ki_nM if lig.Ki_nM else np.nan,
                         "efficacy (tau, reference assay)": lig.efficacy,
                         "K source": lig.sources.get("K", ""), "Ki source": lig.sources.get("Ki", ""),
                         "arms": arm})
    return pd.DataFrame(rows)


def displacement_report_table(findings) -> pd.DataFrame:
    """The displacement thresholds of :class:`pharmsim.comparison.Findings`, for people (responses in %)."""
    d = findings.displacement
    if d is None or not len(d):
        return pd.DataFrame()
    out = pd.DataFrame({
        "endpoint": d["endpoint"], "reference": d["reference"], "other ligand": d["partial_agonist"],
        "tau ref / other": [f"{a:.3g} / {b:.3g}" for a, b in zip(d["tau_reference"], d["tau_partial"], strict=True)],
        "reference reached (nM unbound)": d["reference_reached_nM"],
        "crossover: reference above (nM)": d["crossover_reference_nM"],
        "other reached (nM unbound)": d["partial_reached_nM"],
        "other: half of receptors at (nM)": d["half_occupancy_partial_nM"],
        "reference alone (% Em)": 100 * d["response_reference_alone"],
        "with the other at its peak (% Em)": 100 * d["response_with_partial"],
        "other's ceiling (% Em)": 100 * d["response_partial_ceiling"], "effect at the doses": d["effect"]})
    return out


def study_report(study_result, figures: Sequence[ReportFigure] = (), *, findings=None, doses=None, nca=None,
                 endpoints=None, parameters=None, provenance=None, extra_notes: Sequence[str] = ()) -> str:
    """The self-contained HTML report of a :class:`pharmsim.study.StudyResult`.

    Sections: warnings about the run, what the model shows (:attr:`pharmsim.comparison.Findings.conclusions`),
    the modelling choices and what was left out, the figures, then tables: endpoints (% of Em), plasma NCA
    (time after dose, extrapolation flag), the K in use beside the binding Ki, displacement thresholds, doses,
    parameters with sources, library rows, and the scenario file. Tables already computed by the caller may be
    passed in (``doses`` ...); the others are taken from ``study_result``.
    """
    from .catalog import catalog  # noqa: PLC0415
    from .comparison import study_findings  # noqa: PLC0415

    sr = study_result
    study = sr.study
    findings = study_findings(sr) if findings is None else findings
    doses = sr.dose_table() if doses is None else doses
    nca = sr.nca_table() if nca is None else nca
    endpoints = sr.endpoint_table() if endpoints is None else endpoints
    parameters = sr.parameter_table() if parameters is None else parameters
    provenance = sr.provenance_table() if provenance is None else provenance
    cat = catalog(study.library)
    parents = {c: cat.parent(c) for m in sr.models.values() for c in m.compounds}
    tables = []
    ep = endpoint_report_table(endpoints)
    if len(ep):
        tables.append(ReportTable("Endpoints", ep, "Peak response per arm, in % of the endpoint's maximum Em (median "
                                  "and 5th-95th percentile over subjects; tables/endpoints.csv holds fractions).",
                                  csv="tables/endpoints.csv"))
    t = nca_report_table(nca, doses, parents)
    if len(t):
        tables.append(ReportTable("Plasma NCA", t, "Non-compartmental statistics of total plasma concentrations "
                                  "(median over subjects). Tmax is the time after the dose before it (given in 'dose "
                                  f"at'); 'flag' marks AUC0-inf extrapolated by more than {AUC_EXTRAP_LIMIT_PCT:g} %.",
                                  csv="tables/nca.csv"))
    aff = affinity_table(sr.models)
    if len(aff):
        tables.append(ReportTable("K in use and binding Ki", aff, "The K each ligand's occupancy and response use "
                                  "('K in use is' names it: a functional K_A from the EC50 and tau of one assay, or "
                                  "a binding Ki), beside the binding Ki from radioligand displacement. They are "
                                  "different measurements and can differ a thousandfold."))
    disp = displacement_report_table(findings)
    if len(disp):
        tables.append(ReportTable("Displacement thresholds", disp, "Equilibrium closed forms (see 'What the model "
                                  "shows'): a ligand with a smaller tau lowers the reference's response only above "
                                  "the crossover concentration of the reference; it holds half of the receptors at "
                                  "the concentration given. 'reached' = peak unbound effect-site concentration "
                                  "after the simulated doses."))
    if len(doses):
        d = doses[doses["subject"] == doses["subject"].min()].drop(columns=["subject"]) if "subject" in doses else doses
        tables.append(ReportTable("Doses", d, "Every dosing event (first subject).", csv="tables/doses.csv"))
    choices, dropped = split_notes(list(sr.notes) + list(extra_notes))
    title = study.title or study.name
    return html_report(title, summary=_study_summary(sr), figures=figures, tables=tables, parameters=parameters,
                       provenance=provenance, scenario_text=study.text, notes=choices, dropped=dropped,
                       conclusions=findings.conclusions, warnings=findings.warnings)


def _study_summary(sr) -> str:
    study = sr.study
    lines = [" ".join(study.description.split())] if study.description else []
    n = sr.n_subjects
    t = study.t_h
    step = float(np.median(np.diff(t))) if t.size > 1 else 0.0
    m = next(iter(sr.models.values()))
    lines.append(
        f"{len(sr.models)} arm(s) simulated on {'one typical adult' if n == 1 else f'{n} virtual adults'} from "
        f"{t[0]:g} to {t[-1]:g} h (output every {step:g} h); receptors {', '.join(m.receptors)}; binding "
        f"{', '.join(f'{r}: {b}' for r, b in m.binding.items())}; tolerance "
        f"{'on (' + m.tolerance.mechanism + ')' if m.tolerance is not None else 'off'}. Figures: colour = compound, "
        "line style = arm; responses in % of each endpoint's maximum Em."
    )
    for arm in study.arms:
        lines.append(f"Arm '{arm.name}': {'; '.join(arm.dose_labels) or f'{arm.doses.n_events} dosing event(s)'}."
                     + (f" {arm.description}" if arm.description else ""))
    return "\n\n".join(lines)


def terminal_lines(study_result, findings, extra_notes: Sequence[str] = ()) -> list[str]:
    """What ``pharmsim run`` / ``demo`` print: warnings, modelling choices, what was left out, conclusions."""
    choices, dropped = split_notes(list(study_result.notes) + list(extra_notes))
    out = []
    for w in findings.warnings:
        out.append(f"WARNING: {w}")
    if choices:
        out.append("Modelling choices:")
        out += [f"  - {n}" for n in choices]
    out.append("Left out of the model (dropped ligands and situations):")
    out += [f"  - {n}" for n in dropped] or ["  - none"]
    if findings.conclusions:
        out.append("What the model shows:")
        out += [f"  * {c}" for c in findings.conclusions]
    return out
