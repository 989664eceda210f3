"""reference.layout: candidates in column layout and one sample at a time, checked through compare().

Expected values come from closed forms worked out by hand (a one-unit linear
net) or from jax.grad; manual_bp appears only as a candidate under test.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import manual_bp as bp
import reference as ref
from reference import layout as lay
from reference import strategies as dst


def _with_l2(net, l2):
    return bp.Network(net.sizes, net.activations, net.loss, reduction=net.reduction, half=net.half,
                      bias=net.bias, l2=l2)


def _column(fn):
    """A column-layout candidate from a row-layout one, by hand (not through reference.layout)."""
    def column(net, params, x, y):
        row_params = [(W.T, None if b is None else b[:, 0]) for W, b in params]
        row_y = y if y.ndim == 1 else y.T
        return [(dW.T, None if db is None else db[:, None]) for dW, db in fn(net, row_params, x.T, row_y)]
    return column


# ---------------------------------------------------------------------------
# The per-sample combination, against a closed form
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_per_sample_combination_matches_the_closed_form(reduction):
    """1-1 linear net, L = s·Σ_n (w x_n + c − y_n)² + l2·w², so dL/dw = s·Σ 2 r_n x_n + 2·l2·w.

    Each call answers for its one-sample batch, the penalty included once:
    2 r_n x_n + 2·l2·w (a mean over one sample is the sample).
    """
    l2, w, c = 0.3, 1.5, -0.5
    x, y = np.array([[1.0], [2.0], [-1.0]]), np.array([[0.5], [1.0], [2.0]])
    net = bp.Network((1, 1), ("identity",), "squared_error", reduction=reduction, l2=l2)
    params = [(np.array([[w]]), np.array([c]))]

    def one_sample(net, params, x1, y1):
        assert x1.shape == (1, 1) and y1.shape == (1, 1)
        r = params[0][0][0, 0] * x1[0, 0] + params[0][1][0] - y1[0, 0]
        return [(np.array([[2 * r * x1[0, 0] + 2 * l2 * params[0][0][0, 0]]]), np.array([2 * r]))]

    s = 1 / 3 if reduction == "mean" else 1.0
    r = w * x[:, 0] + c - y[:, 0]
    expected_dw, expected_db = s * np.sum(2 * r * x[:, 0]) + 2 * l2 * w, s * np.sum(2 * r)
    (dW, db), = lay.adapt_candidate(one_sample, per_sample=True)(net, params, x, y)
    assert dW.shape == (1, 1) and db.shape == (1,)
    assert dW[0, 0] == pytest.approx(expected_dw, rel=1e-14) and db[0] == pytest.approx(expected_db, rel=1e-14)
    assert ref.check_gradients(one_sample, net, params, x, y, per_sample=True).ok


def test_per_sample_l2_coefficient():
    # sum over N = 5 one-sample answers, each with k·l2·W: 5k − 4·2 remains; mean: k.
    assert lay.per_sample_l2_coefficient(2.0, 5, "sum") == 2.0
    assert lay.per_sample_l2_coefficient(0.0, 5, "sum") == -8.0
    assert lay.per_sample_l2_coefficient(0.0, 5, "mean") == 0.0
    assert lay.per_sample_l2_coefficient(1.0, 5, "mean") == 1.0


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_a_per_sample_candidate_without_the_penalty_is_told_l2_missing(reduction):
    net = bp.Network((3, 4, 2), ("tanh", "identity"), "squared_error", reduction=reduction, l2=0.2)
    rng = np.random.default_rng(0)
    params = bp.init_params(net, seed=rng)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    data_only = _with_l2(net, 0.0)

    def no_penalty(net, params, x, y):  # Nielsen's backprop(x, y): weight decay lives in the update
        return ref.gradients(data_only, params, x, y)

    report = ref.compare(net, params, x, y, candidate=no_penalty, per_sample=True)
    assert [(f.detail["mistake"], f.detail["layer"]) for f in report.diagnosis if f.kind == "mistake"] \
        == [("l2_missing", None)], str(report)
    # ... and it is right for the loss it does compute
    assert ref.compare(data_only, params, x, y, candidate=no_penalty, per_sample=True).ok


# ---------------------------------------------------------------------------
# Column layout: what the candidate sees and what it may return
# ---------------------------------------------------------------------------

def test_the_column_candidate_sees_column_shapes_and_labels_stay():
    net = bp.Network((3, 4, 2), ("sigmoid", "softmax"), "cross_entropy", bias=(True, False))
    rng = np.random.default_rng(1)
    params = bp.init_params(net, seed=rng)
    x, y = rng.normal(size=(5, 3)), rng.integers(0, 2, 5)
    seen = {}

    def spy(net, params, x, y):
        seen.update(W=[W.shape for W, _ in params], b=[None if b is None else b.shape for _, b in params],
                    x=x.shape, y=y.shape)
        return _column(ref.gradients)(net, params, x, y)

    assert ref.compare(net, params, x, y, candidate=spy, layout="column").ok
    assert seen == {"W": [(4, 3), (2, 4)], "b": [(4, 1), None], "x": (3, 5), "y": (5,)}
    seen.clear()
    assert ref.compare(net, params, x, y, candidate=spy, layout="column", per_sample=True).ok
    assert seen == {"W": [(4, 3), (2, 4)], "b": [(4, 1), None], "x": (3, 1), "y": (1,)}


def test_column_bias_may_be_flat_and_deltas_and_input_gradient_convert():
    net = bp.Network((3, 4, 2), ("tanh", "identity"), "squared_error", reduction="mean", half=True)
    rng = np.random.default_rng(2)
    params = bp.init_params(net, seed=rng)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))

    def flat_bias(*args):
        return [(dW, db[:, 0]) for dW, db in _column(ref.gradients)(*args)]

    def deltas(net, params, x, y):
        return [d.T for d in ref.deltas(net, [(W.T, b[:, 0]) for W, b in params], x.T, y.T)]

    def input_gradient(net, params, x, y):
        return ref.input_gradient(net, [(W.T, b[:, 0]) for W, b in params], x.T, y.T).T

    report = ref.compare(net, params, x, y, candidate=flat_bias, candidate_deltas=deltas,
                         candidate_input_gradient=input_gradient, layout="column")
    assert report.ok and [lc.quantity for lc in report.layers] == ["δ_2", "δ_1"]
    assert report.input_gradient.shape == (6, 3) and report.input_gradient.ok
    assert [p.name for p in report.params] == ["W1", "b1", "W2", "b2"]


def test_the_callers_arrays_are_not_modified():
    net = bp.Network((2, 3, 1), ("tanh", "identity"), "squared_error")
    rng = np.random.default_rng(3)
    params = bp.init_params(net, seed=rng)
    x, y = rng.normal(size=(4, 2)), rng.normal(size=(4, 1))
    copies = [(W.copy(), b.copy()) for W, b in params], x.copy(), y.copy()

    def vandal(net, params, x, y):
        out = _column(ref.gradients)(net, params, x, y)
        for W, b in params:
            W *= 0
            b *= 0
        x *= 0
        y *= 0
        return out

    ref.compare(net, params, x, y, candidate=vandal, layout="column")
    for (W, b), (W0, b0) in zip(params, copies[0]):
        assert np.array_equal(W, W0) and np.array_equal(b, b0)
    assert np.array_equal(x, copies[1]) and np.array_equal(y, copies[2])


def test_bad_layout_arguments_name_themselves():
    net = bp.Network((2, 1), ("identity",), "squared_error")
    params, x, y = bp.init_params(net, seed=0), np.ones((2, 2)), np.ones((2, 1))
    with pytest.raises(ValueError, match="layout must be 'row'"):
        ref.compare(net, params, x, y, candidate=bp.gradients, layout="columns")
    with pytest.raises(TypeError, match="per_sample must be True or False"):
        ref.compare(net, params, x, y, candidate=bp.gradients, per_sample="yes")
    with pytest.raises(ValueError, match="layout and per_sample describe a candidate you pass"):
        ref.compare(net, params, x, y, layout="column")
    with pytest.raises(TypeError, match="candidate_input_gradient must be a function"):
        ref.compare(net, params, x, y, candidate_input_gradient=3)

    calls = iter(range(10))

    def shifty(net, params, x, y):  # a different shape for the second sample
        return [(np.zeros((1, 2)) if next(calls) else np.zeros((2, 1)), np.zeros(1))]

    with pytest.raises(ValueError, match="different shapes for different samples"):
        ref.compare(net, params, x, y, candidate=shifty, per_sample=True)


def test_a_row_bias_returned_as_a_column_is_a_layout_mismatch():
    net = bp.Network((3, 4, 2), ("tanh", "identity"), "squared_error")
    rng = np.random.default_rng(4)
    params = bp.init_params(net, seed=rng)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))

    def column_bias(*args):
        return [(dW, db[:, None]) for dW, db in ref.gradients(*args)]

    report = ref.compare(net, params, x, y, candidate=column_bias)
    assert [f.detail.get("mistake") for f in report.diagnosis] == ["layout"], str(report)
    assert "(n_out, 1)" in report.diagnosis[0].text and "δ" not in report.localisation.text


def test_float32_column_per_sample():
    net = bp.Network((3, 2, 2), ("sigmoid", "sigmoid"), "binary_cross_entropy", reduction="mean", l2=0.05)
    rng = np.random.default_rng(5)
    params = bp.init_params(net, seed=rng, dtype=np.float32)
    x, y = rng.normal(size=(4, 3)).astype(np.float32), rng.uniform(size=(4, 2)).astype(np.float32)
    report = ref.compare(net, params, x, y, candidate=_column(bp.gradients), layout="column", per_sample=True)
    assert report.ok and report.dtype == "float32"


# ---------------------------------------------------------------------------
# Properties: every layout and combination agrees on random problems
# ---------------------------------------------------------------------------

@settings(max_examples=20, deadline=None)
@given(dst.problems(max_depth=3, kink_margin=1e-3), st.sampled_from([0.0, 0.25]),
       st.sampled_from(["row", "column"]), st.booleans())
def test_a_right_candidate_agrees_in_every_layout(p, l2, layout, per_sample):
    net = _with_l2(p.net, l2)
    candidate = bp.gradients if layout == "row" else _column(bp.gradients)
    report = ref.compare(net, p.params, p.x, p.y, candidate=candidate, layout=layout, per_sample=per_sample)
    assert report.ok and not report.diagnosis, str(report)


@settings(max_examples=20, deadline=None)
@given(dst.problems(max_depth=3), st.sampled_from(["row", "column"]), st.booleans())
def test_converters_round_trip(p, layout, per_sample):
    grads = ref.fast_derivatives(p.net, p.params, p.x, p.y).gradients
    back = lay.grads_from_layout(lay.grads_to_layout(grads, layout), p.net.sizes, layout, per_sample)
    for (dW, db), (dW2, db2) in zip(grads, back):
        assert np.array_equal(dW, dW2) and (db is None and db2 is None or np.array_equal(db, db2))
    assert np.array_equal(lay.rows_from_layout(lay.rows_to_layout(p.x, layout), layout), p.x)
    column = lay.params_to_layout(p.params, "column")
    assert [W.shape for W, _ in column] == [W.shape[::-1] for W, _ in p.params]


def test_a_row_bias_with_a_leading_axis_is_a_shape_with_the_values_right():
    net = bp.Network((3, 2), ("identity",), "squared_error")
    rng = np.random.default_rng(6)
    params = bp.init_params(net, seed=rng)
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))

    def keepdims(*args):  # db = δ.sum(0, keepdims=True): (1, n_out), deltacheck's row layout wants (n_out,)
        return [(dW, db[None, :]) for dW, db in ref.gradients(*args)]

    report = ref.compare(net, params, x, y, candidate=keepdims)
    (f,) = report.diagnosis
    assert f.kind == "shape" and "its values are right: return it with shape (2,)" in f.text
