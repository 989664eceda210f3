"""The mutation gate's own checks: manual_bp against NumPy-only oracles.

``scripts/mutation_gate.py`` runs mutmut over ``manual_bp`` with this file,
``test_manual_properties.py`` and ``test_bad_input.py`` as the test
selection.  None of them runs JAX (the gate sets ``JAX_PLATFORMS`` to a
non-existent platform, so any JAX computation fails loudly): mutmut forks one
process per mutant, and XLA's thread pools do not survive ``fork``; JAX's
compile warm-up would also cost seconds per mutant.  The oracles here are
exact and need no compilation:

* gradients: the complex step, ``Im L(θ + ih e_j)/h``, per parameter;
* deltas: the complex step on a perturbation ``e_l`` added to each ``z_l``
  (``δ_l = ∂L/∂e_l`` at ``e = 0``), all entries at once;
* loss and output: the reference definition (``reference.model.loss_xp``
  and ``activate``) evaluated by NumPy.

The JAX cross-checks stay in the normal suite (``test_crosscheck.py``); these
tests also run there, with fewer examples.  Under the gate
(``DELTACHECK_MUTATION_GATE=1``) they take the ``gate`` profile's example count
(100), derandomised and without shrinking: one failing example kills a mutant.
"""
from __future__ import annotations

import os
import re

import numpy as np
import pytest
from conftest import examples
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

import manual_bp as bp
from manual_bp import network
from reference import assert_allclose_tree, assert_within_bound, tolerance
from reference import strategies as dst
from reference._spec import check_all, check_params, check_x, spec_of
from reference.model import loss_xp
from reference.numerical import COMPLEX_STEP, complex_step_gradients
from reference.tolerances import derivative_bounds, forward_mode_floor

GATE = os.environ.get("DELTACHECK_MUTATION_GATE") == "1"
if GATE:
    SETTINGS = settings(max_examples=settings.default.max_examples, derandomize=True, database=None,
                        phases=[Phase.explicit, Phase.generate])
else:
    SETTINGS = settings(max_examples=examples(0.02, minimum=20))

_COMPLEX = {np.dtype(np.float64): np.complex128, np.dtype(np.float32): np.complex64}


def complex_step_deltas(net, params, x, y) -> list:
    """``δ_l = ∂L/∂z_l`` for every layer by the complex step on ``z_l + e_l``."""
    spec, params, x, y, dtype = check_all(net, params, x, y)
    h, n = COMPLEX_STEP[dtype], x.shape[0]
    out = []
    for l, width in enumerate(spec.sizes[1:]):
        # One perturbed copy of the forward pass per entry (n, j) of z_l.
        e = [np.zeros((), dtype)] * spec.n_layers
        E = np.zeros((n * width, n, width), _COMPLEX[dtype])
        E[np.arange(n * width), np.repeat(np.arange(n), width), np.tile(np.arange(width), n)] = 1j * h
        e[l] = E
        out.append((loss_xp(np, spec, params, x, y, e).imag / h).reshape(n, width).astype(dtype))
    return out


def complex_step_input_gradient(net, params, x, y) -> np.ndarray:
    """``∂L/∂x`` by the complex step on the reference loss, all entries of ``x`` at once (leading axis)."""
    spec, params, x, y, dtype = check_all(net, params, x, y)
    h, (n, m) = COMPLEX_STEP[dtype], x.shape
    X = np.repeat(x[None].astype(_COMPLEX[dtype]), n * m, axis=0)
    X[np.arange(n * m), np.repeat(np.arange(n), m), np.tile(np.arange(m), n)] += 1j * h
    # One forward pass per perturbed x: params broadcast over the leading axis.
    L = np.array([loss_xp(np, spec, params, Xk, y) for Xk in X])
    return (L.imag / h).reshape(n, m).astype(dtype)


def reference_output(net, params, x) -> np.ndarray:
    """``a_L`` from the reference definition, in NumPy."""
    spec = spec_of(net)
    params, dtype = check_params(spec, params)
    a = check_x(spec, x, dtype)
    for (W, b), act in zip(params, spec.activations):
        a = act.formula(np, a @ W if b is None else a @ W + b)
    return a


