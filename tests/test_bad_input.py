"""Malformed input is refused -- with the right exception type, a message
naming the argument and what was expected, before any computation -- by
every public function of manual_bp and reference, and nothing the caller
passed is changed.

The main property takes a valid ``reference.strategies.problems()`` example,
breaks it in exactly one way chosen by Hypothesis (one of :data:`MUTATIONS`)
and calls every function the broken argument reaches.  manual_bp and the
reference must give the same answer: one conversion policy for both (see
``manual_bp/_validate.py``): ``x``/``y`` int or float, converted to the
params' dtype; params float32/float64 numpy arrays; bool, complex, object and
string arrays a TypeError; NaN, infinities, wrong shapes, out-of-range labels
and targets the loss is not defined on a ValueError.
"""
from __future__ import annotations

import re
import types
from typing import Callable, NamedTuple

import numpy as np
import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st

import manual_bp as bp
import reference as ref
from reference import strategies as dst

NOT_FINITE = (np.nan, np.inf, -np.inf)
NOT_FINITE_MESSAGE = r"contains NaN or infinite values; pass finite numbers$"


class Case(NamedTuple):
    """One malformed call: ``calls`` maps a function's name to a thunk calling it."""

    kind: str
    calls: dict[str, Callable[[], object]]
    inputs: tuple  # everything passed, to check that nothing was modified
    exc: type
    match: str | dict  # regex the message must match (names the argument), or one per function

    def __repr__(self) -> str:
        return f"Case({self.kind}, {self.exc.__name__}, {self.match!r})"


# --- the functions a broken (net, params, x, y) reaches --------------------

def _batch_calls(net, params, x, y) -> dict:
    a = (net, params, x, y)
    return {
        "bp.loss": lambda: bp.loss(*a),
        "bp.deltas": lambda: bp.deltas(*a),
        "bp.gradients": lambda: bp.gradients(*a),
        "bp.loss_and_gradients": lambda: bp.loss_and_gradients(*a),
        "bp.train": lambda: bp.train(*a, lr=0.1, epochs=1, batch_size=1),
        "ref.loss": lambda: ref.loss(*a),
        "ref.gradients": lambda: ref.gradients(*a),
        "ref.deltas": lambda: ref.deltas(*a),
        "ref.fast_derivatives": lambda: ref.fast_derivatives(*a),
        "ref.central_difference_gradients": lambda: ref.central_difference_gradients(*a),
        "ref.complex_step_gradients": lambda: ref.complex_step_gradients(*a),
        "ref.directional_derivatives": lambda: ref.directional_derivatives(*a, n_directions=2),
    }


def _x_calls(net, params, x, y) -> dict:
    """Broken net, params or x: also the functions that take no y."""
    return {
        **_batch_calls(net, params, x, y),
        "bp.forward": lambda: bp.forward(net, params, x),
        "bp.predict": lambda: bp.predict(net, params, x),
        "ref.kink_distance": lambda: ref.kink_distance(net, params, x),
    }


# --- one way of breaking a valid problem per mutation ----------------------

#: name -> (keyword arguments for dst.problems, mutate(draw, problem) -> Case)
MUTATIONS: dict[str, tuple[dict, Callable]] = {}


def mutation(**problem_kwargs):
    def register(fn):
        MUTATIONS[fn.__name__] = (problem_kwargs, fn)
        return fn
    return register


def _index(draw, shape) -> tuple:
    return tuple(draw(st.integers(0, n - 1)) for n in shape)


def _poke(draw, arr, values):
    """A copy of ``arr`` with one entry set to a value drawn from ``values``."""
    out = arr.copy()
    out[_index(draw, arr.shape)] = draw(st.sampled_from(values))
    return out


def _leaf(draw, p):
    """A parameter array to break: ``(l, i, name, array)`` with ``i`` 0 for W, 1 for b."""
    leaves = [(l, i, f"{'Wb'[i]}{l + 1}", v) for l, pair in enumerate(p.params) for i, v in enumerate(pair)
              if v is not None]
    return draw(st.sampled_from(leaves))


def _with(params, l, i, value) -> list:
    out = [tuple(pair) for pair in params]
    pair = list(out[l])
    pair[i] = value
    out[l] = tuple(pair)
    return out


def _rows(p) -> np.ndarray:
    """The targets as float rows (class labels one-hot)."""
    return (np.eye(p.net.sizes[-1])[p.y] if p.y.ndim == 1 else p.y).astype(p.x.dtype)


_KEEP = object()


def _case(kind, p, *, x=_KEEP, y=_KEEP, params=_KEEP, net=_KEEP, exc, match, manual_match=None,
          calls=_x_calls) -> Case:
    """``p`` with the given arguments replaced (None is a replacement too);
    ``manual_match``, if given, is the message regex for the manual_bp functions."""
    args = tuple(p_arg if new is _KEEP else new
                 for p_arg, new in zip((p.net, p.params, p.x, p.y), (net, params, x, y)))
    thunks = calls(*args)
    if manual_match is not None:
        match = {name: manual_match if name.startswith("bp.") else match for name in thunks}
    return Case(kind, thunks, args, exc, match)


def _not_real(draw, arr, name):
    """``arr`` as a bool, complex, object, string or ragged array-like, with the message
    regex for the reference and for manual_bp (which adds a hint for booleans)."""
    how = draw(st.sampled_from(["bool", "complex", "object", "str", "ragged"]))
    if how == "ragged":
        match = rf"^{name} must be a numeric array"
        return [[0.0], [0.0, 1.0]], match, match
    bad = {"bool": lambda: arr > 0, "complex": lambda: arr + 0j, "object": lambda: arr.astype(object),
           "str": lambda: arr.astype(str)}[how]()
    match = rf"^{name} must be a real numeric array \(int or float\), got dtype {bad.dtype}"
    hint = re.escape("; convert booleans explicitly, e.g. x.astype(float)") if how == "bool" else ""
    return bad, match + "$", match + hint + "$"


