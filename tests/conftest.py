"""Hypothesis profiles, registered once; pick one with ``HYPOTHESIS_PROFILE``.

- ``dev``: fast feedback while editing (about 10 s for the whole suite).
- ``ci``: the default, also under CI; the cross-check properties see at
  least 1,000 distinct architectures.  Derandomised, so CI is reproducible.
- ``thorough``: long campaigns (100,000 examples per property); uses the
  example database so failures found once are replayed first.

Expensive properties scale their example count from the profile with
:func:`examples`, so every profile keeps its relative budget.
"""
from __future__ import annotations

import os
from collections import defaultdict

from hypothesis import HealthCheck, settings

_COMMON = dict(
    deadline=None,  # the first call for a new shape pays JAX dispatch/compile costs
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.register_profile("dev", max_examples=100, **_COMMON)
settings.register_profile("ci", max_examples=1500, derandomize=True, print_blob=True, **_COMMON)
settings.register_profile("thorough", max_examples=100_000, print_blob=True, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def examples(fraction: float, *, minimum: int = 10) -> int:
    """``fraction`` of the active profile's ``max_examples`` (at least ``minimum``)."""
    return max(minimum, int(settings.default.max_examples * fraction))


#: Distinct architectures each oracle has cross-checked this session, by oracle.
CHECKED: dict[str, set] = defaultdict(set)


def pytest_terminal_summary(terminalreporter):
    if not CHECKED:
        return
    terminalreporter.section("deltacheck coverage")
    for oracle, archs in sorted(CHECKED.items()):
        terminalreporter.write_line(f"{oracle}: {len(archs)} distinct architectures cross-checked")
