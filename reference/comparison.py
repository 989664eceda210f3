"""Side-by-side gradients: where a hand derivation differs from the oracles, and why.

:func:`compare` puts a *candidate*'s gradients (``manual_bp.gradients`` by
default, or any function with its signature) next to ``jax.grad`` of the
reference model and to numerical derivatives, and returns a
:class:`GradientReport` (``str(report)`` is a table, ``report.to_dict()``
plain JSON-able data):

* per parameter (``W1``, ``b1``, ... numbered from 1 like the documents'
  layers): shape, max absolute and relative error against each oracle,
  pass/fail under the tolerance table, and the worst element with every
  source's value side by side;
* localisation: the layer nearest the output where the candidate diverges.
  From the deltas when the candidate supplies them (``candidate_deltas``),
  otherwise from the gradients: ``dW_l = a_{l-1}ᵀ δ_l`` and ``db_l = Σ_n δ_l``,
  and a wrong ``δ_l`` reaches every layer below through
  ``δ_{l-1} = (δ_l W_lᵀ) ⊙ f'(z_{l-1})``, so the *highest* disagreeing layer
  is where the mistake is and the layers below merely inherit it;
* diagnosis: a constant factor ``c`` between candidate and reference (fitted
  by least squares) with the convention it points to (2 or ½: the ½ of
  squared error; N or 1/N: sum vs mean; −1: sign); the classic mistake that
  reproduces the candidate, by name (:mod:`reference.mistakes`: evaluated only
  when the candidate disagrees, so a passing check pays nothing); and
  triangulation of the oracles: a numerical oracle that disagrees with a
  corroborated ``jax.grad`` is blamed, not the candidate.

The candidate may be written in the column layout (``W (n_out, n_in)``) and
may backpropagate one sample at a time (``layout=``, ``per_sample=``; see
:mod:`reference.layout`), and may offer an input gradient ``∂L/∂x``
(``candidate_input_gradient=``), compared as a row ``x``.

Numerical oracles: per-parameter central differences and complex step up to
``max_per_parameter`` parameters (default 5,000) while their cost stays
under :data:`PER_PARAMETER_BUDGET` (about 10-20 ms); beyond that, central
differences along a few random unit directions, whose cost does not grow
with the parameter count.  The report says which was used.

"Relative error" (``max_rel``) is the per-leaf scaled error of the tolerance
table, ``max|Δ| / max(max|candidate|, max|oracle|)`` over one parameter, not
an elementwise ratio: see :mod:`reference.tolerances` for why.
"""
from __future__ import annotations

import copy
import dataclasses
import functools
import math

import numpy as np

from . import mistakes as _mistakes
from ._spec import check_all
from .fast import _fast_derivatives, _unsupported
from .layout import adapt_candidate, check_layout
from .model import _dispatch, _input_gradient
from .model import gradients as jax_gradients
from .model import loss_xp
from .numerical import (
    CENTRAL_STEP,
    COMPLEX_STEP,
    KinkCrossingError,
    _central_difference,
    _complex_step,
    complex_step_gradients,
    directional_derivatives,
    project_gradients,
)
from .diagnosis import _factor_finding, _localise, _oracle_blame_text, _transpose_findings, _triangulate
from .report import (
    _MISSING,
    LABELS,
    Agreement,
    DirectionalCheck,
    Finding,
    GradientReport,
    LayerComparison,
    Localisation,
    OracleStatus,
    ParamComparison,
)
from .tolerances import _derivative_bounds, allclose_tree, tolerance

__all__ = [
    "MAX_PER_PARAMETER",
    "N_DIRECTIONS",
    "PER_PARAMETER_BUDGET",
    "Agreement",
    "Finding",
    "GradientReport",
    "LayerComparison",
    "Localisation",
    "OracleStatus",
    "ParamComparison",
    "check_gradients",
    "compare",
    "compare_perceptron",
    "numerical_mode",
    "step_curve",
]

#: Above this many parameters the numerical oracles switch from one
#: difference per parameter (cost ∝ n_params forward passes) to random
#: directions (cost ∝ n_directions, whatever the size).
MAX_PER_PARAMETER = 5000
#: Per-parameter central differences and complex step cost about 2-4 ms per million of
#: n_params · n_batch · n_weights (one forward pass per parameter and side, each ∝ n_batch · n_weights;
#: one BLAS thread): 1-2 ms at 4-3-3 b8, about 7 ms at the suite's widest draws (8-8-8-8-8-8 b8, 0.9e6),
#: 71 ms at 16-32-32-4 b8 (23e6) and 204 ms at b32 (92e6), against 1.5-2.5 ms along two random
#: directions, which give the same confidence in jax.grad (the numerical oracles only guard against an
#: autodiff bug, and a wrong entry shows along a random direction).  Above the budget (about 10-20 ms
#: of per-parameter work), ``auto`` goes directional.
PER_PARAMETER_BUDGET = 2_000_000
#: Random directions for the directional check: each costs two forward passes
#: (about 2 s for a 1024-2048-2048-2048-1024 net at batch 1024 on 2 cores).
N_DIRECTIONS = 2
#: reference.fast_derivatives pads every net to width and batch 8 at least, so
#: for nets that fit, one compilation per depth serves them all; bigger nets
#: would pay for the padding in every call, and go to reference.gradients.
_FAST_MAX = 8
#: Under ``jax_path="auto"``, small architectures compiled one by one before the padded frame takes over.
_PLAIN_COMPILES_BEFORE_FAST = 4
#: From this many batch rows up, the candidate is first held to the rounding bound of every
#: ``_BOUND_STRIDE``-th row and a few more (:func:`_bound_rows`): each entry of that bound is a
#: lower bound on the whole batch's (tolerances._budgets), so an entry within it is within the
#: whole bound, and the whole bound is computed only when some entry is not.  At 784-512-512-10
#: batch 256 (sigmoid) it costs 12-18 ms against 61-79 ms for the whole bound (one core;
#: scripts/check_parts.py), and a right gradient uses at most 0.24 of it (0.045 of the whole
#: one); below 128 rows the whole bound takes a few ms anyway.  The jax oracle's reported bound
#: and tolerance_used are then the rows' (its note says so): an upper estimate of the share of
#: the whole bound used.
_BOUND_SUBSET_FROM = 128
_BOUND_STRIDE = 8

#: The tolerance-table kind each oracle is judged by.
_KIND = {"jax": "jax", "central": "central", "complex_step": "complex_step", "directional": "directional"}
_NUMERICAL_MODES = ("auto", "per_parameter", "directional", "none")
_JAX_PATHS = ("auto", "fast", "plain")


# ---------------------------------------------------------------------------
# Comparing arrays
# ---------------------------------------------------------------------------

def _agreement(actual, expected, dtype, kind: str, bound=None) -> Agreement:
    """:class:`Agreement` of two same-shape arrays under ``tolerance(dtype, kind)``,
    or entry by entry under ``bound`` (same shape, from :func:`reference.tolerances.derivative_bounds`).

    With ``bound`` the reported scalar bound is ``max_abs / max(|Δ| / bound)``,
    so ``max_abs / bound`` is the largest fraction of its own bound any entry uses.
    """
    return _agreement_and_ratio(actual, expected, dtype, kind, bound)[0]


def _nan_max(v) -> float:
    """``max(v)`` with nan counted as inf (np.max propagates nan; one pass instead of nan_to_num's copy)."""
    m = float(v.max())
    return math.inf if math.isnan(m) else m


