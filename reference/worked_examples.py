"""Worked examples: the documents' printed numbers, checked one by one, and the complete truth.

A worked-example file (TOML, see ``reference/data/examples/README.md``) holds
a network, its exact parameters, inputs, targets and learning rate, a map of
the document's names to array entries (``[names]``), the document's steps
(``[[steps]]``, for the corrected example) and the document's printed
*claims*: each names a quantity (``z1[0, 1]``, ``loss``, ``dW2[1, 0]``,
``W1_new[0, 0]``, ...) or a printed *expression* (``"(1/3)*(-0.629 - 1.118 -
1.201)"``) and its printed value as written (``"0.7156"``), so the printed
precision is known.

:func:`check_example` computes every claimed quantity with ``manual_bp``,
cross-checks it against the JAX reference (:mod:`reference.model`, within
:func:`reference.tolerances.tolerance`), and gives each claim a verdict about
its printed digits alone:

``match``
    the true value rounds to the printed value at the printed precision;
``rounding``
    one unit off in the last printed place (a truncated value, say);
``wrong``
    anything more.

The *cause* is a separate field: for a wrong claim the likely reason found
automatically (a different loss convention, a sign, a missing chain-rule path,
a rounded intermediate such as "follows from Y_pred (SR 3) rounded to 0.142
before it is used", a copied number, different inputs or parameters, for a
printed expression its operands); for a rounding claim what explains the last
digit.  A printed expression is checked as written (its value from its own
operands) and each operand against the quantity it stands for.

Beyond the claims, the report carries the *complete true state* of every
setup (as stated and each declared ``[[alternatives]]``): per sample every
``z`` and ``a``, the loss in the document's convention, every ``δ_l``, every
gradient entry (and each sample's own term), the parameters after one step
of the stated learning rate and the loss after it, named by the file's name
map.  Every report converts to plain JSON with ``to_dict()``.
"""
from __future__ import annotations

import ast
import itertools
import math
import re
import tomllib
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np

import manual_bp as bp

from . import model as _ref
from .tolerances import allclose_tree, tolerance

__all__ = [
    "ExampleFormatError",
    "WorkedExample",
    "Claim",
    "Alternative",
    "ClaimResult",
    "ExampleReport",
    "SetupState",
    "Operand",
    "load_example",
    "check_example",
    "format_report",
    "errata_markdown",
    "search_setups",
    "parse_printed",
    "VERDICTS",
]

VERDICTS = ("match", "rounding", "wrong")

#: Relative slack on the ulp bounds so that 0.5 ulp ties and float noise do not flip a verdict.
_SLACK = 1e-9
#: Tolerance for a hypothesis to explain a printed value, in units of its last place.
_EXPLAIN_ULPS = 1.5
#: "Only the last printed digit differs": fewer than this many units in the last place.
_LAST_DIGIT_ULPS = 10.0
#: Most chain-rule paths enumerated for the missing-path hypothesis.
_MAX_PATHS = 16


class ExampleFormatError(ValueError):
    """A worked-example file that cannot be read: the message names the problem in one line."""


# ---------------------------------------------------------------------------
# Printed values and quantities
# ---------------------------------------------------------------------------

_NUMBER_RE = re.compile(r"^[+-]?(?P<int>\d+)(?:\.(?P<frac>\d*))?(?:[eE](?P<exp>[+-]?\d+))?$")


def parse_printed(text: str) -> tuple[float, float]:
    """``(value, ulp)`` of a number as printed: ``"-0.066"`` gives ``(-0.066, 0.001)``.

    The ulp is one unit in the last printed place, so ``"0.94"`` has ulp 0.01
    and ``"1.2e-3"`` has ulp 1e-4.
    """
    if not isinstance(text, str):
        raise ExampleFormatError(f"printed values must be strings as written, e.g. \"0.19\", got {text!r}")
    s = text.strip().replace("\u2212", "-")
    m = _NUMBER_RE.match(s)
    if not m:
        raise ExampleFormatError(f"printed value {text!r} is not a number")
    decimals = len(m.group("frac") or "")
    exp = int(m.group("exp") or 0)
    return float(s), 10.0 ** (exp - decimals)


_QTY_RE = re.compile(
    r"^(?P<kind>z|a|delta|dW|db|W|b)(?P<layer>\d+)(?P<new>_new)?\[(?P<idx>[^\]]*)\]$"
)
_Y_RE = re.compile(r"^y\[(?P<idx>[^\]]*)\]$")


@dataclass(frozen=True)
class Operand:
    """One number of a printed expression and the quantity it stands for.

    ``ref`` is what the file says it stands for: a claim id, a quantity
    (``W1[0, 0]``, ``a0[0, 1]``, ``dW1[0, 0]@2`` for sample 2's own term),
    ``lr``, ``N`` (the number of samples) or ``const`` (a constant such as
    the ½, not checked); a leading ``-`` when the number is minus that
    quantity (``- 1.118`` standing for P₂ = −1.118).
    """

    text: str
    value: float
    ulp: float
    ref: str
    sign: float = 1.0
    claim: "Claim | None" = None  # the quantity as a claim of the literal's printed value (None: const)


@dataclass(frozen=True)
class Claim:
    """One printed number of a document.

    ``quantity`` uses 0-based indices in this project's layout (samples as
    rows, ``W`` of shape ``(n_in, n_out)``): ``z{l}[n, j]``, ``a{l}[n, j]``
    (``a0`` is the input), ``delta{l}[n, j]``, ``loss``, ``dW{l}[i, j]``,
    ``db{l}[j]``, ``W{l}[i, j]`` and ``b{l}[j]`` (the initial parameters),
    ``W{l}_new[i, j]`` and ``b{l}_new[j]`` (after one gradient step), and
    ``y[n, k]`` (a target, checked against the document's expression).
    ``sample`` (for ``loss``, ``dW``, ``db``) selects sample n's own term: the
    gradient of ``(½ if half)·ℓ_n`` without any 1/N.  A claim about printed
    arithmetic has ``kind == "arith"``, its ``expression`` as written and its
    ``operands``.
    """

    id: str
    quantity: str
    printed: str
    sample: int | None = None
    name: str = ""
    text: str = ""
    note: str = ""
    expression: str = ""
    # parsed
    kind: str = field(default="", compare=False)
    layer: int = field(default=0, compare=False)
    new: bool = field(default=False, compare=False)
    index: tuple[int, ...] = field(default=(), compare=False)
    value: float = field(default=0.0, compare=False)
    ulp: float = field(default=1.0, compare=False)
    operands: tuple = field(default=(), compare=False)

    @property
    def label(self) -> str:
        """The quantity with its sample, e.g. ``dW1[0, 0] (sample 2 term)``; an expression as written."""
        if self.kind == "arith":
            return self.expression
        return self.quantity + ("" if self.sample is None else f" (sample {self.sample} term)")

    @property
    def key(self) -> tuple[str, int | None]:
        return ("= " + self.id, None) if self.kind == "arith" else (self.quantity, self.sample)


