"""The worked-example engine: files, verdicts, causes, the CLI and the errata page.

Expected values here never come from manual_bp: they are hand-expanded
arithmetic written out below, or JAX autodiff of a forward pass written in
this file.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from reference.worked_examples import (
    VERDICTS,
    ExampleFormatError,
    check_example,
    errata_markdown,
    format_report,
    load_example,
    parse_printed,
    search_setups,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "reference" / "data" / "examples"
DOC002 = EXAMPLES / "doc002_2-2-1_linear.toml"
EX1 = EXAMPLES / "doc003_ex1_sigmoid_neuron.toml"
EX2 = EXAMPLES / "doc003_ex2_2-2-2-1_network.toml"
SHIPPED = [DOC002, EX1, EX2]

_REPORTS = {}


def report(path):
    if path not in _REPORTS:
        _REPORTS[path] = check_example(path)
    return _REPORTS[path]


def by_id(path):
    return {r.claim.id: r for r in report(path).results}


def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


# ---------------------------------------------------------------------------
# Computed values against independent arithmetic
# ---------------------------------------------------------------------------

def test_doc002_values_by_hand():
    # Document 002 with w3 = 0.21 (x2 -> h1) and w2 = 0.12 (x1 -> h2), written out.
    x1, x2, y = 2.0, 3.0, 1.0
    w1, w2, w3, w4, w5, w6, lr = 0.11, 0.12, 0.21, 0.08, 0.14, 0.15, 0.05
    h1 = x1 * w1 + x2 * w3          # 0.85
    h2 = x1 * w2 + x2 * w4          # 0.48
    yhat = h1 * w5 + h2 * w6        # 0.191
    d = yhat - y                    # ∂(½(ŷ − y)²)/∂ŷ
    expected = {
        "h1": h1, "h2": h2, "y_hat": yhat,
        "w5_new": w5 - lr * d * h1, "w6_new": w6 - lr * d * h2,
        "w1_new": w1 - lr * d * w5 * x1, "w2_new": w2 - lr * d * w6 * x1,
        "w3_new": w3 - lr * d * w5 * x2, "w4_new": w4 - lr * d * w6 * x2,
        "w1_old": w1, "w2_old": w2, "w3_old": w3, "w4_old": w4, "w5_old": w5, "w6_old": w6,
    }
    res = by_id(DOC002)
    for cid, v in expected.items():
        assert res[cid].computed == pytest.approx(v, abs=1e-12), cid
        assert res[cid].jax == pytest.approx(v, abs=1e-12), cid
    assert h1 == pytest.approx(0.85) and h2 == pytest.approx(0.48)


def test_doc003_ex1_values_by_hand():
    X = [(1.0, 2.0), (2.0, 3.0), (3.0, 7.0)]
    Y = [3.0, 5.0, 10.0]
    w1, w2, b, lr, n = 0.5, -0.5, 0.2, 0.1, 3
    Z = [w1 * a + w2 * c + b for a, c in X]
    S = [sigmoid(z) for z in Z]
    # per-sample gradient terms of ½(S − Y)²: the document's P, Q, R
    R = [(s - y) * s * (1 - s) for s, y in zip(S, Y)]
    P = [r * a for r, (a, _) in zip(R, X)]
    Q = [r * c for r, (_, c) in zip(R, X)]
    mse = sum((s - y) ** 2 for s, y in zip(S, Y)) / (2 * n)
    dw1, dw2, db = sum(P) / n, sum(Q) / n, sum(R) / n
    expected = {"MSE": mse, "dMSE_dw1": dw1, "dMSE_dw2": dw2, "dMSE_db": db,
                "w1_new": w1 - lr * dw1, "w2_new": w2 - lr * dw2, "b_new": b - lr * db}
    for i in range(3):
        expected |= {f"Z{i + 1}": Z[i], f"Ypred{i + 1}": S[i], f"P{i + 1}": P[i], f"Q{i + 1}": Q[i],
                     f"R{i + 1}": R[i], f"Y{i + 1}": X[i][0] + X[i][1]}
    res = by_id(EX1)
    for cid, v in expected.items():
        assert res[cid].computed == pytest.approx(v, rel=1e-12, abs=1e-14), cid
        assert res[cid].jax == pytest.approx(v, rel=1e-12, abs=1e-14), cid


def _jax_2221(params, x, y):
    """Document 003 Example 2's network, written here: sigmoid, sigmoid, linear; 1/(2n)Σ."""
    (W1, b1), (W2, b2), W3 = params
    z1 = x @ W1 + b1
    a1 = jax.nn.sigmoid(z1)
    z2 = a1 @ W2 + b2
    a2 = jax.nn.sigmoid(z2)
    out = a2 @ W3
    return jnp.sum((out - y) ** 2) / (2 * x.shape[0]), (z1, a1, z2, a2, out)


