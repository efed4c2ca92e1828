"""Fine-tuning data in the OpenAI chat format (one JSON object with ``messages`` per line)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ._prompts import build_messages

__all__ = ["genitem_examples", "write_chat_jsonl"]


def genitem_examples(
    sessions: dict,
    titles: dict,
    validation_share: float = 0.2,
    min_prompt_items: int = 2,
    random_state=42,
):
    """GenItem fine-tuning examples from training sessions, as the paper built them.

    Prompt = all items but the last, answer = the last item's title; sessions with an
    untitled item or fewer than ``min_prompt_items`` prompt items are skipped; a seeded
    shuffle of the sessions puts the first ``validation_share`` into validation.

    Returns
    -------
    train, validation : list of message lists
    """
    usable = []
    for items in sessions.values():
        items = list(items)
        names = [titles.get(i) for i in items]
        if len(items) - 1 < min_prompt_items or not all(names):
            continue
        usable.append(build_messages("genitem", names[:-1], answer=names[-1]))
    order = np.random.default_rng(random_state).permutation(len(usable))
    n_val = int(validation_share * len(usable))
    return [usable[i] for i in order[n_val:]], [usable[i] for i in order[:n_val]]


def write_chat_jsonl(examples: list[list[dict]], path) -> Path:
    """Write ``{"messages": [...]}`` lines (the OpenAI chat fine-tuning format)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for messages in examples:
            f.write(json.dumps({"messages": messages}, ensure_ascii=False) + "\n")
    return path
