"""Mapping generated item names back to catalogue items."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

__all__ = ["NameMapper", "MappingStats"]


def _key(name: str) -> str:
    return " ".join(str(name).split()).casefold()


@dataclass
class MappingStats:
    """Per-prediction statistics of generated names.

    Attributes
    ----------
    n_generated : int
        Names generated (before mapping).
    hallucinated : float
        Share of generated names that are not a catalogue title.
    duplicates : float
        Share of generated names repeating an earlier name of the same prediction.
    in_prompt : float
        Share of generated names that are titles of prompt items.
    """

    n_generated: int
    hallucinated: float
    duplicates: float
    in_prompt: float


class NameMapper:
    """Map generated names to exactly ``k`` distinct catalogue items.

    Rules, in order: a name that is exactly a catalogue title (case and spacing ignored)
    maps to that item; any other name maps to the nearest catalogue item by text
    embedding; a name whose item is already used, or is a prompt item, is replaced by the
    next nearest unused item; if fewer than ``k`` items result, the list is filled with the
    items nearest to the mean vector of the mapped items (or of the prompt).

    Parameters
    ----------
    titles : list of str
        Catalogue titles in internal order (row ``j`` = internal id ``j + 1``).
    vectors : ndarray of shape (n_items, dim)
        Catalogue text vectors (the shared encoder's), any scale; rows are L2-normalised.
    embed : callable
        ``embed(list of str) -> (n, dim)`` vectors for generated names that are not titles.
    """

    def __init__(self, titles: list[str], vectors: np.ndarray, embed):
        self.titles = list(titles)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.vectors = np.divide(
            vectors, norms, out=np.zeros_like(vectors, dtype=np.float64), where=norms > 0
        )
        self.embed = embed
        self.by_title: dict[str, list[int]] = defaultdict(list)
        for code, title in enumerate(self.titles, start=1):
            if title:
                self.by_title[_key(title)].append(code)

    def _nearest_unused(self, vector: np.ndarray, used: set, count: int = 1) -> list[int]:
        scores = self.vectors @ vector  # (n_items,)
        out = []
        for j in np.argsort(-scores, kind="stable"):
            code = int(j) + 1
            if code not in used:
                out.append(code)
                used.add(code)
                if len(out) == count:
                    break
        return out

    def map(self, names: list[str], prompt: list[int], k: int) -> tuple[list[int], MappingStats]:
        """Internal ids (``1..n_items``) for the generated ``names``; exactly ``min(k, available)``."""
        used = set(int(p) for p in prompt)  # prompt items are never recommended
        prompt_titles = {_key(self.titles[p - 1]) for p in used if self.titles[p - 1]}
        result: list[int] = []
        seen_names: set[str] = set()
        n_halluc = n_dup = n_prompt = 0
        unknown = [n for n in names if _key(n) not in self.by_title]
        unknown_vecs = dict(zip(unknown, self.embed(unknown))) if unknown else {}
        for name in names:
            key = _key(name)
            n_dup += key in seen_names
            seen_names.add(key)
            n_prompt += key in prompt_titles
            if len(result) >= k:
                n_halluc += key not in self.by_title
                continue
            codes = self.by_title.get(key)
            if codes is None:
                n_halluc += 1
                vec = np.asarray(unknown_vecs[name], dtype=np.float64)
                norm = np.linalg.norm(vec)
                result += self._nearest_unused(vec / norm if norm > 0 else vec, used)
                continue
            free = [c for c in codes if c not in used]
            if free:
                used.add(free[0])
                result.append(free[0])
            else:  # duplicate or prompt item: the next nearest unused item
                result += self._nearest_unused(self.vectors[codes[0] - 1], used)
        if len(result) < k:
            anchor = result or [int(p) for p in prompt]
            centre = (
                self.vectors[np.asarray(anchor) - 1].mean(axis=0)
                if anchor
                else np.zeros(self.vectors.shape[1])
            )
            result += self._nearest_unused(centre, used, k - len(result))
        n = max(len(names), 1)
        return result[:k], MappingStats(len(names), n_halluc / n, n_dup / n, n_prompt / n)
