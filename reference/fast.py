"""A fast path to the same JAX derivatives, for checking thousands of random nets.

Eager ``jax.grad`` compiles every primitive afresh for each new array shape
(~1 s per random architecture); the plain :func:`reference.gradients` jits
per architecture instead (~0.3 s).  Here every net is padded into a fixed
frame: widths to ``P``, the batch to ``B`` and the depth to ``D`` (powers of
two, at least 8), the layers run as one ``lax.scan``, and each layer's activation (an index into the registered activations,
picked by ``lax.switch``) and its numeric parameters (a leaky slope, an ELU
α), the loss (an index into the registered losses), the live output units,
the live samples, the loss scaling and the L2 coefficient passed as *data*.
One compiled function then serves every net with the same ``(dtype, P, B,
D)`` and the same registry: one compilation per dtype covers all nets of
depth, widths and batch up to 8, after which a call takes about a
millisecond.  Registering a new activation or loss adds a branch, so the
next call compiles once more.

Why the padding is exact:

* depth padding goes in front of the first layer: layers with ``W = I``,
  ``b = 0`` and ``z`` passed through reproduce ``x`` exactly (``x·1 + 0``);
* padded columns of ``W`` and entries of ``b`` are 0, so padded units have
  ``z = 0`` and padded rows of the next ``W`` are 0, so whatever ``f(0)`` is
  (finite for every activation here), it never reaches a live unit;
* at the output, a loss that is a sum over units (``loss.unitwise``) is
  evaluated unit by unit and the padded units are masked out; a softmax
  output sees its padded logits at a huge negative value, so they get
  probability exactly 0 and (with zero targets) add exactly 0 to a
  cross-entropy; padded samples (``x = 0`` rows) are masked out of the sum;
* gradients and deltas are sliced back to the live block; the ``db`` of a layer
  without bias (its ``b`` padded with zeros) is dropped.

Nets the frame cannot hold exactly -- a non-elementwise output other than
softmax, or a loss that is neither unitwise nor on a softmax output -- are
refused with ValueError; :func:`fast_supported` says which, and
``reference.compare`` then uses the plain definition.

This module is not the definition: :func:`reference.gradients` and
:func:`reference.deltas` are, and ``tests/test_reference_fast.py`` checks
that :func:`fast_derivatives` agrees with them.
"""
from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from manual_bp.activations import ACTIVATIONS, Softmax
from manual_bp.losses import LOSSES

from ._spec import check_all, spec_of

__all__ = ["Derivatives", "fast_derivatives", "fast_supported"]

_MIN_PAD = 8


class Derivatives(NamedTuple):
    """What :func:`fast_derivatives` returns."""

    loss: float
    gradients: list  # [(dW (n_in, n_out), db (n_out,) or None), ...]
    deltas: list  # [δ_l (n_batch, n_l), ...]


# ---------------------------------------------------------------------------
# Activations as data
# ---------------------------------------------------------------------------

def _numeric_fields(act) -> tuple[str, ...] | None:
    """Names of ``act``'s dataclass fields if they are all real numbers, else None."""
    if not dataclasses.is_dataclass(act):
        return None
    names = tuple(f.name for f in dataclasses.fields(act))
    if all(isinstance(getattr(act, n), (int, float)) and not isinstance(getattr(act, n), bool) for n in names):
        return names
    return None


def _template(act):
    """What selects ``act``'s branch: its class when its parameters are numbers (passed as
    data, so every leaky slope shares one branch), else the instance itself."""
    fields = _numeric_fields(act)
    return (type(act), fields) if fields is not None else act


def _branch(template):
    """``(z, h) -> a`` for one template; ``h`` holds the instance's numeric fields."""
    if isinstance(template, tuple):
        cls, fields = template

        def apply(z, h):
            act = object.__new__(cls)  # no __post_init__: its checks cannot read a tracer
            for i, name in enumerate(fields):
                object.__setattr__(act, name, h[i])
            return act.formula(jnp, z)
        return apply
    return lambda z, h: template.formula(jnp, z)


