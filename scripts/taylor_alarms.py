#!/usr/bin/env python3
"""Count the Taylor test's false "wrong" verdicts in float32, and its misses, on random problems.

    python scripts/taylor_alarms.py [--examples 10000]

The property of ``tests/test_taylor.py::test_one_leaf_scaled_float32`` run as a
measurement: random float32 problems (the suite's strategies, the test plugin's
softsign and log_cosh registered), one leaf's right gradient (the complex step)
scaled by 1.5, ``taylor_test(per_parameter=True)``; counts how often a *right*
leaf is called wrong and how often the scaled leaf gets no "wrong" verdict.
docs/taylor.md quotes its figures.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from _common import ArgParser, int_at_least  # noqa: E402


def main(argv=None) -> int:
    parser = ArgParser(prog="taylor_alarms.py", description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int_at_least(1), default=10_000, help="random problems (default 10000)")
    args = parser.parse_args(argv)

    import numpy as np
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    import reference
    import user_plugin  # noqa: F401  (softsign, log_cosh: drawn like the built-ins)
    from reference import strategies as dst
    from reference.taylor import taylor_test

    right_of = reference.complex_step_gradients
    counts = {"problems": 0, "right leaves": 0, "false wrong": 0, "planted not caught": 0}
    alarms = []

    def names(net):
        return [f"{k}{l + 1}" for l in range(net.n_layers) for k, on in (("W", True), ("b", net.bias[l])) if on]

    @settings(max_examples=args.examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(dst.problems(kink_margin=1e-3, max_depth=3, min_scale=0.3, dtype=np.float32), st.data())
    def run(p, data):
        name = data.draw(st.sampled_from(names(p.net)))
        l, k = int(name[1:]) - 1, "Wb".index(name[0])
        p64 = [(W.astype(np.float64), None if b is None else b.astype(np.float64)) for W, b in p.params]
        right = right_of(p.net, p64, p.x.astype(np.float64), p.y)
        wrong = [list(pair) for pair in right]
        wrong[l][k] = 1.5 * wrong[l][k]
        err = np.linalg.norm(wrong[l][k] - right[l][k])
        if not (err > 1e-3 * np.linalg.norm(right[l][k]) and err > 1e-6):  # as the test: a visible error
            return
        g = [tuple(None if v is None else v.astype(np.float32) for v in pair) for pair in wrong]
        r = taylor_test(p.net, p.params, p.x, p.y, gradients=g, per_parameter=True)
        verdicts = {q.name: q.ok for q in r.parameters}
        counts["problems"] += 1
        counts["planted not caught"] += verdicts[name] is not False
        for other in names(p.net):
            if other != name:
                counts["right leaves"] += 1
                if verdicts[other] is False:
                    counts["false wrong"] += 1
                    alarms.append(f"{p!r}: {name} scaled, {other} called wrong")

    run()
    print(", ".join(f"{k}: {v}" for k, v in counts.items()))
    for line in alarms:
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
