"""GRU4Rec: a GRU over whole (truncated) sessions with a tied scoring head."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .heads import make_head
from .layers import SeededDropout

__all__ = ["GRU4RecConfig", "GRU4Rec"]


@dataclass(frozen=True)
class GRU4RecConfig:
    n_items: int
    dim: int = 64
    hidden_dim: int = 100
    max_len: int = 20
    dropout: float = 0.2
    activation: str = "relu"
    head: str = "projection"  # scoring head (nn.heads.make_head): projection, linear, dot


class GRU4Rec(nn.Module):
    """Embedding -> dropout -> GRU -> dropout -> (B, T, hidden_dim).

    Input is left-padded; the GRU runs on packed sequences, so padding never enters its
    state (extra padding changes nothing).
    """

    causal = True

    def __init__(self, config: GRU4RecConfig, item_embedding: nn.Module, generator=None):
        super().__init__()
        c = self.config = config
        self.item_embedding = item_embedding
        self.drop_in, self.drop_out = SeededDropout(c.dropout), SeededDropout(c.dropout)
        self.gru = nn.GRU(c.dim, c.hidden_dim, batch_first=True)
        self.head = make_head(
            c.head, c.dim, c.n_items, c.activation, generator, in_dim=c.hidden_dim
        )
        with torch.no_grad():
            for name, p in self.gru.named_parameters():
                if "bias" in name:
                    p.zero_()
                else:
                    bound = (6.0 / sum(p.shape)) ** 0.5
                    p.uniform_(-bound, bound, generator=generator)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, T) left-padded -> (B, T, hidden) aligned with the input (zeros at padding)."""
        B, T = ids.shape
        lengths = (ids != 0).sum(1).clamp(min=1)  # (B,)
        shift = T - lengths  # left padding per row
        idx = (torch.arange(T, device=ids.device)[None, :] + shift[:, None]).clamp(
            max=T - 1
        )  # (B, T)
        right = torch.gather(ids, 1, idx) * (
            torch.arange(T, device=ids.device)[None, :] < lengths[:, None]
        )  # right-padded
        x = self.drop_in(self.item_embedding(right))  # (B, T, D)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.gru(packed)
        out, _ = pad_packed_sequence(
            out, batch_first=True, total_length=T
        )  # (B, T, H) right-padded
        back = (
            torch.arange(T, device=ids.device)[None, :] - shift[:, None]
        )  # left position t <- right t - shift
        valid = back >= 0
        out = (
            torch.gather(out, 1, back.clamp(min=0)[..., None].expand(-1, -1, out.shape[-1]))
            * valid[..., None]
        )
        return self.drop_out(out)

    def scores(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.head(hidden, self.item_embedding.item_matrix())
