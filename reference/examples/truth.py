"""The true numbers of a worked example: every claimable quantity, and the complete state of a setup.

:class:`_Quantities` computes any claimed quantity with ``manual_bp``;
:class:`_JaxQuantities` the same from the JAX reference (``reference.forward``,
``reference.loss/gradients/deltas``, i.e. :mod:`reference.model`), and
:func:`_agree` holds them together within the tolerance table.
:class:`_RoundedChain` redoes the computation the document's way, its printed
(rounded) intermediates in place of ours, and :func:`_paths` splits a
gradient into its chain-rule paths: both serve the cause finder.
:class:`SetupState` is the complete true state of one setup (forward cache,
loss, deltas, gradients, each sample's terms, one step, the loss after).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

import manual_bp as bp

from .. import model as _ref
from ..tolerances import allclose_tree, tolerance
from .files import TRANSFORMS, Claim, WorkedExample, _eval_arith

__all__ = ["SetupState"]


#: Most chain-rule paths enumerated for the missing-path hypothesis.
_MAX_PATHS = 16


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
