"""The documents' gradient formulas, implemented literally and checked by the compare tool.

Every formula the five documents state, intermediate steps included (a
chain rule written for one term, a general rule written after one worked
weight, a line before the derivation corrects itself), becomes a *candidate*: a function with the signature of
``manual_bp.gradients(net, params, x, y)`` that computes what the formula
says, in the row layout ``z = x @ W + b`` with samples as rows (document
001's column form ``W h + b`` is translated: its ``W`` is our ``W.T``, its
``δ h^T`` our ``h^T δ``).  :func:`reference.compare` then puts the
candidate beside ``jax.grad`` and numerical derivatives on a random, seeded
batch of N = 5 samples (so a missing or extra 1/N shows), and the report's
verdict, localisation and diagnosis are what the errata page prints.  A
formula that is a single derivative rather than a network gradient is a
:class:`DerivativeCase`: evaluated at a seeded random point beside
``jax.grad`` of the function it differentiates.

One registry entry (:class:`DocumentFormula`) per formula: the document and
section, the formula as written (quoted from the document), the verdict
reached *from first principles* (``correct``, ``conditional``: correct only
under a convention the document does not state, or ``wrong``), the
reasoning, the corrected formula, and one or more :class:`FormulaCase`\\ s:
the ``manual_bp.Network`` the formula is meant for (the loss as the document
states it), a builder of params/x/y, the candidate (one per reading of an
ambiguous formula) and what the tool must find (:class:`Expect`), argued in
the case's ``why``.  ``tests/test_document_formulas.py`` holds the tool to
those expectations, so the errata cannot drift silently.

Each candidate reads literally the formula its entry is about; the section's
other formulas are read in their correct sense (a bias gradient summed over
the batch, say) so that the report isolates that one formula.

Public: :data:`DOCUMENT_FORMULAS`, :class:`DocumentFormula`,
:class:`FormulaCase`, :class:`DerivativeCase`, :class:`Expect`, :func:`check_formulas` and
:func:`formula_errata_markdown` (the "Formulas" section of docs/errata.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

import manual_bp as bp

from .comparison import GradientReport, compare, compare_perceptron
from .tolerances import allclose_tree

__all__ = [
    "DOCUMENT_FORMULAS",
    "DerivativeCase",
    "DocumentFormula",
    "Expect",
    "FormulaCase",
    "check_formulas",
    "formula_errata_markdown",
]

#: Samples per batch in every MLP case: N > 1 so that sum and mean differ,
#: and N differs from every layer width and from N/K's neighbours (2, ½).
N_BATCH = 5

DOC000 = "000_63358e9d755b0e5c.txt"
DOC001 = "001_0422fef8398d7e07.txt"
DOC002 = "002_423731ea8521968c.txt"
DOC003 = "003_83ffd57d8a5d88c5.txt"
DOC004 = "004_8e575e2a82cceb73.txt"


# ---------------------------------------------------------------------------
# Shared pieces of the literal implementations
# ---------------------------------------------------------------------------

def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _a_one_minus_a(a):
    """σ'(z) written through the output a = σ(z): a(1 − a)."""
    return a * (1.0 - a)


def _sigma_prime_at(a):
    """σ' *evaluated at* a: σ(a)(1 − σ(a)), the other reading of "σ'(hidden_layer_output)"."""
    return _a_one_minus_a(_sigmoid(a))


def _forward_2(params, x, out):
    """A sigmoid hidden layer then ``out``: ``(hidden activation H, output O)``; a bias is added where present."""
    (W, b1), (G, b2) = params
    H = _sigmoid(x @ W + (0.0 if b1 is None else b1))
    O = H @ G + (0.0 if b2 is None else b2)
    return H, out(O)


# ---------------------------------------------------------------------------
# Document 000: the classifier and the regressor (row form, x · W + W_bias)
# ---------------------------------------------------------------------------

def _doc000_classifier(params, x, label, sigma_prime):
    """000 §2.2 line by line; returns (W_update, W_bias deltas, Γ_update, Γ_bias deltas) per sample."""
    G = params[1][0]
    hidden_layer_output, output_layer_output = _forward_2(params, x, _softmax)
    output_error = output_layer_output - label
    output_delta = output_error
    hidden_error = output_delta @ G.T
    # "·" between two (N, 3) arrays can only be elementwise for a batch of N.
    hidden_delta = hidden_error * sigma_prime(hidden_layer_output)
    Gamma_update = hidden_layer_output.T @ output_delta
    W_update = x.T @ hidden_delta
    return W_update, hidden_delta, Gamma_update, output_delta


def doc000_classifier(net, params, x, y):
    """000's classifier with σ'(hidden_layer_output) = a(1 − a); bias updates summed over the batch."""
    W_update, hidden_delta, Gamma_update, output_delta = _doc000_classifier(params, x, y, _a_one_minus_a)
    return [(W_update, hidden_delta.sum(axis=0)), (Gamma_update, output_delta.sum(axis=0))]


def doc000_classifier_sigma_prime_at_output(net, params, x, y):
    """000's classifier reading σ'(hidden_layer_output) as σ' evaluated at the output: σ(a)(1 − σ(a))."""
    W_update, hidden_delta, Gamma_update, output_delta = _doc000_classifier(params, x, y, _sigma_prime_at)
    return [(W_update, hidden_delta.sum(axis=0)), (Gamma_update, output_delta.sum(axis=0))]


def doc000_classifier_bias_updates(net, params, x, y):
    """000's classifier with the bias updates as written: Γ_bias_update = output_delta, W_bias_update = hidden_delta."""
    W_update, hidden_delta, Gamma_update, output_delta = _doc000_classifier(params, x, y, _a_one_minus_a)
    return [(W_update, hidden_delta), (Gamma_update, output_delta)]


def doc000_regressor(net, params, x, y):
    """000 §3.2: output_error = 2 × (output_layer_output − label), no 1/N; bias updates summed over the batch."""
    Gamma = params[1][0]
    hidden_layer_output, output_layer_output = _forward_2(params, x, lambda o: o)
    output_error = 2 * (output_layer_output - y)
    Gamma_update = hidden_layer_output.T @ output_error
    hidden_error = (output_error @ Gamma.T) * _a_one_minus_a(hidden_layer_output)
    W_update = x.T @ hidden_error
    return [(W_update, hidden_error.sum(axis=0)), (Gamma_update, output_error.sum(axis=0))]


def doc000_regressor_sigma_prime_at_output(net, params, x, y):
    """000 §3.2's hidden_error = output_error · Γ^T · σ'(hidden_layer_output) with σ' evaluated at the output."""
    Gamma = params[1][0]
    hidden_layer_output, output_layer_output = _forward_2(params, x, lambda o: o)
    output_error = 2 * (output_layer_output - y)
    hidden_error = (output_error @ Gamma.T) * _sigma_prime_at(hidden_layer_output)
    return [(x.T @ hidden_error, hidden_error.sum(axis=0)),
            (hidden_layer_output.T @ output_error, output_error.sum(axis=0))]


# ---------------------------------------------------------------------------
# Document 001: the general L-layer MLP (column form W h + b, translated)
# ---------------------------------------------------------------------------

def _doc001(params, x, y_true, N, sum_bias: bool):
    """001's δ^L = (2/N)(y_pred − y_true)·σ'(z^L), δ^{l−1} = (W^l)^T δ^l · σ'(z^{l−1}),
    ∂L/∂W^l = δ^l (h^{l−1})^T and ∂L/∂b^l = δ^l (summed over the batch if ``sum_bias``).

    Row layout: the column form's ``W^l`` is our ``W.T``, so ``(W^l)^T δ^l``
    is ``δ @ W.T`` and ``δ^l (h^{l−1})^T`` is ``(h.T @ δ).T`` in its shape,
    i.e. ``h.T @ δ`` in ours; σ is the sigmoid (one activation for all layers).
    """
    h, z = [x], []
    for W, b in params:
        z.append(h[-1] @ W + b)
        h.append(_sigmoid(z[-1]))
    y_pred = h[-1]
    delta = (2.0 / N) * (y_pred - y_true) * _a_one_minus_a(_sigmoid(z[-1]))
    grads = []
    for l in range(len(params) - 1, -1, -1):
        grads.append((h[l].T @ delta, delta.sum(axis=0) if sum_bias else delta))
        if l:
            delta = (delta @ params[l][0].T) * _a_one_minus_a(_sigmoid(z[l - 1]))
    return grads[::-1]


def doc001_n_samples(net, params, x, y):
    """001 with N = the number of samples in the batch; bias gradients summed over it."""
    return _doc001(params, x, y, N=x.shape[0], sum_bias=True)


def doc001_n_outputs(net, params, x, y):
    """001 with N = the number of outputs (the sum over i of one sample's output vector)."""
    return _doc001(params, x, y, N=y.shape[1], sum_bias=True)


def doc001_bias(net, params, x, y):
    """001 with ∂L/∂b^l = δ^l as written (one column per sample), N = the number of samples."""
    return _doc001(params, x, y, N=x.shape[0], sum_bias=False)


# ---------------------------------------------------------------------------
# Document 003: the 2-2-2 network's component formulas, the general K-output
# formulas, and the perceptron
# ---------------------------------------------------------------------------

def _doc003_222(net, params, x, t, swap_step4: bool):
    """003 Steps 2–6 for ``z_j^{(l)} = Σ_m w_mj a_m + b_j`` (so w_ij joins a_i to z_j: our W[i, j]).

    Step 2 δ_i^(2) = ∂L/∂a_i^(2) · g^(2)'(z_i^(2)), with g' the scalar
    derivative ∂a_i/∂z_i; Step 3 δ_j^(1) = g^(1)'(z_j^(1)) Σ_k w_jk^(2) δ_k^(2);
    Step 4 ∂L/∂w_ij^(2) = δ_i^(2) a_j^(1) (``swap_step4``) or the matrix
    form a^(1)(δ^(2))^T; Step 5 ∂L/∂w_ij^(1) = δ_j^(1) a_i^(0); Step 6
    ∂L/∂b = δ, summed over the batch.  L is the network's per-sample loss:
    ½Σ(a − t)² (∂L/∂a = a − t) or cross-entropy (∂L/∂a = −t/a).
    """
    (W1, _), (W2, _) = params
    a1, a2 = _forward_2(params, x, _sigmoid if net.activations[-1].name == "sigmoid" else _softmax)
    dL_da2 = a2 - t if net.loss == "squared_error" else -t / a2
    delta2 = dL_da2 * _a_one_minus_a(a2)            # g' of sigmoid, and softmax's ∂a_i/∂z_i
    delta1 = _a_one_minus_a(a1) * (delta2 @ W2.T)   # Σ_k w_jk δ_k
    dW2 = delta2.T @ a1 if swap_step4 else a1.T @ delta2
    return [(x.T @ delta1, delta1.sum(axis=0)), (dW2, delta2.sum(axis=0))]


def doc003_layers(net, params, x, y):
    """003's 2-2-2 network: Steps 2, 3, 5, 6 and the matrix form ∂L/∂W^(2) = a^(1)(δ^(2))^T."""
    return _doc003_222(net, params, x, y, swap_step4=False)


def doc003_layers_step4(net, params, x, y):
    """003's 2-2-2 network with Step 4's component form ∂L/∂w_ij^(2) = δ_i^(2) a_j^(1)."""
    return _doc003_222(net, params, x, y, swap_step4=True)


