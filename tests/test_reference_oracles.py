"""The JAX reference against the numerical oracles, on fixed nets covering every
activation, loss, bias pattern and loss scaling."""
import numpy as np
import pytest

import reference
from manual_bp.activations import LeakyReLU
from manual_bp.network import Network, init_params

# (sizes, activations, loss, kwargs, target kind)
NETS = {
    "sigmoid-identity-se-sum": ((3, 4, 2), ("sigmoid", "identity"), "squared_error", {}, "real"),
    "tanh-relu-identity-se-mean-half": (
        (3, 4, 3, 2), ("tanh", "relu", "identity"), "squared_error",
        {"reduction": "mean", "half": True, "bias": (True, False, True)}, "real"),
    "leaky-softmax-ce-probs": ((4, 5, 3), (LeakyReLU(0.2), "softmax"), "cross_entropy", {}, "probs"),
    "relu-softmax-ce-labels-mean": ((4, 3, 3), ("relu", "softmax"), "cross_entropy", {"reduction": "mean"}, "labels"),
    "tanh-sigmoid-bce": ((2, 4, 3), ("tanh", "sigmoid"), "binary_cross_entropy", {}, "unit"),
    "sigmoid-leaky-softmax-se-half": (
        (5, 3, 2, 4), ("sigmoid", "leaky_relu", "softmax"), "squared_error", {"half": True}, "real"),
    "single-sigmoid-bce-mean-nobias": ((3, 2), ("sigmoid",), "binary_cross_entropy",
                                       {"reduction": "mean", "bias": False}, "unit"),
    "single-identity-1x1": ((1, 1), ("identity",), "squared_error", {}, "real"),
}


def make_case(name, dtype=np.float64, n_batch=5, seed=0):
    sizes, acts, loss, kwargs, target = NETS[name]
    net = Network(sizes, acts, loss, **kwargs)
    rng = np.random.default_rng(seed)
    # doc001 biases (0.05) and N(0, 0.5²) weights keep relu units off their kinks.
    params = init_params(net, rng, scheme="doc001", weight_scale=0.5, dtype=dtype)
    x = rng.standard_normal((n_batch, sizes[0])).astype(dtype)
    n_out = sizes[-1]
    if target == "labels":
        y = rng.integers(0, n_out, n_batch)
    elif target == "probs":
        y = rng.dirichlet(np.ones(n_out), n_batch).astype(dtype)
    elif target == "unit":
        y = rng.uniform(size=(n_batch, n_out)).astype(dtype)
    else:
        y = rng.standard_normal((n_batch, n_out)).astype(dtype)
    return net, params, x, y


@pytest.fixture(params=sorted(NETS), scope="module")
def case64(request):
    case = make_case(request.param)
    return case, reference.gradients(*case)


def test_gradients_match_complex_step(case64):
    # Both exact to rounding: entry by entry within the rounding-error bound.
    case, grads = case64
    cs = reference.complex_step_gradients(*case)
    reference.assert_within_bound(grads, cs, reference.tolerances.forward_mode_floor(
        reference.derivative_bounds(*case)[0], cs, np.float64))


def test_gradients_match_central_differences(case64):
    case, grads = case64
    reference.assert_allclose_tree(grads, reference.central_difference_gradients(*case),
                                   dtype=np.float64, kind="central")


def test_gradients_match_directional_derivatives(case64):
    case, grads = case64
    derivs, directions = reference.directional_derivatives(*case, n_directions=6, seed=3)
    assert derivs.shape == (6,)
    reference.assert_allclose_tree(derivs, reference.project_gradients(grads, directions),
                                   dtype=np.float64, kind="directional")


def test_complex_directional_derivatives_on_smooth_net():
    case = make_case("tanh-sigmoid-bce")
    derivs, directions = reference.directional_derivatives(*case, n_directions=5, method="complex")
    reference.assert_allclose_tree(derivs, reference.project_gradients(reference.gradients(*case), directions),
                                   dtype=np.float64, kind="complex_step")


def test_complex_directional_refuses_kinks():
    with pytest.raises(ValueError, match="relu"):
        reference.directional_derivatives(*make_case("tanh-relu-identity-se-mean-half"), method="complex")


