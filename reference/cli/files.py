"""Data from outside: parameters, data and gradients in ``.npz`` or ``.json`` files, networks in TOML.

The one place deltacheck reads another program's output.  Keys are numbered
from 1 like the report: ``W1, b1, W2, b2, …`` (gradient files use the same
keys: the gradient with respect to ``W1`` is stored under ``W1``); data files
hold ``x`` and ``y``.  Row layout (``W (n_in, n_out)``, ``b (n_out,)``, ``x
(n_batch, n_in)``, ``y (n_batch, n_out)`` or labels ``(n_batch,)``) unless
``layout="column"`` (``W (n_out, n_in)``, ``b (n_out, 1)`` or ``(n_out,)``,
``x (n_in, n_batch)``, ``y (n_out, n_batch)``; labels stay ``(n_batch,)``);
everything is returned in row layout.

Nothing is unpickled (``allow_pickle=False``).  Every problem -- a missing
file, a pickled or object array, a missing or unexpected key, a wrong shape,
a NaN -- is a :class:`FileError` (a ValueError) whose one line names the file,
the key and what was expected.  After the per-key checks the arrays go
through the same validation as :func:`reference.gradients`
(``reference._spec``), so a file is held to the rules of the functions.
"""
from __future__ import annotations

import json
import re
import tomllib
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["FileError", "infer_network_shape", "read_arrays", "read_data", "read_grads", "read_params",
           "read_spec"]

_LEAF = re.compile(r"([Wb])([1-9][0-9]*)")
_LAYOUTS = ("row", "column")
_NETWORK_KEYS = {"sizes", "activations", "loss", "reduction", "half", "bias", "l2"}


class FileError(ValueError):
    """A file from outside that cannot be used; the message names the file and the key."""


# ---------------------------------------------------------------------------
# Arrays
# ---------------------------------------------------------------------------

def _numeric(a: np.ndarray, path, key: str) -> np.ndarray:
    if a.dtype.kind not in "biuf":
        raise FileError(f"{path}: key {key!r} holds {a.dtype} data; expected real numbers")
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
        raise FileError(f"{path}: key {key!r} has {a[where]} at index {list(where)}; expected finite numbers")
    return a


def _from_json(value, path, key: str) -> np.ndarray:
    def bad(why):
        return FileError(f"{path}: key {key!r} {why}; expected a number or nested lists of numbers")

    def check(v):
        if isinstance(v, list):
            for item in v:
                check(item)
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            raise bad(f"holds {type(v).__name__} {v!r}")

    check(value)
    try:
        a = np.array(value)
    except ValueError:
        raise bad("is ragged (rows of different lengths)") from None
    if a.dtype == object:
        raise bad("is ragged (rows of different lengths)")
    if a.dtype.kind not in "iuf" and a.size:
        raise bad(f"holds {a.dtype} data")
    return a.astype(float) if a.size == 0 else a


def read_arrays(path, what: str = "arrays") -> dict[str, np.ndarray]:
    """Every array in a ``.npz`` or ``.json`` file, by key: real numbers, finite, never unpickled.

    ``what`` says in an error what the file was for (``"--params"``).
    """
    p = Path(path)
    if not p.is_file():
        raise FileError(f"{path}: no such file ({what})")
    suffix = p.suffix.lower()
    out: dict[str, np.ndarray] = {}
    if suffix == ".npz":
        try:
            with np.load(p, allow_pickle=False) as z:
                if not hasattr(z, "files"):
                    raise FileError(f"{path}: holds a single array; expected an .npz archive of named arrays "
                                    "(np.savez(path, W1=..., b1=...))")
                for key in z.files:
                    try:
                        out[key] = z[key]
                    except ValueError:
                        raise FileError(f"{path}: key {key!r} is an object array, which would need unpickling; "
                                        "save plain numeric arrays") from None
        except FileError:
            raise
        except ValueError as exc:  # np.load on pickled data with allow_pickle=False
            if "pickle" in str(exc):
                raise FileError(f"{path}: holds pickled data, which deltacheck does not load; save arrays with "
                                "np.savez(path, W1=..., b1=...)") from None
            raise FileError(f"{path}: not a readable .npz file ({exc})") from None
        except (OSError, EOFError, zipfile.BadZipFile) as exc:
            raise FileError(f"{path}: not a readable .npz file ({exc})") from None
    elif suffix == ".json":
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise FileError(f"{path}: cannot be read ({exc})") from None
        except json.JSONDecodeError as exc:
            raise FileError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}") from None
        if not isinstance(doc, dict):
            raise FileError(f"{path}: expected a JSON object of named arrays ({{\"W1\": [[...]], ...}}), "
                            f"got {type(doc).__name__}")
        out = {key: _from_json(v, path, key) for key, v in doc.items()}
    else:
        raise FileError(f"{path}: expected a .npz or .json file ({what})")
    return {key: _numeric(a, path, key) for key, a in out.items()}


