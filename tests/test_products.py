"""Tests of pharmsim.products: contents -> nmol of MG and 7-OH-MG, defaults from the library, bad input."""

import numpy as np
import pytest

from pharmsim.catalog import catalog
from pharmsim.library import load_library
from pharmsim.products import Product
from pharmsim.solve import solve_pk as solve
from pharmsim.validate import PharmsimError

MW_MG, MW_7OH = 398.5, 414.5


def test_explicit_contents_to_nmol():
    p = Product("capsule", 2.0, mg_percent=1.5, oh_percent=0.2)
    d = p.doses([0.0, 24.0], library=load_library())
    assert d.compound == ("MG", "MG", "7-OH-MG", "7-OH-MG")
    assert d.route == ("capsule",) * 4
    np.testing.assert_allclose(d.amount_nmol[:2], 2000 * 0.015 * 1e6 / MW_MG)
    np.testing.assert_allclose(d.amount_nmol[2:], 2000 * 0.002 * 1e6 / MW_7OH)


def test_library_default_contents():
    lib = load_library()
    tea = Product("tea", 2.0).amounts_mg(lib)
    assert tea["MG"] == pytest.approx(38.96)  # Tanna 2022: 2 g of K51 (19.48 mg/g) = ~39 mg MG
    assert tea["7-OH-MG"] == 0.0
    assert Product("capsule", 0.5).amounts_mg(lib)["MG"] == pytest.approx(6.65)  # Huestis 2024
    assert tea["speciociliatine"] == pytest.approx(10.24)  # 5.12 mg/g in K51 (NaPDI record): Tanna's 10 mg
    d = Product("tea", 2.0).doses(0.0, library=lib)
    assert d.compound == ("MG", "speciociliatine")  # no 7-OH-MG event when the content is 0


def test_extract_needs_a_content():
    with pytest.raises(PharmsimError, match="mg_percent"):
        Product("extract", 1.0).doses(library=load_library())


def test_7oh_in_product_is_delivered_directly_and_through_mg():
    lib = load_library()
    m = catalog(lib).pk_model(("MG", "7-OH-MG"), effect_sites=())
    t = np.linspace(0, 24, 97)
    plain = solve(m, t, Product("capsule", 2.0, mg_percent=1.33, oh_percent=0.0).doses(0.0, library=lib))
    spiked = solve(m, t, Product("capsule", 2.0, mg_percent=1.33, oh_percent=0.05).doses(0.0, library=lib))
    np.testing.assert_allclose(spiked.conc_nM("MG"), plain.conc_nM("MG"), rtol=1e-12)
    assert np.all(spiked.conc_nM("7-OH-MG")[0, 8:] > plain.conc_nM("7-OH-MG")[0, 8:])
    assert plain.conc_nM("7-OH-MG").max() > 0  # formed from MG alone


def test_unknown_form_is_named_when_the_library_is_asked():
    with pytest.raises(PharmsimError, match=r"form must be one of .*'pill'"):
        Product("pill", 1.0).doses(0.0, library=load_library())


def test_contents_of_any_compound_and_the_shorthands_agree():
    a = Product("capsule", 2.0, mg_percent=1.5, oh_percent=0.2).doses(0.0)
    b = Product("capsule", 2.0, contents={"MG": 1.5, "7-OH-MG": 0.2}).doses(0.0)
    np.testing.assert_array_equal(a.amount_nmol, b.amount_nmol)
    with pytest.raises(PharmsimError, match=r"mg_percent and contents\['MG'\] both give"):
        Product("capsule", 2.0, mg_percent=1.5, contents={"MG": 1.0})
    with pytest.raises(PharmsimError, match="compound must be one of"):
        Product("capsule", 2.0, contents={"MGX": 1.0}).doses(0.0)


@pytest.mark.parametrize("kw,match", [
    ({"form": "tea", "amount_g": -1.0}, "amount_g"),
    ({"form": "tea", "amount_g": 0.0}, "amount_g"),
    ({"form": "tea", "amount_g": 1.0, "mg_percent": 120.0}, "mg_percent"),
    ({"form": "tea", "amount_g": 1.0, "oh_percent": -0.1}, "oh_percent"),
    ({"form": "tea", "amount_g": 1.0, "mg_percent": 70.0, "oh_percent": 40.0}, "more than 100 % w/w"),
])
def test_bad_products(kw, match):
    with pytest.raises(PharmsimError, match=match):
        Product(**kw)


def test_forms_are_routes_of_the_default_model():
    cat = catalog(load_library())
    m = cat.pk_model(("MG", "7-OH-MG"))
    for f in cat.product_forms():
        m.route_state("MG", f)
        m.route_state("7-OH-MG", f)