def _unsupported(spec) -> str:
    """Why the padded frame cannot hold ``spec`` exactly ('' if it can)."""
    out = spec.activations[-1]
    if not out.elementwise and not isinstance(out, Softmax):
        return f"the output activation {out.name} is not elementwise, and only softmax can be masked"
    if not spec.loss.unitwise and not isinstance(out, Softmax):
        return (f"the loss {spec.loss.name} is not a sum over output units (unitwise), so padded units can only be "
                "masked behind a softmax output")
    return ""


def fast_supported(net) -> bool:
    """Whether :func:`fast_derivatives` can evaluate ``net`` exactly in its padded frame."""
    return not _unsupported(spec_of(net))


def _pass_through(z, h):
    return z


def _padded_loss(Ws, bs, e, x, y, codes, hyper, live, loss_code, out_softmax, out_mask, batch_mask, scale, l2,
                 templates, losses):
    """``L`` for one padded net: ``Ws (D, P, P)``, ``bs (D, P)``, ``e (D, B, P)``,
    ``x``/``y`` ``(B, P)``, ``codes (D,)`` (index into the branches: 0 passes
    ``z`` through, ``1 + i`` is ``templates[i]``), ``hyper (D, H)`` (each layer's
    numeric parameters), ``live (D,)`` (the net's own layers, not depth padding),
    ``loss_code ()`` (index into ``losses``), ``out_softmax ()`` (the output is a
    softmax), ``out_mask (P,)``, ``batch_mask (B,)``, ``scale ()``, ``l2 ()``.

    The layers run as one ``lax.scan`` with the activation picked by
    ``lax.switch``, so the graph holds one layer whatever the depth.
    """
    branches = [_pass_through] + [_branch(t) for t in templates]
    # A value the softmax turns into exactly 0 (e^{-big}), finite so that no
    # 0 · inf appears in jax.grad.
    big = jnp.asarray(np.finfo(Ws.dtype).max / 4, Ws.dtype)
    is_last = jnp.arange(Ws.shape[0]) == Ws.shape[0] - 1

    def layer(a, inputs):
        W, b, el, code, h, last = inputs
        z = a @ W + b + el
        z = jnp.where(out_mask | ~(out_softmax & last), z, -big)
        # lax.switch runs only the chosen branch: selecting among all with
        # jnp.select would evaluate the others too, and an overflow in one of
        # them would put 0 * inf = nan into the gradient.
        return jax.lax.switch(code, branches, z, h), z

    a, zs = jax.lax.scan(layer, x, (Ws, bs, e, codes, hyper, is_last))
    z = zs[-1]

    def per_sample(loss):
        def ell():
            if not loss.unitwise:
                return loss.formula(jnp, z, a, y)
            # One unit at a time (the unit axis becomes a batch axis of size-1
            # rows), so padded units are masked before they are summed.
            units = loss.formula(jnp, z[..., None], a[..., None], y[..., None])
            return jnp.sum(jnp.where(out_mask, units, 0), axis=-1)
        return ell

    ell = jax.lax.switch(loss_code, [per_sample(loss) for loss in losses])
    penalty = jnp.sum(jnp.where(live[:, None, None], Ws * Ws, 0))  # not the padding's identity matrices
    return scale * jnp.sum(jnp.where(batch_mask, ell, 0)) + l2 * penalty


_padded_value_and_grads = jax.jit(jax.value_and_grad(_padded_loss, argnums=(0, 1, 2)), static_argnums=(14, 15))


def _pad_size(n: int) -> int:
    return max(_MIN_PAD, 1 << (n - 1).bit_length())


#: Frames (:func:`frame`) :func:`fast_derivatives` has compiled in this process.
COMPILED: set = set()


def frame(spec, x, dtype) -> tuple:
    """``(dtype name, P, B, D, n_activations, n_losses)``: the padded frame ``spec`` and ``x`` go into, and
    the registry's size (a registration adds a branch and so a compilation)."""
    return (np.dtype(dtype).name, _pad_size(max(spec.sizes)), _pad_size(x.shape[0]), _pad_size(spec.n_layers),
            len(ACTIVATIONS), len(LOSSES))


