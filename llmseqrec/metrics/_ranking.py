"""Next-item ranking metrics, exactly as the paper's evaluation code defines them.

Every function takes ``recommendations`` (one list per case, best first; ``None`` entries
are ignored) and cuts each list to ``k`` *before* dropping duplicates (keeping the first),
as the paper's code does; lists are not back-filled. Values are averaged over cases.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = [
    "prepare_lists",
    "target_ranks",
    "hit_rate_at_k",
    "ndcg_at_k",
    "mrr_at_k",
    "catalog_coverage_at_k",
    "serendipity_at_k",
    "novelty_at_k",
]


def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return int(k)


def prepare_lists(recommendations, k: int) -> list[list]:
    """Cut each list to ``k``, drop ``None`` entries, then drop duplicates keeping the first.

    >>> prepare_lists([["a", "b", "a", "c"], ["x", None, "y"]], k=3)
    [['a', 'b'], ['x', 'y']]
    """
    k = _check_k(k)
    out = []
    for row in recommendations:
        seen, kept = set(), []
        for item in list(row)[:k]:
            if item is None or item in seen:
                continue
            seen.add(item)
            kept.append(item)
        out.append(kept)
    return out


def target_ranks(recommendations, targets, k: int) -> np.ndarray:
    """1-based rank of each case's target in its prepared top-``k`` list (0 = miss).

    >>> target_ranks([["a", "b"], ["c", "d"]], ["b", "x"], k=2).tolist()
    [2, 0]
    """
    lists = prepare_lists(recommendations, k)
    targets = list(targets)
    if len(lists) != len(targets):
        raise ValueError(f"{len(lists)} recommendation lists but {len(targets)} targets")
    ranks = np.zeros(len(lists), dtype=np.int64)
    for i, (row, target) in enumerate(zip(lists, targets)):
        for pos, item in enumerate(row, start=1):
            if item == target:
                ranks[i] = pos
                break
    return ranks


def hit_rate_at_k(recommendations, targets, k: int) -> float:
    """Share of cases whose target is in the top-``k``.

    >>> hit_rate_at_k([["a", "b"], ["c", "d"]], ["b", "x"], k=2)
    0.5
    """
    ranks = target_ranks(recommendations, targets, k)
    return float((ranks > 0).mean()) if len(ranks) else 0.0


def ndcg_at_k(recommendations, targets, k: int) -> float:
    """NDCG with one relevant item per case: ``1 / log2(rank + 1)`` on a hit, else 0.

    >>> round(ndcg_at_k([["a", "b"], ["c", "d"]], ["b", "c"], k=2), 4)  # (1/log2(3) + 1) / 2
    0.8155
    """
    ranks = target_ranks(recommendations, targets, k)
    if not len(ranks):
        return 0.0
    gains = np.where(ranks > 0, 1.0 / np.log2(np.maximum(ranks, 1) + 1), 0.0)
    return float(gains.mean())


def mrr_at_k(recommendations, targets, k: int) -> float:
    """Mean reciprocal rank of the target (0 on a miss).

    >>> mrr_at_k([["a", "b"], ["c", "d"]], ["b", "c"], k=2)
    0.75
    """
    ranks = target_ranks(recommendations, targets, k)
    if not len(ranks):
        return 0.0
    return float(np.where(ranks > 0, 1.0 / np.maximum(ranks, 1), 0.0).mean())


def catalog_coverage_at_k(recommendations, k: int, n_items: int) -> float:
    """Distinct items recommended in any top-``k`` list, divided by the catalogue size.

    >>> catalog_coverage_at_k([["a", "b"], ["b", "c"]], k=2, n_items=10)
    0.3
    """
    if n_items < 1:
        raise ValueError("n_items must be >= 1")
    distinct = set()
    for row in prepare_lists(recommendations, k):
        distinct.update(row)
    return len(distinct) / n_items


def _counts(item_counts) -> pd.Series:
    if isinstance(item_counts, pd.Series):
        return item_counts
    if isinstance(item_counts, Mapping):
        return pd.Series(item_counts, dtype=float)
    raise TypeError("item_counts must be a pandas Series or a mapping item -> count")


def _most_popular(item_counts: pd.Series, k: int) -> set:
    # Stable sort: ties keep the order of item_counts.
    return set(item_counts.sort_values(ascending=False, kind="stable").index[:k].tolist())


def serendipity_at_k(recommendations, targets, k: int, item_counts) -> float:
    """Hits on targets that are *not* among the ``k`` most popular items.

    Per case: with ``unexpected = {target} - top-k popular``, the score is
    ``|recs ∩ unexpected| / min(|unexpected|, |recs|)`` (0 when that is 0).

    >>> counts = {"a": 10, "b": 5, "c": 1, "d": 1}
    >>> serendipity_at_k([["a", "c"], ["a", "b"]], ["c", "a"], k=2, item_counts=counts)
    0.5
    """
    lists = prepare_lists(recommendations, k)
    expected = _most_popular(_counts(item_counts), k)
    total = 0.0
    for row, target in zip(lists, targets):
        if target in expected or not row:
            continue
        total += 1.0 if target in row else 0.0
    return total / len(lists) if lists else 0.0


def novelty_at_k(recommendations, k: int, item_counts) -> float:
    """Mean self-information ``-log2(count / total)`` of the recommended items (bits).

    Items without a count add 0 but still count in the list length.

    >>> novelty_at_k([["a", "b"]], k=2, item_counts={"a": 2, "b": 2})
    1.0
    """
    counts = _counts(item_counts)
    total = float(counts.sum())
    info = (-np.log2(counts / total)).to_dict() if total > 0 else {}
    lists = prepare_lists(recommendations, k)
    values = [sum(info.get(i, 0.0) for i in row) / len(row) if row else 0.0 for row in lists]
    return float(np.mean(values)) if values else 0.0
