"""MostPopular: the same list of the most interacted-with training items for everyone."""

from __future__ import annotations

from typing import Literal

import numpy as np

from ..base import Recommender

__all__ = ["MostPopular"]


class MostPopular(Recommender):
    """Recommend the items with the most training interactions.

    Ties are broken by first appearance in the training data.

    Parameters
    ----------
    exclude_seen : bool, default=True
        Skip items already in the prompt. The paper's MostPopular did not
        (``exclude_seen=False`` reproduces it).
    handle_unknown : {"ignore", "error"}, default="ignore"

    Attributes
    ----------
    item_popularity_ : ndarray of shape (n_items,)
        Training interaction counts in catalogue order.

    Examples
    --------
    >>> model = MostPopular().fit([["a", "b"], ["b", "c"], ["b"]])
    >>> model.predict([["b"]], k=2).tolist()
    [['a', 'c']]
    """

    # It is the reference the suite measures everyone else against.
    _expected_failed_checks = {
        "check_beats_most_popular": "MostPopular is the reference baseline itself"
    }

    def __init__(
        self, exclude_seen: bool = True, handle_unknown: Literal["ignore", "error"] = "ignore"
    ) -> None:
        self.exclude_seen = exclude_seen
        self.handle_unknown = handle_unknown

    def _fit(self, sequences, item_metadata) -> None:
        pass  # item_popularity_ is computed by the base class

    def _score(self, sequences) -> np.ndarray:
        return np.broadcast_to(
            self.item_popularity_, (len(sequences), len(self.item_popularity_))
        ).copy()
