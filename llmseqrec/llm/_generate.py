"""Text generation for LLMSeqPrompt: a local Hugging Face model, or an OpenAI-compatible
chat-completions endpoint (OpenAI, vLLM, llama.cpp's server, :class:`ChatServer`)."""

from __future__ import annotations

import zlib
from concurrent.futures import ThreadPoolExecutor

from tqdm.auto import tqdm

from ..utils._http import HTTPRequestError, post_json
from ..utils._random import seeded_torch_rng
from ._choices import check_choice_field, choice_payload
from ._tokenize import render_prompt

__all__ = ["LocalGenerator", "ChatCompletionsClient", "ChatAPIError"]


class ChatAPIError(HTTPRequestError):
    """A chat-completions endpoint refused the request or could not be reached."""


class LocalGenerator:
    """Sample answers from a local causal LM (batched, left-padded).

    Parameters
    ----------
    model, tokenizer
        A Hugging Face causal LM (optionally a peft model) and its tokenizer (with a chat
        template and a pad token, see :func:`prepare_tokenizer`).
    device : str
    batch_size : int, default=8
        Conversations per ``generate`` call (each yields ``n`` sequences).
    share_prefix : bool, default=True
        With ``n > 1`` samples, encode each prompt once and share its key/value cache.
    """

    def __init__(
        self, model, tokenizer, device: str = "cpu", batch_size: int = 8, share_prefix: bool = True
    ):
        self.model, self.tokenizer, self.device = model, tokenizer, device
        self.batch_size, self.share_prefix = batch_size, share_prefix

    def _sample_shared_prefix(self, enc: dict, n: int, kwargs: dict):
        """``n`` samples per prompt with the prompt encoded once, not ``n`` times.

        ``generate(num_return_sequences=n)`` copies each prompt ``n`` times before encoding
        it; for short answers to long prompts (GenItem: 20 titles of a few tokens) that
        prefill is most of the work. Here all but the last prompt token are run once, the
        key/value cache is repeated ``n`` times, and ``generate`` continues from it.
        """
        from transformers import DynamicCache

        ids, mask = enc["input_ids"], enc["attention_mask"]  # (B, T), left-padded
        positions = (mask.long().cumsum(-1) - 1).clamp(min=0)  # as generate computes them
        cache = DynamicCache()
        name = _cache_argument(self.model)
        self.model(
            input_ids=ids[:, :-1],
            attention_mask=mask[:, :-1],
            position_ids=positions[:, :-1],
            use_cache=True,
            logits_to_keep=1,
            **{name: cache},
        )
        cache.batch_repeat_interleave(n)  # (B * n) rows, prompt-major like num_return_sequences
        return self.model.generate(
            input_ids=ids.repeat_interleave(n, dim=0),
            attention_mask=mask.repeat_interleave(n, dim=0),
            **{name: cache},
            **kwargs,
        )

    def generate(
        self,
        conversations: list[list[dict]],
        n: int = 1,
        temperature: float = 1.0,
        top_p: float = 1.0,
        max_new_tokens: int = 64,
        seed: int | None = None,
        show_progress: bool = False,
        allowed_tokens=None,
        num_beams: int = 1,
    ) -> list[list[str]]:
        """``n`` answers for each conversation (system + user messages).

        ``allowed_tokens(i, answer_ids) -> list of token ids`` constrains decoding: the
        tokens conversation ``i``'s answer may continue with (e.g. :meth:`TitleTrie.allowed`
        with its prompt items banned).

        ``temperature == 0`` decodes greedily (the ``n`` answers are then identical).
        ``num_beams > 1`` runs beam search instead of sampling and returns the ``n``
        (``<= num_beams``) best finished beams, best first: distinct token sequences, so
        under a constraint distinct titles.
        Sampling is seeded per batch from ``seed`` and the batch's text, without touching
        torch's global random state. Conversations are decoded ``batch_size`` at a time,
        left-padded to the batch's longest prompt; greedy answers are those of decoding
        each conversation alone (tested in float32 on CPU; in bf16 padding can shift
        near-ties).
        """
        ids = self.generate_ids(
            conversations,
            n,
            temperature,
            top_p,
            max_new_tokens,
            seed,
            show_progress,
            allowed_tokens,
            num_beams,
        )
        decode = self.tokenizer.batch_decode
        return [decode(answers, skip_special_tokens=True) for answers in ids]

    def generate_ids(
        self,
        conversations: list[list[dict]],
        n: int = 1,
        temperature: float = 1.0,
        top_p: float = 1.0,
        max_new_tokens: int = 64,
        seed: int | None = None,
        show_progress: bool = False,
        allowed_tokens=None,
        num_beams: int = 1,
    ) -> list[list[list[int]]]:
        """As :meth:`generate`, but each answer as its token ids (up to and including the
        end-of-turn token, without padding): what a constraint reads its answer from."""
        tok = self.tokenizer
        side = tok.padding_side
        tok.padding_side = "left"  # generation continues from the right end of every row
        out: list[list[list[int]]] = []
        try:
            starts = range(0, len(conversations), self.batch_size)
            for start in tqdm(starts, desc="generate", disable=not show_progress, leave=False):
                batch = conversations[start : start + self.batch_size]
                rows = self._generate_batch(
                    batch, start, n, temperature, top_p, max_new_tokens, seed, allowed_tokens,
                    num_beams,
                )  # fmt: skip
                out.extend(rows)
        finally:
            tok.padding_side = side
        return out

    def _generate_batch(
        self, batch, start, n, temperature, top_p, max_new_tokens, seed, allowed_tokens,
        num_beams=1,
    ) -> list[list[int]]:  # fmt: skip
        """Answer token ids of one left-padded batch, per conversation: ``n`` answers
        (greedy: decoded once), or the ``n`` best distinct ones in beam search (fewer
        where fewer could be opened)."""
        import torch

        tok = self.tokenizer
        texts = [render_prompt(tok, m) for m in batch]
        enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        enc = {k: v.to(self.device) for k, v in enc.items()}  # (B, T)
        beams = int(num_beams) > 1
        if beams and n > num_beams:
            raise ValueError(f"n ({n}) answers need num_beams >= n, got {num_beams}")
        sample = temperature > 0 and not beams
        per_prompt = n if sample or beams else 1  # greedy answers are identical: decode once
        kwargs = dict(
            max_new_tokens=max_new_tokens,
            do_sample=sample,
            pad_token_id=tok.pad_token_id,
            eos_token_id=tok.eos_token_id,
        )
        if sample:
            kwargs.update(temperature=float(temperature), top_p=float(top_p), top_k=0)
        if beams:
            kwargs.update(num_beams=int(num_beams), early_stopping=False)
        prompt_len = enc["input_ids"].shape[1]
        if allowed_tokens is not None:
            # transformers passes a row's index when sampling, its prompt's in beam search
            rows_per_index = 1 if beams else per_prompt

            def prefix_allowed(row, ids):
                return allowed_tokens(start + row // rows_per_index, ids[prompt_len:].tolist())

            kwargs["prefix_allowed_tokens_fn"] = prefix_allowed
        with seeded_torch_rng(_batch_seed(seed, texts), self.device):
            with torch.no_grad():
                if per_prompt > 1 and self.share_prefix and not beams:
                    generated = self._sample_shared_prefix(enc, per_prompt, kwargs)
                else:
                    generated = self.model.generate(
                        **enc, num_return_sequences=per_prompt, **kwargs
                    )  # (B * per_prompt, T + new)
        rows = [_until_end(row, tok.eos_token_id) for row in generated[:, prompt_len:].tolist()]
        answers = [rows[i : i + per_prompt] for i in range(0, len(rows), per_prompt)]
        if beams:  # beam search fills beams it could not open with repeats
            return [_distinct(a) for a in answers]
        return answers if sample else [a * n for a in answers]  # greedy: n identical answers


def _distinct(rows: list[list[int]]) -> list[list[int]]:
    """``rows`` without repeats, in order."""
    seen, out = set(), []
    for row in rows:
        if tuple(row) not in seen:
            seen.add(tuple(row))
            out.append(row)
    return out


def _until_end(ids: list[int], end_id) -> list[int]:
    """``ids`` up to and including the first end token (what follows it is padding)."""
    ends = end_id if isinstance(end_id, (list, tuple)) else [end_id]
    for j, token in enumerate(ids):
        if token in ends:
            return ids[: j + 1]
    return ids


def _cache_argument(model) -> str:
    """The keyword a model's forward takes its key/value cache by (transformers 5: ``cache``)."""
    import inspect

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    params = inspect.signature(type(base).forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def _batch_seed(seed, texts: list[str]) -> int:
    base = 0 if seed is None else int(seed)
    return (base * 1_000_003 + zlib.crc32("\x00".join(texts).encode())) % (2**63)


class ChatCompletionsClient:
    """Sample answers from an OpenAI-compatible ``POST {api_base}/chat/completions``.

    Requests run concurrently (``max_workers``); rate limits, server and network errors
    are retried with backoff; endpoints that ignore ``n`` are asked again until ``n``
    answers are in.

    Parameters
    ----------
    model : str
        The served (fine-tuned) model's name.
    api_base : str
        E.g. ``"https://api.openai.com/v1"`` or ``"http://localhost:8000/v1"``.
    api_key : str, optional
    max_workers : int, default=8
    max_retries : int, default=5
    timeout : float, default=120
    deadline : float, optional
        Seconds one request may take with all its retries (:func:`post_json`).
    client_options : ClientOptions or dict, optional
        OpenAI organisation and project, or an Azure OpenAI resource
        (:class:`llmseqrec.utils.ClientOptions`).
    """

    _initial_delay = 1.0

    def __init__(
        self,
        model: str,
        api_base: str,
        api_key: str | None = None,
        max_workers: int = 8,
        max_retries: int = 5,
        timeout: float = 120.0,
        deadline: float | None = None,
        client_options=None,
    ):
        self.model, self.api_base, self.api_key = model, api_base.rstrip("/"), api_key
        self.max_workers, self.max_retries, self.timeout = max_workers, max_retries, timeout
        self.deadline, self.client_options = deadline, client_options

    def _complete(
        self, messages, n, temperature, top_p, max_tokens, seed, allowed=None, allowed_field=None
    ) -> list[str]:
        url = f"{self.api_base}/chat/completions"
        answers: list[str] = []
        while len(answers) < n:
            payload = {
                "model": self.model,
                "messages": messages,
                "n": n - len(answers),
                "temperature": float(temperature),
                "top_p": float(top_p),
                "max_tokens": int(max_tokens),
            }
            if seed is not None:
                payload["seed"] = int(seed)
            if allowed is not None:
                payload.update(choice_payload(allowed_field, allowed))
            reply = post_json(
                url,
                payload,
                api_key=self.api_key,
                max_retries=self.max_retries,
                timeout=self.timeout,
                initial_delay=self._initial_delay,
                error_cls=ChatAPIError,
                deadline=self.deadline,
                client_options=self.client_options,
            )
            try:
                replies = sorted(reply["choices"], key=lambda c: c.get("index", 0))
                new = [c["message"]["content"] or "" for c in replies]
            except (KeyError, TypeError) as exc:
                raise ChatAPIError(f"{url} answered without choices[].message.content") from exc
            if not new:
                raise ChatAPIError(f"{url} answered with no choices")
            if allowed is not None:
                _check_allowed(url, replies, new, set(allowed), allowed_field)
            answers.extend(new)
        return answers[:n]

    def generate(
        self,
        conversations: list[list[dict]],
        n: int = 1,
        temperature: float = 1.0,
        top_p: float = 1.0,
        max_new_tokens: int = 64,
        seed: int | None = None,
        show_progress: bool = False,
        choices: list[list[str]] | None = None,
        choice_field: str = "structured_outputs",
    ) -> list[list[str]]:
        """``n`` answers for each conversation, in input order.

        With ``choices`` (one list of allowed answers per conversation), the server is told
        them in ``choice_field`` (:data:`llmseqrec.llm.CHOICE_FIELDS`), so each of the
        ``n`` samples is one of them; samples may repeat one another, as local constrained
        sampling's do (their counts rank GenItem's answers). An answer outside the list is
        an error: the server ignored the field, or cut the answer short.
        """
        if choices is not None:
            if len(choices) != len(conversations):
                raise ValueError(
                    f"choices has {len(choices)} lists for {len(conversations)} conversations"
                )
            check_choice_field(choice_field)  # before any request

        def one(i):
            allowed = None if choices is None else list(dict.fromkeys(choices[i]))
            return self._complete(
                conversations[i], n, temperature, top_p, max_new_tokens, seed, allowed,
                choice_field,
            )  # fmt: skip

        with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
            return list(
                tqdm(
                    pool.map(one, range(len(conversations))),
                    total=len(conversations),
                    desc="generate (API)",
                    disable=not show_progress,
                    leave=False,
                )
            )


def _check_allowed(url, replies, answers, allowed: set, field: str) -> None:
    """Raise on the first answer that is not one of the allowed ones, saying why it may be."""
    for reply, answer in zip(replies, answers):
        if answer in allowed:
            continue
        finish = reply.get("finish_reason")
        why = (
            "it was cut at max_tokens" if finish == "length"
            else f"the server ignored the {field!r} field (set api_constraint to the field it "
            "reads, or constrained=False)"
        )  # fmt: skip
        raise ChatAPIError(
            f"{url} answered {answer[:80]!r} ({len(answer)} characters, finish_reason "
            f"{finish!r}), which is not among the allowed answers: {why}"
        )
