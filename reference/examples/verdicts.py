"""Verdicts and causes: each printed number against the truth, and why it differs.

:func:`check_example` gives every claim a verdict about its printed digits
alone (``match`` / ``rounding`` / ``wrong``) and, separately, a cause: for a
wrong claim the likeliest of the hypotheses :func:`_candidates` finds (another
setup, loss convention, sign, missing path, rounded intermediate, carried
error, copied number; a printed expression's operands), for a rounding one
what explains the last digit.  :func:`search_setups` ranks systematic
variations of the setup by the claims they reproduce.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import manual_bp as bp

from .files import (
    _EXPLAIN_ULPS,
    _SLACK,
    TRANSFORMS,
    Claim,
    WorkedExample,
    _eval_arith,
    _eval_expression,
    _explains,
    _fmt,
    _fmt_at,
    _within,
    load_example,
)
from .truth import (
    _CONVENTIONS,
    SetupState,
    _agree,
    _conv_label,
    _JaxQuantities,
    _paths,
    _Quantities,
    _RoundedChain,
    _setups,
    _state,
)

__all__ = ["VERDICTS", "ClaimResult", "ExampleReport", "check_example", "search_setups"]


VERDICTS = ("match", "rounding", "wrong")


def _printed_map(claims: list[Claim], exclude: tuple, allowed=None) -> dict:
    """The document's printed intermediates, first claim per quantity.

    Leaves out the claim being recomputed (``exclude``, its key) and, when
    ``allowed`` (a set of claim ids) is given, every claim not in it.
    """
    out = {}
    for c in claims:
        if c.kind in ("z", "a", "delta", "dW", "db") and c.key != exclude and (allowed is None or c.id in allowed):
            out.setdefault((c.kind, c.layer, c.index, c.sample), c.value)
    return out


def _rounded(ex: WorkedExample, s, c: Claim, y_claimed, allowed=None) -> float:
    """Claim ``c`` recomputed under setup ``s`` from the document's printed intermediates (not its own)."""
    chain = _RoundedChain(s.net, s.params, s.x, s.y, s.lr, _printed_map(ex.claims, c.key, allowed), y_claimed)
    return chain.value(c)


def _rounded_text(ex, s, c: Claim, y_claimed, allowed, r: float, q, ulps: float = _EXPLAIN_ULPS) -> str:
    """Which printed intermediate the value follows from, e.g. "follows from Y_pred (SR 3) rounded to 0.142 ...".

    A single printed intermediate names the cause when substituting it alone
    brings the value within ``ulps`` of the printed one and the true value is not.
    """
    singles = []
    if not _within(abs(q.value(c) - c.value), ulps, c):
        for o in reversed(ex.claims):  # the latest printed intermediate first: the nearest step before c
            if o.id in allowed and o.kind in ("z", "a", "delta", "dW", "db") and o.key != c.key:
                only = _printed_map([o], c.key)
                chain = _RoundedChain(s.net, s.params, s.x, s.y, s.lr, only, y_claimed)
                if _within(abs(chain.value(c) - c.value), ulps, c) and o.key not in {p.key for p in singles}:
                    singles.append(o)
    if singles:
        o = singles[0]
        return (f"a rounded intermediate: follows from {o.name or o.quantity} rounded to {o.printed} "
                f"(true {_fmt(q.value(o), o)}) before it is used, giving {_fmt(r, c)}")
    return (f"a rounded intermediate: recomputed from the document's printed (rounded) intermediates "
            f"it is {_fmt(r, c)}")


def _close(q, claims) -> set:
    """Ids of the claims that ``q`` reproduces up to rounding (within 1.5 units in the last place)."""
    return {c.id for c in claims if _explains(q.value(c), c)}