@dataclass(frozen=True)
class Alternative:
    """Another set of inputs/targets/parameters under which claims may have been computed."""

    name: str
    description: str
    x: np.ndarray
    y: np.ndarray
    params: list
    lr: float


@dataclass
class WorkedExample:
    """A loaded worked-example file.

    ``names`` maps the document's names to entries: ``{"w11": ("W", 1, (0, 0)),
    "b3": ("b", 2, (1,)), "Z11": ("z", 1, (None, 0))}`` (``None`` is the
    sample axis); ``steps`` is the file's ``[[steps]]`` list (dicts).
    """

    id: str
    title: str
    source: str
    path: str
    net: bp.Network
    params: list
    x: np.ndarray
    y: np.ndarray
    lr: float
    claims: list[Claim]
    alternatives: list[Alternative]
    expression: str | None = None
    interpretation: str = ""
    names: dict = field(default_factory=dict)
    steps: list = field(default_factory=list)


def _idx(text: str, n: int, where: str) -> tuple[int, ...]:
    parts = [p.strip() for p in text.split(",")] if text.strip() else []
    if len(parts) != n or not all(p.isdigit() for p in parts):
        raise ExampleFormatError(f"{where}: needs {n} comma-separated non-negative indices, got [{text}]")
    return tuple(int(p) for p in parts)


_QTY_HELP = ("use z1[n, j], a1[n, j], delta1[n, j], loss, dW1[i, j], db1[j], W1[i, j], b1[j], "
             "W1_new[i, j], b1_new[j] or y[n, k]")


def _parse_quantity(qty: str, net: bp.Network, n_samples: int, where: str) -> tuple:
    """``(kind, layer, new, index)`` of a quantity string, validated against ``net`` and the data."""
    L, sizes = net.n_layers, net.sizes
    kind, layer, new, index = "", 0, False, ()
    if qty == "loss":
        return "loss", 0, False, ()
    if (m := _Y_RE.match(qty)):
        index = _idx(m.group("idx"), 2, where)
        if index[0] >= n_samples or index[1] >= sizes[-1]:
            raise ExampleFormatError(f"{where}: index {list(index)} out of range for y ({n_samples}, {sizes[-1]})")
        return "y", 0, False, index
    if not (m := _QTY_RE.match(qty)):
        raise ExampleFormatError(f"{where}: unknown quantity {qty!r}; {_QTY_HELP}")
    kind, layer, new = m.group("kind"), int(m.group("layer")), bool(m.group("new"))
    if new and kind not in ("W", "b"):
        raise ExampleFormatError(f"{where}: only W and b have a _new (updated) form, got {qty!r}")
    lo = 0 if kind == "a" else 1
    if not lo <= layer <= L:
        raise ExampleFormatError(f"{where}: layer {layer} out of range {lo}..{L} in {qty!r}")
    if kind in ("z", "a", "delta"):
        index = _idx(m.group("idx"), 2, where)
        shape = (n_samples, sizes[layer])
    elif kind in ("dW", "W"):
        index = _idx(m.group("idx"), 2, where)
        shape = (sizes[layer - 1], sizes[layer])
    else:
        index = _idx(m.group("idx"), 1, where)
        shape = (sizes[layer],)
        if not net.bias[layer - 1]:
            raise ExampleFormatError(f"{where}: layer {layer} has no bias, so {qty!r} does not exist")
    if any(i >= s for i, s in zip(index, shape)):
        raise ExampleFormatError(f"{where}: index {list(index)} out of range for shape {shape} in {qty!r}")
    return kind, layer, new, index


def _parse_claim(raw: dict, ex_net: bp.Network, n_samples: int, pos: int) -> Claim:
    where = f"claims[{pos}]"
    if not isinstance(raw, dict):
        raise ExampleFormatError(f"{where} must be a table")
    unknown = set(raw) - {"id", "quantity", "printed", "sample", "name", "text", "note", "expression", "operands"}
    if unknown:
        raise ExampleFormatError(f"{where}: unknown keys {sorted(unknown)}")
    arith = "expression" in raw
    for key in ("id", "printed") + (() if arith else ("quantity",)):
        if key not in raw:
            raise ExampleFormatError(f"{where}: missing {key!r}")
    cid = str(raw["id"])
    where = f"claim {cid!r}"
    value, ulp = parse_printed(raw["printed"])
    common = dict(id=cid, printed=str(raw["printed"]), name=str(raw.get("name", "")), text=str(raw.get("text", "")),
                  note=str(raw.get("note", "")), value=value, ulp=ulp)
    if arith:
        if "quantity" in raw or "sample" in raw:
            raise ExampleFormatError(f"{where}: a printed expression takes expression, operands and printed, "
                                     "not quantity or sample")
        expr = str(raw["expression"])
        literals = _literals(expr, where)
        refs = raw.get("operands", ["const"] * len(literals))
        if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
            raise ExampleFormatError(f"{where}: operands must be a list of strings (claim ids or quantities)")
        if len(refs) != len(literals):
            raise ExampleFormatError(
                f"{where}: {len(literals)} numbers in the expression ({', '.join(t for t, _, _ in literals)}) "
                f"but {len(refs)} operands")
        ops = tuple(Operand(text=t, value=v, ulp=u, ref=r.strip()) for (t, v, u), r in zip(literals, refs))
        return Claim(quantity="", expression=expr, kind="arith", operands=ops, **common)
    if "operands" in raw:
        raise ExampleFormatError(f"{where}: operands belong to a printed expression (expression = ...)")
    qty = str(raw["quantity"]).replace(" ", "")
    sample = raw.get("sample")
    if sample is not None and (isinstance(sample, bool) or not isinstance(sample, int) or not 0 <= sample < n_samples):
        raise ExampleFormatError(f"{where}: sample must be an int in [0, {n_samples}), got {sample!r}")
    kind, layer, new, index = _parse_quantity(qty, ex_net, n_samples, where)
    if sample is not None and kind not in ("loss", "dW", "db"):
        raise ExampleFormatError(f"{where}: sample applies to loss, dW and db only (z/a/delta carry n in the index)")
    return Claim(quantity=qty, sample=sample, kind=kind, layer=layer, new=new, index=index, **common)


