"""Tests of pharmsim.linear against closed forms (Bateman, infusion), batching and bad input."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from pharmsim.linear import Inputs, solve_linear
from pharmsim.validate import PharmsimError


def oral_1cmt(ka, k):
    return np.array([[-ka, 0.0], [ka, -k]])


def bateman(t, dose, ka, k):
    return dose * ka / (ka - k) * (np.exp(-k * t) - np.exp(-ka * t))


def test_bateman_single_dose():
    t = np.linspace(0, 48, 97)
    x = solve_linear(oral_1cmt(1.3, 0.2), t, Inputs(bolus_time_h=[0.0], bolus_state=[0], bolus_amount=[100.0]))
    np.testing.assert_allclose(x[0, :, 1], bateman(t, 100.0, 1.3, 0.2), rtol=1e-11, atol=1e-12)


def test_superposition_and_right_continuity():
    t = np.array([0.0, 5.0, 6.0, 6.0, 7.5, 20.0])
    inp = Inputs(bolus_time_h=[0.0, 6.0], bolus_state=[0, 0], bolus_amount=[100.0, 50.0])
    x = solve_linear(oral_1cmt(1.0, 0.1), t, inp)[0]
    expected = bateman(t, 100.0, 1.0, 0.1) + np.where(t >= 6, bateman(np.clip(t - 6, 0, None), 50.0, 1.0, 0.1), 0)
    np.testing.assert_allclose(x[:, 1], expected, rtol=1e-11, atol=1e-12)
    # the bolus at 6 h is in the depot at t = 6 h (right-continuous)
    assert x[2, 0] == pytest.approx(100 * np.exp(-6.0) + 50.0, rel=1e-12)


def test_infusion_closed_form_and_singular_accumulator():
    k, R, T = 0.3, 10.0, 4.0
    A = np.array([[-k, 0.0], [k, 0.0]])  # central, eliminated (accumulator): A is singular
    t = np.linspace(0, 12, 49)
    x = solve_linear(A, t, Inputs(infusion_start_h=[0.0], infusion_end_h=[T], infusion_state=[0],
                                  infusion_rate=[R]))[0]
    during = R / k * (1 - np.exp(-k * np.minimum(t, T)))
    expected = np.where(t <= T, during, R / k * (1 - np.exp(-k * T)) * np.exp(-k * (t - T)))
    np.testing.assert_allclose(x[:, 0], expected, rtol=1e-11, atol=1e-12)
    # mass balance: infused so far = in body + eliminated
    np.testing.assert_allclose(x.sum(axis=1), R * np.minimum(t, T), rtol=1e-10, atol=1e-12)


def test_batched_matches_loop_and_ode():
    rng = np.random.default_rng(1)
    N = 5
    ka, k = 1.0 * np.exp(0.3 * rng.standard_normal(N)), 0.1 * np.exp(0.3 * rng.standard_normal(N))
    A = np.stack([oral_1cmt(a, b) for a, b in zip(ka, k, strict=True)])
    amounts = rng.uniform(50, 150, size=(N, 2))
    t = np.linspace(0, 24, 25)
    inp = Inputs(bolus_time_h=[0.0, 8.0], bolus_state=[0, 0], bolus_amount=amounts)
    x = solve_linear(A, t, inp)
    for i in range(N):
        xi = solve_linear(A[i], t, Inputs(bolus_time_h=[0.0, 8.0], bolus_state=[0, 0], bolus_amount=amounts[i]))
        np.testing.assert_allclose(x[i], xi[0], rtol=1e-12, atol=1e-12)
        seg1 = solve_ivp(lambda _, y, M=A[i]: M @ y, (0, 8), [amounts[i, 0], 0], rtol=1e-11, atol=1e-12,
                         dense_output=True)
        np.testing.assert_allclose(x[i, 4, :], seg1.sol(4.0), rtol=1e-8)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"A": np.array([[np.nan]]), "t_h": [0.0]}, "A must be a finite"),
        ({"A": np.eye(2), "t_h": [1.0, 0.5]}, "t_h must be sorted"),
        ({"A": np.ones((2, 3)), "t_h": [0.0]}, "A must be a square"),
        ({"A": -np.eye(1), "t_h": [0.0], "inputs": Inputs(bolus_time_h=[0.0], bolus_state=[3], bolus_amount=[1.0])},
         "bolus_state must index"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(PharmsimError, match=match):
        solve_linear(**kwargs)


def test_bad_inputs_object():
    with pytest.raises(PharmsimError, match="bolus_amount must be a finite number >= 0"):
        Inputs(bolus_time_h=[0.0], bolus_state=[0], bolus_amount=[-1.0])
    with pytest.raises(PharmsimError, match="infusion_end_h must be later"):
        Inputs(infusion_start_h=[2.0], infusion_end_h=[1.0], infusion_state=[0], infusion_rate=[1.0])


def test_observe_and_streaming_agree_with_full_solution():
    from pharmsim.linear import iter_linear

    A = np.array([[-1.0, 0, 0], [1.0, -0.2, 0.0], [0.0, 0.0, -0.5]])  # two independent blocks
    t = np.linspace(0, 10, 11)
    inp = Inputs(bolus_time_h=[0.0, 2.0], bolus_state=[0, 2], bolus_amount=[10.0, 4.0])
    full = solve_linear(A, t, inp)
    part = solve_linear(A, t, inp, observe=[2, 1])
    np.testing.assert_array_equal(part[0], full[0][:, [2, 1]])
    streamed = np.stack([x[:, 0] for _, x in iter_linear(A, t, inp)])
    np.testing.assert_array_equal(streamed, full[0])
    np.testing.assert_allclose(full[0, :, 2], np.where(t >= 2, 4.0 * np.exp(-0.5 * (t - 2)), 0.0), rtol=1e-12)


# ---------------------------------------------------------------------------------------- batched expm
def _compartmental(rng, n_sub, n, scale):
    """Random compartment-like matrices: non-negative off-diagonal transfers, columns losing what they give."""
    K = rng.uniform(0, 1, size=(n_sub, n, n)) * (rng.uniform(size=(n_sub, n, n)) < 0.5)
    K[:, np.arange(n), np.arange(n)] = 0.0
    elim = rng.uniform(0, 1, size=(n_sub, n))
    A = K - np.einsum("kij->kj", K)[:, None, :] * np.eye(n) - elim[:, None, :] * np.eye(n)
    return A * scale


@pytest.mark.parametrize("scale", [1e-4, 0.01, 0.2, 0.9, 3.0, 40.0])
def test_batched_expm_matches_scipy(scale):
    """expm of a stack equals scipy.linalg.expm matrix by matrix, for every Pade degree and scaling."""
    from scipy.linalg import expm as scipy_expm

    from pharmsim.linear import expm

    rng = np.random.default_rng(7)
    A = _compartmental(rng, 25, 6, scale)
    got = expm(A)
    want = np.stack([scipy_expm(a) for a in A])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14 * max(1.0, np.abs(want).max()))
    # columns of exp(A t) of a mass-losing compartment system are non-negative and sum to <= 1
    assert got.min() > -1e-15 and got.sum(axis=1).max() <= 1 + 1e-12
    # a single matrix and a nested stack keep their shapes
    assert expm(A[0]).shape == (6, 6)
    np.testing.assert_allclose(expm(A.reshape(5, 5, 6, 6)).reshape(25, 6, 6), got, rtol=1e-14, atol=1e-300)


def test_batched_expm_semigroup_and_identity():
    from pharmsim.linear import expm

    rng = np.random.default_rng(3)
    A = _compartmental(rng, 10, 5, 2.0)
    np.testing.assert_allclose(expm(2 * A), expm(A) @ expm(A), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(expm(np.zeros((3, 4, 4))), np.broadcast_to(np.eye(4), (3, 4, 4)))


def test_batched_expm_bad_input():
    from pharmsim.linear import expm

    with pytest.raises(PharmsimError, match=r"square matrix"):
        expm(np.zeros((3, 4, 5)))
    with pytest.raises(PharmsimError, match=r"finite"):
        expm(np.array([[np.nan, 0.0], [0.0, 1.0]]))


# ------------------------------------------------------------------- stage states inside mesh steps
def test_iter_linear_steps_equals_iter_linear_at_every_stage():
    """Node states and the observed states inside each step equal the full exact march at the same times,
    with boluses on nodes, an infusion, per-subject matrices and two independent blocks."""
    from pharmsim.binding import RADAU_C, stage_times
    from pharmsim.linear import iter_linear, iter_linear_steps

    rng = np.random.default_rng(5)
    N = 7
    A = np.zeros((N, 5, 5))
    ka, k10, k12, k21 = (rng.uniform(0.3, 2.0, N) for _ in range(4))
    A[:, 0, 0], A[:, 1, 0] = -ka, ka
    A[:, 1, 1], A[:, 1, 2], A[:, 2, 1], A[:, 2, 2] = -(k10 + k12), k21, k12, -k21
    A[:, 3, 1], A[:, 3, 3] = 0.4, -0.8                      # effect site fed by the central compartment
    A[:, 4, 4] = -rng.uniform(0.1, 0.5, N)                  # an independent block
    nodes = np.array([0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 6.25, 8.0])
    inp = Inputs(bolus_time_h=[0.0, 3.0, 6.0], bolus_state=[0, 4, 0], bolus_amount=rng.uniform(50, 100, (N, 3)),
                 infusion_start_h=[1.0], infusion_end_h=[4.0], infusion_state=[1], infusion_rate=[20.0])
    c = RADAU_C[:-1]
    times = stage_times(nodes)                                # node, then per step: c1, c2, next node
    want = np.stack([x for _, x in iter_linear(A, times, inp)])   # (T3, 5, N)
    # observed rows contiguous within each block, and scattered over the blocks (3 and 1 in one block)
    for inside_idx, node_idx in (([3, 4], [1, 3, 4]), ([3, 4, 1], [4, 0])):
        got = list(iter_linear_steps(A, nodes, c, inp, observe_inside=inside_idx, observe=node_idx))
        assert got[0][0] is None
        np.testing.assert_allclose(got[0][1], want[0][node_idx], rtol=1e-12, atol=1e-12)
        for k, (inside, at_node) in enumerate(got[1:]):
            for j in range(c.size):
                np.testing.assert_allclose(inside[j], want[3 * k + 1 + j][inside_idx], rtol=1e-11, atol=1e-11)
            np.testing.assert_allclose(at_node, want[3 * (k + 1)][node_idx], rtol=1e-11, atol=1e-11)
        assert len(got) == nodes.size


def test_iter_linear_steps_bad_input():
    from pharmsim.linear import iter_linear_steps

    A = oral_1cmt(1.0, 0.1)
    inp = Inputs(bolus_time_h=[0.5], bolus_state=[0], bolus_amount=[1.0])
    with pytest.raises(PharmsimError, match=r"every dosing event time must be a node.*0\.5"):
        list(iter_linear_steps(A, [0.0, 1.0], [0.5], inp))
    with pytest.raises(PharmsimError, match=r"fractions must be increasing numbers strictly between 0 and 1"):
        list(iter_linear_steps(A, [0.0, 1.0], [0.0, 0.5]))
    with pytest.raises(PharmsimError, match=r"strictly increasing"):
        list(iter_linear_steps(A, [0.0, 1.0, 1.0], [0.5]))


def test_step_key_is_relative_and_halving_is_exact():
    from pharmsim.linear import step_key

    h = np.array([1e-15, 1e-13, 1e-12, 2e-12, 0.25, 0.125, 168.0])
    keys = step_key(h)
    assert np.unique(keys).size == h.size                      # no two distinct steps share a key
    np.testing.assert_allclose(keys, h, rtol=2.0**-40)
    assert step_key(0.25 * (1 + 1e-14)) == step_key(0.25)      # round-off differences share one key
    for x in h:
        assert step_key(x) / 2 == step_key(x / 2)
    assert step_key(0.0) == 0.0


def test_mesh_states_match_solve_linear_by_both_evaluations():
    """MeshStates evaluates times inside mesh steps from the marched node states, through the eigen-
    decomposition (every offset at once) or, for ill-conditioned eigenvectors or infusions, one exponential per
    offset; both agree with solve_linear."""
    from pharmsim.linear import MeshStates

    A = np.array([[-1.5, 0, 0, 0], [1.5, -0.5, 0.2, 0], [0, 0.3, -0.2, 0], [0, 0.4, 0, -0.4]])
    nodes = np.array([0.0, 0.5, 1.0, 3.0, 5.0])
    inp = Inputs(bolus_time_h=[0.0, 3.0], bolus_state=[0, 0], bolus_amount=[100.0, 50.0])
    t = np.array([0.1, 0.25, 0.5, 0.77, 2.0, 3.0, 3.4, 4.999, 5.0])
    ref = solve_linear(A, t, inp)
    ms = MeshStates(A, nodes, inp)
    assert all(e is not None for e in ms._eig)
    np.testing.assert_allclose(ms.at(t), ref, rtol=1e-11, atol=1e-12)
    defective = np.array([[-1.0, 0, 0], [1.0, -1.0, 0], [0, 1.0, -1.0]])      # a triple eigenvalue
    inp3 = Inputs(bolus_time_h=[0.0], bolus_state=[0], bolus_amount=[10.0])
    ms3 = MeshStates(defective, nodes, inp3)
    assert ms3._eig[0] is None                                                  # falls back to exponentials
    np.testing.assert_allclose(ms3.at(t), solve_linear(defective, t, inp3), rtol=1e-12, atol=1e-13)
    inf = Inputs(infusion_start_h=[0.5], infusion_end_h=[3.0], infusion_state=[1], infusion_rate=[7.0])
    np.testing.assert_allclose(MeshStates(A, nodes, inf).at(t), solve_linear(A, t, inf), rtol=1e-11, atol=1e-12)
    with pytest.raises(PharmsimError, match="every dosing event time must be a node"):
        MeshStates(A, [0.0, 1.0], Inputs(bolus_time_h=[0.3], bolus_state=[0], bolus_amount=[1.0]))


def test_states_nothing_observed_depends_on_are_left_out_and_change_nothing():
    """A sink ('eliminated'), a state fed only by it and a second sink with a bolus and an infusion into them:
    with the observed rows given, only the states those rows depend on are propagated (fewer step-matrix bytes)
    and the observed values equal the full march to round-off, by both marching solvers."""
    from pharmsim.binding import RADAU_C, stage_times
    from pharmsim.linear import iter_linear, iter_linear_steps, step_matrix_bytes

    rng = np.random.default_rng(8)
    N = 5
    A = np.zeros((N, 6, 6))
    ka, k10, k12, k21 = (rng.uniform(0.3, 2.0, N) for _ in range(4))
    A[:, 0, 0], A[:, 1, 0] = -ka, ka
    A[:, 1, 1], A[:, 1, 2], A[:, 2, 1], A[:, 2, 2] = -(k10 + k12), k21, k12, -k21
    A[:, 3, 1] = k10                                        # eliminated: a sink of the central compartment
    A[:, 4, 3], A[:, 4, 4] = 0.2, -0.3                      # fed by the sink only
    A[:, 5, 1], A[:, 5, 5] = 0.1, -0.05                     # effect site (observed)
    inp = Inputs(bolus_time_h=[0.0, 2.0, 3.0], bolus_state=[0, 4, 3], bolus_amount=rng.uniform(50, 100, (N, 3)),
                 infusion_start_h=[1.0], infusion_end_h=[4.0], infusion_state=[4], infusion_rate=[20.0])
    nodes = np.array([0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0])
    c = RADAU_C[:-1]
    full = np.stack([x for _, x in iter_linear(A, stage_times(nodes), inp)])          # (T3, 6, N), no pruning
    got = list(iter_linear_steps(A, nodes, c, inp, observe_inside=[5], observe=[1, 5]))
    for k, (inside, at_node) in enumerate(got[1:]):
        np.testing.assert_allclose(at_node, full[3 * (k + 1)][[1, 5]], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(inside[:, 0], full[3 * k + 1:3 * k + 3, 5], rtol=1e-12, atol=1e-12)
    pruned = np.stack([x for _, x in iter_linear(A, stage_times(nodes), inp, observe=[2, 5])])
    np.testing.assert_allclose(pruned, full[:, [2, 5]], rtol=1e-12, atol=1e-12)
    # the observed rows reach states 0, 1, 2, 5 only: 4 of 6 states in one block, not 6 (or 5 + 1)
    kept = step_matrix_bytes(A, nodes, c.size, [5], [1, 5], True)
    every = step_matrix_bytes(A, nodes, c.size, None, None, True)
    assert kept == pytest.approx(every * 16 / 36)
    # the sink itself, when observed, is propagated and right
    sink = np.stack([x for _, x in iter_linear(A, stage_times(nodes), inp, observe=[3])])
    np.testing.assert_allclose(sink, full[:, [3]], rtol=1e-12, atol=1e-12)
