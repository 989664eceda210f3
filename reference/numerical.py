"""Numerical derivatives of the reference loss, independent of any autodiff.

All oracles evaluate :func:`reference.model.loss_xp` under NumPy, for many
perturbed parameter sets at once: the parameters are flattened into a vector
``θ`` of length ``n_params``, the perturbed vectors are stacked as rows of an
``(n_sets, n_params)`` matrix, unflattened into ``W`` of shape
``(n_sets, n_in, n_out)`` and ``b`` of shape ``(n_sets, n_out)``, and one
broadcast forward pass gives all ``n_sets`` losses.  Computation is in the
params' dtype (complex64/complex128 for the complex step), so the step sizes
below are per dtype.

Kinks: relu and leaky_relu are not differentiable at 0, and ``z = 0`` exactly
is common, not rare: below a dead relu (all its units negative for a sample)
the next layer sees ``a = 0`` and, with zero biases, ``z = 0``.  A central
difference whose two evaluations put some relu/leaky unit on different
sides of 0 measures a mixture of the two slopes (a bias feeding ``z = 0``
gets 0.5 instead of relu'(0) = 0), so the central-difference oracles compare
every perturbed pass's pattern of ``z > 0`` with the unperturbed one and
raise :class:`KinkCrossingError` if any differs.  (:func:`kink_distance`, the
smallest ``|z|`` at a kink, is a cheap screen, but no fixed threshold on it is
reliable: with ``|W| ~ 5`` a float32 step moves ``z`` by ~0.1.)

The per-parameter complex step needs no such check: it takes the branch
chosen by ``Re z`` at the point itself, and with one parameter perturbed
every matmul has at most one complex factor, so ``Re z`` is the real forward
value up to relative O(h²) and an exact zero stays exactly zero.  It follows
the ``f'(0)`` convention and is exact for these piecewise-linear functions.
"""
from __future__ import annotations

import numpy as np

# Seeds are parsed as manual_bp parses them (only the random directions depend on it).
from manual_bp._validate import make_rng

from ._spec import Spec, _real, check_all, check_params, check_x, spec_of
from .model import forward_xp, loss_of_forward, loss_xp

__all__ = [
    "CENTRAL_STEP",
    "COMPLEX_STEP",
    "KinkCrossingError",
    "central_difference_gradients",
    "complex_step_gradients",
    "directional_derivatives",
    "kink_distance",
    "project_gradients",
]

# Central difference, relative step h = CENTRAL_STEP · max(1, |θ|): truncation
# error ~ h²·|f'''| and rounding error ~ eps·|f|/h balance at h ~ eps^(1/3),
# giving errors ~ eps^(2/3) (≈ 4e-11 in float64, ≈ 2e-5 in float32) relative
# to the loss scale.  Scaling by max(1, |θ|) keeps h resolvable next to large θ.
CENTRAL_STEP = {
    np.dtype(np.float64): float(np.cbrt(np.finfo(np.float64).eps)),  # ≈ 6.1e-6
    np.dtype(np.float32): float(np.cbrt(np.finfo(np.float32).eps)),  # ≈ 4.9e-3
}
# Complex step Im f(θ + ih)/h has no subtraction, so no cancellation: h can be
# tiny, making the O(h²) truncation error vanish below eps.  It must stay large
# enough that h·f' (the imaginary parts carried through the forward pass) does
# not underflow: 1e-20 ≫ 2e-308 for complex128; for complex64 (tiny ≈ 1.2e-38)
# 1e-10 leaves 28 decades of headroom while h² = 1e-20 ≪ eps32.
COMPLEX_STEP = {
    np.dtype(np.float64): 1e-20,
    np.dtype(np.float32): 1e-10,
}
_COMPLEX = {np.dtype(np.float64): np.complex128, np.dtype(np.float32): np.complex64}
# Perturbed parameter sets evaluated per broadcast forward pass: bounds the
# (n_sets, n_params) matrix and the (n_sets, n_batch, width) activations.
_MAX_ELEMENTS_PER_CHUNK = 1 << 22
#: The same for directions, smaller: what one forward pass of a big net holds beside its perturbed
#: copy is several activation arrays (at 784-512-512-10 batch 256, one direction at a time instead
#: of two: a peak 20 MB lower by tracemalloc, the same time within the noise).
_MAX_DIRECTION_ELEMENTS = 1 << 20


