"""Hypothesis strategies for random networks, parameters, inputs and targets.

Importable from the installed package so other projects can reuse them in
their own gradient tests (requires ``hypothesis``)::

    from hypothesis import given
    from reference import strategies as dst

    @given(dst.problems(max_depth=3))
    def test_my_derivation(p):
        reference.assert_allclose_tree(my_grad_fn(p.net, p.params, p.x, p.y),
                                       reference.gradients(p.net, p.params, p.x, p.y),
                                       dtype=p.x.dtype, kind="jax")

Every bound is keyword-only with a small default.  Architectures (depth,
widths, activations, loss pairing, biases, reduction, ½) are drawn
structurally so Hypothesis shrinks them towards the smallest failing network;
the numbers inside a network (weights, inputs, targets) come from a drawn
NumPy seed, which keeps generation fast (one draw instead of hundreds) at
the price of not shrinking individual entries.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from manual_bp import LeakyReLU, Network, get_activation

from .numerical import kink_distance

__all__ = [
    "HIDDEN_ACTIVATIONS",
    "OUTPUT_ACTIVATIONS",
    "LOSSES",
    "LEAKY_SLOPES",
    "Problem",
    "activations",
    "networks",
    "params",
    "inputs",
    "targets",
    "problems",
]

HIDDEN_ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "leaky_relu")
#: Output activations each loss can follow.
OUTPUT_ACTIVATIONS = {
    "squared_error": ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "softmax"),
    "cross_entropy": ("softmax",),
    "binary_cross_entropy": ("sigmoid",),
}
LOSSES = tuple(OUTPUT_ACTIVATIONS)


class Problem(NamedTuple):
    """One generated case: a network, its params and a batch ``(x, y)``.

    ``x`` is ``(n_batch, sizes[0])``; ``y`` is ``(n_batch, sizes[-1])`` or, for
    cross-entropy, possibly integer labels ``(n_batch,)``.  ``seed`` regenerates
    the numbers.
    """

    net: Network
    params: list
    x: np.ndarray
    y: np.ndarray
    seed: int

    def __repr__(self) -> str:
        return f"Problem({self.net.describe()}, n_batch={self.x.shape[0]}, dtype={self.x.dtype}, seed={self.seed})"


#: The documents' small slopes, plus the edge cases a derivation can get
#: wrong: 0 (a ReLU), negative (a > 0 on both sides, so f' must read z) and > 1.
LEAKY_SLOPES = (0.01, 0.1, 0.3, 0.0, -0.5, 1.5)


def activations(*, names=HIDDEN_ACTIVATIONS, slopes=LEAKY_SLOPES):
    """An activation drawn from ``names``; leaky ReLU gets a slope from ``slopes``."""
    def build(name):
        if name == "leaky_relu":
            return st.sampled_from(slopes).map(LeakyReLU)
        return st.just(get_activation(name))

    return st.sampled_from(tuple(names)).flatmap(build)


@st.composite
def networks(
    draw,
    *,
    min_depth: int = 1,
    max_depth: int = 5,
    min_width: int = 1,
    max_width: int = 8,
    losses=LOSSES,
    hidden_activations=HIDDEN_ACTIVATIONS,
    output_activations=None,
    reductions=("sum", "mean"),
    half=None,
    bias=None,
):
    """A :class:`~manual_bp.Network` with ``min_depth..max_depth`` weight layers.

    ``losses``: loss names to draw from; the output activation is drawn from
    those the loss pairs with (``OUTPUT_ACTIVATIONS``), narrowed to
    ``output_activations`` if given.  ``half``/``bias``: None to draw, or a
    fixed value (``half`` is only drawn for squared error).
    """
    depth = draw(st.integers(min_depth, max_depth))
    sizes = tuple(draw(st.lists(st.integers(min_width, max_width), min_size=depth + 1, max_size=depth + 1)))
    loss = draw(st.sampled_from(tuple(losses)))
    outs = OUTPUT_ACTIVATIONS[loss]
    if output_activations is not None:
        outs = tuple(a for a in outs if a in output_activations)
        if not outs:
            raise ValueError(f"no output activation in {output_activations} pairs with loss {loss!r}")
    acts = [draw(activations(names=hidden_activations)) for _ in range(depth - 1)]
    acts.append(draw(activations(names=outs)))
    reduction = draw(st.sampled_from(tuple(reductions)))
    if loss != "squared_error":
        h = False
    else:
        h = draw(st.booleans()) if half is None else half
    if bias is None:
        b = tuple(draw(st.lists(st.booleans(), min_size=depth, max_size=depth)))
    else:
        b = bias
    return Network(sizes, tuple(acts), loss, reduction=reduction, half=h, bias=b)


def _params_from(net, rng, dtype, scale):
    # U(−1, 1)·scale/√n_in keeps every z of order `scale` whatever the width,
    # so deep identity stacks neither explode nor vanish.
    out = []
    for (w_shape, b_shape) in net.shapes():
        W = rng.uniform(-1, 1, w_shape) * (scale / np.sqrt(w_shape[0]))
        b = rng.uniform(-1, 1, b_shape) * scale if b_shape else None
        out.append((W.astype(dtype), None if b is None else b.astype(dtype)))
    return out


def _inputs_from(net, rng, n_batch, dtype, max_abs):
    return rng.uniform(-max_abs, max_abs, (n_batch, net.sizes[0])).astype(dtype)


def _targets_from(net, rng, n_batch, dtype, labels):
    k = net.sizes[-1]
    if net.loss == "cross_entropy":
        if labels:
            return rng.integers(0, k, n_batch)
        return rng.dirichlet(np.ones(k), n_batch).astype(dtype)
    if net.loss == "binary_cross_entropy":
        return rng.uniform(0, 1, (n_batch, k)).astype(dtype)
    return rng.normal(0, 1, (n_batch, k)).astype(dtype)


def params(net, *, dtype=np.float64, min_scale: float = 0.1, max_scale: float = 2.0):
    """Parameters for ``net``: W entries of size about ``scale/√n_in``, b about ``scale``."""
    return st.tuples(st.integers(0, 2**32 - 1), st.floats(min_scale, max_scale)).map(
        lambda s: _params_from(net, np.random.default_rng(s[0]), dtype, s[1])
    )


def inputs(net, n_batch: int, *, dtype=np.float64, max_abs: float = 2.0):
    """``x`` of shape ``(n_batch, sizes[0])`` with entries in ``[−max_abs, max_abs]``."""
    return st.integers(0, 2**32 - 1).map(
        lambda s: _inputs_from(net, np.random.default_rng(s), n_batch, dtype, max_abs)
    )


def targets(net, n_batch: int, *, dtype=np.float64, labels=None):
    """Valid targets for ``net.loss``: real rows (squared error), probability
    rows or integer labels (cross-entropy; ``labels`` None draws either),
    values in [0, 1] (binary cross-entropy)."""
    lab = st.booleans() if labels is None else st.just(labels)
    return st.tuples(st.integers(0, 2**32 - 1), lab).map(
        lambda s: _targets_from(net, np.random.default_rng(s[0]), n_batch, dtype, s[1])
    )


@st.composite
def problems(
    draw,
    *,
    min_batch: int = 1,
    max_batch: int = 8,
    dtype=np.float64,
    max_abs: float = 2.0,
    min_scale: float = 0.1,
    max_scale: float = 2.0,
    labels=None,
    kink_margin: float = 0.0,
    **network_kwargs,
):
    """A full :class:`Problem`; ``network_kwargs`` go to :func:`networks`.

    ``kink_margin > 0`` keeps every ReLU/leaky-ReLU pre-activation at least
    that far from 0 (resampling the numbers, then rejecting), which numerical
    differentiation needs; leave it 0 to exercise kinks on purpose.
    """
    net = draw(networks(**network_kwargs))
    n_batch = draw(st.integers(min_batch, max_batch))
    scale = draw(st.floats(min_scale, max_scale))
    use_labels = draw(st.booleans()) if labels is None else labels
    seed = draw(st.integers(0, 2**32 - 1))
    for attempt in range(8):
        rng = np.random.default_rng((seed, attempt))
        p = _params_from(net, rng, dtype, scale)
        x = _inputs_from(net, rng, n_batch, dtype, max_abs)
        if kink_margin <= 0 or kink_distance(net, p, x) >= kink_margin:
            break
    else:
        assume(False)
    y = _targets_from(net, rng, n_batch, dtype, use_labels)
    return Problem(net, p, x, y, seed)
