#!/usr/bin/env python3
"""Benchmark manual_bp.gradients against jax.jit(jax.grad) and the BLAS floor, and whole checks against peers.

    python scripts/bench.py [--json] [--quick] [--sizes tiny-b8,medium] [--dtypes float64]
                            [--budget SECONDS] [--no-torch] [--update-docs]
    python scripts/bench.py --checks [--json] [--sizes tiny,medium] [--budget SECONDS]
                            [--no-torch] [--gradcheck-cap SECONDS] [--update-docs]
    python scripts/bench.py --suite [--json] [--update-docs]

``--suite`` times the whole test suite twice, ``python -m pytest`` (the default
``ci`` profile) and ``HYPOTHESIS_PROFILE=dev python -m pytest``, each in a fresh
process, and reads the architectures it cross-checked from its summary.

With ``--checks`` or ``--suite``, ``--update-docs`` also writes a short summary
into the README's Performance section (``<!-- bench checks-summary -->`` and
``<!-- bench suite -->``).

``--update-docs`` writes the table into ``docs/performance.md`` between
``<!-- bench KEY -->`` and ``<!-- /bench KEY -->`` (KEY names the kind of table
and the BLAS kernels; the file and the markers are created when missing).

Checks (``--checks``, float64, sizes :data:`CHECK_DEFAULT` of :data:`CHECK_CASES`): the time of one
complete check of a correct gradient, warm (median, checkers interleaved round
by round) and at the first call for the architecture (compilation included):

- ``deltacheck``: ``reference.check_gradients(manual_bp.gradients, ...)`` with
  its default oracles, the report text formatted;
- ``jax_check_grads``: ``jax.test_util.check_grads(f, (params,), order=1,
  modes=["rev"])`` on the reference loss;
- ``torch_gradcheck`` / ``torch_gradcheck_fast`` (when torch is installed):
  ``torch.autograd.gradcheck`` on the same network in torch, default and
  ``fast_mode=True``.  The default takes two forward passes per parameter; it
  is not run where that is estimated above ``--gradcheck-cap`` seconds.

Each row says what each checker compares (oracles, entries or directions) and
whether it passed the correct gradient: a failure there is a false failure
(jax's fixed 1e-4 step crosses relu kinks).

Gradients (the default): for each size and dtype, three (four with torch installed) gradient
computations of the same network on the same arrays are timed, interleaved
round by round so that a disturbance hits them all alike:

- ``manual``: ``manual_bp.gradients(net, params, x, y)``, validation included;
- ``jax``: ``jax.jit(jax.grad(L))`` of the reference model
  (``reference.model.loss_xp`` over ``jax.numpy``, under
  ``jax.enable_x64(dtype == float64)``), inputs already on the device, each
  call ended by ``block_until_ready``; compilation is excluded from the
  median and reported separately (first call minus the median);
- ``floor``: only the matrix products backprop cannot avoid, on the same
  arrays: ``a_{l-1} @ W_l`` and ``a_{l-1}.T @ δ_l`` for every layer and
  ``δ_l @ W_l.T`` for every layer but the first;
- ``torch`` (only when PyTorch is importable): ``torch.autograd.grad`` of the
  same network, as an extra column.  Timed after the others rather than
  interleaved with them: its OpenMP threads keep spinning after each call
  and would slow whichever library ran next on a 2-core machine.

Each sample is one untimed call (so a library's thread pool is awake) then
``number`` back-to-back timed calls (enough for a few milliseconds, 20 ms in
a full run), divided by ``number``; the table shows the median over the
samples and the spread as the interquartile range relative to the median.

Memory: the peak of ``tracemalloc`` during ``gradients`` beyond its inputs
and outputs, against the lower bound of one activation and one delta
(``n_batch × n_l`` each) per layer.  Because the outputs only come into
existence after the backward pass, "beyond the outputs" is the larger of
(peak of ``gradients``) − (its outputs) and the peak of ``deltas`` (the same
forward and backward passes, whose returned deltas are extra for
``gradients``).

``--quick`` runs the tiny sizes only with a small budget (what the test suite
uses); ``--json`` prints a list of rows, one per size and dtype.
"""
from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
from datetime import date
from pathlib import Path
from typing import NamedTuple

# torch's OpenMP threads otherwise keep spinning after each call and slow
# whichever library runs next on a small machine (a 4-3-3 forward took 24 ms
# instead of 28 µs with the machine busy); must be set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import ArgParser, int_at_least, positive_float  # noqa: E402


class Case(NamedTuple):
    sizes: tuple
    batch: int
    activations: tuple
    loss: str
    reduction: str = "sum"
    half: bool = False

    def describe(self) -> str:
        return f"{'-'.join(map(str, self.sizes))} {','.join(self.activations)} {self.loss} b{self.batch}"


#: Document 000's classifier at batch 1 and 8; an MNIST-shaped sigmoid net
#: (the documents' activation and the costliest elementwise work); a wide
#: tanh regressor.
CASES = {
    "tiny-b1": Case((4, 3, 3), 1, ("sigmoid", "softmax"), "cross_entropy"),
    "tiny-b8": Case((4, 3, 3), 8, ("sigmoid", "softmax"), "cross_entropy"),
    "small": Case((32, 64, 64, 10), 64, ("relu", "tanh", "softmax"), "cross_entropy"),
    "medium": Case((784, 512, 512, 10), 256, ("sigmoid", "sigmoid", "softmax"), "cross_entropy"),
    "large": Case((1024, 2048, 2048, 2048, 1024), 1024, ("tanh", "tanh", "tanh", "identity"),
                  "squared_error", reduction="mean", half=True),
}
QUICK_SIZES = ("tiny-b1", "tiny-b8")
DTYPES = ("float64", "float32")


