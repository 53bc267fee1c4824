"""The Panel pages of the classroom web app: widgets -> :mod:`pharmsim.app.lessons` -> figure, tables, sources.

Every page has the same parts, top to bottom: the lesson links, the "not dosing advice" caveat
(:data:`pharmsim.DISCLAIMER`), what the lesson shows and its equations, the controls beside the figure, the
"download what you see" buttons (the figure as PNG, the tidy table behind it as CSV), a short summary table,
every number with its source, the modelling notes, and the caveat again. A hidden ``<pre
data-testid="lesson-data">`` holds the plotted numbers and the inputs as JSON, so that tests (and curious
students with the browser's inspector) can read exactly what the figure shows.

A slider move calls the lesson function with the widgets' values; lessons are cached by their inputs, so the
page redraws in a fraction of a second (equilibrium binding and closed forms where they are exact).

Not for: computing anything (:mod:`pharmsim.app.lessons`) or starting the server (:mod:`pharmsim.app.server`).
pharmsim is for teaching and research only, not dosing advice.
"""

from __future__ import annotations

import html
import io
import json
import math
import time

import numpy as np
import pandas as pd
import panel as pn

from .. import DISCLAIMER
from . import lessons as L

__all__ = ["STYLES", "PAGES", "home_page", "lesson_page", "data_json"]

#: The page styles: base font size (px), width of the controls column (px).
STYLES = {"classroom": {"font_px": 21, "controls_px": 400, "title_px": 34},
          "default": {"font_px": 14, "controls_px": 320, "title_px": 24}}

INTRO = {
    "receptors": """
<p><b>What you see.</b> Left: the fraction of receptors each drug occupies, which depends on its
<b>affinity</b> alone: <i>p</i> = <i>C</i>/(<i>C</i> + <i>K</i>). Right: the <b>response</b> it produces in one
endpoint (operational model, Black &amp; Leff 1983): <i>S</i> = &tau;<i>p</i>,
<i>E</i> = <i>E</i><sub>m</sub><i>S</i><sup>n</sup>/(1 + <i>S</i><sup>n</sup>), with
&tau; = &epsilon; &times; <i>g</i> &times; <i>q</i>: the drug's <b>efficacy</b> &epsilon;, the system's
<b>gain</b> <i>g</i> (receptor reserve) and the fraction <i>q</i> of receptors left after an irreversible
antagonist (Furchgott 1966). A full agonist reaches <i>E</i><sub>m</sub> at low occupancy (spare receptors); a
partial agonist has a ceiling <i>E</i><sub>max</sub> = <i>E</i><sub>m</sub>&tau;/(1 + &tau;) that concentration
cannot lift.</p>
<p><b>Try.</b> Raise the gain: a partial agonist starts to look full. Remove receptors: a full agonist first
shifts right and keeps its maximum; only when <i>q</i>&tau; nears 1 does its maximum fall. The library's gain of
each endpoint is marked on the slider (&#9733;); every other value is yours.</p>
""",
    "partial-agonists": """
<p><b>What you see.</b> Drugs compete for one site (Gaddum):
<i>p<sub>i</sub></i> = (<i>C<sub>i</sub></i>/<i>K<sub>i</sub></i>)/(1 +
&Sigma;<i>C<sub>j</sub></i>/<i>K<sub>j</sub></i>), and their stimuli add,
<i>S</i> = &Sigma;&tau;<i><sub>i</sub>p<sub>i</sub></i>.
<b>Panel A:</b> a partial agonist already present lifts the response to low concentrations of the full
agonist (up to its own level) and pushes the full agonist's curve right: the "buprenorphine-like"
protection, surmountable in this model. Naloxone (&tau; = 0) shifts the curve right without lowering its
maximum. <b>Panel B:</b> naloxone reverses both; the tighter the agonist binds, the more naloxone it takes.
<b>Panel C:</b> the Schild plot, log(<i>r</i> &minus; 1) = log[<i>B</i>] &minus; log <i>K</i><sub>B</sub>,
with the dose ratio <i>r</i> = 1 + [<i>B</i>]/<i>K</i><sub>B</sub>.</p>
""",
    "kratom": """
<p><b>What you see.</b> Grams of a kratom product &rarr; mitragynine (MG) and its CYP3A4 metabolite 7-OH-MG in
plasma (compartmental PK from the library) &rarr; the fraction of <b>mu (MOR)</b> and <b>delta (DOR)</b>
receptors they occupy (unbound effect-site concentrations, equilibrium binding) &rarr; the responses of each
endpoint, beside a full agonist (morphine i.v., dashed). At the doses people take, MG and 7-OH-MG occupy a few
percent of MOR. The <b>DOR efficacy</b> is a visible choice: the receptor-level human study finds MG and
7-OH-MG competitive antagonists at DOR (the default); the alternative is a labelled what-if.</p>
""",
    "population": """
<p><b>What you see.</b> One dose of leaf powder in a small <b>population</b> of virtual adults: the line is the
median, the band holds 90 % of them (5th&ndash;95th percentile). A <b>CYP3A4 inhibitor</b> (same people, same
random effects) lowers MG's clearance to <i>CL</i>(1 &minus; <i>f</i><sub>m</sub><i>I</i>) and the formation of
7-OH-MG by (1 &minus; <i>I</i>). Bottom: a <b>start-low titration protocol</b> run on the same people without
and with the inhibitor: each level is held 3 days, the next is given only if its predicted peak respiratory
depression stays under the threshold, and a subject stops at the target analgesia. The variability and the
protocol are <b>illustrations</b>, not published values and not advice.</p>
""",
}

