"""The padded, cached-jit fast path must give the plain reference's numbers."""
import numpy as np
import pytest

import reference
from manual_bp.activations import LeakyReLU
from manual_bp.network import Network, init_params

HIDDEN = ["identity", "sigmoid", "tanh", "relu", "leaky_relu"]
LOSS_OUTPUTS = [("squared_error", o) for o in HIDDEN + ["softmax"]] + [
    ("cross_entropy", "softmax"), ("binary_cross_entropy", "sigmoid")]


def random_case(rng, dtype, max_width=8, max_batch=8):
    depth = int(rng.integers(1, 6))
    sizes = [int(rng.integers(1, max_width + 1)) for _ in range(depth + 1)]
    loss, out = LOSS_OUTPUTS[rng.integers(len(LOSS_OUTPUTS))]
    acts = [str(rng.choice(HIDDEN)) for _ in range(depth - 1)] + [out]
    acts = [LeakyReLU(float(rng.uniform(0, 0.5))) if a == "leaky_relu" else a for a in acts]
    net = Network(sizes, acts, loss, reduction=str(rng.choice(["sum", "mean"])),
                  half=bool(loss == "squared_error" and rng.integers(2)),
                  bias=[bool(rng.integers(2)) for _ in range(depth)])
    params = init_params(net, rng, scheme=str(rng.choice(["xavier", "doc001"])),
                         weight_scale=float(rng.choice([0.1, 1.0])), dtype=dtype)
    n_batch = int(rng.integers(1, max_batch + 1))
    x = rng.standard_normal((n_batch, sizes[0])).astype(dtype)
    if loss == "cross_entropy" and rng.integers(2):
        y = rng.integers(0, sizes[-1], n_batch)
    elif loss == "squared_error":
        y = rng.standard_normal((n_batch, sizes[-1])).astype(dtype)
    else:
        y = rng.dirichlet(np.ones(sizes[-1]), n_batch).astype(dtype)
    return net, params, x, y


def check_fast_equals_plain(case, dtype):
    fast = reference.fast_derivatives(*case)
    context = case[0].describe()
    assert fast.loss == pytest.approx(reference.loss(*case), rel=reference.tolerance(dtype, "loss").rtol)
    reference.assert_allclose_tree(fast.gradients, reference.gradients(*case), dtype=dtype, kind="jax",
                                   context=context)
    reference.assert_allclose_tree(fast.deltas, reference.deltas(*case), dtype=dtype, kind="jax",
                                   context=context)


@pytest.mark.parametrize("seed", range(16))
def test_fast_equals_plain_float64(seed):
    check_fast_equals_plain(random_case(np.random.default_rng(seed), np.float64), np.float64)


@pytest.mark.parametrize("seed", range(4))
def test_fast_equals_plain_float32(seed):
    check_fast_equals_plain(random_case(np.random.default_rng(100 + seed), np.float32), np.float32)


def test_fast_handles_every_loss_output_pair():
    rng = np.random.default_rng(5)
    for loss, out in LOSS_OUTPUTS:
        net = Network((3, 4, 3), (LeakyReLU(0.3), out), loss, reduction="mean", bias=(False, True))
        params = init_params(net, rng, scheme="doc001", weight_scale=1.0)
        x = rng.standard_normal((6, 3))
        y = rng.dirichlet(np.ones(3), 6)
        check_fast_equals_plain((net, params, x, y), np.float64)


def test_fast_pads_beyond_eight():
    """Widths and batches above the default frame of 8 use a larger power of two."""
    rng = np.random.default_rng(9)
    net = Network((11, 9, 3), ("tanh", "softmax"), "cross_entropy")
    params = init_params(net, rng)
    x, y = rng.standard_normal((13, 11)), rng.integers(0, 3, 13)
    check_fast_equals_plain((net, params, x, y), np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_path_has_no_nan_from_branches_it_did_not_take(dtype):
    """Regression: the padded softmax once overflowed for units outside its mask (a hidden
    layer's large z, or padded output units next to a very negative logit) and, although
    not selected, put 0 * inf = nan into the gradient."""
    big = 120.0 if dtype == np.float32 else 800.0  # beyond exp's range in that dtype
    x = np.array([[1.0, -1.0], [0.5, 2.0]], dtype)
    cases = [
        (Network((2, 3, 2), ("identity", "sigmoid"), "squared_error"),
         [(np.array([[big, 0.0, -big], [0.0, big, 0.0]], dtype), np.zeros(3, dtype)),
          (np.full((3, 2), 0.01, dtype), np.zeros(2, dtype))], np.zeros((2, 2), dtype)),
        (Network((2, 1), "softmax", "cross_entropy"),
         [(np.array([[-big], [0.0]], dtype), np.zeros(1, dtype))], np.array([0, 0])),
    ]
    for net, params, y in cases:
        fast = reference.fast_derivatives(net, params, x, y)
        assert np.isfinite(reference.max_error(fast[1:], fast[1:]))
        check_fast_equals_plain((net, params, x, y), dtype)
