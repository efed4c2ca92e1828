"""One parameter, ``item_embeddings``, in every model that can use item text vectors."""

import warnings

import numpy as np
import pandas as pd
import pytest

import llmseqrec
from llmseqrec import (
    VSKNN,
    BERT4Rec,
    EmbeddingReducer,
    GRU4Rec,
    ItemTextEncoder,
    LLM2SASRec,
    LLMSeqPrompt,
    LLMSeqSim,
    PopularityDiversityFilter,
    SASRec,
    SKNNEmb,
)
from llmseqrec.testing import synthetic_data
from llmseqrec.text import item_embedding_ids, item_embedding_matrix

TRAIN, PROMPTS, TARGETS, ITEMS = synthetic_data("str")
RNG = np.random.default_rng(0)
ARRAY = RNG.normal(size=(len(ITEMS), 6)).astype(np.float32)  # one row per row of ITEMS
MAPPING = dict(zip(ITEMS.index, ARRAY))
FRAME = pd.DataFrame(ARRAY, index=ITEMS.index)


def _tfidf():
    return ItemTextEncoder(backend="tfidf", dim=8, cache=False, random_state=0, show_progress=False)


def _npz(tmp_path):
    path = tmp_path / "vectors.npz"
    np.savez(path, ids=np.array(list(ITEMS.index)), vectors=ARRAY)
    return path


_NEURAL = dict(emb_dim=4, epochs=1, patience=0, show_progress=False, random_state=0)
# Every text-capable model, small; None is a valid value for all but LLMSeqSim.
MODELS = {
    "LLMSeqSim": lambda: LLMSeqSim(),
    "SKNN": lambda: VSKNN(k=20, sample_size=50),
    "SKNNEmb": lambda: SKNNEmb(k=20, sample_size=50),
    "SASRec": lambda: SASRec(n_layers=1, **_NEURAL),
    "LLM2SASRec": lambda: LLM2SASRec(n_layers=1, **_NEURAL),
    "BERT4Rec": lambda: BERT4Rec(n_layers=1, n_masked_copies=1, **_NEURAL),
    "GRU4Rec": lambda: GRU4Rec(hidden_dim=8, **_NEURAL),
    "PopularityDiversityFilter": lambda: PopularityDiversityFilter(
        VSKNN(k=20, sample_size=50), diversity_quantile=0.5, candidates=30
    ),
}
PRECOMPUTED = {
    "mapping": lambda tmp: MAPPING,
    "DataFrame": lambda tmp: FRAME,
    "array": lambda tmp: ARRAY,
    "npz file": _npz,
}


def _fit_predict(model):
    return model.fit(TRAIN, item_metadata=ITEMS).predict(PROMPTS[:20], k=10)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_precomputed_form_gives_the_same_model(name, tmp_path):
    lists = {
        form: _fit_predict(MODELS[name]().set_params(item_embeddings=make(tmp_path)))
        for form, make in PRECOMPUTED.items()
    }
    first = lists["mapping"]
    assert first.shape == (20, 10)
    for form, recs in lists.items():
        np.testing.assert_array_equal(recs, first, err_msg=form)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_an_encoder_works_and_none_means_no_text_vectors(name):
    assert _fit_predict(MODELS[name]().set_params(item_embeddings=_tfidf())).shape == (20, 10)
    model = MODELS[name]().set_params(item_embeddings=None)
    if name == "LLMSeqSim":  # nothing else to rank by
        with pytest.raises(ValueError, match="item_embeddings=None"):
            model.fit(TRAIN, item_metadata=ITEMS)
        return
    if name == "PopularityDiversityFilter":  # falls back to the part's vectors: V-SKNN has none
        with pytest.raises(ValueError, match="item vectors"):
            model.fit(TRAIN, item_metadata=ITEMS)
        return
    recs = _fit_predict(model)
    assert recs.shape == (20, 10)
    assert not hasattr(model, "item_vectors_")


