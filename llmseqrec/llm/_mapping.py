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

    def stats(self, names: list[str], prompt) -> MappingStats:
        """Shares of ``names`` that are not catalogue titles, repeat an earlier name, or
        name a prompt item (case and spacing ignored)."""
        prompt_titles = {_key(self.titles[int(p) - 1]) for p in prompt if self.titles[int(p) - 1]}
        seen: set[str] = set()
        n_halluc = n_dup = n_prompt = 0
        for name in names:
            key = _key(name)
            n_halluc += key not in self.by_title
            n_dup += key in seen
            n_prompt += key in prompt_titles
            seen.add(key)
        n = max(len(names), 1)
        return MappingStats(len(names), n_halluc / n, n_dup / n, n_prompt / n)

    def map(self, names: list[str], prompt: list[int], k: int) -> tuple[list[int], MappingStats]:
        """Internal ids (``1..n_items``) for the generated ``names``; exactly ``min(k, available)``."""
        used = set(int(p) for p in prompt)  # prompt items are never recommended
        result: list[int] = []
        unknown = [n for n in names if _key(n) not in self.by_title]
        unknown_vecs = dict(zip(unknown, self.embed(unknown))) if unknown else {}
        for name in names:
            if len(result) >= k:
                break
            codes = self.by_title.get(_key(name))
            if codes is None:
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
        return self._fill(result, used, prompt, k), self.stats(names, prompt)

    def map_groups(self, groups: list[list[int]], prompt, k: int) -> list[int]:
        """Internal ids for groups of items that are already known (a constrained
        decoder's lines: each names every item whose title it spells, in the caller's tie
        order): the unused items of each group in turn, filled up to ``min(k, available)``
        as :meth:`map` fills."""
        used = set(int(p) for p in prompt)
        result: list[int] = []
        for group in groups:
            for code in group:
                if int(code) not in used and len(result) < k:
                    used.add(int(code))
                    result.append(int(code))
        return self._fill(result, used, prompt, k)

    def _fill(self, result: list[int], used: set, prompt, k: int) -> list[int]:
        """``result`` filled up to ``k`` with the unused items nearest to the mean vector
        of its items (or of the prompt's)."""
        if len(result) < k:
            anchor = result or [int(p) for p in prompt]
            centre = (
                self.vectors[np.asarray(anchor) - 1].mean(axis=0)
                if anchor
                else np.zeros(self.vectors.shape[1])
            )
            result += self._nearest_unused(centre, used, k - len(result))
        return result[:k]
