"""PopularitySwitch: one model for sessions ending on a popular item, another otherwise
(the paper's LLMSeqSim&Sequential, §1.5 (2))."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from ._base import HybridRecommender

if TYPE_CHECKING:
    from ..base import Recommender

__all__ = ["PopularitySwitch"]


class PopularitySwitch(HybridRecommender):
    """Per session: if the last prompt item's popularity is at or above the ``quantile``
    of item popularity, use ``popular``'s list, otherwise ``unpopular``'s.

    Popularity = share of *training* sessions containing the item; the quantile is taken
    over the training items. The paper's best Beauty hybrid used a sequential model for
    popular last items and LLMSeqSim for the rest, at the 25% quantile.

    Parameters
    ----------
    popular, unpopular : Recommender
    quantile : float or "auto", default="auto"
        ``"auto"`` chooses from ``quantile_grid`` by NDCG@20 on validation folds of the
        training sessions (the parts are fitted once more per fold). The paper's Beauty
        value, 0.25, was 0.1's default.
    quantile_grid : tuple, default=(0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)
        0 sends every session to ``popular``; 1 every session but those ending on the most
        popular items to ``unpopular``, so the choice can fall back to a part.
    prefit, exclude_seen, handle_unknown
    """

    _part_names = ("popular", "unpopular")
    _changed_defaults = ("quantile", "quantile_grid")  # in issue 23 (see the benchmark runner)

    def __init__(self, popular: Recommender | None = None, unpopular: Recommender | None = None, quantile: float | Literal["auto"] = "auto", quantile_grid: Sequence[float] = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0), prefit: bool = False,
                 exclude_seen: bool = True, handle_unknown: Literal["ignore", "error"] = "ignore") -> None:  # fmt: skip
        self.popular, self.unpopular = popular, unpopular
        self.quantile, self.quantile_grid = quantile, quantile_grid
        self.prefit, self.exclude_seen, self.handle_unknown = prefit, exclude_seen, handle_unknown

    @classmethod
    def _testing_instances(cls):
        from ..recommenders import SKNN, MostPopular

        return [cls(popular=SKNN(k=20, sample_size=100), unpopular=MostPopular(), quantile=0.1)]

    def _threshold(self, q):
        trained = self.popularity_[self.item_popularity_ > 0]
        return float(np.quantile(trained, q)) if len(trained) else 0.0

    def _fit_hybrid(self, sequences, item_metadata):
        q = self.quantile
        if q == "auto":
            q = self._select_on_folds(
                "quantile", list(self.quantile_grid), sequences, item_metadata
            )
        if not 0 <= float(q) <= 1:
            raise ValueError(f"quantile must be in [0, 1] or 'auto', got {q!r}")
        self.quantile_ = float(q)
        self.threshold_ = self._threshold(self.quantile_)

    def _score(self, sequences):
        last = np.array([s[-1] - 1 for s in sequences])
        use_popular = self.popularity_[last] >= self.threshold_  # (b,)
        out = np.empty((len(sequences), len(self.item_index_)))
        for name, rows in (
            ("popular", np.flatnonzero(use_popular)),
            ("unpopular", np.flatnonzero(~use_popular)),
        ):
            if len(rows):
                out[rows] = self._part_scores(name, [sequences[r] for r in rows])
        return out

    def _hybrid_state(self):
        return {"quantile_": self.quantile_, "threshold_": self.threshold_}

    def _set_hybrid_state(self, extra):
        self.quantile_, self.threshold_ = extra["quantile_"], extra["threshold_"]
