"""The central claim: manual_bp's gradients and deltas equal jax.grad's and
match central differences and the complex step, on random architectures.

Throughput: JAX is reached through :func:`reference.fast_derivatives` (one
compiled function per depth and dtype, padded; itself checked against the
plain ``reference.gradients`` in ``test_reference_fast.py``), and the
numerical oracles evaluate all perturbations in one vectorised NumPy pass,
so an example costs a few milliseconds and the ``ci`` profile covers more
than 1,000 distinct architectures in seconds.
"""
from __future__ import annotations

import numpy as np
from conftest import CHECKED, examples
from hypothesis import given, settings

import manual_bp as bp
import reference as ref
from reference import strategies as dst

#: Keep ReLU/leaky-ReLU pre-activations this far from the kink at 0 for the
#: numerical oracles: the central-difference step moves a z by at most ~1e-4
#: in these bounded nets, so 1e-3 leaves a 10x margin.
KINK_MARGIN = 1e-3


def check_against_oracles(p, *, grad_fn=bp.gradients, deltas_fn=bp.deltas, loss_fn=bp.loss,
                          numerical=True, record=True) -> None:
    """Assert a candidate (manual_bp by default) agrees with every oracle on ``p``.

    Raises AssertionError naming the oracle, layer and error on disagreement.
    ``record`` adds the architecture to the session's coverage count.
    """
    def done(oracle):
        if record:
            CHECKED[f"{oracle} ({np.dtype(dtype).name})"].add(p.net.describe())

    dtype = p.x.dtype
    jx = ref.fast_derivatives(p.net, p.params, p.x, p.y)
    ctx = f"{p!r}"
    ref.assert_allclose_tree(grad_fn(p.net, p.params, p.x, p.y), jx.gradients, dtype=dtype, kind="jax",
                             context=f"gradients vs jax.grad, {ctx}")
    ref.assert_allclose_tree(deltas_fn(p.net, p.params, p.x, p.y), jx.deltas, dtype=dtype, kind="jax",
                             context=f"deltas vs jax.grad, {ctx}")
    ref.assert_allclose_tree([loss_fn(p.net, p.params, p.x, p.y)], [jx.loss], dtype=dtype, kind="loss",
                             context=f"loss vs reference, {ctx}")
    done("jax.grad")
    if not numerical:
        return
    grads = grad_fn(p.net, p.params, p.x, p.y)
    ref.assert_allclose_tree(grads, ref.complex_step_gradients(p.net, p.params, p.x, p.y),
                             dtype=dtype, kind="complex_step", context=f"vs complex step, {ctx}")
    done("complex step")
    # float32 central differences are coarse (see the table's reason); the
    # complex step above is the float32 numerical oracle.
    if dtype != np.float64:
        return
    try:
        central = ref.central_difference_gradients(p.net, p.params, p.x, p.y)
    except ref.KinkCrossingError:
        return  # a perturbation crossed a ReLU kink: the difference quotient means nothing there
    ref.assert_allclose_tree(grads, central, dtype=dtype, kind="central", context=f"vs central differences, {ctx}")
    done("central differences")


@settings(max_examples=examples(1.0))
@given(dst.problems(kink_margin=KINK_MARGIN))
def test_manual_matches_jax_and_numerical_float64(p):
    check_against_oracles(p)


@settings(max_examples=examples(0.25))
@given(dst.problems(dtype=np.float32, kink_margin=KINK_MARGIN))
def test_manual_matches_jax_float32(p):
    check_against_oracles(p)


@settings(max_examples=examples(0.1))
@given(dst.problems(max_abs=1.0, kink_margin=KINK_MARGIN))
def test_float32_agrees_with_float64(p):
    p32 = [(W.astype(np.float32), None if b is None else b.astype(np.float32)) for W, b in p.params]
    g64 = bp.gradients(p.net, p.params, p.x, p.y)
    g32 = bp.gradients(p.net, p32, p.x.astype(np.float32), p.y)
    assert all(dW.dtype == np.float32 for dW, _ in g32)
    ref.assert_allclose_tree(g32, g64, dtype=np.float32, kind="jax", context=f"float32 vs float64, {p!r}")


@settings(max_examples=examples(0.05))
@given(dst.problems(kink_margin=KINK_MARGIN, min_batch=2))
def test_directional_derivatives_match_manual(p):
    grads = bp.gradients(p.net, p.params, p.x, p.y)
    derivs, directions = ref.directional_derivatives(p.net, p.params, p.x, p.y, n_directions=4, seed=0)
    projected = ref.project_gradients(grads, directions)
    ref.assert_allclose_tree([derivs], [projected], dtype=np.float64, kind="directional",
                             context=f"directional, {p!r}")


@settings(max_examples=examples(0.01, minimum=8))
@given(dst.problems(max_depth=3, max_batch=4, kink_margin=KINK_MARGIN))
def test_manual_matches_the_plain_jax_definition(p):
    # A slice of the suite goes through the obviously-correct reference too,
    # not only the padded fast path.
    ref.assert_allclose_tree(bp.gradients(p.net, p.params, p.x, p.y), ref.gradients(p.net, p.params, p.x, p.y),
                             dtype=np.float64, kind="jax", context=f"vs reference.gradients, {p!r}")
    ref.assert_allclose_tree(bp.deltas(p.net, p.params, p.x, p.y), ref.deltas(p.net, p.params, p.x, p.y),
                             dtype=np.float64, kind="jax", context=f"vs reference.deltas, {p!r}")
