"""Fine-tuning a causal LM on chat examples, with the loss on the answers only."""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import replace

import numpy as np

from ..training import TrainConfig, TrainHistory, train_module
from ..utils import import_optional
from ._tokenize import IGNORE_INDEX, pad_batch

__all__ = ["apply_lora", "finetune_causal_lm", "completion_loss"]


def apply_lora(
    model, r: int = 16, alpha: int = 32, dropout: float = 0.05, target_modules="all-linear"
):
    """Wrap ``model`` with trainable LoRA adapters (peft); the base weights are frozen."""
    peft = import_optional("peft", "llm", purpose="LoRA fine-tuning")
    config = peft.LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=target_modules,
        task_type="CAUSAL_LM",
    )
    with _known_harmless_warnings():
        return peft.get_peft_model(model, config)


@contextlib.contextmanager
def _known_harmless_warnings():
    """Silence, for this call only, third-party warnings known to be harmless here: peft
    reads transformers' deprecated ``is_gradient_checkpointing`` (a FutureWarning on every
    fine-tuning run that the user can do nothing about)."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning
        )
        yield


def _answer_tokens(batch) -> float:
    """The loss terms of a batch: its answer tokens (what :func:`completion_loss` averages)."""
    labels = batch[2]  # (B, T)
    return float((labels[:, 1:] != IGNORE_INDEX).sum())


def _data_parallel() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def completion_loss(model, batch):
    """Mean next-token cross-entropy over the answer tokens of a padded batch.

    Only positions that predict an answer token are projected onto the vocabulary
    (``logits_to_keep``), which saves most of the output layer's work on long prompts.
    """
    import torch.nn.functional as F

    input_ids, attention_mask, labels = batch  # each (B, T)
    targets = labels[:, 1:]  # (B, T-1): position t predicts token t + 1
    keep = (targets != IGNORE_INDEX).any(dim=0).nonzero().squeeze(1)  # (K,) positions
    try:
        logits = model(
            input_ids=input_ids, attention_mask=attention_mask, logits_to_keep=keep
        ).logits  # (B, K, V)
    except TypeError:  # a model without logits_to_keep: project every position
        logits = model(input_ids=input_ids, attention_mask=attention_mask).logits[:, keep]
    targets = targets[:, keep]  # (B, K)
    logits = logits.float()
    return F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORE_INDEX
    )


def finetune_causal_lm(
    model,
    tokenizer,
    train: list[dict],
    validation: list[dict],
    config: TrainConfig,
    batch_size: int = 8,
    random_state=None,
    checkpoint_dir=None,
    checkpoint_every: int | None = None,
    stop_after_steps: int | None = None,
) -> TrainHistory:
    """Train ``model`` on encoded examples (see :func:`encode_example`).

    Each epoch visits the training examples in a seeded random order, in batches of
    similar length (less padding); after each epoch the token-weighted loss on
    ``validation`` decides early stopping and the best epoch's weights are restored
    (``history.val_score`` holds minus that loss).

    Parameters
    ----------
    model, tokenizer
        The causal LM (a peft model with LoRA) on ``config.device``, and its tokenizer.
    train, validation : list of dict
        Encoded examples.
    config : TrainConfig
    batch_size : int, default=8
    random_state : int, optional
        Seeds the batch order.
    checkpoint_dir : str or Path, optional
        Save the run's whole state there every ``checkpoint_every`` optimizer steps and
        at every epoch's end, and resume from it when it holds this run's checkpoint (a
        killed run continues; a finished one returns its final weights at once). The
        defaults of these three come from an enclosing :func:`finetune_checkpoints`.
    checkpoint_every : int, optional
        Default 100.
    stop_after_steps : int, optional
        Save and raise :class:`TrainingPaused` at this optimizer step (a planned stop).
    """
    from ._checkpoint import current_options, train_resumable

    if not train:
        raise ValueError("no training examples (all sessions were too short or too long?)")
    options = current_options()
    options = type(options)(
        checkpoint_dir if checkpoint_dir is not None else options.checkpoint_dir,
        checkpoint_every if checkpoint_every is not None else options.checkpoint_every,
        stop_after_steps if stop_after_steps is not None else options.stop_after_steps,
    )
    batches = _batch_order(train, batch_size, random_state, tokenizer.pad_token_id, config.device)
    validate = _validator(validation, batch_size, tokenizer.pad_token_id, config.device)
    config = replace(
        config,
        batches_per_epoch=_n_batches(len(train), batch_size),
        val_is_negated_loss=True,
        batch_weight=_answer_tokens,  # under torchrun: ranks weighted by their loss terms
    )
    with _known_harmless_warnings():
        if options.checkpoint_dir is None:
            return train_module(model, batches, completion_loss, validate, config)
        if _data_parallel():
            raise ValueError(
                "checkpoint_dir is not supported in data-parallel fine-tuning (torchrun) yet: "
                "leave it unset there, or fine-tune in one process"
            )
        fingerprint = _fingerprint(train, validation, config, batch_size, random_state)
        return train_resumable(
            model, batches, completion_loss, validate, config, fingerprint, options
        )


_WINDOW = 50  # batches sorted by length together


def _batch_order(train, batch_size, random_state, pad, device):
    """``batches(epoch, skip=0)``: the epoch's padded batches after its first ``skip``.

    Each epoch: a seeded permutation, windows of 50 batches sorted by length (little
    padding), the batches shuffled (still random).
    """
    seed = 0 if random_state is None else int(random_state)

    def batches(epoch: int, skip: int = 0):
        rng = np.random.default_rng([seed, epoch])
        order = rng.permutation(len(train))
        window = batch_size * _WINDOW
        chunks = []
        for s in range(0, len(order), window):
            part = sorted(order[s : s + window], key=lambda i: len(train[i]["input_ids"]))
            chunks += [part[j : j + batch_size] for j in range(0, len(part), batch_size)]
        for c in rng.permutation(len(chunks))[skip:]:
            yield tuple(t.to(device) for t in pad_batch([train[i] for i in chunks[c]], pad))

    return batches


def _n_batches(n: int, batch_size: int) -> int:
    window = batch_size * _WINDOW
    return sum(-(-min(window, n - s) // batch_size) for s in range(0, n, window))


def _validator(validation, batch_size, pad, device):
    """``validate(module)``: minus the token-weighted answer loss (``None`` without
    examples)."""
    import torch

    if not validation:
        return None

    def validate(module) -> float:
        total, count = 0.0, 0
        for s in range(0, len(validation), batch_size):
            batch = tuple(t.to(device) for t in pad_batch(validation[s : s + batch_size], pad))
            n_tokens = int((batch[2][:, 1:] != IGNORE_INDEX).sum())
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=_bf16(device)):
                total += float(completion_loss(module, batch)) * n_tokens
            count += n_tokens
        return -total / max(count, 1)

    return validate


def _fingerprint(train, validation, config, batch_size, random_state) -> dict:
    """What identifies a run's data and optimisation (a checkpoint must match it)."""
    import zlib

    ids = b"".join(e["input_ids"].tobytes() for e in train)
    return {
        "train_examples": len(train),
        "validation_examples": len(validation),
        "train_crc32": zlib.crc32(ids),
        "batch_size": int(batch_size),
        "grad_accumulation_steps": int(config.grad_accumulation_steps),
        "lr": float(config.lr),
        "weight_decay": float(config.weight_decay),
        "random_state": None if random_state is None else int(random_state),
    }


def _bf16(device) -> bool:
    import torch

    return str(device).startswith("cuda") and torch.cuda.is_bf16_supported()
