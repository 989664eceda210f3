"""Helpers shared by the training scripts: argument errors as one line
(exit status 2, from deltacheck._args), a quiet end on a closed pipe or Ctrl-C, loss-curve summaries
and optional matplotlib plots."""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# The argparse helpers are the command's own (one copy: deltacheck/_args.py).
from deltacheck._args import ArgParser, int_at_least, positive_float, widths  # noqa: E402,F401


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