def _ex2_jax(x, y, w3_sign):
    W1 = jnp.array([[-0.25, 0.901], [0.464, 0.197]])
    b1 = jnp.array([-0.959, 0.940])
    W2 = jnp.array([[-0.688, -0.688], [-0.884, 0.732]])
    b2 = jnp.array([0.665, -0.575])
    W3 = w3_sign * jnp.array([[0.202], [0.416]])
    params = ((W1, b1), (W2, b2), W3)
    (_, fwd), grads = jax.value_and_grad(_jax_2221, has_aux=True)(params, jnp.asarray(x), jnp.asarray(y))
    return params, fwd, grads


def test_doc003_ex2_values_against_jax():
    x = np.array([[1.0, 3.0], [2.0, 4.0], [3.0, 5.0]])
    y = np.array([[5.85], [7.6], [10.25]])
    with jax.enable_x64(True):
        params, (z1, a1, z2, a2, out), ((gW1, gb1), (gW2, gb2), gW3) = _ex2_jax(x, y, -1.0)
        (W1, b1), (W2, b2), W3 = params
        res = by_id(EX2)
        for n in range(3):
            for j in range(2):
                name = f"{j + 1}_{n + 1}"
                assert res[f"Z1{name}"].computed == pytest.approx(float(z1[n, j]), abs=1e-12)
                assert res[f"A1{name}"].computed == pytest.approx(float(a1[n, j]), abs=1e-12)
                assert res[f"Z2{name}"].computed == pytest.approx(float(z2[n, j]), abs=1e-12)
                assert res[f"A2{name}"].computed == pytest.approx(float(a2[n, j]), abs=1e-12)
            assert res[f"Ypred_{n + 1}"].computed == pytest.approx(float(out[n, 0]), abs=1e-12)
        grads = {"dw51": gW3[0, 0], "dw52": gW3[1, 0], "dw31": gW2[0, 0], "dw32": gW2[1, 0], "db3": gb2[0],
                 "dw41": gW2[0, 1], "dw42": gW2[1, 1], "db4": gb2[1], "dw11": gW1[0, 0], "dw12": gW1[1, 0],
                 "dw21": gW1[0, 1], "dw22": gW1[1, 1]}
        for cid, g in grads.items():
            assert res[cid].computed == pytest.approx(float(g), abs=1e-12), cid
        lr = 0.1
        updates = {"w11_new": W1[0, 0] - lr * gW1[0, 0], "w42_new": W2[1, 1] - lr * gW2[1, 1],
                   "w51_new": W3[0, 0] - lr * gW3[0, 0], "b1_new": b1[0] - lr * gb1[0], "b4_new": b2[1] - lr * gb2[1]}
        for cid, v in updates.items():
            assert res[cid].computed == pytest.approx(float(v), abs=1e-12), cid


def test_doc003_ex2_tables_follow_from_scaled_data_by_hand():
    # Min-max scaled inputs: every row has X1 = X2 = s with s = 0, 0.5, 1.
    for n, s in enumerate((0.0, 0.5, 1.0)):
        z11 = -0.25 * s + 0.464 * s - 0.959
        z12 = 0.901 * s + 0.197 * s + 0.940
        a11, a12 = sigmoid(z11), sigmoid(z12)
        z21 = -0.688 * a11 - 0.884 * a12 + 0.665
        z22 = -0.688 * a11 + 0.732 * a12 - 0.575
        ypred = 0.202 * sigmoid(z21) + 0.416 * sigmoid(z22)   # output weights positive
        printed = [("-0.959", "0.940", "-0.161", "-0.239", "0.276"),
                   ("-0.853", "0.940", "-0.262", "-0.183", "0.277"),
                   ("-0.746", "2.038", "-0.338", "-0.148", "0.277")][n]
        for v, p in zip((z11, z21, z22, ypred), (printed[0], printed[2], printed[3], printed[4])):
            assert abs(v - float(p)) <= 1.5e-3, (n, v, p)
    # and the printed 0.0019 is the document's one-path formula with scaled targets:
    x1 = np.array([0.0, 0.5, 1.0])
    ys = (np.array([5.85, 7.6, 10.25]) - 5.85) / (10.25 - 5.85)
    z11 = (-0.25 + 0.464) * x1 - 0.959
    z12 = (0.901 + 0.197) * x1 + 0.940
    a11, a12 = 1 / (1 + np.exp(-z11)), 1 / (1 + np.exp(-z12))
    a21 = 1 / (1 + np.exp(-(-0.688 * a11 - 0.884 * a12 + 0.665)))
    a22 = 1 / (1 + np.exp(-(-0.688 * a11 + 0.732 * a12 - 0.575)))
    err = 0.202 * a21 + 0.416 * a22 - ys
    one_path = np.mean(err * 0.202 * a21 * (1 - a21) * -0.688 * a11 * (1 - a11) * x1)
    other_path = np.mean(err * 0.416 * a22 * (1 - a22) * -0.688 * a11 * (1 - a11) * x1)
    assert round(one_path, 4) == 0.0019
    assert round(one_path + other_path, 4) != 0.0019   # the true gradient is different


