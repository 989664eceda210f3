"""The Taylor remainder test (reference.taylor_test): order 2 for right gradients, 1 for wrong ones.

The right gradient the planted mistakes are built from is the complex-step
oracle ``reference.complex_step_gradients`` (NumPy, exact to rounding, no JAX
compilation per architecture), or a textbook backprop written below, never
manual_bp; manual_bp is only ever the candidate under test.  Expected orders
come from first principles: r₁(h) = |L(θ+hv) − L(θ) − h⟨g,v⟩| is c·h² + O(h³)
for the true gradient and |⟨g − ∇L, v⟩|·h + O(h²) otherwise.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import examples
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import manual_bp as bp
import reference
from reference import strategies as dst
from reference.taylor import TaylorResult, plot_taylor, taylor_test

KINK_MARGIN = 1e-3
_SLOW = settings(suppress_health_check=list(HealthCheck), deadline=None, max_examples=examples(0.3))
_right = reference.complex_step_gradients


def _leaf(tree, name):
    l, k = int(name[1:]) - 1, "Wb".index(name[0])
    return tree[l][k]


def _leaf_names(net):
    return [f"{k}{l + 1}" for l in range(net.n_layers) for k, present in (("W", True), ("b", net.bias[l])) if present]


def _verdicts(r):
    return {p.name: p.ok for p in r.parameters}


def _as64(p):
    return [(W.astype(np.float64), None if b is None else b.astype(np.float64)) for W, b in p.params]


# ---------------------------------------------------------------------------
# Right gradients: order 2 (or r₁ at the floor, or an honest "no verdict")
# ---------------------------------------------------------------------------

@_SLOW
@given(dst.problems(kink_margin=KINK_MARGIN, max_depth=4))
def test_right_gradients_order_2_float64(p):
    r = taylor_test(p.net, p.params, p.x, p.y, per_parameter=True)
    assert r.ok is not False, str(r)
    for d in [r.directions[0]] + [q.directions[0] for q in r.parameters]:
        if d.verdict == "order":
            assert d.order >= 1.5 and d.ok, (d.name, d.order, str(r))


@_SLOW
@given(dst.problems(kink_margin=KINK_MARGIN, max_depth=4, dtype=np.float32))
def test_right_gradients_order_2_float32(p):
    r = taylor_test(p.net, p.params, p.x, p.y, per_parameter=True)
    assert r.ok is not False, str(r)


@settings(_SLOW, max_examples=examples(0.05))
@given(dst.problems(max_depth=3, hidden_activations=("sigmoid", "tanh", "identity"),
                    output_activations=("identity", "sigmoid", "tanh", "softmax")))
def test_right_gradients_of_jax_never_wrong_and_no_kink_on_smooth_nets(p):
    # The JAX reference as the candidate, smooth nets, float64: never "wrong", never "kink".  jax.grad
    # through the padded frame (one compilation for every draw; tests/test_reference_fast.py checks it
    # equals reference.gradients) rather than one compilation per drawn architecture.
    r = taylor_test(p.net, p.params, p.x, p.y, candidate=_fast_jax_gradients)
    assert r.ok is not False, str(r)
    assert r.directions[0].verdict in ("order", "exact", "unresolved", "rising"), str(r)


def _fast_jax_gradients(net, params, x, y):
    return reference.fast_derivatives(net, params, x, y).gradients


def test_quadratic_loss_gives_exactly_order_2_over_many_steps():
    # identity layers + squared error: L is a polynomial in h whose h term cancels for the true
    # gradient, so r₁ = c·h² + (h³, h⁴ terms) and every observed order is 2 near h → 0.
    rng = np.random.default_rng(1)
    net = bp.Network((3, 4, 2), ("identity", "identity"), "squared_error")
    params = [(rng.normal(size=s[0]), rng.normal(size=s[1])) for s in net.shapes()]
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    r = taylor_test(net, params, x, y, per_parameter=True)
    assert r.ok is True
    d = r.directions[0]
    assert d.verdict == "order" and d.n_usable >= 10
    assert np.allclose(d.orders, 2, atol=0.05), d.orders
    assert all(q.ok for q in r.parameters)


def test_a_leaf_that_does_not_move_L_is_exact_not_an_order():
    # Every hidden relu is dead (z ≈ −10), so L does not depend on W1 or b1 near θ: r₀ = r₁ = 0.
    net = bp.Network((2, 3, 1), ("relu", "identity"), "squared_error")
    rng = np.random.default_rng(2)
    params = [(0.1 * rng.normal(size=(2, 3)), np.full(3, -10.0)), (rng.normal(size=(3, 1)), np.zeros(1))]
    x, y = rng.uniform(-1, 1, (4, 2)), rng.normal(size=(4, 1))
    r = taylor_test(net, params, x, y, per_parameter=True)
    v = {p.name: p for p in r.parameters}
    for name in ("W1", "b1"):
        assert v[name].directions[0].verdict == "exact" and v[name].ok is True
        assert "exact along v to working precision" in v[name].directions[0].message
    assert v["b2"].ok is True and v["b2"].directions[0].verdict == "order"


def test_kink_crossings_are_reported_not_failed():
    # z₂ = 0 exactly at θ: about half of the directions push it to the z > 0 branch at every h;
    # the others stay on the branch leaky_relu'(0) = slope belongs to, where L is smooth.
    net = bp.Network((2, 2, 1), ("identity", bp.LeakyReLU(0.1)), "squared_error", bias=False)
    params = [(np.eye(2), None), (np.array([[1.0], [1.0]]), None)]
    x, y = np.array([[1.0, -1.0]]), np.array([[0.5]])
    r = taylor_test(net, params, x, y, n_directions=8, seed=3)
    verdicts = [d.verdict for d in r.directions]
    assert "kink" in verdicts and "order" in verdicts, verdicts
    for d in r.directions:
        assert d.ok is (None if d.verdict == "kink" else True), (d.verdict, d.ok)
        if d.verdict == "kink":
            assert "kink" in d.message and all(x in ("kink", "floor") for x in d.reasons)
    assert r.ok is None  # no failure, but not a clean pass either


def test_l2_weight_decay():
    rng = np.random.default_rng(4)
    net = bp.Network((3, 4, 2), ("tanh", "softmax"), "cross_entropy", l2=0.3)
    params = [(rng.normal(size=s[0]), rng.normal(size=s[1])) for s in net.shapes()]
    x, y = rng.normal(size=(6, 3)), rng.integers(0, 2, 6)
    assert taylor_test(net, params, x, y, per_parameter=True).ok is True

    def no_decay(net_, p, x_, y_):  # the 2·l2·W term forgotten
        return [(dW - 2 * 0.3 * W, db) for (dW, db), (W, _) in zip(_right(net_, p, x_, y_), p)]

    assert _verdicts(taylor_test(net, params, x, y, candidate=no_decay, per_parameter=True)) == {
        "W1": False, "b1": True, "W2": False, "b2": True}


# ---------------------------------------------------------------------------
# Planted mistakes: order 1 on the leaves they corrupt, 2 on the others
# ---------------------------------------------------------------------------

def _scaled(name, factor):
    def candidate(net, params, x, y):
        g = [list(pair) for pair in _right(net, params, x, y)]
        l, k = int(name[1:]) - 1, "Wb".index(name[0])
        g[l][k] = factor * g[l][k]
        return [tuple(pair) for pair in g]
    return candidate


def _bias_averaged(net, params, x, y):
    # db = mean over the batch of δ instead of the sum (reduction "sum" nets): db / N.
    n = np.shape(x)[0]
    return [(dW, None if db is None else db / n) for dW, db in _right(net, params, x, y)]


def _textbook(drop_fprime_at=None):
    """Backprop as the textbooks write it, for smooth hidden layers and a softmax/CE or
    identity/squared-error output; ``drop_fprime_at`` (1-based hidden layer) omits its f'(z)."""
    def fprime(name, a):
        return {"sigmoid": a * (1 - a), "tanh": 1 - a * a, "identity": np.ones_like(a)}[name]

    def act(name, z):
        if name == "sigmoid":
            return 1 / (1 + np.exp(-z))
        if name == "tanh":
            return np.tanh(z)
        if name == "softmax":
            e = np.exp(z - z.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)
        return z

    def candidate(net, params, x, y):
        names = [a.name for a in net.activations]
        if y.ndim == 1:
            y = np.eye(net.sizes[-1])[y]
        as_ = [x]
        for (W, b), name in zip(params, names):
            as_.append(act(name, as_[-1] @ W + (0 if b is None else b)))
        scale = (0.5 if net.half else 1.0) / (x.shape[0] if net.reduction == "mean" else 1)
        if net.loss == "cross_entropy":
            delta = scale * (as_[-1] - y)  # softmax + cross-entropy
        else:
            delta = scale * 2 * (as_[-1] - y)  # identity output, squared error
        grads = [None] * net.n_layers
        for l in range(net.n_layers - 1, -1, -1):
            W, b = params[l]
            grads[l] = (as_[l].T @ delta, None if b is None else delta.sum(axis=0))
            if l:
                delta = delta @ W.T
                if l != drop_fprime_at:
                    delta = delta * fprime(names[l - 1], as_[l])
        return grads
    return candidate


