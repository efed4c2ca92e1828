"""Name -> class registry used by :func:`llmseqrec.load`, the benchmark runner and the
shared test suite.

Classes are resolved by registered name, never by an import string read from a file. This
module is a leaf: it imports nothing from the package. The built-in classes are registered
in one place, :mod:`llmseqrec._builtins`, which the package ``__init__`` imports, so they
are known as soon as any part of ``llmseqrec`` is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

__all__ = ["register", "registered_name", "get_class", "all_recommenders", "all_components"]

_COMPONENTS: dict[str, type] = {}
_RECOMMENDERS: dict[str, type] = {}

_C = TypeVar("_C", bound=type)


def register(name: str | None = None, recommender: bool = True) -> Callable[[_C], _C]:
    """Class decorator: make a class loadable (and, for recommenders, benchmarkable) by name.

    Parameters
    ----------
    name : str, optional
        The name saved in ``config.json`` and used in benchmark configurations; default
        the class name.
    recommender : bool, default=True
        ``False`` for components (encoders, reducers) that are saved inside models but are
        not recommenders themselves.

    Examples
    --------
    >>> from llmseqrec import MostPopular
    >>> @register("MyPopular")
    ... class MyPopular(MostPopular):
    ...     pass
    >>> registered_name(MyPopular), get_class("MyPopular") is MyPopular
    ('MyPopular', True)
    """

    def deco(cls: _C) -> _C:
        key = name or cls.__name__
        if key in _COMPONENTS and _COMPONENTS[key] is not cls:
            raise ValueError(f"name {key!r} is already registered to {_COMPONENTS[key]!r}")
        _COMPONENTS[key] = cls
        if recommender:
            _RECOMMENDERS[key] = cls
        cls._registered_name = key
        return cls

    return deco


def registered_name(cls: type) -> str | None:
    """The name ``cls`` itself was registered under, or ``None``.

    A subclass does not inherit its parent's name: an unregistered subclass of a
    registered model cannot be saved as (and silently loaded back as) its parent.
    """
    return cls.__dict__.get("_registered_name")


def get_class(name: str) -> type:
    """The registered class called ``name``; ``KeyError`` listing the known names otherwise."""
    try:
        return _COMPONENTS[name]
    except KeyError:
        raise KeyError(
            f"unknown model or component {name!r}; known: {sorted(_COMPONENTS)}"
        ) from None


def all_recommenders() -> dict[str, type]:
    """Every registered recommender class, by name."""
    return dict(_RECOMMENDERS)


def all_components() -> dict[str, type]:
    """Every registered class (recommenders, encoders, reducers), by name."""
    return dict(_COMPONENTS)