def _agreement_and_ratio(actual, expected, dtype, kind: str, bound=None):
    """``(Agreement, ratio)``: :func:`_agreement` and ``|Δ|`` in units of the bound used, entry by entry
    (0 where ``Δ = 0``, nan where ``Δ`` is; for picking the worst entry)."""
    a = np.asarray(actual, np.float64)
    e = np.asarray(expected, np.float64)
    if a.size == 0:
        return Agreement(0.0, 0.0, tolerance(dtype, kind).atol, True), np.zeros(a.shape)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(a - e)
    max_abs = _nan_max(diff)
    # max_rel and the verdict from max_abs and the scale already in hand (what max_error and
    # allclose_tree compute, without walking the arrays twice more: a third of a tiny check's time).
    scale = max(float(np.abs(a).max()), float(np.abs(e).max()))
    finite = math.isfinite(max_abs) and math.isfinite(scale)
    max_rel = (max_abs / scale if max_abs > 0 else 0.0) if finite else math.inf
    if bound is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(diff > 0, diff / bound, 0.0)
        worst = _nan_max(ratio)
        eff = max_abs / worst if 0 < worst < math.inf else (float(np.max(bound)) if worst == 0 else 0.0)
        return Agreement(max_abs, max_rel, eff, finite and worst <= 1.0), ratio
    tol = tolerance(dtype, kind)
    bound = tol.atol + tol.rtol * scale if math.isfinite(scale) else math.inf
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = diff / bound
    return Agreement(max_abs, max_rel, bound, finite and max_abs <= bound), ratio


def _leaf_problem(c, ref) -> str:
    """Why candidate leaf ``c`` cannot be compared with ``ref`` ('' if it can)."""
    if c is None:
        return "the candidate returned None, expected an array of shape " + str(tuple(ref.shape))
    if c.shape != ref.shape:
        return f"shape {tuple(c.shape)}, expected {tuple(ref.shape)}"
    return ""


def _compare_leaf(c, refs: dict, dtype, jax_bound=None) -> tuple[dict, tuple | None, dict, str]:
    """``(errors, worst_index, worst_values, note)`` for one parameter's gradient.

    ``jax_bound``: per-entry bound for the candidate vs jax.grad (else the table).
    """
    ref = refs["jax"]
    note = _leaf_problem(c, ref)
    if note:
        return {}, None, {}, note
    both = {o: _agreement_and_ratio(c, r, dtype, _KIND[o], jax_bound if o == "jax" else None)
            for o, r in refs.items()}
    errors = {o: agreement for o, (agreement, _) in both.items()}
    # The worst element: largest error in units of each oracle's own bound,
    # so a loose oracle's rounding does not outrank a tight oracle's miss.
    ratio = functools.reduce(np.maximum, [r for _, r in both.values()])  # a nan anywhere makes that entry the worst
    idx = np.unravel_index(int(np.argmax(np.nan_to_num(ratio, nan=np.inf))), c.shape) if c.size else None
    values = {} if idx is None else {"candidate": float(c[idx]), **{o: float(r[idx]) for o, r in refs.items()}}
    return errors, None if idx is None else tuple(int(i) for i in idx), values, ""


def _segment_max(v, starts) -> np.ndarray:
    """``max`` of each segment of ``v`` (segments start at ``starts``, none empty), nan counted as inf."""
    m = np.maximum.reduceat(v, starts)
    m[np.isnan(m)] = np.inf
    return m


def _bound_rows(n_batch: int, patterns):
    """Batch rows for the first, partial rounding bound: every ``_BOUND_STRIDE``-th, and every row where
    a column of some array in ``patterns`` (``(n_batch, width)``: the inputs, each layer's δ) that is 0
    in all of those is not.  None (the whole batch) if that is over half of it.

    Any rows give a lower bound; these make one without needless zeros (an entry of dW_l is 0 in a
    subset only if its input or its unit is 0 in every row of it), so that a right gradient passes it.
    """
    chosen = np.zeros(n_batch, bool)
    chosen[::_BOUND_STRIDE] = True
    for v in patterns:
        nonzero = np.asarray(v) != 0
        silent = ~nonzero[chosen].any(axis=0)
        if silent.any():
            chosen |= nonzero[:, silent].any(axis=1)
    rows = np.flatnonzero(chosen)
    return None if 2 * rows.size > n_batch else rows