def _check_layout(layout: str) -> None:
    if layout not in _LAYOUTS:
        raise ValueError(f"layout must be 'row' or 'column', got {layout!r}")


# ---------------------------------------------------------------------------
# Parameters and gradients
# ---------------------------------------------------------------------------

def _leaves(arrays: dict, path) -> dict[tuple[str, int], np.ndarray]:
    """``{("W", 1): array, ("b", 1): array, ...}``; unexpected keys and gaps are errors."""
    leaves = {}
    for key, a in arrays.items():
        m = _LEAF.fullmatch(key)
        if m is None:
            raise FileError(f"{path}: unexpected key {key!r}; expected W1, b1, W2, b2, ... (layers numbered from 1)")
        leaves[(m.group(1), int(m.group(2)))] = a
    if not leaves:
        raise FileError(f"{path}: no arrays; expected keys W1, b1, W2, b2, ...")
    n = max(l for _, l in leaves)
    for l in range(1, n + 1):
        if ("W", l) not in leaves:
            raise FileError(f"{path}: missing key 'W{l}' (the file has layers up to {n})")
    return leaves


def _weight(a, path, key, n_in, n_out, layout):
    want = (n_in, n_out) if layout == "row" else (n_out, n_in)
    if a.shape != want:
        raise FileError(f"{path}: key {key!r} has shape {a.shape}; expected {want}, "
                        f"{'(n_in, n_out)' if layout == 'row' else '(n_out, n_in) under --layout column'}")
    return a if layout == "row" else a.T


def _bias(a, path, key, n_out, layout):
    if a.shape == (n_out,) or (layout == "column" and a.shape == (n_out, 1)):
        return a.reshape(n_out)
    want = f"({n_out},)" + (f" or ({n_out}, 1)" if layout == "column" else "")
    raise FileError(f"{path}: key {key!r} has shape {a.shape}; expected {want}")


def infer_network_shape(path, layout: str = "row") -> tuple[tuple[int, ...], tuple[bool, ...]]:
    """``(sizes, bias)`` read off a parameter file's ``W`` shapes and which ``b`` keys it has."""
    _check_layout(layout)
    leaves = _leaves(read_arrays(path, "--params"), path)
    n = max(l for _, l in leaves)
    sizes = []
    for l in range(1, n + 1):
        W = leaves[("W", l)]
        if W.ndim != 2:
            raise FileError(f"{path}: key 'W{l}' has shape {W.shape}; expected a matrix "
                            f"{'(n_in, n_out)' if layout == 'row' else '(n_out, n_in)'}")
        n_in, n_out = W.shape if layout == "row" else W.shape[::-1]
        if l == 1:
            sizes.append(n_in)
        elif n_in != sizes[-1]:
            hint = ("W read as (n_in, n_out); --layout column reads (n_out, n_in)" if layout == "row"
                    else "W read as (n_out, n_in) under --layout column")
            raise FileError(f"{path}: key 'W{l}' has {n_in} inputs but W{l - 1} has {sizes[-1]} outputs ({hint})")
        sizes.append(n_out)
    return tuple(sizes), tuple(("b", l) in leaves for l in range(1, n + 1))


def _tree(path, net, layout: str, what: str) -> list:
    _check_layout(layout)
    leaves = _leaves(read_arrays(path, what), path)
    n = net.n_layers
    extra = sorted(l for _, l in leaves if l > n)
    if extra:
        raise FileError(f"{path}: key 'W{extra[0]}' or 'b{extra[0]}' is beyond the network's {n} layer(s) "
                        f"(sizes {','.join(map(str, net.sizes))})")
    tree = []
    for l in range(1, n + 1):
        n_in, n_out = net.sizes[l - 1], net.sizes[l]
        W = _weight(leaves[("W", l)], path, f"W{l}", n_in, n_out, layout)
        b = leaves.get(("b", l))
        if net.bias[l - 1] and b is None:
            raise FileError(f"{path}: missing key 'b{l}': the network has a bias in layer {l} "
                            "(or describe it with --no-bias / bias = false)")
        if not net.bias[l - 1] and b is not None:
            raise FileError(f"{path}: key 'b{l}' given, but the network has no bias in layer {l}")
        tree.append((W, None if b is None else _bias(b, path, f"b{l}", n_out, layout)))
    return tree


