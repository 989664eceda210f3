"""DELTACHECK_REDIS: a failure one process finds is replayed first by another, through a real redis-server.

The test starts ``redis-server`` on a free loopback port (no persistence) and
stops it.  Process A runs a property that fails for n >= 1000, finds and
shrinks the failure and saves it in Redis; process B, a fresh interpreter
allowed only to *replay* (``phases=[Phase.reuse]``, no generation), fails on
exactly that example -- which it can only have got from Redis.  A control run
with the variable unset passes, so the replay is not an accident.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PROPERTY = '''
import os
from hypothesis import Phase, given, settings, strategies as st
from reference._hypothesis_db import example_database

PHASES = [Phase.reuse] if os.environ.get("REPLAY_ONLY") else [Phase.reuse, Phase.generate, Phase.shrink]


@settings(database=example_database(None), phases=PHASES, max_examples=200, deadline=None)
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
    full = {k: v for k, v in os.environ.items() if not k.startswith(("HYPOTHESIS", "DELTACHECK"))}
    full |= {"PYTHONPATH": str(ROOT), "SEEN": str(seen), **env}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_property.py"],
                          cwd=workdir, env=full, capture_output=True, text=True, timeout=300)


def test_a_failure_found_by_one_process_is_replayed_first_by_another(tmp_path, redis_url):
    for name in ("a", "b", "control"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "test_property.py").write_text(PROPERTY)
    a = _run(tmp_path / "a", tmp_path / "a.seen", DELTACHECK_REDIS=redis_url)
    assert a.returncode == 1, a.stdout + a.stderr
    assert "n=1000" in a.stdout  # found and shrunk to the boundary

    b = _run(tmp_path / "b", tmp_path / "b.seen", DELTACHECK_REDIS=redis_url, REPLAY_ONLY="1")
    assert b.returncode == 1, b.stdout + b.stderr
    seen = (tmp_path / "b.seen").read_text().split()
    assert seen[0] == "1000", seen  # the first example B ran is A's failure
    assert "n=1000" in b.stdout

    control = _run(tmp_path / "control", tmp_path / "control.seen", REPLAY_ONLY="1")
    assert control.returncode == 0, control.stdout + control.stderr


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
