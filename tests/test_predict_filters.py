"""Per-call filters of predict/recommend/predict_scores: a candidate whitelist (``items=``),
a blacklist (``exclude=``: global, per session as a list, dict or frame) and
``exclude_seen=`` overriding the constructor (issue 25). Every recommender is held to them by
``check_predict_time_filters`` in the shared suite; these tests pin the forms and errors."""

import numpy as np
import pandas as pd
import pytest

from llmseqrec import MostPopular
from llmseqrec.exceptions import UnknownItemError
from llmseqrec.recommenders import SKNN
from llmseqrec.testing import check_predict_time_filters, synthetic_data


@pytest.fixture(scope="module")
def fitted():
    train, prompts, _, _ = synthetic_data("str")
    return SKNN(k=20, sample_size=100).fit(train), prompts[:3]


def test_a_whitelist_keeps_the_order_of_the_full_ranking(fitted):
    model, prompts = fitted
    full = model.predict(prompts, k=model.n_items_)
    allowed = model.items_[1::3].tolist()
    got = model.predict(prompts, k=4, items=allowed + ["never-seen"])  # unknown ids ignored
    for row, f in zip(got, full):
        assert row.tolist() == [x for x in f if x in set(allowed)][:4]


def test_a_whitelist_smaller_than_k_pads_with_none(fitted):
    model, prompts = fitted
    allowed = [x for x in model.items_.tolist() if x not in set(prompts[0].tolist())][:2]
    got = model.predict(prompts[:1], k=5, items=allowed)
    assert got.shape == (1, 5) and set(got[0, :2]) == set(allowed)
    assert got[0, 2:].tolist() == [None] * 3


def test_exclusions_from_a_frame_of_past_purchases_apply_to_their_session(fitted):
    model, prompts = fitted
    keyed = {"u1": prompts[0], "u2": prompts[1]}
    top = model.predict(keyed, k=3)
    bought = pd.DataFrame({"session_id": ["u2", "u2"], "item_id": top[1, :2].tolist()})
    got = model.predict(keyed, k=3, exclude=bought)
    assert got[0].tolist() == top[0].tolist()
    assert not set(got[1].tolist()) & set(top[1, :2].tolist())
    table = model.recommend(keyed, k=3, exclude=bought)
    assert table.loc[table.session_id == "u2", "item_id"].tolist() == got[1].tolist()


def test_predict_scores_masks_exclusions_and_optionally_the_prompt(fitted):
    model, prompts = fitted
    raw = model.predict_scores(prompts[:1])
    col = {item: j for j, item in enumerate(model.items_.tolist())}
    banned = model.items_[0]
    masked = model.predict_scores(prompts[:1], exclude=[banned], exclude_seen=True)
    assert masked[0, col[banned]] == -np.inf
    assert all(masked[0, col[i]] == -np.inf for i in prompts[0].tolist())
    others = [j for j in range(len(col)) if masked[0, j] != -np.inf]
    np.testing.assert_array_equal(masked[0, others], raw[0, others])


def test_unknown_filter_ids_raise_with_handle_unknown_error(fitted):
    model, prompts = fitted
    strict = SKNN(k=20, sample_size=100, handle_unknown="error").fit(synthetic_data("str")[0])
    with pytest.raises(UnknownItemError):
        strict.predict(prompts, k=3, items=["never-seen"])
    with pytest.raises(UnknownItemError):
        strict.predict(prompts, k=3, exclude=["never-seen"])
    assert model.predict(prompts, k=3, exclude=["never-seen"]).shape == (3, 3)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"items": 5}, TypeError, "items must be a list of item ids"),
        ({"items": "item_1"}, TypeError, "items must be a list of item ids"),
        ({"items": ["item_1", None]}, ValueError, "items holds a missing item id"),
        ({"exclude": 3}, TypeError, "exclude must be a list of item ids"),
        ({"exclude": [["item_1"], ["item_2"]]}, ValueError, "2 lists for 3 sessions"),
        ({"exclude": ["item_1", ["item_2"]]}, TypeError, "mixes item ids and lists"),
        ({"exclude": {"nobody": ["item_1"]}}, ValueError, "names none of the prompts' sessions"),
        ({"exclude_seen": "yes"}, ValueError, "exclude_seen must be True, False or None"),
    ],
)
def test_bad_filters_are_clear_errors(fitted, kwargs, error, match):
    model, prompts = fitted
    with pytest.raises(error, match=match):
        model.predict(prompts, k=3, **kwargs)


def test_the_shared_check_catches_a_recommender_that_ignores_the_filters():
    class IgnoresFilters(MostPopular):
        def predict(self, sessions, k=20, **filters):  # drops items=/exclude=
            return super().predict(sessions, k=k)

    check_predict_time_filters(MostPopular())
    with pytest.raises(AssertionError, match="items= is not the ranking restricted"):
        check_predict_time_filters(IgnoresFilters())
