"""Re-measure the errors behind :data:`reference.tolerances.TOLERANCES`.

    python -m reference._calibrate --nets 1000 --seed 11     (~10 min, 2 cores)

For random nets (depth 1-5, widths and batch 1-8, every activation/loss
pairing, random bias flags, sum/mean, half, weights from N(0, 0.1²) up to
N(0, 2²)) in float64 and float32, each oracle is compared with "truth": the
per-parameter complex step evaluated in 80-bit ``np.clongdouble`` (error
~1e-19, so every float64/float32 error is measured, not masked).  The "jax"
entry must also hold between two *different* exact implementations, so it is
additionally measured between JAX and :func:`_textbook_backprop`, a
deliberately naive NumPy backprop (``σ' = a(1-a)``, ``tanh' = 1-a²``) that
exists only here.  For each entry the report gives the worst
``err / (atol + rtol·scale)`` (must stay well below 1) and the leaf behind it.
"""
from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np

from . import fast_derivatives, gradients
from . import numerical as N
from ._spec import check_all
from .model import loss_xp
from .tolerances import BOUND_SAFETY, TOLERANCES, derivative_bounds, forward_mode_floor

_LD, _CLD = np.longdouble, np.clongdouble
_CLASSIC = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "softmax")
_HIDDEN = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "elu", "swish", "gelu")


