"""DELTACHECK_REDIS: a failure one process finds is replayed first by another, through a real redis-server.

The test starts ``redis-server`` on a free loopback port (no persistence) and
stops it.  Process A (this one) runs a property that fails for n >= 1000,
finds and shrinks the failure and saves it in Redis; process B, a fresh
interpreter allowed only to *replay* (``phases=[Phase.reuse]``, no
generation), fails on exactly that example -- which it can only have got
from Redis.  A control run (here too) with the variable unset runs no example
at all, so the replay is not an accident.
"""
from __future__ import annotations

import importlib.util
import shutil
import socket
import subprocess
import sys
import time
import unittest
from pathlib import Path

import pytest

from _cli import child_env

PROPERTY = '''
import os
from hypothesis import Phase, given, settings, strategies as st
from reference._hypothesis_db import example_database

PHASES = [Phase.reuse] if os.environ.get("REPLAY_ONLY") else [Phase.reuse, Phase.generate, Phase.shrink]


# derandomize=False: in the suite's process the ci profile's derandomize (which turns the database off) is\n# otherwise inherited.\n@settings(database=example_database(None), phases=PHASES, max_examples=200, deadline=None, derandomize=False)
@given(st.integers(0, 10**6))
def test_property(n):
    with open(os.environ["SEEN"], "a") as fh:
        fh.write(f"{n}\\n")
    assert n < 1000
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (Debian: apt-get install redis-server; .ci/run installs it)")
    pytest.importorskip("redis", reason="the redis client is not installed (pip install \"deltacheck[campaign]\")")
    import redis

    port = _free_port()
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        else:
            pytest.skip(f"redis-server did not answer on port {port}")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        proc.terminate()
        proc.wait(timeout=10)


def _run(workdir: Path, seen: Path, **env):
    """The property in a fresh interpreter: ``pytest test_property.py`` in ``workdir``."""
    full = child_env(strip=("HYPOTHESIS", "DELTACHECK"), jax_cache=False) | {"SEEN": str(seen), **env}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_property.py"],
                          cwd=workdir, env=full, capture_output=True, text=True, timeout=300)


def _run_here(monkeypatch, workdir: Path, seen: Path, **env):
    """The property in this process: ``workdir/test_property.py`` imported afresh under ``env`` (read at import:
    the database and the phases) and called."""
    with monkeypatch.context() as m:
        for name in ("DELTACHECK_REDIS", "REPLAY_ONLY"):
            m.delenv(name, raising=False)
        for name, value in {"SEEN": str(seen), **env}.items():
            m.setenv(name, value)
        spec = importlib.util.spec_from_file_location(f"redis_property_{workdir.name}", workdir / "test_property.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.test_property()


def test_a_failure_found_by_one_process_is_replayed_first_by_another(tmp_path, redis_url, monkeypatch):
    for name in ("a", "b", "control"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "test_property.py").write_text(PROPERTY)
    with pytest.raises(AssertionError) as failure:
        _run_here(monkeypatch, tmp_path / "a", tmp_path / "a.seen", DELTACHECK_REDIS=redis_url)
    assert "n=1000" in "\n".join(failure.value.__notes__)  # found and shrunk to the boundary
    assert (tmp_path / "a.seen").read_text().split()[-1] == "1000"

    b = _run(tmp_path / "b", tmp_path / "b.seen", DELTACHECK_REDIS=redis_url, REPLAY_ONLY="1")
    assert b.returncode == 1, b.stdout + b.stderr
    seen = (tmp_path / "b.seen").read_text().split()
    assert seen[0] == "1000", seen  # the first example B ran is A's failure
    assert "n=1000" in b.stdout

    # Without Redis there is nothing to replay: Hypothesis runs no example and says so (a skip, as in pytest).
    with pytest.raises(unittest.SkipTest, match="no examples"):
        _run_here(monkeypatch, tmp_path / "control", tmp_path / "control.seen", REPLAY_ONLY="1")
    assert not (tmp_path / "control.seen").exists()


def test_unreachable_redis_is_one_clear_error(monkeypatch):
    pytest.importorskip("redis")
    from reference._hypothesis_db import example_database

    monkeypatch.setenv("DELTACHECK_REDIS", f"redis://127.0.0.1:{_free_port()}/0")
    with pytest.raises(ValueError, match="cannot reach Redis"):
        example_database(None)
    monkeypatch.setenv("DELTACHECK_REDIS", "http://nowhere")
    with pytest.raises(ValueError, match="expected redis://host:port"):
        example_database(None)
    monkeypatch.delenv("DELTACHECK_REDIS")
    assert example_database("local") == "local"
