"""Every comparison with published data (pharmsim.qualification), one test each.

In-sample comparisons (the observation was used to derive a default) must pass: they test the derivation
and the engine. Out-of-sample comparisons are predictions: one that fails is kept as a strict expected
failure with its numbers in the reason, so the failure is shown (here and in ``pharmsim validate``) and a
fix that makes it pass is noticed. Defaults are never tuned to out-of-sample comparisons.
"""

from __future__ import annotations

import pytest

from pharmsim.anchors import KNOWN_FAILURES as ANCHOR_FAILURES
from pharmsim.qualification import all_comparisons, comparisons, run_comparison, validate

#: Out-of-sample comparisons that fail with the current defaults, and why (kept visible, never tuned away).
KNOWN_FAILURES = {
    "tanna2023.midazolam.Cmax_ratio": "the dynamic TDI model under-predicts the midazolam Cmax ratio (about 1.23 vs "
    "1.50 observed, 90 % CI 1.32-1.70): with co-administration the gut enzyme is only partly inactivated while "
    "midazolam (absorption t1/2 0.23 h) is absorbed; the unbound fraction in the microsomes, the kratom dose "
    "timing and the MG lag are assumptions",
}

CASES = comparisons()


@pytest.mark.parametrize("comp", CASES, ids=[c.name for c in CASES])
def test_comparison(comp):
    row = run_comparison(comp)
    assert not row["error"], row["error"]
    if row["result"] == "reference":
        assert row["simulated"] > 0
        return
    msg = (f"{comp.quantity}: simulated {row['simulated']:.4g}, observed {comp.observed:.4g} "
           f"[{comp.low:.4g}, {comp.high:.4g}] {comp.unit} ({comp.spread}; {comp.source}; {comp.sample})")
    if comp.name in KNOWN_FAILURES:
        assert comp.sample == "out-of-sample", "only out-of-sample comparisons may be known failures"
        if row["result"] == "FAIL":
            pytest.xfail(f"{KNOWN_FAILURES[comp.name]}. {msg}")
        pytest.fail(f"{comp.name} now passes: remove it from KNOWN_FAILURES. {msg}")
    assert row["result"] == "pass", msg


def test_every_in_sample_comparison_names_what_it_was_used_for():
    for c in CASES:
        assert c.why and c.source and c.doi, c.name
        if c.sample == "in-sample":
            assert any(w in c.why for w in ("fit", "derived", "default", " set ")), c.name
        else:
            assert "not" in c.why or "another model" in c.why, c.name


def test_validate_writes_the_report(tmp_path):
    out = tmp_path / "val"
    table = validate(out)
    assert (out / "validation.csv").is_file() and (out / "validation.html").is_file()
    html = (out / "validation.html").read_text()
    assert "not dosing advice" in html and "out-of-sample" in html
    assert len(table) == len(all_comparisons()) > len(CASES)   # the receptor anchors are in the report too
    # the failures are in the report, not hidden
    for name in [*KNOWN_FAILURES, *ANCHOR_FAILURES]:
        assert table.set_index("name").loc[name, "result"] == "FAIL"
