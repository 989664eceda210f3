"""Candidates in their own layout: column-major weights, one sample at a time.

deltacheck's own layout, ``"row"``, is manual_bp's::

    z = a_prev @ W + b      W (n_in, n_out), b (n_out,), x (n_batch, n_in), y (n_batch, n_out)

Documents 001/003 and most tutorials write the ``"column"`` layout::

    z = W @ a_prev + b      W (n_out, n_in), b (n_out, 1), x (n_in, n_batch), y (n_out, n_batch)

(integer class labels stay ``(n_batch,)`` in both).  :func:`adapt_candidate`
wraps a candidate written in either layout, batched or one sample at a time,
into a row-layout batched callable ``(net, params, x, y) -> result``, so the
comparison, the Taylor test and the CLI all see one layout.

The conversion never raises on what the candidate returns: an array in the
wrong layout comes back in a shape (or with values) that the comparison and
:mod:`reference.mistakes` recognise and *name* as a layout mismatch, rather
than an error message about shapes or a wrong δ.

Per sample (``per_sample=True``): the candidate is called once per sample
``n`` with ``x`` of that sample alone (``(1, n_in)`` row, ``(n_in, 1)``
column) and its ``y`` (``(1, n_out)`` / ``(n_out, 1)``, labels ``(1,)``),
and each call must return the gradient of the network's loss **on that
one-sample batch**: ``s₁·∂ℓ_n/∂θ + 2·l2·W`` with ``s₁ = ½`` if ``half``
(a mean over one sample is the sample), *including* the L2 penalty's
``2·l2·W`` once, because the one-sample batch's loss ``s₁·ℓ_n + l2·Σ‖W‖²``
carries the penalty once.  So any correct batch candidate (manual_bp's too)
is a correct per-sample candidate.  deltacheck combines the N answers by
the network's reduction, ``c = 1`` for ``"sum"`` and ``c = 1/N`` for
``"mean"``::

    dW = c · Σ_n dW⁽ⁿ⁾ − (c·N − 1) · 2·l2·W        db = c · Σ_n db⁽ⁿ⁾

The correction removes the copies of the penalty beyond one: ``N − 1`` of
them for ``"sum"``, none for ``"mean"`` (the mean of N copies is one copy).
A candidate that leaves the penalty out of its per-sample answer (it adds
weight decay in its update step instead) is checked against ``l2=0``.
Deltas and input gradients are per sample already: the rows are stacked and
scaled by ``c``.  In the row layout a per-sample bias gradient may come back
as ``(1, n_out)`` (the sample's ``δ`` unsummed is its sum).
"""
from __future__ import annotations

import numpy as np

from ._spec import spec_of

__all__ = [
    "LAYOUTS",
    "adapt_candidate",
    "check_layout",
    "grads_from_layout",
    "grads_to_layout",
    "params_to_layout",
    "per_sample_l2_coefficient",
    "rows_from_layout",
    "rows_to_layout",
]

LAYOUTS = ("row", "column")
_KINDS = ("gradients", "deltas", "input_gradient")


