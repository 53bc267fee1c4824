"""Tests of pharmsim.validate: messages name the parameter, the value and what was expected."""

import numpy as np
import pytest

from pharmsim.validate import (
    PharmsimError,
    require_choice,
    require_fraction,
    require_nonnegative,
    require_positive,
)


def test_messages():
    with pytest.raises(PharmsimError, match=r"K_nM must be a finite number > 0 nM; got 0"):
        require_positive("K_nM", 0, "nM")
    with pytest.raises(PharmsimError, match=r"conc_nM must be a finite number nM; got nan"):
        require_nonnegative("conc_nM", np.nan, "nM")
    with pytest.raises(PharmsimError, match=r"fu must be a fraction in \[0, 1\]; got 1.5"):
        require_fraction("fu", [0.5, 1.5])
    with pytest.raises(PharmsimError, match=r"receptor must be one of 'MOR', 'DOR'; got 'MRO'"):
        require_choice("receptor", "MRO", ["MOR", "DOR"])
    with pytest.raises(PharmsimError, match="must be a number"):
        require_positive("dose_mg", "ten", "mg")
    with pytest.raises(PharmsimError, match="must be numeric"):
        require_positive("dose_mg", True, "mg")


def test_is_value_error_and_passes_good_values():
    assert issubclass(PharmsimError, ValueError)
    np.testing.assert_array_equal(require_nonnegative("x", [0.0, 1.0]), [0.0, 1.0])
