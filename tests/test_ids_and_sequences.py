import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmseqrec.data import ItemIndex, as_sequences, item_table, to_sequences
from llmseqrec.exceptions import UnknownItemError


def test_item_index_roundtrip_and_padding():
    index = ItemIndex([30, 10, 20])
    assert index.ids.dtype == np.int64
    assert index.encode([10, 99, 20]).tolist() == [2, 3]
    assert index.encode([10, 99], handle_unknown="pad").tolist() == [2, 0]
    with pytest.raises(UnknownItemError, match="99"):
        index.encode([10, 99], handle_unknown="error")
    assert ItemIndex.from_json(index.to_json()) == index
    with pytest.raises(IndexError):
        index.decode([0])


def test_item_index_rejects_duplicates_and_unsaveable_ids():
    with pytest.raises(ValueError, match="distinct"):
        ItemIndex(["a", "a"])
    with pytest.raises(TypeError, match="tuple"):
        ItemIndex([("a", 1)]).to_json()


@given(st.lists(st.one_of(st.integers(-1000, 1000), st.text(max_size=5)), unique=True, max_size=30))
def test_item_index_encode_decode_inverse(ids):
    index = ItemIndex(ids)
    codes = index.encode(ids)
    assert codes.tolist() == list(range(1, len(ids) + 1))
    assert index.decode(codes).tolist() == ids


def test_to_sequences_is_stable_on_timestamp_ties():
    df = pd.DataFrame(
        {
            "user_id": ["u", "u", "u", "v", "u"],
            "item_id": ["c", "a", "b", "x", "d"],
            "timestamp": [2, 1, 1, 0, 1],
        }
    )
    seqs = to_sequences(df)
    assert list(seqs) == ["u", "v"]
    assert seqs["u"].tolist() == ["a", "b", "d", "c"]  # ties keep file order


def test_to_sequences_custom_columns_and_errors():
    df = pd.DataFrame({"sess": [1, 1], "product": [5, 6], "when": [2, 1]})
    assert to_sequences(df, session_col="sess", item_col="product", time_col="when")[
        1
    ].tolist() == [6, 5]
    with pytest.raises(KeyError, match="session"):
        to_sequences(df)


def test_as_sequences_forms():
    keys, seqs = as_sequences({"a": [1, 2], "b": [3]})
    assert keys == ["a", "b"] and [s.tolist() for s in seqs] == [[1, 2], [3]]
    keys, seqs = as_sequences([["x"], ["y", "z"]])
    assert keys == [0, 1] and seqs[1].tolist() == ["y", "z"]
    with pytest.raises(TypeError, match="list of item-id"):
        as_sequences(["a", "b"])
    with pytest.raises(TypeError):
        as_sequences("abc")


def test_item_table_validates():
    with pytest.raises(ValueError, match="duplicated"):
        item_table(pd.DataFrame({"item_id": [1, 1], "title": ["a", "b"]}))
    with pytest.raises(KeyError):
        item_table(pd.DataFrame({"title": ["a"]}))


def test_as_sequences_returns_session_end_times():
    df = pd.DataFrame({"user_id": [7, 7, 3, 7], "item_id": [1, 2, 3, 4], "timestamp": [5, 9, 4, 1]})
    keys, seqs, times = as_sequences(df, return_times=True)
    assert keys == [7, 3] and times.tolist() == [9, 4]  # each session's largest timestamp
    assert [s.tolist() for s in seqs] == [[4, 1, 2], [3]]
    assert as_sequences({"a": [1]}, return_times=True)[2] is None
    assert as_sequences(df.drop(columns="timestamp"), return_times=True)[2] is None
