"""``deltacheck compare --params FILE --data FILE [--grads FILE]``: another program's outputs from the shell.

The right gradients of the files come from first principles (a linear layer
under squared error: ``dW = 2 xᵀ r``, ``db = 2 Σ_n r`` with ``r = x W + b − y``)
or from JAX (``reference.gradients``), never from manual_bp.  Every bad file is
exit 2 with one line naming the file and the key.
"""
from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from _cli import assert_usage_error, cli

RNG = np.random.default_rng(7)
W = RNG.normal(size=(3, 2))
B = RNG.normal(size=2)
X = RNG.normal(size=(5, 3))
Y = RNG.normal(size=(5, 2))
R = X @ W + B - Y
DW, DB = 2 * X.T @ R, 2 * R.sum(axis=0)  # L = Σ (x W + b − y)², by hand
LINEAR = ["--activations", "identity", "--loss", "squared_error"]


@pytest.fixture
def files(tmp_path):
    np.savez(tmp_path / "p.npz", W1=W, b1=B)
    np.savez(tmp_path / "d.npz", x=X, y=Y)
    np.savez(tmp_path / "g.npz", W1=DW, b1=DB)
    return tmp_path


def run(capsys, files, *args):
    return cli(capsys, "compare", "--params", files / "p.npz", "--data", files / "d.npz", *LINEAR, *args)


def test_manual_bp_on_the_files_agrees(capsys, files):
    code, out, err = run(capsys, files)
    assert code == 0, err
    assert "verdict: AGREE" in out


