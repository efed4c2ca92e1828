"""On-disk cache of text embeddings, one entry per (model key, text)."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path

import numpy as np

__all__ = ["EmbeddingCache", "text_hash"]


def text_hash(text: str) -> str:
    """SHA-256 hex digest of a text (the cache key of one item text)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Vectors stored as ``.npz`` shards (no pickle) under a folder named by the model key.

    The key holds everything that changes a vector except the text itself: backend, model,
    revision, template, normalisation, ...; the text is keyed by its SHA-256.
    """

    def __init__(self, root, key: dict):
        digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[
            :20
        ]
        self.directory = Path(root) / digest
        self.key = key

    def lookup(self, hashes: list[str]) -> dict[str, np.ndarray]:
        """Cached vectors for the given text hashes (missing ones are absent)."""
        wanted = set(hashes)
        found: dict[str, np.ndarray] = {}
        if not self.directory.exists():
            return found
        for shard in sorted(self.directory.glob("shard-*.npz")):
            with np.load(shard, allow_pickle=False) as data:
                keys, vectors = data["hashes"].tolist(), data["vectors"]
                for i, h in enumerate(keys):
                    if h in wanted:
                        found[h] = vectors[i]
        return found

    def store(self, hashes: list[str], vectors: np.ndarray) -> None:
        """Add vectors (written atomically as a new shard)."""
        if not hashes:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        key_file = self.directory / "key.json"
        if not key_file.exists():
            key_file.write_text(json.dumps(self.key, indent=2, sort_keys=True, default=str))
        name = f"shard-{uuid.uuid4().hex}"
        tmp = self.directory / f"{name}.tmp.npz"
        np.savez(
            tmp,
            hashes=np.asarray(hashes, dtype="U64"),
            vectors=np.asarray(vectors, dtype=np.float32),
        )
        os.replace(tmp, self.directory / f"{name}.npz")
