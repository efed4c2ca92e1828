"""The recommender contract every llmseqrec model follows.

A recommender is a scikit-learn estimator: hyper-parameters in ``__init__`` (stored
unchanged), ``fit(sessions)`` returns ``self``, learned state ends in ``_``. Public
methods speak external item ids; models see contiguous internal ids only.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from .data import PAD, ItemIndex, as_sequences, item_table
from .exceptions import NotFittedError
from .utils import RenamedParametersMixin

__all__ = ["Recommender", "topk_codes"]

_HANDLE_UNKNOWN = ("ignore", "error")


def topk_codes(scores: np.ndarray, k: int) -> np.ndarray:
    """Internal ids of the ``k`` best-scored items per row, best first.

    Ties are broken by the smaller internal id, so results are deterministic. Items with
    score ``-inf`` are never returned: their slots hold :data:`PAD` (0).

    Parameters
    ----------
    scores : ndarray of shape (n, n_items)
        Column ``j`` scores internal item ``j + 1``.
    k : int
        ``1 <= k <= n_items``.

    Returns
    -------
    ndarray of shape (n, k), int64

    Examples
    --------
    >>> topk_codes(np.array([[0.1, 0.9, -np.inf, 0.9]]), 3).tolist()
    [[2, 4, 1]]
    """
    n, n_items = scores.shape
    if k < n_items:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]  # (n, k) unordered
    else:
        part = np.broadcast_to(np.arange(n_items), (n, n_items)).copy()
    part_scores = np.take_along_axis(scores, part, axis=1)
    # Ties at the k-th score: argpartition picks an arbitrary member; recompute exactly.
    kth = part_scores.min(axis=1, keepdims=True)
    need_fix = (
        ((scores == kth).sum(axis=1) > (part_scores == kth).sum(axis=1))
        if k < n_items
        else np.zeros(n, bool)
    )
    for row in np.flatnonzero(need_fix):
        order = np.lexsort((np.arange(n_items), -scores[row]))[:k]
        part[row] = order
        part_scores[row] = scores[row, order]
    order = np.lexsort((part, -part_scores), axis=1) if n else np.zeros((0, k), int)
    codes = np.take_along_axis(part, order, axis=1) + 1
    sorted_scores = np.take_along_axis(part_scores, order, axis=1)
    codes[np.isneginf(sorted_scores) | np.isnan(sorted_scores)] = PAD
    return codes.astype(np.int64)


class Recommender(RenamedParametersMixin, BaseEstimator):
    """Base class of all recommenders.

    Subclasses implement :meth:`_fit` and :meth:`_score` on internal ids; this class
    handles the id mapping, input forms, unknown items, seen-item exclusion, top-k,
    batching and persistence.

    Common parameters (each subclass lists them in its own ``__init__``):

    exclude_seen : bool, default=True
        Never recommend an item that is already in the prompt.
    handle_unknown : {"ignore", "error"}, default="ignore"
        What to do with prompt items unknown to the fitted model: drop them, or raise
        :class:`~llmseqrec.exceptions.UnknownItemError`. A prompt left empty is scored by
        training popularity.

    Input forms accepted by ``fit`` and ``predict``: a DataFrame of interactions
    (``session_id``/``user_id``, ``item_id`` and optionally ``timestamp`` columns), a dict
    ``{session id: [item ids]}``, or a list of item-id lists.
    """

    #: Which items the catalogue holds: "train" (items in the training sessions) or
    #: "train+metadata" (also every item of the ``item_metadata`` table).
    _catalogue = "train"
    #: Whether ``fit`` needs ``item_metadata``.
    _requires_item_metadata = False
    #: Sessions scored per batch in ``predict`` (reduced for large catalogues, see _batch_size).
    _predict_batch_size = 1024
    #: Upper bound on the number of scores held in memory at once (batch x catalogue).
    _max_scores_in_memory = 20_000_000

    def _store(self, params: dict) -> None:
        """Store the constructor's arguments unchanged (scikit-learn's rule), from ``locals()``.

        Arguments passed under a deprecated name (the ``**deprecated`` catch-all) are stored
        under their new name with a ``FutureWarning``.
        """
        for name, value in params.items():
            if name not in ("self", "__class__", "deprecated"):
                setattr(self, name, value)
        self._take_renamed(params.get("deprecated", {}), stacklevel=5)

    # ------------------------------------------------------------------ fit
    def fit(self, sessions, item_metadata: pd.DataFrame | None = None):
        """Fit the model on training sessions.

        Parameters
        ----------
        sessions : DataFrame, dict or list of sequences
            Training sessions (see the class docstring for the accepted forms).
        item_metadata : pandas.DataFrame, optional
            Item text fields indexed by (or with a column) ``item_id``. Required by the
            text-based models, ignored by the others.

        Returns
        -------
        self
        """
        self._check_common_params()
        _, seqs, times = as_sequences(sessions, return_times=True)
        if self._requires_item_metadata and item_metadata is None:
            raise ValueError(f"{type(self).__name__}.fit needs item_metadata (item texts).")
        meta = item_table(item_metadata) if item_metadata is not None else None
        index = ItemIndex.from_sequences(seqs, self._catalogue_extra(meta))
        if len(index) == 0:
            raise ValueError("fit needs at least one item in the training sessions.")
        encoded = [index.encode(s) for s in seqs]
        counts = np.bincount(
            np.concatenate(encoded) if encoded else np.zeros(0, int), minlength=len(index) + 1
        )
        if meta is not None and len(meta):
            _check_metadata_ids(meta, index.ids[counts[1:] > 0])
        self.item_index_ = index
        self.item_popularity_ = counts[1:].astype(np.float64)  # (n_items,) training interactions
        aligned = meta.reindex(index.ids) if meta is not None else None
        # Transient, so neither a parameter nor learned state: session end times (None
        # without a time column) for models that split by time, and the item table as
        # given (the rows an array of item embeddings is aligned with).
        self._fit_session_times = times
        self._fit_item_table = meta
        try:
            self._fit(encoded, aligned)
        finally:
            del self._fit_session_times, self._fit_item_table
        return self

    def _in_time_order(self, sequences: list) -> list:
        """``sequences`` ordered (stably) by session time when ``fit`` got a frame with a
        time column, else as given (the splits give them in time order): for models and
        folds to which "recent" means later in time, whatever the rows' order."""
        times = getattr(self, "_fit_session_times", None)
        if times is None:
            return sequences
        return [sequences[i] for i in np.argsort(np.asarray(times), kind="stable")]

    def _catalogue_extra(self, item_metadata: pd.DataFrame | None) -> list:
        """Item ids to add to the catalogue beyond the training items."""
        if item_metadata is not None and self._catalogue == "train+metadata":
            return list(item_metadata.index)
        return []

    def _fit(self, sequences: list[np.ndarray], item_metadata: pd.DataFrame | None) -> None:
        """Learn from encoded sessions (internal ids ``1..n_items``).

        ``item_metadata`` is aligned with the item index (row ``j`` = internal id ``j+1``).
        """
        raise NotImplementedError

    def _score(self, sequences: list[np.ndarray]) -> np.ndarray:
        """Scores (float, shape (len(sequences), n_items)) for non-empty encoded prompts."""
        raise NotImplementedError

    # ------------------------------------------------------------------ inference
    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "item_index_")

    def _check_fitted(self) -> None:
        if not self.__sklearn_is_fitted__():
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' first."
            )

    def _check_common_params(self) -> None:
        if getattr(self, "handle_unknown", "ignore") not in _HANDLE_UNKNOWN:
            raise ValueError(
                f"handle_unknown must be one of {_HANDLE_UNKNOWN}, got {self.handle_unknown!r}"
            )
        if not isinstance(getattr(self, "exclude_seen", True), (bool, np.bool_)):
            raise ValueError(f"exclude_seen must be a bool, got {self.exclude_seen!r}")

    @property
    def n_items_(self) -> int:
        """Number of items in the fitted catalogue."""
        self._check_fitted()
        return len(self.item_index_)

    @property
    def items_(self) -> np.ndarray:
        """External ids of the catalogue, in the column order of :meth:`predict_scores`."""
        self._check_fitted()
        return self.item_index_.ids

    def _encode_prompts(self, sessions) -> tuple[list, list[np.ndarray]]:
        self._check_fitted()
        keys, seqs = as_sequences(sessions)
        handle = getattr(self, "handle_unknown", "ignore")
        encoded = [self.item_index_.encode(s.tolist(), handle_unknown=handle) for s in seqs]
        lost = [k for k, s, e in zip(keys, seqs, encoded) if len(s) and not len(e)]
        if lost:
            warnings.warn(
                f"{len(lost)} of {len(seqs)} prompts hold only items {type(self).__name__} "
                f"never saw in training (first: session {lost[0]!r}); with "
                "handle_unknown='ignore' they get the training popularity ranking",
                UserWarning,
                stacklevel=3,
            )
        return keys, encoded

    def _batch_scores(self, encoded: list[np.ndarray]) -> np.ndarray:
        """Scores for a batch; empty prompts fall back to training popularity.

        Scores are rounded to float32: BLAS kernels may differ in the last bits of a
        float64 product depending on the batch shape, and rounding makes a session's
        ranking independent of the batch it is scored in.
        """
        scores = np.empty((len(encoded), self.n_items_), dtype=np.float32)
        nonempty = [i for i, s in enumerate(encoded) if len(s)]
        if nonempty:
            scores[nonempty] = self._score([encoded[i] for i in nonempty])
        empty = [i for i, s in enumerate(encoded) if not len(s)]
        if empty:
            scores[empty] = self.item_popularity_
        return scores

    def predict_scores(self, sessions, items: Sequence[Hashable] | None = None) -> np.ndarray:
        """Raw scores of catalogue items (or of given candidates) for each session.

        Seen items are *not* masked here; :meth:`predict` does that.

        Parameters
        ----------
        sessions : DataFrame, dict or list of sequences
        items : sequence of hashable, optional
            Candidate item ids. Unknown candidates get ``-inf`` (or raise with
            ``handle_unknown='error'``).

        Returns
        -------
        ndarray of shape (n_sessions, n_items) or (n_sessions, len(items))
            Column order is :attr:`items_` when ``items`` is None.
        """
        _, encoded = self._encode_prompts(sessions)
        bs = self._batch_size()
        scores = np.concatenate(
            [self._batch_scores(encoded[s : s + bs]) for s in range(0, len(encoded), bs)]
            or [np.zeros((0, self.n_items_))]
        )
        if items is None:
            return scores
        codes = self.item_index_.encode(
            list(items), handle_unknown="pad" if self.handle_unknown == "ignore" else "error"
        )
        out = np.full((len(encoded), len(codes)), -np.inf)
        known = codes != PAD
        out[:, known] = scores[:, codes[known] - 1]
        return out

    def predict(self, sessions, k: int = 20) -> np.ndarray:
        """Top-``k`` recommendations for each session, best first.

        Parameters
        ----------
        sessions : DataFrame, dict or list of sequences
            The prompts (the items each session has so far).
        k : int, default=20
            List length. When ``k`` exceeds the catalogue, ``n_items`` columns are returned.

        Returns
        -------
        ndarray of shape (n_sessions, min(k, n_items))
            External item ids. Rows follow the input order (dict insertion order, or the
            order of first appearance in a DataFrame). If a row has fewer than ``k``
            recommendable items (e.g. all excluded as seen), its remaining slots hold
            ``None`` and the array has dtype object.
        """
        _, codes = self._predict_codes(sessions, k)
        return self._decode(codes)

    def _predict_codes(self, sessions, k: int, return_scores: bool = False):
        """(keys, codes) of the top-k; with ``return_scores`` also the chosen items' scores."""
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        keys, encoded = self._encode_prompts(sessions)
        k_eff = min(int(k), self.n_items_)
        codes = np.zeros((len(encoded), k_eff), dtype=np.int64)
        chosen = np.full((len(encoded), k_eff), np.nan, dtype=np.float32) if return_scores else None
        bs = self._batch_size()
        for start in range(0, len(encoded), bs):
            batch = encoded[start : start + bs]
            scores = self._batch_scores(batch)
            if self.exclude_seen:
                rows = np.repeat(np.arange(len(batch)), [len(s) for s in batch])
                cols = np.concatenate(batch) - 1 if batch else np.zeros(0, int)
                scores[rows, cols] = -np.inf
            top = topk_codes(scores, k_eff)
            codes[start : start + len(batch)] = top
            if return_scores:  # PAD slots keep NaN; masked items are never chosen
                chosen[start : start + len(batch)] = np.take_along_axis(
                    scores, np.maximum(top - 1, 0), axis=1
                )
        return (keys, codes, chosen) if return_scores else (keys, codes)

    def _batch_size(self) -> int:
        return max(
            1, min(self._predict_batch_size, self._max_scores_in_memory // max(self.n_items_, 1))
        )

    def _decode(self, codes: np.ndarray) -> np.ndarray:
        ids = self.item_index_.ids
        if (codes == PAD).any():
            out = np.empty(codes.shape, dtype=object)
            valid = codes != PAD
            out[valid] = ids[codes[valid] - 1]
            out[~valid] = None
            return out
        return ids[codes - 1] if codes.size else np.empty(codes.shape, dtype=ids.dtype)

    def recommend(self, sessions, k: int = 20) -> pd.DataFrame:
        """Top-``k`` recommendations as a tidy table.

        Returns
        -------
        pandas.DataFrame
            Columns ``session_id``, ``rank`` (1-based), ``item_id``, ``score``.
        """
        keys, codes, scores = self._predict_codes(sessions, k, return_scores=True)
        rows = [
            (key, rank, self.item_index_.ids[code - 1], float(score))
            for key, row, row_scores in zip(keys, codes, scores)
            for rank, (code, score) in enumerate(zip(row, row_scores), start=1)
            if code != PAD
        ]
        return pd.DataFrame(rows, columns=["session_id", "rank", "item_id", "score"])

    # ------------------------------------------------------------------ persistence
    def _get_state(self) -> tuple[dict[str, np.ndarray], dict]:
        """Learned arrays (saved with safetensors) and JSON-able extras."""
        return {}, {}

    def _set_state(self, arrays: dict[str, np.ndarray], extra: dict) -> None:
        """Restore what :meth:`_get_state` returned."""

    def _save_files(self, path) -> None:
        """Write further files into the model directory (torch weights, fitted parts)."""

    def _load_files(self, path) -> None:
        """Read what :meth:`_save_files` wrote."""

    def save(self, path, overwrite: bool = False) -> None:
        """Save the fitted model to a directory (JSON config, safetensors arrays, item index).

        Nothing is pickled; :func:`llmseqrec.load` restores an identical model.
        """
        from .persistence import save

        save(self, path, overwrite=overwrite)


def _check_metadata_ids(meta: pd.DataFrame, trained: np.ndarray) -> None:
    """Refuse item metadata that describes none of the ``trained`` item ids: its ids are
    then of another kind (integers against strings, another id column), and every item
    would get the text of a missing row."""
    if len(trained) and not meta.index.isin(trained).any():
        raise ValueError(
            f"item_metadata describes none of the {len(trained)} training items: its ids (like "
            f"{meta.index[0]!r}, {type(meta.index[0]).__name__}) do not match the interactions' "
            f"(like {trained[0]!r}, {type(trained[0]).__name__}); index item_metadata by the "
            "same item ids"
        )
