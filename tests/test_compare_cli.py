"""scripts/compare.py end to end, through a subprocess: tables, JSON, exit codes, fast start."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = str(ROOT / "scripts" / "compare.py")
DOCUMENTS = ["000 classifier", "000 regressor", "001 general MLP", "002 worked example", "003 example 2",
             "003 perceptron", "004 regressor", "004 classifier"]
REPORT_KEYS = {"schema", "input_gradient", "model", "n_batch", "dtype", "n_params", "candidate", "jax_method", "numerical", "oracles",
               "parameters", "directional", "layers", "localisation", "diagnosis", "worst", "ok", "verdict"}


def run(*args, blocked=(), timeout=120):
    """Run the script; ``blocked`` module names import as missing (``sys.modules[name] = None``)."""
    if blocked:
        code = (f"import runpy, sys\nfor m in {list(blocked)!r}: sys.modules[m] = None\n"
                f"sys.argv = [{SCRIPT!r}, *{list(args)!r}]\nrunpy.run_path({SCRIPT!r}, run_name='__main__')")
        cmd = [sys.executable, "-c", code]
    else:
        cmd = [sys.executable, SCRIPT, *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def assert_usage_error(r):
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stdout == "" and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("compare.py: error: "), r.stderr


def test_default_run_checks_the_documents_networks():
    r = run()
    assert r.returncode == 0, r.stderr
    for name in DOCUMENTS:
        (row,) = [line for line in r.stdout.splitlines() if line.startswith(name)]
        assert row.split()[-1] == "agree"
    assert "all 8 agree" in r.stdout and r.stderr == ""


def test_default_json():
    r = run("--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert set(d) == {"schema", "ok", "networks"} and d["ok"] is True
    assert [n["name"] for n in d["networks"]] == DOCUMENTS
    for n in d["networks"]:
        assert set(n) == {"name", "architecture", "loss", "convention", "report"}
        assert set(n["report"]) == REPORT_KEYS and n["report"]["verdict"] == "agree"
    conventions = {n["name"]: n["convention"] for n in d["networks"]}
    assert conventions["002 worked example"] == "½Σ, no bias"
    assert conventions["003 example 2"] == "1/(2N)Σ, no output bias"


def test_one_network_json_schema():
    r = run("--sizes", "4,3,3", "--activations", "sigmoid,softmax", "--loss", "cross_entropy", "--batch", "4",
            "--dtype", "float32", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert set(d) == REPORT_KEYS
    assert (d["dtype"], d["n_batch"], d["n_params"], d["numerical"]) == ("float32", 4, 27, "per_parameter")
    assert d["model"]["sizes"] == [4, 3, 3] and d["model"]["activations"] == ["sigmoid", "softmax"]
    assert [p["name"] for p in d["parameters"]] == ["W1", "b1", "W2", "b2"]
    p = d["parameters"][0]
    assert set(p) == {"name", "layer", "shape", "ok", "errors", "worst", "note"} and p["shape"] == [4, 3]
    assert set(p["errors"]) == {"jax", "central", "complex_step"}
    assert set(p["errors"]["jax"]) == {"max_abs", "max_rel", "bound", "ok"}
    assert set(p["worst"]) == {"index", "values"}
    assert set(p["worst"]["values"]) == {"candidate", "jax", "central", "complex_step"}
    assert set(d["oracles"]["central"]) == {"method", "status", "agrees_with_jax", "note"}
    assert [lay["layer"] for lay in d["layers"]] == [2, 1]
    assert d["localisation"] is None and d["diagnosis"] == [] and d["ok"] is True


def test_one_network_table_with_entries():
    r = run("--sizes", "3,2", "--activations", "tanh", "--no-bias", "--entries")
    assert r.returncode == 0, r.stderr
    assert "W1[2,1]" in r.stdout and "complex step" in r.stdout and "verdict: AGREE" in r.stdout


@pytest.mark.parametrize("args", [
    ["--sizes", "4,x"],
    ["--loss", "cross_entropy"],
    ["--sizes", "4,3,3", "--loss", "squared_erro"],
    ["--sizes", "4,3,3", "--activations", "softmax,sigmoid"],
    ["--sizes", "4,3", "--loss", "cross_entropy", "--half"],
    ["--sizes", "4,3", "--activations", "leaky_relu(x)"],
    ["--batch", "0"],
    ["--seed", "-1"],
    ["--sizes", "4"],
    ["--sweep", "3", "--example", "reference/data/examples/doc002_2-2-1_linear.toml"],
    ["--example", "reference/data/examples/no_such_file.toml"],
    ["--plot", "no/such/dir/curve.png"],
    ["--unknown"],
], ids=lambda a: " ".join(a))
def test_bad_usage_is_one_line_and_exit_2(args):
    assert_usage_error(run(*args))


def test_help_is_fast_and_imports_neither_jax_nor_numpy():
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-X", "importtime", SCRIPT, "--help"], cwd=ROOT, capture_output=True,
                       text=True, timeout=60)
    elapsed = time.perf_counter() - t
    assert r.returncode == 0 and "--sizes" in r.stdout
    imported = {line.split("|")[-1].strip().split(".")[0] for line in r.stderr.splitlines() if "|" in line}
    assert not imported & {"jax", "jaxlib", "numpy", "manual_bp", "reference"}
    assert elapsed < 5  # ~0.1 s; JAX's import alone is ~1 s


def test_shipped_worked_examples_exit_1_for_their_wrong_claims():
    paths = sorted((ROOT / "reference" / "data" / "examples").glob("*.toml"))
    assert paths
    for path in paths[:-1]:
        r = run("--example", str(path.relative_to(ROOT)))
        assert r.returncode == 1, (path, r.stderr)
        assert "wrong" in r.stdout.splitlines()[-1]
    r = run("--example", str(paths[-1].relative_to(ROOT)), "--json")
    assert r.returncode == 1, r.stderr
    d = json.loads(r.stdout)
    assert d["any_wrong"] is True and d["counts"]["wrong"] >= 1


def test_sweep_json():
    r = run("--sweep", "3", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert {"n", "agreed", "disagreed", "architectures", "worst", "smallest_failing", "ok"} <= set(d)
    assert (d["n"], d["agreed"], d["smallest_failing"], d["ok"]) == (3, 3, None, True)
    assert set(d["worst"]) == {"jax", "central", "complex_step"}


def test_sweep_shrinks_a_failure_to_the_smallest_network(monkeypatch, capsys):
    # In-process, with manual_bp's loss scale negated: every draw with a
    # nonzero gradient fails; Hypothesis must shrink to a one-layer, one-unit
    # network, and the report must name the sign.
    from manual_bp import network

    scale = network.Network.batch_scale
    monkeypatch.setattr(network.Network, "batch_scale", lambda self, n: -scale(self, n))
    assert _load_script().main(["--sweep", "6"]) == 1
    out = capsys.readouterr().out
    agreed = int(out.split("agreed: ")[1].split(" of 6")[0])
    assert agreed < 6
    assert out.split("smallest failing case: ")[1].startswith("Problem(1-1 ")
    assert "a sign flip" in out and "localisation: layer 1" in out


def _load_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("compare_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sweep_without_hypothesis_fails_in_one_line():
    assert_usage_error(run("--sweep", "3", blocked=["hypothesis"]))


def test_plot_without_matplotlib_fails_in_one_line(tmp_path):
    assert_usage_error(run("--plot", str(tmp_path / "curve.png"), blocked=["matplotlib"]))


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "curve.png"
    r = run("--sizes", "3,2,1", "--plot", str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_closed_pipe_ends_quietly():
    p = subprocess.Popen([sys.executable, SCRIPT, "--sizes", "3,2"], cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    p.stdout.close()  # like `| head` exiting before the report is printed
    _, err = p.communicate(timeout=120)
    assert "Traceback" not in err and p.returncode in (0, 1)
