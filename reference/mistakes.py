"""A catalogue of classic hand-derivation mistakes, each evaluated to name the one a candidate made.

When a candidate disagrees with jax.grad, :func:`name_mistakes` runs a
deliberately *mistaken* NumPy backprop for every catalogued mistake (and
every layer it can sit in) on the same network, params and batch, and
reports those whose result reproduces the candidate within the ``jax``
tolerance.  The mistaken backprops are written here from the equations,
on the reference's forward pass (:func:`reference.forward`) and the
activation and loss objects' hand derivatives (``derivative``/``vjp``,
``grad_a``/``output_delta``); manual_bp's backprop is not used.

IDs (kept stable; the report's ``diagnosis`` entries carry them as
``{"kind": "mistake", "mistake": ID, "layer": l or None, "text": ...}``):

========================================  ====================================================
``derivative_at_activation``              f'(a_l) where f'(z_l) is meant (σ'(a) = σ(a)(1 − σ(a)))
``missing_activation_derivative``         the ⊙ f'(z_l) factor dropped in layer l (the output
                                          too, for losses not fused with their activation)
``missing_transpose``                     δ_l W_l for δ_l W_lᵀ (W for Wᵀ in column layout);
                                          only type-checks where W_l is square
``wrong_layer_activation``                dW_l from a_l or a_(l−2) instead of a_(l−1)
``transposed_gradient``                   dW_l returned transposed
``bias_not_summed``                       db_l left per sample, or averaged over the batch
``softmax_diagonal``                      only the diagonal a(1 − a) of softmax's Jacobian
``l2_missing``, ``l2_factor``             the penalty's 2·l2·W missing, or l2·W / 4·l2·W
``layout``                                the answer is in the other layout (all of dW
                                          transposed, or b as (1, n) in column layout)
========================================  ====================================================

A mistake is tried in each single layer where it applies and in all those
layers at once (a mistake written in the backward loop affects every
layer); ``layer`` is None for the latter (``layers`` lists them).  Nothing
here runs unless the candidate disagrees, so a passing check pays nothing.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .layout import grads_from_layout, grads_to_layout, per_sample_l2_coefficient
from .tolerances import allclose_tree

__all__ = ["MISTAKES", "layout_mismatch", "name_mistakes"]

#: Every ID the catalogue can name, with a one-line description.
MISTAKES = {
    "derivative_at_activation": "f'(a_l) used where f'(z_l) is meant",
    "missing_activation_derivative": "the ⊙ f'(z_l) factor dropped",
    "missing_transpose": "δ_l W_l instead of δ_l W_lᵀ in the recursion",
    "wrong_layer_activation": "dW_l formed from a_l or a_(l−2) instead of a_(l−1)",
    "transposed_gradient": "dW_l returned transposed",
    "bias_not_summed": "db_l not summed over the batch (left per sample, or averaged)",
    "softmax_diagonal": "only the diagonal a(1 − a) of softmax's Jacobian",
    "l2_missing": "the L2 penalty's gradient 2·l2·W missing",
    "l2_factor": "the L2 penalty's gradient with the wrong factor (l2·W or 4·l2·W for 2·l2·W)",
    "layout": "the candidate answers in another layout",
}


@dataclass(frozen=True)
class _Variant:
    """One mistake in a set of layers; ``how`` picks a sub-form (``"a_l"``, ``"mean"``, a factor ...)."""

    mistake: str
    layers: tuple
    how: object = None
    single: bool = True


class _Context:
    """The forward pass and everything the mistaken backprops share, computed once."""

    def __init__(self, net, spec, params, x, y, dtype, ref):
        from .model import forward_xp

        self.spec, self.dtype = spec, dtype
        self.acts = list(net.activations)
        self.loss_fn = net.loss_fn
        self.L = spec.n_layers
        self.N = x.shape[0]
        self.W = [W for W, _ in params]
        self.has_b = [b is not None for _, b in params]
        zs, as_ = forward_xp(np, spec, params, x)
        self.zs = [np.asarray(z, dtype) for z in zs]
        self.as_ = [np.asarray(a, dtype) for a in as_]
        self.y = y
        self.s = (0.5 if spec.half else 1.0) / (self.N if spec.reduction == "mean" else 1)
        self.ref = ref  # jax.grad's [(dW, db)]: the leaves a mistake leaves alone
        self.fused = self.loss_fn.fused_with is not None and self.loss_fn.fused_with == self.acts[-1].name
        self._deltas = None
        self._upstream = {}

    def deltas(self):
        if self._deltas is None:
            self._deltas = _deltas(self, None)
        return self._deltas

    def upstream(self, l: int):
        """The right ``∂L/∂a_l`` (scaled as δ is), shape ``(n_batch, n_l)``: what layer ``l``'s ⊙ f' acts on."""
        if l not in self._upstream:
            with np.errstate(all="ignore"):
                self._upstream[l] = (self.s * self.loss_fn.grad_a(self.as_[-1], self.y) if l == self.L
                                     else self.deltas()[l] @ self.W[l].T)
        return self._upstream[l]


def _local(ctx, l: int, g, v: _Variant | None):
    """``δ_l`` from ``g = ∂L/∂a_l`` through layer ``l``'s activation (1-based), mistaken or not."""
    act, z, a = ctx.acts[l - 1], ctx.zs[l - 1], ctx.as_[l]
    m = v.mistake if v is not None and l in v.layers else None
    with np.errstate(all="ignore"):
        if m == "missing_activation_derivative":
            return g
        if m == "derivative_at_activation":  # f' evaluated at a_l, as if a_l were the pre-activation
            return act.vjp(g, a, act.value(a.copy()))
        if m == "softmax_diagonal":
            return g * a * (1.0 - a)
        return act.vjp(g, z, a)