def _resolve_operands(c: Claim, by_id: dict, net: bp.Network, n_samples: int) -> Claim:
    """``c`` with each operand's ``claim``: the quantity it stands for, claimed at the literal's printed value."""
    ops = []
    for k, op in enumerate(c.operands):
        ref, sign = op.ref, 1.0
        if ref.startswith("-"):
            ref, sign = ref[1:].strip(), -1.0
        where = f"claim {c.id!r}: operand {k + 1} ({op.text})"
        value = sign * op.value
        if ref == "const":
            ops.append(replace(op, ref=op.ref, sign=sign))
            continue
        base = dict(id=f"{c.id}#{k + 1}", printed=op.text, value=value, ulp=op.ulp)
        if ref in ("lr", "N"):
            oc = Claim(quantity=ref, kind=ref, **base)
        elif ref in by_id:
            t = by_id[ref]
            if t.kind == "arith":
                raise ExampleFormatError(f"{where}: refers to {ref!r}, a printed expression, not a quantity")
            oc = Claim(quantity=t.quantity, sample=t.sample, name=t.name, kind=t.kind, layer=t.layer, new=t.new,
                       index=t.index, **base)
        else:
            qty, _, smp = ref.replace(" ", "").partition("@")
            try:
                kind, layer, new, index = _parse_quantity(qty, net, n_samples, where)
            except ExampleFormatError as exc:
                raise ExampleFormatError(f"{exc} (or use a claim id, lr, N or const)") from None
            sample = None
            if smp:
                if not smp.isdigit() or int(smp) >= n_samples or kind not in ("loss", "dW", "db"):
                    raise ExampleFormatError(f"{where}: @sample must be 0..{n_samples - 1} after loss, dW or db")
                sample = int(smp)
            oc = Claim(quantity=qty, sample=sample, kind=kind, layer=layer, new=new, index=index, **base)
        ops.append(replace(op, sign=sign, claim=oc))
    return replace(c, operands=tuple(ops))


_NAME_RE = re.compile(r"^(?P<kind>z|a|delta|W|b)(?P<layer>\d+)\[(?P<idx>[^\]]*)\]$")


def _parse_names(table, net: bp.Network, where: str = "[names]") -> dict:
    """The document's names: ``{name: (kind, layer, index)}``; units carry ``:`` (None) for the sample."""
    if not isinstance(table, dict):
        raise ExampleFormatError(f"{where} must be a table of name = \"quantity\"")
    out, seen = {}, {}
    for name, qty in table.items():
        w = f"{where}.{name}"
        if not isinstance(qty, str):
            raise ExampleFormatError(f"{w} must be a quantity string such as \"W1[0, 0]\" or \"z1[:, 0]\"")
        m = _NAME_RE.match(qty.replace(" ", ""))
        if not m:
            raise ExampleFormatError(f"{w}: {qty!r} is not W1[i, j], b1[j], z1[:, j], a1[:, j] or delta1[:, j]")
        kind, layer = m.group("kind"), int(m.group("layer"))
        parts = m.group("idx").split(",")
        if kind in ("z", "a", "delta"):
            if len(parts) != 2 or parts[0] != ":":
                raise ExampleFormatError(f"{w}: a unit is named over all samples, e.g. {kind}{layer}[:, 0]")
            index = (None, _idx(parts[1], 1, w)[0])
            lo = 0 if kind == "a" else 1
            if not lo <= layer <= net.n_layers or index[1] >= net.sizes[layer]:
                raise ExampleFormatError(f"{w}: {qty!r} is out of range for a {net.describe()} network")
        else:
            _, layer, _, index = _parse_quantity(qty.replace(" ", ""), net, 1, w)
        key = (kind, layer, index)
        if key in seen:
            raise ExampleFormatError(f"{w}: {qty!r} is already named {seen[key]!r}")
        seen[key] = name
        out[str(name)] = key
    return out


def _matrix(v, where: str, ndim: int) -> np.ndarray:
    try:
        arr = np.array(v, dtype=np.float64)
    except (TypeError, ValueError):
        raise ExampleFormatError(f"{where} must be a {'matrix' if ndim == 2 else 'vector'} of numbers") from None
    if arr.ndim != ndim:
        raise ExampleFormatError(f"{where} must have {ndim} dimension(s), got shape {arr.shape}")
    return arr


def _read_leaf(table: dict, key: str, shape: tuple, where: str, base_value, missing: str):
    """``table[key]`` as an array of ``shape``, else a copy of ``base_value``, else an error."""
    if key in table:
        arr = _matrix(table[key], f"{where}.{key}", len(shape))
        if arr.shape != shape:
            layout = " (n_in, n_out)" if key.startswith("W") else ""
            raise ExampleFormatError(f"{where}.{key} must have shape {shape}{layout}, got {arr.shape}")
        return arr
    if base_value is not None:
        return base_value.copy()
    raise ExampleFormatError(f"{where}: missing {key} ({missing})")


def _read_params(table: dict, net: bp.Network, where: str, base=None) -> list:
    params = []
    for l, ((w_shape, b_shape), has_b) in enumerate(zip(net.shapes(), net.bias), start=1):
        W_base, b_base = (None, None) if base is None else base[l - 1]
        W = _read_leaf(table, f"W{l}", w_shape, where, W_base, f"shape {w_shape}")
        b = None
        if has_b:
            b = _read_leaf(table, f"b{l}", b_shape, where, b_base, f"network bias for layer {l} is on")
        elif f"b{l}" in table:
            raise ExampleFormatError(f"{where}: b{l} given but the network has no bias in layer {l}")
        params.append((W, b))
    extra = {k for k in table if re.fullmatch(r"[Wb]\d+", k)} - {f"{p}{l}" for l in range(1, net.n_layers + 1) for p in "Wb"}
    if extra:
        raise ExampleFormatError(f"{where}: {sorted(extra)} do not match the network's {net.n_layers} layers")
    return params


# Standard rescalings tried automatically as "wrong inputs" hypotheses.
def _minmax(a):
    rng = a.max(axis=0) - a.min(axis=0)
    return None if np.any(rng == 0) else (a - a.min(axis=0)) / rng


def _zscore(a):
    sd = a.std(axis=0)
    return None if np.any(sd == 0) else (a - a.mean(axis=0)) / sd


TRANSFORMS = {
    "minmax": (_minmax, "min-max scaled to [0, 1] per column"),
    "zscore": (_zscore, "standardised per column (mean 0, population sd 1)"),
}


def _data_override(v, stated: np.ndarray, where: str) -> np.ndarray:
    if isinstance(v, str):
        if v not in TRANSFORMS:
            raise ExampleFormatError(f"{where}: unknown transform {v!r}; use one of {sorted(TRANSFORMS)} or a matrix")
        out = TRANSFORMS[v][0](stated)
        if out is None:
            raise ExampleFormatError(f"{where}: {v} is undefined for constant columns")
        return out
    arr = _matrix(v, where, 2)
    if arr.shape != stated.shape:
        raise ExampleFormatError(f"{where} must have shape {stated.shape}, got {arr.shape}")
    return arr


