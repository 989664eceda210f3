"""reference.comparison: the report names where a derivation goes wrong, and why.

The mutant candidates below are small textbook backprops written here from
the equations (not from manual_bp), each with one classic mistake switched
on; the report must localise it to the right layer and name the convention.
"""
from __future__ import annotations

import functools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings

import manual_bp as bp
import reference as ref
from reference import strategies as dst

from reference import comparison as cmp
from reference import fast as fast_module
from reference import numerical

REPORT_KEYS = {"schema", "taylor", "model", "n_batch", "dtype", "n_params", "candidate", "jax_method", "numerical", "oracles",
               "parameters", "input_gradient", "directional", "layers", "localisation", "diagnosis", "worst", "ok",
               "verdict"}
PARAM_KEYS = {"name", "layer", "shape", "ok", "errors", "worst", "note"}
N = 5  # batch: not 2, so that N and 1/N cannot be mistaken for the ½ convention's 2 and ½


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def textbook(net, params, x, y, *, drop_half=False, average=False, sign=1.0, transpose=(), sigma_of_a=None,
             deltas=False):
    """Backprop for sigmoid hidden layers, identity output, squared error; one mistake at a time.

    ``drop_half``: forget the ½ of ½Σ(a−y)²; ``average``: divide by N where
    the loss sums; ``sign=-1``: (y − a) for (a − y); ``transpose``: layers
    whose dW comes out as δᵀa; ``sigma_of_a=l``: σ'(a_l) instead of σ'(z_l)
    in hidden layer l.  ``deltas=True`` returns ``[δ_1, ..., δ_L]`` instead.
    """
    zs, as_ = [], [np.asarray(x, float)]
    for (W, b), act in zip(params, net.activations):
        z = as_[-1] @ W + (0 if b is None else b)
        zs.append(z)
        as_.append(_sigmoid(z) if act.name == "sigmoid" else z)
    n = as_[0].shape[0]
    s = (0.5 if net.half and not drop_half else 1.0) * (1.0 / n if (net.reduction == "mean") != average else 1.0)
    delta = sign * s * 2.0 * (as_[-1] - y)
    ds = [delta]
    for l in range(net.n_layers - 1, 0, -1):  # δ_l from δ_{l+1}; as_[l] is a_l
        a = as_[l]
        f_prime = _sigmoid(a) * (1 - _sigmoid(a)) if sigma_of_a == l else a * (1 - a)
        delta = (delta @ params[l][0].T) * f_prime
        ds.append(delta)
    ds.reverse()
    if deltas:
        return ds
    return [((a.T @ d).T if l in transpose else a.T @ d, None if b is None else d.sum(0))
            for l, ((W, b), a, d) in enumerate(zip(params, as_[:-1], ds), start=1)]


@pytest.fixture(scope="module")
def problem():
    """3-4-4-2 sigmoid, sigmoid, identity with ½Σ squared error: W2 is square, so it can be transposed."""
    net = bp.Network((3, 4, 4, 2), ("sigmoid", "sigmoid", "identity"), "squared_error", reduction="sum", half=True)
    rng = np.random.default_rng(0)
    params = [(rng.normal(size=w), rng.normal(size=b)) for w, b in net.shapes()]
    return net, params, rng.normal(size=(N, 3)), rng.normal(size=(N, 2))


def _run(problem, **mistake):
    net, params, x, y = problem
    return ref.compare(net, params, x, y, candidate=functools.partial(textbook, **mistake))


def _kinds(report):
    return [f.kind for f in report.diagnosis]


def _w2_problem():
    """A 4-3-3 tanh/identity regression problem for the Taylor tests below."""
    net = bp.Network((4, 3, 3), ("tanh", "identity"), "squared_error")
    rng = np.random.default_rng(3)
    params = bp.init_params(net, seed=rng)
    return net, params, rng.normal(size=(N, 4)), rng.normal(size=(N, 3))


def _w2_scaled(net, params, x, y):
    """manual_bp's gradients with dW2 scaled by 1.5: wrong in W2 only."""
    g = bp.gradients(net, params, x, y)
    return [g[0], (1.5 * g[1][0], g[1][1])]


def _tanh_problem(sizes, n_batch):
    """``(net, params, x, y)``: a tanh regression net of ``sizes``, seed 0, Gaussian data."""
    net = bp.Network(sizes, "tanh", "squared_error")
    rng = np.random.default_rng(0)
    params = bp.init_params(net, seed=0)
    return net, params, rng.normal(size=(n_batch, sizes[0])), rng.normal(size=(n_batch, sizes[-1]))


