"""llmseqrec: sequential (next-item) recommendation with large language models.

Every model is a scikit-learn-style estimator importable from here::

    from llmseqrec import LLMSeqSim, LLM2SASRec, evaluate, load

Map of the package, lowest layer first; a layer imports only from layers below it
(enforced by ``lint-imports``, see ``docs/architecture.md``):

- ``exceptions``, ``utils``, ``registry``: errors, small helpers, the name -> class registry
  (a leaf: it imports nothing from the package).
- ``data``: item index, sequences, splits and folds; ``datasets``: loaders, downloads,
  synthetic data.
- ``metrics``: ranking and beyond-accuracy metrics (pure functions of lists and targets).
- ``text``: item texts -> vectors (:class:`ItemTextEncoder`), reduction
  (:class:`EmbeddingReducer`) and :func:`~llmseqrec.text.item_embedding_matrix`, the one
  seam through which every model gets its ``item_embeddings``; ``nn``: pure-torch modules
  (SASRec, BERT4Rec, GRU4Rec encoders, heads, losses).
- ``training``: the seeded training loop with early stopping (knows no recommender);
  ``llm``: prompts, fine-tuning and generation for LLMSeqPrompt.
- ``persistence``, then ``base``: saving a model as a directory (no pickle), and
  :class:`Recommender`, the contract every model follows.
- ``recommenders``: MostPopular, the SKNN family, LLMSeqSim, SASRec / BERT4Rec / GRU4Rec
  and their LLM2 versions, LLMSeqPrompt.
- ``hybrids``: models made of models (ensembles, switches, filters, fusions).
- ``_builtins``: registers the built-in classes by name (imported here).
- ``evaluation`` (:func:`evaluate`: fit, predict, score a split), ``testing`` (the shared
  behavioural suite), ``benchmark`` (configured runs, search, reports); ``cli`` on top.
"""

import logging as _logging

from . import _builtins  # noqa: F401  (registers the built-in classes by name)
from ._version import __version__
from .base import Recommender
from .evaluation import evaluate
from .hybrids import (
    EmbeddingEnsemble,
    PopularityDiversityFilter,
    PopularitySwitch,
    ReciprocalRankFusion,
    ScoreFusion,
)
from .persistence import load
from .recommenders import (
    SFSKNN,
    SKNN,
    SSKNN,
    VSKNN,
    BERT4Rec,
    GRU4Rec,
    LLM2BERT4Rec,
    LLM2GRU4Rec,
    LLM2SASRec,
    LLMSeqPrompt,
    LLMSeqSim,
    MostPopular,
    SASRec,
    SKNNEmb,
)
from .registry import all_recommenders, register
from .text import EmbeddingReducer, ItemTextEncoder

__all__ = [
    "__version__",
    "Recommender",
    # baselines
    "MostPopular",
    "SKNN",
    "VSKNN",
    "SSKNN",
    "SFSKNN",
    "SKNNEmb",
    # LLM-embedding and LLM models
    "LLMSeqSim",
    "SASRec",
    "BERT4Rec",
    "GRU4Rec",
    "LLM2SASRec",
    "LLM2BERT4Rec",
    "LLM2GRU4Rec",
    "LLMSeqPrompt",
    # hybrids
    "EmbeddingEnsemble",
    "PopularitySwitch",
    "PopularityDiversityFilter",
    "ScoreFusion",
    "ReciprocalRankFusion",
    # item text vectors
    "ItemTextEncoder",
    "EmbeddingReducer",
    # evaluation, persistence, registry
    "evaluate",
    "load",
    "register",
    "all_recommenders",
]

# A library logs, the application decides where it goes (the CLI: stderr, -v/-q).
_logging.getLogger(__name__).addHandler(_logging.NullHandler())
