import json
import warnings

import numpy as np
import pandas as pd
import pytest

from llmseqrec.exceptions import NotFittedError
from llmseqrec.text import (
    EmbeddingAPIError,
    EmbeddingReducer,
    EmbeddingServer,
    ItemTextEncoder,
    _backends,
    item_embedding_matrix,
    render_texts,
)

ITEMS = pd.DataFrame(
    {
        "item_id": ["a", "b", "c", "d"],
        "title": ["red lipstick matte", "red lipstick gloss", "garden hose 20m", None],
        "brand": ["Acme", None, "HoseCo", "Acme"],
    }
).set_index("item_id")


def test_render_texts_template_and_errors():
    assert render_texts(ITEMS, "{title} - {brand}") == [
        "red lipstick matte - Acme",
        "red lipstick gloss",
        "garden hose 20m - HoseCo",
        "Acme",
    ]
    with pytest.raises(KeyError, match="genres"):
        render_texts(ITEMS, "{genres}")


@pytest.fixture(scope="module")
def minilm_vectors(tmp_path_factory):
    enc = ItemTextEncoder(cache=False).fit(ITEMS)
    return enc.transform(ITEMS)


def test_sentence_transformers_default_model_offline(minilm_vectors):
    X = minilm_vectors
    assert X.shape == (4, 384) and X.dtype == np.float32
    assert np.all(X[3] == 0)  # empty title -> zero vector (paper's policy)
    sim = X[:3] @ X[:3].T
    assert sim[0, 1] > sim[0, 2]  # the two lipsticks are closer than lipstick/hose


def test_cache_hit_miss_and_invalidation(tmp_path, minilm_vectors):
    enc = ItemTextEncoder(cache_dir=str(tmp_path)).fit(ITEMS)
    first = enc.transform(ITEMS)
    assert enc.n_calls_ == 3  # three non-empty texts
    again = ItemTextEncoder(cache_dir=str(tmp_path)).fit(ITEMS)
    np.testing.assert_array_equal(again.transform(ITEMS), first)
    assert again.n_calls_ == 0  # full hit: no model call
    np.testing.assert_allclose(first, minilm_vectors, atol=1e-6)  # same with the cache off
    # A new item: only it is embedded.
    more = pd.concat(
        [
            ITEMS,
            pd.DataFrame(
                {"title": ["blue kite"], "brand": [None]}, index=pd.Index(["e"], name="item_id")
            ),
        ]
    )
    again.transform(more)
    assert again.n_calls_ == 1
    # Another template or model invalidates.
    other = ItemTextEncoder(cache_dir=str(tmp_path), template="{title} {brand}").fit(ITEMS)
    other.transform(ITEMS)
    assert other.n_calls_ == 4
    tfidf = ItemTextEncoder(backend="tfidf", dim=2, cache_dir=str(tmp_path), random_state=0).fit(
        ITEMS
    )
    tfidf.transform(ITEMS)
    assert tfidf.n_calls_ == 3


def test_huggingface_mean_pooling_matches_sentence_transformers(minilm_vectors):
    # all-MiniLM-L6-v2 = mean pooling + L2 normalisation: the plain-transformers backend
    # with normalize=True must give the same vectors.
    hf = ItemTextEncoder(backend="huggingface", normalize=True, cache=False).fit(ITEMS)
    np.testing.assert_allclose(hf.transform(ITEMS), minilm_vectors, atol=1e-5)


def test_openai_backend_against_a_real_local_server(monkeypatch, http_transport):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(_backends.default_sentence_transformer(), device="cpu")
    with EmbeddingServer(lambda texts: model.encode(texts), model_name="minilm") as server:
        enc = ItemTextEncoder(
            backend="openai", model="minilm", api_base=server.url, batch_size=2, cache=False
        )
        X = enc.fit(ITEMS).transform(ITEMS)
        # what the server computes: plain float32 torch (the default runtime may differ)
        served = ItemTextEncoder(runtime="torch", cache=False).fit(ITEMS).transform(ITEMS)
        np.testing.assert_allclose(X, served, atol=1e-6)
        assert server.requests == 2  # 3 texts in batches of 2