def _candidates(ex: WorkedExample, c: Claim, setups, quantities) -> list[dict]:
    """Every hypothesis that reproduces the printed value of ``c``: ``[{family, setup, ...}]``.

    ``quantities`` caches, per setup name, its :class:`_Quantities`; per
    ``(name, reduction, half)`` those under another loss convention; and per
    ``("close", name)`` the ids of the claims that setup reproduces.
    """
    out = []
    y_claimed = _eval_expression(ex.expression, ex.x)[:, None] if ex.expression else None
    for s in setups:
        q = quantities[s.name]
        if ("close", s.name) not in quantities:
            quantities[("close", s.name)] = _close(q, ex.claims)
        v = q.value(c)
        label = s.name if s.declared else f"{s.name} ({s.description})"
        where = "" if s.stated else f"under {label}, "
        if not s.stated and _explains(v, c):
            out.append(dict(family="setup", setup=s.name, value=v,
                            description=f"different inputs or parameters: follows from {label} (value there {_fmt(v, c)})"))
        if c.kind in ("loss", "delta", "dW", "db") or (c.kind in ("W", "b") and c.new):
            for red, half in _CONVENTIONS:
                if (red, half) == (s.net.reduction, s.net.half) or (half and s.net.loss != "squared_error"):
                    continue
                key = (s.name, red, half)
                if key not in quantities:
                    n2 = bp.Network(s.net.sizes, s.net.activations, s.net.loss, reduction=red, half=half, bias=s.net.bias)
                    quantities[key] = _Quantities(n2, s.params, s.x, s.y, s.lr, y_claimed)
                v2 = quantities[key].value(c)
                if _explains(v2, c):
                    out.append(dict(
                        family="convention", setup=s.name, value=v2, variant=_conv_label(red, half),
                        description=f"{where}a different loss convention: matches L = {_conv_label(red, half)} "
                        f"(the file uses {_conv_label(s.net.reduction, s.net.half)}), giving {_fmt(v2, c)}",
                    ))
        if v != 0 and _explains(-v, c):
            out.append(dict(family="sign", setup=s.name, value=-v,
                            description=f"{where}a sign error: the value is {_fmt(v, c)}"))
        paths = _paths(s.net, s.params, s.x, s.y, s.lr, c)
        if paths:
            total = sum(p for _, p in paths) if c.kind in ("dW", "db") else None
            for k, (name, pv) in enumerate(paths):
                others = [n for i, (n, _) in enumerate(paths) if i != k]
                if _explains(pv, c):
                    out.append(dict(
                        family="missing_path", setup=s.name, value=pv,
                        description=f"{where}a missing path in the chain rule: only the path through {name} "
                        f"is counted (missing {', '.join(others)}), giving {_fmt(pv, c)}",
                    ))
            if len(paths) >= 3 and total is not None:
                for k, (name, pv) in enumerate(paths):
                    if _explains(total - pv, c):
                        out.append(dict(
                            family="missing_path", setup=s.name, value=total - pv,
                            description=f"{where}a missing path in the chain rule: the path through {name} "
                            f"is left out, giving {_fmt(total - pv, c)}",
                        ))
        r = _rounded(ex, s, c, y_claimed, quantities[("close", s.name)])
        if _explains(r, c) and not _explains(v, c):
            out.append(dict(family="rounded_intermediate", setup=s.name, value=r,
                            description=where + _rounded_text(ex, s, c, y_claimed, quantities[("close", s.name)],
                                                              r, quantities[s.name])))
        else:
            r = _rounded(ex, s, c, y_claimed)
            if _explains(r, c) and not _explains(v, c):
                out.append(dict(family="carried_error", setup=s.name, value=r,
                                description=f"{where}an error carried from earlier printed numbers: recomputed from "
                                f"the document's own printed intermediates (some of them wrong) it is {_fmt(r, c)}"))
    same = [o for o in ex.claims if o.id != c.id and o.key != c.key and abs(o.value - c.value) <= 1e-12 * max(1.0, abs(c.value))]
    same.sort(key=lambda o: (o.kind != c.kind or o.new != c.new))  # the same kind of quantity first
    if same:
        out.append(dict(family="copy", setup="stated", value=c.value,
                        description="a copy of another claim's value: the same number is printed for "
                        + ", ".join(f"{o.id} ({o.name or o.label})" for o in same)))
    return out


