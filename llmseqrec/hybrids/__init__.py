"""Hybrid meta-recommenders: parts are any recommenders (fitted or not), with nested
parameters reachable as ``part__param``."""

from ._base import HybridRecommender, session_popularity
from .ensemble import EmbeddingEnsemble
from .filter import PopularityDiversityFilter
from .fusion import ReciprocalRankFusion, ScoreFusion
from .switch import PopularitySwitch

__all__ = [
    "HybridRecommender",
    "session_popularity",
    "EmbeddingEnsemble",
    "PopularitySwitch",
    "PopularityDiversityFilter",
    "ScoreFusion",
    "ReciprocalRankFusion",
]
