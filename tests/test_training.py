"""The model-agnostic training loop: gradient accumulation and the step budget."""

import math

import pytest
import torch

from llmseqrec.training import TrainConfig, lr_factor, train_module


def _run(batches, accumulate, max_steps=None, epochs=1, **schedule):
    torch.manual_seed(0)
    module = torch.nn.Linear(3, 1, bias=False)
    history = train_module(
        module,
        lambda epoch: iter(batches),
        lambda m, b: ((m(b[0]) - b[1]) ** 2).mean(),
        None,
        TrainConfig(
            epochs=epochs,
            lr=0.1,
            show_progress=False,
            grad_accumulation_steps=accumulate,
            max_steps=max_steps,
            **schedule,
        ),
    )
    return module.weight.detach().clone(), history


def test_accumulated_halves_equal_one_full_batch():
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(8, 3, generator=g), torch.randn(8, 1, generator=g)
    full, h_full = _run([(x, y)], accumulate=1)
    halves, h_halves = _run([(x[:4], y[:4]), (x[4:], y[4:])], accumulate=2)
    torch.testing.assert_close(full, halves)
    assert h_full.optimizer_steps == h_halves.optimizer_steps == 1
    separate, h_sep = _run([(x[:4], y[:4]), (x[4:], y[4:])], accumulate=1)
    assert h_sep.optimizer_steps == 2 and not torch.allclose(separate, full)


def test_max_steps_stops_training_and_partial_accumulation_still_steps():
    g = torch.Generator().manual_seed(2)
    batches = [(torch.randn(2, 3, generator=g), torch.randn(2, 1, generator=g)) for _ in range(5)]
    _, h = _run(batches, accumulate=1, max_steps=3, epochs=4)
    assert h.optimizer_steps == 3 and len(h.train_loss) == 1
    _, h = _run(batches, accumulate=2, epochs=1)  # 5 batches: 2 + 2 + a partial 1
    assert h.optimizer_steps == 3


def test_seeded_torch_rng_is_reproducible_and_restores_the_callers_state():
    from llmseqrec.utils import seeded_torch_rng

    torch.manual_seed(123)
    expected_outside = torch.rand(3)
    torch.manual_seed(123)
    with seeded_torch_rng(7):
        first = torch.rand(4)
    with seeded_torch_rng(7, device="cpu"):
        second = torch.rand(4)
    with seeded_torch_rng(8):
        other = torch.rand(4)
    assert torch.equal(first, second)
    assert not torch.equal(first, other)
    # the blocks consumed nothing from, and did not reseed, the caller's stream
    assert torch.equal(torch.rand(3), expected_outside)