_SMOOTH = dict(hidden_activations=("sigmoid", "tanh"), min_scale=0.3, min_batch=2)
_TEXTBOOK_NETS = st.one_of(
    dst.problems(losses=("cross_entropy",), min_depth=2, max_depth=4, **_SMOOTH),
    dst.problems(losses=("squared_error",), output_activations=("identity",), min_depth=2, max_depth=4, **_SMOOTH),
)


def _error_visible(p, wrong, name, dtype=np.float64):
    """The planted error in leaf ``name`` is not negligible (relative 1e-3 of the gradient, and
    not tiny absolutely): otherwise no method could tell it from the right one."""
    right = _leaf(_right(p.net, _as64(p), p.x.astype(np.float64), p.y), name)
    err = np.linalg.norm(_leaf(wrong, name) - right)
    return err > 1e-3 * np.linalg.norm(right) and err > 1e-6


def _assert_localised(p, candidate, corrupted, dtype=np.float64):
    wrong = candidate(p.net, p.params, p.x, p.y)
    bad = {n for n in corrupted if _error_visible(p, wrong, n)}
    assume(bad)
    r = taylor_test(p.net, p.params, p.x, p.y, candidate=candidate, per_parameter=True)
    v = _verdicts(r)
    for name in _leaf_names(p.net):
        if name in bad:
            assert v[name] is False, (name, str(r))
            d = {q.name: q for q in r.parameters}[name].worst
            assert abs(d.order - 1) < 0.5, (name, d.order)
        elif name not in corrupted:
            assert v[name] is not False, (name, str(r))
    assert r.ok is False


