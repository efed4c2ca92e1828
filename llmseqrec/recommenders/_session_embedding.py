"""Session vectors as (decay-)weighted means of item vectors, shared by LLMSeqSim and SKNN-Emb."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._decay import decay_weights

__all__ = ["session_weight_matrix", "session_embeddings"]


def session_weight_matrix(
    sequences: list[np.ndarray], n_items: int, aggregation: str = "mean", decay=None
) -> sp.csr_matrix:
    """Row-normalised position weights, shape (n_sessions, n_items).

    ``sequences`` hold internal ids ``1..n_items``. With ``aggregation="last"`` only the
    last item counts; with ``"mean"`` the positions get ``decay`` weights. Repeated items
    keep all their weights (summed), as ``np.average`` over the raw prompt would.
    """
    rows, cols, vals = [], [], []
    for r, seq in enumerate(sequences):
        if not len(seq):
            continue
        if aggregation == "last":
            w = np.zeros(len(seq))
            w[-1] = 1.0
        else:
            w = decay_weights(decay, len(seq))
        rows.append(np.full(len(seq), r))
        cols.append(np.asarray(seq) - 1)
        vals.append(w / w.sum())
    if not rows:
        return sp.csr_matrix((len(sequences), n_items))
    return sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(len(sequences), n_items),
    )


def session_embeddings(
    sequences: list[np.ndarray], item_vectors: np.ndarray, aggregation: str = "mean", decay=None
) -> np.ndarray:
    """Session vectors, shape (n_sessions, dim); an empty session gets zeros."""
    W = session_weight_matrix(sequences, len(item_vectors), aggregation, decay)  # (n, n_items)
    return np.asarray(W @ item_vectors)  # (n, dim)
