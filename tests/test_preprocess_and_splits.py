import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmseqrec.data import (
    drop_repeated_interactions,
    inner_validation_split,
    kcore_filter,
    leave_one_out_split,
    shuffle_ties,
    temporal_folds,
    temporal_split,
)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12)), min_size=1, max_size=150),
    st.integers(1, 4),
)
def test_kcore_leaves_only_dense_sessions_and_items(pairs, k):
    df = pd.DataFrame(pairs, columns=["session_id", "item_id"])
    out = kcore_filter(df, k=k)
    if len(out):
        assert out["session_id"].value_counts().min() >= k
        assert out["item_id"].value_counts().min() >= k
    # Idempotent, and it never invents rows.
    assert kcore_filter(out, k=k).equals(out)
    assert set(out.index) <= set(df.index)


def test_kcore_is_iterative():
    # Removing item z (1 interaction) pushes session 2 below k=2, which then removes item b.
    df = pd.DataFrame(
        {"session_id": [1, 1, 2, 2, 3, 3, 3], "item_id": ["a", "c", "b", "z", "a", "c", "b"]}
    )
    out = kcore_filter(df, k=2)
    assert sorted(out["item_id"].unique()) == ["a", "c"]


def test_drop_repeated():
    df = pd.DataFrame({"session_id": [1, 1, 1, 2], "item_id": ["a", "b", "a", "a"]})
    assert drop_repeated_interactions(df)["item_id"].tolist() == ["a", "b", "a"]
    assert drop_repeated_interactions(df, keep="last").index.tolist() == [1, 2, 3]


def _toy():
    rows = []
    # 10 sessions; session s has time s*10 (+ within-session steps); session 9 holds a new item.
    for s in range(10):
        items = [f"i{(s + j) % 4}" for j in range(3)]
        if s == 9:
            items = ["i0", "new", "i1"]
        if s == 8:
            items = ["new2", "i2"]
        for j, it in enumerate(items):
            rows.append((f"s{s}", it, s * 10 + j))
    return pd.DataFrame(rows, columns=["session_id", "item_id", "timestamp"])


def test_temporal_split_rules():
    split = temporal_split(_toy(), test_frac=0.2)
    assert list(split.train) == [f"s{i}" for i in range(8)]
    # s8 = [new2, i2]: new2 never in train -> [i2] -> too short -> dropped.
    # s9 = [i0, new, i1] -> [i0, i1]: prompt [i0], target i1.
    assert split.test.session_ids == ["s9"]
    assert split.test.prompts[0].tolist() == ["i0"] and split.test.targets.tolist() == ["i1"]
    assert split.info["n_test_sessions"] == math.ceil(0.2 * 10) == 2
    assert split.info["n_test_sessions_dropped"] == 1
    assert split.n_items == 6
    assert split.all_item_counts["i0"] == 7


def test_temporal_split_orders_by_session_max_time():
    df = pd.DataFrame(
        {
            "session_id": ["late", "late", "early"],
            "item_id": ["a", "b", "a"],
            "timestamp": [0, 100, 50],
        }
    )
    split = temporal_split(df, test_frac=0.4, filter_unknown_test_items=False)
    assert list(split.train) == ["early"] and split.test.session_ids == ["late"]


def test_temporal_folds_never_touch_test_and_chain_forward():
    split = temporal_split(_toy(), test_frac=0.2)
    folds = temporal_folds(split, n_folds=3)
    test_sessions = set(split.test.session_ids) | {"s8"}
    prev_train = set()
    for fold in folds:
        assert not (set(fold.train) | set(fold.test.session_ids)) & test_sessions
        assert prev_train <= set(fold.train)
        assert not set(fold.train) & set(fold.test.session_ids)
        known = {i for s in fold.train.values() for i in s.tolist()}
        for p, t in zip(fold.test.prompts, fold.test.targets):
            assert set(p.tolist()) <= known and t in known
        prev_train = set(fold.train)
    assert [len(f.train) for f in folds] == [2, 4, 6]


def test_leave_one_out():
    df = pd.DataFrame(
        {
            "session_id": [1, 1, 1, 1, 2, 2],
            "item_id": [5, 6, 7, 8, 5, 6],
            "timestamp": [1, 2, 3, 4, 1, 2],
        }
    )
    test = leave_one_out_split(df)
    assert test.train[1].tolist() == [5, 6, 7] and test.test.targets.tolist() == [8]
    assert 2 not in test.train  # fewer than 3 interactions
    val = leave_one_out_split(df, validation=True)
    assert val.train[1].tolist() == [5, 6] and val.test.targets.tolist() == [7]
    assert val.test.prompts[0].tolist() == [5, 6]