@mutation()
def x_wrong_width(draw, p):
    n = p.x.shape[1]
    x = p.x[:, : n - 1] if n > 1 and draw(st.booleans()) else np.hstack([p.x, p.x[:, :1]])
    return _case("x_wrong_width", p, x=x, exc=ValueError,
                 match=rf"^x must have shape \(n_batch, {n}\).*got {re.escape(str(x.shape))}; reshape a single sample with x\[None, :\]$")


@mutation()
def x_wrong_rank(draw, p):
    x = draw(st.sampled_from([p.x[0], p.x[None], p.x[0, 0]]))
    return _case("x_wrong_rank", p, x=x, exc=ValueError, match=rf"^x must have shape \(n_batch, {p.x.shape[1]}\)")


@mutation()
def x_empty_batch(draw, p):
    return _case("x_empty_batch", p, x=p.x[:0], y=p.y[:0], exc=ValueError, match=r"^x .*n_batch")


@mutation()
def x_not_finite(draw, p):
    return _case("x_not_finite", p, x=_poke(draw, p.x, NOT_FINITE), exc=ValueError,
                 match=r"^x contains NaN or infinite")


@mutation()
def x_not_real(draw, p):
    x, match, manual = _not_real(draw, p.x, "x")
    return _case("x_not_real", p, x=x, exc=TypeError, match=match, manual_match=manual)


@mutation(dtype=np.float32)
def x_beyond_float32(draw, p):
    x = _poke(draw, p.x.astype(np.float64), (1e39, -1e300))
    return _case("x_beyond_float32", p, x=x, exc=ValueError, match=r"^x has values beyond the float32 range")


@mutation()
def batch_sizes_differ(draw, p):
    y = p.y[:-1] if len(p.y) > 1 and draw(st.booleans()) else np.concatenate([p.y, p.y[:1]])
    # "y has 3 rows but x has 4 samples" or "y must have shape (4, 2), got (3, 2)"
    m, n = len(y), len(p.x)
    return _case("batch_sizes_differ", p, y=y, exc=ValueError,
                 match=rf"^y has {m} (rows|labels) but x has {n} samples|^y (as class labels )?must have shape \({n},.*got \({m},",
                 calls=_batch_calls)


@mutation()
def y_wrong_shape(draw, p):
    y = _rows(p)
    y = draw(st.sampled_from([np.hstack([y, y[:, :1]]), y[None]] + ([y[:, :-1]] if y.shape[1] > 1 else [])))
    k, n = p.net.sizes[-1], len(p.x)
    hint = rf" or integer class labels of shape \((n_batch|{n}),\)" if p.net.loss == "cross_entropy" else ""
    return _case("y_wrong_shape", p, y=y, exc=ValueError,
                 match=rf"^y must have shape \((n_batch|{n}), {k}\){hint}, got {re.escape(str(y.shape))}$",
                 calls=_batch_calls)


@mutation()
def y_not_finite(draw, p):
    return _case("y_not_finite", p, y=_poke(draw, _rows(p), NOT_FINITE), exc=ValueError,
                 match=r"^y contains NaN or infinite", calls=_batch_calls)


@mutation()
def y_not_real(draw, p):
    y, match, manual = _not_real(draw, p.y, "y")
    return _case("y_not_real", p, y=y, exc=TypeError, match=match, manual_match=manual, calls=_batch_calls)


@mutation(dtype=np.float32, losses=("squared_error",))
def y_beyond_float32(draw, p):
    y = _poke(draw, p.y.astype(np.float64), (1e39, -1e300))
    return _case("y_beyond_float32", p, y=y, exc=ValueError, match=r"^y has values beyond the float32 range",
                 calls=_batch_calls)


@mutation(losses=("cross_entropy",), labels=True)
def labels_out_of_range(draw, p):
    k = p.net.sizes[-1]
    if draw(st.booleans()):  # as an index, a uint64 label past 2**63 wraps to a negative one
        y = _poke(draw, p.y.astype(np.uint64), (k, k + 7, 2**63, 2**64 - 1))
    else:
        y = _poke(draw, p.y, (-1, k, k + 7))
    return _case("labels_out_of_range", p, y=y, exc=ValueError,
                 match=rf"^class labels y must lie in \[0, {k}\)", calls=_batch_calls)


@mutation(losses=("cross_entropy",), labels=True)
def labels_not_integers(draw, p):
    return _case("labels_not_integers", p, y=p.y.astype(np.float64), exc=TypeError,
                 match=r"^class labels y must be integers", calls=_batch_calls)


@mutation(losses=("squared_error", "binary_cross_entropy"))
def labels_without_classes(draw, p):
    y = np.zeros(p.x.shape[0], dtype=draw(st.sampled_from([np.int64, np.int32, np.uint8])))
    return _case("labels_without_classes", p, y=y, exc=ValueError,
                 match=r"^y as integer class labels needs loss cross_entropy", calls=_batch_calls)


@mutation(losses=("cross_entropy",), labels=False)
def targets_not_probability_rows(draw, p):
    y, n = p.y.copy(), draw(st.integers(0, p.y.shape[0] - 1))
    if p.y.shape[1] > 1 and draw(st.booleans()):
        y[n] = 0.0
        y[n, 0], y[n, 1] = -0.25, 1.25  # sums to 1, but a negative "probability"
    else:
        y[n] *= draw(st.sampled_from([0.5, 1.5, 3.0]))
    return _case("targets_not_probability_rows", p, y=y, exc=ValueError,
                 match=r"^cross_entropy targets y must be probability rows \(.*\) or integer class labels$",
                 calls=_batch_calls)


@mutation(losses=("binary_cross_entropy",))
def targets_outside_unit_interval(draw, p):
    return _case("targets_outside_unit_interval", p, y=_poke(draw, p.y, (-0.1, 1.5, 2.0)), exc=ValueError,
                 match=r"^binary_cross_entropy targets y must lie in \[0, 1\], got",
                 calls=_batch_calls)


@mutation()
def params_wrong_length(draw, p):
    params = p.params[:-1] if draw(st.booleans()) else p.params + [p.params[-1]]
    return _case("params_wrong_length", p, params=params, exc=ValueError, match=r"^params (has|needs) \d+")


