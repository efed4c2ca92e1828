"""PopularityDiversityFilter: re-rank a longer list by popularity and/or diversity (the
paper's LLMSeqSim&Popularity, §1.5 (3)), with a sound removal order and back-fill."""

from __future__ import annotations

import numpy as np

from ..registry import register
from ..text import l2_normalize
from ._base import HybridRecommender

__all__ = ["PopularityDiversityFilter"]


@register("PopularityDiversityFilter")
class PopularityDiversityFilter(HybridRecommender):
    """Take ``recommender``'s top ``candidates`` items and keep, in rank order, those that pass:

    - popularity: the item's training popularity (share of sessions) is at or above the
      ``popularity_quantile`` of item popularity (``None`` = no popularity filter);
    - diversity: its cosine similarity to every item already kept is below the
      ``diversity_quantile`` of the pairwise similarities of item vectors (``None`` = no
      diversity filter). Vectors are the recommender's ``item_vectors_`` (LLMSeqSim) or
      ``item_vectors`` given here.

    Differences from the reference code (documented on purpose): it removed the
    *highest-ranked* unpopular items first and only while the list was longer than 20, so
    when few items were popular the lowest-ranked unpopular ones survived; and the
    diversity filter never back-filled, leaving short lists. Here the kept items come
    first in rank order, then the removed candidates in rank order back-fill the list,
    then the rest of ``recommender``'s ranking; lists are always complete.

    Parameters
    ----------
    recommender : Recommender
        The model whose list is filtered (the paper: LLMSeqSim).
    popularity_quantile : float, None or "auto", default=0.5
        ``"auto"`` chooses from ``quantile_grid`` by NDCG@20 on validation folds of the
        training sessions.
    diversity_quantile : float or None, default=None
    candidates : int, default=100
        The paper: 5 x 20.
    quantile_grid : tuple, default=(0.25, 0.5, 0.75)
    item_vectors : mapping item id -> vector, optional
    prefit, exclude_seen, handle_unknown
    """

    _part_names = ("recommender",)

    def __init__(self, recommender=None, popularity_quantile=0.5, diversity_quantile=None, candidates=100, item_vectors=None,
                 quantile_grid=(0.25, 0.5, 0.75), prefit=False, exclude_seen=True, handle_unknown="ignore"):  # fmt: skip
        self.recommender = recommender
        self.popularity_quantile = popularity_quantile
        self.diversity_quantile = diversity_quantile
        self.candidates = candidates
        self.item_vectors = item_vectors
        self.quantile_grid = quantile_grid
        self.prefit, self.exclude_seen, self.handle_unknown = prefit, exclude_seen, handle_unknown

    @classmethod
    def _testing_instances(cls):
        from ..recommenders import SKNN

        return [
            cls(recommender=SKNN(k=20, sample_size=100), popularity_quantile=0.3, candidates=15)
        ]

    def _fit_hybrid(self, sequences, item_metadata):
        q = self.popularity_quantile
        if q == "auto":
            q = self._select_on_folds(
                "popularity_quantile", list(self.quantile_grid), sequences, item_metadata
            )
        self.popularity_quantile_ = q
        trained = self.popularity_[self.item_popularity_ > 0]
        self.popularity_threshold_ = (
            float(np.quantile(trained, q)) if q is not None and len(trained) else -np.inf
        )
        self.vectors_ = None
        self.similarity_threshold_ = np.inf
        if self.diversity_quantile is not None:
            X = self._vectors()
            sims = X @ X.T
            off = sims[~np.eye(len(X), dtype=bool)]
            sample = (
                off
                if off.size <= 5_000_000
                else np.random.default_rng(0).choice(off, 5_000_000, replace=False)
            )
            self.similarity_threshold_ = float(np.quantile(sample, self.diversity_quantile))
            self.vectors_ = X

    def _vectors(self) -> np.ndarray:
        n, part = len(self.item_index_), self.parts_["recommender"]
        if self.item_vectors is not None:
            dim = len(next(iter(self.item_vectors.values())))
            X = np.zeros((n, dim))
            for row, item in enumerate(self.item_index_.ids.tolist()):
                if item in self.item_vectors:
                    X[row] = self.item_vectors[item]
        elif hasattr(part, "item_vectors_"):
            X = np.zeros((n, part.item_vectors_.shape[1]))
            cols = self.columns_["recommender"]
            X[cols[cols >= 0]] = part.item_vectors_[cols >= 0]
        else:
            raise ValueError(
                "diversity filtering needs item vectors: a model with item_vectors_ (LLMSeqSim) or item_vectors="
            )
        return l2_normalize(X.astype(np.float64))

    def _score(self, sequences):
        scores = self._part_scores("recommender", sequences)
        rankings = []
        for ranking in self._ranking(scores):
            cands, rest = ranking[: self.candidates], ranking[self.candidates :]
            keep = []
            for item in cands:
                if self.popularity_[item] < self.popularity_threshold_:
                    continue
                if (
                    self.vectors_ is not None
                    and keep
                    and (self.vectors_[keep] @ self.vectors_[item]).max()
                    >= self.similarity_threshold_
                ):
                    continue
                keep.append(item)
            removed = cands[~np.isin(cands, keep)]
            rankings.append(np.concatenate([np.asarray(keep, dtype=np.int64), removed, rest]))
        return self._scores_from_rankings(rankings)

    def _hybrid_state(self):
        return {
            "popularity_quantile_": self.popularity_quantile_,
            "popularity_threshold_": self.popularity_threshold_,
            "similarity_threshold_": self.similarity_threshold_,
        }

    def _set_hybrid_state(self, extra):
        self.popularity_quantile_ = extra["popularity_quantile_"]
        self.popularity_threshold_ = extra["popularity_threshold_"]
        self.similarity_threshold_ = extra["similarity_threshold_"]
        self.vectors_ = None  # rebuilt in _load_files when diversity filtering is on

    def _load_files(self, path):
        super()._load_files(path)
        if self.diversity_quantile is not None:
            self.vectors_ = self._vectors()
