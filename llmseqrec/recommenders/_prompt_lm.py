"""Loading and fine-tuning LLMSeqPrompt's local causal LM."""

from __future__ import annotations

import time
from pathlib import Path

from ..training import TrainConfig, TrainHistory
from ..utils import seeded_torch_rng

__all__ = ["load_prompt_lm", "finetune_prompt_lm"]


def load_prompt_lm(est, device: str, weights_dir: Path | None = None):
    """``(model, tokenizer, generator)`` for ``est`` (an LLMSeqPrompt) in eval mode.

    ``weights_dir`` (a saved model's ``lm`` folder) holds either full fine-tuned weights
    (``config.json``) or a LoRA adapter (``adapter_config.json``) over ``est.base_model``;
    without it the base model is loaded.
    """
    from ..llm import LocalGenerator, load_causal_lm

    if weights_dir is not None and (weights_dir / "config.json").exists():
        model, tok = load_causal_lm(str(weights_dir), device=device)  # full weights
    else:
        model, tok = load_causal_lm(est.base_model, est.gguf_file, est.revision, device=device)
        if weights_dir is not None and (weights_dir / "adapter_config.json").exists():
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(weights_dir)).to(device)
    model.eval()
    return model, tok, LocalGenerator(model, tok, device, est.generation_batch_size)


def finetune_prompt_lm(est, model, tok, train, validation, device: str):
    """Fine-tune ``model`` on the chat examples with ``est``'s hyper-parameters.

    Examples longer than ``est.max_length`` tokens are skipped (and counted). With
    ``est.lora`` a LoRA adapter is added first (seeded by ``est.random_state``).

    Returns
    -------
    model : the fine-tuned model (the peft wrapper with LoRA), in eval mode
    history : TrainHistory
        Per-epoch train and validation loss, seconds and learning rate; best epoch and
        optimizer steps; in ``extra``, example and token counts and seconds in all.
    """
    from ..llm import apply_lora, encode_example, finetune_causal_lm

    enc_train = [e for e in (encode_example(tok, m, est.max_length) for m in train) if e]
    enc_val = [e for e in (encode_example(tok, m, est.max_length) for m in validation) if e]
    if getattr(est, "gradient_checkpointing", False):
        # Keep only each layer's input for backward and recompute the rest: activations,
        # not weights, dominate fine-tuning memory (a 135M model: 3 GB -> well under 1 GB).
        kwargs = {"use_reentrant": False}
        if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5.x name
            model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
        if est.lora:
            model.enable_input_require_grads()  # frozen embeddings: let gradients flow
    if est.lora:
        seed = 0 if est.random_state is None else int(est.random_state)
        with seeded_torch_rng(seed, device):  # peft's init takes no generator
            model = apply_lora(model, est.lora_r, est.lora_alpha, est.lora_dropout)
    config = TrainConfig(
        epochs=est.epochs,
        lr=est.learning_rate or (2e-4 if est.lora else 5e-5),
        weight_decay=est.weight_decay,
        clip_norm=1.0,
        patience=est.patience,
        device=device,
        mixed_precision=str(device).startswith("cuda"),  # CPU fine-tuning stays float32
        show_progress=est.show_progress,
        desc=f"fine-tune {est.variant}",
        grad_accumulation_steps=est.gradient_accumulation_steps,
        max_steps=est.max_steps,
        batch_progress=True,
    )
    start = time.perf_counter()
    history = finetune_causal_lm(
        model,
        tok,
        enc_train,
        enc_val,
        config,
        est.batch_size,
        est.random_state,
        checkpoint_dir=getattr(est, "checkpoint_dir", None),
        checkpoint_every=getattr(est, "checkpoint_every", None),
    )
    model.eval()
    return model, TrainHistory(
        train_loss=history.train_loss,
        validation_loss=[-v for v in history.val_score],
        epoch_seconds=history.epoch_seconds,
        lr=history.lr,
        best_epoch=history.best_epoch,
        stopped_early=history.stopped_early,
        optimizer_steps=history.optimizer_steps,
        train_examples=len(enc_train),
        validation_examples=len(enc_val),
        skipped_too_long=len(train) + len(validation) - len(enc_train) - len(enc_val),
        train_tokens=int(sum(len(e["input_ids"]) for e in enc_train)),
        seconds=time.perf_counter() - start,
        **history.extra,  # e.g. resumed_from_step (checkpointed fine-tuning)
    )
