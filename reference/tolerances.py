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

The ``reason`` of each entry cites the worst ``err / (atol + rtol·scale)``
measured by ``python -m reference._calibrate`` on 150 random nets (depth
1-5, widths and batch 1-8, every activation/loss pairing, biases on/off,
sum/mean, half) in two regimes: "mixed" (``--seed 11``: weight scales 0.1,
1 and 2, Xavier or N(0, s²)) and "harsh" (``--regime harsh --seed 12``: W
and b from N(0, 2²), saturated units), against "truth" from the complex
step in 80-bit ``np.clongdouble``, and, for ``jax``, also between JAX and a
naive textbook backprop.  tests/test_tolerance_bound.py re-runs it on a few
nets per regime; docs/tolerances.md restates the table (checked by a test).

Exact-vs-exact comparisons (a candidate against jax.grad) no longer use the
``jax`` row: :func:`derivative_bounds` gives a bound per entry, from the
absolute values of the terms of each sum (see there).  The row stays as the
fallback for pairings the bound has no rule for, and for the diagnosis's
fits (a constant factor, a transpose), where a per-leaf scale is wanted.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

__all__ = [
    "BOUND_SAFETY",
    "KINDS",
    "TOLERANCES",
    "Tolerance",
    "allclose_tree",
    "assert_allclose_tree",
    "assert_within_bound",
    "derivative_bounds",
    "forward_mode_floor",
    "gradient_bound",
    "max_error",
    "table_markdown",
    "tolerance",
    "within_bound",
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
            "fallback and diagnosis only (compare and the suite use derivative_bounds): worst 0.006 of "
            "bound (mixed); harsh: a ReLU within rounding of its kink may take the other branch (O(1) "
            "differences, allowed per entry by the bound, not by a per-leaf row); median 2e-16 rel"),
        "loss": Tolerance(1e-12, 1e-13,
            "JAX loss vs 80-bit truth: worst 0.001 of bound (mixed and harsh)"),
        "central": Tolerance(1e-5, 1e-7,
            "h = 6e-6·max(1,|θ|): worst 0.07 of bound (mixed: 1.5e-6 at leaf scale 2.1, truncation), "
            "0.014 (harsh); median 2e-10 rel; ~1% of nets raise KinkCrossingError"),
        "directional": Tolerance(1e-5, 1e-8,
            "h = 6e-6·max(1,max|θ|) along unit v: worst 0.022 of bound (mixed), 0.010 (harsh); "
            "median 2e-10 rel"),
        "complex_step": Tolerance(1e-11, 1e-12,
            "complex step vs truth: worst 0.003 of bound (mixed), 0.002 (harsh)"),
    },
    "float32": {
        "jax": Tolerance(1e-4, 2e-4,
            "fallback and diagnosis only (compare and the suite use derivative_bounds): worst 0.011 of "
            "bound (mixed); harsh: kinks as in float64; median 1.2e-7 rel"),
        "loss": Tolerance(1e-5, 1e-6,
            "JAX f32 loss vs truth: worst 0.047 of bound (mixed: 1.4e-4 at L = 310), 0.029 (harsh)"),
        "central": Tolerance(1e-1, 5e-3,
            "coarse: h = 4.9e-3·max(1,|θ|), median 1.5e-4 rel; worst 0.40 of bound (mixed), 0.92 "
            "(harsh: 0.65 at leaf scale 6.9): float32 checks use complex_step"),
        "directional": Tolerance(2e-2, 1e-3,
            "coarse: median 1.1e-4 rel; worst 0.33 of bound (mixed), 3.2x (harsh: 9.4e-2 at scale "
            "1.4, curvature over a big step): float32 checks use complex_step"),
        "complex_step": Tolerance(1e-4, 2e-4,
            "complex64 step vs truth: worst 0.017 of bound (mixed), 0.013 (harsh)"),
    },
}


def table_markdown() -> str:
    """:data:`TOLERANCES` as a Markdown table (docs/tolerances.md embeds it; a test keeps them equal)."""
    lines = ["| dtype | kind | rtol | atol | reason (measured) |", "|---|---|---|---|---|"]
    for dtype, entries in TOLERANCES.items():
        for kind, tol in entries.items():
            lines.append(f"| {dtype} | `{kind}` | {tol.rtol:.0e} | {tol.atol:.0e} | {tol.reason} |")
    return "\n".join(lines)


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


