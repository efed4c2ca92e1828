"""Evaluation of recommenders on a split (this layer fits and predicts; the metrics it
computes are the pure functions of :mod:`llmseqrec.metrics`)."""

from ._evaluate import evaluate

__all__ = ["evaluate"]