#: Slider options (log-spaced concentrations, with none).
CONC_OPTIONS = {"0 (none)": 0.0, **{f"{c:g} nM": c for c in L.CONCENTRATION_STEPS_NM}}
FRACTION_LEFT = {f"{100 * q:g} %": q for q in (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)}
GAIN_STEPS = (0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 50.0, 100.0)


# ------------------------------------------------------------------------------------------------ helpers
def _clean(v):
    if isinstance(v, float | np.floating):
        return None if not math.isfinite(float(v)) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def data_json(view: L.LessonView, serial: int) -> str:
    """The plotted numbers of ``view`` as JSON: inputs, and every table as ``{columns, rows}`` (floats exact)."""
    tables = {}
    for name, df in view.tables.items():
        tables[name] = {"columns": [str(c) for c in df.columns],
                        "rows": [[_clean(v) for v in row] for row in df.itertuples(index=False, name=None)]}
    payload = {"page": view.page, "serial": serial, "inputs": view.inputs, "elapsed_s": view.elapsed_s,
               "tables": tables}
    return json.dumps(payload, default=_clean, allow_nan=False)


def _table_html(df: pd.DataFrame, testid: str) -> str:
    def fmt(v):
        if isinstance(v, float | np.floating):
            return "" if not math.isfinite(float(v)) else f"{float(v):.4g}"
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{fmt(v)}</td>" for v in row) + "</tr>"
                   for row in df.itertuples(index=False, name=None))
    return (f'<div class="ps-table-wrap"><table class="ps-table" data-testid="{testid}"><thead><tr>{head}</tr>'
            f"</thead><tbody>{body}</tbody></table></div>")


def _css(style: str) -> str:
    s = STYLES[style]
    return f"""
:host {{ --bokeh-font-size: {s['font_px']}px; font-size: {s['font_px']}px; }}
.ps-table {{ border-collapse: collapse; font-size: {0.8 * s['font_px']:.0f}px; }}
.ps-table th, .ps-table td {{ border: 1px solid #ccc; padding: 2px 6px; text-align: left; vertical-align: top; }}
.ps-table th {{ background: #f0f0f0; }}
.ps-table-wrap {{ overflow-x: auto; max-width: 100%; }}
.ps-nav a {{ margin-right: 1.2em; font-size: {s['font_px']}px; }}
.ps-disclaimer {{ background: #fff3cd; border: 2px solid #e0a800; padding: 0.4em 0.8em; border-radius: 6px;
                  font-size: {s['font_px']}px; }}
.ps-status {{ color: #555; font-size: {0.75 * s['font_px']:.0f}px; }}
input[type=checkbox], input[type=radio] {{ width: 0.9em; height: 0.9em; }}
"""


def _nav(current: str) -> str:
    links = ['<a href="./">Home</a>'] + [
        (f'<b>{html.escape(title)}</b>' if slug == current else f'<a href="{slug}">{html.escape(title)}</a>')
        for slug, title in L.LESSONS.items()]
    return f'<nav class="ps-nav" data-testid="nav">{" ".join(links)}</nav>'


def _html(style: str, text: str = "", **kw) -> pn.pane.HTML:
    """An HTML pane with the page's style sheet (each pane renders in its own shadow root)."""
    return pn.pane.HTML(text, stylesheets=[_css(style)], **kw)


def _disclaimer(style: str, where: str) -> pn.pane.HTML:
    return _html(style, f'<div class="ps-disclaimer" data-testid="disclaimer-{where}">&#9888; '
                 f"{html.escape(DISCLAIMER)}</div>", sizing_mode="stretch_width")