# ---------------------------------------------------------------------------
# The problems and the functions timed on them
# ---------------------------------------------------------------------------

def make_problem(case: Case, dtype, seed: int = 0):
    """``(net, params, x, y_manual, y_rows)``: class labels for manual_bp, one-hot rows for JAX."""
    import numpy as np

    import manual_bp as bp

    net = bp.Network(case.sizes, case.activations, case.loss, reduction=case.reduction, half=case.half)
    params = bp.init_params(net, seed=seed, dtype=dtype)
    rng = np.random.default_rng(seed + 1)
    x = rng.normal(size=(case.batch, case.sizes[0])).astype(dtype)
    n_out = case.sizes[-1]
    if case.loss == "cross_entropy":
        y = rng.integers(0, n_out, case.batch)
        rows = np.eye(n_out, dtype=dtype)[y]
    else:
        y = rows = rng.normal(size=(case.batch, n_out)).astype(dtype)
    return net, params, x, y, rows


def floor_fn(net, params, x, y):
    """Only the matrix products of backprop, on arrays of the real shapes and values."""
    import manual_bp as bp

    _, as_ = bp.forward(net, params, x)
    ds = bp.deltas(net, params, x, y)
    Ws = [W for W, _ in params]
    inputs = as_[:-1]

    def floor():
        for a, W in zip(inputs, Ws):
            a @ W                       # forward: z_l
        for a, d in zip(inputs, ds):
            a.T @ d                     # dW_l
        for d, W in zip(ds[1:], Ws[1:]):
            d @ W.T                     # δ_{l-1} before f'

    return floor


def jax_fn(net, params, x, rows, dtype):
    """``(call, first_call_seconds)`` for jit(grad) of the reference model; call inside x64 scope."""
    import jax
    import jax.numpy as jnp

    from reference._spec import spec_of
    from reference.model import loss_xp

    spec = spec_of(net)
    grad = jax.jit(jax.grad(lambda p, xx, yy: loss_xp(jnp, spec, p, xx, yy)))
    jp, jx, jy = jax.device_put((params, x, rows))
    t0 = time.perf_counter()
    out = jax.block_until_ready(grad(jp, jx, jy))
    first = time.perf_counter() - t0
    assert out[0][0].dtype == dtype, (out[0][0].dtype, dtype)

    def call():
        jax.block_until_ready(grad(jp, jx, jy))

    return call, first


def torch_loss(net, params, x, rows):
    """``(loss(*leaves), leaves)``: the network in torch (float64 if params are), or None without torch.

    ``leaves`` are the parameters as torch tensors requiring grad (W_1, b_1,
    W_2, ...; views of the NumPy arrays) and ``loss`` the total loss as a
    function of them, for ``torch.autograd.grad`` and ``torch.autograd.gradcheck``.
    """
    try:
        import torch
    except ImportError:
        return None
    import torch.nn.functional as F

    has_b = [b is not None for _, b in params]
    leaves = [torch.from_numpy(v).requires_grad_() for W, b in params for v in (W, b) if v is not None]
    tx, ty = torch.from_numpy(x), torch.from_numpy(rows)
    fs = {"identity": lambda z: z, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
          "softmax": lambda z: torch.softmax(z, dim=1)}
    scale = (0.5 if net.half else 1.0) / (x.shape[0] if net.reduction == "mean" else 1)
    last = net.n_layers - 1

    def loss(*ps):
        a, i = tx, 0
        for l, act in enumerate(net.activations):
            W, b = ps[i], (ps[i + 1] if has_b[l] else None)
            i += 1 + has_b[l]
            z = a @ W if b is None else torch.addmm(b, a, W)
            if l < last or net.loss == "squared_error":
                a = fs[act.name](z)
        if net.loss == "squared_error":
            total = ((a - ty) ** 2).sum()
        elif net.loss == "cross_entropy":
            total = F.cross_entropy(z, ty, reduction="sum")
        else:
            total = F.binary_cross_entropy_with_logits(z, ty, reduction="sum")
        return scale * total

    return loss, leaves


def torch_fn(net, params, x, rows):
    """``torch.autograd.grad`` of the same network, or None when torch is not installed."""
    made = torch_loss(net, params, x, rows)
    if made is None:
        return None
    import torch

    loss, leaves = made

    def call():
        torch.autograd.grad(loss(*leaves), leaves)

    return call


# ---------------------------------------------------------------------------
# Timing and memory
# ---------------------------------------------------------------------------

def _calls_per_sample(fn, min_sample_s: float) -> tuple[int, float]:
    """``(number, seconds)``: back-to-back calls so one sample lasts at least ``min_sample_s``."""
    number = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_sample_s or number >= 1 << 20:
            return number, dt
        number = max(number * 2, int(number * 1.2 * min_sample_s / max(dt, 1e-9)))


def time_interleaved(fns: dict, *, budget_s: float, min_repeats: int, max_repeats: int,
                     min_sample_s: float) -> dict:
    """Per function: ``{"samples": [seconds per call, ...], "number": calls per sample}``.

    Warm-up and calibration first; then rounds in which every function takes
    one sample, the order rotating each round.  Rounds continue until the
    budget is spent (at least ``min_repeats``, at most ``max_repeats``).
    """
    names = list(fns)
    numbers = {}
    t_round = 0.0
    for name in names:  # warm-up doubles as calibration
        fns[name]()
        numbers[name], t_sample = _calls_per_sample(fns[name], min_sample_s)
        t_round += t_sample
    repeats = int(min(max_repeats, max(min_repeats, budget_s / max(t_round, 1e-9))))
    samples = {name: [] for name in names}
    gc.collect()
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for r in range(repeats):
            for name in names[r % len(names):] + names[: r % len(names)]:
                fn, number = fns[name], numbers[name]
                fn()
                t0 = time.perf_counter()
                for _ in range(number):
                    fn()
                samples[name].append((time.perf_counter() - t0) / number)
    finally:
        if gc_was:
            gc.enable()
    return {name: {"samples": samples[name], "number": numbers[name]} for name in names}