def _doc003_general(net, params, x, t, spurious_sum: bool):
    """003's general structure: ``A_j = h(Z_j)``, ``y_k = Σ_j w_kj A_j`` (identity output, no biases).

    ∂E_n/∂w_kj^(2) = Σ_k (y_nk − t_nk) A_j (``spurious_sum``) or the true
    (y_nk − t_nk) A_j; ∂E_n/∂w_ji^(1) = Σ_k (y_nk − t_nk) w_kj h'(Z_j) x_i.
    Per sample (E_n) summed over the batch when the network sums; the batch
    version's (1/N)Σ_n when it averages.  h = tanh, h'(Z) = 1 − A².
    """
    (W1, _), (W2, _) = params
    A = np.tanh(x @ W1)
    y = A @ W2                                       # W2[j, k] = w_kj^(2)
    r = y - t
    dE_dy = np.broadcast_to(r.sum(axis=1, keepdims=True), r.shape) if spurious_sum else r
    dW2 = A.T @ dE_dy
    dW1 = x.T @ ((r @ W2.T) * (1.0 - A * A))         # Σ_k over the whole product
    scale = 1.0 / x.shape[0] if net.reduction == "mean" else 1.0
    return [(scale * dW1, None), (scale * dW2, None)]


def doc003_general(net, params, x, y):
    """003's general formulas as written: ∂E_n/∂y_k = Σ_k (y_nk − t_nk) in the output-layer gradient."""
    return _doc003_general(net, params, x, y, spurious_sum=True)


def doc003_general_hidden(net, params, x, y):
    """003's hidden-layer formula Σ_k (y_nk − t_nk) w_kj h'(Z_j) x_i, with the true output-layer gradient."""
    return _doc003_general(net, params, x, y, spurious_sum=False)


def doc003_perceptron(w, x, t, *, bias: bool = True):
    """003's ∇E_p = −Σ_{n∈M} φ(x_n) t_n, the update w + αφ(x_n)t_n summed over the misclassified set M."""
    phi = np.hstack([np.ones((x.shape[0], 1)), x]) if bias else x
    M = t * (phi @ w) <= 0
    return -(phi[M] * t[M, None]).sum(axis=0)


# ---------------------------------------------------------------------------
# Document 004: regression and classification, per weight
# ---------------------------------------------------------------------------

def doc004_regression(net, params, x, y):
    """∂SE/∂γ_j0 = −2(y − O_0)·H_j, ∂SE/∂W_ij = −2(y − O_0)·γ_j0·H_j(1 − H_j)·I_i, summed over the samples."""
    gamma = params[1][0]
    H, O = _forward_2(params, x, lambda o: o)
    dSE_dO = -2 * (y - O)
    return [(x.T @ ((dSE_dO @ gamma.T) * H * (1 - H)), None), (H.T @ dSE_dO, None)]


def doc004_classification(net, params, x, y):
    """∂CE/∂X_k = O_k − l_k, ∂CE/∂γ_jk = (O_k − l_k)·H_j, ∂CE/∂W_ij = Σ_k (O_k − l_k)·γ_jk·H_j(1 − H_j)·I_i."""
    gamma = params[1][0]
    H, O = _forward_2(params, x, _softmax)
    dCE_dX = O - y
    return [(x.T @ ((dCE_dX @ gamma.T) * H * (1 - H)), None), (H.T @ dCE_dX, None)]


def doc004_classification_targets_summing_to_2(net, params, x, y):
    """004's formulas for targets l = 2y (rows summing to 2), halved: the true gradient for y iff they hold for l.

    Cross-entropy is linear in its target, CE(2y, O) = 2·CE(y, O), so the
    true gradient for l = 2y is twice the one for y.  The compare tool (like
    manual_bp) accepts only target rows summing to 1, hence this detour.
    """
    return [(dW / 2, None) for dW, _ in doc004_classification(net, params, x, 2 * y)]


# ---------------------------------------------------------------------------
# Document 002: the 2-2-1 linear network, per weight (w1..w4 into h1, h2; w5, w6 into ŷ)
# ---------------------------------------------------------------------------
# Names as in reference/data/examples/doc002_2-2-1_linear.toml: w1 = W1[0, 0] (x1 → h1),
# w2 = W1[0, 1] (x1 → h2), w3 = W1[1, 0] (x2 → h1), w4 = W1[1, 1] (x2 → h2),
# w5 = W2[0, 0] (h1 → ŷ), w6 = W2[1, 0] (h2 → ŷ).  One sample in the document;
# here each per-sample expression is summed over the batch (the loss is Σ_n ½(ŷ_n − y_n)²).

def _doc002_forward(params, x):
    (W1, _), (W2, _) = params
    x1, x2 = x[:, 0], x[:, 1]
    w1, w2, w3, w4 = W1[0, 0], W1[0, 1], W1[1, 0], W1[1, 1]
    w5, w6 = W2[0, 0], W2[1, 0]
    h1 = x1 * w1 + x2 * w3
    h2 = x1 * w2 + x2 * w4
    return (x1, x2), (w1, w2, w3, w4, w5, w6), (h1, h2), h1 * w5 + h2 * w6


def _doc002_grads(d_w1_to_w4, d_w5_w6):
    g1, g2, g3, g4 = d_w1_to_w4
    g5, g6 = d_w5_w6
    return [(np.array([[g1, g2], [g3, g4]]), None), (np.array([[g5], [g6]]), None)]


def doc002_output_rules(net, params, x, y):
    """002 STEP 4 for w6 and w5: ∂Error/∂w6 = Δ·h2, ∂Error/∂w5 = Δ·h1 (Δ = prediction − actual);
    w1..w4 as the w1 derivation gives them (Δ·w5·x1, ...)."""
    (x1, x2), (w1, w2, w3, w4, w5, w6), (h1, h2), pred = _doc002_forward(params, x)
    D = pred - y[:, 0]                  # [2·½(Prediction − actual)]·∂(Prediction − actual)/∂Prediction
    return _doc002_grads([(D * w5 * x1).sum(), (D * w6 * x1).sum(), (D * w5 * x2).sum(), (D * w6 * x2).sum()],
                         [(D * h1).sum(), (D * h2).sum()])


def doc002_w1_derivation(net, params, x, y):
    """002's derivation ∂ErrorFunc/∂w1 = ∂Error/∂Pred · ∂Pred/∂h1 · ∂h1/∂w1 = Δ·w5·x1, the same chain for
    w2 (through h2: Δ·w6·x1), w3 (Δ·w5·x2), w4 (Δ·w6·x2); w5, w6 by their rules."""
    return doc002_output_rules(net, params, x, y)


def doc002_update_rules_as_written(net, params, x, y):
    """002's update rules as written: w1_new = w1_old − αΔ w_{1,old} x1, w2_new = w2_old − αΔ w_{2,old} x1,
    w3_new = w3_old − αΔ w_{3,old} x2, w4_new = w4_old − αΔ w_{4,old} x2, i.e. the gradient Δ·w_{k,old}·x_i."""
    (x1, x2), (w1, w2, w3, w4, w5, w6), (h1, h2), pred = _doc002_forward(params, x)
    D = pred - y[:, 0]
    return _doc002_grads([(D * w1 * x1).sum(), (D * w2 * x1).sum(), (D * w3 * x2).sum(), (D * w4 * x2).sum()],
                         [(D * h1).sum(), (D * h2).sum()])


# ---------------------------------------------------------------------------
# Document 003, Example 1 (single sigmoid neuron) and Example 2 (2-2-2-1), as formulas
# ---------------------------------------------------------------------------

def _doc003_ex1(params, x, y):
    (W, b), = params
    Z = x @ W[:, 0] + b[0]                      # Z = w1 X1 + w2 X2 + b
    Y_pred = _sigmoid(Z)
    return Z, Y_pred, Y_pred - y[:, 0]


def doc003_ex1_gradients(net, params, x, y):
    """∂MSE/∂w1 = (1/n) Σ_i (Y_pred,i − Y_true,i)·Y_pred,i(1 − Y_pred,i)·X_{1,i} = (1/n) Σ P_i; Q (X2), R (1)."""
    _, Y_pred, r = _doc003_ex1(params, x, y)
    n = x.shape[0]
    P = r * Y_pred * (1 - Y_pred) * x[:, 0]
    Q = r * Y_pred * (1 - Y_pred) * x[:, 1]
    R = r * Y_pred * (1 - Y_pred) * 1
    return [(np.array([[P.sum() / n], [Q.sum() / n]]), np.array([R.sum() / n]))]


def doc003_ex1_chain_factors(net, params, x, y):
    """∂MSE/∂p = (∂MSE/∂Y_pred)·(∂Y_pred/∂Z)·(∂Z/∂p) with the factors as written: the scalar
    ∂MSE/∂Y_pred = (1/n) Σ_i (Y_pred,i − Y_true,i) times each sample's Y_pred(1 − Y_pred)·∂Z/∂p, averaged."""
    _, Y_pred, r = _doc003_ex1(params, x, y)
    dmse_dy = r.mean()                                 # one number, as printed
    rest = Y_pred * (1 - Y_pred)
    return [(np.array([[dmse_dy * (rest * x[:, 0]).mean()], [dmse_dy * (rest * x[:, 1]).mean()]]),
             np.array([dmse_dy * rest.mean()]))]


def _doc003_ex2(params, x):
    (W1, b1), (W2, b2), (W3, _) = params
    X1, X2 = x[:, 0], x[:, 1]
    w11, w12, w21, w22 = W1[0, 0], W1[1, 0], W1[0, 1], W1[1, 1]
    w31, w32, w41, w42 = W2[0, 0], W2[1, 0], W2[0, 1], W2[1, 1]
    w51, w52 = W3[0, 0], W3[1, 0]
    Z11 = w11 * X1 + w12 * X2 + b1[0]
    Z12 = w21 * X1 + w22 * X2 + b1[1]
    A11, A12 = _sigmoid(Z11), _sigmoid(Z12)
    Z21 = w31 * A11 + w32 * A12 + b2[0]
    Z22 = w41 * A11 + w42 * A12 + b2[1]
    A21, A22 = _sigmoid(Z21), _sigmoid(Z22)
    Y_pred = w51 * A21 + w52 * A22
    return locals()


def _doc003_ex2_true_layers_2_3(v, r, n):
    """Steps 3 and 4 as printed (they are the chain rule): ∂MSE/∂w51 = (1/n)Σ r·A21, ...,
    ∂MSE/∂w31 = (1/n)Σ r·w51·σ(Z21)[1 − σ(Z21)]·A11, ..."""
    s21 = v["A21"] * (1 - v["A21"])
    s22 = v["A22"] * (1 - v["A22"])
    e21, e22 = r * v["w51"] * s21, r * v["w52"] * s22
    dW3 = np.array([[(r * v["A21"]).sum() / n], [(r * v["A22"]).sum() / n]])
    dW2 = np.array([[(e21 * v["A11"]).sum() / n, (e22 * v["A11"]).sum() / n],
                    [(e21 * v["A12"]).sum() / n, (e22 * v["A12"]).sum() / n]])
    db2 = np.array([e21.sum() / n, e22.sum() / n])
    return dW2, db2, dW3, e21, e22


