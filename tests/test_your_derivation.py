"""A user's own pieces: registered activations and losses, check_activation /
check_loss, L2 weight decay and input gradients.

Expected values come from first principles in this file (hand formulas, the
complex step on the reference's NumPy loss), never from manual_bp.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from conftest import examples
from hypothesis import given, settings

import manual_bp as bp
import reference as ref
from reference import strategies as dst
from reference._spec import check_all
from reference.model import loss_xp
from reference.numerical import COMPLEX_STEP
from user_plugin import LogCosh, Softsign

NEW_BUILTINS = ("softplus", "elu", "swish", "gelu")


def test_registry_holds_builtins_aliases_and_the_user_plugin():
    for name in ("identity", "linear", "sigmoid", "logistic", "tanh", "relu", "leaky_relu", "softmax",
                 *NEW_BUILTINS, "silu", "softsign"):
        assert isinstance(bp.get_activation(name), bp.Activation)
    assert bp.get_activation("silu") is bp.get_activation("swish")
    assert isinstance(bp.get_loss("log_cosh"), LogCosh)
    net = bp.Network((2, 3, 1), ("softsign", "gelu"), "log_cosh")
    assert net.describe() == "2-3-1 softsign,gelu log_cosh sum"


def _complex_step_derivative(act, z, h=1e-20):
    return act.formula(np, z.astype(np.complex128) + 1j * h).imag / h


@pytest.mark.parametrize("name", NEW_BUILTINS + ("softsign",))
def test_new_activations_first_principles(name):
    act = bp.get_activation(name)
    z = np.array([[-20.0, -3.0, -1.0, -0.25, 0.0, 0.25, 1.0, 3.0, 20.0]])
    a = act.value(z.copy())
    # The value against the textbook formula, written here independently.
    want = {
        "softplus": np.log1p(np.exp(z)),
        "elu": np.where(z > 0, z, np.exp(z) - 1),
        "swish": z / (1 + np.exp(-z)),
        "gelu": 0.5 * z * (1 + np.tanh(np.sqrt(2 / np.pi) * (z + 0.044715 * z**3))),
        "softsign": z / (1 + np.abs(z)),
    }[name]
    np.testing.assert_allclose(a, want, rtol=1e-12, atol=1e-15)
    # The hand derivative against the complex step of the formula.
    np.testing.assert_allclose(act.derivative(z, a), _complex_step_derivative(act, z), rtol=1e-12, atol=1e-15)


def test_elu_alpha_and_its_kink():
    assert bp.ELU().kinks == () and bp.ELU(0.5).kinks == (0.0,)
    z = np.array([[-1.0, 0.0, 1.0]])
    act = bp.ELU(0.5)
    a = act.value(z.copy())
    np.testing.assert_allclose(a, [[0.5 * (np.exp(-1) - 1), 0.0, 1.0]])
    np.testing.assert_allclose(act.derivative(z, a), [[0.5 * np.exp(-1), 0.5, 1.0]])  # left branch at 0
    with pytest.raises(TypeError, match="ELU alpha must be a real number"):
        bp.ELU("1")


@pytest.mark.parametrize("name", NEW_BUILTINS + ("softsign",))
def test_check_activation_passes_right_derivatives(name):
    ref.check_activation(name, max_examples=12)


def test_check_loss_passes_the_user_loss():
    ref.check_loss(LogCosh(), max_examples=12)


@dataclass(frozen=True)
class _SoftplusAtA(bp.Activation):
    """softplus with its derivative taken at a instead of z: σ(a), the classic slip."""

    name = "softplus_at_a"

    def formula(self, xp, z):
        return bp.Softplus().formula(xp, z)

    def derivative(self, z, a):
        return 1.0 / (1.0 + np.exp(-a))


@dataclass(frozen=True)
class _LogCoshNoTanh(LogCosh):
    """log-cosh with ∂ℓ/∂a = a − y, the small-residual approximation taken for the derivative."""

    name = "log_cosh_wrong"

    def grad_a(self, a, y):
        return a - y


def test_check_activation_catches_a_wrong_derivative_and_names_the_layer():
    with pytest.raises(AssertionError) as info:
        ref.check_activation(_SoftplusAtA(), max_examples=30)
    text = str(info.value)
    assert "activation 'softplus_at_a': the hand derivative disagrees" in text
    assert "localisation: layer" in text and "DISAGREE" in text


def test_check_loss_catches_a_wrong_derivative():
    with pytest.raises(AssertionError, match=r"loss 'log_cosh_wrong': the hand derivative disagrees"):
        ref.check_loss(_LogCoshNoTanh(), max_examples=30)


def test_check_activation_checks_an_overridden_value_against_the_formula():
    @dataclass(frozen=True)
    class FastButWrong(Softsign):
        name = "fast_but_wrong"

        def value(self, z, out=None):
            return np.divide(z, 1 + z * z, out=out)  # |z| → z² slipped into the fast path

    with pytest.raises(AssertionError, match="value\\(z\\) and formula\\(np, z\\) disagree"):
        ref.check_activation(FastButWrong(), max_examples=1)


def test_registration_is_checked():
    @dataclass(frozen=True)
    class NoFormula(bp.Activation):
        name = "no_formula"

        def derivative(self, z, a):
            return z

    @dataclass(frozen=True)
    class NoDerivative(bp.Activation):
        name = "no_derivative"

        def formula(self, xp, z):
            return z

    class Unhashable(bp.Activation):
        name = "unhashable"
        __hash__ = None  # what defining __eq__ without __hash__ does

        def formula(self, xp, z):
            return z

        def derivative(self, z, a):
            return np.ones_like(z)

    with pytest.raises(TypeError, match="defines no formula"):
        bp.register_activation(NoFormula())
    with pytest.raises(TypeError, match="defines neither derivative"):
        bp.register_activation(NoDerivative())
    with pytest.raises(TypeError, match="must be hashable"):
        bp.register_activation(Unhashable())
    with pytest.raises(ValueError, match="already registered; pass replace=True"):
        bp.register_activation(bp.Tanh())
    with pytest.raises(TypeError, match="takes an Activation instance"):
        bp.register_activation("tanh")
    with pytest.raises(ValueError, match=r"^a loss named 'squared_error' is already registered; pass replace=True "
                                         r"to replace it$"):
        bp.register_loss(bp.SquaredError())
    with pytest.raises(ValueError, match=r"^a loss named 'mse' is already registered"):
        bp.register_loss(_LogCoshNoTanh(), aliases=("MSE",))


def test_loss_registration_is_checked():
    @dataclass(frozen=True)
    class NoFormula(bp.Loss):
        name = "no_formula_loss"

        def grad_a(self, a, y):
            return a - y

    @dataclass(frozen=True)
    class NoDerivative(bp.Loss):
        name = "no_derivative_loss"

        def formula(self, xp, z, a, y):
            return xp.sum(a, axis=-1)

    @dataclass(frozen=True)
    class BadTargets(LogCosh):
        name = "bad_targets"
        targets = "integers"

    class Unhashable(LogCosh):
        name = "unhashable_loss"
        __hash__ = None

    @dataclass(frozen=True)
    class Nameless(LogCosh):
        name = "loss"

    with pytest.raises(TypeError, match=r"^loss 'no_formula_loss' defines no formula\(self, xp, z, a, y\)"):
        bp.register_loss(NoFormula())
    with pytest.raises(TypeError, match=r"^loss 'no_derivative_loss' defines neither grad_a\(self, a, y\) nor "
                                        r"output_delta"):
        bp.register_loss(NoDerivative())
    with pytest.raises(ValueError, match=r"^loss 'bad_targets' has targets = 'integers'; use one of \('real', "
                                         r"'probabilities', 'unit'\)$"):
        bp.register_loss(BadTargets())
    with pytest.raises(TypeError, match=r"^loss 'unhashable_loss' must be hashable"):
        bp.register_loss(Unhashable())
    with pytest.raises(ValueError, match=r"^Nameless needs a class attribute name = '...', got 'loss'$"):
        bp.register_loss(Nameless())
    with pytest.raises(TypeError, match=r"^register_loss takes a Loss instance"):
        bp.register_loss("log_cosh")
    for bad in (NoFormula, NoDerivative, BadTargets, Unhashable, Nameless):
        assert bad.name not in bp.LOSSES  # a refused loss leaves the registry as it was


def test_registration_with_aliases_and_replacement():
    from manual_bp import activations, losses

    @dataclass(frozen=True)
    class Cube(bp.Activation):
        name = "Cube"

        def formula(self, xp, z):
            return z * z * z

        def derivative(self, z, a):
            return 3 * z * z

    try:
        act = bp.register_activation(Cube, aliases=("Third_Power",))  # a class is instantiated
        assert isinstance(act, Cube) and bp.get_activation("cube") is act and bp.get_activation("THIRD_POWER") is act
        again = Cube()
        assert bp.register_activation(again, replace=True) is again and bp.get_activation("cube") is again
        loss = bp.register_loss(_LogCoshNoTanh, aliases=("LCW",))
        assert bp.get_loss("lcw") is loss and bp.get_loss("Log_Cosh_Wrong") is loss
    finally:  # leave the registry as the rest of the suite expects it
        activations.ACTIVATIONS.pop("cube", None)
        activations._ALIASES.pop("third_power", None)
        losses.LOSSES.pop("log_cosh_wrong", None)
        losses._ALIASES.pop("lcw", None)


# ---------------------------------------------------------------------------
# L2 weight decay and input gradients, against the complex step
# ---------------------------------------------------------------------------

def _complex_step_input_gradient(net, params, x, y):
    """∂L/∂x by the complex step on the reference's NumPy loss, one input entry at a time."""
    spec, params, x, y, dtype = check_all(net, params, x, y)
    h = COMPLEX_STEP[np.dtype(dtype)]
    cdtype = np.complex128 if dtype == np.float64 else np.complex64
    out = np.empty(x.shape)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            xc = x.astype(cdtype)
            xc[i, j] += 1j * h
            out[i, j] = loss_xp(np, spec, params, xc, y).imag / h
    return out.astype(dtype)