def summary(samples) -> dict:
    q1, median, q3 = statistics.quantiles(samples, n=4, method="inclusive")
    return {"median": statistics.median(samples), "q1": q1, "q3": q3, "min": min(samples)}


def peak_extra_memory(net, params, x, y) -> int:
    """Bytes ``gradients`` allocates beyond its inputs and outputs at its peak (see module doc)."""
    import manual_bp as bp

    def peak_of(fn):
        gc.collect()
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            out = fn()
            peak = tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()
        return peak, out

    peak_g, grads = peak_of(lambda: bp.gradients(net, params, x, y))
    out_bytes = sum(a.nbytes for pair in grads for a in pair if a is not None)
    del grads
    peak_d, _ = peak_of(lambda: bp.deltas(net, params, x, y))
    return max(peak_g - out_bytes, peak_d)


def memory_lower_bound(case: Case, itemsize: int) -> int:
    """One activation and one delta, ``n_batch × n_l``, per layer."""
    return 2 * case.batch * sum(case.sizes[1:]) * itemsize


# ---------------------------------------------------------------------------
# One row
# ---------------------------------------------------------------------------

def bench_case(size: str, dtype_name: str, *, quick: bool, budget_s: float, use_torch: bool) -> dict:
    import jax
    import numpy as np

    case = CASES[size]
    dtype = np.dtype(dtype_name)
    net, params, x, y, rows = make_problem(case, dtype)
    import manual_bp as bp

    with jax.enable_x64(dtype == np.float64):
        jax_call, jax_first = jax_fn(net, params, x, rows, dtype)
        fns = {
            "manual": lambda: bp.gradients(net, params, x, y),
            "floor": floor_fn(net, params, x, y),
            "jax": jax_call,
        }
        how = dict(budget_s=budget_s, min_repeats=5 if quick else 9, max_repeats=31 if quick else 301,
                   min_sample_s=0.002 if quick else 0.02)
        timings = time_interleaved(fns, **how)
    torch_call = torch_fn(net, params, x, rows) if use_torch else None
    if torch_call is not None:
        timings.update(time_interleaved({"torch": torch_call}, **how))
    stats = {name: summary(t["samples"]) for name, t in timings.items()}
    floor = stats["floor"]["median"]
    row = {
        "size": size,
        "dtype": dtype_name,
        "network": case.describe(),
        "manual_s": stats["manual"]["median"],
        "jax_s": stats["jax"]["median"],
        "floor_s": floor,
        "torch_s": stats["torch"]["median"] if "torch" in stats else None,
        "jax_compile_s": max(0.0, jax_first - stats["jax"]["median"]),
        "manual_over_floor": stats["manual"]["median"] / floor,
        "jax_over_floor": stats["jax"]["median"] / floor,
        "manual_over_jax": stats["manual"]["median"] / stats["jax"]["median"],
        "torch_over_floor": stats["torch"]["median"] / floor if "torch" in stats else None,
        # Interquartile range relative to the median, and the raw quartiles.
        "spread": {name: (s["q3"] - s["q1"]) / s["median"] for name, s in stats.items()},
        "quartiles_s": {name: [s["q1"], s["q3"]] for name, s in stats.items()},
        "repeats": len(timings["manual"]["samples"]),
        "calls_per_sample": {name: t["number"] for name, t in timings.items()},
    }
    extra = peak_extra_memory(net, params, x, y)
    bound = memory_lower_bound(case, dtype.itemsize)
    row.update(mem_extra_bytes=extra, mem_bound_bytes=bound, mem_ratio=extra / bound)
    return row


# ---------------------------------------------------------------------------
# Checks: one complete deltacheck check against the peers' gradient checkers
# ---------------------------------------------------------------------------

#: The networks of ``--checks`` (float64): document 000's classifier, a small
#: net in a smooth and a kinked variant (relu is where a fixed finite-difference
#: step crosses kinks), an MNIST-shaped net.
CHECK_CASES = {
    "tiny": Case((4, 3, 3), 8, ("sigmoid", "softmax"), "cross_entropy"),
    "small-tanh": Case((32, 64, 64, 10), 64, ("tanh", "tanh", "softmax"), "cross_entropy"),
    "small-relu": Case((32, 64, 64, 10), 64, ("relu", "relu", "softmax"), "cross_entropy"),
    "medium": Case((784, 512, 512, 10), 256, ("sigmoid", "sigmoid", "softmax"), "cross_entropy"),
    # Not in the default run (issue 12's sizes): relu's rarely active units make the first, partial
    # rounding bound take more rows (reference/comparison.py, _bound_rows).
    "medium-relu": Case((784, 512, 512, 10), 256, ("relu", "relu", "softmax"), "cross_entropy"),
}
#: What ``--checks`` runs unless ``--sizes`` says otherwise.
CHECK_DEFAULT = ("tiny", "small-tanh", "small-relu", "medium")
CHECKERS = ("deltacheck", "jax_check_grads", "torch_gradcheck", "torch_gradcheck_fast")
#: torch.autograd.gradcheck's default mode takes two forward passes per parameter;
#: above this many estimated seconds per call it is not run (its row says so).
GRADCHECK_CAP_S = 10.0


def _deltacheck(net, params, x, y):
    """One complete check of manual_bp: ``reference.check_gradients`` with default oracles, report text included."""
    import manual_bp as bp
    import reference

    state = {}

    def call():
        try:
            report = reference.check_gradients(bp.gradients, net, params, x, y)
        except AssertionError:
            return False
        state["report"] = report
        state["text"] = str(report)
        return True

    return call, state


