"""Validation of pharmsim.fit against published in-vitro potency and efficacy - IN-SAMPLE (a round trip).

What this is, honestly: the library holds published *summary* values only (data/function.csv: EC50 and Emax
per compound and assay, and the operational tau derived from each Emax), not point-by-point
concentration-response data, and no such data set for these compounds was found. So these tests generate
the curve points from the published EC50 and Emax themselves, with Hill slope 1 and baseline 0 (the
published values are reported as such fits), and check that fitting returns them. That is a round-trip check
of the fitting code *at the published operating point* and of the library's derived tau rows, not a refit of
raw data and not an out-of-sample prediction.

- Cases: MG and 7-OH-MG at human MOR (Kruegel 2016 J Am Chem Soc, BRET G-protein activation, Emax as % of
  DAMGO) and morphine at rat MOR-1 (Xu 2011 Mol Pain, [35S]GTPgammaS, Emax re-referenced to DAMGO).
  All numbers are read with ``pharmsim.library.load_library()``; none is written here.
- Concentration grid (an assumption; the papers' grids are not in the library): 10 pM to 10 uM in
  half-log steps (13 concentrations), a common BRET / GTPgammaS design.
- Noise: the library reports no per-point SD or SEM for these curves (Xu 2011's EC50 +/- SEM are in a note,
  not a value), so the noiseless round trip is exact, and the noisy round trip uses an ASSUMED per-point SD
  of 3 % of the DAMGO maximum, triplicates, 30 simulated experiments (explicit Generator).
- Derived rows: tau = e/(1 - e) with e = Emax/Em, Em = the DAMGO maximum, n = 1, and K_A = EC50 (1 + tau)
  (Black & Leff 1983, doi:10.1098/rspb.1983.0093) - the formulas stated in the tau rows' notes. The library
  stores tau rounded to the digits shown, so the comparison tolerance is half a unit in the last stored digit.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from pharmsim.fit import IdentifiabilityWarning, fit_hill, fit_operational
from pharmsim.library import load_library
from pharmsim.receptor import K_A_from_ec50, hill_occupancy, tau_from_emax

LIB = load_library()
CASES = [("MG", "Kruegel 2016 J Am Chem Soc"), ("7-OH-MG", "Kruegel 2016 J Am Chem Soc"),
         ("morphine", "Xu 2011 Mol Pain")]
GRID_NM = 10.0 ** np.arange(-2.0, 4.01, 0.5)          # 10 pM .. 10 uM, half-log (assumed)
ASSUMED_SD_PCT = 3.0                                   # % of the DAMGO maximum per point (assumed, see above)


def published(compound: str, source: str) -> dict:
    def par(q):
        return LIB.parameter(q, compound, "MOR", "G protein", source=source)

    return {"EC50_nM": par("EC50").to("nM"), "Emax_pct": 100.0 * par("Emax").to("fraction"),
            "tau": par("tau").value, "emax_unit": par("Emax").unit}


def half_last_digit(x: float) -> float:
    """Half a unit in the last digit of ``x`` as stored (0.515 -> 0.0005, 14.15 -> 0.005)."""
    text = repr(float(x))
    return 0.5 * 10.0 ** -(len(text.split(".")[1]) if "." in text else 0)


def curve(compound: str, pub: dict, rng=None, reps: int = 1) -> pd.DataFrame:
    c = np.repeat(GRID_NM, reps)
    y = pub["Emax_pct"] * hill_occupancy(c, pub["EC50_nM"], 1.0)
    if rng is not None:
        y = y + rng.normal(0.0, ASSUMED_SD_PCT, c.size)
    return pd.DataFrame({"ligand": compound, "conc_nM": c, "response": y})


@pytest.mark.parametrize(("compound", "source"), CASES)
def test_noiseless_round_trip_returns_the_published_EC50_Emax_and_the_library_tau(compound, source):
    pub = published(compound, source)
    assert pub["emax_unit"].endswith("of DAMGO")       # the tau rows assume DAMGO = system maximum
    res = fit_hill(curve(compound, pub), bottom=0.0, n=1.0, ci=None, response_unit="% of DAMGO")
    assert res.value("EC50_nM", compound) == pytest.approx(pub["EC50_nM"], rel=1e-6)
    assert res.value("top", compound) == pytest.approx(pub["Emax_pct"], rel=1e-6)
    tau = tau_from_emax(res.value("top", compound) / 100.0)
    assert tau == pytest.approx(pub["tau"], abs=half_last_digit(pub["tau"]))
    K_A = K_A_from_ec50(res.value("EC50_nM", compound), tau)
    assert K_A == pytest.approx(pub["EC50_nM"] * (1.0 + tau), rel=1e-9)


@pytest.mark.parametrize("source", sorted({s for _, s in CASES}))
def test_operational_fit_of_the_published_curves_gives_the_library_tau_and_K_A(source):
    """One global operational fit per assay (Em fixed at the DAMGO maximum, n = 1): tau per ligand equals the
    library's derived tau row and K_A = EC50 (1 + tau). Morphine (Emax 93 % of DAMGO) is nearly full, and the
    fit says that its K_A rests only on the 7 % shortfall of its Emax below DAMGO's."""
    compounds = [c for c, s in CASES if s == source]
    pubs = {c: published(c, source) for c in compounds}
    df = pd.concat([curve(c, pubs[c]) for c in compounds], ignore_index=True)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always", IdentifiabilityWarning)
        res = fit_operational(df, Em=100.0, n=1.0, ci=None, response_unit="% of DAMGO")
    for c in compounds:
        tau = res.value("tau", c)
        assert tau == pytest.approx(pubs[c]["tau"], abs=half_last_digit(pubs[c]["tau"]))
        assert res.value("K_A_nM", c) == pytest.approx(pubs[c]["EC50_nM"] * (1.0 + tau), rel=1e-6)
        nearly_full = pubs[c]["Emax_pct"] > 90.0
        assert any(f"K_A_nM[{c}] is poorly identified" in str(w.message) for w in record) == nearly_full


