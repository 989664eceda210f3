"""The forward pass and the delta rule, by hand.

Forward, for layers l = 1..L with ``a_0 = x``::

    z_l = a_{l-1} @ W_l + b_l          (n_batch, n_l)
    a_l = f_l(z_l)

Backward, the delta recursion with ``δ_l = ∂L/∂z_l``::

    δ_L     = s · ∂ℓ/∂z_L              (a − y for the fused pairings)
    dW_l    = a_{l-1}.T @ δ_l           (n_{l-1}, n_l)
    db_l    = δ_l.sum(0)                (n_l,)
    δ_{l-1} = (δ_l @ W_l.T) ⊙ f'_{l-1}(z_{l-1})

where ``s`` is the loss convention's scale (½ and/or 1/N).  With L2 weight
decay (``net.l2 > 0``) the loss gains ``l2 · Σ_l ‖W_l‖²`` and each ``dW_l``
gains ``2·l2·W_l``; the deltas do not change.  The input gradient is
``∂L/∂x = δ_1 @ W_1.T``.  No autodiff and no
finite differences: every line is one of the equations above.

Speed (``scripts/bench.py`` measures it against the matrix products alone):

- every elementwise step writes into an array this module just created (the
  matmul results ``z`` and ``δ @ W.T``), never into a caller's array, so it
  costs no allocation;
- on the gradient path ``a_l`` overwrites ``z_l`` (derivatives come from
  ``a``), so a layer keeps one array, not two;
- ``δ_{l-1}`` is computed in the buffer of ``δ_l @ W_l.T``;
- no buffers survive a call: every returned array is new, and the allocator
  already recycles memory between calls.
"""
from __future__ import annotations

import numpy as np

from ._validate import check_batch, check_net, check_params, check_x
from .network import Network

__all__ = ["forward", "predict", "loss", "deltas", "gradients", "loss_and_gradients", "input_gradient"]


def _forward(net: Network, params, x, keep_z: bool = True):
    """Pre-activations ``zs`` and activations ``as_`` (``as_[0] = x``) of every layer.

    With ``keep_z=False`` (the loss and gradient paths), ``a_l`` is computed
    in place over ``z_l`` and ``zs[l]`` is None, except where a derivative
    reads ``z`` (``act.needs_z``) and at the output, whose logits the loss
    is computed from.
    """
    zs, as_ = [], [x]
    a = x
    last = len(params) - 1
    for l, ((W, b), act) in enumerate(zip(params, net.activations)):
        z = a @ W
        if b is not None:
            z += b  # in place: z is a fresh array from the matmul
        keep = keep_z or act.needs_z or l == last
        a = act.value(z, out=None if keep else z)
        zs.append(z if keep else None)
        as_.append(a)
    return zs, as_


def _loss_from(net: Network, params, zs, as_, y) -> float:
    per_sample = net.loss_fn.value(zs[-1], as_[-1], y)
    L = net.batch_scale(y.shape[0]) * per_sample.sum()
    if net.l2:  # l2 · Σ_l ‖W_l‖², once per batch whatever the reduction
        L += net.l2 * sum(np.vdot(W, W) for W, _ in params)
    return L


def _backward(net: Network, params, zs, as_, y):
    """The delta recursion; returns ``[δ_1, ..., δ_L]``."""
    L = net.n_layers
    acts = net.activations
    delta = net.loss_fn.output_delta(zs[-1], as_[-1], y, acts[-1])
    s = net.batch_scale(y.shape[0])
    if s != 1.0:  # the plain-Σ convention would pay a pass over δ_L for nothing
        delta *= s  # in place: output_delta returns a new array
    out = [delta]
    for l in range(L - 1, 0, -1):  # 0-based: layer l+1's delta gives layer l's
        W_next = params[l][0]
        g = delta @ W_next.T
        delta = acts[l - 1].vjp(g, zs[l - 1], as_[l], out=g)  # ⊙ f' in g's own buffer
        out.append(delta)
    out.reverse()
    return out


def _param_grads(net: Network, params, as_, ds):
    grads = []
    decay = 2.0 * net.l2
    for (W, b), a_prev, delta in zip(params, as_[:-1], ds):
        dW = a_prev.T @ delta
        if decay:
            dW += decay * W  # ∂(l2·‖W‖²)/∂W = 2·l2·W
        db = delta.sum(axis=0) if b is not None else None
        grads.append((dW, db))
    return grads


def forward(net: Network, params, x):
    """Run the network; return ``(zs, as_)``.

    ``zs[l-1]`` is ``z_l`` of shape ``(n_batch, sizes[l])``; ``as_[0]`` is ``x``
    (as the params' dtype) and ``as_[l]`` is ``a_l``.
    """
    check_net(net)
    dtype = check_params(net, params)
    a0 = check_x(net, x, dtype)
    if a0 is x:  # as_[0] is returned: never hand back the caller's own array
        a0 = a0.copy()
    return _forward(net, params, a0)


def predict(net: Network, params, x) -> np.ndarray:
    """Network output ``a_L``, shape ``(n_batch, sizes[-1])``."""
    return forward(net, params, x)[1][-1]


def loss(net: Network, params, x, y) -> float:
    """Total loss ``L = s · Σ_n ℓ_n`` for the batch (a Python-compatible float)."""
    _, x, y = check_batch(net, params, x, y)
    zs, as_ = _forward(net, params, x, keep_z=False)
    return _loss_from(net, params, zs, as_, y)


def deltas(net: Network, params, x, y) -> list[np.ndarray]:
    """``δ_l = ∂L/∂z_l`` for every layer, each of shape ``(n_batch, sizes[l])``."""
    _, x, y = check_batch(net, params, x, y)
    zs, as_ = _forward(net, params, x, keep_z=False)
    return _backward(net, params, zs, as_, y)


def gradients(net: Network, params, x, y):
    """``[(dW_1, db_1), ...]``: ∂L/∂W_l ``(n_{l-1}, n_l)``, ∂L/∂b_l ``(n_l,)`` or None."""
    _, x, y = check_batch(net, params, x, y)
    zs, as_ = _forward(net, params, x, keep_z=False)
    return _param_grads(net, params, as_, _backward(net, params, zs, as_, y))


def input_gradient(net: Network, params, x, y) -> np.ndarray:
    """``∂L/∂x = δ_1 @ W_1.T``, shape ``(n_batch, sizes[0])`` (the L2 term does not depend on x)."""
    _, x, y = check_batch(net, params, x, y)
    zs, as_ = _forward(net, params, x, keep_z=False)
    return _backward(net, params, zs, as_, y)[0] @ params[0][0].T


def loss_and_gradients(net: Network, params, x, y):
    """``(L, grads)`` from one forward pass (what training needs)."""
    _, x, y = check_batch(net, params, x, y)
    zs, as_ = _forward(net, params, x, keep_z=False)
    grads = _param_grads(net, params, as_, _backward(net, params, zs, as_, y))
    return _loss_from(net, params, zs, as_, y), grads
