"""``deltacheck sweep N``: manual_bp against the oracles on N random networks drawn by Hypothesis.

The draws come from ``reference.strategies.problems`` (needs hypothesis); a
failure is shrunk by Hypothesis to the smallest failing network and its full
report printed.
"""
from __future__ import annotations

import argparse

from deltacheck._args import UsageError

__all__ = ["run", "run_sweep"]

#: Keep relu pre-activations this far from the kink (as the test suite does).
_KINK_MARGIN = 1e-3
#: Announce the run (what, roughly how long) when it is estimated to take longer than this.
_ANNOUNCE_SECONDS = 5.0


def run(args: argparse.Namespace) -> int:
    return run_sweep(args.n, seed=args.seed, dtype=args.dtype, numerical=args.numerical,
                     directions=args.directions, json_out=args.json)


def run_sweep(n: int, *, seed: int, dtype: str, numerical: str, directions: int, json_out: bool) -> int:
    import random
    import time

    try:
        from hypothesis import HealthCheck, Phase, find, settings
        from hypothesis.errors import NoSuchExample
    except ImportError:
        raise UsageError("sweep needs hypothesis: pip install \"deltacheck[test]\"") from None
    import numpy as np

    from reference import strategies as dst
    from reference.comparison import LABELS, compare

    from ._progress import announce, bar, human_seconds
    from .compare import emit

    dtype = np.dtype(dtype)
    strategy = dst.problems(kink_margin=_KINK_MARGIN, dtype=dtype)
    kw = {"numerical": numerical, "n_directions": directions, "seed": seed}
    seen = []
    progress = None
    started = [0.0]

    def record(p) -> bool:
        seen.append((p, compare(p.net, p.params, p.x, p.y, **kw)))
        nonlocal progress
        if len(seen) == 2:
            # The first problem pays JAX's compilation; the second shows the pace of the rest.
            per = time.perf_counter() - started[0]
            if per * (n - 2) > _ANNOUNCE_SECONDS and not json_out:
                announce(f"sweep: {n} random problems ({dtype.name}); roughly {human_seconds(per * (n - 2))} "
                         "more, at the pace of the first")
            progress = bar(n, "sweep")
            progress.update(2)
        elif progress is not None:
            progress.update()
        started[0] = time.perf_counter()
        return False  # never "found": find() then draws all N examples

    quiet = {"database": None, "deadline": None, "suppress_health_check": list(HealthCheck)}
    started[0] = time.perf_counter()
    try:
        find(strategy, record, settings=settings(max_examples=n, phases=[Phase.generate], **quiet),
             random=random.Random(seed))
    except NoSuchExample:
        pass
    if progress is not None:
        progress.close()

    failing = [(p, r) for p, r in seen if not r.ok]
    smallest = None
    if failing:
        # Replay the same draws, now stopping at the first failure, and let
        # Hypothesis shrink it towards the smallest failing network.
        def fails(p) -> bool:
            return not compare(p.net, p.params, p.x, p.y, **kw).ok

        try:
            p = find(strategy, fails, settings=settings(max_examples=n, **quiet), random=random.Random(seed))
        except NoSuchExample:
            p = min((p for p, _ in failing), key=lambda p: (sum(p.net.sizes), p.x.shape[0]))
        smallest = (p, compare(p.net, p.params, p.x, p.y, **kw))

    # Rank by the fraction of the tolerance used, not by relative error, which
    # reads 100% for a 1e-17 residue on an exactly-zero gradient.
    worst = {}
    for p, r in seen:
        rel = r.worst_errors()
        for o, v in r.tolerance_used().items():
            if v is not None and v > worst.get(o, (-1.0, None, None))[0]:
                worst[o] = (v, rel.get(o), p)
    blamed = sum(any(o.status == "blamed" for o in r.oracles) for _, r in seen)
    agreed = len(seen) - len(failing)
    archs = len({p.net.describe() for p, _ in seen})
    if json_out:
        emit({
            "schema": "deltacheck.compare-sweep/1", "n": len(seen), "agreed": agreed, "disagreed": len(failing),
            "architectures": archs, "dtype": dtype.name, "oracle_blamed": blamed,
            "worst": {o: {"tolerance_used": v, "max_rel": rel, "problem": repr(p)}
                      for o, (v, rel, p) in worst.items()},
            "smallest_failing": None if smallest is None else {"problem": repr(smallest[0]),
                                                               "report": smallest[1].to_dict()},
            "ok": not failing,
        })
    else:
        print(f"sweep: {len(seen)} random problems from reference.strategies.problems ({dtype.name}, "
              f"{archs} distinct architectures, relu pre-activations kept {_KINK_MARGIN:g} from the kink)")
        print(f"  agreed: {agreed} of {len(seen)}")
        print("  worst case per oracle, as max|Δ| / tolerance bound (below 1 agrees):")
        for o, (v, rel, p) in worst.items():
            print(f"    vs {LABELS[o]:<14} {v:.2e} of the bound  {p!r}")
        if blamed:
            print(f"  a numerical oracle was blamed (not the candidate) in {blamed} problem(s)")
        if smallest is None:
            print("  smallest failing case: none")
        else:
            print(f"  smallest failing case: {smallest[0]!r}\n")
            print(smallest[1])
    return 1 if failing else 0
