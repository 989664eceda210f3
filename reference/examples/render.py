"""Rendering a worked-example report: the text table with the true state, and the errata page.

:func:`format_report` prints claim by claim (printed, true, verdict, cause)
then the true state (``full=True``: of every setup, per sample);
:func:`errata_markdown` writes every wrong claim with its cause and each
example redone along the document's own ``[[steps]]`` with the true numbers.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .files import WorkedExample, _fmt
from .truth import SetupState
from .verdicts import ExampleReport

__all__ = ["format_report", "errata_markdown"]


def _num(v: float, sig: int = 5) -> str:
    """A true value for people: exact when it has at most ``sig`` significant digits (``0.5``, ``-0.959``),
    else rounded to ``sig`` significant digits with its trailing zeros kept (``-1.2000``); never in exponent form."""
    if v is None or not np.isfinite(v):
        return str(v)
    v = float(v)
    short = np.format_float_positional(v, unique=True, trim="-")
    if len(short.lstrip("-0.").replace(".", "")) <= sig:
        return "0" if v == 0 else short
    return np.format_float_positional(v, precision=sig, unique=False, fractional=False, trim="k")


def _table(head: list[str], rows: list[list[str]], indent: str = "  ") -> list[str]:
    w = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)]
    return [indent + "  ".join(v.ljust(w[i]) for i, v in enumerate(r)).rstrip() for r in [head, *rows]]


def _setup_label(st: SetupState) -> str:
    return "setup as stated" if st.name == "stated" else f"setup {st.name} ({st.description})"


def _state_lines(st: SetupState, names: dict, full: bool) -> list[str]:
    nm = st.named(names)
    lines = [f"true state, {_setup_label(st)}; loss {st.convention}: {_num(st.loss, 8)}, "
             f"after one step of lr {st.lr:g}: {_num(st.loss_after, 8)}"
             + ("" if st.jax_agrees else "  [JAX DISAGREES]")]
    rows = [[p, _num(v, 8), _num(nm["gradients"][p], 8), _num(nm["updated"][p], 8)] for p, v in nm["params"].items()]
    lines += _table(["parameter", "value", "gradient", "updated"], rows)
    if full:
        N = st.as_[0].shape[0]
        units = list(nm["units"])
        lines += ["", "  forward pass, per sample (z and a of every unit):"]
        lines += _table(["sample", *units], [[str(n + 1), *(_num(nm["units"][u][n], 6) for u in units)]
                                             for n in range(N)])
        ds = list(nm["deltas"])
        lines += ["", "  deltas dL/dz (with the loss's ½ and 1/N), per sample:"]
        lines += _table(["sample", *ds], [[str(n + 1), *(_num(nm["deltas"][d][n], 6) for d in ds)] for n in range(N)])
        ps = list(nm["terms"])
        lines += ["", "  each sample's own gradient term (of its (½)·ℓ_n, no 1/N) and its loss:"]
        lines += _table(["sample", *ps, "loss_n"],
                        [[str(n + 1), *(_num(nm["terms"][p][n], 6) for p in ps), _num(st.sample_losses[n], 6)]
                         for n in range(N)])
    return lines


def format_report(report: ExampleReport, *, width: int = 60, full: bool = False) -> str:
    """A claim-by-claim text table (claim, quantity, printed, true, verdict, cause), then the true state.

    The true state of the stated setup is a table of every parameter with
    its gradient and updated value, and the loss before and after the step;
    ``full=True`` adds every declared alternative, the forward pass and the
    deltas per sample and each sample's gradient terms.  The last line
    counts the verdicts.  ``width`` caps the quantity column (an expression
    is shortened with "…").
    """
    ex = report.example
    lines = [f"{ex.title}  [{ex.path}]", f"network {ex.net.describe()}, lr {ex.lr:g}; JAX cross-check: "
             + ("all agree" if report.jax_agrees else "DISAGREEMENT") + " (reference.model, jax.grad)"]
    lines += [f"alternative '{a.name}': {a.description}" for a in ex.alternatives] + [""]

    def label(c):
        t = c.label if c.kind != "arith" else "= " + c.expression
        return t if len(t) <= width else t[: width - 1] + "…"

    head = ("claim", "quantity", "printed", "true", "verdict")
    rows = [(r.claim.id, label(r.claim), r.claim.printed, _fmt(r.computed, r.claim), r.verdict) for r in report.results]
    w = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    lines.append("  ".join(h.ljust(w[i]) for i, h in enumerate(head)) + "  cause")
    for r, row in zip(report.results, rows):
        cause = r.cause or ("no automatic explanation found" if r.verdict == "wrong" else "")
        if not r.jax_agrees:
            cause = f"[manual_bp and JAX disagree: JAX {r.jax!r}] " + cause
        lines.append(("  ".join(v.ljust(w[i]) for i, v in enumerate(row)) + "  " + cause).rstrip())
        for o in r.operands:
            if o["verdict"] == "wrong" and not o["repeats"]:
                lines.append(f"{'':{w[0]}}    operand {o['text']} stands for {o['stands_for']} = "
                             f"{_num(o['true'])}: wrong")
    for st in report.setups if full else report.setups[:1]:
        lines += [""] + _state_lines(st, ex.names, full)
    if not full and len(report.setups) > 1:
        lines += [""] + [f"{_setup_label(st)}: loss {_num(st.loss, 8)}, after one step {_num(st.loss_after, 8)} "
                         "(full=True / --full for its table)" for st in report.setups[1:]]
    cnt = report.counts
    lines += ["", f"{len(report.results)} claims: {cnt['match']} match, {cnt['rounding']} rounding, {cnt['wrong']} wrong"]
    return "\n".join(lines)


def _md(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def _md_table(head: list[str], rows: list[list[str]], right_from: int = 1) -> list[str]:
    align = ["---" if i < right_from else "---:" for i in range(len(head))]
    return ["| " + " | ".join(head) + " |", "| " + " | ".join(align) + " |"] + [
        "| " + " | ".join(_md(v) for v in r) + " |" for r in rows]


_DEFAULT_STEPS = [
    {"title": "Forward pass and loss", "samples": None, "loss": True},
    {"title": "Gradients and the updated parameters", "gradients": None, "updates": None},
]


def _corrected_example(st: SetupState, ex: WorkedExample) -> list[str]:
    """The document's own steps (``[[steps]]``) with the true numbers of one setup."""
    nm = st.named(ex.names)
    N = st.as_[0].shape[0]
    out = []
    steps = ex.steps or [{k: (list(nm["units"]) if k == "samples" and v is None else
                              list(nm["params"]) if v is None else v) for k, v in s.items()} for s in _DEFAULT_STEPS]
    for step in steps:
        out += ["", f"**{step['title']}**"]
        if step.get("text"):
            out += ["", step["text"].strip()]
        if step.get("samples"):
            cols = step["samples"]
            rows = [[str(n + 1), *(_num(nm["units"][c][n]) for c in cols)] for n in range(N)]
            out += [""] + _md_table(["sample", *cols], rows)
        if step.get("terms"):
            heads = step.get("headers", step["terms"])
            rows = [[str(n + 1), *(_num(nm["terms"][p][n]) for p in step["terms"])] for n in range(N)]
            out += ["", "Each sample's own term (the gradient of its (½)·ℓ_n, before the 1/N):", ""]
            out += _md_table(["sample", *heads], rows)
        if step.get("loss"):
            out += ["", f"Loss ({st.convention}) = **{_num(st.loss, 6)}**; per sample (½)·ℓ_n = "
                    + ", ".join(_num(v) for v in st.sample_losses) + "."]
        grads, ups = step.get("gradients") or [], step.get("updates") or []
        if grads or ups:
            ps = list(dict.fromkeys([*grads, *ups]))
            head = ["parameter", "value"] + (["∂L/∂parameter"] if grads else []) + (
                [f"updated (lr {st.lr:g})"] if ups else [])
            rows = [[p, _num(nm["params"][p])] + ([_num(nm["gradients"][p])] if grads else [])
                    + ([_num(nm["updated"][p])] if ups else []) for p in ps]
            out += [""] + _md_table(head, rows)
    out += ["", f"Loss after the step: {_num(st.loss_after, 6)} (before: {_num(st.loss, 6)})."]
    return out


