"""PopularityDiversityFilter: re-rank a longer list by popularity and/or diversity (the
paper's LLMSeqSim&Popularity, §1.5 (3)), with a sound removal order and back-fill."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..text import item_embedding_matrix, l2_normalize
from ._base import HybridRecommender

if TYPE_CHECKING:
    from ..base import Recommender
    from ..text._vectors import ItemEmbeddingsLike

__all__ = ["PopularityDiversityFilter"]


class PopularityDiversityFilter(HybridRecommender):
    """Take ``recommender``'s top ``candidates`` items and keep, in rank order, those that pass:

    - popularity: the item's training popularity (share of sessions) is at or above the
      ``popularity_quantile`` of item popularity (``None`` = no popularity filter);
    - diversity: its cosine similarity to every item already kept is below the
      ``diversity_quantile`` of the pairwise similarities of item vectors (``None`` = no
      diversity filter). Vectors are ``item_embeddings`` when given, else the
      recommender's ``item_vectors_`` (LLMSeqSim).

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
    popularity_quantile : float, None or "auto", default="auto"
        ``"auto"`` chooses from ``quantile_grid`` by NDCG@20 on validation folds of the
        training sessions (the recommender is fitted once more per fold). 0.1's default
        was 0.5.
    diversity_quantile : float or None, default=None
    candidates : int, default=100
        The paper: 5 x 20.
    quantile_grid : tuple, default=(None, 0.25, 0.5, 0.75)
        ``None`` (no popularity filter: the recommender's own list, when
        ``diversity_quantile`` is None) lets the choice fall back to it.
    item_embeddings : None, "default", ItemTextEncoder, mapping, DataFrame, array or path, default=None
        Item text vectors for the diversity filter (any form of
        :func:`llmseqrec.text.item_embedding_matrix`); ``None`` = none of its own: use the
        recommender's.
    prefit, exclude_seen, handle_unknown
    """

    _part_names = ("recommender",)
    _changed_defaults = (
        "popularity_quantile",
        "quantile_grid",
    )  # in issue 23 (see the benchmark runner)

    def __init__(self, recommender: Recommender | None = None, popularity_quantile: float | Literal["auto"] | None = "auto", diversity_quantile: float | None = None, candidates: int = 100, item_embeddings: ItemEmbeddingsLike | None = None,
                 quantile_grid: Sequence[float | None] = (None, 0.25, 0.5, 0.75), prefit: bool = False, exclude_seen: bool = True, handle_unknown: Literal["ignore", "error"] = "ignore", **deprecated: object) -> None:  # fmt: skip
        self.recommender = recommender
        self.popularity_quantile = popularity_quantile
        self.diversity_quantile = diversity_quantile
        self.candidates = candidates
        self.item_embeddings = item_embeddings
        self.quantile_grid = quantile_grid
        self.prefit, self.exclude_seen, self.handle_unknown = prefit, exclude_seen, handle_unknown
        self._take_renamed(deprecated)

    _renamed_parameters = {"item_vectors": "item_embeddings"}

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
            X = self._vectors(item_metadata)
            sims = X @ X.T
            off = sims[~np.eye(len(X), dtype=bool)]
            sample = (
                off
                if off.size <= 5_000_000
                else np.random.default_rng(0).choice(off, 5_000_000, replace=False)
            )
            self.similarity_threshold_ = float(np.quantile(sample, self.diversity_quantile))
            self.vectors_ = X

    def _vectors(self, item_metadata) -> np.ndarray:
        n, part = len(self.item_index_), self.parts_["recommender"]
        if self.item_embeddings is not None:
            X, _ = item_embedding_matrix(
                self.item_embeddings,
                self.item_index_.ids,
                item_metadata,
                item_table=getattr(self, "_fit_item_table", None),  # None after load
                dtype=np.float64,  # the similarity threshold is a float64 quantile
            )
        elif hasattr(part, "item_vectors_"):
            X = np.zeros((n, part.item_vectors_.shape[1]))
            cols = self.columns_["recommender"]
            X[cols[cols >= 0]] = part.item_vectors_[cols >= 0]
        else:
            raise ValueError(
                "diversity filtering needs item vectors: a model with item_vectors_ (LLMSeqSim) or item_embeddings="
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

    def _get_state(self):
        arrays, extra = super()._get_state()
        if self.vectors_ is not None:  # saved: an encoder cannot be re-run without item texts
            arrays["vectors_"] = self.vectors_
        return arrays, extra

    def _set_state(self, arrays, extra):
        super()._set_state(arrays, extra)
        self.vectors_ = arrays.get("vectors_")

    def _set_hybrid_state(self, extra):
        self.popularity_quantile_ = extra["popularity_quantile_"]
        self.popularity_threshold_ = extra["popularity_threshold_"]
        self.similarity_threshold_ = extra["similarity_threshold_"]

    def _load_files(self, path):
        super()._load_files(path)
        if self.diversity_quantile is not None and self.vectors_ is None:
            # Saved by 0.1.0, which kept no vectors: rebuild them (then only from a mapping
            # or from the recommender's item_vectors_, which need no item texts).
            self.vectors_ = self._vectors(None)
