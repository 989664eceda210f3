"""Worked examples: the documents' printed numbers, checked one by one.

A worked-example file (TOML, see ``examples/README.md``) holds a network, its
exact parameters, inputs, targets and learning rate, and the document's
printed *claims*, each naming a quantity (``z1[0, 1]``, ``loss``,
``dW2[1, 0]``, ``W1_new[0, 0]``, ...) and its printed value as written
(``"0.7156"``), so the printed precision is known.

:func:`check_example` computes every claimed quantity with ``manual_bp``,
cross-checks it against JAX autodiff, and gives each claim a verdict:

``match``
    the computed value rounds to the printed value at the printed precision;
``rounding``
    only the last printed digit differs: one unit in the last place (for
    example a truncated value), or a few units that the document's own chain
    of rounded intermediates reproduces;
``wrong``
    anything else, with the likely cause where one is found automatically:
    a different loss convention (sum/mean, with/without ½), a sign, a missing
    path in the chain rule, a rounded intermediate, a copy of another claim's
    value, or different inputs/parameters (the file's declared
    ``[[alternatives]]`` and the standard input/target scalings).

Every report converts to plain JSON with ``to_dict()``.
"""
from __future__ import annotations

import ast
import itertools
import math
import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

import manual_bp as bp

__all__ = [
    "ExampleFormatError",
    "WorkedExample",
    "Claim",
    "Alternative",
    "ClaimResult",
    "ExampleReport",
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
class Claim:
    """One printed number of a document.

    ``quantity`` uses 0-based indices in this project's layout (samples as
    rows, ``W`` of shape ``(n_in, n_out)``): ``z{l}[n, j]``, ``a{l}[n, j]``
    (``a0`` is the input), ``delta{l}[n, j]``, ``loss``, ``dW{l}[i, j]``,
    ``db{l}[j]``, ``W{l}[i, j]`` and ``b{l}[j]`` (the initial parameters),
    ``W{l}_new[i, j]`` and ``b{l}_new[j]`` (after one gradient step), and
    ``y[n, k]`` (a target, checked against the document's expression).
    ``sample`` (for ``loss``, ``dW``, ``db``) selects sample n's own term: the
    gradient of ``(½ if half)·ℓ_n`` without any 1/N.
    """

    id: str
    quantity: str
    printed: str
    sample: int | None = None
    name: str = ""
    text: str = ""
    note: str = ""
    # parsed
    kind: str = field(default="", compare=False)
    layer: int = field(default=0, compare=False)
    new: bool = field(default=False, compare=False)
    index: tuple[int, ...] = field(default=(), compare=False)
    value: float = field(default=0.0, compare=False)
    ulp: float = field(default=1.0, compare=False)

    @property
    def label(self) -> str:
        """The quantity with its sample, e.g. ``dW1[0, 0] (sample 2 term)``."""
        return self.quantity + ("" if self.sample is None else f" (sample {self.sample} term)")

    @property
    def key(self) -> tuple[str, int | None]:
        return (self.quantity, self.sample)


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
    """A loaded worked-example file."""

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


def _idx(text: str, n: int, where: str) -> tuple[int, ...]:
    parts = [p.strip() for p in text.split(",")] if text.strip() else []
    if len(parts) != n or not all(p.isdigit() for p in parts):
        raise ExampleFormatError(f"{where}: needs {n} comma-separated non-negative indices, got [{text}]")
    return tuple(int(p) for p in parts)


def _parse_claim(raw: dict, ex_net: bp.Network, n_samples: int, pos: int) -> Claim:
    where = f"claims[{pos}]"
    if not isinstance(raw, dict):
        raise ExampleFormatError(f"{where} must be a table")
    unknown = set(raw) - {"id", "quantity", "printed", "sample", "name", "text", "note"}
    if unknown:
        raise ExampleFormatError(f"{where}: unknown keys {sorted(unknown)}")
    for key in ("id", "quantity", "printed"):
        if key not in raw:
            raise ExampleFormatError(f"{where}: missing {key!r}")
    cid, qty = str(raw["id"]), str(raw["quantity"]).replace(" ", "")
    where = f"claim {cid!r}"
    value, ulp = parse_printed(raw["printed"])
    sample = raw.get("sample")
    if sample is not None and (isinstance(sample, bool) or not isinstance(sample, int) or not 0 <= sample < n_samples):
        raise ExampleFormatError(f"{where}: sample must be an int in [0, {n_samples}), got {sample!r}")
    L, sizes = ex_net.n_layers, ex_net.sizes
    kind, layer, new, index = "", 0, False, ()
    if qty == "loss":
        kind = "loss"
    elif (m := _Y_RE.match(qty)):
        kind, index = "y", _idx(m.group("idx"), 2, where)
        if index[0] >= n_samples or index[1] >= sizes[-1]:
            raise ExampleFormatError(f"{where}: index {list(index)} out of range for y ({n_samples}, {sizes[-1]})")
    elif (m := _QTY_RE.match(qty)):
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
            if not ex_net.bias[layer - 1]:
                raise ExampleFormatError(f"{where}: layer {layer} has no bias, so {qty!r} does not exist")
        if any(i >= s for i, s in zip(index, shape)):
            raise ExampleFormatError(f"{where}: index {list(index)} out of range for shape {shape} in {qty!r}")
    else:
        raise ExampleFormatError(
            f"{where}: unknown quantity {raw['quantity']!r}; use z1[n, j], a1[n, j], delta1[n, j], loss, "
            "dW1[i, j], db1[j], W1[i, j], b1[j], W1_new[i, j], b1_new[j] or y[n, k]"
        )
    if sample is not None and kind not in ("loss", "dW", "db"):
        raise ExampleFormatError(f"{where}: sample applies to loss, dW and db only (z/a/delta carry n in the index)")
    return Claim(
        id=cid, quantity=qty, printed=str(raw["printed"]), sample=sample,
        name=str(raw.get("name", "")), text=str(raw.get("text", "")), note=str(raw.get("note", "")),
        kind=kind, layer=layer, new=new, index=index, value=value, ulp=ulp,
    )


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
        interpretation=str(meta.get("interpretation", "")).strip(),
    )


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
# The JAX cross-check
# ---------------------------------------------------------------------------

