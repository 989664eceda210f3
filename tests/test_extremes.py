"""Extremes: no NaN, no infinity and no warning from manual_bp or from any
reference oracle (JAX, complex step, central and directional differences)
for pre-activations and logits up to magnitude 1e3, tiny and large weights,
batch size 1 and width-1 layers, in float64 and float32; and determinism.

The float32 range is the same 1e3 as float64, not the ~88 where ``exp``
overflows in float32: every ``exp`` in manual_bp and in the reference sees
a non-positive argument (sigmoid via ``e^{-|z|}``, softmax and cross-entropy
shifted by the row max, binary cross-entropy via ``softplus`` of ``-|z|``),
so 1e3 is as safe in float32 as in float64, and the tests below prove it.
Squares stay far from float32's 3.4e38 (a squared error of 1e3 logits is
~1e6 per unit).  A loss may legitimately be huge; it must be finite.

Agreement between the methods at these magnitudes is checked exactly on
hand-computed cases (:data:`EXACT`); on random extreme nets only finiteness
is asserted, because the tolerance table is calibrated for moderate scales
(rounding there is relative to terms of size ~1e3, not to the leaf).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st

import manual_bp as bp
import reference as ref
from reference import strategies as dst

MAX_Z = 1e3  # largest pre-activation / logit magnitude guaranteed, both dtypes
DTYPES = (np.float64, np.float32)


def _leaves(tree):
    if isinstance(tree, (list, tuple)):
        return [a for sub in tree for a in _leaves(sub)]
    return [] if tree is None else [np.asarray(tree)]


def _assert_finite(tree, what):
    for a in _leaves(tree):
        assert np.isfinite(a.astype(np.float64)).all(), what


def _numpy_methods(p):
    """Loss, gradients and deltas by manual_bp and the NumPy oracles (complex step,
    central and directional differences), with every warning an error;
    KinkCrossingError (a refusal, not a result) allowed."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out["manual"] = bp.loss_and_gradients(p.net, p.params, p.x, p.y), bp.deltas(p.net, p.params, p.x, p.y)
        out["manual predict"] = bp.predict(p.net, p.params, p.x)
        out["manual step"] = bp.sgd_step(p.params, out["manual"][0][1], 1e-9)
        out["complex step"] = ref.complex_step_gradients(p.net, p.params, p.x, p.y)
        for name, fn in [("central", ref.central_difference_gradients),
                         ("directional", lambda *a: ref.directional_derivatives(*a, n_directions=2)[0])]:
            try:
                out[name] = fn(p.net, p.params, p.x, p.y)
            except ref.KinkCrossingError:
                pass
    for name, result in out.items():
        _assert_finite(result, f"{name} on {p!r}")
    return out