# ---------------------------------------------------------------------------
# Verdicts
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_claim_gets_a_verdict_and_jax_agrees(path):
    rep = report(path)
    assert rep.results and len(rep.results) == len(load_example(path).claims)
    for r in rep.results:
        assert r.verdict in VERDICTS
        assert r.jax_agrees, (r.claim.id, r.computed, r.jax)
        if r.verdict == "wrong":
            assert r.cause, f"{r.claim.id}: no cause found"
        else:
            assert r.cause is None
    d = rep.to_dict()
    assert json.loads(json.dumps(d)) == d           # plain JSON
    assert sum(d["counts"].values()) == len(d["claims"])


def test_known_verdicts():
    d2, e1, e2 = by_id(DOC002), by_id(EX1), by_id(EX2)
    assert {c for c, r in d2.items() if r.verdict == "wrong"} == {"w3_old", "w3_new"}
    assert all(d2[c].verdict == "match" for c in ("h1", "h2", "y_hat", "w1_new", "w5_new", "w6_new", "w4_new"))
    assert {c for c, r in e1.items() if r.verdict == "wrong"} == {"dw1_term2", "dw1_term3"}
    # truncated (0.42556 printed 0.425) and a rounded intermediate (P3 from the printed 0.142)
    assert e1["Ypred1"].verdict == "rounding" and "truncated" in e1["Ypred1"].detail
    assert e1["P3"].verdict == "rounding" and "rounded intermediates" in e1["P3"].detail
    assert e1["w1_new"].verdict == "rounding" and e1["MSE"].verdict == "match"
    for cid in ("Z11_1", "Ypred_1", "dw51", "dw11", "w51_new"):
        assert e2[cid].verdict == "wrong"


def test_known_causes():
    d2, e1, e2 = by_id(DOC002), by_id(EX1), by_id(EX2)
    assert "copy" in d2["w3_old"].cause and "w1_old" in d2["w3_old"].cause
    assert "copy" in d2["w3_new"].cause and d2["w3_new"].cause.index("w1_new") < d2["w3_new"].cause.index("w2_old")
    assert "copy" in e1["dw1_term2"].cause and "R2" in e1["dw1_term2"].cause
    for cid in ("Z11_1", "A22_3", "Ypred_2", "dw51", "db4", "w52_new", "b3_new"):
        assert e2[cid].causes[0]["family"] == "setup", cid
        assert "alternative 'tables'" in e2[cid].cause, cid
    for cid in ("dw11", "dw12", "dw21", "dw22"):
        top = e2[cid].causes[0]
        assert top["family"] == "missing_path" and top["setup"] == "alternative 'tables'", cid
    assert "z2[·,0]" in e2["dw11"].cause and "missing z2[·,1]" in e2["dw11"].cause


EX_TEMPLATE = """
[example]
id = "t"
[network]
sizes = [2, 2, 1]
activations = ["identity", "identity"]
loss = "squared_error"
reduction = "sum"
half = true
bias = false
[params]
W1 = [[0.11, 0.12], [0.21, 0.08]]
W2 = [[0.14], [0.15]]
[data]
x = [[2, 3]]
y = [[1]]
[training]
lr = 0.05
"""


def claim(cid, quantity, printed, extra=""):
    return f'[[claims]]\nid = "{cid}"\nquantity = "{quantity}"\nprinted = "{printed}"\n{extra}\n'


