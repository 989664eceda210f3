"""The mutation gate: mutmut over manual_bp, scored, survivors explained.

    pip install -e ".[test,mutation]"
    python scripts/mutation_gate.py              # fresh run, ~6 min on 2 cores
    python scripts/mutation_gate.py --resume     # re-use mutants/ (only changed code re-runs)
    python scripts/mutation_gate.py --report     # summarise the last run, run nothing
    python scripts/mutation_gate.py --only 'manual_bp.backprop.*'   # some mutants again

mutmut's configuration is ``[tool.mutmut]`` in pyproject.toml: it mutates
``manual_bp`` (in a copy under ``mutants/``) and runs the NumPy-only test
selection there (tests/test_mutation_gate.py, test_manual_properties.py,
test_bad_input.py, the NumPy tests of test_extremes.py) under the ``gate``
Hypothesis profile (dev with 100 examples) with a fixed seed.
This script sets the environment that selection expects
(``DELTACHECK_MUTATION_GATE=1``; ``JAX_PLATFORMS`` pointing nowhere, so any
JAX computation fails loudly instead of forking XLA), runs mutmut, and
prints the score of each group of functions.  It exits 1 if a mutant of the
derivative and update code survives without matching a rule of
:data:`EQUIVALENT` (each says why no test can kill such a mutant), 2 if mutmut
could not run or its kills cannot be trusted (see :func:`unselectable_tests`).
docs/mutation.md records the last measured score.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"

#: (group, regex on mutmut's mangled function name ``module.xǁClassǁmethod`` /
#: ``module.x_function``), first match wins.  The first group is the gate's target.
GROUPS = [
    ("derivative & update", r"activations\.xǁ\w+ǁ(derivative|vjp)$|losses\.xǁ\w+ǁ(grad_a|output_delta)$"
                            r"|backprop\.x__(backward|param_grads)$|training\.x_(sgd_step|_update)$"
                            r"|network\.xǁNetworkǁ(batch_scale|scale)$"
                            r"|perceptron\.x_(perceptron_gradient|train_perceptron|_misclassified)$"),
    ("forward & loss values", r"activations\.xǁ\w+ǁ(value|log_value)$|losses\.xǁ\w+ǁvalue$"
                              r"|backprop\.x__(forward|loss_from)$|perceptron\.x_(step|perceptron_\w+)$"),
    ("training loop", r"training\."),
    ("validation & the rest", r"."),
]
TARGET = GROUPS[0][0]

#: Surviving mutants that no test can kill: (function regex, regex on the
#: mutated line, why the mutant computes the same thing).  Rules, not mutant
#: names, so they survive mutmut renumbering after a code change; they only
#: ever classify *survivors*, and docs/mutation.md argues each one.
EQUIVALENT = [
    (r".", r"\(out is None\) or True|\(keep\) or True",
     "allocates a new array where the original reuses a buffer: same values"),
    (r"perceptron\.", r"[*/] t\[",
     "t is validated to be ±1, and v/±1 == v·±1 exactly"),
    (r"activations\.xǁSigmoidǁvalue", r"under=None|errstate\(over=\"ignore\", \)",
     "numpy's default for underflow is already 'ignore'"),
    (r"backprop\.x__backward", r"if s != 2\.0",
     "s is 1, ½, 1/N or 1/(2N), never 2, and δ·1.0 is exact: it only skips a no-op"),
    (r"activations\.xǁLeakyReLUǁvalue", r"where=z < 0",
     "at z = 0 both branches give 0 (slope·0 == 0)"),
    (r"training\.x_train|_validate\.x_make_rng", r"isinstance\(seed, np\.random\.Generator\)\) and False",
     "np.random.default_rng(g) returns the Generator g itself"),
    (r"perceptron\.", r"to_float\(\w+, None,",
     "np.dtype(None) is float64, the dtype asked for"),
    (r"_validate\.x_(to_float|_cast)", r"if arr\.dtype != dtype or arr\.size",
     "an array already of the target dtype is within its range: the extra check never fires"),
    (r"_validate\.x__check_finite_leaves", r"<= _CONCAT_FINITE_MAX|< _CONCAT_FINITE_MAX",
     "at exactly the threshold both finiteness paths run and give the same answer; only the speed differs"),
    (r"_validate\.x_check_y", r"arr\.dtype\.kind == \"u\" and arr\.max\(\) > n_out",
     "a label equal to n_out is refused anyway: indexing the one-hot with it raises IndexError"),
    (r"_validate\.x_check_batch", r"x=x if \(x\.dtype\.kind == \"f\"\) or True",
     "integer x is always finite: checking it too changes nothing"),
    (r"_validate\.", r"kind (not )?in \"XX",
     "no numpy dtype kind is 'X'"),
    (r"network\.xǁNetworkǁ__post_init__", r"'XX or XX'\.join|' OR '\.join",
     "every loss that restricts its output layer allows exactly one activation: no separator is printed"),
    (r"perceptron\.", r"\.astype\(None\)",
     "astype(None) is astype(float64), what the line asks for"),
    (r"_validate\.x_check_y", r"worst >= ROW_SUM_TOL",
     "|Σy − 1| of a row summing to about 1 is a multiple of 2⁻⁵³ (float64) or 2⁻²⁴ (float32); "
     "1e-6 and 1e-4 (rounded to either precision) are not, so it never equals the tolerance"),
]
# Mutants that only change where a result is stored (out=, copy=, keep_z=):
# same values, unless the call also has where= (then out=None leaves garbage).
_BUFFER_ARGS = re.compile(r"\b(out|copy|keep_z)=(None if \w+ else \w+|None|True|False|\w+(\[[^]]*\])?)\s*")


def _equivalence(mutant: str, diff: str) -> str | None:
    """Why a surviving mutant is equivalent, or None."""
    removed = [line[1:] for line in diff.splitlines() if line.startswith("-")]
    added = [line[1:] for line in diff.splitlines() if line.startswith("+")]
    function = _function_of(mutant)
    for fn_pattern, line_pattern, reason in EQUIVALENT:
        if re.search(fn_pattern, function) and any(re.search(line_pattern, line) for line in added):
            return reason
    def strip(line):
        return re.sub(r",\s*\)", ")", _BUFFER_ARGS.sub("", line)).replace(" ", "")
    if (len(removed) == len(added) == 1 and "where=" not in removed[0]
            and strip(removed[0]) == strip(added[0])):
        return "only changes where the result is stored (out=/copy=/keep_z=): same values"
    return None


# The environment the gate's test selection expects (see tests/test_mutation_gate.py).
GATE_ENV = {
    "DELTACHECK_MUTATION_GATE": "1",
    "HYPOTHESIS_PROFILE": "gate",
    "JAX_PLATFORMS": "none-in-the-mutation-gate",
}

KILLED, SURVIVED, NO_TESTS, TIMEOUT = "killed", "survived", "no tests", "timeout"


def _status(code) -> str:
    # mutmut's exit codes (mutmut/stats.py): 1 and 3 are test failures.
    return {1: KILLED, 3: KILLED, 0: SURVIVED, 5: NO_TESTS, 33: NO_TESTS, 36: TIMEOUT, 24: TIMEOUT,
            -24: TIMEOUT, 152: TIMEOUT, 255: TIMEOUT, None: "not checked"}.get(code, f"suspicious ({code})")


def _function_of(mutant: str) -> str:
    return mutant.rsplit("__mutmut_", 1)[0]


def _group_of(mutant: str) -> str:
    name = _function_of(mutant)
    return next(group for group, pattern in GROUPS if re.search(pattern, name))


def load_results() -> dict[str, str]:
    """``{mutant name: status}`` from mutmut's per-file ``.meta`` records."""
    results = {}
    for meta in sorted(MUTANTS.rglob("*.py.meta")):
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            results[name] = _status(code)
    return results


