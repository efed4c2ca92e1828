"""Turning a model's ``embeddings`` parameter into a matrix aligned with its item index."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.base import clone

__all__ = ["item_vectors", "reduce_item_vectors"]


def item_vectors(
    embeddings, item_ids: np.ndarray, item_metadata: pd.DataFrame | None
) -> np.ndarray:
    """Item vectors in catalogue order, shape (n_items, dim), float32.

    Parameters
    ----------
    embeddings : ItemTextEncoder, mapping, DataFrame, None or "default"
        An (unfitted or fitted) encoder applied to ``item_metadata``; a mapping
        ``item id -> vector``; a DataFrame indexed by item id. ``None`` or ``"default"``
        use the default :class:`ItemTextEncoder` (all-MiniLM-L6-v2 over titles). Items
        without a vector get zeros.
    item_ids : ndarray
        The catalogue (external ids, internal order).
    item_metadata : pandas.DataFrame or None
        Aligned with ``item_ids`` (rows may be all-NaN for items without metadata).
    """
    from ._encoder import ItemTextEncoder

    if embeddings is None or (isinstance(embeddings, str) and embeddings == "default"):
        embeddings = ItemTextEncoder()
    if isinstance(embeddings, ItemTextEncoder):
        if item_metadata is None:
            raise ValueError("text embeddings need item_metadata (pass it to fit)")
        encoder = clone(embeddings).fit(item_metadata)
        return encoder.transform(item_metadata)
    if isinstance(embeddings, pd.DataFrame):
        embeddings = {i: row for i, row in zip(embeddings.index, embeddings.to_numpy())}
    if isinstance(embeddings, Mapping):
        dim = len(np.asarray(next(iter(embeddings.values()))))
        out = np.zeros((len(item_ids), dim), dtype=np.float32)
        for row, item in enumerate(item_ids.tolist()):
            vec = embeddings.get(item)
            if vec is not None:
                out[row] = vec
        return out
    raise TypeError(
        "embeddings must be an ItemTextEncoder, a mapping item id -> vector, a DataFrame indexed "
        f"by item id, or None; got {type(embeddings).__name__}"
    )


def reduce_item_vectors(
    X, reduction, n_components, item_metadata=None, class_column=None, random_state=None
):
    """Reduce catalogue vectors with :class:`EmbeddingReducer`, reading LDA's item classes
    from ``item_metadata[class_column]``.

    Returns
    -------
    reduced : ndarray of shape (n_items, n_components_)
    n_components : int
        The size produced (LDA caps it at n_classes - 1).
    """
    from ._reduce import EmbeddingReducer

    labels = None
    if reduction == "lda":
        if class_column is None or item_metadata is None:
            raise ValueError(
                "reduction='lda' needs class_column naming an item-metadata column of classes"
            )
        labels = item_metadata[class_column].fillna(-1).astype(str).to_numpy()
    reducer = EmbeddingReducer(reduction, n_components, random_state=random_state).fit(X, labels)
    return reducer.transform(X), reducer.n_components_