def _random_case(rng, regime: str = "mixed"):
    from manual_bp.activations import LeakyReLU
    from manual_bp.network import Network, init_params

    depth = int(rng.integers(1, 6))
    sizes = [int(rng.integers(1, 9)) for _ in range(depth + 1)]
    loss = str(rng.choice(["squared_error", "cross_entropy", "binary_cross_entropy"]))
    out = {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid"}.get(loss)
    acts = [str(rng.choice(_HIDDEN)) for _ in range(depth - 1)]
    acts.append(out or str(rng.choice(_HIDDEN + ("softmax",))))
    acts = [LeakyReLU(float(rng.uniform(0, 0.3))) if a == "leaky_relu" else a for a in acts]
    net = Network(sizes, acts, loss, reduction=str(rng.choice(["sum", "mean"])),
                  half=bool(loss == "squared_error" and rng.integers(2)),
                  bias=[bool(rng.integers(2)) for _ in range(depth)])
    if regime == "harsh":  # weights and biases N(0, 2²): saturated sigmoid/tanh, big z
        params = [(rng.normal(0, 2.0, w), None if not b else rng.normal(0, 2.0, b)) for w, b in net.shapes()]
    else:
        params = init_params(net, rng, scheme=str(rng.choice(["xavier", "doc001"])),
                             weight_scale=float(rng.choice([0.1, 1.0, 2.0])))
    n_batch = int(rng.integers(1, 9))
    x = rng.standard_normal((n_batch, sizes[0]))
    if loss == "cross_entropy":
        y = rng.integers(0, sizes[-1], n_batch) if rng.integers(2) else rng.dirichlet(np.ones(sizes[-1]), n_batch)
    elif loss == "binary_cross_entropy":
        y = rng.uniform(size=(n_batch, sizes[-1]))
    else:
        y = rng.standard_normal((n_batch, sizes[-1]))
    return net, params, x, y


def _as(dtype, params, x, y):
    params = [(W.astype(dtype), None if b is None else b.astype(dtype)) for W, b in params]
    y = y if y.dtype.kind in "iu" else y.astype(dtype)
    return params, x.astype(dtype), y


def _truth(net, params, x, y):
    """Loss, gradients and deltas by complex step in 80-bit long double."""
    spec, p, x, y, _ = check_all(net, params, x, y)
    xl, yl, h = x.astype(_LD), y.astype(_LD), _LD(1e-40)
    theta = N._flatten(p).astype(_CLD)
    rows = np.repeat(theta[None], theta.size, 0)
    rows[np.arange(theta.size), np.arange(theta.size)] += 1j * h
    grads = N._unflatten(spec, N._losses(spec, rows, xl, yl).imag / h)
    pl = [(W.astype(_CLD), None if b is None else b.astype(_CLD)) for W, b in p]
    n_batch, ds = x.shape[0], []
    for l, n in enumerate(spec.sizes[1:]):
        S = n_batch * n
        e = [np.zeros((S, n_batch, m), _CLD) for m in spec.sizes[1:]]
        e[l].reshape(S, S)[np.arange(S), np.arange(S)] = 1j * h
        ds.append((loss_xp(np, spec, pl, xl, yl, e).imag / h).reshape(n_batch, n))
    L = loss_xp(np, spec, [(W.astype(_LD), None if b is None else b.astype(_LD)) for W, b in p], xl, yl)
    return float(L), grads, ds


def _textbook_backprop(net, params, x, y):
    """Naive backprop (only for sizing the two-sided 'jax' tolerance)."""
    spec, params, x, y, dtype = check_all(net, params, x, y)

    def f(act, z):
        name, slope = act.name, getattr(act, "slope", 0.0)
        if name == "softmax":
            e = np.exp(z - z.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)
        with np.errstate(over="ignore"):
            return {"identity": lambda: z, "sigmoid": lambda: 1 / (1 + np.exp(-z)), "tanh": lambda: np.tanh(z),
                    "relu": lambda: np.where(z > 0, z, 0 * z), "leaky_relu": lambda: np.where(z > 0, z, slope * z),
                    }.get(name, lambda: np.real(act.formula(np, z)).astype(dtype))()

    def vjp(act, z, a, g):
        name, slope = act.name, getattr(act, "slope", 0.0)
        if name == "softmax":
            return a * (g - (g * a).sum(axis=1, keepdims=True))
        if name not in ("identity", "sigmoid", "tanh", "relu", "leaky_relu"):  # f' by the complex step
            return g * (np.imag(act.formula(np, z.astype(np.complex128) + 1e-30j)) / 1e-30).astype(dtype)
        return g * {"identity": 1, "sigmoid": a * (1 - a), "tanh": 1 - a * a, "relu": (z > 0).astype(dtype),
                    "leaky_relu": np.where(z > 0, 1, slope).astype(dtype)}[name]

    zs, acts = [], [x]
    for (W, b), act in zip(params, spec.activations):
        zs.append(acts[-1] @ W + (0 if b is None else b))
        acts.append(f(act, zs[-1]))
    scale = (0.5 if spec.half else 1.0) / (x.shape[0] if spec.reduction == "mean" else 1)
    a = acts[-1]
    if spec.loss.name == "squared_error":
        d = vjp(spec.activations[-1], zs[-1], a, 2 * (a - y))
    else:
        d = a * y.sum(axis=1, keepdims=True) - y if spec.loss.name == "cross_entropy" else a - y
    d = (scale * d).astype(dtype)
    grads, ds = [None] * spec.n_layers, [None] * spec.n_layers
    for l in reversed(range(spec.n_layers)):
        ds[l] = d
        grads[l] = (acts[l].T @ d + 2 * spec.l2 * params[l][0], None if params[l][1] is None else d.sum(axis=0))
        if l:
            d = vjp(spec.activations[l - 1], zs[l - 1], acts[l], d @ params[l][0].T)
    return grads, ds


def _leaves(tree):
    if isinstance(tree, (list, tuple)):
        return [a for sub in tree for a in _leaves(sub)]
    return [] if tree is None else [np.asarray(tree)]


def _errs(a, b):
    return [(float(np.abs(u.astype(_LD) - v.astype(_LD)).max()),
             float(max(np.abs(u).max(), np.abs(v).max()))) for u, v in zip(_leaves(a), _leaves(b))]


def _bound_ratios(actual, expected, bound, forward_mode_dtype=None):
    """Largest ``|actual - expected| / bound`` per leaf (trees of arrays, None leaves skipped);
    with ``forward_mode_dtype``, ``expected`` is a forward-mode method and gets its floor."""
    out = []
    for a, e, b in zip(_leaves(actual), _leaves(expected), _leaves(bound)):
        if forward_mode_dtype is not None:
            b = forward_mode_floor([b], [e], forward_mode_dtype)[0]
        d = np.abs(a.astype(_LD) - e.astype(_LD)).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            out.append(float(np.where(d > 0, d / b, 0.0).max()))
    return out


def measure(n_nets: int, seed: int, regime: str = "mixed"):
    """``({(dtype, kind): [(err, scale), ...]}, crossings, {(dtype, pair): [ratio, ...]})``.

    The third dict holds, per leaf, ``max |Δ| / bound`` for the per-entry
    bound of :func:`derivative_bounds` at safety 1, for each pair of exact
    methods: manual_bp, the textbook backprop, the padded fast path, the
    plain jax.grad (every 10th net), the complex step, and 80-bit truth.
    """
    if np.finfo(np.longdouble).eps > 1e-18:
        raise SystemExit("needs 80-bit long double (x86); here long double is just double")
    import manual_bp

    rng = np.random.default_rng(seed)
    rec, crossings, ratios = defaultdict(list), defaultdict(int), defaultdict(list)
    for i in range(n_nets):
        net, params, x, y = _random_case(rng, regime)
        for dtype in ("float64", "float32"):
            p, xx, yy = _as(np.dtype(dtype), params, x, y)
            case = (net, p, xx, yy)
            L, tg, td = _truth(*case)
            jx = fast_derivatives(*case)
            rec[dtype, "jax"] += _errs([jx.gradients, jx.deltas], [tg, td])
            # At the safety compare uses (its ReLU kink window is safety·|Δz|),
            # reported in units of the unscaled bound.
            bounds = [[tuple(None if v is None else v / BOUND_SAFETY for v in pair) for pair in tree]
                      if isinstance(tree[0], tuple) else [v / BOUND_SAFETY for v in tree]
                      for tree in derivative_bounds(*case)]
            manual = [manual_bp.gradients(*case), manual_bp.deltas(*case)]
            pairs = {"manual vs jax": (manual, [jx.gradients, jx.deltas]),
                     "manual vs truth": (manual, [tg, td]),
                     "jax vs truth": ([jx.gradients, jx.deltas], [tg, td])}
            if all(a.name in _CLASSIC for a in net.activations):  # the textbook knows these only
                textbook = list(_textbook_backprop(*case))
                rec[dtype, "jax"] += _errs(textbook, [jx.gradients, jx.deltas])
                pairs["textbook vs jax"] = (textbook, [jx.gradients, jx.deltas])
            for pair, (a, e) in pairs.items():
                # The 80-bit truth is a complex step (forward mode): its floor.
                ratios[dtype, pair] += _bound_ratios(a, e, list(bounds), dtype if "truth" in pair else None)
            cs = N.complex_step_gradients(*case)
            ratios[dtype, "manual vs complex step"] += _bound_ratios(manual[0], cs, bounds[0], dtype)
            if i % 10 == 0:  # the plain path too (it compiles per architecture)
                plain = gradients(*case)
                rec[dtype, "jax"] += _errs(plain, tg)
                ratios[dtype, "plain vs fast jax"] += _bound_ratios(plain, jx.gradients, bounds[0])
            rec[dtype, "loss"].append((abs(jx.loss - L), abs(L)))
            rec[dtype, "complex_step"] += _errs(cs, tg)
            try:
                rec[dtype, "central"] += _errs(N.central_difference_gradients(*case), tg)
            except N.KinkCrossingError:
                crossings[dtype, "central"] += 1
            try:
                derivs, V = N.directional_derivatives(*case, n_directions=8, seed=i)
                rec[dtype, "directional"] += _errs(derivs, N.project_gradients(tg, V))
            except N.KinkCrossingError:
                crossings[dtype, "directional"] += 1
    return rec, crossings, ratios


def table_worst(rec) -> dict:
    """``{(dtype, kind): worst err / (atol + rtol·scale)}`` from :func:`measure`'s first dict."""
    out = {}
    for (dtype, kind), rows in rec.items():
        tol = TOLERANCES[dtype][kind]
        err, scale = np.array(rows).T
        out[dtype, kind] = float(np.max(err / (tol.atol + tol.rtol * scale)))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nets", type=int, default=200)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--regime", choices=["mixed", "harsh"], default="mixed",
                    help="mixed: weight scales 0.1-2 (default); harsh: W and b from N(0, 2²)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    rec, crossings, ratios = measure(args.nets, args.seed, args.regime)
    print(f"{args.nets} nets, regime {args.regime}, seed {args.seed}, {time.perf_counter() - t0:.0f} s")
    for (dtype, kind), rows in sorted(rec.items()):
        tol = TOLERANCES[dtype][kind]
        err, scale = np.array(rows).T
        ratio = err / (tol.atol + tol.rtol * scale)
        k = int(np.argmax(ratio))
        print(f"{dtype} {kind:13s} rtol {tol.rtol:.0e} atol {tol.atol:.0e}: worst {ratio[k]:.3f} of bound "
              f"(err {err[k]:.1e} at leaf scale {scale[k]:.1e}), p99.9 {np.quantile(ratio, 0.999):.3f}, "
              f"median relative {np.median(err / np.maximum(scale, 1e-300)):.1e}, "
              f"{len(rows)} leaves, {crossings.get((dtype, kind), 0)} nets crossed a kink")
    print(f"per-entry rounding bound (safety 1; compare uses BOUND_SAFETY = {BOUND_SAFETY:g}):")
    for (dtype, pair), rows in sorted(ratios.items()):
        r = np.array(rows)
        print(f"{dtype} {pair:24s} worst {r.max():.3f}, p99.9 {np.quantile(r, 0.999):.3f}, "
              f"median {np.median(r):.3f}, {len(r)} leaves")


if __name__ == "__main__":
    main()
