"""Validation against published data: every comparison in one registry, run by the tests and by
``pharmsim validate`` (a qualification report in the spirit of PK-Sim/OSP's: simulated beside observed, with
the published spread, each comparison marked in-sample or out-of-sample, pass or fail with its criterion).

A :class:`Comparison` is plain data plus one function that simulates the quantity from the library's
defaults through the public API. ``tests/validation/test_qualification.py`` runs each one as a test
(out-of-sample comparisons that fail are kept as strict expected failures, with the reason, so they are shown,
never hidden); :func:`validate` runs them all and returns a tidy table, and writes HTML + CSV when given a
folder.

- **in-sample**: the observed value was used to derive a default (``tools/derive_*.py``, the notes of the
  ``data/`` rows): the comparison checks that the derivation and the engine reproduce it, not a prediction.
- **out-of-sample**: nothing in the defaults was fitted to it; it tests the model. Defaults are never tuned to
  these.

Not for: fitting (see :mod:`pharmsim.fit` and ``tools/``), or choosing which published value to use
(:mod:`pharmsim.library`). This software is for teaching and research, not dosing advice.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from .validate import PharmsimError, require_choice

__all__ = ["Comparison", "SAMPLES", "comparisons", "published_range", "run_comparison", "validate"]

#: What a comparison is to the defaults.
SAMPLES = ("in-sample", "out-of-sample")
#: How ``simulated`` is judged against the observation.
CRITERIA = ("inside", "below", "above", "reference")


@dataclass(frozen=True)
class Comparison:
    """One published observation and the model's value of it.

    Attributes
    ----------
    name : str
        Unique id (``'tanna2022.MG.Cmax'``).
    quantity : str
        What is compared, in words, with the dose.
    observed : float
        The published value (median, mean or ratio); ``low``/``high`` its spread (``spread`` says which:
        range, 90 % CI, mean +/- SD ...).
    criterion : {'inside', 'below', 'above', 'reference'}
        Pass when the simulated value lies inside [low, high], below ``high``, above ``low``; ``'reference'``
        rows (another model's prediction) are shown, not judged.
    sample : {'in-sample', 'out-of-sample'}
    source, doi : str
        The publication; ``why`` says how it relates to the defaults (what it was used for, if anything).
    simulate : callable
        ``simulate() -> float``: the model's value with the library defaults (cached per run).
    """

    name: str
    quantity: str
    unit: str
    observed: float
    low: float
    high: float
    spread: str
    criterion: str
    sample: str
    source: str
    doi: str
    why: str
    simulate: Callable[[], float]

    def __post_init__(self):
        require_choice("sample", self.sample, SAMPLES)
        require_choice("criterion", self.criterion, CRITERIA)

    def judge(self, simulated: float) -> bool | None:
        """True / False by the criterion; None for reference rows."""
        if self.criterion == "reference":
            return None
        if not math.isfinite(simulated):
            return False
        if self.criterion == "inside":
            return self.low <= simulated <= self.high
        if self.criterion == "below":
            return simulated <= self.high
        return simulated >= self.low


# ------------------------------------------------------------------------------------------- simulations
_FINE_H = np.round(np.arange(0.0, 12.0001, 0.01), 10)
_SCHEDULE_H = np.array([0.25, 0.5, 1, 1.5, 2, 3, 4, 6, 8, 12, 24, 48, 72, 96, 120.0])
_LLOQ_NG_PER_ML = 0.5  # assumed, as in tools/derive_mg_pk.py


@lru_cache(maxsize=8)
def _kratom(form: str, leaf_g: float) -> dict:
    """MG and 7-OH-MG after ``leaf_g`` g of a kratom form: fine curves, schedule NCA, terminal half-life."""
    from .catalog import catalog
    from .nca import nca
    from .products import Product
    from .solve import solve_pk

    cat = catalog()
    pk = cat.pk_model(("MG",), effect_sites=())
    t = np.union1d(_FINE_H, _SCHEDULE_H)
    d = Product(form, leaf_g).doses(0.0, library=cat.library)
    sol = solve_pk(pk, t, d.select(np.array([c in pk.compound_ids for c in d.compound])))
    out = {"t": t}
    on = np.isin(t, _SCHEDULE_H)
    for c in ("MG", "7-OH-MG"):
        conc = sol.conc_nM(c)[0]
        out[c] = conc
        out[c + ".nca"] = nca(t[on], conc[on], lloq=_LLOQ_NG_PER_ML * 1000 / cat.molar_mass(c))
    out["MG.terminal_t_half"] = float(pk.terminal_half_life_h("MG"))
    return out


def _tmax(form, c):
    k = _kratom(form, 2.0)
    fine = np.isin(k["t"], _FINE_H)
    return float(k["t"][fine][np.argmax(k[c][fine])])


def _at(form, c, t_h):
    k = _kratom(form, 2.0)
    return float(np.interp(t_h, k["t"], k[c]))


def _max_ratio(form):
    k = _kratom(form, 2.0)
    sel = k["MG"] > 1e-6 * k["MG"].max()
    return float(np.max(k["7-OH-MG"][sel] / k["MG"][sel]))


def _mean_ratio(form):
    k = _kratom(form, 2.0)
    on = np.isin(k["t"], _SCHEDULE_H) & (k["t"] <= 24)
    a, b = k["MG"][on], k["7-OH-MG"][on]
    ok = (a > _LLOQ_NG_PER_ML * 1000 / 398.5) & (b > _LLOQ_NG_PER_ML * 1000 / 414.5)
    return float(np.mean(b[ok] / a[ok]))


@lru_cache(maxsize=1)
def _alkaloid() -> dict:
    """Speciociliatine after 2 g kratom tea (its content in the reference product), fine grid NCA."""
    from .catalog import catalog
    from .nca import nca
    from .products import Product
    from .solve import solve_pk

    cat = catalog()
    pk = cat.pk_model(("speciociliatine",), effect_sites=())
    t = np.round(np.arange(0.0, 120.0001, 0.01), 10)
    all_doses = Product("tea", 2.0).doses(0.0, library=cat.library)
    d = all_doses.select(np.array([c == "speciociliatine" for c in all_doses.compound]))
    c = solve_pk(pk, t, d).conc_nM("speciociliatine")[0]
    r = nca(t, c)
    return {"Cmax": r.Cmax, "Tmax": r.Tmax, "AUCinf": r.AUC0_inf}


@lru_cache(maxsize=2)
def _midazolam_ddi() -> dict:
    """Tanna 2023: midazolam 2.5 mg oral syrup alone, and with 2 g kratom tea at the same time (the public
    engine: build_model + simulate). Ratios of NCA AUCinf, Cmax and t1/2 (kratom / alone)."""
    from .dosing import dose
    from .model import build_model
    from .nca import nca
    from .products import Product
    from .solve import simulate

    t = np.round(np.arange(0.0, 24.0001, 0.05), 10)
    mdz = dose("midazolam", 2.5, 0.0, route="oral")
    both = Product("tea", 2.0).doses(0.0) + mdz
    res = {}
    for arm, d in (("alone", mdz), ("kratom", both)):
        r = simulate(build_model(d, receptors=("MOR",), binding="equilibrium"), d, t)
        tb = r.tidy()
        c = tb[(tb.quantity == "plasma_conc") & (tb.compound == "midazolam") & (tb.unit == "nM")]
        res[arm] = nca(t, c["value"].to_numpy())
    a, k = res["alone"], res["kratom"]
    return {"AUC": k.AUC0_inf / a.AUC0_inf, "Cmax": k.Cmax / a.Cmax, "t_half": k.t_half / a.t_half}


@lru_cache(maxsize=1)
def _midazolam_alone() -> dict:
    from .catalog import catalog
    from .dosing import dose
    from .nca import nca
    from .solve import solve_pk

    cat = catalog()
    pk = cat.pk_model(("midazolam",))
    t = np.round(np.arange(0.0, 48.0001, 0.05), 10)
    oral = solve_pk(pk, t, dose("midazolam", 2.5, 0.0, route="oral"))
    iv = solve_pk(pk, t, dose("midazolam", 2.5, 0.0, route="iv"))
    a_o = nca(t, oral.conc_nM("midazolam")[0])
    a_i = nca(t, iv.conc_nM("midazolam")[0])
    return {"F": a_o.AUC0_inf / a_i.AUC0_inf, "t_half": a_i.t_half}


@lru_cache(maxsize=1)
def _morphine() -> dict:
    from .catalog import catalog
    from .dosing import dose
    from .nca import nca
    from .solve import solve_pk

    cat = catalog()
    pk = cat.pk_model(("morphine",), effect_sites=())
    t = np.linspace(0.0, 24.0, 2881)
    iv = solve_pk(pk, t, dose("morphine", 10.0, route="iv"))
    c = iv.conc_nM("morphine")[0]
    return {"C5min": float(np.interp(5 / 60, t, c)), "t_half": nca(t[::30], c[::30]).t_half}


# ------------------------------------------------------------------------------------------- the registry
def _lib(quantity, compound, target="PK", source=None):
    from .library import load_library

    return load_library().parameter(quantity, compound, target, source=source)


def comparisons() -> tuple[Comparison, ...]:
    """Every comparison with published data, in report order. Observed values are read from the library
    (``data/*.csv``) where it holds them; the rest name their source here."""
    T22 = ("Tanna 2022 Pharmaceutics 14:620", "10.3390/pharmaceutics14030620")
    H24 = ("Huestis 2024 Molecules 29:984", "10.3390/molecules29050984")
    T23 = ("Tanna 2023 Clin Pharmacol Ther 113:1315", "10.1002/cpt.2891")
    fit_why = "used to fit the MG/7-OH-MG defaults (tools/derive_mg_pk.py)"
    out = []

    def tanna(c, q, unit, sim, crit="inside"):
        p = _lib(q, c, source="Tanna 2022 Pharmaceutics")
        lo, hi = _range(p.note)
        out.append(Comparison(f"tanna2022.{c}.{q}", f"{c} {q} after 2 g kratom tea (39 mg MG)", unit, p.value, lo, hi,
                              "median (range), n = 5", crit, "in-sample", *T22, fit_why, sim))

    tanna("MG", "Cmax", "nM", lambda: _kratom("tea", 2.0)["MG.nca"].Cmax)
    tanna("MG", "Tmax", "h", lambda: _tmax("tea", "MG"))
    tanna("MG", "t_half", "h", lambda: _kratom("tea", 2.0)["MG.terminal_t_half"])  # as fitted, see the tool
    tanna("MG", "AUCinf", "nM*h", lambda: _kratom("tea", 2.0)["MG.nca"].AUC0_inf)
    tanna("7-OH-MG", "Cmax", "nM", lambda: _kratom("tea", 2.0)["7-OH-MG.nca"].Cmax)
    tanna("7-OH-MG", "Tmax", "h", lambda: _tmax("tea", "7-OH-MG"))
    tanna("7-OH-MG", "t_half", "h", lambda: _kratom("tea", 2.0)["7-OH-MG.nca"].t_half)
    tanna("7-OH-MG", "AUCinf", "nM*h", lambda: _kratom("tea", 2.0)["7-OH-MG.nca"].AUC0_inf)
    out.append(Comparison(
        "tanna2022.MG.C_at_median_Tmax", "MG at the median Tmax (1 h) / model Cmax, 2 g tea (no sub-hour spike)",
        "ratio", 1.0, 0.9, 1.0, "at least 0.9 (the median Tmax is the peak)", "inside", "in-sample", *T22,
        "the median Tmax was fitted (tools/derive_mg_pk.py); this checks that the curve is not a spike",
        lambda: _at("tea", "MG", 1.0) / float(np.max(_kratom("tea", 2.0)["MG"]))))
    out.append(Comparison(
        "huestis2024.ratio.max", "largest 7-OH-MG/MG concentration ratio at any time after 2 g tea", "ratio", 0.31,
        0.0, 1.0, "every human study: 7-OH-MG at 20-30 % of MG (below 1 at every time)", "below", "in-sample", *H24,
        "the mean ratio was used to fit (tools/derive_mg_pk.py)", lambda: _max_ratio("tea")))
    out.append(Comparison(
        "huestis2024.ratio.mean", "mean 7-OH-MG/MG ratio on the sampling schedule (0-24 h), 2 g tea", "ratio", 0.255,
        0.20, 0.31, "range of dose-group means (capsules, single dose)", "inside", "in-sample", *H24,
        "used to fit (tools/derive_mg_pk.py)", lambda: _mean_ratio("tea")))
    lo, hi = (_lib(q, "MG").value for q in ("Tmax_low", "Tmax_high"))
    out.append(Comparison(
        "huestis2024.MG.Tmax.capsule", "MG Tmax after 2 g leaf powder in capsules", "h", (lo + hi) / 2, lo, hi,
        "range of dose-group medians", "inside", "in-sample", *H24, "the capsule ka was set to the midpoint",
        lambda: _tmax("capsule", "MG")))
    lo, hi = (_lib(q, "7-OH-MG").value for q in ("Tmax_low", "Tmax_high"))
    out.append(Comparison(
        "huestis2024.7-OH-MG.Tmax.capsule", "7-OH-MG Tmax after 2 g leaf powder in capsules", "h", (lo + hi) / 2, lo,
        hi, "range of dose-group medians", "inside", "out-of-sample", *H24, "not fitted",
        lambda: _tmax("capsule", "7-OH-MG")))
    sc_why = "derived from it (tools/derive_alkaloid_pk.py: CL/F, t1/2, Tmax)"
    for q, unit, sim, sample, why in (
            ("Cmax", "nM", lambda: _alkaloid()["Cmax"], "out-of-sample", "not used by the derivation (CL/F, t1/2 and "
             "Tmax were)"),
            ("Tmax", "h", lambda: _alkaloid()["Tmax"], "in-sample", sc_why),
            ("AUCinf", "nM*h", lambda: _alkaloid()["AUCinf"], "in-sample", sc_why)):
        p = _lib(q, "speciociliatine", source="Tanna 2022 Pharmaceutics")
        lo, hi = _range(p.note)
        out.append(Comparison(f"tanna2022.speciociliatine.{q}", f"speciociliatine {q} after 2 g kratom tea (10 mg)",
                              unit, p.value, lo, hi, "median (range), n = 5", "inside", sample, *T22, why, sim))
    p = _lib("Tmax", "MG", source="Trakulsrichai 2015 Drug Des Devel Ther")
    out.append(Comparison(
        "trakulsrichai2015.MG.Tmax", "MG Tmax after kratom tea (chronic users, steady state; model: single 2 g tea)",
        "h", p.value, p.value - 0.35, p.value + 0.35, "mean +/- SD, n = 9", "inside", "out-of-sample",
        "Trakulsrichai 2015 Drug Des Devel Ther 9:2421", "10.2147/DDDT.S79658", "not fitted",
        lambda: _tmax("tea", "MG")))
    # morphine
    out.append(Comparison(
        "stuartharris2000.morphine.C5min", "morphine at 5 min after 10 mg/70 kg i.v.", "nM", 283.0, 283 - 74, 283 + 74,
        "mean +/- SD", "inside", "in-sample", "Stuart-Harris 2000 Br J Clin Pharmacol",
        "10.1046/j.1365-2125.2000.00141.x", "the morphine 2-cmt defaults were derived from it "
        "(tools/derive_morphine_pk.py)", lambda: _morphine()["C5min"]))
    out.append(Comparison(
        "stuartharris2000.morphine.t_half", "morphine terminal half-life after 10 mg/70 kg i.v.", "h", 2.2, 1.2, 3.2,
        "mean +/- SD", "inside", "in-sample", "Stuart-Harris 2000 Br J Clin Pharmacol",
        "10.1046/j.1365-2125.2000.00141.x", "the morphine defaults were derived from it",
        lambda: _morphine()["t_half"]))
    # midazolam victim
    out.append(Comparison(
        "hohmann2015.midazolam.F", "oral midazolam bioavailability Fa Fg (1 - EH)", "fraction", 0.209, 0.171, 0.255,
        "95 % CI", "inside", "in-sample", "Hohmann 2015 Br J Clin Pharmacol 79:278", "10.1111/bcp.12502",
        "EH and EG of the same study are the defaults", lambda: _midazolam_alone()["F"]))
    out.append(Comparison(
        "gorski1998.midazolam.F", "oral midazolam bioavailability", "fraction", 0.31, 0.21, 0.41, "mean +/- SD, n = 16",
        "inside", "out-of-sample", "Gorski 1998 Clin Pharmacol Ther 64:133", "10.1016/S0009-9236(98)90146-1",
        "not used (another study's EH/EG are the defaults)", lambda: _midazolam_alone()["F"]))
    out.append(Comparison(
        "heizmann1983.midazolam.t_half", "i.v. midazolam half-life", "h", 2.3, 1.8, 2.9,
        "mean; the range 1.8-2.9 h spans the i.v. studies in data/pk.csv (2.3, 2.4 +/- 0.8, 2.9 +/- 0.7 h)",
        "inside", "in-sample", "Heizmann 1983 Br J Clin Pharmacol 16 Suppl 1:43S", "10.1111/j.1365-2125.1983.tb02270.x",
        "the default V is Heizmann's Vss (with Hohmann's CL)", lambda: _midazolam_alone()["t_half"]))
    for q in ("AUC", "Cmax", "t_half"):
        p = _lib(f"{q}_GMR", "midazolam", "kratom 2 g tea")
        lo, hi = published_range(p, "90 % CI")
        out.append(Comparison(
            f"tanna2023.midazolam.{q}_ratio", f"midazolam {q} ratio, 2 g kratom tea + 2.5 mg oral midazolam vs "
            "midazolam alone (dynamic time-dependent inhibition, gut and liver CYP3A)", "ratio", p.value, lo, hi,
            "geometric mean ratio (90 % CI), n = 12", "inside", "out-of-sample", *T23,
            "not fitted: KI/kinact from microsomes (Tanna 2021), enzyme turnover from Greenblatt 2003 / Galetin 2006",
            (lambda q=q: _midazolam_ddi()[q])))
    p = _lib("AUC_ratio_static_model", "midazolam", "kratom 2 g tea")
    out.append(Comparison(
        "tanna2021.midazolam.AUC_ratio.static", "midazolam AUC ratio predicted by the mechanistic static model "
        "(the published prediction, shown beside pharmsim's dynamic one)", "ratio", p.value, p.value, p.value,
        "model prediction", "reference", "out-of-sample", p.source, p.doi,
        "another model's prediction: pharmsim's value is its own dynamic prediction",
        lambda: _midazolam_ddi()["AUC"]))
    names = [c.name for c in out]
    assert len(set(names)) == len(names), "comparison names must be unique"
    return tuple(out)


def published_range(p, kind: str = "Range") -> tuple[float, float]:
    """The published spread written in a library row's note, as ``(low, high)``.

    Library rows keep a median's range or a ratio's confidence interval in their note (``'Range 50.1-177 nM'``
    in the Tanna 2022 rows, ``'90 % CI 1.23-1.57'`` in the Tanna 2023 interaction rows of data/interactions.csv).

    Parameters
    ----------
    p : pharmsim.library.Parameter or str
        A library parameter (its ``note`` is read) or the note itself.
    kind : str
        The label before the two numbers: ``'Range'`` (default) or ``'90 % CI'``.

    Raises
    ------
    PharmsimError
        When the note holds no ``'<kind> a-b'``.
    """
    import re

    note = p if isinstance(p, str) else getattr(p, "note", "")
    number = r"([0-9]+(?:\.[0-9]+)?)"
    m = re.search(re.escape(kind) + " " + number + r"\s*-\s*" + number, note)
    if not m:
        raise PharmsimError(f"no '{kind} a-b' in the library note {note!r}")
    return float(m.group(1)), float(m.group(2))


def all_comparisons() -> tuple[Comparison, ...]:
    """The PK comparisons (:func:`comparisons`) and the receptor-framework anchors (:mod:`pharmsim.anchors`:
    ceilings, reversal, potency, tolerance), in report order."""
    from .anchors import comparisons as anchor_comparisons

    return comparisons() + tuple(anchor_comparisons())


def _range(note: str) -> tuple[float, float]:
    """The 'Range a-b' of a Tanna 2022 row's note."""
    return published_range(note)


def run_comparison(c: Comparison) -> dict:
    """One comparison as a row: the simulated value, the verdict and everything needed to read it."""
    try:
        sim = float(c.simulate())
        err = ""
    except PharmsimError as e:  # a comparison that cannot run fails visibly, with the reason
        sim, err = math.nan, str(e)
    verdict = c.judge(sim)
    return {"name": c.name, "quantity": c.quantity, "simulated": sim, "observed": c.observed, "low": c.low,
            "high": c.high, "unit": c.unit, "spread": c.spread, "criterion": c.criterion, "sample": c.sample,
            "result": "reference" if verdict is None else ("pass" if verdict else "FAIL"),
            "source": c.source, "doi": c.doi, "why": c.why, "error": err}


def validate(out: str | Path | None = None, *, force: bool = False) -> pd.DataFrame:
    """Run every comparison (:func:`all_comparisons`: PK and receptor anchors); with ``out``, write
    ``validation.csv`` and ``validation.html`` there (through :mod:`pharmsim.output`: atomic, refusing to
    overwrite a folder pharmsim did not write). Returns the table (one row per comparison, failures included)."""
    from .output import atomic_output_dir, check_out, write_csv, write_text

    if out is not None:
        check_out(out, force)
    table = pd.DataFrame([run_comparison(c) for c in all_comparisons()])
    if out is not None:
        with atomic_output_dir(out, force) as tmp:
            write_csv(Path(tmp) / "validation.csv", table)
            write_text(Path(tmp) / "validation.html", _html(table))
    return table


def _html(table: pd.DataFrame) -> str:
    e = html.escape
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    counts = table.groupby(["sample", "result"]).size()
    summary = "; ".join(f"{s}: {r} {n}" for (s, r), n in counts.items())
    rows = []
    for _, r in table.iterrows():
        cls = {"pass": "pass", "FAIL": "fail"}.get(r["result"], "ref")
        rows.append(
            f'<tr class="{cls}"><td>{e(r["quantity"])}</td><td>{r["simulated"]:.4g}</td>'
            f'<td>{r["observed"]:.4g} [{r["low"]:.4g}, {r["high"]:.4g}]</td><td>{e(r["unit"])}</td>'
            f'<td>{e(r["spread"])}</td><td>{e(r["sample"])}</td><td><b>{e(r["result"])}</b>'
            f'{"<br>" + e(r["error"]) if r["error"] else ""}</td><td>{e(r["source"])}<br>{e(r["doi"])}</td>'
            f'<td>{e(r["why"])}</td></tr>')
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>pharmsim validation report</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1200px;margin:1em auto;padding:0 1em}}
.scroll{{overflow-x:auto}} table{{border-collapse:collapse;font-size:.85em}} td,th{{border:1px solid #ccc;
padding:.25em .5em;vertical-align:top}} tr.pass td{{background:#eef8ee}} tr.fail td{{background:#fdecec}}
tr.ref td{{background:#f3f3f3}} .disclaimer{{background:#fff4e5;border-left:6px solid #e08a00;padding:.6em 1em}}
</style></head><body><h1>pharmsim validation report</h1>
<p class="disclaimer">For teaching and research only &mdash; not dosing advice.</p>
<p>Every comparison of the model's defaults with published data ({len(table)} rows; {e(summary)}).
<b>in-sample</b>: the observation was used to derive a default, so agreement checks the derivation;
<b>out-of-sample</b>: nothing was fitted to it. Failing comparisons are shown, not hidden; defaults are never
tuned to out-of-sample data. Generated {when}.</p>
<div class="scroll"><table><tr><th>quantity</th><th>simulated</th><th>observed [low, high]</th><th>unit</th>
<th>spread</th><th>sample</th><th>result</th><th>source</th><th>relation to the defaults</th></tr>
{''.join(rows)}</table></div></body></html>
"""