def test_default_taylor_goes_per_parameter_when_the_candidate_is_wrong():
    """A wrong leaf turns the default joint-direction Taylor test into one direction per parameter,
    whose orders name the leaf: about 1 for the scaled W2 (its r₁ keeps the h·⟨e, v⟩ term), 2 elsewhere."""
    net, params, x, y = _w2_problem()
    report = ref.compare(net, params, x, y, candidate=_w2_scaled)
    assert not report.ok
    orders = {p.name: p.ok for p in report.taylor.parameters}
    assert orders == {"W1": True, "b1": True, "W2": False, "b2": True}
    assert ref.compare(net, params, x, y, candidate=_w2_scaled, taylor=False).taylor is None


def _factor(report):
    (f,) = [f for f in report.diagnosis if f.kind == "factor"]
    return f


def test_manual_bp_agrees_and_the_report_is_complete():
    net = bp.Network((4, 3, 3), ("sigmoid", "softmax"), "cross_entropy")
    rng = np.random.default_rng(1)
    params = bp.init_params(net, seed=rng)
    report = ref.compare(net, params, rng.normal(size=(N, 4)), rng.integers(0, 3, N))
    assert report.ok and report.verdict == "agree" and report.candidate == "manual_bp.gradients"
    assert [p.name for p in report.params] == ["W1", "b1", "W2", "b2"]
    assert [p.shape for p in report.params] == [(4, 3), (3,), (3, 3), (3,)]
    assert {o.name: o.status for o in report.oracles} == {"jax": "agree", "central": "agree", "complex_step": "agree",
                                                          "taylor": "agree"}
    # By default a right gradient gets the joint direction only; taylor=True adds one per parameter.
    assert report.taylor.ok and report.taylor.parameters is None
    full = ref.compare(net, params, rng.normal(size=(N, 4)), rng.integers(0, 3, N), taylor=True)
    assert full.taylor.ok and [p.name for p in full.taylor.parameters] == ["W1", "b1", "W2", "b2"]
    assert report.numerical == "per_parameter" and report.localisation is None and not report.diagnosis
    assert [lc.quantity for lc in report.layers] == ["δ_2", "δ_1"]  # from the output back, manual_bp's deltas
    w1 = report.params[0]
    assert set(w1.worst_values) == {"candidate", "jax", "central", "complex_step"}
    assert w1.worst_values["candidate"] == pytest.approx(w1.worst_values["jax"], rel=1e-12)
    d = report.to_dict()
    assert set(d) == REPORT_KEYS and set(d["parameters"][0]) == PARAM_KEYS
    assert set(d["parameters"][0]["errors"]["central"]) == {"max_abs", "max_rel", "bound", "ok"}
    json.dumps(d, allow_nan=False)
    # manual_bp.input_gradient is compared too, as a row x, against jax.grad and the complex step in x
    x = report.input_gradient
    assert (x.name, x.layer, x.shape, x.ok) == ("x", 0, (N, 4), True) and set(x.errors) == {"jax", "complex_step"}
    assert d["input_gradient"]["name"] == "x" and d["input_gradient"]["ok"] is True
    text = str(report)
    assert "W1" in text and "\nx " in text and "verdict: AGREE" in text and format(report) == text


def test_correct_textbook_candidate_agrees(problem):
    assert _run(problem).ok


@pytest.mark.parametrize("mistake, factor, convention", [
    (dict(drop_half=True), 2.0, "half"),
    (dict(average=True), 1 / N, "mean"),
    (dict(sign=-1.0), -1.0, "sign"),
], ids=["drop the half", "average instead of sum", "flip the sign"])
def test_convention_mistakes_are_named_and_localised_to_the_output(problem, mistake, factor, convention):
    report = _run(problem, **mistake)
    assert not report.ok
    f = _factor(report)
    assert f.detail["factor"] == pytest.approx(factor, rel=1e-12)
    # One convention only: no loss here averages over output units, so a factor 2
    # with K = 2 outputs is never offered as "a mean over outputs".
    assert f.detail["conventions"] == [convention] and "across all parameters" in f.text
    assert "output units" not in f.text and " K " not in f.text
    loc = report.localisation
    assert (loc.layer, loc.propagates, loc.source) == (3, True, "gradients")
    assert "layer 3 (the output)" in loc.text


