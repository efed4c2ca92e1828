"""Parameters that changed name: the old name keeps working for one release, with a warning."""

from __future__ import annotations

import inspect
import warnings

__all__ = ["RenamedParametersMixin", "current_names", "REMOVED_IN"]

#: The release in which deprecated parameter names stop working.
REMOVED_IN = "0.3"


class RenamedParametersMixin:
    """Accept deprecated parameter names in ``__init__`` and ``set_params``.

    A subclass lists ``_renamed_parameters = {"old": "new"}``, ends its ``__init__``
    signature with ``**deprecated`` and calls ``self._take_renamed(deprecated)`` after
    storing its parameters. scikit-learn ignores ``**kwargs`` when it reads the
    parameters, so ``get_params``, ``clone`` and saving only ever see the new names; a
    value passed under an old name is stored under the new one, with a ``FutureWarning``
    that names the new one.
    """

    _renamed_parameters: dict[str, str] = {}

    def _take_renamed(self, deprecated: dict, stacklevel: int = 4) -> None:
        if not deprecated:  # the common case: no signature to read on every construction
            return
        unknown = [k for k in deprecated if k not in self._renamed_parameters]
        if unknown:
            raise TypeError(
                f"{type(self).__name__}.__init__() got an unexpected keyword argument "
                f"{unknown[0]!r}"
            )
        defaults = {
            name: p.default for name, p in inspect.signature(type(self).__init__).parameters.items()
        }
        for old in deprecated:
            new = self._renamed_parameters[old]
            if not _is_default(getattr(self, new), defaults.get(new)):
                raise TypeError(
                    f"{type(self).__name__}: {old!r} is the old name of {new!r}; give only {new!r}"
                )
        for new, value in self._translate_renamed(deprecated, stacklevel=stacklevel).items():
            setattr(self, new, value)

    @classmethod
    def _translate_renamed(cls, params: dict, stacklevel: int = 3, warn: bool = True) -> dict:
        """``params`` with deprecated names (also as ``old__sub``) replaced by the new ones.

        ``warn=False`` is for reading a model saved by an older version, which is not
        the user's code to change.
        """
        out = {}
        for key, value in params.items():
            name, sep, rest = key.partition("__")
            new = cls._renamed_parameters.get(name)
            if new is None:
                out[key] = value
                continue
            if new + sep + rest in params:
                raise TypeError(
                    f"{cls.__name__}: {name!r} is the old name of {new!r}; give only {new!r}"
                )
            if warn:
                warnings.warn(
                    f"{cls.__name__}: parameter {name!r} is now {new!r}; the old name stops "
                    f"working in llmseqrec {REMOVED_IN}",
                    FutureWarning,
                    stacklevel=stacklevel,
                )
            out[new + sep + rest] = value
        return out

    def set_params(self, **params):
        return super().set_params(**self._translate_renamed(params))


def current_names(cls, params: dict, warn: bool = False, stacklevel: int = 3) -> dict:
    """``params`` of ``cls`` under the current parameter names (a copy).

    ``warn=False`` (the default) is for files an older version wrote: saved models, run
    records, a search's ``best_params.json``. Classes without renamed parameters, or not
    built on :class:`RenamedParametersMixin`, get their parameters back unchanged.
    """
    translate = getattr(cls, "_translate_renamed", None)
    if translate is None:
        return dict(params)
    return translate(params, stacklevel=stacklevel + 1, warn=warn)


def _is_default(value, default) -> bool:
    """Whether ``value`` is still the signature default (``is`` first: arrays, estimators)."""
    if value is default:
        return True
    try:
        return bool(value == default)
    except (TypeError, ValueError):  # e.g. an array compared with a scalar
        return False