def fast_derivatives(net, params, x, y) -> Derivatives:
    """Loss, ``∂L/∂params`` and ``δ_l = ∂L/∂z_l`` in one compiled JAX call.

    Same arguments, conventions and results as :func:`reference.loss`,
    :func:`reference.gradients` and :func:`reference.deltas` (``gradients``
    a list of ``(dW (n_in, n_out), db (n_out,) or None)``, ``deltas`` a list
    of ``(n_batch, n_l)``), NumPy arrays in the params' dtype.  The first call
    for each ``(dtype, padded width, batch and depth)`` compiles (a few seconds);
    later ones take ~0.15 ms.  Widths or batches above 8 work too, padded to
    the next power of two (one more compilation per new size).
    """
    return _fast_derivatives(*check_all(net, params, x, y))


def _fast_derivatives(spec, params, x, y, dtype) -> Derivatives:
    """:func:`fast_derivatives` on what :func:`check_all` returned (no re-validation)."""
    why = _unsupported(spec)
    if why:
        raise ValueError(f"fast_derivatives cannot pad this net exactly: {why}; use reference.gradients")
    depth, n_batch = spec.n_layers, x.shape[0]
    P, B, D = frame(spec, x, dtype)[1:4]
    # Depth padding goes in front: D − depth layers with W = I, b = 0 and z
    # passed through, which reproduce x exactly (x·1 + 0s); the net's own
    # layers are the last `depth` slots, so its output is the frame's output.
    pad = D - depth
    Ws = np.zeros((D, P, P), dtype)
    Ws[:pad] = np.eye(P, dtype=dtype)
    bs = np.zeros((D, P), dtype)
    for l, (W, b) in enumerate(params, start=pad):
        Ws[l, : W.shape[0], : W.shape[1]] = W
        if b is not None:
            bs[l, : b.shape[0]] = b
    xp = np.zeros((B, P), dtype)
    xp[:n_batch, : x.shape[1]] = x
    yp = np.zeros((B, P), dtype)
    yp[:n_batch, : y.shape[1]] = y
    # The registry, in registration order, then anything this net uses that is
    # not registered: the branch lists (static) change only when the registry does.
    templates = list(dict.fromkeys(_template(a) for a in ACTIVATIONS.values()))
    templates += [t for t in dict.fromkeys(_template(a) for a in spec.activations) if t not in templates]
    losses = list(LOSSES.values())
    losses += [spec.loss] if spec.loss not in losses else []
    codes = np.zeros(D, np.int32)  # 0: the padding's pass-through
    codes[pad:] = [1 + templates.index(_template(a)) for a in spec.activations]
    width = max([1] + [len(t[1]) for t in templates if isinstance(t, tuple)])
    hyper = np.zeros((D, width), dtype)
    for l, act in enumerate(spec.activations, start=pad):
        for i, name in enumerate(_numeric_fields(act) or ()):
            hyper[l, i] = getattr(act, name)
    live = np.arange(D) >= pad
    loss_code = np.int32(losses.index(spec.loss))
    out_softmax = np.bool_(isinstance(spec.activations[-1], Softmax))
    out_mask = np.arange(P) < spec.sizes[-1]
    batch_mask = np.arange(B) < n_batch
    scale = np.asarray((0.5 if spec.half else 1.0) / (n_batch if spec.reduction == "mean" else 1), dtype)
    e = np.zeros((D, B, P), dtype)
    l2 = np.asarray(spec.l2, dtype)
    COMPILED.add(frame(spec, x, dtype))
    with jax.enable_x64(bool(dtype == np.float64)):
        value, (dWs, dbs, de) = _padded_value_and_grads(
            Ws, bs, e, xp, yp, codes, hyper, live, loss_code, out_softmax, out_mask, batch_mask, scale, l2,
            tuple(templates), tuple(losses),
        )
        value, dWs, dbs, de = float(value), np.asarray(dWs), np.asarray(dbs), np.asarray(de)
    assert dWs.dtype == dtype, (dWs.dtype, dtype)
    grads, deltas_ = [], []
    for l, (n_in, n_out) in enumerate(zip(spec.sizes[:-1], spec.sizes[1:])):
        # .copy(): independent, writable arrays rather than views into one buffer.
        k = pad + l
        grads.append((dWs[k, :n_in, :n_out].copy(), dbs[k, :n_out].copy() if spec.bias[l] else None))
        deltas_.append(de[k, :n_batch, :n_out].copy())
    return Derivatives(value, grads, deltas_)
