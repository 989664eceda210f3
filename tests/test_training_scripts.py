"""The training scripts run quickly (small epoch counts) and reach sensible results.

Each script's own file runs in this process (``tests/_cli.py`` ``script_in_process``: its ``__main__``
block, argument parsing and exit status); one test runs a script as a real process, from the repository
as documented.
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from _cli import child_env, script_in_process

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def run(capsys, monkeypatch):
    """``run(script, *args)``: ``(exit status, stdout, stderr)`` of ``python scripts/SCRIPT ARGS``."""
    return lambda script, *args: script_in_process(capsys, monkeypatch, script, *args)


@pytest.fixture
def run_json(run):
    """``run_json(script, *args)``: the script's ``--json`` output, parsed (exit status 0 asserted)."""
    def go(script, *args):
        code, out, err = run(script, *args, "--json")
        assert code == 0, err
        return json.loads(out)
    return go


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


def test_iris_classifier_generalises(run_json):
    d = run_json("train_iris.py", "--epochs", "300")
    r = d["runs"][0]
    assert r["n_test"] == 45
    assert r["test_accuracy"] >= 0.9 and r["train_accuracy"] >= 0.9
    assert r["final_loss"] < 0.2


def test_regressor_fits_sine(run_json):
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


def test_doc003_expressions_are_learned(run_json):
    d = run_json("train_doc003.py", "--epochs", "800")
    assert set(d) == {"linear", "quadratic"}
    for r in d.values():
        assert r["network"] == "2-8-1"
        assert r["test_mse"] < 0.01 * r["test_variance"], r


def test_perceptron_separates_its_set(run_json):
    d = run_json("train_perceptron.py", "--n", "60")
    assert d["separated"] and d["misclassified"][-1] == 0 and d["criterion"][-1] == 0
    x, t, _ = load_script("train_perceptron").make_data(60, 0.05, seed=0)
    w = np.array(d["w"])
    assert np.all(t * (x @ w[1:] + w[0]) > 0)   # checked here, not by manual_bp


def test_text_output_has_a_loss_curve_in_a_real_process():
    r = subprocess.run([sys.executable, "scripts/train_iris.py", "--epochs", "50"], cwd=ROOT, capture_output=True,
                       text=True, timeout=120, env=child_env(pythonpath=False))
    assert r.returncode == 0, r.stderr
    assert "epoch" in r.stdout and "(final)" in r.stdout and "held-out accuracy" in r.stdout


def test_text_output_of_the_perceptron(run):
    code, out, err = run("train_perceptron.py", "--n", "40")
    assert code == 0 and "separates the set" in out, err


def test_plot_flag(tmp_path, run):
    png = tmp_path / "curve.png"
    code, _, err = run("train_perceptron.py", "--n", "40", "--plot", str(png))
    if importlib.util.find_spec("matplotlib") is None:
        assert code == 2
        assert len(err.strip().splitlines()) == 1 and "matplotlib" in err
        assert not png.exists()
    else:
        assert code == 0, err
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_usage_exits_2(run):
    for script, args, says in (
            ("train_iris.py", ["--epochs", "0"], "--epochs: expected an integer >= 1"),
            ("train_iris.py", ["--test-frac", "1"], "--test-frac must lie strictly between 0 and 1"),
            ("train_doc003.py", ["--hidden", "x"], "--hidden: expected comma-separated widths"),
            ("train_doc003.py", ["--lr", "0"], "--lr: expected a positive finite number"),
            ("train_perceptron.py", ["--margin", "1"], "--margin must lie strictly between 0 and 1"),
            ("train_regressor.py", ["--nope"], "unrecognized arguments"),
            *((script, ["--seed", "-1"], "--seed: expected an integer >= 0")  # was a numpy traceback
              for script in ("train_iris.py", "train_doc003.py", "train_perceptron.py", "train_regressor.py"))):
        code, _, err = run(script, *args)
        assert code == 2 and len(err.strip().splitlines()) == 1, (script, err)
        assert says in err, (script, err)
