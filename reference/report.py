"""The report of a gradient check: what :func:`reference.compare` returns, as data, JSON and text.

:class:`GradientReport` holds one :class:`ParamComparison` row per parameter
(``W1``, ``b1``, ...; ``x`` for the input gradient) with an :class:`Agreement`
per oracle, the oracles' status (:class:`OracleStatus`), the layers' deltas
(:class:`LayerComparison`), the :class:`Localisation` of a disagreement and the
:class:`Finding` list of the diagnosis.  ``report.to_dict()`` is plain JSON-able
data (schema in docs/report.md); ``str(report)`` is the text the command prints.
Nothing here computes a derivative: :mod:`reference.comparison` fills these in.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Agreement", "DirectionalCheck", "Finding", "GradientReport", "LABELS", "LayerComparison",
           "Localisation", "OracleStatus", "ParamComparison"]

#: Display names of the sources, in column order.
LABELS = {
    "candidate": "candidate",
    "jax": "jax.grad",
    "central": "central diff.",
    "complex_step": "complex step",
    "directional": "directional diff.",
    "taylor": "Taylor test",
}


# ---------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------

def _num(v):
    """A float for JSON: non-finite values (not valid JSON) become None."""
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


@dataclass(frozen=True)
class Agreement:
    """Candidate vs one oracle on one array: errors, the tolerance bound and the verdict.

    ``max_rel = max_abs / scale`` with ``scale`` the largest magnitude on either
    side; ``ok`` is ``max_abs <= bound = atol + rtol · scale``.
    """

    max_abs: float
    max_rel: float
    bound: float
    ok: bool

    def to_dict(self) -> dict:
        return {"max_abs": _num(self.max_abs), "max_rel": _num(self.max_rel),
                "bound": _num(self.bound), "ok": self.ok}


#: What an array that could not be compared (wrong shape, missing) counts as.
_MISSING = Agreement(math.inf, math.inf, math.nan, False)


@dataclass(frozen=True)
class ParamComparison:
    """One parameter's gradient (``W2``, ``b1``, ...) from the candidate against every oracle.

    ``errors`` maps oracle name to :class:`Agreement`; ``worst_index`` is the
    element with the largest error relative to its bound over all oracles and
    ``worst_values`` every source's value there.  ``note`` explains a
    gradient that could not be compared (wrong shape, missing).  ``ok``:
    agrees with ``jax.grad`` and with every oracle not blamed.
    """

    name: str
    layer: int
    shape: tuple
    errors: dict
    worst_index: tuple | None
    worst_values: dict
    ok: bool
    note: str = ""

    def to_dict(self) -> dict:
        return {
            "name": self.name, "layer": self.layer, "shape": list(self.shape), "ok": self.ok,
            "errors": {k: a.to_dict() for k, a in self.errors.items()},
            "worst": None if self.worst_index is None else {
                "index": list(self.worst_index),
                "values": {k: _num(v) for k, v in self.worst_values.items()},
            },
            "note": self.note,
        }


@dataclass(frozen=True)
class LayerComparison:
    """One layer in the localisation: ``δ_l`` (or ``dW_l, db_l``) vs ``jax.grad``."""

    layer: int
    quantity: str
    agreement: Agreement

    def to_dict(self) -> dict:
        return {"layer": self.layer, "quantity": self.quantity, **self.agreement.to_dict()}


@dataclass(frozen=True)
class Localisation:
    """Where the candidate goes wrong: ``layer`` (1-based), read from ``source``
    (``"deltas"`` or ``"gradients"``); ``propagates`` when the layers below
    disagree only because they inherit a wrong ``δ_layer``."""

    layer: int
    source: str
    propagates: bool
    parameters: tuple
    text: str

    def to_dict(self) -> dict:
        return {"layer": self.layer, "source": self.source, "propagates": self.propagates,
                "parameters": list(self.parameters), "text": self.text}


@dataclass(frozen=True)
class Finding:
    """One line of diagnosis.  ``kind``: ``factor``, ``mistake`` (a named
    classic mistake: ``detail["mistake"]`` is its ID from
    :data:`reference.mistakes.MISTAKES`, ``detail["layer"]`` its layer or
    None), ``shape``, ``input_gradient``, ``oracle`` (a numerical oracle
    blamed), ``reference`` (jax.grad is the odd one out) or ``skipped`` (an
    oracle that could not run); ``detail`` holds its data."""

    kind: str
    text: str
    detail: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "text": self.text, **self.detail}


@dataclass(frozen=True)
class OracleStatus:
    """How one oracle fared: ``status`` is ``agree`` / ``disagree`` (with the
    candidate), ``blamed`` (it disagrees with a corroborated jax.grad, so
    its disagreement does not count against the candidate) or ``skipped``."""

    name: str
    method: str
    status: str
    agrees_with_jax: bool | None
    note: str = ""

    def to_dict(self) -> dict:
        return {"method": self.method, "status": self.status,
                "agrees_with_jax": self.agrees_with_jax, "note": self.note}


@dataclass(frozen=True)
class DirectionalCheck:
    """Central differences along ``K`` random unit directions ``v_k`` against ``∇L · v_k``."""

    n_directions: int
    derivatives: np.ndarray  # (K,) numerical
    projected: dict  # source -> (K,) ∇L · v_k of the candidate / jax.grad
    errors: dict  # source -> Agreement
    note: str = ""

    def to_dict(self) -> dict:
        return {
            "n_directions": self.n_directions,
            "derivatives": [_num(v) for v in self.derivatives],
            "projected": {k: [_num(v) for v in p] for k, p in self.projected.items()},
            "errors": {k: a.to_dict() for k, a in self.errors.items()},
            "note": self.note,
        }


@dataclass(frozen=True)
class GradientReport:
    """What :func:`compare` returns.  ``str()`` gives a table; ``to_dict()`` JSON-able data.

    ``ok`` is True when the candidate agrees with ``jax.grad`` and with every
    numerical oracle that is not blamed (see the module notes).
    """

    model: dict
    n_batch: int
    dtype: str
    n_params: int
    candidate: str
    jax_method: str
    numerical: str
    oracles: tuple
    params: tuple
    directional: DirectionalCheck | None
    layers: tuple
    localisation: Localisation | None
    diagnosis: tuple
    ok: bool
    #: ∂L/∂x (``(n_batch, sizes[0])``) against jax.grad and the complex step, a row named ``x``
    #: with layer 0, when the candidate offers an input gradient; else None.
    input_gradient: ParamComparison | None = None
    #: The Taylor remainder test of the candidate's gradients (:func:`reference.taylor_test`), or None.
    taylor: object = None

    @property
    def verdict(self) -> str:
        return "agree" if self.ok else "disagree"

    def worst_errors(self) -> dict:
        """Largest ``max_rel`` of the candidate against each oracle that ran (None if not comparable)."""
        out = {}
        for o in self.oracles:
            if o.status == "skipped" or o.name == "taylor":  # no tolerance: an order, not an error
                continue
            if o.name == "directional":
                out[o.name] = self.directional.errors["candidate"].max_rel
                continue
            rels = [p.errors[o.name].max_rel for p in self.params if o.name in p.errors]
            out[o.name] = max(rels) if len(rels) == len(self.params) else None
            x = self.input_gradient
            if x is not None and out[o.name] is not None and o.name in x.errors:
                out[o.name] = max(out[o.name], x.errors[o.name].max_rel)
        return out

    def tolerance_used(self) -> dict:
        """Largest ``max_abs / bound`` against each oracle that ran: below 1 agrees.

        Unlike ``max_rel`` this stays meaningful when a gradient is exactly 0
        (a width-1 softmax, dead ReLUs): a 1e-17 residue there is 100% "relative"
        error but a negligible fraction of the tolerance.
        """
        out = {}
        for o in self.oracles:
            if o.status == "skipped" or o.name == "taylor":  # no tolerance: an order, not an error
                continue
            if o.name == "directional":
                a = self.directional.errors["candidate"]
                out[o.name] = a.max_abs / a.bound if a.bound > 0 else math.inf
                continue
            used = [p.errors[o.name].max_abs / p.errors[o.name].bound if p.errors[o.name].bound > 0 else math.inf
                    for p in self.params if o.name in p.errors]
            out[o.name] = max(used) if len(used) == len(self.params) else None
            x = self.input_gradient
            if x is not None and out[o.name] is not None and o.name in x.errors:
                a = x.errors[o.name]
                out[o.name] = max(out[o.name], a.max_abs / a.bound if a.bound > 0 else math.inf)
        return out

    def to_dict(self) -> dict:
        """Plain data with stable keys (documented in the README's compare section)."""
        return {
            "schema": "deltacheck.compare/1",
            "model": self.model,
            "n_batch": self.n_batch,
            "dtype": self.dtype,
            "n_params": self.n_params,
            "candidate": self.candidate,
            "jax_method": self.jax_method,
            "numerical": self.numerical,
            "oracles": {o.name: o.to_dict() for o in self.oracles},
            "parameters": [p.to_dict() for p in self.params],
            "input_gradient": None if self.input_gradient is None else self.input_gradient.to_dict(),
            "taylor": None if self.taylor is None else self.taylor.to_dict(),
            "directional": None if self.directional is None else self.directional.to_dict(),
            "layers": [lc.to_dict() for lc in self.layers],
            "localisation": None if self.localisation is None else self.localisation.to_dict(),
            "diagnosis": [f.to_dict() for f in self.diagnosis],
            "worst": {k: _num(v) for k, v in self.worst_errors().items()},
            "ok": self.ok,
            "verdict": self.verdict,
        }

    def __str__(self) -> str:
        return _format(self)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


# ---------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------

_WRAP = 100


def _wrapped(text: str, first: str, rest: str) -> list[str]:
    import textwrap

    return textwrap.wrap(text, _WRAP, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False)


def _mark(a: Agreement, blamed: bool) -> str:
    return "ok" if a.ok else ("oracle" if blamed else "FAIL")


def _format(r: GradientReport) -> str:
    status = {o.name: o for o in r.oracles}
    cols = [o.name for o in r.oracles if o.status != "skipped" and o.name not in ("directional", "taylor")]
    numer = {
        "per_parameter": "per-parameter central differences and complex step",
        "directional": (f"central differences along {r.directional.n_directions if r.directional else 0} random "
                        f"directions (per-parameter differences would cost {2 * r.n_params:,} forward passes "
                        f"of this network)"),
        "none": "no numerical oracle",
    }[r.numerical]
    lines = [f"{r.candidate} vs jax.grad and {numer}",
             f"{r.model['describe']} · batch {r.n_batch} · {r.dtype} · {r.n_params:,} parameter"
             + ("s" if r.n_params != 1 else ""),
             f"jax.grad via {r.jax_method}"]
    if status["jax"].note:
        lines += _wrapped(status["jax"].note, "  ", "  ")
    lines.append("")
    rows = list(r.params) + ([r.input_gradient] if r.input_gradient is not None else [])
    name_w = max(6, *(len(p.name) + 1 for p in rows))
    shape_w = max(8, *(len(str(p.shape)) + 2 for p in rows))
    lines.append((f"{'param':<{name_w}}{'shape':<{shape_w}}" + "".join(f"{LABELS[o]:<28}" for o in cols)).rstrip())
    lines.append((" " * (name_w + shape_w) + f"{'max|Δ|':<10}{'rel':<10}{'':<8}" * len(cols)).rstrip())
    for p in rows:
        head = f"{p.name:<{name_w}}{p.shape!s:<{shape_w}}"
        if p.note:
            lines.append(head + "FAIL  " + p.note)
            continue
        lines.append((head + "".join(
            f"{p.errors[o].max_abs:<10.2e}{p.errors[o].max_rel:<10.2e}{_mark(p.errors[o], status[o].status == 'blamed'):<8}"
            if o in p.errors else f"{'—':<28}" for o in cols)).rstrip())
    if r.input_gradient is not None:
        lines.append("(x: the input gradient ∂L/∂x, against jax.grad"
                     + (" and the complex step in x)" if "complex_step" in r.input_gradient.errors else ")"))
    if any(o.status == "blamed" for o in r.oracles):
        lines.append("(oracle: a difference blamed on that numerical oracle, see the diagnosis)")

    worst = [p for p in rows if p.worst_index is not None]
    if worst:
        lines += ["", (f"{'worst element':<18}" + "".join(f"{LABELS[s]:<20}" for s in ["candidate", *cols])).rstrip()]
        for p in worst:
            label = f"{p.name}[{', '.join(map(str, p.worst_index))}]"
            lines.append((f"{label:<18}" + "".join(f"{p.worst_values[s]:<20.12g}" if s in p.worst_values
                                                   else f"{'—':<20}" for s in ["candidate", *cols])).rstrip())

    d = r.directional
    if d is not None:
        lines += ["", f"directional check: {status['directional'].method}",
                  f"  {'k':<4}{'numerical':<22}{'candidate ∇L·v':<22}jax.grad ∇L·v"]
        for k in range(d.n_directions):
            lines.append(f"  {k:<4}{d.derivatives[k]:<22.14g}{d.projected['candidate'][k]:<22.14g}"
                         f"{d.projected['jax'][k]:<22.14g}".rstrip())
        for src in ("candidate", "jax"):
            a = d.errors[src]
            lines.append(f"  {LABELS[src]}: max|Δ| {a.max_abs:.2e}, rel {a.max_rel:.2e}, "
                         f"{_mark(a, status['directional'].status == 'blamed')}")
        if d.note:
            lines.append(f"  note: {d.note}")

    if r.layers:
        what = "δ_l = ∂L/∂z_l" if r.layers[0].quantity.startswith("δ") else "each layer's gradients (no deltas given)"
        lines += ["", f"layers, from the output ({what} vs jax.grad):"]
        q_w = max(len(lc.quantity) for lc in r.layers) + 2
        for lc in r.layers:
            a = lc.agreement
            lines.append(f"  layer {lc.layer:<3}{lc.quantity:<{q_w}}max|Δ| {a.max_abs:<10.2e}rel {a.max_rel:<10.2e}"
                         f"{'ok' if a.ok else 'FAIL'}")
    if r.localisation is not None:
        lines += [""] + _wrapped(r.localisation.text, "localisation: ", "  ")
    elif r.layers:
        lines += ["", "localisation: every layer agrees"]
    if r.diagnosis:
        lines += ["", "diagnosis:"]
        for f in r.diagnosis:
            lines += _wrapped(f.text, "  - ", "    ")
    if r.taylor is not None:
        lines += ["", "Taylor test (order of r₁(h) as h halves: 2 right, 1 wrong; no tolerance):"]
        lines += ["  " + line for line in r.taylor.lines()]
    checks = [f"{LABELS[o.name]} {'agrees' if o.agrees_with_jax else 'DISAGREES'} with jax.grad"
              for o in r.oracles if o.agrees_with_jax is not None]
    if checks:
        lines += ["", "oracles: " + "; ".join(checks)]
    agreed = [LABELS[o.name] for o in r.oracles if o.status == "agree" and o.name != "taylor"]
    if r.ok:
        verdict = "AGREE: the candidate matches " + ", ".join(agreed) + " within the tolerance table"
        if r.taylor is not None and r.taylor.ok:
            verdict += ", and the Taylor test gives order 2"
    else:
        off = [LABELS[o.name] for o in r.oracles if o.status == "disagree"]
        verdict = "DISAGREE: the candidate differs from " + ", ".join(off)
    lines += [""] + _wrapped(verdict, "verdict: ", "  ")
    return "\n".join(lines)
