"""One-line checks of a hand derivative: ``check_activation(act)``, ``check_loss(loss)``.

Each runs a Hypothesis property over random networks -- the activation in
every position it may take (hidden layers and the output, next to every
registered activation), or the loss after every output activation it may
follow -- and compares manual_bp's gradients, which use the object's *hand*
derivative (``derivative``/``vjp``, ``grad_a``/``output_delta``), with
``jax.grad`` of its *formula*, central differences and the complex step
(:func:`reference.compare`).  A wrong derivative raises ``AssertionError``
carrying the compare report of the smallest failing network Hypothesis finds
(which layer, which entry, the diagnosis).  In a user's test suite::

    def test_my_activation():
        reference.check_activation(MyActivation())

Before the networks, the fast NumPy ``value`` (where the object overrides it)
is held to its ``formula`` on a grid of points, and a derivative that
overflows or returns the wrong shape is reported as such.
"""
from __future__ import annotations

import numpy as np

__all__ = ["check_activation", "check_loss"]

# Points where a formula is evaluated against its fast value: both signs, the
# kinks of the common activations, and magnitudes where naive forms overflow.
_GRID = np.array([[-30.0, -5.0, -1.5, -0.5, -1e-3, 0.0, 1e-3, 0.5, 1.5, 5.0, 30.0]])


def _require_hypothesis() -> None:
    try:
        import hypothesis  # noqa: F401
    except ImportError:
        raise ImportError("check_activation and check_loss run a Hypothesis property: pip install hypothesis "
                          "(or deltacheck[test])") from None


def _settings(max_examples: int):
    from hypothesis import HealthCheck, Phase, settings

    # Derandomised, no database: the same call gives the same verdict, and a
    # user's test run leaves no files behind.  No deadline: the first example
    # of each depth compiles the JAX reference.
    # One failure reported, the smallest: a user wants one report, not an ExceptionGroup of
    # the same wrong derivative seen twice.  No explain phase: its notes on which parts of the
    # example mattered cost ~3 s per failure (0.1 s without), and the report already names the layer.
    phases = [p for p in Phase if p.name != "explain"]
    return settings(max_examples=max_examples, derandomize=True, database=None, deadline=None,
                    suppress_health_check=list(HealthCheck), print_blob=False, report_multiple_bugs=False,
                    phases=phases)


def _check_value(obj, what: str, dtype) -> None:
    """The object's fast ``value`` against its ``formula`` (the one definition)."""
    from manual_bp import Activation

    z = _GRID.astype(dtype)
    if isinstance(obj, Activation):
        if type(obj).value is Activation.value:
            return
        want = np.asarray(obj.formula(np, z.copy()), dtype=np.float64)
        got = np.asarray(obj.value(z.copy()), dtype=np.float64)
    else:
        return
    tol = 1e-12 if dtype == np.float64 else 1e-5
    bad = ~np.isclose(got, want, rtol=tol, atol=tol)
    if bad.any():
        i = int(np.flatnonzero(bad.ravel())[0])
        raise AssertionError(f"{what}: value(z) and formula(np, z) disagree at z = {z.ravel()[i]:g}: "
                             f"{got.ravel()[i]!r} vs {want.ravel()[i]!r}; the fast value must compute the formula")


