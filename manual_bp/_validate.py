"""Argument checks shared by every public function.

Everything is checked before any arithmetic, so bad input gets a
``TypeError`` (wrong kind of thing) or ``ValueError`` (right kind, wrong
value) naming the argument instead of a NaN or a silent broadcast.

Conversion policy (one rule everywhere, and ``reference`` follows it too):

* ``x`` and ``y`` may be any real numeric array -- ints included, since the
  documents print integer inputs -- and are converted to the parameters'
  float dtype.  Bool, complex, object and string arrays are refused
  (``TypeError``); so are NaN, infinities and values beyond the range of the
  params' dtype (``ValueError``), checked before the cast.
* params (and gradients given to an update) must already be float32 or
  float64 numpy arrays, because results are returned in the params' dtype;
  nothing is converted for them.
* Inputs are never written to: conversions make new arrays, and a result
  never aliases a caller's array.
"""
from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .network import Network

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
#: How far a cross-entropy target row may sum from 1 (Σ_k y_k = 1 is what
#: makes the fused δ = a − y exact); rounding of a float32 row is ~1e-7.
ROW_SUM_TOL = {np.dtype(np.float64): 1e-6, np.dtype(np.float32): 1e-4}


_Network = None  # manual_bp.Network, bound on first use: network imports this module


def check_net(net) -> Network:
    global _Network
    if _Network is None:
        from .network import Network as _Network
    if not isinstance(net, _Network):
        raise TypeError(f"net must be a manual_bp.Network, got {type(net).__name__}")
    return net


def _as_real_array(value, name: str) -> np.ndarray:
    """``np.asarray(value)``, refusing anything that is not a real number array."""
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be a numeric array, could not convert: {exc}") from None
    if arr.dtype.kind not in "iuf":
        raise TypeError(
            f"{name} must be a real numeric array (int or float), got dtype {arr.dtype}"
            + ("; convert booleans explicitly, e.g. x.astype(float)" if arr.dtype == np.bool_ else "")
        )
    return arr


def _check_finite(arr: np.ndarray, name: str) -> None:
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values; pass finite numbers")


def to_float(value, dtype, name: str) -> np.ndarray:
    """A real array as ``dtype``; finite and in range are checked *before* the cast.

    (Casting 1e300 to float32 would give inf with an overflow warning.)
    Returns ``value`` itself when it already has ``dtype``: callers only read it.
    """
    arr = _as_real_array(value, name)
    _check_finite(arr, name)
    return _cast(arr, dtype, name)


def _cast(arr: np.ndarray, dtype, name: str) -> np.ndarray:
    """A finite real array as ``dtype``, refusing values beyond its range."""
    if arr.dtype != dtype and arr.size:
        limit = np.finfo(dtype).max
        if (arr > limit).any() or (arr < -limit).any():
            raise ValueError(f"{name} has values beyond the {np.dtype(dtype).name} range of the params (±{limit:.3g})")
    return arr.astype(dtype, copy=False)


def _leaf_name(l: int, j: int, prefix: str = "params") -> str:
    """``params[0][1] (b1)``: built only for an error message (formatting costs time)."""
    symbol = ("W", "b") if prefix == "params" else ("dW", "db")
    return f"{prefix}[{l}][{j}] ({symbol[j]}{l + 1})"


def _check_float_leaf(v, l: int, j: int, dtype=None, prefix: str = "params") -> np.dtype:
    """Leaf ``prefix[l][j]`` must be a float32/float64 numpy array (of ``dtype`` if given).

    Finiteness is checked for all leaves at once by :func:`_check_finite_leaves`.
    """
    if not isinstance(v, np.ndarray) or isinstance(v, np.matrix) or v.dtype not in _FLOATS:
        raise TypeError(
            f"{_leaf_name(l, j, prefix)} must be a float32 or float64 numpy array, got "
            f"{getattr(v, 'dtype', type(v).__name__)}; use init_params or np.asarray(..., float)"
        )
    if dtype is not None and v.dtype != dtype:
        raise TypeError(f"{_leaf_name(l, j, prefix)} is {v.dtype} but params[0][0] (W1) is {dtype}; "
                        "use one dtype for all params")
    return v.dtype


#: Up to this many elements in all, arrays are checked for finiteness in one
#: concatenated pass: below ~32K elements the copy costs less than two numpy
#: calls (~1 µs) per array (measured: 4 µs instead of 9 µs for the 32-64-64-10
#: net and its batch; at 64K float64 numbers the copy costs more).
_CONCAT_FINITE_MAX = 1 << 15


