#!/usr/bin/env python3
"""Regenerate docs/errata.md from the worked-example files in examples/ and the documents' formulas.

    python scripts/make_errata.py [--check] [--output PATH]

The page has two generated parts: the worked examples' wrong claims
(``reference.worked_examples``), then the section "Formulas": every gradient
formula of ``reference.document_formulas`` run through the compare tool.

``--check`` writes nothing and exits 1 when the committed page is out of date.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reference.document_formulas import check_formulas, formula_errata_markdown  # noqa: E402
from reference._resources import EXAMPLES_DIR  # noqa: E402
from reference.worked_examples import ExampleFormatError, check_example, errata_markdown  # noqa: E402


def build(examples_dir: Path = EXAMPLES_DIR) -> str:
    files = sorted(examples_dir.glob("*.toml"))
    if not files:
        raise ExampleFormatError(f"no *.toml worked examples in {examples_dir}")
    examples = errata_markdown([check_example(f) for f in files])
    return examples + "\n" + formula_errata_markdown(check_formulas())


class ArgParser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def main(argv=None) -> int:
    parser = ArgParser(prog="make_errata.py", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is out of date; write nothing")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "errata.md")
    args = parser.parse_args(argv)
    try:
        text = build()
    except ExampleFormatError as exc:
        print(f"make_errata.py: error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
        if current != text:
            print(f"make_errata.py: {args.output} is out of date; run python scripts/make_errata.py", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