def _problems(*, activation=None, loss=None, max_depth: int, dtype):
    """Problems with ``activation`` in at least one position, or with ``loss`` as the loss."""
    from hypothesis import strategies as st

    from manual_bp import Network
    from manual_bp.activations import ACTIVATIONS
    from manual_bp.losses import LOSSES

    from . import strategies as dst

    @st.composite
    def draw(draw):
        depth = draw(st.integers(1, max_depth))
        sizes = tuple(draw(st.lists(st.integers(1, 5), min_size=depth + 1, max_size=depth + 1)))
        if loss is not None:
            the_loss = loss
        else:
            # A loss after which the activation may sit at the output, else any (it goes hidden).
            fits = [ls for ls in LOSSES.values()
                    if ls.output_activations is None or activation.name in ls.output_activations]
            the_loss = draw(st.sampled_from(fits or list(LOSSES.values())))
        allowed = the_loss.output_activations
        outs = [name for name in ACTIVATIONS if allowed is None or name in allowed]
        acts = [draw(dst.activations()) for _ in range(depth - 1)]
        acts.append(draw(dst.activations(names=outs)))
        if activation is not None:
            # Put the activation in each position it may take, at least once.
            slots = list(range(depth - 1)) if activation.elementwise else []
            if allowed is None or activation.name in allowed:
                slots.append(depth - 1)
            if not slots:  # a non-elementwise activation that no loss may follow
                raise ValueError(f"activation {activation.name!r} fits no position: it is not elementwise (so "
                                 "hidden layers are out) and no registered loss accepts it as the output")
            for i in draw(st.lists(st.sampled_from(slots), min_size=1, max_size=len(slots), unique=True)):
                acts[i] = activation
        half = draw(st.booleans()) if the_loss.name == "squared_error" else False
        net = Network(sizes, tuple(acts), the_loss, reduction=draw(st.sampled_from(("sum", "mean"))), half=half,
                      bias=tuple(draw(st.lists(st.booleans(), min_size=depth, max_size=depth))),
                      l2=draw(st.sampled_from(dst.L2_VALUES)))
        n_batch = draw(st.integers(1, 4))
        seed = draw(st.integers(0, 2**32 - 1))
        rng = np.random.default_rng(seed)
        params = dst._params_from(net, rng, dtype, draw(st.floats(0.3, 2.0)))
        x = dst._inputs_from(net, rng, n_batch, dtype, 2.0)
        y = dst._targets_from(net, rng, n_batch, dtype, draw(st.booleans()))
        return dst.Problem(net, params, x, y, seed)

    return draw()


def _run(problems, what: str, max_examples: int) -> None:
    from hypothesis import given

    from .comparison import compare

    @_settings(max_examples)
    @given(problems)
    def prop(p):
        report = compare(p.net, p.params, p.x, p.y)
        if not report.ok:
            raise AssertionError(f"{what}: the hand derivative disagrees with jax.grad of the formula on "
                                 f"{p.net.describe()}, batch {p.x.shape[0]}\n{report}")

    prop()


def check_activation(act, *, max_examples: int = 40, max_depth: int = 3, dtype=np.float64) -> None:
    """Check an activation's hand derivative in every position it may take; raise AssertionError if wrong.

    ``act`` is an :class:`manual_bp.Activation` instance or a registered name;
    it need not be registered.  Runs ``max_examples`` random networks of depth
    1..``max_depth`` (widths and batch up to 5, float64 by default) through
    :func:`reference.compare`; the error carries the report of the smallest
    failing network.  Returns None when every network agrees.
    """
    from manual_bp import Activation, get_activation

    if not isinstance(act, (Activation, str)):
        raise TypeError(f"act must be a manual_bp.Activation instance or a registered name, got {act!r}")
    act = get_activation(act)
    _require_hypothesis()
    what = f"activation {str(act)!r}"
    _check_value(act, what, np.dtype(dtype))
    _run(_problems(activation=act, max_depth=max_depth, dtype=dtype), what, max_examples)


def check_loss(loss, *, max_examples: int = 40, max_depth: int = 3, dtype=np.float64) -> None:
    """Check a loss's hand derivative (``grad_a``, ``output_delta``) after every output activation it may
    follow; raise AssertionError with the compare report if wrong.  Arguments as for :func:`check_activation`.
    """
    from manual_bp import Loss, get_loss

    if not isinstance(loss, (Loss, str)):
        raise TypeError(f"loss must be a manual_bp.Loss instance or a registered name, got {loss!r}")
    loss = get_loss(loss)
    _require_hypothesis()
    what = f"loss {loss.name!r}"
    _run(_problems(loss=loss, max_depth=max_depth, dtype=dtype), what, max_examples)