def test_directions_are_unit_and_seeded():
    case = make_case("sigmoid-identity-se-sum")
    _, d1 = reference.directional_derivatives(*case, n_directions=4, seed=7)
    _, d2 = reference.directional_derivatives(*case, n_directions=4, seed=7)
    flat = np.concatenate([a.reshape(4, -1) for VW, Vb in d1 for a in (VW, Vb) if a is not None], axis=1)
    np.testing.assert_allclose(np.linalg.norm(flat, axis=1), 1.0, rtol=1e-12)
    for (a, b), (c, d) in zip(d1, d2):
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("name, l2, dtype", [("sigmoid-leaky-softmax-se-half", 0.0, np.float64),
                                             ("tanh-relu-identity-se-mean-half", 0.3, np.float64),
                                             ("single-sigmoid-bce-mean-nobias", 0.2, np.float64),
                                             ("sigmoid-leaky-softmax-se-half", 0.1, np.float32)])
def test_directional_derivatives_are_the_documented_quotients(name, l2, dtype):
    # Independent of the chunked implementation (which forms the first layer's step by
    # linearity, z_1 ± h(xV_1 + c_1), and adds weight decay itself): directions are Gaussian
    # rows normalised to unit length over all params (W1, b1, W2, ... flattened), and each
    # derivative is (L(θ + hv) − L(θ − hv)) / 2h with h = CENTRAL_STEP · max(1, max|θ|),
    # L evaluated one direction at a time on the perturbed parameters themselves.
    import dataclasses

    from reference.model import loss_xp
    from reference.numerical import CENTRAL_STEP
    from reference._spec import spec_of

    net, params, x, y = make_case(name, dtype=dtype)
    net = dataclasses.replace(net, l2=l2)
    K = 5
    derivs, directions = reference.directional_derivatives(net, params, x, y, n_directions=K, seed=11)
    sizes = [a.size for pair in params for a in pair if a is not None]
    V = np.random.default_rng(11).standard_normal((K, sum(sizes)))
    V = (V / np.linalg.norm(V, axis=1, keepdims=True)).astype(dtype)
    got = np.concatenate([a.reshape(K, -1) for pair in directions for a in pair if a is not None], axis=1)
    np.testing.assert_array_equal(got, V)

    def unflatten(theta):
        out, i = [], 0
        for W, b in params:
            Wn = theta[i : i + W.size].reshape(W.shape)
            i += W.size
            bn = None
            if b is not None:
                bn = theta[i : i + b.size]
                i += b.size
            out.append((Wn, bn))
        return out

    theta = np.concatenate([a.ravel() for pair in params for a in pair if a is not None])
    h = CENTRAL_STEP[np.dtype(dtype)] * max(1.0, float(np.abs(theta).max()))
    spec = spec_of(net)
    L = lambda th: float(loss_xp(np, spec, unflatten(th), x, y))  # noqa: E731
    expected = [(L(theta + h * v) - L(theta - h * v)) / (2 * h) for v in V]
    if dtype == np.float64:
        # Batched and one-at-a-time loss evaluations may round differently in
        # the last bit; divided by 2h ≈ 1e-5 that is ~1e-11 of the derivative.
        np.testing.assert_allclose(derivs, expected, rtol=1e-8, atol=1e-10)
    else:
        # float32: θ ± hv rounded here but not in the first layer there (h ≈ 5e-3, so a rounding of
        # 6e-8·|θ| is 1e-5 of the step), each quotient within the table's directional tolerance of
        # ∇L·v, so within twice it of each other.
        tol = reference.tolerance(dtype, "directional")
        np.testing.assert_allclose(derivs, expected, rtol=2 * tol.rtol, atol=2 * tol.atol)


@pytest.mark.parametrize("method", ["central", "complex"])
def test_directions_in_chunks_match_all_at_once(monkeypatch, method):
    # Big nets perturb a few directions at a time (reference/numerical.py);
    # forcing one direction per chunk must not change any number.
    import reference.numerical as numerical

    case = make_case("sigmoid-identity-se-sum")
    whole, dirs = reference.directional_derivatives(*case, n_directions=5, seed=2, method=method)
    monkeypatch.setattr(numerical, "_MAX_DIRECTION_ELEMENTS", 1)
    chunked, dirs1 = reference.directional_derivatives(*case, n_directions=5, seed=2, method=method)
    np.testing.assert_array_equal(chunked, whole)
    for (a, b), (c, d) in zip(dirs, dirs1):
        np.testing.assert_array_equal(a, c)