# ---------------------------------------------------------------------------
# A per-entry rounding-error bound for exact-vs-exact comparisons
# ---------------------------------------------------------------------------

#: :func:`derivative_bounds` gives a scale of the rounding error of *one*
#: exact computation; two are compared, and its constants are per-operation
#: estimates.  Measured with ``python -m reference._calibrate`` (150 nets,
#: mixed and harsh regimes; manual_bp, the naive textbook backprop, the padded
#: fast path, the plain jax.grad, the complex step and 80-bit truth, pairwise):
#: the largest ``|actual - expected| / bound`` at safety 1 is 1.88 (float64,
#: mixed, manual_bp vs jax.grad), median 0.07-0.31.  5 leaves a margin of
#: 2.7x over the worst of ~13,000 leaves, and catches a 0.1% float32 error
#: in every one of 946 random problems (docs/power.md).
BOUND_SAFETY = 5.0


def _unit_roundoff(dtype) -> float:
    return float(np.finfo(dtype).eps) / 2


class _Layer(NamedTuple):
    """Absolute values and first-order error budgets of one layer's forward pass (float64)."""

    z: np.ndarray      # z_l
    a: np.ndarray      # a_l = f(z_l)
    Ez: np.ndarray     # bound on |Δz_l|
    Ea: np.ndarray     # bound on |Δa_l|
    fp: np.ndarray | None = None    # f'(z_l) (elementwise activations)
    fpp: np.ndarray | None = None   # f''(z_l) (the generic rule only)


def _sigmoid_and_slope(z):
    """``(σ(z), σ'(z))`` in float64 without cancellation: ``σ' = e^{-|z|} / (1 + e^{-|z|})²``, not ``a(1 - a)``."""
    t = np.exp(-np.abs(z))
    a = np.where(z >= 0, 1 / (1 + t), t / (1 + t))
    return a, t / (1 + t) ** 2


def _tanh_slope(z):
    """``tanh'(z) = sech² z = 4e^{-2|z|} / (1 + e^{-2|z|})²`` in float64, no cancellation, no overflow."""
    t = np.exp(-2 * np.abs(z))
    return 4 * t / (1 + t) ** 2


_BUILT_IN = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "softmax")


def _kind(act) -> str:
    """Which rule bounds ``act``: a built-in's name, ``"generic"`` (any other elementwise
    activation with a complex-step-safe ``formula``), or NotImplementedError."""
    if act.name in _BUILT_IN:
        return act.name
    if getattr(act, "elementwise", True) and hasattr(act, "formula"):
        return "generic"
    raise NotImplementedError(act.name)


def _generic(act, z):
    """``(a, f', f'')`` of an elementwise activation from its ``formula`` (float64):
    f' by the complex step (exact to rounding), f'' by central differences of it
    (only a size for the budget, so its ~1e-10 relative error does not matter)."""
    h = 1e-30
    a = np.real(act.formula(np, z))
    fp = np.imag(act.formula(np, z + 1j * h)) / h
    eta = 1e-5 * np.maximum(1.0, np.abs(z))
    fpp = (np.imag(act.formula(np, z + eta + 1j * h)) - np.imag(act.formula(np, z - eta + 1j * h))) / (2 * eta * h)
    return a, fp, fpp


def _slope(act, lay):
    """``f'(z_l)`` (float64, no cancellation) for an elementwise activation."""
    if lay.fp is not None:
        return lay.fp
    kind = _kind(act)
    if kind == "identity":
        return np.ones_like(lay.z)
    if kind == "sigmoid":
        return _sigmoid_and_slope(lay.z)[1]
    if kind == "tanh":
        return _tanh_slope(lay.z)
    if kind == "generic":
        return _generic(act, lay.z)[1]
    return np.where(lay.z > 0, 1.0, getattr(act, "slope", 0.0))


