"""Loss functions: each per-sample value with its derivative right underneath.

A network's total loss is ``L = s · Σ_n ℓ_n`` where ``ℓ_n`` is the per-sample
loss below and the scale ``s`` carries the documents' conventions:
``s = (½ if half) · (1/N if reduction == "mean")``.  So Σ, ½Σ, (1/N)Σ and
1/(2N)Σ are all the same loss object with a different ``s``.

Shapes: pre-activations ``z``, outputs ``a`` and targets ``y`` are
``(n_batch, n_out)``; per-sample losses are ``(n_batch,)``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activations import Activation

__all__ = ["Loss", "SquaredError", "CrossEntropy", "BinaryCrossEntropy", "LOSSES", "get_loss"]


@dataclass(frozen=True)
class Loss:
    """Base class for a per-sample loss ℓ(a, y)."""

    name = "loss"
    #: Output activation names this loss may follow (None: any).
    output_activations: tuple[str, ...] | None = None
    #: Output activation for which δ = ŷ − y holds directly (the fused shortcut).
    fused_with: str | None = None

    def value(self, z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Per-sample loss ``ℓ_n``, shape ``(n_batch,)``."""
        raise NotImplementedError

    def grad_a(self, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``∂ℓ_n/∂a``, shape ``(n_batch, n_out)``, as a new array, for the general chain rule."""
        raise NotImplementedError

    def output_delta(self, z, a, y, act: Activation) -> np.ndarray:
        """``∂ℓ_n/∂z`` at the output layer, shape ``(n_batch, n_out)`` (unscaled), as a new array.

        The fused pairings (softmax + cross-entropy, sigmoid + binary
        cross-entropy) collapse to ``a − y``: the activation's derivative
        cancels the loss's ``1/a`` terms.  Every other pairing goes through
        the chain rule ``∂ℓ/∂a · ∂a/∂z`` (softmax as a vector–Jacobian product).
        """
        if act.name == self.fused_with:
            return a - y
        g = self.grad_a(a, y)
        return act.vjp(g, z, a, out=g)  # g is new: the chain rule can overwrite it


@dataclass(frozen=True)
class SquaredError(Loss):
    """ℓ = Σ_k (a_k − y_k)²;  ∂ℓ/∂a_k = 2(a_k − y_k).

    With ``half=True`` the network scales by ½, giving ½Σ(a − y)² and
    ∂/∂a = a − y (documents 002, 003); with ``reduction="mean"`` by 1/N,
    giving document 001's MSE and its 2/N derivative.
    """

    name = "squared_error"

    def value(self, z, a, y):
        r = a - y
        return (r * r).sum(axis=1)

    def grad_a(self, a, y):
        return 2.0 * (a - y)


@dataclass(frozen=True)
class CrossEntropy(Loss):
    """ℓ = −Σ_k y_k log a_k with a = softmax(z);  ∂ℓ/∂z = a − y  (Σ_k y_k = 1).

    Evaluated from the logits as ``logsumexp(z) − Σ_k y_k z_k`` so that no
    ``log 0`` occurs however confident the softmax is.
    """

    name = "cross_entropy"
    output_activations: tuple[str, ...] | None = ("softmax",)
    fused_with: str | None = "softmax"

    def value(self, z, a, y):
        m = z.max(axis=1, keepdims=True)
        lse = (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))[:, 0]
        # Σ_k y_k (lse − z_k) = lse − Σ_k y_k z_k because the rows of y sum to 1.
        return lse - (y * z).sum(axis=1)

    def grad_a(self, a, y):
        return -y / a


@dataclass(frozen=True)
class BinaryCrossEntropy(Loss):
    """ℓ = −Σ_k [y_k log a_k + (1 − y_k) log(1 − a_k)] with a = σ(z);  ∂ℓ/∂z = a − y.

    Evaluated from the logits as ``Σ_k softplus(z_k) − y_k z_k`` with
    ``softplus(z) = max(z, 0) + log1p(e^{−|z|})``: no overflow, no log 0.
    """

    name = "binary_cross_entropy"
    output_activations: tuple[str, ...] | None = ("sigmoid",)
    fused_with: str | None = "sigmoid"

    def value(self, z, a, y):
        softplus = np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))
        return (softplus - y * z).sum(axis=1)

    def grad_a(self, a, y):
        return (a - y) / (a * (1.0 - a))


LOSSES: dict[str, type[Loss]] = {
    cls.name: cls for cls in (SquaredError, CrossEntropy, BinaryCrossEntropy)
}
_ALIASES = {"mse": "squared_error", "se": "squared_error", "ce": "cross_entropy", "bce": "binary_cross_entropy"}


def get_loss(name) -> Loss:
    """The :class:`Loss` for a name such as ``"cross_entropy"``."""
    if isinstance(name, Loss):
        return name
    if not isinstance(name, str):
        raise TypeError(f"loss must be a name such as 'squared_error', got {name!r}")
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {sorted(LOSSES)}")
    return LOSSES[key]()
