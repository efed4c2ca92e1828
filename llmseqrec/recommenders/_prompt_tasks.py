"""What each LLMSeqPrompt variant asks and how its answers become item lists.

Works on internal item codes (``1..n_items``) and titles; the estimator supplies the
candidate lists (Rank, GenList targets) and cluster representatives (Classify).
"""

from __future__ import annotations

import zlib
from collections import Counter

import numpy as np

from ..llm import NameMapper, parse_genlist, parse_item, parse_numbered_list

__all__ = ["training_answer", "answer_to_codes", "ordered_names", "prompt_seed"]


def prompt_seed(random_state, codes: np.ndarray) -> int:
    """A per-prompt seed, independent of batching."""
    base = 0 if random_state is None else int(random_state)
    return base * 1_000_003 + zlib.crc32(np.asarray(codes, dtype=np.int64).tobytes())


def training_answer(variant, target: int, titles, candidates=None, nearest_reps=None):
    """The assistant's answer for a training example.

    GenItem: the target's title. GenList/Rank: the candidate list with the target forced to
    rank 1 (kept at the list's length). Classify: the representatives of the clusters
    nearest the target.
    """
    if variant == "genitem":
        return titles[target - 1]
    if variant in ("genlist", "rank"):
        n = len(candidates)
        ranked = [target] + [c for c in candidates if c != target]
        return [titles[c - 1] for c in ranked[:n]]
    return [titles[c - 1] for c in nearest_reps]


def ordered_names(variant: str, texts: list[str], order: str = "count") -> list[str]:
    """Names parsed from the answers of one prompt.

    GenItem's ``n`` sampled answers become one list: the distinct names by decreasing
    count (``order="count"``, ties by first appearance) or by first appearance (``"first"``,
    the paper), followed by the repeats (which the mapping replaces by the next nearest
    unused items, as the paper did). The list variants parse their single answer.
    """
    if variant == "genitem":
        names = [parse_item(t) for t in texts]
        counts = Counter(names)  # insertion order = first appearance
        distinct = list(counts)
        if order == "count":
            distinct.sort(key=lambda name: -counts[name])  # stable: ties keep first appearance
        repeats = [name for name in distinct for _ in range(counts[name] - 1)]
        return distinct + repeats
    text = texts[0] if texts else ""
    return parse_genlist(text) if variant == "genlist" else parse_numbered_list(text)


def answer_to_codes(
    variant: str,
    names: list[str],
    prompt: np.ndarray,
    k: int,
    mapper: NameMapper,
    choices: np.ndarray | None = None,
    choice_mapper: NameMapper | None = None,
):
    """Map parsed names to ``k`` item codes; returns (codes, MappingStats).

    GenItem/GenList map onto the whole catalogue. Classify and Rank map onto their fixed
    ``choices`` (representatives / candidates, codes) with ``choice_mapper`` (a mapper over
    just those titles); Rank then appends the candidates the model left out, in the
    candidate recommender's order, so its list is always the full candidate list.
    """
    if variant in ("genitem", "genlist"):
        return mapper.map(names, prompt, k)
    position = {int(c): j + 1 for j, c in enumerate(choices)}  # code -> sub-catalogue id
    sub_prompt = [position[int(p)] for p in prompt if int(p) in position]
    available = len(choices) - len(set(sub_prompt))
    if variant == "rank":
        sub, stats = choice_mapper.map(names, sub_prompt, min(len(names), available))
        chosen = [int(choices[j - 1]) for j in sub]
        rest = [int(c) for c in choices if int(c) not in set(chosen) and int(c) not in set(prompt)]
        return (chosen + rest)[:k], stats
    sub, stats = choice_mapper.map(names, sub_prompt, min(k, available))
    return [int(choices[j - 1]) for j in sub], stats
