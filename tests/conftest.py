"""Hypothesis profiles, registered once; pick one with ``HYPOTHESIS_PROFILE``.

- ``dev``: fast feedback while editing (about 30-35 s for the whole suite on 2 cores).
- ``ci``: the default, also under CI; the cross-check properties see at
  least 1,000 distinct architectures.  Derandomised, so CI is reproducible.
- ``thorough``: long campaigns (100,000 examples per property); uses the
  example database so failures found once are replayed first.
- ``gate``: the mutation gate's (``scripts/mutation_gate.py``): dev with 100
  examples per property, the budget its kill rates were measured with.

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
- ``DELTACHECK_JAX_CACHE``: JAX's persistent compilation cache, default
  ``<repo>/.pytest_cache/deltacheck-jax``; empty to switch it off.  The suite
  compiles the padded fast path once per dtype and the plain path per
  architecture (about 0.3 s each); the cache reads them back on the next run.
- ``DELTACHECK_WORKERS``: pytest-xdist workers for a whole-suite run
  (``python -m pytest`` with no paths, xdist installed, no ``-n``): ``auto``
  (default) is one per usable CPU, at most 4; ``0`` or ``1`` is one process.
  Workers take whole files (``--dist loadfile``, also for a bare ``-n N``).
  See :func:`_workers` and :func:`_distribute`.

Each xdist worker keeps OpenBLAS and XLA to one thread: the suite's arrays are
small, and two workers each starting two BLAS threads on two cores only wait
on each other.  Under pytest-xdist the coverage summary is merged from all workers.
"""
from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

# Before anything imports NumPy or starts JAX's backend: one thread each per
# xdist worker (the variables are read when the libraries load; a user's own
# settings win).
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import pytest  # noqa: E402
from hypothesis import HealthCheck, Phase, settings
from hypothesis.database import DirectoryBasedExampleDatabase, MultiplexedDatabase, ReadOnlyDatabase  # noqa: E402

_ROOT = Path(__file__).resolve().parents[1]


def jax_cache_dir() -> str | None:
    """JAX's persistent compilation cache directory for the suite and its child interpreters, or None (off)."""
    return os.environ.get("DELTACHECK_JAX_CACHE", str(_ROOT / ".pytest_cache" / "deltacheck-jax")) or None


def _jax_cache() -> None:
    """Point JAX's persistent compilation cache at :func:`jax_cache_dir` (see the module notes)."""
    where = jax_cache_dir()
    if not where:
        return
    import jax

    jax.config.update("jax_compilation_cache_dir", where)
    # Every compilation, not only those over a second: the fast path's take ~0.5 s
    # each on an idle machine, and read back they take milliseconds.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


# A user's own activation (softsign) and loss (log_cosh), registered before any
# test runs: every property that draws from the registry checks them too.
import user_plugin  # noqa: F401,E402

from reference._hypothesis_db import example_database  # noqa: E402


def _database():
    own = DirectoryBasedExampleDatabase(
        os.environ.get("DELTACHECK_DB") or _ROOT / ".hypothesis" / "examples"
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
# Every phase but explain: after shrinking a failure, Hypothesis's explain phase re-runs it many times to
# annotate which parts of the example did not matter -- a note for people, never a verdict.  The suite's
# expected failures (a wrong derivative that reference.check_activation must catch, which inherits these
# settings) spent ~3 s each there.  thorough keeps it: a campaign's rare failure deserves the explanation.
_NO_EXPLAIN = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink]
# ci is derandomised, which implies no database.
settings.register_profile("dev", max_examples=_max_examples(50), database=_database(), phases=_NO_EXPLAIN,
                          **_COMMON)
# The mutation gate's (scripts/mutation_gate.py): dev as it was when the gate was measured, 100 examples, so
# cutting dev for speed never weakens the gate (docs/mutation.md).
settings.register_profile("gate", max_examples=_max_examples(100), database=_database(), phases=_NO_EXPLAIN,
                          **_COMMON)
settings.register_profile("ci", max_examples=_max_examples(1500), derandomize=True, print_blob=True,
                          phases=_NO_EXPLAIN, **_COMMON)
