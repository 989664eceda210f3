"""The Taylor remainder test: a gradient verdict that needs no tolerance.

Along a unit direction ``v`` and steps ``h, h/2, h/4, ...``::

    r₀(h) = |L(θ + hv) − L(θ)|              shrinks like h  (order 1) for any g
    r₁(h) = |L(θ + hv) − L(θ) − h⟨g, v⟩|    shrinks like h² (order 2) iff ⟨g, v⟩ = ∇L·v

(dolfin-adjoint / pyadjoint's ``taylor_test``).  The observed order
``log₂(r₁(h)/r₁(h/2))`` is the verdict: 2 means the candidate gradient ``g``
is right along ``v``, 1 means it is wrong.  No tolerance is chosen; what
has to be found is the range of steps where the order can be read:

* **Rounding floor.**  ``L`` is computed in the params' dtype, so
  ``L(θ + hv) − L(θ)`` carries rounding noise ``ν`` that does not shrink
  with ``h``.  ``ν`` is *measured*, not assumed: a sample of the perturbed
  losses is evaluated a second time in the other precision (float32 params:
  in float64, which gives float32's rounding error itself; float64 params:
  in float32, whose rounding error scaled by ``ε64/ε32`` estimates
  float64's).  Steps whose ``r₁`` is below ``FLOOR_FACTOR · ν`` are dropped
  ("floor").
* **Kinks.**  relu/leaky_relu make ``L`` piecewise smooth; a step that moves
  some kinked pre-activation across 0 (its sign pattern differs from the one
  at ``θ``, the test :mod:`reference.numerical` uses) measures a mixture of
  two slopes, so it is dropped ("kink") rather than read as an order.
* **Asymptotics.**  Large steps are not yet in the ``h → 0`` regime, and a
  slightly wrong ``g`` shows order 2 at large ``h`` (where ``c h²`` dominates
  its error ``e·h``) and order 1 only at small ``h``.  So the verdict comes
  from the *smallest* steps: the last run of consecutive steps above the
  floor (at most ``USED_STEPS``; larger ones are dropped as "above"), below
  the last sign change of ``R₁`` in it, with the order fitted on the last
  ``FIT_STEPS``.

The automatic ladder starts at ``h₀``, the power of 2 at or above
``max(1, ‖θ_S‖)`` (``θ_S`` the leaves the direction moves), and halves
``LADDER_LENGTH[dtype]`` times, far past the floor; all steps of one
direction are evaluated in one broadcast pass.  The layers below the first
perturbed one are evaluated once, and the first perturbed layer's ``z`` is
affine in ``h`` (``z + h·(a V + v_b)``), so each step costs a forward pass
through the layers above it only.

Verdicts per direction (``verdict`` key; docs/taylor.md has the table):
``"order"`` (an order was fitted: ``ok`` True when it is >= 1.5, i.e. rounds
to 2 or more; False when below on at least ``MIN_STEPS_WRONG`` steps whose
orders are not still rising), ``"exact"`` (``r₁`` at the rounding floor at
every step, or ``L`` itself flat over the kink-free steps: ``⟨g, v⟩`` is exact
to working precision; ok), and the no-verdict ones, ``ok`` None:
``"rising"`` (the orders still rise when the floor cuts them off),
``"unresolved"`` (too few consecutive usable steps) and ``"kink"`` (every step
above the floor crosses a relu/leaky_relu kink).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from manual_bp._validate import make_rng  # seeds parsed as everywhere else

from ._spec import check_all
from .model import forward_xp, loss_xp

__all__ = [
    "FIT_STEPS",
    "FLOOR_FACTOR",
    "LADDER_LENGTH",
    "MIN_STEPS",
    "MIN_STEPS_WRONG",
    "USED_STEPS",
    "TaylorDirection",
    "TaylorParameter",
    "TaylorResult",
    "plot_taylor",
    "taylor_test",
]

#: Halvings of the automatic ladder below ``h₀``.  Deep enough that even
#: ``r₁ = |e|·h`` of a wrong gradient meets the floor or the ladder's end,
#: and the perturbation itself is below ε relative to θ at the bottom
#: (2⁻⁴⁰ ≈ 1e-12; float32: 2⁻²⁸ ≈ 4e-9 < ε32 ≈ 1.2e-7).
LADDER_LENGTH = {np.dtype(np.float64): 40, np.dtype(np.float32): 28}
#: A step is usable when ``r₁ ≥ FLOOR_FACTOR · ν``: noise then moves ``r₁`` by
#: at most 1/8 and one observed order by at most log₂(9/7) ≈ 0.36, and the
#: least-squares fit over several steps by less.
FLOOR_FACTOR = 8.0
#: The steps used are the last run of consecutive usable steps, at most
#: USED_STEPS of them (the smallest: closest to h → 0); the fitted order is
#: the least-squares slope of log r₁ against log h over the last FIT_STEPS of
#: them (two halvings: far enough down that the large steps' higher-order
#: terms are gone, in float32 too, where only 3–9 steps are usable).  The
#: order can only be read from at least MIN_STEPS consecutive usable steps.
USED_STEPS = 8
FIT_STEPS = 3
MIN_STEPS = 3
#: A "wrong" verdict (order below 1.5) needs at least this many consecutive usable steps.
MIN_STEPS_WRONG = 4
_EPS = {np.dtype(np.float64): float(np.finfo(np.float64).eps), np.dtype(np.float32): float(np.finfo(np.float32).eps)}
_TWIN = {np.dtype(np.float64): np.dtype(np.float32), np.dtype(np.float32): np.dtype(np.float64)}
# Perturbed sets per broadcast pass: rows · max(perturbed parameters, batch · width) <= this.
_MAX_ELEMENTS_PER_CHUNK = 1 << 22
# Headroom on float64's rounding noise, which is estimated from float32's (see _noise).
_ESTIMATE_SAFETY = 16.0
# Rows of the ladder re-evaluated in the twin precision to measure ν.
_TWIN_EVERY = 4

_WHY = {
    "above": "larger than the USED_STEPS smallest usable steps (the h → 0 regime is read below them)",
    "floor": "r₁ below FLOOR_FACTOR × the measured rounding noise of L(θ + hv) − L(θ)",
    "kink": "the step moves a relu/leaky_relu pre-activation across 0, so L is not smooth over it",
    "gap": "usable, but separated from the smallest usable steps by a dropped one",
    "sign": "at or above the last sign change of R₁ in the run: two terms cancel there, not yet h → 0",
    "isolated": "above the floor, but not in a run of MIN_STEPS consecutive usable steps (noise)",
}


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------

def _f(v):
    return None if v is None else float(v)


@dataclass
class TaylorDirection:
    """The ladder along one unit direction ``v`` and what it says.

    ``ladder_*`` hold every evaluated step (``(S,)`` arrays, largest h first);
    ``used`` indexes the steps the order is fitted on.
    """

    name: str  # "all" (every leaf) or the leaf ("W1", "b2", ...)
    index: int  # which of the n_directions
    ladder_steps: np.ndarray
    ladder_r0: np.ndarray
    ladder_r1: np.ndarray
    reasons: list  # per ladder step: "used", "above", "floor", "kink", "gap"
    ladder_noise: np.ndarray  # ν per step: the measured rounding noise of L(θ + hv) − L(θ)
    slope_g: float  # ⟨g, v⟩, the candidate's directional derivative
    slope_error: float | None  # ≈ ∇L·v − ⟨g, v⟩, from the smallest used step
    verdict: str  # "order", "exact", "rising", "kink", "unresolved"
    order: float | None
    ok: bool | None
    n_usable: int  # consecutive usable steps before trimming to FIT_STEPS

    @property
    def noise(self) -> float:
        """ν at the smallest used step (at the smallest step if none was used)."""
        u = self.used
        return float(self.ladder_noise[u[-1] if u.size else -1])

    @property
    def used(self) -> np.ndarray:
        return np.array([i for i, r in enumerate(self.reasons) if r == "used"], dtype=int)

    @property
    def steps(self) -> np.ndarray:
        return self.ladder_steps[self.used]

    @property
    def r0(self) -> np.ndarray:
        return self.ladder_r0[self.used]

    @property
    def r1(self) -> np.ndarray:
        return self.ladder_r1[self.used]

    @property
    def orders(self) -> np.ndarray:
        """Observed orders ``log(r₁(h)/r₁(h')) / log(h/h')`` between consecutive used steps
        (``log₂(r₁(h)/r₁(h/2))`` on the automatic ladder)."""
        r1, h = self.r1, self.steps
        return np.log2(r1[:-1] / r1[1:]) / np.log2(h[:-1] / h[1:]) if r1.size > 1 else np.zeros(0)

    @property
    def message(self) -> str:
        if self.verdict == "exact":
            return ("r₁ at the rounding floor at every step: g is exact along v to working precision "
                    "(and L has no visible curvature along v)")
        if self.verdict == "kink":
            return ("no verdict: every step with r₁ above the rounding floor crosses a relu/leaky_relu kink "
                    "(below the kink's distance r₁ is at the floor)")
        if self.verdict == "rising":
            return (f"no verdict: the orders still rise (last {self.orders[-1]:.2f}, fitted {self.order:.2f}) "
                    "until the rounding floor cuts them off, so the h → 0 order is not visible")
        if self.verdict == "unresolved" and self.order is not None:
            return (f"no verdict: order {self.order:.2f} on only {self.n_usable} consecutive steps above the "
                    f"rounding floor (a wrong g needs {MIN_STEPS_WRONG})")
        if self.verdict == "unresolved":
            return (f"no verdict: only {self.n_usable} consecutive step(s) between the largest step and the "
                    f"rounding floor (need {MIN_STEPS})")
        p = int(np.round(self.order))
        if p == 2:
            return "r₁ shrinks like h²: g is the gradient along v"
        if self.ok:
            return (f"r₁ shrinks like h^{self.order:.2f}, faster than h² (L's h² coefficient along v is small): "
                    "no h term, so g is the gradient along v")
        if p == 1:
            return (f"r₁ shrinks like h: g is wrong along v (⟨g, v⟩ = {self.slope_g:.4g}, "
                    f"the loss says ≈ {self.slope_g + self.slope_error:.4g})")
        return f"r₁ shrinks like h^{self.order:.2f}, neither h (wrong g) nor h² (right g)"

    def dropped(self) -> list:
        """``[{"reason", "why", "steps"}]`` for each reason a step was not used."""
        out = []
        for reason in ("above", "gap", "sign", "kink", "isolated", "floor"):
            steps = [float(h) for h, r in zip(self.ladder_steps, self.reasons) if r == reason]
            if steps:
                out.append({"reason": reason, "why": _WHY[reason], "count": len(steps), "steps": steps})
        return out

    def to_dict(self, ladder: bool = False) -> dict:
        d = {
            "name": self.name,
            "direction": self.index,
            "order": _f(self.order),
            "ok": self.ok,
            "verdict": self.verdict,
            "message": self.message,
            "steps": self.steps.tolist(),
            "r0": self.r0.tolist(),
            "r1": self.r1.tolist(),
            "orders": self.orders.tolist(),
            "used": {"count": int(self.used.size), "usable": self.n_usable, "fitted": min(FIT_STEPS, int(self.used.size)),
                     "why": (f"the last (smallest) run of consecutive steps with r₁ above the floor, at most "
                             f"{USED_STEPS}; the order is fitted on the last {FIT_STEPS}")},
            "dropped": self.dropped(),
            "noise": self.noise,
            "floor": FLOOR_FACTOR * self.noise,
            "directional_derivative": self.slope_g,
            "slope_error": _f(self.slope_error),
        }
        if ladder:
            d["ladder"] = {"steps": self.ladder_steps.tolist(), "r0": self.ladder_r0.tolist(),
                           "r1": self.ladder_r1.tolist(), "noise": self.ladder_noise.tolist(),
                           "reasons": list(self.reasons)}
        return d


def _worst(directions):
    """The direction that decides a verdict: a failure, else a non-verdict, else the order farthest from 2."""
    def key(d):
        rank = {False: 0, None: 1, True: 2}[d.ok]
        return (rank, -abs((d.order if d.order is not None else 2.0) - 2.0))
    return min(directions, key=key)


def _combine_ok(oks):
    oks = list(oks)
    if any(o is False for o in oks):
        return False
    if any(o is None for o in oks):
        return None
    return True


@dataclass
class TaylorParameter:
    """The Taylor test along directions that move one leaf (``W1``, ``b1``, ...) only."""

    name: str
    directions: list

    @property
    def worst(self) -> TaylorDirection:
        return _worst(self.directions)

    @property
    def ok(self):
        return _combine_ok(d.ok for d in self.directions)

    @property
    def order(self):
        return self.worst.order

    def to_dict(self, ladder: bool = False) -> dict:
        w = self.worst
        return {"name": self.name, "order": _f(w.order), "ok": self.ok, "verdict": w.verdict,
                "message": w.message, "directions": [d.to_dict(ladder) for d in self.directions]}


@dataclass
class TaylorResult:
    """What :func:`taylor_test` found.

    ``ok`` is True when every direction's order rounds to 2 (or r₁ is at the
    floor throughout), False when some direction shows another order (1: a
    wrong gradient), None when some direction gave no verdict and none failed.
    The top-level ``order``/``steps``/``r0``/``r1``/``orders`` are those of the
    deciding (worst) direction over all leaves at once.
    """

    candidate: str
    dtype: str
    n_batch: int
    seed: object
    directions: list  # TaylorDirection over all leaves
    parameters: list | None  # TaylorParameter per leaf, with per_parameter=True
    evaluations: int  # losses evaluated (ladder rows, plus the rows re-evaluated to measure ν)
    seconds: float
    auto_steps: bool = True

    @property
    def worst(self) -> TaylorDirection:
        return _worst(self.directions)

    @property
    def ok(self):
        return _combine_ok([d.ok for d in self.directions]
                           + [p.ok for p in (self.parameters or [])])

    @property
    def order(self):
        return self.worst.order

    def to_dict(self, ladder: bool = False) -> dict:
        """JSON-ready; ``ladder=True`` adds every evaluated step of every direction."""
        w = self.worst
        d = {
            "order": _f(w.order),
            "ok": self.ok,
            "verdict": w.verdict,
            "message": w.message,
            "steps": w.steps.tolist(),
            "r0": w.r0.tolist(),
            "r1": w.r1.tolist(),
            "orders": w.orders.tolist(),
            "used": w.to_dict()["used"],
            "dropped": w.dropped(),
            "candidate": self.candidate,
            "dtype": self.dtype,
            "n_batch": self.n_batch,
            "seed": self.seed if isinstance(self.seed, (int, type(None))) else repr(self.seed),
            "automatic_steps": self.auto_steps,
            "evaluations": self.evaluations,
            "seconds": self.seconds,
            "floor_factor": FLOOR_FACTOR,
            "fit_steps": FIT_STEPS,
            "directions": [x.to_dict(ladder) for x in self.directions],
        }
        if self.parameters is not None:
            d["parameters"] = [p.to_dict(ladder) for p in self.parameters]
        return d

    def lines(self) -> list:
        """The report text: one line for all leaves together, then one per parameter."""
        rows = [("all", self.directions)]
        rows += [(p.name, p.directions) for p in (self.parameters or [])]
        width = max(len(n) for n, _ in rows)
        out = []
        for name, dirs in rows:
            w = _worst(dirs)
            ok = _combine_ok(d.ok for d in dirs)
            word = {True: "ok", False: "WRONG", None: "no verdict"}[ok]
            if w.order is not None:
                orders = "/".join(f"{d.order:.2f}" if d.order is not None else "—" for d in dirs)
                head = f"order {orders}"
                tail = (f"{w.used.size} steps h {w.steps[0]:.1e}…{w.steps[-1]:.1e}"
                        + ("" if ok else f"; {w.message}"))
            else:
                head, tail = w.verdict, w.message
            out.append(f"taylor  {name:<{width}}  {head:<11} {word:<5}  {tail}")
        return out

    format_lines = lines

    def __str__(self) -> str:
        return "\n".join(self.lines())


# ---------------------------------------------------------------------------
# The test
# ---------------------------------------------------------------------------

def _leaf_names(spec) -> list:
    """``[(name, layer, k)]``: ``("W1", 0, 0)``, ``("b1", 0, 1)``, ... for the leaves that exist."""
    out = []
    for l in range(spec.n_layers):
        out.append((f"W{l + 1}", l, 0))
        if spec.bias[l]:
            out.append((f"b{l + 1}", l, 1))
    return out


def _gradient_tree(out, spec, params, what: str) -> list:
    """The candidate's gradient as ``[(dW, db or None)]`` float64 arrays, shape-checked."""
    if isinstance(out, (str, bytes, np.ndarray)) or not hasattr(out, "__len__") or len(out) != spec.n_layers:
        got = len(out) if hasattr(out, "__len__") and not isinstance(out, (str, bytes, np.ndarray)) \
            else type(out).__name__
        raise ValueError(f"{what} must be one (dW, db) pair per layer ({spec.n_layers}), got {got}")
    tree = []
    for l, (pair, (W, b)) in enumerate(zip(out, params)):
        try:
            dW, db = pair
        except (TypeError, ValueError):
            raise TypeError(f"{what}[{l}] must be a (dW, db) pair, got {type(pair).__name__}") from None
        leaves = []
        for k, (g, p) in enumerate(((dW, W), (db, b))):
            label = f"{what}[{l}][{k}] (d{'Wb'[k]}{l + 1})"
            if p is None:
                if g is not None:
                    raise ValueError(f"{label} must be None: layer {l + 1} has no bias")
                leaves.append(None)
                continue
            if g is None:
                raise ValueError(f"{label} is None, expected an array of shape {p.shape}")
            a = np.asarray(g)
            if a.dtype.kind not in "iuf":
                raise TypeError(f"{label} must hold real numbers, got dtype {a.dtype}")
            if a.shape != p.shape:
                raise ValueError(f"{label} must have shape {p.shape} like the parameter, got {a.shape}")
            a = a.astype(np.float64)  # a copy: the candidate's arrays are not touched
            if not np.isfinite(a).all():
                raise ValueError(f"{label} contains NaN or infinite values")
            leaves.append(a)
        tree.append(tuple(leaves))
    return tree