def _check_finite_leaves(pairs, prefix: str = "params", x: np.ndarray | None = None) -> None:
    """Every array of a list of ``(W, b)`` pairs (``b`` may be None), and ``x`` if
    given, is free of NaN and ±inf; the error names the first that is not."""
    arrays = [v for pair in pairs for v in pair if v is not None]
    if x is not None:
        arrays.append(x)
    if sum(v.size for v in arrays) <= _CONCAT_FINITE_MAX:
        if np.isfinite(np.concatenate(arrays, axis=None)).all():
            return
    for l, pair in enumerate(pairs):  # find the culprit (or check big arrays one by one)
        for j, v in enumerate(pair):
            if v is not None and not np.isfinite(v).all():
                raise ValueError(f"{_leaf_name(l, j, prefix)} contains NaN or infinite values; "
                                 "pass finite numbers")
    if x is not None:
        _check_finite(x, "x")


def _check_pairs(pairs, name: str) -> None:
    if isinstance(pairs, (np.ndarray, str, bytes)) or not hasattr(pairs, "__len__"):
        raise TypeError(f"{name} must be a list of (W, b) pairs, one per layer, got {type(pairs).__name__}")
    for l, pair in enumerate(pairs):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"{name}[{l}] must be a (W, b) pair, got {type(pair).__name__}")


def check_params(net: Network, params) -> np.dtype:
    """Validate ``params`` against ``net``; return their common float dtype."""
    dtype = _check_param_structure(net, params)
    _check_finite_leaves(params)
    return dtype


def _check_param_structure(net: Network, params) -> np.dtype:
    """Types, dtypes and shapes of ``params`` (not their values); their common dtype."""
    _check_pairs(params, "params")
    if len(params) != net.n_layers:
        raise ValueError(
            f"params has {len(params)} layers but net has {net.n_layers} (sizes {net.sizes})"
        )
    dtype = None
    for l, ((W, b), (w_shape, b_shape)) in enumerate(zip(params, net._shapes)):
        dtype = _check_float_leaf(W, l, 0, dtype)
        if W.shape != w_shape:
            raise ValueError(f"{_leaf_name(l, 0)} has shape {W.shape}, expected {w_shape} (n_in, n_out)")
        if b_shape is None:
            if b is not None:
                raise ValueError(f"{_leaf_name(l, 1)} must be None: net.bias[{l}] is False")
            continue
        if b is None:
            raise ValueError(f"{_leaf_name(l, 1)} is None but net.bias[{l}] is True; "
                             f"pass an array of shape {b_shape}")
        _check_float_leaf(b, l, 1, dtype)
        if b.shape != b_shape:
            raise ValueError(f"{_leaf_name(l, 1)} has shape {b.shape}, expected {b_shape}")
    return dtype


def check_step(params, grads) -> None:
    """What an update ``θ − η·g`` needs: ``grads`` shaped like ``params``, all finite,
    in the params' dtype (so float32 params stay float32)."""
    _check_pairs(params, "params")
    _check_pairs(grads, "grads")
    if len(grads) != len(params):
        raise ValueError(f"grads has {len(grads)} layers but params has {len(params)}")
    dtype = None
    for l, ((W, b), (dW, db)) in enumerate(zip(params, grads)):
        dtype = _check_float_leaf(W, l, 0, dtype)
        _check_float_leaf(dW, l, 0, dtype, prefix="grads")
        if dW.shape != W.shape:
            raise ValueError(f"grads[{l}][0] (dW{l + 1}) has shape {dW.shape} but W{l + 1} has {W.shape}")
        if (b is None) != (db is None):
            raise ValueError(f"grads[{l}][1] (db{l + 1}) must be None exactly when b{l + 1} is None")
        if b is not None:
            _check_float_leaf(b, l, 1, dtype)
            _check_float_leaf(db, l, 1, dtype, prefix="grads")
            if db.shape != b.shape:
                raise ValueError(f"grads[{l}][1] (db{l + 1}) has shape {db.shape} but b{l + 1} has {b.shape}")
    _check_finite_leaves(params)
    _check_finite_leaves(grads, "grads")


def _x_array(net: Network, x) -> np.ndarray:
    """``x`` as a real array of shape ``(n_batch, n_in)``, not yet checked for finiteness."""
    arr = _as_real_array(x, "x")
    if arr.ndim != 2 or arr.shape[1] != net.sizes[0]:
        raise ValueError(
            f"x must have shape (n_batch, {net.sizes[0]}), got {arr.shape}; "
            "reshape a single sample with x[None, :]"
        )
    if arr.shape[0] == 0:
        raise ValueError("x is an empty batch (n_batch = 0); pass at least one sample")
    return arr


