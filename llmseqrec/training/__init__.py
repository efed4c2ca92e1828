"""The model-agnostic training loop, and its curves."""

from ._loop import LR_DECAYS, TrainConfig, TrainHistory, lr_factor, train_module
from ._plot import history_frame, plot_history

__all__ = [
    "TrainConfig",
    "TrainHistory",
    "train_module",
    "lr_factor",
    "LR_DECAYS",
    "history_frame",
    "plot_history",
]
