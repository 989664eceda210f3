"""``deltacheck compare``: a candidate's gradients against jax.grad, central differences and the complex step.

The candidate is manual_bp unless ``--candidate module:function`` names the
user's own function (the ``manual_bp.gradients`` signature) or ``--grads
FILE`` holds another program's gradients.  Networks: the documents' networks
(default), one network from flags or ``--spec FILE.toml``, with random
parameters and data, or the parameters and data of ``--params``/``--data``
files (``reference.cli.files``).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from deltacheck._args import UsageError, load_function, load_module

__all__ = ["run"]

#: Options that describe one network: they need --sizes, --spec or --params.
_NETWORK_OPTIONS = ("activations", "loss", "reduction", "half", "no_bias", "l2", "init", "entries")
#: Output activation when --activations is not given.
_DEFAULT_OUTPUT = {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid"}
#: --entries prints every gradient entry; beyond this many it is not a table anyone reads.
_MAX_ENTRIES = 500
#: Announce the work (stderr) when the per-parameter oracles run on at least this many parameters.
_ANNOUNCE_PARAMS = 3_000
#: The proxy network the estimate is timed on has about this many parameters.
_PROXY_PARAMS = 1_500


# ---------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------

def _validate(args) -> None:
    """Combinations argparse cannot express; UsageError names the flag."""
    file_mode = args.params is not None
    legacy = getattr(args, "sweep", None) or getattr(args, "example", None)
    if legacy and (args.sizes is not None or args.spec or file_mode or args.candidate):
        raise UsageError("--sweep and --example take no network, files or candidate (see deltacheck sweep --help)")
    if legacy and args.plot:
        raise UsageError("--plot draws one network's curve: use it alone or with --sizes")
    given = [f"--{o.replace('_', '-')}" for o in _NETWORK_OPTIONS if getattr(args, o) not in (None, False)]
    if args.spec is not None:
        clash = [g for g in ["--sizes" if args.sizes else None, *given] if g and g not in ("--init", "--entries")]
        if clash:
            raise UsageError(f"{clash[0]} describes the network, which --spec already gives: use one or the other")
    if given and args.sizes is None and args.spec is None and not file_mode:
        raise UsageError(f"{given[0]} describes a network: give its --sizes (or --spec, or --params) too")
    for flag, value in (("--data", args.data), ("--grads", args.grads)):
        if value is not None and not file_mode:
            raise UsageError(f"{flag} needs --params (and --params needs --data)")
    if file_mode and args.data is None:
        raise UsageError("--params needs --data FILE with the batch (keys x and y)")
    if file_mode and args.batch is not None:
        raise UsageError("--batch sizes a random batch; with --data the batch is the file's")
    if file_mode and args.init is not None:
        raise UsageError("--init draws random parameters; with --params they are the file's")
    if args.grads is not None and (args.candidate or args.per_sample):
        raise UsageError(f"--grads is the candidate: it cannot be combined with "
                         f"{'--candidate' if args.candidate else '--per-sample'}")
    if args.per_sample and not args.candidate:
        raise UsageError("--per-sample describes your --candidate function: give --candidate too")
    if args.layout == "column" and not (args.candidate or file_mode):
        raise UsageError("--layout column describes your --candidate or your --params files: give one of them")
    if args.plot and not Path(args.plot).resolve().parent.is_dir():
        raise UsageError(f"--plot: directory {str(Path(args.plot).parent)!r} does not exist")
    if args.plot and args.grads and not args.taylor:
        raise UsageError("--plot draws the oracles' curve; it does not use --grads (add --taylor for the Taylor plot "
                         "of those gradients)")
    one_network = args.sizes is not None or args.spec is not None or file_mode
    if args.plot and args.taylor and not one_network:
        raise UsageError("--plot with --taylor draws one network's Taylor test: give --sizes (or --spec, or --params)")


# ---------------------------------------------------------------------------
# Networks
# ---------------------------------------------------------------------------

def _activation(name: str):
    import manual_bp as bp

    name = name.strip()
    if name.startswith("leaky_relu(") and name.endswith(")"):
        try:
            return bp.LeakyReLU(float(name[len("leaky_relu("):-1]))
        except ValueError:
            raise ValueError(f"--activations: leaky_relu slope must be a number, got {name!r}") from None
    return name


def _batch(net, rng, n: int, dtype):
    """A random batch for ``net``: ``x`` normal; ``y`` labels, [0, 1] values or normal by loss."""
    x = rng.normal(size=(n, net.sizes[0])).astype(dtype)
    k = net.sizes[-1]
    if net.loss == "cross_entropy":
        return x, rng.integers(0, k, n)
    if net.loss == "binary_cross_entropy":
        return x, rng.uniform(0, 1, (n, k)).astype(dtype)
    return x, rng.normal(size=(n, k)).astype(dtype)


def _random_case(net, args, *, init="xavier"):
    import numpy as np

    import manual_bp as bp

    rng = np.random.default_rng(args.seed)
    params = bp.init_params(net, seed=rng, scheme=init, dtype=np.dtype(args.dtype))
    return (params, *_batch(net, rng, args.batch or 5, np.dtype(args.dtype)))


def _network_from_flags(args, sizes, bias=True):
    import manual_bp as bp

    loss = args.loss or "squared_error"
    n_layers = len(sizes) - 1
    if args.activations is None:
        out = _DEFAULT_OUTPUT.get(bp.get_loss(loss).name, "identity")
        acts = ("sigmoid",) * (n_layers - 1) + (out,)
    else:
        acts = tuple(_activation(a) for a in args.activations.split(","))
        if len(acts) == 1:
            acts *= n_layers
    return bp.Network(sizes, acts, loss, reduction=args.reduction or "sum", half=args.half,
                      bias=False if args.no_bias else bias, l2=args.l2 or 0.0)


def _chosen_network(args):
    """The one network of --sizes / --spec / --params, its params and a batch; ValueError for a bad spec."""
    from . import files

    if args.spec is not None:
        net = files.read_spec(args.spec)
    elif args.sizes is not None:
        net = _network_from_flags(args, args.sizes)
    else:  # --params alone: the shape is the file's
        sizes, bias = files.infer_network_shape(args.params, args.layout)
        net = _network_from_flags(args, sizes, bias)
    if args.params is None:
        return net, *_random_case(net, args, init=args.init or "xavier")
    params = files.read_params(args.params, net, layout=args.layout, dtype=args.dtype)
    x, y = files.read_data(args.data, net, layout=args.layout, dtype=args.dtype)
    return net, params, x, y


def _convention(net) -> str:
    text = {("sum", False): "Σ", ("sum", True): "½Σ", ("mean", False): "(1/N)Σ", ("mean", True): "1/(2N)Σ"}[
        (net.reduction, net.half)]
    if not any(net.bias):
        return text + ", no bias"
    if not net.bias[-1] and all(net.bias[:-1]):
        return text + ", no output bias"
    if not all(net.bias):
        return text + ", bias " + "".join("1" if b else "0" for b in net.bias)
    return text


def _documents(args):
    """The documents' networks: ``[(name, architecture, loss, convention, net, params, x, y)]``."""
    import numpy as np

    import manual_bp as bp
    import reference as ref
    from reference._resources import EXAMPLES_DIR

    dtype = np.dtype(args.dtype)

    def random_net(sizes, acts, loss, reduction, *, bias=True, init="xavier"):
        net = bp.Network(sizes, acts, loss, reduction=reduction, bias=bias)
        return net, *_random_case(net, args, init=init)

    def from_example(name):
        ex = ref.load_example(EXAMPLES_DIR / name)
        params = [(W.astype(dtype), None if b is None else b.astype(dtype)) for W, b in ex.params]
        return ex.net, params, ex.x.astype(dtype), ex.y.astype(dtype)

    cases = [
        ("000 classifier", lambda: random_net((4, 3, 3), ("sigmoid", "softmax"), "cross_entropy", "sum")),
        ("000 regressor", lambda: random_net((4, 3, 1), ("sigmoid", "identity"), "squared_error", "mean")),
        ("001 general MLP", lambda: random_net((4, 5, 4, 2), "sigmoid", "squared_error", "mean", init="doc001")),
        ("002 worked example", lambda: from_example("doc002_2-2-1_linear.toml")),
        ("003 example 2", lambda: from_example("doc003_ex2_2-2-2-1_network.toml")),
        ("004 regressor", lambda: random_net((3, 4, 1), ("sigmoid", "identity"), "squared_error", "sum", bias=False)),
        ("004 classifier", lambda: random_net((3, 4, 3), ("sigmoid", "softmax"), "cross_entropy", "sum", bias=False)),
    ]
    out = []
    for name, build in cases:
        net, params, x, y = build()
        arch = "-".join(map(str, net.sizes)) + " " + ",".join(map(str, net.activations))
        out.append((name, arch, net.loss, _convention(net), net, params, x, y))
    return out


