"""Activation functions: each defined once, its hand derivative right underneath.

An activation is one object.  Its **formula** ``formula(xp, z)`` is written
against an array namespace ``xp`` -- ``numpy``, ``jax.numpy``, or numpy on
complex arrays for the complex step -- and is *the definition*: the JAX
reference differentiates it with ``jax.grad``, the numerical oracles perturb
it, the strategies draw it.  Its **hand derivative** is what manual_bp's
delta rule uses: ``derivative(z, a)`` (elementwise, NumPy) or
``vjp(g, z, a)`` (non-elementwise, e.g. softmax).  ``value(z, out)`` is
manual_bp's fast NumPy evaluation; it defaults to the formula, built-ins
override it with in-place code, and a test holds the two equal.

Rules a formula follows so every consumer can use it:

* branch on ``xp.real(z)`` (``xp.where(xp.real(z) > 0, ...)``), never on
  ``z`` itself or ``abs(z)``: complex numbers have no order, and the complex
  step needs the function analytic along the step;
* never evaluate something that overflows in the branch *not* taken
  (``jax.grad`` of ``where`` multiplies the other branch's derivative by 0,
  and 0 · inf = nan): clamp its argument first (see :class:`ELU`).

Derivatives are computed from values the forward pass already holds: from
``a`` wherever possible (σ' = a(1 − a), tanh' = 1 − a²), so the gradient
path can compute ``a`` in place over ``z`` and keep one array per layer; an
activation whose derivative must read ``z`` says so with ``needs_z``.
``kinks`` lists the points where f' jumps (relu: ``(0.0,)``): strategies and
central differences keep away from them; ``curvature_kinks`` those where only
f'' jumps (ELU with α = 1), which the Taylor test steps around.  Subgradient convention at a kink:
the left branch, so ``relu'(0) = 0`` and ``leaky_relu'(0) = slope``
(document 003 defines ReLU as 0 for ``z <= 0``).

Your own activation: subclass :class:`Activation` (a frozen dataclass, so it
is hashable), give it a ``name``, a ``formula`` and a ``derivative`` (or
``vjp``), and :func:`register_activation` it::

    @dataclass(frozen=True)
    class Cube(Activation):
        '''f(z) = z³;  f'(z) = 3z².'''
        name = "cube"
        def formula(self, xp, z):
            return z * z * z
        def derivative(self, z, a):
            return 3.0 * z * z

    register_activation(Cube())
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._registry import check_name, store

__all__ = [
    "Activation",
    "Identity",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "LeakyReLU",
    "Softmax",
    "Softplus",
    "ELU",
    "Swish",
    "GELU",
    "ACTIVATIONS",
    "get_activation",
    "register_activation",
]


@dataclass(frozen=True)
class Activation:
    """Base class.  Subclasses define ``name``, ``formula`` and ``derivative`` (or ``vjp``)."""

    name = "activation"
    #: True when f acts on each unit separately, so f'(z) is a diagonal Jacobian.
    #: A non-elementwise activation (softmax) is only allowed on the output layer.
    elementwise = True
    #: True when :meth:`derivative`/:meth:`vjp` read ``z``; when False the
    #: gradient path overwrites ``z`` with ``a`` and passes ``z=None``.
    needs_z = True
    #: Points where f' jumps (not differentiable): numerical differences
    #: straddling one measure a mixture of two slopes.
    kinks = ()
    #: Points where f' is continuous but f'' jumps (ELU with α = 1 at 0, softsign at 0):
    #: the Taylor test drops the steps that cross one, whose remainder is no c·h².
    curvature_kinks = ()

    def formula(self, xp, z):
        """The definition ``a = f(z)`` in array namespace ``xp``; ``z`` ``(..., n_batch, n)``."""
        raise NotImplementedError(f"{type(self).__name__} defines no formula(xp, z)")

    def value(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``a = f(z)`` with NumPy; ``z`` of shape ``(n_batch, n)``.

        ``out`` is None for a new array, or ``z`` itself to compute ``a`` in
        place over ``z`` (the gradient path does so when ``z`` is not needed).
        The default evaluates :meth:`formula`; built-ins override it with
        faster in-place code.
        """
        a = np.asarray(self.formula(np, z), dtype=z.dtype)
        if out is None:
            return a if a is not z else a.copy()
        out[...] = a
        return out

    def derivative(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        """``f'(z)`` elementwise, shape ``(n_batch, n)``; ``a = f(z)`` is given too."""
        raise NotImplementedError(f"{type(self).__name__} defines no derivative(z, a) or vjp(g, z, a)")

    def vjp(self, g: np.ndarray, z: np.ndarray, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``dL/dz = g · ∂a/∂z`` for upstream ``g = dL/da``, shape ``(n_batch, n)``.

        For an elementwise f the Jacobian is diagonal, so this is ``g * f'(z)``.
        ``out=g`` overwrites ``g`` with the result (backprop's δ recursion
        does, as ``g = δ @ W.T`` is its own fresh array).
        """
        return np.multiply(g, self.derivative(z, a), out=out)

    def __str__(self) -> str:
        return self.name


# ---------------------------------------------------------------------------
# Helpers for formulas (array-namespace generic, complex-step safe)
# ---------------------------------------------------------------------------

def _positive(xp, z):
    """``Re z > 0``: the branch test every piecewise formula uses."""
    return xp.real(z) > 0


def _flip_to_nonpositive(xp, z):
    """``-|z|`` generalised to complex ``z`` (sign chosen by the real part).

    Multiplying by a locally constant sign keeps the function analytic, which
    the complex step needs, whereas ``abs`` of a complex number is not.
    """
    return xp.where(xp.real(z) >= 0, -z, z)


def _sigmoid_formula(xp, z):
    # exp only ever sees a non-positive real part, so |z| ~ 1e3 cannot overflow;
    # and neither where-branch is inf, so jax.grad sees no 0 * inf = nan.
    s = xp.exp(_flip_to_nonpositive(xp, z))
    return xp.where(xp.real(z) >= 0, 1 / (1 + s), s / (1 + s))


def _softplus_formula(xp, z):
    """``log(1 + e^z) = max(z, 0) + log1p(e^{−|z|})``, overflow-free."""
    return xp.where(xp.real(z) >= 0, z, 0 * z) + xp.log1p(xp.exp(_flip_to_nonpositive(xp, z)))


def _log_softmax(xp, z):
    """Row-wise ``log softmax`` by log-sum-exp over the last axis.

    Shifted by the max *real* part: that is all overflow depends on, and a
    complex max is undefined.  The shift cancels exactly in the derivative
    (∂/∂m of (z − m) − log Σ e^{z−m} is −1 + 1), so autodiff through it is right.
    """
    m = xp.max(xp.real(z), axis=-1, keepdims=True)
    zs = z - m
    return zs - xp.log(xp.sum(xp.exp(zs), axis=-1, keepdims=True))


# ---------------------------------------------------------------------------
# The built-ins
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Identity(Activation):
    """f(z) = z;  f'(z) = 1  (linear output for regression)."""

    name = "identity"
    needs_z = False

    def formula(self, xp, z):
        return z

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

    def formula(self, xp, z):
        return _sigmoid_formula(xp, z)

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

    def formula(self, xp, z):
        return xp.tanh(z)

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
    kinks = (0.0,)

    def formula(self, xp, z):
        return xp.where(_positive(xp, z), z, 0 * z)

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
    kinks = (0.0,)

    def __post_init__(self):
        object.__setattr__(self, "slope", _real_parameter(self.slope, "LeakyReLU slope"))

    @property
    def needs_z(self):
        # With slope ≥ 0, a > 0 exactly where z > 0; a negative slope makes a > 0 on both sides.
        return self.slope < 0

    def formula(self, xp, z):
        return xp.where(_positive(xp, z), z, self.slope * z)

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

    def formula(self, xp, z):
        return xp.exp(_log_softmax(xp, z))

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


@dataclass(frozen=True)
class Softplus(Activation):
    """f(z) = log(1 + e^z);  f'(z) = σ(z) = 1 − e^{−a}.

    The derivative is read off ``a``: e^{−a} = 1/(1 + e^z) = 1 − σ(z), and
    ``−expm1(−a)`` keeps it accurate where σ(z) ≈ e^z is tiny (a ≈ e^z).
    """

    name = "softplus"
    needs_z = False

    def formula(self, xp, z):
        return _softplus_formula(xp, z)

    def derivative(self, z, a):
        return -np.expm1(-a)


@dataclass(frozen=True)
class ELU(Activation):
    """f(z) = z if z > 0 else α(e^z − 1);  f'(z) = 1 if z > 0 else α·e^z = a + α.

    With α > 0, a > 0 exactly where z > 0, so f' is read off ``a`` (at z = 0
    the left branch gives f'(0) = α).  f' jumps at 0 unless α = 1.
    """

    alpha: float = 1.0
    name = "elu"

    def __post_init__(self):
        object.__setattr__(self, "alpha", _real_parameter(self.alpha, "ELU alpha"))

    @property
    def needs_z(self):
        return self.alpha <= 0  # then a > 0 no longer tells the branch

    @property
    def kinks(self):
        return () if self.alpha == 1.0 else (0.0,)

    @property
    def curvature_kinks(self):
        return (0.0,) if self.alpha == 1.0 else ()  # f'' is 0 right of 0 and α left of it

    def formula(self, xp, z):
        pos = _positive(xp, z)
        # e^z only of the non-positive part: the taken branch is unchanged and
        # the other can never overflow (jax.grad would turn 0 · inf into nan).
        neg = xp.where(pos, 0 * z, z)
        return xp.where(pos, z, self.alpha * xp.expm1(neg))

    def derivative(self, z, a):
        positive = (z if self.needs_z else a) > 0
        return np.where(positive, 1.0, a + self.alpha).astype(a.dtype, copy=False)

    def __str__(self) -> str:
        return f"elu({self.alpha:g})"


@dataclass(frozen=True)
class Swish(Activation):
    """f(z) = z·σ(z) (also called SiLU);  f'(z) = σ(z) + z·σ(z)(1 − σ(z)) = σ(z) + a(1 − σ(z))."""

    name = "swish"

    def formula(self, xp, z):
        return z * _sigmoid_formula(xp, z)

    def derivative(self, z, a):
        s = _sigmoid_formula(np, z)
        return s + a * (1.0 - s)


_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_K = 0.044715


@dataclass(frozen=True)
class GELU(Activation):
    """GELU, **the tanh approximation** (Hendrycks & Gimpel; BERT, GPT-2), not the exact erf form:

    f(z) = ½·z·(1 + tanh u),  u = √(2/π)·(z + 0.044715·z³);
    f'(z) = ½(1 + tanh u) + ½·z·(1 − tanh² u)·√(2/π)·(1 + 3·0.044715·z²).

    Evaluated through the identity ½(1 + tanh u) = σ(2u) as f = z·s and
    f' = s·(1 + 2z(1 − s)·√(2/π)(1 + 3·0.044715·z²)) with s = σ(2u): the same
    function, without the cancellation of 1 + tanh u ≈ 0 for z ≪ 0 that costs
    float32 most of its digits there.
    """

    name = "gelu"

    def formula(self, xp, z):
        return z * _sigmoid_formula(xp, 2 * _GELU_C * (z + _GELU_K * z * z * z))

    def derivative(self, z, a):
        s = _sigmoid_formula(np, 2 * _GELU_C * (z + _GELU_K * z * z * z))
        return s * (1.0 + 2.0 * z * (1.0 - s) * _GELU_C * (1.0 + 3.0 * _GELU_K * z * z))


def _real_parameter(value, what: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{what} must be a real number, got {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return float(value)


# ---------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------

#: Registered activations by name: the instance a name stands for.
ACTIVATIONS: dict[str, Activation] = {}
_ALIASES: dict[str, str] = {}


def register_activation(act: Activation, *, aliases=(), replace: bool = False) -> Activation:
    """Make ``act`` usable by name everywhere: ``Network``, the JAX reference, the
    fast path, the numerical oracles, the strategies and the CLI (``--plugin``).

    ``act`` is an :class:`Activation` instance (a class with a no-argument
    constructor is instantiated).  Checked here, so a mistake shows at
    registration, not deep inside a check: a non-empty ``name`` not yet taken
    (unless ``replace=True``), a ``formula``, a ``derivative`` or ``vjp``, and
    hashable (a frozen dataclass is).  Returns ``act``.
    """
    if isinstance(act, type) and issubclass(act, Activation):
        act = act()
    if not isinstance(act, Activation):
        raise TypeError(f"register_activation takes an Activation instance (subclass manual_bp.Activation), "
                        f"got {act!r}")
    name = check_name(act, Activation)
    cls = type(act)
    if cls.formula is Activation.formula:
        raise TypeError(f"activation {name!r} defines no formula(self, xp, z): the definition every oracle uses")
    if cls.derivative is Activation.derivative and cls.vjp is Activation.vjp:
        raise TypeError(f"activation {name!r} defines neither derivative(self, z, a) nor vjp(self, g, z, a): "
                        "the hand derivative is what is checked")
    store(ACTIVATIONS, _ALIASES, act, name, aliases, replace, "activation")
    return act


for _act, _aliases in (
    (Identity(), ("linear",)),  # the documents say "linear" (003, 000)
    (Sigmoid(), ("logistic",)),
    (Tanh(), ()),
    (ReLU(), ()),
    (LeakyReLU(), ()),
    (Softmax(), ()),
    (Softplus(), ()),
    (ELU(), ()),
    (Swish(), ("silu",)),
    (GELU(), ()),
):
    register_activation(_act, aliases=_aliases)
del _act, _aliases


def get_activation(spec) -> Activation:
    """An :class:`Activation` from a registered name (``"relu"``, ``"linear"``...) or an instance."""
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
            f"(aliases {', '.join(sorted(_ALIASES))}), or register your own with manual_bp.register_activation"
        )
    return ACTIVATIONS[key]
