"""Scoring heads: hidden states -> scores over the catalogue."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["TiedScoringHead"]


class TiedScoringHead(nn.Module):
    """The reference code's projection head: ``Dense(dim, activation)`` then a product with
    the (tied) item-embedding matrix plus a per-item bias.

    Parameters
    ----------
    dim : int
        Item-embedding size (the output of the dense layer).
    n_items : int
    activation : {"relu", "gelu", "identity"}
    in_dim : int, optional
        Size of the hidden states (default ``dim``; GRU4Rec's hidden size may differ).
    """

    def __init__(
        self,
        dim: int,
        n_items: int,
        activation: str = "gelu",
        generator=None,
        in_dim: int | None = None,
    ):
        super().__init__()
        in_dim = in_dim or dim
        self.dense = nn.Linear(in_dim, dim)
        self.act = {"relu": nn.ReLU(), "gelu": nn.GELU(), "identity": nn.Identity()}[activation]
        self.bias = nn.Parameter(torch.zeros(n_items))
        with torch.no_grad():
            bound = (6.0 / (in_dim + dim)) ** 0.5
            self.dense.weight.uniform_(-bound, bound, generator=generator)
            self.dense.bias.zero_()

    def project(self, hidden: torch.Tensor) -> torch.Tensor:
        """(..., dim) -> (..., dim): the query vectors compared with item embeddings."""
        return self.act(self.dense(hidden))

    def forward(self, hidden: torch.Tensor, item_matrix: torch.Tensor) -> torch.Tensor:
        """(..., dim), (n_items, dim) -> (..., n_items) scores of items ``1..n_items``."""
        return self.project(hidden) @ item_matrix.T + self.bias