def load_example(path) -> WorkedExample:
    """Read and validate a worked-example TOML file; raises :class:`ExampleFormatError`."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except FileNotFoundError:
        raise ExampleFormatError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ExampleFormatError(f"{path}: is a directory, not a worked-example file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ExampleFormatError(f"{path}: not valid TOML: {exc}") from None
    try:
        return _build(doc, path)
    except ExampleFormatError as exc:
        raise ExampleFormatError(f"{path}: {exc}") from None


def _build(doc: dict, path: Path) -> WorkedExample:
    for section in ("example", "network", "params", "data", "claims"):
        if section not in doc:
            raise ExampleFormatError(f"missing [{section}] section")
    meta, netd, data = doc["example"], doc["network"], doc["data"]
    try:
        net = bp.Network(
            tuple(netd["sizes"]), tuple(netd["activations"]), netd["loss"],
            reduction=netd.get("reduction", "sum"), half=netd.get("half", False),
            bias=tuple(netd["bias"]) if isinstance(netd.get("bias"), list) else netd.get("bias", True),
        )
    except KeyError as exc:
        raise ExampleFormatError(f"[network] needs {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise ExampleFormatError(f"[network]: {exc}") from None
    params = _read_params(doc["params"], net, "[params]")
    if "x" not in data or "y" not in data:
        raise ExampleFormatError("[data] needs x (one row per sample) and y")
    x = _matrix(data["x"], "[data].x", 2)
    y = _matrix(data["y"], "[data].y", 2)
    if x.shape[1] != net.sizes[0] or y.shape != (x.shape[0], net.sizes[-1]):
        raise ExampleFormatError(
            f"[data]: x must be (N, {net.sizes[0]}) and y (N, {net.sizes[-1]}), got {x.shape} and {y.shape}"
        )
    expression = data.get("expression")
    if expression is not None:
        try:
            _eval_expression(expression, x)
        except ExampleFormatError as exc:
            raise ExampleFormatError(f"[data].expression: {exc}") from None
    lr = doc.get("training", {}).get("lr")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ExampleFormatError(f"[training].lr must be a positive number, got {lr!r}")
    if not isinstance(doc["claims"], list) or not doc["claims"]:
        raise ExampleFormatError("needs at least one [[claims]] entry")
    claims = [_parse_claim(c, net, x.shape[0], i) for i, c in enumerate(doc["claims"])]
    seen = set()
    for c in claims:
        if c.id in seen:
            raise ExampleFormatError(f"claim id {c.id!r} is used twice")
        seen.add(c.id)
    by_id = {c.id: c for c in claims}
    claims = [_resolve_operands(c, by_id, net, x.shape[0]) if c.kind == "arith" else c for c in claims]
    names = _parse_names(doc.get("names", {}), net)
    steps = doc.get("steps", [])
    if not isinstance(steps, list):
        raise ExampleFormatError("[[steps]] must be an array of tables")
    for i, st in enumerate(steps):
        _check_step(st, names, f"steps[{i}]")
    alternatives = []
    for i, alt in enumerate(doc.get("alternatives", [])):
        where = f"alternatives[{i}]"
        if "name" not in alt:
            raise ExampleFormatError(f"{where}: missing 'name'")
        unknown = set(alt) - {"name", "description", "x", "y", "lr"} - {k for k in alt if re.fullmatch(r"[Wb]\d+", k)}
        if unknown:
            raise ExampleFormatError(f"{where}: unknown keys {sorted(unknown)}")
        alternatives.append(Alternative(
            name=str(alt["name"]), description=str(alt.get("description", alt["name"])),
            x=_data_override(alt["x"], x, f"{where}.x") if "x" in alt else x,
            y=_data_override(alt["y"], y, f"{where}.y") if "y" in alt else y,
            params=_read_params(alt, net, where, base=params),
            lr=float(alt.get("lr", lr)),
        ))
    return WorkedExample(
        id=str(meta.get("id", path.stem)), title=str(meta.get("title", path.stem)),
        source=str(meta.get("source", "")), path=str(path), net=net, params=params, x=x, y=y,
        lr=float(lr), claims=claims, alternatives=alternatives, expression=expression,
        interpretation=str(meta.get("interpretation", "")).strip(), names=names, steps=steps,
    )


#: What a ``[[steps]]`` entry may list: per-sample unit columns, per-sample gradient terms,
#: gradients and updated parameters (all by document name), and the loss.
_STEP_KEYS = {"title", "text", "samples", "terms", "headers", "gradients", "updates", "loss"}


def _check_step(st, names: dict, where: str) -> None:
    if not isinstance(st, dict) or "title" not in st:
        raise ExampleFormatError(f"{where} must be a table with a title")
    unknown = set(st) - _STEP_KEYS
    if unknown:
        raise ExampleFormatError(f"{where}: unknown keys {sorted(unknown)}; use {sorted(_STEP_KEYS)}")
    for key in ("samples", "terms", "gradients", "updates"):
        for n in st.get(key, []):
            if n not in names:
                raise ExampleFormatError(f"{where}.{key}: {n!r} is not in [names]")
            unit = names[n][0] in ("z", "a", "delta")
            if unit != (key == "samples"):
                raise ExampleFormatError(f"{where}.{key}: {n!r} is a {'unit' if unit else 'parameter'}; "
                                         "samples lists units, terms/gradients/updates list parameters")
    if "headers" in st and len(st["headers"]) != len(st.get("terms", [])):
        raise ExampleFormatError(f"{where}: headers needs one entry per name in terms")
    if "loss" in st and not isinstance(st["loss"], bool):
        raise ExampleFormatError(f"{where}.loss must be true or false")


def _normalise(expr: str) -> str:
    return str(expr).replace("\u2212", "-").replace("\u00d7", "*").replace("\u00b7", "*")


def _literal_nodes(tree) -> list:
    """The number literals of an expression in source order; ``-3`` (unary minus on a number) is one literal."""
    out = []

    def walk(node):
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
            out.append(node)
            return
        if isinstance(node, ast.Constant):
            out.append(node)
            return
        for child in ast.iter_child_nodes(node):
            walk(child)

    walk(tree)
    return sorted(out, key=lambda n: (n.lineno, n.col_offset))


def _parse_arith(expr: str, where: str):
    text = _normalise(expr)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise ExampleFormatError(f"{where}: cannot parse the expression {expr!r}") from None
    for node in ast.walk(tree):
        ok = isinstance(node, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.operator, ast.unaryop))
        ok = ok or (isinstance(node, ast.Constant) and isinstance(node.value, (int, float))
                    and not isinstance(node.value, bool))
        if not ok or (isinstance(node, ast.BinOp) and type(node.op) not in _BINOPS) or (
                isinstance(node, ast.UnaryOp) and not isinstance(node.op, (ast.USub, ast.UAdd))):
            raise ExampleFormatError(f"{where}: {expr!r}: only numbers, ( ) and + - * / ** are allowed")
    return text, tree


def _literals(expr: str, where: str) -> list[tuple[str, float, float]]:
    """``[(text, value, ulp)]`` of every number in ``expr`` as printed, in order."""
    text, tree = _parse_arith(expr, where)
    out = []
    for node in _literal_nodes(tree):
        lit = ast.get_source_segment(text, node).replace(" ", "")
        out.append((lit, *parse_printed(lit)))
    return out


def _eval_arith(expr: str, values=None) -> float:
    """``expr`` evaluated in float64, its k-th number replaced by ``values[k]`` when given."""
    text, tree = _parse_arith(expr, "expression")
    nodes = _literal_nodes(tree)
    subst = {id(n): (float(v) if values is not None else None) for n, v in zip(nodes, values or [None] * len(nodes))}

    def ev(node):
        if id(node) in subst and subst[id(node)] is not None:
            return subst[id(node)]
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.BinOp):
            return float(_BINOPS[type(node.op)](ev(node.left), ev(node.right)))
        if isinstance(node, ast.UnaryOp):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        return float(node.value)

    return ev(tree)


_BINOPS = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide, ast.Pow: np.power}


def _eval_expression(expr: str, x: np.ndarray) -> np.ndarray:
    """Evaluate ``expr`` in X1..Xd (columns of ``x``) with + - * / ** only."""
    try:
        tree = ast.parse(str(expr), mode="eval")
    except SyntaxError:
        raise ExampleFormatError(f"cannot parse {expr!r}") from None

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return float(node.value)
        if isinstance(node, ast.Name) and re.fullmatch(r"X\d+", node.id) and 1 <= int(node.id[1:]) <= x.shape[1]:
            return x[:, int(node.id[1:]) - 1]
        raise ExampleFormatError(f"{expr!r}: only numbers, X1..X{x.shape[1]} and + - * / ** are allowed")

    return np.broadcast_to(np.asarray(ev(tree), dtype=np.float64), (x.shape[0],))


# ---------------------------------------------------------------------------
# Quantities: one bundle of every claimable value, however it was computed
# ---------------------------------------------------------------------------

class _Quantities:
    """Every claimable quantity of one (net, params, x, y, lr), by manual_bp.

    Subclasses replace how values are obtained (JAX, the document's rounded
    chain); :meth:`value` reads any claim's quantity from the bundle.
    """

    def __init__(self, net, params, x, y, lr, y_claimed=None):
        self.net, self.params, self.x, self.y, self.lr = net, params, x, y, lr
        self.y_claimed = y if y_claimed is None else y_claimed
        self._per_sample = {}

    def _cached(self, what, n, fn):
        if (what, n) not in self._per_sample:
            self._per_sample[(what, n)] = fn(n)
        return self._per_sample[(what, n)]

    def _sample_net(self):
        n = self.net
        return bp.Network(n.sizes, n.activations, n.loss, reduction="sum", half=n.half, bias=n.bias)

    @cached_property
    def forward(self):
        return bp.forward(self.net, self.params, self.x)

    @cached_property
    def loss(self):
        return float(bp.loss(self.net, self.params, self.x, self.y))

    @cached_property
    def deltas(self):
        return bp.deltas(self.net, self.params, self.x, self.y)

    @cached_property
    def grads(self):
        return bp.gradients(self.net, self.params, self.x, self.y)

    def sample_grads(self, n):
        return bp.gradients(self._sample_net(), self.params, self.x[n : n + 1], self.y[n : n + 1])

    def sample_loss(self, n):
        return float(bp.loss(self._sample_net(), self.params, self.x[n : n + 1], self.y[n : n + 1]))

    @cached_property
    def new_params(self):
        return bp.sgd_step(self.params, self.grads, self.lr)

    def value(self, c: Claim) -> float:
        k, l, i = c.kind, c.layer, c.index
        if k == "arith":  # printed arithmetic: the expression as written, whatever the setup
            return _eval_arith(c.expression)
        if k == "lr":
            return float(self.lr)
        if k == "N":
            return float(self.x.shape[0])
        if k == "loss":
            return self.loss if c.sample is None else self._cached("loss", c.sample, self.sample_loss)
        if k == "y":
            return float(self.y_claimed[i])
        if k == "z":
            return float(self.forward[0][l - 1][i])
        if k == "a":
            return float(self.forward[1][l][i])
        if k == "delta":
            return float(self.deltas[l - 1][i])
        if k in ("dW", "db"):
            g = self.grads if c.sample is None else self._cached("grads", c.sample, self.sample_grads)
            return float(g[l - 1][0 if k == "dW" else 1][i])
        p = self.new_params if c.new else self.params
        return float(p[l - 1][0 if k == "W" else 1][i])


# ---------------------------------------------------------------------------
# The JAX cross-check: the reference model (reference.model), nothing local
# ---------------------------------------------------------------------------

class _JaxQuantities(_Quantities):
    """The same bundle from the JAX reference: ``reference.forward`` (the model's
    ``forward_xp``), and ``reference.loss/gradients/deltas`` (``jax.grad`` of its ``loss_xp``)."""

    @cached_property
    def forward(self):
        return _ref.forward(self.net, self.params, self.x)

    @cached_property
    def loss(self):
        return _ref.loss(self.net, self.params, self.x, self.y)

    @cached_property
    def grads(self):
        return _ref.gradients(self.net, self.params, self.x, self.y)

    def sample_grads(self, n):
        return _ref.gradients(self._sample_net(), self.params, self.x[n : n + 1], self.y[n : n + 1])

    def sample_loss(self, n):
        return _ref.loss(self._sample_net(), self.params, self.x[n : n + 1], self.y[n : n + 1])

    @cached_property
    def deltas(self):
        return _ref.deltas(self.net, self.params, self.x, self.y)

    @cached_property
    def new_params(self):
        # The update rule itself, written out: θ − lr · ∂L/∂θ with JAX's gradient.
        return [
            (W - self.lr * dW, None if b is None else b - self.lr * db)
            for (W, b), (dW, db) in zip(self.params, self.grads)
        ]


def _agree(v: float, j: float, kind: str) -> bool:
    """manual_bp's ``v`` and JAX's ``j`` within the tolerance table's float64 bound for ``kind``."""
    tol = tolerance(np.float64, kind)
    return bool(abs(v - j) <= tol.atol + tol.rtol * max(abs(v), abs(j)))


