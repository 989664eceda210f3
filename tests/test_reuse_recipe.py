"""The README's recipe, copied verbatim into a fresh project outside the repository, under Hypothesis's
default settings (no conftest, no profile, the 200 ms deadline on): it passes for a right derivation and
fails with deltacheck's report -- never DeadlineExceeded or Flaky -- for a wrong one.  Both cases run in
one child pytest (one interpreter and JAX import instead of two); the wrong one's copy differs from the
block only in the module it imports ``my_gradients`` from.

The derivations are a user's: a from-scratch NumPy backprop for sigmoid/tanh
hidden layers, a linear output and mean squared error, written here without
manual_bp; the wrong one takes tanh' as 1 − a instead of 1 − a².
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from _cli import ROOT, child_env

MY_BACKPROP = '''
import numpy as np


def _f(name, z):
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    return z


def _df(name, a):  # f'(z) written with a = f(z)
    if name == "sigmoid":
        return a * (1 - a)
    if name == "tanh":
        return {TANH_DERIVATIVE}
    return np.ones_like(a)


def my_gradients(net, params, x, y):
    names = [act.name for act in net.activations]
    a = [x]
    for (W, b), name in zip(params, names):
        a.append(_f(name, a[-1] @ W + b))
    delta = 2 * (a[-1] - y) / x.shape[0]          # L = (1/N) Σ (ŷ − y)², linear output
    grads = []
    for l in reversed(range(len(params))):
        W, _ = params[l]
        grads.append((a[l].T @ delta, delta.sum(axis=0)))
        if l > 0:
            delta = (delta @ W.T) * _df(names[l - 1], a[l])
    return grads[::-1]
'''
RIGHT, WRONG = "1 - a ** 2", "1 - a"


def recipe() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- recipe -->", 1)[1].split("<!-- /recipe -->", 1)[0]
    return block.split("```python\n", 1)[1].rsplit("```", 1)[0]


def run_recipes(tmp_path):
    """One child pytest, as a user would run it, over two copies of the recipe: ``test_my_backprop.py`` (the
    block verbatim, the right derivation) and ``test_my_wrong_backprop.py`` (the same block importing from
    ``my_wrong_backprop``, the wrong one).  The right one comes first (pytest runs files in name order), so it
    meets JAX cold: no compilation cache is handed to the child."""
    block = recipe()
    assert "from my_backprop import my_gradients" in block
    (tmp_path / "test_my_backprop.py").write_text(block, encoding="utf-8")
    (tmp_path / "test_my_wrong_backprop.py").write_text(
        block.replace("from my_backprop import", "from my_wrong_backprop import"), encoding="utf-8")
    for module, tanh_derivative in (("my_backprop", RIGHT), ("my_wrong_backprop", WRONG)):
        (tmp_path / f"{module}.py").write_text(MY_BACKPROP.replace("{TANH_DERIVATIVE}", tanh_derivative),
                                               encoding="utf-8")
    # deltacheck importable as if installed; nothing else of the repo
    env = child_env(strip=("HYPOTHESIS", "DELTACHECK", "PYTEST"), jax_cache=False)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v", "test_my_backprop.py",
                           "test_my_wrong_backprop.py"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)


def _warmed() -> bool:
    from reference import strategies

    return getattr(strategies.problems, "__deltacheck_warmed__", False)


pytestmark = pytest.mark.skipif(
    not _warmed(), reason="needs @warmed (reference/_warm.py) on reference.strategies.problems: the lead's "
    "one-line change to strategies.py (issue 11)")


def test_the_recipe_passes_for_a_right_derivation_and_fails_with_the_report_for_a_wrong_one(tmp_path):
    assert not (tmp_path / "conftest.py").exists()
    r = run_recipes(tmp_path)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "test_my_backprop.py::test_my_gradients_match_the_oracles PASSED" in out
    assert "test_my_wrong_backprop.py::test_my_gradients_match_the_oracles FAILED" in out
    assert "1 failed, 1 passed" in out
    assert "my_wrong_backprop.my_gradients disagrees with the oracles" in out
    assert "my_backprop.my_gradients disagrees" not in out
    assert "localisation:" in out and "verdict: DISAGREE" in out
    assert "Deadline" not in out and "Flaky" not in out
