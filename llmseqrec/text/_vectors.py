"""Turning a model's ``embeddings`` parameter into a matrix aligned with its item index."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.base import clone

__all__ = ["item_vectors"]


def item_vectors(
    embeddings, item_ids: np.ndarray, item_metadata: pd.DataFrame | None
) -> np.ndarray:
    """Item vectors in catalogue order, shape (n_items, dim), float32.

    Parameters
    ----------
    embeddings : ItemTextEncoder, mapping, DataFrame or None
        An (unfitted or fitted) encoder applied to ``item_metadata``; a mapping
        ``item id -> vector``; a DataFrame indexed by item id. ``None`` uses the default
        :class:`ItemTextEncoder` (all-MiniLM-L6-v2 over titles). Items without a vector
        get zeros.
    item_ids : ndarray
        The catalogue (external ids, internal order).
    item_metadata : pandas.DataFrame or None
        Aligned with ``item_ids`` (rows may be all-NaN for items without metadata).
    """
    from ._encoder import ItemTextEncoder

    if embeddings is None:
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
