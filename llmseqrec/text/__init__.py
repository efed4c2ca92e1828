"""Item-text embeddings and dimensionality reduction."""

from ._backends import EmbeddingAPIError, default_sentence_transformer
from ._cache import EmbeddingCache, text_hash
from ._encoder import BACKENDS, ItemTextEncoder
from ._files import read_item_embeddings
from ._reduce import REDUCTIONS, EmbeddingReducer, l2_normalize
from ._runtimes import RUNTIMES
from ._server import EmbeddingServer
from ._templates import render_texts, template_fields
from ._vectors import (
    item_embedding_ids,
    item_embedding_matrix,
    item_vectors,
    pin_array_item_embeddings,
    reduce_item_vectors,
)

__all__ = [
    "ItemTextEncoder",
    "EmbeddingServer",
    "BACKENDS",
    "RUNTIMES",
    "EmbeddingReducer",
    "REDUCTIONS",
    "l2_normalize",
    "render_texts",
    "template_fields",
    "item_embedding_matrix",
    "item_embedding_ids",
    "pin_array_item_embeddings",
    "read_item_embeddings",
    "item_vectors",
    "reduce_item_vectors",
    "EmbeddingCache",
    "text_hash",
    "EmbeddingAPIError",
    "default_sentence_transformer",
]
