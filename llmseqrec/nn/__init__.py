"""Pure-torch building blocks: item embeddings, transformer blocks, scoring heads, losses,
and the SASRec, BERT4Rec and GRU4Rec encoders (one architecture per file)."""

from .bert4rec import BERT4Rec, BERT4RecConfig
from .embeddings import ITEM_INITS, DualViewEmbedding, ItemEmbedding, ProjectedTextEmbedding
from .gru4rec import GRU4Rec, GRU4RecConfig
from .heads import HEADS, DotScoringHead, TiedScoringHead, make_head
from .layers import (
    ACTIVATIONS,
    FeedForward,
    LiGRBlock,
    MultiHeadSelfAttention,
    SeededDropout,
    TransformerBlock,
    attention_mask,
)
from .losses import full_softmax_loss, gbce_loss, sample_negatives, sampled_softmax_loss
from .sasrec import BLOCKS, INITS, SASRec, SASRecConfig

__all__ = [
    "ItemEmbedding",
    "ProjectedTextEmbedding",
    "DualViewEmbedding",
    "TiedScoringHead",
    "DotScoringHead",
    "HEADS",
    "make_head",
    "SeededDropout",
    "MultiHeadSelfAttention",
    "TransformerBlock",
    "LiGRBlock",
    "FeedForward",
    "ACTIVATIONS",
    "BLOCKS",
    "INITS",
    "ITEM_INITS",
    "attention_mask",
    "full_softmax_loss",
    "sampled_softmax_loss",
    "gbce_loss",
    "sample_negatives",
    "SASRec",
    "SASRecConfig",
    "BERT4Rec",
    "BERT4RecConfig",
    "GRU4Rec",
    "GRU4RecConfig",
]