def reference_loss(net, params, x, y) -> float:
    spec, params, x, y, _ = check_all(net, params, x, y)
    return float(loss_xp(np, spec, params, x, y))


def check_numpy_oracles(p) -> None:
    """AssertionError unless manual_bp's loss, output, gradients and deltas on ``p``
    match the NumPy-only oracles."""
    dtype = p.x.dtype

    def close(actual, expected, kind, what):
        assert_allclose_tree(actual, expected, dtype=dtype, kind=kind, context=f"{what}, {p!r}")

    L, grads = bp.loss_and_gradients(p.net, p.params, p.x, p.y)
    assert all(dW.dtype == dtype and (db is None or db.dtype == dtype) for dW, db in grads)
    close([L, bp.loss(p.net, p.params, p.x, p.y)], [reference_loss(p.net, p.params, p.x, p.y)] * 2, "loss", "loss")
    close([bp.predict(p.net, p.params, p.x)], [reference_output(p.net, p.params, p.x)], "jax", "output")
    cs = complex_step_gradients(p.net, p.params, p.x, p.y)
    # The complex step is exact to rounding, like manual_bp: entry by entry
    # within the rounding-error bound (NumPy only), not the table's per-leaf
    # scale, so a mistake in a small leaf or a small entry kills the mutant too.
    bounds = derivative_bounds(p.net, p.params, p.x, p.y)
    cs_deltas = complex_step_deltas(p.net, p.params, p.x, p.y)
    for what, actual in (("loss_and_gradients", grads), ("gradients", bp.gradients(p.net, p.params, p.x, p.y))):
        if bounds is None:  # a registered loss the bound has no rule for: the table's row
            close(actual, cs, "complex_step", f"{what} vs complex step")
        else:
            assert_within_bound(actual, cs, forward_mode_floor(bounds[0], cs, dtype),
                                context=f"{what} vs complex step, {p!r}")
    close([bp.input_gradient(p.net, p.params, p.x, p.y)], [complex_step_input_gradient(p.net, p.params, p.x, p.y)],
          "complex_step", "input gradient vs complex step")
    if bounds is None:
        close(bp.deltas(p.net, p.params, p.x, p.y), cs_deltas, "complex_step", "deltas vs complex step")
    else:
        assert_within_bound(bp.deltas(p.net, p.params, p.x, p.y), cs_deltas,
                            forward_mode_floor(bounds[1], cs_deltas, dtype), context=f"deltas vs complex step, {p!r}")


@SETTINGS
@given(dst.problems(l2=None))
def test_manual_matches_numpy_oracles_float64(p):
    check_numpy_oracles(p)


@SETTINGS
@given(dst.problems(dtype=np.float32, l2=None))
def test_manual_matches_numpy_oracles_float32(p):
    check_numpy_oracles(p)


#: Leaky slopes beyond the strategies' (0.01, 0.1, 0.3): zero, negative (where
#: the sign of a no longer tells the side of the kink) and above 1.
ODD_SLOPES = (0.0, -0.5, 1.5)


@st.composite
def problems_with_odd_slopes(draw):
    p = draw(dst.problems(min_depth=2, hidden_activations=("leaky_relu", "tanh")))
    acts = tuple(bp.LeakyReLU(draw(st.sampled_from(ODD_SLOPES))) if a.name == "leaky_relu" else a
                 for a in p.net.activations)
    net = bp.Network(p.net.sizes, acts, p.net.loss, reduction=p.net.reduction, half=p.net.half, bias=p.net.bias)
    return p._replace(net=net)


@SETTINGS
@given(problems_with_odd_slopes())
def test_manual_matches_numpy_oracles_for_any_leaky_slope(p):
    check_numpy_oracles(p)


# --- each activation and loss on its own ----------------------------------------

ELEMENTWISE = ([bp.Identity(), bp.Sigmoid(), bp.Tanh(), bp.ReLU()] + [bp.LeakyReLU(s) for s in (0.01,) + ODD_SLOPES]
               + [bp.Softplus(), bp.Swish(), bp.GELU()] + [bp.ELU(a) for a in (1.0, 0.5, 2.0, -0.5)])