settings.register_profile("thorough", max_examples=_max_examples(100_000), print_blob=True,
                          database=_database(), **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def examples(fraction: float, *, minimum: int = 10) -> int:
    """``fraction`` of the active profile's ``max_examples`` (at least ``minimum``)."""
    return max(minimum, int(settings.default.max_examples * fraction))


#: Distinct architectures each oracle has cross-checked this session, by oracle.
CHECKED: dict[str, set] = defaultdict(set)


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _workers() -> int:
    """Workers for a whole-suite run: ``DELTACHECK_WORKERS``, or one per usable CPU, at most 4.

    No longer by the load average: the one-minute average lags (it still
    counts the suite's own previous run) and, with whole files per worker
    (:func:`_distribute`), two workers beat one process even while another
    program keeps a core busy.  Measured on a 2-core AMD EPYC with another
    process using about one core: see docs/testing.md ("Suite time").  Up to
    4 on larger machines is an expectation, not a measurement.
    """
    want = os.environ.get("DELTACHECK_WORKERS", "auto")
    if want != "auto":
        return int(want)
    return min(_usable_cpus(), 4)


def _dist_given(config) -> bool:
    """Whether the command line (or ``PYTEST_ADDOPTS``) chose a ``--dist`` mode itself."""
    args = [*config.invocation_params.args, *os.environ.get("PYTEST_ADDOPTS", "").split()]
    return any(a == "-d" or a.startswith("--dist") for a in map(str, args))


def _distribute(config) -> None:
    """Turn on pytest-xdist's ``-n`` for whole-suite runs (``python -m pytest`` with no paths), whole files
    per worker.

    Only when pytest-xdist is installed and ``-n`` is not given; a run of chosen
    files stays in one process (two workers each importing JAX cost more than
    they save on a short selection).  ``DELTACHECK_WORKERS=0`` (or ``-n 0``)
    forces one process.

    Whole files (``--dist loadfile``, in collection order: see
    :data:`_LONG_FILES_FIRST`), also for ``-n N`` without a ``--dist`` of its
    own: a file's tests share module-level state (computed reports, JAX
    functions compiled for its shapes), which xdist's default ``load``
    recomputes in every worker that gets one of its tests -- measured, a dev
    run needed 117 s of CPU that way and 71 s by file.  A file's tests also
    stay together, so ``tests/test_crosscheck.py``'s coverage check runs
    beside the properties it counts.
    """
    if not config.pluginmanager.hasplugin("xdist") or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    o = config.option
    if getattr(o, "numprocesses", None) is not None:  # -n given (xdist has set its --dist to load if absent)
        if o.numprocesses and o.dist == "load" and not _dist_given(config):
            o.dist, o.loadscopereorder = "loadfile", False
        return
    if o.collectonly or getattr(o, "usepdb", False):
        return  # a mode xdist cannot serve
    if config.args_source is not pytest.Config.ArgsSource.TESTPATHS:
        return  # chosen files or directories
    workers = _workers()
    if workers < 2:
        return
    # What xdist's own pytest_cmdline_main does for -n N (it ran before conftests could act).
    o.numprocesses, o.tx = workers, ["popen"] * workers
    if o.dist == "no":
        o.dist, o.loadscopereorder = "loadfile", False  # files in the order of pytest_collection_modifyitems


#: The longest files, handed out first so that no worker is left running one of them alone at the end of
#: a run (longest processing time first); the rest follow in name order.  By measured seconds in ci and
#: dev runs: test_taylor.py ~37 s in ci; the others 4-13 s, several of them one or two long tests (a child
#: interpreter each).
_LONG_FILES_FIRST = ("test_taylor.py", "test_crosscheck.py", "test_reuse_recipe.py", "test_bench.py",
                     "test_bad_input.py", "test_extremes.py", "test_redis_db.py", "test_worked_examples.py",
                     "test_compare_cli.py")


def pytest_collection_modifyitems(config, items):
    # A stable sort: the files of _LONG_FILES_FIRST first, every file's tests in their own order.
    rank = {name: i for i, name in enumerate(_LONG_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def _import_project_modules() -> None:
    """Import every module of manual_bp, reference and deltacheck (but their ``__main__``) before any test.

    Hypothesis draws some values from a pool of constants it reads out of the local modules loaded so
    far, so a property's examples -- derandomised or not -- depended on which modules earlier tests had
    imported (the CLI's are imported lazily, by the CLI tests): the ci coverage count moved with the
    order of the files and with which files an xdist worker got.  With every module loaded up front the
    pool is the same in one process and in each worker.
    """
    import importlib
    import pkgutil

    for name in ("manual_bp", "reference", "deltacheck"):
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            if not info.name.endswith("__main__"):
                importlib.import_module(info.name)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    _distribute(config)
    if not getattr(config.option, "tx", None):  # not the controller of xdist workers, which runs no tests
        _jax_cache()
        _import_project_modules()
    # pytest-benchmark, where installed, warns while pytest configures that xdist
    # disables it; warnings are errors here and the suite has no such benchmarks.
    config.addinivalue_line("filterwarnings", "ignore:Benchmarks are automatically disabled")


@pytest.fixture(autouse=True)
def _registries_restored():
    """Each test leaves manual_bp's activation and loss registries as it found them.

    The strategies draw from the registry, so a registration that outlived its test (the README's
    derivation code registers ``isru`` when tests/test_cli_docs.py regenerates its output) changed what
    every later property drew: the coverage count depended on which files an xdist worker happened to run
    before tests/test_crosscheck.py.
    """
    from manual_bp import activations, losses

    saved = [(d, dict(d)) for d in (activations.ACTIVATIONS, activations._ALIASES, losses.LOSSES, losses._ALIASES)]
    yield
    for registry, before in saved:
        if registry != before:
            registry.clear()
            registry.update(before)


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
