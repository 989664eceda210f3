#!/usr/bin/env python3
"""``deltacheck compare`` from a clone (a thin wrapper; ``--sweep N`` and ``--example FILE`` are the older
spellings of ``deltacheck sweep N`` and ``deltacheck example FILE``).  ``--help`` lists every option."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deltacheck import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["compare", *sys.argv[1:]]))
