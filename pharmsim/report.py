"""A self-contained HTML report: tables, figures embedded as base64 PNG, and the parameter provenance.

:func:`html_report` turns pandas tables and matplotlib figures (or PNG bytes) into one HTML file that
opens in any browser with nothing beside it: no external images, scripts or style sheets. The style is
plain and large enough to project in a classroom. Every report carries the statement that pharmsim is for
teaching and research, not dosing advice.

Not for: computing anything (tables and figures arrive ready-made) or writing files (see :mod:`pharmsim.cli`).
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from ._version import __version__
from .validate import PharmsimError

__all__ = ["ReportFigure", "ReportTable", "figure_png", "html_report", "PNG_SIGNATURE"]

DISCLAIMER = "pharmsim is for teaching and research, not dosing advice."
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MAX_ROWS = 300

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       font-size: 18px; line-height: 1.45; color: #1a1a1a; background: #fff; margin: 0 auto;
       max-width: 1200px; padding: 0 1.5em 3em; }
header { border-bottom: 3px solid #2b5797; margin-bottom: 1em; }
h1 { font-size: 1.9em; margin: 0.6em 0 0.2em; color: #2b5797; }
h2 { font-size: 1.4em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.15em; }
.disclaimer { background: #fff4e5; border-left: 6px solid #e08a00; padding: 0.6em 1em; font-weight: 600; }
.meta { color: #555; font-size: 0.85em; }
figure { margin: 1.2em 0; text-align: center; }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: 0.9em; color: #333; margin-top: 0.3em; }
table { border-collapse: collapse; font-size: 0.78em; margin: 0.6em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #eef2f8; }
tr:nth-child(even) td { background: #fafafa; }
.scroll { overflow-x: auto; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.8em; }
nav ul { columns: 2; }
footer { margin-top: 3em; color: #555; font-size: 0.85em; border-top: 1px solid #ccc; }
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
            fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
        except AttributeError:
            raise PharmsimError(
                f"figure must be a matplotlib Figure or PNG bytes; got {type(fig).__name__}"
            ) from None
        data = buf.getvalue()
    if not data.startswith(PNG_SIGNATURE):
        raise PharmsimError("figure must be PNG bytes (starting with the PNG signature); got other bytes")
    return data


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
    """An HTML table of ``frame`` (escaped; numbers to 4 significant digits; DOI columns as links)."""
    if not isinstance(frame, pd.DataFrame):
        raise PharmsimError(f"table must be a pandas DataFrame; got {type(frame).__name__}")
    shown = frame.head(max_rows)
    cols = list(shown.columns)
    head = "".join(f"<th>{_esc(c)}</th>" for c in cols)
    rows = []
    for rec in shown.itertuples(index=False, name=None):
        cells = []
        for c, v in zip(cols, rec, strict=True):
            cells.append(f"<td>{_link(_fmt(v)) if c in link_columns else _esc(_fmt(v))}</td>")
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

    if notes:
        section("Model choices", "<ul>" + "".join(f"<li>{_esc(n)}</li>" for n in notes) + "</ul>")
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
