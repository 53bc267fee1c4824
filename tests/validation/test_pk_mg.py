"""Validation of the default human PK against published studies (tolerances stated and justified per test).

The MG/7-OH-MG, morphine i.v. and midazolam comparisons live in the registry pharmsim.qualification (run by
tests/validation/test_qualification.py and `pharmsim validate`); this file keeps the checks that are not
comparisons of one simulated number with one published one.

Targets (data/pk.csv rows, read through the library): Tanna 2022 (2 g kratom tea = 39 mg MG; medians, n = 5),
Huestis 2024 (capsules, median Tmax ranges), Stuart-Harris 2000 (morphine 10 mg/70 kg i.v.).
The MG/7-OH-MG defaults were fitted to the Tanna medians (tools/derive_mg_pk.py), so the Tanna checks test the
derivation's reproducibility and the sampled-schedule NCA, not an independent prediction; Huestis and the
Huestis 7-OH-MG/MG ratio are not fitted.
"""

import numpy as np
import pytest

from pharmsim.catalog import catalog
from pharmsim.library import load_library
from pharmsim.products import Product
from pharmsim.solve import solve_pk as solve

LIB = load_library()


def default_model(compounds, effect_sites=None, library=LIB):
    return catalog(library).pk_model(compounds, effect_sites=effect_sites)

# assumed sampling schedule and LLOQ of the derivation (tools/derive_mg_pk.py docstring)
SCHEDULE = np.array([0.25, 0.5, 0.75, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6.5, 8, 12, 24, 48, 72, 96, 120.0])
LLOQ = {"MG": 0.5 * 1000 / 398.5, "7-OH-MG": 0.5 * 1000 / 414.5}


def obs(quantity, compound, source="Tanna 2022 Pharmaceutics"):
    return LIB.parameter(quantity, compound, "PK", source=source).value


def test_tea_dose_is_39_mg():
    assert Product("tea", 2.0).amounts_mg(LIB)["MG"] == pytest.approx(39.0, rel=0.01)


def test_morphine_oral_tmax_and_F():
    m = default_model(("morphine",), effect_sites=(), library=LIB)
    from pharmsim.dosing import dose

    fine = np.round(np.arange(0, 4.001, 0.005), 10)
    s = solve(m, np.append(fine, 200.0), dose("morphine", 20.0, route="oral", library=LIB))
    assert fine[np.argmax(s.conc_nM("morphine")[0, :-1])] == pytest.approx(0.75, abs=0.01)  # Hoskin 45 min
    frac = s.amount("morphine.eliminated")[0, -1] / (20.0 * 1e6 / 285.34)
    assert frac == pytest.approx(0.239, rel=1e-3)  # Hoskin 1989 F (solution)