def test_transposed_weight_gradient_is_named_and_not_blamed_on_delta(problem):
    report = _run(problem, transpose=(2,))
    assert _kinds(report) == ["mistake"] and report.diagnosis[0].detail["parameter"] == "W2"
    assert (report.diagnosis[0].detail["mistake"], report.diagnosis[0].detail["layer"]) == ("transposed_gradient", 2)
    assert [p.name for p in report.params if not p.ok] == ["W2"]
    assert (report.localisation.layer, report.localisation.propagates) == (2, False)
    assert "forming the gradient" in report.localisation.text


@pytest.mark.parametrize("layer", [1, 2])
def test_sigma_of_a_is_reported_at_its_own_layer_not_below(problem, layer):
    report = _run(problem, sigma_of_a=layer)
    assert not report.ok and "factor" not in _kinds(report)
    # Every layer from `layer` down disagrees, but the report names `layer` only.
    assert {p.name for p in report.params if not p.ok} == {f"{k}{l}" for k in "Wb" for l in range(1, layer + 1)}
    assert report.localisation.layer == layer and report.localisation.parameters == (f"W{layer}", f"b{layer}")
    assert report.localisation.propagates == (layer > 1)


def test_sigma_of_a_localised_from_the_candidates_deltas(problem):
    net, params, x, y = problem
    report = ref.compare(net, params, x, y, candidate=functools.partial(textbook, sigma_of_a=2),
                         candidate_deltas=functools.partial(textbook, sigma_of_a=2, deltas=True))
    assert [(lc.layer, lc.agreement.ok) for lc in report.layers] == [(3, True), (2, False), (1, False)]
    assert (report.localisation.source, report.localisation.layer) == ("deltas", 2)
    assert "δ_2 is the first delta to go wrong" in report.localisation.text


def test_averaged_bias_gradient_is_a_factor_on_the_biases_only(problem):
    net, params, x, y = problem

    def bias_averaged(*args):
        return [(dW, db / N) for dW, db in textbook(*args)]

    report = ref.compare(net, params, x, y, candidate=bias_averaged)
    f = _factor(report)
    assert f.detail["parameters"] == ["b1", "b2", "b3"] and f.detail["conventions"] == ["mean"]
    assert "the other parameters agree" in f.text
    assert report.localisation.propagates is False


def test_transposed_layout_of_a_rectangular_weight_is_reported_not_raised():
    net = bp.Network((4, 3, 2), ("tanh", "identity"), "squared_error")
    rng = np.random.default_rng(2)
    params = bp.init_params(net, seed=rng)
    x, y = rng.normal(size=(N, 4)), rng.normal(size=(N, 2))

    def column_layout(*args):
        return [(dW.T, db) for dW, db in bp.gradients(*args)]

    report = ref.compare(net, params, x, y, candidate=column_layout)
    # Every dW transposed: the candidate answers in column layout, named as such, never as a wrong δ.
    assert not report.ok and [(f.kind, f.detail["mistake"]) for f in report.diagnosis] == [("mistake", "layout")]
    assert "layout='column'" in report.diagnosis[0].text and "δ" not in report.localisation.text
    assert "shape (3, 4), expected (4, 3)" in report.params[0].note
    json.dumps(report.to_dict(), allow_nan=False)


def test_check_gradients_raises_with_the_full_report(problem):
    net, params, x, y = problem
    assert ref.check_gradients(textbook, net, params, x, y).ok
    with pytest.raises(AssertionError) as info:
        ref.check_gradients(functools.partial(textbook, sigma_of_a=2), net, params, x, y)
    message = str(info.value)
    assert "localisation: layer 2" in message and "W1" in message and "verdict: DISAGREE" in message


@settings(max_examples=15)
@given(dst.problems(max_depth=3, kink_margin=1e-3))
def test_check_gradients_inside_hypothesis(p):
    ref.check_gradients(bp.gradients, p.net, p.params, p.x, p.y)


def test_bad_candidates_raise_errors_naming_them(problem):
    net, params, x, y = problem
    with pytest.raises(ValueError, match="one \\(dW, db\\) pair per layer"):
        ref.compare(net, params, x, y, candidate=lambda *a: textbook(*a)[:2])
    with pytest.raises(TypeError, match="candidate must be a function"):
        ref.compare(net, params, x, y, candidate="gradients")
    with pytest.raises(ValueError, match="numerical must be one of"):
        ref.compare(net, params, x, y, numerical="sometimes")


# ---------------------------------------------------------------------------
# Triangulation: a misbehaving oracle is blamed, not the candidate
# ---------------------------------------------------------------------------

