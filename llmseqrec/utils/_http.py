"""JSON over HTTP with the standard library: a retrying client and a small threaded server.

Both OpenAI-compatible pieces of the library use them: the embeddings and chat-completions
backends (client) and the local servers the tests and users run (server).
"""

from __future__ import annotations

import functools
import http.client
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["post_json", "JSONServer", "HTTPRequestError", "check_api_key"]


class HTTPRequestError(RuntimeError):
    """An HTTP JSON request failed (after retries where retrying made sense)."""


def post_json(
    url: str,
    payload: dict,
    api_key: str | None = None,
    max_retries: int = 5,
    timeout: float = 60.0,
    initial_delay: float = 1.0,
    error_cls: type[Exception] = HTTPRequestError,
    deadline: float | None = None,
) -> dict:
    """POST ``payload`` as JSON and return the decoded JSON answer.

    The request goes through the official ``openai`` client when it is installed (the
    ``[openai]`` extra; it reads ``OPENAI_ORG_ID``/``OPENAI_PROJECT_ID`` from the environment),
    else through the standard library. Either way the policy is the same: rate limits
    (429, honouring ``Retry-After``), server errors (5xx), timeouts and dropped connections
    are retried with exponential backoff (``initial_delay`` doubling up to 30 s);
    authentication errors (401/403), other client errors, a refused connection (nothing
    listens on the port) and an answer that is not JSON fail at once with a message naming
    the URL.

    Parameters
    ----------
    timeout : float, default=60
        Seconds one attempt may take, connection and whole answer (a server that trickles
        its answer is cut off).
    max_retries : int, default=5
        Attempts after the first.
    deadline : float, optional
        Seconds all attempts and waits together may take; the last attempt's timeout is
        cut to what is left. ``None``: only ``timeout`` and ``max_retries`` bound it.
    """
    send = _openai_send if _use_openai() else _urllib_send
    body = json.dumps(payload).encode()
    start = time.monotonic()
    delay, error = initial_delay, ""
    for attempt in range(max_retries + 1):
        left = None if deadline is None else deadline - (time.monotonic() - start)
        if left is not None and left <= 0:
            break
        wait = timeout if left is None else min(timeout, left)
        try:
            raw = send(url, body, api_key, wait)
            try:
                return json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise error_cls(
                    f"{url} answered with something that is not JSON: {raw[:200]!r}"
                ) from exc
        except _StatusError as exc:
            if exc.code in (401, 403):
                raise error_cls(
                    f"{url} refused the API key (HTTP {exc.code}): {exc.detail}. Set the key in "
                    "the environment variable named by api_key_env (default OPENAI_API_KEY)."
                ) from exc
            if exc.code != 429 and exc.code < 500:
                raise error_cls(
                    f"{url} rejected the request (HTTP {exc.code}): {exc.detail}"
                ) from exc
            error = f"HTTP {exc.code}: {exc.detail}"
            if exc.retry_after is not None:  # the server says when to come back
                delay = max(delay, min(exc.retry_after, 60.0))
        except _RefusedError as exc:
            raise error_cls(
                f"{url} refused the connection (nothing listens there): check api_base"
            ) from exc
        except _TransientError as exc:
            error = str(exc)
        if attempt < max_retries:
            left = None if deadline is None else deadline - (time.monotonic() - start)
            if left is not None and left <= delay:
                break
            time.sleep(delay)
            delay = min(delay * 2, 30.0)
    spent = time.monotonic() - start
    raise error_cls(
        f"{url} failed after {attempt + 1} attempts in {spent:.0f} s; last error: {error}"
    )


class _StatusError(Exception):
    def __init__(self, code: int, detail: str, retry_after: float | None = None):
        super().__init__(f"HTTP {code}")
        self.code, self.detail, self.retry_after = code, detail, retry_after


class _RefusedError(Exception):
    """Nothing listens on the port: retrying cannot help."""


class _TransientError(Exception):
    """A timeout or a dropped connection: worth another attempt."""


#: ``"auto"`` (the openai package when installed), ``"openai"`` or ``"urllib"``.
TRANSPORT = "auto"


def _use_openai() -> bool:
    if TRANSPORT == "urllib":
        return False
    if TRANSPORT == "openai":
        return True
    try:
        import openai  # noqa: F401
    except ImportError:
        return False
    return True


def _retry_after(headers) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:  # an HTTP date: not worth parsing, the backoff applies
        return None


def _urllib_send(url: str, body: bytes, api_key: str | None, wait: float) -> bytes:
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=wait) as response:
            return _read_until(response, time.monotonic() + wait, url)
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:300]
        raise _StatusError(exc.code, detail, _retry_after(exc.headers)) from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as exc:
        if isinstance(getattr(exc, "reason", None), ConnectionRefusedError):
            raise _RefusedError(str(exc)) from exc
        raise _TransientError(str(getattr(exc, "reason", exc)) or type(exc).__name__) from exc


@functools.lru_cache(maxsize=16)
def _openai_client(base_url: str, api_key: str | None):
    import openai

    # Retries are this module's policy (a refused connection fails at once), so none there.
    return openai.OpenAI(base_url=base_url, api_key=api_key or "no-key", max_retries=0)


