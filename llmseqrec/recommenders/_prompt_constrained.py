"""Constrained decoding of LLMSeqPrompt: answers that can only be catalogue titles.

Locally, a trie of the catalogue's titles (GenItem) or of numbered title lines (GenList)
masks every token that leaves it; through an endpoint, each request carries the titles it
may answer. Item codes are internal (``1..n_items``; code ``c`` is row ``c - 1``).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "check_constrained",
    "allowed_titles",
    "title_trie",
    "title_list_constraint",
    "generate_title_lists",
    "tie_order",
]


def check_constrained(model) -> None:
    """Check ``constrained``, ``decoding`` and ``api_constraint`` of an LLMSeqPrompt.

    They are read at prediction (a fitted model can switch them), so this runs at fit
    and again before decoding.
    """
    decoding = getattr(model, "decoding", "sample")
    if decoding not in ("sample", "beam"):
        raise ValueError(f"decoding must be 'sample' or 'beam', got {decoding!r}")
    if decoding == "beam" and (model.variant != "genitem" or model.api_base is not None):
        raise ValueError(
            "decoding='beam' searches GenItem answers with the local model; got "
            f"variant={model.variant!r}, api_base={model.api_base!r}"
        )
    if model.constrained and model.variant not in ("genitem", "genlist"):
        raise ValueError(
            "constrained=True decodes catalogue titles for variant='genitem' or "
            f"'genlist'; got variant={model.variant!r}"
        )
    if model.constrained and model.api_base is not None:
        from ..llm import CHOICE_FIELDS

        if model.variant != "genitem":
            raise ValueError(
                "constrained=True with api_base constrains GenItem answers (the server "
                "is sent the allowed titles); GenList's numbered lines are constrained "
                f"with the local model only; got variant={model.variant!r}"
            )
        constraint = getattr(model, "api_constraint", "structured_outputs")
        if constraint not in CHOICE_FIELDS:
            raise ValueError(f"api_constraint must be one of {CHOICE_FIELDS}, got {constraint!r}")


def allowed_titles(titles: list[str], sequences) -> list[list[str]]:
    """For the endpoint: each prompt's allowed answers, the catalogue's distinct titles
    without its own items' titles.

    (The local trie bans items, so there a title that a prompt item shares with another
    item stays open for the other one; a list of strings cannot tell them apart.)
    """
    distinct = list(dict.fromkeys(t for t in titles if t))
    out = []
    for s in sequences:
        own = {titles[int(c) - 1] for c in s}
        out.append([t for t in distinct if t not in own])
    return out


def title_trie(model):
    """The catalogue's title trie of a fitted LLMSeqPrompt (built once per model)."""
    from ..llm import TitleTrie

    trie = getattr(model, "_trie", None)
    if trie is None:
        end = model._tokenizer.eos_token_id
        trie = model._trie = TitleTrie(model._tokenizer, model.titles_, end)
    return trie


def title_list_constraint(model):
    """The catalogue's GenList constraint of a fitted LLMSeqPrompt (built once per model
    and settings)."""
    from ..llm import TitleListConstraint

    assistant = model._templates()["genlist"].assistant
    key = (assistant, model.n_recommendations, model._max_new_tokens)
    cached = getattr(model, "_list_constraint", None)
    if cached is None or cached[0] != key:
        end = model._tokenizer.eos_token_id
        c = TitleListConstraint(
            model._tokenizer, model.titles_, end, assistant, model.n_recommendations
        )
        c.max_new_tokens = max(model._max_new_tokens, c.min_new_tokens)
        model._list_constraint = cached = (key, c)
    return cached[1]


def tie_order(popularity: np.ndarray, title_indices: list[int]) -> list[int]:
    """Item codes of titles that tokenise alike: most popular in training first, then
    internal item order."""
    codes = [int(i) + 1 for i in title_indices]
    return sorted(codes, key=lambda c: (-popularity[c - 1], c))


def generate_title_lists(model, sequences, convs, seed):
    """Constrained GenList with the local model: every line a catalogue title, none
    repeated, none a prompt item; each line maps to all the items its title spells
    (:func:`tie_order`).

    Returns the parsed names, the item codes and the mapping statistics of each prompt.
    """
    from ..llm import parse_genlist

    constraint = title_list_constraint(model)
    banned = [{int(c) - 1 for c in s} for s in sequences]
    ids = model._generator.generate_ids(
        convs,
        n=1,
        temperature=model.temperature,
        top_p=model.top_p,
        max_new_tokens=constraint.max_new_tokens,
        seed=seed,
        show_progress=model.show_progress,
        allowed_tokens=lambda i, answer: constraint.allowed(answer, banned[i]),
    )
    names, codes, stats = [], [], []
    for prompt, answers, ban in zip(sequences, ids, banned):
        text = model._tokenizer.decode(answers[0], skip_special_tokens=True)
        parsed = parse_genlist(text, limit=model.n_recommendations)
        groups = [
            tie_order(model.item_popularity_, line) for line in constraint.entries(answers[0], ban)
        ]
        names.append(parsed)
        codes.append(model._mapper.map_groups(groups, prompt, model.n_recommendations))
        stats.append(model._mapper.stats(parsed, prompt))
    return names, codes, stats
