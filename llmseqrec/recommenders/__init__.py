"""Built-in recommenders (registered by name in :mod:`llmseqrec._builtins`)."""

from .llmseqprompt import LLMSeqPrompt
from .llmseqsim import LLMSeqSim
from .popular import MostPopular
from .sequential import BERT4Rec, GRU4Rec, LLM2BERT4Rec, LLM2GRU4Rec, LLM2SASRec, SASRec
from .sknn import SFSKNN, SKNN, SSKNN, VSKNN, SKNNEmb

__all__ = [
    "SASRec",
    "BERT4Rec",
    "GRU4Rec",
    "LLM2SASRec",
    "LLM2BERT4Rec",
    "LLM2GRU4Rec",
    "MostPopular",
    "LLMSeqSim",
    "LLMSeqPrompt",
    "SKNN",
    "VSKNN",
    "SSKNN",
    "SFSKNN",
    "SKNNEmb",
]
