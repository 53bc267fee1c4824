"""Tests of pharmsim.receptor: closed forms, invariants (hypothesis) and bad input.

Tolerances: closed-form identities are compared at rel 1e-12; quantities found numerically from a
curve (EC50 by root finding, curve shifts, asymptotes) at rel 1e-8 unless stated.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from pharmsim.receptor import (
    Endpoint,
    K_A_from_ec50,
    Ligand,
    affinity_table,
    antagonist_shifted_ec50,
    endpoint_ec50_emax,
    endpoint_response,
    furchgott_tau,
    gaddum_occupancy,
    hill_occupancy,
    operational_ec50_emax,
    operational_mixture,
    operational_response,
    response_from_occupancy,
    schild_dose_ratio,
    tau_at,
    tau_from_emax,
)
from pharmsim.validate import PharmsimError


def conc_at_response(f, target, lo=1e-9, hi=1e12):
    """Concentration (nM) at which the increasing function f(conc) equals target, found on log10 conc."""
    return 10 ** brentq(lambda lc: f(10**lc) - target, np.log10(lo), np.log10(hi), xtol=1e-14, rtol=1e-14)


# ------------------------------------------------------------------------------------------------
# occupancy
# ------------------------------------------------------------------------------------------------


def test_hill_occupancy_closed_form():
    assert hill_occupancy(10.0, 10.0) == pytest.approx(0.5, rel=1e-12)
    assert hill_occupancy(30.0, 10.0) == pytest.approx(0.75, rel=1e-12)
    # n = 2 at C = 2K: 4/(4+1)
    assert hill_occupancy(20.0, 10.0, 2.0) == pytest.approx(0.8, rel=1e-12)
    assert hill_occupancy(0.0, 10.0, 0.5) == 0.0
    # huge concentration and slope: no overflow, no warning
    assert hill_occupancy(1e300, 1e-3, 5.0) == 1.0
    np.testing.assert_allclose(hill_occupancy([1.0, 9.0], [1.0, 3.0]), [0.5, 0.75], rtol=1e-12)


def test_gaddum_against_hand_calculation():
    # A: 10 nM at K 5 nM -> x=2 ; B: 30 nM at K 10 nM -> x=3 ; C: 0 -> x=0 ; denominator 1+2+3 = 6
    p = gaddum_occupancy([10.0, 30.0, 0.0], [5.0, 10.0, 1.0])
    np.testing.assert_allclose(p, [2 / 6, 3 / 6, 0.0], rtol=1e-12)
    assert p.sum() == pytest.approx(5 / 6, rel=1e-12)
    assert p.sum() <= 1.0
    # one ligand reduces to Hill n = 1
    np.testing.assert_allclose(gaddum_occupancy([[7.0]], [3.0])[0, 0], hill_occupancy(7.0, 3.0), rtol=1e-12)
    # batched: leading axes broadcast, ligands last
    conc = np.array([[[1.0, 0.0]], [[0.0, 4.0]]])  # (2, 1, 2)
    p = gaddum_occupancy(conc, [1.0, 4.0])
    assert p.shape == (2, 1, 2)
    np.testing.assert_allclose(p[:, 0, :], [[0.5, 0.0], [0.0, 0.5]], rtol=1e-12)
    # saturating amounts of everything: total approaches but never exceeds 1
    p = gaddum_occupancy([1e12, 1e12], [1.0, 1.0])
    assert p.sum() <= 1.0
    assert p.sum() == pytest.approx(1.0, rel=1e-9)


# ------------------------------------------------------------------------------------------------
# operational model: closed forms
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("K_A", "tau", "Em"), [(10.0, 3.0, 1.0), (250.0, 0.4, 100.0), (1.0, 50.0, 2.5)])
def test_ec50_emax_n1_closed_form_and_numerical(K_A, tau, Em):
    ec50, emax = operational_ec50_emax(K_A, tau, Em)
    assert ec50 == pytest.approx(K_A / (1 + tau), rel=1e-12)
    assert emax == pytest.approx(Em * tau / (1 + tau), rel=1e-12)
    # E = Em tau C / (K_A + (1 + tau) C), checked pointwise
    C = np.array([0.1, 1.0, 10.0, 1000.0])
    np.testing.assert_allclose(operational_response(C, K_A, tau, Em), Em * tau * C / (K_A + (1 + tau) * C), rtol=1e-12)
    # EC50 found from the curve
    found = conc_at_response(lambda c: operational_response(c, K_A, tau, Em), emax / 2)
    assert found == pytest.approx(K_A / (1 + tau), rel=1e-8)
    # asymptote
    assert operational_response(1e12 * K_A, K_A, tau, Em) == pytest.approx(emax, rel=1e-8)


@pytest.mark.parametrize(("tau", "n"), [(3.0, 0.6), (3.0, 2.0), (0.3, 1.5), (20.0, 3.0), (1.0, 1.0)])
def test_ec50_emax_general_n_against_numerical(tau, n):
    K_A, Em = 40.0, 1.7
    ec50, emax = operational_ec50_emax(K_A, tau, Em, n)
    assert emax == pytest.approx(Em * tau**n / (1 + tau**n), rel=1e-12)
    assert ec50 == pytest.approx(K_A / ((2 + tau**n) ** (1 / n) - 1), rel=1e-12)

    def f(c):
        return operational_response(c, K_A, tau, Em, n)

    assert conc_at_response(f, emax / 2) == pytest.approx(ec50, rel=1e-8)
    assert f(1e14) == pytest.approx(emax, rel=1e-8)
    # textbook form E = Em tau^n C^n / ((K_A + C)^n + tau^n C^n)
    C = np.array([1.0, 40.0, 900.0])
    np.testing.assert_allclose(f(C), Em * tau**n * C**n / ((K_A + C) ** n + tau**n * C**n), rtol=1e-12)


def test_inverse_helpers_round_trip():
    for n in (0.7, 1.0, 2.5):
        for e in (0.05, 0.413, 0.9):
            tau = tau_from_emax(e, n)
            assert operational_ec50_emax(1.0, tau, 1.0, n)[1] == pytest.approx(e, rel=1e-12)
        ec50, _ = operational_ec50_emax(33.0, 4.0, 1.0, n)
        assert K_A_from_ec50(ec50, 4.0, n) == pytest.approx(33.0, rel=1e-12)
    # literature.md section 4 illustration: Emax 41.3 % -> tau = 0.413/0.587
    assert tau_from_emax(0.413) == pytest.approx(0.413 / 0.587, rel=1e-12)
    assert K_A_from_ec50(10.0, 3.0) == pytest.approx(40.0, rel=1e-12)


def test_single_ligand_mixture_equals_operational_response():
    C = np.geomspace(1e-3, 1e5, 31)
    for n in (0.8, 1.0, 2.0):
        np.testing.assert_allclose(
            operational_mixture(C[:, None], [12.0], [5.0], 2.0, n),
            operational_response(C, 12.0, 5.0, 2.0, n),
            rtol=1e-12,
        )


def test_response_from_occupancy_matches_mixture():
    conc = np.array([[3.0, 50.0, 7.0], [0.0, 1e4, 1.0]])
    K, tau = np.array([2.0, 100.0, 5.0]), np.array([20.0, 0.5, 0.0])
    occ = gaddum_occupancy(conc, K)
    np.testing.assert_allclose(
        response_from_occupancy(occ, tau, 3.0, 1.4), operational_mixture(conc, K, tau, 3.0, 1.4), rtol=1e-12
    )
    # by hand: S = sum tau_i p_i, E = Em S^n / (1 + S^n)
    S = (tau * occ).sum(-1)
    np.testing.assert_allclose(response_from_occupancy(occ, tau, 3.0, 1.4), 3.0 * S**1.4 / (1 + S**1.4), rtol=1e-12)


# ------------------------------------------------------------------------------------------------
# operational model: mixtures, antagonism, depletion, system dependence
# ------------------------------------------------------------------------------------------------


def test_saturating_partial_agonist_pulls_full_agonist_down_to_its_own_emax():
    K_a, tau_a = 1.0, 100.0  # full agonist, large reserve
    K_p, tau_p = 50.0, 0.5  # partial agonist: own Emax = 1/3 of Em
    Em = 1.0
    a = 100.0  # agonist at 100 K_A: near-maximal response on its own
    alone = operational_response(a, K_a, tau_a, Em)
    assert alone > 0.98
    partial_emax = operational_ec50_emax(K_p, tau_p, Em)[1]
    assert partial_emax == pytest.approx(1 / 3, rel=1e-12)
    b = K_p * np.array([0.0, 1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e7, 1e10])
    E = operational_mixture(np.stack([np.full_like(b, a), b], axis=-1), [K_a, K_p], [tau_a, tau_p], Em)
    # operational-model prediction written out by hand
    xa, xb = a / K_a, b / K_p
    S = (tau_a * xa + tau_p * xb) / (1 + xa + xb)
    np.testing.assert_allclose(E, Em * S / (1 + S), rtol=1e-12)
    assert E[0] == pytest.approx(alone, rel=1e-12)
    assert np.all(np.diff(E) < 0)  # more partial agonist, less response
    assert E[-1] == pytest.approx(partial_emax, rel=1e-5)
    assert np.all(E >= partial_emax)  # approaches from above, never overshoots the partial's ceiling


@pytest.mark.parametrize("n", [1.0, 2.0])
@pytest.mark.parametrize("B", [1.0, 10.0, 300.0, 5000.0])
def test_zero_efficacy_ligand_shifts_agonist_curve_by_schild_ratio(B, n):
    K_A, tau, K_B = 20.0, 8.0, 15.0
    r_expected = 1 + B / K_B
    assert schild_dose_ratio(B, K_B) == pytest.approx(r_expected, rel=1e-12)

    def control(c):
        return operational_mixture(np.array([c, 0.0]), [K_A, K_B], [tau, 0.0], 1.0, n)

    def blocked(c):
        return operational_mixture(np.array([c, B]), [K_A, K_B], [tau, 0.0], 1.0, n)

    _, emax = operational_ec50_emax(K_A, tau, 1.0, n)
    for level in (0.2, 0.5, 0.8):  # parallel shift: same ratio at every response level
        r = conc_at_response(blocked, level * emax) / conc_at_response(control, level * emax)
        assert r == pytest.approx(r_expected, rel=1e-8)
    assert blocked(1e14) == pytest.approx(emax, rel=1e-6)  # surmountable: Emax unchanged
    assert antagonist_shifted_ec50(K_A, tau, B, K_B, n) == pytest.approx(
        conc_at_response(blocked, 0.5 * emax), rel=1e-8
    )


def test_receptor_depletion_turns_full_agonist_partial_as_predicted():
    K_A, tau0 = 30.0, 50.0
    full = Ligand("full agonist", K_A, tau0, receptor="MOR")
    tissue = Endpoint("tissue", "MOR")
    _, emax0 = endpoint_ec50_emax(full, tissue)
    assert emax0 > 0.98  # looks full
    for q in (0.5, 0.1, 0.02, 0.005):
        depleted = tissue.depleted(q)
        tau_q = tau_at(full, depleted)
        assert tau_q == pytest.approx(furchgott_tau(tau0, q), rel=1e-12)
        assert tau_q == pytest.approx(q * tau0, rel=1e-12)
        ec50_pred, emax_pred = operational_ec50_emax(K_A, q * tau0)

        def f(c, depleted=depleted):
            return endpoint_response(np.array([c]), [full], depleted)

        assert f(1e14) == pytest.approx(emax_pred, rel=1e-8)
        assert conc_at_response(f, emax_pred / 2) == pytest.approx(ec50_pred, rel=1e-8)
    # modest depletion of a high-reserve system: right shift with little loss of Emax (Furchgott)
    ec_half, emax_half = endpoint_ec50_emax(full, tissue.depleted(0.5))
    ec_0, _ = endpoint_ec50_emax(full, tissue)
    assert emax_half > 0.96 and ec_half > 1.9 * ec_0
    # strong depletion: clearly partial
    assert endpoint_ec50_emax(full, tissue.depleted(0.005))[1] == pytest.approx(0.2, rel=1e-12)
    # depletion composes
    assert tissue.depleted(0.5).depleted(0.2).receptor_fraction == pytest.approx(0.1, rel=1e-12)


def test_same_ligand_partial_at_low_gain_near_full_at_high_gain():
    lig = Ligand("7-OH-MG (illustrative)", 10.0, 0.7, receptor="MOR")
    low = Endpoint("low-reserve readout", "MOR", gain=1.0)
    high = Endpoint("high-reserve endpoint", "MOR", gain=100.0)
    _, emax_low = endpoint_ec50_emax(lig, low)
    ec50_high, emax_high = endpoint_ec50_emax(lig, high)
    assert emax_low == pytest.approx(0.7 / 1.7, rel=1e-12)  # partial
    assert emax_high == pytest.approx(70 / 71, rel=1e-12)  # near full
    assert ec50_high == pytest.approx(10.0 / 71, rel=1e-12)  # and more potent
    c = np.array([[1e9]])
    assert endpoint_response(c, [lig], low)[0] == pytest.approx(emax_low, rel=1e-7)
    assert endpoint_response(c, [lig], high)[0] == pytest.approx(emax_high, rel=1e-7)


def test_delta_receptor_antagonist_or_low_efficacy_by_source():
    # DESIGN.md: DOR efficacy zero by default, low-efficacy partial agonism selectable; both representable
    dor = Endpoint("DOR signal", "DOR", gain=1.0)
    agonist = Ligand("DOR full agonist", 5.0, 30.0, receptor="DOR")
    as_antagonist = Ligand("MG", 200.0, 0.0, receptor="DOR", source="antagonist (tau = 0)")
    as_partial = Ligand("MG", 200.0, 0.1, receptor="DOR", source="low efficacy")
    assert as_antagonist.is_antagonist and not as_partial.is_antagonist
    assert endpoint_response(np.array([[1e6]]), [as_antagonist], dor)[0] == 0.0
    assert endpoint_response(np.array([[1e9]]), [as_partial], dor)[0] == pytest.approx(0.1 / 1.1, rel=1e-6)
    # both lower the full agonist's response when co-applied
    both = np.array([[50.0, 2000.0]])
    alone = endpoint_response(both[:, :1], [agonist], dor)[0]
    assert endpoint_response(both, [agonist, as_antagonist], dor)[0] < alone
    assert endpoint_response(both, [agonist, as_partial], dor)[0] < alone


def test_vectorized_shapes():
    conc = np.random.default_rng(0).uniform(0, 100, size=(4, 5, 3))
    E = operational_mixture(conc, [1.0, 10.0, 100.0], [5.0, 0.3, 0.0], Em=np.ones((4, 1)))
    assert E.shape == (4, 5)
    # per-subject parameters along leading axes
    K = np.array([[1.0, 10.0, 100.0]]) * np.array([[1.0], [2.0], [3.0], [4.0]])[:, None, :]  # (4, 1, 3)
    assert gaddum_occupancy(conc, K).shape == (4, 5, 3)
    assert operational_response(np.ones((2, 3)), [1.0, 2.0, 3.0], 2.0).shape == (2, 3)
    assert isinstance(operational_response(1.0, 1.0, 1.0), float)


# ------------------------------------------------------------------------------------------------
# invariants (hypothesis)
# ------------------------------------------------------------------------------------------------

concs = st.floats(min_value=0.0, max_value=1e7, allow_nan=False)
Ks = st.floats(min_value=1e-3, max_value=1e5, allow_nan=False)
taus = st.floats(min_value=0.0, max_value=1e3, allow_nan=False)
slopes = st.floats(min_value=0.3, max_value=4.0, allow_nan=False)


@st.composite
def mixtures(draw, min_size=1, max_size=5):
    L = draw(st.integers(min_size, max_size))
    return (
        np.array(draw(st.lists(concs, min_size=L, max_size=L))),
        np.array(draw(st.lists(Ks, min_size=L, max_size=L))),
        np.array(draw(st.lists(taus, min_size=L, max_size=L))),
    )


@settings(max_examples=200, deadline=None)
@given(mixtures(), slopes, st.floats(min_value=1e-3, max_value=1e3))
def test_property_occupancy_and_response_bounds(mix, n, Em):
    C, K, tau = mix
    p = gaddum_occupancy(C, K)
    assert np.all((p >= 0) & (p <= 1))
    assert p.sum() <= 1.0 + 1e-12
    E = operational_mixture(C, K, tau, Em, n)
    assert 0.0 <= E <= Em
    # never above the most efficacious ligand's own ceiling
    assert E <= Em * tau.max() ** n / (1 + tau.max() ** n) * (1 + 1e-12)
    assert 0.0 <= hill_occupancy(C[0], K[0], n) <= 1.0


@settings(max_examples=200, deadline=None)
@given(mixtures(min_size=0, max_size=4), Ks, taus, slopes)
def test_property_response_monotone_in_agonist_concentration(others, K_a, tau_extra, n):
    C, K, tau = others
    # the varied ligand is at least as efficacious as anything in the fixed mix: response non-decreasing
    tau_a = (tau.max() if tau.size else 0.0) + tau_extra
    grid = np.geomspace(1e-4, 1e8, 60) * K_a
    conc = np.concatenate([grid[:, None], np.broadcast_to(C, (grid.size, C.size))], axis=1)
    E = operational_mixture(conc, np.r_[K_a, K], np.r_[tau_a, tau], 1.0, n)
    assert np.all(np.diff(E) >= -1e-12)
    assert np.all((E >= 0) & (E <= 1))


@settings(max_examples=200, deadline=None)
@given(mixtures(min_size=1, max_size=4), Ks, taus, slopes)
def test_property_response_monotone_towards_added_ligands_ceiling(others, K_a, tau_a, n):
    # For any ligand, raising its concentration moves the response monotonically towards its own Emax
    # (down for a partial agonist added to a more efficacious mix, up otherwise).
    C, K, tau = others
    grid = np.geomspace(1e-4, 1e10, 60) * K_a
    conc = np.concatenate([grid[:, None], np.broadcast_to(C, (grid.size, C.size))], axis=1)
    E = operational_mixture(conc, np.r_[K_a, K], np.r_[tau_a, tau], 1.0, n)
    d = np.diff(E)
    assert np.all(d >= -1e-12) or np.all(d <= 1e-12)
    ceiling = tau_a**n / (1 + tau_a**n)
    assert abs(E[-1] - ceiling) <= abs(E[0] - ceiling) + 1e-12


# ------------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: hill_occupancy(-5.0, 10.0), r"conc_nM must be a finite number >= 0 nM; got -5"),
        (lambda: hill_occupancy(np.nan, 10.0), r"conc_nM must be a finite number nM; got nan"),
        (lambda: hill_occupancy([1.0, np.nan], 10.0), r"conc_nM must be a finite number nM; got nan"),
        (lambda: hill_occupancy(1.0, 0.0), r"K_nM must be a finite number > 0 nM; got 0"),
        (lambda: hill_occupancy(1.0, 1.0, -1.0), r"hill must be a finite number > 0; got -1"),
        (lambda: gaddum_occupancy([1.0, -2.0], [1.0, 1.0]), r"conc_nM must be a finite number >= 0 nM; got -2"),
        (lambda: gaddum_occupancy([1.0, 2.0], [1.0, -3.0]), r"K_nM must be a finite number > 0 nM; got -3"),
        (
            lambda: gaddum_occupancy([1.0, 2.0, 3.0], [1.0, 1.0]),
            r"K_nM must have one value per ligand.*got shape \(2,\)",
        ),
        (lambda: gaddum_occupancy(1.0, 1.0), r"conc_nM must have a last axis of ligands"),
        (lambda: operational_response(1.0, 1.0, -0.5), r"tau must be a finite number >= 0; got -0.5"),
        (lambda: operational_response(1.0, 1.0, 1.0, Em=0.0), r"Em must be a finite number > 0; got 0"),
        (lambda: operational_response(1.0, 1.0, 1.0, n=0.0), r"n must be a finite number > 0; got 0"),
        (lambda: operational_response([1.0, 2.0], [1.0, 2.0, 3.0], 1.0), r"shapes must broadcast.*conc_nM \(2,\)"),
        (lambda: operational_mixture([1.0, 2.0], [1.0, 1.0], [1.0]), r"tau must have one value per ligand"),
        (lambda: operational_mixture(np.ones((2, 1)), [1.0], [1.0], n=[1.0, 2.0, 3.0]), r"shapes must broadcast"),
        (
            lambda: response_from_occupancy([0.7, 0.6], [1.0, 1.0]),
            r"occupancy must sum to at most 1 .*got a total of 1.3$",
        ),
        (lambda: response_from_occupancy([1.2], [1.0]), r"occupancy must be a fraction in \[0, 1\]; got 1.2"),
        (lambda: response_from_occupancy([-0.1], [1.0]), r"occupancy must be a fraction in \[0, 1\]; got -0.1"),
        (lambda: tau_from_emax(1.0), r"emax_fraction must be a fraction in \[0, 1\); got 1"),
        (lambda: K_A_from_ec50(10.0, 0.0), r"tau must be a finite number > 0; got 0"),
        (lambda: schild_dose_ratio(-1.0, 1.0), r"B_nM must be a finite number >= 0 nM; got -1"),
        (lambda: schild_dose_ratio(1.0, 0.0), r"K_B_nM must be a finite number > 0 nM; got 0"),
        (lambda: furchgott_tau(5.0, 0.0), r"fraction_remaining must be a fraction in \(0, 1\]; got 0"),
        (lambda: furchgott_tau(5.0, 1.5), r"fraction_remaining must be a fraction in \(0, 1\]; got 1.5"),
        (lambda: hill_occupancy("ten", 1.0), r"conc_nM must be a number nM; got 'ten'"),
    ],
)
def test_bad_input_names_parameter_and_value(call, pattern):
    with pytest.raises(PharmsimError, match=pattern):
        call()


def test_bad_dataclasses():
    with pytest.raises(PharmsimError, match=r"Ligand\('MG'\).K_nM must be a finite number > 0 nM; got 0"):
        Ligand("MG", 0.0, 1.0)
    with pytest.raises(PharmsimError, match=r"Ligand\('MG'\).K_nM must be a finite number nM; got nan"):
        Ligand("MG", float("nan"), 1.0)
    with pytest.raises(PharmsimError,
                       match=r"Ligand\('MG'\).efficacy must be >= 0 .*got -1.0. Inverse agonism .* not modelled"):
        Ligand("MG", 10.0, -1.0)
    with pytest.raises(PharmsimError, match=r"Ligand.name must be a non-empty string; got ''"):
        Ligand("", 10.0, 1.0)
    with pytest.raises(PharmsimError, match=r"Endpoint\('analgesia'\).gain must be a finite number > 0; got 0"):
        Endpoint("analgesia", "MOR", gain=0.0)
    with pytest.raises(PharmsimError, match=r"Endpoint\('analgesia'\).n must be a finite number > 0; got -2"):
        Endpoint("analgesia", "MOR", n=-2.0)
    with pytest.raises(PharmsimError, match=r"Endpoint\('analgesia'\).Em must be a finite number > 0; got 0"):
        Endpoint("analgesia", "MOR", Em=0)
    with pytest.raises(PharmsimError, match=r"receptor_fraction must be a fraction in \(0, 1\]; got 0"):
        Endpoint("analgesia", "MOR", receptor_fraction=0.0)
    with pytest.raises(PharmsimError, match=r"Endpoint\('analgesia'\).receptor must be a non-empty string; got None"):
        Endpoint("analgesia", None)
    with pytest.raises(PharmsimError, match=r"fraction_remaining must be a fraction in \(0, 1\]; got 2"):
        Endpoint("analgesia", "MOR").depleted(2)
    with pytest.raises(PharmsimError, match=r"ligand 'MG' has values for receptor 'DOR'; endpoint 'analgesia'"):
        tau_at(Ligand("MG", 10.0, 0.0, receptor="DOR"), Endpoint("analgesia", "MOR"))
    with pytest.raises(PharmsimError, match=r"ligands\[1\] must be a pharmsim.receptor.Ligand"):
        endpoint_response([[1.0, 1.0]], [Ligand("a", 1.0, 1.0), "morphine"], Endpoint("e", "MOR"))
    with pytest.raises(PharmsimError, match=r"ligands must contain at least one Ligand"):
        endpoint_response([[1.0]], [], Endpoint("e", "MOR"))
    # frozen
    with pytest.raises(AttributeError):
        Ligand("MG", 10.0, 1.0).K_nM = 3.0  # type: ignore[misc]


# ------------------------------------------------------------------------------------------------
# affinities side by side
# ------------------------------------------------------------------------------------------------


def test_affinity_table_shows_the_k_in_use_beside_ki_and_k_a():
    """Morphine (Xu 2011 K_A 894 nM vs binding Ki 1.2 nM) and an antagonist: every kind in its own column, the one
    in use named; kinds a ligand lacks are NaN, never filled from another kind."""
    mor = Ligand("morphine", 893.85, 14.15, receptor="MOR", K_kind="functional K_A (in vitro)", Ki_nM=1.168,
                 affinities={"functional K_A (in vitro)": 893.85, "binding Ki": 1.168})
    nal = Ligand("naloxone", 1.39, 0.0, receptor="MOR", K_kind="functional K_B", Ki_nM=4.23,
                 affinities={"functional K_B": 1.39, "binding Ki": 4.23})
    t = affinity_table([mor, nal]).set_index("compound")
    assert t.loc["morphine", "K_in_use_nM"] == 893.85 and t.loc["morphine", "K_kind"] == "functional K_A (in vitro)"
    assert t.loc["morphine", "binding Ki (nM)"] == 1.168
    assert np.isnan(t.loc["morphine", "functional K_B (nM)"]) and np.isnan(t.loc["naloxone",
                                                                                 "functional K_A (in vitro) (nM)"])
    assert t.loc["naloxone", "K_in_use_nM"] == 1.39
    # only K_nM enters the theory: the side-by-side numbers never change a response
    plain = Ligand("morphine", 893.85, 14.15, receptor="MOR")
    ep = Endpoint("analgesia", "MOR", gain=2.98)
    assert endpoint_ec50_emax(plain, ep) == endpoint_ec50_emax(mor, ep)


def test_affinities_must_be_positive_concentrations():
    with pytest.raises(PharmsimError, match=r"Ligand\('x'\).affinities\['binding Ki'\] must be a finite number > 0"):
        Ligand("x", 1.0, 1.0, affinities={"binding Ki": -3.0})
