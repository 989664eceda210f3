"""The ``deltacheck`` command's work, one module per subcommand (``compare``, ``sweep``, ``example``,
``errata``), and :mod:`reference.cli.files`, the one place that reads data from outside.

Arguments are parsed by the light ``deltacheck`` package (no NumPy or JAX at
parse time); each module here has ``run(args) -> exit status``.
``python -m reference.cli`` is the same command as ``deltacheck``.
"""
from deltacheck import main

__all__ = ["main"]
