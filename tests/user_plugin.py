"""A user's own activation and loss, written as the README tells users to.

Registered on import, so the whole suite (every property drawing from the
registry) cross-checks them like the built-ins, and ``deltacheck compare
--plugin tests.user_plugin`` can name them.  Their formulas and derivatives
are derived here by hand, independently of anything in the package.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import manual_bp as bp


@dataclass(frozen=True)
class Softsign(bp.Activation):
    """f(z) = z / (1 + |z|);  f'(z) = 1 / (1 + |z|)² = (1 − |a|)²  (|a| = |z|/(1 + |z|))."""

    name = "softsign"
    needs_z = False
    # f' = 1/(1 + |z|)² is continuous at 0 but f'' jumps from 2 to −2 there: the Taylor test
    # drops steps that cross it (reference.taylor_test reads ``curvature_kinks``).
    curvature_kinks = (0.0,)

    def formula(self, xp, z):
        # |z| written per branch of Re z, so the complex step sees an analytic
        # function; the division comes after the where, so no branch divides by 0.
        m = xp.where(xp.real(z) >= 0, z, -z)
        return z / (1 + m)

    def derivative(self, z, a):
        d = 1.0 - np.abs(a)
        return d * d


@dataclass(frozen=True)
class LogCosh(bp.Loss):
    """ℓ = Σ_k log cosh(a_k − y_k);  ∂ℓ/∂a_k = tanh(a_k − y_k).

    Evaluated as |r| + log1p(e^{−2|r|}) − log 2 (r = a − y), which never overflows.
    """

    name = "log_cosh"
    unitwise = True

    def formula(self, xp, z, a, y):
        r = a - y
        m = xp.where(xp.real(r) >= 0, r, -r)  # |r| per branch: analytic for the complex step
        return xp.sum(m + xp.log1p(xp.exp(-2 * m)) - np.log(2.0), axis=-1)

    def grad_a(self, a, y):
        return np.tanh(a - y)


SOFTSIGN = bp.register_activation(Softsign(), replace=True)
LOG_COSH = bp.register_loss(LogCosh(), replace=True)
