"""Bad input gives a clear library error or a correct result, never a silently wrong one
(issue 24). Every feature that takes user input extends this module."""

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

import llmseqrec
from llmseqrec import MostPopular, ReciprocalRankFusion, ScoreFusion
from llmseqrec.data import temporal_split, to_sequences
from llmseqrec.exceptions import SavedModelError
from llmseqrec.recommenders import SKNN
from llmseqrec.testing import synthetic_data


@pytest.mark.parametrize("cls", [ScoreFusion, ReciprocalRankFusion])
@pytest.mark.parametrize("name", ["../../x", "/tmp/x", "a/b", "..", ".hidden", "", "a\\b", 3])
def test_hybrid_part_names_that_are_not_plain_names_are_refused_at_fit(cls, name):
    train, _, _, _ = synthetic_data("str")
    model = cls(
        models=[(name, MostPopular()), ("knn", SKNN(k=20, sample_size=100))], weights=[1, 1]
    )
    with pytest.raises(ValueError, match="not a plain name"):
        model.fit(train)


def test_a_saved_hybrid_whose_part_names_were_edited_never_reads_outside_its_directory(tmp_path):
    train, prompts, _, _ = synthetic_data("str")
    model = ScoreFusion(
        models=[("pop", MostPopular()), ("knn", SKNN(k=20, sample_size=100))], weights=[1, 1]
    ).fit(train)
    model.save(tmp_path / "m")
    # A decoy model outside the directory, where "../../decoy" would point from parts/.
    MostPopular().fit(train).save(tmp_path / "decoy")
    config_file = tmp_path / "m" / "config.json"
    text = config_file.read_text()
    assert text.count('"pop"') >= 1
    config_file.write_text(text.replace('"pop"', '"../../decoy"'))
    with pytest.raises(ValueError, match="not a plain name"):
        llmseqrec.load(tmp_path / "m")
    # The untouched directory loads and predicts as before.
    config_file.write_text(text)
    loaded = llmseqrec.load(tmp_path / "m")
    assert [list(r) for r in loaded.predict(prompts[:5], k=5)] == [
        list(r) for r in model.predict(prompts[:5], k=5)
    ]
    assert json.loads(text)  # the edit above was to a JSON file that stays valid


def _frame():
    return pd.DataFrame(
        {
            "session_id": [1, 1, 1, 2, 2, 3, 3],
            "item_id": ["a", "b", "c", "a", "c", "b", "c"],
            "timestamp": [1, 2, 3, 1, 2, 5, 6],
        }
    )


@pytest.mark.parametrize(
    ("column", "value", "match"),
    [
        ("item_id", None, "'item_id' has 1 missing item ids"),
        ("item_id", np.nan, "'item_id' has 1 missing item ids"),
        ("session_id", np.nan, "'session_id' has 1 missing session ids"),
        ("timestamp", np.nan, "'timestamp' has 1 missing or non-finite"),
        ("timestamp", np.inf, "'timestamp' has 1 missing or non-finite"),
    ],
)
def test_missing_ids_and_timestamps_are_refused_naming_the_column_and_row(column, value, match):
    df = _frame()
    df[column] = df[column].astype(object if column != "timestamp" else float)
    df.loc[4, column] = value
    for call in (to_sequences, temporal_split, MostPopular().fit):
        with pytest.raises(ValueError, match=match + r".*first at row 4"):
            call(df)


