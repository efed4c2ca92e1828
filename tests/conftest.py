"""Shared fixtures: the real data folder (skipped where absent) and synthetic data."""

import os
from pathlib import Path

import pytest

from llmseqrec.datasets import make_synthetic_sessions

# The project's clone sits beside shared/ (../shared/data); LLMSEQREC_SHARED_DATA overrides.
SHARED_DATA = Path(
    os.environ.get("LLMSEQREC_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "beauty" / "interactions.csv.gz").exists():
        pytest.skip(
            f"real data folder {SHARED_DATA} is absent (set LLMSEQREC_SHARED_DATA to run these tests)"
        )
    return SHARED_DATA


@pytest.fixture(scope="session")
def beauty(shared_data):
    from llmseqrec.datasets import load_beauty

    return load_beauty(shared_data / "beauty")


@pytest.fixture(scope="session")
def beauty_split(beauty):
    from llmseqrec.data import temporal_split

    return temporal_split(beauty.interactions)


@pytest.fixture(scope="session")
def synthetic():
    return make_synthetic_sessions(n_sessions=240, random_state=0)


@pytest.fixture(params=["openai", "urllib"])
def http_transport(request, monkeypatch):
    """Run an HTTP test through the official openai client and through the standard
    library: the same retry, error and deadline policy must hold for both."""
    from llmseqrec.utils import _http

    if request.param == "openai":
        pytest.importorskip("openai")
    monkeypatch.setattr(_http, "TRANSPORT", request.param)
    return request.param
