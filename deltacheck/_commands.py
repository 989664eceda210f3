"""The ``deltacheck`` command line: every subcommand's arguments and help, and nothing heavy.

Parsing imports only argparse, so ``deltacheck --help`` and a usage error
answer in a tenth of a second; the work (``reference.cli.<subcommand>.run``)
is imported after parsing, which is where NumPy and JAX load.
"""
from __future__ import annotations

import argparse

from ._args import ArgParser, int_at_least, nonnegative_float, widths

__all__ = ["build_parser"]

USAGE = """\
deltacheck compare                       the documents' networks, one row each
       deltacheck compare --sizes 4,3,3 --activations sigmoid,softmax --loss cross_entropy
       deltacheck compare --candidate mygrads:gradients [--layout column] [--per-sample] [--sizes ...]
       deltacheck compare --params p.npz --data d.npz [--grads g.npz] [--spec net.toml | --sizes ...]
       deltacheck sweep 200                      200 random networks (needs hypothesis)
       deltacheck example doc002_2-2-1_linear    a worked example's printed claims (shipped id or FILE)
       deltacheck errata                         the documents' errata page, as Markdown
       deltacheck COMMAND --help                 every option of one command"""

DESCRIPTION = """\
deltacheck checks backpropagation gradients -- manual_bp's, your function's,
or another program's saved output -- against jax.grad, central differences
and the complex step, and says where a derivation goes wrong and why.

exit status: 0 everything agrees, 1 something disagrees (or a worked example
has a wrong claim), 2 bad usage or a bad file (one line on stderr)."""

COMPARE_USAGE = """\
deltacheck compare                       the documents' networks, one row each
       deltacheck compare --sizes 4,3,3 --activations sigmoid,softmax --loss cross_entropy [--entries]
       deltacheck compare --candidate mygrads:gradients [--layout column] [--per-sample] [--sizes ...]
       deltacheck compare --params p.npz --data d.npz [--grads g.npz] [--spec net.toml | --sizes ...]
       ... --taylor | --json | --plot FILE.png"""

COMPARE_DESCRIPTION = """\
Each report gives, per parameter (W1, b1, ...), the error against every
oracle, the layer where a derivation first goes wrong and the likely
convention mistake.  Networks whose per-parameter numerical check would take
more than ~10-20 ms (or above 5,000 parameters) are checked numerically along
random directions.  Files: .npz or .json with keys W1, b1, W2, ...
(numbered from 1) and x, y; read without unpickling.  Exit status: 0 when
everything agrees, 1 when anything disagrees, 2 on bad usage or a bad file
(one line on stderr)."""


def add_compare_arguments(p: argparse.ArgumentParser, *, legacy_modes: bool = False) -> None:
    net = p.add_argument_group("one network (instead of the documents' networks)")
    net.add_argument("--sizes", type=widths(2), metavar="N,N,...", help="input width, then each layer's width")
    net.add_argument("--activations", metavar="NAME,...",
                     help="one per layer, or one for all (identity, sigmoid, tanh, relu, leaky_relu or "
                     "leaky_relu(0.2), softmax, or a --plugin's); default sigmoid hidden layers and an output "
                     "that suits the loss")
    net.add_argument("--loss", help="squared_error (default), cross_entropy or binary_cross_entropy")
    net.add_argument("--reduction", choices=("sum", "mean"), help="sum (default) or mean over the batch")
    net.add_argument("--half", action="store_true", help="½ factor of squared error")
    net.add_argument("--no-bias", action="store_true", help="no biases in any layer")
    net.add_argument("--l2", type=nonnegative_float, metavar="λ", help="L2 weight decay: L gains λ·Σ‖W‖²")
    net.add_argument("--spec", metavar="FILE.toml", help="the network from a TOML [network] table (worked-example "
                     "format: sizes, activations, loss, reduction, half, bias, l2) instead of the flags above")
    net.add_argument("--init", choices=("xavier", "doc001"), help="random parameter initialisation (default xavier)")
    net.add_argument("--entries", action="store_true", help="also print every gradient entry from every source")
    cand = p.add_argument_group("the candidate (default manual_bp)")
    cand.add_argument("--candidate", metavar="MODULE:FUNCTION",
                      help="your gradient function, f(net, params, x, y) -> [(dW, db), ...]; MODULE is found "
                      "from the working directory, or give path/to/file.py:function")
    cand.add_argument("--layout", choices=("row", "column"), default="row",
                      help="column: W (n_out, n_in), b (n_out, 1), x (n_in, n_batch) for the candidate and "
                      "the files (default row: W (n_in, n_out))")
    cand.add_argument("--per-sample", action="store_true",
                      help="the candidate backpropagates one sample at a time; deltacheck combines by the "
                      "network's reduction")
    cand.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                      help="import MODULE first (it registers activations or losses); repeatable")
    files = p.add_argument_group("another program's outputs (.npz or .json)")
    files.add_argument("--params", metavar="FILE", help="the parameters, keys W1, b1, W2, b2, ... (without "
                       "--sizes/--spec the widths are read off the W shapes)")
    files.add_argument("--data", metavar="FILE", help="the batch: keys x and y")
    files.add_argument("--grads", metavar="FILE", help="the candidate's gradients, same keys as --params "
                       "(default: manual_bp's, or --candidate's)")
    p.add_argument("--batch", type=int_at_least(1), help="samples in the random batch (default 5)")
    p.add_argument("--seed", type=int_at_least(0), default=0, help="seed for parameters, data and directions (default 0)")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    p.add_argument("--numerical", choices=("auto", "per_parameter", "directional", "none"), default="auto",
                   help="numerical oracles: per parameter, along random directions, or auto (directions where "
                   "per parameter would take more than ~10-20 ms, or above 5,000 parameters)")
    p.add_argument("--directions", type=int_at_least(1), default=2, help="random directions for the directional check")
    p.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    p.add_argument("--taylor", action="store_true",
                   help="run the Taylor remainder test on any size of network, one order per parameter "
                   "(default: on nets up to 5,000 parameters, along one direction, and per parameter where that "
                   "or an oracle objects): orders 2 right, 1 wrong, no tolerance")
    p.add_argument("--plot", metavar="FILE.png", help="save the finite-difference error against step size, or with "
                   "--taylor log r0 and log r1 against log h with slope-1 and slope-2 guides (needs matplotlib)")
    if legacy_modes:  # scripts/compare.py's older spellings of `deltacheck sweep N` and `deltacheck example FILE`
        mode = p.add_mutually_exclusive_group()
        mode.add_argument("--sweep", type=int_at_least(1), metavar="N", help=argparse.SUPPRESS)
        mode.add_argument("--example", metavar="FILE", help=argparse.SUPPRESS)


