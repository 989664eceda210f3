"""Argument checks shared by every public function.

Everything is checked before any arithmetic, so bad input gets a
``TypeError``/``ValueError`` naming the argument instead of a NaN or a silent
broadcast.  Conversion policy (one rule everywhere): ``x`` and ``y`` may be
any real numeric array (ints included; documents print integer inputs) and
are converted to the parameters' float dtype; params must already be float32
or float64, because gradients are returned in the params' dtype.  Bool,
complex, object and string arrays are refused.  Inputs are never written to.
"""
from __future__ import annotations

import numbers

import numpy as np

from .network import Network

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def check_net(net) -> Network:
    if not isinstance(net, Network):
        raise TypeError(f"net must be a manual_bp.Network, got {type(net).__name__}")
    return net


def _as_real_array(value, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be a numeric array, could not convert: {exc}") from None
    if arr.dtype == np.bool_ or arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    return arr


def _check_finite(arr: np.ndarray, name: str) -> None:
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values; pass finite numbers")


def check_params(net: Network, params) -> np.dtype:
    """Validate ``params`` against ``net``; return their common float dtype."""
    if isinstance(params, (np.ndarray, str)) or not hasattr(params, "__len__"):
        raise TypeError("params must be a list of (W, b) pairs, one per layer")
    if len(params) != net.n_layers:
        raise ValueError(
            f"params has {len(params)} layers but net has {net.n_layers} (sizes {net.sizes})"
        )
    dtype = None
    for l, (pair, (w_shape, b_shape)) in enumerate(zip(params, net.shapes()), start=1):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"params[{l - 1}] must be a (W, b) pair, got {type(pair).__name__}")
        W, b = pair
        if not isinstance(W, np.ndarray) or W.dtype not in _FLOATS:
            raise TypeError(
                f"W{l} must be a float32 or float64 numpy array, got "
                f"{getattr(W, 'dtype', type(W).__name__)}; use init_params or np.asarray(W, float)"
            )
        if W.shape != w_shape:
            raise ValueError(f"W{l} has shape {W.shape}, expected {w_shape} (n_in, n_out)")
        dtype = dtype or W.dtype
        if W.dtype != dtype:
            raise TypeError(f"W{l} is {W.dtype} but W1 is {dtype}; use one dtype for all params")
        _check_finite(W, f"W{l}")
        if b_shape is None:
            if b is not None:
                raise ValueError(f"b{l} must be None: net.bias[{l - 1}] is False")
            continue
        if b is None:
            raise ValueError(f"b{l} is None but net.bias[{l - 1}] is True; pass an array of shape {b_shape}")
        if not isinstance(b, np.ndarray) or b.dtype != dtype:
            raise TypeError(f"b{l} must be a {dtype} numpy array like W{l}, got {getattr(b, 'dtype', type(b).__name__)}")
        if b.shape != b_shape:
            raise ValueError(f"b{l} has shape {b.shape}, expected {b_shape}")
        _check_finite(b, f"b{l}")
    return dtype


def check_x(net: Network, x, dtype) -> np.ndarray:
    x = _as_real_array(x, "x")
    if x.ndim != 2 or x.shape[1] != net.sizes[0]:
        raise ValueError(
            f"x must have shape (n_batch, {net.sizes[0]}), got {x.shape}; "
            "reshape a single sample with x[None, :]"
        )
    if x.shape[0] == 0:
        raise ValueError("x is an empty batch; pass at least one sample")
    x = x.astype(dtype, copy=False)
    _check_finite(x, "x")
    return x


def check_y(net: Network, y, n_batch: int, dtype) -> np.ndarray:
    """Targets as a float ``(n_batch, n_out)`` array (class labels become one-hot)."""
    y = _as_real_array(y, "y")
    n_out = net.sizes[-1]
    if net.loss == "cross_entropy" and y.ndim == 1:
        if y.dtype.kind not in "iu":
            raise TypeError(
                f"class labels y must be integers, got dtype {y.dtype}; "
                f"or pass probability rows of shape (n_batch, {n_out})"
            )
        if y.shape[0] != n_batch:
            raise ValueError(f"y has {y.shape[0]} labels but x has {n_batch} samples")
        if y.size and (y.min() < 0 or y.max() >= n_out):
            raise ValueError(f"class labels y must lie in [0, {n_out}), got range [{y.min()}, {y.max()}]")
        onehot = np.zeros((n_batch, n_out), dtype=dtype)
        onehot[np.arange(n_batch), y] = 1.0
        return onehot
    if y.ndim != 2 or y.shape[1] != n_out:
        hint = " or integer class labels of shape (n_batch,)" if net.loss == "cross_entropy" else ""
        raise ValueError(f"y must have shape (n_batch, {n_out}){hint}, got {y.shape}")
    if y.shape[0] != n_batch:
        raise ValueError(f"y has {y.shape[0]} rows but x has {n_batch} samples")
    y = y.astype(dtype, copy=False)
    _check_finite(y, "y")
    if net.loss == "cross_entropy":
        # Σ_k y_k = 1 is what makes the fused δ = a − y correct.
        tol = 1e-6 if dtype == np.float64 else 1e-4
        if (y < 0).any() or np.abs(y.sum(axis=1) - 1.0).max() > tol:
            raise ValueError(
                "cross_entropy targets y must be probability rows (non-negative, each row "
                "summing to 1) or integer class labels"
            )
    elif net.loss == "binary_cross_entropy":
        if (y < 0).any() or (y > 1).any():
            raise ValueError("binary_cross_entropy targets y must lie in [0, 1]")
    return y


def check_batch(net, params, x, y):
    """Validate everything for a (net, params, x, y) call; return (dtype, x, y)."""
    check_net(net)
    dtype = check_params(net, params)
    x = check_x(net, x, dtype)
    y = check_y(net, y, x.shape[0], dtype)
    return dtype, x, y


def check_positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive number, got {value!r}")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)