@mutation()
def params_not_a_list(draw, p):
    params = draw(st.sampled_from([None, 3, "params", np.zeros(3), p.params[0][0]]))
    return _case("params_not_a_list", p, params=params, exc=TypeError,
                 match=rf"^params must be a list of \(W, b\) pairs, .*got {type(params).__name__}$")


@mutation()
def pair_malformed(draw, p):
    l = draw(st.integers(0, len(p.params) - 1))
    W, b = p.params[l]
    pair = draw(st.sampled_from([W, (W,), (W, b, b), "Wb", None]))
    params = list(p.params)
    params[l] = pair
    return _case("pair_malformed", p, params=params, exc=TypeError,
                 match=rf"^params\[{l}\] must be a \(W, b\) pair, got {type(pair).__name__}$")


@mutation()
def weight_wrong_shape(draw, p):
    l = draw(st.integers(0, len(p.params) - 1))
    W = p.params[l][0]
    bad = draw(st.sampled_from([np.vstack([W, W[:1]]), np.hstack([W, W[:, :1]]), W[None], W.ravel()]))
    return _case("weight_wrong_shape", p, params=_with(p.params, l, 0, bad), exc=ValueError,
                 match=rf"^params\[{l}\]\[0\] \(W{l + 1}\) (has|must have) shape")


@mutation(bias=True)
def bias_wrong_shape(draw, p):
    l = draw(st.integers(0, len(p.params) - 1))
    b = p.params[l][1]
    bad = draw(st.sampled_from([np.concatenate([b, b[:1]]), b[None], b[:, None]]))
    return _case("bias_wrong_shape", p, params=_with(p.params, l, 1, bad), exc=ValueError,
                 match=rf"^params\[{l}\]\[1\] \(b{l + 1}\) (has|must have) shape")


@mutation(bias=True)
def bias_missing(draw, p):
    l = draw(st.integers(0, len(p.params) - 1))
    return _case("bias_missing", p, params=_with(p.params, l, 1, None), exc=ValueError,
                 match=rf"^params\[{l}\]\[1\] \(b{l + 1}\) is None but net.bias\[{l}\] is True")


@mutation(bias=False)
def bias_extra(draw, p):
    l = draw(st.integers(0, len(p.params) - 1))
    b = np.zeros(p.net.sizes[l + 1], p.x.dtype)
    return _case("bias_extra", p, params=_with(p.params, l, 1, b), exc=ValueError,
                 match=rf"^params\[{l}\]\[1\] \(b{l + 1}\) must be None")


@mutation()
def param_not_float(draw, p):
    l, i, name, v = _leaf(draw, p)
    how = draw(st.sampled_from(["int", "float16", "complex", "object", "bool", "list"]))
    bad = v.tolist() if how == "list" else (v > 0) if how == "bool" else v.astype(how)
    got = "list" if how == "list" else bad.dtype
    return _case("param_not_float", p, params=_with(p.params, l, i, bad), exc=TypeError,
                 match=rf"^params\[{l}\]\[{i}\] \({name}\) must be a float32 or float64 numpy array, got {got}\b")


@mutation(min_depth=2)
def params_mixed_dtypes(draw, p):
    l, i, name, v = _leaf(draw, p)
    other = np.float32 if v.dtype == np.float64 else np.float64
    return _case("params_mixed_dtypes", p, params=_with(p.params, l, i, v.astype(other)), exc=TypeError,
                 match=r"^params\[\d+\]\[[01]\] \([Wb]\d+\) is float\d+ but params\[0\]\[0\]")


@mutation()
def param_not_finite(draw, p):
    l, i, name, v = _leaf(draw, p)
    return _case("param_not_finite", p, params=_with(p.params, l, i, _poke(draw, v, NOT_FINITE)), exc=ValueError,
                 match=rf"^params\[{l}\]\[{i}\] \({name}\) contains NaN or infinite")


@mutation()
def net_not_a_network(draw, p):
    net = draw(st.sampled_from([None, "4-3-3", p.net.sizes, {"sizes": p.net.sizes}]))
    return _case("net_not_a_network", p, net=net, exc=TypeError,
                 match=rf"^net must be a manual_bp.Network.* got {type(net).__name__}\b")


# Scalar arguments: the learning rate, counts, step sizes.

BAD_POSITIVE = [(0, ValueError), (-0.1, ValueError), (np.nan, ValueError), (np.inf, ValueError),
                ("0.1", TypeError), (True, TypeError), (None, TypeError), (1j, TypeError)]


@mutation()
def learning_rate_not_positive(draw, p):
    lr, exc = draw(st.sampled_from(BAD_POSITIVE))
    grads = bp.gradients(p.net, p.params, p.x, p.y)
    calls = {"bp.train": lambda: bp.train(p.net, p.params, p.x, p.y, lr=lr),
             "bp.sgd_step": lambda: bp.sgd_step(p.params, grads, lr)}
    return Case("learning_rate_not_positive", calls, (p.net, p.params, p.x, p.y, grads), exc, r"^lr must be a positive")


@mutation()
def tolerance_not_positive(draw, p):
    tol, exc = draw(st.sampled_from(BAD_POSITIVE[:-3]))
    calls = {"bp.train": lambda: bp.train(p.net, p.params, p.x, p.y, lr=0.1, tol=tol)}
    return Case("tolerance_not_positive", calls, (p.net, p.params, p.x, p.y), exc, r"^tol must be a positive")


@mutation()
def count_not_positive(draw, p):
    arg, value = draw(st.sampled_from([("epochs", -1), ("batch_size", 0), ("batch_size", -2)]))
    calls = {"bp.train": lambda: bp.train(p.net, p.params, p.x, p.y, lr=0.1, **{arg: value})}
    return Case("count_not_positive", calls, (p.net, p.params, p.x, p.y), ValueError, rf"^{arg} must be")


