"""``deltacheck example FILE|ID``: a worked example's printed claims, one by one.

Every claimed quantity is computed with manual_bp and cross-checked against
JAX; each claim gets a verdict (match, rounding, wrong) and, when wrong, the
likely cause.  A shipped example is named by its id (``deltacheck example
--list``).
"""
from __future__ import annotations

from deltacheck._args import UsageError

__all__ = ["run", "run_file"]

def run(args) -> int:
    from reference._resources import example_ids

    if args.list:
        if args.file:
            raise UsageError("--list takes no FILE")
        print("\n".join(example_ids()))
        return 0
    if not args.file:
        raise UsageError(f"give a worked-example FILE or a shipped id ({', '.join(example_ids())})")
    return run_file(args.file, json_out=args.json, search=args.search, full=args.full)


def run_file(name, *, json_out: bool, search: bool, full: bool = False) -> int:
    from reference._resources import example_path
    from reference.worked_examples import ExampleFormatError, check_example, format_report, search_setups

    from .compare import emit

    try:
        path = example_path(name)
        report = check_example(path)
    except (ExampleFormatError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    searched = search_setups(report.example) if search else None
    if json_out:
        out = report.to_dict()
        if searched is not None:
            out["search"] = searched
        emit(out)
    else:
        print(format_report(report, full=full))
        if searched is not None:
            print("\nsetups ranked by printed numbers reproduced (match or one unit in the last place):")
            for r in searched:
                print(f"  {r['reproduced']:3d}/{r['of']}  x {r['x']}, y {r['y']}, transposed {r['transposed'] or '-'}, "
                      f"negated {r['negated'] or '-'}")
    return 1 if report.any_wrong else 0
