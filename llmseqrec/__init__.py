"""llmseqrec: sequential recommendation with large language models.

The public API: recommenders (``MostPopular``, ...), :func:`load`, the data layer
(:mod:`llmseqrec.data`), data sets (:mod:`llmseqrec.datasets`), metrics and
:func:`evaluate` (:mod:`llmseqrec.metrics`), and the shared test suite
(:mod:`llmseqrec.testing`).
"""

from ._version import __version__
from .base import Recommender
from .metrics import evaluate
from .persistence import load
from .recommenders import (
    SFSKNN,
    SKNN,
    SSKNN,
    VSKNN,
    LLMSeqPrompt,
    LLMSeqSim,
    MostPopular,
    SKNNEmb,
)
from .registry import all_recommenders, register

__all__ = [
    "__version__",
    "Recommender",
    "MostPopular",
    "LLMSeqSim",
    "LLMSeqPrompt",
    "SKNN",
    "VSKNN",
    "SSKNN",
    "SFSKNN",
    "SKNNEmb",
    "evaluate",
    "load",
    "register",
    "all_recommenders",
]
