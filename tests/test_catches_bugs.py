"""The suite's checks must fail on classic hand-derivation mistakes.

Each mutant below patches one equation of manual_bp into a plausible wrong
form.  Hypothesis must then *find* a problem on which the same checker the
suite uses (``check_against_oracles``) or the SGD property fails; a mutant
that survives means the suite could pass a wrong derivation.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, find, settings
from test_crosscheck import KINK_MARGIN, check_against_oracles

import manual_bp as bp
from manual_bp import activations as acts
from manual_bp import backprop, network, training
from reference import strategies as dst

# No shrinking: the search only has to find one problem that exposes the
# mutant; shrinking it tried hundreds of smaller nets, each a new JAX
# compilation (depth, padded width), which made one case take ~10 s.
_FIND = settings(max_examples=400, database=None, derandomize=True, deadline=None,
                 suppress_health_check=list(HealthCheck), phases=[Phase.generate])


def _sigmoid(v):
    return 0.5 * (1 + np.tanh(0.5 * v))


def _param_grads_dW_transposed(net, params, as_, ds):
    return [((a.T @ d).T, None if b is None else d.sum(0)) for (W, b), a, d in zip(params, as_[:-1], ds)]


def _param_grads_bias_not_summed(net, params, as_, ds):
    # db = δ of the first sample only: right for batch 1, wrong otherwise.
    return [(a.T @ d, None if b is None else d[0].copy()) for (W, b), a, d in zip(params, as_[:-1], ds)]


def _param_grads_bias_averaged(net, params, as_, ds):
    return [(a.T @ d, None if b is None else d.mean(0)) for (W, b), a, d in zip(params, as_[:-1], ds)]


_PARAM_GRADS = backprop._param_grads


def _param_grads_db1_off_by_5_percent(net, params, as_, ds):
    # A small mistake in the smallest leaf: layer 1's db (under mean reduction
    # its entries are ~1/N of the others') 5% too large.
    out = _PARAM_GRADS(net, params, as_, ds)
    dW, db = out[0]
    out[0] = (dW, None if db is None or net.reduction != "mean" else db * 1.05)
    return out


def _make_backward(weights_of, skip_derivative=False):
    def _backward(net, params, zs, as_, y):
        L = net.n_layers
        delta = net.batch_scale(y.shape[0]) * net.loss_fn.output_delta(zs[-1], as_[-1], y, net.activations[-1])
        out = [delta]
        for l in range(L - 1, 0, -1):
            g = delta @ weights_of(params, l)
            delta = g if skip_derivative else net.activations[l - 1].vjp(g, zs[l - 1], as_[l])
            out.append(delta)
        return out[::-1]
    return _backward


def _backward_skipping_a_layer(net, params, zs, as_, y):
    # δ_l from δ_{l+2} @ W_{l+1}.T: the middle layer (its W_{l+2} and f'_{l+1}) is left out.
    delta = net.batch_scale(y.shape[0]) * net.loss_fn.output_delta(zs[-1], as_[-1], y, net.activations[-1])
    out = [delta]
    for l in range(net.n_layers - 1, 0, -1):
        upstream = out[-2] if len(out) >= 2 else out[-1]
        out.append(net.activations[l - 1].vjp(upstream @ params[l][0].T, zs[l - 1], as_[l]))
    return out[::-1]


def _scale_always_mean(self, n_batch):
    return (0.5 if self.half else 1.0) / n_batch


def _scale_ignoring(attr):
    def batch_scale(self, n_batch):
        half = 0.5 if (self.half and attr != "half") else 1.0
        return half / n_batch if (self.reduction == "mean" and attr != "mean") else half
    return batch_scale


def _sgd_step_sign_flipped(params, grads, lr):
    return [(W + lr * dW, None if b is None else b + lr * db) for (W, b), (dW, db) in zip(params, grads)]


# (name, [(object, attribute, replacement)], strategy keyword arguments)
MUTANTS = [
    ("dW = (a.T @ δ).T: transposed weight gradient",
     [(backprop, "_param_grads", _param_grads_dW_transposed)], dict(min_width=3, max_width=3)),
    ("δ_prev = δ @ W instead of δ @ W.T",
     [(backprop, "_backward", _make_backward(lambda p, l: p[l][0]))], dict(min_width=3, max_width=3, min_depth=2)),
    ("δ_prev uses the wrong layer's weights",
     [(backprop, "_backward", _make_backward(lambda p, l: p[l - 1][0].T))], dict(min_width=3, max_width=3, min_depth=2)),
    ("δ recursion skips f'(z) of the hidden layer",
     [(backprop, "_backward", _make_backward(lambda p, l: p[l][0].T, skip_derivative=True))],
     dict(min_depth=2, hidden_activations=("sigmoid", "tanh", "relu", "leaky_relu"))),
    ("σ'(a) used where σ'(z) is meant",
     [(acts.Sigmoid, "derivative", lambda self, z, a: _sigmoid(a) * (1 - _sigmoid(a)))],
     dict(hidden_activations=("sigmoid",), min_depth=2)),
    # A derivative written in z must also declare needs_z, or the gradient path
    # (which overwrites z with a where only a is needed) would not keep z for it.
    ("tanh'(z) written 1 − z² instead of 1 − a²",
     [(acts.Tanh, "derivative", lambda self, z, a: 1 - z * z), (acts.Tanh, "needs_z", True)],
     dict(hidden_activations=("tanh",), min_depth=2)),
    ("ReLU' taken from a ≥ 0 (1 at dead units)",
     [(acts.ReLU, "derivative", lambda self, z, a: (a >= 0).astype(a.dtype))],
     dict(hidden_activations=("relu",), min_depth=2)),
    ("leaky ReLU' missing its slope on the negative side",
     [(acts.LeakyReLU, "derivative", lambda self, z, a: (a > 0).astype(a.dtype))],
     dict(hidden_activations=("leaky_relu",), min_depth=2)),
    ("softmax Jacobian: diagonal only, a(1 − a)",
     [(acts.Softmax, "vjp", lambda self, g, z, a, out=None: g * a * (1 - a))],
     dict(losses=("squared_error",), output_activations=("softmax",), min_width=2)),
    ("½ of squared error dropped",
     [(network.Network, "batch_scale", _scale_ignoring("half"))], dict(losses=("squared_error",))),
    ("1/N of the mean dropped (sum where mean belongs)",
     [(network.Network, "batch_scale", _scale_ignoring("mean"))], dict(reductions=("mean",))),
    ("bias gradient not summed over the batch",
     [(backprop, "_param_grads", _param_grads_bias_not_summed)], dict(bias=True, min_batch=2)),
    ("bias gradient averaged instead of summed",
     [(backprop, "_param_grads", _param_grads_bias_averaged)], dict(bias=True, min_batch=2)),
    ("squared-error derivative sign flipped",
     [(bp.SquaredError, "grad_a", lambda self, a, y: 2.0 * (y - a))], dict(losses=("squared_error",))),
    ("δ recursion skips a layer (δ_l from δ_{l+2})",
     [(backprop, "_backward", _backward_skipping_a_layer)], dict(min_width=3, max_width=3, min_depth=3)),
    ("1/N where a sum belongs (mean under reduction='sum')",
     [(network.Network, "batch_scale", _scale_always_mean)], dict(reductions=("sum",), min_batch=2)),
    ("output δ = 2(a − y) for squared error, f'(z) of the output dropped",
     [(bp.SquaredError, "output_delta", lambda self, z, a, y, act, *args, **kwargs: 2.0 * (a - y))],
     dict(losses=("squared_error",))),
    ("layer 1's db 5% too large under mean reduction (a small mistake in a small leaf)",
     [(backprop, "_param_grads", _param_grads_db1_off_by_5_percent)], dict(reductions=("mean",), bias=True)),
]


def _disagrees(p) -> bool:
    try:
        check_against_oracles(p, numerical=False, record=False)
    except AssertionError:
        return True
    return False


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name, patches, kwargs", MUTANTS, ids=[m[0] for m in MUTANTS])
def test_checker_finds_the_mutant(monkeypatch, name, patches, kwargs, dtype):
    for obj, attr, value in patches:
        monkeypatch.setattr(obj, attr, value)
    p = find(dst.problems(kink_margin=KINK_MARGIN, dtype=dtype, **kwargs), _disagrees, settings=_FIND)
    assert p is not None


@pytest.mark.parametrize("name, patches, kwargs", MUTANTS, ids=[m[0] for m in MUTANTS])
def test_numpy_only_gate_finds_the_mutant_too(monkeypatch, name, patches, kwargs):
    # The mutation gate runs without JAX (tests/test_mutation_gate.py): its
    # complex-step oracles must catch every classic mistake as well.
    from test_mutation_gate import check_numpy_oracles

    def fails(p):
        try:
            check_numpy_oracles(p)
        except AssertionError:
            return True
        return False

    for obj, attr, value in patches:
        monkeypatch.setattr(obj, attr, value)
    small = {"max_depth": max(3, kwargs.get("min_depth", 1)), "max_batch": 4, **kwargs}
    assert find(dst.problems(**small), fails, settings=_FIND) is not None


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_unmutated_code_passes_the_same_search(dtype):
    # The control: with no patch, the same search finds nothing.
    from hypothesis.errors import NoSuchExample

    with pytest.raises(NoSuchExample):
        find(dst.problems(kink_margin=KINK_MARGIN, dtype=dtype), _disagrees,
             settings=_FIND.__class__(_FIND, max_examples=100))


def test_sgd_sign_flip_is_caught(monkeypatch):
    # An update rule that climbs must fail the suite's own descent property.
    from test_manual_properties import test_small_sgd_step_does_not_increase_loss as prop

    monkeypatch.setattr(training, "sgd_step", _sgd_step_sign_flipped)
    monkeypatch.setattr(bp, "sgd_step", _sgd_step_sign_flipped)
    with pytest.raises(AssertionError):
        prop()
