"""Argument parsing shared by the ``deltacheck`` subcommands and the scripts: one-line usage errors (exit 2),
argparse types that name their bound, and the import of a user's module (``--candidate``, ``--plugin``).

Nothing heavy is imported here: ``deltacheck --help`` must not load NumPy or JAX.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from pathlib import Path

__all__ = ["ArgParser", "UsageError", "int_at_least", "load_function", "load_module", "nonnegative_float",
           "positive_float", "widths"]


class UsageError(Exception):
    """Bad usage or bad input found after parsing: ``main`` prints ``prog: error: message`` and returns 2."""


class ArgParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr and exit status 2 (no usage block)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def int_at_least(minimum: int):
    """An argparse ``type``: an int ``>= minimum``, else a one-line usage error naming the bound."""
    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}") from None
        if n < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {n}")
        return n
    return parse


def _finite_float(text: str, *, zero_ok: bool) -> float:
    """``text`` as a finite float above 0 (or at least 0 with ``zero_ok``), else ArgumentTypeError."""
    what, finite = ("a number >= 0", "a finite number >= 0") if zero_ok else ("a positive number",
                                                                            "a positive finite number")
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not ((0 <= x if zero_ok else 0 < x) and x < float("inf")):
        raise argparse.ArgumentTypeError(f"expected {finite}, got {text!r}")
    return x


def positive_float(text: str) -> float:
    """An argparse ``type``: a finite number > 0 (learning rates, budgets)."""
    return _finite_float(text, zero_ok=False)


def nonnegative_float(text: str) -> float:
    """An argparse ``type``: a finite number >= 0 (``--l2``)."""
    return _finite_float(text, zero_ok=True)


def widths(min_count: int):
    """An argparse ``type``: at least ``min_count`` comma-separated widths, each >= 1 (``4,3,3``)."""
    def parse(text: str) -> tuple[int, ...]:
        try:
            sizes = tuple(int(s) for s in text.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated widths such as 4,3,3, got {text!r}") from None
        if len(sizes) < min_count or min(sizes) < 1:
            raise argparse.ArgumentTypeError(f"expected at least {min_count} widths, all >= 1, got {text!r}")
        return sizes
    return parse


def load_module(name: str, flag: str):
    """Import the user's module ``name`` (a dotted name, found from the working directory first, or a
    ``path/to/file.py``) for option ``flag``; UsageError in one line when it is missing or raises."""
    try:
        if name.endswith(".py"):
            path = Path(name)
            if not path.is_file():
                raise UsageError(f"{flag}: no such file {name!r}")
            spec = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[path.stem] = module
            spec.loader.exec_module(module)
            return module
        # A console script's sys.path starts at its bin directory, not where the user stands;
        # like `python -m`, look in the working directory first.
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        return importlib.import_module(name)
    except UsageError:
        raise
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            raise UsageError(f"{flag}: no module named {name!r} (run from the directory that holds it, "
                             "or give path/to/file.py)") from None
        raise UsageError(f"{flag}: importing {name!r} failed: {type(exc).__name__}: {exc}") from None
    except Exception as exc:  # the user's module raised: say what, in one line
        raise UsageError(f"{flag}: importing {name!r} raised {type(exc).__name__}: {exc}") from None


def load_function(text: str, flag: str):
    """``module:function`` (or ``file.py:function``) → the callable, for option ``flag``."""
    module_name, sep, attr = text.rpartition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"{flag} expects module:function (e.g. mygrads:gradients), got {text!r}")
    obj = load_module(module_name, flag)
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise UsageError(f"{flag}: {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise UsageError(f"{flag}: {text!r} is not a function, got {type(obj).__name__}")
    return obj
