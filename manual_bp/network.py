"""The network specification and parameter initialisation.

A :class:`Network` is plain, immutable data: widths, one activation per
layer, the loss and its scaling convention, and which layers have biases.
Parameters live outside it, as a list of ``(W, b)`` pairs with
``W`` of shape ``(n_in, n_out)`` and ``b`` of shape ``(n_out,)`` or ``None``,
used as ``z = a_prev @ W + b`` with samples as rows (document 000's layout;
document 001's column form ``W h + b`` is the transpose).
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

from ._validate import check_net, check_number, check_positive, make_rng
from .activations import Activation, get_activation
from .losses import Loss, get_loss

__all__ = ["Network", "init_params", "REDUCTIONS", "INIT_SCHEMES"]

REDUCTIONS = ("sum", "mean")
INIT_SCHEMES = ("xavier", "doc001")


@dataclass(frozen=True)
class Network:
    """An MLP: ``sizes[0]`` inputs, then one layer per entry of ``sizes[1:]``.

    Parameters
    ----------
    sizes : sequence of int
        Input width then each layer's width, e.g. ``(4, 3, 3)``.
    activations : sequence of (str | Activation), or one str for every layer
        One per layer (``len(sizes) - 1``), by registered name -- ``identity``
        (alias ``linear``), ``sigmoid``, ``tanh``, ``relu``, ``leaky_relu``,
        ``softmax`` (output only), ``softplus``, ``elu``, ``swish`` (alias
        ``silu``), ``gelu`` (tanh approximation), or your own after
        :func:`manual_bp.register_activation` -- or an instance, e.g.
        ``LeakyReLU(0.2)``, ``ELU(alpha=0.5)``.
    loss : str or Loss
        ``squared_error`` (any output), ``cross_entropy`` (softmax output;
        targets as probability rows or integer class labels),
        ``binary_cross_entropy`` (sigmoid output; targets in [0, 1]), or your
        own after :func:`manual_bp.register_loss`.
    reduction : {"sum", "mean"}
        Sum the per-sample losses, or average them over the batch.
    half : bool
        Multiply squared error by ½ (only meaningful for squared error).
    bias : bool or sequence of bool
        One flag for all layers, or one per layer.
    l2 : float >= 0
        L2 weight decay: the total loss gains ``l2 · Σ_l ‖W_l‖²`` (squared
        Frobenius norms, biases excluded), added once to the batch loss
        whatever the reduction, so every ``dW_l`` gains ``2·l2·W_l``.  The
        common conventions map onto it as: ``λ/2 · Σ‖W‖²`` → ``l2 = λ/2``;
        ``λ/(2n) · Σ‖W‖²`` over a training set of n → ``l2 = λ/(2n)``;
        ``reg · Σ W²`` (cs231n) → ``l2 = reg``; a decay step
        ``W ← (1 − η·wd)·W − η·∇`` → ``l2 = wd/2``.

    The total loss is ``L = (½ if half) · (1/N if mean) · Σ_n ℓ_n + l2 · Σ_l ‖W_l‖²``:
    Σ, ½Σ, (1/N)Σ and 1/(2N)Σ are ``half``/``reduction`` combinations.
    """

    sizes: tuple[int, ...]
    activations: tuple[Activation, ...]
    loss: str
    reduction: str = "sum"
    half: bool = False
    bias: tuple[bool, ...] | bool = True
    l2: float = 0.0
    loss_fn: Loss = field(init=False, repr=False, compare=False)
    # What shapes() returns, computed once: validation reads it on every call.
    _shapes: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        sizes = self.sizes
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
            raise TypeError(f"sizes must be a sequence of ints such as (4, 3, 3), got {sizes!r}")
        sizes = tuple(sizes)
        if len(sizes) < 2:
            raise ValueError(
                f"sizes needs the input width and at least one layer width, e.g. (4, 3), got {sizes!r}"
            )
        for i, n in enumerate(sizes):
            if isinstance(n, bool) or not isinstance(n, numbers.Integral):
                raise TypeError(f"sizes[{i}] must be an int, got {n!r}")
            if n < 1:
                raise ValueError(f"sizes[{i}] must be a positive width, got {n}")
        sizes = tuple(int(n) for n in sizes)
        n_layers = len(sizes) - 1

        acts = self.activations
        if isinstance(acts, (str, Activation)):
            acts = (acts,) * n_layers
        if not hasattr(acts, "__len__"):
            raise TypeError(
                f"activations must be one name or a sequence of one per layer, got {acts!r}"
            )
        acts = tuple(acts)
        if len(acts) != n_layers:
            raise ValueError(
                f"activations needs one entry per layer: {n_layers} for sizes {sizes}, got {len(acts)}"
            )
        acts = tuple(get_activation(a) for a in acts)
        for i, a in enumerate(acts[:-1]):
            if not a.elementwise:
                raise ValueError(
                    f"activations[{i}] is {a.name}, which is only supported on the output layer"
                )

        loss_fn = get_loss(self.loss)
        out = acts[-1].name
        if loss_fn.output_activations is not None and out not in loss_fn.output_activations:
            raise ValueError(
                f"loss {loss_fn.name!r} needs a {' or '.join(loss_fn.output_activations)} output "
                f"layer, but activations[-1] is {out!r}; use squared_error for a {out} output"
            )

        if self.reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {self.reduction!r}")
        if not isinstance(self.half, (bool, np.bool_)):
            raise TypeError(f"half must be True or False, got {self.half!r}")
        if self.half and loss_fn.name != "squared_error":
            raise ValueError(
                f"half=True is the ½ of squared error; it does not apply to {loss_fn.name!r}"
            )

        bias = self.bias
        if isinstance(bias, (bool, np.bool_)):
            bias = (bool(bias),) * n_layers
        else:
            if isinstance(bias, (str, bytes)) or not hasattr(bias, "__len__"):
                raise TypeError(f"bias must be True, False or one flag per layer, got {bias!r}")
            bias = tuple(bias)
            if len(bias) != n_layers:
                raise ValueError(
                    f"bias needs one flag or one per layer ({n_layers}), got {len(bias)}"
                )
            for i, flag in enumerate(bias):
                if not isinstance(flag, (bool, np.bool_)):
                    raise TypeError(f"bias[{i}] must be True or False, got {flag!r}")
            bias = tuple(bool(f) for f in bias)

        l2 = self.l2
        if isinstance(l2, (bool, np.bool_)) or not isinstance(l2, numbers.Real):
            raise TypeError(f"l2 must be a real number >= 0 (the weight-decay coefficient), got {l2!r}")
        if not (np.isfinite(l2) and l2 >= 0):
            raise ValueError(f"l2 must be a finite number >= 0 (the weight-decay coefficient), got {l2!r}")

        object.__setattr__(self, "l2", float(l2))
        object.__setattr__(self, "sizes", sizes)
        object.__setattr__(self, "activations", acts)
        object.__setattr__(self, "loss", loss_fn.name)
        object.__setattr__(self, "half", bool(self.half))
        object.__setattr__(self, "bias", bias)
        object.__setattr__(self, "loss_fn", loss_fn)
        object.__setattr__(self, "_shapes", tuple(
            ((n_in, n_out), (n_out,) if has_b else None)
            for n_in, n_out, has_b in zip(sizes[:-1], sizes[1:], bias)
        ))

    @property
    def n_layers(self) -> int:
        """Number of weight layers (``len(sizes) - 1``)."""
        return len(self.sizes) - 1

    @property
    def scale(self) -> float:
        """Factor ``s`` in ``L = s · Σ_n ℓ_n`` for one sample (mean scaling applied per batch)."""
        return 0.5 if self.half else 1.0

    def batch_scale(self, n_batch: int) -> float:
        """``s`` for a batch of ``n_batch`` samples: ½ if half, times 1/N if mean."""
        return self.scale / n_batch if self.reduction == "mean" else self.scale

    def shapes(self) -> list[tuple[tuple[int, int], tuple[int] | None]]:
        """Expected ``(W.shape, b.shape or None)`` for every layer."""
        return list(self._shapes)

    def describe(self) -> str:
        """One line, e.g. ``4-3-3 sigmoid,softmax cross_entropy sum``."""
        conv = self.reduction + (" half" if self.half else "")
        nob = "" if all(self.bias) else " bias=" + "".join("1" if b else "0" for b in self.bias)
        l2 = f" l2={self.l2:g}" if self.l2 else ""
        return (
            "-".join(map(str, self.sizes)) + " " + ",".join(map(str, self.activations))
            + f" {self.loss} {conv}{nob}{l2}"
        )


def init_params(
    net: Network,
    seed=0,
    *,
    scheme: str = "xavier",
    dtype=np.float64,
    weight_scale: float = 0.1,
    bias_value: float = 0.05,
):
    """Fresh parameters for ``net``: a list of ``(W, b)``, ``W`` ``(n_in, n_out)``.

    Parameters
    ----------
    seed : int or numpy.random.Generator
        All randomness comes from here; the same seed gives identical arrays.
    scheme : {"xavier", "doc001"}
        ``xavier``: W ~ U(±sqrt(6 / (n_in + n_out))), b = 0.
        ``doc001``: document 001's rule, W = weight_scale · N(0, 1) and every
        bias = bias_value (defaults 0.1 and 0.05).
    dtype : float32 or float64
    """
    check_net(net)
    if scheme not in INIT_SCHEMES:
        raise ValueError(f"scheme must be one of {INIT_SCHEMES}, got {scheme!r}")
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    weight_scale = check_positive(weight_scale, "weight_scale")
    bias_value = check_number(bias_value, "bias_value")
    rng = make_rng(seed)
    params = []
    for (w_shape, b_shape) in net.shapes():
        n_in, n_out = w_shape
        if scheme == "xavier":
            limit = np.sqrt(6.0 / (n_in + n_out))
            W = rng.uniform(-limit, limit, size=w_shape)
            b = np.zeros(b_shape) if b_shape else None
        else:
            W = weight_scale * rng.standard_normal(w_shape)
            b = np.full(b_shape, bias_value) if b_shape else None
        params.append((W.astype(dtype), None if b is None else b.astype(dtype)))
    return params
