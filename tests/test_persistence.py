import json
from pathlib import Path

import numpy as np
import pytest

import llmseqrec
from llmseqrec import MostPopular
from llmseqrec.persistence import _decode_param, _encode_param


def test_save_writes_a_pickle_free_directory(tmp_path):
    model = MostPopular(exclude_seen=False).fit([["a", "b"], ["b"]])
    model.save(tmp_path / "m")
    files = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert files == ["README.md", "arrays.safetensors", "config.json", "item_index.json"]
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["class"] == "MostPopular" and config["params"]["exclude_seen"] is False
    loaded = llmseqrec.load(tmp_path / "m")
    assert loaded.get_params() == model.get_params()
    assert loaded.predict([["a"]], k=2).tolist() == model.predict([["a"]], k=2).tolist()


def test_save_refuses_to_overwrite_and_unfitted(tmp_path):
    model = MostPopular().fit([["a"]])
    model.save(tmp_path)
    with pytest.raises(FileExistsError, match="overwrite"):
        model.save(tmp_path)
    model.save(tmp_path, overwrite=True)
    with pytest.raises(llmseqrec.exceptions.NotFittedError):
        MostPopular().save(tmp_path / "x")
    with pytest.raises(FileNotFoundError, match="config.json"):
        llmseqrec.load(tmp_path / "nothing")


def test_parameter_encodings_roundtrip():
    arrays = {}
    value = {
        "tuple": (1, 2.5, "x"),
        "array": np.arange(6, dtype=np.float32).reshape(2, 3),
        "mapping": {"i1": np.ones(3), 7: np.zeros(3)},
        "estimator": MostPopular(exclude_seen=False),
    }
    encoded = {k: _encode_param(v, arrays, k) for k, v in value.items()}
    json.dumps(encoded)  # must be JSON
    decoded = {k: _decode_param(v, arrays) for k, v in encoded.items()}
    assert decoded["tuple"] == (1, 2.5, "x")
    np.testing.assert_array_equal(decoded["array"], value["array"])
    assert list(decoded["mapping"]) == ["i1", 7]
    np.testing.assert_array_equal(decoded["mapping"][7], np.zeros(3))
    assert (
        isinstance(decoded["estimator"], MostPopular) and decoded["estimator"].exclude_seen is False
    )
    with pytest.raises(TypeError, match="cannot be saved"):
        _encode_param(object(), {}, "bad")


# ----------------------------------------------------------------------------- older versions
_OLD = Path(__file__).parent / "fixtures" / "saved_v0_1_0"


@pytest.mark.parametrize(
    "name", ["VSKNN", "SKNNEmb", "LLMSeqSim", "LLM2SASRec", "PopularityDiversityFilter"]
)
def test_models_saved_by_0_1_0_load_silently_and_predict_the_same(name):
    import warnings

    expected = json.loads((_OLD / "expected.json").read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # old parameter names are mapped without a warning
        model = llmseqrec.load(_OLD / name)
    assert type(model).__name__ == name
    got = model.predict(expected["prompts"], k=5).tolist()
    assert got == expected["top5"][name]
    params = model.get_params(deep=False)
    assert not {"embeddings", "lr", "max_len", "last_n_items", "max_prompt_length"} & set(params)