# ---------------------------------------------------------------------------
# Cause finding
# ---------------------------------------------------------------------------

class _RoundedChain(_Quantities):
    """The computation redone the document's way: its printed intermediates replace ours.

    Forward: each printed ``z``/``a`` replaces the computed one before the next
    layer uses it.  Backward: per-sample deltas from the (printed) outputs,
    printed per-sample gradient terms replace computed ones before they are
    summed, and printed gradients replace computed ones before the update.
    When several claims print the same quantity, the first one in the file is used.
    """

    def __init__(self, net, params, x, y, lr, printed: dict, y_claimed=None):
        super().__init__(net, params, x, y, lr, y_claimed)
        self.printed = printed  # (quantity kind, layer, index, sample) -> value

    def _put(self, arr, kind, layer, sample=None):
        for (k, l, idx, s), v in self.printed.items():
            if k == kind and l == layer and s == sample:
                arr[idx] = v
        return arr

    @cached_property
    def _chain(self):
        net, N = self.net, self.x.shape[0]
        scale = 0.5 if net.half else 1.0
        a = self._put(self.x.astype(np.float64).copy(), "a", 0)
        zs, as_ = [], [a]
        for l, ((W, b), act) in enumerate(zip(self.params, net.activations), start=1):
            z = a @ W + (0.0 if b is None else b)
            z = self._put(z, "z", l)
            a = self._put(act.value(z), "a", l)
            zs.append(z)
            as_.append(a)
        per_loss = scale * net.loss_fn.value(zs[-1], as_[-1], self.y)
        mean = net.reduction == "mean"
        # Per-sample deltas of (½)ℓ_n; printed full-loss deltas carry the 1/N of a mean.
        d = scale * net.loss_fn.output_delta(zs[-1], as_[-1], self.y, net.activations[-1])
        ds = [None] * net.n_layers
        for l in range(net.n_layers, 0, -1):
            if l < net.n_layers:
                d = net.activations[l - 1].vjp(d @ self.params[l][0].T, zs[l - 1], as_[l])
            full = self._put(d / N if mean else d.copy(), "delta", l)
            d = full * N if mean else full
            ds[l - 1] = d
        sample_grads = []
        for n in range(N):
            g = []
            for l, ((W, b), a_prev, dl) in enumerate(zip(self.params, as_[:-1], ds), start=1):
                dW = self._put(np.outer(a_prev[n], dl[n]), "dW", l, n)
                db = None if b is None else self._put(dl[n].copy(), "db", l, n)
                g.append((dW, db))
            sample_grads.append(g)
        grads = []
        for l, (W, b) in enumerate(self.params, start=1):
            dW = sum(g[l - 1][0] for g in sample_grads) / (N if mean else 1)
            db = None if b is None else sum(g[l - 1][1] for g in sample_grads) / (N if mean else 1)
            grads.append((self._put(dW, "dW", l), None if db is None else self._put(db, "db", l)))
        loss = float(per_loss.sum() / (N if mean else 1))
        return zs, as_, loss, per_loss, [d / N if mean else d for d in ds], sample_grads, grads

    @property
    def forward(self):
        return self._chain[0], self._chain[1]

    @property
    def loss(self):
        return self._chain[2]

    def sample_loss(self, n):
        return float(self._chain[3][n])

    @property
    def deltas(self):
        return self._chain[4]

    def sample_grads(self, n):
        return self._chain[5][n]

    @property
    def grads(self):
        return self._chain[6]

    @cached_property
    def new_params(self):
        return [
            (W - self.lr * dW, None if b is None else b - self.lr * db)
            for (W, b), (dW, db) in zip(self.params, self.grads)
        ]


