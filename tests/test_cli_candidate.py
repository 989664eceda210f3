"""``deltacheck compare --candidate module:function`` (with ``--layout``, ``--per-sample``), ``--plugin``.

The candidates are written here by hand: a linear layer's gradients from
first principles (``dW = 2 xᵀ r``, ``db = 2 Σ_n r``), and tutorial-style
wrappers; the right answer is always the oracles', never manual_bp's.
"""
from __future__ import annotations

import json
import sys
import uuid

import pytest

import reference
from _cli import assert_usage_error, cli

LINEAR = ["--sizes", "3,2", "--activations", "identity", "--loss", "squared_error"]

CANDIDATES = '''
import numpy as np


def by_hand(net, params, x, y):
    (W, b), = params
    r = x @ W + b - y                  # L = Σ r², so dL/dz = 2 r
    return [(2 * x.T @ r, 2 * r.sum(axis=0))]


def half_forgotten(net, params, x, y):
    (W, b), = params
    r = x @ W + b - y
    return [(x.T @ r, r.sum(axis=0))]


def by_hand_l2(net, params, x, y):
    (dW, db), = by_hand(net, params, x, y)
    (W, _), = params
    return [(dW + 2 * net.l2 * W, db)]


def by_hand_column(net, params, x, y):
    # column layout: W (n_out, n_in), b (n_out, 1), x (n_in, n_batch), y (n_out, n_batch)
    (W, b), = params
    r = W @ x + b - y
    return [(2 * r @ x.T, 2 * r.sum(axis=1, keepdims=True))]


def by_hand_one_sample(net, params, x, y):
    # x (1, n_in), y (1, n_out): one sample's term
    return by_hand(net, params, x, y)


def raises(net, params, x, y):
    raise KeyError("oops")


not_a_function = 3
'''


@pytest.fixture
def module(tmp_path, monkeypatch):
    """A fresh candidate module in a fresh working directory; its name is unique so imports never collide."""
    name = f"cand_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(CANDIDATES)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield name
    sys.modules.pop(name, None)


def test_a_right_candidate_agrees_and_a_wrong_one_disagrees(capsys, module):
    code, out, err = cli(capsys, "compare", *LINEAR, "--candidate", f"{module}:by_hand")
    assert code == 0, err
    assert f"{module}.by_hand vs jax.grad" in out
    code, out, err = cli(capsys, "compare", *LINEAR, "--candidate", f"{module}:half_forgotten", "--json")
    assert code == 1, err
    d = json.loads(out)
    assert not d["ok"] and any(f.get("factor") == pytest.approx(0.5) for f in d["diagnosis"])
    code, out, err = cli(capsys, "compare", *LINEAR, "--candidate", f"{module}:half_forgotten")
    assert code == 1 and "verdict: DISAGREE" in out, err


def test_a_path_to_a_file_works_too(capsys, module, tmp_path):
    code, _, err = cli(capsys, "compare", *LINEAR, "--candidate", f"{tmp_path / module}.py:by_hand")
    assert code == 0, err


def test_l2_is_passed_to_the_network(capsys, module):
    code, _, err = cli(capsys, "compare", *LINEAR, "--l2", "0.3", "--candidate", f"{module}:by_hand_l2")
    assert code == 0, err
    code, _, _ = cli(capsys, "compare", *LINEAR, "--l2", "0.3", "--candidate", f"{module}:by_hand")
    assert code == 1  # the weight decay forgotten


def test_the_documents_networks_with_a_candidate(capsys, module, tmp_path):
    (tmp_path / "wrap_bp.py").write_text("import manual_bp\n\ndef g(net, params, x, y):\n"
                                         "    return manual_bp.gradients(net, params, x, y)\n")
    code, out, err = cli(capsys, "compare", "--candidate", "wrap_bp:g")
    sys.modules.pop("wrap_bp", None)
    assert code == 0, err
    assert out.startswith("wrap_bp:g vs jax.grad") and "all 7 agree" in out
    assert "003 perceptron" not in out  # manual_bp's perceptron is not the candidate's


@pytest.mark.parametrize("spec, says", [
    ("nomodule_xyz:f", "--candidate: no module named 'nomodule_xyz'"),
    ("{m}:nope", "has no attribute 'nope'"),
    ("{m}:not_a_function", "is not a function"),
    ("{m}", "--candidate expects module:function"),
    ("{m}:raises", "the candidate {m}:raises raised KeyError: 'oops'"),
    ("missing_file.py:f", "--candidate: no such file 'missing_file.py'"),
])
def test_a_bad_candidate_is_one_line(capsys, module, spec, says):
    code, out, err = cli(capsys, "compare", *LINEAR, "--candidate", spec.format(m=module))
    assert_usage_error(code, out, err)
    assert says.format(m=module) in err


def test_a_candidate_module_that_fails_to_import_is_one_line(capsys, module, tmp_path):
    (tmp_path / "broken_cand.py").write_text("import numpy\nraise RuntimeError('no GPU here')\n")
    code, out, err = cli(capsys, "compare", *LINEAR, "--candidate", "broken_cand:f")
    assert_usage_error(code, out, err)
    assert "importing 'broken_cand' raised RuntimeError: no GPU here" in err


def test_plugin_is_imported_before_the_network_is_built(capsys, module, tmp_path):
    (tmp_path / "plugin_mark.py").write_text("import os\nos.environ['DELTACHECK_TEST_PLUGIN'] = 'loaded'\n")
    code, _, err = cli(capsys, "compare", *LINEAR, "--plugin", "plugin_mark")
    sys.modules.pop("plugin_mark", None)
    import os

    assert code == 0, err
    assert os.environ.pop("DELTACHECK_TEST_PLUGIN") == "loaded"
    assert_usage_error(*cli(capsys, "compare", *LINEAR, "--plugin", "no_such_plugin_xyz"))


def test_column_layout_candidate(capsys, module):
    code, out, err = cli(capsys, "compare", *LINEAR, "--candidate", f"{module}:by_hand_column", "--layout", "column")
    assert code == 0, err
    code, _, _ = cli(capsys, "compare", *LINEAR, "--candidate", f"{module}:by_hand")
    assert code == 0


def test_per_sample_candidate(capsys, module):
    code, out, err = cli(capsys, "compare", *LINEAR, "--candidate", f"{module}:by_hand_one_sample", "--per-sample")
    assert code == 0, err