def _describe_deltacheck(report, n_params: int) -> str:
    oracles = [o for o in report.oracles if o.status != "skipped"]
    if report.numerical == "per_parameter":
        numerical = f"per-parameter central differences ({2 * n_params} passes) and complex step ({n_params} passes)"
    elif report.directional is not None:
        k = report.directional.n_directions
        numerical = f"central differences along {k} random directions ({2 * k} passes)"
    else:
        numerical = "no numerical oracle"
    deltas = ("every layer's delta vs jax" if report.layers
              else "deltas only compared when the gradients disagree")
    taylor = ""
    if report.taylor is not None:
        where = ("1 direction over all parameters" if report.taylor.parameters is None
                 else "1 direction over all parameters and 1 per parameter")
        taylor = f"; Taylor test along {where} ({report.taylor.evaluations} loss evaluations)"
    return (f"manual_bp vs {len(oracles)} oracles: jax.grad on all {n_params} entries (each within its own "
            f"rounding bound), {numerical}{taylor}; {deltas}; report built and formatted")


def _jax_check_grads(net, params, x, rows):
    """``jax.test_util.check_grads(f, (params,), order=1, modes=["rev"])`` on the reference loss."""
    import jax
    import jax.numpy as jnp
    from jax.test_util import check_grads

    from reference._spec import spec_of
    from reference.model import loss_xp

    spec = spec_of(net)
    jx, jy, jp = jax.device_put((x, rows, params))

    def f(p):
        return loss_xp(jnp, spec, p, jx, jy)

    def call():
        try:
            check_grads(f, (jp,), order=1, modes=["rev"])
        except AssertionError:
            return False
        return True

    return call


def _torch_gradcheck(net, params, x, rows, *, fast: bool):
    """``torch.autograd.gradcheck`` (default or ``fast_mode=True``) of the torch twin, or None."""
    made = torch_loss(net, params, x, rows)
    if made is None:
        return None
    from torch.autograd import gradcheck

    loss, leaves = made

    def call():
        try:
            return bool(gradcheck(loss, leaves, fast_mode=fast))
        except RuntimeError:  # GradcheckError: numerical and analytical Jacobians differ
            return False

    return call


