"""EmbeddingEnsemble: the first items of one model, then the other's (paper §1.5 (1))."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from ._base import HybridRecommender

if TYPE_CHECKING:
    from ..base import Recommender

__all__ = ["EmbeddingEnsemble"]


class EmbeddingEnsemble(HybridRecommender):
    """Concatenate two rankings: ``first``'s top items, then ``second``'s, de-duplicated.

    Parameters
    ----------
    first, second : Recommender
        The parts (fitted inside ``fit`` unless ``prefit=True``).
    rule : {"rank", "confidence"}, default="rank"
        ``"rank"``: the first ``rank`` items of ``first``. ``"confidence"``: ``first``'s
        items while its score stays at or above ``threshold``.
    rank : int or "auto", default="auto"
        ``"auto"`` chooses from ``rank_grid`` by NDCG@20 on validation folds of the
        training sessions (the parts are fitted once more per fold), so that a data set
        where one part is weak gets a rank that leans on the other; the grid's 0 and 20
        are ``second`` and ``first`` alone. The paper tuned it per data set; 0.1's default
        was 5.
    threshold : float, default=0.9
    rank_grid : tuple, default=(0, 1, 2, 3, 4, 5, 10, 20)
        The paper's grid.
    prefit : bool, default=False
    exclude_seen, handle_unknown : see :class:`~llmseqrec.Recommender`
    """

    _part_names = ("first", "second")
    _changed_defaults = ("rank",)  # in issue 23 (see the benchmark runner)

    def __init__(self, first: Recommender | None = None, second: Recommender | None = None, rule: Literal["rank", "confidence"] = "rank", rank: int | Literal["auto"] = "auto", threshold: float = 0.9, rank_grid: Sequence[int] = (0, 1, 2, 3, 4, 5, 10, 20),
                 prefit: bool = False, exclude_seen: bool = True, handle_unknown: Literal["ignore", "error"] = "ignore") -> None:  # fmt: skip
        self.first, self.second = first, second
        self.rule, self.rank, self.threshold, self.rank_grid = rule, rank, threshold, rank_grid
        self.prefit, self.exclude_seen, self.handle_unknown = prefit, exclude_seen, handle_unknown

    @classmethod
    def _testing_instances(cls):
        from ..recommenders import SKNN, MostPopular

        return [cls(first=SKNN(k=20, sample_size=100), second=MostPopular(), rank=3)]

    def _fit_hybrid(self, sequences, item_metadata):
        if self.rule not in ("rank", "confidence"):
            raise ValueError(f"rule must be 'rank' or 'confidence', got {self.rule!r}")
        self.rank_ = self.rank
        if self.rank == "auto" and self.rule == "rank":
            self.rank_ = self._select_on_folds(
                "rank", list(self.rank_grid), sequences, item_metadata
            )

    def _score(self, sequences):
        s1, s2 = self._part_scores("first", sequences), self._part_scores("second", sequences)
        first, second = self._ranking(s1), self._ranking(s2)
        rankings = []
        for r in range(len(sequences)):
            if self.rule == "rank":
                cut = int(self.rank_)
            else:  # leading items whose score stays >= threshold
                below = np.flatnonzero(s1[r, first[r]] < self.threshold)
                cut = int(below[0]) if len(below) else len(first[r])
            head = first[r][:cut]
            tail = second[r][~np.isin(second[r], head)]
            rest = first[r][cut:][~np.isin(first[r][cut:], tail)]
            rankings.append(np.concatenate([head, tail, rest]))
        return self._scores_from_rankings(rankings)

    def _hybrid_state(self):
        return {"rank_": self.rank_ if not isinstance(self.rank_, np.integer) else int(self.rank_)}

    def _set_hybrid_state(self, extra):
        self.rank_ = extra["rank_"]
