"""Tests of pharmsim.units: factors, molar conversions, errors."""

import numpy as np
import pytest

from pharmsim.units import convert, dimension_of, mg_to_nmol, ng_per_mL_to_nM, nM_to_ng_per_mL, nmol_to_mg
from pharmsim.validate import PharmsimError


def test_molar_conversions_mitragynine():
    # 10 mg MG (398.5 g/mol) = 25,094 nmol (W1 rounds to 25,100)
    assert mg_to_nmol(10.0, 398.5) == pytest.approx(25094.1, rel=1e-5)
    assert nmol_to_mg(mg_to_nmol(39.0, 398.5), 398.5) == pytest.approx(39.0, rel=1e-12)
    # Tanna 2022: MG Cmax 81.9 nM is about 32.6 ng/mL
    assert nM_to_ng_per_mL(81.9, 398.5) == pytest.approx(32.64, rel=1e-3)
    assert ng_per_mL_to_nM(32.6372, 398.5) == pytest.approx(81.9, rel=1e-4)


@pytest.mark.parametrize(
    ("value", "src", "dst", "expected"),
    [
        (1.0, "uM", "nM", 1000.0),
        (1584.0, "mL/min", "L/h", 95.04),
        (0.0172, "1/min", "1/h", 1.032),
        (30.0, "min", "h", 0.5),
        (2.0, "d", "h", 48.0),
        (50.0, "%", "fraction", 0.5),
    ],
)
def test_factors(value, src, dst, expected):
    assert convert(value, src, dst) == pytest.approx(expected, rel=1e-12)


def test_per_kg_needs_weight():
    assert convert(3.2, "L/kg", "L", body_weight_kg=70) == pytest.approx(224.0)
    with pytest.raises(PharmsimError, match="needs body_weight_kg"):
        convert(3.2, "L/kg", "L")


def test_arrays_and_errors():
    np.testing.assert_allclose(convert([1.0, 2.0], "uM", "nM"), [1000.0, 2000.0])
    with pytest.raises(PharmsimError, match="needs molar_mass_g_per_mol"):
        convert(1.0, "ng/mL", "nM")
    with pytest.raises(PharmsimError, match=r"did you mean 'nM'"):
        dimension_of("nm")
    with pytest.raises(PharmsimError, match="different things"):
        convert(1.0, "h", "nM")
    with pytest.raises(PharmsimError, match="dose_mg must be a finite number >= 0 mg; got -5"):
        mg_to_nmol(-5, 398.5)
    with pytest.raises(PharmsimError, match="must be a finite number"):
        convert(float("nan"), "nM", "uM", name="conc")