def test_kink_crossing_names_the_direction_in_a_later_chunk(monkeypatch):
    # Two directions per chunk; only the second chunk's second direction
    # crosses, and only on its θ − hv row: that is direction 3.
    import reference.numerical as numerical

    net, params, x, y = make_case("tanh-relu-identity-se-mean-half")
    n_params = sum(a.size for pair in params for a in pair if a is not None)
    real_losses = numerical._central_losses
    calls = []

    def losses_crossing_once(spec, params, z1, V, h, x, y, base=None):
        L, crossed = real_losses(spec, params, z1, V, h, x, y, base)
        calls.append(len(L))
        crossed = np.zeros_like(crossed)
        if len(calls) == 2:
            crossed[3] = True  # rows are [θ+hv_2, θ+hv_3, θ−hv_2, θ−hv_3]
        return L, crossed

    per_set = max(n_params, max(net.sizes) * x.shape[0])
    monkeypatch.setattr(numerical, "_MAX_DIRECTION_ELEMENTS", 4 * per_set)  # 2 directions per chunk
    monkeypatch.setattr(numerical, "_central_losses", losses_crossing_once)
    with pytest.raises(reference.KinkCrossingError, match=r"along direction 3 "):
        reference.directional_derivatives(net, params, x, y, n_directions=5)
    assert calls == [4, 4]  # θ ± hv for two directions per chunk, stopped in the second


def test_deltas_are_dL_dz(case64):
    """Backprop identities, holding for any correct δ: ``db_l = Σ_n δ_l`` and ``dW_1 = xᵀ δ_1``."""
    (net, params, x, y), grads = case64
    ds = reference.deltas(net, params, x, y)
    assert [d.shape for d in ds] == [(x.shape[0], n) for n in net.sizes[1:]]
    bounds = reference.derivative_bounds(net, params, x, y)[0]
    for (dW, db), d, (_, Bb) in zip(grads, ds, bounds):
        if db is not None:
            reference.assert_within_bound([db], [d.sum(axis=0)], [Bb], context="db = Σ_n δ")
    reference.assert_within_bound([grads[0][0]], [x.T @ ds[0]], [bounds[0][0]], context="dW_1 = xᵀ δ_1")


def test_loss_value_by_hand():
    """Spot-check the loss definition (scaling conventions) on a 1-layer identity net."""
    net = Network((2, 2), "identity", "squared_error", reduction="mean", half=True)
    W, b = np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([0.5, -0.5])
    x, y = np.array([[1.0, 1.0], [0.0, 1.0], [2.0, 0.0]]), np.zeros((3, 2))
    z = x @ W + b
    assert reference.loss(net, [(W, b)], x, y) == pytest.approx(0.5 / 3 * (z ** 2).sum(), rel=1e-15)
    ce = Network((2, 2), "softmax", "cross_entropy")
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    assert reference.loss(ce, [(W, b)], x, np.array([0, 1, 1])) == pytest.approx(
        -(logp[0, 0] + logp[1, 1] + logp[2, 1]), rel=1e-14)


def test_integer_labels_equal_one_hot():
    net, params, x, labels = make_case("relu-softmax-ce-labels-mean")
    one_hot = np.eye(net.sizes[-1])[labels]
    assert reference.loss(net, params, x, labels) == reference.loss(net, params, x, one_hot)
    for fn in (reference.gradients, reference.deltas, reference.complex_step_gradients):
        a, b = fn(net, params, x, labels), fn(net, params, x, one_hot)
        assert reference.max_error(a, b) == 0.0, fn.__name__
    fa, fb = reference.fast_derivatives(net, params, x, labels), reference.fast_derivatives(net, params, x, one_hot)
    assert fa.loss == fb.loss and reference.max_error(fa[1:], fb[1:]) == 0.0


@pytest.mark.parametrize("loss,out", [("cross_entropy", "softmax"), ("binary_cross_entropy", "sigmoid"),
                                      ("squared_error", "softmax"), ("squared_error", "sigmoid")])