# reference.input_gradient compiles per architecture (~0.3 s): few, small examples.
@settings(max_examples=examples(0.01, minimum=8))
@given(dst.problems(max_depth=2, max_width=4, max_batch=4, kink_margin=1e-3, l2=None))
def test_input_gradient_matches_jax_and_the_complex_step(p):
    manual = bp.input_gradient(p.net, p.params, p.x, p.y)
    assert manual.shape == p.x.shape and manual.dtype == p.x.dtype
    jax_dx = ref.input_gradient(p.net, p.params, p.x, p.y)
    ref.assert_allclose_tree([manual], [jax_dx], dtype=p.x.dtype, kind="jax")
    ref.assert_allclose_tree([jax_dx], [_complex_step_input_gradient(p.net, p.params, p.x, p.y)],
                             dtype=p.x.dtype, kind="complex_step")


def test_l2_loss_and_gradient_first_principles():
    # A 1-1 identity net, squared error, one sample: L = (w x + b − y)² + l2·w².
    net = bp.Network((1, 1), "identity", "squared_error", l2=0.25)
    w, b, x, y = 1.5, -0.5, 2.0, 1.0
    params = [(np.array([[w]]), np.array([b]))]
    r = w * x + b - y
    assert bp.loss(net, params, np.array([[x]]), np.array([[y]])) == pytest.approx(r * r + 0.25 * w * w)
    (dW, db), = bp.gradients(net, params, np.array([[x]]), np.array([[y]]))
    assert dW[0, 0] == pytest.approx(2 * r * x + 2 * 0.25 * w) and db[0] == pytest.approx(2 * r)
    L, ((dW2, db2),) = bp.loss_and_gradients(net, params, np.array([[x]]), np.array([[y]]))
    assert L == pytest.approx(r * r + 0.25 * w * w) and dW2[0, 0] == pytest.approx(dW[0, 0])
    # The penalty is once per batch: the same under mean reduction over two samples.
    mean = bp.Network((1, 1), "identity", "squared_error", reduction="mean", l2=0.25)
    xs, ys = np.array([[x], [x]]), np.array([[y], [y]])
    assert bp.loss(mean, params, xs, ys) == pytest.approx(r * r + 0.25 * w * w)
    with pytest.raises(ValueError, match="l2 must be a finite number >= 0"):
        bp.Network((1, 1), "identity", "squared_error", l2=-1.0)
    with pytest.raises(TypeError, match="l2 must be a real number"):
        bp.Network((1, 1), "identity", "squared_error", l2="0.1")


def test_training_with_l2_shrinks_the_weights():
    # With only the penalty acting (targets equal to the output at W = 0, b = 0),
    # gradient descent on l2·w² scales w by (1 − 2·lr·l2) per step.
    net = bp.Network((1, 1), "identity", "squared_error", l2=0.5, bias=False)
    params = [(np.array([[2.0]]), None)]
    x, y = np.zeros((3, 1)), np.zeros((3, 1))
    result = bp.train(net, params, x, y, lr=0.1, epochs=3)
    assert result.params[0][0][0, 0] == pytest.approx(2.0 * (1 - 2 * 0.1 * 0.5) ** 3)
