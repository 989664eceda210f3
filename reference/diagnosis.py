"""Diagnosis of a disagreeing candidate: constant factors, transposes, blamed oracles, the layer it starts in.

:func:`reference.compare` calls these on the rows it has compared; each returns
:class:`reference.report.Finding` / :class:`reference.report.Localisation`
values (a machine-readable ``kind`` and a sentence).  The catalogue of named
mistakes is :mod:`reference.mistakes`.
"""
from __future__ import annotations

import numpy as np

from .report import _MISSING, LABELS, Finding, Localisation
from .tolerances import allclose_tree, tolerance

# ---------------------------------------------------------------------------
# Diagnosis
# ---------------------------------------------------------------------------

def _factor_names(c: float, n_batch: int, conv: dict, dtype) -> list[tuple[str, str]]:
    """Conventions a factor ``c`` (candidate = c · reference) points to: ``[(key, text)]``.

    The loss is scaled by ``s = (½ if half)·(1/N if mean)``; a candidate that
    uses another of the four scalings Σ, ½Σ, (1/N)Σ, 1/(2N)Σ is off by their
    ratio.  Only explanations that can apply to this network are offered
    (no loss here averages over output units, so no factor K is).
    """
    half, mean, se = conv.get("half", False), conv.get("reduction") == "mean", conv.get("squared_error", False)
    N = n_batch
    known = [
        (2.0, "half", ("the ½ of the loss: this loss has the ½ (half=True) and the candidate dropped it"
                       + (": ½Σ(a − y)² gives δ_L = a − y, Σ(a − y)² gives 2(a − y)" if se else ""))
         if half else ("the candidate has a factor 2 too many" + (" (e.g. 2·2(a − y) for δ_L)" if se else ""))),
        (0.5, "half", ("the ½ of squared error: this loss has no ½ (its δ_L is 2(a − y)) but the candidate used "
                       "a − y, the derivative of ½Σ(a − y)²") if se and not half
         else "the candidate applies a ½ that this loss does not have"),
        (-1.0, "sign", ("a sign flip: the candidate is the gradient of −L (e.g. y − a for a − y in δ_L, "
                        "or the descent step's −∇L returned as the gradient)")),
    ]
    if N > 1:
        known += [
            (float(N), "mean", f"sum vs mean over the batch (N = {N}): "
             + ("this loss averages (reduction='mean') and the candidate sums, missing the 1/N"
                if mean else "the candidate multiplies by N")),
            (1.0 / N, "mean", f"sum vs mean over the batch (N = {N}): "
             + ("this loss sums (reduction='sum') and the candidate averages, dividing by N"
                if not mean else "the candidate divides by N twice")),
        ]
        if half and mean:
            known.append((2.0 * N, "half_mean", f"both conventions, ½ and 1/N (N = {N}): the candidate misses "
                                                "the 1/(2N) of this ½·mean loss"))
        if not half and not mean:
            known.append((0.5 / N, "half_mean", (f"both conventions, ½ and 1/N (N = {N}): the candidate adds a "
                                                 "1/(2N) (document 003's 1/(2n)·Σ) that this loss does not have")))
    rtol = max(1e-9, 10 * tolerance(dtype, "jax").rtol)
    return [(key, text) for value, key, text in known if abs(c - value) <= rtol * abs(value)]


def _fmt_factor(c: float, n_batch: int) -> str:
    exact = {2.0: "2", 0.5: "½", -1.0: "−1"}
    if n_batch > 1:
        exact.update({float(n_batch): "N", 1.0 / n_batch: "1/N", 2.0 * n_batch: "2N", 0.5 / n_batch: "1/(2N)"})
    for value, name in exact.items():
        if abs(c - value) <= 1e-6 * abs(value):
            return f"{c:.6g} (= {name})" if name not in ("2", "−1") else name
    return f"{c:.6g}"


def _factor_finding(leaves, bad: list[str], n_batch: int, conv: dict, dtype) -> Finding | None:
    """Candidate = c · reference on every disagreeing parameter, for one common c?"""
    cand = [leaves[n][0] for n in bad]
    ref = [leaves[n][1] for n in bad]
    cv = np.concatenate([np.ravel(v).astype(np.float64) for v in cand])
    rv = np.concatenate([np.ravel(v).astype(np.float64) for v in ref])
    rr = float(rv @ rv)
    if not (rr > 0 and np.isfinite(cv).all()):
        return None
    c = float(cv @ rv) / rr  # least squares: argmin_c |cand − c·ref|²
    if abs(c - 1) < 1e-12 or not all(allclose_tree([a], [c * r], dtype=dtype, kind="jax") for a, r in zip(cand, ref)):
        return None
    names = _factor_names(c, n_batch, conv, dtype)
    where = "across all parameters" if len(bad) == len(leaves) else \
        f"on {', '.join(bad)} (the other parameters agree)"
    text = f"candidate = {_fmt_factor(c, n_batch)} × reference {where}: "
    text += "; or ".join(t for _, t in names) if names else "a constant factor that is not one of the usual conventions"
    return Finding("factor", text, {"factor": c, "conventions": [k for k, _ in names], "parameters": list(bad)})