def _check_steps(steps):
    if steps is None:
        return None
    try:
        h = np.array(steps, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise TypeError(f"steps must be a sequence of positive numbers, got {steps!r}") from None
    if h.size < 2 or not np.isfinite(h).all() or (h <= 0).any():
        raise ValueError(f"steps must hold at least 2 positive finite step sizes, got {steps!r}")
    if (np.diff(h) >= 0).any():
        raise ValueError(f"steps must be strictly decreasing (h, h/2, h/4, ...), got {steps!r}")
    return h


def _directions(rng, spec, params, leaves, n_directions, dtype):
    """``n_directions`` unit directions over ``leaves``: each a list per layer of
    ``(VW or None, Vb or None)`` float64 arrays (None where the leaf stays still)."""
    out = []
    for _ in range(n_directions):
        V = [[None, None] for _ in range(spec.n_layers)]
        for _, l, k in leaves:
            V[l][k] = rng.standard_normal(params[l][k].shape)
        norm = np.sqrt(sum(float(np.sum(v * v)) for pair in V for v in pair if v is not None))
        # Rounded to the params' dtype once, so every use below sees the same v.
        out.append([tuple(None if v is None else (v / norm).astype(dtype).astype(np.float64) for v in pair)
                    for pair in V])
    return out


def _kinks(act) -> tuple:
    """Where a step along v must not move one layer's pre-activations across: ``act.kinks`` (f' jumps)
    and ``act.curvature_kinks`` if the activation declares any (f' continuous, f'' jumps, as for
    softsign z/(1 + |z|) at 0).  Across either, L(θ + hv) has no second-order Taylor expansion, and
    over float32's few usable halvings the bend can read as order 1."""
    return tuple(float(k) for k in (*act.kinks, *act.curvature_kinks))


def _sub_spec(spec, l0):
    # The network above layer l0, fed a_{l0} instead of x; l2 is added separately (in closed form).
    return spec._replace(sizes=spec.sizes[l0:], activations=spec.activations[l0:], bias=spec.bias[l0:], l2=0.0)


def _prefix_input(spec, params, x, l0, dtype):
    """``a_{l0}`` (``x`` for l0 = 0): the layers below the first perturbed one, evaluated once."""
    if l0 == 0:
        return x
    pre = spec._replace(sizes=spec.sizes[: l0 + 1], activations=spec.activations[:l0], bias=spec.bias[:l0])
    _, as_ = forward_xp(np, pre, params[:l0], x)
    return np.asarray(as_[-1], dtype)


def _ladder(spec, params, x, y, g, V, hs, dtype):
    """Losses along ``θ + h v`` for ``hs`` ``(S,)`` (``hs[0] = 0``).

    Returns ``(L (S,) float64, <g, d> (S,) float64, crossed (S,) bool, noise, n_evaluations)``
    with ``d`` the step actually taken in ``dtype``.
    """
    layers = [l for l in range(spec.n_layers) if V[l][0] is not None or V[l][1] is not None]
    l0 = layers[0]
    a0 = _prefix_input(spec, params, x, l0, dtype)
    sub = _sub_spec(spec, l0)
    kinked = [(m, k) for m, act in enumerate(sub.activations) for k in _kinks(act)]
    S = hs.size
    hs_dt = hs.astype(dtype)
    hs = hs_dt.astype(np.float64)  # the steps as actually taken
    # Layer l0 moves through z only: z + h·(a V_W + v_b), so its W is never copied per step.
    VW0, Vb0 = V[l0]
    dz = 0
    if VW0 is not None:
        # errstate: a and v are finite (validated; v a unit vector), so an "invalid" flag from this product
        # is OpenBLAS's own (a stale FE_INVALID from a small gemv kernel, seen once on an AVX-512 EPYC;
        # numpy#24067 is the same symptom), not a NaN -- and under -W error it would fail a right gradient.
        with np.errstate(invalid="ignore"):
            dz = a0 @ VW0.astype(dtype)
    if Vb0 is not None:
        dz = dz + Vb0.astype(dtype)
    dz = np.broadcast_to(np.asarray(dz, dtype), (x.shape[0], spec.sizes[l0 + 1]))
    # The twin computes layer l0's shift itself: dz's rounding (relative ε, so an error ∝ h in
    # L(θ + hv), which a constant floor would miss) is then part of what the twin measures.
    twin_dtype = _TWIN[dtype]
    dz_twin = 0
    if VW0 is not None:
        with np.errstate(invalid="ignore"):  # as for dz above
            dz_twin = a0.astype(twin_dtype) @ VW0.astype(dtype).astype(twin_dtype)
    if Vb0 is not None:
        dz_twin = dz_twin + Vb0.astype(dtype).astype(twin_dtype)
    # <g, d>: layer l0's step is h·v exactly as far as the z-shift sees it (rounded relative ε);
    # later layers' steps are the differences fl(θ + hv) − θ, exact in float64.
    gd = hs * sum(float(np.sum(gk * vk)) for gk, vk in zip(g[l0], V[l0]) if vk is not None)
    l2_extra = np.zeros(S)
    if spec.l2 and VW0 is not None:  # ‖W + hV‖² − ‖W‖² in closed form, float64
        W64 = params[l0][0].astype(np.float64)
        l2_extra += spec.l2 * (2 * hs * float(np.sum(W64 * VW0)) + hs**2 * float(np.sum(VW0 * VW0)))
    n_moved = sum(params[l][k].size for l in layers[1:] for k in (0, 1) if V[l][k] is not None)
    width = x.shape[0] * max(spec.sizes[l0 + 1:])
    chunk = max(1, _MAX_ELEMENTS_PER_CHUNK // max(n_moved, width))
    twin_rows = np.arange(0, S, _TWIN_EVERY)  # every fourth row from h = 0, and the last (sorted, unique)
    if twin_rows[-1] != S - 1:
        twin_rows = np.append(twin_rows, S - 1)
    L = np.empty(S)
    L_twin = {}
    crossed = np.zeros(S, bool)
    base_pattern = None
    for s in range(0, S, chunk):
        rows = np.arange(s, min(s + chunk, S))
        h = hs_dt[rows]
        e = [h[:, None, None] * dz] + [0] * (sub.n_layers - 1)
        sub_params = [params[l0]]
        for l in range(l0 + 1, spec.n_layers):
            W, b = params[l]
            VW, Vb = V[l]
            if VW is not None:
                Wp = W + h[:, None, None] * VW.astype(dtype)
                step = Wp.astype(np.float64) - W.astype(np.float64)
                gd[rows] += np.einsum("sij,ij->s", step, g[l][0])
                if spec.l2:
                    l2_extra[rows] += spec.l2 * np.einsum("sij,sij->s", step, 2 * W.astype(np.float64) + step)
                W = Wp
            if Vb is not None:
                b_moved = b + h[:, None] * Vb.astype(dtype)
                gd[rows] += (b_moved.astype(np.float64) - b.astype(np.float64)) @ g[l][1]
                b = b_moved
            sub_params.append((W, b))
        L[rows] = loss_xp(np, sub, sub_params, a0, y, e)
        # The same rows re-evaluated in the other precision: their difference measures rounding.
        tw = twin_rows[(twin_rows >= rows[0]) & (twin_rows <= rows[-1])]  # rows is a contiguous range
        if tw.size:
            sel = tw - s
            t_params = [tuple(None if p is None else (p[sel] if p.ndim == q + 1 else p).astype(twin_dtype)
                              for p, q in zip(pair, (2, 1)))
                        for pair in sub_params]
            t_e = [h[sel].astype(twin_dtype)[:, None, None] * dz_twin] + e[1:]
            vals = loss_xp(np, sub, t_params, a0.astype(twin_dtype), y.astype(twin_dtype), t_e)
            L_twin.update(zip(tw.tolist(), np.atleast_1d(vals).astype(np.float64).tolist()))
        if kinked:
            zs, _ = forward_xp(np, sub, sub_params, a0, e)
            pattern = np.concatenate([(np.broadcast_to(np.real(zs[m]), (rows.size,) + zs[m].shape[-2:]) > k)
                                      .reshape(rows.size, -1) for m, k in kinked], axis=1)
            if base_pattern is None:
                base_pattern = pattern[0]  # row 0 is h = 0
            crossed[rows] = (pattern != base_pattern).any(axis=1)
    L += l2_extra
    unit = (0.5 if spec.half else 1.0) / (x.shape[0] if spec.reduction == "mean" else 1)
    noise = _noise(L, L_twin, dtype, twin_dtype, l2_extra, unit)
    n_eval = S + len(L_twin)
    return L, gd, crossed, noise, n_eval


def _noise(L, L_twin, dtype, twin_dtype, l2_extra, unit):
    """``ν`` per ladder row ``(S,)``: rounding noise of ``L(θ + hv) − L(θ)`` in ``dtype``.

    Measured on the sampled rows as ``|err_k − err_0|``, ``err = L_dtype − L_twin`` at
    the same inputs; row ``k`` takes the largest over sampled rows with ``h ≤ 8·h_k``
    (noise grows with ``|L(θ + hv)|``, so the large steps' noise must not raise the
    floor of the small ones, and rows between samples are covered).
    """
    rows = np.array(sorted(L_twin))
    err = L[rows] - l2_extra[rows] - np.array([L_twin[r] for r in rows])
    S = L.size
    # Measured or not, ν is kept above 2 ulps of |L|: L(θ + hv) and L(θ) are each rounded to
    # the dtype at the end, and differences of 2.3 ulps were seen where the max over the sampled
    # rows said 0.5.  4 ulps when ν is only estimated (float64, from float32's noise, which at
    # tiny h does not scale with ε: a float32 step below ulp(z) is absorbed where a float64 one
    # is not; misses of 4× were seen).  |L| is replaced by one unit of per-sample loss when
    # smaller: a loss of exactly 0 is still a sum of rounded terms.
    low = (2.0 if twin_dtype.itemsize > dtype.itemsize else 4.0) * _EPS[dtype] * max(abs(float(L[0])), unit)
    if not np.isfinite(err).all():  # e.g. float64 values beyond float32's range: the lower bound only
        return np.full(S, low)
    dev = np.abs(err - err[0])
    if twin_dtype.itemsize < dtype.itemsize:
        # The twin was the coarser precision: its error scaled down by ε64/ε32 estimates ours, and
        # an estimate (not a measurement) gets a factor 16 of headroom (a 4× miss was seen); float64 has
        # halvings to spare (two fewer of ~20).
        dev *= _ESTIMATE_SAFETY * _EPS[dtype] / _EPS[twin_dtype]
    # Row k: the largest dev over the sampled rows r >= k - 3 (sorted, so a suffix of them).
    suffix_max = np.maximum.accumulate(dev[::-1])[::-1]
    first = np.searchsorted(rows, np.arange(S) - 3, side="left")
    nu = np.where(first < rows.size, suffix_max[np.minimum(first, rows.size - 1)], dev[-1])
    return np.maximum(nu, low)


def _read(name, index, hs, L, gd, crossed, noise, slope_g, trim: bool) -> TaylorDirection:
    """Pick the usable steps of one ladder and fit the order."""
    R0 = L[1:] - L[0]
    R1 = R0 - gd[1:]
    steps, r0, r1, cr, noise = hs[1:], np.abs(R0), np.abs(R1), crossed[1:], noise[1:]
    reasons = ["kink" if c else ("floor" if v < FLOOR_FACTOR * n else "ok") for c, v, n in zip(cr, r1, noise)]
    # The last run of at least MIN_STEPS consecutive usable steps (smallest h): that is where
    # h → 0 is read.  Shorter runs below it are noise poking over the floor ("isolated").
    runs, i = [], 0
    while i < len(reasons):
        if reasons[i] == "ok":
            j = i
            while j + 1 < len(reasons) and reasons[j + 1] == "ok":
                j += 1
            runs.append((i, j))
            i = j + 1
        else:
            i += 1
    if not runs:
        # Exact only if r₁ is at the floor at *every* step; above the floor only where a kink is
        # crossed means the steps that could show an order are spoilt by it: no verdict.
        # Unless L itself is flat over the kink-free steps (r₀ at the floor too: a leaf that
        # does not move L, e.g. into dead relus, whose g must be and is 0 to working precision).
        flat = [v < FLOOR_FACTOR * n for c, v, n in zip(cr, r0, noise) if not c]
        exact = not any(c and v >= FLOOR_FACTOR * n for c, v, n in zip(cr, r1, noise)) or (flat and all(flat))
        verdict, ok = ("exact", True) if exact else ("kink", None)
        return TaylorDirection(name, index, steps, r0, r1, reasons, noise, slope_g, None, verdict, None, ok, 0)
    long_runs = [r for r in runs if r[1] - r[0] + 1 >= MIN_STEPS]
    if not long_runs:
        n_usable = max(j - i + 1 for i, j in runs)
        reasons = ["isolated" if r == "ok" else r for r in reasons]
        return TaylorDirection(name, index, steps, r0, r1, reasons, noise, slope_g, None, "unresolved", None,
                               None, n_usable)
    start, end = long_runs[-1]
    # A sign change of R₁ inside the run means two terms of different order cancel there
    # (c h² against d h³, or a wrong g's e·h against c h²): the order is read below it only.
    flips = [i for i in range(start, end) if np.sign(R1[i]) != np.sign(R1[i + 1])]
    if flips:
        for i in range(start, flips[-1] + 1):
            reasons[i] = "sign"
        start = flips[-1] + 1
    n_usable = end - start + 1
    if n_usable < MIN_STEPS:
        reasons = ["isolated" if r == "ok" else r for r in reasons]
        return TaylorDirection(name, index, steps, r0, r1, reasons, noise, slope_g, None, "unresolved", None,
                               None, n_usable)
    first = max(start, end - USED_STEPS + 1) if trim else start
    for i, r in enumerate(reasons):
        if r == "ok":
            if first <= i <= end:
                reasons[i] = "used"
            elif start <= i < first:
                reasons[i] = "above"
            else:
                reasons[i] = "gap" if i < start else "isolated"
    idx = np.arange(max(first, end - FIT_STEPS + 1), end + 1)
    # The least-squares slope of log r₁ against log h (np.polyfit's degree-1 fit, in closed form).
    lh, lr = np.log2(steps[idx]), np.log2(r1[idx])
    lh = lh - lh.mean()
    order = float(lh @ (lr - lr.mean()) / (lh @ lh))
    def _order(i):  # observed order between steps i and i + 1
        return float(np.log2(r1[i] / r1[i + 1]) / np.log2(steps[i] / steps[i + 1]))

    last = _order(end - 1)
    slope_error = float(R1[end] / steps[end])
    # Order 2 (or more: when L's h² coefficient along v is tiny, the h³ term shows within the
    # visible steps) means r₁ has no h term; order 1 means it has one, so ⟨g, v⟩ is wrong.
    if order >= 1.5:
        verdict, ok = "order", True
    elif end - first + 1 < MIN_STEPS_WRONG:
        # Three steps (two orders) just under h₀ can still be pre-asymptotic (float32, where the
        # floor comes early); "wrong" is only said on at least three orders.
        verdict, ok = "unresolved", None
    elif last >= 1.5 or last - _order(idx[0]) >= 0.5:
        # Orders still rising (toward 2) where the floor cuts them off: the visible steps are
        # not yet in the h → 0 regime (a wrong g's orders fall toward 1 and stay there).
        verdict, ok = "rising", None
    else:
        verdict, ok = "order", False
    return TaylorDirection(name, index, steps, r0, r1, reasons, noise, slope_g, slope_error, verdict, order, ok,
                           n_usable)


def _name_of(fn) -> str:
    qual = getattr(fn, "__qualname__", None)
    if qual is None:
        return repr(fn)
    mod = getattr(fn, "__module__", None)
    return f"{mod}.{qual}" if mod else qual


def taylor_test(net, params, x, y, *, candidate=None, gradients=None, per_parameter: bool = False,
                n_directions: int = 1, seed=0, steps=None, _checked=None) -> TaylorResult:
    """Taylor remainder test of a candidate gradient: the order of ``r₁`` along random directions.

    Parameters
    ----------
    net, params, x, y
        As for :func:`reference.gradients`: ``params`` a list of ``(W (n_in,
        n_out), b (n_out,) or None)``, all float32 or all float64 (the
        precision ``L`` is evaluated in); ``x`` ``(n_batch, sizes[0])``; ``y``
        ``(n_batch, sizes[-1])`` or integer labels for cross-entropy.
    candidate : callable ``(net, params, x, y) -> [(dW, db), ...]``, optional
        The gradient under test, row layout (``dW`` ``(n_in, n_out)``, ``db``
        ``(n_out,)`` or None); default ``manual_bp.gradients``.  Called once,
        with the caller's arguments.
    gradients : list of ``(dW, db or None)``, optional
        The candidate's gradient, already computed (``compare`` passes it so
        the candidate is not run twice); then ``candidate`` is not called and
        only names the candidate in the report.
    per_parameter : bool
        Also test ``n_directions`` directions per leaf (``W1``, ``b1``, ...),
        each moving that leaf only, so the order localises a wrong leaf.
    n_directions : int
        Random unit directions (normalised over the leaves they move) per test.
    seed : int or numpy.random.Generator
        Source of the directions (Gaussian).
    steps : sequence of float, optional
        Strictly decreasing step sizes to use instead of the automatic ladder
        (then every step above the floor and kink-free is fitted, not just
        the last FIT_STEPS).

    Returns
    -------
    :class:`TaylorResult`: ``.ok``, ``.order``, ``.lines()``, ``.to_dict()``.
    The parameters are never modified; ``L`` is evaluated by
    :func:`reference.model.loss_xp` in the params' dtype.
    """
    t0 = time.perf_counter()
    # _checked: what check_all returned, from a caller that has validated these inputs already.
    spec, cparams, cx, cy, dtype = _checked if _checked is not None else check_all(net, params, x, y)
    if not isinstance(per_parameter, (bool, np.bool_)):
        raise TypeError(f"per_parameter must be True or False, got {per_parameter!r}")
    if isinstance(n_directions, (bool, np.bool_)) or not isinstance(n_directions, (int, np.integer)):
        raise TypeError(f"n_directions must be an int, got {n_directions!r}")
    if n_directions < 1:
        raise ValueError(f"n_directions must be >= 1, got {n_directions}")
    user_steps = _check_steps(steps)
    rng = make_rng(seed)
    if gradients is not None:
        name = "gradients" if candidate is None else _name_of(candidate)
        g = _gradient_tree(gradients, spec, cparams, "gradients")
    else:
        if candidate is None:
            import manual_bp  # the default candidate; reference itself never needs it

            candidate = manual_bp.gradients
        elif not callable(candidate):
            raise TypeError(f"candidate must be a function (net, params, x, y) -> [(dW, db), ...], got {candidate!r}")
        name = _name_of(candidate)
        g = _gradient_tree(candidate(net, params, x, y), spec, cparams, "candidate output")

    leaves = _leaf_names(spec)
    groups = [("all", leaves)]
    if per_parameter:
        groups += [(n, [(n, l, k)]) for n, l, k in leaves]
    n_eval = 0
    results = {}
    for gname, gleaves in groups:
        dirs = []
        for i, V in enumerate(_directions(rng, spec, cparams, gleaves, int(n_directions), dtype)):
            if user_steps is None:
                norm = np.sqrt(sum(float(np.sum(cparams[l][k].astype(np.float64) ** 2)) for _, l, k in gleaves))
                # h₀ a power of 2 ≥ max(1, ‖θ_S‖): every step is exact in both precisions.
                h0 = 2.0 ** np.ceil(np.log2(max(1.0, norm)))
                hs = h0 * 0.5 ** np.arange(LADDER_LENGTH[dtype] + 1)
            else:
                hs = user_steps
            hs = np.r_[0.0, hs].astype(dtype).astype(np.float64)  # steps as the dtype holds them
            L, gd, crossed, noise, k = _ladder(spec, cparams, cx, cy, g, V, hs, dtype)
            n_eval += k
            slope_g = float(sum(np.sum(gk * vk) for gpair, vpair in zip(g, V)
                                for gk, vk in zip(gpair, vpair) if vk is not None))
            dirs.append(_read(gname, i, hs, L, gd, crossed, noise, slope_g, trim=user_steps is None))
        results[gname] = dirs
    parameters = None
    if per_parameter:
        parameters = [TaylorParameter(n, results[n]) for n, _, _ in leaves]
    return TaylorResult(name, dtype.name, int(cx.shape[0]), seed if isinstance(seed, int) else None,
                        results["all"], parameters, n_eval, time.perf_counter() - t0, user_steps is None)


# ---------------------------------------------------------------------------
# The picture
# ---------------------------------------------------------------------------

def plot_taylor(result: TaylorResult, path) -> None:
    """Save log r₀ and log r₁ against log h, with slope-1 and slope-2 guides, to ``path``.

    One panel per tested group (all leaves, then each parameter), the first
    direction of each.  Needs matplotlib (``pip install matplotlib``).
    """
    if not isinstance(result, TaylorResult):
        raise TypeError(f"result must be a TaylorResult from reference.taylor_test, got {type(result).__name__}")
    try:  # a Figure with its own Agg canvas: no pyplot, no global backend switch
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plot_taylor needs matplotlib: pip install matplotlib") from None
    panels = [result.directions[0]] + [p.directions[0] for p in (result.parameters or [])]
    n = len(panels)
    cols = min(n, 3)
    rows = -(-n // cols)
    fig = Figure(figsize=(4.2 * cols, 3.6 * rows))
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, d in zip(axes.ravel(), panels):
        h = d.ladder_steps
        for r, label, style in ((d.ladder_r0, "r₀ = |L(θ+hv) − L(θ)|", "o-"),
                                (d.ladder_r1, "r₁ = |L(θ+hv) − L(θ) − h⟨g,v⟩|", "s-")):
            pos = r > 0
            ax.loglog(h[pos], r[pos], style, ms=3, lw=1, label=label, alpha=0.8)
        used = d.used
        if used.size:
            ax.loglog(h[used], d.ladder_r1[used], "o", ms=8, mfc="none", mec="k", label="used for the fit")
            h_ref, r_ref = h[used[-1]], d.ladder_r1[used[-1]]
            span = h[used] if used.size > 1 else h
            for p, ls in ((1, "--"), (2, ":")):
                ax.loglog(span, r_ref * (span / h_ref) ** p, ls, color="gray", label=f"slope {p}")
        ax.loglog(h, FLOOR_FACTOR * d.ladder_noise, color="red", lw=0.8, label="rounding floor (8ν)")
        title = f"{d.name}: " + (f"order {d.order:.2f}" if d.order is not None else d.verdict)
        title += {True: " ok", False: " WRONG", None: " (no verdict)"}[d.ok]
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("h")
        ax.grid(True, which="major", alpha=0.3)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    axes.ravel()[0].legend(fontsize=7, loc="best")
    fig.suptitle(f"Taylor test of {result.candidate} ({result.dtype}, batch {result.n_batch})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
