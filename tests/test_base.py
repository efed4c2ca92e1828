import numpy as np
import pandas as pd
import pytest

from llmseqrec import MostPopular
from llmseqrec.base import topk_codes
from llmseqrec.exceptions import NotFittedError


def test_topk_ties_and_neg_inf():
    scores = np.array([[1.0, 3.0, 3.0, -np.inf, 2.0], [0.0, 0.0, 0.0, 0.0, 0.0]])
    assert topk_codes(scores, 3).tolist() == [[2, 3, 5], [1, 2, 3]]
    assert topk_codes(scores, 5).tolist() == [[2, 3, 5, 1, 0], [1, 2, 3, 4, 5]]
    # A tie at the k-th place: the smaller internal id wins, whatever argpartition did.
    many_ties = np.zeros((1, 50))
    assert topk_codes(many_ties, 3).tolist() == [[1, 2, 3]]


def test_most_popular_counts_and_exclusion():
    train = [["a", "b"], ["b", "c"], ["b", "c"], ["d"]]
    model = MostPopular().fit(train)
    assert model.predict([["x"]], k=3).tolist() == [["b", "c", "a"]]
    assert model.predict([["b"]], k=2).tolist() == [["c", "a"]]
    assert MostPopular(exclude_seen=False).fit(train).predict([["b"]], k=2).tolist() == [["b", "c"]]


def test_predict_pads_with_none_when_items_run_out():
    model = MostPopular().fit([["a", "b", "c"]])
    recs = model.predict([["a", "b"]], k=3)
    assert recs.dtype == object and recs.tolist() == [["c", None, None]]


def test_predict_scores_columns_and_candidates():
    model = MostPopular().fit([[10, 20], [20]])
    assert model.items_.tolist() == [10, 20]
    assert model.predict_scores([[10]]).tolist() == [[1.0, 2.0]]
    assert model.predict_scores([[10]], items=[20, 99]).tolist() == [[2.0, -np.inf]]


def test_bad_arguments_have_clear_errors():
    model = MostPopular()
    with pytest.raises(NotFittedError, match="not fitted"):
        model.predict([["a"]])
    model.fit([["a"]])
    with pytest.raises(ValueError, match="k must be a positive integer"):
        model.predict([["a"]], k=0)
    with pytest.raises(ValueError, match="handle_unknown"):
        MostPopular(handle_unknown="drop").fit([["a"]])
    with pytest.raises(ValueError, match="at least one item"):
        MostPopular().fit([[]])


def test_recommend_table():
    model = MostPopular().fit({"u": ["a", "b", "b"]})
    table = model.recommend({"q": ["a"]}, k=5)
    assert isinstance(table, pd.DataFrame)
    assert table.to_dict("records") == [
        {"session_id": "q", "rank": 1, "item_id": "b", "score": 2.0}
    ]