def check_x(net: Network, x, dtype) -> np.ndarray:
    return to_float(_x_array(net, x), dtype, "x")


def check_y(net: Network, y, n_batch: int, dtype) -> np.ndarray:
    """Targets as a float ``(n_batch, n_out)`` array (class labels become one-hot)."""
    arr = _as_real_array(y, "y")
    n_out = net.sizes[-1]
    targets = net.loss_fn.targets  # "real", "probabilities" (labels allowed) or "unit"
    if targets == "probabilities" and arr.ndim == 1:
        if arr.dtype.kind not in "iu":
            raise TypeError(
                f"class labels y must be integers, got dtype {arr.dtype}; "
                f"or pass probability rows of shape (n_batch, {n_out})"
            )
        if arr.shape[0] != n_batch:
            raise ValueError(f"y has {arr.shape[0]} labels but x has {n_batch} samples")
        onehot = np.zeros((n_batch, n_out), dtype=dtype)
        try:
            # Indexing raises for a label >= n_out, except where it wraps: a
            # negative label, or a uint64 one past 2**63, would count from the end.
            if arr.min() < 0 or (arr.dtype.kind == "u" and arr.max() >= n_out):
                raise IndexError
            onehot[np.arange(n_batch), arr] = 1.0
        except IndexError:
            raise ValueError(
                f"class labels y must lie in [0, {n_out}), got range [{arr.min()}, {arr.max()}]"
            ) from None
        return onehot
    if arr.ndim == 1 and arr.dtype.kind in "iu":
        raise ValueError(
            f"y as integer class labels needs loss cross_entropy, not {net.loss!r}; "
            f"pass y with shape (n_batch, {n_out})"
        )
    if arr.ndim != 2 or arr.shape[1] != n_out:
        hint = " or integer class labels of shape (n_batch,)" if targets == "probabilities" else ""
        raise ValueError(f"y must have shape (n_batch, {n_out}){hint}, got {arr.shape}")
    if arr.shape[0] != n_batch:
        raise ValueError(f"y has {arr.shape[0]} rows but x has {n_batch} samples")
    arr = to_float(arr, dtype, "y")
    if targets == "probabilities":
        worst = np.abs(arr.sum(axis=1) - 1.0).max()
        if (arr < 0).any() or worst > ROW_SUM_TOL[np.dtype(dtype)]:
            raise ValueError(
                f"{net.loss} targets y must be probability rows (non-negative, each row "
                f"summing to 1; worst row sum is off by {worst:.3g}) or integer class labels"
            )
    elif targets == "unit":
        if (arr < 0).any() or (arr > 1).any():
            raise ValueError(
                f"{net.loss} targets y must lie in [0, 1], got range [{arr.min():g}, {arr.max():g}]"
            )
    return arr


def check_batch(net, params, x, y):
    """Validate everything for a (net, params, x, y) call; return (dtype, x, y)."""
    check_net(net)
    # Every argument's kind and shape first, then values: params and x in one
    # finiteness pass, which on small nets costs less than a pass each.
    dtype = _check_param_structure(net, params)
    x = _x_array(net, x)
    _check_finite_leaves(params, x=x if x.dtype.kind == "f" else None)  # ints are finite
    x = _cast(x, dtype, "x")
    y = check_y(net, y, x.shape[0], dtype)
    return dtype, x, y


def check_number(value, name: str, what: str = "finite number") -> float:
    """A finite real number (not a bool) as a float."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a {what}, got {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be a {what}, got {value!r}")
    return float(value)


def check_positive(value, name: str) -> float:
    """A positive finite real number (learning rate, tolerance, scale) as a float."""
    number = check_number(value, name, "positive finite number")
    if number <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return number


def check_count(value, name: str, minimum: int) -> int:
    """An int ``>= minimum`` (epochs, batch sizes, numbers of directions)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def make_rng(seed, name: str = "seed") -> np.random.Generator:
    """``seed`` as a Generator: an int >= 0 (or anything ``np.random.default_rng`` takes)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, np.bool_, float, str, bytes)):
        raise TypeError(f"{name} must be an int >= 0 or a numpy Generator, got {seed!r}")
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{name} must be an int >= 0 or a numpy Generator, got {seed!r}: {exc}") from None