def _perceptron_case(args):
    """Document 003's perceptron on a small 2-D set labelled by a line, at a random w."""
    import numpy as np

    rng = np.random.default_rng(args.seed)
    x = rng.uniform(-1, 1, (max(args.batch or 5, 2) * 2, 2))
    t = np.where(x @ np.array([1.0, -0.6]) + 0.1 >= 0, 1.0, -1.0)
    return rng.normal(size=3), x, t


# ---------------------------------------------------------------------------
# The candidate
# ---------------------------------------------------------------------------

class CandidateError(Exception):
    """The user's candidate raised: reported in one line (exit 2), the traceback is theirs to get in Python."""


def _guarded(fn, label: str):
    import functools

    @functools.wraps(fn)
    def call(*a, **k):
        try:
            return fn(*a, **k)
        except Exception as exc:
            raise CandidateError(f"the candidate {label} raised {type(exc).__name__}: {exc}") from exc
    return call


def _grads_candidate(args, net):
    from . import files

    grads = files.read_grads(args.grads, net, layout=args.layout, dtype=args.dtype)

    def from_file(net, params, x, y):
        return [(dW.copy(), None if db is None else db.copy()) for dW, db in grads]

    from_file.__qualname__ = from_file.__name__ = f"gradients from {args.grads}"
    from_file.__module__ = None
    return from_file


