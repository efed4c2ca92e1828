import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmseqrec.metrics import (
    catalog_coverage_at_k,
    compute_metrics,
    hit_rate_at_k,
    mrr_at_k,
    ndcg_at_k,
    novelty_at_k,
    prepare_lists,
    serendipity_at_k,
)

RECS = [["a", "b", "c"], ["c", "a", "a"], ["d", "e", "f"]]
TARGETS = ["b", "a", "z"]


def test_hand_worked_values():
    # Case 1: rank 2; case 2: rank 2; case 3: miss.
    assert hit_rate_at_k(RECS, TARGETS, 3) == pytest.approx(2 / 3)
    assert ndcg_at_k(RECS, TARGETS, 3) == pytest.approx((2 / math.log2(3)) / 3)
    assert mrr_at_k(RECS, TARGETS, 3) == pytest.approx((0.5 + 0.5) / 3)
    assert hit_rate_at_k(RECS, TARGETS, 1) == 0.0
    assert catalog_coverage_at_k(RECS, 3, n_items=12) == pytest.approx(6 / 12)


def test_cut_to_k_before_dedup():
    # The duplicate inside the top-3 is dropped without back-filling "x".
    assert prepare_lists([["a", "a", "b", "x"]], k=3) == [["a", "b"]]
    assert hit_rate_at_k([["a", "a", "b", "x"]], ["x"], k=3) == 0.0


def test_serendipity_and_novelty_hand_worked():
    counts = {"a": 6, "b": 1, "c": 1}
    # top-1 popular = {a}; case 1 target b hit -> 1, case 2 target a (expected) -> 0.
    assert serendipity_at_k([["b"], ["a"]], ["b", "a"], k=1, item_counts=counts) == 0.5
    # -log2(6/8) and -log2(1/8); unknown item "q" adds 0 but counts in the length.
    expected = ((-math.log2(6 / 8) - math.log2(1 / 8)) / 2 + (-math.log2(1 / 8)) / 2) / 2
    assert novelty_at_k([["a", "b"], ["c", "q"]], k=2, item_counts=counts) == pytest.approx(
        expected
    )


def test_none_padding_is_ignored():
    assert prepare_lists([["a", None, "b"]], k=3) == [["a", "b"]]
    assert mrr_at_k([["a", None, "b"]], ["b"], k=3) == 0.5


def test_errors():
    with pytest.raises(ValueError, match="k must"):
        ndcg_at_k(RECS, TARGETS, 0)
    with pytest.raises(ValueError, match="targets"):
        ndcg_at_k(RECS, TARGETS[:2], 2)


def test_compute_metrics_table():
    table = compute_metrics(RECS, TARGETS, k=(1, 3), n_items=10, item_counts={"a": 3, "b": 1})
    assert set(table["metric"]) == {"NDCG", "HR", "MRR", "CatCov", "Serendipity", "Novelty"}
    assert table.query("metric == 'HR' and k == 3")["value"].item() == pytest.approx(2 / 3)


items = st.integers(0, 30)
lists = st.lists(st.lists(items, min_size=0, max_size=12), min_size=1, max_size=20)


@settings(max_examples=60, deadline=None)
@given(lists, st.data(), st.integers(1, 15))
def test_bounds_and_monotonicity(recs, data, k):
    targets = data.draw(st.lists(items, min_size=len(recs), max_size=len(recs)))
    for fn in (hit_rate_at_k, ndcg_at_k, mrr_at_k):
        v = fn(recs, targets, k)
        assert 0.0 <= v <= 1.0
    # HR, NDCG and MRR never decrease as k grows (more of the list is seen).
    for fn in (hit_rate_at_k, ndcg_at_k, mrr_at_k):
        assert fn(recs, targets, k + 1) >= fn(recs, targets, k) - 1e-12
    assert (
        mrr_at_k(recs, targets, k)
        <= ndcg_at_k(recs, targets, k) + 1e-12
        <= hit_rate_at_k(recs, targets, k) + 2e-12
    )
    assert 0.0 <= catalog_coverage_at_k(recs, k, n_items=31) <= 1.0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=1, max_size=20, unique=True), st.integers(1, 10))
def test_perfect_ranking_scores_one(targets, k):
    recs = [[t] + [t + 100 + j for j in range(k - 1)] for t in targets]
    for fn in (hit_rate_at_k, ndcg_at_k, mrr_at_k):
        assert fn(recs, targets, k) == 1.0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 40), min_size=3, max_size=10, unique=True), st.randoms())
def test_permuting_non_target_items_changes_nothing(row, rnd):
    target = row[1]
    others = [x for i, x in enumerate(row) if i != 1]
    rnd.shuffle(others)
    shuffled = [others[0], target] + others[1:]
    for fn in (hit_rate_at_k, ndcg_at_k, mrr_at_k):
        assert fn([row], [target], len(row)) == fn([shuffled], [target], len(row))


def test_case_order_does_not_matter():
    perm = np.random.default_rng(0).permutation(len(RECS))
    recs = [RECS[i] for i in perm]
    targets = [TARGETS[i] for i in perm]
    assert ndcg_at_k(recs, targets, 3) == pytest.approx(ndcg_at_k(RECS, TARGETS, 3))
