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

import functools
from typing import NamedTuple

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from manual_bp import ELU, LeakyReLU, Network, get_activation
from manual_bp.activations import ACTIVATIONS
from manual_bp.losses import LOSSES as _REGISTERED_LOSSES

from ._warm import warmed
from .numerical import kink_distance

__all__ = [
    "HIDDEN_ACTIVATIONS",
    "OUTPUT_ACTIVATIONS",
    "LOSSES",
    "LEAKY_SLOPES",
    "ELU_ALPHAS",
    "L2_VALUES",
    "Problem",
    "activations",
    "hidden_activation_names",
    "output_activation_names",
    "loss_names",
    "networks",
    "params",
    "inputs",
    "targets",
    "problems",
]


def hidden_activation_names() -> tuple[str, ...]:
    """Every registered elementwise activation (they may sit in any layer), at call time,
    so activations registered with ``manual_bp.register_activation`` are drawn too."""
    return tuple(name for name, act in ACTIVATIONS.items() if act.elementwise)


def output_activation_names(loss) -> tuple[str, ...]:
    """Registered activations the loss ``loss`` (a name) may follow (``loss.output_activations``)."""
    allowed = _REGISTERED_LOSSES[loss].output_activations
    return tuple(name for name in ACTIVATIONS if allowed is None or name in allowed)


def loss_names() -> tuple[str, ...]:
    """Every registered loss, at call time."""
    return tuple(_REGISTERED_LOSSES)


#: The built-in names at import time (for reference; the strategies read the
#: registry when they draw, so a user's registered activations and losses are included).
HIDDEN_ACTIVATIONS = hidden_activation_names()
#: Output activations each built-in loss can follow.
OUTPUT_ACTIVATIONS = {loss: output_activation_names(loss) for loss in loss_names()}
LOSSES = loss_names()


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
#: Weight-decay coefficients drawn by :func:`networks` (none half the time).
L2_VALUES = (0.0, 0.0, 0.01, 0.5)
#: ELU's default α = 1 (smooth), and α ≠ 1 (a kink at 0, f' = α on the left).
ELU_ALPHAS = (1.0, 0.5, 2.0)


def activations(*, names=None, slopes=LEAKY_SLOPES, alphas=ELU_ALPHAS):
    """An activation drawn from ``names`` (default: every registered elementwise one);
    leaky ReLU gets a slope from ``slopes``, ELU an α from ``alphas``."""
    names = hidden_activation_names() if names is None else names
    return _activations(tuple(names), tuple(slopes), tuple(alphas))


@functools.lru_cache(maxsize=256)
def _activations(names: tuple, slopes: tuple, alphas: tuple):
    # One strategy object per choice of names: networks() asks for one per layer per
    # draw, and a fresh strategy makes Hypothesis validate it afresh every time.
    def build(name):
        act = get_activation(name)
        if isinstance(act, LeakyReLU):
            return st.sampled_from(slopes).map(LeakyReLU)
        if isinstance(act, ELU):
            return st.sampled_from(alphas).map(ELU)
        return st.just(act)

    return st.sampled_from(names).flatmap(build)


@st.composite
def networks(
    draw,
    *,
    min_depth: int = 1,
    max_depth: int = 5,
    min_width: int = 1,
    max_width: int = 8,
    losses=None,
    hidden_activations=None,
    output_activations=None,
    reductions=("sum", "mean"),
    half=None,
    bias=None,
    l2=0.0,
):
    """A :class:`~manual_bp.Network` with ``min_depth..max_depth`` weight layers.

    ``losses``: loss names to draw from (default: every registered loss);
    the output activation is drawn from those the loss pairs with
    (:func:`output_activation_names`), narrowed to ``output_activations`` if
    given.  ``hidden_activations``: names for the hidden layers (default: every
    registered elementwise activation).  ``half``/``bias``/``l2``: None to
    draw, or a fixed value (``half`` is only drawn for squared error; ``l2``
    defaults to 0, no weight decay, and ``l2=None`` draws it from
    :data:`L2_VALUES`, 0 half the time).
    """
    depth = draw(st.integers(min_depth, max_depth))
    sizes = tuple(draw(st.lists(st.integers(min_width, max_width), min_size=depth + 1, max_size=depth + 1)))
    loss = draw(st.sampled_from(loss_names() if losses is None else tuple(losses)))
    outs = output_activation_names(loss)
    if output_activations is not None:
        outs = tuple(a for a in outs if a in output_activations)
        if not outs:
            raise ValueError(f"no output activation in {output_activations} pairs with loss {loss!r}")
    hidden = hidden_activation_names() if hidden_activations is None else tuple(hidden_activations)
    acts = [draw(activations(names=hidden)) for _ in range(depth - 1)]
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
    decay = draw(st.sampled_from(L2_VALUES)) if l2 is None else l2
    return Network(sizes, tuple(acts), loss, reduction=reduction, half=h, bias=b, l2=decay)


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
    if net.loss_fn.targets == "probabilities":
        if labels:
            return rng.integers(0, k, n_batch)
        return rng.dirichlet(np.ones(k), n_batch).astype(dtype)
    if net.loss_fn.targets == "unit":
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


@warmed
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
