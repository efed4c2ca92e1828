import numpy as np
import pytest
from sklearn.base import clone

import llmseqrec
from llmseqrec import MostPopular
from llmseqrec.base import Recommender
from llmseqrec.hybrids import (
    EmbeddingEnsemble,
    PopularityDiversityFilter,
    PopularitySwitch,
    ReciprocalRankFusion,
    ScoreFusion,
)
from llmseqrec.recommenders import SKNN, LLMSeqSim
from llmseqrec.registry import register
from llmseqrec.testing import synthetic_data


@register("_FixedScores")
class FixedScores(Recommender):
    """Test double: the same scores for every session (item -> score)."""

    def __init__(self, scores=None, exclude_seen=True, handle_unknown="ignore"):
        self.scores, self.exclude_seen, self.handle_unknown = scores, exclude_seen, handle_unknown

    def _fit(self, sequences, item_metadata):
        self.values_ = np.array(
            [self.scores.get(i, -np.inf) for i in self.item_index_.ids.tolist()], dtype=float
        )

    def _score(self, sequences):
        return np.tile(self.values_, (len(sequences), 1))


TRAIN = [["a", "b", "c", "d", "e", "f"], ["a", "b"], ["a", "c"], ["a", "d"], ["b", "c"], ["z", "y"]]
# "z" is a training item both fixed-score parts ignore: a neutral prompt.
A = FixedScores({"a": 0.99, "b": 0.95, "c": 0.5, "d": 0.4, "e": 0.3, "f": 0.2})
B = FixedScores({"f": 6, "e": 5, "d": 4, "c": 3, "b": 2, "a": 1})


def test_ensemble_rank_rule():
    model = EmbeddingEnsemble(first=A, second=B, rank=2).fit(TRAIN)
    assert model.predict([["z"]], k=6).tolist() == [["a", "b", "f", "e", "d", "c"]]
    assert EmbeddingEnsemble(first=A, second=B, rank=0).fit(TRAIN).predict(
        [["z"]], k=3
    ).tolist() == [["f", "e", "d"]]
    # The prompt item is excluded before taking the first r items.
    assert model.predict([["a"]], k=3).tolist() == [["b", "c", "f"]]


def test_ensemble_confidence_rule():
    model = EmbeddingEnsemble(first=A, second=B, rule="confidence", threshold=0.9).fit(TRAIN)
    assert model.predict([["z"]], k=4).tolist() == [["a", "b", "f", "e"]]  # a, b score >= 0.9
    strict = EmbeddingEnsemble(first=A, second=B, rule="confidence", threshold=0.999).fit(TRAIN)
    assert strict.predict([["z"]], k=2).tolist() == [["f", "e"]]


def test_popularity_switch_uses_training_session_share():
    shares = np.array([4, 3, 3, 2, 1, 1, 1, 1]) / 6  # a b c d e f z y
    model = PopularitySwitch(popular=A, unpopular=B, quantile=0.5).fit(TRAIN)
    assert model.threshold_ == pytest.approx(np.quantile(shares, 0.5))
    assert model.predict([["z", "a"]], k=2).tolist() == [["b", "c"]]  # a is popular -> A
    assert model.predict([["a", "e"]], k=2).tolist() == [["f", "d"]]  # e is not -> B


def test_popularity_filter_keeps_popular_in_rank_order_and_backfills():
    # A's ranking: a b c d e f; popular (>= the 75% quantile of session shares, 0.5): a, b, c.
    model = PopularityDiversityFilter(recommender=A, popularity_quantile=0.75, candidates=5).fit(
        TRAIN
    )
    assert model.predict([["a"]], k=5).tolist() == [["b", "c", "d", "e", "f"]]
    assert model.predict([["z"]], k=6).tolist() == [["a", "b", "c", "d", "e", "f"]]
    only_top = PopularityDiversityFilter(recommender=B, popularity_quantile=0.75, candidates=6).fit(
        TRAIN
    )
    # B ranks f e d c b a: popular c, b, a come first, then the removed f, e, d back-fill.
    assert only_top.predict([["z"]], k=6).tolist() == [["c", "b", "a", "f", "e", "d"]]


def test_diversity_filter_drops_near_duplicates():
    vectors = {
        "a": [1, 0],
        "b": [0.99, 0.1],
        "c": [0, 1],
        "d": [0.1, 0.99],
        "e": [1, 1],
        "f": [-1, 0],
    }
    model = PopularityDiversityFilter(
        recommender=A,
        popularity_quantile=None,
        diversity_quantile=0.9,
        candidates=6,
        item_embeddings=vectors,
    )
    recs = model.fit(TRAIN).predict([["z"]], k=6)[0].tolist()
    assert recs[:2] == ["a", "c"]  # b is a near-copy of a, so it moves behind the kept items
    assert sorted(recs) == sorted("abcdef")


def test_fusions():
    fused = ScoreFusion(models=[("a", A), ("b", B)], weights=[1.0, 1.0]).fit(TRAIN)
    # min-max: A a=1, b~.95, ...; B f=1, e=.8, ...: sums a 1.0, b ~1.16, c ~.8, f 1.0, ...
    top = fused.predict([["z"]], k=1)[0, 0]
    assert top == "b"
    rrf = ReciprocalRankFusion(models=[("a", A), ("b", B)], rrf_k=1).fit(TRAIN)
    # ranks: a (1, 6) b (2, 5) c (3, 4) ...: 1/2+1/7 > 1/3+1/6 = 1/4+1/5 + ...
    assert rrf.predict([["z"]], k=1).tolist() == [["a"]]


