"""A minimal OpenAI-compatible ``/v1/chat/completions`` server for a local causal LM.

It puts a (fine-tuned) Hugging Face model behind the API that hosted models use, and is
what the tests run to exercise :class:`ChatCompletionsClient` over real HTTP.
"""

from __future__ import annotations

import threading
import time

from ..utils._http import JSONServer
from ._generate import LocalGenerator

__all__ = ["ChatServer"]


class ChatServer(JSONServer):
    """Serve ``POST /v1/chat/completions`` from a local model.

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

    def _chat(self, request: dict) -> dict:
        messages = request["messages"]
        if not isinstance(messages, list) or not all("content" in m for m in messages):
            raise ValueError("messages must be a list of {role, content}")
        n = int(request.get("n", 1))
        if self.max_n is not None:
            n = min(n, self.max_n)
        self.received.append(request)
        with self._generate_lock:
            texts = self.generator.generate(
                [messages],
                n=n,
                temperature=float(request.get("temperature", 1.0)),
                top_p=float(request.get("top_p", 1.0)),
                max_new_tokens=int(request.get("max_tokens") or 64),
                seed=request.get("seed"),
            )[0]
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
