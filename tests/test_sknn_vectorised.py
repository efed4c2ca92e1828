"""SKNN's vectorised scoring against the per-prompt loop it replaced (kept here as the
reference): the same scores, bit for bit, for every variant and option."""

import numpy as np
import pytest
import scipy.sparse as sp

from llmseqrec import SFSKNN, SKNN, SSKNN, VSKNN
from llmseqrec.datasets import make_synthetic_sessions
from llmseqrec.recommenders._decay import decay_weights
from llmseqrec.recommenders._session_embedding import session_embeddings


def reference_score(self, sequences) -> np.ndarray:
    M = self.session_items_
    n_items = M.shape[1]
    prompts = [self._prompt(s) for s in sequences]
    # Prompt weights (b, n_items): binary or decayed (V-SKNN).
    rows = np.repeat(np.arange(len(prompts)), [len(p) for p in prompts])
    cols = np.concatenate(prompts) - 1
    vals = np.concatenate([decay_weights(self.decay, len(p)) for p in prompts])
    Q = sp.csr_matrix((vals, (rows, cols)), shape=(len(prompts), n_items))
    overlap = (Q @ M.T).tocsr()  # (b, n_sessions): weighted common items
    if self.item_embeddings is not None:
        prompt_vecs = session_embeddings(
            list(prompts),
            self.item_vectors_.astype(np.float64),
            self.prompt_aggregation,
            self.decay,
        )
    nb_rows, nb_cols, nb_vals = [], [], []
    for r, prompt in enumerate(prompts):
        lo, hi = overlap.indptr[r], overlap.indptr[r + 1]
        order = np.argsort(overlap.indices[lo:hi], kind="stable")
        cands = overlap.indices[lo:hi][order]
        dots = overlap.data[lo:hi][order]
        keep = self._sample(cands, prompt)
        dots = dots[np.searchsorted(cands, keep)]
        if self.item_embeddings is not None:
            sv = self.session_vectors_[keep].astype(np.float64)  # (n_keep, dim)
            pv = prompt_vecs[r]
            sims = sv @ pv
            if self.similarity == "cosine":
                denom = np.linalg.norm(sv, axis=1) * np.linalg.norm(pv)
                sims = np.divide(sims, denom, out=np.zeros_like(sims), where=denom > 0)
        elif self.similarity == "cosine":
            qnorm = np.sqrt((decay_weights(self.decay, len(prompt)) ** 2).sum())
            sims = dots / (qnorm * self.session_norms_[keep])
        else:
            sims = dots
        if len(keep) > self.k:  # top-k neighbours; ties -> more recent first
            top = np.lexsort((-keep, -sims))[: self.k]
            keep, sims = keep[top], sims[top]
        neighbour_decay = "scaling_linear" if self.sequential_weighting else self.neighbour_decay
        if neighbour_decay is not None:
            sims = sims * reference_neighbour_weights(self, prompt, keep, neighbour_decay)
        nb_rows.append(np.full(len(keep), r))
        nb_cols.append(keep)
        nb_vals.append(sims)
    N = sp.csr_matrix(
        (np.concatenate(nb_vals), (np.concatenate(nb_rows), np.concatenate(nb_cols))),
        shape=(len(prompts), M.shape[0]),
    )
    scores = np.asarray((N @ M).todense())  # (b, n_items)
    if self.idf_weighting is not False and float(self.idf_weighting) > 0:
        scores *= 1.0 + float(self.idf_weighting) * self.idf_[None, :]
    if self.sequential_filter:
        last = np.array([p[-1] - 1 for p in prompts])
        scores = np.where(self.followers_[last].toarray() > 0, scores, 0.0)
    hit = scores > 0
    if self.backfill == "popularity":
        # Non-neighbour items come after every neighbour item, by popularity.
        fill = -1.0 + self.item_popularity_ / (self.item_popularity_.max() + 1.0)
        return np.where(hit, scores, fill[None, :])
    return np.where(hit, scores, -np.inf)


def reference_neighbour_weights(
    self, prompt: np.ndarray, neighbours: np.ndarray, decay
) -> np.ndarray:
    """Decay of the distance from the prompt's end to each neighbour's most recent common item.

    With ``"scaling_linear"`` this is S-SKNN's ``(position + 1) / |prompt|``.
    """
    position = np.zeros(self.session_items_.shape[1] + 1, dtype=np.int64)
    position[prompt] = np.arange(1, len(prompt) + 1)  # 1-based position, 0 = absent
    M = self.session_items_
    most_recent = np.empty(len(neighbours), dtype=np.int64)
    for j, n in enumerate(neighbours):
        items = M.indices[M.indptr[n] : M.indptr[n + 1]] + 1
        most_recent[j] = position[items].max()  # >= 1: every neighbour shares an item
    per_position = decay_weights(decay, len(prompt))  # (L,), oldest first
    return per_position[most_recent - 1]


CASES = [
    SKNN(k=5, sample_size=20),
    SKNN(k=50, sample_size=10, sampling="random", similarity="dot", idf_weighting=True),
    SKNN(k=3, sample_size=500, similarity="cosine", neighbour_decay="linear"),
    VSKNN(k=7, sample_size=15),
    VSKNN(k=7, sample_size=15, similarity="cosine", sampling="random"),
    SSKNN(k=4, sample_size=30),
    SFSKNN(k=6, sample_size=25),
]


@pytest.fixture(scope="module")
def data():
    ds = make_synthetic_sessions(n_sessions=300, random_state=1)
    sessions = ds.interactions.sort_values(["session_id", "timestamp"])
    seqs = [g["item_id"].to_numpy() for _, g in sessions.groupby("session_id", sort=False)]
    return {i: s for i, s in enumerate(seqs[:250])}, seqs[250:], ds.items


@pytest.mark.parametrize("model", CASES, ids=lambda m: repr(m))
def test_vectorised_scores_equal_the_per_prompt_loop(model, data):
    train, prompts, items = data
    model.set_params(random_state=0)
    model.fit(train, item_metadata=items)
    encoded = [model.item_index_.encode(p.tolist(), handle_unknown="pad") for p in prompts]
    encoded = [e[e > 0] for e in encoded if (e > 0).any()]
    np.testing.assert_array_equal(model._score(encoded), reference_score(model, encoded))


def test_with_item_embeddings(data):
    train, prompts, items = data
    rng = np.random.default_rng(0)
    vectors = {i: rng.standard_normal(8) for i in items.index}
    model = SKNN(k=5, sample_size=20, item_embeddings=vectors).fit(train, item_metadata=items)
    encoded = [model.item_index_.encode(p.tolist(), handle_unknown="pad") for p in prompts]
    encoded = [e[e > 0] for e in encoded if (e > 0).any()]
    np.testing.assert_array_equal(model._score(encoded), reference_score(model, encoded))