_FAMILY_ORDER = {
    "setup": 0, "convention": 1, "sign": 2, "missing_path": 3, "rounded_intermediate": 4, "carried_error": 5, "copy": 6,
    "operands": 7, "arithmetic": 8, "last_digit": 9,
}


@dataclass
class ClaimResult:
    """A claim with its true value, JAX cross-check, verdict and cause.

    ``verdict`` is about the printed digits alone; ``cause`` (and every
    candidate in ``causes``) is why, for a wrong claim, and what explains the
    last digit, for a rounding one.  For a printed expression ``computed`` is
    its value as written and ``operands`` checks each of its numbers.
    """

    claim: Claim
    computed: float
    jax: float
    jax_agrees: bool
    verdict: str
    detail: str
    cause: str | None = None
    causes: list = field(default_factory=list)
    operands: list = field(default_factory=list)

    def to_dict(self) -> dict:
        c = self.claim
        return {
            "id": c.id, "quantity": c.quantity or None, "sample": c.sample, "name": c.name, "text": c.text,
            "expression": c.expression or None,
            "printed": c.printed, "claimed": c.value, "ulp": c.ulp,
            "computed": self.computed, "jax": self.jax, "jax_agrees": self.jax_agrees,
            "verdict": self.verdict, "detail": self.detail, "cause": self.cause,
            "causes": [dict(h) for h in self.causes],
            "operands": [dict(o) for o in self.operands],
            "note": c.note,
        }


@dataclass
class ExampleReport:
    """The checked example: a :class:`ClaimResult` per claim (file order) and the complete true state
    (:class:`SetupState`) of the stated setup and of each declared alternative, in that order."""

    example: WorkedExample
    results: list[ClaimResult]
    setups: list[SetupState] = field(default_factory=list)

    @property
    def counts(self) -> dict:
        return {v: sum(r.verdict == v for r in self.results) for v in VERDICTS}

    @property
    def any_wrong(self) -> bool:
        return any(r.verdict == "wrong" for r in self.results)

    @property
    def jax_agrees(self) -> bool:
        return all(r.jax_agrees for r in self.results) and all(s.jax_agrees for s in self.setups)

    def to_dict(self) -> dict:
        ex = self.example
        return {
            "id": ex.id, "title": ex.title, "source": ex.source, "file": ex.path,
            "network": ex.net.describe(), "lr": ex.lr,
            "alternatives": [{"name": a.name, "description": a.description} for a in ex.alternatives],
            "jax_backend": "reference", "jax_agrees": self.jax_agrees,
            "counts": self.counts, "any_wrong": self.any_wrong,
            "claims": [r.to_dict() for r in self.results],
            "names": {k: _name_target(v) for k, v in ex.names.items()},
            "setups": [s.to_dict(ex.names) for s in self.setups],
        }


def _name_target(key) -> str:
    kind, layer, idx = key
    return f"{kind}{layer}[{', '.join(':' if i is None else str(i) for i in idx)}]"


def _verdict(c: Claim, computed: float) -> tuple[str, str]:
    """``(verdict, detail)`` from the printed digits alone: match (½ unit), rounding (1½ units), else wrong."""
    diff = abs(computed - c.value)
    correctly = _fmt_at(computed, c)
    what = "evaluates to" if c.kind == "arith" else "is"
    if _within(diff, 0.5, c):
        return "match", f"{what} {_fmt(computed, c)}, which rounds to {c.printed}"
    if _within(diff, 1.5, c):
        return "rounding", f"{what} {_fmt(computed, c)}, which rounds to {correctly}: one unit off in the last place"
    return "wrong", (f"{what} {_fmt(computed, c)}, which rounds to {correctly}, not {c.printed} "
                     f"({diff / c.ulp:.0f} units in the last place)")