def _paths(net, params, x, y, lr, c: Claim):
    """Chain-rule path contributions to a parameter's gradient: ``[(path, value), ...]``.

    For ``dW{l}[i, j]`` (and ``db``, ``W_new``, ``b_new``) every path runs from
    unit j of layer l through one unit of each later layer to one output unit;
    the true gradient is the sum of all of them.  Empty when there is one path.
    """
    if c.kind not in ("dW", "db", "W", "b") or (c.kind in ("W", "b") and not c.new):
        return []
    l, L = c.layer, net.n_layers
    widths = net.sizes[l + 1 :]
    if len(widths) == 0 or math.prod(widths) < 2 or math.prod(widths) > _MAX_PATHS:
        return []
    zs, as_ = bp.forward(net, params, x)
    scale = 0.5 if net.half else 1.0
    dL = scale * net.loss_fn.output_delta(zs[-1], as_[-1], y, net.activations[-1])
    rows = slice(None) if c.sample is None else slice(c.sample, c.sample + 1)
    norm = x.shape[0] if (net.reduction == "mean" and c.sample is None) else 1
    j = c.index[-1]
    out = []
    for path in itertools.product(*(range(w) for w in widths)):
        units = (j,) + path  # k_l = j, k_{l+1}, ..., k_L
        d = dL[rows, units[-1]].copy()
        for m in range(l + 1, L + 1):  # layer m's weight W_m links unit k_{m-1} to k_m
            k_prev, k = units[m - 1 - l], units[m - l]
            act = net.activations[m - 2]
            fprime = act.derivative(zs[m - 2][rows], as_[m - 1][rows])[:, k_prev]
            d = d * params[m - 1][0][k_prev, k] * fprime
        g = float((as_[l - 1][rows, c.index[0]] * d).sum() if c.kind in ("dW", "W") else d.sum()) / norm
        if c.kind in ("W", "b"):  # an update, computed with this path's gradient
            g = float(params[l - 1][0 if c.kind == "W" else 1][c.index]) - lr * g
        out.append(("→".join(f"z{m}[·,{k}]" for m, k in zip(range(l + 1, L + 1), path)), g))
    return out


@dataclass
class _Setup:
    name: str
    description: str
    net: bp.Network
    params: list
    x: np.ndarray
    y: np.ndarray
    lr: float
    stated: bool = False
    declared: bool = True


