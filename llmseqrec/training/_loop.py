"""One model-agnostic training loop (minGPT-style) with early stopping on a validation metric.

The loop knows nothing about recommendation: it receives a module, a function that yields
the batches of an epoch, a loss function and a validation function. Data-parallel training
would plug in at two points without rewriting it: ``batches(epoch)`` yields this process's
shard (a ``DistributedSampler``-style split by rank), and the module is wrapped in
``DistributedDataParallel`` before being passed in (``validate`` then runs on rank 0).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

import torch
from tqdm.auto import tqdm

from ._history import TrainHistory
from ._memory import release_freed_memory

__all__ = [
    "TrainConfig",
    "TrainHistory",
    "train_module",
    "lr_factor",
    "LR_DECAYS",
    "autocast_settings",
    "cpu_has_native_bf16",
]


@dataclass
class TrainConfig:
    epochs: int = 50
    lr: float = 1e-3
    weight_decay: float = 0.0
    clip_norm: float | None = None
    patience: int = 3
    device: str = "cpu"
    #: Autocast: on CUDA bf16 where supported, else fp16 with a GradScaler; on a CPU bf16
    #: where it has native bf16 arithmetic (AVX512-BF16 or AMX), else off.
    mixed_precision: bool = False
    show_progress: bool = True
    desc: str = "train"
    #: Batches whose gradients are summed before each optimizer step.
    grad_accumulation_steps: int = 1
    #: Stop after this many optimizer steps in total (``None``: only ``epochs`` bound it).
    max_steps: int | None = None
    #: Also show a progress bar over the batches of each epoch (for long epochs).
    batch_progress: bool = False
    #: Optimizer steps over which the learning rate rises linearly from ~0 to ``lr``.
    warmup_steps: int = 0
    #: After warmup: ``"none"`` (constant), ``"cosine"`` or ``"linear"`` decay to 0 at
    #: ``total_steps``.
    lr_decay: str = "none"
    #: Steps the decay spans (needed by ``lr_decay``; typically epochs x batches per epoch).
    total_steps: int | None = None
    #: Early stopping reads the mean of the last ``val_smoothing`` validation scores (fewer
    #: in the first epochs) instead of the last one alone; 1 = the raw score.
    val_smoothing: int = 1
    #: Keep an exponential moving average of the trainable weights, updated after every
    #: optimizer step with this decay (0 < decay < 1; ``None``: off). Validation, early
    #: stopping and the weights kept use the average, not the last step's weights.
    ema_decay: float | None = None
    #: Names of parameters whose weight decay pulls them toward their values at the start
    #: of training instead of toward zero (L2-SP, Li et al., ICML 2018): decoupled as
    #: AdamW's, ``p -= lr * weight_decay * (p - p_start)`` after each optimizer step.
    decay_to_init: tuple[str, ...] = ()
    #: Names of parameters left out of the weight decay (besides biases and norms, which
    #: never decay).
    no_decay: tuple[str, ...] = ()
    #: Learning-rate multipliers by parameter name (e.g. a text-initialised item table
    #: trained more slowly than the rest): such a parameter steps at ``lr * scale`` under
    #: the same schedule, and its (decoupled) weight decay scales alike.
    lr_scales: dict[str, float] = field(default_factory=dict)
    #: Batches each epoch yields, when known: the batch progress bar's total and ETA.
    batches_per_epoch: int | None = None
    #: ``validate`` returns minus a loss (higher is better): progress shows the loss itself.
    val_is_negated_loss: bool = False
    #: Data-parallel over an initialised ``torch.distributed`` group (``torchrun``): every
    #: rank walks the same seeded batches and takes its rows of each, the gradients are
    #: averaged, rank 0 validates and its decision is broadcast. ``None``: when a group
    #: of more than one process is initialised.
    distributed: bool | None = None
    #: How many loss terms a (rank's) batch holds, when the loss is their mean: gradients
    #: are then averaged over the ranks with these weights, which gives the gradient of the
    #: whole batch's mean exactly. ``None``: every rank weighs the same.
    batch_weight: Callable[[object], float] | None = None


#: Learning-rate decays after warmup (:class:`TrainConfig`).
LR_DECAYS = ("none", "cosine", "linear")


def autocast_settings(mixed_precision: bool, device) -> tuple[bool, str, torch.dtype]:
    """``(enabled, device type, dtype)`` of training's autocast: CUDA in bf16 where
    supported (else fp16), a CPU in bf16 where it computes bf16 natively, else off."""
    if not mixed_precision:
        return False, "cpu", torch.bfloat16
    if str(device).startswith("cuda"):
        return True, "cuda", torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if str(device) == "cpu" and cpu_has_native_bf16():
        return True, "cpu", torch.bfloat16
    return False, "cpu", torch.bfloat16


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (oneDNN's check: AVX512-BF16 or AMX)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def lr_factor(step: int, warmup_steps: int, decay: str, total_steps: int | None) -> float:
    """Multiplier of the base learning rate before optimizer step ``step`` (0-based):
    linear warmup over ``warmup_steps``, then ``decay`` to 0 at ``total_steps``."""
    if decay not in LR_DECAYS:
        raise ValueError(f"lr_decay must be one of {LR_DECAYS}, got {decay!r}")
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if decay == "none":
        return 1.0
    if not total_steps:
        raise ValueError(f"lr_decay={decay!r} needs total_steps")
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return 0.5 * (1.0 + math.cos(math.pi * progress)) if decay == "cosine" else 1.0 - progress


@dataclass
class _Record:
    """What the loop records as it goes; :class:`TrainHistory` is built from it at the end."""

    train_loss: list = field(default_factory=list)
    val_score: list = field(default_factory=list)
    epoch_seconds: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False
    optimizer_steps: int = 0


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
    param_groups, anchored, anchor_scales = _param_groups(module, config)
    optimizer = torch.optim.AdamW(param_groups, lr=config.lr)
    scheduler = None
    if config.lr_decay not in LR_DECAYS:
        raise ValueError(f"lr_decay must be one of {LR_DECAYS}, got {config.lr_decay!r}")
    if config.lr_decay != "none" and not config.total_steps:
        raise ValueError(f"lr_decay={config.lr_decay!r} needs total_steps >= 1")
    if config.warmup_steps or config.lr_decay != "none":
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer,
            lambda step: lr_factor(step, config.warmup_steps, config.lr_decay, config.total_steps),
        )
    use_amp, amp_device, amp_dtype = autocast_settings(config.mixed_precision, config.device)
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)
    history = _Record()
    best_score, best_state, bad_epochs = -math.inf, None, 0
    bar = tqdm(
        range(1, config.epochs + 1), desc=config.desc, disable=not config.show_progress, leave=False
    )
    accumulate = max(1, int(config.grad_accumulation_steps))
    trainable = [p for p in module.parameters() if p.requires_grad]
    group = _process_group(config.distributed)
    if group is not None:
        _same_start(trainable)
    starts = [p.detach().clone() for p in anchored]  # (after the ranks agree on them)
    if config.ema_decay is not None and not 0.0 < config.ema_decay < 1.0:
        raise ValueError(f"ema_decay must be in (0, 1) or None, got {config.ema_decay!r}")
    average = _WeightAverage(trainable, config.ema_decay) if config.ema_decay else None

    def optimizer_step(weight: float) -> float:
        """One optimizer step (gradients first averaged over the ranks, ``weight`` being
        this rank's loss terms since the last step); returns the step's learning rate."""
        if group is not None:
            _average_gradients(trainable, weight)
        lr = _current_lr(optimizer)
        scale = scaler.get_scale() if scaler.is_enabled() else None
        _step(optimizer, scaler, trainable, config.clip_norm, scheduler)
        skipped = scale is not None and scaler.get_scale() < scale  # fp16 overflow: no step
        if anchored and config.weight_decay and not skipped:
            with torch.no_grad():  # p -= lr * wd * (p - start)
                for p, start, p_scale in zip(anchored, starts, anchor_scales):
                    p.lerp_(start, lr * p_scale * config.weight_decay)
        history.optimizer_steps += 1
        if average is not None:
            average.update()
        return lr

    for epoch in bar:
        module.train()
        start, total, n_batches = time.perf_counter(), 0.0, 0
        weight = 0.0  # this rank's loss terms since the last optimizer step
        optimizer.zero_grad(set_to_none=True)
        step_lr = _current_lr(optimizer)  # the epoch's last step's (none: current)
        epoch_batches = tqdm(
            batches(epoch),
            total=config.batches_per_epoch,
            desc=f"epoch {epoch}",
            disable=not (config.show_progress and config.batch_progress),
            leave=False,
        )
        for batch in epoch_batches:
            if group is not None:
                batch = _rows_of_rank(batch, *group)
                weight += config.batch_weight(batch) if config.batch_weight else 1.0
            # A rank's share of a batch smaller than the group is empty: it adds no gradient
            # (a loss over no rows would be NaN) but takes part in the step.
            if group is None or _has_rows(batch):
                with torch.autocast(amp_device, dtype=amp_dtype, enabled=use_amp):
                    loss = loss_fn(module, batch)
                scaler.scale(loss / accumulate).backward()
                total += float(loss.detach())
            n_batches += 1
            epoch_batches.set_postfix(loss=f"{total / n_batches:.4f}")
            if n_batches % accumulate == 0:
                step_lr, weight = optimizer_step(weight), 0.0
                if config.max_steps is not None and history.optimizer_steps >= config.max_steps:
                    break
        if n_batches % accumulate:  # the epoch's last, partial accumulation
            step_lr, weight = optimizer_step(weight), 0.0
        history.epoch_seconds.append(time.perf_counter() - start)
        history.lr.append(float(step_lr))
        history.train_loss.append(total / max(n_batches, 1))
        out_of_steps = config.max_steps is not None and history.optimizer_steps >= config.max_steps
        if validate is None:
            history.best_epoch = epoch
            if out_of_steps:
                break
            continue
        module.eval()
        if average is not None:  # validate (and keep) the averaged weights
            average.swap()
        with torch.no_grad():
            if group is None:
                score = float(validate(module))
            else:  # rank 0 validates; every rank takes its decision
                score = _broadcast_score(
                    float(validate(module)) if group[0] == 0 else 0.0, config.device
                )
        history.val_score.append(score)
        if config.val_is_negated_loss:
            bar.set_postfix(loss=f"{history.train_loss[-1]:.4f}", val_loss=f"{-score:.4f}")
        else:
            bar.set_postfix(loss=f"{history.train_loss[-1]:.4f}", val=f"{score:.4f}")
        # A noisy signal (a few hundred held-out sessions) is read through a trailing mean;
        # the weights kept are those of the window's last epoch.
        window = history.val_score[-max(1, int(config.val_smoothing)) :]
        score = sum(window) / len(window)
        if score > best_score:
            best_score, bad_epochs, history.best_epoch = score, 0, epoch
            # Only trainable tensors change; copying just them keeps LoRA cheap.
            best_state = {
                name: p.detach().clone() for name, p in module.named_parameters() if p.requires_grad
            }
        else:
            bad_epochs += 1
        if average is not None:  # training goes on from the live weights
            average.swap()
        if bad_epochs and bad_epochs >= config.patience:
            history.stopped_early = True
            break
        if out_of_steps:
            break
    if average is not None and best_state is None:  # no validation: end on the average
        average.swap()
    if best_state is not None:
        with torch.no_grad():
            for name, p in module.named_parameters():
                if name in best_state:
                    p.copy_(best_state[name])
    module.eval()
    # Drop the weights copy and the optimizer state (optimizer_step's closure holds them).
    best_state = optimizer = scheduler = starts = None
    # What the batches' activations freed stays with the process (glibc's heap): give it back.
    release_freed_memory()
    return TrainHistory(**asdict(history))


class _WeightAverage:
    """An exponential moving average of parameters, updated in place after each step.

    The decay is warmed up as ``min(decay, (1 + n) / (10 + n))`` after ``n`` updates, so
    that the first steps (far from the random start) are not averaged with it for long.
    ``swap()`` exchanges the averaged and the live values of the parameters.
    """

    def __init__(self, parameters, decay: float) -> None:
        self.parameters = list(parameters)
        self.decay = float(decay)
        self.updates = 0
        self.values = [p.detach().clone() for p in self.parameters]

    @torch.no_grad()
    def update(self) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        torch._foreach_lerp_(self.values, [p.detach() for p in self.parameters], 1.0 - decay)

    @torch.no_grad()
    def swap(self) -> None:
        for p, v in zip(self.parameters, self.values):
            live = p.detach().clone()
            p.copy_(v)
            v.copy_(live)


def _process_group(distributed: bool | None):
    """``(rank, world size)`` of the data-parallel group to train in, or ``None``."""
    import torch.distributed as dist

    ready = dist.is_available() and dist.is_initialized()
    if distributed is None:
        distributed = ready and dist.get_world_size() > 1
    if not distributed:
        return None
    if not ready:
        raise RuntimeError(
            "distributed=True needs an initialised torch.distributed process group "
            "(torch.distributed.init_process_group, e.g. under torchrun)"
        )
    return dist.get_rank(), dist.get_world_size()


def _has_rows(batch) -> bool:
    """Whether a (rank's share of a) batch holds any row: its first tensor is not empty."""
    if isinstance(batch, torch.Tensor):
        return len(batch) > 0
    if isinstance(batch, (tuple, list)):
        return any(_has_rows(b) for b in batch if isinstance(b, (torch.Tensor, tuple, list)))
    return True


def _rows_of_rank(batch, rank: int, world: int):
    """This rank's rows (every ``world``-th, from ``rank``) of a batch of tensors."""
    if isinstance(batch, torch.Tensor):
        return batch[rank::world]
    if isinstance(batch, (tuple, list)):
        return type(batch)(_rows_of_rank(b, rank, world) for b in batch)
    return batch  # not per-row data (e.g. None): shared by every rank


def _average_gradients(parameters, weight: float) -> None:
    """Average the gradients over the ranks, each weighted by its number of loss terms:
    one all-reduce of one flat buffer (and of the weights) per optimizer step."""
    import torch.distributed as dist

    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in parameters]
    flat = torch.cat([g.reshape(-1) for g in grads]) * weight
    total = torch.tensor([weight], dtype=flat.dtype, device=flat.device)
    dist.all_reduce(flat)
    dist.all_reduce(total)
    flat /= total.clamp(min=1e-12)
    offset = 0
    for p, g in zip(parameters, grads):
        n = g.numel()
        p.grad = flat[offset : offset + n].view_as(p).clone()
        offset += n


def _same_start(parameters) -> None:
    """Every rank starts from rank 0's weights (seeded initialisations agree already; this
    makes it a guarantee)."""
    import torch.distributed as dist

    with torch.no_grad():
        for p in parameters:
            dist.broadcast(p.data, src=0)


def _broadcast_score(score: float, device) -> float:
    import torch.distributed as dist

    value = torch.tensor([score], dtype=torch.float64, device=device)
    dist.broadcast(value, src=0)
    return float(value.item())


def _param_groups(module: torch.nn.Module, config: TrainConfig):
    """AdamW's parameter groups (by weight decay and ``lr_scales``), the parameters
    decayed toward their start (``decay_to_init``) and those parameters' lr scales."""
    groups: dict[tuple[bool, float], list] = {}  # (decayed, lr scale) -> parameters
    anchored, anchor_scales = [], []
    unknown = set(config.decay_to_init)
    exempt = set(config.no_decay)
    scales = dict(config.lr_scales)
    for name, scale in scales.items():
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"lr_scales[{name!r}] must be a finite number > 0, got {scale!r}")
    unscaled = set(scales)
    for name, p in module.named_parameters():
        if not p.requires_grad:
            continue
        scale = float(scales.get(name, 1.0))
        unscaled.discard(name)
        if name in exempt:
            exempt.discard(name)
            decayed = False
        elif name in unknown:
            unknown.discard(name)
            decayed = False  # decayed toward its start after each step (optimizer_step)
            anchored.append(p)
            anchor_scales.append(scale)
        else:
            decayed = not (p.ndim < 2 or "ln" in name or "norm" in name)
        groups.setdefault((decayed, scale), []).append(p)
    if unknown:
        raise ValueError(f"decay_to_init names no trainable parameter: {sorted(unknown)}")
    if exempt:
        raise ValueError(f"no_decay names no trainable parameter: {sorted(exempt)}")
    if unscaled:
        raise ValueError(f"lr_scales names no trainable parameter: {sorted(unscaled)}")
    # Unscaled groups first: param_groups[0]'s lr / lr_scale is the schedule's current lr.
    ordered = sorted(groups.items(), key=lambda kv: (kv[0][1] != 1.0, not kv[0][0]))
    param_groups = [
        {
            "params": params,
            "lr": config.lr * scale,
            "lr_scale": scale,
            "weight_decay": config.weight_decay if decayed else 0.0,
        }
        for (decayed, scale), params in ordered
    ]
    return param_groups, anchored, anchor_scales


def _current_lr(optimizer) -> float:
    """The schedule's current learning rate (before any group's ``lr_scale``)."""
    group = optimizer.param_groups[0]
    return group["lr"] / group.get("lr_scale", 1.0)


def _step(optimizer, scaler, parameters, clip_norm, scheduler=None) -> None:
    if clip_norm:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(parameters, clip_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)
    if scheduler is not None:
        scheduler.step()
