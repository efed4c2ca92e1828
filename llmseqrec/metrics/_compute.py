"""All metrics of a list of recommendations at once (pure functions: nothing is fitted)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._ranking import (
    catalog_coverage_at_k,
    hit_rate_at_k,
    mrr_at_k,
    ndcg_at_k,
    novelty_at_k,
    serendipity_at_k,
)

__all__ = ["METRICS", "compute_metrics", "item_counts_from"]

METRICS = ("NDCG", "HR", "MRR", "CatCov", "Serendipity", "Novelty")


def item_counts_from(sequences) -> pd.Series:
    """Interaction counts per item over an iterable of item sequences (first-appearance order)."""
    seqs = [np.asarray(s) for s in sequences]
    if not seqs:
        return pd.Series(dtype=float)
    flat = np.concatenate(seqs)
    return pd.Series(flat).value_counts(sort=False).astype(float)


def compute_metrics(
    recommendations, targets, k=(10, 20), n_items: int = 1, item_counts=None
) -> pd.DataFrame:
    """All metrics at every cut-off, as a tidy table with columns ``metric``, ``k``, ``value``.

    Serendipity and novelty are computed only when ``item_counts`` is given.
    """
    ks = (k,) if isinstance(k, (int, np.integer)) else tuple(k)
    rows = []
    for kk in ks:
        rows += [
            ("NDCG", kk, ndcg_at_k(recommendations, targets, kk)),
            ("HR", kk, hit_rate_at_k(recommendations, targets, kk)),
            ("MRR", kk, mrr_at_k(recommendations, targets, kk)),
            ("CatCov", kk, catalog_coverage_at_k(recommendations, kk, n_items)),
        ]
        if item_counts is not None:
            rows += [
                ("Serendipity", kk, serendipity_at_k(recommendations, targets, kk, item_counts)),
                ("Novelty", kk, novelty_at_k(recommendations, kk, item_counts)),
            ]
    return pd.DataFrame(rows, columns=["metric", "k", "value"])