@pytest.mark.parametrize(("compound", "source"), CASES)
def test_noisy_round_trip_at_an_assumed_assay_noise(compound, source):
    """30 simulated experiments (triplicates at the assumed SD), Hill fits with bottom 0 and n = 1.

    - No bias: the median of the 30 refits lies within 4 standard errors of the published value, the SE of a
      median of 30 being 1.2533 s/sqrt(30) (normal sample) with s the fits' own median SE (log scale for EC50).
      For MG (Emax 34 %, per-experiment SE of EC50 ~ 17 %) that is about +/- 15 %; for morphine about +/- 5 %.
    - Calibration: the 95 % Wald intervals cover the published values in at least 24 of 30 experiments (if
      they are right the misses are Binomial(30, 0.05): P(>= 7 misses) < 1e-3).
    """
    pub = published(compound, source)
    rng = np.random.default_rng(2016)
    log_ec50, se_log_ec50, top, se_top, cover_ec50, cover_top = [], [], [], [], 0, 0
    for _ in range(30):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IdentifiabilityWarning)
            res = fit_hill(curve(compound, pub, rng, reps=3), bottom=0.0, n=1.0, ci="wald")
        e, t = res.parameter("EC50_nM", compound), res.parameter("top", compound)
        log_ec50.append(np.log(e.estimate))
        se_log_ec50.append(e.se / e.estimate)
        top.append(t.estimate)
        se_top.append(t.se)
        lo, hi = e.interval("wald")
        cover_ec50 += lo <= pub["EC50_nM"] <= hi
        lo, hi = t.interval("wald")
        cover_top += lo <= pub["Emax_pct"] <= hi
    se_median = 1.2533 / np.sqrt(30)
    assert abs(np.median(log_ec50) - np.log(pub["EC50_nM"])) < 4 * se_median * np.median(se_log_ec50)
    assert abs(np.median(top) - pub["Emax_pct"]) < 4 * se_median * np.median(se_top)
    assert cover_ec50 >= 24 and cover_top >= 24