@mutation()
def directions_not_positive(draw, p):
    k, exc = draw(st.sampled_from([(0, ValueError), (-3, ValueError), (2.0, TypeError), (True, TypeError),
                                   ("2", TypeError)]))
    calls = {"ref.directional_derivatives":
             lambda: ref.directional_derivatives(p.net, p.params, p.x, p.y, n_directions=k)}
    return Case("directions_not_positive", calls, (p.net, p.params, p.x, p.y), exc, r"^n_directions must be")


@mutation()
def seed_invalid(draw, p):
    seed, exc = draw(st.sampled_from([(-1, ValueError), (1.5, TypeError), ("0", TypeError)]))
    calls = {"bp.init_params": lambda: bp.init_params(p.net, seed),
             "ref.directional_derivatives":
             lambda: ref.directional_derivatives(p.net, p.params, p.x, p.y, seed=seed)}
    return Case("seed_invalid", calls, (p.net, p.params, p.x, p.y), exc, r"^seed must be an int >= 0")


@st.composite
def malformed(draw, kinds=tuple(MUTATIONS)):
    kind = draw(st.sampled_from(kinds))
    problem_kwargs, mutate = MUTATIONS[kind]
    kw = dict(max_depth=3, max_width=4, max_batch=4)
    kw.update(problem_kwargs)
    return mutate(draw, draw(dst.problems(**kw)))


# --- snapshots: nothing the caller passed may change -----------------------

def _arrays(obj) -> list:
    if isinstance(obj, np.ndarray):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [a for sub in obj for a in _arrays(sub)]
    return []


def _snapshot(inputs) -> list:
    return [(a, a.shape, a.dtype, a.copy()) for a in _arrays(inputs)]


def _assert_unchanged(snapshot) -> None:
    for a, shape, dtype, copy in snapshot:
        assert a.shape == shape and a.dtype == dtype
        if dtype.kind == "O":
            assert all(u is v for u, v in zip(a.ravel(), copy.ravel()))
        else:
            assert a.tobytes() == copy.tobytes(), "an input array was modified"


def _assert_refused(case: Case) -> None:
    snapshot = _snapshot(case.inputs)
    # The exact kind: a TypeError where a ValueError belongs is a wrong answer.
    wrong = ValueError if case.exc is TypeError else TypeError
    for name, call in case.calls.items():
        try:
            call()
        except (TypeError, ValueError) as exc:
            assert isinstance(exc, case.exc) and not isinstance(exc, wrong), \
                f"{name}: {type(exc).__name__}({exc}) for {case!r}"
            match = case.match[name] if isinstance(case.match, dict) else case.match
            assert re.search(match, str(exc)), f"{name}: message {str(exc)!r} for {case!r}"
        else:
            raise AssertionError(f"{name} accepted {case!r}")
    _assert_unchanged(snapshot)


@settings(max_examples=examples(0.5))
@given(malformed())
def test_malformed_input_is_refused_by_every_function(case):
    _assert_refused(case)


@pytest.mark.parametrize("kind", sorted(MUTATIONS))
@settings(max_examples=5, database=None)
@given(data=st.data())
def test_every_mutation_kind_is_exercised(kind, data):
    # The main property draws kinds at random; this makes sure each kind runs.
    _assert_refused(data.draw(malformed(kinds=(kind,))))


# --- the conversion policy, positively --------------------------------------

@settings(max_examples=examples(0.02))
@given(dst.problems(max_depth=2, max_width=4, max_batch=4, losses=("squared_error",)))
def test_integer_inputs_are_converted_to_the_params_dtype(p):
    xi = np.round(p.x * 3).astype(np.int64)
    yi = np.round(p.y * 3).astype(np.int32)
    xf, yf = xi.astype(p.x.dtype), yi.astype(p.x.dtype)
    for fn in (bp.gradients, ref.complex_step_gradients):
        got, want = fn(p.net, p.params, xi, yi), fn(p.net, p.params, xf, yf)
        for (dW, db), (eW, eb) in zip(got, want):
            np.testing.assert_array_equal(dW, eW)
            assert dW.dtype == p.x.dtype
            if db is not None:
                np.testing.assert_array_equal(db, eb)
    assert bp.loss(p.net, p.params, xi, yi) == bp.loss(p.net, p.params, xf, yf)


def test_float64_data_with_float32_params_follows_the_params():
    net = bp.Network((3, 2), "tanh", "squared_error")
    p32 = bp.init_params(net, 0, dtype=np.float32)
    x, y = np.ones((2, 3)), np.zeros((2, 2))
    assert {a.dtype for pair in bp.gradients(net, p32, x, y) for a in pair} == {np.dtype(np.float32)}
    assert bp.predict(net, p32, x).dtype == np.float32


def test_float32_targets_get_float32_rounding_room():
    net = bp.Network((2, 3), "softmax", "cross_entropy")
    y = np.array([[0.5, 0.25, 0.25 + 1e-5]])  # a row off by 1e-5: float32 rounding, float64 error
    for dtype, ok in [(np.float32, True), (np.float64, False)]:
        params, x = bp.init_params(net, 0, dtype=dtype), np.ones((1, 2), dtype)
        for fn in (bp.gradients, ref.complex_step_gradients):
            if ok:
                fn(net, params, x, y)
            else:
                with pytest.raises(ValueError, match="off by 1e-05"):
                    fn(net, params, x, y)


def test_values_at_the_float32_limit_are_accepted():
    # float64 data exactly at ±float32 max cast exactly; only beyond it is refused.
    net = bp.Network((2, 1), "identity", "squared_error", bias=False)
    params = [(np.full((2, 1), 1e-30, np.float32), None)]
    big = float(np.finfo(np.float32).max)
    x = np.array([[big, -big], [-big, 0.0]])
    np.testing.assert_allclose(bp.predict(net, params, x), [[0.0], [-big * 1e-30]], rtol=1e-6)
    assert ref.kink_distance(net, params, x) == np.inf
    with pytest.raises(ValueError, match="beyond the float32 range"):
        bp.predict(net, params, x * (1 + 1e-15) * 1.0000001)


# --- constructors, helpers and duck-typed nets -------------------------------

