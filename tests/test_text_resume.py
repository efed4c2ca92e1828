"""Large catalogues (issue 27): encoding writes finished chunks to the cache, so a run that
stops (an exception, or a process killed outright) restarts where it was; multi-process
encoding gives the single-process vectors."""

import signal
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from test_text_backends import ITEMS, TITLES

from llmseqrec.text import ItemTextEncoder


def _break_after(encoder, n_chunks: int) -> list[int]:
    """Make the fitted encoder's model fail on its (n_chunks + 1)-th call; returns the sizes
    of the calls that went through."""
    real, done = encoder.backend_.encode, []

    def flaky(texts, show_progress=True):
        if len(done) == n_chunks:
            raise RuntimeError("injected fault: the run stops here")
        done.append(len(texts))
        return real(texts, show_progress=show_progress)

    encoder.backend_.encode = flaky
    return done


def test_an_interrupted_encoding_resumes_from_the_cache(tmp_path):
    params = dict(runtime="torch", cache_dir=tmp_path, chunk_size=8, show_progress=False)
    first = ItemTextEncoder(**params).fit(ITEMS)
    done = _break_after(first, 3)
    with pytest.raises(RuntimeError, match="injected fault"):
        first.transform(ITEMS)
    assert done == [8, 8, 8] and first.n_calls_ == 24  # three chunks finished and stored

    second = ItemTextEncoder(**params).fit(ITEMS)
    X = second.transform(ITEMS)
    assert second.n_calls_ == len(TITLES) - 24  # only the rest is encoded
    reference = ItemTextEncoder(runtime="torch", cache=False, show_progress=False).fit(ITEMS)
    np.testing.assert_allclose(X, reference.transform(ITEMS), atol=1e-5)
    third = ItemTextEncoder(**params).fit(ITEMS)
    np.testing.assert_array_equal(third.transform(ITEMS), X)
    assert third.n_calls_ == 0


CHILD = textwrap.dedent(
    """
    import os, signal, sys
    import pandas as pd
    from llmseqrec.text import ItemTextEncoder

    cache_dir, kill_after = sys.argv[1], int(sys.argv[2])
    items = pd.DataFrame({"item_id": range(2000),
                          "title": [f"product {i} size {i % 17} colour {i % 7}" for i in range(2000)]})
    enc = ItemTextEncoder(backend="tfidf", dim=8, random_state=0, cache_dir=cache_dir,
                          chunk_size=100, show_progress=False).fit(items)
    real, calls = enc.backend_.encode, []

    def dying(texts, show_progress=True):
        if len(calls) == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)  # no exception handler, no clean-up
        calls.append(len(texts))
        return real(texts, show_progress=show_progress)

    enc.backend_.encode = dying
    enc.transform(items)
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_a_killed_process_restarts_after_the_last_written_chunk(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "cache"), "6"],
        capture_output=True,
        text=True,
        timeout=300,  # the parent's environment: the same BLAS threads, the same TF-IDF fit
    )
    assert out.returncode == -signal.SIGKILL, out.stderr[-2000:]
    assert not list((tmp_path / "cache").glob("*/*.tmp.npz"))  # no half-written shard read

    items = pd.DataFrame(
        {
            "item_id": range(2000),
            "title": [f"product {i} size {i % 17} colour {i % 7}" for i in range(2000)],
        }
    )
    params = dict(backend="tfidf", dim=8, random_state=0, chunk_size=100, show_progress=False)
    resumed = ItemTextEncoder(cache_dir=tmp_path / "cache", **params).fit(items)
    X = resumed.transform(items)
    assert resumed.n_calls_ == 2000 - 6 * 100
    fresh = ItemTextEncoder(cache=False, **params).fit(items).transform(items)
    np.testing.assert_allclose(X, fresh, atol=1e-6)


def test_multi_process_encoding_gives_the_single_process_vectors(tmp_path):
    single = ItemTextEncoder(runtime="torch", cache=False, show_progress=False, device="cpu")
    expected = single.fit(ITEMS).transform(ITEMS)
    pooled = ItemTextEncoder(
        workers=2, cache_dir=tmp_path, chunk_size=16, show_progress=False, device="cpu"
    ).fit(ITEMS)
    assert pooled.runtime_ == "torch"
    X = pooled.transform(ITEMS)
    np.testing.assert_allclose(X, expected, atol=1e-5)
    assert pooled.n_calls_ == len(TITLES)
    assert pooled.backend_._pool is None  # the pool stops after the run
