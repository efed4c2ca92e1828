"""Session-based k-nearest-neighbours: SKNN, V-SKNN, S-SKNN, SF-SKNN and SKNN with embeddings.

Neighbours are training sessions that share items with the prompt; the score of an item is
the summed similarity of the neighbours that contain it (paper §1.6, after Ludewig and
Jannach's session-rec). Everything is sparse-matrix algebra over a session x item matrix.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Literal

import numpy as np
import scipy.sparse as sp

from ..base import Recommender
from ..text import item_embedding_matrix
from ._decay import canonical_decay, decay_weights
from ._session_embedding import session_embeddings

if TYPE_CHECKING:
    from ..text._vectors import ItemEmbeddingsLike

__all__ = ["SKNN", "VSKNN", "SSKNN", "SFSKNN", "SKNNEmb"]

_SAMPLING = ("recent", "random")
_SIMILARITY = ("cosine", "dot")
_BACKFILL = ("popularity", None)


class SKNN(Recommender):
    """Session kNN and its variants (one class; the variant classes only change defaults).

    Parameters
    ----------
    k : int, default=100
        Neighbours kept per prompt.
    sample_size : int, default=500
        Candidate neighbours (sessions sharing an item with the prompt) considered.
    sampling : {"recent", "random"}, default="recent"
        Keep the most recent candidates or a random subset (seeded per prompt, so batching
        never changes results). Recency is each session's largest timestamp when ``fit``
        gets a DataFrame with a time column, else the order of the training input (which
        the splits give in chronological order).
    similarity : {"cosine", "dot"}, default="cosine"
        Between the (weighted) prompt vector and binary session vectors; with
        embeddings, between session embeddings.
    idf_weighting : bool or float, default=False
        ``True`` multiplies item scores by ``1 + ln(n_sessions / df(item))``; a float
        ``w`` by ``1 + w * ln(n_sessions / df(item))`` (session-rec's form; ``w = 1`` is
        the same as ``True``).
    decay : str or None, default=None
        Prompt position weights (V-SKNN): ``"linear"``, ``"log"``, ``"harmonic"``,
        ``"quadratic"``, or any LLMSeqSim decay name.
    sequential_weighting : bool, default=False
        S-SKNN: weight a neighbour by ``(position of its most recent common item + 1) / L``
        (the same as ``neighbour_decay="scaling_linear"``).
    neighbour_decay : str or None, default=None
        Weight each neighbour's contribution by a decay (any name of ``decay``) of the
        distance ``d`` from the end of the prompt to the most recent prompt item the
        neighbour holds: ``"harmonic"`` gives ``1 / (d + 1)``, session-rec's
        ``div_score`` weighting of V-SKNN. Cannot be combined with ``sequential_weighting``.
    sequential_filter : bool, default=False
        SF-SKNN: keep only items that followed the last prompt item in some training session.
    max_prompt_items : int or None, default=None
        Use only the last ``max_prompt_items`` prompt items.
    item_embeddings : None, "default", ItemTextEncoder, mapping, DataFrame, array or path, default=None
        Item text vectors (any form of :func:`llmseqrec.text.item_embedding_matrix`;
        ``None`` = no text vectors). When given (SKNN-Emb), neighbour similarity is
        computed between session embeddings (mean of item text vectors) instead of item
        overlap.
    prompt_aggregation, training_aggregation : {"mean", "last"}, default="mean"
    training_decay : str or None, default=None
        Decay used for the training-session embeddings.
    reduction : {"pca", "lda", "random", "autoencoder"} or None, default=None
        Reduction of the item vectors (then L2-normalised), for SKNN-Emb.
    n_components : int, default=512
    class_column : str, optional
        Item-metadata column of classes for ``reduction="lda"``.
    backfill : {"popularity", None}, default="popularity"
        Items no neighbour contains: ranked after all neighbour items by training
        popularity, or never recommended (``None``, the reference code: lists can be short).
    exclude_seen : bool, default=True
    handle_unknown : {"ignore", "error"}, default="ignore"
    random_state : int, optional
    """

    def __init__(
        self,
        k: int = 100,
        sample_size: int = 500,
        sampling: Literal["recent", "random"] = "recent",
        similarity: Literal["cosine", "dot"] = "cosine",
        idf_weighting: bool | float = False,
        decay: str | None = None,
        sequential_weighting: bool = False,
        neighbour_decay: str | None = None,
        sequential_filter: bool = False,
        max_prompt_items: int | None = None,
        item_embeddings: ItemEmbeddingsLike | None = None,
        prompt_aggregation: Literal["mean", "last"] = "mean",
        training_aggregation: Literal["mean", "last"] = "mean",
        training_decay: str | None = None,
        reduction: Literal["pca", "lda", "random", "autoencoder"] | None = None,
        n_components: int = 512,
        class_column: str | None = None,
        backfill: Literal["popularity"] | None = "popularity",
        exclude_seen: bool = True,
        handle_unknown: Literal["ignore", "error"] = "ignore",
        random_state: int | None = None,
        **deprecated: object,
    ) -> None:
        self.k = k
        self.sample_size = sample_size
        self.sampling = sampling
        self.similarity = similarity
        self.idf_weighting = idf_weighting
        self.decay = decay
        self.sequential_weighting = sequential_weighting
        self.neighbour_decay = neighbour_decay
        self.sequential_filter = sequential_filter
        self.max_prompt_items = max_prompt_items
        self.item_embeddings = item_embeddings
        self.prompt_aggregation = prompt_aggregation
        self.training_aggregation = training_aggregation
        self.training_decay = training_decay
        self.reduction = reduction
        self.n_components = n_components
        self.class_column = class_column
        self.backfill = backfill
        self.exclude_seen = exclude_seen
        self.handle_unknown = handle_unknown
        self.random_state = random_state
        self._take_renamed(deprecated)

    _renamed_parameters = {"embeddings": "item_embeddings", "last_n_items": "max_prompt_items"}

    @classmethod
    def _testing_instances(cls):
        return [
            cls(k=20, sample_size=100),
            cls(k=20, sample_size=50, sampling="random", similarity="dot", idf_weighting=True),
        ]

    # ------------------------------------------------------------------ fit
    def _check_params(self) -> None:
        for name, value, allowed in (
            ("sampling", self.sampling, _SAMPLING),
            ("similarity", self.similarity, _SIMILARITY),
            ("backfill", self.backfill, _BACKFILL),
            ("prompt_aggregation", self.prompt_aggregation, ("mean", "last")),
            ("training_aggregation", self.training_aggregation, ("mean", "last")),
        ):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        for name in ("k", "sample_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        canonical_decay(self.decay)
        canonical_decay(self.training_decay)
        canonical_decay(self.neighbour_decay)
        if self.sequential_weighting and self.neighbour_decay is not None:
            raise ValueError(
                "sequential_weighting=True is neighbour_decay='scaling_linear'; set only one"
            )
        w = self.idf_weighting
        if isinstance(w, (bool, np.bool_)):
            pass
        elif not isinstance(w, (int, float, np.integer, np.floating)) or w < 0:
            raise ValueError(f"idf_weighting must be a bool or a float >= 0, got {w!r}")

    def _fit(self, sequences, item_metadata) -> None:
        self._check_params()
        sequences = self._in_time_order(sequences)  # "recent" = later in time
        n_items = len(self.item_index_)
        rows = np.repeat(np.arange(len(sequences)), [len(s) for s in sequences])
        cols = np.concatenate(sequences) - 1 if sequences else np.zeros(0, int)
        M = sp.csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(len(sequences), n_items))
        M.data[:] = 1.0  # binary: repeated items count once
        self.session_items_ = M  # (n_sessions, n_items)
        df = np.asarray((M > 0).sum(axis=0)).ravel()
        self.idf_ = np.log(len(sequences) / np.maximum(df, 1))  # (n_items,) ln(N / df)
        self.session_norms_ = np.sqrt(np.asarray(M.sum(axis=1)).ravel())  # (n_sessions,)
        if self.sequential_filter:
            a = np.concatenate([s[:-1] for s in sequences]) - 1 if sequences else np.zeros(0, int)
            b = np.concatenate([s[1:] for s in sequences]) - 1 if sequences else np.zeros(0, int)
            F = sp.csr_matrix((np.ones(len(a)), (a, b)), shape=(n_items, n_items))
            F.data[:] = 1.0
            self.followers_ = F  # (n_items, n_items): F[a, b] = b followed a
        if self.item_embeddings is not None:
            X, _ = item_embedding_matrix(
                self.item_embeddings,
                self.item_index_.ids,
                item_metadata,
                item_table=self._fit_item_table,
                reduction=self.reduction,
                n_components=self.n_components,
                class_column=self.class_column,
                normalize=self.reduction is not None,
                random_state=self.random_state,
            )
            self.item_vectors_ = X.astype(np.float32)
            self.session_vectors_ = session_embeddings(
                sequences, X.astype(np.float64), self.training_aggregation, self.training_decay
            ).astype(np.float32)

    def _catalogue_extra(self, item_metadata):
        return []  # neighbours only ever hold training items

    # ------------------------------------------------------------------ score
    def _prompt(self, seq: np.ndarray) -> np.ndarray:
        if self.max_prompt_items is not None:
            seq = seq[-self.max_prompt_items :]
        # dedupe, keeping first occurrences in order (dict keys: faster than pd.unique here)
        return np.fromiter(dict.fromkeys(seq.tolist()), dtype=seq.dtype, count=-1)

    def _sample(self, candidates: np.ndarray, prompt: np.ndarray) -> np.ndarray:
        if len(candidates) <= self.sample_size:
            return candidates
        if self.sampling == "recent":
            return candidates[-self.sample_size :]  # indices are in chronological order
        seed = [
            0 if self.random_state is None else int(self.random_state),
            zlib.crc32(prompt.astype(np.int64).tobytes()),
        ]
        rng = np.random.default_rng(seed)
        return np.sort(rng.choice(candidates, size=self.sample_size, replace=False))

    def _score(self, sequences) -> np.ndarray:
        M = self.session_items_
        n_items = M.shape[1]
        prompts = [self._prompt(s) for s in sequences]
        b = len(prompts)
        lengths = np.array([len(p) for p in prompts])
        weights = {n: decay_weights(self.decay, n) for n in set(lengths.tolist())}
        # Prompt weights (b, n_items): binary or decayed (V-SKNN).
        rows = np.repeat(np.arange(b), lengths)
        cols = np.concatenate(prompts) - 1
        vals = np.concatenate([weights[n] for n in lengths])
        Q = sp.csr_matrix((vals, (rows, cols)), shape=(b, n_items))
        overlap = (Q @ M.T).tocsr()  # (b, n_sessions): weighted common items
        overlap.sort_indices()  # each row's candidate sessions in chronological order
        row, cand, dots = self._sampled(overlap, prompts)  # flat (row, session, overlap)
        sims = self._similarities(row, cand, dots, prompts, weights)
        # Top-k neighbours per prompt; ties -> more recent (larger session index) first:
        # reversed (candidates descending within a row), stable by score, stable by row.
        order = np.arange(len(cand))[::-1]
        order = order[np.argsort(-sims[order], kind="stable")]
        order = order[np.argsort(row[order], kind="stable")]
        starts = np.searchsorted(row[order], np.arange(b))
        rank = np.arange(len(order)) - starts[row[order]]
        top = np.sort(order[rank < self.k])
        row, cand, sims = row[top], cand[top], sims[top]
        neighbour_decay = "scaling_linear" if self.sequential_weighting else self.neighbour_decay
        if neighbour_decay is not None:
            sims = sims * self._neighbour_weights_flat(prompts, row, cand, neighbour_decay)
        N = sp.csr_matrix((sims, (row, cand)), shape=(b, M.shape[0]))
        scores = np.asarray((N @ M).todense())  # (b, n_items)
        if self.idf_weighting is not False and float(self.idf_weighting) > 0:
            scores *= 1.0 + float(self.idf_weighting) * self.idf_[None, :]
        if self.sequential_filter:
            last = np.array([p[-1] - 1 for p in prompts])
            scores = np.where(self.followers_[last].toarray() > 0, scores, 0.0)
        missed = scores <= 0
        if self.backfill == "popularity":
            # Non-neighbour items come after every neighbour item, by popularity (putmask
            # repeats the (n_items,) fill along each row, in place).
            np.putmask(
                scores, missed, -1.0 + self.item_popularity_ / (self.item_popularity_.max() + 1.0)
            )
        else:
            scores[missed] = -np.inf
        return scores

    def _sampled(self, overlap: sp.csr_matrix, prompts: list):
        """Flat (prompt row, candidate session, overlap) after ``sample_size`` sampling."""
        counts = np.diff(overlap.indptr)
        row = np.repeat(np.arange(len(prompts)), counts)
        cand = overlap.indices.astype(np.int64)
        dots = overlap.data
        over = np.flatnonzero(counts > self.sample_size)
        if not len(over):
            return row, cand, dots
        keep = np.ones(len(cand), dtype=bool)
        if self.sampling == "recent":  # the last sample_size candidates of each row
            position = np.arange(len(cand)) - overlap.indptr[row]
            keep = position >= (counts - self.sample_size)[row]
        else:
            for r in over:
                lo, hi = overlap.indptr[r], overlap.indptr[r + 1]
                chosen = self._sample(cand[lo:hi], prompts[r])
                keep[lo:hi] = np.isin(cand[lo:hi], chosen, assume_unique=True)
        return row[keep], cand[keep], dots[keep]

    def _similarities(self, row, cand, dots, prompts, weights) -> np.ndarray:
        """Prompt-neighbour similarity of each flat (row, candidate) pair."""
        if self.item_embeddings is not None:
            prompt_vecs = session_embeddings(
                list(prompts),
                self.item_vectors_.astype(np.float64),
                self.prompt_aggregation,
                self.decay,
            )
            sims = np.empty(len(cand))
            bounds = np.searchsorted(row, np.arange(len(prompts) + 1))
            for r in range(len(prompts)):  # one matrix-vector product per prompt
                lo, hi = bounds[r], bounds[r + 1]
                sv = self.session_vectors_[cand[lo:hi]].astype(np.float64)  # (n_keep, dim)
                pv = prompt_vecs[r]
                s = sv @ pv
                if self.similarity == "cosine":
                    denom = np.linalg.norm(sv, axis=1) * np.linalg.norm(pv)
                    s = np.divide(s, denom, out=np.zeros_like(s), where=denom > 0)
                sims[lo:hi] = s
            return sims
        if self.similarity == "cosine":
            qnorm = np.array([np.sqrt((weights[len(p)] ** 2).sum()) for p in prompts])
            return dots / (qnorm[row] * self.session_norms_[cand])
        return dots

    def _neighbour_weights_flat(self, prompts, row, cand, decay) -> np.ndarray:
        """:meth:`_neighbour_weights` for flat (row, neighbour) pairs, vectorised."""
        M = self.session_items_
        n_items = M.shape[1]
        lengths = np.array([len(p) for p in prompts])
        table = np.zeros((lengths.max() + 1, lengths.max()))  # [prompt length, position - 1]
        for n in set(lengths.tolist()):
            table[n, :n] = decay_weights(decay, n)
        most_recent = np.empty(len(cand), dtype=np.int64)
        bounds = np.searchsorted(row, np.arange(len(prompts) + 1))
        step = max(1, 5_000_000 // max(n_items, 1))  # prompts per dense position block
        for r0 in range(0, len(prompts), step):
            block = prompts[r0 : r0 + step]
            position = np.zeros((len(block), n_items + 1), dtype=np.int64)
            for i, prompt in enumerate(block):
                position[i, prompt] = np.arange(1, len(prompt) + 1)  # 1-based, 0 = absent
            lo, hi = bounds[r0], bounds[min(r0 + step, len(prompts))]
            if lo == hi:
                continue
            r, c = row[lo:hi] - r0, cand[lo:hi]
            sizes = M.indptr[c + 1] - M.indptr[c]  # items of each neighbour session
            starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
            flat = np.arange(sizes.sum()) - np.repeat(starts - M.indptr[c], sizes)
            pos = position[np.repeat(r, sizes), M.indices[flat] + 1]
            most_recent[lo:hi] = np.maximum.reduceat(pos, starts)  # >= 1: a common item
        return table[lengths[row], most_recent - 1]

    # ------------------------------------------------------------------ persistence
    def _get_state(self):
        arrays = _csr_arrays("session_items", self.session_items_)
        if self.sequential_filter:
            arrays.update(_csr_arrays("followers", self.followers_))
        if self.item_embeddings is not None:
            arrays["item_vectors_"] = self.item_vectors_
            arrays["session_vectors_"] = self.session_vectors_
        return arrays, {}

    def _set_state(self, arrays, extra):
        M = _csr_from_arrays("session_items", arrays)
        self.session_items_ = M
        self.idf_ = np.log(M.shape[0] / np.maximum(np.asarray(M.sum(axis=0)).ravel(), 1))
        self.session_norms_ = np.sqrt(np.asarray(M.sum(axis=1)).ravel())
        if self.sequential_filter:
            self.followers_ = _csr_from_arrays("followers", arrays)
        if "item_vectors_" in arrays:
            self.item_vectors_ = arrays["item_vectors_"]
            self.session_vectors_ = arrays["session_vectors_"]


def _csr_arrays(name: str, M: sp.csr_matrix) -> dict:
    return {
        f"{name}.indptr": M.indptr.astype(np.int64),
        f"{name}.indices": M.indices.astype(np.int64),
        f"{name}.shape": np.asarray(M.shape, dtype=np.int64),
    }


def _csr_from_arrays(name: str, arrays: dict) -> sp.csr_matrix:
    indices = arrays[f"{name}.indices"]
    shape = tuple(int(x) for x in arrays[f"{name}.shape"])
    M = sp.csr_matrix((np.ones(len(indices)), indices, arrays[f"{name}.indptr"]), shape=shape)
    # A damaged file can hold indices outside the matrix; scipy would read out of bounds
    # (a crash, not an error), so the full structure is checked (ValueError) before use.
    M.check_format(full_check=True)
    return M


# The variants are SKNN with other defaults (the paper's names); they add no behaviour.


class VSKNN(SKNN):
    """V-SKNN: SKNN with a decayed prompt vector (``decay="harmonic"``, ``similarity="dot"``).

    The parameters are :class:`SKNN`'s; only these defaults differ.
    """

    def __init__(
        self, k: int = 100, sample_size: int = 500, sampling: Literal["recent", "random"] = "recent", similarity: Literal["cosine", "dot"] = "dot", idf_weighting: bool | float = False, decay: str | None = "harmonic",
        sequential_weighting: bool = False, neighbour_decay: str | None = None, sequential_filter: bool = False, max_prompt_items: int | None = None,
        item_embeddings: ItemEmbeddingsLike | None = None, prompt_aggregation: Literal["mean", "last"] = "mean", training_aggregation: Literal["mean", "last"] = "mean", training_decay: str | None = None,
        reduction: Literal["pca", "lda", "random", "autoencoder"] | None = None, n_components: int = 512, class_column: str | None = None, backfill: Literal["popularity"] | None = "popularity", exclude_seen: bool = True,
        handle_unknown: Literal["ignore", "error"] = "ignore", random_state: int | None = None, **deprecated: object,
    ) -> None:  # fmt: skip
        self._store(locals())


class SSKNN(SKNN):
    """S-SKNN: neighbours weighted by how recent their common item is in the prompt
    (``sequential_weighting=True``).

    The parameters are :class:`SKNN`'s; only this default differs.
    """

    def __init__(
        self, k: int = 100, sample_size: int = 500, sampling: Literal["recent", "random"] = "recent", similarity: Literal["cosine", "dot"] = "cosine", idf_weighting: bool | float = False, decay: str | None = None,
        sequential_weighting: bool = True, neighbour_decay: str | None = None, sequential_filter: bool = False, max_prompt_items: int | None = None,
        item_embeddings: ItemEmbeddingsLike | None = None, prompt_aggregation: Literal["mean", "last"] = "mean", training_aggregation: Literal["mean", "last"] = "mean", training_decay: str | None = None,
        reduction: Literal["pca", "lda", "random", "autoencoder"] | None = None, n_components: int = 512, class_column: str | None = None, backfill: Literal["popularity"] | None = "popularity", exclude_seen: bool = True,
        handle_unknown: Literal["ignore", "error"] = "ignore", random_state: int | None = None, **deprecated: object,
    ) -> None:  # fmt: skip
        self._store(locals())


class SFSKNN(SKNN):
    """SF-SKNN: only items that followed the last prompt item somewhere in training
    (``sequential_filter=True``).

    The parameters are :class:`SKNN`'s; only this default differs.
    """

    def __init__(
        self, k: int = 100, sample_size: int = 500, sampling: Literal["recent", "random"] = "recent", similarity: Literal["cosine", "dot"] = "cosine", idf_weighting: bool | float = False, decay: str | None = None,
        sequential_weighting: bool = False, neighbour_decay: str | None = None, sequential_filter: bool = True, max_prompt_items: int | None = None,
        item_embeddings: ItemEmbeddingsLike | None = None, prompt_aggregation: Literal["mean", "last"] = "mean", training_aggregation: Literal["mean", "last"] = "mean", training_decay: str | None = None,
        reduction: Literal["pca", "lda", "random", "autoencoder"] | None = None, n_components: int = 512, class_column: str | None = None, backfill: Literal["popularity"] | None = "popularity", exclude_seen: bool = True,
        handle_unknown: Literal["ignore", "error"] = "ignore", random_state: int | None = None, **deprecated: object,
    ) -> None:  # fmt: skip
        self._store(locals())


class SKNNEmb(SKNN):
    """SKNN with item embeddings: neighbour similarity between text-embedding session vectors.

    Defaults ``item_embeddings="default"`` (the offline all-MiniLM-L6-v2 encoder over
    titles), ``decay="harmonic"`` and ``similarity="dot"``; the parameters are
    :class:`SKNN`'s.
    """

    def __init__(
        self, k: int = 100, sample_size: int = 500, sampling: Literal["recent", "random"] = "recent", similarity: Literal["cosine", "dot"] = "dot", idf_weighting: bool | float = False, decay: str | None = "harmonic",
        sequential_weighting: bool = False, neighbour_decay: str | None = None, sequential_filter: bool = False, max_prompt_items: int | None = None,
        item_embeddings: ItemEmbeddingsLike | None = "default", prompt_aggregation: Literal["mean", "last"] = "mean", training_aggregation: Literal["mean", "last"] = "mean", training_decay: str | None = None,
        reduction: Literal["pca", "lda", "random", "autoencoder"] | None = None, n_components: int = 512, class_column: str | None = None, backfill: Literal["popularity"] | None = "popularity", exclude_seen: bool = True,
        handle_unknown: Literal["ignore", "error"] = "ignore", random_state: int | None = None, **deprecated: object,
    ) -> None:  # fmt: skip
        self._store(locals())

    @classmethod
    def _testing_instances(cls):
        from ..text import ItemTextEncoder

        tfidf = ItemTextEncoder(
            backend="tfidf", dim=16, cache=False, random_state=0, show_progress=False
        )
        return [cls(k=20, sample_size=100, item_embeddings=tfidf)]