def test_nested_params_clone_and_prefit():
    hybrid = EmbeddingEnsemble(first=SKNN(k=10), second=MostPopular())
    hybrid.set_params(first__k=7)
    assert hybrid.first.k == 7 and clone(hybrid).get_params()["first__k"] == 7
    fusion = ScoreFusion(models=[("knn", SKNN(k=5)), ("pop", MostPopular())])
    fusion.set_params(knn__k=9)
    assert fusion.get_params()["knn__k"] == 9
    train, prompts, _, items = synthetic_data("str")
    fitted = SKNN(k=10).fit(train)
    pre = EmbeddingEnsemble(first=fitted, second=MostPopular().fit(train), prefit=True).fit(train)
    assert pre.parts_["first"] is fitted
    with pytest.raises(llmseqrec.exceptions.NotFittedError):
        EmbeddingEnsemble(first=SKNN(), second=MostPopular(), prefit=True, rank=3).fit(train)
    # The default rank="auto" with prefit parts: clones are fitted on the folds, the
    # prefit parts serve the final model.
    auto = EmbeddingEnsemble(first=fitted, second=MostPopular().fit(train), prefit=True).fit(train)
    assert auto.parts_["first"] is fitted and auto.rank_ in auto.rank_grid
    assert not hasattr(fitted, "selection_")


def test_auto_threshold_chosen_on_validation_folds():
    train, prompts, targets, items = synthetic_data("str")
    model = PopularitySwitch(
        popular=SKNN(k=20, sample_size=100), unpopular=MostPopular(), quantile="auto"
    ).fit(train)
    assert model.quantile_ in model.quantile_grid
    assert set(model.selection_["validation_ndcg20"]) == {str(q) for q in model.quantile_grid}
    ens = EmbeddingEnsemble(
        first=MostPopular(), second=SKNN(k=20, sample_size=100), rank="auto", rank_grid=(0, 5)
    ).fit(train)
    assert ens.rank_ == 0  # putting MostPopular first only hurts on this data


def test_llmseqsim_vsknn_switch_saves_and_loads(tmp_path):
    train, prompts, _, items = synthetic_data("str")
    from llmseqrec.text import ItemTextEncoder

    sim = LLMSeqSim(
        item_embeddings=ItemTextEncoder(backend="tfidf", dim=8, cache=False, random_state=0)
    )
    model = PopularitySwitch(popular=SKNN(k=20), unpopular=sim, quantile=0.5).fit(
        train, item_metadata=items
    )
    model.save(tmp_path / "h")
    loaded = llmseqrec.load(tmp_path / "h")
    assert (loaded.predict(prompts, k=10) == model.predict(prompts, k=10)).all()


def test_default_grids_hold_each_part_alone_so_auto_can_fall_back_to_it():
    train, prompts, _, _ = synthetic_data("str")
    knn, pop = SKNN(k=20, sample_size=100).fit(train), MostPopular().fit(train)
    switch = PopularitySwitch(popular=knn, unpopular=pop, prefit=True)
    assert switch.quantile == "auto" and {0.0, 1.0} <= set(switch.quantile_grid)
    alone = switch.set_params(quantile=0.0).fit(train).predict(prompts, k=10)
    assert [list(r) for r in alone] == [list(r) for r in knn.predict(prompts, k=10)]
    ens = EmbeddingEnsemble(first=knn, second=pop, prefit=True)
    assert ens.rank == "auto" and {0, 20} <= set(ens.rank_grid)
    alone = ens.set_params(rank=0).fit(train).predict(prompts, k=10)
    assert [list(r) for r in alone] == [list(r) for r in pop.predict(prompts, k=10)]
    filt = PopularityDiversityFilter(recommender=knn, prefit=True)
    assert filt.popularity_quantile == "auto" and None in filt.quantile_grid
    alone = filt.set_params(popularity_quantile=None).fit(train).predict(prompts, k=10)
    assert [list(r) for r in alone] == [list(r) for r in knn.predict(prompts, k=10)]


def test_score_fusion_chooses_its_weights_on_folds_and_saves_them(tmp_path):
    from llmseqrec.hybrids.fusion import simplex_grid

    assert simplex_grid(2, 4) == [(0.0, 1.0), (0.25, 0.75), (0.5, 0.5), (0.75, 0.25), (1.0, 0.0)]
    grid3 = simplex_grid(3)
    assert len(grid3) == 15 and all(abs(sum(g) - 1) < 1e-12 for g in grid3)
    assert {(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)} <= set(grid3)
    train, prompts, _, _ = synthetic_data("str")
    fusion = ScoreFusion(models=[("pop", MostPopular()), ("knn", SKNN(k=20, sample_size=100))]).fit(
        train
    )
    assert fusion.weights == "auto" and tuple(fusion.weights_) in simplex_grid(2)
    scores = fusion.selection_["validation_ndcg20"]
    assert len(scores) == 11 and max(scores.values()) == scores[str(tuple(fusion.weights_))]
    # Fixed weights equal to the chosen ones give the same lists; a saved model keeps them.
    fixed = ScoreFusion(
        models=[("pop", MostPopular()), ("knn", SKNN(k=20, sample_size=100))],
        weights=list(fusion.weights_),
    ).fit(train)
    assert [list(r) for r in fixed.predict(prompts, k=10)] == [
        list(r) for r in fusion.predict(prompts, k=10)
    ]
    fusion.save(tmp_path / "f")
    loaded = llmseqrec.load(tmp_path / "f")
    assert loaded.weights_ == fusion.weights_
    with pytest.raises(ValueError, match="'auto'"):
        ScoreFusion(models=[("pop", MostPopular())], weights="best").fit(train)
