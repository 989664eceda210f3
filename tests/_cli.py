"""Helpers for the CLI tests: run ``deltacheck`` in-process (``main(argv)``) or, where a real process proves
something, as a subprocess from a directory outside the repository."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cli(capsys, *args):
    """``(exit status, stdout, stderr)`` of ``deltacheck ARGS`` run in this process."""
    from deltacheck import main

    capsys.readouterr()
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def subprocess_cli(*args, cwd, timeout=300, module="deltacheck"):
    """``python -m deltacheck ARGS`` in a fresh interpreter, with this checkout importable, from ``cwd``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DELTACHECK")}
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def assert_usage_error(code, out, err, prog="deltacheck compare"):
    assert code == 2, (out, err)
    assert out == "" and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), err