@pytest.mark.parametrize("bad", [None, np.nan, float("nan")])
def test_missing_item_ids_in_session_lists_are_refused_at_fit_and_predict(bad):
    model = MostPopular().fit([["a", "b"], ["b", "c"]])
    with pytest.raises(ValueError, match="session 1 include None/NaN at position 1"):
        MostPopular().fit([["a", "b"], ["b", bad]])
    with pytest.raises(ValueError, match="None/NaN"):
        model.predict([["a", bad]])
    with pytest.raises(ValueError, match="session 'x' include None/NaN"):
        MostPopular().fit({"x": [bad, "a"]})


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"learning_rate": 0}, "learning_rate must be a finite number > 0"),
        ({"learning_rate": -1e-3}, "learning_rate must be a finite number > 0"),
        ({"learning_rate": float("nan")}, "learning_rate must be a finite number > 0"),
        ({"learning_rate": "1e-3"}, "learning_rate must be a finite number > 0"),
        ({"weight_decay": -0.1}, "weight_decay must be a finite number >= 0"),
        ({"dropout": 1.0}, "dropout must be a finite number >= 0 and < 1"),
        ({"val_frac": 1.0}, "val_frac must be a finite number >= 0 and < 1"),
        ({"clip_norm": 0}, "clip_norm must be a finite number > 0"),
        ({"patience": -1}, "patience must be a non-negative integer"),
        ({"val_max_sessions": 0}, "val_max_sessions must be a positive integer"),
        ({"n_layers": 0}, "n_layers must be a positive integer"),
        ({"val_smoothing": 0}, "val_smoothing must be a positive integer"),
        ({"ema_decay": 1.0}, "ema_decay must be a finite number > 0 and < 1"),
        ({"ema_decay": 0.0}, "ema_decay must be a finite number > 0 and < 1"),
        ({"n_heads": 3}, r"emb_dim \(64\) must be divisible by n_heads \(3\)"),
        ({"emb_dim": 0}, "emb_dim must be a positive integer"),
    ],
)
def test_numeric_hyper_parameters_are_checked_in_fit(params, match):
    from llmseqrec import SASRec

    train, _, _, _ = synthetic_data("str")
    with pytest.raises(ValueError, match=match):
        SASRec(epochs=1, show_progress=False, **params).fit(train)


@pytest.mark.parametrize("name", ["SASRec", "BERT4Rec", "GRU4Rec"])
def test_sessions_too_short_to_learn_from_are_a_clear_error_not_a_fitted_model(name):
    cls = getattr(llmseqrec, name)
    with pytest.raises(ValueError, match="none of the 3 training sessions has two"):
        cls(epochs=1, show_progress=False).fit([["a"], ["b"], ["c"]])


def test_gru4rec_hidden_size_is_checked_in_fit():
    with pytest.raises(ValueError, match="hidden_dim must be a positive integer"):
        llmseqrec.GRU4Rec(hidden_dim=0, epochs=1, show_progress=False).fit([["a", "b"]] * 3)


def test_recent_sampling_follows_timestamps_not_the_row_order_of_the_frame():
    from llmseqrec.datasets import make_synthetic_sessions
    from llmseqrec.recommenders import VSKNN

    df = make_synthetic_sessions(n_sessions=240, random_state=0).interactions
    split_train = df[df["session_id"].isin(df["session_id"].unique()[:200])]
    prompts = [list(g["item_id"])[:3] for _, g in df.groupby("session_id")][200:]
    shuffled = split_train.sample(frac=1.0, random_state=1)
    # Sessions now first appear in another order; their timestamps are unchanged.
    assert list(pd.unique(shuffled["session_id"])) != list(pd.unique(split_train["session_id"]))
    model = VSKNN(k=5, sample_size=10, sampling="recent")
    items = sorted(split_train["item_id"].unique())
    a = model.fit(split_train).predict_scores(prompts, items=items)
    b = clone(model).fit(shuffled).predict_scores(prompts, items=items)
    # Same neighbours, so the same scores (lists may differ only in the order of ties,
    # which follows the internal item codes, i.e. the first appearance of each item).
    np.testing.assert_allclose(a, b)


