"""A fast path to the same JAX derivatives, for checking thousands of random nets.

Eager ``jax.grad`` compiles every primitive afresh for each new array shape
(~1 s per random architecture); the plain :func:`reference.gradients` jits
per architecture instead (~0.18 s).  Here every net is zero-padded into a
fixed frame: widths to ``P`` and the batch to ``B`` (powers of two, at least
8), with each layer's activation and leaky slope, the loss, the live output
units, the live samples and the loss scaling passed as *data* (activation
and loss picked by ``lax.switch``).  One compiled function then serves every
net with the same ``(depth, dtype, P, B)``: 10 compilations (~0.5 s each on 2
CPU cores) cover all nets of depth 1-5 with widths and batch up to 8, after
which a call takes ~0.15 ms.

Why the padding is exact:

* padded columns of ``W`` and entries of ``b`` are 0, so padded units have
  ``z = 0`` and padded rows of the next ``W`` are 0, so whatever ``f(0)`` is,
  it never reaches a live unit;
* the output layer's padded units are masked out of the softmax and the loss,
  and padded samples (``x = 0`` rows) are masked out of the sum;
* gradients and deltas are sliced back to the live block; the ``db`` of a layer
  without bias (its ``b`` padded with zeros) is dropped.

This module is not the definition: :func:`reference.gradients` and
:func:`reference.deltas` are, and ``tests/test_reference_fast.py`` checks
that :func:`fast_derivatives` agrees with them.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._spec import ACTIVATION_NAMES, LOSS_NAMES, check_all
from .model import _sigmoid, _softplus, _stop_gradient

__all__ = ["Derivatives", "fast_derivatives"]

_CODE = {name: i for i, name in enumerate(ACTIVATION_NAMES)}
_MIN_PAD = 8


class Derivatives(NamedTuple):
    """What :func:`fast_derivatives` returns."""

    loss: float
    gradients: list  # [(dW (n_in, n_out), db (n_out,) or None), ...]
    deltas: list  # [δ_l (n_batch, n_l), ...]


def _masked_log_softmax(z, mask):
    # The -inf goes in *before* exp, so the padded branch is exp(-inf) = 0 with a
    # zero derivative; masking after exp could give 0 * inf = nan in jax.grad.
    m = _stop_gradient(jnp, jnp.max(jnp.where(mask, z, -jnp.inf), axis=-1, keepdims=True))
    ez = jnp.exp(jnp.where(mask, z - m, -jnp.inf))
    return z - m - jnp.log(jnp.sum(ez, axis=-1, keepdims=True))


def _activate(z, code, slope, mask):
    """Layer activation chosen by a traced ``code`` (index into ACTIVATION_NAMES)."""
    # lax.switch runs only the chosen branch.  Selecting among all candidates
    # with jnp.select would evaluate the others too, and an overflow in one
    # of them (a softmax over a hidden layer's large z) puts 0 * inf = nan
    # into the gradient.
    branches = [
        lambda z: z,
        lambda z: _sigmoid(jnp, z),
        jnp.tanh,
        lambda z: jnp.where(z > 0, z, 0 * z),
        lambda z: jnp.where(z > 0, z, slope * z),
        # exp only of masked-in log-probabilities (all <= 0); a padded unit's
        # z - lse could be large and overflow.
        lambda z: jnp.exp(jnp.where(mask, _masked_log_softmax(z, mask), -jnp.inf)),
    ]
    return jax.lax.switch(code, branches, z)


def _padded_loss(Ws, bs, e, x, y, codes, slopes, loss_code, out_mask, batch_mask, scale, l2):
    """``L`` for one padded net: ``Ws (depth, P, P)``, ``bs (depth, P)``,
    ``e (depth, B, P)``, ``x``/``y`` ``(B, P)``, ``codes``/``slopes`` ``(depth,)``,
    ``loss_code ()`` (index into LOSS_NAMES), ``out_mask (P,)``, ``batch_mask (B,)``,
    ``scale ()``, ``l2 ()`` (padded entries of W are 0, so Σ W² is exact)."""
    depth = Ws.shape[0]
    a = x
    for l in range(depth):
        z = a @ Ws[l] + bs[l] + e[l]
        a = _activate(z, codes[l], slopes[l], out_mask)
    # The loss is data too: one compilation per depth, not per depth and loss.
    per_unit = jax.lax.switch(loss_code, [
        lambda z, a: (a - y) ** 2,
        lambda z, a: -y * _masked_log_softmax(z, out_mask),
        lambda z, a: _softplus(jnp, z) - y * z,
    ], z, a)
    per_sample = jnp.sum(jnp.where(out_mask, per_unit, 0), axis=-1)
    return scale * jnp.sum(jnp.where(batch_mask, per_sample, 0)) + l2 * jnp.sum(Ws * Ws)


_padded_value_and_grads = jax.jit(jax.value_and_grad(_padded_loss, argnums=(0, 1, 2)))


def _pad_size(n: int) -> int:
    return max(_MIN_PAD, 1 << (n - 1).bit_length())


def fast_derivatives(net, params, x, y) -> Derivatives:
    """Loss, ``∂L/∂params`` and ``δ_l = ∂L/∂z_l`` in one compiled JAX call.

    Same arguments, conventions and results as :func:`reference.loss`,
    :func:`reference.gradients` and :func:`reference.deltas` (``gradients``
    a list of ``(dW (n_in, n_out), db (n_out,) or None)``, ``deltas`` a list
    of ``(n_batch, n_l)``), NumPy arrays in the params' dtype.  The first call
    for each ``(depth, dtype, padded width, padded batch)`` compiles (~0.5 s);
    later ones take ~0.15 ms.  Widths or batches above 8 work too, padded to
    the next power of two (one more compilation per new size).
    """
    spec, params, x, y, dtype = check_all(net, params, x, y)
    depth, n_batch = spec.n_layers, x.shape[0]
    P, B = _pad_size(max(spec.sizes)), _pad_size(n_batch)
    Ws = np.zeros((depth, P, P), dtype)
    bs = np.zeros((depth, P), dtype)
    for l, (W, b) in enumerate(params):
        Ws[l, : W.shape[0], : W.shape[1]] = W
        if b is not None:
            bs[l, : b.shape[0]] = b
    xp = np.zeros((B, P), dtype)
    xp[:n_batch, : x.shape[1]] = x
    yp = np.zeros((B, P), dtype)
    yp[:n_batch, : y.shape[1]] = y
    codes = np.array([_CODE[name] for name, _ in spec.activations], np.int32)
    slopes = np.array([s for _, s in spec.activations], dtype)
    loss_code = np.int32(LOSS_NAMES.index(spec.loss))
    out_mask = np.arange(P) < spec.sizes[-1]
    batch_mask = np.arange(B) < n_batch
    scale = np.asarray((0.5 if spec.half else 1.0) / (n_batch if spec.reduction == "mean" else 1), dtype)
    e = np.zeros((depth, B, P), dtype)
    l2 = np.asarray(spec.l2, dtype)
    with jax.enable_x64(bool(dtype == np.float64)):
        value, (dWs, dbs, de) = _padded_value_and_grads(
            Ws, bs, e, xp, yp, codes, slopes, loss_code, out_mask, batch_mask, scale, l2
        )
        value, dWs, dbs, de = float(value), np.asarray(dWs), np.asarray(dbs), np.asarray(de)
    assert dWs.dtype == dtype, (dWs.dtype, dtype)
    grads, deltas_ = [], []
    for l, (n_in, n_out) in enumerate(zip(spec.sizes[:-1], spec.sizes[1:])):
        # .copy(): independent, writable arrays rather than views into one buffer.
        grads.append((dWs[l, :n_in, :n_out].copy(), dbs[l, :n_out].copy() if spec.bias[l] else None))
        deltas_.append(de[l, :n_batch, :n_out].copy())
    return Derivatives(value, grads, deltas_)
