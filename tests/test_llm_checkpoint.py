"""Resumable fine-tuning: a paused (killed) run continues from its checkpoint to the same
weights as a run that never stopped."""

import json

import numpy as np
import pytest
import torch

from llmseqrec.llm import (
    TrainingPaused,
    apply_lora,
    build_messages,
    checkpoint_progress,
    encode_example,
    finetune_causal_lm,
    finetune_checkpoints,
    load_causal_lm,
    tiny_causal_lm,
)
from llmseqrec.training import TrainConfig
from llmseqrec.utils import seeded_torch_rng

TITLES = ["red lipstick 1", "blue mascara 2", "green shampoo 3", "pink blush 4"]


@pytest.fixture(scope="module")
def tiny():
    return str(tiny_causal_lm())


def _examples(tok, n):
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        a, b, c = rng.choice(len(TITLES), size=3, replace=False)
        messages = build_messages("genitem", [TITLES[a], TITLES[b]], answer=TITLES[c])
        out.append(encode_example(tok, messages))
    return out


def _run(tiny, epochs=3, patience=3, accumulate=2, **kw):
    """A LoRA model (dropout on: the random state matters) and its fine-tuning history."""
    model, tok = load_causal_lm(tiny)
    with seeded_torch_rng(0):
        model = apply_lora(model, r=4, alpha=8, dropout=0.1)
        config = TrainConfig(
            epochs=epochs,
            lr=5e-3,
            clip_norm=1.0,
            patience=patience,
            show_progress=False,
            grad_accumulation_steps=accumulate,
        )
        examples = _examples(tok, 22)
        history = finetune_causal_lm(
            model, tok, examples[:16], examples[16:], config, batch_size=3, random_state=0, **kw
        )
    weights = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    return history, weights


def _same(a, b):
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0, msg=name)


def test_the_checkpointed_loop_is_the_plain_loop(tiny, tmp_path):
    plain, w_plain = _run(tiny)
    saved, w_saved = _run(tiny, checkpoint_dir=tmp_path, checkpoint_every=2)
    assert saved.train_loss == plain.train_loss and saved.val_score == plain.val_score
    assert saved.optimizer_steps == plain.optimizer_steps == 9  # 3 epochs x 6 batches / 2
    assert saved.best_epoch == plain.best_epoch and saved.lr == plain.lr
    _same(w_saved, w_plain)
    assert checkpoint_progress(tmp_path) == {
        "optimizer_steps": 9,
        "epoch": 3,
        "batches_done": 6,
        "finished": True,
    }


def test_a_paused_run_resumes_to_the_weights_of_an_unpaused_one(tiny, tmp_path):
    whole, w_whole = _run(tiny, checkpoint_dir=tmp_path / "whole", checkpoint_every=100)
    with pytest.raises(TrainingPaused) as info:
        _run(tiny, checkpoint_dir=tmp_path / "cut", checkpoint_every=100, stop_after_steps=4)
    assert info.value.steps == 4  # mid-epoch 2: saved at the pause, not only every 100
    assert checkpoint_progress(tmp_path / "cut") == {
        "optimizer_steps": 4,
        "epoch": 2,
        "batches_done": 2,
        "finished": False,
    }
    resumed, w_resumed = _run(tiny, checkpoint_dir=tmp_path / "cut")
    assert resumed.extra["resumed_from_step"] == 4 and resumed.optimizer_steps == 9
    assert resumed.train_loss == pytest.approx(whole.train_loss, rel=1e-6)
    assert resumed.val_score == pytest.approx(whole.val_score, rel=1e-6)
    _same(w_resumed, w_whole)
    # A finished run's checkpoint returns its final weights without training again.
    again, w_again = _run(tiny, checkpoint_dir=tmp_path / "cut")
    assert again.extra["resumed_from_step"] == 9 and again.train_loss == resumed.train_loss
    _same(w_again, w_whole)


@pytest.mark.parametrize(
    "accumulate, stop, where",
    [(2, 3, (1, 6)), (4, 2, (2, 0))],  # 6 batches an epoch: its last step; a partial one
    ids=["last-step-of-epoch", "partial-step-at-epoch-end"],
)
def test_a_pause_at_an_epoch_end_and_the_context_options(tiny, tmp_path, accumulate, stop, where):
    whole, w_whole = _run(tiny, accumulate=accumulate)
    with finetune_checkpoints(tmp_path, checkpoint_every=1):
        with finetune_checkpoints(stop_after_steps=stop), pytest.raises(TrainingPaused):
            _run(tiny, accumulate=accumulate)  # the options come from the enclosing blocks
        progress = checkpoint_progress(tmp_path)
        assert progress["optimizer_steps"] == stop
        assert (progress["epoch"], progress["batches_done"]) == where
        resumed, w_resumed = _run(tiny, accumulate=accumulate)
    assert resumed.extra["resumed_from_step"] == stop
    assert resumed.optimizer_steps == whole.optimizer_steps
    assert resumed.train_loss == pytest.approx(whole.train_loss, rel=1e-6)
    _same(w_resumed, w_whole)


def test_another_runs_checkpoint_is_refused(tiny, tmp_path):
    with pytest.raises(TrainingPaused):
        _run(tiny, checkpoint_dir=tmp_path, stop_after_steps=2)
    model, tok = load_causal_lm(tiny)
    config = TrainConfig(epochs=1, lr=1e-3, show_progress=False)  # another learning rate
    with pytest.raises(ValueError, match="belongs to another run"):
        finetune_causal_lm(model, tok, _examples(tok, 4), [], config, checkpoint_dir=tmp_path)
    assert json.loads((tmp_path / "progress.json").read_text())["optimizer_steps"] == 2