class _Rounding(NamedTuple):
    """How error budgets combine: ``worst`` (Higham's first-order worst case:
    ``γ_n = n·u``, errors add in absolute value) or ``probable`` (Higham and
    Mary's probabilistic analysis: independent roundings of mean zero, so an
    n-term sum is off by ``√n·u`` in units of its terms and independent
    errors add in quadrature; a standard-deviation-like scale)."""

    u: float     # unit roundoff of the dtype
    t: float     # underflow: ``tiny`` per operation
    probable: bool

    def gamma(self, n):
        return (np.sqrt(n) if self.probable else n) * self.u

    def add(self, *terms):
        if not self.probable:
            return sum(terms)
        # In quadrature.  sqrt(Σ t²) is ~15x faster than chained np.hypot; hypot (no overflow or
        # underflow in the squares) is kept for the entries whose Σ t² leaves float64's safe range.
        s = sum(np.square(t) for t in terms)
        out = np.sqrt(s)
        redo = ~((s > _SQUARES_LO) & (s < _SQUARES_HI))  # also nan
        if not redo.any():
            return out
        if np.ndim(out) == 0:
            return functools.reduce(np.hypot, terms)
        out[redo] = functools.reduce(np.hypot, [np.broadcast_to(t, out.shape)[redo] for t in terms])
        return out

    def through(self, E, M, k=None):
        """Errors ``E`` carried through a matrix product with ``|M|`` (both >= 0): ``E @ M``.

        In quadrature ``sqrt(E² @ M²)``, with rows of E and columns of M scaled
        to at most 1 first, so that squares of ~1e-160 do not underflow to 0.
        ``k``: the length of the whole sum (default ``E.shape[1]``), for the
        underflow floor when ``E @ M`` sums over a subset of batch rows.
        """
        if not self.probable:
            return E @ M
        if not E.any():  # the input layer's Δa = 0: nothing to carry (and two matrix products saved)
            return np.zeros((E.shape[0], M.shape[1]))
        r = _unit_scale(E.max(axis=1, keepdims=True))
        c = _unit_scale(M.max(axis=0, keepdims=True))
        E2, M2 = E / r, M / c
        # Read before squaring: an entry 1e-200 of its row's largest squares to exactly 0.
        safe = (_smallest_nonzero(E2) * _smallest_nonzero(M2)) ** 2 >= _SQUARES_LO
        np.square(E2, out=E2)
        np.square(M2, out=M2)
        quad = E2 @ M2
        np.sqrt(quad, out=quad)
        quad *= r
        quad *= c
        # sqrt(Σ e²m²) >= Σ em / k always; where a product of squares underflowed, that floor
        # keeps it.  Only then: it costs a second matrix product.
        if safe:
            return quad
        return np.maximum(quad, (E @ M) / (k or E.shape[1]))

    def sum(self, E, axis, keepdims=False, n=None):
        """``Σ E`` along ``axis``; ``n``: the length of the whole sum (default ``E.shape[axis]``)."""
        if not self.probable:
            return E.sum(axis=axis, keepdims=keepdims)
        c = _unit_scale(E.max(axis=axis, keepdims=True))
        out = np.maximum(c * np.sqrt(np.square(E / c).sum(axis=axis, keepdims=True)),
                         E.sum(axis=axis, keepdims=True) / (n or E.shape[axis]))
        return out if keepdims else np.squeeze(out, axis=axis)


#: Where a sum of squares is safe from underflow and overflow (float64 spans ~1e-308 to 1e308).
_SQUARES_LO, _SQUARES_HI = 1e-290, 1e290


def _smallest_nonzero(v) -> float:
    """The smallest nonzero entry of ``v >= 0`` (1.0 if none): one pass when ``v`` has no zeros."""
    lo = float(v.min(initial=1.0))
    return lo if lo > 0 else float(np.min(v, where=v > 0, initial=1.0))


def _unit_scale(m):
    """``m`` with zeros replaced by 1: a divisor that scales the largest entry to 1."""
    return np.where(m > 0, m, 1.0)