def _transpose_findings(leaves, bad: list[str], dtype, layout: str = "row") -> list[Finding]:
    out = []
    for n in bad:
        c, r = leaves[n]
        if n[0] != "W" or c is None or np.ndim(c) != 2 or c.shape != r.shape[::-1]:
            continue
        if allclose_tree([c.T], [r], dtype=dtype, kind="jax"):
            layer = n[1:]
            if layout == "column":
                text = (f"transposed_gradient in layer {layer}: the gradient for {n} is returned transposed, "
                        f"shape (n_{int(layer) - 1}, n_{layer}) where the column layout's W_{layer} is "
                        f"(n_{layer}, n_{int(layer) - 1}): δ_{layer} a_{int(layer) - 1}ᵀ is meant")
            else:
                text = (f"transposed_gradient in layer {layer}: the gradient for {n} is the transpose of the "
                        f"reference, δ_{layer}ᵀ a_{int(layer) - 1} (shape (n_{layer}, n_{int(layer) - 1}), "
                        f"document 001's W h + b layout) instead of a_{int(layer) - 1}ᵀ δ_{layer}")
            out.append(Finding("mistake", text, {"mistake": "transposed_gradient", "layer": int(layer),
                                                 "layers": [int(layer)], "parameter": n}))
    return out


def _triangulate(cand_ok: dict, jax_ok: dict) -> set:
    """Numerical oracles to blame: those that disagree with a corroborated jax.grad.

    ``cand_ok[o]``: the candidate agrees with oracle ``o`` (``"jax"`` included);
    ``jax_ok[o]``: numerical oracle ``o`` agrees with jax.grad.  jax.grad is
    corroborated when the candidate or some numerical oracle agrees with it:
    two independent methods giving the same numbers outvote a third.
    """
    corroborated = cand_ok["jax"] or any(jax_ok.values())
    return {o for o, ok in jax_ok.items() if not ok and corroborated}


def _oracle_blame_text(name: str, kinks: bool, step: float) -> str:
    label = LABELS[name]
    if name == "complex_step":
        why = "the complex step needs a loss that is analytic along the step"
    else:
        why = (f"its step h = {step:.2g}·max(1, |θ|) " + ("crossed a relu kink, or is " if kinks else "is ")
               + "too large for the curvature here (truncation error) or too small for the loss scale "
               "(cancellation); scripts/compare.py --plot shows the error against h")
    return (f"{label} disagrees with jax.grad, which an independent source corroborates: the numerical oracle is "
            f"at fault, and its disagreement does not count against the candidate ({why})")


# ---------------------------------------------------------------------------
# Localisation
# ---------------------------------------------------------------------------

def _delta_text(l: int, n_layers: int) -> str:
    if l == n_layers:
        head = (f"layer {l} (the output): δ_{l} = ∂L/∂z_{l} is wrong: the loss derivative, the output "
                "activation's derivative or the loss scaling (½, 1/N, sign)")
    else:
        head = (f"layer {l}: δ_{l} is the first delta to go wrong counting from the output (the layers above "
                f"agree): its local derivative f'_{l}(z_{l}), or the step δ_{l} = (δ_{l + 1} W_{l + 1}ᵀ) ⊙ f'_{l}(z_{l})")
    if l > 1:
        below = {2: "layer 1 disagrees only because it inherits",
                 3: "layers 2 and 1 disagree only because they inherit"}.get(
            l, f"layers {l - 1} to 1 disagree only because they inherit")
        head += f"; {below} the error through δ_(l−1) = (δ_l W_lᵀ) ⊙ f'(z_(l−1))"
    return head


def _localise(rows, layers: tuple, source: str, n_layers: int, formation: set) -> Localisation | None:
    """The highest layer where the candidate disagrees with jax.grad, and whether it propagates.

    ``formation``: disagreeing parameters already explained by a mistake in
    forming ``dW``/``db`` from a right δ (a transposed dW).
    """
    bad = [r for r in rows if not r.errors.get("jax", _MISSING).ok]
    if not bad:
        return None
    bad_names = {r.name for r in bad}
    top = max(r.layer for r in bad)
    in_top = tuple(r.name for r in bad if r.layer == top)
    if source == "deltas":
        bad_deltas = [lc.layer for lc in layers if not lc.agreement.ok]
        if bad_deltas:
            l = max(bad_deltas)
            return Localisation(l, source, l > 1, tuple(r.name for r in bad if r.layer == l), _delta_text(l, n_layers))
        names = ", ".join(r.name for r in bad)
        return Localisation(top, source, False, in_top,
                            f"every δ_l agrees with jax.grad, so the mistake is in forming the gradients of {names} "
                            "from them (dW_l = a_(l−1)ᵀ δ_l, db_l = Σ_n δ_l)")
    # From the gradients alone.  A wrong δ_top spoils dW_top (and db_top where
    # there is a bias) and then every dW below it; a mistake in forming one
    # gradient from a right δ stays where it is.
    has_b = {r.layer for r in rows if r.name.startswith("b")}
    w_bad = {r.layer for r in bad if r.name.startswith("W")}
    b_bad = {r.layer for r in bad if r.name.startswith("b")}
    delta_wrong = (
        not bad_names <= formation
        and top in w_bad and (top in b_bad or top not in has_b)
        and all(l in w_bad for l in range(1, top))
    )
    if delta_wrong:
        text = _delta_text(top, n_layers)
        if top == 1 and top not in has_b:
            text += " (with no bias and no layer below, a wrong δ_1 and a wrong dW_1 = a_0ᵀ δ_1 look alike)"
        return Localisation(top, source, top > 1, in_top, text)
    others = sorted(bad_names - set(in_top))
    verb = "disagrees" if len(in_top) == 1 else "disagree"
    text = (f"layer {top}: the gradient for {' and '.join(in_top)} {verb}"
            + (f" (and for {', '.join(others)})" if others else "")
            + f", but not in the pattern a wrong δ_{top} leaves (dW_{top}, db_{top} and every dW below), so δ_{top} "
            "is likely right and the mistake is in forming the gradient from it (dW_l = a_(l−1)ᵀ δ_l, db_l = Σ_n δ_l)")
    return Localisation(top, source, False, in_top, text)
