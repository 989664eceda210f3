"""The reference package's contract: dtypes, argument checking, no aliasing,
JAX config hygiene, and the tolerance helpers."""
import jax
import numpy as np
import pytest

import reference
from manual_bp.network import Network, init_params


def small_case(dtype=np.float64, loss="squared_error", out="tanh", seed=1):
    net = Network((3, 4, 2), ("sigmoid", out), loss, bias=(True, False))
    rng = np.random.default_rng(seed)
    params = init_params(net, rng, scheme="doc001", weight_scale=0.7, dtype=dtype)
    x = rng.standard_normal((4, 3)).astype(dtype)
    y = rng.uniform(size=(4, 2)).astype(dtype)
    return net, params, x, y


ARRAY_FUNCS = [
    reference.gradients,
    reference.deltas,
    lambda *c: reference.fast_derivatives(*c)[1:],
    reference.central_difference_gradients,
    reference.complex_step_gradients,
    lambda *c: reference.directional_derivatives(*c, n_directions=3),
]


def arrays(tree):
    if isinstance(tree, (list, tuple)):
        return [a for sub in tree for a in arrays(sub)]
    return [] if tree is None else [tree]


def test_public_api_is_deliberate():
    # The oracles every other part of the project relies on; later modules
    # (worked examples, compare) add to __all__, so this is a floor, not a cap.
    assert set(reference.__all__) >= {
        "loss", "gradients", "deltas", "fast_derivatives", "Derivatives",
        "central_difference_gradients", "complex_step_gradients", "directional_derivatives",
        "project_gradients", "KinkCrossingError", "kink_distance", "TOLERANCES", "Tolerance", "tolerance",
        "allclose_tree", "assert_allclose_tree", "max_error",
    }
    assert len(set(reference.__all__)) == len(reference.__all__), "duplicate names in __all__"
    for name in reference.__all__:
        assert getattr(reference, name).__doc__, name


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_results_have_params_dtype_and_structure(dtype):
    net, params, x, y = small_case(dtype)
    assert isinstance(reference.loss(net, params, x, y), float)
    for fn in ARRAY_FUNCS:
        for a in arrays(fn(net, params, x, y)):
            assert a.dtype == dtype, fn
    grads = reference.gradients(net, params, x, y)
    assert [(dW.shape, None if db is None else db.shape) for dW, db in grads] == net.shapes()


def test_float32_is_really_computed_in_float32():
    """Not float64 rounded at the end: differs from float64 at the float32 level, not more."""
    net, p32, x32, y32 = small_case(np.float32)
    p64 = [(W.astype(np.float64), None if b is None else b.astype(np.float64)) for W, b in p32]
    g32 = reference.gradients(net, p32, x32, y32)
    g64 = reference.gradients(net, p64, x32.astype(np.float64), y32.astype(np.float64))
    err = reference.max_error(g32, g64)
    assert 1e-9 < err < 1e-5
    f32 = reference.fast_derivatives(net, p32, x32, y32)
    assert 1e-9 < reference.max_error(f32.gradients, g64) < 1e-5


def test_jax_x64_flag_is_left_alone():
    before = jax.config.jax_enable_x64
    reference.gradients(*small_case(np.float64))
    reference.fast_derivatives(*small_case(np.float64))
    assert jax.config.jax_enable_x64 == before
    assert jax.numpy.zeros(1).dtype == (np.float64 if before else np.float32)
    # ...and a caller's own x64 context does not widen float32 work.
    with jax.enable_x64(True):
        assert reference.gradients(*small_case(np.float32))[0][0].dtype == np.float32


def test_callers_arrays_are_untouched_and_unshared():
    net, params, x, y = small_case()
    copies = [np.copy(a) for a in arrays(params)] + [x.copy(), y.copy()]
    inputs = arrays(params) + [x, y]
    for fn in ARRAY_FUNCS:
        out = arrays(fn(net, params, x, y))
        for a in out:
            assert a.flags.writeable
            assert not any(np.shares_memory(a, i) for i in inputs)
    for a, c in zip(inputs, copies):
        np.testing.assert_array_equal(a, c)


def test_float64_data_with_float32_params_follows_params():
    net, p32, x32, y32 = small_case(np.float32)
    g = reference.gradients(net, p32, x32.astype(np.float64), y32.astype(np.float64))
    assert g[0][0].dtype == np.float32


