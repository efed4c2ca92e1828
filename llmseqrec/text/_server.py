"""A minimal OpenAI-compatible ``/v1/embeddings`` server for a local model.

Useful to put a local sentence-transformers model behind the same API the paper used
(OpenAI embeddings), and used by the tests to exercise the HTTP backend for real.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

__all__ = ["EmbeddingServer"]


class EmbeddingServer:
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
        self.encode, self.model_name, self.api_key = encode, model_name, api_key
        self.failures_left = fail_first
        self.requests = 0
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _reply(self, code: int, payload: dict):
                body = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with outer._lock:
                    outer.requests += 1
                    fail = outer.failures_left > 0
                    outer.failures_left -= int(fail)
                if self.path.rstrip("/") not in ("/v1/embeddings", "/embeddings"):
                    return self._reply(404, {"error": {"message": f"no route {self.path}"}})
                if outer.api_key and self.headers.get("Authorization") != f"Bearer {outer.api_key}":
                    return self._reply(401, {"error": {"message": "invalid API key"}})
                if fail:
                    return self._reply(503, {"error": {"message": "temporarily unavailable"}})
                try:
                    request = json.loads(raw)
                    texts = request["input"]
                    texts = [texts] if isinstance(texts, str) else list(texts)
                except (ValueError, KeyError, TypeError):
                    return self._reply(
                        400, {"error": {"message": "body must be JSON with an 'input' list"}}
                    )
                vectors = np.asarray(outer.encode(texts), dtype=np.float32)
                data = [
                    {"object": "embedding", "index": i, "embedding": v.tolist()}
                    for i, v in enumerate(vectors)
                ]
                self._reply(
                    200,
                    {
                        "object": "list",
                        "data": data,
                        "model": request.get("model", outer.model_name),
                        "usage": {"prompt_tokens": 0, "total_tokens": 0},
                    },
                )

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._thread = None

    @property
    def url(self) -> str:
        """Base URL to use as ``api_base`` (``http://host:port/v1``)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> EmbeddingServer:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
