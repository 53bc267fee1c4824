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