def doc003_ex2_steps_3_4(net, params, x, y):
    """003 Example 2, Steps 3 and 4 as printed; Step 5 in its correct (two-path) sense."""
    v = _doc003_ex2(params, x)
    n = x.shape[0]
    r = v["Y_pred"] - y[:, 0]
    dW2, db2, dW3, e21, e22 = _doc003_ex2_true_layers_2_3(v, r, n)
    s11, s12 = v["A11"] * (1 - v["A11"]), v["A12"] * (1 - v["A12"])
    g11 = (e21 * v["w31"] + e22 * v["w41"]) * s11       # both paths into Z11
    g12 = (e21 * v["w32"] + e22 * v["w42"]) * s12       # both paths into Z12
    dW1 = np.array([[(g11 * v["X1"]).sum() / n, (g12 * v["X1"]).sum() / n],
                    [(g11 * v["X2"]).sum() / n, (g12 * v["X2"]).sum() / n]])
    return [(dW1, np.array([g11.sum() / n, g12.sum() / n])), (dW2, db2), (dW3, None)]


def _doc003_ex2_step5(params, x, y, lam_is_x: bool, one_is_x: bool):
    v = _doc003_ex2(params, x)
    n = x.shape[0]
    r = v["Y_pred"] - y[:, 0]
    dW2, db2, dW3, e21, e22 = _doc003_ex2_true_layers_2_3(v, r, n)
    s11, s12 = v["A11"] * (1 - v["A11"]), v["A12"] * (1 - v["A12"])
    one_path_11 = r * v["w51"] * (v["A21"] * (1 - v["A21"])) * v["w31"] * s11   # through Z21 only
    one_path_12 = r * v["w52"] * (v["A22"] * (1 - v["A22"])) * v["w42"] * s12   # through Z22 only
    lam1, lam2 = (v["X1"], v["X2"]) if lam_is_x else (1.0, 1.0)
    one1, one2 = (v["X1"], v["X2"]) if one_is_x else (1.0, 1.0)
    dW1 = np.array([[(one_path_11 * lam1).sum() / n, (one_path_12 * one1).sum() / n],
                    [(one_path_11 * lam2).sum() / n, (one_path_12 * one2).sum() / n]])
    db1 = np.array([one_path_11.sum() / n, one_path_12.sum() / n])
    return [(dW1, db1), (dW2, db2), (dW3, None)]


def doc003_ex2_step5_as_written(net, params, x, y):
    """Step 5 as printed: ∂MSE/∂w11 = (1/n)Σ r·w51·σ'(Z21)·w31·σ'(Z11)·λ (λ read as X1; w12's copy as X2),
    ∂MSE/∂w21 = ∂MSE/∂w22 = (1/n)Σ r·w52·σ'(Z22)·w42·σ'(Z12)·1; b1, b2 the same chains × 1."""
    return _doc003_ex2_step5(params, x, y, lam_is_x=True, one_is_x=False)


def doc003_ex2_step5_inputs_fixed(net, params, x, y):
    """Step 5 with every last factor read as the weight's input x_i (λ → X1/X2, 1 → X1/X2): one path each."""
    return _doc003_ex2_step5(params, x, y, lam_is_x=True, one_is_x=True)


# ---------------------------------------------------------------------------
# Document 004: the single-term chain rules written before the sums
# ---------------------------------------------------------------------------

def doc004_single_term_output_delta(net, params, x, y):
    """∂CE/∂X_j = ∂CE/∂O_k · ∂O_k/∂X_j with j = k, as written: (−l_k/O_k)·O_k(1 − O_k) = −l_k(1 − O_k)."""
    gamma = params[1][0]
    H, O = _forward_2(params, x, _softmax)
    dX = (-y / O) * O * (1 - O)
    return [(x.T @ ((dX @ gamma.T) * H * (1 - H)), None), (H.T @ dX, None)]


def doc004_hidden_single_k(net, params, x, y):
    """∂CE/∂W_ij = ∂CE/∂O_k·∂O_k/∂X_k·∂X_k/∂H_j·∂H_j/∂W_ij for the one k of the derivation (the target
    class): (O_k − l_k)·γ_jk·H_j(1 − H_j)·I_i, no sum over k; ∂CE/∂γ_jk = (O_k − l_k)·H_j."""
    gamma = params[1][0]
    H, O = _forward_2(params, x, _softmax)
    k = y.argmax(axis=1)
    rows = np.arange(x.shape[0])
    e = (O - y)[rows, k]                              # (O_k − l_k), one k per sample
    dH = e[:, None] * gamma[:, k].T                   # γ_jk for that k
    return [(x.T @ (dH * H * (1 - H)), None), (H.T @ (O - y), None)]


# ---------------------------------------------------------------------------
# Single derivatives (no network gradient): the literal formula against jax.grad of its function
# ---------------------------------------------------------------------------

def _point(seed, n):
    return np.random.default_rng(seed).normal(size=n)


def doc002_error_derivative(seed):
    """∂Error/∂Prediction = [2·½(Prediction − actual)]·∂(Prediction − actual)/∂Prediction = Prediction − actual."""
    p, t = _point(seed, 2)
    return np.array([2 * 0.5 * (p - t) * 1.0])


def _jax_error_derivative(seed):
    import jax

    p, t = _point(seed, 2)
    with jax.enable_x64(True):
        return np.array([float(jax.grad(lambda q: 0.5 * (q - t) ** 2)(p))])


def doc004_softmax_jacobian(seed):
    """∂O_k/∂X_j = O_k(1 − O_k) if j = k, −O_k O_j if j ≠ k (3 outputs)."""
    X = _point(seed, 3)
    O = np.exp(X - X.max()) / np.exp(X - X.max()).sum()
    return np.array([[O[k] * (1 - O[k]) if j == k else -O[k] * O[j] for j in range(3)] for k in range(3)])


def _jax_softmax_jacobian(seed):
    import jax

    with jax.enable_x64(True):
        return np.asarray(jax.jacobian(jax.nn.softmax)(_point(seed, 3)))


def doc004_ce_output_derivative(seed):
    """∂CE/∂O_k = −l_k / O_k for CE = −Σ_i l_i log O_i."""
    rng = np.random.default_rng(seed)
    O, l = rng.uniform(0.1, 1, size=3), rng.uniform(0, 1, size=3)
    return -l / O


def _jax_ce_output_derivative(seed):
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(seed)
    O, l = rng.uniform(0.1, 1, size=3), rng.uniform(0, 1, size=3)
    with jax.enable_x64(True):
        return np.asarray(jax.grad(lambda o: -jnp.sum(l * jnp.log(o)))(O))


def _doc003_general_point(seed):
    """003's one-hidden-layer regression net at a random point: x (D = 3), w1 (M = 4, D), w2 (K = 2, M), h = tanh."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=3), rng.normal(size=(4, 3)), rng.normal(size=(2, 4))


def doc003_general_partials(seed):
    """∂y_k/∂w_kj = A_j, ∂y_k/∂A_j = w_kj, ∂A_j/∂Z_j = h'(Z_j), ∂Z_j/∂w_ji = x_i, multiplied along the
    chain of ∂y_k/∂w_ji^(1) = w_kj·h'(Z_j)·x_i (one hidden unit j per weight, so one path per output):
    returns (∂y/∂w2 (K, K, M), ∂y/∂w1 (K, M, D))."""
    x, w1, w2 = _doc003_general_point(seed)
    Z = x @ w1.T                                   # Z_j = Σ_i w_ji x_i (x_0 = 0 here)
    A = np.tanh(Z)
    K, M = w2.shape
    dy_dw2 = np.zeros((K, K, M))
    for k in range(K):
        dy_dw2[k, k, :] = A                        # ∂y_k/∂w_kj = A_j, and 0 for the other outputs' weights
    dy_dw1 = w2[:, :, None] * (1 - A * A)[None, :, None] * x[None, None, :]   # w_kj · h'(Z_j) · x_i
    return np.concatenate([dy_dw2.ravel(), dy_dw1.ravel()])


def _jax_doc003_general_partials(seed):
    import jax
    import jax.numpy as jnp

    x, w1, w2 = _doc003_general_point(seed)
    f = lambda a, b: b @ jnp.tanh(a @ jnp.asarray(x))   # y_k = Σ_j w_kj h(Σ_i w_ji x_i), identity output
    with jax.enable_x64(True):
        d1, d2 = jax.jacobian(f, argnums=(0, 1))(jnp.asarray(w1), jnp.asarray(w2))
    return np.concatenate([np.asarray(d2).ravel(), np.asarray(d1).ravel()])


def doc003_regression_sigma_is_one(seed):
    """"For Regression Problem σ(.) = 1" read literally: y_k = σ(A_0 + Σ_j w_kj A_j) = 1, so ∂y_k/∂A_j = 0."""
    x, w1, w2 = _doc003_general_point(seed)
    return np.zeros_like(w2)


def doc003_regression_sigma_prime_is_one(seed):
    """The same line read as σ'(·) = 1 (σ the identity): ∂y_k/∂A_j = σ'·w_kj = w_kj."""
    x, w1, w2 = _doc003_general_point(seed)
    return 1.0 * w2


def _jax_regression_output_partials(seed):
    import jax
    import jax.numpy as jnp

    x, w1, w2 = _doc003_general_point(seed)
    with jax.enable_x64(True):   # regression: y_k = A_0 + Σ_j w_kj A_j (the identity), ∂y_k/∂A_j
        return np.asarray(jax.jacobian(lambda A: jnp.asarray(w2) @ A)(jnp.tanh(jnp.asarray(w1 @ x))))


def _doc001_point(seed):
    """A one-sample 001 network 3-4-2 in its column form: ``(W2 (2, 4), δ² (2, 1), z¹ (4, 1))``."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(2, 4)), rng.normal(size=(2, 1)), rng.normal(size=(4, 1))


def doc001_delta_before_transpose(seed):
    """δ^{l−1} = δ^l · W^l · σ'(z^{l−1}) as first written, δ^l a column (2, 1), W^l (2, 4): not conformable."""
    W, d, z = _doc001_point(seed)
    return (d @ W) * _a_one_minus_a(_sigmoid(z))      # numpy raises ValueError: (2, 1) @ (2, 4)


def doc001_delta_row_reading(seed):
    """The same line with δ^l read as a row vector: (δ^l)ᵀ W^l, then ⊙ σ'(z^{l−1}) (as a row)."""
    W, d, z = _doc001_point(seed)
    return ((d.T @ W) * _a_one_minus_a(_sigmoid(z)).T).T


def _jax_doc001_delta(seed):
    """δ^{l−1} = ∂L/∂z^{l−1} for L with ∂L/∂z^l = δ^l, by jax.grad of δ^l · z^l(z^{l−1})."""
    import jax
    import jax.numpy as jnp

    W, d, z = _doc001_point(seed)
    with jax.enable_x64(True):
        return np.asarray(jax.grad(lambda zz: jnp.sum(d * (jnp.asarray(W) @ jax.nn.sigmoid(zz))))(z))


# ---------------------------------------------------------------------------
# Problems
# ---------------------------------------------------------------------------

def _random_problem(net, seed, targets, scheme):
    """Random, seeded ``(params, x, y)`` for ``net``: a batch of :data:`N_BATCH`.

    ``targets``: ``normal`` (regression), ``onehot`` (one-hot rows),
    ``pairs`` (two classes per sample, each with weight ½: 2y is a
    multi-hot row summing to 2).
    """
    rng = np.random.default_rng(seed)
    params = bp.init_params(net, seed=rng, scheme=scheme)
    x = rng.normal(size=(N_BATCH, net.sizes[0]))
    K = net.sizes[-1]
    if targets == "normal":
        return params, x, rng.normal(size=(N_BATCH, K))
    picks = 1 if targets == "onehot" else 2
    y = np.zeros((N_BATCH, K))
    for row in y:
        row[rng.choice(K, size=picks, replace=False)] = 1.0 / picks
    return params, x, y


