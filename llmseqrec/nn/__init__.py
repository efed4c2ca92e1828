"""Pure-torch building blocks: item embeddings, transformer blocks, scoring heads, losses,
and the SASRec, BERT4Rec and GRU4Rec encoders (one architecture per file)."""

from .bert4rec import BERT4Rec, BERT4RecConfig
from .embeddings import ItemEmbedding, ProjectedTextEmbedding
from .gru4rec import GRU4Rec, GRU4RecConfig
from .heads import HEADS, DotScoringHead, TiedScoringHead, make_head
from .layers import MultiHeadSelfAttention, SeededDropout, TransformerBlock, attention_mask
from .losses import full_softmax_loss, sampled_softmax_loss
from .sasrec import SASRec, SASRecConfig

__all__ = [
    "ItemEmbedding",
    "ProjectedTextEmbedding",
    "TiedScoringHead",
    "DotScoringHead",
    "HEADS",
    "make_head",
    "SeededDropout",
    "MultiHeadSelfAttention",
    "TransformerBlock",
    "attention_mask",
    "full_softmax_loss",
    "sampled_softmax_loss",
    "SASRec",
    "SASRecConfig",
    "BERT4Rec",
    "BERT4RecConfig",
    "GRU4Rec",
    "GRU4RecConfig",
]