def _diff(mutant: str) -> str:
    out = subprocess.run([sys.executable, "-m", "mutmut", "show", mutant], cwd=ROOT, capture_output=True, text=True)
    lines = [line for line in out.stdout.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    return "\n".join(lines) or out.stdout.strip()


# mutmut runs pytest.main again and again in one process, and re-selects each
# mutant's tests by the ids it recorded.  In a second pytest.main, an id that
# pytest had to escape (non-ASCII, or backslashes from a regex) is not found:
# the run stops with a usage error, which mutmut counts as a kill.
_SELECT_TWICE = """
import json, sys, tomllib, pytest
selection = tomllib.load(open("pyproject.toml", "rb"))["tool"]["mutmut"]["pytest_add_cli_args_test_selection"]
ids = sorted(json.load(open("mutmut-stats.json"))["duration_by_test"])
pytest.main(["--collect-only", "-qq", "-p", "no:cacheprovider", *selection])
sys.exit(pytest.main(["--collect-only", "-qq", "-p", "no:cacheprovider", *ids]))
"""


def unselectable_tests() -> list[str]:
    """Recorded test ids that mutmut could not select again (see _SELECT_TWICE)."""
    out = subprocess.run([sys.executable, "-c", _SELECT_TWICE], cwd=MUTANTS, env={**os.environ, **GATE_ENV},
                         capture_output=True, text=True)
    if out.returncode == 0:
        return []
    text = out.stdout + out.stderr
    return [line for line in text.splitlines() if "not found" in line] or [text[-2000:]]


def report(results: dict[str, str], seconds: float | None) -> int:
    by_group: dict[str, Counter] = defaultdict(Counter)
    open_: dict[str, list[str]] = defaultdict(list)
    equivalent: list[tuple[str, str, str]] = []
    for name, status in sorted(results.items()):
        group = _group_of(name)
        if status == SURVIVED:
            diff = _diff(name)
            reason = _equivalence(name, diff)
            if reason:
                status = "equivalent"
                equivalent.append((name, diff, reason))
        by_group[group][status] += 1
        if status not in (KILLED, TIMEOUT, "equivalent"):
            open_[group].append(name)
    print()
    print("mutation gate: mutmut over manual_bp, HYPOTHESIS_PROFILE=gate"
          + (f", {seconds / 60:.1f} min" if seconds else ""))
    print("  (score = killed / (all − equivalent); timeouts count as killed)")
    total = Counter()
    for group, _ in GROUPS:
        total.update(by_group[group])
        print("  " + _score_line(group, by_group[group]))
    print("  " + _score_line("all of manual_bp", total))
    if os.environ.get("MUTATION_GATE_VERBOSE"):
        print("\nequivalent (by the rules in EQUIVALENT):")
        for name, diff, reason in equivalent:
            print(f"  {name}: {reason}\n    " + diff.replace("\n", "\n    "))
    for group, _ in GROUPS:
        if open_[group]:
            print(f"\nnot killed in {group} ({len(open_[group])}):")
            for name in open_[group]:
                print(f"  {name}: {results[name]}")
                if group == TARGET or os.environ.get("MUTATION_GATE_VERBOSE"):
                    print("    " + _diff(name).replace("\n", "\n    "))
    failed = bool(open_[TARGET])
    print(f"\ngate {'FAILED' if failed else 'passed'}: "
          + ("a derivative/update mutant survives and is not shown equivalent" if failed
             else "every derivative/update mutant is killed or shown equivalent"))
    return 1 if failed else 0


def _score_line(label: str, c: Counter) -> str:
    detected = c[KILLED] + c[TIMEOUT]
    n = sum(c.values()) - c["equivalent"]
    extra = ", ".join(f"{v} {k}" for k, v in sorted(c.items()) if k != KILLED)
    return f"{label:24s} {detected:5d}/{n:<5d} killed ({100 * detected / max(n, 1):5.1f}%)" + (f"  [{extra}]" if extra else "")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--resume", action="store_true", help="keep mutants/ from the last run (mutmut re-runs what changed)")
    ap.add_argument("--report", action="store_true", help="only summarise the results in mutants/")
    ap.add_argument("--max-children", type=int, default=os.cpu_count() or 2, help="parallel mutants (default: cores)")
    ap.add_argument("--only", nargs="+", metavar="GLOB",
                    help="run only these mutants, e.g. 'manual_bp.backprop.*' (implies --resume)")
    args = ap.parse_args(argv)
    seconds = None
    if not args.report:
        try:
            import mutmut  # noqa: F401
        except ImportError:
            print("mutation_gate: error: mutmut is not installed; pip install -e '.[mutation]'", file=sys.stderr)
            return 2
        if not (args.resume or args.only) and MUTANTS.exists():
            shutil.rmtree(MUTANTS)
        start = time.monotonic()
        run = subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(args.max_children),
                              *(args.only or [])], cwd=ROOT, env={**os.environ, **GATE_ENV})
        seconds = time.monotonic() - start
        if run.returncode != 0:
            print(f"mutation_gate: error: mutmut run exited with {run.returncode}", file=sys.stderr)
            return 2
    if not MUTANTS.exists():
        print("mutation_gate: error: no mutants/ directory; run without --report first", file=sys.stderr)
        return 2
    bad = unselectable_tests()
    if bad:
        print("mutation_gate: error: pytest cannot select these test ids again, so mutmut's runs of them fail "
              "and count as kills; give the tests plain ASCII ids:\n  " + "\n  ".join(bad), file=sys.stderr)
        return 2
    return report(load_results(), seconds)


if __name__ == "__main__":
    sys.exit(main())