def _reference_backend():
    """``reference.loss/gradients/deltas`` once the package exports them, else None."""
    try:
        import reference

        return reference.loss, reference.gradients, getattr(reference, "deltas", None)
    except (ImportError, AttributeError):
        return None


def _jnp_activate(jnp, jax, act, z):
    name = act.name
    if name == "identity":
        return z
    if name == "sigmoid":
        return jax.nn.sigmoid(z)
    if name == "tanh":
        return jnp.tanh(z)
    if name == "relu":
        return jnp.where(z > 0, z, 0.0)
    if name == "leaky_relu":
        return jnp.where(z > 0, z, act.slope * z)
    if name == "softmax":
        return jax.nn.softmax(z, axis=-1)
    raise ValueError(f"no JAX form for activation {name!r}")


def _jnp_forward(net, params, x, e=None):
    import jax
    import jax.numpy as jnp

    zs, as_ = [], [x]
    a = x
    for l, ((W, b), act) in enumerate(zip(params, net.activations)):
        z = a @ W
        if b is not None:
            z = z + b
        if e is not None:
            z = z + e[l]
        a = _jnp_activate(jnp, jax, act, z)
        zs.append(z)
        as_.append(a)
    return zs, as_


def _jnp_loss(net, params, x, y, e=None):
    import jax
    import jax.numpy as jnp

    zs, as_ = _jnp_forward(net, params, x, e)
    z, a = zs[-1], as_[-1]
    if net.loss == "squared_error":
        per = jnp.sum((a - y) ** 2, axis=-1)
    elif net.loss == "cross_entropy":
        per = -jnp.sum(y * jax.nn.log_softmax(z, axis=-1), axis=-1)
    else:
        per = jnp.sum(jax.nn.softplus(z) - y * z, axis=-1)
    return net.batch_scale(x.shape[0]) * jnp.sum(per)


