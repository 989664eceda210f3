"""scripts/bench.py's README summaries: the Performance section's two blocks are regenerated, not typed.

Only shapes and the figures handed in are checked (timings are measured by the
script and read by people, never asserted here).
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import bench  # noqa: E402

ENV = {"date": "2026-11-30", "nproc": 2, "cpu": "AMD EPYC", "avx512": False, "blas_core": "Haswell",
       "blas_coretype_env": None, "blas_threads_env": None}


def _row(size, dc, peers, *, false_fail=()):
    names = ("jax_check_grads", "torch_gradcheck", "torch_gradcheck_fast")
    row = {"size": size, "deltacheck_s": dc, "deltacheck_first_s": 0.25, "skipped": {},
           "passed": {"deltacheck": True, **{n: n not in false_fail for n in names}}}
    row.update({f"{n}_s": peers.get(n) for n in names})
    return row


def test_checks_summary_names_the_fastest_peer_false_failures_and_the_machine():
    rows = [_row("tiny", 0.0021, {"jax_check_grads": 0.0105, "torch_gradcheck_fast": 0.0028}),
            _row("small-relu", 0.004, {"jax_check_grads": 0.0134}, false_fail=("jax_check_grads",))]
    text = bench.checks_summary(rows, ENV)
    lines = text.splitlines()
    assert lines[0].startswith("| network | deltacheck | fastest peer | first deltacheck call |")
    assert lines[2] == "| tiny 4-3-3 b8 | 2.10 ms | 2.80 ms (gradcheck fast) | 250.00 ms |"
    assert "13.40 ms (jax check_grads); jax check_grads failed the correct gradient" in lines[3]
    # The machine and the BLAS kernel stand beside the figures.
    assert "2 × AMD EPYC (AVX2), OpenBLAS Haswell kernel" in text and "bench.py --checks" in text


def test_suite_summary_reads_the_pytest_summary():
    rows = [{"profile": "ci", "wall_s": 101.4, "exit": 0, "load_before": 0.5, "summary": "831 passed in 100.2s",
             "architectures": {"float64": 1181, "float32": 305}},
            {"profile": "dev", "wall_s": 28.6, "exit": 1, "load_before": None, "summary": "1 failed, 830 passed",
             "architectures": {}}]
    text = bench.suite_summary(rows, ENV)
    assert "- `python -m pytest`: 101 s (831 passed, load 0.5 before; cross-checked 1,181 float64, 305 float32" in text
    # A failure is said, not hidden behind the count of passes.
    assert "- `HYPOTHESIS_PROFILE=dev python -m pytest`: 29 s (1 failed, 830 passed)" in text


def test_update_readme_replaces_only_its_block(tmp_path, monkeypatch):
    readme = tmp_path / "README.md"
    readme.write_text("head\n<!-- bench suite -->\nold\n<!-- /bench suite -->\ntail\n")
    monkeypatch.setattr(bench, "README", readme)
    bench.update_readme("suite", "new")
    assert readme.read_text() == "head\n<!-- bench suite -->\nnew\n<!-- /bench suite -->\ntail\n"
    with pytest.raises(ValueError, match="checks-summary"):
        bench.update_readme("checks-summary", "x")


def test_the_readme_has_each_block_once():
    text = (ROOT / "README.md").read_text()
    for key in ("checks-summary", "suite"):
        assert text.count(f"<!-- bench {key} -->") == 1 and text.count(f"<!-- /bench {key} -->") == 1
