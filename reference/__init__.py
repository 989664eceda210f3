"""Independent oracles for the hand-written backprop in ``manual_bp``.

The network (a ``manual_bp.Network`` plus a list of ``(W, b)`` params) is
re-defined here from the spec alone -- forward pass and loss in plain
``jax.numpy``/NumPy -- and differentiated three independent ways:

* JAX reverse mode: :func:`gradients` and :func:`deltas` (the definitions),
  and :func:`fast_derivatives` (the same numbers from one cached compiled
  function, for checking thousands of random nets; tested against the plain
  ones);
* numerical: :func:`central_difference_gradients`,
  :func:`complex_step_gradients`, :func:`directional_derivatives` (with
  :func:`project_gradients` to form ``∇L · v``); the central-difference ones
  raise :class:`KinkCrossingError` rather than return a difference quotient
  that straddles a relu kink;
* and :data:`TOLERANCES` with :func:`allclose_tree` /
  :func:`assert_allclose_tree` / :func:`max_error` say how close each must be.

Shapes: ``x`` ``(n_batch, sizes[0])``; ``y`` ``(n_batch, sizes[-1])`` or
integer labels ``(n_batch,)`` for cross_entropy; ``W`` ``(n_in, n_out)``;
``b`` ``(n_out,)`` or None; ``δ_l`` ``(n_batch, sizes[l+1])``.  Results are
fresh NumPy arrays in the params' dtype (float64 or float32); callers' arrays
are never modified.  JAX's x64 mode is only enabled inside a scoped
``jax.enable_x64`` context, never globally.
"""
from ._version import __version__
from .checks import check_activation, check_loss
from .comparison import GradientReport, check_gradients, compare, compare_perceptron, step_curve
from .fast import Derivatives, fast_derivatives
from .layout import adapt_candidate
from .mistakes import MISTAKES
from .model import deltas, forward, gradients, input_gradient, loss
from .numerical import (
    KinkCrossingError,
    central_difference_gradients,
    complex_step_gradients,
    directional_derivatives,
    kink_distance,
    project_gradients,
)
from .tolerances import (
    TOLERANCES,
    Tolerance,
    allclose_tree,
    assert_allclose_tree,
    max_error,
    tolerance,
)
from .tolerances import assert_within_bound, derivative_bounds, gradient_bound, within_bound

from .worked_examples import (
    ExampleFormatError,
    ExampleReport,
    SetupState,
    WorkedExample,
    check_example,
    errata_markdown,
    format_report,
    load_example,
    search_setups,
)

from .document_formulas import DOCUMENT_FORMULAS, DocumentFormula, check_formulas, formula_errata_markdown
from .taylor import TaylorResult, plot_taylor, taylor_test
from .memory import keep_freed_memory

__all__ = [
    "__version__",
    "assert_within_bound",
    "derivative_bounds",
    "gradient_bound",
    "within_bound",
    "TOLERANCES",
    "Derivatives",
    "KinkCrossingError",
    "Tolerance",
    "allclose_tree",
    "assert_allclose_tree",
    "central_difference_gradients",
    "complex_step_gradients",
    "deltas",
    "directional_derivatives",
    "fast_derivatives",
    "forward",
    "gradients",
    "input_gradient",
    "kink_distance",
    "loss",
    "max_error",
    "project_gradients",
    "tolerance",
    # the compare tool (scripts/compare.py)
    "GradientReport",
    "MISTAKES",
    "adapt_candidate",
    # one-line checks of a user's activation or loss
    "check_activation",
    "check_loss",
    "check_gradients",
    "compare",
    "compare_perceptron",
    "step_curve",
    # worked examples (reference/data/examples/*.toml)
    "ExampleFormatError",
    "ExampleReport",
    "SetupState",
    "WorkedExample",
    "check_example",
    "errata_markdown",
    "format_report",
    "load_example",
    "search_setups",
    # the documents' general formulas, implemented literally and checked
    "DOCUMENT_FORMULAS",
    "DocumentFormula",
    "check_formulas",
    "formula_errata_markdown",
    # the Taylor remainder test (order 2 = right gradient, no tolerance)
    "TaylorResult",
    "plot_taylor",
    "taylor_test",
    # for big checks where page faults are dear (docs/performance.md)
    "keep_freed_memory",
]
