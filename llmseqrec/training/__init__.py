"""The model-agnostic training loop, and its curves."""

from ._history import TrainHistory
from ._loop import (
    LR_DECAYS,
    TrainConfig,
    autocast_settings,
    cpu_has_native_bf16,
    lr_factor,
    train_module,
)
from ._memory import limit_heap_fragmentation, release_freed_memory
from ._plot import history_frame, plot_history

__all__ = [
    "TrainConfig",
    "TrainHistory",
    "train_module",
    "lr_factor",
    "LR_DECAYS",
    "autocast_settings",
    "cpu_has_native_bf16",
    "history_frame",
    "plot_history",
    "release_freed_memory",
    "limit_heap_fragmentation",
]
