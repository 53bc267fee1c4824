"""Buprenorphine's respiratory ceiling at clinical i.v. doses while fentanyl has none (Dahan 2005 Br J Anaesth
94:825, doi:10.1093/bja/aei145; Dahan 2006 Br J Anaesth 96:627, doi:10.1093/bja/ael051), from the same
receptor framework (operational model, endpoint gains, in-vivo anchors; pharmsim.anchors).

- In-sample: the 50 % ventilation plateau (it set buprenorphine's efficacy) and the time of the peak (Yassen 2007
  fitted the biophase and binding kinetics to volunteers given these doses).
- Out-of-sample: the plateau is flat above 3 ug/kg (from the in-vivo KD and the PK); fentanyl rises past it; the
  analgesia-respiration contrast (kept as a strict expected failure with its reason); fentanyl's apnoea at
  2.9 ug/kg (strict expected failure: the n = 1 transducer).
Tolerances: the criterion of each comparison (pharmsim.anchors), stated in its spread text.
"""

from __future__ import annotations

import numpy as np
import pytest
from anchor_helpers import anchor_params

import pharmsim as ps


@pytest.mark.parametrize("comp", anchor_params("dahan2005.", "dahan2006.buprenorphine."))
def test_anchor(comp, check_anchor):
    check_anchor(comp)


def test_dose_response_shape_buprenorphine_plateaus_fentanyl_keeps_rising():
    """Over Dahan 2005's dose ranges (ug/kg, 70 kg): buprenorphine's peak depression rises by less than 0.05 above
    3 ug/kg and stays below 0.6; fentanyl's rises at every step and passes buprenorphine's plateau from 1.4 ug/kg."""
    from pharmsim.anchors import _ugkg, peak_response

    bup = [peak_response("buprenorphine", _ugkg(x), "respiratory_depression")[0] for x in (0.7, 1.4, 4.3, 8.6)]
    fen = [peak_response("fentanyl", _ugkg(x), "respiratory_depression")[0] for x in (1.1, 2.1, 2.9, 4.3, 7.1)]
    assert np.all(np.diff(bup) > 0) and bup[-1] - bup[-2] < 0.05 and max(bup) < 0.6
    assert np.all(np.diff(fen) > 0.02) and min(fen[1:]) > max(bup)


def test_ceiling_is_the_operational_emax_and_shows_in_the_tables():
    """The plateau is the operational Emax of the ceiling table (tau/(1 + tau) = 0.5 for buprenorphine), well below
    fentanyl's (> 0.99); both the K in use and the binding Ki are in the table."""
    m = ps.build_model(["buprenorphine", "fentanyl"], receptors=("MOR",), binding="equilibrium")
    t = ps.ceiling_table(m).query("endpoint == 'respiratory_depression'").set_index("compound")
    assert t.loc["buprenorphine", "Emax"] == pytest.approx(0.5, rel=1e-12)
    assert t.loc["fentanyl", "Emax"] > 0.99
    assert t.loc["buprenorphine", "K_kind"] == "in-vivo KD" and t.loc["buprenorphine", "Ki_nM"] == pytest.approx(0.2157)
