#!/usr/bin/env python3
"""Document 000's regressor on a small synthetic task: sigmoid hidden layer, linear output, MSE.

    python scripts/train_regressor.py [--hidden 16] [--epochs 1000] [--lr 0.2] [--batch-size 16]
                                      [--seed 0] [--plot curve.png] [--json]

Task: y = sin(x) + 0.05·noise, x uniform on [-3, 3], 200 samples (seeded), the
last 50 held out.  The network is document 000's: ``x @ W + b``, sigmoid
hidden layer, identity output, MSE = (1/N)·Σ(ŷ − y)² (derivative 2(ŷ − y)/N),
trained with manual_bp.train (mini-batch SGD).  Prints the loss curve, the
final training and held-out MSE, and the held-out variance of y (the MSE of
always predicting the mean) for scale; the noise floor is 0.0025.
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


def make_data(seed, n=200):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3.0, 3.0, size=(n, 1))
    y = np.sin(x) + 0.05 * rng.standard_normal((n, 1))
    return x, y


def run(*, hidden, epochs, lr, batch_size, seed):
    x, y = make_data(seed)
    tr, te = slice(0, 150), slice(150, None)
    net = bp.Network((1, hidden, 1), ("sigmoid", "identity"), "squared_error", reduction="mean")
    res = bp.train(net, bp.init_params(net, seed=seed), x[tr], y[tr], lr=lr, epochs=epochs,
                   batch_size=batch_size, seed=seed)
    return {
        "history": [float(h) for h in res.history],
        "train_mse": float(bp.loss(net, res.params, x[tr], y[tr])),
        "test_mse": float(bp.loss(net, res.params, x[te], y[te])),
        "test_variance": float(y[te].var()),
        "params": res.params,
    }


def main(argv=None) -> int:
    p = ArgParser(prog="train_regressor.py", description="Document 000's regressor on y = sin(x), with manual_bp.")
    p.add_argument("--hidden", type=int_at_least(1), default=16)
    p.add_argument("--epochs", type=int_at_least(1), default=1000)
    p.add_argument("--lr", type=positive_float, default=0.2)
    p.add_argument("--batch-size", type=int_at_least(0), default=16, help="0 for full-batch gradient descent")
    p.add_argument("--seed", type=int_at_least(0), default=0)
    p.add_argument("--plot", metavar="FILE.png", help="save the training loss curve (needs matplotlib)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    a = p.parse_args(argv)
    if a.plot:
        require_matplotlib(p.prog)
    r = run(hidden=a.hidden, epochs=a.epochs, lr=a.lr, batch_size=a.batch_size or None, seed=a.seed)
    if a.json:
        print(json.dumps({k: v for k, v in r.items() if k not in ("history", "params")}
                         | {"final_loss": r["history"][-1]}, indent=2))
    else:
        print(f"y = sin(x) + noise, 1-{a.hidden}-1 sigmoid/linear, MSE = (1/N)·Σ(ŷ − y)²; 150 training / 50 held-out "
              f"samples; lr {a.lr:g}, batch size {a.batch_size or 'full'}, seed {a.seed}")
        print(curve_summary(r["history"], "training MSE"))
        print(f"final training MSE {r['train_mse']:.5f}, held-out MSE {r['test_mse']:.5f} "
              f"(held-out variance of y {r['test_variance']:.4f}, noise floor 0.0025)")
    if a.plot:
        plot_curves(a.plot, {"training MSE": r["history"]}, "MSE", "sin(x) regression (document 000's regressor)")
        print(f"saved {a.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
