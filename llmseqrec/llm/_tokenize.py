"""Chat examples -> token ids with the loss on the completion (assistant answer) only."""

from __future__ import annotations

import numpy as np

__all__ = ["IGNORE_INDEX", "render_prompt", "encode_example", "pad_batch"]

#: Label of tokens that carry no loss (the prompt and padding); torch's cross-entropy default.
IGNORE_INDEX = -100


def render_prompt(tokenizer, messages: list[dict]) -> str:
    """The chat-template text of ``messages`` up to where the assistant starts writing."""
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def encode_example(tokenizer, messages: list[dict], max_length: int | None = None):
    """Token ids and labels of one training conversation (system, user, assistant).

    The prompt is everything the chat template renders before the assistant's answer; the
    completion is the rest (the answer and the template's end-of-turn token, so the model
    learns to stop). Labels are ``IGNORE_INDEX`` on the prompt.

    Returns
    -------
    dict with ``input_ids`` and ``labels`` (int64 arrays of equal length), or ``None`` when
    the example is longer than ``max_length`` tokens (such examples are skipped, as the
    paper skipped those over its 4,096-token limit).
    """
    if not messages or messages[-1]["role"] != "assistant":
        raise ValueError("a training example must end with the assistant's answer")
    prompt = render_prompt(tokenizer, messages[:-1])
    full = tokenizer.apply_chat_template(messages, tokenize=False)
    if not full.startswith(prompt):
        raise ValueError(
            "the chat template renders the conversation differently with and without the "
            "answer, so the answer tokens cannot be located; use a template whose generation "
            "prompt is a prefix of the full conversation"
        )
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    completion_ids = tokenizer(full[len(prompt) :], add_special_tokens=False)["input_ids"]
    if not completion_ids:
        raise ValueError("the assistant's answer is empty")
    ids = np.asarray(list(prompt_ids) + list(completion_ids), dtype=np.int64)
    if max_length is not None and len(ids) > max_length:
        return None
    labels = ids.copy()
    labels[: len(prompt_ids)] = IGNORE_INDEX
    return {"input_ids": ids, "labels": labels}


def pad_batch(examples: list[dict], pad_token_id: int):
    """Right-pad encoded examples into tensors.

    Returns
    -------
    input_ids, attention_mask, labels : LongTensor of shape (batch, max_len)
        Padding has attention 0 and label ``IGNORE_INDEX``.
    """
    import torch

    length = max(len(e["input_ids"]) for e in examples)
    ids = torch.full((len(examples), length), pad_token_id, dtype=torch.long)  # (B, T)
    labels = torch.full((len(examples), length), IGNORE_INDEX, dtype=torch.long)  # (B, T)
    mask = torch.zeros((len(examples), length), dtype=torch.long)  # (B, T)
    for row, e in enumerate(examples):
        n = len(e["input_ids"])
        ids[row, :n] = torch.from_numpy(e["input_ids"])
        labels[row, :n] = torch.from_numpy(e["labels"])
        mask[row, :n] = 1
    return ids, mask, labels
