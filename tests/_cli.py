"""Helpers for the CLI tests: run ``deltacheck`` in-process (``main(argv)``), a script wrapper in-process
(:func:`script_in_process`), or, where a real process proves something, in a fresh interpreter
(:func:`subprocess_cli_many`: several commands in one) with the environment of :func:`child_env`.

A child interpreter gets the suite's JAX compilation cache (``conftest.jax_cache_dir``): it reads back
what the suite has compiled instead of compiling again (about a second per child).  What a real process
proves -- the entry point, imports from the working directory, exit statuses, pipes -- does not depend on
where the compiled code comes from.  The one test about compilation itself (the README recipe under
Hypothesis's deadline) starts its child without the cache (``jax_cache=False``).
"""
from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

from conftest import jax_cache_dir

ROOT = Path(__file__).resolve().parents[1]


def cli(capsys, *args):
    """``(exit status, stdout, stderr)`` of ``deltacheck ARGS`` run in this process."""
    from deltacheck import main

    capsys.readouterr()
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def script_in_process(capsys, monkeypatch, script, *args):
    """``(exit status, stdout, stderr)`` of ``python scripts/SCRIPT ARGS``, the script's own file run in this
    process as ``__main__`` (its ``sys.path`` additions are undone afterwards)."""
    monkeypatch.setattr(sys, "argv", [script, *map(str, args)])
    monkeypatch.setattr(sys, "path", list(sys.path))
    capsys.readouterr()
    try:
        runpy.run_path(str(ROOT / "scripts" / script), run_name="__main__")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out, err = capsys.readouterr()
    return code, out, err


def child_env(*, strip=("DELTACHECK",), pythonpath=True, jax_cache=True) -> dict:
    """The environment of a child interpreter: this one's without the variables starting with ``strip``;
    with ``pythonpath``, this checkout first on ``PYTHONPATH`` (the editable install may point at another
    checkout); with ``jax_cache``, JAX's persistent compilation cache at the suite's (see the module notes)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(tuple(strip))}
    if pythonpath:
        env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    where = jax_cache_dir()
    if jax_cache and where:
        # JAX reads its options from JAX_<OPTION> variables; the same settings as conftest._jax_cache.
        env |= {"JAX_COMPILATION_CACHE_DIR": where, "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
                "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}
    else:
        for k in ("JAX_COMPILATION_CACHE_DIR", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS",
                  "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"):
            env.pop(k, None)
    return env


# One fresh interpreter, several invocations: each one's stdout and stderr captured apart.
_MANY = """
import contextlib, io, json, sys
from deltacheck import main
results = []
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    results.append([code, out.getvalue(), err.getvalue()])
print(json.dumps(results))
"""


def subprocess_cli_many(*argvs, cwd, timeout=300):
    """``[(exit status, stdout, stderr), ...]`` of ``deltacheck ARGV`` for each ``ARGV``, one after another in one
    fresh interpreter started in ``cwd`` with this checkout importable (``python -c``, so the working directory
    is on ``sys.path`` as with ``python -m``).  One interpreter and JAX import for several commands."""
    r = subprocess.run([sys.executable, "-c", _MANY, json.dumps([[str(a) for a in argv] for argv in argvs])],
                       cwd=cwd, env=child_env(), capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    return [tuple(result) for result in json.loads(r.stdout)]


def assert_usage_error(code, out, err, prog="deltacheck compare"):
    assert code == 2, (out, err)
    assert out == "" and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), err
