"""Which types a skops model may hold without its reader naming them: one reviewed definition,
shared by the service (refuses such a model at publish) and the client (refuses to load it)."""

from __future__ import annotations

import importlib

# Beyond skops' own defaults, a model may hold *classes* (never functions: exec, eval, getattr,
# np.full_like ... would run the publisher's code in the reader's kernel) from these libraries.
CLASS_LIBRARIES = ("sklearn", "numpy", "scipy", "xgboost", "lightgbm")


def library_class(name: str) -> bool:
    """Whether ``name`` (``module.attr``, as skops reports it) is a class of a trusted library.
    Only those libraries' modules are imported to find out (importing another module runs it)."""
    module, _, attr = name.rpartition(".")
    if module.split(".")[0] not in CLASS_LIBRARIES or not attr:
        return False
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return False
    return isinstance(obj, type)


def untrusted_types(data: bytes, trusted: list[str] | None = None) -> list[str]:
    """The types in a skops file beyond skops' defaults, the library classes and ``trusted``;
    read from its schema without loading it. ValueError if the bytes are no skops file."""
    import skops.io as sio

    try:
        types = sio.get_untrusted_types(data=data)
    except Exception as exc:  # a zip that is no skops file, a broken schema
        raise ValueError(f"not a skops file ({type(exc).__name__})") from None
    return [t for t in types if t not in (trusted or []) and not library_class(t)]
