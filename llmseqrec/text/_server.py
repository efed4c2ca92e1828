"""A minimal OpenAI-compatible ``/v1/embeddings`` server for a local model.

Useful to put a local sentence-transformers model behind the same API the paper used
(OpenAI embeddings), and used by the tests to exercise the HTTP backend for real.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..utils._http import JSONServer

__all__ = ["EmbeddingServer"]


class EmbeddingServer(JSONServer):
    """Serve ``encode(texts) -> (n, d) array`` as ``POST /v1/embeddings`` on ``host:port``.

    Parameters
    ----------
    encode : callable
        Texts -> vectors.
    model_name : str, default="local"
    host : str, default="127.0.0.1"
    port : int, default=0
        0 picks a free port (see :attr:`url`).
    api_key : str, optional
        When set, requests must carry ``Authorization: Bearer <api_key>`` (else HTTP 401).
    fail_first : int, default=0
        Answer the first ``fail_first`` requests with HTTP 503 (to exercise client retries).

    Examples
    --------
    >>> server = EmbeddingServer(lambda texts: np.ones((len(texts), 2))).start()
    >>> server.url.startswith("http://127.0.0.1:")
    True
    >>> server.stop()
    """

    def __init__(
        self,
        encode: Callable,
        model_name: str = "local",
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        fail_first: int = 0,
    ):
        self.encode, self.model_name = encode, model_name
        super().__init__(
            {"/v1/embeddings": self._embeddings}, host, port, api_key=api_key, fail_first=fail_first
        )

    def _embeddings(self, request: dict) -> dict:
        texts = request["input"]
        texts = [texts] if isinstance(texts, str) else list(texts)
        vectors = np.asarray(self.encode(texts), dtype=np.float32)
        data = [
            {"object": "embedding", "index": i, "embedding": v.tolist()}
            for i, v in enumerate(vectors)
        ]
        return {
            "object": "list",
            "data": data,
            "model": request.get("model", self.model_name),
            "usage": {"prompt_tokens": 0, "total_tokens": 0},
        }