def _candidate_kwargs(args, *, from_file: bool = False) -> dict:
    """``candidate``/``layout``/``per_sample`` keywords for reference.compare (empty: manual_bp)."""
    if args.candidate is None:
        return {}
    kw = {"candidate": _guarded(load_function(args.candidate, "--candidate"), args.candidate)}
    kw["layout"], kw["per_sample"] = args.layout, args.per_sample
    return kw


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------

_ORACLES = ("jax", "central", "complex_step")


def _cell(report, oracle: str) -> str:
    statuses = {o.name: o.status for o in report.oracles}
    if oracle not in statuses:
        return "-"
    if statuses[oracle] == "skipped":
        return "skipped"
    value = report.worst_errors().get(oracle)
    text = "n/a" if value is None else f"{value:.1e}"
    return text + ("*" if statuses[oracle] == "blamed" else "")


def _table(rows) -> str:
    """The one-row-per-network table; ``rows`` are ``(name, arch, loss, convention, report)``."""
    from reference.comparison import LABELS

    head = ("network", "architecture", "loss", "convention", *(LABELS[o] for o in _ORACLES), "verdict")
    body = [(name, arch, loss, conv, *(_cell(r, o) for o in _ORACLES), r.verdict if r.ok else "DISAGREE")
            for name, arch, loss, conv, r in rows]
    widths_ = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths_)
    lines = [fmt.format(*head).rstrip(), fmt.format(*("-" * w for w in widths_))]
    lines += [fmt.format(*b).rstrip() for b in body]
    return "\n".join(lines)


def _entries(leaves, names) -> str:
    """Every gradient entry from every source side by side."""
    import numpy as np

    lines = [f"{'entry':<12}" + "".join(f"{n:>22}" for n in names)]
    for name, arrays in leaves:
        for idx in np.ndindex(arrays[0].shape):
            label = f"{name}[{','.join(map(str, idx))}]"
            lines.append(f"{label:<12}" + "".join(f"{a[idx]:>22.15g}" for a in arrays))
    return "\n".join(lines)


def _print_entries(net, params, x, y, candidate, label) -> None:
    import reference as ref

    sources = {label: candidate(net, params, x, y), "jax.grad": ref.gradients(net, params, x, y),
               "central": ref.central_difference_gradients(net, params, x, y, check_kinks=False),
               "complex step": ref.complex_step_gradients(net, params, x, y)}
    leaves = []
    for l in range(net.n_layers):
        for k, kind in enumerate("Wb"):
            if sources["jax.grad"][l][k] is not None:
                leaves.append((f"{kind}{l + 1}", [g[l][k] for g in sources.values()]))
    print(_entries(leaves, list(sources)) + "\n")


