"""The distribution's version (``pyproject.toml`` ``[project] version``; tests/test_cli_docs.py keeps the
copies in ``deltacheck``, ``reference`` and ``manual_bp`` equal to it).  A literal, not an import of the
``deltacheck`` package, so ``reference`` imports wherever ``manual_bp`` and ``reference`` are copied alone
(the mutation gate's sandbox)."""
__version__ = "0.1.0"
