"""The training scripts run quickly (small epoch counts) and reach sensible results."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(script, *args):
    r = subprocess.run([sys.executable, f"scripts/{script}", *args], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    return r


def run_json(script, *args):
    r = run(script, *args, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_iris_data_is_the_shipped_table():
    mod = load_script("train_iris")
    x, labels = mod.load_iris()
    assert x.shape == (150, 4) and np.bincount(labels).tolist() == [50, 50, 50]
    assert x[0].tolist() == [5.1, 3.5, 1.4, 0.2] and x[-1].tolist() == [5.9, 3.0, 5.1, 1.8]
    train, test = mod.stratified_split(labels, 0.3, seed=0)
    assert len(test) == 45 and np.bincount(labels[test]).tolist() == [15, 15, 15]
    assert not set(train) & set(test) and len(train) + len(test) == 150


def test_iris_classifier_generalises():
    d = run_json("train_iris.py", "--epochs", "300")
    r = d["runs"][0]
    assert r["n_test"] == 45
    assert r["test_accuracy"] >= 0.9 and r["train_accuracy"] >= 0.9
    assert r["final_loss"] < 0.2


def test_regressor_fits_sine():
    d = run_json("train_regressor.py", "--epochs", "200")
    assert d["test_mse"] < 0.1 * d["test_variance"]
    assert d["final_loss"] < d["test_variance"]  # it learned: below the MSE of predicting the mean


def test_regressor_reports_the_mse_of_its_trained_network():
    # The reported training and held-out MSE, recomputed here from the trained
    # parameters with the formula written out (sigmoid hidden layer, linear
    # output, (1/N)·Σ(ŷ − y)²), not with manual_bp.loss: a script that reported
    # another quantity (the loss before training, a sum, the wrong split) fails.
    mod = load_script("train_regressor")
    r = mod.run(hidden=8, epochs=50, lr=0.2, batch_size=16, seed=3)
    x, y = mod.make_data(3)
    (W1, b1), (W2, b2) = r["params"]

    def mse(xs, ys):
        yhat = (1 / (1 + np.exp(-(xs @ W1 + b1)))) @ W2 + b2
        return float(np.mean((yhat - ys) ** 2))

    assert r["train_mse"] == pytest.approx(mse(x[:150], y[:150]), rel=1e-12)
    assert r["test_mse"] == pytest.approx(mse(x[150:], y[150:]), rel=1e-12)
    assert r["history"][-1] == pytest.approx(r["train_mse"], rel=1e-12)  # full-batch loss after the last epoch
    assert r["history"][-1] < r["history"][0]


def test_doc003_expressions_are_learned():
    d = run_json("train_doc003.py", "--epochs", "800")
    assert set(d) == {"linear", "quadratic"}
    for r in d.values():
        assert r["network"] == "2-8-1"
        assert r["test_mse"] < 0.01 * r["test_variance"], r


def test_perceptron_separates_its_set():
    d = run_json("train_perceptron.py", "--n", "60")
    assert d["separated"] and d["misclassified"][-1] == 0 and d["criterion"][-1] == 0
    x, t, _ = load_script("train_perceptron").make_data(60, 0.05, seed=0)
    w = np.array(d["w"])
    assert np.all(t * (x @ w[1:] + w[0]) > 0)   # checked here, not by manual_bp


def test_text_output_has_a_loss_curve():
    r = run("train_iris.py", "--epochs", "50")
    assert r.returncode == 0, r.stderr
    assert "epoch" in r.stdout and "(final)" in r.stdout and "held-out accuracy" in r.stdout
    r = run("train_perceptron.py", "--n", "40")
    assert r.returncode == 0 and "separates the set" in r.stdout


def test_plot_flag(tmp_path):
    png = tmp_path / "curve.png"
    r = run("train_perceptron.py", "--n", "40", "--plot", str(png))
    if importlib.util.find_spec("matplotlib") is None:
        assert r.returncode == 2
        assert len(r.stderr.strip().splitlines()) == 1 and "matplotlib" in r.stderr
        assert not png.exists()
    else:
        assert r.returncode == 0, r.stderr
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_usage_exits_2():
    for script, args, says in (
            ("train_iris.py", ["--epochs", "0"], "--epochs: expected an integer >= 1"),
            ("train_iris.py", ["--test-frac", "1"], "--test-frac must lie strictly between 0 and 1"),
            ("train_doc003.py", ["--hidden", "x"], "--hidden: expected comma-separated widths"),
            ("train_doc003.py", ["--lr", "0"], "--lr: expected a positive finite number"),
            ("train_perceptron.py", ["--margin", "1"], "--margin must lie strictly between 0 and 1"),
            ("train_regressor.py", ["--nope"], "unrecognized arguments"),
            *((script, ["--seed", "-1"], "--seed: expected an integer >= 0")  # was a numpy traceback
              for script in ("train_iris.py", "train_doc003.py", "train_perceptron.py", "train_regressor.py"))):
        r = run(script, *args)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, (script, r.stderr)
        assert says in r.stderr, (script, r.stderr)
