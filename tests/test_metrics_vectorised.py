"""The vectorised metrics equal the definition they replace (issue 26): the paper's
cut-then-dedupe lists, scored one case at a time in plain Python, on random inputs with
missing slots, duplicates, mixed id types, absent targets and short lists."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmseqrec.metrics import (
    catalog_coverage_at_k,
    hit_rate_at_k,
    mrr_at_k,
    ndcg_at_k,
    novelty_at_k,
    prepare_lists,
    serendipity_at_k,
    target_ranks,
)


def _ranks(recs, targets, k):
    out = []
    for row, target in zip(prepare_lists(recs, k), targets):
        out.append(next((p for p, item in enumerate(row, start=1) if item == target), 0))
    return np.asarray(out, dtype=np.int64)


def _serendipity(recs, targets, k, counts):
    lists = prepare_lists(recs, k)
    expected = set(counts.sort_values(ascending=False, kind="stable").index[:k].tolist())
    total = sum(1.0 for row, t in zip(lists, targets) if t not in expected and row and t in row)
    return total / len(lists) if lists else 0.0


def _novelty(recs, k, counts):
    total = float(counts.sum())
    info = (-np.log2(counts / total)).to_dict() if total > 0 else {}
    values = [
        sum(info.get(i, 0.0) for i in row) / len(row) if row else 0.0
        for row in prepare_lists(recs, k)
    ]
    return float(np.mean(values)) if values else 0.0


_ids = st.one_of(st.integers(0, 12), st.sampled_from(["a", "b", "c", "d", "e"]), st.none())
_case = st.tuples(st.lists(_ids, max_size=25), _ids.filter(lambda x: x is not None))


@settings(max_examples=300, deadline=None)
@given(st.lists(_case, max_size=30), st.integers(1, 25), st.integers(0, 10_000))
def test_vectorised_metrics_equal_the_case_by_case_definition(cases, k, seed):
    recs = [row for row, _ in cases]
    targets = [t for _, t in cases]
    rng = np.random.default_rng(seed)
    pool = list(range(13)) + ["a", "b", "c", "d", "e"]
    counts = pd.Series(
        rng.integers(1, 6, len(pool)).astype(float), index=pd.Index(pool, dtype=object)
    )
    ranks = _ranks(recs, targets, k)
    np.testing.assert_array_equal(target_ranks(recs, targets, k), ranks)
    n = max(len(recs), 1)
    assert hit_rate_at_k(recs, targets, k) == pytest.approx((ranks > 0).sum() / n if recs else 0.0)
    gains = np.where(ranks > 0, 1.0 / np.log2(np.maximum(ranks, 1) + 1), 0.0)
    assert ndcg_at_k(recs, targets, k) == pytest.approx(gains.mean() if recs else 0.0)
    rr = np.where(ranks > 0, 1.0 / np.maximum(ranks, 1), 0.0)
    assert mrr_at_k(recs, targets, k) == pytest.approx(rr.mean() if recs else 0.0)
    distinct = {i for row in prepare_lists(recs, k) for i in row}
    assert catalog_coverage_at_k(recs, k, 50) == pytest.approx(len(distinct) / 50)
    assert serendipity_at_k(recs, targets, k, counts) == pytest.approx(
        _serendipity(recs, targets, k, counts)
    )
    assert novelty_at_k(recs, k, counts) == pytest.approx(_novelty(recs, k, counts))


def test_numpy_rows_of_a_predict_call_work_like_lists():
    recs = np.array([["a", "b", None], ["c", "a", "a"]], dtype=object)
    assert target_ranks(recs, ["b", "a"], 3).tolist() == [2, 2]
    ints = np.array([[3, 1, 2], [2, 2, 5]])
    assert target_ranks(ints, [2, 5], 3).tolist() == [3, 2]