def read_params(path, net, *, layout: str = "row", dtype=np.float64) -> list:
    """``[(W (n_in, n_out), b (n_out,) or None), ...]`` for ``net`` from a parameter file, in ``dtype``."""
    dtype = np.dtype(dtype)
    tree = [(W.astype(dtype), None if b is None else b.astype(dtype)) for W, b in _tree(path, net, layout,
                                                                                       "--params")]
    from reference._spec import check_params, spec_of

    try:
        check_params(spec_of(net), tree)
    except (ValueError, TypeError) as exc:
        raise FileError(f"{path}: {exc}") from None
    return tree


def read_grads(path, net, *, layout: str = "row", dtype=np.float64) -> list:
    """A candidate's gradients ``[(dW, db or None), ...]`` (keys ``W1, b1, ...``), shaped like the params."""
    dtype = np.dtype(dtype)
    return [(W.astype(dtype), None if b is None else b.astype(dtype)) for W, b in _tree(path, net, layout,
                                                                                      "--grads")]


def read_data(path, net, *, layout: str = "row", dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """``(x (n_batch, n_in), y (n_batch, n_out) or labels (n_batch,))`` from a data file with keys x and y."""
    _check_layout(layout)
    arrays = read_arrays(path, "--data")
    for key in arrays:
        if key not in ("x", "y"):
            raise FileError(f"{path}: unexpected key {key!r}; a data file holds x and y")
    for key in ("x", "y"):
        if key not in arrays:
            raise FileError(f"{path}: missing key {key!r}; a data file holds x and y")
    x, y = arrays["x"], arrays["y"]
    n_in, n_out = net.sizes[0], net.sizes[-1]
    if x.ndim != 2 or x.shape[1 if layout == "row" else 0] != n_in:
        want = f"(n_batch, {n_in})" if layout == "row" else f"({n_in}, n_batch), --layout column"
        raise FileError(f"{path}: key 'x' has shape {x.shape}; expected {want}")
    if layout == "column":
        x = x.T
        if y.ndim == 2:
            y = y.T
    if y.ndim == 2 and y.shape != (x.shape[0], n_out):
        want = f"({x.shape[0]}, {n_out})" if layout == "row" else f"({n_out}, {x.shape[0]}), --layout column"
        raise FileError(f"{path}: key 'y' has shape {y.shape if layout == 'row' else y.T.shape}; expected {want}"
                        + (f" or labels ({x.shape[0]},)" if net.loss == "cross_entropy" else ""))
    from reference._spec import check_data, spec_of

    try:
        return check_data(spec_of(net), x, y, np.dtype(dtype))
    except (ValueError, TypeError) as exc:
        raise FileError(f"{path}: {exc}") from None


# ---------------------------------------------------------------------------
# Networks
# ---------------------------------------------------------------------------

def read_spec(path):
    """The ``manual_bp.Network`` of a TOML file's ``[network]`` table (the worked-example format)."""
    import manual_bp as bp

    p = Path(path)
    if not p.is_file():
        raise FileError(f"{path}: no such file (--spec)")
    try:
        with p.open("rb") as fh:
            doc = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise FileError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise FileError(f"{path}: cannot be read ({exc})") from None
    table = doc.get("network")
    if not isinstance(table, dict):
        raise FileError(f"{path}: missing [network] table (sizes, activations, loss, reduction, half, bias, l2)")
    unknown = sorted(set(table) - _NETWORK_KEYS)
    if unknown:
        raise FileError(f"{path}: [network] has unknown key {unknown[0]!r}; expected {', '.join(sorted(_NETWORK_KEYS))}")
    for key in ("sizes", "activations", "loss"):
        if key not in table:
            raise FileError(f"{path}: [network] needs {key!r}")
    bias = table.get("bias", True)
    try:
        return bp.Network(tuple(table["sizes"]), tuple(table["activations"]) if isinstance(table["activations"], list)
                          else table["activations"], table["loss"], reduction=table.get("reduction", "sum"),
                          half=table.get("half", False), bias=tuple(bias) if isinstance(bias, list) else bias,
                          l2=table.get("l2", 0.0))
    except (TypeError, ValueError) as exc:
        raise FileError(f"{path}: [network]: {exc}") from None
