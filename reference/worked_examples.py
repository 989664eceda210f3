"""Worked examples: a thin re-export of :mod:`reference.examples` (the engine lives there).

Kept so that ``from reference.worked_examples import check_example`` and the
scripts that use it go on working.
"""
from .examples import (  # noqa: F401
    TRANSFORMS,
    VERDICTS,
    Alternative,
    Claim,
    ClaimResult,
    ExampleFormatError,
    ExampleReport,
    Operand,
    SetupState,
    WorkedExample,
    check_example,
    errata_markdown,
    format_report,
    load_example,
    parse_printed,
    search_setups,
)
from .examples import __all__  # noqa: F401