def test_openai_backend_auth_error_and_retries(monkeypatch, http_transport):
    monkeypatch.setenv("MY_KEY", "secret")
    with EmbeddingServer(lambda t: np.ones((len(t), 3)), api_key="secret") as server:
        bad = ItemTextEncoder(
            backend="openai", api_base=server.url, api_key_env="NO_SUCH_ENV", cache=False
        ).fit(ITEMS)
        with pytest.raises(EmbeddingAPIError, match="refused the API key"):
            bad.transform(ITEMS)
        good = ItemTextEncoder(
            backend="openai", api_base=server.url, api_key_env="MY_KEY", cache=False
        ).fit(ITEMS)
        assert good.transform(ITEMS).shape == (4, 3)
    monkeypatch.setattr(_backends.OpenAIEmbeddingsBackend, "_initial_delay", 0.01)
    with EmbeddingServer(lambda t: np.ones((len(t), 3)), fail_first=2) as server:
        enc = ItemTextEncoder(backend="openai", api_base=server.url, cache=False).fit(ITEMS)
        assert enc.transform(ITEMS).shape == (4, 3)
        assert server.requests == 3  # two 503s, then success
    with EmbeddingServer(lambda t: np.ones((len(t), 3)), fail_first=100) as server:
        enc = ItemTextEncoder(backend="openai", api_base=server.url, cache=False).fit(ITEMS)
        with pytest.raises(EmbeddingAPIError, match="attempts"):
            enc.transform(ITEMS)


def test_openai_backend_network_error_is_clear(monkeypatch, http_transport):
    monkeypatch.setattr(_backends.OpenAIEmbeddingsBackend, "_initial_delay", 0.01)
    enc = ItemTextEncoder(backend="openai", api_base="http://127.0.0.1:9/v1", cache=False).fit(
        ITEMS
    )
    with pytest.raises(EmbeddingAPIError, match="127.0.0.1:9"):
        enc.transform(ITEMS)


def test_empty_text_policies():
    zero = ItemTextEncoder(backend="tfidf", dim=2, cache=False, normalize=True, random_state=0).fit(
        ITEMS
    )
    X = zero.transform(ITEMS)
    assert np.all(X[3] == 0) and not np.isnan(X).any()
    with pytest.raises(ValueError, match="empty text"):
        ItemTextEncoder(backend="tfidf", dim=2, cache=False, empty_text="error").fit(
            ITEMS
        ).transform(ITEMS)
    encoded = ItemTextEncoder(cache=False, empty_text="encode").fit(ITEMS).transform(ITEMS)
    assert np.abs(encoded[3]).sum() > 0


def test_precomputed_vectors_forms(tmp_path):
    vecs = np.arange(8, dtype=np.float32).reshape(4, 2)
    by_array = (
        ItemTextEncoder(backend="precomputed", item_embeddings=vecs).fit(ITEMS).transform(ITEMS)
    )
    np.testing.assert_array_equal(by_array, vecs)
    mapping = {"a": [1, 1], "c": [2, 2]}
    X = ItemTextEncoder(backend="precomputed", item_embeddings=mapping).fit(ITEMS).transform(ITEMS)
    assert X.tolist() == [[1, 1], [0, 0], [2, 2], [0, 0]]
    np.savez(tmp_path / "v.npz", ids=np.array(["b"]), vectors=np.array([[5.0, 6.0]]))
    assert ItemTextEncoder(backend="precomputed", item_embeddings=str(tmp_path / "v.npz")).fit(
        ITEMS
    ).transform(ITEMS)[1].tolist() == [5, 6]
    pd.DataFrame({"item_id": ["d"], "embedding": [json.dumps([7.0, 8.0])]}).to_csv(
        tmp_path / "v.csv", index=False
    )
    assert ItemTextEncoder(backend="precomputed", item_embeddings=str(tmp_path / "v.csv")).fit(
        ITEMS
    ).transform(ITEMS)[3].tolist() == [7, 8]
    with pytest.raises(ValueError, match="shape"):
        ItemTextEncoder(backend="precomputed", item_embeddings=vecs[:2]).fit(ITEMS)


