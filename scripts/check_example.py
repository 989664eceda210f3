#!/usr/bin/env python3
"""Check a worked-example file claim by claim.

    python scripts/check_example.py FILE [--json] [--search]

Computes every claimed quantity with manual_bp, cross-checks it against JAX,
and prints claim, quantity, printed value, computed value, verdict (match,
rounding, wrong) and, for a wrong claim, the likely cause.  ``--json`` prints
the same report as JSON.  ``--search`` also ranks candidate setups (input and
target scalings, transposed or negated weights) by how many printed numbers
they reproduce.

Exit status: 0 when no claim is wrong, 1 when any claim is wrong, 2 on bad
usage or an unreadable file (one line on stderr).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reference.worked_examples import ExampleFormatError, check_example, format_report, search_setups  # noqa: E402
from _common import ArgParser  # noqa: E402


def main(argv=None) -> int:
    parser = ArgParser(prog="check_example.py", description="Check a worked example's printed claims.")
    parser.add_argument("file", help="worked-example TOML file (see examples/README.md)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--search", action="store_true", help="also rank candidate setups the numbers follow from")
    parser.add_argument("--full", action="store_true", help="the true state of every setup: forward, deltas, terms")
    args = parser.parse_args(argv)
    try:
        report = check_example(args.file)
    except ExampleFormatError as exc:
        print(f"check_example.py: error: {exc}", file=sys.stderr)
        return 2
    searched = search_setups(report.example) if args.search else None
    if args.json:
        out = report.to_dict()
        if searched is not None:
            out["search"] = searched
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        print(format_report(report, full=args.full))
        if searched is not None:
            print("\nsetups ranked by printed numbers reproduced (match or one unit in the last place):")
            for r in searched:
                print(f"  {r['reproduced']:3d}/{r['of']}  x {r['x']}, y {r['y']}, transposed {r['transposed'] or '-'}, "
                      f"negated {r['negated'] or '-'}")
    return 1 if report.any_wrong else 0


if __name__ == "__main__":
    sys.exit(main())
