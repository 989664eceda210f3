"""The documents' formulas: the compare tool must find what the registry's reasoning predicts.

The expectations live in ``reference/document_formulas.py`` next to the
argument for each (a case's ``why``, a formula's ``reasoning``); they were
written from the chain rule, not read off the tool.  Here the tool is held to
them, so that neither the errata page nor the tool can drift silently.  A
few claims the reasoning rests on are also checked directly, with NumPy and
JAX written out in this file.
"""
from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import reference
from reference import document_formulas as df

ROOT = Path(__file__).resolve().parents[1]
CASES = [(f, c) for f in df.DOCUMENT_FORMULAS for c in f.cases]
IDS = [f"{f.id}: {c.label}" for f, c in CASES]


@pytest.fixture(scope="module")
def results():
    return df.check_formulas()


@pytest.fixture(scope="module")
def reports(results):
    return {(f.id, c.label): r for f, rs in results for c, r in zip(f.cases, rs)}


@pytest.mark.parametrize(("formula", "case"), CASES, ids=IDS)
def test_tool_finds_what_the_reasoning_predicts(formula, case, reports):
    report = reports[formula.id, case.label]
    e = case.expect
    assert report.ok == e.agree, str(report)
    if e.agree:
        assert report.localisation is None and report.diagnosis == ()
        return
    if isinstance(case, df.DerivativeCase):  # one derivative: agree or not is the whole finding
        assert e.layer is None and not e.findings
        return
    loc = report.localisation
    assert loc is not None and loc.layer == e.layer, str(report)
    # a wrong δ (the pattern it leaves) versus a mistake in forming dW/db from a right δ
    assert ("forming the gradient" not in loc.text) == e.delta, loc.text
    assert [(f.kind, f.detail.get("parameter")) for f in report.diagnosis] == list(e.findings), str(report)
    assert [f.detail["mistake"] for f in report.diagnosis if f.kind == "mistake"] == list(e.mistakes), str(report)
    factors = [f for f in report.diagnosis if f.kind == "factor"]
    if e.factor is not None:
        assert factors[0].detail["factor"] == pytest.approx(e.factor, rel=1e-9)
        assert tuple(factors[0].detail["conventions"]) == e.conventions


@pytest.mark.parametrize(("formula", "case"), [(f, c) for f, c in CASES if c.expect.agree],
                         ids=[i for i, (_, c) in zip(IDS, CASES) if c.expect.agree])
def test_formulas_that_hold_pass_check_gradients(formula, case):
    if case.net is None:  # the perceptron criterion: compare_perceptron is its check
        assert case.report().ok
        return
    params, x, y = case.build()
    reference.check_gradients(case.candidate, case.net, params, x, y)


def test_verdicts_are_consistent_with_the_cases():
    for f in df.DOCUMENT_FORMULAS:
        agree = [c.expect.agree for c in f.cases]
        assert f.verdict in ("correct", "conditional", "wrong"), f.id
        assert f.reasoning and f.corrected and f.formula, f.id
        if f.verdict == "correct":
            assert all(agree), f.id
        else:
            # a wrong formula fails everywhere it is checked; a conditional one fails where
            # its condition is unmet (and the cases that agree show it met)
            assert not all(agree), f.id
            assert f.verdict == "conditional" or not any(agree), f.id
            assert bool(f.condition) == (f.verdict == "conditional"), f.id
        for c in f.cases:
            assert c.why, (f.id, c.label)
            if c.net is not None:
                params, x, _ = c.build()
                assert x.shape[0] >= 3, "sum and mean must differ"


def test_ids_are_unique_and_sources_exist():
    ids = [f.id for f in df.DOCUMENT_FORMULAS]
    assert len(set(ids)) == len(ids)
    assert {f.document for f in df.DOCUMENT_FORMULAS} == {df.DOC000, df.DOC001, df.DOC002, df.DOC003, df.DOC004}


# ---------------------------------------------------------------------------
# The new literal implementations against hand arithmetic (never manual_bp)
# ---------------------------------------------------------------------------

def _doc002_problem():
    """Document 002's own numbers: x = (2, 3), y = 1, w1..w6 = 0.11, 0.12, 0.21, 0.08, 0.14, 0.15."""
    params = [(np.array([[0.11, 0.12], [0.21, 0.08]]), None), (np.array([[0.14], [0.15]]), None)]
    return params, np.array([[2.0, 3.0]]), np.array([[1.0]])


def test_doc002_rules_by_hand():
    params, x, y = _doc002_problem()
    # h1 = 2·0.11 + 3·0.21 = 0.85, h2 = 2·0.12 + 3·0.08 = 0.48, ŷ = 0.85·0.14 + 0.48·0.15 = 0.191, Δ = −0.809
    D = -0.809
    right = df.doc002_w1_derivation(df._NET_002, params, x, y)
    np.testing.assert_allclose(right[1][0][:, 0], [D * 0.85, D * 0.48], rtol=1e-12)          # Δh1, Δh2
    np.testing.assert_allclose(right[0][0], [[D * 0.14 * 2, D * 0.15 * 2],                    # Δ w5 x1, Δ w6 x1
                                             [D * 0.14 * 3, D * 0.15 * 3]], rtol=1e-12)       # Δ w5 x2, Δ w6 x2
    as_written = df.doc002_update_rules_as_written(df._NET_002, params, x, y)
    np.testing.assert_allclose(as_written[0][0], [[D * 0.11 * 2, D * 0.12 * 2],               # Δ w1 x1, Δ w2 x1
                                                  [D * 0.21 * 3, D * 0.08 * 3]], rtol=1e-12)  # Δ w3 x2, Δ w4 x2
    # and the truth by the complex step on the loss written out here: ½(x·W1·W2 − y)²
    def L(W1, W2):
        return 0.5 * ((x @ W1 @ W2 - y) ** 2).sum()
    W1, W2 = params[0][0], params[1][0]
    g = np.zeros_like(W1)
    for idx in np.ndindex(W1.shape):
        E = np.zeros(W1.shape, complex)
        E[idx] = 1e-30j
        g[idx] = L(W1 + E, W2).imag / 1e-30
    np.testing.assert_allclose(right[0][0], g, rtol=1e-12)
    assert not np.allclose(as_written[0][0], g)