def test_lr_factor_warms_up_then_decays():
    assert [lr_factor(s, 4, "none", None) for s in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert lr_factor(2, 2, "linear", 12) == 1.0 and lr_factor(7, 2, "linear", 12) == 0.5
    assert math.isclose(lr_factor(7, 2, "cosine", 12), 0.5)
    assert lr_factor(12, 2, "cosine", 12) == 0.0 and lr_factor(50, 0, "linear", 12) == 0.0
    with pytest.raises(ValueError, match="lr_decay must be one of"):
        lr_factor(0, 0, "step", 10)
    with pytest.raises(ValueError, match="needs total_steps"):
        lr_factor(0, 0, "cosine", None)


def test_decayed_learning_rate_reaches_zero_and_stops_the_weights():
    g = torch.Generator().manual_seed(3)
    batches = [(torch.randn(2, 3, generator=g), torch.randn(2, 1, generator=g)) for _ in range(4)]
    after_2, _ = _run(batches, 1, epochs=2, lr_decay="linear", total_steps=8)
    after_3, _ = _run(batches, 1, epochs=3, lr_decay="linear", total_steps=8)
    torch.testing.assert_close(after_2, after_3)  # lr is 0 after step 8: epoch 3 moves nothing
    constant, _ = _run(batches, 1, epochs=2)
    warm, _ = _run(batches, 1, epochs=2, warmup_steps=4)
    assert not torch.allclose(constant, warm)


def test_a_decay_without_total_steps_fails_before_training():
    batches = [(torch.zeros(2, 3), torch.zeros(2, 1))]
    with pytest.raises(ValueError, match="needs total_steps"):
        _run(batches, 1, warmup_steps=5, lr_decay="cosine")  # warmup alone would not notice


def _scripted_run(scores, **config):
    """Train a linear module while ``validate`` returns ``scores`` in turn; record the weights
    after every epoch so that the restored ones can be matched to an epoch."""
    torch.manual_seed(0)
    module = torch.nn.Linear(3, 1, bias=False)
    g = torch.Generator().manual_seed(3)
    batch = (torch.randn(4, 3, generator=g), torch.randn(4, 1, generator=g))
    weights, it = [], iter(scores)

    def validate(m):
        weights.append(m.weight.detach().clone())
        return next(it)

    history = train_module(
        module,
        lambda epoch: [batch],
        lambda m, b: ((m(b[0]) - b[1]) ** 2).mean(),
        validate,
        TrainConfig(epochs=len(scores), lr=0.1, show_progress=False, **config),
    )
    return module.weight.detach(), weights, history


def test_val_smoothing_ignores_a_one_epoch_spike_and_keeps_the_best_windows_last_epoch():
    scores = [0.10, 0.30, 0.12, 0.20, 0.22, 0.24, 0.19, 0.18, 0.16, 0.15]
    raw, weights, h = _scripted_run(scores, patience=20)
    assert h.best_epoch == 2  # the spike
    torch.testing.assert_close(raw, weights[1])
    smoothed, weights, h = _scripted_run(scores, patience=20, val_smoothing=3)
    # trailing means: ..., epoch 6: (0.20 + 0.22 + 0.24) / 3 = 0.22, the largest
    assert h.best_epoch == 6 and h.val_score == scores  # the raw scores stay recorded
    torch.testing.assert_close(smoothed, weights[5])


def _averaging_run(ema_decay, epochs=6, validate=True):
    """Plain SGD-like training of a linear module, recording the live weights after every
    optimizer step (``validate`` sees whatever weights the loop validates)."""
    torch.manual_seed(0)
    module = torch.nn.Linear(3, 1, bias=False)
    g = torch.Generator().manual_seed(3)
    batches = [(torch.randn(4, 3, generator=g), torch.randn(4, 1, generator=g)) for _ in range(3)]
    steps, validated = [], []

    def loss_fn(m, b):
        if m.training:
            steps.append(m.weight.detach().clone())  # the live weights before this step
        return ((m(b[0]) - b[1]) ** 2).mean()

    def score(m):
        validated.append(m.weight.detach().clone())
        return -float(len(validated))  # always worse: the first epoch's weights are kept

    train_module(
        module, lambda epoch: batches, loss_fn, score if validate else None,
        TrainConfig(epochs=epochs, lr=0.05, patience=100, show_progress=False, ema_decay=ema_decay),
    )  # fmt: skip
    return module.weight.detach(), steps, validated


def test_ema_decay_validates_and_keeps_the_moving_average_of_the_live_weights():
    decay = 0.9
    final, steps, validated = _averaging_run(decay, epochs=3)
    # live weights after step n: recorded before step n + 1 (3 steps per epoch)
    average = steps[0].clone()
    expected = []
    for n in range(1, len(steps) + 1):
        live = steps[n] if n < len(steps) else None
        if live is None:
            break
        d = min(decay, (1 + n) / (10 + n))
        average = d * average + (1 - d) * live
        if n % 3 == 0:
            expected.append(average.clone())
    # validation after epochs 1 and 2 saw the averages, not the live weights
    torch.testing.assert_close(validated[0], expected[0])
    torch.testing.assert_close(validated[1], expected[1])
    assert not torch.allclose(validated[0], steps[3])
    # every later epoch scores worse: the first epoch's average is what the module keeps
    torch.testing.assert_close(final, expected[0])


def test_ema_decay_without_validation_ends_on_the_average_and_none_changes_nothing():
    plain, steps, _ = _averaging_run(None, epochs=2, validate=False)
    averaged, steps_ema, _ = _averaging_run(0.5, epochs=2, validate=False)
    # the same live trajectory: averaging does not feed back into training
    for a, b in zip(steps, steps_ema):
        torch.testing.assert_close(a, b)
    assert not torch.allclose(plain, averaged)


def _table_run(weight_decay, decay_to_init=(), steps=5, no_decay=(), lr_scales=None):
    """An embedding whose loss reads row 0 only: rows 1-3 get zero gradients."""
    table = torch.nn.Embedding(4, 2)
    with torch.no_grad():
        table.weight.copy_(torch.arange(8.0).view(4, 2) + 1.0)
    start = table.weight.detach().clone()
    train_module(
        table, lambda epoch: [None] * steps, lambda m, b: ((m.weight[0] - 10.0) ** 2).sum(),
        None,
        TrainConfig(epochs=1, lr=0.1, weight_decay=weight_decay, show_progress=False,
                    decay_to_init=decay_to_init, no_decay=no_decay, lr_scales=lr_scales or {}),
    )  # fmt: skip
    return start, table.weight.detach()


def test_no_decay_leaves_named_parameters_out_of_the_weight_decay():
    start, decayed = _table_run(0.5)
    assert float(decayed[1:].norm()) < float(start[1:].norm())
    _, exempt = _table_run(0.5, no_decay=("weight",))
    torch.testing.assert_close(exempt[1:], start[1:])  # no gradient, no decay: unchanged
    _, free = _table_run(0.0)
    torch.testing.assert_close(exempt, free)  # the same as training without weight decay
    with pytest.raises(ValueError, match="no_decay names no trainable parameter"):
        _table_run(0.5, no_decay=("table.weight",))


def test_decay_to_init_pulls_toward_the_start_instead_of_zero():
    start, plain = _table_run(0.5)
    # AdamW: rows without gradient shrink by (1 - lr * wd) per step, toward zero
    torch.testing.assert_close(plain[1:], start[1:] * (1 - 0.1 * 0.5) ** 5)
    _, anchored = _table_run(0.5, decay_to_init=("weight",))
    torch.testing.assert_close(anchored[1:], start[1:])  # at their start: nothing pulls
    _, free = _table_run(0.0)
    # the trained row moves toward its target, held back toward its start, not toward 0
    d = lambda w: float((w[0] - start[0]).norm())  # noqa: E731
    assert 0 < d(anchored) < d(free)
    assert float(anchored[0].norm()) > float(plain[0].norm())
    _, no_decay = _table_run(0.0, decay_to_init=("weight",))
    torch.testing.assert_close(no_decay, free)  # no weight decay: nothing to redirect
    with pytest.raises(ValueError, match="decay_to_init names no trainable parameter"):
        _table_run(0.5, decay_to_init=("table.weight",))


def test_lr_scales_slow_a_named_parameter_and_its_decay():
    start, full = _table_run(0.0, steps=1)
    _, slow = _table_run(0.0, steps=1, lr_scales={"weight": 0.1})
    # Adam's first step moves a coordinate with a gradient by about its lr: 0.1 vs 0.01
    torch.testing.assert_close(full[0] - start[0], torch.full((2,), 0.1), atol=1e-4, rtol=0)
    torch.testing.assert_close(slow[0] - start[0], torch.full((2,), 0.01), atol=1e-5, rtol=0)
    # the decoupled decay of rows without gradient scales alike: (1 - 0.1 * 0.1 * 0.5)^5
    _, slow_decayed = _table_run(0.5, lr_scales={"weight": 0.1})
    torch.testing.assert_close(slow_decayed[1:], start[1:] * (1 - 0.01 * 0.5) ** 5)
    _, anchored = _table_run(0.5, decay_to_init=("weight",), lr_scales={"weight": 0.1})
    torch.testing.assert_close(anchored[1:], start[1:])
    _, unit = _table_run(0.5, lr_scales={"weight": 1.0})
    torch.testing.assert_close(unit, _table_run(0.5)[1])  # a scale of 1 changes nothing
    with pytest.raises(ValueError, match="lr_scales names no trainable parameter"):
        _table_run(0.5, lr_scales={"table.weight": 0.1})
    with pytest.raises(ValueError, match="must be a finite number > 0"):
        _table_run(0.5, lr_scales={"weight": 0.0})


def test_lr_scales_follow_the_schedule_and_history_records_the_base_lr():
    module = torch.nn.Linear(2, 2)
    start = [p.detach().clone() for p in (module.weight, module.bias)]
    # every parameter scaled, so no optimizer group runs at the schedule's own rate
    history = train_module(
        module, lambda epoch: [None] * 4, lambda m, b: m.weight.sum() + m.bias.sum(), None,
        TrainConfig(epochs=2, lr=0.1, warmup_steps=8, show_progress=False,
                    lr_scales={"weight": 0.5, "bias": 0.25}),
    )  # fmt: skip
    # the recorded lr is the schedule's (each epoch's last step: 4/8 and 8/8 of 0.1), not
    # a scaled group's
    assert history.lr == pytest.approx([0.05, 0.1])
    # a constant gradient makes each Adam step move by the step's lr: scale x warmup's sum
    warmup_sum = sum(0.1 * (k + 1) / 8 for k in range(8))
    for p, before, scale in zip((module.weight, module.bias), start, (0.5, 0.25)):
        moved = (before - p.detach()).flatten()
        torch.testing.assert_close(
            moved, torch.full_like(moved, scale * warmup_sum), rtol=1e-4, atol=0
        )


def test_val_smoothing_counts_patience_on_the_smoothed_score():
    # raw: a dip at epoch 3 then recovery; patience 1 stops raw at epoch 3, smoothed goes on
    scores = [0.10, 0.20, 0.15, 0.25, 0.30, 0.10, 0.10, 0.10]
    _, _, h = _scripted_run(scores, patience=1)
    assert h.stopped_early and len(h.val_score) == 3
    _, _, h = _scripted_run(scores, patience=1, val_smoothing=2)
    # means: 0.10, 0.15, 0.175, 0.20, 0.275, 0.20 -> stops after epoch 6, best epoch 5
    assert h.stopped_early and len(h.val_score) == 6 and h.best_epoch == 5


def test_history_as_a_table_and_a_figure():
    from llmseqrec.training import history_frame

    _, _, history = _scripted_run([0.1, 0.3, 0.2], patience=5)
    frame = history.to_frame()
    assert list(frame.index) == [1, 2, 3] and frame.index.name == "epoch"
    assert frame["val_score"].tolist() == [0.1, 0.3, 0.2] and frame.attrs["best_epoch"] == 2
    assert {"train_loss", "seconds"} <= set(frame.columns)
    prompt_history = {"train_loss": [2.0, 1.5], "validation_loss": [1.9, 1.7], "best_epoch": 2}
    assert history_frame(prompt_history)["validation_loss"].tolist() == [1.9, 1.7]


def test_plot_history_draws_without_pyplot_state():
    matplotlib = pytest.importorskip("matplotlib")
    from llmseqrec import SASRec
    from llmseqrec.testing import synthetic_data

    train, _, _, _ = synthetic_data("str")
    model = SASRec(emb_dim=8, n_heads=1, epochs=2, show_progress=False, random_state=0)
    backend = matplotlib.get_backend()
    fig = model.fit(train).plot_history()
    assert matplotlib.get_backend() == backend
    ax = fig.axes[0]
    assert ax.get_title() == f"kept: epoch {model.history_.best_epoch}"
    assert len(ax.lines[0].get_xdata()) == len(model.history_.train_loss)


@pytest.mark.parametrize("n_examples", [1, 7, 400, 401, 1250])
def test_llm_finetuning_tells_the_progress_bar_its_batch_count(monkeypatch, n_examples):
    from llmseqrec.llm import _finetune

    seen = {}

    def capture(model, batches, loss_fn, validate, config):
        seen["config"], seen["n"] = config, sum(1 for _ in batches(1))

    monkeypatch.setattr(_finetune, "train_module", capture)
    monkeypatch.setattr(_finetune, "pad_batch", lambda rows, pad: (torch.zeros(len(rows)),))
    train = [{"input_ids": [0] * (i % 5 + 1)} for i in range(n_examples)]
    tokenizer = type("T", (), {"pad_token_id": 0})()
    _finetune.finetune_causal_lm(None, tokenizer, train, [], TrainConfig(), batch_size=8)
    assert seen["config"].batches_per_epoch == seen["n"]
    assert seen["config"].val_is_negated_loss


_HEAP_SCRIPT = """
import sys
import numpy as np
from llmseqrec.training import limit_heap_fragmentation, release_freed_memory

def rss_mb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024

if sys.argv[1] == "limit":  # at the start: blocks already in the heap would be reused
    assert limit_heap_fragmentation()
big = np.ones(16 << 17)  # 16 MB, served by mmap; freeing it raises glibc's threshold
del big
before = rss_mb()
blocks = [np.ones(2 << 17) for _ in range(8)]  # 8 x 2 MB
tail = bytearray(200_000)  # allocated after them: the heap cannot shrink past it
del blocks
kept = rss_mb() - before
assert release_freed_memory()
print(round(kept), round(rss_mb() - before))
"""


@pytest.mark.parametrize("mode", ["plain", "limit"])
def test_freed_heap_memory_goes_back_to_the_system(mode):
    """glibc keeps freed mid-sized blocks (what fine-tuning's activations are):
    release_freed_memory hands them back; after limit_heap_fragmentation they never stay.
    In a subprocess: the allocator setting is process-wide."""
    import subprocess
    import sys

    from llmseqrec.training import _memory

    if _memory._glibc() is None:
        pytest.skip("glibc only")
    out = subprocess.run(
        [sys.executable, "-c", _HEAP_SCRIPT, mode], capture_output=True, text=True, check=True
    )
    kept, released = map(int, out.stdout.split())
    assert released <= 2  # trimmed
    assert kept >= 14 if mode == "plain" else kept <= 2


def test_the_heap_helpers_check_their_argument():
    from llmseqrec.training import limit_heap_fragmentation

    with pytest.raises(ValueError, match="mmap_threshold"):
        limit_heap_fragmentation(-1)


def test_cpu_autocast_runs_in_bf16_only_where_the_cpu_multiplies_it(monkeypatch):
    from llmseqrec.training import _loop

    monkeypatch.setattr(_loop, "cpu_has_native_bf16", lambda: False)
    assert _loop.autocast_settings(True, "cpu")[0] is False
    assert _loop.autocast_settings(False, "cuda")[0] is False
    monkeypatch.setattr(_loop, "cpu_has_native_bf16", lambda: True)
    assert _loop.autocast_settings(True, "cpu") == (True, "cpu", torch.bfloat16)
    seen = []

    def loss_fn(m, b):
        out = m(b[0])
        seen.append(out.dtype)
        return ((out.float() - b[1]) ** 2).mean()

    module = torch.nn.Linear(3, 1)
    batch = (torch.randn(4, 3), torch.randn(4, 1))
    for mixed in (False, True):
        config = TrainConfig(epochs=1, show_progress=False, mixed_precision=mixed)
        train_module(module, lambda epoch: [batch], loss_fn, None, config)
    assert seen == [torch.float32, torch.bfloat16]