def _rounding_cause(ex, s, c: Claim, computed: float, y_claimed, close, q) -> str:
    """What explains a last digit one unit off: truncation, or the document's own rounded intermediates."""
    trunc = math.trunc(computed / c.ulp * (1 + 1e-12)) * c.ulp
    if c.kind != "arith":
        r = _rounded(ex, s, c, y_claimed, close)
        if _within(abs(r - c.value), 0.5, c):
            return _rounded_text(ex, s, c, y_claimed, close, r, q, 0.5).replace("a rounded intermediate: ", "")
    if _within(abs(trunc - c.value), 1e-9, c):
        return "truncated instead of rounded"
    return "one unit off in the last place"


def _given(c: Claim) -> bool:
    """Whether ``c`` is a number the setup states exactly rather than a computed (roundable) one."""
    return c.kind in ("y", "lr", "N") or (c.kind == "a" and c.layer == 0) or (c.kind in ("W", "b") and not c.new)


def _doc_name(ex: WorkedExample, c: Claim) -> str:
    """The document's name for a claimed quantity from the file's ``[names]`` (``x1``, ``w3 (updated)``),
    else the quantity itself."""
    rev = {v: k for k, v in ex.names.items()}
    if c.kind in ("z", "a", "delta") and (name := rev.get((c.kind, c.layer, (None, c.index[1])))):
        return name + (f" (sample {c.index[0] + 1})" if ex.x.shape[0] > 1 else "")
    if c.kind in ("W", "b") and (name := rev.get((c.kind, c.layer, c.index))):
        return name + (" (updated)" if c.new else "")
    if c.kind in ("dW", "db") and (name := rev.get((c.kind[1:], c.layer, c.index))):
        return f"∂L/∂{name}" + ("" if c.sample is None else f" (sample {c.sample + 1} term)")
    return c.label


def _check_operands(ex: WorkedExample, c: Claim, q) -> list[dict]:
    """Each number of a printed expression against the true value of what it stands for.

    A computed quantity is judged at the number's printed precision like any
    claim; a number the setup states exactly (input, target, initial weight,
    lr, N) must be that number.
    """
    out = []
    for op in c.operands:
        row = {"text": op.text, "ref": op.ref, "stands_for": None, "true": None, "verdict": None, "copy_of": [],
               "repeats": None}
        if op.claim is not None:
            oc = op.claim
            true = q.value(oc)
            verdict, _ = _verdict(oc, true)
            if _given(oc):  # a number the setup states exactly (an input, a target, a weight, lr, N): equal or wrong
                verdict = "match" if abs(true - oc.value) <= 1e-12 * max(1.0, abs(true)) else "wrong"
            row |= {"stands_for": oc.name or _doc_name(ex, oc), "quantity": oc.label, "true": true, "verdict": verdict}
            if verdict == "wrong":
                same = lambda o: o.kind != "arith" and abs(o.value - oc.value) <= 1e-12 * max(1.0, abs(oc.value))
                row["copy_of"] = [o.id for o in ex.claims if same(o) and o.key != oc.key]
                # the document's own printed value of this very quantity, a claim judged on its own
                row["repeats"] = next((o.id for o in ex.claims if same(o) and o.key == oc.key), None)
        out.append(row)
    return out