@_SLOW
@given(dst.problems(kink_margin=KINK_MARGIN, max_depth=3, min_scale=0.3), st.data())
def test_one_leaf_scaled_by_1_5(p, data):
    name = data.draw(st.sampled_from(_leaf_names(p.net)))
    _assert_localised(p, _scaled(name, 1.5), {name})


@_SLOW
@given(dst.problems(kink_margin=KINK_MARGIN, max_depth=3, min_scale=0.3), st.data())
def test_one_leaf_sign_flipped(p, data):
    name = data.draw(st.sampled_from(_leaf_names(p.net)))
    _assert_localised(p, _scaled(name, -1.0), {name})


@_SLOW
@given(dst.problems(kink_margin=KINK_MARGIN, max_depth=3, min_scale=0.3, bias=True, min_batch=2,
                    reductions=("sum",)))
def test_bias_averaged_instead_of_summed(p):
    _assert_localised(p, _bias_averaged, {n for n in _leaf_names(p.net) if n[0] == "b"})


@_SLOW
@given(_TEXTBOOK_NETS)
def test_textbook_backprop_is_right(p):
    # The control for the next test: the same hand-written backprop without the mistake.
    r = taylor_test(p.net, p.params, p.x, p.y, candidate=_textbook(), per_parameter=True)
    assert r.ok is not False, str(r)


@_SLOW
@given(_TEXTBOOK_NETS, st.data())
def test_dropped_fprime_in_one_layer(p, data):
    # Dropping f'(z_k) corrupts δ_k and every δ below it: W, b of layers 1..k; layers above stay right.
    k = data.draw(st.integers(1, p.net.n_layers - 1))
    corrupted = {n for n in _leaf_names(p.net) if int(n[1:]) <= k}
    _assert_localised(p, _textbook(drop_fprime_at=k), corrupted)


@_SLOW
@given(dst.problems(kink_margin=KINK_MARGIN, max_depth=3, min_scale=0.3, dtype=np.float32), st.data())
def test_one_leaf_scaled_float32(p, data):
    name = data.draw(st.sampled_from(_leaf_names(p.net)))

    def candidate(net, params, x, y):  # the right gradient in float64, scaled, handed over as float32
        g = [list(pair) for pair in _right(net, _as64(p), p.x.astype(np.float64), y)]
        l, k = int(name[1:]) - 1, "Wb".index(name[0])
        g[l][k] = 1.5 * g[l][k]
        return [tuple(None if v is None else v.astype(np.float32) for v in pair) for pair in g]

    wrong = candidate(p.net, p.params, p.x, p.y)
    assume(_error_visible(p, wrong, name))
    r = taylor_test(p.net, p.params, p.x, p.y, candidate=candidate, per_parameter=True)
    v = _verdicts(r)
    # float32: the floor leaves 3–8 usable steps, so a small error may not show (no verdict or
    # order 2), but a verdict on another leaf is never "wrong".
    for other in _leaf_names(p.net):
        if other != name:
            assert v[other] is not False, (other, str(r))