def _compare(sub) -> None:
    p = sub.add_parser("compare", usage=COMPARE_USAGE, description=COMPARE_DESCRIPTION,
                       help="check gradients (default: the documents' networks)",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_compare_arguments(p, legacy_modes=True)
    p.set_defaults(handler="compare")


def _sweep(sub) -> None:
    p = sub.add_parser("sweep", usage="deltacheck sweep N [--seed 0] [--dtype float32] [--json]",
                       help="check N random architectures (needs hypothesis)",
                       description="manual_bp against jax.grad, central differences and the complex step on N "
                       "random networks; a failure is shrunk to the smallest failing network.  Exit status 0 "
                       "when all agree, 1 otherwise, 2 on bad usage.")
    p.add_argument("n", type=int_at_least(1), metavar="N", help="how many random problems")
    p.add_argument("--seed", type=int_at_least(0), default=0, help="seed of the draws (default 0)")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    p.add_argument("--numerical", choices=("auto", "per_parameter", "directional", "none"), default="auto")
    p.add_argument("--directions", type=int_at_least(1), default=2)
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.set_defaults(handler="sweep")


def _example(sub) -> None:
    p = sub.add_parser("example", help="check a worked example's printed claims (FILE or shipped id)",
                       usage="deltacheck example doc002_2-2-1_linear        a shipped worked example, by id\n"
                             "       deltacheck example path/to/example.toml [--json] [--search] [--full]\n"
                             "       deltacheck example --list",
                       description="Every printed number recomputed; a verdict per claim (match, rounding, "
                       "wrong) and the likely cause of a wrong one.  Exit status 0 when no claim is wrong, 1 when "
                       "any is, 2 on bad usage or an unreadable file.",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", nargs="?", metavar="FILE|ID", help="a worked-example .toml file or a shipped id")
    p.add_argument("--list", action="store_true", help="list the shipped examples' ids")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--search", action="store_true", help="also rank candidate setups the numbers follow from")
    p.add_argument("--full", action="store_true",
                   help="the complete true state of every setup: forward, deltas, per-sample terms")
    p.set_defaults(handler="example")


def _errata(sub) -> None:
    p = sub.add_parser("errata", help="the documents' errata page, as Markdown",
                       usage="deltacheck errata                            the page on stdout\n"
                             "       deltacheck errata --output docs/errata.md\n"
                             "       deltacheck errata --check docs/errata.md   exit 1 when FILE is out of date",
                       description="The shipped worked examples' wrong claims, then every gradient formula of "
                       "the documents run through the compare tool.  Exit status 0, or 1 under --check when the "
                       "file is out of date; 2 on bad usage.",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--output", metavar="FILE", help="write the page to FILE")
    group.add_argument("--check", metavar="FILE", help="write nothing; exit 1 when FILE differs from the page")
    p.set_defaults(handler="errata")


def build_parser(version: str) -> ArgParser:
    p = ArgParser(prog="deltacheck", usage=USAGE, description=DESCRIPTION,
                  formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"deltacheck {version}")
    sub = p.add_subparsers(title="commands", metavar="COMMAND", dest="command", prog="deltacheck")
    for add in (_compare, _sweep, _example, _errata):
        add(sub)
    return p
