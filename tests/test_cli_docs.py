"""The README and docs/: real output is regenerated (never stale), the Quickstart is two commands, links
resolve, the README stays short; the package's version and licence agree everywhere."""
from __future__ import annotations

import importlib.util
import re
import tomllib

import pytest

from _cli import ROOT

README = ROOT / "README.md"
#: Pages other helpers write in parallel (issues 13-15); linked from the README before they land.
_PENDING_PAGES = {"docs/tolerances.md", "docs/taylor.md", "docs/power.md"}


def _make_docs():
    spec = importlib.util.spec_from_file_location("make_docs", ROOT / "scripts" / "make_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_real_output_block_is_stale():
    stale = _make_docs().stale()
    assert stale == [], "run: python scripts/make_docs.py\n" + "\n".join(stale)


def test_a_stale_block_is_found(tmp_path):
    make_docs = _make_docs()
    page = tmp_path / "page.md"
    good = "intro\n<!-- make_docs bad-input -->\n```text\n" + make_docs.bad_input() + "```\n<!-- /make_docs -->\n"
    page.write_text(good, encoding="utf-8")
    assert make_docs.stale([page]) == []
    page.write_text(good.replace("got 0", "got 1"), encoding="utf-8")
    assert make_docs.stale([page]) == [f"{page}: block bad-input"]


def test_rounding_level_numbers_are_masked_but_others_are_not():
    make_docs = _make_docs()
    assert make_docs._masked("4.7e-16 3.1e-10 1.7e-07") == make_docs._masked("9.9e-16 1.0e-10 2.2e-07")
    assert make_docs._masked("rel 5.00e-01") != make_docs._masked("rel 2.50e-01")
    assert make_docs._masked("0.166667 (= 1/N)") != make_docs._masked("0.5 (= ½)")


def test_readme_is_short_and_its_quickstart_is_two_commands():
    text = README.read_text(encoding="utf-8")
    assert len(text) <= 15_000, len(text)
    quick = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", quick, re.S)
    assert [b.strip().count("\n") for b in blocks] == [0, 0], blocks  # exactly two one-line commands
    assert blocks[0].strip() == "pip install . && deltacheck compare"
    assert blocks[1].strip() == 'pip install ".[test]" && python -m pytest'


def test_links_resolve():
    pages = [README, *sorted((ROOT / "docs").glob("*.md"))]
    missing = []
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://")):
                continue
            path = (page.parent / target).resolve()
            rel = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
            if not path.exists() and rel not in _PENDING_PAGES:
                missing.append(f"{page.relative_to(ROOT)} -> {target}")
    assert missing == []


def test_the_sources_page_names_all_five_documents():
    text = (ROOT / "docs" / "sources.md").read_text(encoding="utf-8")
    for ident in ("000", "001", "002", "003", "004"):
        assert f"| {ident} |" in text


def test_version_and_licence_agree():
    import deltacheck
    import manual_bp
    import reference

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert deltacheck.__version__ == reference.__version__ == meta["version"]
    if hasattr(manual_bp, "__version__"):  # the lead adds manual_bp.__version__ (issue 11 report)
        assert manual_bp.__version__ == meta["version"]
    assert meta["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    assert meta["scripts"]["deltacheck"] == "deltacheck:main"


@pytest.mark.parametrize("page", ["README.md", "docs/cli.md", "docs/testing.md", "docs/worked-examples.md"])
def test_commands_in_the_docs_are_the_installed_command(page):
    # A pip user has no scripts/: compare, example and errata are shown as `deltacheck ...`.
    text = (ROOT / page).read_text(encoding="utf-8")
    assert "python scripts/compare.py" not in text and "python scripts/check_example.py" not in text
