"""Ranking and beyond-accuracy metrics, and evaluation on a split."""

from ._evaluate import METRICS, compute_metrics, evaluate, item_counts_from
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
    "evaluate",
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