def _torch_forward_s(net, params, x, rows) -> float:
    """Median seconds of one torch forward pass (no grad), to estimate the default gradcheck's cost."""
    import torch

    loss, leaves = torch_loss(net, params, x, rows)
    with torch.no_grad():
        loss(*leaves)
        times = []
        for _ in range(7):
            t0 = time.perf_counter()
            loss(*leaves)
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _first_call(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def bench_checks_case(size: str, *, budget_s: float, use_torch: bool, gradcheck_cap_s: float = GRADCHECK_CAP_S,
                      quick: bool = False) -> dict:
    """One ``--checks`` row: warm median and first call of every checker on one float64 network."""
    import jax
    import numpy as np

    case = CHECK_CASES[size]
    net, params, x, y, rows = make_problem(case, np.float64)
    n_params = sum(W.size + (0 if b is None else b.size) for W, b in params)
    calls, firsts, passed, what, skipped = {}, {}, {}, {}, {}
    with jax.enable_x64(True):
        dc, dc_state = _deltacheck(net, params, x, y)
        passed["deltacheck"], firsts["deltacheck"] = _first_call(dc)
        calls["deltacheck"] = dc
        what["deltacheck"] = (_describe_deltacheck(dc_state["report"], n_params) if "report" in dc_state
                              else "manual_bp vs jax.grad and numerical oracles")
        jc = _jax_check_grads(net, params, x, rows)
        passed["jax_check_grads"], firsts["jax_check_grads"] = _first_call(jc)
        calls["jax_check_grads"] = jc
        what["jax_check_grads"] = ("JAX's own VJP vs 1 oracle: central differences (eps 1e-4) along 1 random "
                                   "direction (2 passes); checks jax.grad, not a hand derivation")
        if use_torch and torch_loss(net, params, x, rows) is not None:
            est = 2 * n_params * _torch_forward_s(net, params, x, rows)
            if est <= gradcheck_cap_s:
                tg = _torch_gradcheck(net, params, x, rows, fast=False)
                passed["torch_gradcheck"], firsts["torch_gradcheck"] = _first_call(tg)
                calls["torch_gradcheck"] = tg
            else:
                skipped["torch_gradcheck"] = f"not run: 2 x {n_params} forward passes, estimated {est:.0f} s per call"
            what["torch_gradcheck"] = (f"torch autograd vs 1 oracle: central differences (eps 1e-6) of every one "
                                       f"of the {n_params} entries ({2 * n_params} passes)")
            tf = _torch_gradcheck(net, params, x, rows, fast=True)
            passed["torch_gradcheck_fast"], firsts["torch_gradcheck_fast"] = _first_call(tf)
            calls["torch_gradcheck_fast"] = tf
            n_tensors = len(torch_loss(net, params, x, rows)[1])
            what["torch_gradcheck_fast"] = (f"torch autograd vs 1 oracle: central differences (eps 1e-6) along 1 "
                                            f"random direction per parameter tensor ({2 * n_tensors} passes)")
        how = dict(budget_s=budget_s, min_repeats=3, max_repeats=15 if quick else 101,
                   min_sample_s=0.001 if quick else 0.01)
        timings = time_interleaved(calls, **how)
    medians = {name: statistics.median(t["samples"]) for name, t in timings.items()}
    row = {"size": size, "dtype": "float64", "network": case.describe(), "n_params": n_params}
    for name in CHECKERS:
        row[f"{name}_s"] = medians.get(name)
    for name in CHECKERS:
        # The first call at this architecture: compilation, caches and the check itself.
        row[f"{name}_first_s"] = firsts.get(name)
    row["passed"] = {name: passed.get(name) for name in CHECKERS}
    row["checks"] = what
    row["skipped"] = skipped
    row["repeats"] = {name: len(t["samples"]) for name, t in timings.items()}
    peers = [medians[n] for n in CHECKERS[1:] if n in medians]
    row["deltacheck_over_fastest_peer"] = medians["deltacheck"] / min(peers) if peers else None
    return row


def _warm_up_jax() -> None:
    """Start JAX's backend once, so the first case's first call is not charged for it."""
    import jax
    import jax.numpy as jnp

    with jax.enable_x64(True):
        jax.block_until_ready(jax.jit(lambda v: v * 2)(jnp.ones(3)))


#: The targets of the check work (issue 12).
TARGET_FIRST_CALL_S = 1.0


def checks_target_lines(rows) -> list[str]:
    checks = [
        ("warm deltacheck check <= the fastest peer", rows,
         lambda r: r["deltacheck_over_fastest_peer"] is None or r["deltacheck_over_fastest_peer"] <= 1.0),
        (f"deltacheck first call at a new architecture < {TARGET_FIRST_CALL_S:g} s", rows,
         lambda r: r["deltacheck_first_s"] < TARGET_FIRST_CALL_S),
        ("deltacheck passes the correct gradient", rows, lambda r: r["passed"]["deltacheck"]),
    ]
    lines = []
    for what, subset, ok in checks:
        missed = [r["size"] for r in subset if not ok(r)]
        lines.append(f"target {what}: " + ("met" if not missed else "MISSED at " + ", ".join(missed)))
    return lines


def _fmt_check(r, name: str) -> str:
    if r[f"{name}_s"] is None:
        return "not run" if name in r["skipped"] else "-"
    mark = "" if r["passed"][name] else " FALSE FAIL"
    return f"{_fmt_time(r[f'{name}_s'])}{mark}"


def checks_table(rows, env) -> str:
    names = [n for n in CHECKERS if any(r[f"{n}_s"] is not None or n in r["skipped"] for r in rows)]
    labels = {"deltacheck": "deltacheck", "jax_check_grads": "jax check_grads",
              "torch_gradcheck": "torch gradcheck", "torch_gradcheck_fast": "gradcheck fast"}
    head = ["size", "params"] + [labels[n] for n in names] + ["dc/fastest"] + [f"1st {labels[n]}" for n in names]
    out = []
    for r in rows:
        ratio = r["deltacheck_over_fastest_peer"]
        out.append([r["size"], str(r["n_params"])] + [_fmt_check(r, n) for n in names]
                   + ["-" if ratio is None else f"{ratio:.2f}"]
                   + [_fmt_time(r[f"{n}_first_s"]) for n in names])
    widths = [max(len(str(c)) for c in col) for col in zip(head, *out)]
    fmt = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    lines = [_env_line(env), "", fmt(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += [fmt(cells) for cells in out]
    lines += ["", "networks (float64): " + "; ".join(f"{r['size']} {r['network']}" for r in rows)]
    lines.append("times are warm medians of one complete check, interleaved round by round; 1st = the first "
                 "call at that architecture (compilation included); FALSE FAIL = the checker rejected a "
                 "correct gradient")
    lines.append("what each checks (sizes sharing a description listed together):")
    for n in names:
        by_text: dict = {}
        for r in rows:
            if n in r["checks"]:
                by_text.setdefault(r["checks"][n], []).append(r["size"])
        for text, sizes in by_text.items():
            lines.append(f"  {labels[n]} ({', '.join(sizes)}): {text}")
    for r in rows:
        for n, why in r["skipped"].items():
            lines.append(f"  {labels[n]} at {r['size']}: {why}")
    lines += [""] + checks_target_lines(rows)
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Environment and output
# ---------------------------------------------------------------------------

def _openblas_core() -> str | None:
    """The kernel set OpenBLAS runs (the CPU's own, or what ``OPENBLAS_CORETYPE`` forces), if findable."""
    import ctypes

    import numpy as np

    libs = sorted((Path(np.__file__).parent.parent / "numpy.libs").glob("*openblas*"))  # numpy's wheels
    for lib in libs:
        try:
            handle = ctypes.CDLL(str(lib))
        except OSError:
            continue
        for symbol in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename",
                       "openblas_get_corename64_", "openblas_get_corename"):
            fn = getattr(handle, symbol, None)
            if fn is not None:
                fn.restype = ctypes.c_char_p
                return fn().decode()
    return None


def _has_avx512() -> bool | None:
    """Whether the CPU has AVX-512F (OpenBLAS's SkylakeX/Cooperlake kernels need it), if findable."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next(line for line in f if line.startswith("flags"))
    except (OSError, StopIteration):
        return None
    return "avx512f" in flags.split()


def _threadpool_text() -> str | None:
    """BLAS libraries, kernel architecture and thread counts as threadpoolctl sees them (optional)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return "; ".join(f"{i.get('internal_api')} {i.get('architecture', '?')} x{i.get('num_threads')}"
                     for i in threadpool_info() if i.get("user_api") == "blas") or None


def environment() -> dict:
    import jax
    import jaxlib
    import numpy as np

    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:  # the installed version, without importing torch (~2 s)
        from importlib.metadata import PackageNotFoundError, version

        torch_version = version("torch")
    except PackageNotFoundError:
        torch_version = None
    try:  # other work on the machine shows up here: rerun when it is not near 0
        with open("/proc/loadavg") as f:
            load = float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        load = None
    return {
        "date": date.today().isoformat(),
        "cpu": cpu,
        "avx512": _has_avx512(),
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": f"{blas.get('name')} {blas.get('version')}",
        # OpenBLAS picks its kernels for the CPU unless OPENBLAS_CORETYPE names
        # older ones; on an AVX-512 CPU told "Haswell" its products run ~1.6x slower.
        "blas_core": _openblas_core(),
        "blas_coretype_env": os.environ.get("OPENBLAS_CORETYPE"),
        "blas_threads": _threadpool_text(),
        "blas_threads_env": os.environ.get("OPENBLAS_NUM_THREADS"),
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "torch": torch_version,
        "load_average": load,
    }


def _fmt_time(s) -> str:
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.3f} s"


def _core_text(env) -> str:
    core = f"core {env['blas_core'] or '?'}"
    forced = env["blas_coretype_env"]
    threads = env.get("blas_threads_env")
    return (core + (f", forced by OPENBLAS_CORETYPE={forced}" if forced else ", OPENBLAS_CORETYPE unset")
            + (f", OPENBLAS_NUM_THREADS={threads}" if threads else ""))


#: The targets of the speed work (issue 5), checked on every printed table.
TARGET_FLOOR_RATIO = 1.25   # manual/floor at medium and large
TARGET_TINY_B8_S = 25e-6    # manual at tiny-b8
TARGET_MEMORY_RATIO = 1.5   # peak extra memory over the lower bound, at medium and large


def target_lines(rows) -> list[str]:
    """One line per target: met or not, with the rows that miss it."""
    big = [r for r in rows if r["size"] in ("medium", "large")]
    checks = [
        (f"manual <= {TARGET_FLOOR_RATIO}x floor at medium and large", big,
         lambda r: r["manual_over_floor"] <= TARGET_FLOOR_RATIO),
        ("manual at least as fast as jax.jit(jax.grad) (tiny-b1 excepted, see below)",
         [r for r in rows if r["size"] != "tiny-b1"], lambda r: r["manual_over_jax"] <= 1.0),
        (f"tiny-b8 <= {TARGET_TINY_B8_S * 1e6:.0f} µs", [r for r in rows if r["size"] == "tiny-b8"],
         lambda r: r["manual_s"] <= TARGET_TINY_B8_S),
        (f"peak extra memory <= {TARGET_MEMORY_RATIO}x the bound at medium and large", big,
         lambda r: r["mem_ratio"] <= TARGET_MEMORY_RATIO),
    ]
    lines = []
    for what, subset, ok in checks:
        if not subset:
            continue
        missed = [f"{r['size']} {r['dtype']}" for r in subset if not ok(r)]
        lines.append(f"target {what}: " + ("met" if not missed else "MISSED at " + ", ".join(missed)))
    if any(r["size"] == "tiny-b1" for r in rows):
        lines.append(TINY_B1_NOTE)
    return lines


#: Why tiny-b1 against jax.jit is no target (issue 12).
TINY_B1_NOTE = ("not a target: tiny-b1 against jax.jit(jax.grad). At one sample of a 4-3-3 net NumPy's "
                "per-call cost decides it, not our code: a straight-line NumPy gradient with no validation "
                "took 13.4 µs against JAX's 10.8 µs.")


def _env_line(env) -> str:
    avx = {True: ", AVX-512", False: ", no AVX-512", None: ""}[env.get("avx512")]
    threads = f"; threadpoolctl: {env['blas_threads']}" if env.get("blas_threads") else ""
    return (f"date {env['date']}; {env['nproc']} × {env['cpu']}{avx}; Python {env['python']}; "
            f"numpy {env['numpy']} ({env['blas']}, {_core_text(env)}{threads}); "
            f"jax {env['jax']} (jaxlib {env['jaxlib']})"
            + (f"; torch {env['torch']}" if env["torch"] else "")
            + (f"; load average {env['load_average']:.2f} at start" if env["load_average"] is not None else "")
            + ("; reference.keep_freed_memory() called first" if env.get("keep_freed_memory") else ""))


def table(rows, env) -> str:
    has_torch = any(r["torch_s"] is not None for r in rows)
    lines = [_env_line(env), ""]
    head = ["size", "dtype", "manual", "floor", "jax", "manual/floor", "jax/floor", "manual/jax",
            "jax compile", "spread m/f/j", "memory"]
    if has_torch:
        head[5:5] = ["torch", "torch/floor"]
    out = []
    for r in rows:
        spread = "/".join(f"{100 * r['spread'][k]:.0f}%" for k in ("manual", "floor", "jax"))
        cells = [r["size"], r["dtype"], _fmt_time(r["manual_s"]), _fmt_time(r["floor_s"]), _fmt_time(r["jax_s"]),
                 f"{r['manual_over_floor']:.2f}", f"{r['jax_over_floor']:.2f}", f"{r['manual_over_jax']:.2f}",
                 _fmt_time(r["jax_compile_s"]), spread, f"{r['mem_ratio']:.2f}"]
        if has_torch:
            cells[5:5] = [_fmt_time(r["torch_s"]),
                          "-" if r["torch_over_floor"] is None else f"{r['torch_over_floor']:.2f}"]
        out.append(cells)
    widths = [max(len(str(c)) for c in col) for col in zip(head, *out)]
    fmt = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    lines += [fmt(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += [fmt(cells) for cells in out]
    lines += ["", "networks: " + "; ".join(f"{k} {c.describe()}" for k, c in CASES.items()
                                         if k in {r['size'] for r in rows})]
    lines.append("times are medians; spread is the interquartile range over the median (manual/floor/jax); "
                 "memory is gradients' peak extra bytes over one activation and one delta per layer")
    lines += [""] + target_lines(rows)
    return "\n".join(lines)


PERFORMANCE_DOC = Path(__file__).resolve().parents[1] / "docs" / "performance.md"
_DOC_HEAD = """# Performance

Measured by `scripts/bench.py` and written here by `--update-docs`, one table per
BLAS configuration (the kernels OpenBLAS runs decide the matrix-product floor).
Everything between a pair of `bench` markers is regenerated; text outside them is kept.
"""


def doc_key(env, kind: str = "gradients") -> str:
    """Which table of docs/performance.md a run belongs to: one per kind and BLAS configuration."""
    core = (env["blas_core"] or "unknown").lower()
    key = f"openblas-{core}" + ("-forced" if env["blas_coretype_env"] else "")
    if env.get("blas_threads_env"):
        key += f"-{env['blas_threads_env']}thread"
    if env.get("keep_freed_memory"):
        key += "-keep-freed-memory"
    return key if kind == "gradients" else f"{kind}-{key}"


def update_doc(path: Path, key: str, text: str, *, fence: bool = True, create: bool = True) -> None:
    """Replace what lies between ``<!-- bench KEY -->`` and ``<!-- /bench KEY -->`` with ``text``
    (in a ``text`` code fence unless ``fence=False``).

    With ``create``, a missing file is created with a heading and a key the file
    does not have yet gets a new pair of markers at the end.  Markers present but
    unpaired (one without the other, twice, or in the wrong order), or missing
    without ``create``, are an error: text a person wrote between them must not be
    overwritten by guesswork.
    """
    start, end = f"<!-- bench {key} -->", f"<!-- /bench {key} -->"
    doc = path.read_text() if path.exists() else _DOC_HEAD
    block = f"{start}\n```text\n{text}\n```\n{end}" if fence else f"{start}\n{text}\n{end}"
    if create and doc.count(start) == 0 and doc.count(end) == 0:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(doc.rstrip("\n") + f"\n\n{block}\n")
        return
    if doc.count(start) != 1 or doc.count(end) != 1 or doc.index(start) > doc.index(end):
        raise ValueError(f"{path.name} needs one '{start}' line and one '{end}' line after it "
                         "to receive this table")
    head, rest = doc.split(start)
    _, tail = rest.split(end)
    path.write_text(f"{head}{block}{tail}")


README = Path(__file__).resolve().parents[1] / "README.md"


def _machine_text(env) -> str:
    avx = {True: " (AVX-512)", False: " (AVX2)"}.get(env.get("avx512"), "")
    blas = f"OpenBLAS {env['blas_core'] or '?'} kernel"
    if env["blas_coretype_env"]:
        blas += f" (OPENBLAS_CORETYPE={env['blas_coretype_env']})"
    if env.get("blas_threads_env"):
        blas += f", OPENBLAS_NUM_THREADS={env['blas_threads_env']}"
    return f"{env['nproc']} × {env['cpu']}{avx}, {blas}"


def checks_summary(rows, env) -> str:
    """The README's short table: warm check times against the fastest peer, and the first call."""
    labels = {"jax_check_grads": "jax check_grads", "torch_gradcheck": "torch gradcheck",
              "torch_gradcheck_fast": "gradcheck fast"}
    lines = ["| network | deltacheck | fastest peer | first deltacheck call |", "|---|---|---|---|"]
    for r in rows:
        peers = {n: r[f"{n}_s"] for n in labels if r[f"{n}_s"] is not None}
        best = min(peers, key=peers.get) if peers else None
        peer = "-" if best is None else f"{_fmt_time(peers[best])} ({labels[best]})"
        false = [labels[n] for n in labels if r["passed"].get(n) is False]
        if false:
            peer += "; " + ", ".join(false) + " failed the correct gradient"
        case = CHECK_CASES[r["size"]]
        lines.append(f"| {r['size']} {'-'.join(map(str, case.sizes))} b{case.batch} | {_fmt_check(r, 'deltacheck')} | {peer} | "
                     f"{_fmt_time(r['deltacheck_first_s'])} |")
    return "\n".join(lines) + f"\n\n{env['date']}; {_machine_text(env)}; `python scripts/bench.py --checks`."


def run_suite() -> list[dict]:
    """Time ``python -m pytest`` under the default profile and under ``dev``, each in a fresh process."""
    import re
    import subprocess

    root = Path(__file__).resolve().parents[1]
    out = []
    for profile in ("ci", "dev"):
        env = dict(os.environ, HYPOTHESIS_PROFILE=profile)
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=root, env=env,
                              capture_output=True, text=True)
        wall = time.perf_counter() - t0
        text = done.stdout + done.stderr
        arch = {dt: int(n.replace(",", "")) for dt, n in
                re.findall(r"jax\.grad \((float\d+)\): ([\d,]+) distinct architectures", text)}
        tail = [line for line in text.splitlines() if re.search(r"\d+ (passed|failed)", line)]
        out.append({"profile": profile, "wall_s": wall, "exit": done.returncode, "load_before": load,
                    "summary": tail[-1].strip("= ") if tail else "", "architectures": arch})
    return out


def suite_summary(rows, env) -> str:
    import re

    parts = []
    for r in rows:
        name = "`python -m pytest`" if r["profile"] == "ci" else "`HYPOTHESIS_PROFILE=dev python -m pytest`"
        arch = ", ".join(f"{n:,} {dt}" for dt, n in sorted(r["architectures"].items(), reverse=True))
        load = "" if r["load_before"] is None else f", load {r['load_before']:.1f} before"
        # pytest's own summary, whole ("1 failed, 830 passed" must not read as a pass), without the timing.
        said = re.sub(r"\s+in [\d.]+s.*$", "", r["summary"]) or f"exit {r['exit']}"
        parts.append(f"{name}: {r['wall_s']:.0f} s ({said}{load}"
                     + (f"; cross-checked {arch} architectures" if arch else "") + ")")
    return ("- " + "\n- ".join(parts) + f"\n\n{env['date']}; {_machine_text(env)}; "
            "`python scripts/bench.py --suite`.")


def update_readme(key: str, text: str) -> None:
    """Replace the README block between ``<!-- bench KEY -->`` and ``<!-- /bench KEY -->`` (markdown, no fence)."""
    update_doc(README, key, text, fence=False, create=False)


def main(argv=None) -> int:
    parser = ArgParser(prog="bench.py", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    parser.add_argument("--checks", action="store_true",
                        help="time one complete deltacheck check against jax check_grads and torch gradcheck "
                             f"(sizes {','.join(CHECK_DEFAULT)}, float64) instead of the gradients")
    parser.add_argument("--suite", action="store_true",
                        help="time the whole test suite (default profile, then HYPOTHESIS_PROFILE=dev), each in "
                             "a fresh process")
    parser.add_argument("--quick", action="store_true", help="tiny sizes only, small budget (for CI)")
    parser.add_argument("--sizes", help=f"comma-separated subset of {','.join(CASES)} "
                                        f"(with --checks: of {','.join(CHECK_CASES)})")
    parser.add_argument("--dtypes", default=",".join(DTYPES), help="comma-separated float64,float32")
    parser.add_argument("--budget", type=positive_float, help="seconds of timing per size and dtype "
                        "(default 0.5 with --quick, else 8; with --checks 20)")
    parser.add_argument("--no-torch", action="store_true", help="skip the torch columns even if installed")
    parser.add_argument("--blas-threads", type=int_at_least(1),
                        help="OpenBLAS threads (sets OPENBLAS_NUM_THREADS before NumPy loads; default: "
                             "OpenBLAS's own, one per core). On a 2-core machine with other work running, "
                             "2 threads made a 784-512-512-10 gradient 7x slower than 1")
    parser.add_argument("--keep-freed-memory", action="store_true",
                        help="call reference.keep_freed_memory() first (glibc keeps freed memory instead of "
                             "faulting it in again on the next check: docs/performance.md)")
    parser.add_argument("--gradcheck-cap", type=positive_float, default=GRADCHECK_CAP_S,
                        help="with --checks: skip torch's default gradcheck where 2·n_params forward passes "
                             f"are estimated to take longer than this many seconds (default {GRADCHECK_CAP_S:g})")
    parser.add_argument("--update-docs", action="store_true",
                        help="also write the table into docs/performance.md, between the markers for this "
                             "kind and BLAS configuration (<!-- bench KEY --> ... <!-- /bench KEY -->), "
                             "created if missing")
    args = parser.parse_args(argv)
    if args.blas_threads is not None:
        if "numpy" in sys.modules:
            parser.error("--blas-threads must be set before NumPy loads (run bench.py as a script)")
        os.environ["OPENBLAS_NUM_THREADS"] = str(args.blas_threads)
    cases = CHECK_CASES if args.checks else CASES
    default_sizes = ("tiny",) if args.checks and args.quick else (
        QUICK_SIZES if args.quick else (CHECK_DEFAULT if args.checks else cases))
    sizes = args.sizes.split(",") if args.sizes else list(default_sizes)
    dtypes = args.dtypes.split(",")
    for s in sizes:
        if s not in cases:
            parser.error(f"unknown size {s!r}; choose from {','.join(cases)}")
    for d in dtypes:
        if d not in DTYPES:
            parser.error(f"unknown dtype {d!r}; choose from {','.join(DTYPES)}")
    if args.checks and dtypes != list(DTYPES) and dtypes != ["float64"]:
        parser.error("--checks compares float64 checkers only (torch gradcheck needs float64); drop --dtypes")
    budget = args.budget if args.budget is not None else (0.5 if args.quick else (20.0 if args.checks else 8.0))

    env = environment()
    if args.keep_freed_memory:
        import reference

        env["keep_freed_memory"] = reference.keep_freed_memory()
    rows = []
    if args.suite:
        rows = run_suite()
        text = suite_summary(rows, env)
        print(json.dumps(rows, indent=1) if args.json else text)
        if not all(r["exit"] == 0 for r in rows):
            print("bench.py: the suite failed; README.md left as it was", file=sys.stderr)
            return 1
        if args.update_docs:
            update_readme("suite", text)
            print("README.md: suite times updated", file=sys.stderr)
        return 0
    if args.checks:
        _warm_up_jax()
        for size in sizes:
            row = bench_checks_case(size, budget_s=budget, use_torch=not args.no_torch, quick=args.quick,
                                    gradcheck_cap_s=args.gradcheck_cap)
            row["env"] = env
            rows.append(row)
            if not args.json:
                print(f"  {size}: deltacheck {_fmt_time(row['deltacheck_s'])}, "
                      f"jax check_grads {_fmt_time(row['jax_check_grads_s'])}", file=sys.stderr, flush=True)
        text = checks_table(rows, env)
    else:
        for size in sizes:
            for dtype in dtypes:
                row = bench_case(size, dtype, quick=args.quick, budget_s=budget, use_torch=not args.no_torch)
                row["env"] = env
                rows.append(row)
                if not args.json:
                    print(f"  {size} {dtype}: manual/floor {row['manual_over_floor']:.2f}, "
                          f"manual/jax {row['manual_over_jax']:.2f}", file=sys.stderr, flush=True)
        text = table(rows, env)
    print(json.dumps(rows, indent=1) if args.json else text)
    if args.update_docs:
        key = doc_key(env, "checks" if args.checks else "gradients")
        try:
            update_doc(PERFORMANCE_DOC, key, text)
        except ValueError as exc:
            print(f"bench.py: {exc}", file=sys.stderr)
            return 2
        print(f"docs/performance.md: table '{key}' updated", file=sys.stderr)
        default_config = args.blas_threads is None and not args.keep_freed_memory
        if args.checks and set(sizes) == set(CHECK_DEFAULT) and default_config:
            # The README shows the default configuration only (BLAS's own thread count, glibc's own malloc).
            update_readme("checks-summary", checks_summary(rows, env))
            print("README.md: check summary updated", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
