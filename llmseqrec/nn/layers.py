"""Transformer building blocks with seeded dropout (no global RNG)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "SeededDropout",
    "MultiHeadSelfAttention",
    "TransformerBlock",
    "LiGRBlock",
    "FeedForward",
    "attention_mask",
    "xavier_init_",
]


def xavier_init_(module: nn.Module, generator=None) -> None:
    """Xavier-uniform weights and zero biases for every Linear in ``module`` (seeded)."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.Linear):
                bound = (6.0 / (m.in_features + m.out_features)) ** 0.5
                m.weight.uniform_(-bound, bound, generator=generator)
                if m.bias is not None:
                    m.bias.zero_()


class SeededDropout(nn.Module):
    """Dropout drawing its mask from ``self.generator`` (set by the training loop), so
    training is reproducible from ``random_state`` without touching torch's global seed."""

    def __init__(self, p: float):
        super().__init__()
        self.p = float(p)
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.rand(x.shape, generator=self.generator, device=x.device) >= self.p
        return x * keep.to(x.dtype) / (1.0 - self.p)


def attention_mask(ids: torch.Tensor, causal: bool) -> torch.Tensor:
    """Boolean mask (B, 1, T, T), True = may attend: never to padding (id 0), and with
    ``causal`` never to later positions. Each position may always attend to itself, so
    rows of padding stay finite (they are never used)."""
    T = ids.shape[1]
    keys = (ids != 0)[:, None, None, :]  # (B, 1, 1, T)
    allowed = keys.expand(-1, 1, T, T)
    if causal:
        allowed = allowed & torch.ones(T, T, dtype=torch.bool, device=ids.device).tril()
    return allowed | torch.eye(T, dtype=torch.bool, device=ids.device)


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention on ``scaled_dot_product_attention`` (fused kernels on GPU).

    ``attention_dropout`` drops attention probabilities in training (the original SASRec and
    RecBole, rate ``attn_dropout_prob``). Its mask comes from a :class:`SeededDropout`, so a
    training step with it computes the attention explicitly (``softmax(QK^T / sqrt(d))``)
    instead of through the fused kernel, whose dropout would draw from torch's global RNG.
    """

    def __init__(self, dim: int, n_heads: int, attention_dropout: float = 0.0):
        super().__init__()
        if dim % n_heads:
            raise ValueError(f"dim ({dim}) must be divisible by n_heads ({n_heads})")
        self.n_heads = n_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.attn_drop = SeededDropout(attention_dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, T, D), (B, 1, T, T) boolean (True = may attend) -> (B, T, D)."""
        B, T, D = x.shape
        q, k, v = (
            self.qkv(x).view(B, T, 3, self.n_heads, D // self.n_heads).permute(2, 0, 3, 1, 4)
        )  # 3 x (B, H, T, D/H)
        if self.training and self.attn_drop.p > 0.0:
            logits = (q @ k.transpose(-2, -1)) * (q.shape[-1] ** -0.5)  # (B, H, T, T)
            probs = torch.softmax(logits.masked_fill(~mask, float("-inf")), dim=-1)
            y = self.attn_drop(probs) @ v  # (B, H, T, D/H)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # (B, H, T, D/H)
        return self.out(y.transpose(1, 2).reshape(B, T, D))  # (B, T, D)


class FeedForward(nn.Module):
    """Position-wise feed-forward: ``Linear -> activation -> Linear`` (``"relu"``/``"gelu"``)
    or SwiGLU, ``down(silu(gate(x)) * up(x))`` without biases (``"swiglu"``, as eSASRec)."""

    def __init__(self, dim: int, hidden: int, activation: str = "gelu"):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        self.activation = activation
        bias = activation != "swiglu"
        self.up = nn.Linear(dim, hidden, bias=bias)
        self.gate = nn.Linear(dim, hidden, bias=False) if activation == "swiglu" else None
        self.down = nn.Linear(hidden, dim, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., dim) -> (..., dim)."""
        if self.gate is not None:
            return self.down(F.silu(self.gate(x)) * self.up(x))
        h = self.up(x)
        return self.down(F.gelu(h) if self.activation == "gelu" else F.relu(h))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # Models saved by 0.1 hold this layer as nn.Sequential: keys "0.*" and "2.*".
        for old, new in (("0", "up"), ("2", "down")):
            for name in ("weight", "bias"):
                if prefix + f"{old}.{name}" in state_dict:
                    state_dict[prefix + f"{new}.{name}"] = state_dict.pop(prefix + f"{old}.{name}")
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


#: Feed-forward activations (:class:`FeedForward`).
ACTIVATIONS = ("relu", "gelu", "swiglu")


class TransformerBlock(nn.Module):
    """Self-attention + feed-forward, pre-LN (SASRec) or post-LN (BERT4Rec).

    Pre-LN: ``x + Drop(MHA(LN(x)))`` then ``x + Drop(FFN(LN(x)))``;
    post-LN: ``LN(x + Drop(MHA(x)))`` then ``LN(x + Drop(FFN(x)))``; ``attention_dropout``
    also drops the attention probabilities inside ``MHA`` (:class:`MultiHeadSelfAttention`).
    """

    def __init__(
        self,
        dim: int,
        n_heads: int,
        ffn_dim: int,
        dropout: float,
        activation: str = "gelu",
        pre_ln: bool = True,
        attention_dropout: float = 0.0,
    ):
        super().__init__()
        self.pre_ln = pre_ln
        self.attn = MultiHeadSelfAttention(dim, n_heads, attention_dropout)
        self.ffn = FeedForward(dim, ffn_dim, activation)
        self.ln1, self.ln2 = nn.LayerNorm(dim, eps=1e-5), nn.LayerNorm(dim, eps=1e-5)
        self.drop1, self.drop2 = SeededDropout(dropout), SeededDropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, T, D), (B, 1, T, T) -> (B, T, D)."""
        if self.pre_ln:
            x = x + self.drop1(self.attn(self.ln1(x), mask))
            return x + self.drop2(self.ffn(self.ln2(x)))
        x = self.ln1(x + self.drop1(self.attn(x, mask)))
        return self.ln2(x + self.drop2(self.ffn(x)))


class LiGRBlock(nn.Module):
    """Gated pre-LN block (LiGR, arXiv:2502.03417; eSASRec, RecSys 2025).

    ``x + sigmoid(G1 x) * Drop(MHA(LN(x)))`` then ``x + sigmoid(G2 x) * Drop(FFN(LN(x)))``:
    each residual branch passes through a learned per-channel gate read from the residual
    stream itself, so a layer can learn to leave the stream alone.
    """

    def __init__(
        self,
        dim: int,
        n_heads: int,
        ffn_dim: int,
        dropout: float,
        activation: str = "swiglu",
        attention_dropout: float = 0.0,
    ):
        super().__init__()
        self.attn = MultiHeadSelfAttention(dim, n_heads, attention_dropout)
        self.ffn = FeedForward(dim, ffn_dim, activation)
        self.gate1, self.gate2 = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.ln1, self.ln2 = nn.LayerNorm(dim, eps=1e-5), nn.LayerNorm(dim, eps=1e-5)
        self.drop1, self.drop2 = SeededDropout(dropout), SeededDropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, T, D), (B, 1, T, T) -> (B, T, D)."""
        x = x + torch.sigmoid(self.gate1(x)) * self.drop1(self.attn(self.ln1(x), mask))
        return x + torch.sigmoid(self.gate2(x)) * self.drop2(self.ffn(self.ln2(x)))
