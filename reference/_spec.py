"""Argument checking shared by the JAX reference and the numerical oracles.

Everything here turns caller input into plain, fresh NumPy data so the rest of
``reference`` never has to think about validation and never holds (let alone
writes to) a caller's array.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

ACTIVATION_NAMES = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "softmax")
LOSS_NAMES = ("squared_error", "cross_entropy", "binary_cross_entropy")
REDUCTIONS = ("sum", "mean")
# The output activation each fused loss is defined on; squared error takes any.
_LOSS_OUTPUT = {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid"}
FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


class Spec(NamedTuple):
    """A hashable copy of what ``reference`` needs from a ``manual_bp.Network``."""

    sizes: tuple[int, ...]
    activations: tuple[tuple[str, float], ...]  # (name, leaky slope or 0.0) per layer
    loss: str
    reduction: str
    half: bool
    bias: tuple[bool, ...]

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1


def spec_of(net) -> Spec:
    """Read a ``Network`` (or anything with the same attributes) into a :class:`Spec`."""
    try:
        sizes, acts, loss = net.sizes, net.activations, net.loss
        reduction, half, bias = net.reduction, net.half, net.bias
    except AttributeError as exc:
        raise TypeError(
            f"net must be a manual_bp.Network (sizes, activations, loss, reduction, half, bias), "
            f"got {type(net).__name__}: {exc}"
        ) from None
    sizes = tuple(int(n) for n in sizes)
    n_layers = len(sizes) - 1
    if n_layers < 1 or min(sizes) < 1:
        raise ValueError(f"net.sizes must be >= 2 positive widths, got {sizes}")
    if isinstance(bias, (bool, np.bool_)):
        bias = (bool(bias),) * n_layers
    bias = tuple(bool(f) for f in bias)
    acts = tuple(acts)
    if len(acts) != n_layers or len(bias) != n_layers:
        raise ValueError(
            f"net needs one activation and one bias flag per layer ({n_layers}), "
            f"got {len(acts)} and {len(bias)}"
        )
    pairs = []
    for i, act in enumerate(acts):
        name = getattr(act, "name", act)
        if name not in ACTIVATION_NAMES:
            raise ValueError(f"net.activations[{i}] is {name!r}, not one of {ACTIVATION_NAMES}")
        if name == "softmax" and i != n_layers - 1:
            raise ValueError(f"net.activations[{i}] is softmax, which is only defined on the output")
        slope = float(getattr(act, "slope", 0.01)) if name == "leaky_relu" else 0.0
        pairs.append((name, slope))
    if loss not in LOSS_NAMES:
        raise ValueError(f"net.loss is {loss!r}, not one of {LOSS_NAMES}")
    need = _LOSS_OUTPUT.get(loss)
    if need is not None and pairs[-1][0] != need:
        raise ValueError(f"net.loss {loss!r} needs a {need} output layer, got {pairs[-1][0]!r}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"net.reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return Spec(sizes, tuple(pairs), loss, reduction, bool(half), bias)


def check_params(spec: Spec, params) -> tuple[list, np.dtype]:
    """Fresh copies of ``params`` as ``[(W, b or None), ...]`` plus their common dtype.

    ``W`` must be ``(n_in, n_out)`` and ``b`` ``(n_out,)`` (or None exactly where
    the net has no bias); all arrays float32, or all float64.
    """
    if isinstance(params, (str, bytes, np.ndarray)) or not hasattr(params, "__len__"):
        raise TypeError(f"params must be a list of (W, b) pairs, got {type(params).__name__}")
    if len(params) != spec.n_layers:
        raise ValueError(f"params needs {spec.n_layers} (W, b) pairs for sizes {spec.sizes}, got {len(params)}")
    out, dtypes = [], set()
    for l, pair in enumerate(params):
        try:
            W, b = pair
        except (TypeError, ValueError):
            raise TypeError(f"params[{l}] must be a (W, b) pair, got {type(pair).__name__}") from None
        n_in, n_out = spec.sizes[l], spec.sizes[l + 1]
        W = _float_array(W, f"params[{l}][0] (W)", (n_in, n_out))
        dtypes.add(W.dtype)
        if spec.bias[l]:
            if b is None:
                raise ValueError(f"params[{l}][1] (b) is None but net.bias[{l}] is True")
            b = _float_array(b, f"params[{l}][1] (b)", (n_out,))
            dtypes.add(b.dtype)
        elif b is not None:
            raise ValueError(f"params[{l}][1] (b) must be None because net.bias[{l}] is False")
        out.append((W, b))
    if len(dtypes) != 1:
        raise TypeError(f"params must all share one dtype (float32 or float64), got {sorted(map(str, dtypes))}")
    return out, dtypes.pop()


def _float_array(v, what: str, shape: tuple) -> np.ndarray:
    a = np.asarray(v)
    if a.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{what} must be float32 or float64, got dtype {a.dtype}")
    if a.shape != shape:
        raise ValueError(f"{what} must have shape {shape}, got {a.shape}")
    return a.copy()


def check_data(spec: Spec, x, y, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """``x`` as ``(n_batch, n_in)`` and ``y`` as ``(n_batch, n_out)`` rows, both in ``dtype``.

    Integer class labels ``(n_batch,)`` (cross_entropy only) become one-hot rows:
    the loss is defined on probability rows and labels are shorthand for them.
    """
    x_arr = check_x(spec, x, dtype)
    n_batch, n_out = x_arr.shape[0], spec.sizes[-1]
    y_arr = np.asarray(y)
    if y_arr.dtype.kind not in "biuf":
        raise TypeError(f"y must be a real numeric array, got dtype {y_arr.dtype}")
    if y_arr.ndim == 1 and y_arr.dtype.kind in "iu":
        if spec.loss != "cross_entropy":
            raise ValueError(f"y as integer class labels needs loss cross_entropy, not {spec.loss!r}; "
                             f"pass y with shape ({n_batch}, {n_out})")
        if y_arr.shape != (n_batch,):
            raise ValueError(f"y as class labels must have shape ({n_batch},), got {y_arr.shape}")
        if y_arr.min() < 0 or y_arr.max() >= n_out:
            raise ValueError(f"y class labels must lie in [0, {n_out}), got range [{y_arr.min()}, {y_arr.max()}]")
        y_arr = (y_arr[:, None] == np.arange(n_out)).astype(dtype)
    elif y_arr.shape != (n_batch, n_out):
        raise ValueError(f"y must have shape ({n_batch}, {n_out})"
                         + (f" or be integer labels ({n_batch},)" if spec.loss == "cross_entropy" else "")
                         + f", got {y_arr.shape}")
    return x_arr, y_arr.astype(dtype)  # astype copies: nothing shared with the caller


def check_x(spec: Spec, x, dtype: np.dtype) -> np.ndarray:
    """A fresh copy of ``x`` ``(n_batch, sizes[0])`` in ``dtype``."""
    x_arr = np.asarray(x)
    if x_arr.dtype.kind not in "biuf":
        raise TypeError(f"x must be a real numeric array, got dtype {x_arr.dtype}")
    if x_arr.ndim != 2 or x_arr.shape[1] != spec.sizes[0] or x_arr.shape[0] < 1:
        raise ValueError(f"x must have shape (n_batch, {spec.sizes[0]}) with n_batch >= 1, got {x_arr.shape}")
    return x_arr.astype(dtype)


def check_all(net, params, x, y):
    """Validate everything: ``(spec, params, x, y, dtype)`` as fresh NumPy data."""
    spec = spec_of(net)
    params, dtype = check_params(spec, params)
    x, y = check_data(spec, x, y, dtype)
    return spec, params, x, y, dtype
