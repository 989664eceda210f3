"""Document 003's perceptron: step activation, perceptron criterion, learning rule.

Model ``y = f(wᵀ φ(x))`` with the step ``f(a) = +1 if a >= 0 else −1`` and
targets ``t ∈ {+1, −1}``.  With ``bias=True`` the feature map is
``φ(x) = [1, x]`` (so ``w[0]`` is the bias weight, document 003's ``x_0``);
with ``bias=False`` it is ``φ(x) = x``.

Criterion over the misclassified set ``M``::

    E_p(w)   = Σ_{n∈M} −wᵀ φ(x_n) t_n          (>= 0)
    ∇E_p(w)  = Σ_{n∈M} −φ(x_n) t_n
    update   : w ← w + α φ(x_n) t_n             for each misclassified n

``M`` holds the points with ``t_n wᵀ φ(x_n) <= 0``.  A point exactly on the
boundary counts as misclassified: otherwise ``w = 0`` would have ``E_p = 0``
and never move, although it separates nothing.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import _as_real_array, check_count, check_positive, make_rng, to_float

__all__ = [
    "step",
    "perceptron_features",
    "perceptron_predict",
    "perceptron_criterion",
    "perceptron_gradient",
    "train_perceptron",
    "PerceptronResult",
]


def step(a: np.ndarray) -> np.ndarray:
    """``f(a) = +1 if a >= 0 else −1``, elementwise (document 003)."""
    return np.where(to_float(a, np.float64, "a") >= 0, 1.0, -1.0)


def perceptron_features(x, *, bias: bool = True) -> np.ndarray:
    """``φ(x)``: ``(n, d)`` → ``(n, d + 1)`` with a leading column of ones if ``bias``."""
    _check_bias(bias)
    x = _as_real_array(x, "x")
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"x must have shape (n_samples, n_features), both >= 1, got {x.shape}")
    x = to_float(x, np.float64, "x")
    return np.hstack([np.ones((x.shape[0], 1)), x]) if bias else x.copy()


def _check_bias(bias) -> None:
    if not isinstance(bias, (bool, np.bool_)):
        raise TypeError(f"bias must be True or False, got {bias!r}")


def _check_w(w, n_features: int, name: str = "w") -> np.ndarray:
    w = _as_real_array(w, name)
    if w.shape != (n_features,):
        raise ValueError(f"{name} must have shape ({n_features},) to match φ(x), got {w.shape}")
    return to_float(w, np.float64, name)


def _check_t(t, n: int) -> np.ndarray:
    t = _as_real_array(t, "t")
    if t.shape != (n,):
        raise ValueError(f"t must have shape ({n},), one ±1 target per sample, got {t.shape}")
    if not np.isin(t, (-1, 1)).all():
        raise ValueError("t must contain only +1 (class C1) and −1 (class C2); map 0/1 labels with 2*t − 1")
    return t.astype(np.float64)


def perceptron_predict(w, x, *, bias: bool = True) -> np.ndarray:
    """Predicted classes ``f(wᵀ φ(x_n))`` in {+1, −1}, shape ``(n,)``."""
    phi = perceptron_features(x, bias=bias)
    return step(phi @ _check_w(w, phi.shape[1]))


def _misclassified(w, phi, t):
    return t * (phi @ w) <= 0


def perceptron_criterion(w, x, t, *, bias: bool = True) -> float:
    """``E_p(w) = Σ_{n∈M} −wᵀ φ(x_n) t_n``."""
    phi = perceptron_features(x, bias=bias)
    w = _check_w(w, phi.shape[1])
    t = _check_t(t, phi.shape[0])
    m = _misclassified(w, phi, t)
    return float(-(phi[m] @ w * t[m]).sum())


def perceptron_gradient(w, x, t, *, bias: bool = True) -> np.ndarray:
    """``∇E_p(w) = Σ_{n∈M} −φ(x_n) t_n``, shape ``(d,)`` (``d + 1`` with bias)."""
    phi = perceptron_features(x, bias=bias)
    w = _check_w(w, phi.shape[1])
    t = _check_t(t, phi.shape[0])
    m = _misclassified(w, phi, t)
    return -(phi[m] * t[m, None]).sum(axis=0)


@dataclass
class PerceptronResult:
    """``w``, per-epoch history of misclassified counts, and whether all are separated."""

    w: np.ndarray
    errors: list[int]
    converged: bool
    epochs: int


def train_perceptron(x, t, *, lr: float = 1.0, epochs: int = 1000, w0=None,
                     bias: bool = True, seed=0, shuffle: bool = True) -> PerceptronResult:
    """Stochastic perceptron learning: ``w ← w + lr·φ(x_n) t_n`` per misclassified sample.

    Stops after the first epoch with no misclassified point (the data are
    separated) or after ``epochs`` epochs.  ``errors[0]`` is the count before
    training, ``errors[e]`` after epoch ``e``.  For linearly separable data the
    perceptron convergence theorem guarantees termination.
    """
    phi = perceptron_features(x, bias=bias)
    t = _check_t(t, phi.shape[0])
    lr = check_positive(lr, "lr")
    epochs = check_count(epochs, "epochs", minimum=0)  # 0: just count the misclassified points
    w = np.zeros(phi.shape[1]) if w0 is None else _check_w(w0, phi.shape[1], "w0").copy()
    rng = make_rng(seed)
    errors = [int(_misclassified(w, phi, t).sum())]
    epoch = 0
    while errors[-1] and epoch < epochs:
        order = rng.permutation(len(t)) if shuffle else range(len(t))
        for n in order:
            if t[n] * (phi[n] @ w) <= 0:
                w = w + lr * phi[n] * t[n]
        epoch += 1
        errors.append(int(_misclassified(w, phi, t).sum()))
    return PerceptronResult(w=w, errors=errors, converged=errors[-1] == 0, epochs=epoch)