def _z(rng, dtype, shape=(5, 4)):
    z = rng.normal(scale=3.0, size=shape)
    z[0, 0], z[-1, -1] = 0.0, -0.0  # the kink itself
    return z.astype(dtype)


def _complex_step(f, z, h=1e-20):
    """``Im f(z + ih)/h`` elementwise: f'(z) for an elementwise analytic f."""
    return (f(z.astype(np.complex128) + 1j * h).imag / h)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("act", ELEMENTWISE, ids=lambda act: re.sub(r"\W+", "_", str(act)).strip("_"))
def test_activation_derivative_and_vjp(act, dtype):
    rng = np.random.default_rng(0)
    z = _z(rng, dtype)
    a = act.value(z.copy())
    # The fast in-place value against the formula (the one definition every oracle reads).
    want_a = act.formula(np, z.astype(np.float64))
    u = np.finfo(dtype).eps / 2
    z64 = z.astype(np.float64)
    fp = _complex_step(lambda v: act.formula(np, v), z64)
    fpp = (_complex_step(lambda v: act.formula(np, v), z64 * (1 + 1e-6) + 1e-6)
           - _complex_step(lambda v: act.formula(np, v), z64 * (1 - 1e-6) - 1e-6)) / (2e-6 * (np.abs(z64) + 1))
    # Nothing test-local beyond the dtype's unit roundoff: a few ulps of the
    # value and of the input's own rounding (|z f'|·u, what exp-based
    # formulas of a large argument lose); for f', the same of f' and, as f'
    # may be formed from a rounded a (a(1 - a), 1 - a²), |a f''/f'|·u.
    assert (np.abs(a - want_a) <= 8 * u * (np.abs(want_a) + np.abs(z64 * fp))).all(), np.abs(a - want_a).max()
    d = act.derivative(z, a)
    assert d.dtype == dtype and d.shape == z.shape
    from_a = np.abs(want_a * fpp) / np.where(fp != 0, np.abs(fp), np.inf)
    tol_d = 8 * u * (np.abs(fp) + np.abs(z64 * fpp) + from_a + np.abs(z64) * (1 + np.abs(z64)) * np.abs(fp))
    assert (np.abs(d - fp) <= tol_d).all(), np.abs(d - fp).max()
    g = rng.normal(size=z.shape).astype(dtype)
    g0, z0, a0 = g.copy(), z.copy(), a.copy()
    v = act.vjp(g, z, a)
    assert v.dtype == dtype
    np.testing.assert_allclose(v, g * d, rtol=1e-6, atol=0)
    for arr, before in ((g, g0), (z, z0), (a, a0)):
        np.testing.assert_array_equal(arr, before)  # out=None: inputs untouched
    np.testing.assert_allclose(act.vjp(g.copy(), z, a, out=None), v, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_value_and_vjp(dtype):
    rng = np.random.default_rng(1)
    z, g = _z(rng, dtype), rng.normal(size=(5, 4)).astype(dtype)
    sm = bp.Softmax()
    a = sm.value(z.copy())
    u = np.finfo(dtype).eps / 2
    np.testing.assert_allclose(a, bp.Softmax().formula(np, z.astype(np.float64)), rtol=16 * u, atol=0)
    np.testing.assert_allclose(sm.log_value(z), np.log(a), rtol=16 * u, atol=16 * u)
    # (g J)_j = ∂⟨g, softmax(z)⟩/∂z_j, by the complex step one j at a time.
    want = np.empty((5, 4))
    for j in range(4):
        e = np.zeros((5, 4), complex)
        e[:, j] = 1e-20j
        want[:, j] = (g * bp.Softmax().formula(np, z.astype(np.float64) + e)).sum(axis=1).imag / 1e-20
    g0 = g.copy()
    v = sm.vjp(g, z, a)
    assert v.dtype == dtype
    # v_j = a_j(g_j − ⟨g, a⟩): a 4-term sum and two products, in units of its terms.
    scale = a * (np.abs(g) + (np.abs(g) * a).sum(axis=1, keepdims=True))
    assert (np.abs(v - want) <= 16 * u * scale).all(), np.abs(v - want).max()
    np.testing.assert_array_equal(g, g0)
    with pytest.raises(TypeError, match=r"^softmax has a dense Jacobian, not an elementwise derivative"):
        sm.derivative(z, a)
    # Shifting by each row's own max is what keeps far-apart rows finite.
    far = np.array([[1e3, -1e3, 0.0], [-1e3, -999.0, -2e3]], dtype)
    np.testing.assert_allclose(sm.value(far.copy()), [[1, 0, 0], [1 / (1 + np.e), np.e / (1 + np.e), 0]], rtol=1e-6)
    np.testing.assert_allclose(sm.log_value(far), [[0, -2e3, -1e3], [-1 - np.log1p(np.exp(-1)), -np.log1p(np.exp(-1)),
                                                                     -1001 - np.log1p(np.exp(-1))]], rtol=1e-6)
    assert not sm.elementwise and all(act.elementwise for act in ELEMENTWISE)


def _per_sample(loss, a, y):
    """The documents' literal formulas of ℓ(a, y), analytic in a (for the complex step)."""
    if loss == "squared_error":
        return ((a - y) ** 2).sum(axis=1)
    if loss == "cross_entropy":
        return -(y * np.log(a)).sum(axis=1)
    return -(y * np.log(a) + (1 - y) * np.log(1 - a)).sum(axis=1)


@pytest.mark.parametrize("loss", ["squared_error", "cross_entropy", "binary_cross_entropy"])
def test_loss_grad_a_and_value(loss):
    rng = np.random.default_rng(2)
    fn = bp.get_loss(loss)
    z = rng.normal(size=(6, 3))
    a = bp.Softmax().value(z.copy()) if loss == "cross_entropy" else bp.Sigmoid().value(z.copy())
    y = rng.dirichlet(np.ones(3), 6) if loss == "cross_entropy" else rng.uniform(size=(6, 3))
    np.testing.assert_allclose(fn.value(z, a, y), _per_sample(loss, a, y), rtol=1e-12)
    np.testing.assert_allclose(fn.formula(np, z, a, y), _per_sample(loss, a, y), rtol=1e-12)
    # The formula is per sample over any leading axes: (2, 6, 3) stacked sets give (2, 6).
    stacked = fn.formula(np, np.stack([z, z[::-1]]), np.stack([a, a[::-1]]), np.stack([y, y[::-1]]))
    np.testing.assert_allclose(stacked, [_per_sample(loss, a, y), _per_sample(loss, a[::-1], y[::-1])], rtol=1e-12)
    want = np.empty_like(a)
    for k in range(3):
        e = np.zeros(a.shape, complex)
        e[:, k] = 1e-20j
        want[:, k] = _per_sample(loss, a + e, y).imag / 1e-20
    np.testing.assert_allclose(fn.grad_a(a, y), want, rtol=1e-12)
    # The fused δ = a − y of the pairing equals the chain rule through the activation.
    act = bp.get_activation(fn.fused_with or "sigmoid")
    np.testing.assert_allclose(fn.output_delta(z, a, y, act), act.vjp(fn.grad_a(a, y), z, a), rtol=1e-10, atol=1e-12)
    assert (fn.output_activations is None) == (loss == "squared_error")


@SETTINGS
@given(dst.problems(min_batch=2, max_depth=2), st.floats(1e-3, 10.0))
def test_sgd_step_is_theta_minus_lr_times_gradient(p, lr):
    grads = bp.gradients(p.net, p.params, p.x, p.y)
    new = bp.sgd_step(p.params, grads, lr)
    eps = np.finfo(p.x.dtype).eps
    for (W, b), (dW, db), (V, c) in zip(p.params, grads, new, strict=True):
        np.testing.assert_allclose(V, W - lr * dW, rtol=4 * eps, atol=0)
        assert (b is None) == (c is None)
        if b is not None:
            np.testing.assert_allclose(c, b - lr * db, rtol=4 * eps, atol=0)


@SETTINGS
@given(dst.problems(max_depth=2), st.sampled_from([None, 1, 3]), st.integers(0, 3))
def test_train_history_is_the_loss_after_each_epoch(p, batch_size, epochs):
    r = bp.train(p.net, p.params, p.x, p.y, lr=1e-2, epochs=epochs, batch_size=batch_size, shuffle=False)
    assert r.epochs == epochs == len(r.history) - 1 and not r.converged
    assert r.history[0] == pytest.approx(bp.loss(p.net, p.params, p.x, p.y), rel=1e-12, abs=1e-300)
    assert r.history[-1] == pytest.approx(bp.loss(p.net, r.params, p.x, p.y), rel=1e-12, abs=1e-300)
    if epochs == 0:
        for (W, b), (V, c) in zip(p.params, r.params):
            np.testing.assert_array_equal(W, V)
            assert V is not W  # a copy, not the caller's array


# --- the perceptron (document 003) --------------------------------------------

@st.composite
def perceptron_problems(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n, d, bias = draw(st.integers(1, 8)), draw(st.integers(1, 4)), draw(st.booleans())
    x = rng.normal(size=(n, d))
    return x, rng.choice([-1, 1], n), rng.normal(size=d + bias), bias


@SETTINGS
@given(perceptron_problems())
def test_perceptron_gradient_is_the_criterions_slope(case):
    # E_p is linear in w while the misclassified set M stays the same, so a
    # central difference with a small step is exact up to rounding.
    x, t, w, bias = case
    phi = bp.perceptron_features(x, bias=bias)
    margins = t * (phi @ w)
    h = 1e-6 * min(1.0, np.abs(margins).min()) / max(1.0, np.abs(phi).max())
    grad = bp.perceptron_gradient(w, x, t, bias=bias)
    for j in range(w.size):
        e = np.zeros_like(w)
        e[j] = h
        fd = (bp.perceptron_criterion(w + e, x, t, bias=bias) - bp.perceptron_criterion(w - e, x, t, bias=bias)) / (2 * h)
        assert fd == pytest.approx(grad[j], rel=1e-4, abs=1e-4 * (1 + np.abs(phi).sum()))
    assert bp.perceptron_criterion(w, x, t, bias=bias) == pytest.approx(-np.minimum(margins, 0).sum())
    np.testing.assert_array_equal(bp.perceptron_predict(w, x, bias=bias), np.where(phi @ w >= 0, 1.0, -1.0))


@SETTINGS
@given(perceptron_problems(), st.floats(0.1, 2.0), st.integers(0, 3))
def test_perceptron_training_is_the_update_rule(case, lr, epochs):
    x, t, w0, bias = case
    r = bp.train_perceptron(x, t, lr=lr, epochs=epochs, w0=w0, bias=bias, shuffle=False)
    phi = bp.perceptron_features(x, bias=bias)
    w, errors = w0.copy(), [int((t * (phi @ w0) <= 0).sum())]
    while errors[-1] and len(errors) <= epochs:
        for n in range(len(t)):
            if t[n] * (phi[n] @ w) <= 0:
                w = w + lr * phi[n] * t[n]
        errors.append(int((t * (phi @ w) <= 0).sum()))
    np.testing.assert_array_equal(r.w, w)
    assert r.errors == errors and r.epochs == len(errors) - 1 and r.converged == (errors[-1] == 0)


def test_step_and_boundary_convention():
    np.testing.assert_array_equal(bp.step(np.array([-2.0, -0.0, 0.0, 3.0])), [-1.0, 1.0, 1.0, 1.0])
    # A point on the boundary counts as misclassified: w = 0 must move.
    x, t = np.array([[1.0, 2.0]]), np.array([1])
    assert bp.perceptron_criterion(np.zeros(3), x, t) == 0.0
    np.testing.assert_array_equal(bp.perceptron_gradient(np.zeros(3), x, t), [-1.0, -1.0, -2.0])
    assert bp.train_perceptron(x, t, epochs=1).converged


# --- what no oracle sees: defaults, the training loop's bookkeeping, init ---------

def _small_regression(seed=0, n=6):
    net = bp.Network((2, 3, 1), ("tanh", "identity"), "squared_error", reduction="mean")
    rng = np.random.default_rng(seed)
    return net, bp.init_params(net, 1), rng.normal(size=(n, 2)), rng.normal(size=(n, 1))


def _same_params(p, q):
    for (W, b), (V, c) in zip(p, q, strict=True):
        np.testing.assert_array_equal(W, V)
        assert W.dtype == V.dtype and (b is None) == (c is None)
        if b is not None:
            np.testing.assert_array_equal(b, c)


def _same_run(r, s):
    assert r.history == s.history and r.epochs == s.epochs and r.converged == s.converged
    _same_params(r.params, s.params)


def test_train_defaults_are_the_documented_ones():
    net, params, x, y = _small_regression()
    r = bp.train(net, params, x, y, lr=0.05, batch_size=2)
    _same_run(r, bp.train(net, params, x, y, lr=0.05, epochs=100, batch_size=2, tol=None, seed=0, shuffle=True))
    assert r.epochs == 100 and len(r.history) == 101


def test_train_shuffles_with_its_seed_and_full_batches_do_not():
    net, params, x, y = _small_regression()
    run = lambda **kw: bp.train(net, params, x, y, lr=0.05, epochs=3, **kw)  # noqa: E731
    assert run(batch_size=2, seed=0).history != run(batch_size=2, shuffle=False).history
    assert run(batch_size=2, seed=0).history != run(batch_size=2, seed=1).history
    _same_run(run(batch_size=2, seed=np.random.default_rng(5)), run(batch_size=2, seed=5))
    # A batch as large as the data is plain full-batch descent: no permutation.
    _same_run(run(batch_size=6, seed=3), run(batch_size=None))
    _same_run(run(batch_size=60, seed=3), run(batch_size=None))


def test_train_stops_exactly_when_the_loss_is_below_tol():
    net, params, x, y = _small_regression()
    free = bp.train(net, params, x, y, lr=0.05, epochs=4)
    assert free.history[0] > free.history[1] > free.history[2] > free.history[3]
    # Strictly below: a loss equal to tol goes on.
    at0 = bp.train(net, params, x, y, lr=0.05, epochs=0, tol=free.history[0])
    assert not at0.converged and at0.epochs == 0
    above0 = bp.train(net, params, x, y, lr=0.05, epochs=4, tol=free.history[0] * 1.01)
    assert above0.converged and above0.epochs == 0 and above0.history == free.history[:1]
    at1 = bp.train(net, params, x, y, lr=0.05, epochs=4, tol=free.history[1])
    assert at1.converged and at1.epochs == 2 and at1.history == free.history[:3]


def test_train_reports_the_epoch_where_the_loss_stops_being_finite():
    net = bp.Network((2, 3, 1), ("identity", "identity"), "squared_error")
    params, x, y = bp.init_params(net, 0), np.random.default_rng(0).normal(size=(8, 2)), np.full((8, 1), 100.0)
    # Where it diverges, by hand: full-batch steps until the loss is not finite.
    with np.errstate(all="ignore"):
        p, epoch = params, 0
        while np.isfinite(bp.loss(net, p, x, y)) if epoch else True:
            p, epoch = bp.sgd_step(p, bp.gradients(net, p, x, y), 10.0), epoch + 1
        assert 2 < epoch < 200
        assert len(bp.train(net, params, x, y, lr=10.0, epochs=epoch - 1).history) == epoch
        with pytest.raises(FloatingPointError, match=rf"^loss became (nan|inf) at epoch {epoch}; lower lr \(now 10.0\)"):
            bp.train(net, params, x, y, lr=10.0, epochs=epoch + 5)


def test_perceptron_defaults_are_the_documented_ones():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 2))
    t = np.where(rng.uniform(size=12) > 0.5, 1, -1)  # not separable: runs all epochs
    w0 = rng.normal(size=3)
    r = bp.train_perceptron(x, t, w0=w0)
    s = bp.train_perceptron(x, t, lr=1.0, epochs=1000, w0=w0, bias=True, seed=0, shuffle=True)
    np.testing.assert_array_equal(r.w, s.w)
    assert r.errors == s.errors and r.epochs == 1000 and len(r.errors) == 1001 and not r.converged
    assert not np.array_equal(bp.train_perceptron(x, t, w0=w0, epochs=3, shuffle=False).w,
                              bp.train_perceptron(x, t, w0=w0, epochs=3).w)
    assert bp.perceptron_features(x).shape == (12, 3) and bp.perceptron_features(x, bias=False).shape == (12, 2)
    np.testing.assert_array_equal(bp.perceptron_features(x)[:, 0], 1.0)


