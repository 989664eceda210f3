#!/usr/bin/env python3
"""Regenerate every "real output" block of README.md and docs/*.md from the code that prints it.

    python scripts/make_docs.py            rewrite the blocks
    python scripts/make_docs.py --check    write nothing; exit 1 naming each stale block

A block is a fenced ``text`` block between ``<!-- make_docs NAME -->`` and
``<!-- /make_docs -->``; ``NAME`` picks its generator below.  Under
``--check`` numbers at rounding level (scientific notation with an exponent of
-6 or below: errors of 1e-16, 3e-10) are compared as placeholders, since they
differ in the last digits between CPUs and BLAS builds; everything else --
tables, verdicts, diagnoses, messages -- must match exactly.  The benchmark
tables (``<!-- bench KEY -->``) are measurements, written by scripts/bench.py.
"""
from __future__ import annotations

import contextlib
import io
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BLOCK = re.compile(r"(<!-- make_docs (?P<name>[\w-]+) -->\n```text\n)(?P<body>.*?)(```\n<!-- /make_docs -->)", re.S)
_TINY = re.compile(r"\d\.\d+e-(0[6-9]|[1-9]\d)")


def _run(*argv: str) -> str:
    from deltacheck import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        main(list(argv))
    return out.getvalue()


def _tail(text: str, marker: str) -> str:
    return text[text.index(marker):]


def compare_documents() -> str:
    return "$ deltacheck compare\n" + _run("compare")


def report_forgot_half() -> str:
    """The end of the report for docs/report.md's derivation that forgot the ½."""
    import numpy as np

    import manual_bp as bp
    import reference as ref

    net = bp.Network((3, 4, 4, 2), ("sigmoid", "sigmoid", "identity"), "squared_error", half=True)
    rng = np.random.default_rng(0)
    params = bp.init_params(net, seed=rng)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))

    def my_gradients(net, params, x, y):
        return [(2 * dW, 2 * db) for dW, db in bp.gradients(net, params, x, y)]

    return _tail(str(ref.compare(net, params, x, y, candidate=my_gradients)), "localisation:") + "\n"


def derivation_story() -> str:
    """The README's "My derivation" code block, run as written: the end of what it prints."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    code = re.search(r"<!-- derivation-code -->\n```python\n(.*?)```", readme, re.S).group(1)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md (derivation-code)", "exec"), {"__name__": "readme_derivation"})
    return _tail(out.getvalue(), "localisation:")


def shell_files(directory: Path) -> None:
    """The files of the shell story: a 3-4-2 tanh network's parameters, a batch, and another program's
    gradients whose output bias gradient was averaged over the batch instead of summed."""
    import numpy as np

    import manual_bp as bp
    import reference as ref

    net = bp.Network((3, 4, 2), ("tanh", "identity"), "squared_error", reduction="sum")
    rng = np.random.default_rng(4)
    params = bp.init_params(net, seed=rng)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    (dW1, db1), (dW2, db2) = ref.gradients(net, params, x, y)
    np.savez(directory / "params.npz", W1=params[0][0], b1=params[0][1], W2=params[1][0], b2=params[1][1])
    np.savez(directory / "batch.npz", x=x, y=y)
    np.savez(directory / "grads.npz", W1=dW1, b1=db1, W2=dW2, b2=db2 / x.shape[0])
    (directory / "net.toml").write_text('[network]\nsizes = [3, 4, 2]\nactivations = ["tanh", "identity"]\n'
                                        'loss = "squared_error"\n', encoding="utf-8")


def shell_story() -> str:
    import os

    here = os.getcwd()
    with tempfile.TemporaryDirectory() as d:
        shell_files(Path(d))
        os.chdir(d)
        try:
            text = _run("compare", "--params", "params.npz", "--data", "batch.npz", "--grads", "grads.npz",
                        "--spec", "net.toml")
        finally:
            os.chdir(here)
    head = text.splitlines()[0]
    return ("$ deltacheck compare --params params.npz --data batch.npz --grads grads.npz --spec net.toml\n"
            + head + "\n...\n" + _tail(text, "localisation:"))


def bad_input() -> str:
    """The messages of docs/robustness.md's examples, raised by the functions themselves."""
    import numpy as np

    import manual_bp as bp

    net = bp.Network((4, 3, 3), ("sigmoid", "softmax"), "cross_entropy")
    params = bp.init_params(net, seed=0)
    x = np.zeros((5, 4))
    cases = [
        lambda: bp.gradients(net, params, np.zeros((5, 3)), np.zeros(5, int)),
        lambda: bp.gradients(net, params, x, np.zeros(4, int)),
        lambda: bp.gradients(net, params, x, np.array([0, 1, 2, 3, 0])),
        lambda: bp.gradients(net, [(params[0][0].T, params[0][1]), params[1]], x, np.zeros(5, int)),
        lambda: bp.gradients(net, params, x.astype(bool), np.zeros(5, int)),
        lambda: bp.gradients(net, params, x, np.full((5, 3), 0.5)),
        lambda: bp.sgd_step(params, bp.gradients(net, params, x, np.zeros(5, int)), lr=0),
    ]
    lines = []
    for case in cases:
        try:
            case()
        except (ValueError, TypeError) as exc:
            lines.append(f"{type(exc).__name__}: {exc}")
        else:
            raise AssertionError("a bad-input example no longer raises")
    return "\n".join(lines) + "\n"


GENERATORS = {
    "compare-documents": compare_documents,
    "report-forgot-half": report_forgot_half,
    "derivation-story": derivation_story,
    "shell-story": shell_story,
    "bad-input": bad_input,
}


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def render(text: str, cache: dict) -> str:
    def replace(m):
        name = m.group("name")
        if name not in GENERATORS:
            raise KeyError(f"unknown make_docs block {name!r}; known: {', '.join(GENERATORS)}")
        if name not in cache:
            cache[name] = GENERATORS[name]()
        return m.group(1) + cache[name] + m.group(4)

    return BLOCK.sub(replace, text)


def _masked(text: str) -> str:
    return _TINY.sub("#", text)


def stale(files=None) -> list[str]:
    """``"FILE: block NAME"`` for every block whose committed text differs from its generator's."""
    cache: dict = {}
    out = []
    for path in files or pages():
        text = path.read_text(encoding="utf-8")
        new = render(text, cache)
        if _masked(new) != _masked(text):
            old_blocks = {m.group("name"): m.group("body") for m in BLOCK.finditer(text)}
            for m in BLOCK.finditer(new):
                if _masked(old_blocks.get(m.group("name"), "")) != _masked(m.group("body")):
                    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
                    out.append(f"{where}: block {m.group('name')}")
    return out


def main(argv=None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="make_docs.py", description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 when a block is stale")
    args = p.parse_args(argv)
    if args.check:
        bad = stale()
        for line in bad:
            print(f"make_docs.py: stale: {line}; run python scripts/make_docs.py", file=sys.stderr)
        return 1 if bad else 0
    cache: dict = {}
    for path in pages():
        text = path.read_text(encoding="utf-8")
        new = render(text, cache)
        if new != text:
            path.write_text(new, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
