"""Scoring heads: hidden states -> scores over the catalogue."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["TiedScoringHead", "DotScoringHead", "HEADS", "make_head"]

#: Scoring heads a model can use (see :func:`make_head`).
HEADS = ("projection", "linear", "dot")


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


class DotScoringHead(nn.Module):
    """Scores are the hidden state's dot product with each item embedding (the original
    SASRec and RecBole): no projection, no bias.

    ``bias`` is a zero buffer so that every head answers ``project`` and ``bias`` alike.
    """

    def __init__(self, n_items: int):
        super().__init__()
        self.register_buffer("bias", torch.zeros(n_items))

    def project(self, hidden: torch.Tensor) -> torch.Tensor:
        """The hidden states themselves, (..., dim)."""
        return hidden

    def forward(self, hidden: torch.Tensor, item_matrix: torch.Tensor) -> torch.Tensor:
        """(..., dim), (n_items, dim) -> (..., n_items)."""
        return hidden @ item_matrix.T


def make_head(
    kind: str,
    dim: int,
    n_items: int,
    activation: str,
    generator=None,
    in_dim: int | None = None,
) -> nn.Module:
    """The scoring head called ``kind``.

    - ``"projection"``: the paper's reference code, ``Dense(dim)`` with the model's
      ``activation``, then the tied item matrix plus a per-item bias;
    - ``"linear"``: the same without the activation (the query may point anywhere, not
      only where a ReLU lets it);
    - ``"dot"``: the hidden state against the tied item matrix, nothing learned (needs
      ``in_dim == dim``).
    """
    if kind == "projection":
        return TiedScoringHead(dim, n_items, activation, generator, in_dim=in_dim)
    if kind == "linear":
        return TiedScoringHead(dim, n_items, "identity", generator, in_dim=in_dim)
    if kind == "dot":
        if in_dim not in (None, dim):
            raise ValueError(
                f"head='dot' needs hidden states of the item-embedding size {dim}, got {in_dim}"
            )
        return DotScoringHead(n_items)
    raise ValueError(f"head must be one of {HEADS}, got {kind!r}")
