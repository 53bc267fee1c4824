"""Helpers of the PD-anchor validation tests (tests/validation/test_anchors_*.py); the fixture is in conftest.py."""

from __future__ import annotations

import pytest

from pharmsim.anchors import KNOWN_FAILURES, comparisons


def anchor_params(*prefix: str) -> list:
    """The anchors of pharmsim.anchors whose name starts with ``prefix``, as pytest params; the known failures
    (out-of-sample only) carry ``xfail(strict=True)`` with their reason, so they are shown, never hidden, and a
    fix that makes one pass is noticed."""
    out = []
    for c in comparisons():
        if not c.name.startswith(prefix):
            continue
        marks = []
        if c.name in KNOWN_FAILURES:
            assert c.sample == "out-of-sample", f"{c.name}: only out-of-sample comparisons may be known failures"
            marks = [pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[c.name])]
        out.append(pytest.param(c, id=c.name, marks=marks))
    return out