def _forward_budget(spec, params, x, R: _Rounding):
    """Forward values and error budgets per layer; ``params``/``x`` float64."""
    u, t = R.u, R.t
    a, Ea = x, np.zeros_like(x)
    out = []
    for (W, b), act in zip(params, spec.activations):
        name, slope = _kind(act), getattr(act, "slope", 0.0)
        absW = np.abs(W)
        n = W.shape[0] + (b is not None)
        z = a @ W + (0 if b is None else b)
        Z = np.abs(a) @ absW + (0 if b is None else np.abs(b))
        # t: a product may underflow (or be flushed to 0)
        Ez = R.add(R.gamma(n) * Z + n * t, R.through(Ea, absW))
        if name == "identity":
            a_new, Ea = z, Ez
        elif name in ("relu", "leaky_relu"):
            a_new = np.where(z > 0, z, slope * z)
            Ea = R.add(max(1.0, abs(slope)) * Ez, u * np.abs(a_new))
        elif name == "sigmoid":
            a_new, fp = _sigmoid_and_slope(z)
            Ea = R.add(fp * Ez, 4 * u * a_new)
        elif name == "tanh":
            a_new = np.tanh(z)
            Ea = R.add(_tanh_slope(z) * Ez, 4 * u * np.abs(a_new))
        elif name == "generic":
            # The formula's own roundings, and its input z rounded: |f'|·u|z|.
            a_new, fp, _ = _generic(act, z)
            # t·(1 + |z|)³: an inner factor that underflows (GELU's σ(2u) at
            # z ≪ 0) and is then multiplied by a polynomial in z.
            Ea = R.add(np.abs(fp) * Ez, 4 * u * (np.abs(a_new) + np.abs(z * fp))) + t * (1 + np.abs(z)) ** 3
        elif name == "softmax":
            m = z.max(axis=1, keepdims=True)
            e = np.exp(z - m)
            a_new = e / e.sum(axis=1, keepdims=True)
            k = z.shape[1]
            # a_i = e^{z_i - m} / Σ_j e^{z_j - m}: a change of z_i moves a_i by
            # a_i(Δz_i - Σ_j a_j Δz_j); the shift z - m is rounded (u|z - m|),
            # exp adds 4u, the k-term sum and the division (k + 1)u.
            shift = R.add(Ez, u * np.abs(z - m))
            Ea = a_new * R.add(shift, R.sum(a_new * shift, axis=1, keepdims=True), R.gamma(k) + 5 * u)
        else:
            raise NotImplementedError(name)
        lay = _Layer(z, a_new, Ez, Ea + t)
        if name == "generic":
            lay = lay._replace(fp=fp, fpp=_generic(act, z)[2])
        elif name != "softmax":
            lay = lay._replace(fp=_slope(act, lay))
        out.append(lay)
        a = a_new
    return out


def _vjp_budget(act, lay: _Layer, g, Eg, R: _Rounding, K):
    """Budget of ``d = g J_f(z)`` (the δ step through f) given the budget ``Eg`` of ``g``.

    ``g`` is the upstream ``∂L/∂a`` (float64); every term is an absolute
    value, so nothing cancels in the budget.
    """
    u, t = R.u, R.t
    name, slope = _kind(act), getattr(act, "slope", 0.0)
    z, a, Ez = lay.z, lay.a, lay.Ez
    G = np.abs(g)
    if name == "softmax":
        s = (g * a).sum(axis=1, keepdims=True)
        k = z.shape[1]
        Es = R.add(R.sum(R.add(Eg * a, G * lay.Ea), axis=1, keepdims=True),
                   R.gamma(k) * (G * a).sum(axis=1, keepdims=True))
        return R.add(lay.Ea * np.abs(g - s), a * R.add(Eg, Es), 2 * u * a * (G + np.abs(s))) + (k + 2) * t
    fp = _slope(act, lay)
    if name == "identity":
        Efp = np.zeros_like(z)
    elif name in ("relu", "leaky_relu"):
        # Within reach of the kink the two sides may take different branches.
        Efp = np.where(np.abs(z) < K * Ez, abs(1.0 - slope), 0.0)
    elif name == "sigmoid":
        # f'' = f'(1 - 2a) times Δz, and f' = a(1 - a) formed from a rounded a
        # (absolute error ~ u·a|1 - 2a|, all of f' once 1 - a is below u).
        Efp = R.add(fp * np.abs(1 - 2 * a) * Ez, 4 * u * (fp + a * np.abs(1 - 2 * a)))
    elif name == "tanh":
        # XLA's tanh is several ulps off near ±1, where 1 - a² keeps only those ulps.
        Efp = R.add(2 * np.abs(a) * fp * Ez, 8 * u * (fp + 2 * a * a))
    elif name == "generic":
        # f''·Δz, the formula's roundings and its rounded input (|f''|·u|z|),
        # and at a declared kink within reach, the jump of f' there.
        # A derivative formed from a rounded a (ELU's a + α, like σ's a(1 − a))
        # is off by |df'/da|·u|a| = |f''/f'|·u|a|.
        fpp = lay.fpp
        from_a = np.abs(a * fpp) / np.where(fp != 0, np.abs(fp), np.inf)
        # Inner terms of an unknown formula can exceed f' itself (GELU's
        # 1 + 2z(1 − s)·c(1 + 3kz²) rounds 1 − s, then multiplies it by ~z²):
        # |z|(1 + |z|)·u|f'| covers polynomial factors of that kind.
        Efp = R.add(np.abs(fpp) * Ez, 8 * u * (np.abs(fp) + np.abs(z * fpp) + from_a),
                    u * np.abs(z) * (1 + np.abs(z)) * np.abs(fp))
        Efp = Efp + t * (1 + np.abs(z)) ** 3
        for k in getattr(act, "kinks", ()):
            k = np.asarray([float(k)])
            e = 1e-9 * max(1.0, abs(float(k[0])))
            jump = float(np.abs(_generic(act, k + e)[1] - _generic(act, k - e)[1])[0])
            Efp = Efp + np.where(np.abs(z - k[0]) < K * Ez, jump, 0.0)
    else:
        raise NotImplementedError(name)
    # + t: f' itself may underflow (XLA flushes a subnormal f' to 0).
    return R.add(Eg * np.abs(fp), G * (Efp + t), u * G * np.abs(fp)) + t