def test_float32_wrong_leaf_order_1_on_a_plain_net():
    rng = np.random.default_rng(5)
    net = bp.Network((4, 5, 3), ("sigmoid", "softmax"), "cross_entropy")
    params = [(rng.normal(size=s[0]).astype(np.float32), rng.normal(size=s[1]).astype(np.float32))
              for s in net.shapes()]
    x, y = rng.normal(size=(8, 4)).astype(np.float32), rng.integers(0, 3, 8)
    right = taylor_test(net, params, x, y, per_parameter=True)
    assert right.ok is True and all(d.n_usable >= 3 for d in right.directions)
    r = taylor_test(net, params, x, y, candidate=_scaled("W1", 1.5), per_parameter=True)
    assert _verdicts(r) == {"W1": False, "b1": True, "W2": True, "b2": True}, str(r)
    assert abs(r.order - 1) < 0.3


# ---------------------------------------------------------------------------
# Interface: result, report text, JSON, arguments
# ---------------------------------------------------------------------------

def _small():
    rng = np.random.default_rng(6)
    net = bp.Network((4, 3, 3), ("sigmoid", "softmax"), "cross_entropy")
    params = [(rng.normal(size=s[0]), rng.normal(size=s[1])) for s in net.shapes()]
    return net, params, rng.normal(size=(5, 4)), rng.integers(0, 3, 5)


def test_to_dict_keys_and_json():
    net, params, x, y = _small()
    r = taylor_test(net, params, x, y, per_parameter=True, n_directions=2)
    d = r.to_dict()
    for key in ("order", "ok", "steps", "r0", "r1", "orders", "parameters", "used", "dropped", "evaluations",
                "dtype"):
        assert key in d
    assert [p["name"] for p in d["parameters"]] == ["W1", "b1", "W2", "b2"]
    assert all({"name", "order", "ok"} <= set(p) for p in d["parameters"])
    assert len(d["orders"]) == len(d["steps"]) - 1 == len(d["r1"]) - 1
    assert d["evaluations"] > 0 and d["dtype"] == "float64"
    for drop in d["dropped"]:
        assert drop["reason"] in ("above", "gap", "sign", "kink", "isolated", "floor") and drop["why"]
    json.dumps(r.to_dict(ladder=True))
    assert "parameters" not in taylor_test(net, params, x, y).to_dict()
    # A right gradient in float64: the steps below the used ones are dropped at the rounding floor.
    assert [x["reason"] for x in d["dropped"]][-1] == "floor" and d["used"]["count"] == 8
    assert all(h_small < h_big for h_big, h_small in zip(d["steps"], d["steps"][1:]))


def test_several_directions_in_one_line():
    net, params, x, y = _small()
    r = taylor_test(net, params, x, y, n_directions=3, seed=1)
    assert len(r.directions) == 3 and r.ok is True
    assert r.lines()[0].split()[3].count("/") == 2  # "taylor  all  order 2.00/2.00/2.01 ok ..."


def test_lines_one_per_parameter():
    net, params, x, y = _small()
    lines = taylor_test(net, params, x, y, per_parameter=True, candidate=_scaled("b1", 1.5)).lines()
    assert len(lines) == 5 and lines[0].startswith("taylor  all")
    b1 = next(l for l in lines if l.startswith("taylor  b1"))
    W2 = next(l for l in lines if l.startswith("taylor  W2"))
    assert "order 1.0" in b1 and "WRONG" in b1 and "g is wrong along v" in b1
    assert "order 2.0" in W2 and " ok " in W2


def test_gradients_keyword_skips_the_candidate():
    net, params, x, y = _small()

    def never(*args):
        raise AssertionError("the candidate must not be called when gradients= is given")

    g = _right(net, params, x, y)
    r = taylor_test(net, params, x, y, candidate=never, gradients=g)
    assert r.ok is True and r.candidate.endswith("never")


def test_user_steps_all_used_above_the_floor():
    net, params, x, y = _small()
    steps = [1e-2 * 0.5 ** k for k in range(6)]
    r = taylor_test(net, params, x, y, steps=steps)
    d = r.directions[0]
    assert np.allclose(d.steps, steps) and len(d.orders) == 5 and r.ok is True


