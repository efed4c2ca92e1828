"""Sanity checks on the real Beauty data (skipped where ../shared/data is absent)."""

import pytest

from llmseqrec import LLMSeqSim, MostPopular, evaluate


def _value(table, metric, k):
    return table.query("metric == @metric and k == @k")["value"].item()


def test_most_popular_reproduces_paper_statistics(beauty_split):
    # With the paper's train+test popularity counting, MostPopular (no prompt filtering)
    # gives the paper's novelty, serendipity and coverage (paper-digest §3.1).
    table = evaluate(
        MostPopular(exclude_seen=False), beauty_split, popularity="train+test", show_progress=False
    )
    assert _value(table, "Novelty", 20) == pytest.approx(9.408061, abs=1e-5)
    assert _value(table, "Novelty", 10) == pytest.approx(9.187262, abs=1e-5)
    assert _value(table, "Serendipity", 20) == pytest.approx(0.001343, abs=1e-6)
    assert _value(table, "CatCov", 20) == pytest.approx(0.001653, abs=1e-6)
    assert _value(table, "HR", 20) == pytest.approx(0.0177, abs=0.0005)


@pytest.mark.slow
def test_llmseqsim_minilm_on_beauty_is_far_above_popularity(beauty, beauty_split):
    model = LLMSeqSim(decay="harmonic").fit(beauty_split.train, item_metadata=beauty.items)
    table = evaluate(model, beauty_split, show_progress=False)
    assert _value(table, "NDCG", 20) > 0.03  # MostPopular: 0.007
    assert _value(table, "CatCov", 20) > 0.5
