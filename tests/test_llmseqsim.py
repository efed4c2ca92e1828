import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import llmseqrec
from llmseqrec import LLMSeqSim
from llmseqrec.recommenders._decay import decay_weights


@pytest.mark.parametrize(
    "name, expected",
    [
        (None, [1, 1, 1, 1]),
        ("constant_linear", [0.7, 0.8, 0.9, 1.0]),
        ("scaling_linear", [0.25, 0.5, 0.75, 1.0]),
        ("scaling_quadratic", [0.0625, 0.25, 0.5625, 1.0]),
        ("scaling_cubic", [0.015625, 0.125, 0.421875, 1.0]),
        ("log", [1 / (np.log(4) + 1), 1 / (np.log(3) + 1), 1 / (np.log(2) + 1), 1.0]),
        ("harmonic", [1 / 4, 1 / 3, 1 / 2, 1.0]),
        ("harmonic_squared", [1 / 16, 1 / 9, 1 / 4, 1.0]),
    ],
)
def test_decay_weights_by_hand(name, expected):
    np.testing.assert_allclose(decay_weights(name, 4), expected)


def test_decay_floor_and_aliases():
    w = decay_weights("constant_linear", 15)
    assert w[0] == pytest.approx(1e-5) and w[-1] == 1.0  # 1 - 0.1 * 14 < 0 -> floor
    np.testing.assert_array_equal(
        decay_weights("squared_harmonic", 3), decay_weights("harmonic_squared", 3)
    )
    with pytest.raises(ValueError, match="decay must be one of"):
        decay_weights("cosine", 3)


VECS = {
    "a": np.array([1.0, 0.0, 0.0]),
    "b": np.array([0.0, 2.0, 0.0]),
    "c": np.array([1.0, 1.0, 0.0]),
    "d": np.array([0.0, 0.0, 3.0]),
    "e": np.array([2.0, 0.1, 0.0]),
}


def _fit(**params):
    # The raw vectors, a plain mean and cosine (0.1's defaults) unless a test says otherwise:
    # these tests check the arithmetic against the vectors as given.
    raw = {"reduction": None, "decay": None, "similarity": "cosine"}
    return LLMSeqSim(item_embeddings=VECS, **{**raw, **params}).fit([["a", "b"]])


def test_session_embedding_is_weighted_mean_with_duplicates_kept():
    model = _fit(decay="harmonic")
    codes = model.item_index_.encode(["a", "b", "a"])
    got = model.session_embeddings([codes])[0]
    w = np.array([1 / 3, 1 / 2, 1.0])
    expected = (w[0] * VECS["a"] + w[1] * VECS["b"] + w[2] * VECS["a"]) / w.sum()
    np.testing.assert_allclose(got, expected)
    last = _fit(aggregation="last").session_embeddings([codes])[0]
    np.testing.assert_allclose(last, VECS["a"])


def test_similarities_against_direct_computation():
    s = (VECS["a"] + VECS["b"]) / 2
    items = np.stack([VECS[i] for i in "abcde"])
    expected = {
        "dot": items @ s,
        "cosine": items @ s / (np.linalg.norm(items, axis=1) * np.linalg.norm(s)),
        "euclidean": 1 / (1 + np.linalg.norm(items - s, axis=1)),
    }
    for sim, exp in expected.items():
        model = _fit(similarity=sim)
        np.testing.assert_allclose(
            model.predict_scores([["a", "b"]], items=list("abcde"))[0], exp, rtol=1e-6
        )


def test_prompt_items_excluded_and_cold_start_items_recommended():
    model = _fit(similarity="cosine")
    recs = model.predict([["a"]], k=4)[0].tolist()
    assert "a" not in recs
    assert recs[0] == "e"  # closest to a; e never occurs in training (cold start)
    assert set(model.items_.tolist()) == set("abcde")
    assert LLMSeqSim(item_embeddings=VECS, exclude_seen=False).fit([["a"]]).predict(
        [["a"]], k=1
    ).tolist() == [["a"]]


def test_zero_vectors_never_produce_nan():
    vecs = dict(VECS, z=np.zeros(3))
    model = LLMSeqSim(item_embeddings=vecs).fit([["a", "z"]])
    scores = model.predict_scores([["z"], ["a"]])
    assert not np.isnan(scores).any()


def test_max_prompt_items_uses_last_items():
    model = _fit(max_prompt_items=1)
    assert (
        model.predict([["d", "a"]], k=2).tolist()
        == _fit(aggregation="last").predict([["d", "a"]], k=2).tolist()
    )


def test_reduction_normalises_and_lda_needs_classes(synthetic):
    from llmseqrec.text import ItemTextEncoder

    enc = ItemTextEncoder(backend="tfidf", dim=16, cache=False, random_state=0)
    model = LLMSeqSim(item_embeddings=enc, reduction="pca", n_components=4).fit(
        synthetic.interactions, item_metadata=synthetic.items
    )
    norms = np.linalg.norm(model.item_vectors_, axis=1)
    np.testing.assert_allclose(norms[norms > 0], 1.0, atol=1e-5)
    assert model.item_vectors_.shape[1] == 4
    with pytest.raises(ValueError, match="class_column"):
        LLMSeqSim(item_embeddings=enc, reduction="lda").fit(
            synthetic.interactions, item_metadata=synthetic.items
        )
    lda = LLMSeqSim(item_embeddings=enc, reduction="lda", class_column="category", n_components=3)
    assert (
        lda.fit(synthetic.interactions, item_metadata=synthetic.items).item_vectors_.shape[1] == 3
    )


