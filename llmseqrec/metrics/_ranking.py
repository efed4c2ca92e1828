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


class _Coded:
    """The top-``k`` lists as integer codes, prepared once for every metric (vectorised).

    ``codes`` (n, k): each item's code in ``uniques``, -1 for a missing slot or ``None``;
    ``first`` (n, k): the slots :func:`prepare_lists` keeps (valid, first occurrence in
    the row); ``kept_rank`` (n, k): the 1-based position of a kept slot in its prepared list.
    """

    def __init__(self, recommendations, k: int):
        k = _check_k(k)
        rows = [list(row)[:k] for row in recommendations]
        self.n = len(rows)
        flat = np.empty(self.n * k, dtype=object)
        for i, row in enumerate(rows):
            flat[i * k : i * k + len(row)] = row
        codes, self.uniques = pd.factorize(flat, use_na_sentinel=True)  # None -> -1
        self.codes = codes.reshape(self.n, k).astype(np.int64)
        valid = self.codes >= 0
        # A slot repeats an earlier one of its row: compare every pair of positions once.
        same = self.codes[:, :, None] == self.codes[:, None, :]  # (n, k, k)
        earlier = np.tril(np.ones((k, k), dtype=bool), -1)  # [j, j'] true where j' < j
        repeated = (same & earlier & valid[:, None, :]).any(axis=2)
        self.first = valid & ~repeated
        self.kept_rank = np.cumsum(self.first, axis=1)

    def target_codes(self, targets) -> np.ndarray:
        """Codes of the targets; -2 for a target that no list holds (never equal to a slot)."""
        targets = list(targets)
        if len(targets) != self.n:
            raise ValueError(f"{self.n} recommendation lists but {len(targets)} targets")
        index = pd.Index(self.uniques)
        found = index.get_indexer(pd.Index(targets, dtype=object)) if len(index) else None
        codes = np.full(len(targets), -2, dtype=np.int64) if found is None else found
        return np.where(codes < 0, -2, codes)

    def ranks(self, targets) -> np.ndarray:
        match = self.first & (self.codes == self.target_codes(targets)[:, None])
        hit = match.any(axis=1)
        pos = self.kept_rank[np.arange(self.n), match.argmax(axis=1)] if self.n else np.zeros(0)
        return np.where(hit, pos, 0).astype(np.int64)


def target_ranks(recommendations, targets, k: int) -> np.ndarray:
    """1-based rank of each case's target in its prepared top-``k`` list (0 = miss).

    >>> target_ranks([["a", "b"], ["c", "d"]], ["b", "x"], k=2).tolist()
    [2, 0]
    """
    return _Coded(recommendations, k).ranks(targets)


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
    coded = _Coded(recommendations, k)
    return len(np.unique(coded.codes[coded.first])) / n_items


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
    coded = _Coded(recommendations, k)
    targets = list(targets)
    if not coded.n:
        return 0.0
    expected = _most_popular(_counts(item_counts), k)
    unexpected = np.fromiter((t not in expected for t in targets), dtype=bool, count=len(targets))
    hits = coded.ranks(targets) > 0  # a hit implies a non-empty list
    return float((hits & unexpected).sum() / coded.n)


def novelty_at_k(recommendations, k: int, item_counts) -> float:
    """Mean self-information ``-log2(count / total)`` of the recommended items (bits).

    Items without a count add 0 but still count in the list length.

    >>> novelty_at_k([["a", "b"]], k=2, item_counts={"a": 2, "b": 2})
    1.0
    """
    counts = _counts(item_counts)
    total = float(counts.sum())
    coded = _Coded(recommendations, k)
    if not coded.n or not coded.first.any():
        return 0.0
    info = np.zeros(len(coded.uniques))
    if total > 0 and len(coded.uniques):
        bits = -np.log2(counts / total)
        bits = bits[~bits.index.duplicated(keep="last")]  # as dict(...) would keep the last
        info = bits.reindex(pd.Index(coded.uniques, dtype=object)).fillna(0.0).to_numpy(float)
    per_slot = np.where(coded.first, info[np.maximum(coded.codes, 0)], 0.0)
    n_kept = coded.first.sum(axis=1)
    values = np.where(n_kept > 0, per_slot.sum(axis=1) / np.maximum(n_kept, 1), 0.0)
    return float(values.mean())
