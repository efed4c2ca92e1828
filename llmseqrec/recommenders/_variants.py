"""Registered variants of a recommender that differ only in parameter defaults.

scikit-learn reads parameters from the ``__init__`` signature, so a variant gets a real
``__init__`` whose signature is the base's with new defaults; ``clone``, ``get_params`` and
saving work as for any estimator.
"""

from __future__ import annotations

import inspect

from ..registry import register

__all__ = ["variant"]


def variant(base: type, name: str, doc: str, **defaults) -> type:
    """A registered subclass of ``base`` named ``name`` whose parameter defaults are ``defaults``."""
    sig = inspect.signature(base.__init__)
    unknown = set(defaults) - set(sig.parameters)
    if unknown:
        raise TypeError(f"{base.__name__} has no parameters {sorted(unknown)}")
    new_sig = sig.replace(
        parameters=[
            p.replace(default=defaults.get(p.name, p.default)) for p in sig.parameters.values()
        ]
    )

    def __init__(self, *args, **kwargs):
        bound = new_sig.bind(self, *args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        arguments.pop("self")
        base.__init__(self, **arguments)

    __init__.__signature__ = new_sig
    cls = type(name, (base,), {"__init__": __init__, "__doc__": doc, "__module__": base.__module__})
    return register(name)(cls)