def _arith_candidates(ex: WorkedExample, c: Claim, ops: list[dict], setups, quantities) -> list[dict]:
    """Why a printed expression's result is off: copied operands, another setup's numbers, or the arithmetic.

    Tried in turn: the wrong operands replaced by the document's own printed
    values of what they stand for (a copied number); every operand replaced
    by its true value under a declared alternative setup; otherwise an
    arithmetic slip.
    """
    out = []
    by_id = {o.id: o for o in ex.claims}
    as_written = _eval_arith(c.expression)
    bad = [(op, row) for op, row in zip(c.operands, ops) if row["verdict"] == "wrong"]
    copied = [(op, row) for op, row in bad if row["copy_of"]]
    if copied:
        parts = [f"{op.text} (the printed {', '.join(by_id[i].name or i for i in row['copy_of'][:2])}) where "
                 f"{row['stands_for']} = {_fmt(row['true'], op.claim)} belongs" for op, row in copied]
        text = "wrong operands: " + "; ".join(parts)
        # The document's own values for the quantities meant, where it prints them elsewhere.
        first = {}
        for o in ex.claims:
            if o.kind != "arith":
                first.setdefault(o.key, o)
        values, used = [], []
        for op in c.operands:
            v = op.sign * op.value
            if any(op is b for b, _ in copied):
                own = first.get(op.claim.key)
                if own is not None and own.printed != op.claim.printed:
                    v = own.value
                    used.append(f"{own.name or own.id} = {own.printed}")
            values.append(v * op.sign)
        fixed = _eval_arith(c.expression, values)
        if used and _explains(fixed, c):
            text += (f"; with the document's own {', '.join(used)} the expression gives {_fmt(fixed, c)}, "
                     f"the printed result")
        out.append(dict(family="operands", setup="stated", value=fixed, description=text))
    for s in setups:
        if s.stated or not s.declared or any(op.claim is not None and op.claim.kind == "N" for op in c.operands):
            continue
        q = quantities[s.name]
        values = [op.value if op.claim is None else op.sign * q.value(op.claim) for op in c.operands]
        v = _eval_arith(c.expression, values)
        if _explains(v, c):
            changed = [f"{op.text} → {_fmt(q.value(op.claim), op.claim)}" for op in c.operands
                       if op.claim is not None and not _explains(q.value(op.claim), op.claim)]
            out.append(dict(family="setup", setup=s.name, value=v, description=(
                f"the printed result follows from {s.name} ({s.description}), not from the numbers printed in "
                f"the expression: with {', '.join(changed) or 'its values'} it gives {_fmt(v, c)}; as printed "
                f"the expression evaluates to {_fmt(as_written, c)}")))
    out.append(dict(family="arithmetic", setup="stated", value=as_written,
                    description=f"an arithmetic slip: the expression as printed evaluates to {_fmt(as_written, c)}"))
    return out


def check_example(example) -> ExampleReport:
    """Check every claim of a worked example (a path or a loaded :class:`WorkedExample`) and compute
    the complete true state of the stated setup and of each declared alternative."""
    ex = example if isinstance(example, WorkedExample) else load_example(example)
    y_claimed = _eval_expression(ex.expression, ex.x)[:, None] if ex.expression else None
    main = _Quantities(ex.net, ex.params, ex.x, ex.y, ex.lr, y_claimed)
    jaxq = _JaxQuantities(ex.net, ex.params, ex.x, ex.y, ex.lr, y_claimed)
    setups = _setups(ex)
    quantities = {s.name: main if s.stated else _Quantities(s.net, s.params, s.x, s.y, s.lr, y_claimed) for s in setups}

    results = []
    close = _close(main, ex.claims)  # printed numbers that are right up to rounding
    for c in ex.claims:
        v = main.value(c)
        if c.kind == "arith":  # the arithmetic as written: nothing for JAX to differentiate
            j, agrees = v, True
        else:
            j = jaxq.value(c)
            agrees = _agree(v, j, "loss" if c.kind == "loss" else "jax")
        verdict, detail = _verdict(c, v)
        r = ClaimResult(claim=c, computed=v, jax=j, jax_agrees=agrees, verdict=verdict, detail=detail)
        if c.kind == "arith":
            r.operands = _check_operands(ex, c, main)
            bad = [o for o in r.operands if o["verdict"] == "wrong" and not o.get("repeats")]
            if bad and verdict != "wrong":
                r.detail += "; but " + ", ".join(
                    f"{o['text']} stands for {o['stands_for']} = {_fmt(o['true'])}" for o in bad)
        if verdict == "rounding":
            r.cause = _rounding_cause(ex, setups[0], c, v, y_claimed, close, main)
            r.causes = [dict(family="last_digit", setup="stated", value=v, description=r.cause)]
        results.append(r)

    wrong = [r for r in results if r.verdict == "wrong"]
    cands = {r.claim.id: (_arith_candidates(ex, r.claim, r.operands, setups, quantities) if r.claim.kind == "arith"
                          else _candidates(ex, r.claim, setups, quantities)) for r in wrong}
    # A hypothesis that explains many of this example's wrong claims is the likelier cause of each.
    support: dict = {}
    for hs in cands.values():
        for key in {_hkey(h) for h in hs}:
            support[key] = support.get(key, 0) + 1
    setup_rank = {s.name: i for i, s in enumerate(setups)}
    # An automatic rescaling is only a credible cause when it reproduces a good share of the wrong claims.
    need = max(2, math.ceil(0.25 * len(wrong)))
    credible = {s.name for s in setups if s.declared or support.get(("setup", s.name, None), 0) >= need}
    for r in wrong:
        # A copied number is a coincidence of one claim: the last resort, whatever its count.
        hs = sorted((h for h in cands[r.claim.id] if h["setup"] in credible), key=lambda h: (
            h["family"] == "copy", -support[_hkey(h)], _FAMILY_ORDER[h["family"]], setup_rank.get(h["setup"], 0)))
        for h in hs:
            h["support"] = support[_hkey(h)]
        r.causes = hs
        r.cause = hs[0]["description"] if hs else None
    states = [_state(ex, s) for s in setups if s.declared]
    return ExampleReport(example=ex, results=results, setups=states)


