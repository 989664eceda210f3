"""deltacheck: backpropagation derived by hand (``manual_bp``), checked against JAX and numerical derivatives
(``reference``).  This small package is the ``deltacheck`` command's entry point; it imports neither NumPy nor
JAX until a command runs, so ``deltacheck --help`` is instant.

    deltacheck compare           # or: python -m deltacheck compare
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "main"]


def main(argv=None) -> int:
    """Run the ``deltacheck`` command with ``argv`` (default ``sys.argv[1:]``); return the exit status.

    0: everything agrees; 1: something disagrees; 2: bad usage or a bad file (one line on stderr, no
    traceback); 130: interrupted.
    """
    from ._main import main as run

    return run(argv)