def test_folds_and_evaluation_without_cases_are_errors_not_zero_metrics():
    from llmseqrec.data import Split, TestCases, temporal_folds
    from llmseqrec.evaluation import evaluate

    train = {i: np.array(["a", "b"]) if i % 2 else np.array(["c", "d"]) for i in range(6)}
    split = Split(train=train, test=TestCases([], [], np.array([])), items=np.array(list("abcd")))
    with pytest.raises(ValueError, match="fold 1/5 has no validation cases: 6 training sessions"):
        temporal_folds(split, n_folds=5)
    with pytest.raises(ValueError, match="has no test cases"):
        evaluate(MostPopular(), split)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_precomputed_vectors_with_nan_or_inf_name_the_item(bad):
    from llmseqrec import LLMSeqSim

    vectors = {"a": [1.0, 0.0], "b": [0.0, 1.0], "c": [1.0, bad]}
    with pytest.raises(
        ValueError, match="NaN or infinite values for 1 items \\(first: item 'c'\\)"
    ):
        LLMSeqSim(item_embeddings=vectors, reduction=None).fit([["a", "b"], ["b", "c"]])


def test_item_metadata_with_ids_of_another_kind_is_refused():
    from llmseqrec import LLMSeqSim

    items = pd.DataFrame(
        {"title": ["red shoe", "blue hat", "green bag"]},
        index=pd.Index([1, 2, 3], name="item_id"),
    )
    with pytest.raises(ValueError, match="describes none of the 3 training items"):
        LLMSeqSim().fit([["1", "2"], ["2", "3"]], item_metadata=items)
    # Partly described catalogues are fine (items without text get empty text).
    MostPopular().fit([["1", "2"], ["2", "x"]], item_metadata=items.rename(index=str))


def test_a_precomputed_vector_of_another_length_names_the_item():
    from llmseqrec import LLMSeqSim

    vectors = {"a": [1.0, 0.0], "b": [0.0, 1.0], "c": [1.0, 0.0, 2.0]}
    with pytest.raises(ValueError, match="the vector of item 'c' has shape \\(3,\\)"):
        LLMSeqSim(item_embeddings=vectors, reduction=None).fit([["a", "b"], ["b", "c"]])


def test_a_capped_pca_warns_instead_of_silently_giving_fewer_components():
    from llmseqrec.text import EmbeddingReducer

    X = np.random.default_rng(0).normal(size=(10, 6))
    with pytest.warns(UserWarning, match="using 6 instead of 8"):
        reducer = EmbeddingReducer("pca", 8).fit(X)
    assert reducer.n_components_ == 6


def _saved(tmp_path):
    train, _, _, _ = synthetic_data("str")
    SKNN(k=20, sample_size=100).fit(train).save(tmp_path / "m")
    return tmp_path / "m"


