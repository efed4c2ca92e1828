"""The exact top-k (torch.topk with the total order restored) and its chunked merge against
a plain numpy reference: higher score first, the smaller column among equal scores."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from llmseqrec.base import topk_codes
from llmseqrec.data import PAD
from llmseqrec.utils._topk import merge_topk, topk_exact


def reference(scores: np.ndarray, k: int) -> np.ndarray:
    """Columns of the k best scores per row by a full stable sort."""
    return np.stack([np.lexsort((np.arange(len(r)), -r))[:k] for r in scores])


# Few distinct values, so that ties at the k-th score are the common case; -inf included.
small_values = st.sampled_from([-np.inf, -1.0, 0.0, 0.5, 1.0, 2.0])
matrices = st.integers(1, 6).flatmap(
    lambda n: st.integers(1, 12).flatmap(
        lambda m: arrays(np.float32, (n, m), elements=small_values)
    )
)


@settings(max_examples=300, deadline=None)
@given(scores=matrices, data=st.data())
def test_topk_exact_equals_a_full_stable_sort(scores, data):
    k = data.draw(st.integers(1, scores.shape[1]))
    values, columns = topk_exact(torch.from_numpy(scores), k)
    expected = reference(scores, k)
    np.testing.assert_array_equal(columns.numpy(), expected)
    np.testing.assert_array_equal(values.numpy(), np.take_along_axis(scores, expected, 1))


@settings(max_examples=300, deadline=None)
@given(scores=matrices, data=st.data())
def test_merging_chunk_topks_equals_the_whole_topk(scores, data):
    m = scores.shape[1]
    k = data.draw(st.integers(1, m))
    width = data.draw(st.integers(1, m))
    best = None
    for c0 in range(0, m, width):
        chunk = torch.from_numpy(scores[:, c0 : c0 + width])
        values, columns = topk_exact(chunk, min(k, chunk.shape[1]))
        best = merge_topk(best, (values, columns + c0), k)
    np.testing.assert_array_equal(best[1].numpy(), reference(scores, k))


def test_topk_codes_pads_unscorable_items_and_keeps_its_tie_rule():
    scores = np.array([[0.1, 0.9, -np.inf, 0.9], [-np.inf, -np.inf, 1.0, -np.inf]])
    assert topk_codes(scores, 3).tolist() == [[2, 4, 1], [3, PAD, PAD]]


def test_topk_exact_on_float64_and_empty_batches():
    values, columns = topk_exact(torch.zeros((0, 5), dtype=torch.float64), 2)
    assert values.shape == columns.shape == (0, 2)
    values, columns = topk_exact(torch.tensor([[1.0, 3.0, 3.0]], dtype=torch.float64), 2)
    assert columns.tolist() == [[1, 2]]


@pytest.mark.parametrize("k", [1, 20])
def test_topk_codes_agrees_with_the_reference_on_random_real_scores(k):
    scores = np.random.default_rng(0).standard_normal((50, 300)).astype(np.float32)
    scores[:, 7] = scores[:, 3]  # an exact tie
    np.testing.assert_array_equal(topk_codes(scores, k), reference(scores, k) + 1)
