"""The model-agnostic training loop."""

from ._loop import LR_DECAYS, TrainConfig, TrainHistory, lr_factor, train_module

__all__ = ["TrainConfig", "TrainHistory", "train_module", "lr_factor", "LR_DECAYS"]
