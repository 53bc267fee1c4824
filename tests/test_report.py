"""Tests for pharmsim.report: a self-contained HTML document with embedded PNG figures."""

from __future__ import annotations

import base64
from html.parser import HTMLParser

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from pharmsim.report import PNG_SIGNATURE, ReportFigure, ReportTable, figure_png, html_report
from pharmsim.validate import PharmsimError


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs: list[dict] = []
        self.links: list[str] = []
        self.external: list[str] = []
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "img":
            self.imgs.append(attrs)
        if tag == "a":
            self.links.append(attrs.get("href", ""))
        if tag in ("script", "link") or (tag == "img" and not attrs.get("src", "").startswith("data:")):
            self.external.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def _fig(label="x"):
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1, 2], [0, 1, 0], label=label)
    ax.legend()
    return fig


def _parse(doc: str) -> _Collector:
    p = _Collector()
    p.feed(doc)
    p.close()
    return p


def test_figure_png_from_figure_and_bytes():
    fig = _fig()
    png = figure_png(fig)
    plt.close(fig)
    assert png.startswith(PNG_SIGNATURE) and len(png) > 1000
    assert figure_png(png) == png


def test_figure_png_rejects_other_things():
    with pytest.raises(PharmsimError, match="matplotlib Figure or PNG bytes"):
        figure_png(object())
    with pytest.raises(PharmsimError, match="PNG signature"):
        figure_png(b"GIF89a....")


def test_report_embeds_every_figure_as_png_and_nothing_external():
    figs = []
    for name in ("occupancy", "response", "pk"):
        f = _fig(name)
        figs.append(ReportFigure(name=f"{name}.png", png=figure_png(f), caption=f"caption of {name}"))
        plt.close(f)
    params = pd.DataFrame({
        "compound": ["MG", "7-OH-MG"], "quantity": ["Ki", "Ki"], "value": [709.0, 77.9], "unit": ["nM", "nM"],
        "source": ["Obeng 2021 JPET", "Obeng 2021 JPET"], "doi": ["10.1124/jpet.120.000189", "PMID 12345678"],
    })
    table = ReportTable("NCA", pd.DataFrame({"arm": ["a"], "Cmax_nM": [81.9]}), "per arm", csv="tables/nca.csv")
    doc = html_report("Demo <report>", summary="First.\n\nSecond.", figures=figs, tables=[table],
                      parameters=params, scenario_text='name = "x" # <b>', notes=["DOR efficacy = 0"])
    p = _parse(doc)
    assert len(p.imgs) == 3
    for img, fig in zip(p.imgs, figs, strict=True):
        src = img["src"]
        assert src.startswith("data:image/png;base64,")
        data = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert data == fig.png
        assert img["data-name"] == fig.name
    assert p.external == []
    text = "".join(p.text)
    assert "Demo <report>" in text  # escaped in the source, shown literally
    assert "<b>" not in doc.split("<pre>")[1].split("</pre>")[0]
    assert "not dosing advice" in text
    assert "https://doi.org/10.1124/jpet.120.000189" in p.links
    assert "https://pubmed.ncbi.nlm.nih.gov/12345678/" in p.links
    assert "Obeng 2021 JPET" in text and "81.9" in text and "DOR efficacy = 0" in text


def test_long_tables_are_truncated_with_a_note():
    frame = pd.DataFrame({"i": range(1000)})
    doc = html_report("t", tables=[ReportTable("big", frame)])
    assert "First 300 of 1000 rows shown" in doc
    assert doc.count("<tr>") == 301  # header + 300 rows


def test_table_must_be_a_dataframe():
    with pytest.raises(PharmsimError, match="DataFrame"):
        html_report("t", tables=[ReportTable("bad", [1, 2, 3])])


# ------------------------------------------------------------------------------------------ the demo report
# Issue 15, done when: the demo report has the displacement figure, one colour per compound across every figure
# (read from the figure objects), no legend over an axes' data area or the footer (bounding boxes), and tables
# that fit at 1,280 px (by the HTML's CSS rules: every table in a scrolling box, nothing wider than the body).