def test_a_corrupt_configuration_names_the_file(tmp_path):
    path = _saved(tmp_path)
    text = (path / "config.json").read_text()
    (path / "config.json").write_text(text[: len(text) // 2])
    with pytest.raises(SavedModelError, match="config.json is not a saved model's configuration"):
        llmseqrec.load(path)


def test_a_truncated_array_file_names_the_file_and_the_class(tmp_path):
    path = _saved(tmp_path)
    data = (path / "arrays.safetensors").read_bytes()
    (path / "arrays.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(SavedModelError, match="arrays.safetensors of a saved SKNN cannot be read"):
        llmseqrec.load(path)


def test_a_directory_relabelled_as_another_class_is_a_clear_error(tmp_path):
    path = _saved(tmp_path)
    config = json.loads((path / "config.json").read_text())
    config["class"] = "SASRec"
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(SavedModelError, match="does not hold a SASRec this version can load"):
        llmseqrec.load(path)


def test_truncated_network_weights_name_the_model(tmp_path):
    from llmseqrec import SASRec

    train, _, _, _ = synthetic_data("str")
    SASRec(emb_dim=8, n_heads=1, epochs=1, show_progress=False, random_state=0).fit(train).save(
        tmp_path / "m"
    )
    data = (tmp_path / "m" / "model.safetensors").read_bytes()
    (tmp_path / "m" / "model.safetensors").write_bytes(data[:100])
    with pytest.raises(SavedModelError, match="saved SASRec in .* is truncated or corrupt"):
        llmseqrec.load(tmp_path / "m")


def _serve(body: bytes):
    """A server answering every POST with ``body`` (HTTP 200): (url, server)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/v1", server


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"<html>busy</html>", "answered with something that is not JSON: b'<html>busy"),
        (b'{"object": "list"}', "answered without data\\[\\].embedding"),
    ],
)
def test_a_malformed_embedding_answer_is_an_api_error_naming_the_url(body, match, http_transport):
    from llmseqrec.text import ItemTextEncoder
    from llmseqrec.text._backends import EmbeddingAPIError

    url, server = _serve(body)
    items = pd.DataFrame({"item_id": ["a"], "title": ["red shoe"]})
    encoder = ItemTextEncoder(backend="openai", model="m", api_base=url, cache=False)
    try:
        with pytest.raises(EmbeddingAPIError, match=match) as info:
            encoder.fit_transform(items)
        assert url in str(info.value)
    finally:
        server.shutdown()


def _warm_up_transport():
    from llmseqrec.utils import _http

    if _http._use_openai():
        import openai  # noqa: F401


def test_a_closed_port_fails_at_once_and_a_silent_server_within_the_deadline(http_transport):
    import socket
    import time

    from llmseqrec.text import ItemTextEncoder
    from llmseqrec.text._backends import EmbeddingAPIError

    items = pd.DataFrame({"item_id": ["a"], "title": ["red shoe"]})
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    _warm_up_transport()  # importing the openai client is not part of the wait
    start = time.monotonic()
    with pytest.raises(EmbeddingAPIError, match="refused the connection"):
        ItemTextEncoder(
            backend="openai", model="m", api_base=f"http://127.0.0.1:{closed}/v1", cache=False
        ).fit_transform(items)
    assert time.monotonic() - start < 5
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"
        start = time.monotonic()
        with pytest.raises(EmbeddingAPIError, match="failed after"):
            ItemTextEncoder(
                backend="openai", model="m", api_base=url, cache=False, timeout=1, deadline=2.5
            ).fit_transform(items)
        assert time.monotonic() - start < 6


def _serve_badly(mode: str):
    """A server whose answers trickle (a byte every 0.2 s, never done within 3 s) or stop
    half-way (fewer bytes than the Content-Length it announced): (url, server)."""
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    body = b'{"data": [{"embedding": [0.1, 0.2]}]}'

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if mode == "half":
                self.wfile.write(body[: len(body) // 2])
                return
            try:
                for byte in body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:  # the client gave up
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/v1", server


def test_a_trickling_answer_is_cut_at_the_deadline_not_read_forever(http_transport):
    import time

    from llmseqrec.text import ItemTextEncoder
    from llmseqrec.text._backends import EmbeddingAPIError

    url, server = _serve_badly("trickle")
    items = pd.DataFrame({"item_id": ["a"], "title": ["red shoe"]})
    start = time.monotonic()
    try:
        # each byte arrives well within the 1 s timeout of one read, the whole answer would
        # take 8 s: each attempt is cut at its timeout, all of them at the deadline
        with pytest.raises(EmbeddingAPIError, match="failed after .*timed out"):
            ItemTextEncoder(
                backend="openai", model="m", api_base=url, cache=False, timeout=1, deadline=2.5
            ).fit_transform(items)
        assert time.monotonic() - start < 3.5
    finally:
        server.shutdown()


def test_an_answer_cut_short_is_retried_then_an_api_error(http_transport):
    from llmseqrec.text import ItemTextEncoder
    from llmseqrec.text._backends import EmbeddingAPIError

    url, server = _serve_badly("half")
    items = pd.DataFrame({"item_id": ["a"], "title": ["red shoe"]})
    try:
        with pytest.raises(
            EmbeddingAPIError, match="failed after .*(IncompleteRead|complete message body)"
        ):
            ItemTextEncoder(
                backend="openai", model="m", api_base=url, cache=False, timeout=1, deadline=2.5
            ).fit_transform(items)
    finally:
        server.shutdown()


def test_an_item_with_no_field_content_renders_empty_not_the_template_labels():
    from llmseqrec.text import render_texts

    items = pd.DataFrame(
        {"title": ["Lipstick", None, ""], "genres": ["red", None, None], "tags": [None, None, ""]}
    )
    texts = render_texts(items, "{title}. Genres: {genres}. Tags: {tags}")
    assert texts[1] == "" and texts[2] == ""
    assert texts[0].startswith("Lipstick. Genres: red")


def test_an_empty_table_and_all_empty_texts_are_clear_errors():
    from llmseqrec.text import ItemTextEncoder

    empty = pd.DataFrame({"session_id": [], "item_id": [], "timestamp": []})
    with pytest.raises(ValueError, match="empty interaction table"):
        temporal_split(empty)
    items = pd.DataFrame({"item_id": ["a", "b"], "title": [None, ""]})
    with pytest.raises(ValueError, match="all 2 rendered texts are empty"):
        ItemTextEncoder(backend="tfidf", cache=False).fit_transform(items)


def test_prompts_made_only_of_unknown_items_warn_instead_of_silently_ranking_by_popularity():
    model = MostPopular().fit([["a", "b"], ["b", "c"]])
    with pytest.warns(UserWarning, match="1 of 2 prompts hold only items MostPopular never saw"):
        model.predict([["x", "y"], ["a"]], k=2)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict([["a", "x"]], k=2)  # one known item is enough: no warning


def test_integer_ids_beyond_int64_stay_exact():
    big = 2**70
    model = MostPopular().fit([[big, 1], [1, 2], [big + 1, big]])
    assert model.predict([[2]], k=3)[0].tolist() == [big, 1, big + 1]
    assert model.predict([[big]], k=1)[0].tolist() == [1]


def test_a_reduction_capped_below_a_multiple_of_n_heads_says_so():
    from llmseqrec import LLM2SASRec

    rng = np.random.default_rng(0)
    vectors = {i: rng.normal(size=8) for i in "abcde"}
    sessions = [list("abcde"), list("edcba"), list("abced")] * 4
    model = LLM2SASRec(item_embeddings=vectors, emb_dim=8, n_heads=2, epochs=1, show_progress=False)
    with pytest.warns(UserWarning, match="using 5 instead of 8"):
        with pytest.raises(ValueError, match="reduced to 5 dimensions .* 2 heads cannot share"):
            model.fit(sessions)


def test_a_hybrid_sees_a_frame_in_time_order_as_its_parts_do_alone():
    from llmseqrec import EmbeddingEnsemble
    from llmseqrec.datasets import make_synthetic_sessions
    from llmseqrec.recommenders import VSKNN

    df = make_synthetic_sessions(n_sessions=120, random_state=0).interactions
    shuffled = df.sample(frac=1.0, random_state=1)
    prompts = [list(g["item_id"])[:3] for _, g in df.groupby("session_id")][:20]
    items = sorted(df["item_id"].unique())
    hybrid = EmbeddingEnsemble(
        first=VSKNN(k=5, sample_size=10), second=MostPopular(), rank=20
    )  # rank 20: the V-SKNN part's list
    a = hybrid.fit(df).parts_["first"].predict_scores(prompts, items=items)
    b = clone(hybrid).fit(shuffled).parts_["first"].predict_scores(prompts, items=items)
    np.testing.assert_allclose(a, b)


_ids = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80),
    st.text(min_size=1, max_size=4),
    st.tuples(st.integers(0, 3), st.text(max_size=2)),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(_ids, min_size=1, max_size=6), min_size=2, max_size=8))
def test_random_ids_of_mixed_types_give_top_k_lists_of_catalogue_items(sessions):
    from llmseqrec.recommenders import SKNN

    for model in (MostPopular(), SKNN(k=5, sample_size=10)):
        model.fit(sessions)
        catalogue = set(model.items_.tolist())
        for prompt, row in zip(sessions, model.predict(sessions, k=3)):
            real = [item for item in row if item is not None]
            assert all(item in catalogue for item in real)
            assert not any(isinstance(item, float) and np.isnan(item) for item in real)
            # None pads a row only when fewer than k items are left to recommend.
            assert len(real) == min(3, len(catalogue - set(prompt)))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from([None, np.nan, float("inf")]), min_size=1, max_size=3))
def test_injected_missing_values_never_reach_a_model(bad):
    df = _frame().astype({"item_id": object, "timestamp": float})
    for i, value in enumerate(bad):
        column = "timestamp" if value == float("inf") else "item_id"
        df.loc[i, column] = value
    with pytest.raises(ValueError, match="missing|non-finite"):
        MostPopular().fit(df)


def test_reciprocal_rank_fusion_refuses_string_weights_at_fit():
    train, _, _, _ = synthetic_data("str")
    model = ReciprocalRankFusion(
        models=[("pop", MostPopular()), ("knn", SKNN(k=5))], weights="auto"
    )
    with pytest.raises(ValueError, match="weights='auto' is ScoreFusion's"):
        model.fit(train)


def test_the_shared_suite_catches_a_recommender_that_accepts_a_bad_k():
    from llmseqrec import MostPopular
    from llmseqrec.testing import check_bad_input_is_a_library_error

    class LenientMostPopular(MostPopular):
        def predict(self, X, k=10):  # coerces k instead of refusing it
            return super().predict(X, k=max(1, int(float(k))))

    check_bad_input_is_a_library_error(MostPopular())
    with pytest.raises(AssertionError, match="k=0 raised no error"):
        check_bad_input_is_a_library_error(LenientMostPopular())


def test_item_metadata_that_is_not_a_frame_and_candidates_that_are_not_a_list_are_clear():
    from llmseqrec import LLMSeqSim
    from llmseqrec.text import ItemTextEncoder

    train, prompts, _, _ = synthetic_data("str")
    encoder = ItemTextEncoder(backend="tfidf", dim=16, cache=False, show_progress=False)
    with pytest.raises(TypeError, match="item metadata must be a pandas DataFrame .* got list"):
        LLMSeqSim(item_embeddings=encoder, n_components=8).fit(train, item_metadata=[1, 2])
    model = MostPopular().fit(train)
    for items in (5, "item_1"):
        with pytest.raises(TypeError, match="items must be a list of candidate item ids"):
            model.predict_scores(prompts[:2], items=items)


def test_a_remote_endpoint_without_an_api_key_fails_at_once(monkeypatch):
    import socket

    from llmseqrec import LLMSeqPrompt
    from llmseqrec.text import ItemTextEncoder

    # "At once": before any connection is attempted (no request, no retries), not by a clock.
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("the test forbids network access")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    items = pd.DataFrame({"item_id": ["a"], "title": ["red shoe"]})
    with pytest.raises(ValueError, match="OPENAI_API_KEY holds no API key"):
        ItemTextEncoder(backend="openai", model="m", cache=False).fit_transform(items)
    train, prompts, _, items = synthetic_data("str")
    hosted = LLMSeqPrompt(api_base="https://api.example.com/v1", api_model="m")
    with pytest.raises(ValueError, match="api.example.com/v1 is a remote endpoint"):
        hosted.fit(train, item_metadata=items).predict(prompts[:1])
    assert attempts == []


def test_dropped_sessions_are_announced_not_silent():
    from llmseqrec import SASRec

    train, _, _, _ = synthetic_data("str")
    with_singles = list(train.values()) + [["item_1"], ["item_2"]]
    with pytest.warns(UserWarning, match=r"2 of \d+ training sessions hold a single item"):
        SASRec(emb_dim=8, n_heads=1, epochs=1, show_progress=False).fit(with_singles)
    df = pd.DataFrame(
        {
            "session_id": [1, 1, 2, 2, 3, 3],
            "item_id": ["a", "b", "a", "b", "x", "y"],  # session 3: only unseen items
            "timestamp": [1, 2, 3, 4, 5, 6],
        }
    )
    with pytest.warns(UserWarning, match="1 of 1 test sessions were dropped"):
        split = temporal_split(df, test_frac=0.3)
    assert split.info["n_test_sessions_dropped"] == 1
