"""What registering an activation or a loss has in common: a name, hashable, not taken yet."""
from __future__ import annotations


def check_name(obj, base) -> str:
    """``obj.name``, which must be a non-empty string other than the base class's placeholder."""
    name = obj.name
    if not isinstance(name, str) or not name or name == base.name:
        raise ValueError(f"{type(obj).__name__} needs a class attribute name = '...', got {name!r}")
    return name


def store(registry: dict, aliases_of: dict, obj, name: str, aliases, replace: bool, kind: str) -> None:
    """Put ``obj`` into ``registry`` under ``name`` (lower-cased) and its ``aliases`` into ``aliases_of``.

    ``kind`` is "activation" or "loss", for the messages.  Nothing is stored
    unless every check passes, so a refused object leaves the registry as it was.
    """
    try:
        hash(obj)
    except TypeError:
        raise TypeError(f"{kind} {name!r} must be hashable (the JAX reference compiles per {kind}): declare it "
                        "with @dataclass(frozen=True)") from None
    keys = [name.lower(), *(a.lower() for a in aliases)]
    article = "an" if kind[0] in "aeiou" else "a"
    for key in keys:
        if (key in registry or key in aliases_of) and not replace:
            raise ValueError(f"{article} {kind} named {key!r} is already registered; pass replace=True to replace it")
    registry[keys[0]] = obj
    for alias in keys[1:]:
        aliases_of[alias] = keys[0]