def test_encoder_errors():
    with pytest.raises(ValueError, match="backend"):
        ItemTextEncoder(backend="word2vec").fit(ITEMS)
    with pytest.raises(NotFittedError):
        ItemTextEncoder().transform(ITEMS)


def test_item_embedding_matrix_alignment():
    ids = np.array(["c", "a", "zz"], dtype=object)
    out, dim = item_embedding_matrix({"a": [1.0], "c": [2.0]}, ids)
    assert out.tolist() == [[2.0], [1.0], [0.0]] and dim == 1
    with pytest.raises(TypeError, match="embeddings must be"):
        item_embedding_matrix(42, ids)


@pytest.mark.parametrize("method", ["pca", "random", "autoencoder", "lda"])
def test_reducers_shapes_determinism_and_normalisation(method):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 32)).astype(np.float32)
    y = np.repeat(np.arange(6), 10)
    make = lambda: EmbeddingReducer(method, n_components=4, random_state=7).fit(X, y)  # noqa: E731
    a, b = make().transform(X), make().transform(X)
    assert a.shape == (60, 4) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    normed = (
        EmbeddingReducer(method, n_components=4, normalize=True, random_state=7)
        .fit(X, y)
        .transform(X)
    )
    np.testing.assert_allclose(np.linalg.norm(normed, axis=1), 1.0, atol=1e-5)


def test_reducer_seeds_differ_and_lda_cap():
    X = np.random.default_rng(0).normal(size=(30, 16)).astype(np.float32)
    r1 = EmbeddingReducer("random", n_components=4, random_state=1).fit(X).transform(X)
    r2 = EmbeddingReducer("random", n_components=4, random_state=2).fit(X).transform(X)
    assert not np.allclose(r1, r2)
    with pytest.warns(UserWarning, match="n_classes - 1 = 2"):
        lda = EmbeddingReducer("lda", n_components=10).fit(X, np.arange(30) % 3)
    assert lda.n_components_ == 2 and lda.transform(X).shape == (30, 2)
    with pytest.raises(ValueError, match="item classes"):
        EmbeddingReducer("lda").fit(X)
    with pytest.raises(ValueError, match="method"):
        EmbeddingReducer("umap").fit(X)


def test_pca_matches_sklearn_and_autoencoder_learns():
    from sklearn.decomposition import PCA

    X = np.random.default_rng(0).normal(size=(200, 16)).astype(np.float32) @ np.diag(
        np.linspace(3, 0.1, 16)
    ).astype(np.float32)
    ours = EmbeddingReducer("pca", n_components=3, random_state=0).fit(X).transform(X)
    ref = PCA(n_components=3).fit_transform(X)
    np.testing.assert_allclose(np.abs(ours), np.abs(ref), atol=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        short = (
            EmbeddingReducer("autoencoder", n_components=3, ae_epochs=1, random_state=0)
            .fit(X)
            .transform(X)
        )
        long = (
            EmbeddingReducer(
                "autoencoder", n_components=3, ae_epochs=200, ae_learning_rate=1e-2, random_state=0
            )
            .fit(X)
            .transform(X)
        )

    # A trained linear autoencoder spans the top principal subspace: the PCA scores are
    # (almost) a linear function of its codes; one epoch is far from that.
    def r2(codes):
        design = np.c_[codes, np.ones(len(codes))]
        resid = ref - design @ np.linalg.lstsq(design, ref, rcond=None)[0]
        return 1 - resid.var() / ref.var()

    assert r2(long) > 0.98
    assert r2(long) > r2(short)
