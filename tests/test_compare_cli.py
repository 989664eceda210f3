"""``deltacheck compare`` (and ``scripts/compare.py``, its thin wrapper): tables, JSON, exit codes, fast help.

In-process through ``deltacheck.main(argv)``; a real subprocess only where a
process proves more (help without importing JAX, a closed pipe, the script
wrapper; every command from outside the repository in
tests/test_cli_real_process.py).
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from _cli import ROOT, assert_usage_error, child_env, cli

SCRIPT = str(ROOT / "scripts" / "compare.py")
DOCUMENTS = ["000 classifier", "000 regressor", "001 general MLP", "002 worked example", "003 example 2",
             "003 perceptron", "004 regressor", "004 classifier"]
REPORT_KEYS = {"schema", "input_gradient", "taylor", "model", "n_batch", "dtype", "n_params", "candidate", "jax_method", "numerical", "oracles",
               "parameters", "directional", "layers", "localisation", "diagnosis", "worst", "ok", "verdict"}


def test_default_json(capsys):
    code, out, err = cli(capsys, "compare", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert set(d) == {"schema", "ok", "networks"} and d["ok"] is True
    assert [n["name"] for n in d["networks"]] == DOCUMENTS
    for n in d["networks"]:
        assert set(n) == {"name", "architecture", "loss", "convention", "report"}
        assert set(n["report"]) == REPORT_KEYS and n["report"]["verdict"] == "agree"
    conventions = {n["name"]: n["convention"] for n in d["networks"]}
    assert conventions["002 worked example"] == "½Σ, no bias"
    assert conventions["003 example 2"] == "1/(2N)Σ, no output bias"


def test_one_network_json_schema(capsys):
    code, out, err = cli(capsys, "compare", "--sizes", "4,3,3", "--activations", "sigmoid,softmax", "--loss",
                         "cross_entropy", "--batch", "4", "--dtype", "float32", "--json")
    assert code == 0, err
    d = json.loads(out)
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


def test_one_network_table_with_entries(capsys):
    code, out, err = cli(capsys, "compare", "--sizes", "3,2", "--activations", "tanh", "--no-bias", "--entries")
    assert code == 0, err
    assert "W1[2,1]" in out and "complex step" in out and "verdict: AGREE" in out


def test_l2_reaches_the_network(capsys):
    code, out, err = cli(capsys, "compare", "--sizes", "3,2", "--l2", "0.5", "--json")
    assert code == 0, err
    assert json.loads(out)["ok"] is True
    # manual_bp's dW carries 2·λ·W: a candidate that forgets it must disagree (tests/test_cli_candidate.py).


@pytest.mark.parametrize("args", [
    ["--sizes", "4,x"],
    ["--loss", "cross_entropy"],
    ["--sizes", "4,3,3", "--loss", "squared_erro"],
    ["--sizes", "4,3,3", "--activations", "softmax,sigmoid"],
    ["--sizes", "4,3", "--loss", "cross_entropy", "--half"],
    ["--sizes", "4,3", "--activations", "leaky_relu(x)"],
    ["--sizes", "4,3", "--l2", "-1"],
    ["--batch", "0"],
    ["--seed", "-1"],
    ["--sizes", "4"],
    ["--sweep", "3", "--example", "doc002_2-2-1_linear"],
    ["--sweep", "3", "--sizes", "3,2"],
    ["--example", "reference/data/examples/no_such_file.toml"],
    ["--plot", "no/such/dir/curve.png"],
    ["--per-sample"],
    ["--layout", "column"],
    ["--data", "d.npz"],
    ["--spec", "x.toml", "--sizes", "3,2"],
], ids=lambda a: " ".join(a))
def test_bad_usage_is_one_line_and_exit_2(capsys, args):
    assert_usage_error(*cli(capsys, "compare", *args))


@pytest.mark.parametrize("args", [[], ["--bogus"], ["nonsense"], ["compare", "--unknown"]], ids=lambda a: " ".join(a) or "no command")
def test_bad_top_level_usage_is_one_line_and_exit_2(capsys, args):
    assert_usage_error(*cli(capsys, *args), prog="deltacheck")


@pytest.mark.parametrize("argv", [["--help"], ["compare", "--help"], ["sweep", "--help"]])
def test_help_starts_with_what_to_type_and_imports_neither_jax_nor_numpy(argv):
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "deltacheck", *argv], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    first = r.stdout.splitlines()[0]
    assert first.startswith("usage: deltacheck " + (argv[0] if argv[0] != "--help" else "compare")), first
    imported = {line.split("|")[-1].strip().split(".")[0] for line in r.stderr.splitlines() if "|" in line}
    # Fast help is this, not a wall-clock bound (the suite asserts no timings): JAX's import alone is ~1 s.
    assert not imported & {"jax", "jaxlib", "numpy", "manual_bp", "reference"}


def test_version(capsys):
    import deltacheck

    code, out, _ = cli(capsys, "--version")
    assert code == 0 and out.strip() == f"deltacheck {deltacheck.__version__}"


def test_legacy_example_flag_exits_1_for_wrong_claims(capsys):
    code, out, err = cli(capsys, "compare", "--example", "doc002_2-2-1_linear", "--json")
    assert code == 1, err
    d = json.loads(out)
    assert d["any_wrong"] is True and d["counts"]["wrong"] == 2


def test_sweep_shrinks_a_failure_to_the_smallest_network(monkeypatch, capsys):
    # manual_bp's loss scale negated: every draw with a nonzero gradient fails;
    # Hypothesis must shrink to a one-layer, one-unit network, and the report
    # must name the sign.
    from manual_bp import network

    scale = network.Network.batch_scale
    monkeypatch.setattr(network.Network, "batch_scale", lambda self, n: -scale(self, n))
    code, out, _ = cli(capsys, "sweep", "6")
    assert code == 1
    agreed = int(out.split("agreed: ")[1].split(" of 6")[0])
    assert agreed < 6
    assert out.split("smallest failing case: ")[1].startswith("Problem(1-1 ")
    assert "a sign flip" in out and "localisation: layer 1" in out


def test_sweep_without_hypothesis_fails_in_one_line(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "hypothesis", None)
    assert_usage_error(*cli(capsys, "sweep", "3"), prog="deltacheck sweep")


def test_plot_without_matplotlib_fails_in_one_line(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert_usage_error(*cli(capsys, "compare", "--plot", tmp_path / "curve.png"))


def test_plot_writes_a_png(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "curve.png"
    code, _, err = cli(capsys, "compare", "--sizes", "3,2,1", "--plot", out)
    assert code == 0, err
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_long_check_is_announced_on_stderr(monkeypatch, capsys):
    from reference.cli import compare

    monkeypatch.setattr(compare, "_ANNOUNCE_PARAMS", 10)
    monkeypatch.setattr(compare, "_PROXY_PARAMS", 10)
    code, out, err = cli(capsys, "compare", "--sizes", "4,3,3", "--loss", "cross_entropy")
    assert code == 0
    (line,) = err.strip().splitlines()
    assert line.startswith("compare: 27 parameters, central differences and the complex step per parameter: "
                           "roughly ")
    assert "compare:" not in out


def test_the_script_is_a_thin_wrapper_and_finds_candidates_from_the_working_directory(tmp_path):
    # scripts/compare.py's sys.path starts at scripts/, not at the working directory:
    # --candidate must still find a module where the user stands.
    (tmp_path / "cwd_candidate.py").write_text("import manual_bp\n\ndef grads(net, params, x, y):\n"
                                               "    return manual_bp.gradients(net, params, x, y)\n")
    r = subprocess.run([sys.executable, SCRIPT, "--sizes", "3,2", "--candidate", "cwd_candidate:grads"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300, env=child_env(pythonpath=False))
    assert r.returncode == 0, r.stderr
    assert "cwd_candidate.grads" in r.stdout and "verdict: AGREE" in r.stdout


def test_closed_pipe_ends_quietly_with_141():
    p = subprocess.Popen([sys.executable, "-m", "deltacheck", "compare", "--sizes", "3,2"], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env(pythonpath=False))
    p.stdout.close()  # like `| head` exiting before the report is printed
    _, err = p.communicate(timeout=120)
    assert "Traceback" not in err and err == ""
    assert p.returncode == 141  # 128 + SIGPIPE, never 1 (which means "disagree")


def test_a_long_sweep_is_announced_with_an_estimate(monkeypatch, capsys):
    from reference.cli import sweep

    monkeypatch.setattr(sweep, "_ANNOUNCE_SECONDS", 0.0)
    code, out, err = cli(capsys, "sweep", "3")
    assert code == 0
    (line,) = [line for line in err.splitlines() if line.strip()]
    assert line.startswith("sweep: 3 random problems (float64); roughly ") and line.endswith("at the pace of the first")
    assert "agreed: 3 of 3" in out


def test_progress_bar_is_tqdm_when_installed_and_silent_without(monkeypatch):
    from reference.cli import _progress

    monkeypatch.setitem(sys.modules, "tqdm", None)
    silent = _progress.bar(5, "sweep")
    silent.update()
    silent.close()
    assert type(silent).__name__ == "_NoBar"
    monkeypatch.delitem(sys.modules, "tqdm")
    tqdm = pytest.importorskip("tqdm")
    bar = _progress.bar(5, "sweep")
    assert isinstance(bar, tqdm.tqdm)
    bar.close()
    assert [_progress.human_seconds(s) for s in (0.2, 42, 600, 7200)] == ["1 s", "42 s", "10 min", "2.0 h"]


def test_taylor_orders_in_text_json_and_plot(capsys, tmp_path):
    """--taylor prints one order per parameter, puts them in JSON under "taylor", and --plot draws them."""
    pytest.importorskip("matplotlib")
    from deltacheck import main

    net = ["--sizes", "4,3,3", "--activations", "sigmoid,softmax", "--loss", "cross_entropy"]
    assert main(["compare", *net, "--taylor"]) == 0
    out = capsys.readouterr().out
    assert all(f"taylor  {name}" in out for name in ("W1", "b1", "W2", "b2"))
    assert main(["compare", *net, "--taylor", "--json"]) == 0
    t = json.loads(capsys.readouterr().out)["taylor"]
    assert t["ok"] is True and round(t["order"]) == 2
    assert [p["name"] for p in t["parameters"]] == ["W1", "b1", "W2", "b2"]
    assert all(p["ok"] and round(p["order"]) == 2 for p in t["parameters"])
    png = tmp_path / "taylor.png"
    assert main(["compare", *net, "--taylor", "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