def test_a_kink_crossing_skips_central_differences_without_failing():
    net = bp.Network((2, 2, 1), ("relu", "identity"), "squared_error", bias=False)
    # z_1 = 1e-7 for the first sample: any central step on W1[0, 0] crosses the kink.
    params = [(np.array([[1e-7, 1.0], [0.0, 1.0]]), None), (np.array([[1.0], [-1.0]]), None)]
    x, y = np.array([[1.0, 0.0], [0.5, 2.0]]), np.array([[0.3], [-0.2]])
    report = ref.compare(net, params, x, y)
    assert report.ok
    assert {o.name: o.status for o in report.oracles}["central"] == "skipped"
    assert _kinds(report) == ["skipped"] and "relu kink" in report.diagnosis[0].text
    # Along random directions the crossing is flagged, and never held against the candidate.
    report = ref.compare(net, params, x, y, numerical="directional")
    assert report.ok and "relu kink" in report.directional.note


def _off_by(oracle, delta):
    def wrong(*args, **kwargs):
        return [(dW + delta, None if db is None else db + delta) for dW, db in oracle(*args, **kwargs)]
    return wrong


def test_a_wrong_numerical_oracle_is_blamed(problem, monkeypatch):
    # compare calls the oracle on the inputs it has validated (no second check_all).
    monkeypatch.setattr(cmp, "_central_difference", _off_by(numerical._central_difference, 1e-3))
    report = _run(problem)
    assert report.ok and {o.name: o.status for o in report.oracles}["central"] == "blamed"
    assert _kinds(report) == ["oracle"] and "central diff." in report.diagnosis[0].text
    # With a wrong candidate too, the complex step still corroborates jax.grad:
    # central differences are blamed, the candidate fails, the factor is found.
    report = _run(problem, drop_half=True)
    assert not report.ok and set(_kinds(report)) == {"factor", "oracle"}


@pytest.mark.parametrize("jax_path", ["fast", "plain"])
def test_jax_is_suspected_when_every_numerical_oracle_sides_with_the_candidate(problem, monkeypatch, jax_path):
    # Each JAX path returns gradients off by 1e-3 (jax_path="auto" may take either).
    fast, plain = fast_module._fast_derivatives, cmp._dispatch
    monkeypatch.setattr(cmp, "_fast_derivatives",
                        lambda *a: fast(*a)._replace(gradients=_off_by(lambda *b: fast(*b).gradients, 1e-3)(*a)))

    def plain_off(*a, **k):
        v, g, d = plain(*a, **k)()
        return lambda: (v, _off_by(lambda: g, 1e-3)(), d)
    monkeypatch.setattr(cmp, "_dispatch", plain_off)
    net, params, x, y = problem
    report = ref.compare(net, params, x, y, candidate=textbook, jax_path=jax_path)
    assert report.jax_method.startswith({"fast": "reference.fast_derivatives", "plain": "reference.gradients"}[jax_path])
    assert not report.ok and "reference" in _kinds(report)


# ---------------------------------------------------------------------------
# Scale, float32, the perceptron, the step curve
# ---------------------------------------------------------------------------

def test_random_directions_above_the_per_parameter_limit(problem):
    net, params, x, y = problem
    report = ref.compare(net, params, x, y, candidate=textbook, max_per_parameter=10)
    assert report.ok and report.numerical == "directional"
    assert report.directional.n_directions == cmp.N_DIRECTIONS and "random directions" in str(report)
    assert {o.name for o in report.oracles} == {"jax", "directional"}
    wrong = ref.compare(net, params, x, y, candidate=functools.partial(textbook, sign=-1.0), numerical="directional")
    assert {o.name: o.status for o in wrong.oracles}["directional"] == "disagree"
    assert _factor(wrong).detail["conventions"] == ["sign"]


def test_medium_network_is_checked_in_seconds():
    net = bp.Network((784, 512, 512, 10), ("sigmoid", "tanh", "identity"), "squared_error", reduction="mean")
    rng = np.random.default_rng(0)
    params = bp.init_params(net, seed=rng)
    report = ref.compare(net, params, rng.normal(size=(256, 784)), rng.normal(size=(256, 10)))
    assert report.ok and report.numerical == "directional" and report.n_params == 669_706
    assert report.layers == ()  # a passing large net does not pay for a second backward pass


