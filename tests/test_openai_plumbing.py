"""client_options and concurrent batches reach the server from the estimators (issue 25)."""

import numpy as np
import pandas as pd

from llmseqrec.text import ItemTextEncoder
from llmseqrec.text._server import EmbeddingServer

ITEMS = pd.DataFrame({"item_id": list("abcde"), "title": ["a", "bb", "ccc", "dddd", "eeeee"]})


def test_the_encoder_sends_azure_requests_and_batches_concurrently(http_transport, monkeypatch):
    monkeypatch.setenv("AZ_KEY", "secret")

    def vectors(texts):
        return np.array([[float(len(t)), 1.0] for t in texts])

    with EmbeddingServer(vectors, api_key="secret") as server:
        endpoint = server.url.removesuffix("/v1")
        enc = ItemTextEncoder(
            backend="openai",
            model="emb-deploy",
            api_key_env="AZ_KEY",
            client_options={"azure_endpoint": endpoint, "api_version": "2024-10-21"},
            batch_size=2,
            max_workers=3,
            cache=False,
            show_progress=False,
        )
        X = enc.fit(ITEMS).transform(ITEMS)
        np.testing.assert_array_equal(X[:, 0], [1, 2, 3, 4, 5])  # in order
        assert server.requests == 3
        assert server.last_request["path"] == "/openai/deployments/emb-deploy/embeddings"
        assert server.last_request["query"] == {"api-version": "2024-10-21"}
    assert "client_options" in enc.get_params()
