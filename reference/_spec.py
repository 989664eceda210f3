"""Argument checking shared by the JAX reference and the numerical oracles.

Everything here turns caller input into plain, fresh NumPy data so the rest of
``reference`` never has to think about validation and never holds (let alone
writes to) a caller's array.

The policy is ``manual_bp``'s (``manual_bp/_validate.py``), implemented
separately so that the reference does not share validation code with what it
checks, and held to the same answers by ``tests/test_bad_input.py``.  (What
the two do share, by design, is each activation's and loss's *formula*: the
one definition, ``manual_bp.activations``/``losses``; the hand derivatives
beside it are what the reference checks, and it never calls them.)  Policy: ``x`` and ``y``
may be int or float arrays and are converted to the params' dtype; params
must be float32/float64 numpy arrays; bool, complex, object and string
arrays are a ``TypeError``; NaN, infinities, wrong shapes, out-of-range labels
and targets that are not what the loss is defined on are a ``ValueError``.
"""
from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from manual_bp.activations import Activation, get_activation
from manual_bp.losses import Loss, get_loss

REDUCTIONS = ("sum", "mean")
FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))
# Cross-entropy target rows must sum to 1 within this (the same bound as
# manual_bp's; float32 rounding of a row sum is ~1e-7).
_ROW_SUM_TOL = {np.dtype(np.float64): 1e-6, np.dtype(np.float32): 1e-4}


class Spec(NamedTuple):
    """A hashable copy of what ``reference`` needs from a ``manual_bp.Network``."""

    sizes: tuple[int, ...]
    activations: tuple[Activation, ...]  # one per layer (hashable: jit keys on the spec)
    loss: Loss
    reduction: str
    half: bool
    bias: tuple[bool, ...]
    l2: float = 0.0  # weight decay: L gains l2 · Σ_l ‖W_l‖²

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1


def _flag(value, what: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{what} must be True or False, got {value!r}")
    return bool(value)


def spec_of(net) -> Spec:
    """Read a ``Network`` (or anything with the same attributes) into a :class:`Spec`."""
    try:
        sizes, acts, loss = net.sizes, net.activations, net.loss
        reduction, half, bias = net.reduction, net.half, net.bias
        l2 = getattr(net, "l2", 0.0)
    except AttributeError as exc:
        raise TypeError(
            f"net must be a manual_bp.Network (sizes, activations, loss, reduction, half, bias), "
            f"got {type(net).__name__}: {exc}"
        ) from None
    sizes = tuple(sizes)
    for i, n in enumerate(sizes):
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral):
            raise TypeError(f"net.sizes[{i}] must be an int, got {n!r}")
    sizes = tuple(int(n) for n in sizes)
    n_layers = len(sizes) - 1
    if n_layers < 1 or min(sizes) < 1:
        raise ValueError(f"net.sizes must be >= 2 positive widths, got {sizes}")
    if isinstance(bias, (bool, np.bool_)):
        bias = (bool(bias),) * n_layers
    bias = tuple(_flag(f, "net.bias flags") for f in bias)
    acts = tuple(acts)
    if len(acts) != n_layers or len(bias) != n_layers:
        raise ValueError(
            f"net needs one activation and one bias flag per layer ({n_layers}), "
            f"got {len(acts)} and {len(bias)}"
        )
    pairs = []
    for i, act in enumerate(acts):
        try:
            act = get_activation(act)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"net.activations[{i}]: {exc}") from None
        if not act.elementwise and i != n_layers - 1:
            raise ValueError(f"net.activations[{i}] is {act.name}, which is only defined on the output layer")
        pairs.append(act)
    loss_obj = getattr(net, "loss_fn", None)
    if not isinstance(loss_obj, Loss):
        try:
            loss_obj = get_loss(loss)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"net.loss: {exc}") from None
    need = loss_obj.output_activations
    if need is not None and pairs[-1].name not in need:
        raise ValueError(f"net.loss {loss_obj.name!r} needs a {' or '.join(need)} output layer, "
                         f"got {pairs[-1].name!r}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"net.reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if _flag(half, "net.half") and loss_obj.name != "squared_error":
        raise ValueError(f"net.half is the ½ of squared error; it does not apply to {loss_obj.name!r}")
    return Spec(sizes, tuple(pairs), loss_obj, reduction, bool(half), bias, float(l2))


def check_params(spec: Spec, params) -> tuple[list, np.dtype]:
    """Fresh copies of ``params`` as ``[(W, b or None), ...]`` plus their common dtype.

    ``W`` must be ``(n_in, n_out)`` and ``b`` ``(n_out,)`` (or None exactly where
    the net has no bias); all numpy arrays, all float32 or all float64, finite.
    """
    if isinstance(params, (str, bytes, np.ndarray)) or not hasattr(params, "__len__"):
        raise TypeError(f"params must be a list of (W, b) pairs, got {type(params).__name__}")
    if len(params) != spec.n_layers:
        raise ValueError(f"params needs {spec.n_layers} (W, b) pairs for sizes {spec.sizes}, got {len(params)}")
    out, dtype = [], None
    for l, pair in enumerate(params):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"params[{l}] must be a (W, b) pair, got {type(pair).__name__}")
        W, b = pair
        n_in, n_out = spec.sizes[l], spec.sizes[l + 1]
        W = _param(W, f"params[{l}][0] (W{l + 1})", (n_in, n_out), dtype)
        dtype = W.dtype
        if spec.bias[l]:
            if b is None:
                raise ValueError(f"params[{l}][1] (b{l + 1}) is None but net.bias[{l}] is True")
            b = _param(b, f"params[{l}][1] (b{l + 1})", (n_out,), dtype)
        elif b is not None:
            raise ValueError(f"params[{l}][1] (b{l + 1}) must be None because net.bias[{l}] is False")
        out.append((W, b))
    return out, dtype


