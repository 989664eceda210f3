"""Worked examples: a thin re-export of :mod:`reference.examples` (the engine lives there).

Kept so that ``from reference.worked_examples import check_example`` and the
scripts that use it go on working.
"""
from .examples import *  # noqa: F401,F403
from .examples import __all__  # noqa: F401