@pytest.mark.parametrize("similarity", ["cosine", "dot", "euclidean"])
def test_float32_precision_ranks_as_float64_within_float32_rounding(similarity, tmp_path):
    rng = np.random.default_rng(0)
    vectors = {f"i{j}": rng.normal(size=24) for j in range(300)}
    sessions = [list(rng.choice(list(vectors), size=5)) for _ in range(40)]
    params = dict(item_embeddings=vectors, reduction=None, similarity=similarity)
    exact = LLMSeqSim(**params).fit(sessions)
    fast = LLMSeqSim(precision="float32", **params).fit(sessions)
    prompts = sessions[:20]
    a, b = exact.predict_scores(prompts), fast.predict_scores(prompts)
    # float32 arithmetic, not float64 rounded at the end: the scores differ in their last bits
    assert not np.array_equal(a, b)
    np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(exact.predict(prompts, k=10), fast.predict(prompts, k=10))
    fast.save(tmp_path / "m")
    np.testing.assert_array_equal(llmseqrec.load(tmp_path / "m").predict_scores(prompts), b)
    with pytest.raises(ValueError, match="precision must be 'float64' or 'float32'"):
        LLMSeqSim(precision="half", **params).fit(sessions)


def test_parameter_errors():
    with pytest.raises(ValueError, match="aggregation"):
        _fit(aggregation="max")
    with pytest.raises(ValueError, match="similarity"):
        _fit(similarity="jaccard")
    with pytest.raises(ValueError, match="item_metadata"):
        LLMSeqSim().fit([["a"]])


def test_save_load_with_mapping_embeddings(tmp_path):
    model = _fit(decay="log")
    model.save(tmp_path / "m")
    loaded = llmseqrec.load(tmp_path / "m")
    assert loaded.predict([["a", "b"]], k=3).tolist() == model.predict([["a", "b"]], k=3).tolist()


@settings(max_examples=25, deadline=None)
@given(
    st.permutations(list(range(12))),
    st.sampled_from(["cosine", "dot", "euclidean"]),
    st.sampled_from([None, "harmonic"]),
)
def test_catalogue_order_does_not_change_recommendations(perm, similarity, decay):
    rng = np.random.default_rng(0)
    ids = [f"i{j}" for j in range(12)]
    vectors = rng.normal(size=(12, 5))
    meta = pd.DataFrame({"title": ids}, index=pd.Index(ids, name="item_id"))
    base_emb = {i: v for i, v in zip(ids, vectors)}
    perm_emb = {ids[j]: vectors[j] for j in perm}
    sessions = [["i0", "i3"], ["i5", "i7", "i2"]]
    prompts = [["i1", "i4"], ["i9"]]
    a = LLMSeqSim(item_embeddings=base_emb, similarity=similarity, decay=decay).fit(
        sessions, item_metadata=meta
    )
    b = LLMSeqSim(item_embeddings=perm_emb, similarity=similarity, decay=decay).fit(
        sessions[::-1], item_metadata=meta.iloc[list(perm)]
    )
    assert a.predict(prompts, k=6).tolist() == b.predict(prompts, k=6).tolist()


@pytest.mark.parametrize("similarity", ["cosine", "dot", "euclidean"])
def test_faiss_index_matches_exact_search(similarity):
    pytest.importorskip("faiss")
    rng = np.random.default_rng(1)
    ids = [f"i{j}" for j in range(2000)]
    emb = dict(zip(ids, rng.normal(size=(2000, 16))))
    sessions = [list(rng.choice(ids, size=4, replace=False)) for _ in range(30)]
    exact = LLMSeqSim(item_embeddings=emb, similarity=similarity).fit(sessions)
    flat = LLMSeqSim(item_embeddings=emb, similarity=similarity, ann="flat", ann_candidates=20).fit(
        sessions
    )
    hnsw = LLMSeqSim(item_embeddings=emb, similarity=similarity, ann="hnsw", ann_candidates=20).fit(
        sessions
    )
    e, f, h = (m.predict(sessions, k=10) for m in (exact, flat, hnsw))
    assert (e == f).mean() > 0.99  # faiss works in float32: rare swaps of near-ties only
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(e.tolist(), h.tolist())])
    assert recall > 0.9
    assert not any(
        set(s) & set(r) for s, r in zip(sessions, h.tolist())
    )  # prompt items still excluded


def test_ann_model_saves_and_rebuilds_its_index(tmp_path):
    pytest.importorskip("faiss")
    model = LLMSeqSim(item_embeddings=VECS, ann="hnsw", ann_candidates=3).fit([["a", "b"]])
    model.save(tmp_path / "m")
    loaded = llmseqrec.load(tmp_path / "m")
    assert loaded.predict([["a"]], k=3).tolist() == model.predict([["a"]], k=3).tolist()
    with pytest.raises(ValueError, match="ann must be"):
        LLMSeqSim(item_embeddings=VECS, ann="annoy").fit([["a"]])