def _frame(style: str, slug: str, *body) -> pn.Column:
    s = STYLES[style]
    title = L.LESSONS.get(slug, "pharmsim: drug-receptor pharmacology in the classroom")
    header = _html(style, f'{_nav(slug)}<h1 style="font-size: {s["title_px"]}px; margin: 0.3em 0">'
                          f'{html.escape(title)}</h1>', sizing_mode="stretch_width")
    return pn.Column(header, _disclaimer(style, "top"), *body, _disclaimer(style, "bottom"),
                     sizing_mode="stretch_width", stylesheets=[_css(style)],
                     css_classes=["ps-page", f"ps-style-{style}"])


# ------------------------------------------------------------------------------------------------ pages
class _Lesson:
    """One lesson page: widgets, the figure, downloads, tables and the hidden data pane."""

    def __init__(self, slug: str, style: str, widgets: dict, compute, own_watchers=()):
        self.slug, self.style, self.widgets, self.compute = slug, style, widgets, compute
        _style_widgets(widgets, style)
        self.serial = 0
        self.view: L.LessonView | None = None
        self._busy = False
        s = STYLES[style]
        self.figure = pn.pane.PNG(None, sizing_mode="scale_width", css_classes=["ps-figure"])
        self.error = pn.pane.Alert("", alert_type="danger", visible=False, sizing_mode="stretch_width")
        self.status = _html(style, "", css_classes=["ps-status"])
        self.summary = _html(style, "", sizing_mode="stretch_width")
        self.sources = _html(style, "", sizing_mode="stretch_width")
        self.notes = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.data = pn.pane.HTML("", visible=True, height=0, margin=0, css_classes=["ps-data"])
        for k, w in widgets.items():
            if k not in own_watchers:      # those widgets' own handlers call update() when they are done
                w.param.watch(self.update, "value")
        self.update()
        tables = self.view.tables if self.view is not None else compute().tables
        height = int(2.2 * s["font_px"])
        self.downloads = [pn.widgets.FileDownload(callback=self._png, filename=f"pharmsim_{slug}.png",
                                                  label="Download the figure (PNG)", button_type="primary",
                                                  css_classes=["ps-download-png"], height=height)]
        for name in tables:
            self.downloads.append(pn.widgets.FileDownload(
                callback=self._csv(name), filename=f"pharmsim_{slug}_{name}.csv",
                label=f"Download the table: {name} (CSV)", button_type="success",
                css_classes=[f"ps-download-csv-{name}"], height=height))

    def _png(self):
        return io.BytesIO(self.view.png)

    def _csv(self, name):
        def get():
            return io.StringIO(self.view.tables[name].to_csv(index=False))

        return get

    def values(self) -> dict:
        return {k: w.value for k, w in self.widgets.items()}

    def update(self, *_events) -> None:
        if self._busy:
            return
        t0 = time.perf_counter()
        try:
            view = self.compute(**self.values())
        except Exception as err:  # noqa: BLE001 - shown on the page; the previous figure stays
            self.error.object = f"Cannot draw this: {err}"
            self.error.visible = True
            return
        self.error.visible = False
        self.view = view
        self.serial += 1
        self.figure.object = view.png
        self.summary.object = "<h3>Numbers worth reading</h3>" + _table_html(view.summary, "summary")
        self.sources.object = ("<h3>Every number and its source</h3>" + _table_html(view.sources, "sources"))
        self.notes.object = "### Modelling notes\n" + "\n".join(f"- {n}" for n in view.notes)
        took = time.perf_counter() - t0
        self.status.object = (f'<span class="ps-status">update {self.serial}: {1000 * took:.0f} ms '
                              f"(the lesson took {1000 * view.elapsed_s:.0f} ms when first computed; results are "
                              "cached by input)</span>")
        self.data.object = (f'<pre hidden data-testid="lesson-data" data-serial="{self.serial}">'
                            f"{html.escape(data_json(view, self.serial))}</pre>")

    def layout(self, intro: str) -> pn.Column:
        s = STYLES[self.style]
        items = []
        for w in self.widgets.values():
            if isinstance(w, pn.widgets.RadioButtonGroup | pn.widgets.RadioBoxGroup | pn.widgets.CheckBoxGroup):
                items.append(_html(self.style, f"<b>{html.escape(w.name)}</b>", margin=(8, 5, 0, 5)))
            items.append(w)
        controls = pn.Column(pn.pane.Markdown("### Controls"), *items, width=s["controls_px"],
                             css_classes=["ps-controls"])
        right = pn.Column(self.error, self.figure, pn.Row(*self.downloads), self.status, sizing_mode="stretch_width")
        return _frame(self.style, self.slug, _html(self.style, intro, sizing_mode="stretch_width"),
                      pn.Row(controls, right, sizing_mode="stretch_width"), self.summary, self.sources, self.notes,
                      self.data)