def _perceptron_problem(seed, n=8, d=2):
    """``(w, x, t)``: weights with a bias entry, n points in d dimensions, targets ±1."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=d + 1), rng.normal(size=(n, d)), rng.choice([-1.0, 1.0], size=n)


# ---------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Expect:
    """What the compare tool must report for a case, reasoned from first principles.

    ``agree``: the verdict.  When it disagrees: ``layer``, the layer the
    localisation names; ``delta``, True when it blames ``δ_layer`` (the
    pattern a wrong delta leaves) and False when it blames forming
    ``dW``/``db`` from a right delta; ``findings``, the diagnosis as
    ``(kind, parameter or None)`` pairs in report order; ``factor`` and
    ``conventions`` for a ``factor`` finding; ``mistakes``, the catalogue IDs
    (``reference.MISTAKES``) the ``mistake`` findings name, in order.
    """

    agree: bool
    layer: int | None = None
    delta: bool = True
    findings: tuple = ()
    factor: float | None = None
    conventions: tuple = ()
    mistakes: tuple = ()


@dataclass(frozen=True)
class FormulaCase:
    """One check of a formula: a reading (``candidate``) on a network and random, seeded data.

    ``net`` is the network the formula is meant for; None for document 003's
    perceptron (then :meth:`build` gives ``(w, x, t)`` for
    :func:`reference.compare_perceptron`).  ``targets`` and ``scheme`` say
    how :meth:`build` draws ``y`` and the parameters.
    """

    label: str
    net: bp.Network | None
    candidate: Callable
    expect: Expect
    why: str
    seed: int = 0
    targets: str = "normal"
    scheme: str = "xavier"

    def build(self):
        """``(params, x, y)`` for the network (``(w, x, t)`` for the perceptron)."""
        if self.net is None:
            return _perceptron_problem(self.seed)
        return _random_problem(self.net, self.seed, self.targets, self.scheme)

    def report(self) -> GradientReport:
        """The compare tool's report on this case's candidate."""
        if self.net is None:
            w, x, t = self.build()
            return compare_perceptron(w, x, t, bias=True, candidate=self.candidate)
        params, x, y = self.build()
        return compare(self.net, params, x, y, candidate=self.candidate)


@dataclass(frozen=True)
class _ValueReport:
    """The outcome of a :class:`DerivativeCase`: the attributes the errata and tests read from a report."""

    ok: bool
    text: str
    localisation: None = None
    diagnosis: tuple = ()

    @property
    def verdict(self) -> str:
        return "agree" if self.ok else "disagree"


@dataclass(frozen=True)
class DerivativeCase:
    """One check of a single derivative a document writes (not a network gradient).

    ``literal(seed)`` computes the formula as written at a seeded random
    point, ``truth(seed)`` the derivative it claims to be by ``jax.grad`` (or
    ``jax.jacobian``) of the function it differentiates; they agree within
    ``tolerance(float64, "jax")``.  A literal that cannot be evaluated
    (shapes that do not conform) disagrees.
    """

    label: str
    candidate: Callable
    truth: Callable
    expect: Expect
    why: str
    seed: int = 0
    net = None

    def build(self):
        return self.seed

    def report(self) -> _ValueReport:
        try:
            got = np.asarray(self.candidate(self.seed), dtype=np.float64)
        except ValueError as exc:
            return _ValueReport(False, f"the formula cannot be evaluated as written: {exc}")
        want = np.asarray(self.truth(self.seed), dtype=np.float64)
        if got.shape != want.shape:
            return _ValueReport(False, f"shape {got.shape}, but the derivative has shape {want.shape}")
        ok = allclose_tree([got], [want], dtype=np.float64, kind="jax")
        return _ValueReport(ok, f"max |formula − jax.grad| = {np.abs(got - want).max():.1e}")


@dataclass(frozen=True)
class DocumentFormula:
    """A gradient formula a document states, its verdict from first principles, and its checks.

    ``verdict``: ``correct``, ``conditional`` (correct only under
    ``condition``, which the document does not state) or ``wrong``.
    """

    id: str
    document: str
    section: str
    formula: str
    verdict: str
    reasoning: str
    corrected: str
    cases: tuple
    condition: str = ""

    def verdict_text(self) -> str:
        return f"correct only {self.condition}" if self.verdict == "conditional" else self.verdict


# The networks, with the loss each document states.
_NET_000_CLASSIFIER = bp.Network((4, 3, 3), ("sigmoid", "softmax"), "cross_entropy", reduction="sum")
_NET_000_REGRESSOR = bp.Network((4, 3, 1), ("sigmoid", "identity"), "squared_error", reduction="mean")
_NET_000_REGRESSOR_SUM = bp.Network((4, 3, 1), ("sigmoid", "identity"), "squared_error", reduction="sum")
_NET_001 = bp.Network((4, 6, 4, 3), "sigmoid", "squared_error", reduction="mean")
_NET_003_SE = bp.Network((2, 2, 2), ("sigmoid", "sigmoid"), "squared_error", reduction="sum", half=True)
_NET_003_CE = bp.Network((2, 2, 2), ("sigmoid", "softmax"), "cross_entropy", reduction="sum")
_NET_003_EN = bp.Network((3, 4, 3), ("tanh", "identity"), "squared_error", reduction="sum", half=True, bias=False)
_NET_003_E = bp.Network((3, 4, 3), ("tanh", "identity"), "squared_error", reduction="mean", half=True, bias=False)
_NET_002 = bp.Network((2, 2, 1), ("identity", "identity"), "squared_error", reduction="sum", half=True, bias=False)
_NET_003_EX1 = bp.Network((2, 1), ("sigmoid",), "squared_error", reduction="mean", half=True)
_NET_003_EX2 = bp.Network((2, 2, 2, 1), ("sigmoid", "sigmoid", "identity"), "squared_error", reduction="mean",
                          half=True, bias=(True, True, False))
_NET_004_REG = bp.Network((3, 4, 1), ("sigmoid", "identity"), "squared_error", reduction="sum", bias=False)
_NET_004_CLS = bp.Network((3, 4, 3), ("sigmoid", "softmax"), "cross_entropy", reduction="sum", bias=False)

_AGREE = Expect(agree=True)

DOCUMENT_FORMULAS: tuple[DocumentFormula, ...] = (
    DocumentFormula(
        id="doc000-classifier-deltas",
        document=DOC000, section="2.2 Backpropagation (classifier)",
        formula=(r"output\_delta = output\_layer\_output - label; hidden\_error = output\_delta \cdot \Gamma^T; "
                 r"hidden\_delta = hidden\_error \cdot \sigma'(hidden\_layer\_output); "
                 r"\Gamma_{update} = hidden\_layer\_output^T \cdot output\_delta; "
                 r"W_{update} = x^T \cdot hidden\_delta"),
        verdict="conditional",
        condition="if σ'(hidden_layer_output) means the sigmoid's derivative written through its output, a(1 − a)",
        reasoning=(
            "With a = σ(z), dσ/dz = σ(z)(1 − σ(z)) = a(1 − a): code that stores the output writes this as "
            "sigmoid_derivative(a) = a(1 − a).  Read as σ' evaluated at a, σ'(a) = σ(a)(1 − σ(a)), which is "
            "another number.  output_delta = softmax − label is ∂CE/∂z for a label row summing to 1 (one-hot, "
            "'the true label'); x^T·δ sums each sample's outer product, the gradient of the summed loss."),
        corrected="hidden_delta = (output_delta · Γᵀ) ⊙ a(1 − a), a = hidden_layer_output",
        cases=(
            FormulaCase(
                "σ'(a) read as a(1 − a)", _NET_000_CLASSIFIER, doc000_classifier, _AGREE,
                "every line is the chain rule of Σ_n CE_n for one-hot labels", targets="onehot"),
            FormulaCase(
                "σ'(a) read as σ' evaluated at a", _NET_000_CLASSIFIER, doc000_classifier_sigma_prime_at_output,
                Expect(agree=False, layer=1, delta=True, findings=(("mistake", None),),
                       mistakes=("derivative_at_activation",)),
                "only hidden_delta = δ_1 changes, by the elementwise ratio σ(a)(1 − σ(a)) / a(1 − a), not a "
                "constant: W1 and b1 are wrong, layer 2 is right, and no factor explains it", targets="onehot"),
        ),
    ),
    DocumentFormula(
        id="doc000-bias-updates",
        document=DOC000, section="2.2 and 3.2 (bias updates)",
        formula=(r"\Gamma\_bias\_update = output\_delta; W_{bias\_update} = hidden\_delta "
                 r"(regressor: \Gamma_{bias\_update} = output\_error; W_{bias\_update} = hidden\_error)"),
        verdict="conditional",
        condition="for one sample per update (x a single row vector, as the text says)",
        reasoning=(
            "∂L/∂b = Σ_n δ_n: the bias is shared by every sample.  For one sample δ is one row and the formula "
            "holds; in the batch form x · W that the same equations suggest, x^T·δ sums over the samples for "
            "W but output_delta stays an (N, n) array, one row per sample, while the bias is (n,)."),
        corrected="Γ_bias_update = Σ_n output_delta_n (column sums); W_bias_update = Σ_n hidden_delta_n",
        cases=(
            FormulaCase(
                "a batch of N = 5", _NET_000_CLASSIFIER, doc000_classifier_bias_updates,
                Expect(agree=False, layer=2, delta=False, findings=(("mistake", None),),
                       mistakes=("bias_not_summed",)),
                "the weight updates are right, the bias updates have shape (N, n) instead of (n,): both bias "
                "gradients fail on shape, and the highest layer with a wrong gradient (2) has a right dW_2",
                targets="onehot"),
        ),
    ),
    DocumentFormula(
        id="doc000-regressor-output-error",
        document=DOC000, section="3.2 Backpropagation (regressor)",
        formula=(r"MSE = \frac{1}{N} \sum_{i=1}^{N} (y_i - \hat{y}_i)^2; "
                 r"output\_error = 2 \times (output\_layer\_output - label); "
                 r"\Gamma_{update} = hidden\_layer\_output^T \cdot output\_error"),
        verdict="conditional",
        condition="for the summed loss Σ(y − ŷ)² (or N = 1), not the stated MSE (1/N)Σ",
        reasoning=(
            "∂/∂ŷ_n of (1/N)Σ_i (y_i − ŷ_i)² is (2/N)(ŷ_n − y_n).  The output error 2(ŷ − y) drops the 1/N, "
            "and every gradient below inherits the factor: the formulas give N × the gradient of the stated "
            "MSE, i.e. the gradient of the sum (the learning rate silently absorbs N)."),
        corrected="output_error = (2/N) × (output_layer_output − label)",
        cases=(
            FormulaCase(
                "stated loss (1/N)Σ", _NET_000_REGRESSOR, doc000_regressor,
                Expect(agree=False, layer=2, delta=True, findings=(("factor", None),), factor=float(N_BATCH),
                       conventions=("mean",)),
                "the missing 1/N scales δ_2 and hence every gradient by N = 5: the output delta is wrong, "
                "and the factor is N", seed=1),
            FormulaCase(
                "the sum Σ instead", _NET_000_REGRESSOR_SUM, doc000_regressor, _AGREE,
                "2(ŷ − y) is exactly ∂/∂ŷ of Σ(y − ŷ)²", seed=1),
        ),
    ),
    DocumentFormula(
        id="doc001-output-delta",
        document=DOC001, section="3. Loss Function (MSE) and 4. Backpropagation, Steps 1–3",
        formula=(r"\frac{\partial \mathcal{L}}{\partial y_{pred}} = \frac{2}{N}(y_{pred} - y_{true}); "
                 r"\delta^L = \frac{2}{N}(y_{pred} - y_{true}) \cdot \sigma'(z^L); "
                 r"\delta^{l-1} = (W^l)^T \cdot \delta^l \cdot \sigma'(z^{l-1}); "
                 r"\frac{\partial \mathcal{L}}{\partial W^l} = \delta^l \cdot (h^{l-1})^T"),
        verdict="conditional",
        condition="if N is the number of samples averaged over (the document does not say what N counts)",
        reasoning=(
            "The derivative (2/N)(y_pred − y_true) is right for whatever (1/N)Σ_i averages over.  The text "
            "works with one column vector h, so Σ_{i=1}^{N} may run over the N outputs of one sample; for a "
            "batch, the MSE over samples needs N = the batch size.  With K outputs per sample the two readings "
            "differ by N_batch / K.  The recursion and δ h^T (our h^T δ) are the chain rule."),
        corrected="δ^L = (2/N)(y_pred − y_true) ⊙ σ'(z^L) with N = the number of samples in the batch",
        cases=(
            FormulaCase(
                "N = samples in the batch", _NET_001, doc001_n_samples, _AGREE,
                "the chain rule of (1/N)Σ_n Σ_k (a − y)², N the batch size", seed=2, scheme="doc001"),
            FormulaCase(
                "N = outputs per sample (K = 3)", _NET_001, doc001_n_outputs,
                Expect(agree=False, layer=3, delta=True, findings=(("factor", None),),
                       factor=N_BATCH / 3, conventions=()),
                "2/K instead of 2/N scales δ_3 and every gradient by N/K = 5/3, a factor none of the "
                "usual conventions (½, 1/N, sign) produces", seed=2, scheme="doc001"),
        ),
    ),
    DocumentFormula(
        id="doc001-bias",
        document=DOC001, section="4. Backpropagation, Step 3 (bias gradient)",
        formula=r"\frac{\partial \mathcal{L}}{\partial b^l} = \delta^l",
        verdict="conditional",
        condition="for one sample per update (h a single column vector)",
        reasoning=(
            "∂L/∂b^l = Σ_n δ^l_n.  For one column h this is δ^l; for a batch H (one column per sample) "
            "δ^l (H^{l−1})^T sums over the samples but δ^l stays one column per sample."),
        corrected="∂L/∂b^l = Σ_n δ^l_n (δ^l summed over the batch)",
        cases=(
            FormulaCase(
                "a batch of N = 5", _NET_001, doc001_bias,
                Expect(agree=False, layer=3, delta=False, findings=(("mistake", None),),
                       mistakes=("bias_not_summed",)),
                "every weight gradient is right and every bias gradient has one row per sample",
                seed=2, scheme="doc001"),
        ),
    ),
    DocumentFormula(
        id="doc003-output-delta-componentwise",
        document=DOC003, section="Step 2: Output Layer Error δ^(2)",
        formula=(r"\delta_i^{(2)} = \frac{\partial L}{\partial a_i^{(2)}} \cdot "
                 r"\frac{\partial a_i^{(2)}}{\partial z_i^{(2)}}"
                 r" = \frac{\partial L}{\partial a_i^{(2)}} \cdot g^{(2)'}(z_i^{(2)})"),
        verdict="conditional",
        condition="for an elementwise output activation (sigmoid, linear, tanh), not the softmax the slides list",
        reasoning=(
            "δ_i = Σ_k ∂L/∂a_k · ∂a_k/∂z_i.  Only when a_k depends on z_k alone does the sum collapse to the "
            "i = k term.  The softmax couples every output (∂a_k/∂z_i = −a_k a_i for k ≠ i), so its δ needs "
            "the full Jacobian: with cross-entropy, δ = a − t, not −t_i(1 − a_i)."),
        corrected="δ_i^(2) = Σ_k ∂L/∂a_k^(2) · ∂a_k^(2)/∂z_i^(2) (= a_i − t_i for softmax with cross-entropy)",
        cases=(
            FormulaCase(
                "sigmoid output, ½Σ(a − t)²", _NET_003_SE, doc003_layers,
                _AGREE, "an elementwise output: the i = k term is the whole sum", seed=3),
            FormulaCase(
                "softmax output, cross-entropy", _NET_003_CE, doc003_layers,
                Expect(agree=False, layer=2, delta=True, findings=(("mistake", None),),
                       mistakes=("softmax_diagonal",)),
                "only the diagonal of the softmax Jacobian is used: δ_2 is wrong (on the true class −(1 − a_c) "
                "is right, elsewhere 0 instead of a_j), so every gradient is, and not by a constant factor",
                seed=3, targets="onehot"),
        ),
    ),
    DocumentFormula(
        id="doc003-step4-components",
        document=DOC003, section="Step 4: Weight Gradients ∂L/∂W^(2)",
        formula=r"\frac{\partial L}{\partial w_{ij}^{(2)}} = \delta_i^{(2)} \cdot a_j^{(1)}",
        verdict="wrong",
        reasoning=(
            "The slides' forward pass z_j^(2) = Σ_m w_mj^(2) a_m^(1) + b_j^(2) makes w_ij^(2) the weight from "
            "a_i^(1) to z_j^(2), so ∂L/∂w_ij^(2) = δ_j^(2) a_i^(1), as Step 5 has for layer 1 and the matrix "
            "form a^(1)(δ^(2))^T says.  Step 4 swaps the indices: it is the transpose."),
        corrected="∂L/∂w_ij^(2) = δ_j^(2) · a_i^(1)",
        cases=(
            FormulaCase(
                "2-2-2, ½Σ(a − t)²", _NET_003_SE, doc003_layers_step4,
                Expect(agree=False, layer=2, delta=False, findings=(("mistake", "W2"),),
                       mistakes=("transposed_gradient",)),
                "only dW_2 changes, to its transpose (square here, 2 × 2): the deltas are right", seed=3),
        ),
    ),
    DocumentFormula(
        id="doc003-matrix-form",
        document=DOC003, section="Step 3, Step 5 and Complete Backpropagation Equations",
        formula=(r"\delta_j^{(1)} = g^{(1)'}(z_j^{(1)}) \cdot \sum_{k=1}^2 w_{jk}^{(2)} \delta_k^{(2)}; "
                 r"\frac{\partial L}{\partial w_{ij}^{(1)}} = \delta_j^{(1)} \cdot a_i^{(0)}; "
                 r"\frac{\partial L}{\partial W^{(2)}} = \mathbf{a}^{(1)}(\delta^{(2)})^T; "
                 r"\frac{\partial L}{\partial W^{(1)}} = \mathbf{a}^{(0)}(\delta^{(1)})^T"),
        verdict="correct",
        reasoning=(
            "z_k^(2) = Σ_m w_mk a_m + b_k gives ∂z_k^(2)/∂a_j^(1) = w_jk^(2), and w_ij joins a_i to z_j, so "
            "∂L/∂w_ij = a_i δ_j: entry (i, j) of a δ^T.  (∂L/∂b^(l) = δ^(l) is per sample, as in 000 and 001.)"),
        corrected="—",
        cases=(
            FormulaCase(
                "2-2-2, ½Σ(a − t)²", _NET_003_SE, doc003_layers, _AGREE,
                "the chain rule, with the bias gradients summed over the batch", seed=3),
        ),
    ),
    DocumentFormula(
        id="doc003-general-output",
        document=DOC003, section="Backpropagation General Structure: 2) output layer",
        formula=(r"\frac{\partial E_n}{\partial y_k} = \frac{\partial}{\partial y_k} \left(\frac{1}{2} \sum_{k=1}^K "
                 r"(y_{nk} - t_{nk})^2 \right) = \sum_{k=1}^K (y_{nk} - t_{nk}); "
                 r"\frac{\partial E_n}{\partial w_{kj}^{(2)}} = \sum_{k=1}^K (y_{nk} - t_{nk}) A_j; "
                 r"\frac{\partial E}{\partial w_{kj}^{(2)}} = \frac{1}{N} \sum_{n=1}^N \sum_{k=1}^K "
                 r"(y_{nk} - t_{nk}) A_j"),
        verdict="wrong",
        reasoning=(
            "∂/∂y_k of ½Σ_{k'}(y_{nk'} − t_{nk'})² keeps only the k' = k term: y_nk − t_nk.  The sum over k "
            "(with k also free on the left) makes every output's gradient the total error Σ_k (y_nk − t_nk); "
            "with K ≥ 2 outputs that is wrong (harmless only for K = 1).  The hidden-layer formula is "
            "not built on it (see the next row), so only the output weights are affected."),
        corrected="∂E_n/∂w_kj^(2) = (y_nk − t_nk) A_j;  ∂E/∂w_kj^(2) = (1/N) Σ_n (y_nk − t_nk) A_nj",
        cases=(
            FormulaCase(
                "E_n per sample, summed over the batch (K = 3)", _NET_003_EN, doc003_general,
                Expect(agree=False, layer=2, delta=False),
                "dW_2 is wrong and not a multiple of the truth (each column becomes A^T Σ_k r_k); dW_1 comes "
                "from the separate, right hidden formula, so the pattern of a wrong δ_2 (which would spoil "
                "dW_1 too) is absent: the tool sees a mistake in forming dW_2", seed=4),
            FormulaCase(
                "E = (1/N)Σ_n E_n, batch version (K = 3)", _NET_003_E, doc003_general,
                Expect(agree=False, layer=2, delta=False),
                "the same spurious sum, with the right 1/N", seed=4),
        ),
    ),
    DocumentFormula(
        id="doc003-general-hidden",
        document=DOC003, section="Backpropagation General Structure: 3) hidden layer",
        formula=(r"\frac{\partial E_n}{\partial w_{ji}^{(1)}} = \sum_{k=1}^K (y_{nk} - t_{nk}) \times w_{kj}^{(2)} "
                 r"\times h'(Z_j) \times x_i; \frac{\partial E}{\partial w_{ji}^{(1)}} = \frac{1}{N} \sum_{n=1}^N "
                 r"\sum_{k=1}^K (y_{nk} - t_{nk}) \times w_{kj}^{(2)} \times h'(Z_j) \times x_i"),
        verdict="correct",
        reasoning=(
            "A_j reaches every output: ∂E_n/∂A_j = Σ_k (y_nk − t_nk) w_kj, then h'(Z_j) and x_i.  Read with "
            "the sum over the whole product (as written), this is right; here the sum over k is the chain "
            "rule's, unlike the output layer's."),
        corrected="—",
        cases=(
            FormulaCase(
                "E_n per sample, summed over the batch (K = 3)", _NET_003_EN, doc003_general_hidden, _AGREE,
                "the chain rule of Σ_n ½Σ_k (y_nk − t_nk)²", seed=4),
            FormulaCase(
                "E = (1/N)Σ_n E_n, batch version (K = 3)", _NET_003_E, doc003_general_hidden, _AGREE,
                "the same with the batch's 1/N", seed=4),
        ),
    ),
    DocumentFormula(
        id="doc003-perceptron",
        document=DOC003, section="Perceptron",
        formula=(r"E_p(w) = \sum_{n \in M} -w^T \phi(x_n)t_n; "
                 r"w = w - \alpha \nabla_w E_p(w) = w + \alpha \phi(x_n)t_n"),
        verdict="correct",
        reasoning=(
            "E_p is linear in w on each region where M is fixed: ∇E_p = −Σ_{n∈M} φ(x_n) t_n, so a "
            "stochastic step on one misclassified x_n adds αφ(x_n)t_n (undefined only on the boundary "
            "wᵀφ(x_n) = 0, which random data avoids)."),
        corrected="—",
        cases=(
            FormulaCase(
                "8 random points, φ(x) = (1, x)", None, doc003_perceptron, _AGREE,
                "the gradient of a sum of linear terms over a fixed set M", seed=5),
        ),
    ),
    DocumentFormula(
        id="doc004-regression",
        document=DOC004, section="Part 1, Regression",
        formula=(r"SE(y, O_0) = (y - O_0)^2; \frac{\partial SE}{\partial \gamma_{j0}} = -2(y - O_0) \cdot H_j; "
                 r"\frac{\partial SE}{\partial W_{ij}} = -2(y - O_0) \cdot \gamma_{j0} \cdot H_j "
                 r"\cdot (1 - H_j) \cdot I_i"),
        verdict="correct",
        reasoning=(
            "∂SE/∂O_0 = −2(y − O_0); ∂O_0/∂γ_j0 = H_j; ∂O_0/∂H_j = γ_j0; ∂H_j/∂W_ij = H_j(1 − H_j) I_i.  The "
            "text calls SE 'Mean Squared Error', but the formula has no mean: for a batch averaged over N "
            "the gradients need 1/N."),
        corrected="— (for a batch mean: (1/N) Σ_n of each)",
        cases=(
            FormulaCase(
                "per sample, summed over the batch", _NET_004_REG, doc004_regression, _AGREE,
                "the chain rule of Σ_n (y_n − O_n)²", seed=6),
        ),
    ),
    DocumentFormula(
        id="doc004-classification",
        document=DOC004, section="Part 1, Classification",
        formula=(r"\frac{\partial CE}{\partial X_k} = O_k - l_k; "
                 r"\frac{\partial CE}{\partial \gamma_{jk}} = (O_k - l_k) \cdot H_j; "
                 r"W_{ij}^{new} = W_{ij} - \alpha \sum_{k=0}^2 (O_k - l_k) \cdot \gamma_{jk} \cdot H_j "
                 r"\cdot (1 - H_j) \cdot I_i"),
        verdict="conditional",
        condition=("if the targets sum to 1 (Σ_k l_k = 1: one-hot or a probability vector), which the "
                   "derivation uses silently"),
        reasoning=(
            "The derivation keeps only the j = k term of ∂CE/∂X_j = Σ_k (−l_k/O_k) ∂O_k/∂X_j.  The full sum is "
            "−l_j(1 − O_j) + Σ_{k≠j} l_k O_j = O_j Σ_k l_k − l_j, which is O_j − l_j for every j exactly when "
            "Σ_k l_k = 1.  Given that, the γ and W formulas are the chain rule (with Σ_k over the outputs)."),
        corrected="∂CE/∂X_j = O_j Σ_k l_k − l_j (= O_j − l_j when Σ_k l_k = 1)",
        cases=(
            FormulaCase(
                "one-hot targets", _NET_004_CLS, doc004_classification,
                _AGREE, "Σ_k l_k = 1", seed=7, targets="onehot"),
            FormulaCase(
                "multi-hot targets summing to 2", _NET_004_CLS, doc004_classification_targets_summing_to_2,
                Expect(agree=False, layer=2, delta=True),
                "for l = 2y the formula gives O − 2y, the truth 2(O − y): the output delta is off by O (not "
                "a constant factor) and it propagates to W1", seed=7, targets="pairs"),
        ),
    ),
    # ---- Document 002: every formula of STEP 3 and STEP 4 --------------------------------------------
    DocumentFormula(
        id="doc002-error-derivative",
        document=DOC002, section="STEP 4: ∂Error/∂Prediction (inside the w6 chain rule)",
        formula=(r"\frac{\partial (\frac{1}{2}(\text{prediction} - \text{actual})^2)}{\partial \text{Prediction}} "
                 r"= [2 \cdot \frac{1}{2}(\text{Prediction} - \text{actual})] \cdot "
                 r"\frac{\partial (\text{Prediction} - \text{actual})}{\partial \text{Prediction}} "
                 r"= \text{prediction} - \text{actual} = \Delta"),
        verdict="correct",
        reasoning=("d/dp of ½(p − t)² is 2·½(p − t)·d(p − t)/dp = (p − t)·1 by the power and chain rules; the "
                   "½ of Error = ½Σ(ŷ − ȳ)² is there to cancel the 2."),
        corrected="—",
        cases=(
            DerivativeCase("a random prediction and target", doc002_error_derivative, _jax_error_derivative,
                           _AGREE, "the derivative of ½(p − t)² at a random point", seed=8),
        ),
    ),
    DocumentFormula(
        id="doc002-output-weights",
        document=DOC002, section="STEP 4: ∂Error/∂w6 and ∂Error/∂w5, and their updates",
        formula=(r"\frac{\partial \text{Error}}{\partial w_6} = \frac{\partial \text{Error}}{\partial \text{Prediction}}"
                 r" \times \frac{\partial ((x_1 w_1 + x_2 w_3) w_5 + (x_1 w_2 + x_2 w_4) w_6)}{\partial w_6} "
                 r"= (\text{prediction} - \text{actual}) \cdot 1 \times [0 + (x_1 w_2 + x_2 w_4)] = \Delta h_2; "
                 r"w_{6,new} = w_{6,old} - \alpha \Delta h_2; w_{5,new} = w_{5,old} - \alpha \Delta h_1"),
        verdict="correct",
        reasoning=("ŷ = h1 w5 + h2 w6 with h1 = x1 w1 + x2 w3, h2 = x1 w2 + x2 w4 (the document's forward pass), so "
                   "∂ŷ/∂w6 = h2 and ∂ŷ/∂w5 = h1: the first product term does not contain w6 and contributes 0."),
        corrected="—",
        cases=(
            FormulaCase("2-2-1 linear, Σ ½(ŷ − y)² over N = 5", _NET_002, doc002_output_rules, _AGREE,
                        "the chain rule of ½(ŷ − y)² per sample, summed over the batch", seed=9),
        ),
    ),
    DocumentFormula(
        id="doc002-w1-derivation",
        document=DOC002, section="STEP 4: ∂ErrorFunc/∂w1 (the derivation)",
        formula=(r"\frac{\partial \text{ErrorFunc}}{\partial w_1} = \frac{\partial \text{ErrorFunc}}"
                 r"{\partial \text{Prediction}} \cdot \frac{\partial \text{Prediction}}{\partial h_1} \cdot "
                 r"\frac{\partial h_1}{\partial w_1} = (\text{prediction} - \text{actual}) \cdot (w_5 + 0) \cdot "
                 r"(x_1 + 0) = \Delta w_5 x_1"),
        verdict="correct",
        reasoning=("w1 reaches ŷ only through h1 (one output, linear units: one path), ∂ŷ/∂h1 = w5 and ∂h1/∂w1 = x1. "
                   "The same chain gives w2 → Δ·w6·x1, w3 → Δ·w5·x2, w4 → Δ·w6·x2 (the document does not derive them; "
                   "its worked number 0.11 − 0.05·(0.19 − 1)·0.14·1 uses w5 = 0.14 but x1 = 1 for 2)."),
        corrected="—",
        cases=(
            FormulaCase("2-2-1 linear, Σ ½(ŷ − y)² over N = 5", _NET_002, doc002_w1_derivation, _AGREE,
                        "one path from each first-layer weight to ŷ: Δ times the outgoing weight times the input",
                        seed=9),
        ),
    ),
    DocumentFormula(
        id="doc002-update-rules",
        document=DOC002, section="STEP 4: the update rules for w1 … w4 (\"to sum up\" and \"in a similar way\")",
        formula=(r"w_{1,new} = w_{1,old} - \alpha \Delta w_{1,old} x_1; w_{2,new} = w_{2,old} - \alpha \Delta "
                 r"w_{2,old} x_1; w_{3,new} = w_{3,old} - \alpha \Delta w_{3,old} x_2; w_{4,new} = w_{4,old} - "
                 r"\alpha \Delta w_{4,old} x_2"),
        verdict="wrong",
        reasoning=("The derivation just above gives ∂Error/∂w1 = Δ·w5·x1: the factor is the weight *out of* h1 (w5), "
                   "not w1 itself.  Written with w_{k,old}, each rule multiplies by the weight being updated: "
                   "∂Error/∂w_k ≠ Δ·w_k·x_i unless w_k happens to equal the outgoing weight (w5 for w1, w3; w6 for "
                   "w2, w4).  The worked number uses 0.14 = w5, so the rule's w_{1,old} is a slip for w5."),
        corrected="w1,new = w1 − αΔw5x1; w2,new = w2 − αΔw6x1; w3,new = w3 − αΔw5x2; w4,new = w4 − αΔw6x2",
        cases=(
            FormulaCase(
                "2-2-1 linear, Σ ½(ŷ − y)² over N = 5", _NET_002, doc002_update_rules_as_written,
                Expect(agree=False, layer=1, delta=True),
                "dW_2 (w5, w6) is right and every entry of dW_1 is wrong by its own ratio w_k / w_out, not a constant "
                "or a transpose; with no bias and no layer below, a wrong dW_1 shows the pattern of a wrong δ_1",
                seed=9),
        ),
    ),
    # ---- Document 003, Examples 1 and 2: the formulas of the worked steps -----------------------------
    DocumentFormula(
        id="doc003-ex1-chain-factors",
        document=DOC003, section="Example 1, Step 3: ∂MSE/∂p as a product of three factors",
        formula=(r"\frac{\partial MSE}{\partial p} = \left(\frac{\partial MSE}{\partial Y_{pred}}\right) \times "
                 r"\left(\frac{\partial Y_{pred}}{\partial Z}\right) \times \left(\frac{\partial Z}{\partial p}\right);"
                 r" \frac{\partial MSE}{\partial Y_{pred}} = \frac{1}{n} \sum_{i=1}^n (Y_{pred,i} - Y_{true,i}); "
                 r"\frac{\partial Y_{pred}}{\partial Z} = Y_{pred}(1 - Y_{pred}); \frac{\partial Z}{\partial w_1} = X_1"),
        verdict="conditional",
        condition="if the (1/n)Σ_i is read over the whole product (as the next line writes it), not as the value of the first factor",
        reasoning=("MSE depends on each Y_pred,i separately: ∂MSE/∂Y_pred,i = (1/n)(Y_pred,i − Y_true,i), one number "
                   "per sample, and the chain rule sums over i the *products* (1/n)Σ_i r_i·Y_pred,i(1 − Y_pred,i)·X_1,i. "
                   "Written as a factor, (1/n)Σ_i r_i is one number: multiplying it by the per-sample rest (averaged) "
                   "gives mean(r)·mean(s'·X), which is not the mean of the products."),
        corrected="∂MSE/∂w1 = (1/n) Σ_i (Y_pred,i − Y_true,i)·Y_pred,i(1 − Y_pred,i)·X_1,i (as the next line has it)",
        cases=(
            FormulaCase("the factors as written, N = 5", _NET_003_EX1, doc003_ex1_chain_factors,
                        Expect(agree=False, layer=1, delta=True),
                        "mean(r)·mean(s'x) ≠ mean(r·s'·x) entry by entry, by no common factor: every gradient of the "
                        "one layer is wrong, the pattern of a wrong δ_1", seed=10),
            FormulaCase("the sum over the whole product, N = 5", _NET_003_EX1, doc003_ex1_gradients, _AGREE,
                        "the chain rule of 1/(2n)Σ(Y_pred − Y_true)²", seed=10),
        ),
    ),
    DocumentFormula(
        id="doc003-ex1-gradients",
        document=DOC003, section="Example 1, Step 3: ∂MSE/∂w1, ∂MSE/∂w2, ∂MSE/∂b as (1/n)Σ P_i, Q_i, R_i",
        formula=(r"\frac{\partial MSE}{\partial w_1} = \frac{1}{n} \sum_{i=1}^n (Y_{pred,i} - Y_{true,i}) \times "
                 r"Y_{pred,i}(1 - Y_{pred,i}) \times X_{1,i} = \frac{1}{n}\sum_{i=1}^n P_i; "
                 r"\ldots X_{2,i} = \frac{1}{n}\sum Q_i; \ldots \times 1 = \frac{1}{n}\sum R_i"),
        verdict="correct",
        reasoning=("MSE = 1/(2n)Σ_i (Y_pred,i − Y_true,i)², Y_pred = σ(Z), σ' = Y_pred(1 − Y_pred), ∂Z/∂(w1, w2, b) = "
                   "(X1, X2, 1): the ½ cancels the 2 and the 1/n stays."),
        corrected="—",
        cases=(
            FormulaCase("single sigmoid neuron, 1/(2n)Σ, N = 5", _NET_003_EX1, doc003_ex1_gradients, _AGREE,
                        "the chain rule, term by term", seed=10),
        ),
    ),
    DocumentFormula(
        id="doc003-ex2-steps-3-4",
        document=DOC003, section="Example 2, Steps 3 and 4: ∂MSE/∂w51, w52 and ∂MSE/∂w31, w32, b3, w41, w42, b4",
        formula=(r"\frac{\partial MSE}{\partial Y_{pred}} = \frac{1}{n}\sum_{i=1}^n (Y_{pred,i} - Y_{true,i}); "
                 r"\frac{\partial MSE}{\partial w_{51}} = \frac{1}{n}\sum_{i=1}^n (Y_{pred,i} - Y_{true,i}) \times A_{21}; "
                 r"\frac{\partial MSE}{\partial w_{31}} = \frac{1}{n}\sum_{i=1}^n (Y_{pred,i} - Y_{true,i}) \times w_{51} "
                 r"\times \sigma(Z_{21})[1 - \sigma(Z_{21})] \times A_{11}; \ldots w_{52}, \sigma(Z_{22}), A_{12}, 1"),
        verdict="correct",
        reasoning=("Y_pred = w51 A21 + w52 A22 (no output bias): ∂Y_pred/∂w51 = A21.  Z21 reaches Y_pred only through "
                   "A21 (weight w51) and Z22 only through A22 (w52): one path each, so the products are the whole "
                   "chain rule (read, as in Example 1, with the sum over the whole product and A, σ(Z) per sample).  "
                   "The w41 line drops b4 inside ∂/∂w41(w41 A11 + w42 A12), which does not change the derivative."),
        corrected="—",
        cases=(
            FormulaCase("2-2-2-1, 1/(2n)Σ, N = 5", _NET_003_EX2, doc003_ex2_steps_3_4, _AGREE,
                        "the chain rule of the printed forward pass (Step 5 in its two-path sense)", seed=11),
        ),
    ),
    DocumentFormula(
        id="doc003-ex2-step5",
        document=DOC003, section="Example 2, Step 5: ∂MSE/∂w11, w12, w21, w22, b1, b2",
        formula=(r"\frac{\partial MSE}{\partial w_{11}} = \left(\frac{\partial MSE}{\partial Y_{pred}}\right) "
                 r"\times \left(\frac{\partial Y_{pred}}{\partial A_{21}}\right) \times \left(\frac{\partial A_{21}}"
                 r"{\partial Z_{21}}\right) \times \left(\frac{\partial Z_{21}}{\partial A_{11}}\right) \times "
                 r"\left(\frac{\partial A_{11}}{\partial Z_{11}}\right) \times \left(\frac{\partial Z_{11}}{\partial "
                 r"w_{11}}\right) = \frac{1}{n}\sum (Y_{pred,i} - Y_{true,i}) \times w_{51} \times \sigma(Z_{21})[1 - "
                 r"\sigma(Z_{21})] \times w_{31} \times \sigma(Z_{11})[1 - \sigma(Z_{11})] \times \lambda; "
                 r"w_{12}: \text{the same}; w_{21}, w_{22}: \ldots w_{52} \ldots w_{42} \ldots \sigma(Z_{12}) \ldots "
                 r"\times 1; b_1: \ldots w_{51} \ldots w_{31} \ldots \times 1; b_2: \ldots w_{52} \ldots w_{42} \ldots \times 1"),
        verdict="wrong",
        reasoning=("A11 feeds both Z21 (weight w31) and Z22 (weight w41), and both reach Y_pred: ∂MSE/∂A11 = "
                   "(1/n)Σ r·(w51 σ'(Z21) w31 + w52 σ'(Z22) w41), a sum over the two paths, as the slides' own δ "
                   "recursion (Step 3 of the 2-2-2 network: Σ_k w_jk δ_k) says.  Every Step 5 formula keeps one path.  "
                   "Besides, the last factor must be ∂Z11/∂w11 = X1 (λ), ∂Z11/∂w12 = X2 (w12's line copies w11's), "
                   "∂Z12/∂w21 = X1 and ∂Z12/∂w22 = X2 (both printed as 1)."),
        corrected=("∂MSE/∂w11 = (1/n)Σ r·(w51 σ'(Z21) w31 + w52 σ'(Z22) w41)·σ'(Z11)·X1; w12: ·X2; "
                   "∂MSE/∂w21 = (1/n)Σ r·(w51 σ'(Z21) w32 + w52 σ'(Z22) w42)·σ'(Z12)·X1; w22: ·X2; b1, b2: ·1"),
        cases=(
            FormulaCase("as written (λ read as X1, X2), N = 5", _NET_003_EX2, doc003_ex2_step5_as_written,
                        Expect(agree=False, layer=1, delta=True),
                        "layers 2 and 3 are right; dW_1 and db_1 each miss a path (a different share per entry), "
                        "which is the pattern of a wrong δ_1", seed=11),
            FormulaCase("every last factor read as the input x_i, N = 5", _NET_003_EX2, doc003_ex2_step5_inputs_fixed,
                        Expect(agree=False, layer=1, delta=True),
                        "even with the inputs right the missing path leaves dW_1 and db_1 wrong", seed=11),
        ),
    ),
    # ---- Document 004: the single-term chain rules and the derivatives they are built from ------------
    DocumentFormula(
        id="doc004-ce-and-softmax-derivatives",
        document=DOC004, section="Part 1, Classification: ∂CE/∂O_k and ∂O_k/∂X_j",
        formula=(r"\frac{\partial CE}{\partial O_k} = -\frac{l_k}{O_k}; \frac{\partial O_k}{\partial X_j} = "
                 r"\begin{cases} O_k(1 - O_k) & j = k \\ -O_k O_j & j \neq k \end{cases}"),
        verdict="correct",
        reasoning=("d/dO_k of −Σ_i l_i log O_i is −l_k/O_k.  O_k = e^{X_k}/Σ_s e^{X_s}: the quotient rule gives "
                   "O_k − O_k² on the diagonal and −O_k O_j off it."),
        corrected="—",
        cases=(
            DerivativeCase("∂CE/∂O at a random O, l", doc004_ce_output_derivative, _jax_ce_output_derivative,
                           _AGREE, "jax.grad of −Σ l log O", seed=12),
            DerivativeCase("softmax Jacobian at random X (3 outputs)", doc004_softmax_jacobian,
                           _jax_softmax_jacobian, _AGREE, "jax.jacobian of the softmax", seed=12),
        ),
    ),
    DocumentFormula(
        id="doc004-ce-chain-one-term",
        document=DOC004, section="Part 1, Classification: ∂CE/∂X_j = ∂CE/∂O_k · ∂O_k/∂X_j (one term)",
        formula=(r"\frac{\partial CE}{\partial X_j} = \frac{\partial CE}{\partial O_k} \cdot "
                 r"\frac{\partial O_k}{\partial X_j}, \text{ for } j = k: \frac{\partial CE}{\partial X_k} = O_k - l_k"),
        verdict="wrong",
        reasoning=("Every O_k depends on X_j, so ∂CE/∂X_j = Σ_k ∂CE/∂O_k · ∂O_k/∂X_j.  The single product as written, "
                   "with j = k, is (−l_k/O_k)·O_k(1 − O_k) = −l_k(1 − O_k): 0 for a class with l_k = 0, where the "
                   "truth is O_k.  The result O_k − l_k it states is the full sum (for Σ l = 1; see the next row), "
                   "not this product."),
        corrected="∂CE/∂X_j = Σ_k (−l_k/O_k)·∂O_k/∂X_j = O_j Σ_k l_k − l_j",
        cases=(
            FormulaCase("the product as written, one-hot targets", _NET_004_CLS, doc004_single_term_output_delta,
                        Expect(agree=False, layer=2, delta=True, findings=(("mistake", None),),
                               mistakes=("softmax_diagonal",)),
                        "the output delta is wrong (−l(1 − O) instead of O − l), so dW_2 and, through it, dW_1 are; "
                        "no bias anywhere", seed=7, targets="onehot"),
        ),
    ),
    DocumentFormula(
        id="doc004-hidden-chain-one-k",
        document=DOC004, section="Part 1, Classification: ∂CE/∂W_ij as a chain through one output k",
        formula=(r"\frac{\partial CE}{\partial W_{ij}} = \frac{\partial CE}{\partial O_k} \cdot "
                 r"\frac{\partial O_k}{\partial X_k} \cdot \frac{\partial X_k}{\partial H_j} \cdot "
                 r"\frac{\partial H_j}{\partial W_{ij}}"),
        verdict="wrong",
        reasoning=("H_j feeds every X_k (weights γ_jk), so ∂CE/∂H_j = Σ_k ∂CE/∂X_k · γ_jk: one k is one path of K.  "
                   "The update rule written after it adds the Σ_k (and is right for targets summing to 1), so only "
                   "this intermediate line is wrong."),
        corrected="∂CE/∂W_ij = Σ_k (O_k − l_k)·γ_jk·H_j(1 − H_j)·I_i",
        cases=(
            FormulaCase("one k (the target class), one-hot targets", _NET_004_CLS, doc004_hidden_single_k,
                        Expect(agree=False, layer=1, delta=True),
                        "dW_2 = H^T(O − l) is right; dW_1 keeps the target class's path only; with no bias and no "
                        "layer below, a wrong dW_1 shows the pattern of a wrong δ_1", seed=7, targets="onehot"),
        ),
    ),
    DocumentFormula(
        id="doc003-general-partials",
        document=DOC003, section="Backpropagation General Structure: the partial derivatives of the chain",
        formula=(r"\frac{\partial y_k}{\partial w_{kj}^{(2)}} = A_j; \frac{\partial y_k}{\partial A_j} = w_{kj}^{(2)}; "
                 r"\frac{\partial A_j}{\partial Z_j} = h'(Z_j); \frac{\partial Z_j}{\partial w_{ji}^{(1)}} = x_i; "
                 r"\frac{\partial E_n}{\partial w_{ji}^{(1)}} = \frac{\partial E_n}{\partial y_k} \times "
                 r"\frac{\partial y_k}{\partial A_j} \times \frac{\partial A_j}{\partial Z_j} \times "
                 r"\frac{\partial Z_j}{\partial w_{ji}^{(1)}}"),
        verdict="correct",
        reasoning=("y_k = A_0 + Σ_j w_kj A_j is linear in w_kj (coefficient A_j) and in A_j (coefficient w_kj); "
                   "A_j = h(Z_j); Z_j = x_0 + Σ_i w_ji x_i is linear in w_ji.  Each factor is right; for one output "
                   "y_k, w_ji^(1) reaches it through A_j alone, so the product is ∂y_k/∂w_ji.  (The sum over k comes "
                   "from E_n, as the next line has it: see 'hidden layer' above.)"),
        corrected="—",
        cases=(
            DerivativeCase("3-4-2 tanh network at a random point: ∂y/∂w2 and ∂y/∂w1", doc003_general_partials,
                           _jax_doc003_general_partials, _AGREE, "jax.jacobian of y(w1, w2)", seed=14),
        ),
    ),
    DocumentFormula(
        id="doc003-regression-sigma",
        document=DOC003, section="Backpropagation General Structure, 3): \"For Regression Problem σ(.) = 1\"",
        formula=r"\text{For Regression Problem } \sigma(.) = 1",
        verdict="conditional",
        condition="if it means σ'(·) = 1, i.e. σ is the identity (y_k = Z_k), as the outputs' definition says",
        reasoning=("For regression the outputs are y_k = Z_k (σ the identity), so σ' = 1 and ∂y_k/∂A_j = w_kj.  "
                   "Read as written, σ(·) = 1 makes every output the constant 1 and every derivative 0."),
        corrected="for regression σ(z) = z, so σ'(z) = 1",
        cases=(
            DerivativeCase("σ(·) = 1 as written: ∂y_k/∂A_j", doc003_regression_sigma_is_one,
                           _jax_regression_output_partials, Expect(agree=False),
                           "a constant output has zero derivative, the identity output w_kj", seed=14),
            DerivativeCase("σ'(·) = 1: ∂y_k/∂A_j", doc003_regression_sigma_prime_is_one,
                           _jax_regression_output_partials, _AGREE, "the identity output's derivative", seed=14),
        ),
    ),
    DocumentFormula(
        id="doc000-regressor-hidden-error",
        document=DOC000, section="3.2 Backpropagation (regressor): hidden_error",
        formula=r"hidden\_error = output\_error \cdot \Gamma^T \cdot \sigma'(hidden\_layer\_output)",
        verdict="conditional",
        condition="if σ'(hidden_layer_output) means the sigmoid's derivative written through its output, a(1 − a)",
        reasoning=("As in the classifier: with a = σ(z), σ'(z) = a(1 − a); σ' evaluated at a, σ(a)(1 − σ(a)), is "
                   "another number.  (The missing 1/N of output_error is the row above; here the loss is the sum "
                   "Σ(y − ŷ)², for which 2(ŷ − y) is exact, so that only this line is tested.)"),
        corrected="hidden_error = (output_error · Γᵀ) ⊙ a(1 − a), a = hidden_layer_output",
        cases=(
            FormulaCase("σ'(a) read as a(1 − a), Σ(y − ŷ)²", _NET_000_REGRESSOR_SUM, doc000_regressor, _AGREE,
                        "the chain rule of Σ(y − ŷ)²", seed=1),
            FormulaCase("σ'(a) read as σ' evaluated at a, Σ(y − ŷ)²", _NET_000_REGRESSOR_SUM,
                        doc000_regressor_sigma_prime_at_output,
                        Expect(agree=False, layer=1, delta=True, findings=(("mistake", None),),
                               mistakes=("derivative_at_activation",)),
                        "only the hidden delta changes, by an elementwise ratio: W1 and b1 are wrong, layer 2 right",
                        seed=1),
        ),
    ),
    # ---- Document 001: the recursion before and after "transposing the weight matrix" -----------------
    DocumentFormula(
        id="doc001-delta-before-transpose",
        document=DOC001, section="4. Backpropagation, Step 2: δ^{l−1} before \"Transposing the Weight Matrix\"",
        formula=(r"\delta^{l-1} = \frac{\partial \mathcal{L}}{\partial z^{l}} \cdot \frac{\partial z^{l}}"
                 r"{\partial h^{l-1}} \cdot \frac{\partial h^{l-1}}{\partial z^{l-1}} = \delta^l \cdot W^l \cdot "
                 r"\sigma'(z^{l-1})"),
        verdict="conditional",
        condition="if δ^l is read as a row vector (then δ^l·W^l is (W^l)^T δ^l laid flat); with δ^l a column, as the document has it, the product is undefined",
        reasoning=("In the column form δ^l has shape (n_l, 1) and W^l (n_l, n_{l−1}): δ^l·W^l does not conform "
                   "(unless n_l = 1).  The chain rule gives ∂L/∂h^{l−1} = (W^l)^T δ^l, which the document reaches "
                   "one line later by 'transposing to match the dimensions'; read with δ^l as a row, δ^l·W^l is the "
                   "same numbers."),
        corrected="δ^{l−1} = (W^l)^T δ^l ⊙ σ'(z^{l−1})",
        cases=(
            DerivativeCase("δ^l a column (2, 1), W^l (2, 4)", doc001_delta_before_transpose, _jax_doc001_delta,
                           Expect(agree=False), "(2, 1) @ (2, 4) does not conform", seed=13),
            DerivativeCase("δ^l read as a row", doc001_delta_row_reading, _jax_doc001_delta, _AGREE,
                           "(δ^l)^T W^l ⊙ σ'(z^{l−1}) is the chain rule", seed=13),
        ),
    ),
)


# ---------------------------------------------------------------------------
# Running the registry and writing the errata section
# ---------------------------------------------------------------------------

def check_formulas(formulas=DOCUMENT_FORMULAS) -> list[tuple[DocumentFormula, list[GradientReport]]]:
    """Run the compare tool on every case: ``[(formula, [report per case])]``."""
    return [(f, [case.report() for case in f.cases]) for f in formulas]


def _md(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def _localisation_summary(report: GradientReport) -> str:
    loc = report.localisation
    if loc is None:
        return ""
    if "forming the gradient" in loc.text:
        return f"layer {loc.layer}: {', '.join(loc.parameters)} formed wrongly from a right δ_{loc.layer}"
    where = " (the output)" if loc.layer == report.params[-1].layer else ""
    return f"layer {loc.layer}{where}: δ_{loc.layer} wrong" + (", inherited below" if loc.propagates else "")


def _finding_summary(f) -> str:
    if f.kind == "factor":
        head = f.text.split(" × reference")[0]
        conv = {"half": "the ½", "mean": "sum vs mean", "half_mean": "½ and 1/N", "sign": "sign"}
        names = [conv[c] for c in f.detail["conventions"]]
        return head + " × reference" + (f" ({', '.join(names)})" if names else " (no known convention)")
    if f.kind == "mistake":
        where = f" in layer {f.detail['layer']}" if f.detail.get("layer") else ""
        return f"the named mistake `{f.detail['mistake']}`{where}"
    if f.kind == "shape":
        return f"d{f.text.removeprefix('the gradient for ')}"
    return f.text


def _case_summary(case: FormulaCase, report: GradientReport) -> str:
    if report.ok:
        return f"{case.label}: agree"
    if isinstance(case, DerivativeCase):
        return f"{case.label}: **disagree** — {report.text}"
    parts = [_localisation_summary(report)] + [_finding_summary(f) for f in report.diagnosis]
    return f"{case.label}: **disagree** — " + "; ".join(p for p in parts if p)


def formula_errata_markdown(results) -> str:
    """The "Formulas" section of docs/errata.md from :func:`check_formulas`'s results."""
    out = [
        '<a id="formulas"></a>',
        "## Formulas",
        "",
        "Generated from `reference/document_formulas.py`: each formula the documents state is "
        "implemented literally (row layout `x @ W + b`, a random batch of N = "
        f"{N_BATCH} samples, document 001's column form transposed) and compared by `reference.compare` "
        "with `jax.grad`, central differences and the complex step; a single derivative (∂Error/∂Prediction, "
        "a softmax Jacobian, one step of a recursion) is evaluated at a random point and compared with "
        "`jax.grad` of the function it differentiates.  Intermediate forms count: a chain rule written for one "
        "term, a rule written after one worked weight, a line before the derivation corrects itself.  The "
        "verdict comes from the reasoning recorded with each formula; the tool's findings confirm it "
        "(`tests/test_document_formulas.py`).",
        "",
        "",
    ]
    docs = sorted({f.document for f, _ in results})
    out += ["| document | formulas | correct | correct only under a condition | wrong |",
            "| --- | ---: | ---: | ---: | ---: |"]
    for d in docs:
        vs = [f.verdict for f, _ in results if f.document == d]
        out.append(f"| {d[:3]} | {len(vs)} | {vs.count('correct')} | {vs.count('conditional')} | {vs.count('wrong')} |")
    out += ["", "| document | formula as written | verdict | what the tool found | corrected formula |",
            "| --- | --- | --- | --- | --- |"]
    results = sorted(results, key=lambda fr: fr[0].document)  # by document; the registry's order within one
    for f, reports in results:
        found = "<br>".join(_md(_case_summary(c, r)) for c, r in zip(f.cases, reports))
        out.append(f"| [{f.document[:3]}](#{f.id}) {_md(f.section)} | `{_md(f.formula)}` | "
                   f"{_md(f.verdict_text())} | {found} | {_md(f.corrected)} |")
    for f, reports in results:
        out += ["", f'<a id="{f.id}"></a>', f"### {f.document[:3]}: {f.section}", "",
                f"Source: `{f.document}`.  Verdict: **{f.verdict_text()}**.", "", f.reasoning, ""]
        for c, r in zip(f.cases, reports):
            single = isinstance(c, DerivativeCase)
            net = ("a single derivative against jax.grad" if single else
                   "perceptron criterion" if c.net is None else f"`{c.net.describe()}`")
            out.append(f"- *{c.label}* ({net}, candidate `{c.candidate.__name__}`).  Expected "
                       f"{'agreement' if c.expect.agree else 'disagreement'}: {c.why}.  Tool: **{r.verdict}**"
                       + (f" ({r.text})." if single else "."))
            if r.localisation is not None:
                out.append(f"  Localisation: {r.localisation.text}.")
            for finding in r.diagnosis:
                out.append(f"  Diagnosis: {finding.text}.")
    return "\n".join(out) + "\n"
