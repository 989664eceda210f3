"""Worked examples (``reference.examples``): the documents' printed numbers, checked one by one, and the complete truth.

A worked-example file (TOML, see ``reference/data/examples/README.md``) holds
a network, its exact parameters, inputs, targets and learning rate, a map of
the document's names to array entries (``[names]``), the document's steps
(``[[steps]]``, for the corrected example) and the document's printed
*claims*: each names a quantity (``z1[0, 1]``, ``loss``, ``dW2[1, 0]``,
``W1_new[0, 0]``, ...) or a printed *expression* (``"(1/3)*(-0.629 - 1.118 -
1.201)"``) and its printed value as written (``"0.7156"``), so the printed
precision is known.

:func:`check_example` computes every claimed quantity with ``manual_bp``,
cross-checks it against the JAX reference (:mod:`reference.model`, within
:func:`reference.tolerances.tolerance`), and gives each claim a verdict about
its printed digits alone:

``match``
    the true value rounds to the printed value at the printed precision;
``rounding``
    one unit off in the last printed place (a truncated value, say);
``wrong``
    anything more.

The *cause* is a separate field: for a wrong claim the likely reason found
automatically (a different loss convention, a sign, a missing chain-rule path,
a rounded intermediate such as "follows from Y_pred (SR 3) rounded to 0.142
before it is used", a copied number, different inputs or parameters, for a
printed expression its operands); for a rounding claim what explains the last
digit.  A printed expression is checked as written (its value from its own
operands) and each operand against the quantity it stands for.

Beyond the claims, the report carries the *complete true state* of every
setup (as stated and each declared ``[[alternatives]]``): per sample every
``z`` and ``a``, the loss in the document's convention, every ``δ_l``, every
gradient entry (and each sample's own term), the parameters after one step
of the stated learning rate and the loss after it, named by the file's name
map.  Every report converts to plain JSON with ``to_dict()``.

Modules, along the seams: :mod:`.files` (the file format, printed numbers,
printed expressions), :mod:`.truth` (the true numbers: quantities, the JAX
cross-check, the complete state of a setup), :mod:`.verdicts` (verdicts,
causes, the setup search), :mod:`.render` (the text report and the errata
page).  ``reference.worked_examples`` re-exports the public names.
"""
from .files import (
    TRANSFORMS,
    Alternative,
    Claim,
    ExampleFormatError,
    Operand,
    WorkedExample,
    load_example,
    parse_printed,
)
from .render import errata_markdown, format_report
from .truth import SetupState
from .verdicts import VERDICTS, ClaimResult, ExampleReport, check_example, search_setups

__all__ = [
    "ExampleFormatError",
    "WorkedExample",
    "Claim",
    "Operand",
    "Alternative",
    "ClaimResult",
    "ExampleReport",
    "SetupState",
    "load_example",
    "check_example",
    "format_report",
    "errata_markdown",
    "search_setups",
    "parse_printed",
    "VERDICTS",
    "TRANSFORMS",
]
