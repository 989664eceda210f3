"""``deltacheck errata``: the errata page (the shipped worked examples' wrong claims, then the documents'
formulas run through the compare tool), as Markdown on stdout or into a file; ``--check FILE`` compares."""
from __future__ import annotations

from pathlib import Path

from deltacheck._args import UsageError

__all__ = ["build", "run"]

def build(examples_dir=None) -> str:
    """The page's Markdown for the worked examples in ``examples_dir`` (default: the shipped ones)."""
    from reference._resources import EXAMPLES_DIR
    from reference.document_formulas import check_formulas, formula_errata_markdown
    from reference.worked_examples import ExampleFormatError, check_example, errata_markdown

    files = sorted(Path(examples_dir or EXAMPLES_DIR).glob("*.toml"))
    if not files:
        raise ExampleFormatError(f"no *.toml worked examples in {examples_dir or EXAMPLES_DIR}")
    return errata_markdown([check_example(f) for f in files]) + "\n" + formula_errata_markdown(check_formulas())


def run(args, *, regenerate: str = "deltacheck errata --output FILE") -> int:
    import sys

    from reference.worked_examples import ExampleFormatError

    try:
        text = build()
    except ExampleFormatError as exc:
        raise UsageError(str(exc)) from None
    if args.check:
        path = Path(args.check)
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current != text:
            print(f"{path} is out of date; run {regenerate.replace('FILE', str(path))}", file=sys.stderr)
            return 1
        return 0
    if args.output:
        path = Path(args.output)
        if not path.resolve().parent.is_dir():
            raise UsageError(f"--output: directory {str(path.parent)!r} does not exist")
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
        return 0
    sys.stdout.write(text)
    return 0