def test_float32():
    net = bp.Network((3, 4, 2), ("tanh", "sigmoid"), "binary_cross_entropy", reduction="mean")
    rng = np.random.default_rng(3)
    params = bp.init_params(net, seed=rng, dtype=np.float32)
    report = ref.compare(net, params, rng.normal(size=(N, 3)).astype(np.float32),
                         rng.uniform(size=(N, 2)).astype(np.float32))
    assert report.ok and report.dtype == "float32"


def _perceptron_data():
    rng = np.random.default_rng(4)
    x = rng.uniform(-1, 1, (12, 2))
    return rng.normal(size=3), x, np.where(x @ [1.0, -0.6] + 0.1 >= 0, 1.0, -1.0)


def test_perceptron_criterion_gradient():
    w, x, t = _perceptron_data()
    report = ref.compare_perceptron(w, x, t)
    assert report.ok and [p.name for p in report.params] == ["w"] and report.model["kind"] == "perceptron"
    flipped = ref.compare_perceptron(w, x, t, candidate=lambda *a, **k: -bp.perceptron_gradient(*a, **k))
    assert _factor(flipped).detail["conventions"] == ["sign"]
    # At w = 0 every point sits on the boundary, so central differences cross it.
    at_zero = ref.compare_perceptron(np.zeros(3), x, t)
    assert at_zero.ok and _kinds(at_zero) == ["skipped"]


def test_step_curve_is_v_shaped():
    net = bp.Network((4, 3, 3), ("sigmoid", "softmax"), "cross_entropy")
    rng = np.random.default_rng(5)
    curve = ref.step_curve(net, bp.init_params(net, seed=rng), rng.normal(size=(N, 4)), rng.integers(0, 3, N))
    steps, err = curve["steps"], curve["central"]
    at_default = err[np.argmin(np.abs(np.log(steps / curve["default_step"])))]
    assert at_default < 1e-8 and err[0] > 1e-4 and err[-1] > 1e-4
    assert curve["complex_step"] < 1e-13


def test_auto_path_compiles_per_architecture_first_then_the_padded_frame(monkeypatch):
    """jax_path="auto": the plain definition for a process's first few small architectures, the padded
    frame after that, whichever is already compiled first, and always plain above width 8."""
    from reference import model

    monkeypatch.setattr(model, "COMPILED", set())
    monkeypatch.setattr(fast_module, "COMPILED", set())
    rng = np.random.default_rng(0)

    def method(sizes, batch=3):
        net = bp.Network(sizes, "tanh", "squared_error")
        params = bp.init_params(net, seed=1)
        return ref.compare(net, params, rng.normal(size=(batch, sizes[0])), rng.normal(size=(batch, sizes[-1])),
                           taylor=False).jax_method

    plain, padded = "reference.gradients", "reference.fast_derivatives"
    small = [(2, 3, 1), (2, 4, 1), (3, 2, 2), (3, 3, 3)]
    assert all(method(s).startswith(plain) for s in small)  # _PLAIN_COMPILES_BEFORE_FAST of them
    assert method((4, 4, 4)).startswith(padded)             # the fifth: the frame, compiled once
    assert method((5, 2, 1)).startswith(padded)             # already compiled: no new plain compilation
    assert method(small[0]).startswith(plain)               # compiled on its own already: the faster call
    assert method((9, 2, 1)).startswith(plain)              # wider than the frame


def test_numerical_auto_goes_directional_where_per_parameter_costs_too_much():
    """numerical="auto": per parameter while n_params·n_batch·n_weights fits the budget (and up to
    max_per_parameter); beyond, two random directions -- and the Taylor test still runs up to
    max_per_parameter parameters, along its joint direction."""
    assert cmp.numerical_mode(27, 8, 21) == "per_parameter"                       # 4-3-3, batch 8
    assert cmp.numerical_mode(1732, 32, 1664) == "directional"                   # 16-32-32-4, batch 32: ~200 ms
    assert cmp.numerical_mode(1732, 32, 1664, numerical="per_parameter") == "per_parameter"
    assert cmp.numerical_mode(27, 8, 21, max_per_parameter=10) == "directional"
    assert cmp.numerical_mode(360, 8, 320) == "per_parameter"                   # the suite's widest draws
    report = ref.compare(*_tanh_problem((16, 32, 32, 4), 32))
    assert report.ok and report.numerical == "directional"
    assert report.taylor is not None and report.taylor.ok and report.taylor.parameters is None