def _slider_css(name: str) -> list[str]:
    return ["ps-widget", f"ps-{name}"]


def _style_widgets(widgets: dict, style: str) -> None:
    """Form controls do not inherit the page's font size: give every widget the style's size."""
    px = STYLES[style]["font_px"]
    css = (f":host {{ --bokeh-font-size: {px}px; font-size: {px}px; }} select, input, button, label "
           "{ font-size: inherit; white-space: normal; }")
    for w in widgets.values():
        w.stylesheets = [*w.stylesheets, css]
        w.sizing_mode = "stretch_width"


def receptors_page(style: str = "classroom") -> pn.Column:
    receptors = L.receptor_choices()
    receptor = pn.widgets.Select(name="Receptor", options=list(receptors), value="MOR",
                                 css_classes=_slider_css("receptor"))
    endpoint = pn.widgets.Select(name="Endpoint (system)", options=list(L.endpoint_choices("MOR")), value="analgesia",
                                 css_classes=_slider_css("endpoint"))
    ligands = pn.widgets.CheckBoxGroup(name="Ligands", options=list(L.ligand_choices("MOR")),
                                       value=[c for c in ("MG", "7-OH-MG", "morphine") if c in L.ligand_choices("MOR")],
                                       inline=False, css_classes=_slider_css("ligands"))
    affinity = pn.widgets.RadioButtonGroup(name="K in use", options={"functional K_A": "functional",
                                                                     "binding Ki": "binding"},
                                           value="functional", css_classes=_slider_css("affinity"))
    lib_gain = _library_gain("analgesia")
    gain = pn.widgets.DiscreteSlider(name="Receptor reserve (gain)", options=_gain_options(lib_gain),
                                     value=lib_gain, css_classes=_slider_css("gain"))
    left = pn.widgets.DiscreteSlider(name="Receptors left", options=FRACTION_LEFT, value=1.0,
                                     css_classes=_slider_css("receptors_left"))
    widgets = {"receptor": receptor, "endpoint": endpoint, "ligands": ligands, "affinity": affinity, "gain": gain,
               "receptors_left": left}

    def compute(receptor="MOR", endpoint="analgesia", ligands=("MG", "7-OH-MG", "morphine"), affinity="functional",
                gain=None, receptors_left=1.0):
        return L.receptor_lesson(receptor=receptor, endpoint=endpoint, ligands=tuple(ligands), gain=gain,
                                 receptors_left=receptors_left, affinity=affinity)

    page = _Lesson("receptors", style, widgets, compute, own_watchers=("receptor", "endpoint"))

    def on_receptor(event):
        page._busy = True
        try:
            names = list(L.endpoint_choices(event.new))
            endpoint.options = names
            endpoint.value = names[0]
            ligs = list(L.ligand_choices(event.new, affinity.value))
            ligands.options = ligs
            ligands.value = [c for c in ligs if c in ("MG", "7-OH-MG", "morphine")] or ligs[:3]
            g = _library_gain(endpoint.value)
            gain.options = _gain_options(g)
            gain.value = g
        finally:
            page._busy = False
        page.update()

    def on_endpoint(event):
        if page._busy:          # set by on_receptor, which updates once at the end
            return
        page._busy = True
        try:
            g = _library_gain(event.new)
            gain.options = _gain_options(g)
            gain.value = g
        finally:
            page._busy = False
        page.update()

    receptor.param.watch(on_receptor, "value")
    endpoint.param.watch(on_endpoint, "value")
    return page.layout(INTRO["receptors"])


def _library_gain(endpoint: str) -> float:
    from ..catalog import catalog

    return catalog(L._shipped_library()).endpoint(endpoint).gain


def _gain_options(library_gain: float) -> dict:
    values = sorted(set(GAIN_STEPS) | {library_gain})
    return {(f"{v:g} \u2605 library" if v == library_gain else f"{v:g}"): v for v in values}


