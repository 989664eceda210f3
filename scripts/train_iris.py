#!/usr/bin/env python3
"""Document 000's classifier trained on Iris: 4-3-3, sigmoid hidden, softmax output, cross-entropy.

    python scripts/train_iris.py [--epochs 500] [--lr 0.5] [--seed 0] [--test-frac 0.3]
                                 [--repeats 1] [--plot curve.png] [--json]

Reads reference/data/iris.csv (shipped; nothing is downloaded), splits it per class into
a training part and a held-out part (``--test-frac``, seeded), standardises the
features with the training part's mean and sd, trains with manual_bp.train
(full-batch gradient descent on the mean cross-entropy), and prints the loss
curve and the training and held-out accuracy.  ``--repeats N`` repeats the
whole run for seeds seed .. seed+N-1 and also reports the mean accuracy.
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
from reference._resources import IRIS_CSV  # noqa: E402

DATA = IRIS_CSV
CLASSES = ("setosa", "versicolor", "virginica")


from _common import (  # noqa: E402
    ArgParser, curve_summary, int_at_least, plot_curves, positive_float, require_matplotlib, widths,
)


def load_iris(path=DATA):
    """``(x (150, 4), labels (150,))`` from scikit-learn's iris.csv (first line is its header)."""
    raw = np.loadtxt(path, delimiter=",", skiprows=1)
    return raw[:, :4], raw[:, 4].astype(np.int64)


def stratified_split(labels, test_frac, seed):
    rng = np.random.default_rng(seed)
    test = []
    for k in np.unique(labels):
        idx = np.flatnonzero(labels == k)
        rng.shuffle(idx)
        test.extend(idx[: round(test_frac * len(idx))])
    test = np.sort(np.array(test, dtype=np.int64))
    return np.setdiff1d(np.arange(len(labels)), test), test


def run(*, epochs, lr, seed, test_frac):
    x, labels = load_iris()
    train_idx, test_idx = stratified_split(labels, test_frac, seed)
    mu, sd = x[train_idx].mean(axis=0), x[train_idx].std(axis=0)
    xs = (x - mu) / sd
    net = bp.Network((4, 3, 3), ("sigmoid", "softmax"), "cross_entropy", reduction="mean")
    params = bp.init_params(net, seed=seed)
    res = bp.train(net, params, xs[train_idx], labels[train_idx], lr=lr, epochs=epochs)

    def accuracy(idx):
        return float((bp.predict(net, res.params, xs[idx]).argmax(axis=1) == labels[idx]).mean())

    test_loss = float(bp.loss(net, res.params, xs[test_idx], labels[test_idx]))
    return {
        "seed": seed, "n_train": int(len(train_idx)), "n_test": int(len(test_idx)),
        "history": [float(h) for h in res.history], "test_loss": test_loss,
        "train_accuracy": accuracy(train_idx), "test_accuracy": accuracy(test_idx),
    }


def main(argv=None) -> int:
    p = ArgParser(prog="train_iris.py", description="Document 000's 4-3-3 classifier on Iris, with manual_bp.")
    p.add_argument("--epochs", type=int_at_least(1), default=500)
    p.add_argument("--lr", type=positive_float, default=0.5)
    p.add_argument("--seed", type=int_at_least(0), default=0, help="seed of the split and the initial weights")
    p.add_argument("--test-frac", type=float, default=0.3)
    p.add_argument("--repeats", type=int_at_least(1), default=1, help="repeat for seeds seed..seed+N-1")
    p.add_argument("--plot", metavar="FILE.png", help="save the training loss curve (needs matplotlib)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    a = p.parse_args(argv)
    if not 0 < a.test_frac < 1:
        p.error(f"--test-frac must lie strictly between 0 and 1, got {a.test_frac}")
    if a.plot:
        require_matplotlib(p.prog)
    runs = [run(epochs=a.epochs, lr=a.lr, seed=a.seed + r, test_frac=a.test_frac) for r in range(a.repeats)]
    first = runs[0]
    accs = [r["test_accuracy"] for r in runs]
    if a.json:
        print(json.dumps({"runs": [{k: v for k, v in r.items() if k != "history"} | {"final_loss": r["history"][-1]}
                                   for r in runs], "mean_test_accuracy": float(np.mean(accs))}, indent=2))
    else:
        print(f"Iris, 4-3-3 sigmoid/softmax, mean cross-entropy; {first['n_train']} training / "
              f"{first['n_test']} held-out samples; full-batch gradient descent, lr {a.lr:g}, seed {a.seed}")
        print(curve_summary(first["history"], "training loss"))
        print(f"held-out loss {first['test_loss']:.4f}")
        print(f"training accuracy {first['train_accuracy']:.3f}, held-out accuracy {first['test_accuracy']:.3f} "
              f"({round(first['test_accuracy'] * first['n_test'])}/{first['n_test']})")
        if a.repeats > 1:
            print(f"held-out accuracy over seeds {a.seed}..{a.seed + a.repeats - 1}: mean {np.mean(accs):.3f}, "
                  f"min {min(accs):.3f}, max {max(accs):.3f}")
    if a.plot:
        plot_curves(a.plot, {"training loss": first["history"]}, "mean cross-entropy",
                    "Iris 4-3-3 (document 000's classifier)")
        print(f"saved {a.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