def test_inner_validation_split():
    tr, va = inner_validation_split(10_000, frac=0.1, max_sessions=500, random_state=1)
    assert len(va) == 500 and len(tr) == 9_500 and not set(tr) & set(va)
    tr2, va2 = inner_validation_split(10_000, frac=0.1, max_sessions=500, random_state=1)
    assert np.array_equal(va, va2)
    with pytest.raises(ValueError):
        inner_validation_split(10, frac=1.5)


def test_temporal_inner_validation_split_holds_out_the_latest_sessions():
    times = np.array([50, 10, 40, 10, 30, 20, 10, 60, 0, 45])
    tr, va = inner_validation_split(10, frac=0.3, strategy="temporal", times=times)
    assert va.tolist() == [0, 7, 9]  # times 50, 60 and 45: the three latest
    assert sorted(set(tr) | set(va)) == list(range(10))
    # Ties are broken by position (a later session counts as later).
    _, va = inner_validation_split(4, frac=0.5, strategy="temporal", times=[1, 1, 1, 0])
    assert va.tolist() == [1, 2]
    # Without times: the last sessions in the given order; random_state is irrelevant.
    _, va = inner_validation_split(10, frac=0.2, strategy="temporal", random_state=3)
    assert va.tolist() == [8, 9]
    _, va = inner_validation_split(10_000, frac=0.1, max_sessions=500, strategy="temporal")
    assert va.tolist() == list(range(9_500, 10_000))
    with pytest.raises(ValueError, match="strategy"):
        inner_validation_split(10, strategy="latest")
    with pytest.raises(ValueError, match="shape"):
        inner_validation_split(10, strategy="temporal", times=[1, 2])


def _tied_sessions():
    # Session "u" ends with three same-day items; "v" has no ties; rows interleaved.
    return pd.DataFrame(
        {
            "session_id": ["u", "v", "u", "u", "v", "u", "u"],
            "item_id": ["a", "x", "b", "c", "y", "d", "e"],
            "timestamp": [1, 1, 2, 3, 2, 3, 3],
        }
    )


def test_shuffle_ties_only_reorders_rows_with_the_same_session_and_time():
    df = _tied_sessions()
    for seed in range(20):
        out = shuffle_ties(df, random_state=seed)
        assert sorted(out.index) == sorted(df.index)  # same rows, index kept
        assert (out.loc[df.index] == df).all().all()
        assert out["session_id"].tolist() == ["u"] * 5 + ["v"] * 2  # first-appearance order
        u = out[out["session_id"] == "u"]
        assert u["timestamp"].is_monotonic_increasing
        assert u["item_id"].tolist()[:2] == ["a", "b"]  # distinct times keep their order
        assert set(u["item_id"].tolist()[2:]) == {"c", "d", "e"}
        assert out[out["session_id"] == "v"]["item_id"].tolist() == ["x", "y"]


def test_shuffle_ties_is_seeded_and_close_to_uniform():
    df = _tied_sessions()
    last = [shuffle_ties(df, random_state=s).iloc[4]["item_id"] for s in range(300)]
    assert shuffle_ties(df, random_state=7).equals(shuffle_ties(df, random_state=7))
    counts = pd.Series(last).value_counts()
    # Each of the 3 tied items ends the session about 100 times in 300 (not file order).
    assert set(counts.index) == {"c", "d", "e"}
    assert counts.min() >= 70 and counts.max() <= 130


def test_shuffle_ties_changes_only_the_targets_of_sessions_with_a_tie_at_the_end():
    rng = np.random.default_rng(0)
    rows = []
    for s in range(200):
        n = int(rng.integers(3, 8))
        times = np.sort(rng.integers(0, 5, size=n)) + 10 * s
        rows += [(s, f"i{int(rng.integers(0, 30))}_{j}", int(t)) for j, t in enumerate(times)]
    df = pd.DataFrame(rows, columns=["session_id", "item_id", "timestamp"])
    before = temporal_split(df, filter_unknown_test_items=False)
    after = temporal_split(shuffle_ties(df, random_state=3), filter_unknown_test_items=False)
    assert list(before.train) == list(after.train)  # the split itself does not move
    assert list(before.test.session_ids) == list(after.test.session_ids)
    last_time = df.groupby("session_id")["timestamp"].max()
    n_at_last = df[df["timestamp"] == df["session_id"].map(last_time)].groupby("session_id").size()
    changed = 0
    for sid, t0, t1 in zip(before.test.session_ids, before.test.targets, after.test.targets):
        if n_at_last[sid] == 1:
            assert t0 == t1
        changed += t0 != t1
    assert changed > 0


def test_shuffle_ties_needs_a_time_column():
    with pytest.raises(KeyError, match="time column"):
        shuffle_ties(pd.DataFrame({"session_id": [1], "item_id": [2]}))
