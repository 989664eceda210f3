"""Pay JAX's compilation before a Hypothesis test starts timing, so reuse works under the default deadline.

``reference.compare`` (hence ``check_gradients``) answers small nets -- widths,
batch and depth up to 8 -- through :func:`reference.fast_derivatives`, one
compiled function per dtype.  The first call costs a few seconds, which
inside a test body trips Hypothesis's 200 ms deadline (``DeadlineExceeded``,
then ``FlakyFailure`` when the replay is fast).  :func:`warmed` wraps a
strategy factory such as ``reference.strategies.problems`` so the strategy it
returns compiles those functions in ``st.deferred``'s definition: Hypothesis
runs that once, while validating the strategy before the first example, and
counts it neither against the deadline nor as slow data generation.  Later
draws and test bodies pay about a millisecond per call.

Nets wider than 8 units or batches above 8 go through the plain
``reference.gradients`` (jitted per architecture, ~0.2 s per new shape), which
no warm-up can cover in advance: draw them with ``deadline=None``.
"""
from __future__ import annotations

import functools
import inspect

import numpy as np

__all__ = ["warm_up", "warmed"]

#: reference.strategies.networks' depth range when the caller does not narrow it.
_DEFAULT_DEPTHS = (1, 5)


def warm_up(depths, dtype=np.float64) -> None:
    """Compile ``reference.compare``'s JAX function for every depth in ``depths`` (weight layers) and ``dtype``.

    Cheap when already compiled (about a millisecond per depth; one compilation serves depths 1-8).
    """
    import manual_bp as bp

    from .fast import fast_derivatives

    dtype = np.dtype(dtype)
    for depth in depths:
        if int(depth) < 1:
            raise ValueError(f"depths must be >= 1 (weight layers), got {depth}")
        net = bp.Network((1,) * (int(depth) + 1), "identity", "squared_error")
        params = [(np.ones((1, 1), dtype), np.zeros(1, dtype)) for _ in range(int(depth))]
        fast_derivatives(net, params, np.ones((1, 1), dtype), np.ones((1, 1), dtype))


def _jax_available() -> bool:
    """Whether JAX has a backend to compile for.  Warming is only an optimisation: where there is none
    (the mutation gate points ``JAX_PLATFORMS`` nowhere on purpose), there is nothing to warm, and a
    test that really computes with JAX still fails loudly on its own."""
    import jax

    try:
        jax.devices()
    except RuntimeError:
        return False
    return True


def warmed(factory):
    """Decorate a strategy factory (``@warmed`` above ``@st.composite``): its strategies warm up first.

    Reads ``min_depth``, ``max_depth`` (default 1 and 5) and ``dtype`` (default the factory's, else float64)
    from the call.  The strategy is ``st.deferred(...)`` around the factory's, so it draws the same values.
    """
    from hypothesis import strategies as st

    try:
        default_dtype = inspect.signature(factory).parameters["dtype"].default
    except (KeyError, ValueError, TypeError):
        default_dtype = np.float64
    if default_dtype is inspect.Parameter.empty:
        default_dtype = np.float64

    @functools.wraps(factory)
    def build(*args, **kwargs):
        strategy = factory(*args, **kwargs)
        lo, hi = kwargs.get("min_depth", _DEFAULT_DEPTHS[0]), kwargs.get("max_depth", _DEFAULT_DEPTHS[1])
        dtype = kwargs.get("dtype", default_dtype)

        def definition():
            if _jax_available():
                warm_up(range(lo, hi + 1), dtype)
            return strategy

        return st.deferred(definition)

    build.__deltacheck_warmed__ = True
    return build
