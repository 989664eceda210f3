#!/usr/bin/env python3
"""Document 003's two "true underlying expressions" learned by an MLP trained with manual_bp.

    python scripts/train_doc003.py [--hidden 8] [--epochs 3000] [--lr 0.5] [--n 200]
                                   [--seed 0] [--plot curve.png] [--json]

Expressions (document 003, Examples 1 and 2):
    linear:    Y = X1 + X2
    quadratic: Y = 0.25·X1² + 0.2·X1·X2 + 5
Data: X1, X2 uniform on [0, 5] (seeded), ``--n`` samples, the last quarter
held out.  Inputs and targets are standardised with the training part's
statistics (document 003's Example 2 scales its data too).  The MLP is
2-H-1 (``--hidden 2,2`` gives the document's 2-2-2-1), sigmoid hidden
layers, linear output, the document's loss MSE = 1/(2n)·Σ, full-batch
gradient descent.  Prints each loss curve and the final MSE in the
original units of Y on the training and held-out samples.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import numpy as np  # noqa: E402

import manual_bp as bp  # noqa: E402


from _common import (  # noqa: E402
    ArgParser, curve_summary, int_at_least, plot_curves, positive_float, require_matplotlib, widths,
)


EXPRESSIONS = {
    "linear": ("Y = X1 + X2", lambda x: x[:, 0] + x[:, 1]),
    "quadratic": ("Y = 0.25·X1² + 0.2·X1·X2 + 5", lambda x: 0.25 * x[:, 0] ** 2 + 0.2 * x[:, 0] * x[:, 1] + 5.0),
}


def run(name, *, hidden, epochs, lr, n, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 5.0, size=(n, 2))
    y = EXPRESSIONS[name][1](x)[:, None]
    n_train = n - n // 4
    tr, te = slice(0, n_train), slice(n_train, None)
    mx, sx = x[tr].mean(axis=0), x[tr].std(axis=0)
    my, sy = float(y[tr].mean()), float(y[tr].std())
    xs, ys = (x - mx) / sx, (y - my) / sy
    sizes = (2, *hidden, 1)
    net = bp.Network(sizes, ("sigmoid",) * len(hidden) + ("identity",), "squared_error", reduction="mean", half=True)
    res = bp.train(net, bp.init_params(net, seed=seed), xs[tr], ys[tr], lr=lr, epochs=epochs)

    def mse(part):
        pred = bp.predict(net, res.params, xs[part]) * sy + my
        return float(((pred - y[part]) ** 2).mean())

    return {
        "expression": EXPRESSIONS[name][0], "network": "-".join(map(str, sizes)),
        "history": [float(h) for h in res.history],
        "train_mse": mse(tr), "test_mse": mse(te), "test_variance": float(y[te].var()),
    }


def main(argv=None) -> int:
    p = ArgParser(prog="train_doc003.py", description="Document 003's expressions learned by an MLP, with manual_bp.")
    p.add_argument("--hidden", type=widths(1), default=(8,),
                   help="hidden widths, comma-separated (2,2 = the document's 2-2-2-1)")
    p.add_argument("--epochs", type=int_at_least(1), default=3000)
    p.add_argument("--lr", type=positive_float, default=0.5)
    p.add_argument("--n", type=int_at_least(8), default=200, help="number of samples (a quarter held out)")
    p.add_argument("--seed", type=int_at_least(0), default=0)
    p.add_argument("--plot", metavar="FILE.png", help="save both loss curves (needs matplotlib)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    a = p.parse_args(argv)
    if a.plot:
        require_matplotlib(p.prog)
    results = {name: run(name, hidden=a.hidden, epochs=a.epochs, lr=a.lr, n=a.n, seed=a.seed) for name in EXPRESSIONS}
    if a.json:
        print(json.dumps({k: {kk: vv for kk, vv in r.items() if kk != "history"} | {"final_loss": r["history"][-1]}
                          for k, r in results.items()}, indent=2))
    else:
        for r in results.values():
            print(f"{r['expression']}: MLP {r['network']} (sigmoid hidden, linear output), loss 1/(2n)·Σ on "
                  f"standardised data, full batch, lr {a.lr:g}, seed {a.seed}")
            print(curve_summary(r["history"], "training loss (standardised units)"))
            print(f"final MSE in units of Y: training {r['train_mse']:.5f}, held-out {r['test_mse']:.5f} "
                  f"(held-out variance of Y {r['test_variance']:.3f})")
            print()
    if a.plot:
        plot_curves(a.plot, {r["expression"]: r["history"] for r in results.values()},
                    "1/(2n)·Σ (standardised)", "Document 003's expressions learned by an MLP")
        print(f"saved {a.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