def emit(data) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _plot(path: str, net, params, x, y) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from reference.comparison import step_curve

    curve = step_curve(net, params, x, y)
    floor = float(np.finfo(curve["dtype"]).eps) / 10  # exact agreement (0) cannot sit on a log axis
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.loglog(curve["steps"], np.maximum(curve["central"], floor), marker=".", label="central difference")
    cs = curve["complex_step"]
    ax.axhline(max(cs, floor), color="C2", linestyle="--",
               label="complex step" + (f" ({cs:.1e})" if cs >= floor else f" (< {floor:.0e})"))
    ax.axvline(curve["default_step"], color="C3", linestyle=":",
               label=f"default h = ∛ε·max(1, max|θ|) ≈ {curve['default_step']:.1e}")
    ax.set_xlabel("step h")
    ax.set_ylabel("relative error of the directional derivative")
    ax.set_title(f"{net.describe()}, batch {x.shape[0]}, {curve['dtype']}", fontsize=9)
    lo, hi = curve["steps"][0], curve["steps"][-1]
    # The two arms of the V: below the minimum rounding of L (≈ ε|L|/h)
    # dominates, above it the h² truncation of the Taylor series.
    ax.text(lo * 3, floor * 1e3, "← rounding ∝ ε/h", fontsize=8, color="0.35")
    ax.text(hi / 3, floor * 1e3, "truncation ∝ h² →", fontsize=8, color="0.35", ha="right")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _require_matplotlib() -> None:
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError("--plot needs matplotlib, which is not installed (pip install \"deltacheck[plot]\")")


def _announce_long(net, args) -> None:
    """One line on stderr before a check that will take a while: what, and roughly how long.

    Only per-parameter differences run long: every perturbed parameter set is a
    full copy of θ, so their cost grows as n_params².  The estimate times the
    same two oracles on a proxy network -- this one's depth, activations, loss
    and batch, widths scaled down to about ``_PROXY_PARAMS`` parameters -- and
    scales the time by ``(n_params / proxy n_params)²``.
    """
    import time

    import numpy as np

    import manual_bp as bp
    import reference as ref
    from reference.comparison import numerical_mode

    from ._progress import announce, human_seconds

    n = _n_params(net)
    n_weights = sum(n_in * n_out for n_in, n_out in zip(net.sizes[:-1], net.sizes[1:]))
    per_parameter = numerical_mode(n, args.batch or 5, n_weights, numerical=args.numerical) == "per_parameter"
    if not per_parameter or n < _ANNOUNCE_PARAMS:
        return
    factor = (_PROXY_PARAMS / n) ** 0.5
    sizes = tuple(max(1, round(w * factor)) for w in net.sizes)
    if net.loss in ("cross_entropy", "binary_cross_entropy") or "softmax" in map(str, net.activations):
        sizes = sizes[:-1] + (max(2, sizes[-1]),)
    proxy = bp.Network(sizes, net.activations, net.loss, reduction=net.reduction, half=net.half, bias=net.bias,
                       l2=net.l2)
    rng = np.random.default_rng(0)
    params = bp.init_params(proxy, seed=rng, dtype=np.dtype(args.dtype))
    x, y = _batch(proxy, rng, args.batch or 5, np.dtype(args.dtype))
    t = time.perf_counter()
    ref.central_difference_gradients(proxy, params, x, y, check_kinks=False)
    ref.complex_step_gradients(proxy, params, x, y)
    seconds = (time.perf_counter() - t) * (n / _n_params(proxy)) ** 2
    announce(f"compare: {n:,} parameters, central differences and the complex step per parameter: roughly "
             f"{human_seconds(seconds)} (--numerical directional takes seconds)")


def _n_params(net) -> int:
    return sum(n_in * n_out + (n_out if b else 0)
               for n_in, n_out, b in zip(net.sizes[:-1], net.sizes[1:], net.bias))


# ---------------------------------------------------------------------------
# Modes
# ---------------------------------------------------------------------------

