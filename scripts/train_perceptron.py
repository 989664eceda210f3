#!/usr/bin/env python3
"""Document 003's perceptron trained on a linearly separable set until it separates it.

    python scripts/train_perceptron.py [--n 100] [--margin 0.05] [--lr 1.0] [--max-epochs 1000]
                                       [--seed 0] [--plot curve.png] [--json]

Data: ``--n`` points uniform on [-1, 1]², labelled t = ±1 by a random line
(seeded), keeping only points at least ``--margin`` from it, so the set is
linearly separable.  Model y = f(wᵀφ(x)), φ(x) = (1, x1, x2), step f; stochastic
updates w ← w + α φ(x_n) t_n on misclassified points (manual_bp.train_perceptron,
one epoch at a time so the curve can be recorded).  Prints per-epoch the
perceptron criterion E_p(w) = Σ_{n∈M} −wᵀφ(x_n)t_n and the number of
misclassified points, until none is left.
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


def make_data(n, margin, seed):
    """``(x (n, 2), t (n,), (w_true, b_true))``: separable with at least ``margin`` from the line."""
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0, 2 * np.pi)
    w_true, b_true = np.array([np.cos(angle), np.sin(angle)]), rng.uniform(-0.3, 0.3)
    xs = []
    while sum(len(c) for c in xs) < n:
        cand = rng.uniform(-1, 1, size=(4 * n, 2))
        xs.append(cand[np.abs(cand @ w_true + b_true) >= margin])
    x = np.concatenate(xs)[:n]
    t = np.where(x @ w_true + b_true >= 0, 1.0, -1.0)
    return x, t, (w_true, b_true)


def run(*, n, margin, lr, max_epochs, seed):
    x, t, (w_true, b_true) = make_data(n, margin, seed)
    rng = np.random.default_rng(seed)
    w = np.zeros(3)
    criterion = [bp.perceptron_criterion(w, x, t)]
    errors = [int((bp.perceptron_predict(w, x) != t).sum())]
    misclassified = bp.train_perceptron(x, t, epochs=0, w0=w).errors[0]  # boundary points count as misclassified
    epochs = 0
    while misclassified and epochs < max_epochs:
        res = bp.train_perceptron(x, t, lr=lr, epochs=1, w0=w, seed=rng)
        w, misclassified = res.w, res.errors[-1]
        epochs += 1
        criterion.append(bp.perceptron_criterion(w, x, t))
        errors.append(int((bp.perceptron_predict(w, x) != t).sum()))
    return {
        "n": n, "margin": margin, "epochs": epochs, "separated": misclassified == 0,
        "w": [float(v) for v in w], "w_true": [float(b_true), *map(float, w_true)],
        "criterion": [float(c) + 0.0 for c in criterion], "misclassified": errors,
    }


def main(argv=None) -> int:
    p = ArgParser(prog="train_perceptron.py", description="Document 003's perceptron on a separable set, with manual_bp.")
    p.add_argument("--n", type=int_at_least(2), default=100)
    p.add_argument("--margin", type=float, default=0.05)
    p.add_argument("--lr", type=positive_float, default=1.0)
    p.add_argument("--max-epochs", type=int_at_least(1), default=1000)
    p.add_argument("--seed", type=int_at_least(0), default=0)
    p.add_argument("--plot", metavar="FILE.png", help="save the criterion curve (needs matplotlib)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    a = p.parse_args(argv)
    if not 0 < a.margin < 1:
        p.error(f"--margin must lie strictly between 0 and 1, got {a.margin}")
    if a.plot:
        require_matplotlib(p.prog)
    r = run(n=a.n, margin=a.margin, lr=a.lr, max_epochs=a.max_epochs, seed=a.seed)
    if a.json:
        print(json.dumps(r, indent=2))
    else:
        print(f"perceptron on {a.n} separable points (margin {a.margin:g}), lr {a.lr:g}, seed {a.seed}")
        print(curve_summary(r["criterion"], "criterion E_p"))
        print(curve_summary(r["misclassified"], "misclassified"))
        status = "separates the set" if r["separated"] else f"does NOT separate the set after {r['epochs']} epochs"
        print(f"after {r['epochs']} epochs w = ({', '.join(f'{v:.3f}' for v in r['w'])}) (bias first): {status}")
    if a.plot:
        plot_curves(a.plot, {"criterion E_p": r["criterion"], "misclassified points": r["misclassified"]},
                    "E_p(w); misclassified count", "Perceptron (document 003)")
        print(f"saved {a.plot}")
    return 0 if r["separated"] else 1


if __name__ == "__main__":
    sys.exit(main())