def _output_budget(spec, lay: _Layer, y, n_batch, R: _Rounding, K):
    """``(δ_L, E_δL)`` (float64): the loss derivative at the output and its budget."""
    u, t = R.u, R.t
    s = (0.5 if spec.half else 1.0) / (n_batch if spec.reduction == "mean" else 1)
    act = spec.activations[-1]
    name, loss = _kind(act), spec.loss.name
    a, Ea = lay.a, lay.Ea
    if loss == "squared_error":
        g = 2 * s * (a - y)
        Eg = 2 * s * R.add(Ea, 2 * u * (np.abs(a) + np.abs(y)))
        if name == "softmax":
            ga = (g * a).sum(axis=1, keepdims=True)
            d = a * (g - ga)
        else:
            d = g * _slope(act, lay)
        return d, R.add(_vjp_budget(act, lay, g, Eg, R, K), 2 * u * np.abs(d)) + t
    ysum = y.sum(axis=1, keepdims=True)
    if loss == "cross_entropy" and name == "softmax":
        d = s * (a * ysum - y)
        # a·Σy - y: one product, one subtraction, the scaling: 3 roundings of the larger term.
        return d, s * R.add(Ea * np.abs(ysum), 3 * u * (a * np.abs(ysum) + np.abs(y))) + t
    if loss == "binary_cross_entropy" and name == "sigmoid":
        d = s * (a - y)
        return d, s * R.add(Ea, 2 * u * (np.abs(a) + np.abs(y))) + t
    raise NotImplementedError(f"{loss} with a {act.name} output")


def derivative_bounds(net, params, x, y, *, safety: float = BOUND_SAFETY, model: str = "probable"):
    """Per-entry bounds on ``|actual - expected|`` for two exact derivative computations.

    Returns ``(grad_bounds, delta_bounds)``: ``grad_bounds`` shaped like the
    gradients (a list of ``(B_W (n_in, n_out), B_b (n_out,) or None)``) and
    ``delta_bounds`` like the deltas (``(n_batch, n_l)`` per layer), as
    float64; or None for a pairing the bound does not know (then use the
    ``jax`` entry of the table).

    A gradient entry is a sum of products, ``dW_l = a_{l-1}ᵀ δ_l + 2·l2·W_l``,
    ``db_l = Σ_n δ_l``, with ``δ_{l-1} = (δ_l W_lᵀ) ⊙ f'(z_{l-1})``; in
    floating point each is off by at most ``γ_n·|a_{l-1}|ᵀ|δ_l|`` (Higham's
    ``γ_n = n·u``, first order) plus what the errors already in ``a`` and
    ``δ`` carry through.  The budgets are propagated in absolute values:
    forward, ``|Δz_l| <= γ_n(|a_{l-1}||W_l| + |b_l|) + |Δa_{l-1}||W_l|`` and
    ``|Δa_l| <= |f'(z_l)||Δz_l| + c·u·|a_l|``; at the output the loss
    derivative's own roundings; backward, ``|Δδ_{l-1}| <= (|Δδ_l||W_l|ᵀ +
    γ_n|δ_l||W_l|ᵀ)|f'| + |δ_l W_lᵀ|·|Δf'|`` with ``|Δf'|`` from ``f''·Δz``,
    from forming f' out of a rounded ``a`` (``a(1 - a)`` is all rounding once
    ``1 - a < u``), and, for (leaky) ReLU, a whole ``|1 - slope|`` where
    ``|z|`` is within reach of the kink.  So the bound is tight where the
    terms are small and generous only where they cancel.

    ``model="worst"`` is that worst case (every rounding the same way);
    ``"probable"`` (default) combines independent roundings in quadrature
    with ``γ_n = √n·u`` (Higham & Mary, SIAM J. Sci. Comput. 41 (2019)), a
    scale of the error actually seen, which the worst case overstates by
    ~1000x on deep nets whose δ cancels -- enough to let a 1% mistake pass
    in float32.  ``safety`` (default :data:`BOUND_SAFETY`, justified by
    measurement) multiplies the result.  Underflow (``tiny`` per operation)
    is budgeted like a rounding.
    """
    from ._spec import check_all

    if model not in ("worst", "probable"):
        raise ValueError(f"model must be 'worst' or 'probable', got {model!r}")
    return _derivative_bounds(*check_all(net, params, x, y), safety=safety, model=model)