def test_none_gives_the_vanilla_neural_model():
    a = SASRec(**_NEURAL).fit(TRAIN).predict(PROMPTS[:20], k=10)
    b = LLM2SASRec(item_embeddings=None, **_NEURAL).fit(TRAIN).predict(PROMPTS[:20], k=10)
    np.testing.assert_array_equal(a, b)


def test_the_text_vectors_change_the_neural_model():
    a = SASRec(**_NEURAL).fit(TRAIN, item_metadata=ITEMS)
    b = SASRec(item_embeddings=MAPPING, **_NEURAL).fit(TRAIN, item_metadata=ITEMS)
    assert not np.array_equal(a.predict_scores(PROMPTS[:5]), b.predict_scores(PROMPTS[:5]))


def test_llmseqprompt_takes_only_a_text_encoder():
    # It embeds the names its LLM writes, which precomputed vectors cannot do.
    for value in (MAPPING, FRAME, ARRAY, None):
        model = LLMSeqPrompt(item_embeddings=value, max_steps=1, show_progress=False)
        with pytest.raises(TypeError, match="text encoder|ItemTextEncoder"):
            model._text_encoder()
    assert isinstance(LLMSeqPrompt()._text_encoder(), ItemTextEncoder)
    assert LLMSeqPrompt(item_embeddings=_tfidf())._text_encoder().backend == "tfidf"


# ----------------------------------------------------------------------------- the seam
IDS = np.array(list(ITEMS.index))


def test_matrix_is_aligned_with_the_catalogue_and_missing_items_are_zero():
    ids = np.array([ITEMS.index[3], "not-an-item", ITEMS.index[0]])
    X, dim = item_embedding_matrix(MAPPING, ids)
    assert dim == 6 and X.shape == (3, 6)
    np.testing.assert_array_equal(X[0], ARRAY[3])
    np.testing.assert_array_equal(X[1], 0)
    np.testing.assert_array_equal(X[2], ARRAY[0])


def test_array_needs_the_item_table_it_is_aligned_with():
    with pytest.raises(ValueError, match="item_metadata"):
        item_embedding_matrix(ARRAY, IDS)
    with pytest.raises(ValueError, match="shape"):
        item_embedding_matrix(ARRAY[:3], IDS, item_table=ITEMS)
    shuffled = ITEMS.iloc[::-1]
    X, _ = item_embedding_matrix(ARRAY[::-1], IDS, item_table=shuffled)
    np.testing.assert_array_equal(X, ARRAY)


def test_permute_reduce_normalise():
    X, _ = item_embedding_matrix(MAPPING, IDS)
    P, _ = item_embedding_matrix(MAPPING, IDS, permute=True, random_state=0)
    assert not np.array_equal(P, X)
    np.testing.assert_array_equal(np.sort(P, axis=0), np.sort(X, axis=0))  # same rows
    R, dim = item_embedding_matrix(MAPPING, IDS, reduction="pca", n_components=3, normalize=True)
    assert dim == 3 and R.shape == (len(IDS), 3)
    np.testing.assert_allclose(np.linalg.norm(R, axis=1), 1.0, atol=1e-5)


def test_bad_values_are_clear_errors(tmp_path):
    bad = {**MAPPING, ITEMS.index[0]: np.full(6, np.nan)}
    with pytest.raises(ValueError, match="NaN or infinite"):
        item_embedding_matrix(bad, IDS)
    with pytest.raises(TypeError, match="item_embeddings must be one of"):
        item_embedding_matrix(42, IDS)
    with pytest.raises(ValueError, match="None"):
        item_embedding_matrix(None, IDS)
    with pytest.raises(ValueError, match="item texts"):
        item_embedding_matrix(_tfidf(), IDS)
    with pytest.raises(FileNotFoundError):
        item_embedding_matrix(tmp_path / "absent.npz", IDS)
    (tmp_path / "v.txt").write_text("x")
    with pytest.raises(ValueError, match="columns item_id and embedding"):
        item_embedding_matrix(tmp_path / "v.txt", IDS)