def _top(v: _Variant) -> int:
    """The highest layer whose δ a δ-mistake changes (0: none, only ∂L/∂x)."""
    return max(v.layers) - (v.mistake == "missing_transpose")


def _deltas(ctx, v: _Variant | None):
    """``[δ_1, ..., δ_L]`` with mistake ``v`` (None: the right ones), or None where it cannot type-check.

    The δ above the mistake's top layer are the right ones, reused.
    """
    L = ctx.L
    out = [None] * L if v is None else list(ctx.deltas())
    start = L if v is None else _top(v)
    with np.errstate(all="ignore"):
        for l in range(start, 0, -1):  # δ_l from δ_(l+1) through W_(l+1), or from the loss at the output
            if l == L:
                z, a = ctx.zs[-1], ctx.as_[-1]
                if v is not None and L in v.layers and v.mistake in _DELTA_MISTAKES:
                    delta = _local(ctx, L, ctx.loss_fn.grad_a(a, ctx.y), v)
                else:
                    delta = ctx.loss_fn.output_delta(z, a, ctx.y, ctx.acts[-1])
                out[l - 1] = ctx.s * delta
                continue
            W = ctx.W[l]
            if v is not None and v.mistake == "missing_transpose" and l + 1 in v.layers:
                if W.shape[0] != W.shape[1]:
                    return None
                g = out[l] @ W
            else:
                g = out[l] @ W.T
            out[l - 1] = _local(ctx, l, g, v)
    return out


_FORMATION = ("wrong_layer_activation", "transposed_gradient", "bias_not_summed", "l2_missing", "l2_factor")