def test_huge_logits_stay_finite(loss, out):
    """Logits of magnitude 1e3 must not overflow: log-sum-exp and softplus forms."""
    net = Network((2, 3), out, loss)
    W = np.array([[1000.0, -1000.0, 0.0], [0.0, 500.0, -800.0]])
    b = np.array([0.0, 1.0, -1.0])
    x = np.array([[1.0, 0.0], [-1.0, 1.0]])
    y = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    L = reference.loss(net, [(W, b)], x, y)
    assert np.isfinite(L)
    grads = reference.gradients(net, [(W, b)], x, y)
    ds = reference.deltas(net, [(W, b)], x, y)
    cs = reference.complex_step_gradients(net, [(W, b)], x, y)
    fast = reference.fast_derivatives(net, [(W, b)], x, y)
    for tree in (grads, ds, cs, fast.gradients, fast.deltas):
        assert np.isfinite(reference.max_error(tree, tree))  # inf if any leaf is not finite
    reference.assert_allclose_tree(grads, cs, dtype=np.float64, kind="complex_step")
    if loss == "cross_entropy":
        # δ = softmax(z) - y at the output, and softmax is 0/1 here up to e^-500.
        np.testing.assert_allclose(ds[0], np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]) - y, atol=1e-12)


def test_kink_conventions():
    """z = 0 exactly: relu'(0) = 0 and leaky_relu'(0) = slope, in JAX and in the complex step;
    a central difference straddles the kink, and says so."""
    x, y = np.array([[1.0]]), np.array([[3.0]])
    params = [(np.array([[1.0]]), np.array([-1.0])), (np.array([[2.0]]), np.array([0.0]))]  # z_1 = 0
    for act, slope in [("relu", 0.0), (LeakyReLU(0.25), 0.25)]:
        net = Network((1, 1, 1), (act, "identity"), "squared_error")
        assert reference.kink_distance(net, params, x) == 0.0
        # L = (2 f(z_1) - 3)², f(0) = 0: dL/db_1 = 2(0 - 3) · 2 · f'(0) = -12 f'(0)
        grads = reference.gradients(net, params, x, y)
        assert grads[0][1][0] == pytest.approx(-12 * slope, abs=1e-15)
        assert reference.fast_derivatives(net, params, x, y).gradients[0][1][0] == pytest.approx(-12 * slope, abs=1e-15)
        cs = reference.complex_step_gradients(net, params, x, y)
        assert cs[0][1][0] == pytest.approx(-12 * slope, abs=1e-15)
        with pytest.raises(reference.KinkCrossingError, match=r"params\[0\]\[0\]\[0, 0\]"):
            reference.central_difference_gradients(net, params, x, y)
        with pytest.raises(reference.KinkCrossingError, match="direction 0"):
            reference.directional_derivatives(net, params, x, y, n_directions=2)
        cd = reference.central_difference_gradients(net, params, x, y, check_kinks=False)
        assert cd[0][1][0] == pytest.approx(-12 * (1 + slope) / 2, rel=1e-4)  # the average slope


def test_kinks_below_a_dead_relu():
    """The common exact zero: a dead relu feeds a = 0, so with b = 0 the next z is exactly 0."""
    net = Network((2, 2, 2, 1), ("relu", "relu", "identity"), "squared_error")
    params = [(np.array([[-1.0, -2.0], [-1.0, -1.0]]), np.zeros(2)),   # dead for x > 0
              (np.array([[1.0, -1.0], [0.5, 2.0]]), np.zeros(2)),      # z_2 = 0 exactly
              (np.array([[1.5], [-0.5]]), np.array([0.3]))]
    x, y = np.array([[1.0, 2.0], [0.5, 0.5]]), np.array([[1.0], [0.0]])
    grads = reference.gradients(net, params, x, y)
    reference.assert_allclose_tree(grads, reference.complex_step_gradients(net, params, x, y),
                                   dtype=np.float64, kind="complex_step")
    assert np.all(grads[1][1] == 0) and np.all(grads[0][0] == 0)  # relu'(0) = 0 stops everything
    with pytest.raises(reference.KinkCrossingError, match=r"params\[1\]\[1\]"):
        reference.central_difference_gradients(net, params, x, y)
