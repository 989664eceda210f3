"""scripts/bench.py runs and reports what docs/performance.md's tables are made of.

Only the output's shape is checked: timings are measured by the script and
read by people, never asserted here.  One test runs the script as a real
subprocess (with ``--blas-threads``, which only a fresh process can take);
the others call its ``main`` in this process (JAX is imported already, so
they skip an interpreter start and a JAX import each).
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from _cli import child_env

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import bench  # noqa: E402

TIMES = ("manual_s", "jax_s", "floor_s")


@pytest.fixture(autouse=True)
def _torch_hidden(monkeypatch):
    # Every run here passes --no-torch, yet bench.environment() imports torch for its version string
    # (~2 s); hidden, the row records torch as absent, which no test here reads.  (The real process in
    # test_blas_threads_in_a_real_process still imports it.)
    monkeypatch.setitem(sys.modules, "torch", None)


def run_main(capsys, *args):
    code = bench.main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_quick_json_has_one_row_per_tiny_size(capsys):
    code, out, err = run_main(capsys, "--quick", "--json", "--budget", "0.02", "--no-torch", "--dtypes", "float32")
    assert code == 0, err
    rows = json.loads(out)
    assert isinstance(rows, list)
    assert [(row["size"], row["dtype"]) for row in rows] == [("tiny-b1", "float32"), ("tiny-b8", "float32")]
    for row in rows:
        for key in TIMES + ("jax_compile_s", "mem_extra_bytes", "mem_bound_bytes", "mem_ratio"):
            assert isinstance(row[key], (int, float)) and math.isfinite(row[key]) and row[key] >= 0, key
        for key in TIMES:
            assert row[key] > 0, key
        assert math.isclose(row["manual_over_floor"], row["manual_s"] / row["floor_s"])
        assert math.isclose(row["manual_over_jax"], row["manual_s"] / row["jax_s"])
        assert set(row["spread"]) >= {"manual", "floor", "jax"}
        assert row["torch_s"] is None
        assert row["repeats"] >= 5
        assert {"numpy", "blas", "jax", "cpu", "nproc", "date", "avx512"} <= set(row["env"])


def test_blas_threads_in_a_real_process():
    # --blas-threads only works before NumPy loads, so only in a fresh process (in this one it is a usage
    # error, below): the script as a user runs it, one size.
    r = subprocess.run([sys.executable, "scripts/bench.py", "--blas-threads", "2", "--quick", "--json", "--budget",
                        "0.02", "--no-torch", "--sizes", "tiny-b8", "--dtypes", "float64"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300, env=child_env(pythonpath=False))
    assert r.returncode == 0, r.stderr
    (row,) = json.loads(r.stdout)
    assert (row["size"], row["dtype"]) == ("tiny-b8", "float64")
    assert row["env"]["blas_threads_env"] == "2"
    assert all(row[key] > 0 for key in TIMES)


def test_table_names_the_machine_and_libraries(capsys):
    code, out, err = run_main(capsys, "--quick", "--budget", "0.05", "--no-torch", "--sizes", "tiny-b8",
                              "--dtypes", "float64")
    assert code == 0, err
    assert "manual/floor" in out and "manual/jax" in out
    assert "numpy" in out and "jax" in out and "tiny-b8" in out and "OPENBLAS_CORETYPE" in out


def test_tiny_b1_against_jax_is_explained_not_a_target():
    row = {"size": "tiny-b1", "dtype": "float64", "manual_over_floor": 9.0, "manual_over_jax": 3.0,
           "manual_s": 1e-4, "mem_ratio": 1.0}
    lines = bench.target_lines([row])
    assert not any("MISSED" in line for line in lines)
    assert bench.TINY_B1_NOTE in lines and "13.4 µs" in bench.TINY_B1_NOTE


def test_checks_json_row_names_every_checker(capsys):
    code, out, err = run_main(capsys, "--checks", "--quick", "--json", "--budget", "0.05", "--no-torch")
    assert code == 0, err
    (row,) = json.loads(out)
    assert row["size"] == "tiny" and row["dtype"] == "float64" and row["n_params"] == 4 * 3 + 3 + 3 * 3 + 3
    for name in ("deltacheck", "jax_check_grads"):
        for key in (f"{name}_s", f"{name}_first_s"):
            assert isinstance(row[key], float) and math.isfinite(row[key]) and row[key] > 0, key
        assert row["passed"][name] is True, name  # a correct gradient, and a smooth net: no false failure
        assert row["checks"][name]
    for name in ("torch_gradcheck", "torch_gradcheck_fast"):
        assert row[f"{name}_s"] is None and row[f"{name}_first_s"] is None and row["passed"][name] is None
    assert math.isclose(row["deltacheck_over_fastest_peer"], row["deltacheck_s"] / row["jax_check_grads_s"])
    assert "per-parameter central differences" in row["checks"]["deltacheck"]


def test_checks_table_marks_false_failures_and_skips():
    env = {"date": "d", "nproc": 2, "cpu": "cpu", "avx512": True, "python": "3", "numpy": "2", "blas": "b",
           "blas_core": "Zen", "blas_coretype_env": None, "blas_threads": None, "jax": "j", "jaxlib": "j",
           "torch": "t", "load_average": 0.5}
    row = {"size": "small-relu", "network": "net", "n_params": 6922, "deltacheck_s": 0.002,
           "jax_check_grads_s": 0.01, "torch_gradcheck_s": None, "torch_gradcheck_fast_s": 0.005,
           "deltacheck_first_s": 0.2, "jax_check_grads_first_s": 2.0, "torch_gradcheck_first_s": None,
           "torch_gradcheck_fast_first_s": 0.1,
           "passed": {"deltacheck": True, "jax_check_grads": False, "torch_gradcheck": None,
                      "torch_gradcheck_fast": True},
           "checks": {"deltacheck": "d", "jax_check_grads": "j", "torch_gradcheck": "t",
                      "torch_gradcheck_fast": "f"},
           "skipped": {"torch_gradcheck": "not run: too slow"}, "deltacheck_over_fastest_peer": 0.4}
    text = bench.checks_table([row], env)
    assert "10.00 ms FALSE FAIL" in text and "not run" in text and "not run: too slow" in text
    assert "AVX-512" in text and "OPENBLAS_CORETYPE unset" in text
    assert "target warm deltacheck check <= the fastest peer: met" in text


@pytest.mark.parametrize("args, message", [(("--sizes", "huge"), "unknown size"),
                                           (("--checks", "--sizes", "tiny-b8"), "unknown size"),
                                           (("--checks", "--dtypes", "float32"), "float64"),
                                           (("--blas-threads", "1"), "before NumPy loads")])
def test_bad_arguments_are_usage_errors(capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        bench.main(list(args))
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_doc_table_is_replaced_between_its_markers(tmp_path):
    doc = tmp_path / "performance.md"
    doc.write_text("intro\n<!-- bench openblas-x -->\nold\n<!-- /bench openblas-x -->\nafter\n")
    bench.update_doc(doc, "openblas-x", "| new |")
    assert doc.read_text() == "intro\n<!-- bench openblas-x -->\n```text\n| new |\n```\n<!-- /bench openblas-x -->\nafter\n"
    # A new key gets its own markers at the end; the old table stays.
    bench.update_doc(doc, "openblas-y", "| y |")
    text = doc.read_text()
    assert text.startswith("intro\n<!-- bench openblas-x -->\n```text\n| new |")
    assert text.endswith("after\n\n<!-- bench openblas-y -->\n```text\n| y |\n```\n<!-- /bench openblas-y -->\n")
    # Unpaired markers are an error, not a guess.
    doc.write_text("<!-- bench openblas-z -->\nwritten by hand\n")
    with pytest.raises(ValueError, match="<!-- /bench openblas-z -->"):
        bench.update_doc(doc, "openblas-z", "| z |")
    assert doc.read_text() == "<!-- bench openblas-z -->\nwritten by hand\n"


def test_missing_doc_is_created_with_its_markers(tmp_path):
    doc = tmp_path / "docs" / "performance.md"
    bench.update_doc(doc, "checks-openblas-zen", "| t |")
    text = doc.read_text()
    assert text.startswith("# Performance\n")
    assert "<!-- bench checks-openblas-zen -->\n```text\n| t |\n```\n<!-- /bench checks-openblas-zen -->\n" in text


def test_doc_keys_name_the_blas_configuration():
    assert bench.doc_key({"blas_core": "Haswell", "blas_coretype_env": "Haswell"}) == "openblas-haswell-forced"
    assert bench.doc_key({"blas_core": "SkylakeX", "blas_coretype_env": None}) == "openblas-skylakex"
    assert bench.doc_key({"blas_core": "Zen", "blas_coretype_env": None}, "checks") == "checks-openblas-zen"
    assert bench.doc_key({"blas_core": "Zen", "blas_coretype_env": None, "keep_freed_memory": True},
                         "checks") == "checks-openblas-zen-keep-freed-memory"


def test_remembered_directions_are_the_ones_drawn_afresh():
    # reference.numerical keeps unit directions per (int seed, K, n_params, dtype)
    # for speed; the values must be exactly what a fresh draw gives, and what
    # callers get must be theirs to modify.
    import numpy as np

    import manual_bp as bp
    from reference import numerical

    net = bp.Network((3, 4, 2), ("tanh", "identity"), "squared_error")
    params = bp.init_params(net, seed=1)
    x, y = np.ones((2, 3)), np.zeros((2, 2))
    numerical._DIRECTIONS.clear()
    d1, v1 = numerical.directional_derivatives(net, params, x, y, n_directions=3, seed=7)
    assert len(numerical._DIRECTIONS) == 1
    v1[0][0][...] = 99.0  # the caller's copy, not the remembered one
    d2, v2 = numerical.directional_derivatives(net, params, x, y, n_directions=3, seed=7)
    numerical._DIRECTIONS.clear()
    d3, v3 = numerical.directional_derivatives(net, params, x, y, n_directions=3, seed=7)
    assert np.array_equal(d1, d3) and np.array_equal(d2, d3)
    for (VW2, Vb2), (VW3, Vb3) in zip(v2, v3):
        assert np.array_equal(VW2, VW3) and np.array_equal(Vb2, Vb3)
        assert VW2.flags.writeable
    # A Generator is drawn from every time: its state moves on.
    rng = np.random.default_rng(7)
    _, g1 = numerical.directional_derivatives(net, params, x, y, n_directions=3, seed=rng)
    _, g2 = numerical.directional_derivatives(net, params, x, y, n_directions=3, seed=rng)
    assert not np.array_equal(g1[0][0], g2[0][0])
    assert bench.doc_key({"blas_core": "Zen", "blas_coretype_env": None, "blas_threads_env": "1"}) == "openblas-zen-1thread"


def test_check_parts_times_every_part_of_a_check(capsys):
    # scripts/check_parts.py (where a check's time goes; docs/performance.md quotes it), in-process on tiny.
    import check_parts

    assert check_parts.main(["--size", "tiny", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    for part in ("validate the inputs", "candidate", "jax.grad", "every 8th row", "whole batch", "directional",
                 "whole check"):
        assert part in out
    assert out.count(" ms ") == 7 and out.count("page faults") == 7
    with pytest.raises(SystemExit):
        check_parts.main(["--size", "huge"])