@pytest.mark.parametrize("mutate,exc,match", [
    (lambda n, p, x, y: ("not a net", p, x, y), TypeError, "net"),
    (lambda n, p, x, y: (n, p[:1], x, y), ValueError, "params"),
    (lambda n, p, x, y: (n, [(p[0][0].T, p[0][1]), p[1]], x, y), ValueError, r"params\[0\]\[0\]"),
    (lambda n, p, x, y: (n, [p[0], (p[1][0], np.zeros(2))], x, y), ValueError, r"params\[1\]\[1\]"),
    (lambda n, p, x, y: (n, [(p[0][0], None), p[1]], x, y), ValueError, r"params\[0\]\[1\]"),
    (lambda n, p, x, y: (n, [(p[0][0].astype(np.float32), p[0][1]), p[1]], x, y), TypeError, "dtype"),
    (lambda n, p, x, y: (n, [(p[0][0].astype(int), p[0][1]), p[1]], x, y), TypeError, r"params\[0\]\[0\]"),
    (lambda n, p, x, y: (n, [p[0][0], p[1]], x, y), TypeError, r"params\[0\]"),
    (lambda n, p, x, y: (n, p, x[:, :2], y), ValueError, "x"),
    (lambda n, p, x, y: (n, p, x[0], y), ValueError, "x"),
    (lambda n, p, x, y: (n, p, x, y[:3]), ValueError, "y"),
    (lambda n, p, x, y: (n, p, x, np.zeros(4, int)), ValueError, "cross_entropy"),
    (lambda n, p, x, y: (n, p, x.astype(complex), y), TypeError, "x"),
])
def test_bad_arguments_are_named(mutate, exc, match):
    args = mutate(*small_case())
    for fn in (reference.loss, reference.gradients, reference.deltas, reference.fast_derivatives,
               reference.central_difference_gradients, reference.complex_step_gradients,
               reference.directional_derivatives):
        with pytest.raises(exc, match=match):
            fn(*args)


def test_bad_class_labels():
    net, params, x, _ = small_case(loss="cross_entropy", out="softmax")
    with pytest.raises(ValueError, match="labels"):
        reference.gradients(net, params, x, np.array([0, 1, 2, 0]))
    with pytest.raises(ValueError, match=r"\(4,\)"):
        reference.gradients(net, params, x, np.array([0, 1, 1]))


def test_directional_arguments():
    case = small_case()
    with pytest.raises(ValueError, match="n_directions"):
        reference.directional_derivatives(*case, n_directions=0)
    with pytest.raises(TypeError, match="n_directions"):
        reference.directional_derivatives(*case, n_directions=2.0)
    with pytest.raises(ValueError, match="method"):
        reference.directional_derivatives(*case, method="forward")
    _, directions = reference.directional_derivatives(*case, n_directions=2)
    with pytest.raises(ValueError, match="grads"):
        reference.project_gradients(reference.gradients(*case)[:1], directions)


# --- tolerances -------------------------------------------------------------

def test_table_is_complete_and_tight():
    for dtype in ("float64", "float32"):
        for kind in reference.tolerances.KINDS:
            tol = reference.tolerance(dtype, kind)
            assert 0 < tol.rtol < 1 and 0 <= tol.atol < 1 and len(tol.reason) > 20
    assert reference.tolerance(np.float64, "jax").rtol <= 1e-10
    assert reference.tolerance(np.dtype("float32"), "jax") is reference.TOLERANCES["float32"]["jax"]
    with pytest.raises(ValueError, match="kind"):
        reference.tolerance(np.float64, "manual")
    with pytest.raises(TypeError, match="dtype"):
        reference.tolerance(np.float16, "jax")


def test_comparison_uses_per_leaf_scale():
    tol = reference.tolerance(np.float64, "jax")
    a = [(np.array([[1.0, 1e-14]]), None), (np.array([1e-3]), np.array([0.0]))]
    # Entry 1e-14 off by 100% is fine next to a 1.0 in the same leaf...
    b = [(np.array([[1.0, 2e-14]]), None), (np.array([1e-3]), np.array([0.0]))]
    assert reference.allclose_tree(a, b, dtype=np.float64, kind="jax")
    assert reference.max_error(a, b) == pytest.approx(1e-14)
    # ...but the same absolute error in a leaf of scale 1e-3 is not, if above atol + rtol·1e-3.
    off = 10 * (tol.atol + tol.rtol * 1e-3)
    c = [(a[0][0], None), (np.array([1e-3 + off]), np.array([0.0]))]
    assert not reference.allclose_tree(a, c, dtype=np.float64, kind="jax")
    with pytest.raises(AssertionError, match=r"\[1\]\[0\]"):
        reference.assert_allclose_tree(a, c, dtype=np.float64, kind="jax", context="layer check")


def test_comparison_rejects_mismatches():
    a = [(np.ones((2, 2)), np.ones(2))]
    for b in ([(np.ones((2, 2)), None)], [(np.ones((2, 3)), np.ones(2))], [(np.ones((2, 2)), np.array([1.0, np.nan]))], []):
        assert not reference.allclose_tree(a, b, dtype=np.float32, kind="jax")
    with pytest.raises(ValueError, match="do not match"):
        reference.max_error(a, [(np.ones((2, 2)), None)])
    assert reference.max_error(a, [(np.ones((2, 2)), np.array([1.0, np.inf]))]) == np.inf
    assert reference.allclose_tree([np.zeros(3)], [np.zeros(3)], dtype=np.float64, kind="jax")
