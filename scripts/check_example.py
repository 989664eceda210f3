#!/usr/bin/env python3
"""``deltacheck example FILE [--json] [--search]`` from a clone (a thin wrapper): a worked example's printed
claims, one by one.  Exit status 0 when no claim is wrong, 1 when any is, 2 on bad usage or an unreadable
file."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deltacheck import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["example", *sys.argv[1:]]))