class _JaxQuantities(_Quantities):
    """The same bundle from JAX: forward in jax.numpy, derivatives by ``jax.grad``.

    Loss, gradients and deltas come from the ``reference`` package when it
    exports them, otherwise from the local jax.numpy definition below.
    """

    # TODO(reference owner): once reference/__init__.py exports loss/gradients/deltas,
    # _reference_backend() picks them up and the local _jnp_loss is only the fallback.

    def _jax(self, fn):
        import jax

        with jax.enable_x64(True):
            return fn()

    @cached_property
    def forward(self):
        import jax.numpy as jnp

        def run():
            zs, as_ = _jnp_forward(self.net, self._jparams, jnp.asarray(self.x))
            return [np.asarray(z) for z in zs], [np.asarray(a) for a in as_]

        return self._jax(run)

    @property
    def _jparams(self):
        import jax.numpy as jnp

        return [(jnp.asarray(W), None if b is None else jnp.asarray(b)) for W, b in self.params]

    def _loss_of(self, net, x, y):
        ref = _reference_backend()
        if ref:
            return float(ref[0](net, self.params, x, y))
        import jax.numpy as jnp

        return self._jax(lambda: float(_jnp_loss(net, self._jparams, jnp.asarray(x), jnp.asarray(y))))

    def _grads_of(self, net, x, y):
        ref = _reference_backend()
        if ref:
            return ref[1](net, self.params, x, y)
        import jax
        import jax.numpy as jnp

        def run():
            g = jax.grad(lambda p: _jnp_loss(net, p, jnp.asarray(x), jnp.asarray(y)))(self._jparams)
            return [(np.asarray(dW), None if db is None else np.asarray(db)) for dW, db in g]

        return self._jax(run)

    @cached_property
    def loss(self):
        return self._loss_of(self.net, self.x, self.y)

    @cached_property
    def grads(self):
        return self._grads_of(self.net, self.x, self.y)

    def sample_grads(self, n):
        return self._grads_of(self._sample_net(), self.x[n : n + 1], self.y[n : n + 1])

    def sample_loss(self, n):
        return self._loss_of(self._sample_net(), self.x[n : n + 1], self.y[n : n + 1])

    @cached_property
    def deltas(self):
        ref = _reference_backend()
        if ref and ref[2] is not None:
            return ref[2](self.net, self.params, self.x, self.y)
        import jax
        import jax.numpy as jnp

        def run():
            e0 = [jnp.zeros((self.x.shape[0], n)) for n in self.net.sizes[1:]]
            x, y = jnp.asarray(self.x), jnp.asarray(self.y)
            ds = jax.grad(lambda e: _jnp_loss(self.net, self._jparams, x, y, e))(e0)
            return [np.asarray(d) for d in ds]

        return self._jax(run)

    @cached_property
    def new_params(self):
        # The update rule itself, written out: θ − lr · ∂L/∂θ with JAX's gradient.
        return [
            (W - self.lr * dW, None if b is None else b - self.lr * db)
            for (W, b), (dW, db) in zip(self.params, self.grads)
        ]


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
                            description=f"{where}a rounded intermediate: recomputed from the document's printed "
                            f"(rounded) intermediates it is {_fmt(r, c)}"))
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
}


# ---------------------------------------------------------------------------
# Verdicts and reports
# ---------------------------------------------------------------------------

@dataclass
class ClaimResult:
    """A claim with its computed value, JAX cross-check, verdict and (if wrong) likely cause."""

    claim: Claim
    computed: float
    jax: float
    jax_agrees: bool
    verdict: str
    detail: str
    cause: str | None = None
    causes: list = field(default_factory=list)

    def to_dict(self) -> dict:
        c = self.claim
        return {
            "id": c.id, "quantity": c.quantity, "sample": c.sample, "name": c.name, "text": c.text,
            "printed": c.printed, "claimed": c.value, "ulp": c.ulp,
            "computed": self.computed, "jax": self.jax, "jax_agrees": self.jax_agrees,
            "verdict": self.verdict, "detail": self.detail, "cause": self.cause,
            "causes": [{k: v for k, v in h.items()} for h in self.causes],
            "note": c.note,
        }


@dataclass
class ExampleReport:
    example: WorkedExample
    results: list[ClaimResult]
    jax_backend: str

    @property
    def counts(self) -> dict:
        return {v: sum(r.verdict == v for r in self.results) for v in VERDICTS}

    @property
    def any_wrong(self) -> bool:
        return any(r.verdict == "wrong" for r in self.results)

    @property
    def jax_agrees(self) -> bool:
        return all(r.jax_agrees for r in self.results)

    def to_dict(self) -> dict:
        ex = self.example
        return {
            "id": ex.id, "title": ex.title, "source": ex.source, "file": ex.path,
            "network": ex.net.describe(), "lr": ex.lr,
            "alternatives": [{"name": a.name, "description": a.description} for a in ex.alternatives],
            "jax_backend": self.jax_backend, "jax_agrees": self.jax_agrees,
            "counts": self.counts, "any_wrong": self.any_wrong,
            "claims": [r.to_dict() for r in self.results],
        }


