"""A scikit-learn scorer for next-item recommendation on held-out sessions."""

from __future__ import annotations

import numpy as np

from ..data import as_sequences, make_test_cases
from ..metrics import hit_rate_at_k, ndcg_at_k

__all__ = ["next_item_scorer"]

_METRICS = {"ndcg": ndcg_at_k, "hit_rate": hit_rate_at_k}


def next_item_scorer(metric: str = "ndcg", k: int = 20):
    """A scorer ``scorer(estimator, X, y=None) -> float`` for scikit-learn's model selection.

    Each validation session is cut as in the paper's protocol: items the model never saw in
    training are deleted, a session left with fewer than two items is skipped, and the
    model predicts the last item from the others. The score is the mean ``metric@k`` over
    those cases (higher is better, as scikit-learn expects).

    Parameters
    ----------
    metric : {"ndcg", "hit_rate"}, default="ndcg"
    k : int, default=20

    Examples
    --------
    >>> from sklearn.model_selection import cross_validate
    >>> from llmseqrec import MostPopular
    >>> from llmseqrec.model_selection import TemporalSessionSplit
    >>> sessions = [["a", "b"], ["b", "c"], ["a", "b", "c"], ["c", "a"]] * 5
    >>> cv = cross_validate(MostPopular(), sessions, cv=TemporalSessionSplit(3),
    ...                     scoring=next_item_scorer(k=2))
    >>> cv["test_score"].shape
    (3,)
    """
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {sorted(_METRICS)}, got {metric!r}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    function = _METRICS[metric]

    def scorer(estimator, X, y=None) -> float:
        keys, sessions = as_sequences(X)
        known = set(estimator.items_[estimator.item_popularity_ > 0].tolist())
        cases, _ = make_test_cases(keys, sessions, known, 2)
        if len(cases) == 0:
            raise ValueError(
                "no validation session has two items the model saw in training: nothing to score"
            )
        recs = estimator.predict(cases.prompts, k=k)
        return float(function([list(r) for r in recs], cases.targets, k))

    scorer.__name__ = f"{metric}@{k}"
    return scorer
