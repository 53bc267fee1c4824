"""Every shipped scenario, and the demo, run through the ``pharmsim`` command in a subprocess.

Checks what a user gets: the files the run writes, their columns and units, no NaN, non-empty figures, and a
self-contained HTML report in which every figure is shown (parsed, every image decoded).
"""

from __future__ import annotations

import base64
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from pharmsim.report import PNG_SIGNATURE
from pharmsim.scenario import shipped_scenarios

TIDY_SUMMARY = {"arm", "time_h", "quantity", "compound", "receptor", "endpoint", "unit", "median", "p05", "p95",
                "n_subjects"}
TABLE_COLUMNS = {
    "summary.csv": TIDY_SUMMARY,
    "doses.csv": {"arm", "subject", "time_h", "compound", "route", "amount_nmol", "amount_mg"},
    "nca.csv": {"arm", "subject", "compound", "statistic", "value", "unit"},
    "endpoints.csv": {"arm", "subject", "receptor", "endpoint", "peak_response", "time_of_peak_h", "unit"},
    "parameters.csv": {"kind", "compound", "receptor", "parameter", "value", "unit", "source", "arms"},
    "library_provenance.csv": {"compound", "target", "quantity", "value", "unit", "species", "assay", "source",
                               "doi", "status"},
}
#: the unit each quantity of the summary table must carry
QUANTITY_UNITS = {"plasma_conc": {"nM"}, "plasma_conc_mass": {"ng/mL"}, "effect_conc_unbound": {"nM"},
                  "occupancy": {"fraction"}, "response": {"fraction of Em"}}


def run_cmd(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pharmsim", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


class _Images(HTMLParser):
    """Collects <img> sources and every external reference (src/href that is not data: or #anchor)."""

    def __init__(self):
        super().__init__()
        self.images: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        for key in ("src", "href"):
            value = attrs.get(key)
            if value and not value.startswith(("data:", "#", "https://doi.org/", "https://pubmed")) \
                    and not (tag == "a" and value.startswith("https://")):
                self.external.append(value)


def check_output_folder(out: Path) -> None:
    assert (out / "report.html").is_file() and (out / "README.txt").is_file()
    assert "not dosing advice" in (out / "README.txt").read_text()
    for name, columns in TABLE_COLUMNS.items():
        table = pd.read_csv(out / "tables" / name)
        assert len(table) > 0, name
        assert columns <= set(table.columns), (name, columns - set(table.columns))
        assert not table.isna().any().any(), f"{name} has NaN in {table.columns[table.isna().any()].tolist()}"
    summary = pd.read_csv(out / "tables" / "summary.csv")
    for quantity, units in QUANTITY_UNITS.items():
        got = set(summary.loc[summary["quantity"] == quantity, "unit"])
        assert got <= units, (quantity, got)
    assert {"plasma_conc", "occupancy", "response"} <= set(summary["quantity"])
    occ = summary[summary["quantity"] == "occupancy"]
    assert occ[["median", "p05", "p95"]].ge(0).all().all() and occ[["median", "p05", "p95"]].le(1).all().all()
    assert (summary["p05"] <= summary["median"] + 1e-12).all() and (summary["median"] <= summary["p95"] + 1e-12).all()
    assert set(summary["receptor"]) >= {"MOR"}
    prov = pd.read_csv(out / "tables" / "library_provenance.csv")
    assert prov["source"].str.len().gt(0).all()

    figures = sorted((out / "figures").glob("*.png"))
    assert figures, "no figures written"
    for png in figures:
        data = png.read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 5000, png.name

    parser = _Images()
    html = (out / "report.html").read_text(encoding="utf-8")
    parser.feed(html)
    assert "not dosing advice" in html
    assert parser.external == [], f"report.html refers to outside files: {parser.external[:5]}"
    assert len(parser.images) >= len(figures), (len(parser.images), len(figures))
    for src in parser.images:
        assert src.startswith("data:image/png;base64,"), src[:40]
        data = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert data.startswith(PNG_SIGNATURE) and len(data) > 5000


@pytest.mark.parametrize("name", shipped_scenarios())
def test_shipped_scenario_runs_through_the_command(name, tmp_path):
    out = tmp_path / name
    r = run_cmd("run", name, "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    check_output_folder(out)
    assert (out / "scenario.toml").is_file()
    # nothing but the finished folder is left next to it
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_demo_is_the_main_job(tmp_path):
    """``pharmsim demo``: MG + 7-OH-MG against the full agonist at MOR and DOR, and the full agonist on top."""
    out = tmp_path / "results"
    r = run_cmd("demo", "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    check_output_folder(out)
    summary = pd.read_csv(out / "tables" / "summary.csv")
    assert {"MOR", "DOR"} <= set(summary["receptor"])
    assert {"MG", "7-OH-MG", "morphine"} <= set(summary["compound"])
    arms = set(summary["arm"])
    assert len(arms) >= 3, arms            # kratom alone, the full agonist alone, the full agonist on top of kratom
    # a second run into the same folder is refused without --force and leaves the first run untouched
    before = (out / "tables" / "summary.csv").read_bytes()
    r = run_cmd("demo", "--out", out, "--quiet")
    assert r.returncode == 2 and "use --force" in r.stderr
    assert (out / "tables" / "summary.csv").read_bytes() == before


def test_dor_choice_is_visible_in_the_tables(tmp_path):
    """dor_sources: the default (antagonists, tau = 0) gives no DOR signal; the labelled what-if arm does, and
    the parameter table shows both values with their sources and arms (never only the first arm's)."""
    out = tmp_path / "dor"
    r = run_cmd("run", "dor_sources", "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    ep = pd.read_csv(out / "tables" / "endpoints.csv").query("endpoint == 'DOR_signal'")
    by_arm = dict(zip(ep["arm"], ep["peak_response"], strict=True))
    default = next(a for a in by_arm if a.startswith("default"))
    what_if = next(a for a in by_arm if a.startswith("what-if"))
    assert by_arm[default] == 0.0 and 0.0 < by_arm[what_if] < 0.1
    mor = pd.read_csv(out / "tables" / "endpoints.csv").query("receptor == 'MOR'")
    assert mor.groupby("endpoint")["peak_response"].nunique().eq(1).all()      # MOR is the same in both arms
    params = pd.read_csv(out / "tables" / "parameters.csv")
    tau = params[(params["receptor"] == "DOR") & params["parameter"].str.startswith("efficacy")
                 & (params["compound"] == "MG")]
    assert sorted(tau["value"]) == [0.0, 0.1]
    assert tau.loc[tau["value"] == 0.1, "source"].str.contains("illustration").all()
    assert tau.loc[tau["value"] == 0.0, "source"].str.contains("Kruegel 2016").all()