def partial_page(style: str = "classroom") -> pn.Column:
    choices = L.partial_choices()
    endpoint = pn.widgets.RadioButtonGroup(name="Endpoint", options={"respiratory depression": "respiratory_depression",
                                                                     "analgesia": "analgesia"},
                                           value="respiratory_depression", css_classes=_slider_css("endpoint"))
    partial = pn.widgets.RadioButtonGroup(name="Partial agonist", options=list(choices), value=choices[0],
                                          css_classes=_slider_css("partial"))
    cp = pn.widgets.DiscreteSlider(name="Partial agonist, unbound", options=CONC_OPTIONS, value=1.0,
                                   css_classes=_slider_css("partial_nM"))
    nal = pn.widgets.DiscreteSlider(name=f"{L.antagonist().name}, unbound", options=CONC_OPTIONS, value=10.0,
                                    css_classes=_slider_css("naloxone_nM"))
    fulls = L.full_agonist_choices()
    full = pn.widgets.RadioButtonGroup(name="Full agonist", options=list(fulls), value=fulls[0],
                                       css_classes=_slider_css("full"))
    widgets = {"endpoint": endpoint, "full": full, "partial": partial, "partial_nM": cp, "naloxone_nM": nal}
    page = _Lesson("partial-agonists", style, widgets, L.partial_lesson)
    return page.layout(INTRO["partial-agonists"])


def kratom_page(style: str = "classroom") -> pn.Column:
    forms = L.product_choices()
    form = pn.widgets.RadioButtonGroup(name="Product", options=list(forms), value=forms[0],
                                       css_classes=_slider_css("form"))
    grams = pn.widgets.FloatSlider(name="Grams of product at 0 h", start=0.5, end=10.0, step=0.5,
                                   value=2.0, css_classes=_slider_css("grams"))
    morphine = pn.widgets.FloatSlider(name="Morphine i.v. at 0 h (mg)", start=0.0, end=30.0,
                                      step=1.0, value=10.0, css_classes=_slider_css("morphine_mg"))
    dor = pn.widgets.RadioBoxGroup(name="DOR efficacy of MG and 7-OH-MG", options=L.dor_choices(), value="default",
                                   inline=False, css_classes=_slider_css("dor_efficacy"))
    widgets = {"form": form, "grams": grams, "morphine_mg": morphine, "dor_efficacy": dor}
    page = _Lesson("kratom", style, widgets, L.kratom_lesson)
    return page.layout(INTRO["kratom"])


def population_page(style: str = "classroom") -> pn.Column:
    from ..population import CYP3A4_LEVELS

    n = pn.widgets.IntSlider(name="Virtual adults", start=10, end=100, step=10, value=40, css_classes=_slider_css("n"))
    omega = pn.widgets.FloatSlider(name="Variability ω (illustration)", start=0.0, end=0.8,
                                   step=0.05, value=0.4, css_classes=_slider_css("omega"))
    cyp = pn.widgets.RadioButtonGroup(name="CYP3A4 inhibitor", options=list(CYP3A4_LEVELS), value="strong",
                                      css_classes=_slider_css("cyp3a4"))
    grams = pn.widgets.FloatSlider(name="Leaf powder (g)", start=0.5, end=6.0, step=0.5, value=2.0,
                                   css_classes=_slider_css("grams"))
    step = pn.widgets.FloatSlider(name="Titration step (g/day)", start=0.5, end=2.0, step=0.25,
                                  value=1.0, css_classes=_slider_css("step_g"))
    threshold = pn.widgets.FloatSlider(name="Resp. depression limit",
                                       start=0.02, end=0.3, step=0.005, value=0.045, format="0.000",
                                       css_classes=_slider_css("threshold"))
    widgets = {"n": n, "omega": omega, "cyp3a4": cyp, "grams": grams, "step_g": step, "threshold": threshold}
    page = _Lesson("population", style, widgets, L.population_lesson)
    return page.layout(INTRO["population"])


def home_page(style: str = "classroom") -> pn.Column:
    s = STYLES[style]
    items = "".join(f'<li><a href="{slug}" data-testid="lesson-link-{slug}">{html.escape(title)}</a></li>'
                    for slug, title in L.LESSONS.items())
    body = _html(
        style, f'<p style="font-size:{s["font_px"]}px">Four lessons on drug-receptor pharmacology, with sliders. Every '
        "number comes from pharmsim's parameter library, and each page lists its sources; the few "
        "illustrations are labelled as such. Each page offers its figure (PNG) and the tidy table behind it (CSV)."
        f'</p><ol style="font-size:{s["font_px"]}px">{items}</ol>', sizing_mode="stretch_width")
    return _frame(style, "", body)


#: slug -> page factory (style -> layout).
PAGES = {"receptors": receptors_page, "partial-agonists": partial_page, "kratom": kratom_page,
         "population": population_page}


def lesson_page(slug: str, style: str = "classroom") -> pn.Column:
    """The page of lesson ``slug`` (:data:`pharmsim.app.lessons.LESSONS`) in ``style``."""
    return PAGES[slug](style)