def test_inputs_untouched_and_seed_reproducible():
    net, params, x, y = _small()
    before = [(W.copy(), b.copy()) for W, b in params], x.copy(), y.copy()
    a = taylor_test(net, params, x, y, seed=7, per_parameter=True).to_dict()
    b = taylor_test(net, params, x, y, seed=7, per_parameter=True).to_dict()
    a.pop("seconds"), b.pop("seconds")
    assert a == b
    for (W, bb), (W0, b0) in zip(params, before[0]):
        assert np.array_equal(W, W0) and np.array_equal(bb, b0)
    assert np.array_equal(x, before[1]) and np.array_equal(y, before[2])


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(gradients=[(np.zeros((4, 3)), np.zeros(3))]), ValueError, "one (dW, db) pair per layer"),
    (dict(gradients=[(np.zeros((3, 4)), np.zeros(3)), (np.zeros((3, 3)), np.zeros(3))]), ValueError,
     "gradients[0][0] (dW1) must have shape (4, 3)"),
    (dict(gradients=[(np.zeros((4, 3)), None), (np.zeros((3, 3)), np.zeros(3))]), ValueError,
     "gradients[0][1] (db1) is None"),
    (dict(gradients=[(np.full((4, 3), np.nan), np.zeros(3)), (np.zeros((3, 3)), np.zeros(3))]), ValueError,
     "NaN"),
    (dict(candidate="manual_bp"), TypeError, "candidate must be a function"),
    (dict(n_directions=0), ValueError, "n_directions must be >= 1"),
    (dict(n_directions=1.0), TypeError, "n_directions must be an int"),
    (dict(per_parameter="yes"), TypeError, "per_parameter must be True or False"),
    (dict(steps=[1e-3, 1e-2]), ValueError, "strictly decreasing"),
    (dict(steps=[1e-3]), ValueError, "at least 2 positive"),
    (dict(steps=[1e-2, -1e-3]), ValueError, "at least 2 positive"),
    (dict(seed=-1), ValueError, "seed"),
])
def test_bad_arguments_are_named(kwargs, exc, words):
    net, params, x, y = _small()
    with pytest.raises(exc, match=None) as info:
        taylor_test(net, params, x, y, **kwargs)
    assert words in str(info.value)


def test_plot_taylor(tmp_path):
    pytest.importorskip("matplotlib")
    net, params, x, y = _small()
    r = taylor_test(net, params, x, y, per_parameter=True, candidate=_scaled("W2", 1.5))
    out = tmp_path / "taylor.png"
    plot_taylor(r, out)
    assert out.stat().st_size > 10_000 and out.read_bytes()[:4] == b"\x89PNG"


def test_plot_taylor_names_the_missing_dependency(monkeypatch):
    import sys

    net, params, x, y = _small()
    r = taylor_test(net, params, x, y)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        plot_taylor(r, "unused.png")
    with pytest.raises(TypeError, match="TaylorResult"):
        plot_taylor(r.to_dict(), "unused.png")
    assert isinstance(r, TaylorResult)


# ---------------------------------------------------------------------------
# The round-1 catalogue (tests/test_catches_bugs.py): the Taylor test alone finds every mutant
# ---------------------------------------------------------------------------

def _catalogue():
    from test_catches_bugs import MUTANTS

    return MUTANTS


@pytest.mark.parametrize("name, patches, kwargs", _catalogue(), ids=[m[0] for m in _catalogue()])
def test_taylor_finds_every_catalogued_mutant(monkeypatch, name, patches, kwargs):
    from hypothesis import find

    from test_catches_bugs import _FIND

    for obj, attr, value in patches:
        monkeypatch.setattr(obj, attr, value)

    def wrong(p):
        return taylor_test(p.net, p.params, p.x, p.y).ok is False

    p = find(dst.problems(kink_margin=KINK_MARGIN, **kwargs), wrong, settings=_FIND)
    r = taylor_test(p.net, p.params, p.x, p.y)
    assert abs(r.order - 1) < 0.5, str(r)  # found as order 1, not as some stray order


def test_user_steps_need_not_be_halvings():
    # Orders are slopes in log–log, so steps a factor 10 apart still read 2 (and 1 when wrong).
    net, params, x, y = _small()
    steps = [1e-1 * 10.0 ** -k for k in range(5)]
    assert np.allclose(taylor_test(net, params, x, y, steps=steps).directions[0].orders, 2, atol=0.1)
    d = taylor_test(net, params, x, y, steps=steps, candidate=_scaled("W1", 1.5)).directions[0]
    assert d.ok is False and abs(d.orders[-1] - 1) < 0.1
