"""One model-agnostic training loop (minGPT-style) with early stopping on a validation metric.

The loop knows nothing about recommendation: it receives a module, a function that yields
the batches of an epoch, a loss function and a validation function. Data-parallel training
would plug in at two points without rewriting it: ``batches(epoch)`` yields this process's
shard (a ``DistributedSampler``-style split by rank), and the module is wrapped in
``DistributedDataParallel`` before being passed in (``validate`` then runs on rank 0).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

__all__ = ["TrainConfig", "TrainHistory", "train_module"]


@dataclass
class TrainConfig:
    epochs: int = 50
    lr: float = 1e-3
    weight_decay: float = 0.0
    clip_norm: float | None = None
    patience: int = 3
    device: str = "cpu"
    mixed_precision: bool = (
        False  # autocast (bf16 where supported, else fp16 + GradScaler); CUDA only
    )
    show_progress: bool = True
    desc: str = "train"


@dataclass
class TrainHistory:
    """Per-epoch losses, validation scores and timings; ``best_epoch`` is 1-based."""

    train_loss: list = field(default_factory=list)
    val_score: list = field(default_factory=list)
    epoch_seconds: list = field(default_factory=list)
    sequences_per_epoch: int = 0
    best_epoch: int = 0
    stopped_early: bool = False

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def train_module(
    module: torch.nn.Module,
    batches: Callable[[int], Iterable],
    loss_fn: Callable[[torch.nn.Module, object], torch.Tensor],
    validate: Callable[[torch.nn.Module], float] | None,
    config: TrainConfig,
) -> TrainHistory:
    """Train ``module`` with AdamW; stop when ``validate`` has not improved for ``patience``
    epochs and restore the best weights.

    Parameters
    ----------
    module : torch.nn.Module
        Already on ``config.device``.
    batches : callable
        ``batches(epoch)`` -> iterable of batches (already on the device), reshuffled by
        the caller's seeded generator.
    loss_fn : callable
        ``loss_fn(module, batch)`` -> scalar loss.
    validate : callable or None
        ``validate(module)`` -> score to maximise (e.g. NDCG@20), called after each epoch
        in eval mode. ``None`` trains for ``epochs`` epochs.
    config : TrainConfig
    """
    decay, no_decay = [], []
    for name, p in module.named_parameters():
        if p.requires_grad:
            (no_decay if p.ndim < 2 or "ln" in name or "norm" in name else decay).append(p)
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": config.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=config.lr,
    )
    use_amp = config.mixed_precision and str(config.device).startswith("cuda")
    amp_dtype = torch.bfloat16 if use_amp and torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)
    history = TrainHistory()
    best_score, best_state, bad_epochs = -math.inf, None, 0
    bar = tqdm(
        range(1, config.epochs + 1), desc=config.desc, disable=not config.show_progress, leave=False
    )
    for epoch in bar:
        module.train()
        start, total, n_batches = time.perf_counter(), 0.0, 0
        for batch in batches(epoch):
            with torch.autocast("cuda", dtype=amp_dtype, enabled=use_amp):
                loss = loss_fn(module, batch)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if config.clip_norm:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(module.parameters(), config.clip_norm)
            scaler.step(optimizer)
            scaler.update()
            total += float(loss.detach())
            n_batches += 1
        history.epoch_seconds.append(time.perf_counter() - start)
        history.train_loss.append(total / max(n_batches, 1))
        if validate is None:
            history.best_epoch = epoch
            continue
        module.eval()
        with torch.no_grad():
            score = float(validate(module))
        history.val_score.append(score)
        bar.set_postfix(loss=f"{history.train_loss[-1]:.4f}", val_ndcg20=f"{score:.4f}")
        if score > best_score:
            best_score, bad_epochs, history.best_epoch = score, 0, epoch
            best_state = copy.deepcopy(
                {k: v.detach().clone() for k, v in module.state_dict().items()}
            )
        else:
            bad_epochs += 1
            if bad_epochs >= config.patience:
                history.stopped_early = True
                break
    if best_state is not None:
        module.load_state_dict(best_state)
    module.eval()
    return history
