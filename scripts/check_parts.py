"""Where one complete check's time goes: each part of ``reference.check_gradients`` timed on its own.

    python scripts/check_parts.py [--size medium] [--repeats 15]

Prints, for one of ``bench.py --checks``'s networks (float64), the warm median time and the page faults
of: validating the inputs, the candidate (manual_bp), jax.grad, the rounding bound (of every 8th row, as
compare uses it from 128 rows, and of the whole batch), the directional oracle, and the whole check.
Run it with ``OPENBLAS_NUM_THREADS=1`` for one core's costs, and with ``MALLOC_MMAP_THRESHOLD_=33554432
MALLOC_TRIM_THRESHOLD_=268435456`` to see what page faults cost (docs/performance.md).
"""
from __future__ import annotations

import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ArgParser, int_at_least, run_main  # noqa: E402


def _timed(fn, repeats: int) -> tuple[float, float]:
    """Warm median seconds and mean page faults per call."""
    fn()
    times = []
    faults0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults0) / repeats


def main(argv=None) -> int:
    import bench

    parser = ArgParser(prog="check_parts.py", description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="medium", choices=list(bench.CHECK_CASES),
                        help="which of bench.py --checks's networks (default medium)")
    parser.add_argument("--repeats", type=int_at_least(1), default=15, help="timed calls per part (default 15)")
    args = parser.parse_args(argv)

    import numpy as np

    import manual_bp as bp
    import reference
    from reference import comparison, model, numerical, tolerances
    from reference._spec import check_all

    net, params, x, y, _ = bench.make_problem(bench.CHECK_CASES[args.size], np.float64)
    checked = check_all(net, params, x, y)
    rows = slice(None, None, comparison._BOUND_STRIDE)
    parts = {
        "validate the inputs (check_all)": lambda: check_all(net, params, x, y),
        "candidate (manual_bp.gradients)": lambda: bp.gradients(net, params, x, y),
        "jax.grad (dispatch and wait)": lambda: model._dispatch(*checked, copy=False)(),
        f"rounding bound, every {comparison._BOUND_STRIDE}th row": lambda: tolerances._derivative_bounds(*checked,
                                                                                                       rows=rows),
        "rounding bound, whole batch": lambda: tolerances._derivative_bounds(*checked),
        f"directional oracle ({comparison.N_DIRECTIONS} directions)": lambda: numerical.directional_derivatives(
            net, params, x, y, n_directions=comparison.N_DIRECTIONS, _checked=checked, _copy=False),
        "whole check, report formatted": lambda: str(reference.check_gradients(bp.gradients, net, params, x, y)),
    }
    print(f"{args.size}: {bench.CHECK_CASES[args.size].describe()}, float64; "
          f"warm median of {args.repeats} calls; {bench._env_line(bench.environment())}")
    width = max(map(len, parts))
    for name, fn in parts.items():
        seconds, faults = _timed(fn, args.repeats)
        print(f"  {name:<{width}}  {seconds * 1e3:8.2f} ms  {faults:8.0f} page faults")
    return 0


if __name__ == "__main__":
    run_main(main)
