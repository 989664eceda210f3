"""scripts/bench.py runs and reports what the README's table is made of.

Only the output's shape is checked: timings are measured by the script and
read by people, never asserted here.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMES = ("manual_s", "jax_s", "floor_s")


def run_bench(*args):
    return subprocess.run([sys.executable, "scripts/bench.py", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_quick_json_has_one_row_per_tiny_size_and_dtype():
    r = run_bench("--quick", "--json", "--budget", "0.05", "--no-torch")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert isinstance(rows, list)
    assert [(row["size"], row["dtype"]) for row in rows] == [
        ("tiny-b1", "float64"), ("tiny-b1", "float32"), ("tiny-b8", "float64"), ("tiny-b8", "float32")]
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
        assert {"numpy", "blas", "jax", "cpu", "nproc", "date"} <= set(row["env"])


def test_table_names_the_machine_and_libraries():
    r = run_bench("--quick", "--budget", "0.05", "--no-torch", "--sizes", "tiny-b8", "--dtypes", "float64")
    assert r.returncode == 0, r.stderr
    assert "manual/floor" in r.stdout and "manual/jax" in r.stdout
    assert "numpy" in r.stdout and "jax" in r.stdout and "tiny-b8" in r.stdout


def test_unknown_size_is_a_usage_error():
    r = run_bench("--sizes", "huge")
    assert r.returncode == 2 and "unknown size" in r.stderr


def test_readme_table_is_replaced_between_its_markers(tmp_path):
    sys.path.insert(0, str(ROOT / "scripts"))
    import bench

    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- bench openblas-x -->\nold\n<!-- /bench openblas-x -->\nafter\n")
    bench.update_readme(readme, "openblas-x", "| new |")
    assert readme.read_text() == "intro\n<!-- bench openblas-x -->\n```text\n| new |\n```\n<!-- /bench openblas-x -->\nafter\n"
    try:
        bench.update_readme(readme, "openblas-y", "| new |")
    except ValueError as exc:
        assert "<!-- bench openblas-y -->" in str(exc)
    else:
        raise AssertionError("a missing marker must be an error")
    env = {"blas_core": "Haswell", "blas_coretype_env": "Haswell"}
    assert bench.readme_key(env) == "openblas-haswell-forced"
    assert bench.readme_key({"blas_core": "SkylakeX", "blas_coretype_env": None}) == "openblas-skylakex"
