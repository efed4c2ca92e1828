"""Score fusion and reciprocal-rank fusion of any number of recommenders (beyond the paper)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from ._base import HybridRecommender, check_part_name

if TYPE_CHECKING:
    from ..base import Recommender

__all__ = ["ScoreFusion", "ReciprocalRankFusion", "simplex_grid"]


class _ListHybrid(HybridRecommender):
    """Parts given as a list of ``(name, recommender)`` pairs; ``name__param`` routing."""

    @property
    def _part_names(self):
        return tuple(name for name, _ in self.models)

    def _parts(self):
        names = [n for n, _ in self.models]
        if len(set(names)) != len(names) or not names:
            raise ValueError("models must be a non-empty list of (unique name, recommender) pairs")
        for name in names:
            check_part_name(name)
        return dict(self.models)

    def get_params(self, deep=True):
        params = super().get_params(deep=False)
        if deep:
            for name, model in self.models:
                params[name] = model
                for key, value in model.get_params(deep=True).items():
                    params[f"{name}__{key}"] = value
        return params

    def set_params(self, **params):
        models = dict(self.models)
        direct = {}
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if sub and name in models:
                models[name].set_params(**{sub: value})
            elif key in models:
                self.models = [(n, value if n == key else m) for n, m in self.models]
            else:
                direct[key] = value
        return super().set_params(**direct) if direct else self

    def _weights(self):
        weights = self.weights_ if isinstance(self.weights, str) else self.weights
        w = np.ones(len(self.models)) if weights is None else np.asarray(weights, dtype=float)
        if len(w) != len(self.models):
            raise ValueError(
                f"weights must have one value per model ({len(self.models)}), got {len(w)}"
            )
        return w


def simplex_grid(n_models: int, steps: int | None = None) -> list[tuple]:
    """Weight vectors on the simplex: every ``(w_1, ..., w_n)`` with ``w_i`` a multiple of
    ``1 / steps`` summing to 1 (``steps`` 10 for two models, 4 for more), each model
    alone included.

    >>> simplex_grid(2, 4)
    [(0.0, 1.0), (0.25, 0.75), (0.5, 0.5), (0.75, 0.25), (1.0, 0.0)]
    """
    steps = steps or (10 if n_models <= 2 else 4)

    def compositions(total, parts):
        if parts == 1:
            yield (total,)
            return
        for first in range(total + 1):
            for rest in compositions(total - first, parts - 1):
                yield (first, *rest)

    return [tuple(c / steps for c in combo) for combo in compositions(steps, n_models)]


class ScoreFusion(_ListHybrid):
    """Weighted sum of per-session normalised scores.

    Parameters
    ----------
    models : list of (str, Recommender)
    weights : list of float, None or "auto", default="auto"
        One weight per model; ``None`` weighs them equally. ``"auto"`` chooses from
        ``weight_grid`` by NDCG@20 on validation folds of the training sessions (the parts
        are fitted once more per fold): how much each part should count depends on the
        data set. The chosen weights are in ``weights_``.
    normalization : {"minmax", "zscore"}, default="minmax"
        Applied per session over each model's finite scores; items a model cannot score
        contribute its minimum.
    weight_grid : list of tuples, optional
        Candidates for ``weights="auto"``; default :func:`simplex_grid` (steps of 0.1 for
        two models, 0.25 for more), which holds each model alone.
    prefit, exclude_seen, handle_unknown
    """

    def __init__(
        self,
        models: Sequence[tuple[str, Recommender]] = (),
        weights: Sequence[float] | Literal["auto"] | None = "auto",
        normalization: Literal["minmax", "zscore"] = "minmax",
        weight_grid: Sequence[Sequence[float]] | None = None,
        prefit: bool = False,
        exclude_seen: bool = True,
        handle_unknown: Literal["ignore", "error"] = "ignore",
    ) -> None:
        self.models, self.weights, self.normalization = models, weights, normalization
        self.weight_grid = weight_grid
        self.prefit, self.exclude_seen, self.handle_unknown = prefit, exclude_seen, handle_unknown

    _changed_defaults = ("weights",)  # in issue 23 (see the benchmark runner)

    def _fit_hybrid(self, sequences, item_metadata):
        auto = isinstance(self.weights, str)
        if auto and self.weights != "auto":
            raise ValueError(f"weights must be a list, None or 'auto', got {self.weights!r}")
        self.weights_ = None if self.weights is None else self.weights
        if auto:
            grid = simplex_grid(len(self.models)) if self.weight_grid is None else self.weight_grid
            grid = [tuple(float(w) for w in g) for g in grid]
            self.weights_ = self._select_on_folds("weights", grid, sequences, item_metadata)
        if self.weights_ is not None:
            self.weights_ = [float(w) for w in self.weights_]

    def _hybrid_state(self):
        return {"weights_": None if self.weights_ is None else [float(w) for w in self.weights_]}

    def _set_hybrid_state(self, extra):
        self.weights_ = extra.get("weights_", self.weights)

    @classmethod
    def _testing_instances(cls):
        from ..recommenders import SKNN, MostPopular

        return [
            cls(
                models=[("knn", SKNN(k=20, sample_size=100)), ("pop", MostPopular())],
                weights=[1.0, 0.2],
            )
        ]

    def _score(self, sequences):
        if self.normalization not in ("minmax", "zscore"):
            raise ValueError(
                f"normalization must be 'minmax' or 'zscore', got {self.normalization!r}"
            )
        total = np.zeros((len(sequences), len(self.item_index_)))
        for w, (name, _) in zip(self._weights(), self.models):
            s = self._part_scores(name, sequences)
            finite = np.isfinite(s)
            lo = np.where(finite, s, np.inf).min(1, keepdims=True)
            hi = np.where(finite, s, -np.inf).max(1, keepdims=True)
            if self.normalization == "minmax":
                norm = (s - lo) / np.where(hi > lo, hi - lo, 1.0)
            else:
                mean = np.where(finite, s, 0).sum(1, keepdims=True) / np.maximum(
                    finite.sum(1, keepdims=True), 1
                )
                std = np.sqrt(
                    np.where(finite, (s - mean) ** 2, 0).sum(1, keepdims=True)
                    / np.maximum(finite.sum(1, keepdims=True), 1)
                )
                norm = (s - mean) / np.where(std > 0, std, 1.0)
                lo = (lo - mean) / np.where(std > 0, std, 1.0)
                norm = np.where(finite, norm, lo)
            total += w * np.where(finite, norm, 0.0 if self.normalization == "minmax" else norm)
        return total


class ReciprocalRankFusion(_ListHybrid):
    """Reciprocal-rank fusion: ``sum_m w_m / (rrf_k + rank_m(item))`` over the models.

    Parameters
    ----------
    models : list of (str, Recommender)
    weights : list of float, optional
    rrf_k : float, default=60
    depth : int, default=100
        Only each model's top ``depth`` items contribute.
    prefit, exclude_seen, handle_unknown
    """

    def __init__(
        self,
        models: Sequence[tuple[str, Recommender]] = (),
        weights: Sequence[float] | None = None,
        rrf_k: float = 60.0,
        depth: int = 100,
        prefit: bool = False,
        exclude_seen: bool = True,
        handle_unknown: Literal["ignore", "error"] = "ignore",
    ) -> None:
        self.models, self.weights, self.rrf_k, self.depth = models, weights, rrf_k, depth
        self.prefit, self.exclude_seen, self.handle_unknown = prefit, exclude_seen, handle_unknown

    @classmethod
    def _testing_instances(cls):
        from ..recommenders import SKNN, MostPopular

        return [
            cls(
                models=[("knn", SKNN(k=20, sample_size=100)), ("pop", MostPopular())],
                weights=[1.0, 0.3],
                depth=30,
            )
        ]

    def _fit_hybrid(self, sequences, item_metadata):
        if isinstance(self.weights, str):
            raise ValueError(
                f"ReciprocalRankFusion takes a list of weights or None, got {self.weights!r} "
                "(weights='auto' is ScoreFusion's)"
            )

    def _score(self, sequences):
        total = np.zeros((len(sequences), len(self.item_index_)))
        for w, (name, _) in zip(self._weights(), self.models):
            for r, ranking in enumerate(self._ranking(self._part_scores(name, sequences))):
                top = ranking[: self.depth]
                total[r, top] += w / (self.rrf_k + np.arange(1, len(top) + 1))
        # Items no model ranked stay at 0 (after all ranked ones); ties by column.
        return total
