"""Gradient-descent updates and the training loop the documents describe.

``θ ← θ − η ∂L/∂θ`` (every document), applied to the full batch, to one
sample at a time (stochastic, document 003's perceptron and ``E_n``), or to
mini-batches; the loss convention of the :class:`~manual_bp.Network` decides
whether a batch's gradient is a sum or a mean.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import check_batch, check_count, check_positive, check_step, make_rng
from .backprop import _backward, _forward, _loss_from, _param_grads
from .network import Network

__all__ = ["sgd_step", "train", "TrainResult"]


def sgd_step(params, grads, lr: float):
    """New params ``[(W − lr·dW, b − lr·db), ...]``; the inputs are not modified.

    ``grads`` has the structure of ``params`` (``db`` is None where ``b`` is).
    """
    lr = check_positive(lr, "lr")
    check_step(params, grads)  # shapes, None pattern, dtype and finiteness, before any arithmetic
    new = []
    for (W, b), (dW, db) in zip(params, grads):
        new.append((W - lr * dW, None if b is None else b - lr * db))
    return new


def _update(params, grads, lr):
    # train()'s own step: its grads come from _backward, already checked by
    # construction, and a diverging run must reach the FloatingPointError.
    return [(W - lr * dW, None if b is None else b - lr * db) for (W, b), (dW, db) in zip(params, grads)]


@dataclass
class TrainResult:
    """What :func:`train` returns (also unpacks as ``params, history``).

    ``history[0]`` is the loss before training and ``history[e]`` the loss
    on the full data after epoch ``e``; ``converged`` says whether it fell
    below ``tol``.
    """

    params: list
    history: list[float]
    converged: bool
    epochs: int

    def __iter__(self):
        yield self.params
        yield self.history


def train(
    net: Network,
    params,
    x,
    y,
    *,
    lr: float,
    epochs: int = 100,
    batch_size: int | None = None,
    tol: float | None = None,
    seed=0,
    shuffle: bool = True,
) -> TrainResult:
    """Gradient descent on ``(x, y)``; returns :class:`TrainResult`.

    Parameters
    ----------
    x : (n_batch, sizes[0]);  y : (n_batch, sizes[-1]) or class labels
    lr : learning rate η > 0.
    epochs : maximum number of passes over the data.
    batch_size : None for full-batch gradient descent, 1 for stochastic
        (per-sample) updates, k for mini-batches of k samples.
    tol : stop as soon as the full-data loss is below ``tol``.
    seed : int or numpy.random.Generator used to shuffle the sample order
        each epoch (with ``shuffle=True`` and a batch_size).
    """
    _, x, y = check_batch(net, params, x, y)
    lr = check_positive(lr, "lr")
    epochs = check_count(epochs, "epochs", 0)
    n = x.shape[0]
    if batch_size is not None:
        batch_size = check_count(batch_size, "batch_size", 1)
    if tol is not None:
        tol = check_positive(tol, "tol")
    rng = make_rng(seed)

    def full_loss(p):
        zs, as_ = _forward(net, p, x, keep_z=False)
        return float(_loss_from(net, p, zs, as_, y))

    params = [(W.copy(), None if b is None else b.copy()) for W, b in params]
    history = [full_loss(params)]
    converged = tol is not None and history[-1] < tol
    epoch = 0
    # A diverging run overflows on its way to inf: report it once, with the fix,
    # as the FloatingPointError below rather than as numpy RuntimeWarnings.
    with np.errstate(over="ignore", invalid="ignore"):
        while not converged and epoch < epochs:
            if batch_size is None or batch_size >= n:
                batches = [slice(None)]
            else:
                order = rng.permutation(n) if shuffle else np.arange(n)
                batches = [order[i : i + batch_size] for i in range(0, n, batch_size)]
            for idx in batches:
                xb, yb = x[idx], y[idx]
                zs, as_ = _forward(net, params, xb, keep_z=False)
                grads = _param_grads(net, params, as_, _backward(net, params, zs, as_, yb))
                params = _update(params, grads, lr)
            epoch += 1
            history.append(full_loss(params))
            if not np.isfinite(history[-1]):
                raise FloatingPointError(
                    f"loss became {history[-1]} at epoch {epoch}; lower lr (now {lr})"
                )
            converged = tol is not None and history[-1] < tol
    return TrainResult(params=params, history=history, converged=converged, epochs=epoch)
