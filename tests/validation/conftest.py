"""Shared by the PD-anchor validation tests (tests/validation/test_anchors_*.py)."""

from __future__ import annotations

import pytest

from pharmsim.qualification import run_comparison


@pytest.fixture
def check_anchor():
    """``check_anchor(comp)``: the comparison must pass by its criterion; the message carries the numbers."""

    def check(comp):
        row = run_comparison(comp)
        assert not row["error"], row["error"]
        assert row["result"] == "pass", (
            f"{comp.quantity}: simulated {row['simulated']:.4g}, observed {comp.observed:.4g} "
            f"[{comp.low:.4g}, {comp.high:.4g}] {comp.unit} ({comp.spread}; {comp.source}; {comp.sample})")
        return row

    return check
