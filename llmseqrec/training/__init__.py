"""The model-agnostic training loop."""

from ._loop import TrainConfig, TrainHistory, train_module

__all__ = ["TrainConfig", "TrainHistory", "train_module"]
