"""Measured power of ``reference.check_gradients``: how small a mistake it catches, and how often it cries wolf.

    python scripts/power.py --problems 2000 --seed 1            (per dtype)
    python scripts/power.py --problems 10000 --no-plant         (false alarms only)

For each random problem (the suite's regime: depth 1-5, widths and batch
1-8, every activation/loss pairing of ``reference.strategies``, bias flags,
sum/mean, half, weights U(-1, 1)·s/√n_in with s in [0.1, 2], x in [-2, 2];
``--regime harsh`` draws weights and biases from N(0, 2²) instead, which
saturates sigmoid/tanh units), in float64 and float32:

* the right gradients (``manual_bp.gradients``) are checked with
  ``reference.check_gradients`` and its defaults: a failure is a false alarm;
* for each ε in ``--eps``, one parameter leaf of the right gradients is
  scaled by ``1 + ε`` (half the time the leaf with the smallest entries,
  otherwise a random leaf; all-zero leaves, where a scaling changes nothing,
  are never chosen) and checked the same way: a failure is a catch.

Anything other than AssertionError is counted as an error, never as a catch.
Prints one table per dtype: catch rate per ε, false alarms, problems, time.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import manual_bp  # noqa: E402
import reference  # noqa: E402
from manual_bp import Network  # noqa: E402
from manual_bp.activations import LeakyReLU, get_activation  # noqa: E402
from reference.tolerances import gradient_bound  # noqa: E402
from reference.strategies import HIDDEN_ACTIVATIONS, LEAKY_SLOPES, OUTPUT_ACTIVATIONS  # noqa: E402

DEFAULT_EPS = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10)


def _activation(rng, names):
    name = str(rng.choice(names))
    return LeakyReLU(float(rng.choice(LEAKY_SLOPES))) if name == "leaky_relu" else get_activation(name)


def random_problem(rng, dtype, regime: str = "suite"):
    """``(net, params, x, y)`` drawn like ``reference.strategies.problems`` (``regime="suite"``)
    or with weights and biases N(0, 2²) (``"harsh"``)."""
    depth = int(rng.integers(1, 6))
    sizes = [int(rng.integers(1, 9)) for _ in range(depth + 1)]
    loss = str(rng.choice(list(OUTPUT_ACTIVATIONS)))
    acts = [_activation(rng, HIDDEN_ACTIVATIONS) for _ in range(depth - 1)]
    acts.append(_activation(rng, OUTPUT_ACTIVATIONS[loss]))
    net = Network(sizes, acts, loss, reduction=str(rng.choice(["sum", "mean"])),
                  half=bool(loss == "squared_error" and rng.integers(2)),
                  bias=[bool(rng.integers(2)) for _ in range(depth)])
    params = []
    scale = rng.uniform(0.1, 2.0)
    for (w_shape, b_shape) in net.shapes():
        if regime == "harsh":
            W = rng.normal(0, 2.0, w_shape)
            b = rng.normal(0, 2.0, b_shape) if b_shape else None
        else:
            W = rng.uniform(-1, 1, w_shape) * (scale / np.sqrt(w_shape[0]))
            b = rng.uniform(-1, 1, b_shape) * scale if b_shape else None
        params.append((W.astype(dtype), None if b is None else b.astype(dtype)))
    n_batch = int(rng.integers(1, 9))
    x = rng.uniform(-2, 2, (n_batch, sizes[0])).astype(dtype)
    k = sizes[-1]
    if loss == "cross_entropy":
        y = rng.integers(0, k, n_batch) if rng.integers(2) else rng.dirichlet(np.ones(k), n_batch).astype(dtype)
    elif loss == "binary_cross_entropy":
        y = rng.uniform(0, 1, (n_batch, k)).astype(dtype)
    else:
        y = rng.normal(0, 1, (n_batch, k)).astype(dtype)
    return net, params, x, y


def _planted(grads, leaf: tuple, eps: float):
    """A copy of ``grads`` with leaf ``(layer, 0 for dW / 1 for db)`` scaled by ``1 + eps``."""
    out = [list(pair) for pair in grads]
    l, k = leaf
    out[l][k] = (out[l][k].astype(np.float64) * (1 + eps)).astype(out[l][k].dtype)
    return [tuple(pair) for pair in out]


def _choose_leaf(rng, grads, noise):
    """Half the time the leaf with the smallest largest-entry, else a random one.

    Never a leaf that is all rounding residue (every ``|g| <= noise``, the
    rounding-error scale of :func:`reference.tolerances.derivative_bounds`
    with safety 1): its true value is 0 (a width-1 softmax) or lost to
    cancellation, so scaling it is no mistake any exact comparison can see.
    Returns ``(leaf or None, smallest?, number of noise leaves skipped)``.
    """
    leaves, skipped = [], 0
    for l, pair in enumerate(grads):
        for k, g in enumerate(pair):
            if g is None or not g.size:
                continue
            if not (np.abs(g.astype(np.float64)) > noise[l][k]).any():
                skipped += 1
                continue
            leaves.append(((l, k), float(np.abs(g).max())))
    if not leaves:
        return None, False, skipped
    if rng.integers(2):
        return min(leaves, key=lambda t: t[1])[0], True, skipped
    return leaves[int(rng.integers(len(leaves)))][0], False, skipped


def _verdict(grads, net, params, x, y):
    """``(failed, oracles that disagree)``, or ``(None, [])`` on an error.

    ``reference.compare`` with its defaults, whose ``ok`` is exactly what
    ``check_gradients`` asserts; the report also says which oracle objected.
    """
    try:
        report = reference.compare(net, params, x, y, candidate=lambda *_: grads)
    except Exception as exc:  # noqa: BLE001 - counted and shown, never as a catch
        print(f"  error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return None, []
    return (not report.ok), [o.name for o in report.oracles if o.status == "disagree"]


def _fails(grads, net, params, x, y) -> bool | None:
    """True if check_gradients would raise AssertionError (caught), False if it passes, None on another error."""
    return _verdict(grads, net, params, x, y)[0]


def measure(dtype, n_problems: int, eps, seed: int, regime: str = "suite", verbose: bool = False) -> dict:
    """Catch counts per ε (all leaves / smallest leaf) and false alarms over ``n_problems`` problems."""
    rng = np.random.default_rng((seed, np.dtype(dtype).itemsize))
    caught = {e: 0 for e in eps}
    tried = {e: 0 for e in eps}
    caught_small = {e: 0 for e in eps}
    tried_small = {e: 0 for e in eps}
    false_alarms, errors, noise_leaves, t0 = 0, 0, 0, time.perf_counter()
    alarms = []
    for i in range(n_problems):
        net, params, x, y = random_problem(rng, dtype, regime)
        right = manual_bp.gradients(net, params, x, y)
        r, objecting = _verdict(right, net, params, x, y)
        if r is None:
            errors += 1
            continue
        if r:
            false_alarms += 1
            alarms.append(f"{net.describe()} batch {x.shape[0]} (problem {i}): {', '.join(objecting)} disagree")
            if verbose:
                print(f"  false alarm: {alarms[-1]}", file=sys.stderr)
        leaf, smallest, skipped = _choose_leaf(rng, right, gradient_bound(net, params, x, y, safety=1.0))
        noise_leaves += skipped
        if leaf is None:
            continue
        for e in eps:
            c = _fails(_planted(right, leaf, e), net, params, x, y)
            if c is None:
                errors += 1
                continue
            tried[e] += 1
            caught[e] += c
            if smallest:
                tried_small[e] += 1
                caught_small[e] += c
    return {"dtype": np.dtype(dtype).name, "problems": n_problems, "caught": caught, "tried": tried,
            "caught_small": caught_small, "tried_small": tried_small, "false_alarms": false_alarms,
            "alarms": alarms, "errors": errors, "noise_leaves": noise_leaves, "seconds": time.perf_counter() - t0}


def _table(res) -> str:
    lines = [f"{res['dtype']}: {res['problems']} problems, {res['false_alarms']} false alarms on right "
             f"gradients, {res['errors']} errors, {res['seconds']:.0f} s; {res['noise_leaves']} leaves at "
             "rounding level (or all zero) never planted",
             f"  {'ε':<8}{'caught':<16}{'rate':<9}{'smallest leaf':<16}rate"]
    for e in res["caught"]:
        c, t, cs, ts = res["caught"][e], res["tried"][e], res["caught_small"][e], res["tried_small"][e]
        lines.append(f"  {e:<8.0e}{f'{c}/{t}':<16}{c / max(t, 1):<9.4f}{f'{cs}/{ts}':<16}{cs / max(ts, 1):.4f}")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", type=int, default=500, help="random problems per dtype (default 500)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dtype", choices=["float64", "float32", "both"], default="both")
    ap.add_argument("--regime", choices=["suite", "harsh"], default="suite")
    ap.add_argument("--eps", type=float, nargs="*", default=list(DEFAULT_EPS),
                    help="relative errors to plant (default 1e-2 ... 1e-10)")
    ap.add_argument("--no-plant", action="store_true", help="only the false-alarm count")
    ap.add_argument("--verbose", action="store_true", help="name each false alarm as it happens")
    args = ap.parse_args(argv)
    if args.problems < 1:
        ap.error("--problems must be at least 1")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench import environment  # the one place that names the CPU and the BLAS kernels

    env = environment()
    print(f"{env['cpu']} ({env['nproc']} cores), {env['blas']} core {env['blas_core'] or '?'}"
          + (f" (OPENBLAS_CORETYPE={env['blas_coretype_env']})" if env["blas_coretype_env"] else "")
          + f", numpy {env['numpy']}, jax {env['jax']}; regime {args.regime}, seed {args.seed}")
    dtypes = ["float64", "float32"] if args.dtype == "both" else [args.dtype]
    eps = [] if args.no_plant else args.eps
    for dt in dtypes:
        res = measure(np.dtype(dt), args.problems, eps, args.seed, args.regime, args.verbose)
        print(_table(res), flush=True)
        for a in res["alarms"][:10]:
            print(f"  false alarm: {a}")


if __name__ == "__main__":
    main()