def _ids(table):
    """Plain test ids (row number, start of the message regex): mutmut re-selects
    tests by id, and pytest cannot find ids holding a regex's brackets again."""
    return [f"{i}-" + re.sub(r"[^A-Za-z0-9]+", "_", row[-1]).strip("_")[:40] for i, row in enumerate(table)]


NET = dict(sizes=(4, 3, 2), activations=("tanh", "softmax"), loss="cross_entropy")


NETWORK_SPECS = [
    (dict(sizes="433"), TypeError, r"^sizes must be a sequence"),
    (dict(sizes=None), TypeError, r"^sizes must be a sequence"),
    (dict(sizes=(4,), activations=()), ValueError, r"^sizes needs"),
    (dict(sizes=(4, 0, 2)), ValueError, r"^sizes\[1\] must be a positive width"),
    (dict(sizes=(4, -3, 2)), ValueError, r"^sizes\[1\] must be a positive width"),
    (dict(sizes=(4, 3.0, 2)), TypeError, r"^sizes\[1\] must be an int"),
    (dict(sizes=(4, True, 2)), TypeError, r"^sizes\[1\] must be an int"),
    (dict(activations=("tanh",)), ValueError, r"^activations needs one entry per layer"),
    (dict(activations=None), TypeError, r"^activations must be"),
    (dict(activations=("mish", "softmax")), ValueError,
     r"^unknown activation 'mish'; choose one of \[.*'tanh'\] \(aliases .*\), or register your own with "
     r"manual_bp.register_activation$"),
    (dict(activations=(3, "softmax")), TypeError, r"^activation must be a name"),
    (dict(activations=("softmax", "softmax")), ValueError, r"^activations\[0\] is softmax"),
    (dict(loss="hinge"), ValueError, r"^unknown loss 'hinge'; choose one of \[.*'squared_error'\], or register your "
                                    r"own with manual_bp.register_loss$"),
    (dict(loss=None), TypeError, r"^loss must be a name"),
    (dict(activations=("tanh", "sigmoid")), ValueError, r"^loss 'cross_entropy' needs a softmax output"),
    (dict(activations=("tanh", "softmax"), loss="binary_cross_entropy"), ValueError,
     r"^loss 'binary_cross_entropy' needs a sigmoid output"),
    (dict(reduction="avg"), ValueError, r"^reduction must be one of"),
    (dict(half="yes"), TypeError, r"^half must be True or False"),
    (dict(half=True), ValueError, r"^half=True is the ½ of squared error"),
    (dict(bias=(True,)), ValueError, r"^bias needs one flag or one per layer"),
    (dict(bias=(1, 0)), TypeError, r"^bias\[0\] must be True or False"),
    (dict(bias=1), TypeError, r"^bias must be True, False or one flag per layer"),
]


@pytest.mark.parametrize("change, exc, match", NETWORK_SPECS, ids=_ids(NETWORK_SPECS))
def test_network_refuses_bad_specs(change, exc, match):
    with pytest.raises(exc, match=match):
        bp.Network(**{**NET, **change})


@pytest.mark.parametrize("slope, exc", [(np.nan, ValueError), (np.inf, ValueError), ("0.1", TypeError), (True, TypeError)])
def test_leaky_relu_refuses_bad_slopes(slope, exc):
    with pytest.raises(exc, match="slope"):
        bp.LeakyReLU(slope)


INIT_ARGS = [
    (dict(net="net"), TypeError, r"^net must be a manual_bp.Network"),
    (dict(scheme="he"), ValueError, r"^scheme must be one of"),
    (dict(dtype=np.float16), TypeError, r"^dtype must be float32 or float64"),
    (dict(dtype="no such dtype"), TypeError, r"^dtype must be float32 or float64"),
    (dict(seed=-1), ValueError, r"^seed must be an int >= 0"),
    (dict(seed="abc"), TypeError, r"^seed must be an int >= 0"),
    (dict(scheme="doc001", weight_scale=0.0), ValueError, r"^weight_scale must be a positive"),
    (dict(scheme="doc001", weight_scale=np.nan), ValueError, r"^weight_scale must be a positive"),
    (dict(scheme="doc001", bias_value=np.inf), ValueError, r"^bias_value must be a finite number"),
    (dict(scheme="doc001", bias_value="0.1"), TypeError, r"^bias_value must be a finite number"),
]


@pytest.mark.parametrize("kwargs, exc, match", INIT_ARGS, ids=_ids(INIT_ARGS))
def test_init_params_refuses_bad_arguments(kwargs, exc, match):
    kwargs = {"net": bp.Network(**NET), **kwargs}
    with pytest.raises(exc, match=match):
        bp.init_params(kwargs.pop("net"), **kwargs)


def _duck(**change):
    """A net-like object as ``reference`` accepts it (attributes only), with one change."""
    fields = dict(sizes=(2, 3, 2), activations=("tanh", "softmax"), loss="cross_entropy",
                  reduction="sum", half=False, bias=(True, True))
    return types.SimpleNamespace(**{**fields, **change})


DUCK_NETS = [
    (_duck(sizes=(2, 0, 2)), ValueError, r"^net.sizes must be"),
    (_duck(sizes=(2, 1.5, 2)), TypeError, r"^net.sizes\[1\] must be an int"),
    (_duck(activations=("mish", "softmax")), ValueError, r"^net.activations\[0\]: unknown activation 'mish'"),
    (_duck(activations=("softmax", "softmax")), ValueError, r"^net.activations\[0\] is softmax"),
    (_duck(activations=("tanh",)), ValueError, r"^net needs one activation"),
    (_duck(loss="hinge"), ValueError, r"^net.loss: unknown loss 'hinge'"),
    (_duck(activations=("tanh", "tanh")), ValueError, r"^net.loss 'cross_entropy' needs a softmax output"),
    (_duck(reduction="avg"), ValueError, r"^net.reduction must be one of"),
    (_duck(half=True), ValueError, r"^net.half is the ½ of squared error"),
    (_duck(half="no"), TypeError, r"^net.half must be True or False"),
    (_duck(bias=("yes", True)), TypeError, r"^net.bias flags must be True or False"),
]