def test_non_finite_candidate_gradients_get_a_report_in_every_numerical_mode():
    """A NaN in the candidate's dW1 is a failing report (the Taylor test says why it skipped), never a crash."""
    net, params, x, y = _tanh_problem((3, 4, 2), 5)

    def nan_grad(net, params, x, y):
        g = bp.gradients(net, params, x, y)
        g[0][0][0, 0] = np.nan
        return g

    for numerical in ("auto", "directional", "none"):
        report = ref.compare(net, params, x, y, candidate=nan_grad, numerical=numerical)
        assert not report.ok and report.params[0].name == "W1" and not report.params[0].ok
        taylor = {o.name: o for o in report.oracles}["taylor"]
        assert taylor.status == "skipped" and "NaN or inf" in taylor.note


def test_a_generator_seed_reruns_the_same_joint_taylor_direction():
    """With seed a Generator, the per-parameter rerun of a failing joint direction shows that same direction."""
    net, params, x, y = _w2_problem()
    by_int = ref.compare(net, params, x, y, candidate=_w2_scaled, seed=0)
    by_gen = ref.compare(net, params, x, y, candidate=_w2_scaled, seed=np.random.default_rng(0))
    assert by_gen.taylor.parameters is not None
    assert by_gen.taylor.directions[0].slope_g == by_int.taylor.directions[0].slope_g


def test_every_oracle_sees_the_same_inputs_whatever_the_candidate_does_to_its_own():
    """A candidate that zeroes its params after computing a right gradient is judged on that gradient:
    jax.grad, the bound and the directional check all read compare's validated copies."""
    net, params, x, y = _tanh_problem((6, 5, 3), 4)

    def vandal(net, params, x, y):
        g = bp.gradients(net, params, x, y)
        params[0][0][...] = 0.0
        return g

    report = ref.compare(net, [(W.copy(), b.copy()) for W, b in params], x, y, candidate=vandal,
                         numerical="directional")
    assert report.ok and {o.name: o.status for o in report.oracles}["directional"] == "agree"


def test_auto_path_sends_deep_nets_to_the_plain_definition():
    """Depth beyond the frame's 8 goes plain, as wider or bigger-batch nets do (no second frame compiled)."""
    report = ref.compare(*_tanh_problem((2,) * 11, 3), taylor=False)
    assert report.jax_method.startswith("reference.gradients")


def test_the_all_leaves_comparison_equals_the_leaf_by_leaf_one():
    """_compare_leaves (every leaf at once) and _oracle_agrees_with_jax give what _compare_leaf and
    tolerances.allclose_tree give leaf by leaf, on random leaves with NaN, inf, exact zeros and zero bounds."""
    rng = np.random.default_rng(7)

    def same(a, b):
        return a == b or (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-12 * max(abs(a), abs(b))

    for _ in range(300):
        leaves, bounds = [], ({} if rng.random() < 0.6 else None)
        for i in range(int(rng.integers(1, 5))):
            shape = tuple(int(n) for n in rng.integers(1, 4, size=rng.integers(1, 3)))
            j = rng.normal(size=shape)
            c = j + rng.choice([0, 1e-17, 1e-9, 1e-3], size=shape) * rng.normal(size=shape)
            if rng.random() < 0.05:
                c.flat[0] = np.nan
            refs = {"jax": j, "central": j + 1e-9 * rng.normal(size=shape), "complex_step": j.copy()}
            if rng.random() < 0.05:
                refs["central"].flat[-1] = np.inf
            leaves.append((f"W{i + 1}", i + 1, c, refs))
            if bounds is not None:
                bounds[f"W{i + 1}"] = np.abs(rng.normal(size=shape)) * 1e-15 * (rng.random(shape) > 0.1)
        together = cmp._compare_leaves(leaves, np.float64, bounds)
        for name, _, c, refs in leaves:
            errors, idx, values, note = cmp._compare_leaf(c, refs, np.float64, None if bounds is None else bounds[name])
            e2, idx2, values2, note2 = together[name]
            assert (idx2, note2, set(e2)) == (idx, note, set(errors))
            for o, a in errors.items():
                b = e2[o]
                assert a.ok == b.ok and same(a.max_abs, b.max_abs) and same(a.max_rel, b.max_rel)
                assert same(a.bound, b.bound) or not math.isfinite(a.max_abs)  # a nan leaf may report inf
            assert all(same(values[k], values2[k]) for k in values)
        for o in ("central", "complex_step"):
            trees = [[refs[o] for *_, refs in leaves], [refs["jax"] for *_, refs in leaves]]
            assert cmp._oracle_agrees_with_jax(leaves, o, np.float64) == ref.allclose_tree(
                *trees, dtype=np.float64, kind=o)
