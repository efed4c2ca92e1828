"""A minimal OpenAI-compatible ``/v1/chat/completions`` server for a local causal LM.

It puts a (fine-tuned) Hugging Face model behind the API that hosted models use, and is
what the tests run to exercise :class:`ChatCompletionsClient` over real HTTP.
"""

from __future__ import annotations

import threading
import time

from ..utils._http import JSONServer
from ._choices import choices_from_payload
from ._constrain import TitleTrie
from ._generate import LocalGenerator

__all__ = ["ChatServer"]


class ChatServer(JSONServer):
    """Serve ``POST /v1/chat/completions`` from a local model.

    A request that lists its allowed answers (``structured_outputs.choice``,
    ``guided_choice`` or a ``grammar`` of alternatives: :data:`llmseqrec.llm.CHOICE_FIELDS`) is decoded
    through a token trie of them, as vLLM and llama.cpp's server constrain theirs.

    Parameters
    ----------
    model, tokenizer
        A Hugging Face causal LM and its tokenizer (with chat template and pad token).
    model_name : str, default="local"
    device : str, default="cpu"
    host, port : str, int
        ``port=0`` picks a free port (see :attr:`url`).
    api_key : str, optional
        Required bearer token, if set.
    max_n : int, optional
        Answer at most ``max_n`` choices per request (as some servers do), to exercise
        clients that must ask again.

    Attributes
    ----------
    received : list of dict
        The decoded requests, in arrival order.
    """

    def __init__(
        self,
        model,
        tokenizer,
        model_name: str = "local",
        device: str = "cpu",
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        max_n: int | None = None,
    ):
        self.generator = LocalGenerator(model, tokenizer, device=device, batch_size=1)
        self.model_name, self.max_n, self.received = model_name, max_n, []
        self._generate_lock = threading.Lock()  # one generation at a time on the model
        super().__init__({"/v1/chat/completions": self._chat}, host, port, api_key=api_key)

    def _choose(self, messages, choices: list[str], options: dict) -> list[str]:
        """Answers that are each one of ``choices``, decoded through a token trie of them
        (as vLLM's ``choice`` or a llama.cpp grammar): the first choice an answer spells."""
        if not choices:
            raise ValueError("the allowed answers are empty")
        trie = TitleTrie(self.generator.tokenizer, choices, self.generator.tokenizer.eos_token_id)
        options["max_new_tokens"] = max(options["max_new_tokens"], trie.depth)
        ids = self.generator.generate_ids(
            [messages], allowed_tokens=lambda i, answer: trie.allowed(answer), **options
        )[0]
        return [choices[min(trie.titles_at(answer))] for answer in ids]

    def _chat(self, request: dict) -> dict:
        messages = request["messages"]
        if not isinstance(messages, list) or not all("content" in m for m in messages):
            raise ValueError("messages must be a list of {role, content}")
        n = int(request.get("n", 1))
        if self.max_n is not None:
            n = min(n, self.max_n)
        self.received.append(request)
        options = dict(
            n=n,
            temperature=float(request.get("temperature", 1.0)),
            top_p=float(request.get("top_p", 1.0)),
            max_new_tokens=int(request.get("max_tokens") or 64),
            seed=request.get("seed"),
        )
        choices = choices_from_payload(request)
        with self._generate_lock:
            if choices is None:
                texts = self.generator.generate([messages], **options)[0]
            else:
                texts = self._choose(messages, choices, options)
        return {
            "id": f"chatcmpl-{len(self.received)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", self.model_name),
            "choices": [
                {
                    "index": i,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
                for i, text in enumerate(texts)
            ],
        }
