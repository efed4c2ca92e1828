"""Ranking and beyond-accuracy metrics: pure functions of recommendation lists and targets.

They sit below the models (early stopping and the hybrids' selection on folds use them).
Evaluating a model on a split, which fits and predicts, is :func:`llmseqrec.evaluate`
(:mod:`llmseqrec.evaluation`).
"""

import importlib as _importlib
import warnings as _warnings

from ._compute import METRICS, compute_metrics, item_counts_from
from ._ranking import (
    catalog_coverage_at_k,
    hit_rate_at_k,
    mrr_at_k,
    ndcg_at_k,
    novelty_at_k,
    prepare_lists,
    serendipity_at_k,
    target_ranks,
)

__all__ = [
    "METRICS",
    "compute_metrics",
    "item_counts_from",
    "prepare_lists",
    "target_ranks",
    "hit_rate_at_k",
    "ndcg_at_k",
    "mrr_at_k",
    "catalog_coverage_at_k",
    "serendipity_at_k",
    "novelty_at_k",
]


def __getattr__(name):
    # Deprecated: evaluate fits and predicts, so it moved up to llmseqrec.evaluation. Looked up
    # at run time, so this lower layer does not import the upper one.
    if name == "evaluate":
        _warnings.warn(
            "llmseqrec.metrics.evaluate moved to llmseqrec.evaluate (llmseqrec.evaluation); "
            "the old path stops working in llmseqrec 0.3",
            FutureWarning,
            stacklevel=2,
        )
        return _importlib.import_module("llmseqrec.evaluation").evaluate
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