def _derivative_bounds(spec, params, x, y, dtype, *, safety: float = BOUND_SAFETY, model: str = "probable",
                       rows=None):
    """:func:`derivative_bounds` on what :func:`reference._spec.check_all` returned (no re-validation).

    ``rows`` (a slice or index array of batch rows, or None for all): the
    gradient bounds from those rows alone, each entry a lower bound on the
    whole batch's (see :func:`_budgets`; times ``1 - 1e-9`` so that BLAS
    summing the two in different orders cannot put it above); the delta
    bounds then cover those rows only.  Lower in exact arithmetic always, and
    as computed wherever the whole batch's budgets are finite and their
    rescaled squares do not underflow; where a row left out overflows (a
    budget of NaN, |x| near 1e308) or spans ~1e150 against the others, the
    whole batch's computed bound falls below its own true value, a false
    alarm that the rows' bound does not repeat.
    """
    # Underflow: an operation whose result falls below the smallest normal
    # number loses up to ``tiny`` absolutely (all of it where subnormals are
    # flushed to zero, as XLA does on CPU); that enters every budget like a
    # rounding and is carried through the weights like one.
    # (copy=False: nothing below writes into its inputs.)
    p = [(W.astype(np.float64, copy=False), None if b is None else b.astype(np.float64, copy=False))
         for W, b in params]
    n_batch = x.shape[0]
    if rows is not None:
        x, y = x[rows], y[rows]
    x, y = x.astype(np.float64, copy=False), y.astype(np.float64, copy=False)
    u, tiny = _unit_roundoff(dtype), float(np.finfo(dtype).tiny)
    # Overflow and inf·0 in a saturated formula only make a budget inf or nan,
    # which fails the comparison rather than passing it.
    with np.errstate(under="ignore", over="ignore", invalid="ignore", divide="ignore"):
        try:
            # Rounding, by the chosen model; and underflow apart, always in the
            # worst case: a flush to zero (XLA on CPU) always shrinks the
            # magnitude, so those errors do not average out the way roundings do.
            rounding = _budgets(spec, p, x, y, _Rounding(u, 0.0, model == "probable"), safety, n_batch)
            # The underflow pass only matters where values come near tiny;
            # skipped when every nonzero |a_l| and |δ_l| is far above it.
            values = [np.abs(v) for v in (*rounding[2], *rounding[3])]
            smallest = min((float(v[v > 0].min()) for v in values if (v > 0).any()), default=np.inf)
            if smallest > 1e20 * tiny:
                underflow = ([(0.0, None if Eb is None else 0.0) for _, Eb in rounding[0]], [0.0] * len(rounding[1]))
            else:
                underflow = _budgets(spec, p, x, y, _Rounding(0.0, tiny, False), safety, n_batch)[:2]
        except (NotImplementedError, TypeError):  # no rule, or a formula that takes no complex input
            return None
    scale = safety if rows is None else safety * (1 - 1e-9)

    def scaled(r, f):  # scale · (r + f), in place: r is an array of _budgets' own; f 0.0 where that pass was skipped
        if np.ndim(f):
            r += f
        r *= scale
        return r

    grads = [tuple(None if r is None else scaled(r, f) for r, f in zip(pr, pf))
             for pr, pf in zip(rounding[0], underflow[0])]
    return grads, [scaled(r, f) for r, f in zip(rounding[1], underflow[1])]


