"""BERT4Rec: a bidirectional encoder trained by masked-item prediction (Sun et al., 2019)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .heads import make_head
from .layers import SeededDropout, TransformerBlock, attention_mask, xavier_init_

__all__ = ["BERT4RecConfig", "BERT4Rec"]


@dataclass(frozen=True)
class BERT4RecConfig:
    n_items: int
    dim: int = 64
    n_layers: int = 2
    n_heads: int = 2
    max_len: int = 20
    dropout: float = 0.2
    ffn_scale: int = 4  # FFN width 4 * dim, gelu (the reference)
    activation: str = "gelu"
    head: str = "projection"  # scoring head (nn.heads.make_head): projection, linear, dot
    # BERT4Rec's paper normalises and drops out the summed embeddings; the reference code
    # (paper-digest section 4.2) does neither.
    embedding_norm: bool = True
    embedding_dropout: bool = True


class BERT4Rec(nn.Module):
    """Item + learned position embeddings [-> LayerNorm -> dropout] -> post-LN bidirectional
    blocks -> (B, T, dim).

    The bracketed steps follow BERT4Rec's paper and are switched by ``config.embedding_norm``
    and ``config.embedding_dropout``; the paper's reference code has neither.

    The MASK token is internal id ``n_items + 1``; prediction appends it to the prompt and
    reads the output at its position.
    """

    causal = False

    def __init__(self, config: BERT4RecConfig, item_embedding: nn.Module, generator=None):
        super().__init__()
        c = self.config = config
        self.item_embedding = item_embedding
        self.positions = nn.Embedding(c.max_len, c.dim)
        self.emb_drop = SeededDropout(c.dropout if c.embedding_dropout else 0.0)
        self.emb_ln = nn.LayerNorm(c.dim) if c.embedding_norm else nn.Identity()
        self.blocks = nn.ModuleList(
            TransformerBlock(
                c.dim, c.n_heads, c.ffn_scale * c.dim, c.dropout, c.activation, pre_ln=False
            )
            for _ in range(c.n_layers)
        )
        self.head = make_head(c.head, c.dim, c.n_items, c.activation, generator)
        xavier_init_(self.blocks, generator)
        with torch.no_grad():
            self.positions.weight.uniform_(-0.05, 0.05, generator=generator)

    @property
    def mask_id(self) -> int:
        return self.config.n_items + 1

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, T) left-padded internal ids (MASK = n_items + 1) -> (B, T, dim)."""
        T = ids.shape[1]
        pos = torch.arange(self.config.max_len - T, self.config.max_len, device=ids.device)
        x = self.emb_drop(
            self.emb_ln(self.item_embedding(ids) + self.positions(pos)[None])
        )  # (B, T, D)
        mask = attention_mask(ids, causal=False)
        for block in self.blocks:
            x = block(x, mask)
        return x

    def scores(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.head(hidden, self.item_embedding.item_matrix())