@pytest.mark.parametrize("net, exc, match", DUCK_NETS, ids=_ids(DUCK_NETS))
def test_reference_refuses_bad_net_specs(net, exc, match):
    params = [(np.zeros((2, 3)), np.zeros(3)), (np.zeros((3, 2)), np.zeros(2))]
    for fn in (ref.loss, ref.gradients, ref.fast_derivatives, ref.complex_step_gradients):
        with pytest.raises(exc, match=match):
            fn(net, params, np.zeros((1, 2)), np.array([0]))


def _tree():
    return [(np.ones((2, 3)), np.ones(3)), (np.ones((3, 1)), None)]


HELPER_CALLS = [
    (lambda t: ref.allclose_tree(t, t, dtype=np.float64, kind="manual"), ValueError, r"^kind must be one of"),
    (lambda t: ref.allclose_tree(t, t, dtype=np.float16, kind="jax"), TypeError, r"^dtype must be float32 or float64"),
    (lambda t: ref.assert_allclose_tree(t, t, dtype="nope", kind="jax"), TypeError, r"^dtype must be float32 or float64"),
    (lambda t: ref.allclose_tree(t, [(t[0][0] + 0j, t[0][1]), t[1]], dtype=np.float64, kind="jax"), TypeError,
     r"^expected\[0\]\[0\] must be a real numeric array"),
    (lambda t: ref.max_error([(t[0][0].astype(object), t[0][1]), t[1]], t), TypeError,
     r"^actual\[0\]\[0\] must be a real numeric array"),
    (lambda t: ref.max_error(t, t[:1]), ValueError, r"^actual and expected do not match"),
    (lambda t: ref.project_gradients(None, [(np.ones((2, 2, 3)), None)]), TypeError, r"^grads must be a list"),
    (lambda t: ref.project_gradients([(np.full((2, 3), np.nan), None)], [(np.ones((2, 2, 3)), None)]), ValueError,
     r"^grads\[0\]\[0\] contains NaN"),
    (lambda t: ref.project_gradients([(np.ones((3, 2)), None)], [(np.ones((2, 2, 3)), None)]), ValueError,
     r"^grads\[0\]\[0\] has shape"),
    (lambda t: ref.project_gradients([(np.ones((2, 3)), None)], [np.ones((2, 2, 3))]), TypeError,
     r"^directions\[0\] must be a pair"),
    (lambda t: ref.project_gradients([(np.ones((2, 3)), np.ones(3))], [(np.ones((2, 2, 3)), None)]), ValueError,
     r"^grads\[0\]\[1\] is an array but the direction's bias is None"),
]


@pytest.mark.parametrize("call, exc, match", HELPER_CALLS, ids=_ids(HELPER_CALLS))
def test_comparison_helpers_refuse_bad_arguments(call, exc, match):
    tree = _tree()
    snapshot = _snapshot(tree)
    with pytest.raises(exc, match=match):
        call(tree)
    _assert_unchanged(snapshot)


def test_directional_method_is_checked():
    net = bp.Network((2, 1), "tanh", "squared_error")
    with pytest.raises(ValueError, match=r"^method must be"):
        ref.directional_derivatives(net, bp.init_params(net), np.ones((1, 2)), np.ones((1, 1)), method="forward")


# --- sgd_step and train --------------------------------------------------------

def _step_case():
    net = bp.Network((2, 3, 1), ("tanh", "identity"), "squared_error")  # both layers with a bias
    params = bp.init_params(net, 0)
    x, y = np.ones((2, 2)), np.zeros((2, 1))
    return net, params, x, y, bp.gradients(net, params, x, y)


def _first(tree, fn):
    """``tree`` with ``fn`` applied to its first leaf."""
    (W, b), *rest = tree
    return [(fn(W), b), *rest]


def _bias_of_last(tree, value):
    *rest, (W, _) = tree
    return [*rest, (W, value)]


#: (name, break(params, grads) -> (params, grads), exception, message regex).
STEP_REFUSALS = [
    ("grads one layer short", lambda p, g: (p, g[:1]), ValueError, r"^grads has 1 layers but params has 2$"),
    ("dW2 of the wrong shape", lambda p, g: (p, [g[0], (g[1][0].T, g[1][1])]), ValueError,
     r"^grads\[1\]\[0\] \(dW2\) has shape \(1, 3\) but W2 has \(3, 1\)$"),
    ("db2 None but b2 an array", lambda p, g: (p, _bias_of_last(g, None)), ValueError,
     r"^grads\[1\]\[1\] \(db2\) must be None exactly when b2 is None$"),
    ("db2 of the wrong shape", lambda p, g: (p, _bias_of_last(g, np.zeros(2))), ValueError,
     r"^grads\[1\]\[1\] \(db2\) has shape \(2,\) but b2 has \(1,\)$"),
    ("NaN gradient", lambda p, g: (p, _first(g, lambda a: np.full_like(a, np.nan))), ValueError,
     r"^grads\[0\]\[0\] \(dW1\) contains NaN"),
    ("inf parameter", lambda p, g: (_first(p, lambda a: np.full_like(a, np.inf)), g), ValueError,
     r"^params\[0\]\[0\] \(W1\) contains NaN"),
    ("NaN bias", lambda p, g: ([(p[0][0], np.full_like(p[0][1], np.nan)), p[1]], g), ValueError,
     r"^params\[0\]\[1\] \(b1\) contains NaN"),
    ("complex gradient", lambda p, g: (p, _first(g, lambda a: a + 0j)), TypeError,
     r"^grads\[0\]\[0\] \(dW1\) must be a float32 or float64"),
    ("list gradient", lambda p, g: (p, _first(g, np.ndarray.tolist)), TypeError,
     r"^grads\[0\]\[0\] \(dW1\) must be a float32 or float64"),
    ("float64 gradients for float32 params",
     lambda p, g: ([(W.astype(np.float32), b.astype(np.float32)) for W, b in p], g), TypeError,
     r"^grads\[0\]\[0\] \(dW1\) is float64 but"),
    ("float32 bias gradient", lambda p, g: (p, [(g[0][0], g[0][1].astype(np.float32)), g[1]]), TypeError,
     r"^grads\[0\]\[1\] \(db1\) is float32 but params\[0\]\[0\] \(W1\) is float64"),
    ("float32 b1", lambda p, g: ([(p[0][0], p[0][1].astype(np.float32)), p[1]], g), TypeError,
     r"^params\[0\]\[1\] \(b1\) is float32 but params\[0\]\[0\] \(W1\) is float64; use one dtype for all params$"),
    ("float32 W2", lambda p, g: ([p[0], (p[1][0].astype(np.float32), p[1][1])], g), TypeError,
     r"^params\[1\]\[0\] \(W2\) is float32 but params\[0\]\[0\] \(W1\) is float64"),
    ("params not a list", lambda p, g: (None, g), TypeError, r"^params must be a list"),
    ("grads not pairs", lambda p, g: (p, [g[0][0], g[1]]), TypeError, r"^grads\[0\] must be a \(W, b\) pair"),
]


