"""Your data as it is (issue 25): any column names, any dataframe narwhals reads (polars is
tested when installed), a pandas Series of item lists; ``recommend`` names its key column
after the input's session column."""

import numpy as np
import pandas as pd
import pytest

import llmseqrec
from llmseqrec import MostPopular
from llmseqrec.data import temporal_split, to_sequences
from llmseqrec.datasets import make_synthetic_sessions
from llmseqrec.recommenders import SKNN


@pytest.fixture(scope="module")
def data():
    ds = make_synthetic_sessions(n_sessions=120, random_state=0)
    return ds.interactions, ds.items


def _renamed(df):
    return df.rename(columns={"session_id": "uid", "item_id": "sku", "timestamp": "ts"})


def test_custom_column_names_fit_the_same_model_and_are_kept_for_predict(data, tmp_path):
    interactions, _ = data
    standard = SKNN(k=20, sample_size=50).fit(interactions)
    custom = SKNN(k=20, sample_size=50).fit(
        _renamed(interactions), session_col="uid", item_col="sku", time_col="ts"
    )
    assert custom.frame_columns_ == {"session": "uid", "item": "sku", "time": "ts"}
    prompts = interactions[interactions.session_id.isin(interactions.session_id.unique()[:5])]
    expected = standard.predict(prompts, k=5)
    np.testing.assert_array_equal(custom.predict(_renamed(prompts), k=5), expected)
    table = custom.recommend(_renamed(prompts), k=3)
    assert list(table.columns) == ["uid", "rank", "item_id", "score"]
    custom.save(tmp_path / "m")
    loaded = llmseqrec.load(tmp_path / "m")
    assert loaded.frame_columns_ == custom.frame_columns_
    np.testing.assert_array_equal(loaded.predict(_renamed(prompts), k=5), expected)


def test_recommend_names_its_key_after_a_user_id_column(data):
    interactions, _ = data
    by_user = interactions.rename(columns={"session_id": "user_id"})
    model = MostPopular().fit(by_user)
    assert model.recommend(by_user.head(6), k=2).columns[0] == "user_id"
    assert model.recommend([["item_1"]], k=2).columns[0] == "session_id"


def test_a_series_of_item_lists_is_a_dict_of_sessions(data):
    interactions, _ = data
    sessions = to_sequences(interactions)
    series = pd.Series({k: list(v) for k, v in sessions.items()})
    model = SKNN(k=20, sample_size=50).fit(series)
    again = SKNN(k=20, sample_size=50).fit(sessions)
    prompts = series.head(5)
    np.testing.assert_array_equal(model.predict(prompts, k=5), again.predict(prompts, k=5))


def test_column_names_with_sessions_that_are_not_a_table_are_an_error():
    with pytest.raises(TypeError, match="item_col name columns of an interaction table"):
        MostPopular().fit({"s": ["a", "b"]}, item_col="sku")


def test_a_named_column_that_is_absent_is_a_clear_error(data):
    interactions, _ = data
    with pytest.raises(KeyError, match="item column 'sku' not in DataFrame columns"):
        MostPopular().fit(interactions, item_col="sku")


def test_polars_frames_work_wherever_pandas_frames_do(data):
    pl = pytest.importorskip("polars")
    interactions, items = data
    as_polars = pl.from_dict({c: interactions[c].to_list() for c in interactions.columns})
    split_pd, split_pl = temporal_split(interactions), temporal_split(as_polars)
    assert list(split_pl.train) == list(split_pd.train)
    assert split_pl.test.targets.tolist() == split_pd.test.targets.tolist()
    model = SKNN(k=20, sample_size=50).fit(as_polars)
    expected = SKNN(k=20, sample_size=50).fit(interactions)
    head = as_polars.filter(
        pl.col("session_id").is_in(interactions.session_id.unique()[:4].tolist())
    )
    np.testing.assert_array_equal(model.predict(head, k=5), expected.predict(_pd(head), k=5))
    table = items.reset_index()
    meta = pl.from_dict({c: table[c].to_list() for c in table.columns})
    assert llmseqrec.data.item_table(meta).equals(llmseqrec.data.item_table(table))


def _pd(frame):
    return pd.DataFrame({c: frame[c].to_list() for c in frame.columns})
