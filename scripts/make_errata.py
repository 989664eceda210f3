#!/usr/bin/env python3
"""Regenerate docs/errata.md (a thin wrapper around ``deltacheck errata``).

    python scripts/make_errata.py [--check]

``--check`` writes nothing and exits 1 when the committed page is out of date.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from deltacheck import main  # noqa: E402

PAGE = str(ROOT / "docs" / "errata.md")

if __name__ == "__main__":
    args = sys.argv[1:]
    if args in ([], ["--check"]):
        sys.exit(main(["errata", "--check" if args else "--output", PAGE]))
    sys.exit(main(["errata", *args]))