def _compare_leaves(leaves, dtype, jax_bounds) -> dict:
    """:func:`_compare_leaf` for every leaf, the comparable ones all at once.

    The same numbers as leaf by leaf: each oracle's ``|Δ|`` is computed over
    the leaves laid end to end and reduced per leaf (``reduceat``), so a small
    net pays a few array operations per oracle instead of a dozen per leaf
    and oracle -- about a fifth of a 4-3-3 check.  Leaves the candidate got
    wrong in shape, and empty ones, take the leaf-by-leaf path.
    """
    out, whole = {}, []
    for name, _, c, refs in leaves:
        bound = None if jax_bounds is None else jax_bounds.get(name)
        if _leaf_problem(c, refs["jax"]) or c.size == 0 or (jax_bounds is not None and bound is None):
            out[name] = _compare_leaf(c, refs, dtype, bound)
        else:
            whole.append((name, c, refs, bound))
    if not whole:
        return out
    sizes = np.array([c.size for _, c, _, _ in whole])
    starts = np.cumsum(sizes) - sizes
    C = np.concatenate([np.ravel(c) for _, c, _, _ in whole], dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        c_max = np.maximum.reduceat(np.abs(C), starts)
    errors = {name: {} for name, *_ in whole}
    ratios = []
    for o in whole[0][2]:
        R = np.concatenate([np.ravel(refs[o]) for _, _, refs, _ in whole], dtype=np.float64)
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            # In place where the arrays are this function's own copies: fresh memory costs page faults.
            r_max = np.maximum.reduceat(np.abs(R), starts)
            diff = np.abs(np.subtract(C, R, out=R), out=R)
            max_abs = _segment_max(diff, starts)
            scale = np.maximum(c_max, r_max)
            finite = np.isfinite(max_abs) & np.isfinite(scale)
            max_rel = np.where(finite, np.where(max_abs > 0, max_abs / np.where(scale > 0, scale, 1.0), 0.0), np.inf)
            if o == "jax" and jax_bounds is not None:
                # Entry by entry under the rounding bound: the reported bound is max_abs / max(|Δ| / B).
                B = np.concatenate([np.ravel(b) for _, _, _, b in whole])
                b_max = np.maximum.reduceat(B, starts)
                ratio = np.divide(diff, B, out=B)
                if not np.isfinite(ratio).all():  # 0/0 where both are 0, and a nan |Δ|, count as 0
                    ratio = np.where(diff > 0, ratio, 0.0)
                worst = _segment_max(ratio, starts)
                for k, (name, *_) in enumerate(whole):
                    w = float(worst[k])
                    eff = (float(max_abs[k]) / w if 0 < w < math.inf else (float(b_max[k]) if w == 0 else 0.0))
                    errors[name][o] = Agreement(float(max_abs[k]), float(max_rel[k]), eff,
                                                bool(finite[k]) and w <= 1.0)
            else:
                tol = tolerance(dtype, _KIND[o])
                bound = np.where(np.isfinite(scale), tol.atol + tol.rtol * scale, np.inf)
                ratio = diff / np.repeat(bound, sizes)
                for k, (name, *_) in enumerate(whole):
                    errors[name][o] = Agreement(float(max_abs[k]), float(max_rel[k]), float(bound[k]),
                                                bool(finite[k]) and bool(max_abs[k] <= bound[k]))
        ratios.append(ratio)
    # The worst element: largest error in units of each oracle's own bound,
    # so a loose oracle's rounding does not outrank a tight oracle's miss (a nan anywhere: that entry).
    # A nan outranks an inf (a non-finite value before a zero bound's inf ratio), as np.nan_to_num(nan=inf) ranks them.
    ratio = functools.reduce(np.maximum, ratios)
    if not np.isfinite(ratio).all():
        ratio = np.where(np.isnan(ratio), np.inf, np.where(ratio == np.inf, np.finfo(np.float64).max, ratio))
    for k, (name, c, refs, _) in enumerate(whole):
        idx = np.unravel_index(int(np.argmax(ratio[starts[k]:starts[k] + sizes[k]])), c.shape)
        values = {"candidate": float(c[idx]), **{o: float(r[idx]) for o, r in refs.items()}}
        out[name] = (errors[name], tuple(int(i) for i in idx), values, "")
    return {name: out[name] for name, *_ in leaves}


def _oracle_agrees_with_jax(leaves, oracle: str, dtype) -> bool:
    """:func:`reference.tolerances.allclose_tree` of ``oracle``'s gradient against jax.grad's, over the
    leaves laid end to end (the same per-leaf rule: ``max|Δ| <= atol + rtol·scale``, any nan or inf fails)."""
    pairs = [(refs[oracle], refs["jax"]) for _, _, _, refs in leaves if refs["jax"].size]
    if not pairs:
        return True
    if any(r.shape != j.shape for r, j in pairs):
        return False
    sizes = np.array([j.size for _, j in pairs])
    starts = np.cumsum(sizes) - sizes
    R = np.concatenate([np.ravel(r).astype(np.float64) for r, _ in pairs])
    J = np.concatenate([np.ravel(j).astype(np.float64) for _, j in pairs])
    if not (np.isfinite(R).all() and np.isfinite(J).all()):
        return False
    err = np.maximum.reduceat(np.abs(R - J), starts)
    scale = np.maximum(np.maximum.reduceat(np.abs(R), starts), np.maximum.reduceat(np.abs(J), starts))
    tol = tolerance(dtype, _KIND[oracle])
    return bool(np.all(err <= tol.atol + tol.rtol * scale))


# ---------------------------------------------------------------------------
# Assembling a report
# ---------------------------------------------------------------------------

def _candidate_tree(out, n_layers: int, what: str) -> list:
    """The candidate's ``[(dW, db), ...]`` as NumPy arrays (None kept), length-checked."""
    if isinstance(out, (str, bytes, np.ndarray)) or not hasattr(out, "__len__") or len(out) != n_layers:
        got = len(out) if hasattr(out, "__len__") and not isinstance(out, np.ndarray) else type(out).__name__
        raise ValueError(f"{what} must return one (dW, db) pair per layer ({n_layers}), got {got}")
    tree = []
    for l, pair in enumerate(out):
        try:
            dW, db = pair
        except (TypeError, ValueError):
            raise TypeError(f"{what} returned {type(pair).__name__} for layer {l + 1}, expected a (dW, db) pair") from None
        leaves = tuple(None if v is None else np.asarray(v) for v in (dW, db))
        for k, v in zip("Wb", leaves):
            if v is not None and v.dtype.kind not in "iuf":
                raise TypeError(f"{what} returned a d{k}{l + 1} of dtype {v.dtype}; expected real numbers")
        tree.append(leaves)
    return tree


def _name_of(fn) -> str:
    qual = getattr(fn, "__qualname__", None)
    if qual is None:  # functools.partial and other callables: their repr says more
        return repr(fn)
    mod = getattr(fn, "__module__", None)
    return f"{mod}.{qual}" if mod else qual


def _build(*, model, n_batch, dtype, n_params, candidate, jax_method, numerical, leaves, oracle_trees,
           methods, skipped, conv, n_layers=0, layers_fn=None, directional=None, kinks=False, step=0.0,
           input_leaf=None, mistakes_fn=None, layout="row", jax_bounds=None, jax_note="", compared=None):
    """Compare, triangulate, diagnose and localise; return the :class:`GradientReport`.

    ``leaves``: ``[(name, layer, candidate array, {oracle: array})]`` in
    parameter order; ``oracle_trees``: oracle -> its whole gradient tree
    (for oracle-vs-jax checks); ``layers_fn(rows, grads_agree)`` gives
    ``(layers, source)`` for the localisation.  ``input_leaf``: ``(candidate
    ∂L/∂x, {oracle: array})`` or None.  ``mistakes_fn()``: the named
    mistakes (dicts from :mod:`reference.mistakes`), called only when the
    candidate disagrees.  ``jax_bounds``: parameter name -> per-entry
    rounding bound for the candidate vs jax.grad (else the table);
    ``jax_note``: what the jax oracle's line says about that bound; ``compared``:
    :func:`_compare_leaves` of these leaves and bounds, if the caller has it already.
    """
    if compared is None:
        compared = _compare_leaves(leaves, dtype, jax_bounds)
    numerical_oracles = [o for o in oracle_trees if o != "jax"]
    cand_ok = {o: all(o in compared[n][0] and compared[n][0][o].ok for n, *_ in leaves) for o in oracle_trees}
    jax_ok = {o: _oracle_agrees_with_jax(leaves, o, dtype) for o in numerical_oracles}
    if directional is not None:
        cand_ok["directional"] = directional.errors["candidate"].ok
        jax_ok["directional"] = directional.errors["jax"].ok
    blamed = _triangulate(cand_ok, jax_ok)

    rows = []
    for name, layer, c, refs in leaves:
        errors, idx, values, note = compared[name]
        ok = not note and all(a.ok or o in blamed for o, a in errors.items())
        shape = tuple(refs["jax"].shape)
        rows.append(ParamComparison(name, layer, shape, errors, idx, values, ok, note))
    rows = tuple(rows)
    x_row = _input_row(input_leaf, dtype) if input_leaf is not None else None

    oracles = [OracleStatus("jax", methods["jax"], "agree" if cand_ok["jax"] else "disagree", None, jax_note)]
    for o in [*numerical_oracles, *(["directional"] if directional is not None else [])]:
        status = "blamed" if o in blamed else ("agree" if cand_ok[o] else "disagree")
        oracles.append(OracleStatus(o, methods[o], status, jax_ok[o]))
    oracles += [OracleStatus(o, methods[o], "skipped", None, why) for o, why in skipped.items()]

    diagnosis = [Finding("skipped", f"{LABELS[o]} skipped: {why}", {"oracle": o}) for o, why in skipped.items()]
    by_name = {name: (c, refs["jax"]) for name, _, c, refs in leaves}
    bad = [r.name for r in rows if not r.errors.get("jax", _MISSING).ok]
    comparable = [n for n in bad if not compared[n][3]]
    transposes = _transpose_findings(by_name, bad, dtype, layout)
    if comparable and len(comparable) == len(bad):
        factor = _factor_finding(by_name, bad, n_batch, conv, dtype)
        if factor is not None:
            diagnosis.append(factor)
    x_bad = x_row is not None and not x_row.ok
    named = mistakes_fn() if mistakes_fn is not None and (bad or x_bad) else []
    is_layout = any(m["mistake"] == "layout" for m in named)
    if is_layout:  # every transposed dW and odd shape is the layout, said once
        transposes = []
    diagnosis += transposes
    diagnosis += [Finding("mistake", m["text"], {"mistake": m["mistake"], "layer": m["layer"], "layers": m["layers"]})
                  for m in named if not (m["mistake"] == "transposed_gradient"
                                         and any(f.detail["layer"] == m["layer"] for f in transposes))]
    explained = is_layout or bool(named)  # a named mistake reproduces every leaf, odd shapes included
    for r in rows:
        if r.note and not explained and not any(f.detail.get("parameter") == r.name for f in transposes):
            c, ref = by_name[r.name]
            text = f"the gradient for {r.name}: {r.note}"
            if c is not None and c.size == ref.size and allclose_tree([np.reshape(c, ref.shape)], [ref], dtype=dtype,
                                                                      kind="jax"):
                text += f"; its values are right: return it with shape {tuple(ref.shape)}"
            diagnosis.append(Finding("shape", text, {"parameter": r.name}))
    if x_bad and x_row.note and not explained:
        diagnosis.append(Finding("shape", f"the input gradient: {x_row.note}", {"parameter": "x"}))
    for o in sorted(blamed):
        diagnosis.append(Finding("oracle", _oracle_blame_text(o, kinks, step), {"oracle": o}))
    others = [o for o in jax_ok if cand_ok[o]]
    if not cand_ok["jax"] and others and not any(jax_ok.values()) and len(others) == len(jax_ok):
        diagnosis.append(Finding(
            "reference",
            f"the candidate agrees with {' and '.join(LABELS[o] for o in others)} but not with jax.grad: suspect "
            "the JAX reference model (or a convention it and the candidate read differently), not the candidate",
            {"oracles": others}))

    layers, source = layers_fn(rows, cand_ok["jax"]) if layers_fn is not None else ((), "gradients")
    formation = {f.detail["parameter"] for f in transposes}
    localisation = _localise(rows, layers, source, n_layers, formation) if n_layers else None
    if is_layout and localisation is not None:
        localisation = Localisation(localisation.layer, localisation.source, False, localisation.parameters,
                                    "no layer: the candidate's numbers are in another layout (see the diagnosis), "
                                    "which says nothing about its deltas")
    elif localisation is None and x_bad and n_layers:
        localisation = Localisation(1, source, False, ("x",), (
            "the input gradient only: every parameter gradient agrees, so δ_1 is right and the mistake is in "
            "∂L/∂x = δ_1 W_1ᵀ"))
    ok = cand_ok["jax"] and all(cand_ok[o] or o in blamed for o in jax_ok) and not x_bad
    return GradientReport(model, n_batch, np.dtype(dtype).name, n_params, candidate, jax_method, numerical,
                          tuple(oracles), rows, directional, tuple(layers), localisation, tuple(diagnosis), bool(ok),
                          x_row)


def _input_row(input_leaf, dtype) -> ParamComparison:
    """The row ``x``: the candidate's ∂L/∂x against jax.grad's and the complex step's.

    The complex step is blamed (its disagreement ignored) when it disagrees
    with jax.grad and the candidate agrees with jax.grad, as for the parameters.
    """
    c, refs = input_leaf
    errors, idx, values, note = _compare_leaf(None if c is None else np.asarray(c), refs, dtype)
    blamed = ("complex_step" in refs and errors.get("jax", _MISSING).ok
              and not _agreement(refs["complex_step"], refs["jax"], dtype, "complex_step").ok)
    ok = not note and all(a.ok or (o == "complex_step" and blamed) for o, a in errors.items())
    return ParamComparison("x", 0, tuple(refs["jax"].shape), errors, idx, values, ok, note)


# ---------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------

def _model_of(net, spec) -> dict:
    describe = net.describe() if callable(getattr(net, "describe", None)) else (
        "-".join(map(str, spec.sizes)) + " " + ",".join(map(str, spec.activations)) + f" {spec.loss.name} {spec.reduction}")
    return {
        "kind": "mlp", "describe": describe, "sizes": list(spec.sizes),
        "activations": [str(a) for a in spec.activations],
        "loss": spec.loss.name, "reduction": spec.reduction, "half": spec.half, "bias": list(spec.bias),
        "l2": spec.l2,
    }


def numerical_mode(n_params: int, n_batch: int, n_weights: int, *, numerical: str = "auto",
                   max_per_parameter: int = MAX_PER_PARAMETER) -> str:
    """The numerical oracles ``compare`` uses: ``numerical`` itself unless it is ``"auto"``, then
    ``"per_parameter"`` up to ``max_per_parameter`` parameters and :data:`PER_PARAMETER_BUDGET`
    (``n_params · n_batch · n_weights``), else ``"directional"``."""
    if numerical != "auto":
        return numerical
    affordable = n_params <= max_per_parameter and n_params * n_batch * n_weights <= PER_PARAMETER_BUDGET
    return "per_parameter" if affordable else "directional"


def _auto_path(checked) -> str:
    """``"fast"`` or ``"plain"`` for ``jax_path="auto"``: whichever answers without compiling, else the cheaper
    compilation for what this process has done so far.

    The plain definition compiles per architecture (~0.2-0.3 s, then ~0.15 ms a call); the padded frame once
    for every small net (~1-2 s, then ~0.4 ms a call).  So a process checking one or a few architectures
    (a CLI run, a unit test) compiles the plain one for each, and one checking many (a Hypothesis
    property) switches to the frame after :data:`_PLAIN_COMPILES_BEFORE_FAST` plain compilations.
    """
    from . import fast as _fast
    from . import model as _model

    spec, params, x, y, dtype = checked
    if max(spec.sizes) > _FAST_MAX or x.shape[0] > _FAST_MAX or spec.n_layers > _FAST_MAX or _unsupported(spec):
        return "plain"
    if _model._arch_key(*checked) in _model.COMPILED:
        return "plain"
    if _fast.frame(spec, x, dtype) in _fast.COMPILED:
        return "fast"
    dt = np.dtype(dtype).name
    return "plain" if sum(k[-1] == dt for k in _model.COMPILED) < _PLAIN_COMPILES_BEFORE_FAST else "fast"


def _jax_source(checked, path: str):
    """``(grads, deltas thunk, input-gradient thunk, method)`` from the padded fast path or the plain definition.

    The fast path has no ∂L/∂x of its own; there it is jax.grad's own
    ``δ_1`` times ``W_1ᵀ`` (``z_1 = x W_1 + b_1``, so ``∂L/∂x = δ_1 W_1ᵀ``
    exactly), which spares every small net a compilation of its own.
    """
    spec, params, x = checked[:3]
    if path == "auto":
        path = _auto_path(checked)
    if path == "fast":
        d = _fast_derivatives(*checked)
        W1 = params[0][0]
        return (d.gradients, (lambda: d.deltas), (lambda: d.deltas[0] @ W1.T),
                "reference.fast_derivatives (jax.grad, in a padded frame jitted once per dtype)")
    # One jitted jax.value_and_grad gives the gradients and the deltas; ∂L/∂x = δ_1 W_1ᵀ when asked for.
    _, grads, ds = _dispatch(*checked)()
    return grads, (lambda: ds), (lambda: _input_gradient(ds, params)), _PLAIN_METHOD


_PLAIN_METHOD = "reference.gradients (jax.grad, jitted per architecture)"


def _jax_source_started(checked, path: str):
    """:func:`_jax_source`, started now and waited for when the returned function is called: on the plain
    path XLA computes while the caller runs NumPy work (the candidate, the rounding bound)."""
    if path == "auto":
        path = _auto_path(checked)
    if path == "fast":
        out = _jax_source(checked, "fast")
        return lambda: out
    params = checked[1]
    pending = _dispatch(*checked, copy=False)

    def result():
        _, grads, ds = pending()
        return grads, (lambda: ds), (lambda: _input_gradient(ds, params)), _PLAIN_METHOD
    return result


#: The complex step in x builds ``n_batch·n_in`` perturbed forward passes, this many elements at a time.
_X_CHUNK_ELEMENTS = 1 << 22


def _complex_step_input_gradient(spec, params, x, y, dtype):
    """``∂L/∂x`` by the complex step, ``(n_batch, sizes[0])``: one step ``ih`` per input element.

    ``z_1 = x W_1 + b_1`` is linear in ``x``, so stepping ``x[n, i]`` by
    ``ih`` is adding ``ih·W_1[i, :]`` to row ``n`` of ``z_1``: the
    perturbations ``e`` that :func:`reference.model.loss_xp` adds to ``z_1``,
    many at once on a leading axis.  ``params``, ``x``, ``y`` checked (``y`` one-hot).
    """
    from .numerical import _COMPLEX

    h = COMPLEX_STEP[np.dtype(dtype)]
    N, n_in = x.shape
    W1 = params[0][0]
    n1 = W1.shape[1]
    K = N * n_in
    per = max(1, _X_CHUNK_ELEMENTS // (N * max(spec.sizes)))
    out = np.empty(K, dtype=np.float64)
    rest = [0.0] * (spec.n_layers - 1)
    for k0 in range(0, K, per):
        k = np.arange(k0, min(K, k0 + per))
        n, i = np.divmod(k, n_in)
        e = np.zeros((k.size, N, n1), dtype=_COMPLEX[np.dtype(dtype)])
        e[np.arange(k.size), n, :] = 1j * h * W1[i, :]
        out[k] = np.imag(loss_xp(np, spec, params, x, y, [e, *rest])) / h
    return out.reshape(N, n_in).astype(dtype)


def compare(net, params, x, y, *, candidate=None, candidate_deltas=None, candidate_input_gradient=None,
            taylor=None,
            layout: str = "row", per_sample: bool = False, numerical: str = "auto",
            max_per_parameter: int = MAX_PER_PARAMETER, n_directions: int = N_DIRECTIONS, seed=0,
            jax_path: str = "auto") -> GradientReport:
    """Compare a candidate's gradients with jax.grad and numerical derivatives.

    Parameters
    ----------
    net, params, x, y
        As for :func:`reference.gradients`: ``params`` a list of ``(W (n_in,
        n_out), b (n_out,) or None)``, ``x`` ``(n_batch, sizes[0])``, ``y``
        ``(n_batch, sizes[-1])`` or integer labels for cross-entropy.
    candidate : callable ``(net, params, x, y) -> [(dW, db), ...]``, optional
        The derivation under test; default ``manual_bp.gradients``.
    candidate_deltas : callable ``(net, params, x, y) -> [δ_1, ..., δ_L]``, optional
        Its deltas ``∂L/∂z_l`` (each ``(n_batch, sizes[l])``), for localising
        from the deltas; default ``manual_bp.deltas`` when ``candidate`` is
        None.  Without it the gradients localise.
    candidate_input_gradient : callable ``(net, params, x, y) -> ∂L/∂x``, optional
        The input gradient ``(n_batch, sizes[0])``, compared with jax.grad
        and (per-parameter mode) the complex step in ``x`` as a row ``x``
        (``report.input_gradient``, JSON ``"input_gradient"``); default
        ``manual_bp.input_gradient`` when ``candidate`` is None.
    taylor : bool or None
        Run the Taylor remainder test (:func:`reference.taylor_test`) on the
        candidate's gradients: a verdict with no tolerance, the order at which
        ``|L(θ + hv) − L(θ) − h⟨g, v⟩|`` shrinks as ``h`` halves (2 right, 1
        wrong).  ``None`` (default): where it is cheap, i.e. up to
        ``max_per_parameter`` parameters, along one direction over all parameters (a few dozen broadcast
        loss evaluations, under a millisecond on small nets), and then along
        one direction per parameter, so the order names a wrong leaf, only
        where that order is not 2 or an oracle disagrees (on a right gradient
        the per-parameter orders add nothing the joint order and the
        per-entry bound have not said, and they cost 4-5 times as much);
        ``True``: everywhere, with one line per parameter up to
        ``max_per_parameter`` parameters (larger nets: the joint direction,
        ~54 loss evaluations); ``False``: never.  The verdict stays with the tolerance
        oracles: an order of 1 where they all agree is reported as a
        ``taylor`` finding (an error below the tolerances, or one of the
        Taylor test's rare false alarms), never as a failure of its own.
    layout : {"row", "column"}
        The layout all three candidate functions take and return.  ``"column"``:
        params ``[(W (n_out, n_in), b (n_out, 1))]``, ``x (n_in, n_batch)``,
        ``y (n_out, n_batch)`` (integer labels stay ``(n_batch,)``); they
        return ``dW (n_out, n_in)``, ``db (n_out, 1)`` or ``(n_out,)``,
        ``δ_l (n_l, n_batch)``, ``∂L/∂x (n_in, n_batch)``.  The report
        names parameters as usual (``W1`` ...) and shows row-layout numbers.
    per_sample : bool
        Call the candidates once per sample and combine by the network's
        reduction; each call returns the gradient of the loss on that
        one-sample batch, the L2 term included once (see :mod:`reference.layout`).
    numerical : {"auto", "per_parameter", "directional", "none"}
        ``auto``: per-parameter central differences and complex step up to
        ``max_per_parameter`` parameters while ``n_params · n_batch ·
        n_weights`` stays under :data:`PER_PARAMETER_BUDGET` (~10-20 ms), random
        directions otherwise (:func:`numerical_mode`).
    n_directions, seed
        Directions for the directional check and their random source.
    jax_path : {"auto", "fast", "plain"}
        :func:`reference.fast_derivatives` (one compilation for every net of
        width, batch and depth <= 8) or :func:`reference.gradients` (one per
        architecture).  ``auto``: plain for big nets and for the first few
        small architectures a process checks, then the padded frame
        (whichever is compiled already comes first).

    Deltas are compared when the candidate supplies them and the net is
    small enough for per-parameter checks, or the gradients disagree (so a
    passing large net does not pay for a second backward pass).
    """
    spec, cparams, cx, cy, dtype = check_all(net, params, x, y)
    check_layout(layout, per_sample)
    if numerical not in _NUMERICAL_MODES:
        raise ValueError(f"numerical must be one of {_NUMERICAL_MODES}, got {numerical!r}")
    if jax_path not in _JAX_PATHS:
        raise ValueError(f"jax_path must be one of {_JAX_PATHS}, got {jax_path!r}")
    if candidate is None:
        if layout != "row" or per_sample:
            raise ValueError("layout and per_sample describe a candidate you pass (candidate=...); the default, "
                             "manual_bp.gradients, is row layout and batched")
        import manual_bp  # the default candidate; reference itself never needs it

        candidate, name = manual_bp.gradients, "manual_bp.gradients"
        candidate_deltas = candidate_deltas or manual_bp.deltas
        candidate_input_gradient = candidate_input_gradient or manual_bp.input_gradient
    elif callable(candidate):
        name = _name_of(candidate)
    else:
        raise TypeError(f"candidate must be a function (net, params, x, y) -> [(dW, db), ...], got {candidate!r}")
    if candidate_deltas is not None and not callable(candidate_deltas):
        raise TypeError(f"candidate_deltas must be a function (net, params, x, y) -> [δ_1, ...], got {candidate_deltas!r}")
    if candidate_input_gradient is not None and not callable(candidate_input_gradient):
        raise TypeError("candidate_input_gradient must be a function (net, params, x, y) -> dL/dx, "
                        f"got {candidate_input_gradient!r}")
    if layout != "row" or per_sample:
        name += f" ({layout} layout" + (", per sample)" if per_sample else ")")
        candidate = adapt_candidate(candidate, layout=layout, per_sample=per_sample)
        if candidate_deltas is not None:
            candidate_deltas = adapt_candidate(candidate_deltas, layout=layout, per_sample=per_sample, kind="deltas")
        if candidate_input_gradient is not None:
            candidate_input_gradient = adapt_candidate(candidate_input_gradient, layout=layout,
                                                       per_sample=per_sample, kind="input_gradient")

    n_params = sum(n_in * n_out + (n_out if b else 0)
                   for n_in, n_out, b in zip(spec.sizes[:-1], spec.sizes[1:], spec.bias))
    n_batch = int(np.shape(x)[0])
    n_weights = sum(n_in * n_out for n_in, n_out in zip(spec.sizes[:-1], spec.sizes[1:]))
    mode = numerical_mode(n_params, n_batch, n_weights, numerical=numerical, max_per_parameter=max_per_parameter)
    checked = (spec, cparams, cx, cy, dtype)
    jax_result = _jax_source_started(checked, jax_path)
    cand = _candidate_tree(candidate(net, params, x, y), spec.n_layers, "candidate")
    # Candidate vs jax.grad: both exact, so each entry may differ by rounding
    # only, bounded from the absolute values of its terms (None: use the table).
    # From _BOUND_SUBSET_FROM rows, first the bound of some rows (_bound_rows).  An input that is 0 in
    # every 8th row, or a relu unit silent there, would leave zeros in that bound; the rows where they
    # are not join it.  Inputs are known now; which relu units are silent where, from jax.grad's deltas.
    big = n_batch >= _BOUND_SUBSET_FROM and mode != "per_parameter"
    kinked = any(a.kinks for a in spec.activations)
    bound_rows = _bound_rows(n_batch, [cx]) if big and not kinked else None
    bounds = _derivative_bounds(*checked, rows=bound_rows) if not (big and kinked) else None
    jgrads, jdeltas, jdx, jmethod = jax_result()
    if big and kinked:
        bound_rows = _bound_rows(n_batch, [cx, *jdeltas()])
        bounds = _derivative_bounds(*checked, rows=bound_rows)

    def jax_bounds_of(bounds):
        if bounds is None:
            return None
        out = {f"{k}{l}": B for l, pair in enumerate(bounds[0], start=1) for k, B in zip("Wb", pair) if B is not None}
        if per_sample and spec.l2 and n_batch > 1:
            # deltacheck's own arithmetic joins the bound: combining N per-sample dW that each carry
            # 2·l2·W sums N copies of it and subtracts N − 1 (reference/layout.py), a rounding of up to
            # ~N·u·(N·|2·l2·W| + |dW|) that no candidate is to blame for (a width-1 softmax, whose data
            # gradient is exactly 0, leaves nothing else to hide it).
            u = float(np.finfo(dtype).eps) / 2
            for l, (W, _) in enumerate(cparams, start=1):
                data = np.abs(np.asarray(jgrads[l - 1][0], np.float64))
                out[f"W{l}"] = out[f"W{l}"] + 4 * n_batch * u * (
                    n_batch * 2 * spec.l2 * np.abs(W.astype(np.float64)) + data)
        return out

    jax_bounds = jax_bounds_of(bounds)

    trees = {"jax": jgrads}
    methods = {"jax": jmethod}
    skipped = {}
    has_kinks = any(a.kinks for a in spec.activations)
    step = CENTRAL_STEP[np.dtype(dtype)]
    directional = None
    if mode == "per_parameter":
        methods["central"] = "per-parameter central differences, h = ∛ε·max(1, |θ_j|)"
        methods["complex_step"] = f"per-parameter complex step, h = {COMPLEX_STEP[np.dtype(dtype)]:g}"
        try:
            trees["central"] = _central_difference(*checked)
        except KinkCrossingError as exc:
            skipped["central"] = f"a step crossed a relu kink, so its quotient is no derivative ({exc})"
        trees["complex_step"] = _complex_step(*checked)
    elif mode == "directional":
        methods["directional"] = (f"central differences along {n_directions} random unit directions, "
                                  "h = ∛ε·max(1, max|θ|)")
        # The validated copies, like every other oracle: a candidate that changes its own arguments in
        # place cannot move one oracle's inputs and not another's.
        directional = _directional(net, checked, cand, jgrads, n_directions, seed)

    leaves = []
    for l, (c_pair, j_pair) in enumerate(zip(cand, jgrads), start=1):
        for k, kind in enumerate("Wb"):
            if j_pair[k] is None:
                if c_pair[k] is not None:
                    raise ValueError(f"candidate returned a bias gradient for layer {l}, which has no bias")
                continue
            leaves.append((f"{kind}{l}", l, c_pair[k], {o: t[l - 1][k] for o, t in trees.items()}))

    input_leaf = None
    cand_dx = None
    if candidate_input_gradient is not None:
        cand_dx = candidate_input_gradient(net, params, x, y)
        if cand_dx is not None:
            cand_dx = np.asarray(cand_dx)
            if cand_dx.dtype.kind not in "iuf":
                raise TypeError(f"candidate_input_gradient returned an array of dtype {cand_dx.dtype}; "
                                "expected real numbers")
        dx_refs = {"jax": jdx()}
        if mode == "per_parameter":
            dx_refs["complex_step"] = _complex_step_input_gradient(spec, cparams, cx, cy, dtype)
        input_leaf = (cand_dx, dx_refs)

    def mistakes_fn():
        ref_dx = None if input_leaf is None else input_leaf[1]["jax"]
        named = _mistakes.name_mistakes(net, spec, cparams, cx, cy, dtype, cand, cand_dx, jgrads, ref_dx,
                                        layout=layout, per_sample=per_sample)
        lay = _mistakes.layout_mismatch(cand, jgrads, cand_dx, ref_dx, spec.n_layers, layout, dtype)
        return ([lay] if lay is not None else []) + named

    def layers_fn(rows, grads_agree: bool):
        if mode != "per_parameter" and grads_agree:
            return (), "gradients"  # a large passing net need not pay for a second backward pass
        if candidate_deltas is None:
            return _layers_from_gradients(rows, spec.n_layers), "gradients"
        cd = candidate_deltas(net, params, x, y)
        if isinstance(cd, np.ndarray) or not hasattr(cd, "__len__") or len(cd) != spec.n_layers:
            raise ValueError(f"candidate_deltas must return one δ per layer ({spec.n_layers})")
        jd = jdeltas()
        # The whole batch's delta bounds: a check the rows' bound decided passed in directional mode, so
        # it returned above.
        assert bound_rows is None
        dbounds = None if bounds is None else bounds[1]
        return tuple(LayerComparison(l, f"δ_{l}", _agreement_or_mismatch(
            cd[l - 1], jd[l - 1], dtype, None if dbounds is None else dbounds[l - 1]))
                     for l in range(spec.n_layers, 0, -1)), "deltas"

    jax_note, compared = "", None
    if bound_rows is not None and bounds is not None:
        compared = _compare_leaves(leaves, dtype, jax_bounds)
        if all(not compared[n][3] and compared[n][0]["jax"].ok for n, *_ in leaves):
            jax_note = (f"each entry within its rounding bound estimated from {len(bound_rows)} of the {n_batch} batch rows "
                        f"(every {_BOUND_STRIDE}th, and those where an input or unit 0 in all of those is not): a "
                        "lower bound on the whole batch's, so within it is within that")
        else:  # the whole batch's bound decides
            bounds, bound_rows = _derivative_bounds(*checked), None
            jax_bounds, compared = jax_bounds_of(bounds), None

    report = _build(
        model=_model_of(net, spec), n_batch=n_batch, dtype=dtype, n_params=n_params, candidate=name,
        jax_method=jmethod, numerical=mode, leaves=leaves, oracle_trees=trees, methods=methods, skipped=skipped,
        conv={"half": spec.half, "reduction": spec.reduction, "squared_error": spec.loss.name == "squared_error",
              "n_out": spec.sizes[-1]},
        n_layers=spec.n_layers, layers_fn=layers_fn, directional=directional, kinks=has_kinks, step=step,
        input_leaf=input_leaf, mistakes_fn=mistakes_fn, layout=layout, jax_bounds=jax_bounds, jax_note=jax_note,
        compared=compared,
    )
    if taylor is None:
        if n_params > max_per_parameter:
            return report
        per_parameter = "if_needed"
    elif not taylor:
        return report
    else:
        per_parameter = "always" if n_params <= max_per_parameter else "never"
    return _with_taylor(report, checked, net, cand, per_parameter=per_parameter, seed=seed)


def _with_taylor(report: GradientReport, checked, net, cand, *, per_parameter: str, seed) -> GradientReport:
    """``report`` with the Taylor remainder test of the candidate's (row-layout) gradients ``cand`` added:
    an oracle line, the orders in the text, ``"taylor"`` in JSON, and a finding when it alone objects.

    ``per_parameter``: ``"always"``, ``"never"``, or ``"if_needed"`` (one direction per parameter
    only when the joint direction's order is not 2 or an oracle disagrees)."""
    from .taylor import taylor_test

    method = ("Taylor remainder test: the order at which |L(θ + hv) − L(θ) − h⟨g, v⟩| shrinks as h halves "
              "(2: g is the gradient along v; 1: it is not)"
              + {"always": "; one direction over all parameters, then one per parameter",
                 "if_needed": ("; one direction over all parameters, then one per parameter where that order "
                               "is not 2 or an oracle disagrees"),
                 "never": "; one direction over all parameters"}[per_parameter])
    why = ""
    if any(p.note for p in report.params):
        why = "the candidate's gradients have the wrong shapes"
    elif not all(np.isfinite(v).all() for pair in cand for v in pair if v is not None):
        why = "the candidate's gradients contain NaN or inf"
    if why:
        status = OracleStatus("taylor", method, "skipped", None, why)
        return dataclasses.replace(report, oracles=report.oracles + (status,))
    _, params, x, y, _ = checked
    # A Generator is copied for the first run, so a per-parameter rerun draws the same joint direction
    # (the line that triggered it) from the generator's untouched state.
    first_seed = copy.deepcopy(seed) if isinstance(seed, np.random.Generator) else seed
    tr = taylor_test(net, params, x, y, gradients=cand, per_parameter=per_parameter == "always", seed=first_seed,
                     _checked=checked)
    if per_parameter == "if_needed" and (tr.ok is not True or not report.ok):
        tr = taylor_test(net, params, x, y, gradients=cand, per_parameter=True, seed=seed, _checked=checked)
    status = {True: "agree", False: "disagree", None: "skipped"}[tr.ok]
    note = "" if tr.ok is not None else "no verdict: " + tr.worst.message
    oracles = report.oracles + (OracleStatus("taylor", method, status, None, note),)
    diagnosis = report.diagnosis
    if tr.ok is False and report.ok:
        # Every tolerance oracle agrees but the order is 1.  Either the error is below every tolerance,
        # or the Taylor test cried wolf (it can, rarely: float32 with few usable halvings, or a loss
        # almost linear along v in the harsh regime -- docs/power.md counts them).  The verdict stays
        # with the oracles; the finding says what to look at.
        wrong = [p.name for p in (tr.parameters or ()) if p.ok is False] or ["a random direction"]
        diagnosis += (Finding("taylor", (
            f"the Taylor test gives order 1 along {', '.join(wrong)} although every oracle agrees within its "
            "tolerance: an error smaller than the tolerances, or a false alarm of the Taylor test (float32, few "
            "usable halvings); rerun with more directions (reference.taylor_test(..., n_directions=8)) or in "
            "float64 to tell them apart (docs/taylor.md)"), {"parameters": wrong, "order": tr.order}),)
    return dataclasses.replace(report, taylor=tr, oracles=oracles, diagnosis=diagnosis)


def _agreement_or_mismatch(actual, expected, dtype, bound=None) -> Agreement:
    """``jax``-kind :class:`Agreement` (entry by entry under ``bound`` if given), or a failing one when the shapes differ."""
    actual = np.asarray(actual)
    if actual.shape != expected.shape:
        return _MISSING
    return _agreement(actual, expected, dtype, "jax", bound)


def _layers_from_gradients(rows, n_layers: int) -> tuple:
    """Per layer, from the output down: the worst of its parameters' agreement with jax.grad."""
    out = []
    for l in range(n_layers, 0, -1):
        mine = [r for r in rows if r.layer == l]
        agreements = [r.errors.get("jax", _MISSING) for r in mine]
        out.append(LayerComparison(l, ", ".join(r.name for r in mine), Agreement(
            max(a.max_abs for a in agreements), max(a.max_rel for a in agreements),
            min((a.bound for a in agreements if not math.isnan(a.bound)), default=math.nan),
            all(a.ok for a in agreements))))
    return tuple(out)


def _directional(net, checked, cand, jgrads, n_directions, seed) -> DirectionalCheck:
    """Directional derivatives vs ``∇L · v_k`` of the candidate and of jax.grad (``checked``: from check_all)."""
    note = ""
    _, params, x, y, dtype = checked
    try:
        derivs, dirs = directional_derivatives(net, params, x, y, n_directions=n_directions, seed=seed,
                                               _checked=checked, _copy=False)
    except KinkCrossingError:
        # Among millions of relu units a few always sit within one step of
        # their kink; each moves ∇L·v by a negligible amount, so the quotient
        # is still worth comparing, flagged, and never held against the candidate.
        derivs, dirs = directional_derivatives(net, params, x, y, n_directions=n_directions, seed=seed,
                                               check_kinks=False, _checked=checked, _copy=False)
        note = "some steps crossed a relu kink (checked anyway, check_kinks=False)"
    projected = {"jax": project_gradients(jgrads, dirs)}
    errors = {"jax": _agreement(projected["jax"], derivs, dtype, "directional")}
    try:
        projected["candidate"] = project_gradients(cand, dirs)
        errors["candidate"] = _agreement(projected["candidate"], derivs, dtype, "directional")
    except (ValueError, TypeError) as exc:  # wrong shapes or non-finite values: the rows say which
        projected["candidate"] = np.full(derivs.shape, np.nan)
        errors["candidate"] = _MISSING
        note = f"the candidate's gradients cannot be projected: {exc}"
    return DirectionalCheck(int(n_directions), derivs, projected, errors, note)


def check_gradients(grad_fn, net, params, x, y, **kwargs) -> GradientReport:
    """Assert that ``grad_fn(net, params, x, y)`` gives the right gradients; return the report.

    Raises AssertionError carrying the full :class:`GradientReport` text
    (per-parameter errors, the layer where it goes wrong, the diagnosis) when
    it disagrees.  ``kwargs`` go to :func:`compare` (``candidate_deltas``,
    ``candidate_input_gradient``, ``layout="column"``, ``per_sample=True``,
    ``numerical``, ...).  Works inside Hypothesis tests::

        @given(reference.strategies.problems(max_depth=3))
        def test_my_backprop(p):
            reference.check_gradients(my_grad_fn, p.net, p.params, p.x, p.y)
    """
    if not callable(grad_fn):
        raise TypeError(f"grad_fn must be a function (net, params, x, y) -> [(dW, db), ...], got {grad_fn!r}")
    report = compare(net, params, x, y, candidate=grad_fn, **kwargs)
    if not report.ok:
        raise AssertionError(f"{_name_of(grad_fn)} disagrees with the oracles\n{report}")
    return report


# ---------------------------------------------------------------------------
# Document 003's perceptron criterion
# ---------------------------------------------------------------------------

def _criterion_xp(xp, w, phi, t):
    """``E_p(w) = Σ_{n∈M} −wᵀφ_n t_n`` for ``w`` ``(..., d)``, ``phi`` ``(n, d)``, ``t`` ``(n,)``: shape ``(...)``.

    ``M`` (``t_n wᵀφ_n <= 0``: a point on the boundary counts as
    misclassified, as in manual_bp) is read off the real part, so the
    complex step sees the same set as the real function.
    """
    s = w @ phi.T
    return -xp.sum(xp.where(t * xp.real(s) <= 0, s * t, 0 * s), axis=-1)


def _jax_criterion_grad(w, phi, t):
    import jax
    import jax.numpy as jnp

    global _CRITERION_GRAD
    if _CRITERION_GRAD is None:  # built on first use: compiled once per process
        _CRITERION_GRAD = jax.jit(jax.grad(lambda w, phi, t: _criterion_xp(jnp, w, phi, t)))
    with jax.enable_x64(True):
        return np.array(_CRITERION_GRAD(w, phi, t), dtype=np.float64)


_CRITERION_GRAD = None


def _perceptron_data(w, x, t, bias: bool):
    """Checked float64 ``(w (d,), phi (n, d), t (n,))`` with ``phi = [1, x]`` if ``bias``."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 1 or not np.isfinite(x).all():
        raise ValueError(f"x must be a finite (n_samples, n_features) array, got shape {x.shape}")
    phi = np.hstack([np.ones((x.shape[0], 1)), x]) if bias else x
    t = np.asarray(t, dtype=np.float64)
    if t.shape != (x.shape[0],) or not np.isin(t, (-1.0, 1.0)).all():
        raise ValueError(f"t must hold one target +1 or −1 per sample, shape ({x.shape[0]},)")
    w = np.asarray(w, dtype=np.float64)
    if w.shape != (phi.shape[1],) or not np.isfinite(w).all():
        raise ValueError(f"w must be a finite vector of shape ({phi.shape[1]},) to match φ(x), got {w.shape}")
    return w, phi, t


def _criterion_central(w, phi, t):
    """Central differences of ``E_p``; raises KinkCrossingError if a step moves a point across the boundary."""
    h = CENTRAL_STEP[np.dtype(np.float64)] * np.maximum(1.0, np.abs(w))
    rows = np.concatenate([w + np.diag(h), w - np.diag(h)])
    side = t * (rows @ phi.T) <= 0
    if (side != (t * (phi @ w) <= 0)).any():
        raise KinkCrossingError("a step moves a sample across the decision boundary wᵀφ = 0, where E_p has a kink")
    values = _criterion_xp(np, rows, phi, t)
    d = w.size
    return (values[:d] - values[d:]) / (rows[np.arange(d), np.arange(d)] - rows[d + np.arange(d), np.arange(d)])


def _criterion_complex(w, phi, t):
    h = COMPLEX_STEP[np.dtype(np.float64)]
    rows = w + 1j * h * np.eye(w.size)
    return _criterion_xp(np, rows, phi, t).imag / h


def compare_perceptron(w, x, t, *, bias: bool = True, candidate=None) -> GradientReport:
    """Document 003's perceptron criterion: a candidate ``∇E_p(w)`` against jax.grad and numerical derivatives.

    ``E_p(w) = Σ_{n∈M} −wᵀφ(x_n) t_n`` over the misclassified set ``M``, with
    ``φ(x) = [1, x]`` when ``bias`` (so ``w`` is ``(n_features + 1,)``),
    ``x`` ``(n, n_features)`` and ``t`` ``(n,)`` of ±1.  ``candidate(w, x, t,
    bias=bias)`` defaults to ``manual_bp.perceptron_gradient``.  E_p is
    piecewise linear: central differences are exact unless a step moves a
    sample across the boundary (then they are skipped, see the report).
    """
    w, phi, t = _perceptron_data(w, x, t, bias)
    if candidate is None:
        import manual_bp

        candidate, name = manual_bp.perceptron_gradient, "manual_bp.perceptron_gradient"
    else:
        name = _name_of(candidate)
    c = np.asarray(candidate(w.copy(), np.asarray(x, dtype=np.float64), t.copy(), bias=bias))
    trees = {"jax": [_jax_criterion_grad(w, phi, t)]}
    skipped = {}
    try:
        trees["central"] = [_criterion_central(w, phi, t)]
    except KinkCrossingError as exc:
        skipped["central"] = str(exc)
    trees["complex_step"] = [_criterion_complex(w, phi, t)]
    methods = {"jax": "jax.grad of the criterion (jitted)", "central": "per-weight central differences",
               "complex_step": "per-weight complex step"}
    d = w.size
    model = {"kind": "perceptron", "describe": f"perceptron, {d - bias} inputs{' + bias' if bias else ''}, step output, "
             "criterion Σ_M −wᵀφ t", "n_features": d - int(bias), "bias": bool(bias)}
    return _build(model=model, n_batch=phi.shape[0], dtype=np.float64, n_params=d, candidate=name,
                  jax_method=methods["jax"], numerical="per_parameter",
                  leaves=[("w", 1, c, {o: tree[0] for o, tree in trees.items()})], oracle_trees=trees,
                  methods=methods, skipped=skipped, conv={}, step=CENTRAL_STEP[np.dtype(np.float64)])


# ---------------------------------------------------------------------------
# The finite-difference step curve
# ---------------------------------------------------------------------------

def step_curve(net, params, x, y, *, steps=None, n_directions: int = 4, seed=0) -> dict:
    """Central-difference error against the step ``h``: the V-shaped curve.

    Along ``n_directions`` random unit directions ``v_k`` (over all
    parameters), ``(L(θ + h v) − L(θ − h v)) / 2h`` is compared with the
    exact ``∇L · v`` from jax.grad for every ``h`` in ``steps`` (default:
    1e-15 ... 1 in float64, 1e-8 ... 1 in float32).  Truncation error grows
    like h² to the right, rounding like ε/h to the left.

    Returns a dict: ``steps`` and ``central`` (arrays, the relative error
    ``max_k |FD_k − ∇L·v_k| / max_k |∇L·v_k|`` per step), ``complex_step``
    (the same error of the per-parameter complex step, a reference line),
    ``default_step`` (``∛ε · max(1, max|θ|)``, the directional oracle's h)
    and ``dtype``.
    """
    spec, params, x, y, dtype = check_all(net, params, x, y)
    if steps is None:
        steps = np.logspace(-15, 0, 61) if dtype == np.float64 else np.logspace(-8, 0, 33)
    steps = np.asarray(steps, dtype=np.float64)
    rng = np.random.default_rng(seed)
    K = int(n_directions)
    V = [(rng.standard_normal((K, *W.shape)), None if b is None else rng.standard_normal((K, *b.shape)))
         for W, b in params]
    norm = np.sqrt(sum((VW**2).sum(axis=(1, 2)) + (0 if Vb is None else (Vb**2).sum(axis=1)) for VW, Vb in V))
    V = [((VW / norm[:, None, None]).astype(dtype), None if Vb is None else (Vb / norm[:, None]).astype(dtype))
         for VW, Vb in V]
    exact = project_gradients(jax_gradients(net, params, x, y), V)
    scale = float(np.abs(exact).max()) or 1.0

    def shifted(h):
        return [(W + h * VW, None if b is None else b + h * Vb) for (W, b), (VW, Vb) in zip(params, V)]

    central = []
    for h in steps:
        fd = (loss_xp(np, spec, shifted(h), x, y) - loss_xp(np, spec, shifted(-h), x, y)) / (2 * h)
        central.append(float(np.abs(fd - exact).max()) / scale)
    cs = project_gradients(complex_step_gradients(net, params, x, y), V)
    theta_max = max(float(np.abs(a).max()) for pair in params for a in pair if a is not None)
    return {
        "steps": steps, "central": np.array(central),
        "complex_step": float(np.abs(cs - exact).max()) / scale,
        "default_step": CENTRAL_STEP[np.dtype(dtype)] * max(1.0, theta_max),
        "dtype": np.dtype(dtype).name,
    }


