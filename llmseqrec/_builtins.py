"""The one place where the built-in classes are registered by name.

The package ``__init__`` imports this module, so :func:`llmseqrec.load`, the benchmark
runner and the shared test suite know every built-in model however ``llmseqrec`` is
imported. The registry itself (:mod:`llmseqrec.registry`) imports nothing.
"""

from __future__ import annotations

from .hybrids import (
    EmbeddingEnsemble,
    PopularityDiversityFilter,
    PopularitySwitch,
    ReciprocalRankFusion,
    ScoreFusion,
)
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
from .registry import register
from .text import EmbeddingReducer, ItemTextEncoder

__all__ = ["RECOMMENDERS", "COMPONENTS"]

#: Built-in recommenders, registered under their class names.
RECOMMENDERS = (
    MostPopular,
    SKNN,
    VSKNN,
    SSKNN,
    SFSKNN,
    SKNNEmb,
    LLMSeqSim,
    SASRec,
    BERT4Rec,
    GRU4Rec,
    LLM2SASRec,
    LLM2BERT4Rec,
    LLM2GRU4Rec,
    LLMSeqPrompt,
    EmbeddingEnsemble,
    PopularitySwitch,
    PopularityDiversityFilter,
    ScoreFusion,
    ReciprocalRankFusion,
)
#: Built-in components that models hold as parameters (saved inside a model's config).
COMPONENTS = (ItemTextEncoder, EmbeddingReducer)

for _cls in RECOMMENDERS:
    register(_cls.__name__)(_cls)
for _cls in COMPONENTS:
    register(_cls.__name__, recommender=False)(_cls)
