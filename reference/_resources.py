"""Files that travel with the installed package: the worked examples and the Iris data.

They live in ``reference/data/`` so a non-editable install (``pip install .``)
has them too; code finds them here, never relative to a git checkout.
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["DATA_DIR", "EXAMPLES_DIR", "IRIS_CSV", "example_ids", "example_path"]

DATA_DIR = Path(__file__).resolve().parent / "data"
#: The shipped worked-example files (``*.toml``, format in its README.md).
EXAMPLES_DIR = DATA_DIR / "examples"
#: Fisher's Iris data as scikit-learn ships it (see data/README.md).
IRIS_CSV = DATA_DIR / "iris.csv"


def example_ids() -> list[str]:
    """The shipped examples' ids: their file names without ``.toml``, sorted."""
    return sorted(p.stem for p in EXAMPLES_DIR.glob("*.toml"))


def example_path(name) -> Path:
    """A worked-example file from a path, or a shipped example's id (``doc002_2-2-1_linear``).

    Raises ValueError naming the shipped ids when ``name`` is neither.
    """
    p = Path(name)
    if p.is_file():
        return p
    shipped = EXAMPLES_DIR / (p.name if p.suffix == ".toml" else p.name + ".toml")
    if shipped.is_file():
        return shipped
    raise ValueError(f"no worked-example file {str(name)!r}: give a path to a .toml file or one of the shipped "
                     f"ids {', '.join(example_ids())}")