def _predict(ctx, v: _Variant, layout: str, per_sample: bool, want_dx: bool):
    """What a candidate with mistake ``v`` returns, after the same layout conversion: ``(grads, dx)`` or None.

    Only the gradients the mistake touches are recomputed; the others are the
    reference's (they are right in the mistaken backprop too).
    """
    grads = [list(pair) for pair in ctx.ref]
    if v.mistake in _FORMATION:
        ds, redo = ctx.deltas(), [l for l in v.layers if v.mistake not in ("l2_missing", "l2_factor")]
    else:
        ds, redo = _deltas(ctx, v), list(range(1, _top(v) + 1))
        if ds is None:
            return None
    k = {"l2_missing": 0.0, "l2_factor": v.how}.get(v.mistake, 2.0)
    if per_sample:
        k = per_sample_l2_coefficient(k, ctx.N, ctx.spec.reduction)
    if k != 2.0 and ctx.spec.l2:  # the L2 mistakes: every dW off by (k − 2)·l2·W
        grads = [[dW + (k - 2.0) * ctx.spec.l2 * W, db] for (dW, db), W in zip(grads, ctx.W)]
    for l in redo:
        d, W = ds[l - 1], ctx.W[l - 1]
        a_prev = ctx.as_[l - 1]
        if v.mistake == "wrong_layer_activation":
            a_prev = ctx.as_[l] if v.how == "a_l" else ctx.as_[l - 2]
        dW = a_prev.T @ d
        if ctx.spec.l2 and dW.shape == W.shape:
            dW = dW + 2.0 * ctx.spec.l2 * W
        if v.mistake == "transposed_gradient":
            dW = dW.T
        db = None
        if ctx.has_b[l - 1]:
            db = d.sum(axis=0)
            if v.mistake == "bias_not_summed":
                db = d.copy() if v.how == "per_sample" else d.mean(axis=0)
        grads[l - 1] = [dW, db]
    # The candidate's answer went through the layout conversion; so does the prediction.
    grads = grads_from_layout(grads_to_layout([tuple(p) for p in grads], layout), ctx.spec.sizes, layout, per_sample)
    dx = None
    if want_dx:
        W1 = ctx.W[0]
        if v.mistake == "missing_transpose" and 1 in v.layers:
            if W1.shape[0] != W1.shape[1]:
                return None
            dx = ds[0] @ W1
        else:
            dx = ds[0] @ W1.T
    return grads, dx


def _groups(ctx, per_sample: bool, want_dx: bool) -> list[tuple[str, object, list, bool]]:
    """``(mistake, how, layers, per_layer)``: the layers where each mistake can sit.

    ``per_layer``: try it in each layer alone, then in all the layers where it
    changes something at once; otherwise only in all of them (the L2 term).
    """
    L, acts = ctx.L, ctx.acts
    every = list(range(1, L + 1))
    groups = [
        # The output only where the chain rule goes through the output activation (not fused).
        ("derivative_at_activation", None,
         [l for l in every if acts[l - 1].elementwise and (l < L or not ctx.fused)], True),
        ("missing_activation_derivative", None, [l for l in every if l < L or not ctx.fused], True),
        ("softmax_diagonal", None, [l for l in every if acts[l - 1].name == "softmax"], True),
        # δ_(l−1) = δ_l W_l only type-checks for square W_l; layer 1's is ∂L/∂x = δ_1 W_1.
        ("missing_transpose", None, [l for l in every if ctx.W[l - 1].shape[0] == ctx.W[l - 1].shape[1]
                                     and (l > 1 or want_dx)], True),
        # transposed_gradient is found leaf by leaf in reference.comparison (dW_lᵀ equals the reference).
        ("wrong_layer_activation", "a_l", every, True),
        ("wrong_layer_activation", "a_(l-2)", [l for l in every if l >= 2], True),
    ]
    if not per_sample:  # one sample at a time, an unsummed δ is its sum
        biased = [l for l in every if ctx.has_b[l - 1]]
        groups += [("bias_not_summed", "per_sample", biased, True), ("bias_not_summed", "mean", biased, True)]
    if ctx.spec.l2:
        groups += [("l2_missing", None, every, False), ("l2_factor", 1.0, every, False),
                   ("l2_factor", 4.0, every, False)]
    return groups


def _matches(pred_leaves, cand_leaves, dtype) -> bool:
    for p, c in zip(pred_leaves, cand_leaves):
        if p is None or c is None:
            if p is not c:
                return False
            continue
        c = np.asarray(c)
        if p.shape != c.shape or not np.isfinite(p).all():
            return False
        if not allclose_tree([c], [p], dtype=dtype, kind="jax"):
            return False
    return True


def _flat(grads, dx):
    return [v for pair in grads for v in pair] + ([dx] if dx is not None else [])