def _param(v, what: str, shape: tuple, dtype) -> np.ndarray:
    """A fresh copy of one parameter array, which must already be float32/float64."""
    if not isinstance(v, np.ndarray) or isinstance(v, np.matrix) or v.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{what} must be a float32 or float64 numpy array, got "
                        f"{getattr(v, 'dtype', type(v).__name__)}")
    if dtype is not None and v.dtype != dtype:
        raise TypeError(f"{what} is {v.dtype} but params[0][0] is {dtype}: "
                        "params must all share one dtype (float32 or float64)")
    if not np.isfinite(v).all():
        raise ValueError(f"{what} contains NaN or infinite values")
    if v.shape != shape:
        raise ValueError(f"{what} must have shape {shape}, got {v.shape}")
    return np.array(v)


def _real(v, what: str) -> np.ndarray:
    """``np.asarray(v)`` if it holds real numbers (ints or floats), else TypeError."""
    try:
        a = np.asarray(v)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must be a numeric array: {exc}") from None
    if a.dtype.kind not in "iuf":  # no bool, complex, object, str
        raise TypeError(f"{what} must be a real numeric array (int or float), got dtype {a.dtype}")
    return a


def _cast(a: np.ndarray, what: str, dtype: np.dtype) -> np.ndarray:
    """A fresh ``dtype`` copy of real ``a``; NaN, inf and out-of-range values refused first."""
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise ValueError(f"{what} contains NaN or infinite values")
    big = np.finfo(dtype).max
    if a.size and (np.max(a) > big or np.min(a) < -big):
        raise ValueError(f"{what} has values beyond the {dtype} range of the params")
    return a.astype(dtype)  # astype copies: nothing shared with the caller


def check_data(spec: Spec, x, y, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """``x`` as ``(n_batch, n_in)`` and ``y`` as ``(n_batch, n_out)`` rows, both in ``dtype``.

    Integer class labels ``(n_batch,)`` (cross_entropy only) become one-hot rows:
    the loss is defined on probability rows and labels are shorthand for them.
    The reference evaluates the literal formula, but the targets must still be
    what ``manual_bp`` accepts (one policy for both): cross-entropy rows
    non-negative and summing to 1, binary cross-entropy targets in [0, 1].
    """
    x_arr = check_x(spec, x, dtype)
    n_batch, n_out = x_arr.shape[0], spec.sizes[-1]
    y_arr = _real(y, "y")
    name, targets = spec.loss.name, spec.loss.targets
    if y_arr.ndim == 1 and targets == "probabilities":
        if y_arr.dtype.kind == "f":
            raise TypeError(f"class labels y must be integers, got dtype {y_arr.dtype}; "
                            f"or pass probability rows of shape ({n_batch}, {n_out})")
        if y_arr.shape != (n_batch,):
            raise ValueError(f"y as class labels must have shape ({n_batch},), got {y_arr.shape}")
        if y_arr.min() < 0 or y_arr.max() >= n_out:
            raise ValueError(f"class labels y must lie in [0, {n_out}), got range [{y_arr.min()}, {y_arr.max()}]")
        return x_arr, (y_arr[:, None] == np.arange(n_out)).astype(dtype)
    if y_arr.ndim == 1 and y_arr.dtype.kind in "iu":
        raise ValueError(f"y as integer class labels needs loss cross_entropy, not {name!r}; "
                         f"pass y with shape ({n_batch}, {n_out})")
    if y_arr.shape != (n_batch, n_out):
        raise ValueError(f"y must have shape ({n_batch}, {n_out})"
                         + (f" or integer class labels of shape ({n_batch},)" if targets == "probabilities" else "")
                         + f", got {y_arr.shape}")
    y_arr = _cast(y_arr, "y", dtype)
    if targets == "probabilities":
        off = float(np.max(np.abs(np.sum(y_arr, axis=1) - 1)))
        if np.min(y_arr) < 0 or off > _ROW_SUM_TOL[dtype]:
            raise ValueError(f"{name} targets y must be probability rows (entries >= 0, rows summing "
                             f"to 1; a row sum is off by {off:.3g}) or integer class labels")
    elif targets == "unit" and (np.min(y_arr) < 0 or np.max(y_arr) > 1):
        raise ValueError(f"{name} targets y must lie in [0, 1], "
                         f"got [{np.min(y_arr):g}, {np.max(y_arr):g}]")
    return x_arr, y_arr


def check_x(spec: Spec, x, dtype: np.dtype) -> np.ndarray:
    """A fresh copy of ``x`` ``(n_batch, sizes[0])`` in ``dtype``."""
    x_arr = _real(x, "x")
    if x_arr.ndim != 2 or x_arr.shape[1] != spec.sizes[0] or x_arr.shape[0] < 1:
        raise ValueError(f"x must have shape (n_batch, {spec.sizes[0]}) with n_batch >= 1, got {x_arr.shape}; "
                         "reshape a single sample with x[None, :]")
    return _cast(x_arr, "x", dtype)


def check_all(net, params, x, y):
    """Validate everything: ``(spec, params, x, y, dtype)`` as fresh NumPy data."""
    spec = spec_of(net)
    params, dtype = check_params(spec, params)
    x, y = check_data(spec, x, y, dtype)
    return spec, params, x, y, dtype
