"""Loss functions: each per-sample value with its derivative right underneath.

A network's total loss is ``L = s · Σ_n ℓ_n`` where ``ℓ_n`` is the per-sample
loss below and the scale ``s`` carries the documents' conventions:
``s = (½ if half) · (1/N if reduction == "mean")``.  So Σ, ½Σ, (1/N)Σ and
1/(2N)Σ are all the same loss object with a different ``s``.

Shapes: pre-activations ``z``, outputs ``a`` and targets ``y`` are
``(n_batch, n_out)``; per-sample losses are ``(n_batch,)``.

Like an activation, a loss is one object: ``formula(xp, z, a, y)`` is the
definition (array-namespace generic, read by the JAX reference and the
numerical oracles), ``grad_a(a, y)`` its hand derivative, and optionally a
fused ``output_delta`` for its paired output activation.  ``value`` is
manual_bp's NumPy evaluation (defaults to the formula).  Register your own
with :func:`register_loss`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._registry import check_name, store
from .activations import Activation, _log_softmax, _softplus_formula

__all__ = ["Loss", "SquaredError", "CrossEntropy", "BinaryCrossEntropy", "LOSSES", "get_loss", "register_loss"]


@dataclass(frozen=True)
class Loss:
    """Base class for a per-sample loss ℓ(a, y)."""

    name = "loss"
    #: Output activation names this loss may follow (None: any).
    output_activations: tuple[str, ...] | None = None
    #: Output activation for which δ = ŷ − y holds directly (the fused shortcut).
    fused_with: str | None = None
    #: True when ℓ = Σ_k φ(z_k, a_k, y_k), a sum of one term per output unit
    #: (the padded fast path masks units one by one); False for softmax
    #: cross-entropy, whose terms share the normaliser.
    unitwise = False
    #: Targets the loss is defined on: "real" (any finite), "probabilities"
    #: (rows ≥ 0 summing to 1; integer class labels allowed), "unit" ([0, 1]).
    targets = "real"

    def formula(self, xp, z, a, y):
        """The definition: per-sample ``ℓ_n`` in namespace ``xp``, shape ``(..., n_batch)``,
        from the output layer's ``z`` and ``a = f(z)`` and the targets ``y`` ``(..., n_batch, n_out)``."""
        raise NotImplementedError(f"{type(self).__name__} defines no formula(xp, z, a, y)")

    def value(self, z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Per-sample loss ``ℓ_n`` with NumPy, shape ``(n_batch,)`` (default: the formula)."""
        return np.asarray(self.formula(np, z, a, y))

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
    unitwise = True

    def formula(self, xp, z, a, y):
        return xp.sum((a - y) ** 2, axis=-1)

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
    targets = "probabilities"

    def formula(self, xp, z, a, y):
        # On the logits: log(a) would hit log 0 once the softmax saturates.
        return -xp.sum(y * _log_softmax(xp, z), axis=-1)

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
    unitwise = True
    targets = "unit"

    def formula(self, xp, z, a, y):
        # −[y log σ(z) + (1 − y) log(1 − σ(z))] = softplus(z) − y z, exactly.
        return xp.sum(_softplus_formula(xp, z) - y * z, axis=-1)

    def value(self, z, a, y):
        softplus = np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))
        return (softplus - y * z).sum(axis=1)

    def grad_a(self, a, y):
        return (a - y) / (a * (1.0 - a))


#: Registered losses by name: the instance a name stands for.
LOSSES: dict[str, Loss] = {}
_ALIASES: dict[str, str] = {}
_TARGETS = ("real", "probabilities", "unit")


def register_loss(loss: Loss, *, aliases=(), replace: bool = False) -> Loss:
    """Make ``loss`` usable by name everywhere (``Network(loss=...)``, the reference, the
    oracles, the strategies, the CLI).  Checked here: a ``name`` not yet taken (unless
    ``replace=True``), a ``formula``, a ``grad_a`` (or an ``output_delta``), hashable,
    and ``targets`` one of ``"real"``, ``"probabilities"``, ``"unit"``.  Returns ``loss``."""
    if isinstance(loss, type) and issubclass(loss, Loss):
        loss = loss()
    if not isinstance(loss, Loss):
        raise TypeError(f"register_loss takes a Loss instance (subclass manual_bp.Loss), got {loss!r}")
    name = check_name(loss, Loss)
    cls = type(loss)
    if cls.formula is Loss.formula:
        raise TypeError(f"loss {name!r} defines no formula(self, xp, z, a, y): the definition every oracle uses")
    if cls.grad_a is Loss.grad_a and cls.output_delta is Loss.output_delta:
        raise TypeError(f"loss {name!r} defines neither grad_a(self, a, y) nor output_delta: "
                        "the hand derivative is what is checked")
    if loss.targets not in _TARGETS:
        raise ValueError(f"loss {name!r} has targets = {loss.targets!r}; use one of {_TARGETS}")
    store(LOSSES, _ALIASES, loss, name, aliases, replace, "loss")
    return loss


register_loss(SquaredError(), aliases=("mse", "se"))
register_loss(CrossEntropy(), aliases=("ce",))
register_loss(BinaryCrossEntropy(), aliases=("bce",))


def get_loss(name) -> Loss:
    """The :class:`Loss` for a registered name such as ``"cross_entropy"``, or an instance."""
    if isinstance(name, Loss):
        return name
    if not isinstance(name, str):
        raise TypeError(f"loss must be a name such as 'squared_error' or a Loss instance, got {name!r}")
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {sorted(LOSSES)}, "
                         "or register your own with manual_bp.register_loss")
    return LOSSES[key]