@pytest.mark.parametrize("name, broken, exc, match", STEP_REFUSALS, ids=[r[0] for r in STEP_REFUSALS])
def test_sgd_step_refuses(name, broken, exc, match):
    _, params, _, _, grads = _step_case()
    args = broken(params, grads)
    snapshot = _snapshot(args)
    with pytest.raises(exc, match=match):
        bp.sgd_step(*args, 0.1)
    _assert_unchanged(snapshot)


def test_sgd_step_keeps_the_params_dtype():
    _, params, _, _, grads = _step_case()
    p32 = [(W.astype(np.float32), b.astype(np.float32)) for W, b in params]
    g32 = [(W.astype(np.float32), b.astype(np.float32)) for W, b in grads]
    assert {a.dtype for pair in bp.sgd_step(p32, g32, 0.1) for a in pair} == {np.dtype(np.float32)}


@pytest.mark.parametrize("arg, value, exc", [("epochs", 1.5, TypeError), ("epochs", True, TypeError),
                                             ("epochs", -1, ValueError), ("batch_size", 2.5, TypeError),
                                             ("batch_size", True, TypeError), ("batch_size", 0, ValueError),
                                             ("seed", -1, ValueError), ("seed", "s", TypeError)])
def test_train_refuses_bad_counts_and_seeds(arg, value, exc):
    net, params, x, y, _ = _step_case()
    with pytest.raises(exc, match=rf"^{arg} must be"):
        bp.train(net, params, x, y, lr=0.1, **{arg: value})


@pytest.mark.parametrize("sizes", [(4, 3, 3), (400, 200, 10)], ids=["one pass over all", "leaf by leaf"])
def test_non_finite_values_are_named_on_both_finiteness_paths(sizes):
    # Small nets are checked in one concatenated pass and large ones leaf by
    # leaf (manual_bp/_validate.py); either way the culprit must be named.
    from manual_bp._validate import _CONCAT_FINITE_MAX

    net = bp.Network(sizes, ("tanh", "softmax"), "cross_entropy")
    params = bp.init_params(net, 0)
    x, y = np.ones((2, sizes[0])), np.array([0, 1])
    total = sum(v.size for pair in params for v in pair) + x.size
    assert (total > _CONCAT_FINITE_MAX) == (sizes[0] == 400)
    grads = bp.gradients(net, params, x, y)
    for l in range(net.n_layers):
        for j, name in enumerate((f"W{l + 1}", f"b{l + 1}")):
            for bad in NOT_FINITE:
                broken = params[l][j].copy()
                broken.flat[-1] = bad
                with pytest.raises(ValueError, match=rf"^params\[{l}\]\[{j}\] \({name}\) {NOT_FINITE_MESSAGE}"):
                    bp.gradients(net, _with(params, l, j, broken), x, y)
                with pytest.raises(ValueError, match=rf"^grads\[{l}\]\[{j}\] \(d{name}\) {NOT_FINITE_MESSAGE}"):
                    bp.sgd_step(params, _with(grads, l, j, broken), 0.1)
    for bad in NOT_FINITE:
        bad_x = x.copy()
        bad_x[-1, -1] = bad
        with pytest.raises(ValueError, match=rf"^x {NOT_FINITE_MESSAGE}"):
            bp.gradients(net, params, bad_x, y)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint64, np.int32])
def test_unsigned_and_narrow_labels_work_and_wrapping_ones_are_refused(dtype):
    net = bp.Network((2, 3), ("softmax",), "cross_entropy")
    params = bp.init_params(net, 0)
    x = np.array([[0.5, -1.0], [2.0, 0.3]])
    expected = bp.gradients(net, params, x, np.array([2, 0]))
    for got, want in zip(bp.gradients(net, params, x, np.array([2, 0], dtype=dtype)), expected):
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)
    if dtype == np.uint64:  # as indices these would count from the end
        for bad in (2**63, 2**64 - 1):
            with pytest.raises(ValueError, match=r"^class labels y must lie in \[0, 3\)"):
                bp.gradients(net, params, x, np.array([0, bad], dtype=np.uint64))


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
def test_forward_never_returns_the_callers_x(dtype):
    net = bp.Network((2, 3), ("tanh",), "squared_error")
    params = bp.init_params(net, 0)
    x = np.array([[0.5, -1.0], [2.0, 0.3]]).astype(dtype)
    zs, as_ = bp.forward(net, params, x)
    assert not np.shares_memory(as_[0], x)
    np.testing.assert_array_equal(as_[0], x.astype(np.float64))


def test_params_are_checked_before_x_and_kinds_before_values():
    net = bp.Network((2, 3), ("softmax",), "cross_entropy")
    params = bp.init_params(net, 0)
    for fn in (bp.gradients, ref.gradients):
        with pytest.raises(TypeError, match=r"^params must be a list"):
            fn(net, None, "abc", np.array([0]))
    nan_W1 = [(np.full((2, 3), np.nan), params[0][1])]
    with pytest.raises(ValueError, match=r"^x must have shape \(n_batch, 2\)"):
        bp.gradients(net, nan_W1, np.ones((1, 5)), np.array([0]))


