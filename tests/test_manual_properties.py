"""Properties of manual_bp that need no oracle: how the conventions relate,
what a gradient step does, kinks, determinism, and the callers' arrays."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st

import manual_bp as bp
from reference import strategies as dst
from reference import assert_allclose_tree as assert_tree_close


def _single(p, n):
    """Sample ``n`` of a problem as a batch of one."""
    y = p.y[n : n + 1]
    return p.x[n : n + 1], y


@settings(max_examples=examples(0.25))
@given(dst.problems(reductions=("sum",), min_batch=2, l2=None))
def test_sum_reduction_gradient_is_sum_of_per_sample_gradients(p):
    total = bp.gradients(p.net, p.params, p.x, p.y)
    per_sample = [bp.gradients(p.net, p.params, *_single(p, n)) for n in range(p.x.shape[0])]
    # The L2 penalty l2·Σ‖W‖² is added once per batch, but once per sample in
    # each per-sample call: N copies of its gradient 2·l2·W, one too many N − 1.
    extra = (p.x.shape[0] - 1) * 2 * p.net.l2
    summed = [
        (sum(g[l][0] for g in per_sample) - extra * p.params[l][0],
         None if total[l][1] is None else sum(g[l][1] for g in per_sample))
        for l in range(p.net.n_layers)
    ]
    assert_tree_close(total, summed, dtype=np.float64, kind="jax")


@settings(max_examples=examples(0.25))
@given(dst.problems(reductions=("sum",), l2=None))
def test_mean_reduction_is_sum_divided_by_n(p):
    mean_net = bp.Network(p.net.sizes, p.net.activations, p.net.loss, reduction="mean",
                          half=p.net.half, bias=p.net.bias, l2=p.net.l2)
    n = p.x.shape[0]
    # Only the data term is averaged; the L2 penalty l2·Σ‖W‖² is not.
    penalty = p.net.l2 * sum(float((W * W).sum()) for W, _ in p.params)
    data = bp.loss(p.net, p.params, p.x, p.y) - penalty
    assert bp.loss(mean_net, p.params, p.x, p.y) == pytest.approx(data / n + penalty, rel=1e-12, abs=1e-300)
    g_sum = bp.gradients(p.net, p.params, p.x, p.y)
    g_mean = bp.gradients(mean_net, p.params, p.x, p.y)
    decay = 2 * p.net.l2
    scaled = [((dW - decay * W) / n + decay * W, None if db is None else db / n)
              for (dW, db), (W, _) in zip(g_sum, p.params)]
    assert_tree_close(g_mean, scaled, dtype=np.float64, kind="jax")


@settings(max_examples=examples(0.1))
@given(dst.problems(losses=("squared_error",), half=False, l2=None))
def test_half_is_exactly_half(p):
    half_net = bp.Network(p.net.sizes, p.net.activations, p.net.loss, reduction=p.net.reduction,
                          half=True, bias=p.net.bias, l2=p.net.l2)
    g = bp.gradients(p.net, p.params, p.x, p.y)
    g_half = bp.gradients(half_net, p.params, p.x, p.y)
    decay = 2 * p.net.l2  # the ½ halves the data term, not the L2 penalty's 2·l2·W
    assert_tree_close(g_half, [((dW - decay * W) / 2 + decay * W, None if db is None else db / 2)
                               for (dW, db), (W, _) in zip(g, p.params)],
                      dtype=np.float64, kind="jax")


@settings(max_examples=examples(0.25))
@given(dst.problems(l2=None))
def test_small_sgd_step_does_not_increase_loss(p):
    grads = bp.gradients(p.net, p.params, p.x, p.y)
    norm2 = sum(float((dW**2).sum()) + (0.0 if db is None else float((db**2).sum())) for dW, db in grads)
    if norm2 == 0.0:
        return  # a flat point (dead ReLUs, width-1 softmax): nothing to descend
    # First order: L(θ − ηg) ≈ L − η‖g‖², so a step of length ~1e-4 decreases L by
    # about 1e-4‖g‖; second-order terms are O(1e-8) for these bounded nets.
    lr = 1e-4 / np.sqrt(norm2)
    before = bp.loss(p.net, p.params, p.x, p.y)
    after = bp.loss(p.net, bp.sgd_step(p.params, grads, lr), p.x, p.y)
    # Allow rounding of L itself: a few ulps of the loss's magnitude.
    assert after <= before + 64 * np.finfo(np.float64).eps * max(1.0, abs(before))


@settings(max_examples=examples(0.1))
@given(dst.problems(labels=True, losses=("cross_entropy",)))
def test_class_labels_equal_one_hot_targets(p):
    onehot = np.eye(p.net.sizes[-1])[p.y]
    assert bp.loss(p.net, p.params, p.x, p.y) == bp.loss(p.net, p.params, p.x, onehot)
    assert_tree_close(bp.gradients(p.net, p.params, p.x, p.y), bp.gradients(p.net, p.params, p.x, onehot),
                      dtype=np.float64, kind="jax")


@settings(max_examples=examples(0.1))
@given(dst.problems())
def test_callers_arrays_are_not_modified(p):
    copies = ([(W.copy(), None if b is None else b.copy()) for W, b in p.params], p.x.copy(), np.array(p.y, copy=True))
    bp.gradients(p.net, p.params, p.x, p.y)
    bp.deltas(p.net, p.params, p.x, p.y)
    bp.sgd_step(p.params, bp.gradients(p.net, p.params, p.x, p.y), 0.1)
    bp.train(p.net, p.params, p.x, p.y, lr=1e-3, epochs=2, batch_size=1)
    for (W, b), (W0, b0) in zip(p.params, copies[0]):
        np.testing.assert_array_equal(W, W0)
        if b is not None:
            np.testing.assert_array_equal(b, b0)
    np.testing.assert_array_equal(p.x, copies[1])
    np.testing.assert_array_equal(p.y, copies[2])


def test_same_seed_gives_bit_identical_results():
    net = bp.Network((3, 4, 2), ("tanh", "identity"), "squared_error", reduction="mean", half=True)
    x = np.random.default_rng(5).normal(size=(6, 3))
    y = np.random.default_rng(6).normal(size=(6, 2))
    runs = []
    for _ in range(2):
        p = bp.init_params(net, seed=11)
        r = bp.train(net, p, x, y, lr=0.1, epochs=5, batch_size=2, seed=3)
        runs.append((p, bp.gradients(net, p, x, y), r.history, r.params))
    (p1, g1, h1, q1), (p2, g2, h2, q2) = runs
    assert h1 == h2
    for a, b in zip(p1 + g1 + q1, p2 + g2 + q2):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize("act, expected", [("relu", 0.0), (bp.LeakyReLU(0.2), 0.2)])
def test_subgradient_at_the_kink_is_the_left_branch(act, expected):
    # One unit whose pre-activation is exactly 0: z = x·w + b = 1·0.5 − 0.5.
    net = bp.Network((1, 1, 1), (act, "identity"), "squared_error", half=True)
    params = [(np.array([[0.5]]), np.array([-0.5])), (np.array([[1.0]]), np.array([0.0]))]
    x, y = np.array([[1.0]]), np.array([[1.0]])
    zs, _ = bp.forward(net, params, x)
    assert zs[0][0, 0] == 0.0
    d = bp.deltas(net, params, x, y)
    # δ_2 = a_2 − y = (f(0) − 1) = −1;  δ_1 = δ_2 · w_2 · f'(0)
    assert d[1][0, 0] == -1.0
    assert d[0][0, 0] == -1.0 * expected


@pytest.mark.parametrize("act, expected", [("relu", 0.0), (bp.LeakyReLU(0.2), 0.2)])
def test_reference_uses_the_same_kink_convention(act, expected):
    import reference as ref

    net = bp.Network((1, 1, 1), (act, "identity"), "squared_error", half=True)
    params = [(np.array([[0.5]]), np.array([-0.5])), (np.array([[1.0]]), np.array([0.0]))]
    d = ref.deltas(net, params, np.array([[1.0]]), np.array([[1.0]]))
    assert d[0][0, 0] == -1.0 * expected


@settings(max_examples=examples(0.05))
@given(dst.problems(), st.sampled_from([1, 2, 3]))
def test_minibatch_training_matches_manual_steps(p, batch_size):
    # train() with shuffle=False is exactly the loop of sgd_step over slices.
    r = bp.train(p.net, p.params, p.x, p.y, lr=1e-2, epochs=2, batch_size=batch_size, shuffle=False)
    params = p.params
    y = np.eye(p.net.sizes[-1])[p.y] if p.y.ndim == 1 else p.y
    for _ in range(2):
        for i in range(0, p.x.shape[0], batch_size):
            params = bp.sgd_step(params, bp.gradients(p.net, params, p.x[i:i + batch_size], y[i:i + batch_size]), 1e-2)
    for (W, b), (V, c) in zip(r.params, params):
        np.testing.assert_array_equal(W, V)
        if b is not None:
            np.testing.assert_array_equal(b, c)
    assert len(r.history) == 3 and r.epochs == 2


def test_train_stops_at_tolerance():
    net = bp.Network((1, 1), ("identity",), "squared_error", reduction="mean", half=True)
    x = np.linspace(-1, 1, 8)[:, None]
    y = 3 * x + 1
    r = bp.train(net, [(np.zeros((1, 1)), np.zeros(1))], x, y, lr=0.5, epochs=10_000, tol=1e-12)
    assert r.converged and r.history[-1] < 1e-12 and r.epochs < 10_000
    np.testing.assert_allclose(r.params[0][0], [[3.0]], rtol=1e-5)
    np.testing.assert_allclose(r.params[0][1], [1.0], rtol=1e-5)


def test_perceptron_separates_separable_data():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (60, 2))
    t = np.where(x @ np.array([1.0, -2.0]) + 0.3 > 0, 1, -1)
    r = bp.train_perceptron(x, t, lr=1.0, epochs=1000)
    assert r.converged
    assert (bp.perceptron_predict(r.w, x) == t).all()
    assert bp.perceptron_criterion(r.w, x, t) == 0.0


def test_perceptron_criterion_and_gradient_by_hand():
    # w = (b, w1, w2) = (0, 1, 0): φ = [1, x]; sample 1 correct, samples 2 and 3 misclassified.
    x = np.array([[2.0, 1.0], [1.0, 0.0], [-3.0, 1.0]])
    t = np.array([1, -1, 1])
    w = np.array([0.0, 1.0, 0.0])
    # Misclassified: n=2 (t·wᵀφ = −1·1 = −1), n=3 (1·(−3) = −3) → E_p = 1 + 3.
    assert bp.perceptron_criterion(w, x, t) == 4.0
    # ∇E_p = −Σ φ t = −([1, 1, 0]·(−1) + [1, −3, 1]·1) = −[0, −4, 1]
    np.testing.assert_array_equal(bp.perceptron_gradient(w, x, t), [0.0, 4.0, -1.0])
    np.testing.assert_array_equal(bp.perceptron_predict(w, x), [1, 1, -1])
