"""Bad input gives a clear library error or a correct result, never a silently wrong one
(issue 24). Every feature that takes user input extends this module."""

import json

import pytest

import llmseqrec
from llmseqrec import MostPopular, ReciprocalRankFusion, ScoreFusion
from llmseqrec.recommenders import SKNN
from llmseqrec.testing import synthetic_data


@pytest.mark.parametrize("cls", [ScoreFusion, ReciprocalRankFusion])
@pytest.mark.parametrize("name", ["../../x", "/tmp/x", "a/b", "..", ".hidden", "", "a\\b", 3])
def test_hybrid_part_names_that_are_not_plain_names_are_refused_at_fit(cls, name):
    train, _, _, _ = synthetic_data("str")
    model = cls(
        models=[(name, MostPopular()), ("knn", SKNN(k=20, sample_size=100))], weights=[1, 1]
    )
    with pytest.raises(ValueError, match="not a plain name"):
        model.fit(train)


def test_a_saved_hybrid_whose_part_names_were_edited_never_reads_outside_its_directory(tmp_path):
    train, prompts, _, _ = synthetic_data("str")
    model = ScoreFusion(
        models=[("pop", MostPopular()), ("knn", SKNN(k=20, sample_size=100))], weights=[1, 1]
    ).fit(train)
    model.save(tmp_path / "m")
    # A decoy model outside the directory, where "../../decoy" would point from parts/.
    MostPopular().fit(train).save(tmp_path / "decoy")
    config_file = tmp_path / "m" / "config.json"
    text = config_file.read_text()
    assert text.count('"pop"') >= 1
    config_file.write_text(text.replace('"pop"', '"../../decoy"'))
    with pytest.raises(ValueError, match="not a plain name"):
        llmseqrec.load(tmp_path / "m")
    # The untouched directory loads and predicts as before.
    config_file.write_text(text)
    loaded = llmseqrec.load(tmp_path / "m")
    assert [list(r) for r in loaded.predict(prompts[:5], k=5)] == [
        list(r) for r in model.predict(prompts[:5], k=5)
    ]
    assert json.loads(text)  # the edit above was to a JSON file that stays valid