def _where(layers, L: int, single: bool) -> str:
    if single:
        (l,) = layers
        return f"layer {l}" + (" (the output)" if l == L else "")
    return "layers " + ", ".join(map(str, layers[:-1])) + f" and {layers[-1]}"


def _text(v: _Variant, ctx, layout: str, per_sample: bool) -> str:
    L = ctx.L
    where = _where(v.layers, L, v.single)
    ls = v.layers
    one = ls[0] if v.single else "l"
    col = layout == "column"
    if v.mistake == "derivative_at_activation":
        names = sorted({ctx.acts[l - 1].name for l in ls})
        examples = {"sigmoid": "σ(a)(1 − σ(a)) for σ'(z) = a(1 − a)", "tanh": "1 − tanh²(a) for tanh'(z) = 1 − a²"}
        eg = "; ".join(examples[n] for n in names if n in examples)
        return (f"derivative_at_activation in {where}: the candidate uses f'(a_{one}) where f'(z_{one}) is meant "
                f"({'/'.join(names)}" + (f": {eg}" if eg else "") + f"); apply the derivative to the "
                f"pre-activation z_{one}, or write it in terms of a_{one} (σ' = a(1 − a), tanh' = 1 − a²)")
    if v.mistake == "missing_activation_derivative":
        out = (f" (at the output δ_{L} = ∂L/∂a_{L} ⊙ f'(z_{L}): only a fused pairing such as softmax with "
               "cross-entropy collapses it to a − y)") if L in ls else ""
        return (f"missing_activation_derivative in {where}: the ⊙ f'(z_{one}) factor is dropped from "
                f"δ_{one} = (∂L/∂a_{one}) ⊙ f'(z_{one}){out}")
    if v.mistake == "missing_transpose":
        if ls == (1,):
            return ("missing_transpose in layer 1: the input gradient is formed as "
                    + ("W_1 δ_1 instead of W_1ᵀ δ_1" if col else "δ_1 W_1 instead of δ_1 W_1ᵀ")
                    + " (it type-checks only because W_1 is square)")
        l = one
        rec = (f"W_{l} δ_{l} instead of W_{l}ᵀ δ_{l}" if col else f"δ_{l} W_{l} instead of δ_{l} W_{l}ᵀ")
        return (f"missing_transpose in {where}: the recursion passes the delta back as {rec} "
                "(it type-checks only because the weight matrix is square)")
    if v.mistake == "wrong_layer_activation":
        used = f"a_{one}" if v.how == "a_l" else (f"a_{one - 2}" if v.single else "a_(l−2)")
        right = f"a_{one - 1}" if v.single else "a_(l−1)"
        form = f"δ_{one} {used}ᵀ" if col else f"{used}ᵀ δ_{one}"
        return (f"wrong_layer_activation in {where}: dW_{one} is formed as {form}, from the wrong layer's "
                f"activation ({used} instead of {right})")
    if v.mistake == "transposed_gradient":
        shape = "(n_in, n_out)" if col else "(n_out, n_in)"
        return (f"transposed_gradient in {where}: dW_{one} is returned transposed, shape {shape} "
                f"in {layout} layout")
    if v.mistake == "bias_not_summed":
        how = ("left per sample (one column per sample)" if col else "left per sample (one row per sample)") \
            if v.how == "per_sample" else "averaged over the batch (mean of δ instead of its sum)"
        return f"bias_not_summed in {where}: db_{one} = Σ_n δ_{one} is {how}"
    if v.mistake == "softmax_diagonal":
        fused = (f"; with cross-entropy the whole chain collapses to δ_{L} = a − y" if L in ls and ctx.fused else "")
        return (f"softmax_diagonal in {where}: only the diagonal a(1 − a) of softmax's Jacobian is used; "
                f"the full vector–Jacobian product is a ⊙ (g − ⟨g, a⟩) for g = ∂L/∂a{fused}")
    if v.mistake == "l2_missing":
        extra = " (per sample: each call includes it once, see reference.layout)" if per_sample else ""
        return f"l2_missing: the penalty's gradient 2·l2·W_l (l2 = {ctx.spec.l2:g}) is missing from every dW_l{extra}"
    if v.mistake == "l2_factor":
        f = "l2·W" if v.how == 1.0 else "4·l2·W"
        return (f"l2_factor: the penalty's gradient is {f} where the loss's l2·Σ‖W‖² gives 2·l2·W "
                f"(l2 = {ctx.spec.l2:g}; for a λ/2·Σ‖W‖² convention pass l2 = λ/2)")
    return v.mistake


