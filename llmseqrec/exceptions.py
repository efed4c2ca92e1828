"""Exceptions raised by llmseqrec."""

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

__all__ = [
    "NotFittedError",
    "UnknownItemError",
    "OptionalDependencyError",
    "DownloadError",
    "SavedModelError",
    "NonFiniteScoresError",
]


class NotFittedError(_SklearnNotFittedError):
    """Raised when an unfitted recommender is asked to predict (subclasses sklearn's)."""


class UnknownItemError(KeyError):
    """Raised when a prompt holds item ids the model never saw and ``handle_unknown='error'``."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class OptionalDependencyError(ImportError):
    """Raised when a feature needs a package that is not installed."""


class DownloadError(OSError):
    """Raised when a data file cannot be downloaded or fails its checksum."""


class SavedModelError(ValueError):
    """Raised when a saved model directory is corrupt, incomplete or not what it claims to be
    (names the file and the class it was saved as)."""


class NonFiniteScoresError(FloatingPointError):
    """Raised when a model scores items with NaN: its weights are damaged (a corrupt saved
    file) or its training diverged. Never turned into a ranking."""
