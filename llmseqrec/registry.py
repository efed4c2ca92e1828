"""Name -> class registry used by :func:`llmseqrec.load`, the benchmark runner and the
shared test suite. Classes are resolved by registered name, never by an import string read
from a file."""

from __future__ import annotations

__all__ = ["register", "get_class", "all_recommenders", "all_components"]

_COMPONENTS: dict[str, type] = {}
_RECOMMENDERS: dict[str, type] = {}


def register(name: str | None = None, recommender: bool = True):
    """Class decorator: make a class loadable (and, for recommenders, benchmarkable) by name."""

    def deco(cls):
        key = name or cls.__name__
        if key in _COMPONENTS and _COMPONENTS[key] is not cls:
            raise ValueError(f"name {key!r} is already registered to {_COMPONENTS[key]!r}")
        _COMPONENTS[key] = cls
        if recommender:
            _RECOMMENDERS[key] = cls
        cls._registered_name = key
        return cls

    return deco


def get_class(name: str) -> type:
    """The registered class called ``name``; ``KeyError`` listing the known names otherwise."""
    _import_builtin()
    try:
        return _COMPONENTS[name]
    except KeyError:
        raise KeyError(
            f"unknown model or component {name!r}; known: {sorted(_COMPONENTS)}"
        ) from None


def all_recommenders() -> dict[str, type]:
    """Every registered recommender class, by name."""
    _import_builtin()
    return dict(_RECOMMENDERS)


def all_components() -> dict[str, type]:
    """Every registered class (recommenders, encoders, reducers), by name."""
    _import_builtin()
    return dict(_COMPONENTS)


def _import_builtin() -> None:
    # Importing the subpackages registers the built-in classes.
    from . import hybrids, recommenders, text  # noqa: F401
