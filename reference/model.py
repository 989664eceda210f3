"""The reference network: forward pass and loss from the spec, differentiated by JAX.

The forward pass is written once, in :func:`loss_xp`, against an array module
``xp`` (``jax.numpy`` or ``numpy``).  Under ``jax.numpy`` it is what
:func:`loss`, :func:`gradients` and :func:`deltas` differentiate with
``jax.value_and_grad`` (jitted once per architecture); under ``numpy`` it is what the numerical oracles in
:mod:`reference.numerical` perturb, many parameter sets at once (every array
may carry extra leading axes) and in complex arithmetic for the complex step.
Nothing here knows how backpropagation is done by hand: the activations and
the loss enter only through their formulas (``act.formula(xp, z)``,
``loss.formula(xp, z, a, y)``), never their hand derivatives.

Precision: float64 needs JAX's x64 mode.  Rather than flipping the caller's
global ``jax_enable_x64`` flag, every JAX call runs inside the scoped
``jax.enable_x64(...)`` context manager (JAX >= 0.8; the old
``jax.experimental.enable_x64`` is gone in 0.10), set to True for float64
params and False for float32 ones, so float32 work cannot silently widen.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ._spec import Spec, check_all

__all__ = ["deltas", "forward", "forward_xp", "gradients", "input_gradient", "loss", "loss_xp"]


# ---------------------------------------------------------------------------
# The definition, generic over the array module
# ---------------------------------------------------------------------------
# Each layer's activation and the loss are the registered objects' formulas
# (manual_bp.activations / manual_bp.losses): written once against ``xp``, so
# the same definition is differentiated here by jax.grad, perturbed by the
# numerical oracles under NumPy (in complex arithmetic for the complex step)
# and evaluated by manual_bp.  Their hand derivatives are never called here.

def forward_xp(xp, spec: Spec, params, x, e=None):
    """Every layer's ``z_l`` and ``a_l``, in array module ``xp``: ``(zs, as_)`` with ``as_[0] = x``.

    Shapes as for :func:`loss_xp`: ``zs[l-1]`` and ``as_[l]`` are ``(..., n_batch, sizes[l])``.
    """
    zs, as_ = [], [x]
    a = x
    for l, ((W, b), act) in enumerate(zip(params, spec.activations)):
        z = a @ W
        if b is not None:
            z = _plus(xp, z, b[..., None, :])
        if e is not None and e[l] is not None:
            z = _plus(xp, z, e[l])
        a = act.formula(xp, z)
        zs.append(z)
        as_.append(a)
    return zs, as_


def _plus(xp, z, v):
    """``z + v``; under NumPy into ``z`` itself where that is its shape and type (``z`` is a fresh
    product: a big net's perturbed forward passes then fault in fewer fresh pages)."""
    if xp is np and isinstance(z, np.ndarray) and np.result_type(z, v) == z.dtype \
            and np.broadcast_shapes(z.shape, np.shape(v)) == z.shape:
        z += v
        return z
    return z + v


def loss_xp(xp, spec: Spec, params, x, y, e=None):
    """Total loss ``L`` for one or many parameter sets, in array module ``xp``.

    Parameters
    ----------
    xp : ``numpy`` or ``jax.numpy``
    spec : :class:`reference._spec.Spec`
    params : list of ``(W, b or None)``
        ``W`` of shape ``(..., n_in, n_out)``, ``b`` of shape ``(..., n_out)``;
        any leading axes ``...`` index independent parameter sets.
    x : ``(n_batch, sizes[0])``
    y : ``(n_batch, sizes[-1])`` target rows (labels already one-hot)
    e : list of ``(..., n_batch, n_l)`` (or None entries) or None
        Added to each ``z_l``; differentiating at ``e = 0`` gives ``δ_l = ∂L/∂z_l``.

    Returns
    -------
    ``L`` of shape ``(...)``: ``(½ if half) · (1/N if mean) · Σ_n ℓ_n + l2 · Σ_l ‖W_l‖²``.
    """
    zs, as_ = forward_xp(xp, spec, params, x, e)
    return loss_of_forward(xp, spec, params, zs[-1], as_[-1], y)


def loss_of_forward(xp, spec: Spec, params, z, a, y):
    """:func:`loss_xp` from the output layer's ``z`` and ``a`` (``(..., n_batch, sizes[-1])``) of a forward pass."""
    n_batch = y.shape[0]
    scale = (0.5 if spec.half else 1.0) / (n_batch if spec.reduction == "mean" else 1)
    total = scale * xp.sum(spec.loss.formula(xp, z, a, y), axis=-1)
    if spec.l2:
        # Written as Σ W·W, not Σ |W|²: analytic, so the complex step sees it too.
        total = total + spec.l2 * sum(xp.sum(W * W, axis=(-2, -1)) for W, _ in params)
    return total


# ---------------------------------------------------------------------------
# Public JAX API
# ---------------------------------------------------------------------------

def _x64(dtype):
    return jax.enable_x64(bool(dtype == np.float64))


def _loss_of(spec: Spec, params, e, x, y):
    return loss_xp(jnp, spec, params, x, y, e)


# L and its jax.grad with respect to the params and to the zero perturbations
# e_l of each z_l (so ∂L/∂e_l = δ_l), compiled once per architecture: spec is
# static and the shapes/dtype key jit's cache.  Eager jax.grad would compile
# every primitive separately for every new shape, ~1 s per random
# architecture against ~0.2 s for one compilation here.  ∂L/∂x is not asked
# of it: z_1 = x W_1 + b_1 (+ e_1), so ∂L/∂x = δ_1 W_1ᵀ exactly, formed from
# jax.grad's δ_1 only when wanted (a check without an input gradient does not
# pay for that product, the size of a first-layer forward pass).
_value_and_grads = jax.jit(jax.value_and_grad(_loss_of, argnums=(1, 2)), static_argnums=0)


def _evaluate(net, params, x, y):
    """``(L, grads, deltas)`` as Python float and NumPy arrays of the params' dtype."""
    return _dispatch(*check_all(net, params, x, y))()


#: Architectures (:func:`_arch_key`) :func:`_dispatch` has compiled in this process.
COMPILED: set = set()


def _arch_key(spec: Spec, params, x, y, dtype) -> tuple:
    """What ``_value_and_grads``' jit cache is keyed on: the static spec, the shapes and the dtype."""
    return (spec, tuple((W.shape, None if b is None else b.shape) for W, b in params), x.shape, y.shape,
            np.dtype(dtype).name)


def _input_gradient(ds, params):
    """``∂L/∂x = δ_1 W_1ᵀ`` from jax.grad's ``δ_1`` (``z_1 = x W_1 + b_1``), ``(n_batch, sizes[0])``."""
    return ds[0] @ params[0][0].T


def _dispatch(spec, params, x, y, dtype, *, copy: bool = True):
    """Start the computation of ``(L, grads, deltas)`` and return a function that waits for it.

    JAX dispatches asynchronously: XLA computes on its own threads while the caller
    goes on (``compare`` computes the candidate and the rounding bound in NumPy meanwhile).
    ``copy=False``: read-only NumPy views of JAX's buffers instead of writable copies
    (``compare`` only reads them, and a big net's copy costs fresh memory every call).
    """
    COMPILED.add(_arch_key(spec, params, x, y, dtype))
    n_batch = x.shape[0]
    e0 = [np.zeros((n_batch, n), dtype) for n in spec.sizes[1:]]
    with _x64(dtype):
        value, (grads, ds) = _value_and_grads(spec, params, e0, x, y)

    def result():
        out = _to_numpy if copy else _view
        return (float(value),
                [(out(dW, dtype), None if db is None else out(db, dtype)) for dW, db in grads],
                [out(d, dtype) for d in ds])
    return result


def _view(v, dtype):
    out = np.asarray(v)
    assert out.dtype == dtype, (out.dtype, dtype)
    return out


def _to_numpy(v, dtype):
    out = np.array(v, dtype=dtype)  # a writable copy, not a view on a JAX buffer
    assert out.dtype == dtype, (out.dtype, dtype)
    return out


def loss(net, params, x, y) -> float:
    """The total loss ``L`` (a Python float) of ``net`` at ``params`` on ``(x, y)``.

    Parameters
    ----------
    net : manual_bp.Network
    params : list of ``(W, b or None)``, ``W`` ``(n_in, n_out)``, ``b`` ``(n_out,)``;
        all float32 or all float64 (the dtype of the computation).
    x : ``(n_batch, sizes[0])``
    y : ``(n_batch, sizes[-1])``, or integer class labels ``(n_batch,)`` for cross_entropy.
    """
    return _evaluate(net, params, x, y)[0]


def gradients(net, params, x, y) -> list:
    """``∂L/∂params`` by ``jax.grad``: a list of ``(dW, db or None)`` like ``params``.

    ``dW`` has shape ``(n_in, n_out)`` and ``db`` ``(n_out,)`` (None where the
    layer has no bias), as NumPy arrays of the params' dtype.  Arguments as
    for :func:`loss`.
    """
    return _evaluate(net, params, x, y)[1]


def deltas(net, params, x, y) -> list:
    """``δ_l = ∂L/∂z_l`` for every layer: a list of ``(n_batch, sizes[l+1])`` arrays.

    Obtained by ``jax.grad`` with respect to zero perturbations ``e_l`` added
    to each pre-activation (``z_l = a_{l-1} @ W_l + b_l + e_l``), so they
    include the loss scaling (½, 1/N).  Arguments as for :func:`loss`.
    """
    return _evaluate(net, params, x, y)[2]


def input_gradient(net, params, x, y):
    """``∂L/∂x`` by ``jax.grad``, shape ``(n_batch, sizes[0])``, in the params' dtype:
    ``δ_1 W_1ᵀ`` with jax.grad's ``δ_1`` (``z_1 = x W_1 + b_1``, so that is ∂L/∂x exactly).

    Arguments as for :func:`loss`.  (Integer inputs are differentiated as the
    float values they are converted to.)
    """
    checked = check_all(net, params, x, y)
    return _input_gradient(_dispatch(*checked)()[2], checked[1])


def forward(net, params, x):
    """``(zs, as_)`` of the reference model under NumPy: ``zs[l-1] = z_l`` and
    ``as_[l] = a_l`` of shape ``(n_batch, sizes[l])``, ``as_[0] = x`` (as the params' dtype)."""
    from ._spec import check_params, check_x, spec_of

    spec = spec_of(net)
    params, dtype = check_params(spec, params)
    x = check_x(spec, x, dtype)
    zs, as_ = forward_xp(np, spec, params, x)
    return [np.asarray(z, dtype) for z in zs], [np.asarray(a, dtype) for a in as_]
