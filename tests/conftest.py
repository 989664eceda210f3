"""Hypothesis profiles, registered once; pick one with ``HYPOTHESIS_PROFILE``.

- ``dev``: fast feedback while editing (about 10 s for the whole suite).
- ``ci``: the default, also under CI; the cross-check properties see at
  least 1,000 distinct architectures.  Derandomised, so CI is reproducible.
- ``thorough``: long campaigns (100,000 examples per property); uses the
  example database so failures found once are replayed first.

Expensive properties scale their example count from the profile with
:func:`examples`, so every profile keeps its relative budget.

Environment variables (see the README's Performance section for campaigns):

- ``DELTACHECK_MAX_EXAMPLES``: override the profile's ``max_examples`` (a
  time-boxed campaign, a throughput measurement).
- ``DELTACHECK_DB``: the example database directory, default
  ``<repo>/.hypothesis/examples``.  An absolute path, so every pytest-xdist
  worker (and any working directory) reads and writes the same database.
- ``DELTACHECK_DB_SHARED``: further database directories, separated by
  ``os.pathsep``, replayed read-only: their failures are tried first,
  nothing is written to them.
- ``DELTACHECK_REDIS``: ``redis://host:port`` of a Redis server that every
  worker and machine shares (Hypothesis's ``RedisExampleDatabase``, extra
  ``campaign``): a failure found by one is replayed first by all.

Under pytest-xdist the coverage summary is merged from all workers.
"""
from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase, MultiplexedDatabase, ReadOnlyDatabase

# A user's own activation (softsign) and loss (log_cosh), registered before any
# test runs: every property that draws from the registry checks them too.
import user_plugin  # noqa: F401,E402

from reference._hypothesis_db import example_database  # noqa: E402


def _database():
    own = DirectoryBasedExampleDatabase(
        os.environ.get("DELTACHECK_DB") or Path(__file__).resolve().parents[1] / ".hypothesis" / "examples"
    )
    shared = [ReadOnlyDatabase(DirectoryBasedExampleDatabase(d))
              for d in os.environ.get("DELTACHECK_DB_SHARED", "").split(os.pathsep) if d]
    # DELTACHECK_REDIS=redis://host:port adds one Redis database that every worker and machine shares.
    return example_database(MultiplexedDatabase(own, *shared) if shared else own)


def _max_examples(default: int) -> int:
    return int(os.environ.get("DELTACHECK_MAX_EXAMPLES") or default)


_COMMON = dict(
    deadline=None,  # the first call for a new shape pays JAX dispatch/compile costs
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
# ci is derandomised, which implies no database.
settings.register_profile("dev", max_examples=_max_examples(100), database=_database(), **_COMMON)
settings.register_profile("ci", max_examples=_max_examples(1500), derandomize=True, print_blob=True, **_COMMON)
settings.register_profile("thorough", max_examples=_max_examples(100_000), print_blob=True,
                          database=_database(), **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def examples(fraction: float, *, minimum: int = 10) -> int:
    """``fraction`` of the active profile's ``max_examples`` (at least ``minimum``)."""
    return max(minimum, int(settings.default.max_examples * fraction))


#: Distinct architectures each oracle has cross-checked this session, by oracle.
CHECKED: dict[str, set] = defaultdict(set)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    # pytest-benchmark, where installed, warns while pytest configures that xdist
    # disables it; warnings are errors here and the suite has no such benchmarks.
    config.addinivalue_line("filterwarnings", "ignore:Benchmarks are automatically disabled")


def pytest_sessionfinish(session):
    # On a pytest-xdist worker: hand this worker's coverage to the controller.
    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput["deltacheck_checked"] = {k: sorted(v) for k, v in CHECKED.items()}


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    # On the pytest-xdist controller: merge each finished worker's coverage.
    for oracle, archs in getattr(node, "workeroutput", {}).get("deltacheck_checked", {}).items():
        CHECKED[oracle].update(archs)


def pytest_terminal_summary(terminalreporter):
    if not CHECKED:
        return
    terminalreporter.section("deltacheck coverage")
    for oracle, archs in sorted(CHECKED.items()):
        terminalreporter.write_line(f"{oracle}: {len(archs)} distinct architectures cross-checked")
