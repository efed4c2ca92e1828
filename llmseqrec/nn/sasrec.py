"""SASRec: causal self-attention over the item sequence (Kang & McAuley, 2018)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .heads import make_head
from .layers import SeededDropout, TransformerBlock, attention_mask, xavier_init_

__all__ = ["SASRecConfig", "SASRec"]


@dataclass(frozen=True)
class SASRecConfig:
    n_items: int
    dim: int = 64
    n_layers: int = 2
    n_heads: int = 1
    max_len: int = 20
    dropout: float = 0.2
    ffn_scale: int = 1  # FFN width = ffn_scale * dim (the reference: 1)
    activation: str = "relu"
    head: str = "projection"  # scoring head (nn.heads.make_head): projection, linear, dot


class SASRec(nn.Module):
    """Item + learned position embeddings -> embedding dropout -> pre-LN causal blocks ->
    final LayerNorm -> hidden states (B, T, dim); scores via the tied head.

    ``item_embedding`` is any module with ``forward(ids)`` and ``item_matrix()``
    (:class:`~llmseqrec.nn.ItemEmbedding` or :class:`~llmseqrec.nn.ProjectedTextEmbedding`).
    """

    causal = True

    def __init__(self, config: SASRecConfig, item_embedding: nn.Module, generator=None):
        super().__init__()
        c = self.config = config
        self.item_embedding = item_embedding
        self.positions = nn.Embedding(c.max_len, c.dim)
        self.emb_drop = SeededDropout(c.dropout)
        self.blocks = nn.ModuleList(
            TransformerBlock(
                c.dim, c.n_heads, c.ffn_scale * c.dim, c.dropout, c.activation, pre_ln=True
            )
            for _ in range(c.n_layers)
        )
        self.final_ln = nn.LayerNorm(c.dim)
        self.head = make_head(c.head, c.dim, c.n_items, c.activation, generator)
        xavier_init_(self.blocks, generator)
        with torch.no_grad():
            self.positions.weight.uniform_(-0.05, 0.05, generator=generator)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, T) left-padded internal ids -> (B, T, dim) hidden states."""
        T = ids.shape[1]
        pos = torch.arange(
            self.config.max_len - T, self.config.max_len, device=ids.device
        )  # last position = most recent
        x = self.item_embedding(ids) + self.positions(pos)[None]  # (B, T, D)
        x = self.emb_drop(x) * (ids != 0)[..., None]
        mask = attention_mask(ids, causal=self.causal)  # (B, 1, T, T)
        for block in self.blocks:
            x = block(x, mask)
        return self.final_ln(x)

    def scores(self, hidden: torch.Tensor) -> torch.Tensor:
        """(..., dim) -> (..., n_items)."""
        return self.head(hidden, self.item_embedding.item_matrix())
