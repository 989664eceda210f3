"""Activation functions: each value with its derivative right underneath.

Every activation maps pre-activations ``z`` of shape ``(n_batch, n)`` to
activations ``a = f(z)`` of the same shape, and back-propagates an upstream
gradient ``g = dL/da`` to ``dL/dz`` with :meth:`Activation.vjp`.

Derivatives are computed from values the forward pass already holds, never
by recomputing ``f``: from ``a`` wherever that is possible (σ' = a(1 − a),
tanh' = 1 − a², relu' = [a > 0]), so the gradient path can compute ``a`` in
place over ``z`` and keep one array per layer instead of two; an activation
whose derivative must read ``z`` says so with ``needs_z``.  Subgradient
convention at kinks: the left branch, so ``relu'(0) = 0`` and
``leaky_relu'(0) = slope`` (document 003 defines ReLU as 0 for ``z <= 0``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "Activation",
    "Identity",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "LeakyReLU",
    "Softmax",
    "ACTIVATIONS",
    "get_activation",
]


@dataclass(frozen=True)
class Activation:
    """Base class. Subclasses define ``value`` and ``derivative`` (or ``vjp``)."""

    name = "activation"
    #: True when f acts on each unit separately, so f'(z) is a diagonal Jacobian.
    elementwise = True
    #: True when :meth:`derivative`/:meth:`vjp` read ``z``; when False the
    #: gradient path overwrites ``z`` with ``a`` and passes ``z=None``.
    needs_z = True

    def value(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``a = f(z)``; ``z`` of shape ``(n_batch, n)``.

        ``out`` is None for a new array, or ``z`` itself to compute ``a`` in
        place over ``z`` (the gradient path does so when ``z`` is not needed).
        """
        raise NotImplementedError

    def derivative(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        """``f'(z)`` elementwise, shape ``(n_batch, n)``; ``a = f(z)`` is given too."""
        raise NotImplementedError

    def vjp(self, g: np.ndarray, z: np.ndarray, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``dL/dz = g · ∂a/∂z`` for upstream ``g = dL/da``, shape ``(n_batch, n)``.

        For an elementwise f the Jacobian is diagonal, so this is ``g * f'(z)``.
        ``out=g`` overwrites ``g`` with the result (backprop's δ recursion
        does, as ``g = δ @ W.T`` is its own fresh array).
        """
        return np.multiply(g, self.derivative(z, a), out=out)

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Identity(Activation):
    """f(z) = z;  f'(z) = 1  (linear output for regression)."""

    name = "identity"
    needs_z = False

    def value(self, z, out=None):
        # z is a fresh array owned by the forward pass; nothing writes to either.
        return z

    def derivative(self, z, a):
        return np.ones_like(a)

    def vjp(self, g, z, a, out=None):
        # A multiply by ones would only cost time.
        return g


@dataclass(frozen=True)
class Sigmoid(Activation):
    """f(z) = 1 / (1 + e^{-z});  f'(z) = f(z)(1 - f(z)) = a(1 - a)."""

    name = "sigmoid"
    needs_z = False

    def value(self, z, out=None):
        # 1 / (1 + e^{-z}) in one buffer, accurate to a few ulps for every z.
        # Below z ≈ -709 (float64; -88 in float32) e^{-z} overflows to inf and
        # 1 / inf = 0 is the correct limit, so that overflow is not an error.
        a = np.negative(z, out=out)
        with np.errstate(over="ignore", under="ignore"):
            np.exp(a, out=a)
        a += 1.0
        return np.divide(1.0, a, out=a)

    def derivative(self, z, a):
        d = 1.0 - a  # a(1 − a) built in one buffer: one temporary less
        d *= a
        return d


@dataclass(frozen=True)
class Tanh(Activation):
    """f(z) = tanh(z);  f'(z) = 1 - tanh(z)^2 = 1 - a^2."""

    name = "tanh"
    needs_z = False

    def value(self, z, out=None):
        return np.tanh(z, out=out)

    def derivative(self, z, a):
        d = a * a  # 1 − a² built in one buffer: one temporary less
        return np.subtract(1.0, d, out=d)


@dataclass(frozen=True)
class ReLU(Activation):
    """f(z) = max(z, 0);  f'(z) = 1 if z > 0 else 0 (so f'(0) = 0)."""

    name = "relu"
    needs_z = False

    def value(self, z, out=None):
        return np.maximum(z, 0.0, out=out)

    def derivative(self, z, a):
        # a = max(z, 0) > 0 exactly where z > 0, so z need not be kept.
        return (a > 0).astype(a.dtype)


@dataclass(frozen=True)
class LeakyReLU(Activation):
    """f(z) = z if z > 0 else slope·z;  f'(z) = 1 if z > 0 else slope (so f'(0) = slope)."""

    slope: float = 0.01
    name = "leaky_relu"

    def __post_init__(self):
        slope = self.slope
        if isinstance(slope, bool) or not isinstance(slope, (int, float, np.floating, np.integer)):
            raise TypeError(f"LeakyReLU slope must be a real number, got {slope!r}")
        if not np.isfinite(slope):
            raise ValueError(f"LeakyReLU slope must be finite, got {slope!r}")
        object.__setattr__(self, "slope", float(slope))

    @property
    def needs_z(self):
        # With slope ≥ 0, a > 0 exactly where z > 0; a negative slope makes a > 0 on both sides.
        return self.slope < 0

    def value(self, z, out=None):
        a = z.copy() if out is None else out  # out is z: scale the non-positive entries in place
        return np.multiply(a, self.slope, out=a, where=z <= 0)

    def derivative(self, z, a):
        positive = (z if self.needs_z else a) > 0
        return np.where(positive, 1.0, self.slope).astype(a.dtype, copy=False)

    def __str__(self) -> str:
        return f"leaky_relu({self.slope:g})"


@dataclass(frozen=True)
class Softmax(Activation):
    """a_k = e^{z_k} / Σ_j e^{z_j} over each row;  ∂a_k/∂z_j = a_k(δ_kj - a_j).

    The Jacobian is dense (K×K per sample), so there is no elementwise
    derivative; :meth:`vjp` applies it without building it:
    ``(g J)_j = a_j (g_j - Σ_k g_k a_k)``.
    """

    name = "softmax"
    elementwise = False
    needs_z = False

    def value(self, z, out=None):
        # Shift by the row max: e^{z - max} <= 1 never overflows, and the
        # shift cancels in the ratio.
        e = np.subtract(z, z.max(axis=1, keepdims=True), out=out)
        np.exp(e, out=e)
        e /= e.sum(axis=1, keepdims=True)
        return e

    def log_value(self, z):
        """``log softmax(z)`` via log-sum-exp, finite for any finite z."""
        shifted = z - z.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))

    def derivative(self, z, a):
        raise TypeError(
            "softmax has a dense Jacobian, not an elementwise derivative; use vjp(g, z, a)"
        )

    def vjp(self, g, z, a, out=None):
        ga = (g * a).sum(axis=1, keepdims=True)  # ⟨g, a⟩ per sample, (n_batch, 1)
        d = np.subtract(g, ga, out=out)
        d *= a
        return d


ACTIVATIONS: dict[str, type[Activation]] = {
    cls.name: cls for cls in (Identity, Sigmoid, Tanh, ReLU, LeakyReLU, Softmax)
}
# The documents say "linear" for the identity output (003, 000).
_ALIASES = {"linear": "identity", "logistic": "sigmoid"}


def get_activation(spec) -> Activation:
    """An :class:`Activation` from a name (``"relu"``, ``"linear"``...) or an instance."""
    if isinstance(spec, Activation):
        return spec
    if not isinstance(spec, str):
        raise TypeError(
            f"activation must be a name such as 'sigmoid' or an Activation instance, got {spec!r}"
        )
    key = _ALIASES.get(spec.lower(), spec.lower())
    if key not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {spec!r}; choose one of {sorted(ACTIVATIONS)} "
            "(or 'linear' for identity)"
        )
    return ACTIVATIONS[key]()