def test_init_params_schemes_and_defaults():
    net = bp.Network((5, 3, 2), ("tanh", "identity"), "squared_error", bias=(True, False))
    xav = bp.init_params(net)
    _same_params(xav, bp.init_params(net, 0, scheme="xavier", dtype=np.float64))
    assert xav[1][1] is None and xav[0][0].dtype == np.float64
    for (W, b), (n_in, n_out) in zip(xav, [(5, 3), (3, 2)]):
        limit = np.sqrt(6 / (n_in + n_out))
        assert W.shape == (n_in, n_out) and np.abs(W).max() <= limit and np.abs(W).max() > limit / 2
    np.testing.assert_array_equal(xav[0][1], 0.0)
    doc = bp.init_params(net, np.random.default_rng(0), scheme="doc001", dtype=np.float32)
    std = np.random.default_rng(0).standard_normal((5, 3))
    np.testing.assert_allclose(doc[0][0], (0.1 * std).astype(np.float32))
    np.testing.assert_array_equal(doc[0][1], np.float32(0.05))
    assert doc[0][0].dtype == doc[0][1].dtype == np.float32
    doc = bp.init_params(net, 0, scheme="doc001", weight_scale=2.0, bias_value=-1.0)
    np.testing.assert_allclose(doc[0][0], 2.0 * np.random.default_rng(0).standard_normal((5, 3)))
    np.testing.assert_array_equal(doc[0][1], -1.0)