def _jax_methods(p, plain=False):
    """The same by JAX: the fast path, and with ``plain`` the definition too."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = {"jax (fast)": tuple(ref.fast_derivatives(p.net, p.params, p.x, p.y))}
        if plain:
            out["jax"] = (ref.loss(p.net, p.params, p.x, p.y), ref.gradients(p.net, p.params, p.x, p.y),
                          ref.deltas(p.net, p.params, p.x, p.y))
    for name, result in out.items():
        _assert_finite(result, f"{name} on {p!r}")
    return out


def _rescaled(net, params, x, mags, w_cap):
    """Params scaled layer by layer so that max|z_l| over the batch is ``mags[l]``
    (unless that would take some |W| above ``w_cap``)."""
    out, a = [], x
    for (W, b), act, m in zip(params, net.activations, mags):
        z = a @ W if b is None else a @ W + b
        zmax, cap = float(np.abs(z).max()), w_cap / max(float(np.abs(W).max()), 1e-30)
        # min(m / zmax, cap) without dividing by a subnormal zmax (an overflow warning, which the suite
        # makes an error, where the cap wins anyway); Python floats overflow to inf quietly.
        s = min(1.0, cap) if zmax == 0 else (m / zmax if m <= cap * zmax else cap)
        W, b = (W * s).astype(W.dtype), None if b is None else (b * s).astype(b.dtype)
        out.append((W, b))
        a = act.value(a @ W if b is None else a @ W + b)
    return out


@st.composite
def extreme_problems(draw, dtype):
    """Problems (any shape, batch 1, or all widths 1) whose pre-activations reach
    up to MAX_Z in every layer; weights up to 1e6 when the inputs are small."""
    shape = draw(st.sampled_from([{}, dict(min_batch=1, max_batch=1), dict(min_width=1, max_width=1)]))
    p = draw(dst.problems(dtype=dtype, max_abs=1.0, **shape))
    x = (p.x * draw(st.sampled_from([1.0, 1e-3]))).astype(dtype)
    mags = [draw(st.one_of(st.just(MAX_Z), st.floats(1.0, MAX_Z))) for _ in p.params]
    return p._replace(params=_rescaled(p.net, p.params, x, mags, w_cap=1e6), x=x)


@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=examples(0.08))
@given(data=st.data())
def test_pre_activations_up_to_1e3_manual_bp_and_numerical(dtype, data):
    p = data.draw(extreme_problems(dtype))
    zs, _ = bp.forward(p.net, p.params, p.x)
    assert max(np.abs(z).max() for z in zs) <= MAX_Z * 1.01
    _numpy_methods(p)


@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=examples(0.04))
@given(data=st.data())
def test_pre_activations_up_to_1e3_jax(dtype, data):
    _jax_methods(data.draw(extreme_problems(dtype)))


@pytest.mark.parametrize("dtype, scale", [(np.float64, 1e-300), (np.float64, 1e-30), (np.float32, 1e-30),
                                          (np.float32, 1e-8)])
@settings(max_examples=examples(0.02))
@given(data=st.data())
def test_tiny_weights_give_finite_results_and_no_warning(dtype, scale, data):
    p = data.draw(dst.problems(dtype=dtype))
    tiny = [((W * scale).astype(dtype), None if b is None else (b * scale).astype(dtype)) for W, b in p.params]
    p = p._replace(params=tiny)
    _numpy_methods(p)
    _jax_methods(p)


# --- exact values at the extremes ---------------------------------------------

def _case(sizes, acts, loss, Ws, x, y, **kw):
    net = bp.Network(sizes, acts, loss, bias=False, **kw)
    return net, [(np.array(W, float), None) for W in Ws], np.array(x, float), np.array(y)


#: (name, (net, params, x, y), loss, [dW per layer], [δ per layer]) computed by hand.
EXACT = [
    # z = ±1e3: softplus(1e3) − 0 = 1e3 and softplus(−1e3) + 1e3 = 1e3; δ = σ(z) − y = ±1.
    ("sigmoid + BCE at z = +-1e3", _case((1, 1), "sigmoid", "binary_cross_entropy", [[[1e3]]], [[1], [-1]], [[0], [1]]),
     2e3, [[[2.0]]], [[[1.0], [-1.0]]]),
    # logits (1e3, −1e3, 0), label 1: lse = 1e3, L = 1e3 − (−1e3); δ = softmax − onehot = (1, −1, 0).
    ("softmax + CE, logits +-1e3", _case((1, 3), "softmax", "cross_entropy", [[[1e3, -1e3, 0]]], [[1]], [1]),
     2e3, [[[1.0, -1.0, 0.0]]], [[[1.0, -1.0, 0.0]]]),
    # Two rows whose largest logits are 1e3 apart: each is shifted by its own max
    # (a shift by the batch's max would underflow the second row to log 0).
    ("softmax + CE, rows 1e3 apart", _case((2, 3), "softmax", "cross_entropy", [[[1e3, 0, -1e3], [-1e3, 0, -1e3]]],
                                           [[1, 0], [0, 1]], [0, 1]),
     0.0, [[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]], [[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]),
    # identity output 1e3, target 0: L = (1e3)², δ = 2e3.
    ("identity + SE at z = 1e3", _case((1, 1), "identity", "squared_error", [[[1e3]]], [[1]], [[0]]),
     1e6, [[[2e3]]], [[[2e3]]]),
    # tanh saturated at ±1e3: a = ±1, tanh' = 1 − a² = 0 exactly, so nothing reaches W1.
    ("tanh hidden saturated at +-1e3", _case((1, 1, 1), ("tanh", "identity"), "squared_error",
                                            [[[1e3]], [[1.0]]], [[1], [-1]], [[0], [0]]),
     2.0, [[[0.0]], [[4.0]]], [[[0.0], [0.0]], [[2.0], [-2.0]]]),
    # sigmoid hidden at z = ∓1e3 (a = 0 and 1, σ' = a(1 − a) = 0) under a relu output at
    # z = 1e3 (relu' = 1), ½ squared error: L = ½(1e3)², δ2 = 1e3, and δ1 = 0.
    ("sigmoid at +-1e3, relu at 1e3", _case((1, 2, 1), ("sigmoid", "relu"), "squared_error",
                                           [[[-1e3, 1e3]], [[1.0], [1e3]]], [[1]], [[0]], half=True),
     5e5, [[[0.0, 0.0]], [[0.0], [1e3]]], [[[0.0, 0.0]], [[1e3]]]),
    # softmax + SE saturated at logits (1e3, −1e3): a = (1, 0), the Jacobian a_k(δ_kj − a_j) is 0.
    ("softmax + SE saturated", _case((1, 2), "softmax", "squared_error", [[[1e3, -1e3]]], [[1]], [[0, 1]]),
     2.0, [[[0.0, 0.0]]], [[[0.0, 0.0]]]),
]


def _exact_problem(case, dtype):
    net, params, x, y = case
    return dst.Problem(net, [(W.astype(dtype), None) for W, _ in params], x.astype(dtype),
                       y.astype(dtype) if y.dtype.kind == "f" else y, seed=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, case, loss, dWs, deltas", EXACT, ids=[e[0] for e in EXACT])
def test_exact_values_at_the_extremes_manual_bp_and_numerical(name, case, loss, dWs, deltas, dtype):
    p = _exact_problem(case, dtype)
    got = _numpy_methods(p)
    (L, grads), ds = got["manual"]
    # manual_bp: exactly the hand-computed numbers (all representable in float32).
    assert L == loss
    for (dW, _), want in zip(grads, dWs, strict=True):
        np.testing.assert_array_equal(dW, np.array(want, dtype))
    for d, want in zip(ds, deltas, strict=True):
        np.testing.assert_array_equal(d, np.array(want, dtype))
    ref.assert_allclose_tree(got["complex step"], [(np.array(w, dtype), None) for w in dWs], dtype=dtype,
                             kind="complex_step", context=f"complex step, {name}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, case, loss, dWs, deltas", EXACT, ids=[e[0] for e in EXACT])
def test_exact_values_at_the_extremes_jax(name, case, loss, dWs, deltas, dtype):
    got = _jax_methods(_exact_problem(case, dtype), plain=True)
    want = (loss, [(np.array(w, dtype), None) for w in dWs], [np.array(d, dtype) for d in deltas])
    for label, (L, grads, ds) in got.items():
        ref.assert_allclose_tree(grads, want[1], dtype=dtype, kind="jax", context=f"{label}, {name}")
        ref.assert_allclose_tree(ds, want[2], dtype=dtype, kind="jax", context=f"{label} deltas, {name}")
        ref.assert_allclose_tree([L], [loss], dtype=dtype, kind="loss", context=f"{label} loss, {name}")


# --- determinism --------------------------------------------------------------

def _run_everything(dtype):
    """Everything seeded, twice over it must be bit-identical."""
    net = bp.Network((3, 4, 3), ("leaky_relu", "softmax"), "cross_entropy", reduction="mean")
    rng = np.random.default_rng(7)
    x, labels = rng.normal(size=(9, 3)).astype(dtype), rng.integers(0, 3, 9)
    params = bp.init_params(net, np.random.default_rng(11), scheme="doc001", dtype=dtype)
    trained = bp.train(net, params, x, labels, lr=0.3, epochs=4, batch_size=2, seed=np.random.default_rng(3))
    t = np.where(x[:, 0] > x[:, 1], 1, -1)
    perceptron = bp.train_perceptron(x, t, epochs=5, seed=4)
    derivs, directions = ref.directional_derivatives(net, params, x, labels, n_directions=3, seed=5,
                                                     check_kinks=False)
    return [params, bp.gradients(net, params, x, labels), bp.deltas(net, params, x, labels),
            trained.params, np.array(trained.history), perceptron.w, np.array(perceptron.errors),
            derivs, directions, ref.fast_derivatives(net, params, x, labels)[1:]]


@pytest.mark.parametrize("dtype", DTYPES)
def test_same_seeds_give_bit_identical_results(dtype):
    first, second = _run_everything(dtype), _run_everything(dtype)
    for a, b in zip(_leaves(first), _leaves(second), strict=True):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()


def test_the_seeds_are_actually_used():
    net = bp.Network((3, 4, 3), ("tanh", "softmax"), "cross_entropy")
    a, b = bp.init_params(net, 0), bp.init_params(net, 1)
    assert not np.array_equal(a[0][0], b[0][0])
    x, labels = np.random.default_rng(0).normal(size=(6, 3)), np.arange(6) % 3
    runs = [bp.train(net, a, x, labels, lr=0.5, epochs=3, batch_size=1, seed=s).history for s in (0, 1)]
    assert runs[0] != runs[1]


# --- a diverging run ------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch_size", [None, 1])
@pytest.mark.parametrize("acts, loss, lr", [(("identity", "identity"), "squared_error", 10.0),
                                            (("identity", "softmax"), "cross_entropy", 1e6)],
                         ids=["identity-squared_error", "softmax-cross_entropy"])
def test_diverging_training_is_reported_without_a_warning(dtype, batch_size, acts, loss, lr):
    # Full batches overflow; single samples also meet inf − inf (invalid) mid-epoch.
    net = bp.Network((2, 3, 2), acts, loss)
    x = np.random.default_rng(0).normal(size=(8, 2))
    y = np.tile([0, 1], 4) if loss == "cross_entropy" else np.full((8, 2), 100.0)
    with pytest.raises(FloatingPointError, match=r"^loss became (nan|inf) at epoch \d+; lower lr"):
        bp.train(net, bp.init_params(net, 0, dtype=dtype), x, y, lr=lr, epochs=500, batch_size=batch_size)
