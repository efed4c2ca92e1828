"""OpenAI organisation/project, Azure OpenAI, Retry-After and concurrent requests, through
the official openai client and the standard library alike, against a real local server."""

import email.utils
import threading
import time
import types

import pytest

from llmseqrec.utils import _http
from llmseqrec.utils._http import ClientOptions, HTTPRequestError, JSONServer, post_json


def _embeddings(request):
    texts = request["input"]
    return {"data": [{"index": i, "embedding": [float(len(t))]} for i, t in enumerate(texts)]}


def _server(**kwargs):
    return JSONServer({"/v1/embeddings": _embeddings}, **kwargs)


def _header(server, name):
    headers = {k.lower(): v for k, v in server.last_request["headers"].items()}
    return headers.get(name.lower())


@pytest.fixture
def sleeps(monkeypatch):
    """The waits between attempts, recorded instead of slept."""
    waited = []
    clock = types.SimpleNamespace(sleep=waited.append, monotonic=time.monotonic, time=time.time)
    monkeypatch.setattr(_http, "time", clock)
    return waited


def test_organization_and_project_headers(http_transport, monkeypatch):
    monkeypatch.delenv("OPENAI_ORG_ID", raising=False)
    monkeypatch.delenv("OPENAI_PROJECT_ID", raising=False)
    with _server(api_key="k") as server:
        url = f"{server.url}/embeddings"
        post_json(url, {"model": "m", "input": ["ab"]}, api_key="k")
        assert _header(server, "OpenAI-Organization") is None
        assert _header(server, "Authorization") == "Bearer k"
        answer = post_json(
            url,
            {"model": "m", "input": ["ab"]},
            api_key="k",
            client_options={"organization": "org-1", "project": "proj-1"},
        )
        assert answer["data"][0]["embedding"] == [2.0]
        assert _header(server, "OpenAI-Organization") == "org-1"
        assert _header(server, "OpenAI-Project") == "proj-1"
        # the environment variables the openai package reads, read by both transports
        monkeypatch.setenv("OPENAI_ORG_ID", "org-env")
        monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-env")
        post_json(url, {"model": "m", "input": ["ab"]}, api_key="k")
        assert _header(server, "OpenAI-Organization") == "org-env"
        assert _header(server, "OpenAI-Project") == "proj-env"


def test_azure_openai_deployment_api_version_and_api_key_header(http_transport, monkeypatch):
    monkeypatch.delenv("OPENAI_API_VERSION", raising=False)
    with _server(api_key="azure-key") as server:
        endpoint = server.url.removesuffix("/v1")  # http://127.0.0.1:PORT, the "resource"
        # the deployment is the request's model, as openai.AzureOpenAI routes it
        options = ClientOptions(azure_endpoint=endpoint, api_version="2024-10-21")
        answer = post_json(
            "https://api.openai.com/v1/embeddings",  # api_base is not used with azure_endpoint
            {"model": "emb-deploy", "input": ["abc", "d"]},
            api_key="azure-key",
            client_options=options,
        )
        assert [d["embedding"] for d in answer["data"]] == [[3.0], [1.0]]
        seen = server.last_request
        assert seen["path"] == "/openai/deployments/emb-deploy/embeddings"
        assert seen["query"] == {"api-version": "2024-10-21"}
        assert _header(server, "api-key") == "azure-key"
        assert _header(server, "Authorization") is None
        # an explicit deployment; the endpoint taken from api_base when only api_version is set
        post_json(
            f"{endpoint}/embeddings",
            {"model": "ignored", "input": ["x"]},
            api_key="azure-key",
            client_options={"api_version": "2024-10-21", "deployment": "prod"},
        )
        assert server.last_request["deployment"] == "prod"
        # a deployment named in api_base (Azure's "target URI" form)
        post_json(
            f"{endpoint}/openai/deployments/from-url/embeddings",
            {"model": "ignored", "input": ["x"]},
            api_key="azure-key",
            client_options={"api_version": "2024-10-21"},
        )
        assert server.last_request["path"] == "/openai/deployments/from-url/embeddings"
        with pytest.raises(HTTPRequestError, match="refused the API key"):
            post_json(
                f"{endpoint}/embeddings",
                {"model": "d", "input": ["x"]},
                api_key="wrong",
                client_options={"api_version": "2024-10-21"},
                initial_delay=0.01,
            )


def test_azure_needs_an_api_version_and_options_are_checked(monkeypatch):
    monkeypatch.delenv("OPENAI_API_VERSION", raising=False)
    with pytest.raises(ValueError, match="Azure OpenAI needs an api_version"):
        post_json("http://127.0.0.1:9/embeddings", {}, client_options={"azure_endpoint": "x"})
    with pytest.raises(ValueError, match="unknown client option"):
        post_json("http://127.0.0.1:9/embeddings", {}, client_options={"organisation": "x"})
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-06-01")
    target = _http._target(
        "http://127.0.0.1:9/v1/chat/completions", ClientOptions(azure_endpoint="https://r.x/")
    )
    assert target.url({"model": "gpt"}) == (
        "https://r.x/openai/deployments/gpt/chat/completions?api-version=2024-06-01"
    )


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds_is_honoured(http_transport, sleeps, status):
    with _server(fail_first=2, fail_status=status, retry_after="7") as server:
        answer = post_json(
            f"{server.url}/embeddings", {"model": "m", "input": ["ab"]}, initial_delay=0.01
        )
        assert answer["data"][0]["embedding"] == [2.0] and server.requests == 3
    # the server's 7 s, not the backoff's 0.01 s and 0.02 s
    assert sleeps == [7.0, 7.0]


def test_retry_after_is_capped_and_bounded_by_the_deadline(http_transport, sleeps):
    with _server(fail_first=5, fail_status=429, retry_after="600") as server:
        with pytest.raises(HTTPRequestError, match=r"HTTP 429.*Retry-After 600 s"):
            post_json(
                f"{server.url}/embeddings",
                {"input": ["a"]},
                initial_delay=0.01,
                max_retries=1,
            )
        assert sleeps == [60.0]  # at most a minute per wait
        sleeps.clear()
        with pytest.raises(HTTPRequestError, match="failed after 1 attempts"):
            post_json(f"{server.url}/embeddings", {"input": ["a"]}, deadline=30)
        assert sleeps == []  # a wait past the deadline is not taken


def test_retry_after_forms():
    assert _http._retry_after({"Retry-After": "2.5"}) == 2.5
    assert _http._retry_after({"retry-after-ms": "1500", "Retry-After": "9"}) == 1.5
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < _http._retry_after({"Retry-After": when}) <= 30
    assert _http._retry_after({"Retry-After": "soon"}) is None
    assert _http._retry_after({}) is None and _http._retry_after(None) is None


def test_requests_from_many_threads_share_the_client(http_transport):
    """The embeddings and chat clients send batches from a thread pool: one cached openai
    client (or urllib) serves concurrent requests, each answer to its own request."""
    from concurrent.futures import ThreadPoolExecutor

    active, most = [0], [0]
    lock = threading.Lock()

    def slow(request):
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        time.sleep(0.2)
        with lock:
            active[0] -= 1
        return _embeddings(request)

    payloads = [{"model": "m", "input": ["x" * n]} for n in range(1, 9)]
    with JSONServer({"/v1/embeddings": slow}) as server:
        url = f"{server.url}/embeddings"
        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = list(pool.map(lambda p: post_json(url, p), payloads))
    assert [a["data"][0]["embedding"] for a in answers] == [[float(n)] for n in range(1, 9)]
    assert 1 < most[0] <= 4  # concurrent on the server