def test_doc003_ex1_chain_factor_reading_by_hand():
    # Example 1's own data: the factor form gives mean(r)·mean(s'x), the chain rule mean(r·s'·x).
    params = [(np.array([[0.5], [-0.5]]), np.array([0.2]))]
    x = np.array([[1.0, 2.0], [2.0, 3.0], [3.0, 7.0]])
    y = np.array([[3.0], [5.0], [10.0]])
    S = 1 / (1 + np.exp(-(x @ [0.5, -0.5] + 0.2)))
    r, sp = S - y[:, 0], S * (1 - S)
    lit = df.doc003_ex1_chain_factors(df._NET_003_EX1, params, x, y)
    assert lit[0][0][0, 0] == pytest.approx(r.mean() * (sp * x[:, 0]).mean(), rel=1e-12)
    right = df.doc003_ex1_gradients(df._NET_003_EX1, params, x, y)
    assert right[0][0][0, 0] == pytest.approx((r * sp * x[:, 0]).mean(), rel=1e-12)   # −2.1553, the true ∂MSE/∂w1
    assert right[0][0][0, 0] == pytest.approx(-2.1553143, abs=1e-7)


def test_one_path_misses_the_other_by_hand():
    # With w41 = w51 = 0 the path through Z22 vanishes, so the one-path Step 5 (inputs fixed) is exact.
    case = next(c for f, c in CASES if f.id == "doc003-ex2-step5" and "input" in c.label)
    params, x, y = case.build()
    params = [(W.copy(), None if b is None else b.copy()) for W, b in params]
    params[1][0][0, 1] = 0.0   # w41
    params[2][0][1, 0] = 0.0   # w52: Z22 no longer reaches Y_pred
    lit = df.doc003_ex2_step5_inputs_fixed(case.net, params, x, y)
    truth = reference.gradients(case.net, params, x, y)
    np.testing.assert_allclose(lit[0][0][:, 0], truth[0][0][:, 0], rtol=1e-10)
    np.testing.assert_allclose(lit[0][1][0], truth[0][1][0], rtol=1e-10)


# ---------------------------------------------------------------------------
# Claims the reasoning rests on, checked by hand
# ---------------------------------------------------------------------------

def test_sigma_prime_readings_differ():
    # a(1 − a) is σ'(z) for a = σ(z); σ'(a) = σ(a)(1 − σ(a)) is another function of a.
    z = np.linspace(-3, 3, 7)
    a = 1 / (1 + np.exp(-z))
    true = np.exp(-z) / (1 + np.exp(-z)) ** 2
    np.testing.assert_allclose(a * (1 - a), true, rtol=1e-12)
    assert np.abs(df._sigma_prime_at(a) - true).min() > 1e-3


def test_spurious_sum_makes_every_output_column_equal():
    # ∂E_n/∂y_k = Σ_k (y_nk − t_nk) is the same for every k, so each column of dW2 is A^T Σ_k r_k.
    case = next(c for f, c in CASES if f.id == "doc003-general-output")
    params, x, y = case.build()
    dW2 = df.doc003_general(case.net, params, x, y)[1][0]
    np.testing.assert_allclose(dW2, dW2[:, :1] * np.ones((1, dW2.shape[1])), rtol=1e-12)


def _ce_loss(params, x, targets):
    """004's network written out: sigmoid hidden, softmax output, −Σ l log O, no biases."""
    (W, _), (G, _) = params
    X = jax.nn.sigmoid(x @ W) @ G
    return -jnp.sum(targets * jax.nn.log_softmax(X))


def test_cross_entropy_is_linear_in_its_targets():
    # The multi-hot case rests on CE(2y) = 2·CE(y): check it with JAX on targets summing to 2,
    # which neither manual_bp nor the reference model accepts, and that 004's formula misses it.
    case = next(c for f, c in CASES if f.id == "doc004-classification" and not c.expect.agree)
    params, x, y = case.build()
    assert np.allclose(y.sum(axis=1), 1) and np.allclose((2 * y).sum(axis=1), 2)
    with jax.enable_x64(True):
        p = [(jnp.asarray(W), None) for W, _ in params]
        grad = jax.grad(_ce_loss)
        g2 = grad(p, jnp.asarray(x), jnp.asarray(2 * y))
        g1 = grad(p, jnp.asarray(x), jnp.asarray(y))
    for (a, _), (b, _) in zip(g2, g1):
        np.testing.assert_allclose(np.asarray(a), 2 * np.asarray(b), rtol=1e-12)
    literal = df.doc004_classification(case.net, params, x, 2 * y)
    assert not np.allclose(literal[1][0], np.asarray(g2[1][0]))


# ---------------------------------------------------------------------------
# The errata page
# ---------------------------------------------------------------------------

def test_errata_page_ends_with_the_formulas_section(results):
    section = df.formula_errata_markdown(results)
    page = (ROOT / "docs" / "errata.md").read_text(encoding="utf-8")
    assert page.endswith("\n" + section), "run: python scripts/make_errata.py"
    for f in df.DOCUMENT_FORMULAS:
        assert f'<a id="{f.id}"></a>' in section and f.verdict_text() in section
    assert section.count("**disagree**") == sum(not c.expect.agree for _, c in CASES) * 2
