"""Resumable fine-tuning: the training loop of :func:`llmseqrec.training.train_module`,
with its whole state saved every few optimizer steps so that a killed run continues.

A checkpoint holds the trainable weights (the LoRA adapter, or every weight in full
fine-tuning), the optimizer, scheduler and gradient-scaler states, torch's random state
(dropout masks), the position in the seeded batch order (epoch and batches done), the
epoch's running loss and the early-stopping state (best weights, bad epochs). Resuming
replays the rest of the run exactly: on CPU, a run paused and resumed ends with the same
weights as one that never stopped (tested).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["TrainingPaused", "finetune_checkpoints", "checkpoint_progress"]

_FILE, _PROGRESS = "checkpoint.pt", "progress.json"


class TrainingPaused(RuntimeError):
    """Fine-tuning stopped on purpose after ``stop_after_steps`` (its checkpoint is saved;
    the next run with the same ``checkpoint_dir`` continues from it)."""

    def __init__(self, steps: int, directory):
        super().__init__(f"fine-tuning paused after optimizer step {steps}; {directory} resumes it")
        self.steps, self.directory = steps, Path(directory)


@dataclass(frozen=True)
class _Options:
    checkpoint_dir: str | os.PathLike | None = None
    checkpoint_every: int = 100
    stop_after_steps: int | None = None


_OPTIONS: contextvars.ContextVar[_Options | None] = contextvars.ContextVar(
    "llmseqrec_finetune_checkpoints", default=None
)


@contextlib.contextmanager
def finetune_checkpoints(
    checkpoint_dir=None, checkpoint_every: int | None = None, stop_after_steps=None
):
    """Checkpoint every :func:`finetune_causal_lm` call inside the block (for callers
    that do not pass the options themselves, e.g. ``LLMSeqPrompt.fit``).

    Parameters
    ----------
    checkpoint_dir : str or Path, optional
        Where the checkpoint lives; a run finds its own there and resumes it.
    checkpoint_every : int, optional
        Optimizer steps between saves (default 100); every epoch's end is saved too.
    stop_after_steps : int, optional
        Save and raise :class:`TrainingPaused` once the run has taken this many optimizer
        steps in all: a planned stop (a kill that tests and budgets can schedule).

    Options not given keep those of an enclosing block.
    """
    now = current_options()
    new = _Options(
        checkpoint_dir if checkpoint_dir is not None else now.checkpoint_dir,
        checkpoint_every if checkpoint_every is not None else now.checkpoint_every,
        stop_after_steps if stop_after_steps is not None else now.stop_after_steps,
    )
    token = _OPTIONS.set(new)
    try:
        yield new
    finally:
        _OPTIONS.reset(token)


def current_options() -> _Options:
    """The options of the innermost :func:`finetune_checkpoints` block."""
    return _OPTIONS.get() or _Options()


def checkpoint_progress(checkpoint_dir) -> dict | None:
    """``{"optimizer_steps", "epoch", "batches_done", "finished"}`` of the checkpoint in
    ``checkpoint_dir``, or ``None`` when there is none."""
    path = Path(checkpoint_dir) / _PROGRESS
    return json.loads(path.read_text()) if path.exists() else None


@dataclass
class _State:
    """Where a run stands, besides the tensors (plain Python values)."""

    epoch: int = 1  # the epoch in progress (1-based)
    batches_done: int = 0  # batches of that epoch already trained on
    epoch_loss: float = 0.0  # their summed loss
    epoch_seconds: float = 0.0  # that epoch's training time so far (all processes)
    step_lr: float | None = None  # learning rate of the epoch's last optimizer step
    optimizer_steps: int = 0
    train_loss: list = field(default_factory=list)
    val_score: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    best_epoch: int = 0
    best_score: float = -math.inf
    bad_epochs: int = 0
    stopped_early: bool = False
    finished: bool = False


def train_resumable(module, batches, loss_fn, validate, config, fingerprint: dict, options):
    """:func:`llmseqrec.training.train_module`'s loop, checkpointed in
    ``options.checkpoint_dir``: AdamW (no weight decay on norms and biases), clipping,
    gradient accumulation, ``max_steps``, autocast on CUDA (bf16 where supported),
    early stopping on ``validate`` with the best weights restored.

    ``batches(epoch, skip)`` yields the epoch's batches after its first ``skip`` (the
    same seeded order every time). ``fingerprint`` (JSON-ready) identifies the run: a
    checkpoint with another one is refused. A finished run's checkpoint loads its final
    weights and returns at once. Not data-parallel (``config.distributed`` is ignored).

    Returns
    -------
    TrainHistory
        As ``train_module``'s; ``extra["resumed_from_step"]`` is the step this call
        resumed at (0: from the start).
    """
    from ..training import TrainHistory

    run = _Run(module, config, Path(options.checkpoint_dir), fingerprint)
    state = run.load()
    resumed_from = state.optimizer_steps
    if not state.finished:
        _train(run, state, batches, loss_fn, validate, config, options)
    module.eval()
    return TrainHistory(
        train_loss=state.train_loss,
        val_score=state.val_score,
        epoch_seconds=state.seconds,
        lr=state.lr,
        best_epoch=state.best_epoch,
        stopped_early=state.stopped_early,
        optimizer_steps=state.optimizer_steps,
        resumed_from_step=resumed_from,
    )


class _Run:
    """The tensors of a run (module, optimizer, scheduler, scaler) and their checkpoint."""

    def __init__(self, module, config, directory: Path, fingerprint: dict):
        import torch

        from ..training import LR_DECAYS, lr_factor

        self.module, self.directory, self.fingerprint = module, directory, dict(fingerprint)
        self.trainable = {n: p for n, p in module.named_parameters() if p.requires_grad}
        groups = ([], [])
        for name, p in self.trainable.items():
            groups[p.ndim < 2 or "ln" in name or "norm" in name].append(p)
        self.optimizer = torch.optim.AdamW(
            [
                {"params": groups[0], "weight_decay": config.weight_decay},
                {"params": groups[1], "weight_decay": 0.0},
            ],
            lr=config.lr,
        )
        if config.lr_decay not in LR_DECAYS:
            raise ValueError(f"lr_decay must be one of {LR_DECAYS}, got {config.lr_decay!r}")
        self.scheduler = None
        if config.warmup_steps or config.lr_decay != "none":
            self.scheduler = torch.optim.lr_scheduler.LambdaLR(
                self.optimizer,
                lambda s: lr_factor(s, config.warmup_steps, config.lr_decay, config.total_steps),
            )
        self.use_amp = config.mixed_precision and str(config.device).startswith("cuda")
        bf16 = self.use_amp and torch.cuda.is_bf16_supported()
        self.amp_dtype = torch.bfloat16 if bf16 else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp and not bf16)
        self.best_weights = None

    def save(self, state: _State) -> None:
        """Write the checkpoint (atomically: a kill mid-save keeps the previous one)."""
        import torch

        self.directory.mkdir(parents=True, exist_ok=True)
        payload = {
            "fingerprint": self.fingerprint,
            "state": asdict(state),
            "weights": {n: p.detach().cpu() for n, p in self.trainable.items()},
            "best_weights": self.best_weights,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler else None,
            "scaler": self.scaler.state_dict(),
            "rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        }
        tmp = self.directory / (_FILE + ".tmp")
        torch.save(payload, tmp)
        os.replace(tmp, self.directory / _FILE)
        keys = ("optimizer_steps", "epoch", "batches_done", "finished")
        (self.directory / _PROGRESS).write_text(json.dumps({k: getattr(state, k) for k in keys}))

    def load(self) -> _State:
        """The saved state, with weights, optimizer and random state restored; or a fresh
        state when there is no checkpoint."""
        import torch

        path = self.directory / _FILE
        if not path.exists():
            return _State()
        payload = torch.load(path, map_location="cpu", weights_only=True)
        if payload["fingerprint"] != self.fingerprint:
            raise ValueError(
                f"the checkpoint in {self.directory} belongs to another run "
                f"({payload['fingerprint']}; this one: {self.fingerprint}); use a new "
                "checkpoint_dir, or the same data and settings"
            )
        _copy_into(self.trainable, payload["weights"])
        self.best_weights = payload["best_weights"]
        self.optimizer.load_state_dict(payload["optimizer"])
        if self.scheduler is not None and payload["scheduler"] is not None:
            self.scheduler.load_state_dict(payload["scheduler"])
        self.scaler.load_state_dict(payload["scaler"])
        torch.set_rng_state(payload["rng"])
        if payload["cuda_rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(payload["cuda_rng"])
        return _State(**payload["state"])

    def step(self, clip_norm) -> float:
        """One optimizer step; returns the learning rate it used."""
        import torch

        lr = self.optimizer.param_groups[0]["lr"]
        if clip_norm:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(list(self.trainable.values()), clip_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        if self.scheduler is not None:
            self.scheduler.step()
        return lr

    def keep_best(self) -> None:
        self.best_weights = {n: p.detach().cpu().clone() for n, p in self.trainable.items()}

    def restore_best(self) -> None:
        if self.best_weights is not None:
            _copy_into(self.trainable, self.best_weights)


def _copy_into(params: dict, tensors: dict) -> None:
    import torch

    with torch.no_grad():
        for name, tensor in tensors.items():
            params[name].copy_(tensor)


def _train(run: _Run, state: _State, batches, loss_fn, validate, config, options) -> None:
    """Train from ``state`` to the end of the run; ``state`` ends finished, the best
    weights restored and saved (or :class:`TrainingPaused` leaves mid-run)."""
    while state.epoch <= config.epochs:
        out_of_steps = _train_epoch(run, state, batches, loss_fn, config, options)
        if _validate_epoch(run, state, validate, config) or out_of_steps:
            break
        if state.epoch == config.epochs:
            break
        state.epoch += 1
        state.batches_done, state.epoch_loss, state.epoch_seconds = 0, 0.0, 0.0
        state.step_lr = None
        run.save(state)
        stop = options.stop_after_steps
        if stop is not None and state.optimizer_steps >= stop:
            raise TrainingPaused(state.optimizer_steps, run.directory)
    state.finished = True
    run.restore_best()
    run.save(state)


def _train_epoch(run: _Run, state: _State, batches, loss_fn, config, options) -> bool:
    """Train the rest of ``state.epoch`` and record it; True when ``max_steps`` is hit."""
    import torch
    from tqdm.auto import tqdm

    accumulate = max(1, int(config.grad_accumulation_steps))
    run.module.train()
    run.optimizer.zero_grad(set_to_none=True)
    if state.step_lr is None:
        state.step_lr = run.optimizer.param_groups[0]["lr"]
    clock = [time.perf_counter()]
    out_of_steps = False
    bar = tqdm(
        batches(state.epoch, state.batches_done),
        total=config.batches_per_epoch,
        initial=state.batches_done,
        desc=f"epoch {state.epoch}",
        disable=not (config.show_progress and config.batch_progress),
        leave=False,
    )
    for batch in bar:
        with torch.autocast("cuda", dtype=run.amp_dtype, enabled=run.use_amp):
            loss = loss_fn(run.module, batch)
        run.scaler.scale(loss / accumulate).backward()
        state.epoch_loss += float(loss.detach())
        state.batches_done += 1
        bar.set_postfix(loss=f"{state.epoch_loss / state.batches_done:.4f}")
        if state.batches_done % accumulate == 0:
            state.step_lr = run.step(config.clip_norm)
            state.optimizer_steps += 1
            if config.max_steps is not None and state.optimizer_steps >= config.max_steps:
                out_of_steps = True
                break
            _checkpoint_step(run, state, options, clock)
    if state.batches_done % accumulate:  # the epoch's last, partial accumulation
        state.step_lr = run.step(config.clip_norm)
        state.optimizer_steps += 1
    state.epoch_seconds += time.perf_counter() - clock[0]
    state.seconds.append(state.epoch_seconds)
    state.lr.append(float(state.step_lr))
    state.train_loss.append(state.epoch_loss / max(state.batches_done, 1))
    return out_of_steps or (
        config.max_steps is not None and state.optimizer_steps >= config.max_steps
    )


def _checkpoint_step(run: _Run, state: _State, options, clock: list) -> None:
    """After an optimizer step: save every ``checkpoint_every`` steps, and pause (save,
    raise :class:`TrainingPaused`) at ``stop_after_steps``."""
    stop = (
        options.stop_after_steps is not None and state.optimizer_steps >= options.stop_after_steps
    )
    if stop or state.optimizer_steps % max(1, int(options.checkpoint_every)) == 0:
        now = time.perf_counter()
        state.epoch_seconds += now - clock[0]
        clock[0] = now
        run.save(state)
    if stop:
        raise TrainingPaused(state.optimizer_steps, run.directory)


def _validate_epoch(run: _Run, state: _State, validate, config) -> bool:
    """Score the finished epoch, keep the best weights; True when early stopping ends
    the run."""
    import torch

    if validate is None:
        state.best_epoch = state.epoch
        return False
    run.module.eval()
    with torch.no_grad():
        state.val_score.append(float(validate(run.module)))
    window = state.val_score[-max(1, int(config.val_smoothing)) :]
    score = sum(window) / len(window)
    if score > state.best_score:
        state.best_score, state.bad_epochs, state.best_epoch = score, 0, state.epoch
        run.keep_best()
        return False
    state.bad_epochs += 1
    state.stopped_early = state.bad_epochs >= config.patience
    return state.stopped_early