def test_csv_file_in_the_papers_format(tmp_path):
    import json

    path = tmp_path / "v.csv"
    pd.DataFrame(
        {"item_id": list(ITEMS.index), "embedding": [json.dumps(v.tolist()) for v in ARRAY]}
    ).to_csv(path, index=False)
    X, _ = item_embedding_matrix(str(path), IDS)
    np.testing.assert_allclose(X, ARRAY, rtol=1e-6)
    assert item_embedding_ids(str(path)) == list(ITEMS.index)


def test_llmseqsim_catalogue_takes_the_ids_of_a_precomputed_form(tmp_path):
    extra = {"cold": np.ones(6, np.float32), **MAPPING}
    model = LLMSeqSim(item_embeddings=extra).fit(TRAIN)
    assert "cold" in set(model.items_)


# ----------------------------------------------------------------------------- old names
@pytest.mark.parametrize(
    "cls, old, new, value",
    [
        (LLMSeqSim, "embeddings", "item_embeddings", "vectors.npz"),
        (LLMSeqSim, "max_prompt_length", "max_prompt_items", 3),
        (VSKNN, "embeddings", "item_embeddings", "default"),
        (VSKNN, "last_n_items", "max_prompt_items", 3),
        (SASRec, "lr", "learning_rate", 0.01),
        (LLM2SASRec, "max_len", "max_prompt_items", 7),
        (BERT4Rec, "lr", "learning_rate", 0.01),
        (LLMSeqPrompt, "encoder", "item_embeddings", "vectors.npz"),
        (PopularityDiversityFilter, "item_vectors", "item_embeddings", "vectors.npz"),
        (ItemTextEncoder, "vectors", "item_embeddings", "vectors.npz"),
        (EmbeddingReducer, "ae_lr", "ae_learning_rate", 0.01),
    ],
)
def test_old_names_work_for_one_release_with_a_warning_naming_the_new_one(cls, old, new, value):
    assert cls().get_params()[new] != value  # the value must come from the old name
    with pytest.warns(FutureWarning, match=f"'{old}' is now '{new}'"):
        model = cls(**{old: value})
    assert getattr(model, new) == value
    assert old not in model.get_params() and not hasattr(model, old)
    with pytest.warns(FutureWarning, match=f"'{new}'"):
        model.set_params(**{old: value})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cls(**{new: value})  # the new name is silent


def test_old_none_of_llmseqsim_meant_the_default_encoder():
    with pytest.warns(FutureWarning):
        assert LLMSeqSim(embeddings=None).item_embeddings == "default"


def test_old_and_new_name_together_is_an_error():
    with pytest.raises(TypeError, match="give only 'learning_rate'"):
        SASRec(lr=0.01, learning_rate=0.5)
    with pytest.raises(TypeError, match="give only 'learning_rate'"):
        SASRec().set_params(learning_rate=0.5, lr=0.01)


def test_old_item_vectors_function_keeps_its_meaning_with_a_warning():
    from llmseqrec.text import item_vectors

    with pytest.warns(FutureWarning, match="item_embedding_matrix"):
        X = item_vectors(MAPPING, IDS[:3])
    np.testing.assert_array_equal(X, ARRAY[:3])


def test_unknown_keyword_is_still_a_type_error():
    with pytest.raises(TypeError, match="unexpected keyword argument 'lrr'"):
        SASRec(lrr=0.1)


def test_nested_old_names_in_hybrids():
    hybrid = PopularityDiversityFilter(SASRec())
    with pytest.warns(FutureWarning, match="'lr' is now 'learning_rate'"):
        hybrid.set_params(recommender__lr=0.5)
    assert hybrid.recommender.learning_rate == 0.5


def test_evaluate_moved_up_and_the_old_path_warns():
    from llmseqrec import metrics

    with pytest.warns(FutureWarning, match="llmseqrec.evaluate"):
        old = metrics.evaluate
    assert old is llmseqrec.evaluate


