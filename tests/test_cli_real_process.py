"""Every ``deltacheck`` command in a real process started outside the repository.

The shipped resources (worked examples by id), imports from the working
directory (``--candidate``) and paths relative to it (``--params p.npz``)
must work in a fresh interpreter, not only in the suite's process, where the
repository and its test helpers are already imported.  One interpreter runs
the commands one after another (``tests/_cli.py`` ``subprocess_cli_many``:
one JAX import for all of them).  ``python -m deltacheck`` itself runs in
``tests/test_compare_cli.py`` (help, a closed pipe); each script wrapper runs
as a real process in its own test file (``compare.py``, ``check_example.py``,
``make_errata.py`` -- ``errata`` in a real process --, a trainer, ``bench.py``).
"""
from __future__ import annotations

import json

import numpy as np

from _cli import subprocess_cli_many
from test_cli_candidate import CANDIDATES
from test_cli_candidate import LINEAR as CANDIDATE_NET
from test_cli_files import B, DB, DW, W, X, Y
from test_cli_files import LINEAR as FILES_NET
from test_compare_cli import DOCUMENTS


def test_every_command_in_a_fresh_interpreter_outside_the_repo(tmp_path):
    (tmp_path / "mygrads.py").write_text(CANDIDATES)
    np.savez(tmp_path / "p.npz", W1=W, b1=B)
    np.savez(tmp_path / "d.npz", x=X, y=Y)
    np.savez(tmp_path / "g.npz", W1=DW, b1=DB)
    default, candidate, files, sweep, example = subprocess_cli_many(
        ["compare"],
        ["compare", *CANDIDATE_NET, "--candidate", "mygrads:by_hand"],
        ["compare", "--params", "p.npz", "--data", "d.npz", "--grads", "g.npz", *FILES_NET],
        ["sweep", "3", "--json"],
        ["example", "doc002_2-2-1_linear"],
        cwd=tmp_path)

    code, out, err = default  # the documents' networks
    assert code == 0, err
    for name in DOCUMENTS:
        (row,) = [line for line in out.splitlines() if line.startswith(name)]
        assert row.split()[-1] == "agree"
    assert "all 8 agree" in out and err == ""

    code, out, err = candidate  # a module where the user stands
    assert code == 0, err
    assert "mygrads.by_hand vs jax.grad" in out and "verdict: AGREE" in out

    code, out, err = files  # another program's outputs, paths relative to the working directory
    assert code == 0, err
    assert "verdict: AGREE" in out

    code, out, err = sweep
    assert code == 0, err
    d = json.loads(out)
    assert {"n", "agreed", "disagreed", "architectures", "worst", "smallest_failing", "ok"} <= set(d)
    assert (d["n"], d["agreed"], d["smallest_failing"], d["ok"]) == (3, 3, None, True)
    assert set(d["worst"]) == {"jax", "central", "complex_step"}

    code, out, err = example  # a shipped example by id; its wrong claims make the exit status 1
    assert code == 1, err
    assert "24 claims: 22 match, 0 rounding, 2 wrong" in out
