"""A saved model explains itself (issue 25): README.md with class, parameters, training data
and evaluation; loading warns when the saving versions differ in a way that matters."""

import json

import pytest

import llmseqrec
from llmseqrec import MostPopular, evaluate
from llmseqrec.data import temporal_split
from llmseqrec.datasets import make_synthetic_sessions


@pytest.fixture()
def saved(tmp_path):
    ds = make_synthetic_sessions(n_sessions=100, random_state=0)
    split = temporal_split(ds.interactions)
    model = MostPopular()
    evaluate(model, split, show_progress=False)
    model.save(tmp_path / "m")
    return tmp_path / "m", model, split


def test_the_card_names_class_data_parameters_and_metrics(saved):
    path, model, split = saved
    card = (path / "README.md").read_text()
    assert card.startswith("# MostPopular")
    assert f"- sessions: {len(split.train)}" in card
    assert f"- catalogue: {model.n_items_} items" in card
    assert "| `exclude_seen` | `True` |" in card
    ndcg = next(v for m, k, v in model.evaluation_["metrics"] if m == "NDCG" and k == 20)
    assert f"| NDCG | 20 | {ndcg:.4f} |" in card
    loaded = llmseqrec.load(path)
    assert loaded.n_sessions_ == len(split.train) and loaded.evaluation_ == model.evaluation_


def test_loading_a_model_saved_by_another_minor_version_warns(saved):
    path, _, _ = saved
    config = json.loads((path / "config.json").read_text())
    config["versions"]["llmseqrec"] = "0.0.1"
    (path / "config.json").write_text(json.dumps(config))
    with pytest.warns(UserWarning, match=r"saved with llmseqrec 0.0.1 \(now"):
        llmseqrec.load(path)


def test_loading_with_the_same_versions_is_silent(saved, recwarn):
    path, _, _ = saved
    llmseqrec.load(path)
    assert not [w for w in recwarn if "saved with" in str(w.message)]