def test_names_aliases_and_descriptions():
    assert isinstance(bp.get_activation("linear"), bp.Identity)
    assert isinstance(bp.get_activation("Logistic"), bp.Sigmoid)
    assert isinstance(bp.get_activation("TANH"), bp.Tanh)
    assert isinstance(bp.get_loss("mse"), bp.SquaredError) and isinstance(bp.get_loss("CE"), bp.CrossEntropy)
    assert isinstance(bp.get_loss("bce"), bp.BinaryCrossEntropy)
    slope = bp.LeakyReLU(np.float32(0.25)).slope
    assert type(slope) is float and slope == 0.25
    assert str(bp.LeakyReLU(0.2)) == "leaky_relu(0.2)" and str(bp.Sigmoid()) == "sigmoid"
    net = bp.Network((4, 3, 3), ("sigmoid", "softmax"), "cross_entropy")
    assert net.describe() == "4-3-3 sigmoid,softmax cross_entropy sum"
    net = bp.Network((2, 3, 1), (bp.LeakyReLU(0.2), "linear"), "mse", reduction="mean", half=True, bias=(True, False))
    assert net.describe() == "2-3-1 leaky_relu(0.2),identity squared_error mean half bias=10"
    assert net.shapes() == [((2, 3), (3,)), ((3, 1), None)] and net.n_layers == 2
    assert net.batch_scale(4) == 0.125 and bp.Network((1, 1), "tanh", "mse").batch_scale(4) == 1.0
    # The spec is normalised: tuples of plain Python values.
    net = bp.Network(np.array([3, 2]), ["tanh"], "mse", half=np.True_, bias=[np.True_])
    assert net.sizes == (3, 2) and type(net.sizes) is tuple and type(net.sizes[0]) is int
    assert type(net.half) is bool and net.bias == (True,) and type(net.bias[0]) is bool
    assert net.activations == (bp.Tanh(),) and net.loss == "squared_error"