class KinkCrossingError(ValueError):
    """A central difference straddled a relu/leaky_relu kink, so it is not a derivative."""


# ---------------------------------------------------------------------------
# Flattening and batched evaluation
# ---------------------------------------------------------------------------

def _flatten(params) -> np.ndarray:
    """All parameters as one vector ``θ`` of shape ``(n_params,)``: W_1, b_1, W_2, ..."""
    parts = []
    for W, b in params:
        parts.append(W.ravel())
        if b is not None:
            parts.append(b.ravel())
    return np.concatenate(parts)


def _unflatten(spec: Spec, theta: np.ndarray) -> list:
    """Inverse of :func:`_flatten` for ``theta`` of shape ``(..., n_params)``.

    Returns ``[(W (..., n_in, n_out), b (..., n_out) or None), ...]`` (views).
    """
    lead, out, i = theta.shape[:-1], [], 0
    for l, (n_in, n_out) in enumerate(zip(spec.sizes[:-1], spec.sizes[1:])):
        W = theta[..., i : i + n_in * n_out].reshape(lead + (n_in, n_out))
        i += n_in * n_out
        b = None
        if spec.bias[l]:
            b = theta[..., i : i + n_out]
            i += n_out
        out.append((W, b))
    assert i == theta.shape[-1]
    return out


def _param_name(spec: Spec, j: int) -> str:
    """``params[l][0][r, c]`` or ``params[l][1][c]`` for flat index ``j``."""
    for l, (n_in, n_out) in enumerate(zip(spec.sizes[:-1], spec.sizes[1:])):
        if j < n_in * n_out:
            return f"params[{l}][0][{j // n_out}, {j % n_out}]"
        j -= n_in * n_out
        if spec.bias[l]:
            if j < n_out:
                return f"params[{l}][1][{j}]"
            j -= n_out
    raise IndexError(j)


def _kinked(spec: Spec) -> bool:
    """Whether some layer's activation has kinks (points where f' jumps)."""
    return any(act.kinks for act in spec.activations)


def _kink_pattern(spec: Spec, params, x) -> np.ndarray:
    """``z > k`` for every kink ``k`` of every kinked unit and sample: ``(..., n_sides)`` bool.

    A diagnostic beside the definition (not part of it): the same forward
    pass, recording which side of each kink the pre-activations fall on.
    """
    return _pattern_of(spec, forward_xp(np, spec, params, x)[0])


def _pattern_of(spec: Spec, zs) -> np.ndarray:
    """:func:`_kink_pattern` from a forward pass's ``zs``."""
    sides = [(np.real(z) > k).reshape(z.shape[:-2] + (-1,)) for z, act in zip(zs, spec.activations)
             for k in act.kinks]
    return np.concatenate(sides, axis=-1)


def _loss_and_crossed(spec: Spec, params, x, y, base_pattern=None):
    """``L`` for the parameter sets in ``params`` (leading axes) and, given ``base_pattern``, whether
    each set put some kinked unit on the other side of its kink -- from one forward pass."""
    zs, as_ = forward_xp(np, spec, params, x)
    L = loss_of_forward(np, spec, params, zs[-1], as_[-1], y)
    if base_pattern is None:
        return L, None
    return L, (_pattern_of(spec, zs) != base_pattern).any(axis=-1)


