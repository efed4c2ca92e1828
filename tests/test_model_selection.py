"""Model selection on your own data (issue 25): the temporal splitter and the next-item
scorer inside scikit-learn's GridSearchCV/cross_validate, and the optuna search returning
its study without touching optuna's global verbosity."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, cross_validate

from llmseqrec import MostPopular
from llmseqrec.datasets import make_synthetic_sessions
from llmseqrec.model_selection import (
    TemporalSessionSplit,
    best_estimator,
    next_item_scorer,
    search,
    sessions_in_time_order,
)
from llmseqrec.recommenders import SKNN


@pytest.fixture(scope="module")
def interactions():
    return make_synthetic_sessions(n_sessions=160, random_state=0).interactions


def test_the_splitter_chains_forward_and_never_validates_on_the_past():
    folds = list(TemporalSessionSplit(3).split(list(range(10))))
    assert len(folds) == 3
    for train, val in folds:
        assert train.max() < val.min() and train[0] == 0
    assert [len(t) for t, _ in folds] == [3, 6, 8]


@pytest.mark.parametrize("n_splits", [0, 2.5, True])
def test_a_bad_number_of_folds_is_refused(n_splits):
    with pytest.raises(ValueError, match="n_splits must be a positive integer"):
        list(TemporalSessionSplit(n_splits).split(list(range(10))))


def test_too_few_sessions_for_the_folds_is_a_clear_error():
    with pytest.raises(ValueError, match="3 sessions are too few for 3 temporal folds"):
        list(TemporalSessionSplit(3).split([["a"]] * 3))


def test_grid_search_cv_selects_on_temporal_folds_with_the_next_item_scorer(interactions):
    sessions = list(sessions_in_time_order(interactions).values())
    grid = GridSearchCV(
        SKNN(sample_size=50),
        {"k": [2, 50]},
        cv=TemporalSessionSplit(3),
        scoring=next_item_scorer("ndcg", k=10),
    ).fit(sessions)
    assert grid.best_params_["k"] in (2, 50)
    scores = grid.cv_results_["mean_test_score"]
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
    assert grid.best_score_ == scores.max()
    # the scorer gives what a manual fold evaluation gives
    train, val = list(TemporalSessionSplit(3).split(sessions))[0]
    model = SKNN(sample_size=50, k=grid.best_params_["k"]).fit([sessions[i] for i in train])
    manual = next_item_scorer("ndcg", k=10)(model, [sessions[i] for i in val])
    assert manual == pytest.approx(grid.cv_results_["split0_test_score"][int(np.argmax(scores))])


def test_cross_validate_with_hit_rate(interactions):
    sessions = list(sessions_in_time_order(interactions).values())
    result = cross_validate(
        MostPopular(), sessions, cv=TemporalSessionSplit(2), scoring=next_item_scorer("hit_rate")
    )
    assert result["test_score"].shape == (2,)


def test_the_scorer_refuses_bad_settings():
    with pytest.raises(ValueError, match="metric must be one of"):
        next_item_scorer("auc")
    with pytest.raises(ValueError, match="k must be a positive integer"):
        next_item_scorer(k=0)


def test_sessions_are_ordered_by_their_last_timestamp(interactions):
    shuffled = interactions.sample(frac=1.0, random_state=1)
    ordered = sessions_in_time_order(shuffled)
    times = interactions.groupby("session_id")["timestamp"].max()
    assert np.all(np.diff(times.loc[list(ordered)].to_numpy()) >= 0)


def test_search_returns_the_study_and_leaves_optunas_verbosity_alone(interactions):
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.DEBUG)
    try:
        study = search(SKNN(sample_size=50), {"k": [5, 50]}, interactions, n_trials=3)
        assert optuna.logging.get_verbosity() == optuna.logging.DEBUG
    finally:
        optuna.logging.set_verbosity(optuna.logging.INFO)
    assert isinstance(study, optuna.Study) and len(study.trials) == 3
    best = study.best_trial
    assert best.user_attrs["params"]["k"] in (5, 50) and len(best.user_attrs["fold_ndcg"]) == 3
    assert best.value == pytest.approx(np.mean(best.user_attrs["fold_ndcg"]))
    model = best_estimator(study, SKNN(sample_size=50))
    assert model.get_params()["k"] == best.params["k"] and model.sample_size == 50
    assert not hasattr(model, "item_index_")  # unfitted


def test_search_takes_a_class_and_ranges_and_refuses_unknown_parameters(interactions):
    pytest.importorskip("optuna")
    study = search(SKNN, {"k": {"low": 5, "high": 60, "log": True}}, interactions, n_trials=2)
    assert all(5 <= t.params["k"] <= 60 for t in study.trials)
    with pytest.raises(ValueError, match=r"space names parameters \['depth'\]"):
        search(SKNN, {"depth": [1, 2]}, interactions, n_trials=1)
    with pytest.raises(ValueError, match="must be a list of choices or a dict with 'low'"):
        search(SKNN, {"k": 5}, interactions, n_trials=1)