# --- what mutmut cannot mutate: decorated functions ---------------------------

# No shrinking (as in tests/test_catches_bugs.py): a mutant is caught when one problem exposes it, and the
# derandomised search meets the same first problem with or without shrinking; shrinking and explaining it
# were ~90% of these tests' time.
_FIND = settings(max_examples=300, database=None, derandomize=True, deadline=None,
                 suppress_health_check=list(HealthCheck), phases=[Phase.generate])


def _fails(p) -> bool:
    try:
        check_numpy_oracles(p)
    except AssertionError:
        return True
    return False


#: mutmut skips decorated functions, so the properties ``Network.scale``,
#: ``Network.n_layers`` and ``LeakyReLU.needs_z`` get these hand-written
#: mutants, each what mutmut would make of the line.  (``needs_z`` → True, and
#: ``slope <= 0``, are equivalent: keeping z when a would do costs memory only.)
PROPERTY_MUTANTS = [
    (network.Network, "scale", lambda self: 1.0 if self.half else 1.0),
    (network.Network, "scale", lambda self: 0.5 if self.half else 0.5),
    (network.Network, "scale", lambda self: 1.5 if self.half else 1.0),
    (network.Network, "scale", lambda self: 0.5 if self.half else 2.0),
    (network.Network, "scale", lambda self: 0.5 if not self.half else 1.0),
    (network.Network, "n_layers", lambda self: len(self.sizes) + 1),
    (network.Network, "n_layers", lambda self: len(self.sizes) - 2),
    (bp.LeakyReLU, "needs_z", lambda self: self.slope > 0),
    (bp.LeakyReLU, "needs_z", lambda self: False),
]


