"""Random damage to a saved model's files (issue 24): loading gives a library error, or a
model whose recommendations are still well formed; never NaN scores, a ``None`` in a full
top-k, a read outside the directory or an error from numpy/torch/json internals."""

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import llmseqrec
from llmseqrec import LLMSeqSim, MostPopular, SASRec, ScoreFusion
from llmseqrec.exceptions import NonFiniteScoresError, SavedModelError
from llmseqrec.recommenders import SKNN
from llmseqrec.testing import synthetic_data
from llmseqrec.text import ItemTextEncoder

BUILDERS = {
    "SASRec": lambda: SASRec(emb_dim=8, n_heads=1, epochs=1, show_progress=False, random_state=0),
    "LLMSeqSim": lambda: LLMSeqSim(
        item_embeddings=ItemTextEncoder(
            backend="tfidf", dim=16, cache=False, random_state=0, show_progress=False
        ),
        n_components=8,
    ),
    "ScoreFusion": lambda: ScoreFusion(
        models=[("pop", MostPopular()), ("knn", SKNN(k=20, sample_size=100))], weights=[1, 1]
    ),
}


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def saved(request, tmp_path_factory):
    train, prompts, _, items = synthetic_data("str")
    path = tmp_path_factory.mktemp(request.param) / "model"
    BUILDERS[request.param]().fit(train, item_metadata=items).save(path)
    files = sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())
    return path, files, prompts[:6]


def _damage(path: Path, file: str, how: str, where: float, byte: int) -> None:
    target = path / file
    data = bytearray(target.read_bytes())
    pos = min(int(where * len(data)), max(len(data) - 1, 0))
    if how == "truncate":
        data = data[:pos]
    elif how == "flip" and data:
        data[pos] ^= 1 << (byte % 8)
    elif data:
        data[pos] = byte
    target.write_bytes(bytes(data))


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    file_index=st.integers(0, 100),
    how=st.sampled_from(["truncate", "flip", "overwrite"]),
    where=st.floats(0, 1),
    byte=st.integers(0, 255),
)
def test_damaged_saved_files_give_a_library_error_or_a_well_formed_model(
    saved, file_index, how, where, byte
):
    path, files, prompts = saved
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "model"
        shutil.copytree(path, copy)
        _damage(copy, files[file_index % len(files)], how, where, byte)
        try:
            model = llmseqrec.load(copy)
        except SavedModelError:
            return
        try:
            recs = model.predict(prompts, k=5)
            scores = model.predict_scores(prompts)
        except (ValueError, NonFiniteScoresError):  # library errors (SavedModelError is one)
            return
    assert not np.isnan(scores).any(), "NaN scores from a damaged model that loaded"
    for row in recs:
        got = row.tolist()
        assert None not in got, f"a None in a full top-k: {got}"
        assert len(set(got)) == len(got)
