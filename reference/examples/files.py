"""Worked-example files: the TOML format, printed numbers and their precision, printed expressions.

:func:`load_example` reads and validates a file into a :class:`WorkedExample`
(network, params, data, learning rate, the document's name map and steps,
its claims (:class:`Claim`), declared alternative setups (:class:`Alternative`)) or raises
:class:`ExampleFormatError` naming the file, the key and the fix.  A printed
number keeps its precision (:func:`parse_printed`: ``"-0.066"`` has one unit
in the last place of 0.001); a printed expression keeps its numbers in order
(each an :class:`Operand` standing for a quantity).
"""
from __future__ import annotations

import ast
import math
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

import manual_bp as bp

__all__ = ["ExampleFormatError", "Operand", "Claim", "Alternative", "WorkedExample", "load_example", "parse_printed",
           "TRANSFORMS"]


#: Relative slack on the ulp bounds so that 0.5 ulp ties and float noise do not flip a verdict.
_SLACK = 1e-9


#: Tolerance for a hypothesis to explain a printed value, in units of its last place.
_EXPLAIN_ULPS = 1.5


class ExampleFormatError(ValueError):
    """A worked-example file that cannot be read: the message names the problem in one line."""


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


# Standard rescalings: tried automatically as "wrong inputs" hypotheses, and usable in [[alternatives]].
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


def _explains(v: float, c: Claim) -> bool:
    return v is not None and np.isfinite(v) and abs(v - c.value) <= _EXPLAIN_ULPS * c.ulp * (1 + _SLACK) + 1e-15


def _fmt(v: float, c: Claim | None = None) -> str:
    if v is None or not np.isfinite(v):
        return str(v)
    if c is None:
        return f"{v:.6g}"
    decimals = max(0, -int(round(math.log10(c.ulp))))
    return f"{v:.{decimals + 2}f}"


def _within(diff: float, ulps: float, c: Claim) -> bool:
    return diff <= ulps * c.ulp * (1 + _SLACK) + 1e-15


def _fmt_at(v: float, c: Claim) -> str:
    decimals = max(0, -int(round(math.log10(c.ulp))))
    s = f"{round(v / c.ulp) * c.ulp:.{decimals}f}"
    return "0" + s[2:] if s.startswith("-0") and float(s) == 0 else s