def _setups(ex: WorkedExample) -> list[_Setup]:
    out = [_Setup("stated", "the file's stated setup", ex.net, ex.params, ex.x, ex.y, ex.lr, stated=True)]
    for alt in ex.alternatives:
        out.append(_Setup(f"alternative '{alt.name}'", alt.description, ex.net, alt.params, alt.x, alt.y, alt.lr))
    names = [None, *TRANSFORMS]
    for tx, ty in itertools.product(names, names):
        if tx is None and ty is None:
            continue
        x = ex.x if tx is None else TRANSFORMS[tx][0](ex.x)
        y = ex.y if ty is None else TRANSFORMS[ty][0](ex.y)
        if x is None or y is None:
            continue
        parts = ([f"inputs {TRANSFORMS[tx][1]}"] if tx else []) + ([f"targets {TRANSFORMS[ty][1]}"] if ty else [])
        name = "+".join(p for p in (f"x:{tx}" if tx else "", f"y:{ty}" if ty else "") if p)
        out.append(_Setup(name, "; ".join(parts), ex.net, ex.params, x, y, ex.lr, declared=False))
    return out


_CONVENTIONS = [("sum", False), ("sum", True), ("mean", False), ("mean", True)]


def _conv_label(reduction: str, half: bool) -> str:
    return {("sum", False): "Σ", ("sum", True): "½·Σ", ("mean", False): "(1/N)·Σ", ("mean", True): "1/(2N)·Σ"}[
        (reduction, half)
    ]


def _explains(v: float, c: Claim) -> bool:
    return v is not None and np.isfinite(v) and abs(v - c.value) <= _EXPLAIN_ULPS * c.ulp * (1 + _SLACK) + 1e-15


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


def _fmt(v: float, c: Claim | None = None) -> str:
    if v is None or not np.isfinite(v):
        return str(v)
    if c is None:
        return f"{v:.6g}"
    decimals = max(0, -int(round(math.log10(c.ulp))))
    return f"{v:.{decimals + 2}f}"


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


# ---------------------------------------------------------------------------
# Verdicts and reports
# ---------------------------------------------------------------------------

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
            "id": c.id, "quantity": c.quantity, "sample": c.sample, "name": c.name, "text": c.text,
            "expression": c.expression or None,
            "printed": c.printed, "claimed": c.value, "ulp": c.ulp,
            "computed": self.computed, "jax": self.jax, "jax_agrees": self.jax_agrees,
            "verdict": self.verdict, "detail": self.detail, "cause": self.cause,
            "causes": [dict(h) for h in self.causes],
            "operands": [dict(o) for o in self.operands],
            "note": c.note,
        }


@dataclass
class SetupState:
    """The complete true state of one setup: forward cache, loss, deltas, gradients, one step.

    Arrays in manual_bp's layout, samples as rows: ``zs[l-1]`` and ``as_[l]``
    ``(N, sizes[l])`` (``as_[0]`` the input), ``deltas[l-1]`` ``(N, sizes[l])``
    (``∂L/∂z_l`` with the loss's ½ and 1/N), ``grads`` and ``updated`` like the
    params, ``terms[n]`` sample n's own gradient (of ``(½)·ℓ_n``, no 1/N),
    ``sample_losses[n]`` = ``(½)·ℓ_n``.  Computed by manual_bp; ``jax_agrees``
    says the JAX reference gives every number within the tolerance table.
    """

    name: str
    description: str
    lr: float
    convention: str
    zs: list
    as_: list
    loss: float
    sample_losses: list
    deltas: list
    grads: list
    terms: list
    updated: list
    loss_after: float
    jax_agrees: bool

    def named(self, names: dict) -> dict:
        """Every entry by the document's name (``names``: the example's map), with fallbacks like ``W1[0,1]``."""
        rev = {v: k for k, v in names.items()}
        units, delta_units = {}, {}
        for l, a in enumerate(self.as_):
            for j in range(a.shape[1]):
                if l:
                    zn = rev.get(("z", l, (None, j)), f"z{l}[:,{j}]")
                    units[zn] = self.zs[l - 1][:, j].tolist()
                    dn = rev.get(("delta", l, (None, j)), "dL/d" + zn)
                    delta_units[dn] = self.deltas[l - 1][:, j].tolist()
                units[rev.get(("a", l, (None, j)), f"a{l}[:,{j}]")] = a[:, j].tolist()
        params, grads, terms, new = {}, {}, {}, {}
        for l, ((W, b), (dW, db), (Wn, bn)) in enumerate(zip(self.params_, self.grads, self.updated), start=1):
            entries = [("W", idx, W[idx], dW[idx], Wn[idx]) for idx in np.ndindex(W.shape)]
            if b is not None:
                entries += [("b", idx, b[idx], db[idx], bn[idx]) for idx in np.ndindex(b.shape)]
            for kind, idx, v, g, vn in entries:
                name = rev.get((kind, l, idx), f"{kind}{l}[{','.join(map(str, idx))}]")
                params[name], grads[name], new[name] = float(v), float(g), float(vn)
                terms[name] = [float(t[l - 1][0 if kind == "W" else 1][idx]) for t in self.terms]
        return {"units": units, "deltas": delta_units, "params": params, "gradients": grads, "terms": terms,
                "updated": new}

    params_: list = field(default_factory=list, repr=False)

    def to_dict(self, names: dict) -> dict:
        nm = self.named(names)
        pair = lambda ps: {"W": [W.tolist() for W, _ in ps], "b": [None if b is None else b.tolist() for _, b in ps]}
        return {
            "name": self.name, "description": self.description, "lr": self.lr, "convention": self.convention,
            "jax_agrees": self.jax_agrees,
            "forward": {"z": [z.tolist() for z in self.zs], "a": [a.tolist() for a in self.as_], "named": nm["units"]},
            "loss": self.loss, "loss_per_sample": list(self.sample_losses),
            "deltas": {"delta": [d.tolist() for d in self.deltas], "named": nm["deltas"]},
            "gradients": {**pair(self.grads), "named": nm["gradients"], "terms": nm["terms"]},
            "updated": {**pair(self.updated), "named": nm["updated"]},
            "loss_after": self.loss_after,
        }


@dataclass
class ExampleReport:
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


def _within(diff: float, ulps: float, c: Claim) -> bool:
    return diff <= ulps * c.ulp * (1 + _SLACK) + 1e-15


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


def _fmt_at(v: float, c: Claim) -> str:
    decimals = max(0, -int(round(math.log10(c.ulp))))
    s = f"{round(v / c.ulp) * c.ulp:.{decimals}f}"
    return "0" + s[2:] if s.startswith("-0") and float(s) == 0 else s


def _given(c: Claim) -> bool:
    """Whether ``c`` is a number the setup states exactly rather than a computed (roundable) one."""
    return c.kind in ("y", "lr", "N") or (c.kind == "a" and c.layer == 0) or (c.kind in ("W", "b") and not c.new)


