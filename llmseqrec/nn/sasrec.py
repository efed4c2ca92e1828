"""SASRec: causal self-attention over the item sequence (Kang & McAuley, 2018)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .heads import make_head
from .layers import LiGRBlock, SeededDropout, TransformerBlock, attention_mask, xavier_init_

__all__ = ["SASRecConfig", "SASRec", "BLOCKS", "INITS"]

#: Transformer blocks SASRec can stack (see :class:`SASRec`).
BLOCKS = ("pre_ln", "post_ln", "ligr")
#: Weight initialisations (see :class:`SASRec`).
INITS = ("xavier", "normal")


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
    position_origin: str = "last"  # positions counted from the prompt's last item or first
    block: str = "pre_ln"  # pre_ln (reference), post_ln (RecBole), ligr (eSASRec)
    init: str = "xavier"  # xavier (reference), normal (N(0, 0.02): RecBole, BERT)
    attention_dropout: float = 0.0  # on attention probabilities (RecBole: attn_dropout_prob)


class SASRec(nn.Module):
    """Item + learned position embeddings -> embedding dropout -> causal blocks -> hidden
    states (B, T, dim); scores via the tied head.

    ``block="pre_ln"`` (the reference code) and ``"ligr"`` (gated pre-LN blocks) end with a
    final LayerNorm; ``"post_ln"`` (RecBole) normalises the input embedding instead
    (LayerNorm before the embedding dropout) and each block's output. ``init="normal"``
    draws every Linear and the position table from N(0, 0.02) (RecBole); the item table is
    the item-embedding module's own.

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
        if c.block not in BLOCKS:
            raise ValueError(f"block must be one of {BLOCKS}, got {c.block!r}")
        if c.init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {c.init!r}")
        self.blocks = nn.ModuleList(self._block() for _ in range(c.n_layers))
        post_ln = c.block == "post_ln"
        self.input_ln = nn.LayerNorm(c.dim) if post_ln else nn.Identity()
        self.final_ln = nn.Identity() if post_ln else nn.LayerNorm(c.dim)
        # The head's activation is the reference's ReLU whatever the blocks use.
        head_activation = "relu" if c.activation == "swiglu" else c.activation
        self.head = make_head(c.head, c.dim, c.n_items, head_activation, generator)
        xavier_init_(self.blocks, generator)
        with torch.no_grad():
            self.positions.weight.uniform_(-0.05, 0.05, generator=generator)
            if c.init == "normal":
                for m in [self.positions, *self.blocks.modules(), *self.head.modules()]:
                    if isinstance(m, (nn.Linear, nn.Embedding)):
                        m.weight.normal_(0.0, 0.02, generator=generator)

    def _block(self) -> nn.Module:
        c = self.config
        if c.block == "ligr":
            return LiGRBlock(
                c.dim, c.n_heads, c.ffn_scale * c.dim, c.dropout, c.activation,
                attention_dropout=c.attention_dropout,
            )  # fmt: skip
        return TransformerBlock(
            c.dim, c.n_heads, c.ffn_scale * c.dim, c.dropout, c.activation,
            pre_ln=c.block == "pre_ln", attention_dropout=c.attention_dropout,
        )  # fmt: skip

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, T) left-padded internal ids -> (B, T, dim) hidden states."""
        x = self.item_embedding(ids) + self.positions(self.position_ids(ids))  # (B, T, D)
        x = self.emb_drop(self.input_ln(x)) * (ids != 0)[..., None]
        mask = attention_mask(ids, causal=self.causal)  # (B, 1, T, T)
        for block in self.blocks:
            x = block(x, mask)
        return self.final_ln(x)

    def position_ids(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, T) left-padded ids -> (B, T) position indices.

        ``position_origin="last"`` (the reference code): the most recent item is always at
        position ``max_len - 1``, so an item's position says how recent it is.
        ``"first"`` (RecBole): the first item of the (truncated) prompt is at 0, so the
        hidden state after ``t`` items looks the same whether it ends a prompt or sits
        inside a longer training session: every training target then trains exactly the
        state that scores a prompt of that length.
        """
        T = ids.shape[1]
        if self.config.position_origin == "first":
            return (torch.cumsum(ids != 0, dim=1) - 1).clamp_(min=0)  # pads -> 0 (masked)
        return torch.arange(self.config.max_len - T, self.config.max_len, device=ids.device)[
            None
        ].expand(ids.shape[0], -1)

    def scores(self, hidden: torch.Tensor) -> torch.Tensor:
        """(..., dim) -> (..., n_items)."""
        return self.head(hidden, self.item_embedding.item_matrix())