def check_layout(layout, per_sample) -> None:
    """Raise ValueError/TypeError naming ``layout`` or ``per_sample`` when they are not valid."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be 'row' (W (n_in, n_out), x (n_batch, n_in)) or 'column' "
                         f"(W (n_out, n_in), x (n_in, n_batch)), got {layout!r}")
    if not isinstance(per_sample, (bool, np.bool_)):
        raise TypeError(f"per_sample must be True or False, got {per_sample!r}")


# ---------------------------------------------------------------------------
# Converters (row <-> column), both ways
# ---------------------------------------------------------------------------

def params_to_layout(params, layout: str) -> list:
    """``[(W, b)]`` in row layout as the candidate's layout sees them (fresh arrays in column layout).

    Column: ``W (n_out, n_in)``, ``b (n_out, 1)`` (None stays None).
    """
    if layout == "row":
        return params
    return [(np.array(np.asarray(W).T), None if b is None else np.asarray(b).reshape(-1, 1).copy())
            for W, b in params]


def rows_to_layout(v, layout: str):
    """A per-sample array ``(n_batch, n)`` (``x``, target ``y``, ``δ_l``) in ``layout``: ``(n, n_batch)`` in column.

    Integer class labels ``(n_batch,)`` are the same in both layouts.
    """
    v = np.asarray(v)
    if layout == "row" or v.ndim != 2:
        return v
    return np.array(v.T)


def rows_from_layout(v, layout: str):
    """Inverse of :func:`rows_to_layout` for what a candidate returns: a 2-D array is transposed in column layout.

    Anything else (None, 1-D, 3-D) comes back as it is, for the comparison to report.
    """
    if v is None:
        return None
    v = np.asarray(v)
    if layout == "row" or v.ndim != 2:
        return v
    return v.T


def _bias_from_layout(db, n_out: int, layout: str, per_sample: bool):
    """A returned bias gradient as ``(n_out,)`` when its shape is one the layout allows, else as returned.

    Column: ``(n_out, 1)`` or ``(n_out,)``.  Row: ``(n_out,)``, and ``(1, n_out)`` per sample.
    Any other shape (``(1, n_out)`` in column layout, ``(n_out, 1)`` in row
    layout, a per-sample matrix) is left alone, so it reaches the comparison
    as a shape it can name.
    """
    if db is None:
        return None
    db = np.asarray(db)
    ok = [(n_out,), (n_out, 1)] if layout == "column" else [(n_out,)] + ([(1, n_out)] if per_sample else [])
    return db.reshape(n_out) if db.shape in ok else db


def grads_to_layout(grads, layout: str) -> list:
    """Row-layout ``[(dW, db)]`` as a column-layout candidate would return them (``dW.T``, ``db (n_out, 1)``).

    A 2-D ``db`` (per sample, ``(n_batch, n_out)``) becomes ``(n_out, n_batch)``.
    """
    if layout == "row":
        return grads
    out = []
    for dW, db in grads:
        if db is not None:
            db = np.asarray(db)
            db = db.reshape(-1, 1) if db.ndim == 1 else rows_to_layout(db, layout)
        out.append((rows_to_layout(dW, layout), db))
    return out


def grads_from_layout(grads, sizes, layout: str, per_sample: bool = False):
    """A candidate's ``[(dW, db)]`` in ``layout`` back in row layout; malformed output is returned untouched.

    ``sizes``: the network's widths.  See :func:`_bias_from_layout` for the bias shapes accepted.
    """
    if isinstance(grads, (str, bytes, np.ndarray)) or not hasattr(grads, "__len__") or len(grads) != len(sizes) - 1:
        return grads  # the comparison's structural check words the error
    out = []
    for pair, n_out in zip(grads, sizes[1:]):
        try:
            dW, db = pair
        except (TypeError, ValueError):
            return grads
        dW = None if dW is None else rows_from_layout(dW, layout)
        out.append((dW, _bias_from_layout(db, n_out, layout, per_sample)))
    return out


def per_sample_l2_coefficient(k: float, n_batch: int, reduction: str) -> float:
    """What a per-call penalty gradient ``k·l2·W`` becomes after combining N one-sample calls.

    ``c·N·k − (c·N − 1)·2`` times ``l2·W`` (``c = 1/N`` for ``"mean"``, 1 for
    ``"sum"``): ``k = 2`` (right) gives 2 for both reductions.
    """
    cN = 1.0 if reduction == "mean" else float(n_batch)
    return cN * k - (cN - 1.0) * 2.0


# ---------------------------------------------------------------------------
# The adapter
# ---------------------------------------------------------------------------

def adapt_candidate(fn, *, layout: str = "row", per_sample: bool = False, kind: str = "gradients"):
    """``fn`` in ``layout`` (batched or per sample) as a row-layout batched callable ``(net, params, x, y)``.

    Parameters
    ----------
    fn : callable ``(net, params, x, y)``
        In ``layout``: params ``[(W, b)]``, ``x``, ``y`` as described in the
        module notes, one sample at a time when ``per_sample``.  It returns,
        in the same layout, for ``kind``:
        ``"gradients"``: ``[(dW, db or None), ...]`` (column: ``dW (n_out,
        n_in)``, ``db (n_out, 1)`` or ``(n_out,)``);
        ``"deltas"``: ``[δ_1, ..., δ_L]`` (column: ``δ_l (n_l, n_batch)``);
        ``"input_gradient"``: ``∂L/∂x`` (column: ``(n_in, n_batch)``).
    layout : {"row", "column"}
    per_sample : bool
        Call ``fn`` once per sample and combine by the network's reduction
        (the L2 convention is in the module notes).

    Returns
    -------
    callable ``(net, params, x, y)`` taking and returning deltacheck's row
    layout (``[(dW (n_in, n_out), db (n_out,))]``, ``δ_l (n_batch, n_l)``,
    ``∂L/∂x (n_batch, n_in)``).  An answer in another layout is passed on in
    a shape or with values the comparison names as a ``layout`` mismatch;
    only a per-sample answer that cannot be combined at all (sample answers
    of different shapes) raises a ValueError naming the sample.
    """
    check_layout(layout, per_sample)
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
    if layout == "row" and not per_sample:
        return fn

    def native(net, params, x, y):
        return fn(net, params_to_layout(params, layout), rows_to_layout(x, layout), rows_to_layout(y, layout))

    def from_native(out, sizes, one_sample):
        if kind == "gradients":
            return grads_from_layout(out, sizes, layout, per_sample=one_sample)
        if kind == "deltas":
            if isinstance(out, np.ndarray) or not hasattr(out, "__len__"):
                return out
            return [rows_from_layout(d, layout) for d in out]
        return rows_from_layout(out, layout)

    def batched(net, params, x, y):
        return from_native(native(net, params, x, y), spec_of(net).sizes, False)

    if not per_sample:
        batched.__wrapped__ = fn
        return batched

    def combined(net, params, x, y):
        spec = spec_of(net)
        x, y = np.asarray(x), np.asarray(y)
        N = x.shape[0]
        answers = [from_native(native(net, params, x[n:n + 1], y[n:n + 1]), spec.sizes, True) for n in range(N)]
        c = 1.0 / N if spec.reduction == "mean" else 1.0
        if kind == "gradients":
            return _combine_gradients(answers, params, spec, c, N)
        if kind == "deltas":
            if any(isinstance(a, np.ndarray) or not hasattr(a, "__len__") or len(a) != spec.n_layers
                   for a in answers):
                return answers[0]  # malformed: the comparison's structural check words it
            return [c * _stack([a[l] for a in answers], f"δ_{l + 1}") for l in range(spec.n_layers)]
        return c * _stack(answers, "∂L/∂x")

    combined.__wrapped__ = fn
    return combined


def _stack(rows, what: str) -> np.ndarray:
    """Per-sample ``(1, n)`` answers stacked to ``(N, n)`` (a ``(n,)`` answer counts as one row)."""
    rows = [np.asarray(r) for r in rows]
    shapes = {r.shape for r in rows}
    if len(shapes) != 1:
        raise ValueError(f"the per-sample candidate's {what} has different shapes for different samples: "
                         f"{sorted(shapes)}")
    return np.concatenate([r.reshape(1, -1) if r.ndim == 1 else r for r in rows], axis=0)


def _combine_gradients(answers, params, spec, c: float, N: int):
    """``c·Σ_n`` of the per-sample ``[(dW, db)]``, minus the penalty's extra ``(c·N − 1)·2·l2·W``."""
    L = spec.n_layers
    if any(isinstance(a, (str, bytes, np.ndarray)) or not hasattr(a, "__len__") or len(a) != L for a in answers):
        return answers[0]  # malformed: the comparison's structural check words it
    extra = (c * N - 1.0) * 2.0 * spec.l2
    out = []
    for l in range(L):
        pair = []
        for k in range(2):
            try:
                leaves = [a[l][k] for a in answers]
            except (TypeError, IndexError, KeyError):
                return answers[0]
            if any(v is None for v in leaves):
                pair.append(None)
                continue
            leaves = [np.asarray(v) for v in leaves]
            shapes = {v.shape for v in leaves}
            if len(shapes) != 1:
                raise ValueError(f"the per-sample candidate's d{'Wb'[k]}{l + 1} has different shapes for "
                                 f"different samples: {sorted(shapes)}")
            total = c * np.sum(leaves, axis=0)
            W = np.asarray(params[l][0])
            if k == 0 and extra and total.shape == W.shape:
                total = total - extra * W  # only where the shape says it is a row-layout dW
            pair.append(total)
        out.append(tuple(pair))
    return out