def _budgets(spec, p, x, y, R: _Rounding, K, n_batch=None):
    """Unscaled ``(grad budgets, delta budgets, a_l values, δ_l values)`` under rounding model ``R`` (float64).

    ``n_batch``: the whole batch's size when ``x``, ``y`` are some of its rows
    (default ``len(x)``).  Every budget up to δ is row by row, so those rows'
    budgets are the whole batch's; the gradient budgets then sum over those
    rows only, with the whole batch's scale (mean), γ and floors, which makes
    them lower bounds on the whole batch's (their terms are all >= 0).
    """
    u, t = R.u, R.t
    n_batch = n_batch or x.shape[0]
    layers = _forward_budget(spec, p, x, R)
    d, Ed = _output_budget(spec, layers[-1], y, n_batch, R, K)
    L = spec.n_layers
    ds, Eds = [None] * L, [None] * L
    ds[-1], Eds[-1] = d, Ed
    for l in range(L - 1, 0, -1):
        W = p[l][0]
        absW = np.abs(W)
        g = ds[l] @ W.T
        Eg = R.add(R.through(Eds[l], absW.T), R.gamma(W.shape[1]) * (np.abs(ds[l]) @ absW.T)) + W.shape[1] * t
        act = spec.activations[l - 1]
        lay = layers[l - 1]
        Eds[l - 1] = _vjp_budget(act, lay, g, Eg, R, K)
        if act.name == "softmax":
            s = (g * lay.a).sum(axis=1, keepdims=True)
            ds[l - 1] = lay.a * (g - s)
        else:
            ds[l - 1] = g * _slope(act, lay)
    grads = []
    for l in range(L):
        a_prev = x if l == 0 else layers[l - 1].a
        Ea_prev = np.zeros_like(x) if l == 0 else layers[l - 1].Ea
        A, D = np.abs(a_prev), np.abs(ds[l])
        AD = A.T @ D
        EW = _dw_in_quadrature(R, A, D, Ea_prev, Eds[l], AD, R.gamma(n_batch + 1)) if R.probable and not t else None
        if EW is None:
            EW = R.add(R.through(Ea_prev.T, D, n_batch), R.through(A.T, Eds[l], n_batch),
                       R.gamma(n_batch + 1) * AD) + n_batch * t
        if spec.l2:
            decay = 2 * spec.l2 * np.abs(p[l][0])
            EW = R.add(EW, 2 * u * decay, u * (AD + decay))
        Eb = None if p[l][1] is None else R.add(R.sum(Eds[l], axis=0, n=n_batch),
                                                R.gamma(n_batch + 1) * D.sum(axis=0)) + n_batch * t
        grads.append((EW, Eb))
    return grads, Eds, [lay.a for lay in layers], ds


def _dw_in_quadrature(R: _Rounding, A, D, Ea_prev, Ed, AD, gamma):
    """``R.add(R.through(Ea_prevᵀ, D), R.through(Aᵀ, Ed), γ·AD)`` for the probable model without
    underflow budget: ``sqrt(Ea_prev²ᵀ D² + A²ᵀ Ed² + (γ·AD)²)`` summed in one weight-shaped array;
    or None where a square could leave float64's safe range (then the general path, which scales).

    The same number; the general path's per-term square roots, rescalings and squarings again
    cost a dozen passes over a weight-shaped array, and fresh memory for each.
    """
    lo, hi = np.sqrt(_SQUARES_LO), np.sqrt(_SQUARES_HI)
    k = A.shape[0]  # the length of every sum

    def span(v):  # smallest nonzero and largest entry of v >= 0
        return _smallest_nonzero(v), float(v.max(initial=0.0))

    terms = [(E, M) for E, M in ((Ea_prev, D), (A, Ed)) if E.any()]
    for E, M in terms:
        (e0, e1), (m0, m1) = span(E), span(M)
        # E², M², every product of squares and a sum of k of them in range (no underflow to 0, no inf)
        if not (e0 >= lo and m0 >= lo and e1 < hi and m1 < hi and e0 * m0 >= lo and e1 * m1 * k < hi):
            return None
    a0, a1 = span(AD)
    if not (a0 * gamma >= lo and a1 * gamma < hi):
        return None
    out = np.multiply(AD, gamma)
    np.square(out, out=out)
    for E, M in terms:
        out += np.square(E).T @ np.square(M)
    return np.sqrt(out, out=out)


