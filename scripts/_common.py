"""Helpers shared by the command-line scripts: argument errors as one line
(exit status 2), a quiet end on a closed pipe or Ctrl-C, loss-curve summaries
and optional matplotlib plots."""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys


class ArgParser(argparse.ArgumentParser):
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


def positive_float(text: str) -> float:
    """An argparse ``type``: a finite number > 0 (learning rates, budgets)."""
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not 0 < x < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text!r}")
    return x


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


def run_main(main) -> None:
    """``sys.exit(main())``, ending quietly on a closed pipe (``| head``) or Ctrl-C instead of a traceback."""
    try:
        code = main()
        sys.stdout.flush()  # inside the try: a pipe closed early fails here, not at exit
    except BrokenPipeError:
        # Python flushes stdout once more at exit; pointing it at devnull lets that succeed.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        code = 130
    sys.exit(code)


def require_matplotlib(prog: str) -> None:
    if importlib.util.find_spec("matplotlib") is None:
        print(f"{prog}: error: --plot needs matplotlib, which is not installed (pip install matplotlib)",
              file=sys.stderr)
        sys.exit(2)


def curve_summary(history, label="loss") -> str:
    """A few epochs of the curve (0, 1, 2, 5, 10, 20, 50, ...) and the final one."""
    last = len(history) - 1
    marks, k = [0], 1
    while k < last:
        marks += [m for m in (k, 2 * k, 5 * k) if m < last]
        k *= 10
    lines = [f"{'epoch':>7}  {label}"]
    lines += [f"{e:>7}  {history[e]:.6g}" for e in sorted(set(marks))]
    lines.append(f"{last:>7}  {history[last]:.6g}  (final)")
    return "\n".join(lines)


def plot_curves(path, curves: dict, ylabel: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, hist in curves.items():
        ax.plot(range(len(hist)), hist, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if all(min(h) > 0 for h in curves.values()):
        ax.set_yscale("log")
    if len(curves) > 1:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