def _openai_send(url: str, body: bytes, api_key: str | None, wait: float) -> bytes:
    import openai

    parts = urllib.parse.urlsplit(url)
    client = _openai_client(f"{parts.scheme}://{parts.netloc}", api_key)
    outcome: dict = {}

    def attempt():
        try:
            outcome["body"] = client.post(  # bytes: the raw answer, parsed here
                parts.path, body=json.loads(body), cast_to=bytes, options={"timeout": wait}
            )
        except BaseException as exc:  # handed to the waiting thread
            outcome["error"] = exc

    # httpx bounds each read, not the answer: the attempt runs in a thread and the caller
    # waits at most ``wait`` (a trickling server is abandoned, its thread ends on its own).
    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(wait)
    if worker.is_alive():
        raise _TransientError("timed out")
    exc = outcome.get("error")
    if exc is None:
        return outcome["body"]
    if isinstance(exc, openai.APIStatusError):
        raise _StatusError(
            exc.status_code, exc.response.text[:300], _retry_after(exc.response.headers)
        ) from exc
    if isinstance(exc, openai.APIConnectionError):
        cause = exc
        while cause is not None:
            if isinstance(cause, ConnectionRefusedError):
                raise _RefusedError(str(exc)) from exc
            cause = cause.__cause__ or cause.__context__
        raise _TransientError(f"{type(exc).__name__}: {exc} ({exc.__cause__!r})") from exc
    raise exc


_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")


def check_api_key(url: str, api_key: str | None, env_name: str | None, error_cls=ValueError):
    """Fail at once when an endpoint off this machine gets no API key: without one, a
    hosted API refuses every request, and an unreachable one would be retried for a minute
    before saying so. Local servers (vLLM, llama.cpp, the test servers) need no key."""
    host = urllib.parse.urlparse(url).hostname or ""
    if api_key or host in _LOCAL_HOSTS:
        return
    where = f"the environment variable {env_name}" if env_name else "api_key_env"
    raise error_cls(
        f"{url} is a remote endpoint and {where} holds no API key: set it (export "
        f"{env_name or 'OPENAI_API_KEY'}=...), or use a local server"
    )


def _read_until(response, end: float, url: str) -> bytes:
    """The whole body of ``response``, or ``TimeoutError`` once ``end`` (monotonic) passes.

    A socket timeout bounds each read, not the answer: a server that trickles a byte at a
    time would never trip it. Reading in chunks with the socket's timeout cut to what is
    left bounds the whole attempt.
    """
    sock = getattr(getattr(response.fp, "raw", None), "_sock", None)
    chunks = []
    while True:
        left = end - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"{url} did not finish its answer in time")
        if sock is not None:
            sock.settimeout(left)
        chunk = response.read1(1 << 16)
        if not chunk:
            body = b"".join(chunks)
            if getattr(response, "length", None):  # closed before the announced length
                raise http.client.IncompleteRead(body, response.length)
            return body
        chunks.append(chunk)


class JSONServer:
    """Serve JSON ``POST`` routes on ``host:port`` from a background thread.

    Parameters
    ----------
    routes : dict
        ``{path: handler}``; ``handler(request_dict) -> answer_dict`` (raise ``ValueError``,
        ``KeyError`` or ``TypeError`` for a malformed request: HTTP 400). ``/v1/x`` also
        answers at ``/x``.
    host, port : str, int
        ``port=0`` picks a free port (see :attr:`url`).
    api_key : str, optional
        When set, requests must carry ``Authorization: Bearer <api_key>`` (else HTTP 401).
    fail_first : int, default=0
        Answer the first ``fail_first`` requests with HTTP 503 (to exercise client retries).
    """

    def __init__(
        self,
        routes: dict[str, Callable[[dict], dict]],
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        fail_first: int = 0,
    ):
        self.api_key, self.failures_left, self.requests = api_key, fail_first, 0
        self._routes = {}
        for path, handler in routes.items():
            self._routes[path.rstrip("/")] = handler
            self._routes[path.rstrip("/").removeprefix("/v1")] = handler
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
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with outer._lock:
                    outer.requests += 1
                    fail = outer.failures_left > 0
                    outer.failures_left -= int(fail)
                handler = outer._routes.get(self.path.rstrip("/"))
                if handler is None:
                    return self._reply(404, {"error": {"message": f"no route {self.path}"}})
                if outer.api_key and self.headers.get("Authorization") != f"Bearer {outer.api_key}":
                    return self._reply(401, {"error": {"message": "invalid API key"}})
                if fail:
                    return self._reply(503, {"error": {"message": "temporarily unavailable"}})
                try:
                    answer = handler(json.loads(raw))
                except (ValueError, KeyError, TypeError) as exc:
                    return self._reply(400, {"error": {"message": f"bad request: {exc}"}})
                self._reply(200, answer)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._thread = None

    @property
    def url(self) -> str:
        """Base URL to use as ``api_base`` (``http://host:port/v1``)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self):
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