def forward_mode_floor(bound, reference, dtype, *, ulps: float = 64.0):
    """``bound`` raised, leaf by leaf, to ``ulps`` units of roundoff of the leaf's largest ``|reference|``.

    For comparing with a *forward-mode* exact method (the complex step):
    its sums run over paths through the network, not over the backward sums
    the bound follows, so where those cancel differently an entry far below
    its leaf's largest keeps an error of the leaf's rounding (measured: the
    complex step returns 0 for a -2.7e-33 entry of a leaf of size ~1).  The
    floor needed beyond the bound, over the 300 _calibrate nets (mixed and
    harsh, both dtypes): at most 25 ulps of the leaf's largest entry
    (float32, GELU layers, N(0, 2²) weights); 64 leaves a 2.5x margin and
    is still 3.8e-6 of the leaf in float32, against the table's 1e-4 + 2e-4.
    """
    u = _unit_roundoff(dtype)
    out = []
    for B, R in zip(bound, reference):
        if isinstance(B, (list, tuple)):
            out.append(type(B)(None if b is None else np.maximum(b, ulps * u * float(np.abs(r).max(initial=0)))
                               for b, r in zip(B, R)))
        else:
            out.append(np.maximum(B, ulps * u * float(np.abs(R).max(initial=0))))
    return out


def gradient_bound(net, params, x, y, *, safety: float = BOUND_SAFETY, model: str = "probable"):
    """The gradient part of :func:`derivative_bounds`: a list of ``(B_W, B_b or None)`` (or None)."""
    out = derivative_bounds(net, params, x, y, safety=safety, model=model)
    return None if out is None else out[0]


def _bound_check(actual, expected, bound):
    """``(ok, message, rows)``: every entry ``|a - e| <= bound``; ``rows`` ``(path, max ratio)`` per leaf."""
    la, le, lb = _leaves(actual), _leaves(expected), _leaves(bound)
    if [p for p, _ in la] != [p for p, _ in le] or [p for p, _ in la] != [p for p, _ in lb]:
        return False, f"tree structures differ: {[p for p, _ in la]} vs {[p for p, _ in le]}", []
    rows = []
    for (path, a), (_, e), (_, b) in zip(la, le, lb):
        if a is None or e is None:
            if (a is None) != (e is None):
                return False, f"{path}: one side is None, the other is not", rows
            continue
        a, e = _real_leaf(a, "actual" + path), _real_leaf(e, "expected" + path)
        if a.shape != e.shape:
            return False, f"{path}: shapes differ, {a.shape} vs {e.shape}", rows
        if a.size == 0:
            continue
        with np.errstate(invalid="ignore", over="ignore"):
            diff = np.abs(a.astype(np.float64) - e.astype(np.float64))
        if not np.isfinite(diff).all():
            return False, f"{path}: contains nan or inf", rows
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(diff > 0, diff / np.asarray(b, np.float64), 0.0)
        k = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
        rows.append((path, float(ratio[k])))
        if not ratio[k] <= 1:
            return False, (f"{path}{list(k)}: |actual - expected| = {diff[k]:.3e} > rounding bound "
                           f"{float(np.asarray(b)[k]):.3e} ({float(ratio[k]):.3g} times; actual {float(a[k]):.9g}, "
                           f"expected {float(e[k]):.9g})"), rows
    return True, "", rows


def within_bound(actual, expected, bound) -> bool:
    """Whether ``|actual - expected| <= bound`` entry by entry in every leaf (trees as for :func:`allclose_tree`)."""
    return _bound_check(actual, expected, bound)[0]


def assert_within_bound(actual, expected, bound, *, context: str = "") -> None:
    """Like :func:`within_bound` but raises AssertionError naming the first failing entry."""
    ok, message, _ = _bound_check(actual, expected, bound)
    if not ok:
        raise AssertionError(f"{context}: {message}" if context else message)
