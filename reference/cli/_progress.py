"""Progress for long work: one line first saying what will be done and roughly how long, then a tqdm bar.

tqdm is an optional extra (``pip install "deltacheck[progress]"``): only the
sweep runs long enough to want a bar, and a missing tqdm costs nothing but
the bar -- the announcement line and the final summary are printed anyway.
The bar appears only on a terminal (``disable=None``), so pipes, CI logs and
``--json`` output stay clean.
"""
from __future__ import annotations

import sys

__all__ = ["announce", "bar", "human_seconds"]


def human_seconds(seconds: float) -> str:
    """``42 s``, ``3 min``, ``1.5 h``: the rough size of a wait."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def announce(text: str) -> None:
    """One line on stderr before a long run (stdout stays the report)."""
    print(text, file=sys.stderr, flush=True)


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def bar(total: int, desc: str):
    """A tqdm progress bar on stderr when tqdm is installed and stderr is a terminal, else a silent stand-in."""
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, desc=desc, file=sys.stderr, disable=None, leave=False, unit="net")
