"""Model selection on your own data: a temporal cross-validation splitter and a next-item
scorer that plug into scikit-learn's ``GridSearchCV``/``cross_validate``, and an optuna
search over the same forward-chaining folds that returns the study."""

from ._scorer import next_item_scorer
from ._search import best_estimator, search, sessions_in_time_order
from ._split import TemporalSessionSplit

__all__ = [
    "TemporalSessionSplit",
    "next_item_scorer",
    "search",
    "best_estimator",
    "sessions_in_time_order",
]