def _check_operands(ex: WorkedExample, c: Claim, q) -> list[dict]:
    """Each number of a printed expression against the true value of what it stands for.

    A computed quantity is judged at the number's printed precision like any
    claim; a number the setup states exactly (input, target, initial weight,
    lr, N) must be that number.
    """
    out = []
    for op in c.operands:
        row = {"text": op.text, "ref": op.ref, "stands_for": None, "true": None, "verdict": None, "copy_of": []}
        if op.claim is not None:
            oc = op.claim
            true = q.value(oc)
            verdict, _ = _verdict(oc, true)
            if _given(oc):  # a number the setup states exactly (an input, a target, a weight, lr, N): equal or wrong
                verdict = "match" if abs(true - oc.value) <= 1e-12 * max(1.0, abs(true)) else "wrong"
            row |= {"stands_for": oc.name or oc.label, "quantity": oc.label, "true": true, "verdict": verdict}
            if verdict == "wrong":
                row["copy_of"] = [o.id for o in ex.claims if o.kind != "arith" and o.key != oc.key
                                  and abs(o.value - oc.value) <= 1e-12 * max(1.0, abs(oc.value))]
        out.append(row)
    return out


def _arith_candidates(ex: WorkedExample, c: Claim, ops: list[dict]) -> list[dict]:
    """Why a printed expression's result is off: its operands, or the arithmetic itself."""
    by_id = {o.id: o for o in ex.claims}
    bad = [(k, op, row) for k, (op, row) in enumerate(zip(c.operands, ops)) if row["verdict"] == "wrong"]
    if not bad:
        return [dict(family="arithmetic", setup="stated", value=_eval_arith(c.expression),
                     description=f"an arithmetic slip: the expression as printed evaluates to "
                     f"{_fmt(_eval_arith(c.expression), c)}")]
    parts = []
    for k, op, row in bad:
        copies = [by_id[i] for i in row["copy_of"]]
        src = f" (the printed {', '.join(o.name or o.id for o in copies[:2])})" if copies else ""
        parts.append(f"{op.text}{src} where {row['stands_for']} = {_fmt(row['true'], op.claim)} belongs")
    text = "wrong operands: " + "; ".join(parts)
    # The document's own values for the quantities meant, where it prints them elsewhere.
    first = {}
    for o in ex.claims:
        if o.kind != "arith":
            first.setdefault(o.key, o)
    values, used = [], []
    for op in c.operands:
        v = op.sign * op.value
        if op.claim is not None and any(op is b for _, b, _ in bad):
            own = first.get(op.claim.key)
            if own is not None and own.printed != op.claim.printed:
                v = own.value
                used.append(f"{own.name or own.id} = {own.printed}")
        values.append(v * op.sign)
    fixed = _eval_arith(c.expression, values)
    if used and _explains(fixed, c):
        text += (f"; with the document's own {', '.join(used)} the expression gives {_fmt(fixed, c)}, "
                 f"the printed result")
    return [dict(family="operands", setup="stated", value=fixed, description=text)]


def _state(ex: WorkedExample, s) -> SetupState:
    """The complete true state of setup ``s`` by manual_bp, every number checked against the JAX reference."""
    q = _Quantities(s.net, s.params, s.x, s.y, s.lr)
    j = _JaxQuantities(s.net, s.params, s.x, s.y, s.lr)
    N = s.x.shape[0]
    zs, as_ = q.forward
    terms = [q.sample_grads(n) for n in range(N)]
    losses = [q.sample_loss(n) for n in range(N)]
    after = float(bp.loss(s.net, q.new_params, s.x, s.y))
    jz, ja = j.forward
    f64 = dict(dtype=np.float64)
    agrees = (
        allclose_tree(list(zs), list(jz), kind="jax", **f64) and allclose_tree(list(as_), list(ja), kind="jax", **f64)
        and allclose_tree(q.deltas, j.deltas, kind="jax", **f64) and allclose_tree(q.grads, j.grads, kind="jax", **f64)
        and allclose_tree(q.new_params, j.new_params, kind="jax", **f64)
        and all(allclose_tree(t, j.sample_grads(n), kind="jax", **f64) for n, t in enumerate(terms))
        and _agree(q.loss, j.loss, "loss") and all(_agree(v, j.sample_loss(n), "loss") for n, v in enumerate(losses))
        and _agree(after, _ref.loss(s.net, j.new_params, s.x, s.y), "loss")
    )
    return SetupState(
        name=s.name, description=s.description, lr=s.lr, convention=_conv_label(s.net.reduction, s.net.half),
        zs=list(zs), as_=list(as_), loss=float(q.loss), sample_losses=losses, deltas=list(q.deltas),
        grads=q.grads, terms=terms, updated=q.new_params, loss_after=after, jax_agrees=bool(agrees),
        params_=s.params,
    )


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
            bad = [o for o in r.operands if o["verdict"] == "wrong"]
            if bad and verdict != "wrong":
                r.detail += "; but " + ", ".join(
                    f"{o['text']} stands for {o['stands_for']} = {_fmt(o['true'])}" for o in bad)
        if verdict == "rounding":
            r.cause = _rounding_cause(ex, setups[0], c, v, y_claimed, close, main)
            r.causes = [dict(family="last_digit", setup="stated", value=v, description=r.cause)]
        results.append(r)

    wrong = [r for r in results if r.verdict == "wrong"]
    cands = {r.claim.id: (_arith_candidates(ex, r.claim, r.operands) if r.claim.kind == "arith"
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


# ---------------------------------------------------------------------------
# Systematic search for the setup the printed numbers follow from
# ---------------------------------------------------------------------------

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
    claims = [c for c in ex.claims if (c.kind in kinds if kinds else c.kind != "y")]
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


# ---------------------------------------------------------------------------
# Text and Markdown
# ---------------------------------------------------------------------------

def _num(v: float, sig: int = 5) -> str:
    """A true value for people: ``sig`` significant digits, never in exponent form."""
    if v is None or not np.isfinite(v):
        return str(v)
    out = np.format_float_positional(float(v), precision=sig, unique=False, fractional=False, trim="-")
    return "0" if float(out) == 0 else out


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
            if o["verdict"] == "wrong":
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
        slips = [(r, o) for r in rep.results if r.verdict != "wrong" for o in r.operands if o["verdict"] == "wrong"]
        if slips:
            out += ["", "Wrong numbers inside printed expressions whose result is nevertheless right:", ""]
            out += [f"- {r.claim.id} (`{_md(r.claim.expression)}` = {r.claim.printed}): {o['text']} stands for "
                    f"{_md(o['stands_for'])}, whose true value is {_num(o['true'])}." for r, o in slips]
        for st in rep.setups:
            tag = "as stated" if st.name == "stated" else f"under {st.name}: {st.description}"
            out += ["", f"### Corrected worked example ({_md(tag)})"]
            out += _corrected_example(st, ex)
    return "\n".join(out) + "\n"