def _compare_kwargs(args) -> dict:
    return {"numerical": args.numerical, "n_directions": args.directions, "seed": args.seed,
            "taylor": True if args.taylor else None}


def _run_documents(args) -> int:
    from reference.comparison import compare, compare_perceptron

    kw = _compare_kwargs(args) | _candidate_kwargs(args)
    rows = [(name, arch, loss, conv, compare(net, params, x, y, **kw))
            for name, arch, loss, conv, net, params, x, y in _documents(args)]
    if args.candidate is None:  # the perceptron row checks manual_bp's perceptron, not a network candidate
        w, x, t = _perceptron_case(args)
        after_003 = 1 + [row[0] for row in rows].index("003 example 2")  # keep document order
        rows.insert(after_003, ("003 perceptron", f"{x.shape[1]}+1-1 step", "perceptron criterion",
                                "Σ over misclassified", compare_perceptron(w, x, t)))
    ok = all(r.ok for *_, r in rows)
    if args.json:
        emit({"schema": "deltacheck.compare-documents/1", "ok": ok,
              "networks": [{"name": n, "architecture": a, "loss": lo, "convention": c, "report": r.to_dict()}
                           for n, a, lo, c, r in rows]})
    else:
        who = args.candidate or "manual_bp"
        print(f"{who} vs jax.grad, central differences and the complex step on the documents' networks\n"
              f"(random parameters and data: batch {args.batch or 5}, seed {args.seed}, {args.dtype}; "
              "002 and 003 on their own numbers)\n")
        print(_table(rows))
        print("\nworst relative error per oracle: max|Δ| / max|gradient|, per parameter, worst over the parameters")
        if any(o.status == "blamed" for *_, r in rows for o in r.oracles):
            print("* disagreement blamed on the numerical oracle, not the candidate (see --sizes ... for the report)")
        bad = [name for name, *_, r in rows if not r.ok]
        print(f"all {len(rows)} agree" if ok else f"DISAGREE: {', '.join(bad)}: "
              "rerun one with --sizes ... for its full report")
    return 0 if ok else 1


def _run_network(args) -> int:
    net, params, x, y = _chosen_network(args)
    from reference.comparison import compare

    kw = _compare_kwargs(args)
    if args.grads is not None:
        kw["candidate"] = _grads_candidate(args, net)
    else:
        kw |= _candidate_kwargs(args)
    if not args.json:
        _announce_long(net, args)
    report = compare(net, params, x, y, **kw)
    if args.json:
        emit(report.to_dict())
    else:
        if args.entries:
            if report.n_params > _MAX_ENTRIES:
                raise UsageError(f"--entries prints every entry; this network has {report.n_params:,} "
                                 f"(limit {_MAX_ENTRIES})")
            if args.layout == "column" and args.grads is None or args.per_sample:
                raise UsageError("--entries lists row-layout gradients: drop --layout column / --per-sample")
            if "candidate" in kw:
                candidate, label = kw["candidate"], args.candidate or "--grads"
            else:
                import manual_bp

                candidate, label = manual_bp.gradients, "manual_bp"
            _print_entries(net, params, x, y, candidate, label)
        print(report)
    if args.plot and args.taylor:
        from reference.taylor import plot_taylor

        plot_taylor(report.taylor, args.plot)
    elif args.plot:
        _plot(args.plot, net, params, x, y)
    return 0 if report.ok else 1


def run(args) -> int:
    _validate(args)
    if getattr(args, "example", None):
        from .example import run_file

        return run_file(args.example, json_out=args.json, search=False)
    if getattr(args, "sweep", None):
        from .sweep import run_sweep

        return run_sweep(args.sweep, seed=args.seed, dtype=args.dtype, numerical=args.numerical,
                         directions=args.directions, json_out=args.json)
    if args.plot:
        _require_matplotlib()
    for module in args.plugin:
        load_module(module, "--plugin")
    try:
        if args.sizes is not None or args.spec is not None or args.params is not None:
            return _run_network(args)
        status = _run_documents(args)
    except CandidateError as exc:
        raise UsageError(f"{exc} (call it in Python for the traceback)") from None
    except (ValueError, TypeError) as exc:  # bad input found by the functions: their message names it
        raise UsageError(str(exc)) from None
    if args.plot:
        _plot(args.plot, *_documents(args)[0][4:])
    return status