def name_mistakes(net, spec, params, x, y, dtype, cand, cand_dx, ref, ref_dx, *, layout="row",
                  per_sample=False) -> list[dict]:
    """The catalogued mistakes that reproduce the candidate: ``[{"mistake", "layer", "layers", "text"}]``.

    ``params``, ``x``, ``y`` checked (``y`` one-hot); ``cand`` the candidate's
    ``[(dW, db)]`` after the layout conversion (arrays of any shape), ``ref``
    jax.grad's; ``cand_dx``/``ref_dx`` the input gradients or None.  A
    mistake whose result equals the reference cannot explain a disagreement
    and is never named.  Where several mistakes in single layers and the
    same mistake across layers give the same numbers, the single layer is named.
    """
    try:
        ctx = _Context(net, spec, params, x, y, dtype, ref)
    except (AttributeError, TypeError):  # a duck-typed net without activation objects: nothing to evaluate
        return []
    want_dx = cand_dx is not None
    cand_leaves = _flat(cand, cand_dx if want_dx else None)
    ref_leaves = _flat(ref, ref_dx if want_dx else None)
    names = [f"{k}{l}" for l in range(1, ctx.L + 1) for k in "Wb"] + (["x"] if want_dx else [])
    bad = {n for n, c, r in zip(names, cand_leaves, ref_leaves) if r is not None and not _matches([r], [c], dtype)}

    def verdict(v):
        """Does variant ``v`` reproduce the candidate (and differ from the reference)?"""
        if not _could_match(ctx, v, bad, want_dx):
            return False
        pred = _predict(ctx, v, layout, per_sample, want_dx)
        if pred is None:
            return False
        leaves = _flat(*pred)
        if len(leaves) != len(cand_leaves) or _matches(leaves, ref_leaves, dtype):
            return False  # the same numbers as the reference: cannot explain a disagreement
        return _matches(leaves, cand_leaves, dtype)

    found = []
    for mistake, how, layers, per_layer in _groups(ctx, per_sample, want_dx):
        try:
            live = [l for l in layers if _live(ctx, mistake, l, dtype)] if per_layer else list(layers)
            hits = [v for v in (_Variant(mistake, (l,), how) for l in live) if verdict(v)] if per_layer else []
            if (not hits and len(live) > 1) or (not per_layer and live):
                # A mistake in the backward loop: every layer where it changes something, at once.
                v = _Variant(mistake, tuple(live), how, single=False)
                hits += [v] if verdict(v) else []
        except (ValueError, TypeError, NotImplementedError):
            # A user's activation or loss without the derivative this mistake needs (say a vjp
            # only): the mistake cannot be evaluated, so it is not named; the rest still are.
            continue
        found += [{"mistake": v.mistake, "layer": v.layers[0] if v.single else None,
                   "layers": list(v.layers), "text": _text(v, ctx, layout, per_sample)} for v in hits]
    return found


_DELTA_MISTAKES = ("derivative_at_activation", "missing_activation_derivative", "softmax_diagonal")


def _live(ctx, mistake: str, l: int, dtype) -> bool:
    """Does ``mistake`` in layer ``l`` change anything there?  A local test, one layer's worth of work.

    (σ'(a) for σ'(z) changes δ_l; relu'(a) is relu'(z), and the identity has no
    derivative to drop: those layers are left out of a mistake's layer set.)
    """
    if mistake in _DELTA_MISTAKES:
        wrong = _local(ctx, l, ctx.upstream(l), _Variant(mistake, (l,)))
        return bool(np.isfinite(wrong).all()) and not _matches([wrong], [ctx.deltas()[l - 1]], dtype)
    if mistake == "missing_transpose":
        W = ctx.W[l - 1]
        return not allclose_tree([W.T], [W], dtype=dtype, kind="jax")
    return True


