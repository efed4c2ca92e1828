"""JSON over HTTP with the standard library: a retrying client and a small threaded server.

Both OpenAI-compatible pieces of the library use them: the embeddings and chat-completions
backends (client) and the local servers the tests and users run (server).
"""

from __future__ import annotations

import email.utils
import functools
import http.client
import json
import os
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = [
    "post_json",
    "ClientOptions",
    "JSONServer",
    "HTTPRequestError",
    "check_api_key",
]


class HTTPRequestError(RuntimeError):
    """An HTTP JSON request failed (after retries where retrying made sense)."""


@dataclass(frozen=True)
class ClientOptions:
    """Who asks and where, beyond ``api_base`` and the API key: an OpenAI organisation and
    project, or an Azure OpenAI resource.

    Both transports (the ``openai`` package's client and the standard library) send the
    same request. A ``dict`` with these keys is accepted wherever a ``ClientOptions`` is.

    Parameters
    ----------
    organization, project : str, optional
        Sent as the ``OpenAI-Organization`` and ``OpenAI-Project`` headers. Default: the
        ``OPENAI_ORG_ID`` and ``OPENAI_PROJECT_ID`` environment variables, as the ``openai``
        package reads them.
    azure_endpoint : str, optional
        An Azure OpenAI resource, e.g. ``"https://my-resource.openai.azure.com"``: requests
        go to ``{azure_endpoint}/openai/deployments/{deployment}/{route}?api-version=...``
        with the key in the ``api-key`` header (``openai.AzureOpenAI``). Default, when
        ``api_version`` is given: the scheme and host of ``api_base``.
    api_version : str, optional
        Azure's ``api-version`` (e.g. ``"2024-10-21"``); setting it (or ``azure_endpoint``)
        selects Azure. Default for Azure: the ``OPENAI_API_VERSION`` environment variable.
    deployment : str, optional
        The Azure deployment. Default: one named in ``api_base``
        (``.../openai/deployments/NAME``), else the request's ``model``.
    """

    organization: str | None = None
    project: str | None = None
    azure_endpoint: str | None = None
    api_version: str | None = None
    deployment: str | None = None

    @classmethod
    def coerce(cls, value: ClientOptions | Mapping | None) -> ClientOptions:
        """``value`` as ``ClientOptions`` (``None``: the defaults)."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, Mapping):
            known = {f.name for f in fields(cls)}
            unknown = sorted(set(value) - known)
            if unknown:
                raise ValueError(
                    f"unknown client option(s) {unknown}; expected some of {sorted(known)}"
                )
            return cls(**value)
        raise TypeError(f"client_options must be a dict or ClientOptions, got {value!r}")

    @property
    def azure(self) -> bool:
        """Whether requests go to Azure OpenAI."""
        return self.azure_endpoint is not None or self.api_version is not None


#: Azure routes that name a deployment (as ``openai.AzureOpenAI`` has them).
_DEPLOYMENT_ROUTES = ("/chat/completions", "/completions", "/embeddings")


@dataclass(frozen=True)
class _Target:
    """Where one request goes, resolved from the URL and the options."""

    base: str  # scheme://host[:port] (OpenAI) or the Azure endpoint
    path: str  # OpenAI: the URL's path; Azure: the route (e.g. "/embeddings")
    organization: str | None
    project: str | None
    api_version: str | None = None  # set for Azure
    deployment: str | None = None  # Azure: the explicit or URL-named deployment

    def url(self, payload: dict) -> str:
        """The full URL the standard library posts to."""
        if self.api_version is None:
            return f"{self.base}{self.path}"
        deployment = self.deployment or payload.get("model")
        if deployment and self.path in _DEPLOYMENT_ROUTES:
            where = "/openai/deployments/" + urllib.parse.quote(str(deployment), safe="")
        else:
            where = "/openai"
        query = urllib.parse.urlencode({"api-version": self.api_version})
        return f"{self.base}{where}{self.path}?{query}"

    def headers(self, api_key: str | None) -> dict:
        headers = {"Content-Type": "application/json"}
        if api_key:
            if self.api_version is None:
                headers["Authorization"] = f"Bearer {api_key}"
            else:
                headers["api-key"] = api_key
        if self.organization:
            headers["OpenAI-Organization"] = self.organization
        if self.project:
            headers["OpenAI-Project"] = self.project
        return headers


def _target(url: str, options: ClientOptions) -> _Target:
    parts = urllib.parse.urlsplit(url)
    organization = options.organization or os.environ.get("OPENAI_ORG_ID") or None
    project = options.project or os.environ.get("OPENAI_PROJECT_ID") or None
    host = f"{parts.scheme}://{parts.netloc}"
    if not options.azure:
        return _Target(host, parts.path, organization, project)
    api_version = options.api_version or os.environ.get("OPENAI_API_VERSION")
    if not api_version:
        raise ValueError(
            "Azure OpenAI needs an api_version (client_options={'api_version': "
            "'2024-10-21', ...} or the OPENAI_API_VERSION environment variable)"
        )
    path = parts.path.rstrip("/")
    route = next((r for r in _DEPLOYMENT_ROUTES if path.endswith(r)), None)
    if route is None:
        route = "/" + path.rsplit("/", 1)[-1]
    named = re.search(r"/deployments/([^/]+)/", path + "/")
    deployment = options.deployment or (urllib.parse.unquote(named.group(1)) if named else None)
    endpoint = (options.azure_endpoint or host).rstrip("/")
    return _Target(endpoint, route, organization, project, api_version, deployment)


def post_json(
    url: str,
    payload: dict,
    api_key: str | None = None,
    max_retries: int = 5,
    timeout: float = 60.0,
    initial_delay: float = 1.0,
    error_cls: type[Exception] = HTTPRequestError,
    deadline: float | None = None,
    client_options: ClientOptions | Mapping | None = None,
) -> dict:
    """POST ``payload`` as JSON and return the decoded JSON answer.

    The request goes through the official ``openai`` client when it is installed (the
    ``[openai]`` extra: ``openai.OpenAI``, or ``openai.AzureOpenAI`` for an Azure resource),
    else through the standard library; ``client_options`` (:class:`ClientOptions`: OpenAI
    organisation and project, Azure endpoint, API version and deployment) apply to both.
    Either way the policy is the same: rate limits (429), server errors (5xx), timeouts and
    dropped connections are retried with exponential backoff (``initial_delay`` doubling up
    to 30 s), or after what the server's ``Retry-After`` (or ``retry-after-ms``) header
    asks, up to 60 s;
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
        cut to what is left (a ``Retry-After`` beyond it ends the attempts at once).
        ``None``: only ``timeout`` and ``max_retries`` bound it.
    client_options : ClientOptions or dict, optional
        OpenAI organisation and project, or an Azure OpenAI resource.
    """
    target = _target(url, ClientOptions.coerce(client_options))
    shown = target.url(payload)  # the URL requested (Azure: built from the options)
    send = _openai_send if _use_openai() else _urllib_send
    body = json.dumps(payload).encode()
    start = time.monotonic()
    delay, error = initial_delay, ""
    for attempt in range(max_retries + 1):
        asked = None  # what the server asks to wait (Retry-After), if it says
        left = None if deadline is None else deadline - (time.monotonic() - start)
        if left is not None and left <= 0:
            break
        wait = timeout if left is None else min(timeout, left)
        try:
            raw = send(target, payload, body, api_key, wait)
            try:
                return json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise error_cls(
                    f"{shown} answered with something that is not JSON: {raw[:200]!r}"
                ) from exc
        except _StatusError as exc:
            if exc.code in (401, 403):
                raise error_cls(
                    f"{shown} refused the API key (HTTP {exc.code}): {exc.detail}. Set the key in "
                    "the environment variable named by api_key_env (default OPENAI_API_KEY)."
                ) from exc
            if exc.code != 429 and exc.code < 500:
                raise error_cls(
                    f"{shown} rejected the request (HTTP {exc.code}): {exc.detail}"
                ) from exc
            error = f"HTTP {exc.code}: {exc.detail}"
            if exc.retry_after is not None:  # the server says when to come back
                asked = min(exc.retry_after, 60.0)
                error += f" (Retry-After {exc.retry_after:g} s)"
        except _RefusedError as exc:
            raise error_cls(
                f"{shown} refused the connection (nothing listens there): check api_base"
            ) from exc
        except _TransientError as exc:
            error = str(exc)
        if attempt < max_retries:
            left = None if deadline is None else deadline - (time.monotonic() - start)
            wait = delay if asked is None else asked
            if left is not None and left <= wait:
                break
            time.sleep(wait)
            delay = min(delay * 2, 30.0)
    spent = time.monotonic() - start
    raise error_cls(
        f"{shown} failed after {attempt + 1} attempts in {spent:.0f} s; last error: {error}"
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
    """Seconds the server asks to wait: ``retry-after-ms`` (OpenAI, Azure), else
    ``Retry-After`` in seconds or as an HTTP date; ``None`` when absent or unreadable."""
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:  # an HTTP date, e.g. "Wed, 21 Oct 2015 07:28:00 GMT"
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def _urllib_send(
    target: _Target, payload: dict, body: bytes, api_key: str | None, wait: float
) -> bytes:
    url = target.url(payload)
    headers = target.headers(api_key)
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
def _openai_client(
    base: str,
    api_key: str | None,
    organization: str | None,
    project: str | None,
    api_version: str | None,
    deployment: str | None,
):
    import openai

    # Retries are this module's policy (a refused connection fails at once), so none there.
    common = dict(
        api_key=api_key or "no-key", organization=organization, project=project, max_retries=0
    )
    if api_version is None:
        return openai.OpenAI(base_url=base, **common)
    return openai.AzureOpenAI(
        azure_endpoint=base, api_version=api_version, azure_deployment=deployment, **common
    )


def _openai_send(
    target: _Target, payload: dict, body: bytes, api_key: str | None, wait: float
) -> bytes:
    import openai

    client = _openai_client(
        target.base,
        api_key,
        target.organization,
        target.project,
        target.api_version,
        target.deployment,
    )
    outcome: dict = {}

    def attempt():
        try:
            outcome["body"] = client.post(  # bytes: the raw answer, parsed here
                target.path, body=payload, cast_to=bytes, options={"timeout": wait}
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


#: Azure OpenAI's paths: ``/openai[/deployments/NAME]/route``.
_AZURE_PATH = re.compile(r"^/openai(?:/deployments/([^/]+))?(/.+)$")


class JSONServer:
    """Serve JSON ``POST`` routes on ``host:port`` from a background thread.

    Parameters
    ----------
    routes : dict
        ``{path: handler}``; ``handler(request_dict) -> answer_dict`` (raise ``ValueError``,
        ``KeyError`` or ``TypeError`` for a malformed request: HTTP 400). ``/v1/x`` also
        answers at ``/x``, and at Azure OpenAI's ``/openai/x`` and
        ``/openai/deployments/NAME/x`` (the query string is ignored).
    host, port : str, int
        ``port=0`` picks a free port (see :attr:`url`).
    api_key : str, optional
        When set, requests must carry ``Authorization: Bearer <api_key>`` or (Azure)
        ``api-key: <api_key>`` (else HTTP 401).
    fail_first : int, default=0
        Answer the first ``fail_first`` requests with HTTP ``fail_status`` (to exercise
        client retries).
    fail_status : int, default=503
    retry_after : str, optional
        The ``Retry-After`` header of those failures (e.g. ``"2"``).

    Attributes
    ----------
    requests : int
        Requests received.
    last_request : dict or None
        The latest request's ``path``, ``query`` (a dict), ``deployment`` (Azure) and
        ``headers`` (a dict).
    """

    def __init__(
        self,
        routes: dict[str, Callable[[dict], dict]],
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        fail_first: int = 0,
        fail_status: int = 503,
        retry_after: str | None = None,
    ):
        self.api_key, self.failures_left, self.requests = api_key, fail_first, 0
        self.fail_status, self.retry_after = fail_status, retry_after
        self.last_request: dict | None = None
        self._routes = {}
        for path, handler in routes.items():
            self._routes[path.rstrip("/")] = handler
            self._routes[path.rstrip("/").removeprefix("/v1")] = handler
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _reply(self, code: int, payload: dict, headers: dict | None = None):
                body = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parts = urllib.parse.urlsplit(self.path)
                path = parts.path.rstrip("/")
                azure = _AZURE_PATH.match(path)
                if azure:
                    path = azure.group(2)
                with outer._lock:
                    outer.requests += 1
                    fail = outer.failures_left > 0
                    outer.failures_left -= int(fail)
                    outer.last_request = {
                        "path": parts.path,
                        "query": dict(urllib.parse.parse_qsl(parts.query)),
                        "deployment": azure and azure.group(1),
                        "headers": dict(self.headers.items()),
                    }
                handler = outer._routes.get(path)
                if handler is None:
                    return self._reply(404, {"error": {"message": f"no route {self.path}"}})
                if outer.api_key and not (
                    self.headers.get("Authorization") == f"Bearer {outer.api_key}"
                    or self.headers.get("api-key") == outer.api_key
                ):
                    return self._reply(401, {"error": {"message": "invalid API key"}})
                if fail:
                    extra = {"Retry-After": outer.retry_after} if outer.retry_after else None
                    message = {"error": {"message": "temporarily unavailable"}}
                    return self._reply(outer.fail_status, message, extra)
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
