"""``deltacheck example`` and ``deltacheck errata``: shipped ids work from any directory (a real process
outside the repository: tests/test_cli_real_process.py); exit codes."""
from __future__ import annotations

import json

import pytest

from _cli import ROOT, assert_usage_error, cli
from reference._resources import EXAMPLES_DIR, example_ids


def test_every_shipped_example_by_id_exits_1_for_its_wrong_claims(capsys):
    # docs/errata.md lists wrong claims for every shipped example (tests/test_worked_examples.py pins which).
    assert example_ids()
    for name in example_ids():
        code, out, err = cli(capsys, "example", name)
        assert code == 1, (name, err)
        assert "wrong" in out.splitlines()[-1]


def test_a_path_works_like_an_id_and_json(capsys):
    code, out, _ = cli(capsys, "example", EXAMPLES_DIR / "doc002_2-2-1_linear.toml", "--json")
    assert code == 1
    d = json.loads(out)
    # Document 002's file: 24 claims (18 numbers, 6 printed expressions), of which
    # two are wrong (docs/worked-examples.md; tests/test_worked_examples.py derives each by hand).
    assert len(d["claims"]) == 24 and d["counts"]["wrong"] == 2


def test_list(capsys):
    code, out, _ = cli(capsys, "example", "--list")
    assert code == 0 and out.split() == example_ids()


@pytest.mark.parametrize("args", [[], ["no_such_example"], ["doc002_2-2-1_linear", "--list"]])
def test_bad_usage(capsys, args):
    assert_usage_error(*cli(capsys, "example", *args), prog="deltacheck example")


def test_errata_output_and_a_stale_file(capsys, tmp_path):
    # (a real process: tests/test_worked_examples.py runs scripts/make_errata.py --check)
    page = tmp_path / "errata.md"
    code, out, _ = cli(capsys, "errata", "--output", page)
    assert code == 0 and page.read_text(encoding="utf-8") == (ROOT / "docs" / "errata.md").read_text(encoding="utf-8")
    page.write_text("stale\n")
    code, _, err = cli(capsys, "errata", "--check", page)
    assert code == 1 and "out of date" in err
    assert_usage_error(*cli(capsys, "errata", "--output", tmp_path / "no" / "dir.md"), prog="deltacheck errata")