@pytest.mark.parametrize("cls, attr, mutant", PROPERTY_MUTANTS,
                         ids=[f"{attr}-{i}" for i, (_, attr, _) in enumerate(PROPERTY_MUTANTS)])
def test_property_mutants_are_caught(monkeypatch, cls, attr, mutant):
    monkeypatch.setattr(cls, attr, property(mutant))

    def caught(p):
        try:
            return _fails(p)
        except Exception as exc:  # noqa: BLE001 -- see _crashed_in_manual_bp
            return _crashed_in_manual_bp(exc)

    problems = problems_with_odd_slopes() if attr == "needs_z" else dst.problems(max_depth=3, max_batch=4)
    assert find(problems, caught, settings=_FIND) is not None


def _crashed_in_manual_bp(exc: BaseException) -> bool:
    """A crash kills a mutant only when it is raised inside manual_bp (where the
    mutant lives), as the suite's own tests would then error; a crash in the
    test, Hypothesis or the oracles is a broken check, not a caught mutant."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and os.path.dirname(os.path.abspath(bp.__file__)) == os.path.dirname(
        os.path.abspath(frames[-1].filename))


def test_a_crash_outside_manual_bp_is_not_a_caught_mutant():
    try:
        {}["missing"]
    except KeyError as exc:
        assert not _crashed_in_manual_bp(exc)
    try:
        bp.Network([2, 0], ["identity"], "squared_error")
    except (ValueError, TypeError) as exc:
        assert _crashed_in_manual_bp(exc)
    else:
        raise AssertionError("a Network with a width-0 layer was accepted")


def test_gate_oracles_pass_on_the_unmutated_code():
    from hypothesis.errors import NoSuchExample

    with pytest.raises(NoSuchExample):
        find(dst.problems(), _fails, settings=settings(_FIND, max_examples=50))
    assert tolerance(np.float64, "complex_step").rtol <= 1e-10


def test_an_activation_without_a_derivative_says_so():
    class NoDerivative(bp.Activation):
        name = "no_derivative"

        def formula(self, xp, z):
            return z

    z = np.zeros((2, 3))
    with pytest.raises(NotImplementedError, match=r"^NoDerivative defines no derivative\(z, a\) or vjp\(g, z, a\)$"):
        NoDerivative().derivative(z, z)
    with pytest.raises(NotImplementedError, match=r"^NoDerivative defines no derivative\(z, a\)"):
        NoDerivative().vjp(z, z, z)
    with pytest.raises(NotImplementedError, match=r"^Activation defines no formula\(xp, z\)$"):
        bp.Activation().formula(np, z)
    with pytest.raises(NotImplementedError, match=r"^Loss defines no formula\(xp, z, a, y\)$"):
        bp.Loss().formula(np, z, z, z)