# ----------------------------------------------------------------------------- models in models
def test_an_array_reaches_a_hybrid_part_aligned_with_the_users_table():
    shuffled = ITEMS.iloc[::-1]  # the array follows this table's rows
    by_array = PopularityDiversityFilter(
        LLMSeqSim(item_embeddings=ARRAY[::-1]), popularity_quantile=0.5, candidates=30
    ).fit(TRAIN, item_metadata=shuffled)
    by_mapping = PopularityDiversityFilter(
        LLMSeqSim(item_embeddings=MAPPING), popularity_quantile=0.5, candidates=30
    ).fit(TRAIN, item_metadata=shuffled)
    np.testing.assert_array_equal(
        by_array.predict(PROMPTS[:20], k=10), by_mapping.predict(PROMPTS[:20], k=10)
    )


def test_pinning_reaches_nested_parts_and_leaves_other_forms_alone():
    from llmseqrec import EmbeddingEnsemble
    from llmseqrec.text import pin_array_item_embeddings

    model = EmbeddingEnsemble(first=LLMSeqSim(item_embeddings=ARRAY), second=VSKNN())
    pinned = pin_array_item_embeddings(model, ITEMS)
    mapping = pinned.first.item_embeddings
    assert isinstance(mapping, dict) and list(mapping) == list(ITEMS.index)
    np.testing.assert_array_equal(mapping[ITEMS.index[2]], ARRAY[2])
    assert model.first.item_embeddings is ARRAY  # the user's model is not changed
    plain = EmbeddingEnsemble(first=LLMSeqSim(item_embeddings=MAPPING), second=VSKNN())
    assert pin_array_item_embeddings(plain, ITEMS) is plain


def test_diversity_vectors_follow_the_catalogue_also_when_chosen_on_folds(monkeypatch):
    import llmseqrec.hybrids.filter as filter_module

    calls = []
    real = filter_module.item_embedding_matrix

    def spy(item_embeddings, item_ids, item_metadata=None, **kwargs):
        calls.append(list(item_metadata.index) == list(item_ids))
        return real(item_embeddings, item_ids, item_metadata, **kwargs)

    monkeypatch.setattr(filter_module, "item_embedding_matrix", spy)
    model = PopularityDiversityFilter(
        VSKNN(k=20, sample_size=50),
        item_embeddings=_tfidf(),
        popularity_quantile="auto",
        diversity_quantile=0.5,
        quantile_grid=(0.25, 0.5),
        candidates=30,
    ).fit(TRAIN, item_metadata=ITEMS.iloc[::-1])
    assert len(calls) > 1 and all(calls)  # fit and every fold x grid value
    assert model.vectors_.dtype == np.float64


def test_diversity_vectors_from_a_float64_mapping_stay_float64():
    exact = {i: v.astype(np.float64) / 3 for i, v in MAPPING.items()}
    model = PopularityDiversityFilter(
        VSKNN(k=20, sample_size=50), item_embeddings=exact, diversity_quantile=0.5
    ).fit(TRAIN, item_metadata=ITEMS)
    row = list(model.items_).index(ITEMS.index[0])
    expected = exact[ITEMS.index[0]] / np.linalg.norm(exact[ITEMS.index[0]])
    np.testing.assert_array_equal(model.vectors_[row], expected)


# ----------------------------------------------------------------------------- saving
@pytest.mark.parametrize("form", ["DataFrame", "Path", "csv.gz"])
def test_models_with_each_form_save_and_load(form, tmp_path):
    from pathlib import Path

    if form == "DataFrame":
        value = FRAME
    elif form == "Path":
        value = Path(_npz(tmp_path))
    else:
        import json

        value = tmp_path / "v.csv.gz"
        pd.DataFrame(
            {"item_id": list(ITEMS.index), "embedding": [json.dumps(v.tolist()) for v in ARRAY]}
        ).to_csv(value, index=False)
    model = LLMSeqSim(item_embeddings=value).fit(TRAIN)
    model.save(tmp_path / "m")
    again = llmseqrec.load(tmp_path / "m")
    np.testing.assert_array_equal(
        again.predict(PROMPTS[:10], k=5), model.predict(PROMPTS[:10], k=5)
    )
    if form == "DataFrame":
        pd.testing.assert_frame_equal(again.item_embeddings, FRAME, check_dtype=False)
    else:
        assert Path(again.item_embeddings) == Path(value)
