"""Buprenorphine's slow offset and resistance to naloxone (Yassen 2007 Clin Pharmacokinet 46:965,
doi:10.2165/00003088-200746110-00004; van Dorp 2006 Anesthesiology, as summarised in Dahan 2006 Palliat Med 20
Suppl 1:s3, PMID 16764215).

- Offset: Yassen's biophase t1/2 173 min and koff 0.0172 /min (t1/2 40 min) are the defaults, so the slow offset is
  in-sample by construction; the tests check that the engine carries them (receptor-level dissociation half-life,
  response retained hours after the peak while fentanyl's falls).
- Naloxone (out-of-sample for naloxone: its K_B is from guinea-pig GTPgammaS, Romero 1999, and its PK from Dowling
  2008; buprenorphine's kon/koff were fitted by Yassen to reversal data of this kind): the dose for 50 % reversal
  (1.20 +/- 0.32 mg over 30 min) within +/- 2 SD; 0.4 mg reverses morphine, not buprenorphine; 80 % reversal at
  2.5 mg is not reached (strict expected failure, reason in pharmsim.anchors.KNOWN_FAILURES).
The start of the naloxone infusion (30 min after buprenorphine) is an assumption: the abstract does not give it.
"""

from __future__ import annotations

import numpy as np
import pytest
from anchor_helpers import anchor_params

import pharmsim as ps

LIB = ps.load_library()


@pytest.mark.parametrize("comp", anchor_params("vandorp2006.", "dahan2006.naloxone."))
def test_anchor(comp, check_anchor):
    check_anchor(comp)


def test_receptor_dissociation_half_life_is_yassens():
    """The engine carries Yassen's rate constants (kon converted to the unbound basis): with a large naloxone
    infusion holding the free receptors, bound buprenorphine decays at about koff (t1/2 40 min; residual rebinding
    slows the apparent rate by less than 10 %)."""
    t = np.round(np.arange(0.0, 12.0001, 1 / 60), 10)
    d = ps.dose("buprenorphine", 0.4, 0.0, route="iv", library=LIB) + \
        ps.dose("naloxone", 400.0, 3.0, route="iv", duration_h=9.0, library=LIB)   # a blocking infusion (not a dose)
    m = ps.build_model(d, receptors=("MOR",), library=LIB)
    occ = ps.simulate(m, d, t).get("occupancy", "buprenorphine", "MOR")[0]
    koff = m.ligand("buprenorphine", "MOR").koff_per_h
    i, j = np.searchsorted(t, 5.0), np.searchsorted(t, 6.0)
    rate = np.log(occ[i] / occ[j]) / (t[j] - t[i])
    assert 0.9 * koff < rate <= koff * (1 + 1e-6)
    assert koff == pytest.approx(LIB.value("koff", "buprenorphine", "MOR", "1/h"), rel=1e-12)
    kon = m.ligand("buprenorphine", "MOR").kon_per_nM_per_h
    fu = LIB.value("fu", "buprenorphine", "PK", "fraction")
    assert kon * fu == pytest.approx(LIB.value("kon", "buprenorphine", "MOR", "1/(nM*h)"), rel=1e-12)


def test_slow_offset_compared_with_fentanyl():
    """Buprenorphine 0.2 mg keeps > 85 % of its peak respiratory depression 3 h after the peak; fentanyl 0.2 mg keeps
    < 70 % (its offset is set by redistribution; buprenorphine's by the 173-min biophase and the 40-min koff)."""
    from pharmsim.anchors import simulate_response

    t = np.round(np.arange(0.0, 10.0001, 1 / 30), 10)
    kept = {}
    for c in ("buprenorphine", "fentanyl"):
        e = simulate_response(ps.dose(c, 0.2, 0.0, route="iv", library=LIB), "respiratory_depression", t)
        k = int(np.argmax(e))
        kept[c] = float(np.interp(t[k] + 3.0, t, e) / e[k])
    assert kept["buprenorphine"] > 0.85 and kept["fentanyl"] < 0.7