def errata_markdown(reports: list[ExampleReport], *, generator: str = "scripts/make_errata.py") -> str:
    """The errata page: every wrong claim of every example, with the true value and likely cause,
    and each example redone with the true numbers ("corrected worked example")."""
    out = [
        "# Errata for the documents' worked examples",
        "",
        f"Generated by `{generator}` from the worked-example files in `reference/data/examples/`; do not edit by hand.",
        "Each printed number was recomputed with `manual_bp` and cross-checked against the JAX reference",
        "(`reference.model`). A verdict is about the printed digits alone: *match* (the true value rounds",
        "to the printed one), *rounding* (one unit off in the last printed place), *wrong* (anything more);",
        "the likely cause is given separately. A printed expression (`(1/3)(−0.629 − 1.118 − 1.201) = −2.156`)",
        "is a claim too, checked as written, and each of its numbers against what it stands for.",
        "",
        "| example | claims | match | rounding | wrong |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for rep in reports:
        c = rep.counts
        out.append(f"| [{_md(rep.example.title)}](#{rep.example.id}) | {len(rep.results)} | {c['match']} | {c['rounding']} | {c['wrong']} |")
    for rep in reports:
        ex = rep.example
        out += ["", f"<a id=\"{ex.id}\"></a>", f"## {ex.title}", "",
                f"Source: `{ex.source}`; file: `reference/data/examples/{Path(ex.path).name}`; "
                f"network {ex.net.describe()}, learning rate {ex.lr:g}."]
        if ex.interpretation:
            out += ["", ex.interpretation]
        wrong = [r for r in rep.results if r.verdict == "wrong"]
        if not wrong:
            out += ["", "No wrong claims."]
        else:
            out += ["", "| claim | document's name | quantity | printed | true value | likely cause |",
                    "| --- | --- | --- | ---: | ---: | --- |"]
            for r in wrong:
                c = r.claim
                what = f"`= {c.expression}` (as written)" if c.kind == "arith" else f"`{c.label}`"
                out.append(
                    f"| {c.id} | {_md(c.name)} | {_md(what)} | {c.printed} | {_fmt(r.computed, c)} | "
                    f"{_md(r.cause or 'no automatic explanation found')} |"
                )
        # (an operand that repeats the document's own wrong claim of the same quantity is listed there)
        slips = [(r, o) for r in rep.results if r.verdict != "wrong" for o in r.operands
                 if o["verdict"] == "wrong" and not o["repeats"]]
        if slips:
            out += ["", "Wrong numbers inside printed expressions whose result is nevertheless right:", ""]
            out += [f"- {r.claim.id} (`{_md(r.claim.expression)}` = {r.claim.printed}): {o['text']} stands for "
                    f"{_md(o['stands_for'])}, whose true value is {_num(o['true'])}." for r, o in slips]
        for st in rep.setups:
            tag = "as stated" if st.name == "stated" else f"under {st.name}: {st.description}"
            out += ["", f"### Corrected worked example ({_md(tag)})"]
            out += _corrected_example(st, ex)
    return "\n".join(out) + "\n"
