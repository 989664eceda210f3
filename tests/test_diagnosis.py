"""The diagnosis names the mistake: each catalogued mistake, planted in a tutorial-style candidate, is named.

The candidate below is written the way tutorials and course notes write
backprop (Nielsen's ``network.py``, document 001): column layout (``W`` of
shape ``(n_out, n_in)``, ``b`` a column), one sample at a time in a loop,
gradients summed over the mini-batch, and the L2 penalty's gradient added
once afterwards.  It is written here from the equations, not from
manual_bp, with one classic mistake switched on at a time in a chosen layer;
the report must name that mistake (its catalogue ID) and that layer.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import manual_bp as bp
import reference as ref
from reference import mistakes
from reference._spec import check_all
from reference import strategies as dst

N = 5  # not 2: N and 2 must not coincide as factors


# ---------------------------------------------------------------------------
# The tutorial candidate
# ---------------------------------------------------------------------------

def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _softmax(z):  # one column
    e = np.exp(z - z.max())
    return e / e.sum()


#: f and f' of each activation, as functions of z (a tutorial's sigmoid / sigmoid_prime pair).
F = {"sigmoid": _sigmoid, "tanh": np.tanh, "identity": lambda z: z, "relu": lambda z: np.maximum(z, 0.0),
     "softmax": _softmax}
F_PRIME = {"sigmoid": lambda z: _sigmoid(z) * (1 - _sigmoid(z)), "tanh": lambda z: 1 - np.tanh(z) ** 2,
           "identity": np.ones_like, "relu": lambda z: (z > 0).astype(float)}


class Tutorial:
    """``grad(net, params, x, y)`` in column layout with one planted ``mistake`` in ``layer`` (1-based).

    ``x`` ``(n_in, N)``, ``y`` ``(n_out, N)``, params ``[(W (n_out, n_in), b (n_out, 1))]``; returns
    ``[(dW (n_out, n_in), db (n_out, 1))]``.  Loss: Σ(a − y)² (scaled by ½ and/or 1/N as the net says),
    or cross-entropy on a softmax output; L2 adds 2·l2·W.
    """

    def __init__(self, mistake=None, layer=None):
        self.mistake, self.layer = mistake, layer

    def _at(self, mistake, l):
        return self.mistake == mistake and self.layer in (l, None)

    def backprop(self, net, params, x, y):
        """One sample: x (n_in, 1), y (n_out, 1) -> nabla_w, nabla_b, deltas (unscaled)."""
        names = [a.name for a in net.activations]
        L = len(params)
        activation, activations, zs = x, [x], []
        for (W, b), name in zip(params, names):
            z = W @ activation + b
            zs.append(z)
            activation = F[name](z)
            activations.append(activation)
        a = activations[-1]
        if net.loss == "cross_entropy":
            if self._at("softmax_diagonal", L):  # -y/a times the diagonal a(1 - a)
                delta = -y / a * (a * (1 - a))
            else:
                delta = a - y
        else:
            grad_a = 2 * (a - y)
            delta = self._local(grad_a, zs[-1], a, names[-1], L)
        deltas = [None] * L
        deltas[-1] = delta
        for l in range(L - 1, 0, -1):  # 1-based layer l from layer l + 1
            W_next = params[l][0]
            back = W_next @ delta if self._at("missing_transpose", l + 1) else W_next.T @ delta
            delta = self._local(back, zs[l - 1], activations[l], names[l - 1], l)
            deltas[l - 1] = delta
        nabla_w, nabla_b = [], []
        for l in range(1, L + 1):
            a_prev = activations[l - 1]
            if self._at("wrong_layer_activation", l):
                a_prev = activations[l]
            dW = deltas[l - 1] @ a_prev.T
            nabla_w.append(dW)
            nabla_b.append(deltas[l - 1])
        return nabla_w, nabla_b, deltas

    def _local(self, g, z, a, name, l):
        if self._at("missing_activation_derivative", l):
            return g
        if name == "softmax":
            if self._at("softmax_diagonal", l):
                return g * a * (1 - a)
            return (np.diagflat(a) - a @ a.T) @ g  # the full Jacobian, symmetric
        if self._at("derivative_at_activation", l):
            return g * F_PRIME[name](a)
        return g * F_PRIME[name](z)

    def __call__(self, net, params, x, y):
        n = x.shape[1]
        if np.ndim(y) == 1:  # class labels -> one-hot columns
            y = np.eye(net.sizes[-1])[:, y]
        s = (0.5 if net.half else 1.0) / (n if net.reduction == "mean" else 1)
        nabla_w = [0.0 for _ in params]  # a wrong layer's activation can give dW another shape
        nabla_b = [np.zeros_like(b) for _, b in params]
        per_sample_b = [[] for _ in params]
        for k in range(n):
            dws, dbs, _ = self.backprop(net, params, x[:, k:k + 1], y[:, k:k + 1])
            for l in range(len(params)):
                nabla_w[l] = nabla_w[l] + s * dws[l]
                nabla_b[l] += s * dbs[l]
                per_sample_b[l].append(s * dbs[l])
        l2 = {"l2_missing": 0.0, "l2_factor": 1.0}.get(self.mistake, 2.0) * net.l2
        grads = []
        for l, ((W, _), dW, db) in enumerate(zip(params, nabla_w, nabla_b), start=1):
            if dW.shape == W.shape:
                dW = dW + l2 * W
            if self._at("transposed_gradient", l):
                dW = dW.T
            if self._at("bias_not_summed", l):
                db = np.hstack(per_sample_b[l - 1]) if self.layer is not None else db / n
            grads.append((dW, db))
        if self.mistake == "layout":  # answers in row layout although it takes column-layout input
            grads = [(dW.T, db.T) for dW, db in grads]
        return grads


def _net(sizes=(3, 4, 4, 2), acts=("sigmoid", "tanh", "identity"), loss="squared_error", **kw):
    kw.setdefault("l2", 0.1)
    return bp.Network(sizes, acts, loss, **kw)


def _data(net, seed=0, labels=False):
    rng = np.random.default_rng(seed)
    params = [(rng.normal(size=w), rng.normal(size=b)) for w, b in net.shapes()]
    x = rng.normal(size=(N, net.sizes[0]))
    y = rng.integers(0, net.sizes[-1], N) if labels else rng.normal(size=(N, net.sizes[-1]))
    return params, x, y


def _named(report):
    return [(f.detail["mistake"], f.detail["layer"]) for f in report.diagnosis if f.kind == "mistake"]


def _check(net, candidate, seed=0, labels=False, **kw):
    params, x, y = _data(net, seed, labels)
    return ref.compare(net, params, x, y, candidate=candidate, layout="column", **kw)


# ---------------------------------------------------------------------------
# The correct tutorial passes through the public API, with no glue
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("kw", [dict(), dict(reduction="mean", half=True), dict(l2=0.0)], ids=["sum", "half-mean", "no-l2"])
def test_the_correct_tutorial_candidate_passes_in_column_layout(kw):
    net = _net(**kw)
    report = _check(net, Tutorial())
    assert report.ok and not report.diagnosis, str(report)
    params, x, y = _data(net)
    ref.check_gradients(Tutorial(), net, params, x, y, layout="column")


def test_the_tutorials_own_backprop_is_a_per_sample_candidate():
    """Its one-sample ``backprop`` plus three lines of glue: check_gradients combines the samples."""
    net = _net(l2=0.0)  # the one-sample backprop has no weight decay: that lives in the tutorial's update
    tutorial = Tutorial()

    def one_sample(net, params, x, y):
        dws, dbs, _ = tutorial.backprop(net, params, x, y)
        return list(zip(dws, dbs))

    params, x, y = _data(net)
    report = ref.check_gradients(one_sample, net, params, x, y, layout="column", per_sample=True)
    assert report.ok and "column layout, per sample" in report.candidate


# ---------------------------------------------------------------------------
# Each catalogue ID, planted, is named with its layer
# ---------------------------------------------------------------------------

PLANTED = [
    # (mistake, layer planted, net kwargs): the expected layer is where it was planted.
    ("derivative_at_activation", 1, {}),
    ("derivative_at_activation", 2, {}),
    ("missing_activation_derivative", 1, {}),
    ("missing_activation_derivative", 2, {}),
    ("missing_activation_derivative", 3, dict(acts=("sigmoid", "tanh", "sigmoid"))),  # the output, not fused
    ("missing_transpose", 2, {}),  # W_2 is 4 x 4
    ("wrong_layer_activation", 2, {}),  # a_2ᵀ δ_2 is 4 x 4, the shape of dW_2
    ("wrong_layer_activation", 3, {}),  # a_3 for a_2: a (2, 2) dW_3 where (4, 2) is expected
    ("transposed_gradient", 2, {}),
    ("transposed_gradient", 1, {}),  # (4, 3) returned as (3, 4): a shape mismatch, still named
    ("bias_not_summed", 2, {}),  # one column per sample
    ("softmax_diagonal", 3, dict(acts=("sigmoid", "tanh", "softmax"))),  # squared error on a softmax
    ("softmax_diagonal", 3, dict(acts=("sigmoid", "tanh", "softmax"), loss="cross_entropy")),
]


@pytest.mark.parametrize("mistake, layer, kw", PLANTED, ids=[f"{m}-{l}-{i}" for i, (m, l, _) in enumerate(PLANTED)])
def test_a_planted_mistake_is_named_with_its_layer(mistake, layer, kw):
    net = _net(**kw)
    report = _check(net, Tutorial(mistake, layer), labels=net.loss == "cross_entropy")
    assert not report.ok
    assert _named(report) == [(mistake, layer)], str(report)
    d = report.to_dict()
    (f,) = [f for f in d["diagnosis"] if f["kind"] == "mistake"]
    assert (f["mistake"], f["layer"]) == (mistake, layer) and f["text"].startswith(mistake)
    json.dumps(d, allow_nan=False)
    assert mistake in str(report)


@pytest.mark.parametrize("mistake, layer, kw", [m for m in PLANTED if m[0] != "bias_not_summed"],
                         ids=[f"{m}-{l}-{i}" for i, (m, l, _) in enumerate(PLANTED) if m != "bias_not_summed"])
def test_named_when_called_per_sample_under_a_mean(mistake, layer, kw):
    """The same tutorial, handed one sample at a time (its own call on a one-sample batch), ½·mean loss."""
    net = _net(**kw, reduction="mean", half=kw.get("loss", "squared_error") == "squared_error")
    report = _check(net, Tutorial(mistake, layer), labels=net.loss == "cross_entropy", per_sample=True)
    assert _named(report) == [(mistake, layer)], str(report)


def test_named_in_float32():
    net = _net()
    params, x, y = _data(net)
    params = [(W.astype(np.float32), b.astype(np.float32)) for W, b in params]
    x, y = x.astype(np.float32), y.astype(np.float32)
    for mistake, layer in [("derivative_at_activation", 2), ("missing_transpose", 2), ("l2_factor", None)]:
        report = ref.compare(net, params, x, y, candidate=Tutorial(mistake, layer), layout="column")
        assert report.dtype == "float32" and _named(report) == [(mistake, layer)], str(report)
    assert ref.compare(net, params, x, y, candidate=Tutorial(), layout="column").ok


def test_the_catalogue_costs_a_passing_check_nothing(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the catalogue ran on a passing check")

    monkeypatch.setattr(mistakes, "name_mistakes", refuse)
    monkeypatch.setattr(mistakes, "layout_mismatch", refuse)
    assert _check(_net(), Tutorial()).ok
    with pytest.raises(AssertionError, match="the catalogue ran"):
        _check(_net(), Tutorial("l2_missing"))


@pytest.mark.parametrize("mistake, expected", [
    ("derivative_at_activation", [1, 2]),  # σ and tanh hidden layers; the identity output is unaffected
    ("missing_activation_derivative", [1, 2]),
    ("bias_not_summed", [1, 2, 3]),  # averaged, in every layer: Σ/N
])
def test_a_mistake_in_the_backward_loop_is_named_once_for_every_layer(mistake, expected):
    report = _check(_net(), Tutorial(mistake, None))
    found = [f for f in report.diagnosis if f.kind == "mistake"]
    assert [(f.detail["mistake"], f.detail["layer"], f.detail["layers"]) for f in found] == [(mistake, None, expected)]


@pytest.mark.parametrize("mistake, factor", [("l2_missing", 0.0), ("l2_factor", 1.0)])
def test_l2_mistakes_are_named(mistake, factor):
    report = _check(_net(), Tutorial(mistake))
    assert _named(report) == [(mistake, None)], str(report)
    # only the weights are off, by (factor - 2)·l2·W: the biases agree
    assert [p.name for p in report.params if not p.ok] == ["W1", "W2", "W3"]


def test_l2_factor_four():
    net = _net()
    params, x, y = _data(net)
    tutorial = Tutorial()

    def four(net, params, x, y):  # 4·l2·W: the penalty's gradient added twice
        return [(dW + 2 * net.l2 * W, db) for (dW, db), (W, _) in zip(tutorial(net, params, x, y), params)]

    report = ref.compare(net, params, x, y, candidate=four, layout="column")
    assert _named(report) == [("l2_factor", None)] and "4·l2·W" in str(report)


def test_an_answer_in_the_other_layout_is_named_as_layout_not_as_a_wrong_delta():
    report = _check(_net(), Tutorial("layout"))
    assert _named(report) == [("layout", None)], str(report)
    assert "layout='row'" in report.diagnosis[-1].text
    assert "δ" not in report.localisation.text and "factor" not in [f.kind for f in report.diagnosis]


def test_a_column_bias_returned_as_a_row_is_a_layout_mismatch():
    tutorial = Tutorial()

    def row_bias(net, params, x, y):
        return [(dW, db.T) for dW, db in tutorial(net, params, x, y)]  # b as (1, n_out)

    report = _check(_net(), row_bias)
    assert _named(report) == [("layout", None)] and "(1, n_out)" in str(report)


def test_row_layout_candidate_answering_in_column_layout_is_named():
    net = _net(l2=0.0)
    params, x, y = _data(net)

    def column_answer(net, params, x, y):
        return [(dW.T, db.reshape(-1, 1)) for dW, db in ref.gradients(net, params, x, y)]

    report = ref.compare(net, params, x, y, candidate=column_answer)
    assert _named(report) == [("layout", None)] and "layout='column'" in str(report)


def test_missing_transpose_in_the_input_gradient_is_named_at_layer_1():
    net = _net((4, 4, 2), ("tanh", "identity"), l2=0.0)  # W_1 square
    params, x, y = _data(net)
    tutorial = Tutorial()

    def input_gradient(net, params, x, y, transpose=True):
        out = []  # column layout: x (n_in, N), y (n_out, N), ∂L/∂x (n_in, N)
        for k in range(x.shape[1]):
            _, _, deltas = tutorial.backprop(net, params, x[:, k:k + 1], y[:, k:k + 1])
            W1 = params[0][0]
            out.append((W1.T if transpose else W1) @ deltas[0])
        return np.hstack(out)

    ok = ref.compare(net, params, x, y, candidate=tutorial, candidate_input_gradient=input_gradient, layout="column")
    assert ok.ok and ok.input_gradient.ok and set(ok.input_gradient.errors) == {"jax", "complex_step"}
    bad = ref.compare(net, params, x, y, candidate=tutorial, layout="column",
                      candidate_input_gradient=lambda *a: input_gradient(*a, transpose=False))
    assert not bad.ok and all(p.ok for p in bad.params) and not bad.input_gradient.ok
    assert _named(bad) == [("missing_transpose", 1)] and bad.localisation.parameters == ("x",)


def test_constant_factors_keep_their_findings_and_no_impossible_alternative():
    net = bp.Network((3, 4, 2), ("sigmoid", "identity"), "squared_error")  # Σ(a − y)², K = 2 outputs
    params, x, y = _data(net)

    def doubled(*args):
        return [(2 * dW, 2 * db) for dW, db in ref.gradients(*args)]

    report = ref.compare(net, params, x, y, candidate=doubled)
    (f,) = report.diagnosis
    assert f.kind == "factor" and f.detail["conventions"] == ["half"]
    assert "factor 2 too many" in f.text and "average" not in f.text and "output units" not in f.text


# ---------------------------------------------------------------------------
# A correct candidate is never told it made a mistake
# ---------------------------------------------------------------------------

@settings(max_examples=25, deadline=None)
@given(dst.problems(max_depth=3, kink_margin=1e-3), st.sampled_from([0.0, 0.3]))
def test_no_catalogued_mistake_reproduces_the_right_gradients(p, l2):
    """Every mistake variant either changes the numbers or is skipped: the right answer is never 'a mistake'."""
    net = bp.Network(p.net.sizes, p.net.activations, p.net.loss, reduction=p.net.reduction, half=p.net.half,
                     bias=p.net.bias, l2=l2)
    spec, params, x, y, dtype = check_all(net, p.params, p.x, p.y)
    d = ref.fast_derivatives(net, p.params, p.x, p.y)  # one compilation per depth
    grads, dx = d.gradients, d.deltas[0] @ p.params[0][0].T  # z_1 = x W_1 + b_1: ∂L/∂x = δ_1 W_1ᵀ
    for layout in ("row", "column"):
        for per_sample in (False, True):
            assert mistakes.name_mistakes(net, spec, params, x, y, dtype, grads, dx, grads, dx,
                                          layout=layout, per_sample=per_sample) == []
    assert mistakes.layout_mismatch(grads, grads, dx, dx, spec.n_layers, "row", dtype) is None


@settings(max_examples=15, deadline=None)
@given(dst.problems(max_depth=3, kink_margin=1e-3))
def test_correct_candidates_get_no_finding(p):
    report = ref.compare(p.net, p.params, p.x, p.y)
    assert report.ok and report.diagnosis == (), str(report)


@settings(max_examples=20, deadline=None)
@given(dst.problems(max_depth=3, min_batch=2, kink_margin=1e-3), st.sampled_from(["row", "column"]))
def test_planted_formation_mistakes_are_named_on_random_problems(p, layout):
    """Averaged biases and a dropped L2 term, planted into the right gradients of random nets."""
    from hypothesis import assume

    net = bp.Network(p.net.sizes, p.net.activations, p.net.loss, reduction=p.net.reduction, half=p.net.half,
                     bias=p.net.bias, l2=0.5)
    data_only = bp.Network(p.net.sizes, p.net.activations, p.net.loss, reduction=p.net.reduction,
                           half=p.net.half, bias=p.net.bias)
    right = ref.fast_derivatives(net, p.params, p.x, p.y).gradients  # one compilation per depth
    biased = [l for l, (_, db) in enumerate(right, start=1) if db is not None]
    assume(biased and all(np.abs(right[l - 1][1]).max() > 1e-3 for l in biased))
    N = p.x.shape[0]

    def to_layout(grads):
        return grads if layout == "row" else [(dW.T, None if db is None else db[:, None]) for dW, db in grads]

    def averaged(net, params, x, y):
        return to_layout([(dW, None if db is None else db / N) for dW, db in right])

    def no_penalty(net, params, x, y):
        return to_layout(ref.fast_derivatives(data_only, p.params, p.x, p.y).gradients)

    report = ref.compare(net, p.params, p.x, p.y, candidate=averaged, layout=layout)
    expected = (biased[0] if len(biased) == 1 else None, biased)
    assert [(f.detail["layer"], f.detail["layers"]) for f in report.diagnosis if f.kind == "mistake"] \
        == [expected], str(report)
    report = ref.compare(net, p.params, p.x, p.y, candidate=no_penalty, layout=layout)
    assert _named(report) == [("l2_missing", None)], str(report)


def test_the_readme_example():
    """The README's "Checking your own derivation" example, verbatim: its printed diagnosis is real."""
    def sigmoid(z):
        return 1 / (1 + np.exp(-z))

    def backprop(net, params, x, y):
        """Column layout, one sample: W (n_out, n_in), b (n_out, 1), x (n_in, 1), y (n_out, 1)."""
        (W1, b1), (W2, b2) = params
        z1 = W1 @ x + b1; a1 = sigmoid(z1)  # noqa: E702
        z2 = W2 @ a1 + b2; a2 = z2  # noqa: E702  (identity output, ½Σ(a − y)²)
        d2 = a2 - y
        d1 = (W2.T @ d2) * sigmoid(a1) * (1 - sigmoid(a1))  # the mistake: σ'(a1) for σ'(z1)
        return [(d1 @ x.T + 2 * net.l2 * W1, d1), (d2 @ a1.T + 2 * net.l2 * W2, d2)]

    net = bp.Network((3, 4, 2), ("sigmoid", "identity"), "squared_error", half=True, l2=1e-3)
    rng = np.random.default_rng(0)
    params = bp.init_params(net, seed=rng)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    report = ref.compare(net, params, x, y, candidate=backprop, layout="column", per_sample=True)
    assert "  - derivative_at_activation in layer 1: the candidate uses f'(a_1) where f'(z_1) is meant" in str(report)
    assert report.to_dict()["diagnosis"] == [{
        "kind": "mistake", "mistake": "derivative_at_activation", "layer": 1, "layers": [1],
        "text": report.diagnosis[0].text}]
