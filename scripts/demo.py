#!/usr/bin/env python3
"""Manual vs JAX vs numerical gradients for document 000's 4-3-3 classifier.

    python scripts/demo.py [--batch 5] [--seed 0] [--dtype float64|float32]

Document 000's classifier: 4 inputs, a sigmoid hidden layer of 3, a softmax
output of 3, cross-entropy summed over the batch (``x @ W + b`` layout).
Prints every gradient entry as computed by manual_bp's delta rule, by
``jax.grad`` of the independent JAX model, by central differences and by the
complex step, with each oracle's worst error against the tolerance table.
Exit status 0 when all agree, 1 otherwise.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import ArgParser  # noqa: E402


def main(argv=None) -> int:
    parser = ArgParser(prog="demo.py", description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=5, help="samples in the batch (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="seed for params and data (default 0)")
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    args = parser.parse_args(argv)
    if args.batch < 1:
        parser.error("--batch must be at least 1")

    import numpy as np

    import manual_bp as bp
    import reference as ref

    dtype = np.dtype(args.dtype)
    net = bp.Network((4, 3, 3), ("sigmoid", "softmax"), "cross_entropy", reduction="sum")
    rng = np.random.default_rng(args.seed)
    params = bp.init_params(net, seed=rng, dtype=dtype)
    x = rng.normal(size=(args.batch, 4)).astype(dtype)
    y = rng.integers(0, 3, args.batch)

    sources = {
        "manual_bp": bp.gradients(net, params, x, y),
        "jax.grad": ref.gradients(net, params, x, y),
        "central": ref.central_difference_gradients(net, params, x, y),
        "complex": ref.complex_step_gradients(net, params, x, y),
    }
    print(f"network {net.describe()}, batch {args.batch}, {dtype.name}, seed {args.seed}")
    print(f"loss: manual_bp {bp.loss(net, params, x, y):.12g}   reference {ref.loss(net, params, x, y):.12g}\n")
    width = 22
    print(f"{'parameter':<10}" + "".join(f"{name:>{width}}" for name in sources))
    for l in range(net.n_layers):
        for kind, k in (("W", 0), ("b", 1)):
            arrays = [g[l][k] for g in sources.values()]
            if arrays[0] is None:
                continue
            for idx in np.ndindex(arrays[0].shape):
                label = f"{kind}{l + 1}[{','.join(map(str, idx))}]"
                print(f"{label:<10}" + "".join(f"{a[idx]:>{width}.15g}" for a in arrays))

    print("\nworst error of manual_bp against each oracle (per-leaf scaled; see reference/tolerances.py):")
    kinds = {"jax.grad": "jax", "central": "central", "complex": "complex_step"}
    ok = True
    for name, kind in kinds.items():
        err = ref.max_error(sources["manual_bp"], sources[name])
        tol = ref.tolerance(dtype, kind)
        agree = ref.allclose_tree(sources["manual_bp"], sources[name], dtype=dtype, kind=kind)
        ok &= agree
        print(f"  {name:<9} max |Δ| = {err:.3e}   tolerance rtol {tol.rtol:.0e}, atol {tol.atol:.0e}   "
              f"{'agree' if agree else 'DISAGREE'}")
    print("\nall agree" if ok else "\nDISAGREEMENT")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
