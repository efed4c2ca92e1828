"""Synthetic session data with a known answer, for tests and examples."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from ._base import InteractionDataset

__all__ = ["make_synthetic_sessions"]

_COLORS = ["red", "green", "blue", "yellow", "purple", "orange", "black", "white", "pink", "brown"]
_NOUNS = [
    "lipstick",
    "garden hose",
    "guitar",
    "novel",
    "tent",
    "teapot",
    "sneaker",
    "laptop",
    "candle",
    "kite",
]


def make_synthetic_sessions(
    n_sessions: int = 300,
    n_clusters: int = 5,
    items_per_cluster: int = 8,
    min_length: int = 4,
    max_length: int = 8,
    id_style: Literal["str", "int"] = "str",
    random_state: int | np.random.Generator | None = None,
) -> InteractionDataset:
    """Sessions that walk a cycle inside one cluster of items: the next item is learnable.

    Each session picks a cluster and a start item, then visits the cluster's items in
    cyclic order (item ``j`` is always followed by item ``j + 1`` of the same cluster).
    Item titles share a colour and a noun within a cluster (``"red lipstick 3"``), so
    text similarity also points to the right cluster. Popularity is flat, so MostPopular
    does poorly, and a model that learns the sequence or the texts does much better.

    Parameters
    ----------
    n_sessions, n_clusters, items_per_cluster : int
    min_length, max_length : int
        Session length range (inclusive); must be below ``items_per_cluster`` so a
        session never repeats an item.
    id_style : {"str", "int"}
        ``"str"`` ids like ``"item_7"``; ``"int"`` non-contiguous integers ``10, 20, ...``.
    random_state : int, Generator or None

    Returns
    -------
    InteractionDataset
        ``interactions`` (``session_id``, ``item_id``, ``timestamp``; timestamps grow with
        the session index) and ``items`` (``title``, ``category``).
    """
    if n_clusters > len(_COLORS):
        raise ValueError(f"n_clusters must be <= {len(_COLORS)}")
    if not 1 <= min_length <= max_length < items_per_cluster + 1:
        raise ValueError("need 1 <= min_length <= max_length <= items_per_cluster")
    if id_style not in ("str", "int"):
        raise ValueError(f"id_style must be 'str' or 'int', got {id_style!r}")
    rng = np.random.default_rng(random_state)
    n_items = n_clusters * items_per_cluster

    def item_id(code: int):
        return f"item_{code}" if id_style == "str" else 10 * (code + 1)

    rows = []
    for s in range(n_sessions):
        cluster = rng.integers(n_clusters)
        start = rng.integers(items_per_cluster)
        length = rng.integers(min_length, max_length + 1)
        for j in range(length):
            code = cluster * items_per_cluster + (start + j) % items_per_cluster
            rows.append(
                (
                    f"s{s}" if id_style == "str" else 1000 + 7 * s,
                    item_id(code),
                    1_000_000 + 100 * s + j,
                )
            )
    inter = pd.DataFrame(rows, columns=["session_id", "item_id", "timestamp"])
    items = pd.DataFrame(
        {
            "item_id": [item_id(c) for c in range(n_items)],
            "title": [
                f"{_COLORS[c // items_per_cluster]} {_NOUNS[c // items_per_cluster]} {c % items_per_cluster}"
                for c in range(n_items)
            ],
            "category": [int(c // items_per_cluster) for c in range(n_items)],
        }
    ).set_index("item_id")
    return InteractionDataset(name="synthetic", interactions=inter, items=items)
