"""Reading item vectors from a file (the forms the paper and common tools write)."""

from __future__ import annotations

import json
import os
from collections.abc import Hashable
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["read_item_embeddings"]


def read_item_embeddings(path: str | os.PathLike[str]) -> dict[Hashable, np.ndarray]:
    """Read a ``.npz`` (``ids``, ``vectors``) file, or a CSV (``item_id``, ``embedding``).

    Returns
    -------
    dict
        ``item id -> float32 vector of shape (dim,)``.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"item embeddings file {path} does not exist")
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            return dict(zip(data["ids"].tolist(), np.asarray(data["vectors"], np.float32)))
    frame = pd.read_csv(path)  # any other name: CSV, compressed or not (pandas infers)
    missing = {"item_id", "embedding"} - set(frame.columns)
    if missing:
        raise ValueError(
            f"{path.name}: an item embeddings file is .npz (ids, vectors) or CSV with columns "
            f"item_id and embedding (a JSON list); missing {sorted(missing)}"
        )
    return {
        i: np.asarray(json.loads(e), np.float32)
        for i, e in zip(frame["item_id"], frame["embedding"])
    }