def write(tmp_path, text, name="ex.toml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_cause_finders(tmp_path):
    # By hand: ŷ = 0.191, Δ = −0.809, ∂(½(ŷ−y)²)/∂w5 = Δ·h1 = −0.68765, ∂/∂w1 = Δ·w5·x1 = −0.22652.
    text = EX_TEMPLATE + "".join([
        claim("ok", "dW2[0, 0]", "-0.6877"),
        claim("no_half", "dW2[0, 0]", "-1.3753"),       # Σ instead of ½Σ: factor 2
        claim("sign", "dW2[0, 0]", "0.6877"),
        claim("yhat", "a2[0, 0]", "0.19"),
        claim("w5_new", "W2_new[0, 0]", "0.1744"),
    ])
    res = {r.claim.id: r for r in check_example(write(tmp_path, text)).results}
    assert res["ok"].verdict == "match"
    assert res["no_half"].verdict == "wrong" and res["no_half"].causes[0]["family"] == "convention"
    assert "Σ" in res["no_half"].cause
    assert res["sign"].verdict == "wrong" and res["sign"].causes[0]["family"] == "sign"
    assert res["w5_new"].verdict == "match"
    # The document's way: w5_new = 0.14 − 0.05·(0.19 − 1)·0.85 = 0.174425 from the printed ŷ = 0.19,
    # where the true value is 0.14 − 0.05·(0.191 − 1)·0.85 = 0.1743825.
    text = EX_TEMPLATE + "".join([
        claim("yhat", "a2[0, 0]", "0.19"),
        claim("w5_far", "W2_new[0, 0]", "0.174425"),  # 42 units of the last place off
        claim("w5_near", "W2_new[0, 0]", "0.17443"),  # 5 units off: only the last digit
    ])
    res = {r.claim.id: r for r in check_example(write(tmp_path, text, "chain.toml")).results}
    assert res["w5_far"].verdict == "wrong" and res["w5_far"].causes[0]["family"] == "rounded_intermediate"
    assert res["w5_near"].verdict == "rounding" and "rounded intermediates" in res["w5_near"].detail


def test_rounding_rules():
    assert parse_printed("0.7156") == (0.7156, pytest.approx(1e-4))
    assert parse_printed("-0.066")[1] == pytest.approx(1e-3)
    assert parse_printed("10")[1] == 1.0
    assert parse_printed("1.2e-3") == (0.0012, pytest.approx(1e-4))
    with pytest.raises(ExampleFormatError):
        parse_printed("about 3")
    with pytest.raises(ExampleFormatError):
        parse_printed(0.5)


def test_search_finds_the_tables_setup():
    top = search_setups(EX2, top=3)[0]
    assert (top["x"], top["y"], top["transposed"], top["negated"]) == ("minmax", "minmax", [], ["W3"])
    assert top["reproduced"] == 49 and top["of"] == 53
    assert {"dw11", "dw12", "dw21", "dw22"}.isdisjoint(top["claims"])
    forward = search_setups(EX2, top=1, kinds=("z", "a"))[0]
    assert forward["reproduced"] == forward["of"] == 27 and forward["x"] == "minmax"


def test_missing_path_sums_to_gradient():
    from reference.worked_examples import _paths

    ex = load_example(EX2)
    with jax.enable_x64(True):
        _, _, ((gW1, gb1), _, _) = _ex2_jax(ex.x, ex.y, -1.0)
    for c in ex.claims:
        if c.kind == "dW" and c.layer == 1:
            paths = _paths(ex.net, ex.params, ex.x, ex.y, ex.lr, c)
            assert len(paths) == 2
            assert sum(v for _, v in paths) == pytest.approx(float(gW1[c.index]), abs=1e-12)


@pytest.mark.parametrize("body, message", [
    (claim("a", "q1[0, 0]", "1"), "unknown quantity"),
    (claim("a", "z1[0, 5]", "1"), "out of range"),
    (claim("a", "z3[0, 0]", "1"), "out of range"),
    (claim("a", "db1[0]", "1"), "no bias"),
    (claim("a", "z1[0, 0]", "1", "sample = 0"), "sample applies"),
    ('[[claims]]\nid = "a"\nquantity = "loss"\nprinted = 0.5\n', "strings"),
    (claim("a", "loss", "1") + claim("a", "loss", "2"), "twice"),
])
def test_format_errors(tmp_path, body, message):
    with pytest.raises(ExampleFormatError, match=message):
        load_example(write(tmp_path, EX_TEMPLATE + body))


W2_LINE = "W2 = [[0.14], [0.15]]"


@pytest.mark.parametrize("old, new, message", [
    (W2_LINE + "\n", "", r": \[params\]: missing W2 \(shape \(2, 1\)\)$"),
    (W2_LINE, "W2 = [[0.14, 0.15]]", r": \[params\]\.W2 must have shape \(2, 1\) \(n_in, n_out\), got \(1, 2\)$"),
    (W2_LINE, W2_LINE + "\nb2 = [0.1]", r": \[params\]: b2 given but the network has no bias in layer 2$"),
    ("bias = false", "bias = [true, false]", r": \[params\]: missing b1 \(network bias for layer 1 is on\)$"),
    ("bias = false\n[params]", "bias = [true, false]\n[params]\nb1 = [0.1, 0.2, 0.3]",
     r": \[params\]\.b1 must have shape \(2,\), got \(3,\)$"),
])
def test_params_format_errors(tmp_path, old, new, message):
    assert old in EX_TEMPLATE
    text = EX_TEMPLATE.replace(old, new) + claim("a", "loss", "1")
    with pytest.raises(ExampleFormatError, match=message):
        load_example(write(tmp_path, text))


def test_format_errors_in_file(tmp_path):
    with pytest.raises(ExampleFormatError, match="no such file"):
        load_example(tmp_path / "missing.toml")
    with pytest.raises(ExampleFormatError, match="not valid TOML"):
        load_example(write(tmp_path, "[example\n"))
    with pytest.raises(ExampleFormatError, match="shape"):
        load_example(write(tmp_path, EX_TEMPLATE.replace("W2 = [[0.14], [0.15]]", "W2 = [[0.14, 0.15]]")
                           + claim("a", "loss", "1")))


def test_format_report_lists_every_claim():
    text = format_report(report(DOC002))
    for r in report(DOC002).results:
        assert r.claim.id in text
    assert "18 claims: 16 match, 0 rounding, 2 wrong" in text


# ---------------------------------------------------------------------------
# The CLI and the errata page
# ---------------------------------------------------------------------------

def run_script(*args):
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_cli_exit_codes(tmp_path):
    good = write(tmp_path, EX_TEMPLATE + claim("h1", "a1[0, 0]", "0.85") + claim("yhat", "a2[0, 0]", "0.19"))
    r = run_script("scripts/check_example.py", str(good))
    assert r.returncode == 0, r.stderr
    assert "2 claims: 2 match" in r.stdout
    r = run_script("scripts/check_example.py", str(DOC002), "--json")
    assert r.returncode == 1
    d = json.loads(r.stdout)
    assert len(d["claims"]) == 18 and d["counts"]["wrong"] == 2
    for args in ([], [str(tmp_path / "nope.toml")], [str(DOC002), "--bogus"],
                 [str(write(tmp_path, "[example\n", "bad.toml"))]):
        r = run_script("scripts/check_example.py", *args)
        assert r.returncode == 2, args
        assert len(r.stderr.strip().splitlines()) == 1 and "error" in r.stderr, (args, r.stderr)


def test_errata_is_up_to_date():
    r = run_script("scripts/make_errata.py", "--check")
    assert r.returncode == 0, r.stderr + "\nrun: python scripts/make_errata.py"
    # and the page is the engine's output for the shipped files, listing every wrong claim
    text = errata_markdown([report(p) for p in sorted(EXAMPLES.glob("*.toml"))])
    # The worked-example part comes first; scripts/make_errata.py appends the
    # formula section (checked in tests/test_document_formulas.py).
    assert (ROOT / "docs" / "errata.md").read_text(encoding="utf-8").startswith(text + '\n<a id="formulas"></a>\n')
    for p in SHIPPED:
        for r in report(p).results:
            assert (f"| {r.claim.id} |" in text) == (r.verdict == "wrong")


def test_reference_backend_is_used_when_exported(monkeypatch):
    # Once reference/__init__.py exports loss/gradients/deltas, the cross-check goes through them.
    model = pytest.importorskip("reference.model")
    import reference

    for name in ("loss", "gradients", "deltas"):
        monkeypatch.setattr(reference, name, getattr(model, name), raising=False)
    rep = check_example(EX1)
    assert rep.jax_backend == "reference"
    assert rep.jax_agrees
    assert [r.verdict for r in rep.results] == [r.verdict for r in report(EX1).results]