def _losses(spec: Spec, thetas: np.ndarray, x, y, base_pattern=None):
    """``L`` for each row of ``thetas`` ``(n_sets, n_params)``: shape ``(n_sets,)``.

    With ``base_pattern`` (from :func:`_kink_pattern` at the unperturbed θ),
    also returns ``(n_sets,)`` bool: whether that row put some relu/leaky
    unit on the other side of its kink.
    """
    n_sets, n_params = thetas.shape
    width = max(spec.sizes) * x.shape[0]
    chunk = max(1, _MAX_ELEMENTS_PER_CHUNK // max(n_params, width))
    losses, crossed = [], []
    for s in range(0, n_sets, chunk):
        L, c = _loss_and_crossed(spec, _unflatten(spec, thetas[s : s + chunk]), x, y, base_pattern)
        losses.append(L)
        crossed.append(c)
    if base_pattern is None:
        return np.concatenate(losses)
    return np.concatenate(losses), np.concatenate(crossed)


def _central_losses(spec: Spec, params, z1, V, h: float, x, y, base_pattern=None):
    """``L(θ + h v_k)`` then ``L(θ − h v_k)`` for the rows ``v_k`` of ``V`` ``(K, n_params)``: ``(2K,)``
    (and, given ``base_pattern``, ``(2K,)`` kink crossings, as :func:`_losses`).

    ``z1 = x W_1 (+ b_1)`` at θ, formed once by the caller: the first layer goes by linearity,
    ``x(W_1 ± hV_1) + b_1 ± hc_1 = z_1 ± h(xV_1 + c_1)``, so its product with ``x`` (the biggest of a
    wide-input net) is not repeated for every set, and the step enters ``z_1`` without ``W_1``'s
    rounding.  Mathematically the loss at ``θ ± hv``; the layers above are the model's own
    :func:`~reference.model.forward_xp` on the perturbed parameters.
    """
    K = V.shape[0]
    dirs = _unflatten(spec, V)
    VW1, Vb1 = dirs[0]
    step = x @ VW1                                  # (K, n_batch, n_1)
    if Vb1 is not None:
        step += Vb1[:, None, :]
    step *= h
    z1s = np.empty((2 * K, *z1.shape), z1.dtype)    # (2K, n_batch, n_1)
    np.add(z1, step, out=z1s[:K])
    np.subtract(z1, step, out=z1s[K:])
    a1 = spec.activations[0].formula(np, z1s)
    zs, a_out, sets = [z1s], a1, []
    if spec.n_layers > 1:
        # Layers 2...: W_l ± hV_l (and b_l ± hc_l) for every set, then the model's forward pass.
        rest = spec._replace(sizes=spec.sizes[1:], activations=spec.activations[1:], bias=spec.bias[1:])
        for (W, b), (VW, Vb) in zip(params[1:], dirs[1:]):
            pair = []
            for p, v in ((W, VW), (b, Vb)):
                if p is None:
                    pair.append(None)
                    continue
                out = np.empty((2 * K, *p.shape), p.dtype)
                np.multiply(v, h, out=out[:K])
                np.subtract(p, out[:K], out=out[K:])    # θ − hv
                out[:K] += p                             # θ + hv
                pair.append(out)
            sets.append(tuple(pair))
        more, as_ = forward_xp(np, rest, sets, a1)
        zs += more
        a_out = as_[-1]
    L = loss_of_forward(np, spec._replace(l2=0.0), [], zs[-1], a_out, y)
    if spec.l2:
        # ‖W_l ± hV_l‖², the first layer's formed here (it has no perturbed copy).
        W1 = params[0][0]
        W1s = np.concatenate([W1 + h * VW1, W1 - h * VW1])
        L = L + spec.l2 * (np.sum(W1s * W1s, axis=(-2, -1)) + sum(np.sum(W * W, axis=(-2, -1)) for W, _ in sets))
    if base_pattern is None:
        return L
    return L, (_pattern_of(spec, zs) != base_pattern).any(axis=-1)


def _base_pattern(spec: Spec, params, x, check_kinks: bool):
    """:func:`_kink_pattern` at the unperturbed ``params``, or None where no crossing is to be checked."""
    if not check_kinks or not _kinked(spec):
        return None
    return _kink_pattern(spec, params, x)


def _as_tree(spec: Spec, flat: np.ndarray) -> list:
    return [(W.copy(), None if b is None else b.copy()) for W, b in _unflatten(spec, flat)]


# ---------------------------------------------------------------------------
# Oracles
# ---------------------------------------------------------------------------

def central_difference_gradients(net, params, x, y, *, check_kinks: bool = True) -> list:
    """``∂L/∂θ_j ≈ (L(θ + h_j e_j) - L(θ - h_j e_j)) / (2 h_j)`` for every parameter.

    ``h_j = CENTRAL_STEP[dtype] · max(1, |θ_j|)``.  Costs ``2 · n_params``
    forward passes (vectorised), so it is meant for small nets.  Arguments as
    for :func:`reference.loss`; returns a list of ``(dW (n_in, n_out), db
    (n_out,) or None)`` in the params' dtype.

    Raises :class:`KinkCrossingError` (a ValueError) naming the parameter if
    some ``θ_j ± h_j`` moves a relu/leaky_relu pre-activation across 0 (the
    quotient would then mix two slopes); ``check_kinks=False`` skips the check.
    """
    return _central_difference(*check_all(net, params, x, y), check_kinks=check_kinks)


def _central_difference(spec: Spec, params, x, y, dtype, *, check_kinks: bool = True) -> list:
    """:func:`central_difference_gradients` on what :func:`check_all` returned (no re-validation)."""
    theta = _flatten(params)
    h = CENTRAL_STEP[dtype] * np.maximum(1, np.abs(theta))
    plus, minus = theta + h, theta - h
    # Divide by the step actually taken: θ ± h is rounded, and (θ+h) - (θ-h)
    # is exact, so rounding of the step does not enter the quotient.
    step = plus - minus
    base = _base_pattern(spec, params, x, check_kinks)
    n_params = theta.size
    grad = np.empty(n_params, dtype)
    chunk = max(1, _MAX_ELEMENTS_PER_CHUNK // (2 * n_params))
    for s in range(0, n_params, chunk):
        j = np.arange(s, min(s + chunk, n_params))
        k = np.arange(j.size)
        rows = np.repeat(theta[None, :], 2 * j.size, axis=0)
        rows[k, j] = plus[j]
        rows[j.size + k, j] = minus[j]
        if base is None:
            L = _losses(spec, rows, x, y)
        else:
            L, crossed = _losses(spec, rows, x, y, base)
            if crossed.any():
                bad = int(j[np.flatnonzero(crossed[: j.size] | crossed[j.size :])[0]])
                raise KinkCrossingError(
                    f"perturbing {_param_name(spec, bad)} by ±{h[bad]:.2g} moves a relu/leaky_relu "
                    "pre-activation across 0, so its central difference mixes two slopes; "
                    "use complex_step_gradients, or check_kinks=False to get it anyway"
                )
        grad[j] = (L[: j.size] - L[j.size :]) / step[j]
    return _as_tree(spec, grad)


def complex_step_gradients(net, params, x, y) -> list:
    """``∂L/∂θ_j = Im L(θ + i h e_j) / h`` for every parameter, in complex arithmetic.

    Accurate to rounding (no subtractive cancellation) for the smooth
    activations and exact for relu/leaky_relu, following the ``relu'(0) = 0``,
    ``leaky_relu'(0) = slope`` convention at ``z = 0`` (see the module notes).
    Costs ``n_params`` complex forward passes.  Arguments and result as for
    :func:`central_difference_gradients`.
    """
    return _complex_step(*check_all(net, params, x, y))


def _complex_step(spec: Spec, params, x, y, dtype) -> list:
    """:func:`complex_step_gradients` on what :func:`check_all` returned (no re-validation)."""
    theta = _flatten(params).astype(_COMPLEX[dtype])
    h = COMPLEX_STEP[dtype]
    n_params = theta.size
    grad = np.empty(n_params, dtype)
    chunk = max(1, _MAX_ELEMENTS_PER_CHUNK // n_params)
    for s in range(0, n_params, chunk):
        j = np.arange(s, min(s + chunk, n_params))
        rows = np.repeat(theta[None, :], j.size, axis=0)
        rows[np.arange(j.size), j] += 1j * h
        grad[j] = _losses(spec, rows, x, y).imag / h
    return _as_tree(spec, grad)


# Directions already drawn, by (int seed, K, n_params, dtype): drawing 2 x 670,000
# Gaussians costs ~13 ms, a tenth of a whole check of a 784-512-512-10 net,
# and a test suite or training loop checks one architecture with one seed
# again and again.  Read-only arrays, least recently used evicted first; small
# enough in total that big nets (which pay seconds in forward passes anyway)
# are simply drawn afresh.
_DIRECTIONS: dict = {}
_DIRECTIONS_MAX_BYTES = 64 << 20


def _unit_directions(seed, K: int, n_params: int, dtype) -> np.ndarray:
    """``(K, n_params)`` Gaussian rows normalised to unit length, in ``dtype``.

    The same values for the same int ``seed`` whether drawn or remembered; a
    Generator is drawn from every time (its state advances, as its owner expects).
    """
    key = None
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, (bool, np.bool_)) and seed >= 0:
        key = (int(seed), K, n_params, np.dtype(dtype))
        V = _DIRECTIONS.pop(key, None)
        if V is not None:
            _DIRECTIONS[key] = V  # most recently used last
            return V
    V = make_rng(seed).standard_normal((K, n_params))
    for v in V:  # unit rows, one row squared at a time (all of V squared at once is GBs for big nets)
        v /= np.sqrt(np.add.reduce(v * v))
    V = V.astype(dtype, copy=False)
    if key is not None and V.nbytes <= _DIRECTIONS_MAX_BYTES:
        V.flags.writeable = False
        while _DIRECTIONS and sum(v.nbytes for v in _DIRECTIONS.values()) + V.nbytes > _DIRECTIONS_MAX_BYTES:
            del _DIRECTIONS[next(iter(_DIRECTIONS))]
        _DIRECTIONS[key] = V
    return V


def directional_derivatives(net, params, x, y, *, n_directions: int = 8, seed=0,
                            method: str = "central", check_kinks: bool = True, _checked=None, _copy=True):
    """Derivatives of ``L`` along random unit directions: ``(derivs, directions)``.

    The cost is ``2 · n_directions`` (central) or ``n_directions`` (complex)
    forward passes whatever the parameter count, so it scales to big nets.

    Parameters
    ----------
    n_directions : int
        ``K``, how many directions.
    seed : int or numpy.random.Generator
        Source of the directions: Gaussian, normalised to unit length over all
        parameters together.
    method : {"central", "complex"}
        ``(L(θ + hv) - L(θ - hv)) / 2h`` with ``h = CENTRAL_STEP · max(1, max|θ|)``,
        or ``Im L(θ + ihv) / h``.  ``"complex"`` raises ValueError for nets
        with relu/leaky_relu: perturbing all parameters at once puts
        ``-Im(a)·Im(W) ~ h²`` cross terms into ``Re z``, so an exactly-zero
        pre-activation (common below a dead relu when biases are 0) lands on
        a random side of the kink.  The per-parameter
        :func:`complex_step_gradients` has no such cross terms.
    check_kinks : bool
        For ``"central"``: raise :class:`KinkCrossingError` if ``θ ± hv``
        moves a relu/leaky_relu pre-activation across 0.

    Returns
    -------
    derivs : ``(K,)`` array, ``derivs[k] ≈ ∇L · v_k``
    directions : list of ``(VW (K, n_in, n_out), Vb (K, n_out) or None)``
        The ``v_k`` in the params' structure with a leading ``K`` axis; compare
        ``derivs`` with ``project_gradients(grads, directions)``.
    """
    # _checked: what check_all returned, from a caller that has validated these inputs already.
    spec, params, x, y, dtype = _checked if _checked is not None else check_all(net, params, x, y)
    if isinstance(n_directions, bool) or not isinstance(n_directions, (int, np.integer)):
        raise TypeError(f"n_directions must be an int, got {n_directions!r}")
    if n_directions < 1:
        raise ValueError(f"n_directions must be >= 1, got {n_directions}")
    if method not in ("central", "complex"):
        raise ValueError(f"method must be 'central' or 'complex', got {method!r}")
    kinked = [act.name for act in spec.activations if act.kinks]
    if method == "complex" and kinked:
        raise ValueError(
            f"method='complex' needs smooth activations, but net has {kinked[0]}: at an exactly "
            "zero pre-activation the h² cross terms of a multi-parameter complex step pick the "
            "kink's branch at random; use method='central' or complex_step_gradients"
        )
    K = int(n_directions)
    n_params = sum(W.size + (0 if b is None else b.size) for W, b in params)
    V = _unit_directions(seed, K, n_params, dtype)
    # Perturbed parameter sets are built a few directions at a time: all 2K at
    # once would hold 2K copies of θ (GBs for 10M params) and of every layer's
    # activations, and a smaller peak is fewer fresh pages to fault in.
    chunk = max(1, _MAX_DIRECTION_ELEMENTS // (2 * max(n_params, max(spec.sizes) * x.shape[0])))
    derivs = np.empty(K)
    if method == "central":
        # One h for the whole direction; max|θ| is the scale that rounding of θ + hv sees.
        h = CENTRAL_STEP[dtype] * max(1.0, *(float(np.abs(v).max(initial=0)) for pair in params for v in pair
                                             if v is not None))
        base = _base_pattern(spec, params, x, check_kinks)
        W1, b1 = params[0]
        z1 = x @ W1 if b1 is None else x @ W1 + b1
        for k0 in range(0, K, chunk):
            n = min(chunk, K - k0)
            if base is None:
                L = _central_losses(spec, params, z1, V[k0 : k0 + n], h, x, y)
            else:
                L, crossed = _central_losses(spec, params, z1, V[k0 : k0 + n], h, x, y, base)
                if crossed.any():
                    k = k0 + int(np.flatnonzero(crossed[:n] | crossed[n:])[0])
                    raise KinkCrossingError(
                        f"stepping ±{h:.2g} along direction {k} moves a relu/leaky_relu pre-activation "
                        "across 0, so the central difference mixes two slopes; use "
                        "complex_step_gradients, or check_kinks=False to get it anyway"
                    )
            derivs[k0 : k0 + n] = (L[:n] - L[n:]) / (2 * h)
    else:
        h = COMPLEX_STEP[dtype]
        theta_c = _flatten(params).astype(_COMPLEX[dtype])
        for k0 in range(0, K, chunk):
            rows = theta_c + 1j * h * V[k0 : k0 + chunk]
            derivs[k0 : k0 + len(rows)] = _losses(spec, rows, x, y).imag / h
    # _copy=False (compare, which only projects onto them): read-only views of the directions.
    return derivs.astype(dtype), _as_tree(spec, V) if _copy else _unflatten(spec, V)


def project_gradients(grads, directions) -> np.ndarray:
    """``∇L · v_k`` for each direction: shape ``(K,)``.

    ``grads`` is a list of ``(dW (n_in, n_out), db (n_out,) or None)``;
    ``directions`` is what :func:`directional_derivatives` returns.
    """
    grads, directions = _pairs(grads, "grads"), _pairs(directions, "directions")
    if len(grads) != len(directions):
        raise ValueError(f"grads has {len(grads)} layers but directions has {len(directions)}")
    total = 0.0
    for l, ((dW, db), (VW, Vb)) in enumerate(zip(grads, directions)):
        dW, VW = _finite(dW, f"grads[{l}][0]"), _finite(VW, f"directions[{l}][0]")
        if VW.ndim != 3 or dW.shape != VW.shape[1:]:
            raise ValueError(f"grads[{l}][0] has shape {dW.shape}, directions[{l}][0] {VW.shape}: "
                             "need (n_in, n_out) and (K, n_in, n_out)")
        total = total + np.einsum("kij,ij->k", VW, dW)
        if (db is None) != (Vb is None):
            raise ValueError(f"grads[{l}][1] is {'None' if db is None else 'an array'} "
                             f"but the direction's bias is {'None' if Vb is None else 'an array'}")
        if db is not None:
            db, Vb = _finite(db, f"grads[{l}][1]"), _finite(Vb, f"directions[{l}][1]")
            if Vb.shape != VW.shape[:1] + db.shape or db.ndim != 1:
                raise ValueError(f"grads[{l}][1] has shape {db.shape}, directions[{l}][1] {Vb.shape}: "
                                 "need (n_out,) and (K, n_out)")
            total = total + Vb @ db
    return np.asarray(total)


def _pairs(tree, what: str) -> list:
    if isinstance(tree, (str, bytes, np.ndarray)) or not hasattr(tree, "__len__"):
        raise TypeError(f"{what} must be a list of (W, b) pairs, got {type(tree).__name__}")
    for l, pair in enumerate(tree):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"{what}[{l}] must be a pair (W-like, b-like or None), got {type(pair).__name__}")
    return list(tree)


def _finite(v, what: str) -> np.ndarray:
    a = _real(v, what)
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise ValueError(f"{what} contains NaN or infinite values")
    return a


def kink_distance(net, params, x) -> float:
    """Smallest ``|z − k|`` over all units, samples and kinks ``k`` of their activation
    (``act.kinks``: 0 for relu and leaky_relu); ``inf`` if no activation has a kink.

    A cheap screen for "is this net near a kink"; ``x`` is ``(n_batch,
    sizes[0])``.  How far a central-difference step moves ``z`` depends on the
    weights and the dtype, so the central-difference oracles check for actual
    crossings themselves (:class:`KinkCrossingError`).
    """
    spec = spec_of(net)
    params, dtype = check_params(spec, params)
    a, best = check_x(spec, x, dtype), np.inf
    for (W, b), act in zip(params, spec.activations):
        z = a @ W if b is None else a @ W + b
        for k in act.kinks:
            best = min(best, float(np.abs(z - k).min()))
        a = act.formula(np, z)
    return best
