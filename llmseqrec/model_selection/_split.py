"""A scikit-learn cross-validation splitter over sessions in time order."""

from __future__ import annotations

import numpy as np

__all__ = ["TemporalSessionSplit"]


class TemporalSessionSplit:
    """Forward-chaining folds over sessions sorted by time (the paper's validation folds).

    The sessions are cut into ``n_splits + 1`` equal bins; fold ``f`` trains on bins
    ``1..f`` and validates on bin ``f + 1``, so a model is never validated on sessions
    older than its training data. It follows scikit-learn's splitter protocol
    (``split``/``get_n_splits``), so ``GridSearchCV(model, grid, cv=TemporalSessionSplit(3),
    scoring=next_item_scorer())`` works on a list of sessions.

    Parameters
    ----------
    n_splits : int, default=3

    Examples
    --------
    >>> [(len(tr), len(te)) for tr, te in TemporalSessionSplit(3).split(list(range(8)))]
    [(2, 2), (4, 2), (6, 2)]
    """

    def __init__(self, n_splits: int = 3):
        self.n_splits = n_splits

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """The number of folds."""
        return self.n_splits

    def split(self, X, y=None, groups=None):
        """Yield ``(train indices, validation indices)`` for each fold.

        Parameters
        ----------
        X : sequence of sessions, length n
            In time order (oldest first), e.g. ``sessions_in_time_order(df)``.
        """
        if isinstance(self.n_splits, bool) or not isinstance(self.n_splits, (int, np.integer)):
            raise ValueError(f"n_splits must be a positive integer, got {self.n_splits!r}")
        if self.n_splits < 1:
            raise ValueError(f"n_splits must be a positive integer, got {self.n_splits!r}")
        n = len(X)
        if n < self.n_splits + 1:
            raise ValueError(
                f"{n} sessions are too few for {self.n_splits} temporal folds "
                f"(at least {self.n_splits + 1} are needed)"
            )
        bins = np.array_split(np.arange(n), self.n_splits + 1)
        for f in range(1, self.n_splits + 1):
            yield np.concatenate(bins[:f]), bins[f]