def _verdict(c: Claim, computed: float, rounded: float) -> tuple[str, str]:
    diff = abs(computed - c.value)
    ulps = diff / c.ulp
    correctly = _fmt_at(computed, c)
    if diff <= 0.5 * c.ulp * (1 + _SLACK) + 1e-15:
        return "match", f"{_fmt(computed, c)} rounds to {c.printed}"
    if diff <= 1.5 * c.ulp * (1 + _SLACK):
        trunc = math.trunc(computed / c.ulp * (1 + 1e-12)) * c.ulp
        how = "truncated instead of rounded" if abs(trunc - c.value) <= 1e-9 * c.ulp + 1e-15 else "one unit off in the last place"
        chain = ""
        if rounded is not None and abs(rounded - c.value) <= 0.5 * c.ulp * (1 + _SLACK) + 1e-15:
            chain = f"; the document's rounded intermediates give {_fmt(rounded, c)}"
        return "rounding", f"{_fmt(computed, c)} rounds to {correctly}: {how}{chain}"
    if ulps < _LAST_DIGIT_ULPS and rounded is not None and abs(rounded - c.value) <= 0.5 * c.ulp * (1 + _SLACK) + 1e-15:
        return "rounding", (
            f"{_fmt(computed, c)} rounds to {correctly}; the document's own chain of rounded "
            f"intermediates gives {_fmt(rounded, c)}, so only the last digit differs"
        )
    return "wrong", f"{_fmt(computed, c)} rounds to {correctly}, not {c.printed}"


def _fmt_at(v: float, c: Claim) -> str:
    decimals = max(0, -int(round(math.log10(c.ulp))))
    s = f"{round(v / c.ulp) * c.ulp:.{decimals}f}"
    return "0" + s[2:] if s.startswith("-0") and float(s) == 0 else s


def check_example(example) -> ExampleReport:
    """Check every claim of a worked example (a path or a loaded :class:`WorkedExample`)."""
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
        j = jaxq.value(c)
        agrees = bool(abs(v - j) <= 1e-9 * max(1.0, abs(v)))
        verdict, detail = _verdict(c, v, _rounded(ex, setups[0], c, y_claimed, close))
        results.append(ClaimResult(claim=c, computed=v, jax=j, jax_agrees=agrees, verdict=verdict, detail=detail))

    wrong = [r for r in results if r.verdict == "wrong"]
    cands = {r.claim.id: _candidates(ex, r.claim, setups, quantities) for r in wrong}
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
    return ExampleReport(example=ex, results=results, jax_backend="reference" if _reference_backend() else "local")


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

def format_report(report: ExampleReport, *, width: int = 60) -> str:
    """A claim-by-claim text table: claim, quantity, printed, computed, verdict, cause."""
    ex = report.example
    lines = [f"{ex.title}  [{ex.path}]", f"network {ex.net.describe()}, lr {ex.lr:g}; JAX cross-check: "
             + ("all agree" if report.jax_agrees else "DISAGREEMENT") + f" ({report.jax_backend})"]
    lines += [f"alternative '{a.name}': {a.description}" for a in ex.alternatives] + [""]
    head = ("claim", "quantity", "printed", "computed", "verdict")
    rows = [(r.claim.id, r.claim.label, r.claim.printed, _fmt(r.computed, r.claim), r.verdict) for r in report.results]
    w = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    lines.append("  ".join(h.ljust(w[i]) for i, h in enumerate(head)) + "  cause")
    for r, row in zip(report.results, rows):
        cause = r.cause or ("no automatic explanation found" if r.verdict == "wrong" else "")
        if r.verdict == "rounding":
            cause = r.detail
        if not r.jax_agrees:
            cause = f"[manual_bp and JAX disagree: JAX {r.jax!r}] " + cause
        lines.append(("  ".join(v.ljust(w[i]) for i, v in enumerate(row)) + "  " + cause).rstrip())
    cnt = report.counts
    lines += ["", f"{len(report.results)} claims: {cnt['match']} match, {cnt['rounding']} rounding, {cnt['wrong']} wrong"]
    return "\n".join(lines)


def _md(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def errata_markdown(reports: list[ExampleReport], *, generator: str = "scripts/make_errata.py") -> str:
    """The errata page: every wrong claim of every example, with the true value and likely cause."""
    out = [
        "# Errata for the documents' worked examples",
        "",
        f"Generated by `{generator}` from the worked-example files in `reference/data/examples/`; do not edit by hand.",
        "Each printed number was recomputed with `manual_bp` and cross-checked against JAX autodiff.",
        "A claim is *wrong* when its true value does not round to the printed one and more than the",
        "last printed digit differs (claims off only in the last digit are counted as *rounding*).",
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
            continue
        out += ["", "| claim | document's name | quantity | printed | true value | likely cause |",
                "| --- | --- | --- | ---: | ---: | --- |"]
        for r in wrong:
            c = r.claim
            out.append(
                f"| {c.id} | {_md(c.name)} | `{c.label}` | {c.printed} | {_fmt(r.computed, c)} | "
                f"{_md(r.cause or 'no automatic explanation found')} |"
            )
    return "\n".join(out) + "\n"
