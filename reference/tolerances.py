"""The one tolerance table, and the one way to compare derivative trees.

A comparison passes when, in every leaf (array) of the two trees,

    max |actual - expected|  <=  atol + rtol · scale,
    scale = max(max |actual|, max |expected|)   over that leaf.

Why a per-leaf scale rather than elementwise relative error: a gradient entry
is a sum of products, and rounding error in it is proportional to the size
of the terms, not of the (possibly cancelled) result, so an entry near zero
can carry an absolute error typical of its neighbours and an arbitrarily
large relative one.  The largest magnitude in the same leaf is a fair proxy
for the size of those terms.  A scale over the whole tree would instead be
too lax for leaves that are legitimately much smaller than the others (early
layers of a saturated net).  ``atol`` covers leaves whose scale is itself
tiny compared with the loss: e.g. squared error on a saturated softmax has
gradients ~1e-9 made of O(1) cancelling terms.  It is absolute, sized for
losses up to ~1e3 and weights up to N(0, 2²) (float32 central differences:
weights up to |W| ~ 3; see their reasons).

The ``reason`` of each entry cites what was measured on 1,200 random nets
(depth 1-5, widths and batch 1-8, every activation/loss pairing, biases
on/off, sum/mean, half, weights up to N(0, 2²) -- harsher than typical
tests), against "truth" from the complex step in 80-bit ``np.clongdouble``,
and, for ``jax``, also between JAX and a naive textbook backprop.
``python -m reference._calibrate`` re-runs the measurement and prints each
entry's worst ``err / (atol + rtol·scale)``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = [
    "KINDS",
    "TOLERANCES",
    "Tolerance",
    "allclose_tree",
    "assert_allclose_tree",
    "max_error",
    "tolerance",
]


class Tolerance(NamedTuple):
    rtol: float
    atol: float
    reason: str


#: What is being compared with what:
#: ``jax``: JAX reverse mode vs another exact method (manual backprop, or the
#: fast path vs the plain one), for gradients and deltas;
#: ``loss``: loss values computed two exact ways;
#: ``central``: :func:`central_difference_gradients` vs exact gradients;
#: ``directional``: :func:`directional_derivatives` (central) vs ``∇L · v``;
#: ``complex_step``: :func:`complex_step_gradients` vs exact gradients.
KINDS = ("jax", "loss", "central", "directional", "complex_step")

TOLERANCES: dict[str, dict[str, Tolerance]] = {
    "float64": {
        "jax": Tolerance(1e-11, 1e-12,
            "worst 0.22 of bound: 7.7e-13 at leaf scale 0.25 (textbook backprop vs JAX); "
            "atol side 1.9e-13 at scale 8e-6; JAX vs truth alone <= 3.8e-14; median 2e-16 rel"),
        "loss": Tolerance(1e-12, 1e-13,
            "JAX loss vs truth: worst relative 8.3e-16 (0.001 of bound), e.g. 1.2e-10 at L = 2e5"),
        "central": Tolerance(1e-5, 1e-7,
            "h = 6e-6·max(1,|θ|): worst 0.29 of bound, 3.9e-8 at leaf scale 3.5e-3 (truncation, "
            "|W| ~ 5.5); median 3e-10 rel; ~1% of nets raise KinkCrossingError"),
        "directional": Tolerance(1e-5, 1e-8,
            "h = 6e-6·max(1,max|θ|) along unit v: worst 0.14 of bound, 2.1e-9 at scale 5e-4; "
            "median 2e-10 rel"),
        "complex_step": Tolerance(1e-11, 1e-12,
            "complex step vs truth: worst 1.2e-13 at scale 7.4 (0.004 of bound); the exact side "
            "(manual or JAX) dominates, so same as 'jax'"),
    },
    "float32": {
        "jax": Tolerance(1e-4, 2e-4,
            "worst 0.33 of bound: 6.6e-5 at leaf scale 3.5e-3 (textbook σ' = a(1-a) cancels at "
            "z ~ 12); JAX vs truth 1.5e-4 at scale 7.4 (0.16); median 1.2e-7 rel"),
        "loss": Tolerance(1e-5, 1e-6,
            "JAX f32 loss vs truth: worst relative 1.4e-6 (0.14 of bound)"),
        "central": Tolerance(1e-1, 5e-3,
            "coarse: h = 4.9e-3·max(1,|θ|), median 1.7e-4 rel; worst 0.15 of bound for max|W| <= 3, "
            "but up to 1.5x bound with N(0,2²) weights (curvature over the step): use complex_step"),
        "directional": Tolerance(2e-2, 1e-3,
            "coarse: median 1.2e-4 rel; worst 0.27 of bound for max|W| <= 3, up to 6x bound with "
            "N(0,2²) weights (h = 4.9e-3·max|θ| is a big step): use complex_step there"),
        "complex_step": Tolerance(1e-4, 2e-4,
            "complex64 step vs truth: worst 1.7e-4 at scale 8.4 (0.16 of bound); same as 'jax'"),
    },
}


def _dtype_name(dtype) -> str:
    try:
        name = np.dtype(dtype).name
    except TypeError:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if name not in TOLERANCES:
        raise TypeError(f"dtype must be float32 or float64, got {name}")
    return name


def tolerance(dtype, kind: str) -> Tolerance:
    """The :class:`Tolerance` for ``dtype`` (float32/float64) and ``kind`` (see :data:`KINDS`)."""
    name = _dtype_name(dtype)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return TOLERANCES[name][kind]


def _leaves(tree, path="") -> list[tuple[str, object]]:
    """``(path, leaf)`` pairs; leaves are arrays, numbers or None; containers are lists/tuples."""
    if isinstance(tree, (list, tuple)):
        out = []
        for i, sub in enumerate(tree):
            out.extend(_leaves(sub, f"{path}[{i}]"))
        return out
    return [(path or "<root>", tree)]


def _real_leaf(v, what: str) -> np.ndarray:
    """A leaf as a real (int or float) array; bool, complex, object and str are refused.

    (Complex leaves would lose their imaginary part silently in the comparison.)
    """
    try:
        a = np.asarray(v)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must be a numeric array or None: {exc}") from None
    if a.dtype.kind not in "iuf":
        raise TypeError(f"{what} must be a real numeric array or None, got dtype {a.dtype}")
    return a


def _leaf_errors(actual, expected):
    """``(path, max|a-b|, scale, problem)`` per leaf; ``problem`` a string if not comparable."""
    la, le = _leaves(actual), _leaves(expected)
    if [p for p, _ in la] != [p for p, _ in le]:
        return None, f"tree structures differ: {[p for p, _ in la]} vs {[p for p, _ in le]}"
    rows = []
    for (path, a), (_, e) in zip(la, le):
        if a is None or e is None:
            if (a is None) != (e is None):
                return None, f"{path}: one side is None, the other is not"
            continue
        a, e = _real_leaf(a, "actual" + path), _real_leaf(e, "expected" + path)
        if a.shape != e.shape:
            return None, f"{path}: shapes differ, {a.shape} vs {e.shape}"
        if a.size == 0:
            continue
        a64, e64 = a.astype(np.float64), e.astype(np.float64)
        if not (np.isfinite(a64).all() and np.isfinite(e64).all()):
            rows.append((path, np.inf, np.nan))
            continue
        rows.append((path, float(np.abs(a64 - e64).max()), float(max(np.abs(a64).max(), np.abs(e64).max()))))
    return rows, None


def max_error(actual, expected) -> float:
    """Largest per-leaf relative error ``max|a - b| / scale`` over two trees.

    Trees are nested lists/tuples of arrays (``None`` leaves allowed, e.g.
    ``db``); ``scale`` is the largest magnitude in the leaf (on either side).
    All-zero leaves count as 0; any non-finite value gives ``inf``.  Raises
    ValueError if the structures or shapes differ.
    """
    rows, problem = _leaf_errors(actual, expected)
    if problem:
        raise ValueError(f"actual and expected do not match: {problem}")
    worst = 0.0
    for _, err, scale in rows:
        if not np.isfinite(err):
            return float("inf")
        if err > 0:
            worst = max(worst, err / scale)
    return worst


def _check(actual, expected, dtype, kind):
    tol = tolerance(dtype, kind)
    rows, problem = _leaf_errors(actual, expected)
    if problem:
        return False, problem
    for path, err, scale in rows:
        if not np.isfinite(err):
            return False, f"{path}: contains nan or inf"
        bound = tol.atol + tol.rtol * scale
        if not err <= bound:
            return False, (
                f"{path}: max|actual - expected| = {err:.3e} > atol + rtol·scale = "
                f"{tol.atol:.1e} + {tol.rtol:.1e}·{scale:.3e} = {bound:.3e} ({kind}, {np.dtype(dtype).name})"
            )
    return True, ""


def allclose_tree(actual, expected, *, dtype, kind: str) -> bool:
    """Whether every leaf satisfies ``max|a - b| <= atol + rtol · scale`` for ``tolerance(dtype, kind)``.

    Mismatched structure, shapes or ``None`` pattern count as not close.
    """
    return _check(actual, expected, dtype, kind)[0]


def assert_allclose_tree(actual, expected, *, dtype, kind: str, context: str = "") -> None:
    """Like :func:`allclose_tree` but raises AssertionError naming the first failing leaf."""
    ok, message = _check(actual, expected, dtype, kind)
    if not ok:
        raise AssertionError(f"{context}: {message}" if context else message)