def test_check_net_binds_the_network_class_on_first_use(monkeypatch):
    # _validate looks manual_bp.Network up lazily (network.py imports _validate);
    # a fresh process starts with nothing bound.
    from manual_bp import _validate

    monkeypatch.setattr(_validate, "_Network", None)
    net = bp.Network((2, 1), "identity", "squared_error")
    assert _validate.check_net(net) is net
    with pytest.raises(TypeError, match=r"^net must be a manual_bp.Network, got object$"):
        _validate.check_net(object())


def test_targets_at_the_edges_are_accepted():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 2))
    bce = bp.Network((2, 3), "sigmoid", "binary_cross_entropy")
    y01 = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    ce = bp.Network((2, 3), "softmax", "cross_entropy")
    labels = np.array([0, 2, 2, 1])
    for net, y in [(bce, y01), (bce, y01.astype(int)), (ce, labels), (ce, np.eye(3)[labels]), (ce, np.eye(3, dtype=int)[labels])]:
        params = bp.init_params(net, 0)
        for fn in (bp.gradients, ref.complex_step_gradients):
            fn(net, params, x, y)


# --- document 003's perceptron ---------------------------------------------

def _nan_at(rng, arr):
    out = arr.astype(np.float64)
    out[tuple(rng.integers(0, n) for n in arr.shape)] = rng.choice(NOT_FINITE)
    return out


_T_VALUES = r"^t must contain only \+1 \(class C1\) and −1 \(class C2\); map 0/1 labels with 2\*t − 1$"


def _perceptron_breaks(rng, x, t, w):
    """For each argument, ways to break it: ``(value, exception, message regex)``."""
    VE, TE = ValueError, TypeError
    return {
        "x": [(x[0], VE, r"^x must have shape"), (x[:0], VE, r"^x must have shape"),
              (x[:, :0], VE, r"^x must have shape"), (x[None], VE, r"^x must have shape"),
              (_nan_at(rng, x), VE, r"^x contains NaN"), (x > 0, TE, r"^x must be a real"),
              (x + 0j, TE, r"^x must be a real"), (x.astype(object), TE, r"^x must be a real")],
        # {w}: train_perceptron calls it w0.
        "w": [(w[:-1], VE, rf"^{{w}} must have shape \({w.size},\)"), (np.append(w, 1.0), VE, r"^{w} must have shape"),
              (w[None], VE, r"^{w} must have shape"), (_nan_at(rng, w), VE, r"^{w} contains NaN"),
              (w > 0, TE, r"^{w} must be a real"), (w + 0j, TE, r"^{w} must be a real")],
        "t": [(t[:-1], VE, r"^t must have shape"), (t[None], VE, r"^t must have shape"),
              (2 * t, VE, _T_VALUES), (np.zeros_like(t), VE, _T_VALUES), (_nan_at(rng, t), VE, _T_VALUES),
              (t > 0, TE, r"^t must be a real"), (t + 0j, TE, r"^t must be a real")],
        "lr": [(v, e, r"^lr must be a positive") for v, e in BAD_POSITIVE],
        "epochs": [(-1, VE, r"^epochs must be"), (2.5, TE, r"^epochs must be"), (True, TE, r"^epochs must be")],
        "seed": [(-1, VE, r"^seed must be"), ("s", TE, r"^seed must be")],
        "bias": [(v, TE, r"^bias must be True or False") for v in (1, "yes", None)],
        "a": [(_nan_at(rng, x), VE, r"^a contains NaN"), (x.astype(object), TE, r"^a must be a real")],
    }


#: Which functions each argument reaches.
_PERCEPTRON_CALLS = {
    "perceptron_features": ("x", "bias"),
    "perceptron_predict": ("x", "w", "bias"),
    "perceptron_criterion": ("x", "w", "t", "bias"),
    "perceptron_gradient": ("x", "w", "t", "bias"),
    "train_perceptron": ("x", "w", "t", "bias", "lr", "epochs", "seed"),
    "step": ("a",),
}


@st.composite
def perceptron_problems(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n, d, bias = draw(st.integers(1, 6)), draw(st.integers(1, 4)), draw(st.booleans())
    return rng, rng.normal(size=(n, d)), rng.choice([-1, 1], n), rng.normal(size=d + bias), bias


def perceptron_cases(rng, x, t, w, bias):
    """Every way of breaking one argument of a valid perceptron problem, as :class:`Case`s."""
    for arg, breaks in _perceptron_breaks(rng, x, t, w).items():
        for value, exc, match in breaks:
            a = dict(x=x, t=t, w=w, lr=1.0, epochs=3, seed=0, bias=bias, a=x)
            a[arg] = value
            thunks = {
                "perceptron_features": lambda a=a: bp.perceptron_features(a["x"], bias=a["bias"]),
                "perceptron_predict": lambda a=a: bp.perceptron_predict(a["w"], a["x"], bias=a["bias"]),
                "perceptron_criterion": lambda a=a: bp.perceptron_criterion(a["w"], a["x"], a["t"], bias=a["bias"]),
                "perceptron_gradient": lambda a=a: bp.perceptron_gradient(a["w"], a["x"], a["t"], bias=a["bias"]),
                "train_perceptron": lambda a=a: bp.train_perceptron(a["x"], a["t"], lr=a["lr"], epochs=a["epochs"],
                                                                    w0=a["w"], bias=a["bias"], seed=a["seed"]),
                "step": lambda a=a: bp.step(a["a"]),
            }
            names = [name for name, reached in _PERCEPTRON_CALLS.items() if arg in reached]
            matches = {name: match.replace("{w}", "w0" if name == "train_perceptron" else "w") for name in names}
            yield Case(f"perceptron {arg}", {name: thunks[name] for name in names}, tuple(a.values()), exc, matches)


@settings(max_examples=examples(0.02))
@given(perceptron_problems())
def test_perceptron_refuses_malformed_input(problem):
    for case in perceptron_cases(*problem):
        _assert_refused(case)
