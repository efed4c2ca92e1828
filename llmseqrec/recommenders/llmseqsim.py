"""LLMSeqSim: recommend the items whose text embeddings are closest to the session's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import torch

from ..base import Recommender
from ..text import item_embedding_ids, item_embedding_matrix, l2_normalize
from ..utils import import_optional
from ._decay import canonical_decay
from ._session_embedding import session_embeddings

if TYPE_CHECKING:
    from ..text._vectors import ItemEmbeddingsLike

__all__ = ["LLMSeqSim"]

_AGGREGATIONS = ("mean", "last")
_SIMILARITIES = ("cosine", "dot", "euclidean")


class LLMSeqSim(Recommender):
    """Semantic-similarity recommender over item text embeddings (paper §1.2).

    The session embedding is the (decay-weighted) mean of the prompt items' embeddings, or
    the last item's; items are ranked by similarity to it. Training interactions are not
    used at all: any item with text can be recommended, including items never seen in
    training (cold start). The catalogue is the union of the training items and every
    item of ``item_metadata`` (or of a mapping, DataFrame or file of vectors).

    The defaults are the configuration a 30-trial search chose on Beauty's validation folds
    (harmonic decay, PCA to 256 dimensions, Euclidean similarity); on MovieLens 100K it also
    beats 0.1's defaults (a plain mean and cosine over the full vectors: ``decay=None,
    similarity="cosine", reduction=None``): validation NDCG@20 0.054 against 0.015
    (docs/benchmarks/movielens.md).

    Parameters
    ----------
    item_embeddings : "default", ItemTextEncoder, mapping, DataFrame, array or path, default="default"
        Where item vectors come from (any form of
        :func:`llmseqrec.text.item_embedding_matrix`): ``"default"`` = the offline
        all-MiniLM-L6-v2 encoder over titles; an :class:`~llmseqrec.text.ItemTextEncoder`
        (fitted inside ``fit`` on ``item_metadata``); or precomputed vectors (items
        without a vector get zeros). ``None`` (no text vectors) is an error: the model
        has nothing else to go on.
    aggregation : {"mean", "last"}, default="mean"
    decay : str or None, default="harmonic"
        Position weights for ``"mean"``: ``None`` (plain mean), ``"constant_linear"``,
        ``"scaling_linear"``, ``"scaling_quadratic"``, ``"scaling_cubic"``, ``"log"``,
        ``"harmonic"``, ``"harmonic_squared"``. Repeated prompt items are kept.
    similarity : {"cosine", "dot", "euclidean"}, default="euclidean"
        Euclidean similarity is ``1 / (1 + distance)``. Zero vectors have cosine 0.
    reduction : {"pca", "lda", "random", "autoencoder"} or None, default="pca"
        Dimensionality reduction fitted on all catalogue vectors (``None``: the vectors as
        they are).
    n_components : int, default=256
    class_column : str, optional
        Item-metadata column with item classes (needed by ``reduction="lda"``).
    normalize : bool or None, default=None
        L2-normalise item vectors; ``None`` does what the paper did: normalise after a
        reduction, not otherwise.
    max_prompt_items : int or None, default=None
        Use only the last ``max_prompt_items`` prompt items.
    ann : {None, "flat", "hnsw"}, default=None
        Approximate-nearest-neighbour search with faiss (``pip install "llmseqrec[ann]"``)
        for catalogues of millions of items: ``"hnsw"`` (graph index, sub-linear search) or
        ``"flat"`` (exact faiss search). Only the ``ann_candidates`` best items per session
        are scored; the rest get ``-inf``. ``None`` scores the whole catalogue with numpy.
    ann_candidates : int, default=200
        Items retrieved per session by the index (plus the prompt length, so excluded
        prompt items never shorten the list).
    hnsw_m : int, default=32
        HNSW graph degree.
    ef_search : int, default=256
        HNSW search breadth (higher = more exact, slower).
    precision : {"float64", "float32"}, default="float64"
        Arithmetic of exact scoring (``ann=None``). ``"float32"`` halves the cost of the
        (prompts x catalogue) product and its transform; scores then differ from float64 in
        their last bits, so an item pair whose scores differ by less than that can swap
        places (on Beauty, 1 list of 4,469 changed and every metric was equal to 6
        decimals; docs/benchmarks/speed.md). The published figures use float64.
    exclude_seen : bool, default=True
    handle_unknown : {"ignore", "error"}, default="ignore"
    random_state : int, optional
        Seed of the random-projection and autoencoder reductions.

    Attributes
    ----------
    item_vectors_ : ndarray of shape (n_items, dim)
        The (reduced, normalised) catalogue vectors in internal order.
    """

    _catalogue = "train+metadata"

    def __init__(
        self,
        item_embeddings: ItemEmbeddingsLike = "default",
        aggregation: Literal["mean", "last"] = "mean",
        decay: str | None = "harmonic",
        similarity: Literal["cosine", "dot", "euclidean"] = "euclidean",
        reduction: Literal["pca", "lda", "random", "autoencoder"] | None = "pca",
        n_components: int = 256,
        class_column: str | None = None,
        normalize: bool | None = None,
        max_prompt_items: int | None = None,
        ann: Literal["flat", "hnsw"] | None = None,
        ann_candidates: int = 200,
        hnsw_m: int = 32,
        ef_search: int = 256,
        precision: Literal["float64", "float32"] = "float64",
        exclude_seen: bool = True,
        handle_unknown: Literal["ignore", "error"] = "ignore",
        random_state: int | np.random.Generator | np.random.RandomState | None = None,
        **deprecated: object,
    ) -> None:
        self.item_embeddings = item_embeddings
        self.aggregation = aggregation
        self.decay = decay
        self.similarity = similarity
        self.reduction = reduction
        self.n_components = n_components
        self.class_column = class_column
        self.normalize = normalize
        self.max_prompt_items = max_prompt_items
        self.ann = ann
        self.ann_candidates = ann_candidates
        self.hnsw_m = hnsw_m
        self.ef_search = ef_search
        self.precision = precision
        self.exclude_seen = exclude_seen
        self.handle_unknown = handle_unknown
        self.random_state = random_state
        self._take_renamed(deprecated)

    _renamed_parameters = {"embeddings": "item_embeddings", "max_prompt_length": "max_prompt_items"}
    # 0.1's ``embeddings=None`` meant the default encoder (``item_embeddings="default"`` now).
    _renamed_with_new_meaning = ("embeddings",)
    # Parameters whose default changed in issue 23 (see the benchmark runner).
    _changed_defaults = ("decay", "similarity", "reduction", "n_components")

    @classmethod
    def _translate_renamed(cls, params, stacklevel=3, warn=True):
        if "embeddings" in params and params["embeddings"] is None:
            params = {**params, "embeddings": "default"}  # the old None meant the default
        return super()._translate_renamed(params, stacklevel + 1, warn)

    @classmethod
    def _testing_instances(cls):
        from ..text import ItemTextEncoder

        tfidf = ItemTextEncoder(
            backend="tfidf", dim=16, cache=False, random_state=0, show_progress=False
        )
        return [
            cls(item_embeddings=tfidf, decay="harmonic"),
            cls(
                item_embeddings=tfidf,
                aggregation="last",
                similarity="euclidean",
                reduction="pca",
                n_components=8,
            ),
            cls(item_embeddings=tfidf, ann="flat", ann_candidates=10),  # retrieval, not scoring
        ]

    def _catalogue_extra(self, item_metadata):
        keys = item_embedding_ids(self.item_embeddings)
        if keys is not None:
            return keys + (list(item_metadata.index) if item_metadata is not None else [])
        return super()._catalogue_extra(item_metadata)

    def _check_params(self):
        if self.aggregation not in _AGGREGATIONS:
            raise ValueError(
                f"aggregation must be one of {_AGGREGATIONS}, got {self.aggregation!r}"
            )
        if self.similarity not in _SIMILARITIES:
            raise ValueError(f"similarity must be one of {_SIMILARITIES}, got {self.similarity!r}")
        canonical_decay(self.decay)
        if self.precision not in ("float64", "float32"):
            raise ValueError(f"precision must be 'float64' or 'float32', got {self.precision!r}")
        if self.ann not in (None, "flat", "hnsw"):
            raise ValueError(f"ann must be None, 'flat' or 'hnsw', got {self.ann!r}")
        if self.max_prompt_items is not None and self.max_prompt_items < 1:
            raise ValueError(f"max_prompt_items must be >= 1 or None, got {self.max_prompt_items}")
        if self.item_embeddings is None:
            raise ValueError(
                "LLMSeqSim ranks items by their text vectors; item_embeddings=None gives it "
                "none (use 'default' for the offline default encoder)"
            )

    def _fit(self, sequences, item_metadata) -> None:
        self._check_params()
        if item_metadata is None and item_embedding_ids(self.item_embeddings) is None:
            raise ValueError(
                "LLMSeqSim.fit needs item_metadata (item texts) unless item_embeddings is a "
                "mapping, DataFrame or file of vectors"
            )
        normalize = self.reduction is not None if self.normalize is None else self.normalize
        X, _ = item_embedding_matrix(
            self.item_embeddings,
            self.item_index_.ids,
            item_metadata,
            item_table=self._fit_item_table,
            reduction=self.reduction,
            n_components=self.n_components,
            class_column=self.class_column,
            normalize=normalize,
            random_state=self.random_state,
        )  # (n_items, d)
        self.item_vectors_ = np.ascontiguousarray(X, dtype=np.float32)
        self._prepare()

    def _prepare(self) -> None:
        X = self.item_vectors_.astype(getattr(self, "precision", "float64"))
        self._vectors = X
        self._sq_norms = (X**2).sum(axis=1)  # (n_items,)
        self._unit = l2_normalize(X)
        self._index = self._build_index() if self.ann else None

    def _build_index(self):
        faiss = import_optional("faiss", extra="ann", purpose="LLMSeqSim(ann=...)")
        base = self._unit if self.similarity == "cosine" else self._vectors
        base = np.ascontiguousarray(base, dtype=np.float32)  # (n_items, dim)
        metric = faiss.METRIC_L2 if self.similarity == "euclidean" else faiss.METRIC_INNER_PRODUCT
        dim = base.shape[1]
        if self.ann == "flat":
            index = faiss.IndexFlatL2(dim) if metric == faiss.METRIC_L2 else faiss.IndexFlatIP(dim)
        else:
            index = faiss.IndexHNSWFlat(dim, self.hnsw_m, metric)
            index.hnsw.efSearch = self.ef_search
        index.add(base)
        return index

    def _ann_scores(self, S: np.ndarray, sequences) -> np.ndarray:
        """Scores of the retrieved candidates, -inf elsewhere (b, n_items)."""
        query = np.ascontiguousarray(
            l2_normalize(S) if self.similarity == "cosine" else S, dtype=np.float32
        )  # (b, dim)
        out = np.full((len(S), len(self._vectors)), -np.inf)
        # Each session asks for its own depth (candidates plus the items it may exclude), so
        # that which of several equally similar items faiss keeps at the cut never depends
        # on the other sessions of the batch.
        depths = np.minimum(
            self.ann_candidates + np.array([len(s) for s in sequences]), len(self._vectors)
        )  # (b,)
        for depth in np.unique(depths):
            rows = np.flatnonzero(depths == depth)
            found, ids = self._index.search(query[rows], int(depth))  # (r, depth)
            if self.similarity == "euclidean":
                found = 1.0 / (1.0 + np.sqrt(np.maximum(found, 0.0)))  # faiss: squared L2
            valid = ids >= 0
            out[np.repeat(rows, depth)[valid.ravel()], ids[valid]] = found[valid]
        return out

    def session_embeddings(self, sequences: list[np.ndarray]) -> np.ndarray:
        """Session vectors for encoded prompts, shape (n_sessions, dim)."""
        if self.max_prompt_items is not None:
            sequences = [seq[-self.max_prompt_items :] for seq in sequences]
        return session_embeddings(sequences, self._vectors, self.aggregation, self.decay)

    def _score(self, sequences) -> np.ndarray:
        S = self.session_embeddings(sequences)  # (b, dim)
        if self._index is not None:
            return self._ann_scores(S, sequences)
        return self._exact_scores(S)(0, len(self._vectors))

    def _exact_scores(self, S: np.ndarray):
        """``(c0, c1) -> (b, c1 - c0)`` similarities of sessions ``S`` to items ``c0..c1``."""
        S = S.astype(self._vectors.dtype, copy=False)  # the sparse weights give float64
        if self.similarity == "cosine":
            S, items = l2_normalize(S), self._unit
        else:
            items = self._vectors
        if self.similarity != "euclidean":
            return lambda c0, c1: S @ items[c0:c1].T
        s_norms = (S**2).sum(axis=1, keepdims=True)

        def similarity(c0: int, c1: int) -> np.ndarray:
            sq = s_norms + self._sq_norms[None, c0:c1] - 2.0 * (S @ items[c0:c1].T)
            return 1.0 / (1.0 + np.sqrt(np.maximum(sq, 0.0)))

        return similarity

    @property
    def _scores_in_chunks(self) -> bool:
        return self._index is None  # with ann, whole rows (of retrieved candidates)

    def _chunk_scorer(self, sequences):
        """Exact scoring, a catalogue chunk at a time (None with ``ann``: the index scores
        only the retrieved candidates, see :meth:`_ann_scores`)."""
        if self._index is not None:
            return None
        scores = self._exact_scores(self.session_embeddings(sequences))
        # Rounded to float32 as _batch_scores does, so predict ranks as predict_scores.
        return lambda c0, c1: torch.from_numpy(scores(c0, c1).astype(np.float32))

    def _get_state(self):
        return {"item_vectors_": self.item_vectors_}, {}

    def _set_state(self, arrays, extra):
        self.item_vectors_ = arrays["item_vectors_"]
        self._prepare()
