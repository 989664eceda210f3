#!/usr/bin/env python3
"""Cross-check hand-derived gradients against jax.grad, central differences and the complex step.

    python scripts/compare.py                       the documents' networks, one row each
    python scripts/compare.py --sizes 4,3,3 --activations sigmoid,softmax --loss cross_entropy
        [--reduction sum|mean] [--half] [--no-bias] [--batch 5] [--seed 0] [--dtype float32]
        [--init xavier|doc001] [--entries]         any network: the full per-parameter report
    python scripts/compare.py --sweep 200           random architectures (needs hypothesis)
    python scripts/compare.py --example FILE        a worked example's printed claims, one by one
    ... --json                                      the same report as JSON on stdout
    ... --plot FILE.png                             finite-difference error against step size

The candidate is manual_bp.  Each report gives, per parameter (W1, b1, ...),
the error against every oracle, the layer where a derivation first goes wrong
and the likely convention mistake (reference.comparison).  Networks above 5,000
parameters are checked numerically along random directions.

Exit status: 0 when everything agrees, 1 when anything disagrees (or a worked
example has a wrong claim), 2 on bad usage (one line on stderr).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

from _common import ArgParser, int_at_least, require_matplotlib, run_main, widths  # noqa: E402

PROG = "compare.py"
#: Options that describe one network; they need --sizes.
_NETWORK_OPTIONS = ("activations", "loss", "reduction", "half", "no_bias", "init", "entries")
#: Output activation when --activations is not given.
_DEFAULT_OUTPUT = {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid"}
#: Keep relu pre-activations this far from the kink in --sweep (as the test suite does).
_KINK_MARGIN = 1e-3
#: --entries prints every gradient entry; beyond this many it is not a table anyone reads.
_MAX_ENTRIES = 500


# ---------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------

def _parse(argv):
    p = ArgParser(prog=PROG, description=__doc__.split("\n\n")[0],
                  epilog="\n\n".join(__doc__.split("\n\n")[1:]), formatter_class=argparse.RawDescriptionHelpFormatter)
    net = p.add_argument_group("one network (instead of the documents' networks)")
    net.add_argument("--sizes", type=widths(2), metavar="N,N,...", help="input width, then each layer's width")
    net.add_argument("--activations", metavar="NAME,...",
                     help="one per layer, or one for all (identity, sigmoid, tanh, relu, leaky_relu or "
                     "leaky_relu(0.2), softmax); default sigmoid hidden layers and an output that suits the loss")
    net.add_argument("--loss", help="squared_error (default), cross_entropy or binary_cross_entropy")
    net.add_argument("--reduction", choices=("sum", "mean"), help="sum (default) or mean over the batch")
    net.add_argument("--half", action="store_true", help="½ factor of squared error")
    net.add_argument("--no-bias", action="store_true", help="no biases in any layer")
    net.add_argument("--init", choices=("xavier", "doc001"), help="parameter initialisation (default xavier)")
    net.add_argument("--entries", action="store_true", help="also print every gradient entry from every source")
    p.add_argument("--batch", type=int_at_least(1), default=5, help="samples in the batch (default 5)")
    p.add_argument("--seed", type=int_at_least(0), default=0, help="seed for parameters, data and directions (default 0)")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    p.add_argument("--numerical", choices=("auto", "per_parameter", "directional", "none"), default="auto",
                   help="numerical oracles: per parameter, along random directions, or auto (directions above "
                   "5,000 parameters)")
    p.add_argument("--directions", type=int_at_least(1), default=2, help="random directions for the directional check")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--sweep", type=int_at_least(1), metavar="N", help="check N random architectures (needs hypothesis)")
    mode.add_argument("--example", metavar="FILE", help="check a worked-example file's printed claims")
    p.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    p.add_argument("--plot", metavar="FILE.png", help="save the finite-difference error against step size (needs "
                   "matplotlib)")
    args = p.parse_args(argv)

    given = [f"--{o.replace('_', '-')}" for o in _NETWORK_OPTIONS if getattr(args, o) not in (None, False)]
    if given and args.sizes is None:
        p.error(f"{given[0]} describes a network: give its --sizes too")
    if args.sizes is not None and (args.sweep or args.example):
        p.error("--sizes cannot be combined with --sweep or --example")
    if args.plot and (args.sweep or args.example):
        p.error("--plot draws one network's curve: use it alone or with --sizes")
    if args.plot and not Path(args.plot).resolve().parent.is_dir():
        p.error(f"--plot: directory {str(Path(args.plot).parent)!r} does not exist")
    return args


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
            raise ValueError(f"leaky_relu slope must be a number, got {name!r}") from None
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
    return (params, *_batch(net, rng, args.batch, np.dtype(args.dtype)))


def _chosen_network(args):
    """The --sizes network, its params and a batch; ValueError/TypeError for a bad spec."""
    import manual_bp as bp

    loss = args.loss or "squared_error"
    n_layers = len(args.sizes) - 1
    if args.activations is None:
        out = _DEFAULT_OUTPUT.get(bp.get_loss(loss).name, "identity")
        acts = ("sigmoid",) * (n_layers - 1) + (out,)
    else:
        acts = tuple(_activation(a) for a in args.activations.split(","))
        if len(acts) == 1:
            acts *= n_layers
    net = bp.Network(args.sizes, acts, loss, reduction=args.reduction or "sum", half=args.half,
                     bias=not args.no_bias)
    return net, *_random_case(net, args, init=args.init or "xavier")


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

    dtype = np.dtype(args.dtype)

    def random_net(sizes, acts, loss, reduction, *, bias=True, init="xavier"):
        net = bp.Network(sizes, acts, loss, reduction=reduction, bias=bias)
        return net, *_random_case(net, args, init=init)

    def from_example(name):
        from reference._resources import EXAMPLES_DIR

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
    x = rng.uniform(-1, 1, (max(args.batch, 2) * 2, 2))
    t = np.where(x @ np.array([1.0, -0.6]) + 0.1 >= 0, 1.0, -1.0)
    return rng.normal(size=3), x, t


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
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*head).rstrip(), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*b).rstrip() for b in body]
    return "\n".join(lines)


def _entries(report_params, sources) -> str:
    """Every gradient entry from every source side by side (the old demo.py view)."""
    import numpy as np

    names = list(sources)
    lines = [f"{'entry':<12}" + "".join(f"{n:>22}" for n in names)]
    for name, arrays in report_params:
        for idx in np.ndindex(arrays[0].shape):
            label = f"{name}[{','.join(map(str, idx))}]"
            lines.append(f"{label:<12}" + "".join(f"{a[idx]:>22.15g}" for a in arrays))
    return "\n".join(lines)


def _print_entries(net, params, x, y) -> None:
    import manual_bp as bp
    import reference as ref

    sources = {"manual_bp": bp.gradients(net, params, x, y), "jax.grad": ref.gradients(net, params, x, y),
               "central": ref.central_difference_gradients(net, params, x, y, check_kinks=False),
               "complex step": ref.complex_step_gradients(net, params, x, y)}
    leaves = []
    for l in range(net.n_layers):
        for k, kind in enumerate("Wb"):
            if sources["manual_bp"][l][k] is not None:
                leaves.append((f"{kind}{l + 1}", [g[l][k] for g in sources.values()]))
    print(_entries(leaves, sources) + "\n")


def _emit(data) -> None:
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


def _error(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


# ---------------------------------------------------------------------------
# Modes
# ---------------------------------------------------------------------------

def _compare_kwargs(args) -> dict:
    return {"numerical": args.numerical, "n_directions": args.directions, "seed": args.seed}


def _run_documents(args) -> int:
    from reference.comparison import compare, compare_perceptron

    kw = _compare_kwargs(args)
    rows = [(name, arch, loss, conv, compare(net, params, x, y, **kw))
            for name, arch, loss, conv, net, params, x, y in _documents(args)]
    w, x, t = _perceptron_case(args)
    after_003 = 1 + [row[0] for row in rows].index("003 example 2")  # keep document order
    rows.insert(after_003, ("003 perceptron", f"{x.shape[1]}+1-1 step", "perceptron criterion",
                            "Σ over misclassified", compare_perceptron(w, x, t)))
    ok = all(r.ok for *_, r in rows)
    if args.json:
        _emit({"schema": "deltacheck.compare-documents/1", "ok": ok,
               "networks": [{"name": n, "architecture": a, "loss": lo, "convention": c, "report": r.to_dict()}
                            for n, a, lo, c, r in rows]})
    else:
        print("manual_bp vs jax.grad, central differences and the complex step on the documents' networks\n"
              f"(random parameters and data: batch {args.batch}, seed {args.seed}, {args.dtype}; "
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
    try:
        net, params, x, y = _chosen_network(args)
    except (ValueError, TypeError) as exc:
        return _error(str(exc))
    from reference.comparison import compare

    report = compare(net, params, x, y, **_compare_kwargs(args))
    if args.json:
        _emit(report.to_dict())
    else:
        if args.entries:
            if report.n_params > _MAX_ENTRIES:
                return _error(f"--entries prints every entry; this network has {report.n_params:,} "
                              f"(limit {_MAX_ENTRIES})")
            _print_entries(net, params, x, y)
        print(report)
    return 0 if report.ok else 1


def _run_example(args) -> int:
    from reference.worked_examples import ExampleFormatError, check_example, format_report

    try:
        report = check_example(args.example)
    except ExampleFormatError as exc:
        return _error(str(exc))
    if args.json:
        _emit(report.to_dict())
    else:
        print(format_report(report))
    return 1 if report.any_wrong else 0


def _progress(done: int, total: int, *, final: bool = False) -> None:
    if not sys.stderr.isatty():
        return
    width = 30
    filled = width * done // total
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if final:
        sys.stderr.write("\r" + " " * (width + 2 * len(str(total)) + 4) + "\r")
    sys.stderr.flush()


def _run_sweep(args) -> int:
    import random

    try:
        from hypothesis import HealthCheck, Phase, find, settings
        from hypothesis.errors import NoSuchExample
    except ImportError:
        return _error("--sweep needs hypothesis, a test extra: pip install -e '.[test]'")
    import numpy as np

    from reference import strategies as dst
    from reference.comparison import LABELS, compare

    dtype = np.dtype(args.dtype)
    strategy = dst.problems(kink_margin=_KINK_MARGIN, dtype=dtype)
    kw = _compare_kwargs(args)
    seen = []

    def record(p) -> bool:
        seen.append((p, compare(p.net, p.params, p.x, p.y, **kw)))
        _progress(len(seen), args.sweep)
        return False  # never "found": find() then draws all N examples

    quiet = {"database": None, "deadline": None, "suppress_health_check": list(HealthCheck)}
    try:
        find(strategy, record, settings=settings(max_examples=args.sweep, phases=[Phase.generate], **quiet),
             random=random.Random(args.seed))
    except NoSuchExample:
        pass
    _progress(len(seen), args.sweep, final=True)

    failing = [(p, r) for p, r in seen if not r.ok]
    smallest = None
    if failing:
        # Replay the same draws, now stopping at the first failure, and let
        # Hypothesis shrink it towards the smallest failing network.
        def fails(p) -> bool:
            return not compare(p.net, p.params, p.x, p.y, **kw).ok

        try:
            p = find(strategy, fails, settings=settings(max_examples=args.sweep, **quiet),
                     random=random.Random(args.seed))
        except NoSuchExample:
            p = min((p for p, _ in failing), key=lambda p: (sum(p.net.sizes), p.x.shape[0]))
        smallest = (p, compare(p.net, p.params, p.x, p.y, **kw))

    # Rank by the fraction of the tolerance used, not by relative error, which
    # reads 100% for a 1e-17 residue on an exactly-zero gradient.
    worst = {}
    for p, r in seen:
        rel = r.worst_errors()
        for o, v in r.tolerance_used().items():
            if v is not None and v > worst.get(o, (-1.0, None, None))[0]:
                worst[o] = (v, rel.get(o), p)
    blamed = sum(any(o.status == "blamed" for o in r.oracles) for _, r in seen)
    agreed = len(seen) - len(failing)
    archs = len({p.net.describe() for p, _ in seen})
    if args.json:
        _emit({
            "schema": "deltacheck.compare-sweep/1", "n": len(seen), "agreed": agreed, "disagreed": len(failing),
            "architectures": archs, "dtype": dtype.name, "oracle_blamed": blamed,
            "worst": {o: {"tolerance_used": v, "max_rel": rel, "problem": repr(p)}
                      for o, (v, rel, p) in worst.items()},
            "smallest_failing": None if smallest is None else {"problem": repr(smallest[0]),
                                                               "report": smallest[1].to_dict()},
            "ok": not failing,
        })
    else:
        print(f"sweep: {len(seen)} random problems from reference.strategies.problems ({dtype.name}, "
              f"{archs} distinct architectures, relu pre-activations kept {_KINK_MARGIN:g} from the kink)")
        print(f"  agreed: {agreed} of {len(seen)}")
        print("  worst case per oracle, as max|Δ| / tolerance bound (below 1 agrees):")
        for o, (v, rel, p) in worst.items():
            print(f"    vs {LABELS[o]:<14} {v:.2e} of the bound  {p!r}")
        if blamed:
            print(f"  a numerical oracle was blamed (not the candidate) in {blamed} problem(s)")
        if smallest is None:
            print("  smallest failing case: none")
        else:
            print(f"  smallest failing case: {smallest[0]!r}\n")
            print(smallest[1])
    return 1 if failing else 0


def main(argv=None) -> int:
    try:
        return _main(argv)
    except MemoryError:
        # A network too big for this machine: say so in one line, as bad usage.
        print(f"{PROG}: error: out of memory for this network; choose smaller --sizes or --batch", file=sys.stderr)
        return 2


def _main(argv) -> int:
    args = _parse(argv)
    if args.plot:
        require_matplotlib(PROG)
    if args.example:
        return _run_example(args)
    if args.sweep:
        return _run_sweep(args)
    if args.sizes is not None:
        status = _run_network(args)
        if args.plot and status != 2:
            _plot(args.plot, *_chosen_network(args))
        return status
    status = _run_documents(args)
    if args.plot:
        net, params, x, y = _documents(args)[0][4:]
        _plot(args.plot, net, params, x, y)
    return status


if __name__ == "__main__":
    run_main(main)
