"""Parse, run the subcommand's ``reference.cli`` module, and turn every ending into an exit status."""
from __future__ import annotations

import importlib
import os
import sys

from ._args import UsageError
from ._commands import build_parser

__all__ = ["main"]


def main(argv=None, *, prog: str = "deltacheck") -> int:
    from . import __version__

    parser = build_parser(__version__)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed in one line
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        print(f"{prog}: error: give a command: compare, sweep, example or errata (see {prog} --help)",
              file=sys.stderr)
        return 2
    where = f"{prog} {args.command}"
    try:
        run = importlib.import_module(f"reference.cli.{args.handler}").run
        code = run(args)
        sys.stdout.flush()  # inside the try: a pipe closed early fails here, not at exit
        return code
    except UsageError as exc:
        print(f"{where}: error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"{where}: error: out of memory for this network; choose smaller --sizes or --batch", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # Python flushes stdout once more at exit; pointing it at devnull lets that succeed.
        # 141 = 128 + SIGPIPE, what a shell reports for a tool killed by a closed pipe: never 1 (disagree).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