def _could_match(ctx, v: _Variant, bad: set, want_dx: bool) -> bool:
    """Can ``v`` reproduce a candidate whose disagreeing leaves are ``bad``?  Decided from structure alone.

    A wrong δ_t spoils dW_t (and db_t) and every layer below, and ∂L/∂x; a
    mistake in forming one gradient spoils that gradient only.
    """
    def leaves(layers, kinds):
        return {f"{k}{l}" for l in layers for k in kinds if k == "W" or ctx.has_b[l - 1]}

    if v.mistake in _DELTA_MISTAKES or v.mistake == "missing_transpose":
        top = max(v.layers) - (v.mistake == "missing_transpose")
        changed = leaves(range(1, top + 1), "Wb") | ({"x"} if want_dx else set())
        at_top = leaves([top], "Wb") if top >= 1 else {"x"}
        return bad <= changed and bool(bad & at_top)
    if v.mistake in ("wrong_layer_activation", "transposed_gradient"):
        return bad == leaves(v.layers, "W")
    if v.mistake == "bias_not_summed":
        return bad == leaves(v.layers, "b")
    return bad == leaves(range(1, ctx.L + 1), "W")  # the L2 term


def layout_mismatch(cand, ref, cand_dx, ref_dx, n_layers: int, layout: str, dtype) -> dict | None:
    """A ``layout`` finding when the candidate's answer is in the other layout, else None.

    ``cand``/``ref`` in row layout after conversion.  The other layout shows
    as every ``dW`` transposed (by shape where W is not square, by value
    where it is) with at least two layers or a bias to confirm it, or a bias
    shaped as the other layout's (``(n, 1)`` in row layout, ``(1, n)`` in
    column layout), or the input gradient transposed.
    """
    other = "column" if layout == "row" else "row"
    hints = []
    w_t = []
    for l, ((c, _), (r, _)) in enumerate(zip(cand, ref), start=1):
        c = None if c is None else np.asarray(c)
        transposed = (c is not None and c.ndim == 2 and c.shape == r.shape[::-1]
                      and (c.shape != r.shape or (not allclose_tree([c], [r], dtype=dtype, kind="jax")
                                                  and allclose_tree([c.T], [r], dtype=dtype, kind="jax"))))
        w_t.append(transposed)
    bad_b = []
    for l, ((_, c), (_, r)) in enumerate(zip(cand, ref), start=1):
        if c is None or r is None:
            continue
        c = np.asarray(c)
        wrong = (1, r.size) if layout == "column" else (r.size, 1)
        if c.shape == wrong and c.shape != r.shape and r.size > 1:
            bad_b.append(l)
    all_w = all(w_t)
    if all_w and (n_layers >= 2 or bad_b):
        hints.append("every weight gradient is transposed, shape "
                     + ("(n_in, n_out)" if layout == "column" else "(n_out, n_in)"))
    if bad_b:
        hints.append("the bias gradient" + ("s of layers " if len(bad_b) > 1 else " of layer ")
                     + ", ".join(map(str, bad_b)) + " have shape " + ("(1, n_out)" if layout == "column" else "(n_out, 1)"))
    if cand_dx is not None and ref_dx is not None:
        c = np.asarray(cand_dx)
        if c.ndim == 2 and c.shape == ref_dx.shape[::-1] and c.shape != ref_dx.shape:
            hints.append("the input gradient is transposed")
    if not hints:  # one layer's dW transposed alone is transposed_gradient, not a layout
        return None
    text = (f"layout: the candidate answers in {other} layout but was checked as {layout} layout ("
            + "; ".join(hints) + f"): pass layout='{other}'" + (
                ", or return dW as (n_out, n_in) and db as (n_out, 1) or (n_out,)" if layout == "column"
                else ", or return dW as (n_in, n_out) and db as (n_out,)"))
    return {"mistake": "layout", "layer": None, "layers": [], "text": text}
