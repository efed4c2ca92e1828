"""Built-in recommenders (importing this module registers them)."""

from .llmseqsim import LLMSeqSim
from .popular import MostPopular
from .sknn import SFSKNN, SKNN, SSKNN, VSKNN, SKNNEmb

__all__ = ["MostPopular", "LLMSeqSim", "SKNN", "VSKNN", "SSKNN", "SFSKNN", "SKNNEmb"]