def test_right_gradients_from_a_file_agree_and_wrong_ones_disagree(capsys, files):
    code, out, err = run(capsys, files, "--grads", files / "g.npz", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["ok"] and d["candidate"].startswith("gradients from") and d["n_params"] == 8
    np.savez(files / "half.npz", W1=DW / 2, b1=DB / 2)  # the classic: ½ forgotten on one side
    code, out, err = run(capsys, files, "--grads", files / "half.npz", "--json")
    assert code == 1, err
    d = json.loads(out)
    assert not d["ok"] and d["localisation"] is not None
    assert d["localisation"]["layer"] == 1
    assert any(f.get("factor") == pytest.approx(0.5) for f in d["diagnosis"]), d["diagnosis"]


def test_json_files_work_like_npz(capsys, files):
    (files / "p.json").write_text(json.dumps({"W1": W.tolist(), "b1": B.tolist()}))
    (files / "d.json").write_text(json.dumps({"x": X.tolist(), "y": Y.tolist()}))
    (files / "g.json").write_text(json.dumps({"W1": DW.tolist(), "b1": DB.tolist()}))
    code, out, err = cli(capsys, "compare", "--params", files / "p.json", "--data", files / "d.json", "--grads",
                         files / "g.json", *LINEAR)
    assert code == 0, err


def test_sizes_are_read_off_the_params_and_a_spec_file_works(capsys, files):
    code, out, _ = cli(capsys, "compare", "--params", files / "p.npz", "--data", files / "d.npz", "--grads",
                       files / "g.npz", "--activations", "identity", "--json")
    assert code == 0 and json.loads(out)["model"]["sizes"] == [3, 2]
    (files / "net.toml").write_text('[network]\nsizes = [3, 2]\nactivations = ["identity"]\n'
                                    'loss = "squared_error"\n')
    code, out, err = cli(capsys, "compare", "--params", files / "p.npz", "--data", files / "d.npz", "--grads",
                         files / "g.npz", "--spec", files / "net.toml")
    assert code == 0, err
    (files / "half.toml").write_text('[network]\nsizes = [3, 2]\nactivations = ["identity"]\n'
                                     'loss = "squared_error"\nhalf = true\n')
    code, _, _ = cli(capsys, "compare", "--params", files / "p.npz", "--data", files / "d.npz", "--grads",
                     files / "g.npz", "--spec", files / "half.toml")
    assert code == 1  # the spec is read: under ½Σ the by-hand gradients are twice too large


def test_column_layout_files(capsys, tmp_path):
    import manual_bp as bp
    import reference

    net = bp.Network((3, 4, 2), ("tanh", "softmax"), "cross_entropy")
    params = bp.init_params(net, seed=1)
    x, labels = RNG.normal(size=(6, 3)), RNG.integers(0, 2, 6)
    grads = reference.gradients(net, params, x, labels)  # JAX, not manual_bp
    np.savez(tmp_path / "p.npz", W1=params[0][0].T, b1=params[0][1][:, None], W2=params[1][0].T, b2=params[1][1])
    np.savez(tmp_path / "d.npz", x=x.T, y=labels)
    np.savez(tmp_path / "g.npz", W1=grads[0][0].T, b1=grads[0][1][:, None], W2=grads[1][0].T, b2=grads[1][1])
    args = ["compare", "--params", tmp_path / "p.npz", "--data", tmp_path / "d.npz", "--activations",
            "tanh,softmax", "--loss", "cross_entropy", "--layout", "column"]
    code, out, err = cli(capsys, *args, "--grads", tmp_path / "g.npz")
    assert code == 0, err
    code, out, err = cli(capsys, *args)  # manual_bp on the same files
    assert code == 0, err
    # the same files read as row layout are the wrong shape
    assert_usage_error(*cli(capsys, *args[:-2]))


def _bad(tmp_path, name, **arrays):
    np.savez(tmp_path / name, **arrays)
    return tmp_path / name


@pytest.mark.parametrize("case, says", [
    ("pickled", "holds pickled data"),
    ("object", "key 'W1' is an object array"),
    ("missing_b", "missing key 'b1'"),
    ("shape", "key 'W1' has shape (2, 3); expected (3, 2)"),
    ("nan", "key 'W1' has nan at index [0, 1]"),
    ("extra_key", "unexpected key 'W0'"),
    ("gap", "missing key 'W1'"),
    ("not_a_file", "no such file"),
    ("suffix", "expected a .npz or .json file"),
    ("json_str", "key 'W1' holds str"),
    ("json_ragged", "key 'W1' is ragged"),
    ("json_syntax", "not valid JSON"),
    ("complex", "holds complex128 data; expected real numbers"),
])
def test_a_bad_params_file_is_one_line_naming_file_and_key(capsys, files, case, says):
    p = files / f"{case}.npz"
    if case == "pickled":
        p.write_bytes(pickle.dumps({"W1": W, "b1": B}))
    elif case == "object":
        np.savez(p, W1=np.array([W, None], dtype=object), b1=B)
    elif case == "missing_b":
        np.savez(p, W1=W)
    elif case == "shape":
        np.savez(p, W1=W.T, b1=B)
    elif case == "nan":
        Wn = W.copy()
        Wn[0, 1] = np.nan
        np.savez(p, W1=Wn, b1=B)
    elif case == "extra_key":
        np.savez(p, W0=W, W1=W, b1=B)
    elif case == "gap":
        np.savez(p, W2=W, b1=B)
    elif case == "not_a_file":
        p = files / "nope.npz"
    elif case == "suffix":
        p = files / "p.txt"
        p.write_text("1 2 3")
    elif case == "complex":
        np.savez(p, W1=W.astype(complex), b1=B)
    else:
        p = files / f"{case}.json"
        p.write_text({"json_str": '{"W1": [["a", 1]], "b1": [0, 0]}', "json_ragged": '{"W1": [[1, 2], [3]]}',
                      "json_syntax": '{"W1": [1, 2'}[case])
    code, out, err = cli(capsys, "compare", "--params", p, "--data", files / "d.npz", "--sizes", "3,2", *LINEAR)
    assert_usage_error(code, out, err)
    assert str(p) in err and says in err, err


@pytest.mark.parametrize("data, says", [
    ({"x": X}, "missing key 'y'"),
    ({"x": X, "y": Y, "z": Y}, "unexpected key 'z'"),
    ({"x": X[:, :2], "y": Y}, "key 'x' has shape (5, 2); expected (n_batch, 3)"),
    ({"x": X, "y": Y[:4]}, "key 'y' has shape (4, 2); expected (5, 2)"),
    ({"x": X, "y": np.full((5, 2), np.inf)}, "key 'y' has inf"),
])
def test_a_bad_data_file_is_one_line_naming_file_and_key(capsys, files, data, says):
    np.savez(files / "bad.npz", **data)
    code, out, err = cli(capsys, "compare", "--params", files / "p.npz", "--data", files / "bad.npz", *LINEAR)
    assert_usage_error(code, out, err)
    assert "bad.npz" in err and says in err, err


def test_a_bad_grads_file_and_bad_combinations(capsys, files):
    np.savez(files / "g1.npz", W1=DW)
    code, out, err = run(capsys, files, "--grads", files / "g1.npz")
    assert_usage_error(code, out, err)
    assert "g1.npz" in err and "missing key 'b1'" in err
    for extra in (["--batch", "3"], ["--init", "doc001"], ["--grads", files / "g.npz", "--candidate", "m:f"]):
        assert_usage_error(*run(capsys, files, *extra))
    assert_usage_error(*cli(capsys, "compare", "--params", files / "p.npz"))  # no --data
    (files / "bad.toml").write_text("[network]\nsizes = [3, 2]\nactivations = ['identity']\nloss = 'squared_error'\n"
                                    "colour = 'red'\n")
    code, out, err = run(capsys, files, "--spec", files / "bad.toml")
    assert_usage_error(code, out, err)  # --spec with --activations: one or the other
    code, out, err = cli(capsys, "compare", "--params", files / "p.npz", "--data", files / "d.npz", "--spec",
                         files / "bad.toml")
    assert_usage_error(code, out, err)
    assert "unknown key 'colour'" in err


def test_a_pickle_is_refused_in_one_line_naming_the_file_as_given(capsys, files, monkeypatch):
    monkeypatch.chdir(files)
    (files / "evil.npz").write_bytes(pickle.dumps({"W1": W}))
    code, out, err = cli(capsys, "compare", "--params", "evil.npz", "--data", "d.npz", *LINEAR)
    assert code == 2 and out == ""
    assert err.strip() == ("deltacheck compare: error: evil.npz: holds pickled data, which deltacheck does "
                           "not load; save arrays with np.savez(path, W1=..., b1=...)")
