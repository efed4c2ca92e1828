import math

import numpy as np
import pytest

from llmseqrec.recommenders import SFSKNN, SKNN, SSKNN, VSKNN, SKNNEmb

TRAIN = [["a", "b"], ["a", "c"], ["b", "c", "d"], ["e"]]  # chronological order


def scores(model, prompt, items):
    return dict(zip(items, model.predict_scores([prompt], items=items)[0].tolist()))


def test_sknn_cosine_by_hand_and_backfill():
    model = SKNN(k=10).fit(TRAIN)
    s = scores(model, ["a"], ["b", "c"])
    assert s["b"] == pytest.approx(1 / math.sqrt(2)) and s["c"] == pytest.approx(1 / math.sqrt(2))
    # b and c tie (b first by catalogue order); d and e only by popularity back-fill.
    assert model.predict([["a"]], k=4).tolist() == [["b", "c", "d", "e"]]
    no_fill = SKNN(k=10, backfill=None).fit(TRAIN).predict([["a"]], k=4)
    assert no_fill.tolist() == [["b", "c", None, None]]


def test_top_k_neighbours_prefers_recent_on_ties_and_recent_sampling():
    assert SKNN(k=1).fit(TRAIN).predict(
        [["a"]],
        k=1,
    ).tolist() == [["c"]]  # s1 is more recent than s0
    assert SKNN(k=10, sample_size=1).fit(TRAIN).predict([["a"]], k=1).tolist() == [["c"]]


def test_random_sampling_is_seeded_per_prompt():
    train = [["a", f"x{i}"] for i in range(50)]
    m1 = SKNN(k=5, sample_size=5, sampling="random", random_state=3, backfill=None).fit(train)
    m2 = SKNN(k=5, sample_size=5, sampling="random", random_state=3, backfill=None).fit(train)
    r1 = m1.predict([["a"]], k=5)
    assert r1.tolist() == m2.predict([["a"]], k=5).tolist()
    assert r1.tolist() == m1.predict([["a"], ["a", "x0"]], k=5)[:1].tolist()  # batch-independent
    other = (
        SKNN(k=5, sample_size=5, sampling="random", random_state=4, backfill=None)
        .fit(train)
        .predict([["a"]], k=5)
    )
    assert set(r1.ravel()) != set(other.ravel())


def test_idf_weighting():
    model = SKNN(k=10, idf_weighting=True).fit(TRAIN)
    s = scores(model, ["b"], ["a", "c", "d"])
    sim_s0 = 1 / (math.sqrt(1) * math.sqrt(2))
    sim_s2 = 1 / (math.sqrt(1) * math.sqrt(3))
    assert s["a"] == pytest.approx(sim_s0 * (1 + math.log(4 / 2)))
    assert s["d"] == pytest.approx(sim_s2 * (1 + math.log(4 / 1)))


def test_vsknn_decayed_prompt():
    model = VSKNN(k=10).fit(TRAIN)  # harmonic decay, dot similarity
    s = scores(model, ["a", "b"], ["c", "d"])
    # weights a=1/2, b=1 -> s1 (a,c): 0.5; s2 (b,c,d): 1.0
    assert s["c"] == pytest.approx(1.5) and s["d"] == pytest.approx(1.0)


def test_ssknn_sequential_weights():
    model = SSKNN(k=10, similarity="dot").fit(TRAIN)
    s = scores(model, ["a", "b"], ["c", "d"])
    # s1 holds a (position 1 of 2) -> x0.5; s2 holds b (position 2) -> x1
    assert s["c"] == pytest.approx(1 * 0.5 + 1 * 1.0) and s["d"] == pytest.approx(1.0)


def test_neighbour_decay_weights_by_most_recent_common_item():
    # Prompt [a, b]: s1 (a, c) last shares a at distance 1; s2 (b, c, d) shares b at distance 0.
    model = SKNN(k=10, similarity="dot", neighbour_decay="harmonic").fit(TRAIN)
    s = scores(model, ["a", "b"], ["c", "d"])
    assert s["c"] == pytest.approx(1 * (1 / 2) + 1 * 1.0) and s["d"] == pytest.approx(1.0)
    quad = SKNN(k=10, similarity="dot", neighbour_decay="quadratic").fit(TRAIN)
    prompt = ["a", "e", "b"]  # s1 now shares a at distance 2 -> 1/9; s3 (e) at distance 1
    s = scores(quad, prompt, ["c"])
    assert s["c"] == pytest.approx(1 / 9 + 1.0)
    # S-SKNN's weighting is the scaling_linear neighbour decay.
    a = SKNN(k=10, similarity="dot", neighbour_decay="scaling_linear").fit(TRAIN)
    b = SSKNN(k=10, similarity="dot").fit(TRAIN)
    np.testing.assert_allclose(
        a.predict_scores([prompt], items=["c", "d"]), b.predict_scores([prompt], items=["c", "d"])
    )
    with pytest.raises(ValueError, match="set only one"):
        SKNN(sequential_weighting=True, neighbour_decay="harmonic").fit(TRAIN)


def test_idf_weighting_strength():
    model = SKNN(k=10, idf_weighting=2.5).fit(TRAIN)
    s = scores(model, ["b"], ["d"])
    assert s["d"] == pytest.approx(1 / math.sqrt(3) * (1 + 2.5 * math.log(4 / 1)))
    same = SKNN(k=10, idf_weighting=1.0).fit(TRAIN)
    np.testing.assert_allclose(
        same.predict_scores([["b"]]),
        SKNN(k=10, idf_weighting=True).fit(TRAIN).predict_scores([["b"]]),
    )
    with pytest.raises(ValueError, match="idf_weighting"):
        SKNN(idf_weighting=-1.0).fit(TRAIN)


def test_sfsknn_keeps_only_followers():
    model = SFSKNN(k=10, backfill=None).fit(TRAIN)
    recs = model.predict([["b"]], k=3)[0].tolist()
    assert recs[0] == "c" and recs[1:] == [None, None]  # only c ever followed b


def test_sknn_emb_similarity_from_vectors():
    vecs = {"a": [1.0, 0.0], "b": [0.0, 1.0], "c": [1.0, 0.0], "d": [0.0, 1.0], "e": [0.7, 0.7]}
    model = SKNNEmb(k=1, item_embeddings=vecs, similarity="cosine", decay=None, backfill=None).fit(
        TRAIN
    )
    # Prompt [a] shares items with s0 (a,b) and s1 (a,c); s1's embedding (a+c)/2 is parallel
    # to a, s0's is not, so s1 is the one neighbour and c the recommendation.
    assert model.predict([["a"]], k=2).tolist() == [["c", None]]


def test_parameter_errors():
    with pytest.raises(ValueError, match="sampling"):
        SKNN(sampling="oldest").fit(TRAIN)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        SKNN(k=0).fit(TRAIN)
    with pytest.raises(ValueError, match="decay"):
        SKNN(decay="cubicle").fit(TRAIN)


def test_sessions_with_repeats_are_binary():
    model = SKNN(k=10, similarity="dot").fit([["a", "a", "b"]])
    assert scores(model, ["a"], ["b"])["b"] == pytest.approx(1.0)
    np.testing.assert_allclose(model.session_norms_, [math.sqrt(2)])
