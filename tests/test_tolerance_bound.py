"""The per-entry rounding-error bound (reference.tolerances.derivative_bounds) and the table's upkeep.

* the bound covers every pair of exact methods (manual_bp, a naive textbook
  backprop, jax.grad) on the suite's regime and on a harsh one;
* it is tight where nothing cancels (a few ulps of the terms) and generous
  only where terms cancel or a ReLU sits within rounding of its kink;
* compare() uses it: a 0.1% float32 mistake in a small leaf, which the
  table's per-leaf ``atol`` lets through, is caught;
* ``_calibrate`` runs on a small sample, so neither the table's reasons nor
  the bound's safety factor can go stale; docs/tolerances.md restates the
  table exactly.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st

import manual_bp as bp
import reference as ref
from reference import strategies as dst
from reference.tolerances import BOUND_SAFETY, derivative_bounds, table_markdown, within_bound

DOCS = Path(__file__).resolve().parents[1] / "docs" / "tolerances.md"


def _as(dtype, params, x, y):
    params = [(W.astype(dtype), None if b is None else b.astype(dtype)) for W, b in params]
    return params, x.astype(dtype), y if y.dtype.kind in "iu" else y.astype(dtype)


_CLASSIC = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "softmax")
_BUILT_IN_LOSSES = ("squared_error", "cross_entropy", "binary_cross_entropy")


def _assert_covered(net, params, x, y):
    from reference._calibrate import _textbook_backprop

    bounds = derivative_bounds(net, params, x, y)
    if bounds is None:  # a pairing without a rule (a registered loss): the table's row applies
        assert not (net.loss in _BUILT_IN_LOSSES and all(a.name in _CLASSIC for a in net.activations)), (
            "derivative_bounds lost its rule for a built-in pairing")
        return
    grads_bound, deltas_bound = bounds
    jx = ref.fast_derivatives(net, params, x, y)
    sources = [("manual_bp", bp.gradients(net, params, x, y), bp.deltas(net, params, x, y))]
    if all(a.name in _CLASSIC for a in net.activations):
        sources.append(("textbook", *_textbook_backprop(net, params, x, y)))
    for name, grads, deltas in sources:
        ref.assert_within_bound(grads, jx.gradients, grads_bound, context=f"{name} gradients vs jax")
        ref.assert_within_bound(deltas, jx.deltas, deltas_bound, context=f"{name} deltas vs jax")


@settings(max_examples=examples(0.02))
@given(dst.problems(dtype=np.float32) | dst.problems())
def test_bound_covers_exact_methods_in_the_suites_regime(p):
    _assert_covered(p.net, p.params, p.x, p.y)


@settings(max_examples=examples(0.02))
@given(st.integers(0, 2**32 - 1), st.sampled_from([np.float32, np.float64]))
def test_bound_covers_exact_methods_with_weights_n_0_2_squared(seed, dtype):
    # Weights and biases N(0, 2²): saturated sigmoid/tanh, z up to ~30.
    from reference._calibrate import _random_case

    net, params, x, y = _random_case(np.random.default_rng(seed), "harsh")
    _assert_covered(net, *_as(dtype, params, x, y))


def _positive_net(dtype):
    # Every term of every sum positive: identity layers, x > 0, W > 0, a − y > 0.
    net = bp.Network([4, 3, 2], ["identity", "identity"], "squared_error")
    rng = np.random.default_rng(0)
    params = [(rng.uniform(0.5, 1, (4, 3)).astype(dtype), rng.uniform(0.5, 1, 3).astype(dtype)),
              (rng.uniform(0.5, 1, (3, 2)).astype(dtype), rng.uniform(0.5, 1, 2).astype(dtype))]
    x = rng.uniform(0.5, 1, (5, 4)).astype(dtype)
    y = np.full((5, 2), -3.0, dtype)
    return net, params, x, y


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bound_is_a_few_ulps_where_nothing_cancels(dtype):
    net, params, x, y = _positive_net(dtype)
    u = np.finfo(dtype).eps / 2
    grads = ref.gradients(net, params, x, y)
    for (BW, Bb), (dW, db) in zip(derivative_bounds(net, params, x, y)[0], grads):
        # Sums of at most 6 positive terms through two layers: tens of ulps at most.
        assert (BW <= 100 * BOUND_SAFETY * u * np.abs(dW)).all()
        assert (Bb <= 100 * BOUND_SAFETY * u * np.abs(db)).all()
        assert (BW >= u * np.abs(dW)).all()  # and never below one rounding


def test_bound_is_generous_where_terms_cancel():
    # dW = Σ_n x_n δ_n = 1·δ − 1·δ = 0 exactly, from terms of size |δ|: the
    # bound must allow the rounding of those terms, not of the zero result.
    net = bp.Network([1, 1], ["identity"], "squared_error", bias=False)
    params = [(np.array([[0.3]]), None)]
    x = np.array([[1.0], [-1.0]])
    y = np.array([[0.3 - 1.0], [-0.3 - 1.0]])  # a − y = +1 and +1: δ = 2, 2
    (BW, _), = derivative_bounds(net, params, x, y)[0]
    dW = ref.gradients(net, params, x, y)[0][0]
    terms = (np.abs(x).T @ np.abs(ref.deltas(net, params, x, y)[0])).item()
    assert dW[0, 0] == 0.0 and terms == 4.0
    assert BW[0, 0] >= np.finfo(np.float64).eps / 2 * terms


def test_a_relu_within_rounding_of_its_kink_lets_the_branch_differ():
    # z = 1e-17 - 1e-17·(rounding): either side may call it positive or not.
    net = bp.Network([2, 1, 1], ["relu", "identity"], "squared_error", bias=False)
    params = [(np.array([[1.0], [-1.0]]), None), (np.array([[2.0]]), None)]
    x = np.array([[0.1 + 1e-17, 0.1]])
    y = np.array([[5.0]])
    _, deltas_bound = derivative_bounds(net, params, x, y)
    g = float(ref.deltas(net, params, x, y)[1][0, 0] * 2.0)  # δ_2 W_2ᵀ, what f' multiplies
    assert deltas_bound[0][0, 0] >= abs(g)  # the whole f' ∈ {0, 1} is open
    far = np.array([[0.5, 0.1]])  # z = 0.4: no doubt about the branch
    assert derivative_bounds(net, params, far, y)[1][0][0, 0] < 1e-12 * abs(g)


def test_worst_case_model_dominates_the_probable_one():
    net, params, x, y = _positive_net(np.float32)
    worst = derivative_bounds(net, params, x, y, model="worst")
    probable = derivative_bounds(net, params, x, y)
    for w, p in zip(ref.tolerances._leaves(list(worst)), ref.tolerances._leaves(list(probable))):
        assert (w[1] >= p[1] * (1 - 1e-12)).all()
    with pytest.raises(ValueError, match="model must be"):
        derivative_bounds(net, params, x, y, model="typical")


def test_compare_catches_a_small_float32_mistake_the_table_lets_pass():
    # Inputs ~1e-3 make dW ~1e-3: the table's float32 atol (2e-4) is then a
    # 20% allowance on that leaf, the per-entry bound a few ulps.
    net = bp.Network([3, 2], ["identity"], "squared_error", reduction="mean")
    rng = np.random.default_rng(3)
    params = [(rng.normal(size=(3, 2)).astype(np.float32), rng.normal(size=2).astype(np.float32))]
    x = (1e-3 * rng.uniform(-1, 1, (6, 3))).astype(np.float32)
    y = rng.normal(size=(6, 2)).astype(np.float32)
    right = bp.gradients(net, params, x, y)
    wrong = [((right[0][0] * np.float32(1.001)), right[0][1])]
    assert ref.allclose_tree(wrong, right, dtype=np.float32, kind="jax")  # what the table alone said
    assert ref.compare(net, params, x, y).ok
    report = ref.compare(net, params, x, y, candidate=lambda *_: wrong)
    assert not report.ok and not report.params[0].errors["jax"].ok and report.params[1].errors["jax"].ok
    assert not within_bound(wrong, ref.gradients(net, params, x, y), derivative_bounds(net, params, x, y)[0])


@pytest.mark.parametrize("regime", ["mixed", "harsh"])
def test_calibration_on_a_small_sample_still_holds(regime):
    # The full run (python -m reference._calibrate --nets 150) backs the
    # reasons in TOLERANCES and BOUND_SAFETY; a few nets here keep them honest.
    from reference import _calibrate

    if np.finfo(np.longdouble).eps > 1e-18:
        pytest.skip("the 80-bit truth needs x86 long double")
    rec, _, ratios = _calibrate.measure(3, seed={"mixed": 5, "harsh": 6}[regime], regime=regime)
    for (dtype, kind), worst in _calibrate.table_worst(rec).items():
        if kind in ("central", "directional") and dtype == "float32":
            continue  # documented in their reasons: coarse, may exceed with N(0, 2²) weights (use the complex step)
        if kind == "jax" and regime == "harsh":
            continue  # documented: a kink taken the other way; the per-entry bound, checked below, allows it
        assert worst <= 1.0, f"{dtype} {kind}: {worst:.3g} of the table's bound"
    for (dtype, pair), rows in ratios.items():
        # At least a 2x margin under the safety factor compare() uses.
        assert max(rows) <= BOUND_SAFETY / 2, f"{dtype} {pair}: {max(rows):.3g} of the unscaled bound"


def test_docs_restate_the_table_exactly():
    text = DOCS.read_text(encoding="utf-8")
    m = re.search(r"<!-- table: begin.*?-->\n(.*?)\n<!-- table: end -->", text, re.S)
    assert m, "docs/tolerances.md lost its table markers"
    assert m.group(1) == table_markdown(), (
        "docs/tolerances.md is stale: paste the output of "
        "python -c 'from reference.tolerances import table_markdown; print(table_markdown())'")
    assert f"BOUND_SAFETY = {BOUND_SAFETY:g}" in text


# --- The bound of some batch rows: a lower bound on the whole batch's (compare's first estimate) ---

@settings(max_examples=examples(0.05))
@given(dst.problems(min_batch=2, max_batch=24, l2=None) |
       dst.problems(min_batch=2, max_batch=24, dtype=np.float32),
       st.integers(2, 9), st.integers(0, 8))
def test_the_bound_of_some_rows_is_below_the_whole_batchs(problem, stride, start):
    # Every budget up to δ is row by row and every gradient budget a sum of terms >= 0 over the rows,
    # so the rows' bound can only be smaller, entry by entry -- what lets compare accept an entry
    # within it without computing the whole bound.
    from reference._spec import check_all
    from reference.tolerances import _derivative_bounds

    checked = check_all(*problem[:4])
    start %= len(checked[2])  # at least one row
    whole = _derivative_bounds(*checked)
    # a slice, or the same rows as an index array (compare's _bound_rows gives one)
    rows = slice(start, None, stride) if stride % 2 else np.arange(start, len(checked[2]), stride)
    some = _derivative_bounds(*checked, rows=rows)
    if whole is None:
        assert some is None
        return
    for (BW, Bb), (LW, Lb) in zip(whole[0], some[0]):
        assert LW.shape == BW.shape and (LW <= BW).all()
        assert (Lb is None) == (Bb is None) and (Lb is None or (Lb <= Bb).all())
    # and the rows' delta bounds are at most those rows of the whole batch's
    for D, Dr in zip(whole[1], some[1]):
        assert Dr.shape == D[start::stride].shape and (Dr <= D[start::stride]).all()


def _big_batch_problem(hidden="tanh", sparse=False):
    net = bp.Network((3, 5, 4), (hidden, "softmax"), "cross_entropy")
    rng = np.random.default_rng(7)
    params = bp.init_params(net, rng)
    x = rng.normal(size=(160, 3))
    if sparse:  # input 0 is 0 except in rows 3 and 77, which every 8th row misses
        x[:, 0] = 0.0
        x[[3, 77], 0] = [1.5, -0.7]
    return net, params, x, rng.integers(0, 4, 160)


def test_bound_rows_add_the_rows_where_a_silent_column_is_not_zero():
    from reference.comparison import _BOUND_STRIDE, _bound_rows

    x = np.ones((64, 3))
    x[:, 1] = 0.0
    x[[5, 9], 1] = 2.0
    d = np.ones((64, 2))
    d[:, 0] = 0.0
    d[13, 0] = 1.0  # a unit silent in every strided row but row 13
    assert _bound_rows(64, [x, d]).tolist() == sorted(set(range(0, 64, _BOUND_STRIDE)) | {5, 9, 13})
    assert _bound_rows(64, [np.eye(64)]) is None  # over half the batch: the whole bound instead


@pytest.mark.parametrize("hidden, sparse, n_rows", [("tanh", False, 20), ("tanh", True, 22), ("relu", True, None)])
def test_compare_on_a_big_batch_decides_by_the_whole_bound(hidden, sparse, n_rows):
    # From _BOUND_SUBSET_FROM rows compare first holds the candidate to the bound of some rows
    # (every _BOUND_STRIDE-th, and those where a silent input or relu unit is not 0); an entry beyond
    # that but within the whole batch's bound (the public derivative_bounds, computed here
    # independently) must still pass, and one beyond it fail.
    from reference import comparison

    net, params, x, y = _big_batch_problem(hidden, sparse)
    assert len(x) >= comparison._BOUND_SUBSET_FROM
    truth = ref.gradients(net, params, x, y)
    (BW1, _), _ = derivative_bounds(net, params, x, y)[0]
    right = ref.compare(net, params, x, y, candidate=lambda *a: truth, numerical="none", taylor=False)
    assert right.ok
    note = right.to_dict()["oracles"]["jax"]["note"]
    assert (f"from {n_rows} of the 160 batch rows" if n_rows else "of the 160 batch rows") in note

    def nudged(factor):
        g = [(W.copy(), b.copy()) for W, b in truth]
        g[0][0][1, 2] += factor * BW1[1, 2]
        return lambda *a: g

    within = ref.compare(net, params, x, y, candidate=nudged(0.9), numerical="none", taylor=False)
    assert within.ok, within
    assert within.to_dict()["oracles"]["jax"]["note"] == ""  # decided by the whole bound
    beyond = ref.compare(net, params, x, y, candidate=nudged(1.5), numerical="none", taylor=False)
    assert not beyond.ok
    assert not beyond.params[0].errors["jax"].ok


@pytest.mark.parametrize("dtype, l2", [(np.float32, 0.0), (np.float64, 0.05)])
def test_compare_on_a_big_batch_in_float32_and_with_weight_decay(dtype, l2):
    # The rows' bound in float32 (budgets in float64 with float32's unit roundoff) and with l2's terms:
    # a right gradient passes it, a clearly wrong one (0.1% on one entry) fails.
    import dataclasses

    net, params, x, y = _big_batch_problem("sigmoid", sparse=True)
    net = dataclasses.replace(net, l2=l2)
    params, x, y = _as(dtype, params, x, y)
    truth = ref.gradients(net, params, x, y)
    right = ref.compare(net, params, x, y, candidate=lambda *a: truth, numerical="none", taylor=False)
    assert right.ok and "of the 160 batch rows" in right.to_dict()["oracles"]["jax"]["note"]
    wrong = [(W.copy(), b.copy()) for W, b in truth]
    wrong[1][0][2, 1] *= 1.001
    assert not ref.compare(net, params, x, y, candidate=lambda *a: wrong, numerical="none", taylor=False).ok


@settings(max_examples=examples(0.05))
@given(dst.problems(min_batch=1, max_batch=12, l2=None) | dst.problems(max_batch=12, dtype=np.float32),
       st.sampled_from([1.0, 1e-120, 1e120]))
def test_the_weight_budget_in_one_array_is_the_general_paths(problem, magnitude):
    # _dw_in_quadrature sums the three squared terms of a dW budget in one array; the general path
    # (R.through and R.add, which rescale against underflow) must give the same numbers, and it
    # takes over wherever a square could leave float64's range (magnitudes of 1e±120 in x).
    net, params, x, y = problem[:4]
    if x.dtype == np.float32:  # 1e±30 there
        magnitude **= 0.25
    x = (x.astype(np.float64) * magnitude).astype(x.dtype)
    fast, general = _one_array_and_general(net, params, x, y)
    if general is None:
        assert fast is None
        return
    for (FW, Fb), (GW, Gb) in zip(fast[0], general[0]):
        np.testing.assert_allclose(FW, GW, rtol=_SAME_SUM, atol=0)
        assert (Fb is None and Gb is None) or np.array_equal(Fb, Gb, equal_nan=True)


#: Two float64 sums of the same >= 0 terms in another order and grouping: a few ulps apart.
_SAME_SUM = 1e-12


def _one_array_and_general(net, params, x, y):
    """``_derivative_bounds`` with the one-array weight budget, and with it switched off (the general path)."""
    from unittest import mock

    from reference import tolerances
    from reference._spec import check_all

    checked = check_all(net, params, x, y)
    fast = tolerances._derivative_bounds(*checked)
    with mock.patch.object(tolerances, "_dw_in_quadrature", lambda *a: None):
        return fast, tolerances._derivative_bounds(*checked)


def test_the_weight_budget_in_one_array_with_factors_at_opposite_extremes():
    # x ~ 1e200, W2 and b2 ~ 1e-260 and 1e-60: the product a·δ is in range but a² overflows and δ's budget
    # squared underflows, so the one-array sum must hand over to the general path (an inf bound would
    # accept any finite dW2).
    net = bp.Network((3, 4, 2), ("identity", "identity"), "squared_error")
    rng = np.random.default_rng(0)
    params = [(rng.normal(size=(3, 4)), rng.normal(size=4)),
              (1e-260 * rng.normal(size=(4, 2)), 1e-60 * rng.normal(size=2))]
    x, y = 1e200 * rng.normal(size=(5, 3)), 1e-60 * rng.normal(size=(5, 2))  # δ_2 ~ a_2 ~ 1e-60
    fast, general = _one_array_and_general(net, params, x, y)
    for (FW, _), (GW, _) in zip(fast[0], general[0]):
        assert np.isfinite(GW).all()
        np.testing.assert_allclose(FW, GW, rtol=_SAME_SUM, atol=0)