def _hkey(h: dict) -> tuple:
    return (h["family"], h["setup"], h.get("variant"))


def search_setups(example, *, top: int = 10, kinds=None) -> list[dict]:
    """Try input/target scalings, per-layer weight transposes and sign flips; rank by claims reproduced.

    For every combination of: inputs as stated / min-max / z-scored, targets
    likewise, each square weight matrix as given or transposed (the other
    index convention ``w_ij`` vs ``w_ji``), and each layer's weights as given
    or negated, count the claims (of ``kinds``, default all but ``y``) whose
    printed value the setup reproduces at the printed precision (match or
    one unit in the last place).  Returns the ``top`` best, most claims first
    and fewest changes first among ties.
    """
    ex = example if isinstance(example, WorkedExample) else load_example(example)
    # Printed arithmetic is the same under every setup: only quantities count.
    claims = [c for c in ex.claims if (c.kind in kinds if kinds else c.kind not in ("y", "arith"))]
    names = [None, *TRANSFORMS]
    square = [l for l, (W, _) in enumerate(ex.params, start=1) if W.shape[0] == W.shape[1]]
    rows = []
    for tx, ty in itertools.product(names, names):
        x = ex.x if tx is None else TRANSFORMS[tx][0](ex.x)
        y = ex.y if ty is None else TRANSFORMS[ty][0](ex.y)
        if x is None or y is None:
            continue
        for tr in itertools.chain.from_iterable(itertools.combinations(square, k) for k in range(len(square) + 1)):
            for neg in itertools.chain.from_iterable(
                itertools.combinations(range(1, ex.net.n_layers + 1), k) for k in range(ex.net.n_layers + 1)
            ):
                params = []
                for l, (W, b) in enumerate(ex.params, start=1):
                    W2 = W.T.copy() if l in tr else W.copy()
                    params.append((-W2 if l in neg else W2, b))
                q = _Quantities(ex.net, params, x, y, ex.lr)
                ok = [c.id for c in claims if abs(q.value(c) - c.value) <= 1.5 * c.ulp * (1 + _SLACK)]
                rows.append({
                    "x": tx or "stated", "y": ty or "stated", "transposed": [f"W{l}" for l in tr],
                    "negated": [f"W{l}" for l in neg], "reproduced": len(ok), "of": len(claims),
                    "changes": (tx is not None) + (ty is not None) + len(tr) + len(neg), "claims": ok,
                })
    rows.sort(key=lambda r: (-r["reproduced"], r["changes"]))
    return rows[:top]
