"""``history_`` is a DataFrame: one row per epoch, the run's scalars as attributes."""

import copy
import json
import pickle

import pandas as pd
import pytest
import torch

from llmseqrec.training import TrainConfig, TrainHistory, history_frame, train_module


def _history(**kwargs):
    fields = dict(
        train_loss=[1.0, 0.5, 0.25],
        val_score=[0.1, 0.3, 0.2],
        epoch_seconds=[1.5, 1.25, 1.125],
        lr=[1e-3, 5e-4, 2.5e-4],
        best_epoch=2,
        stopped_early=True,
        optimizer_steps=9,
        sequences_per_epoch=100,
    )
    return TrainHistory(**{**fields, **kwargs})


def test_a_history_is_a_dataframe_with_one_row_per_epoch():
    h = _history()
    assert isinstance(h, pd.DataFrame)
    assert h.index.name == "epoch" and list(h.index) == [1, 2, 3]
    assert list(h.columns) == ["train_loss", "val_score", "seconds", "lr"]
    assert h["val_score"].idxmax() == h.best_epoch == 2
    # the record's list attributes stay lists; the columns are Series
    assert h.train_loss == [1.0, 0.5, 0.25] and h.epoch_seconds == [1.5, 1.25, 1.125]
    assert h.validation_loss == [] and isinstance(h["train_loss"], pd.Series)
    assert (h.stopped_early, h.optimizer_steps, h.sequences_per_epoch) == (True, 9, 100)


def test_the_json_record_round_trips_exactly():
    h = _history(train_examples=18, seconds=3.5)  # further keywords: extra
    record = h.to_json()
    assert record["epoch_seconds"] == [1.5, 1.25, 1.125] and record["train_examples"] == 18
    again = TrainHistory(**json.loads(json.dumps(record)))
    assert again.to_json() == record
    pd.testing.assert_frame_equal(again, h)
    assert again.extra == {"train_examples": 18, "seconds": 3.5}
    # with arguments, to_json is pandas' own
    assert json.loads(h.to_json(orient="records"))[1]["val_score"] == 0.3


def test_a_record_saved_before_the_frame_loads():
    old = {
        "train_loss": [0.9, 0.8],
        "val_score": [0.2, 0.25],
        "epoch_seconds": [2.0, 2.5],
        "sequences_per_epoch": 50,
        "best_epoch": 2,
        "stopped_early": False,
        "optimizer_steps": 4,
    }
    h = TrainHistory(**old)
    assert h.to_json() == {**old, "validation_loss": [], "lr": []}
    # LLMSeqPrompt's older dict: counts go to extra
    prompt = {"train_loss": [2.0, 1.5], "validation_loss": [1.9, 1.7], "best_epoch": 2,
              "optimizer_steps": 3, "train_examples": 18, "seconds": 4.0}  # fmt: skip
    h = TrainHistory(**prompt)
    assert list(h.columns) == ["train_loss", "validation_loss"]
    assert h.extra == {"train_examples": 18, "seconds": 4.0}
    assert history_frame(prompt)["validation_loss"].tolist() == [1.9, 1.7]


def test_attributes_survive_copies_and_row_selections():
    h = _history(train_examples=18)
    for other in (
        h.copy(),
        copy.deepcopy(h),
        pickle.loads(pickle.dumps(h)),
        h.iloc[:2],
        h.loc[2:],
        h.head(1),
        h[["train_loss", "val_score"]],
        h.round(2),
        h.assign(gap=h["train_loss"] - h["val_score"]),
    ):
        assert type(other) is TrainHistory
        assert (other.best_epoch, other.stopped_early, other.optimizer_steps) == (2, True, 9)
        assert other.sequences_per_epoch == 100 and other.extra == {"train_examples": 18}
    assert h.iloc[1:].train_loss == [0.5, 0.25] and h[["train_loss"]].val_score == []
    # a plain table for tools that want one
    frame = h.to_frame()
    assert type(frame) is pd.DataFrame and frame.attrs["best_epoch"] == 2
    pd.testing.assert_frame_equal(frame, pd.DataFrame(h), check_frame_type=False)


def test_an_empty_history_and_bad_records():
    h = TrainHistory()
    assert len(h) == 0 and h.train_loss == [] and h.best_epoch == 0
    assert TrainHistory(**h.to_json()).to_json() == h.to_json()
    with pytest.raises(ValueError, match="different lengths"):
        TrainHistory(train_loss=[1.0, 0.5], val_score=[0.1])
    with pytest.raises(TypeError, match="either DataFrame arguments or history fields"):
        TrainHistory({"train_loss": [1.0]}, train_loss=[1.0])
    # the DataFrame constructor still works (pandas builds subclasses through it)
    frame = TrainHistory({"train_loss": [1.0, 0.5]})
    assert frame.train_loss == [1.0, 0.5] and frame.best_epoch == 0


def test_the_training_loop_returns_the_frame_with_learning_rates():
    torch.manual_seed(0)
    module = torch.nn.Linear(3, 1, bias=False)
    x, y = torch.randn(8, 3), torch.randn(8, 1)
    scores = iter([0.1, 0.3, 0.2, 0.2])
    h = train_module(
        module,
        lambda epoch: iter([(x[:4], y[:4]), (x[4:], y[4:])]),
        lambda m, b: ((m(b[0]) - b[1]) ** 2).mean(),
        lambda m: next(scores),
        TrainConfig(epochs=4, lr=0.1, patience=2, show_progress=False, warmup_steps=4),
    )
    assert isinstance(h, TrainHistory) and h.best_epoch == 2 and h.stopped_early
    assert list(h.columns) == ["train_loss", "val_score", "seconds", "lr"] and len(h) == 4
    # warmup over 4 steps, 2 steps an epoch: epoch 1's last step at 2/4 of lr, then lr
    assert h.lr == pytest.approx([0.05, 0.1, 0.1, 0.1])
    assert h.optimizer_steps == 8 and TrainHistory(**h.to_json()).equals(h)


def test_a_neural_models_history_is_a_frame_and_survives_save_and_load(tmp_path):
    from llmseqrec import SASRec, load
    from llmseqrec.testing import synthetic_data

    train, _, _, _ = synthetic_data("str")
    model = SASRec(emb_dim=8, n_heads=1, epochs=2, show_progress=False, random_state=0)
    model.fit(train)
    h = model.history_
    assert isinstance(h, pd.DataFrame) and len(h) == 2
    assert {"train_loss", "val_score", "seconds", "lr"} <= set(h.columns)
    assert h.sequences_per_epoch > 0
    model.save(tmp_path / "m")
    loaded = load(tmp_path / "m").history_
    assert isinstance(loaded, TrainHistory) and loaded.to_json() == h.to_json()
    pd.testing.assert_frame_equal(loaded, h)