import re  # noqa: E402

import matplotlib  # noqa: E402
from matplotlib.collections import Collection, LineCollection  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from pharmsim import cli  # noqa: E402
from pharmsim.comparison import study_findings  # noqa: E402
from pharmsim.plots import study_figures  # noqa: E402
from pharmsim.style import COMBINED, compound_colour, get_style  # noqa: E402

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo run once: the study result, its findings, its figures (both styles) and the written report."""
    from pharmsim import scenario as sc
    from pharmsim.study import run_study

    sr = run_study(sc.load("demo"))
    findings = study_findings(sr)
    out = tmp_path_factory.mktemp("demo") / "results"
    assert cli.main(["demo", "--out", str(out), "--quiet"]) == 0
    plt.close("all")
    with plt.rc_context({"figure.max_open_warning": 0}):      # both styles' figures are kept open to inspect
        figs = {style: study_figures(sr, style=style, findings=findings) for style in ("default", "classroom")}
    yield {"sr": sr, "findings": findings, "out": out, "html": (out / "report.html").read_text(), "figs": figs}
    for figures in figs.values():
        for _, fig, _ in figures:
            plt.close(fig)


def _colour(artist):
    if isinstance(artist, Line2D):
        if artist.get_linestyle() in ("None", "none", " ", ""):
            return artist.get_markeredgecolor()
        return artist.get_color()
    if isinstance(artist, LineCollection):
        return artist.get_edgecolor()[0]
    if isinstance(artist, Collection):
        fc = artist.get_facecolor()
        return fc[0] if len(fc) else artist.get_edgecolor()[0]
    if isinstance(artist, Patch):
        return artist.get_facecolor()
    return None


def _compound_artists(fig):
    """(compound, colour hex, gid) of every artist drawn for a compound (gid '<kind>:<compound>[:...]'), and of
    every legend entry labelled with a compound id."""
    out = []
    for ax in fig.axes:
        for artist in [*ax.lines, *ax.collections, *ax.patches]:
            gid = artist.get_gid() or ""
            if ":" not in gid:
                continue
            colour = _colour(artist)
            if colour is not None:
                out.append((gid.split(":")[1].split(" [", 1)[0], to_hex(colour), gid))
    names = compound_names()
    for leg in fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]:
        for handle, text in zip(leg.legend_handles, leg.get_texts(), strict=True):
            if isinstance(handle, Line2D) and text.get_text() in names:
                out.append((text.get_text(), to_hex(handle.get_color()), "legend"))
    return out


def compound_names():
    import pharmsim as ps

    return {c.id for c in ps.load_library().compounds()}


def test_demo_report_has_the_displacement_figure_and_the_lesson(demo):
    html = demo["html"]
    names = re.findall(r'data-name="([^"]+)"', html)
    assert any(n.startswith("figures/displacement_") for n in names), names
    assert (demo["out"] / "figures" / "displacement_analgesia.png").is_file()
    assert any(n.startswith("figures/curve_") for n in names)
    # the conclusions come from the run's numbers: the peak responses of the two morphine arms are in the text
    peaks = demo["findings"].peaks
    resp = peaks[(peaks["quantity"] == "response") & (peaks["endpoint"] == "analgesia")].set_index("arm")
    for arm in ("morphine 10 mg IV", "kratom 2 g + morphine 10 mg IV"):
        assert f"{100 * resp.loc[arm, 'peak_median']:.1f} %" in html
    d = demo["findings"].displacement
    row = d[(d["endpoint"] == "analgesia") & (d["partial_agonist"] == "7-OH-MG")].iloc[0]
    assert f"{row.crossover_reference_nM:.3g} nM" in html and "What the model shows" in html
    # the K in use beside the binding Ki, named
    assert "K in use and binding Ki" in html and "functional K_A" in html
    # responses in % in the report tables (the CSV keeps fractions and says so)
    assert "peak response, median (% Em)" in html and "fraction of Em" in (demo["out"] / "tables" /
                                                                          "endpoints.csv").read_text()
    # NCA: Tmax after the dose, and the extrapolation flag where AUC0-inf is > 20 % extrapolated
    assert "Tmax after dose (h)" in html
    nca = demo["sr"].nca_table()
    over = nca[(nca["statistic"] == "AUC %extrap") & (nca["value"] > 20)]
    assert (len(over) > 0) == ("extrapolated (&gt; 20 %)" in html)


def test_each_compound_has_one_colour_across_every_figure(demo):
    for style, figures in demo["figs"].items():
        seen: dict[str, set] = {}
        for name, fig, _ in figures:
            per_fig: dict[str, str] = {}
            for compound, colour, gid in _compound_artists(fig):
                if compound in COMBINED:
                    assert colour == to_hex(get_style(style).combined_colour), (name, gid)
                    continue
                seen.setdefault(compound, set()).add(colour)
                per_fig.setdefault(compound, colour)
            # within a figure, two compounds never share a colour
            assert len(set(per_fig.values())) == len(per_fig), (name, per_fig)
        assert {"MG", "7-OH-MG", "morphine"} <= set(seen)
        for compound, colours in seen.items():
            assert colours == {to_hex(compound_colour(compound))}, (style, compound, colours)


def _overlap(a, b, tol=1.0) -> bool:
    return a.x0 < b.x1 - tol and b.x0 < a.x1 - tol and a.y0 < b.y1 - tol and b.y0 < a.y1 - tol


def test_no_legend_covers_data_or_the_footer(demo):
    for style, figures in demo["figs"].items():
        for name, fig, _ in figures:
            fig.canvas.draw()
            renderer = fig.canvas.get_renderer()
            legends = fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
            footers = [t for t in fig.texts if t.get_gid() == "footer"] + \
                [t for t in [getattr(fig, "_supxlabel", None)] if t is not None and t.get_gid() == "footer"]
            assert footers, f"{name}: no teaching-and-research footer"
            foot = footers[0].get_window_extent(renderer)
            for leg in legends:
                box = leg.get_window_extent(renderer)
                for ax in fig.axes:
                    assert not _overlap(box, ax.get_window_extent(renderer)), f"{style} {name}: legend over data"
                assert not _overlap(box, foot), f"{style} {name}: legend over the footer"
            for ax in fig.axes:
                assert not _overlap(foot, ax.get_window_extent(renderer)), f"{style} {name}: footer over data"
                # units on every axis
                assert re.search(r"\((?:[^)]*(nM|ng/mL|%|h|Em)[^)]*)\)", ax.get_ylabel()), (name, ax.get_ylabel())
                assert re.search(r"\((?:[^)]*(nM|h)[^)]*)\)", ax.get_xlabel()), (name, ax.get_xlabel())


def _css_rules(html: str) -> dict[str, str]:
    css = html.split("<style>", 1)[1].split("</style>", 1)[0]
    css = re.sub(r"@media[^{]*\{(?:[^{}]*\{[^}]*\})*[^}]*\}", "", css)
    rules = {}
    for sel, body in re.findall(r"([^{}]+)\{([^}]*)\}", css):
        for s in sel.split(","):
            rules[s.strip()] = rules.get(s.strip(), "") + body
    return rules


def test_tables_fit_at_1280px_by_the_css_rules(demo):
    html = demo["html"]
    rules = _css_rules(html)
    body = rules["body"]
    width = re.search(r"max-width:\s*(\d+)px", body)
    pad = re.search(r"padding:\s*0\s+([\d.]+)em", body)
    assert width and int(width.group(1)) + 2 * 18 * float(pad.group(1)) <= 1280   # 18 px font: padding in px
    assert "overflow-x: auto" in rules[".scroll"]
    assert "max-width: 100%" in rules["figure img"] and "overflow-wrap" in rules["td"]
    assert "overflow-x: auto" in rules["pre"] and "pre-wrap" in rules["pre"]
    # every table sits directly in a scrolling box, so no table can widen the page
    tables = html.count("<table>")
    assert tables >= 5 and html.count('<div class="scroll"><table>') == tables
    # nothing in the document fixes a width in pixels
    assert not re.search(r'style="[^"]*width:\s*\d{4,}px', html)


def test_report_names_modelling_choices_and_what_was_left_out():
    from pharmsim.report import split_notes

    choices, dropped = split_notes(["MG at DOR modelled as a competitive antagonist (tau = 0)",
                                    "fentanyl at DOR: the library holds no affinity (Ki/Kd), so fentanyl is not bound "
                                    "at DOR", "naloxone reversal not simulated: the library has no human naloxone PK"])
    assert choices == ["MG at DOR modelled as a competitive antagonist (tau = 0)"]
    assert len(dropped) == 2
    doc = html_report("t", notes=choices, dropped=dropped, conclusions=["x is 1 %"], warnings=["all identical"])
    assert "Left out of the model" in doc and "What the model shows" in doc and "Read this first" in doc


def test_tables_fit_at_1280px_in_a_headless_browser(demo):
    """The same check in a real browser, where one is installed (Chromium through Playwright)."""
    import shutil

    sync_api = pytest.importorskip("playwright.sync_api")
    browser_path = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser_path is None:
        pytest.skip("no Chromium on this machine")
    with sync_api.sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
        except Exception as err:  # noqa: BLE001 - a browser that cannot start is a missing tool, not a failure
            pytest.skip(f"Chromium does not start here: {err}")
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto((demo["out"] / "report.html").as_uri())
            assert page.evaluate("document.documentElement.scrollWidth") <= 1280
            widths = page.evaluate("Array.from(document.querySelectorAll('table')).map("
                                   "t => [t.getBoundingClientRect().width, t.parentElement.clientWidth])")
            assert widths and all(w <= box + 1 for w, box in widths), widths
        finally:
            browser.close()


def test_figure_pngs_draws_in_processes_the_same_bytes_as_one_by_one():
    """figure_pngs forks drawing processes only in a single-threaded caller; either way each PNG is the one
    figure_png draws, in the order given (bytes passed through). Run in a fresh interpreter, which has one
    thread (a test runner's worker may have more, and then draws serially: checked here too)."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    code = r'''
import threading, matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from pharmsim import report
figs = []
for k in range(4):
    fig, ax = plt.subplots(figsize=(3 + k, 2), layout="constrained")
    ax.plot([0, 1, 2], [k, 1, 0]); ax.set_title(f"figure {k}")
    figs.append(fig)
figs.insert(2, report.figure_png(figs[0]))
assert threading.active_count() == 1
import concurrent.futures as cf
calls = []
orig = cf.ProcessPoolExecutor.submit
def spy(self, *a, **k):
    calls.append(a[0].__name__)
    return orig(self, *a, **k)
cf.ProcessPoolExecutor.submit = spy
par = report.figure_pngs(figs, dpi=60, workers=2)
cf.ProcessPoolExecutor.submit = orig
one = [report.figure_png(f, dpi=60) for f in figs]
assert calls == ["figure_png"] * 4, calls
assert par == one and par[2] == figs[2]
assert report.figure_pngs(figs, dpi=60, workers=1) == one
figs[1].unpicklable = lambda: None          # cannot be sent to a process: drawn here, the same bytes
assert report.figure_pngs(figs, dpi=60, workers=2) == one
t = threading.Thread(target=lambda: __import__("time").sleep(2)); t.start()
calls.clear(); cf.ProcessPoolExecutor.submit = spy
assert report.figure_pngs(figs, dpi=60, workers=2) == one and calls == []
t.join()
print("ok")
'''
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]
