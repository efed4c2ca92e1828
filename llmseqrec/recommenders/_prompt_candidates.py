"""Candidate lists (GenList, Rank) and cluster representatives (Classify) of LLMSeqPrompt.

Works on internal item codes (``1..n_items``); code ``c`` is row ``c - 1`` of the item
arrays.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone

from ..data import ItemIndex
from ..text import pin_array_item_embeddings

__all__ = [
    "fit_candidate_model",
    "candidate_codes",
    "cluster_representatives",
    "nearest_representatives",
]


def fit_candidate_model(
    model, item_index: ItemIndex, sequences, item_metadata: pd.DataFrame, item_table=None
):
    """A fitted copy of ``model`` (default: LLMSeqSim) on the training sessions.

    A model that is already fitted is used as is; an unfitted one is cloned and fitted on
    the sessions in external ids, with the metadata re-indexed by item id.
    """
    from .llmseqsim import LLMSeqSim

    model = model if model is not None else LLMSeqSim()
    if getattr(model, "__sklearn_is_fitted__", lambda: False)():
        return model
    external = [item_index.ids[s - 1] for s in sequences]
    meta = item_metadata.copy()
    meta.index = pd.Index(item_index.ids, name="item_id")
    # ``item_table``: the user's table, which an array of item embeddings is aligned with.
    model = pin_array_item_embeddings(model, item_table)
    return clone(model).fit(external, item_metadata=meta)


def candidate_codes(model, item_index: ItemIndex, sequences, n_candidates: int) -> list[np.ndarray]:
    """The top ``n_candidates`` codes of the fitted candidate ``model`` for each prompt.

    Recommended ids outside ``item_index`` (and padding) are dropped, so a row may be
    shorter than ``n_candidates``.
    """
    external = [item_index.ids[s - 1].tolist() for s in sequences]
    recs = model.predict(external, k=n_candidates)
    out = []
    for row in recs:
        ids = [r for r in row.tolist() if r is not None]
        codes = item_index.encode(ids, handle_unknown="pad")
        out.append(codes[codes > 0])
    return out


def cluster_representatives(
    item_vectors: np.ndarray,
    titles: list[str],
    popularity: np.ndarray,
    n_clusters: int,
    random_state,
) -> tuple[np.ndarray, np.ndarray]:
    """K-means over the titled items' vectors; each cluster's most popular item represents it.

    Parameters
    ----------
    item_vectors : ndarray of shape (n_items, dim)
    titles : list of str, length n_items
        Items with an empty title are not clustered.
    popularity : ndarray of shape (n_items,)
        Training interaction counts (ties go to the lowest code).
    n_clusters : int
        Capped at the number of titled items; clusters k-means leaves empty are dropped.
    random_state : int or None

    Returns
    -------
    centroids : ndarray of shape (n_kept, dim), float32
    representatives : ndarray of shape (n_kept,), int64 codes
    """
    from sklearn.cluster import KMeans

    titled = np.flatnonzero([bool(t) for t in titles])  # rows of titled items
    n = min(n_clusters, len(titled))
    km = KMeans(n_clusters=n, random_state=random_state, n_init="auto")
    labels = km.fit_predict(item_vectors[titled].astype(np.float64))
    reps, kept = [], []
    for c in range(n):
        members = titled[labels == c]
        if not len(members):  # k-means may leave a cluster empty (duplicate vectors)
            continue
        reps.append(int(members[np.argmax(popularity[members])]) + 1)
        kept.append(c)
    return km.cluster_centers_[kept].astype(np.float32), np.asarray(reps, dtype=np.int64)


def nearest_representatives(
    centroids: np.ndarray, representatives: np.ndarray, vector: np.ndarray, n: int
) -> np.ndarray:
    """Codes of the ``n`` representatives whose centroids are nearest ``vector`` (dim,)."""
    d = ((centroids - vector) ** 2).sum(axis=1)  # (n_kept,)
    return representatives[np.argsort(d, kind="stable")[:n]]
