"""The recommender contract every llmseqrec model follows.

A recommender is a scikit-learn estimator: hyper-parameters in ``__init__`` (stored
unchanged), ``fit(sessions)`` returns ``self``, learned state ends in ``_``. Public
methods speak external item ids; models see contiguous internal ids only.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator

from .data import PAD, ItemIndex, as_sequences, infer_columns, item_table
from .data._frames import as_pandas
from .exceptions import NonFiniteScoresError, NotFittedError
from .utils import RenamedParametersMixin
from .utils._topk import chunked_topk, topk_exact

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
    values, columns = topk_exact(torch.as_tensor(scores), k)
    codes = columns.numpy() + 1
    codes[torch.isneginf(values).numpy() | torch.isnan(values).numpy()] = PAD
    return codes.astype(np.int64)


def _columns(session_col, item_col, time_col) -> dict:
    """The column names a call was given (``None``: not given)."""
    return {"session_col": session_col, "item_col": item_col, "time_col": time_col}


class _CallFilters:
    """Masks of one predict call: each prompt's items (``exclude_seen``), a catalogue-wide
    block (outside the ``items`` whitelist or in a global ``exclude``) and per-session
    exclusions (lists of internal codes aligned with the prompts)."""

    def __init__(self, seen, blocked, per_session):
        self.seen, self.blocked, self.per_session = seen, blocked, per_session

    def mask(self, scores, start: int, col_start: int = 0):
        """Set the masked scores of rows ``start..start + len(scores)`` to ``-inf``.

        ``scores`` (ndarray or Tensor of shape (b, w)) holds catalogue columns
        ``col_start..col_start + w`` (a chunk of the catalogue, or all of it).
        """
        stop, width = start + len(scores), scores.shape[1]
        is_tensor = isinstance(scores, torch.Tensor)
        for lists in (self.seen, self.per_session):
            if lists is None:
                continue
            batch = lists[start:stop]
            rows = np.repeat(np.arange(len(batch)), [len(c) for c in batch])
            cols = np.concatenate(batch).astype(np.int64) - 1 - col_start if batch else rows
            inside = (cols >= 0) & (cols < width)
            rows, cols = rows[inside], cols[inside]
            if is_tensor:
                rows, cols = (torch.from_numpy(a).to(scores.device) for a in (rows, cols))
            scores[rows, cols] = -np.inf
        if self.blocked is not None:
            blocked = self.blocked[col_start : col_start + width]
            scores[
                :, torch.from_numpy(blocked).to(scores.device) if is_tensor else blocked
            ] = -np.inf
        return scores


def _encode_id_list(index, ids, name: str, handle: str) -> np.ndarray:
    """Internal codes (>= 1) of a flat list of item ids; unknown ids dropped (``"pad"``)."""
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
        raise TypeError(f"{name} must be a list of item ids, got {type(ids).__name__}")
    ids = list(ids)
    if any(_is_missing(i) for i in ids):
        raise ValueError(f"{name} holds a missing item id (None/NaN)")
    codes = index.encode(ids, handle_unknown=handle) if ids else np.zeros(0, np.int64)
    return codes[codes != PAD]


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _exclusions(index, exclude, keys, handle):
    """``(global codes or None, per-session code lists or None)`` from ``exclude``: a flat
    list of ids, a list aligned with the prompts, a dict by session key, or a frame."""
    if isinstance(exclude, Mapping):
        key_set = set(keys)
        unknown = [key for key in exclude if key not in key_set]
        if len(unknown) == len(exclude) and exclude:
            raise ValueError(
                f"exclude names none of the prompts' sessions (e.g. {unknown[0]!r}); its keys "
                "must be the session keys of the prompts"
            )
        lists = [
            _encode_id_list(index, exclude.get(key, ()), f"exclude[{key!r}]", handle)
            for key in keys
        ]
        return None, lists
    if isinstance(exclude, (str, bytes)) or not isinstance(exclude, Iterable):
        raise TypeError(
            "exclude must be a list of item ids, a list of such lists (one per session), a "
            f"dict {{session: ids}} or a DataFrame; got {type(exclude).__name__}"
        )
    exclude = list(exclude)
    nested = [isinstance(e, Iterable) and not isinstance(e, (str, bytes, tuple)) for e in exclude]
    if exclude and all(nested):
        if len(exclude) != len(keys):
            raise ValueError(
                f"exclude holds {len(exclude)} lists for {len(keys)} sessions: give one list "
                "per session, or a flat list of item ids to exclude everywhere"
            )
        return None, [
            _encode_id_list(index, e, f"exclude[{i}]", handle) for i, e in enumerate(exclude)
        ]
    if any(nested):
        raise TypeError(
            "exclude mixes item ids and lists: give a flat list of item ids, or one list per "
            "session"
        )
    return _encode_id_list(index, exclude, "exclude", handle), None


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
    #: Upper bound on the number of scores held in memory at once (batch x catalogue, or
    #: batch x chunk for models that score the catalogue in chunks, see _chunk_scorer).
    _max_scores_in_memory = 20_000_000
    #: Whether the model implements :meth:`_chunk_scorer` (predict batches then need not
    #: shrink as the catalogue grows).
    _scores_in_chunks = False

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
    def fit(
        self,
        sessions,
        item_metadata: pd.DataFrame | None = None,
        *,
        session_col: str | None = None,
        item_col: str | None = None,
        time_col: str | None = None,
    ):
        """Fit the model on training sessions.

        Parameters
        ----------
        sessions : DataFrame, dict, Series or list of sequences
            Training sessions: an interaction table (pandas, or any frame narwhals reads:
            polars, pyarrow, ...), a dict or pandas Series ``{session: [items]}``, or a list
            of item-id lists (see the class docstring).
        item_metadata : DataFrame, optional
            Item text fields indexed by (or with a column) ``item_id``. Required by the
            text-based models, ignored by the others.
        session_col, item_col, time_col : str, optional
            The interaction table's columns; by default ``session_id`` (or ``user_id``),
            ``item_id`` and ``timestamp`` (optional). Kept in ``frame_columns_``, so frames given
            to ``predict`` later are read with the same names, and ``recommend`` names its
            key column after the session column.

        Returns
        -------
        self
        """
        self._check_common_params()
        frame = as_pandas(sessions)
        if isinstance(frame, pd.DataFrame):
            sessions = frame
            names = infer_columns(frame, session_col, item_col, time_col)
            self.frame_columns_ = dict(zip(("session", "item", "time"), names))
        else:
            self.frame_columns_ = None
        _, seqs, times = as_sequences(
            sessions,
            return_times=True,
            session_col=session_col,
            item_col=item_col,
            time_col=time_col,
        )
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
        self.n_sessions_ = len(seqs)  # training sessions given to fit (for the model card)
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

    def _frame_columns(self, frame, given: dict | None = None) -> dict:
        """Column names to read a prompt frame with: those given to this call, else those
        of ``fit`` where the frame has them, else the common names
        (:func:`llmseqrec.data.infer_columns`)."""
        fitted = getattr(self, "frame_columns_", None) or {}
        cols = {
            f"{role}_col": name
            for role, name in fitted.items()
            if name is not None and name in frame.columns
        }
        cols.update({k: v for k, v in (given or {}).items() if v is not None})
        return cols

    def _as_prompt_sequences(self, sessions, columns: dict | None = None):
        """``(keys, sequences, key column name)`` of prompts in any accepted form."""
        frame = as_pandas(sessions)
        if isinstance(frame, pd.DataFrame):
            cols = self._frame_columns(frame, columns)
            key_name = infer_columns(frame, cols.get("session_col"), cols.get("item_col"))[0]
            return (*as_sequences(frame, **cols), key_name)
        return (*as_sequences(sessions, **(columns or {})), "session_id")

    def _encode_prompts(self, sessions, return_key_name: bool = False, columns=None):
        self._check_fitted()
        keys, seqs, key_name = self._as_prompt_sequences(sessions, columns)
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
        return (keys, encoded, key_name) if return_key_name else (keys, encoded)

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
        if np.isnan(scores).any():  # a NaN would rank as a missing item: refuse it
            raise self._nan_error(int(np.isnan(scores).any(axis=1).sum()), len(encoded))
        return scores

    def _nan_error(self, bad: int, total: int) -> NonFiniteScoresError:
        return NonFiniteScoresError(
            f"{type(self).__name__} scored items with NaN for {bad} of {total} "
            "sessions: its weights are damaged (a corrupt saved file?) or its training "
            "diverged (try a lower learning_rate)"
        )

    def _chunk_scorer(self, sequences: list[np.ndarray]):
        """A function ``(c0, c1) -> Tensor (b, c1 - c0)`` of float32 scores of catalogue
        columns ``c0..c1`` for non-empty prompts, or None where the model scores the whole
        catalogue at once (:meth:`_score`).

        Models whose scores are a product of session and item factors override it, so that
        :meth:`predict` holds at most (batch x chunk) scores, however large the catalogue,
        and keeps them on the model's device.
        """
        return None

    def _batch_chunks(self, encoded: list[np.ndarray]):
        """(scorer, chunk width) for a batch: ``scorer(c0, c1)`` gives all of its rows'
        scores of columns ``c0..c1``, empty prompts scored by training popularity."""
        nonempty = [i for i, s in enumerate(encoded) if len(s)]
        chunked = self._chunk_scorer([encoded[i] for i in nonempty]) if nonempty else None
        if chunked is None:
            full = torch.from_numpy(self._batch_scores(encoded))
            return (lambda c0, c1: full[:, c0:c1]), self.n_items_
        popularity = None

        def scorer(c0: int, c1: int) -> torch.Tensor:
            nonlocal popularity
            part = chunked(c0, c1).float()
            if len(nonempty) == len(encoded):
                out = part
            else:
                if popularity is None:
                    popularity = torch.as_tensor(self.item_popularity_, dtype=torch.float32)
                    popularity = popularity.to(part.device)
                out = popularity[c0:c1].repeat(len(encoded), 1)
                out[torch.as_tensor(nonempty, device=part.device)] = part
            return out  # a NaN ranks first in torch.topk: predict finds it in the top-k

        return scorer, max(1, self._max_scores_in_memory // max(len(encoded), 1))

    def predict_scores(
        self,
        sessions,
        items: Sequence[Hashable] | None = None,
        *,
        exclude=None,
        exclude_seen: bool = False,
        session_col: str | None = None,
        item_col: str | None = None,
        time_col: str | None = None,
    ) -> np.ndarray:
        """Raw scores of catalogue items (or of given candidates) for each session.

        Seen items are *not* masked here unless ``exclude_seen=True``; :meth:`predict`
        masks them by default.

        Parameters
        ----------
        sessions : DataFrame, dict or list of sequences
        items : sequence of hashable, optional
            Candidate item ids: the columns returned. Unknown candidates get ``-inf`` (or
            raise with ``handle_unknown='error'``).
        exclude : iterable of item ids, or per-session exclusions, optional
            As in :meth:`predict`; excluded items score ``-inf``.
        exclude_seen : bool, default=False
            Score each prompt's own items ``-inf``.
        session_col, item_col, time_col : str, optional
            As in :meth:`predict`.

        Returns
        -------
        ndarray of shape (n_sessions, n_items) or (n_sessions, len(items))
            Column order is :attr:`items_` when ``items`` is None.
        """
        if items is not None and (
            isinstance(items, (str, bytes)) or not isinstance(items, Iterable)
        ):
            raise TypeError(
                f"items must be a list of candidate item ids, got {type(items).__name__}"
            )
        columns = _columns(session_col, item_col, time_col)
        keys, encoded = self._encode_prompts(sessions, columns=columns)
        filters = self._call_filters(keys, encoded, None, exclude, exclude_seen, columns)
        bs = self._batch_size()
        scores = np.concatenate(
            [
                filters.mask(self._batch_scores(encoded[s : s + bs]), s)
                for s in range(0, len(encoded), bs)
            ]
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

    def predict(
        self,
        sessions,
        k: int = 20,
        *,
        items=None,
        exclude=None,
        exclude_seen: bool | None = None,
        session_col: str | None = None,
        item_col: str | None = None,
        time_col: str | None = None,
    ) -> np.ndarray:
        """Top-``k`` recommendations for each session, best first.

        Parameters
        ----------
        sessions : DataFrame, dict or list of sequences
            The prompts (the items each session has so far).
        k : int, default=20
            List length. When ``k`` exceeds the catalogue, ``n_items`` columns are returned.
        items : iterable of item ids, optional
            Candidate whitelist: only these items are recommended (e.g. what is in stock).
            Ids outside the catalogue are ignored (``handle_unknown="error"``: raise).
        exclude : iterable of item ids, or per-session exclusions, optional
            Blacklist: a flat list of ids excluded for every session, or one list per
            session (a list aligned with ``sessions``, a dict ``{session key: ids}``, or a
            DataFrame of ``session_id``/``item_id`` rows such as past purchases).
        exclude_seen : bool, optional
            Exclude each prompt's own items; ``None`` = the constructor's ``exclude_seen``.
        session_col, item_col, time_col : str, optional
            Columns of a frame of prompts (and of an ``exclude`` frame); by default those
            ``fit`` read, else the common names.

        Returns
        -------
        ndarray of shape (n_sessions, min(k, n_items))
            External item ids. Rows follow the input order (dict insertion order, or the
            order of first appearance in a DataFrame). If a row has fewer than ``k``
            recommendable items (e.g. all excluded as seen), its remaining slots hold
            ``None`` and the array has dtype object.
        """
        _, codes = self._predict_codes(
            sessions,
            k,
            items=items,
            exclude=exclude,
            exclude_seen=exclude_seen,
            columns=_columns(session_col, item_col, time_col),
        )
        return self._decode(codes)

    def _predict_codes(
        self,
        sessions,
        k: int,
        return_scores: bool = False,
        items=None,
        exclude=None,
        exclude_seen: bool | None = None,
        columns: dict | None = None,
    ):
        """(keys, codes) of the top-k; with ``return_scores`` also the chosen items' scores."""
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        keys, encoded, key_name = self._encode_prompts(
            sessions, return_key_name=True, columns=columns
        )
        filters = self._call_filters(keys, encoded, items, exclude, exclude_seen, columns)
        k_eff = min(int(k), self.n_items_)
        codes = np.zeros((len(encoded), k_eff), dtype=np.int64)
        chosen = np.full((len(encoded), k_eff), np.nan, dtype=np.float32) if return_scores else None
        bs = self._predict_batch_size if self._scores_in_chunks else self._batch_size()
        for start in range(0, len(encoded), bs):
            batch = encoded[start : start + bs]
            scorer, width = self._batch_chunks(batch)
            best = chunked_topk(
                scorer, self.n_items_, width, k_eff, lambda s, c0, r=start: filters.mask(s, r, c0)
            )
            values, columns = (t.cpu().numpy() for t in best)
            if np.isnan(values).any():  # a NaN would rank as a missing item: refuse it
                raise self._nan_error(int(np.isnan(values).any(axis=1).sum()), len(batch))
            missing = np.isneginf(values)  # masked or unscorable: never recommended
            codes[start : start + len(batch)] = np.where(missing, PAD, columns + 1)
            if return_scores:  # PAD slots keep NaN
                chosen[start : start + len(batch)] = np.where(missing, np.nan, values)
        return (keys, codes, chosen, key_name) if return_scores else (keys, codes)

    def _call_filters(
        self, keys, encoded, items, exclude, exclude_seen, columns=None
    ) -> _CallFilters:
        """The per-call masks of :meth:`predict` (validated once, applied per batch)."""
        if exclude_seen is None:
            exclude_seen = self.exclude_seen
        if not isinstance(exclude_seen, (bool, np.bool_)):
            raise ValueError(f"exclude_seen must be True, False or None, got {exclude_seen!r}")
        handle = "pad" if getattr(self, "handle_unknown", "ignore") == "ignore" else "error"
        blocked = None
        if items is not None:
            allowed = _encode_id_list(self.item_index_, items, "items", handle)
            blocked = np.ones(self.n_items_, dtype=bool)
            blocked[allowed - 1] = False
        per_session = None
        if isinstance(as_pandas(exclude), pd.DataFrame):  # rows of (session, item)
            ex_keys, ex_seqs, _ = self._as_prompt_sequences(exclude, columns)
            exclude = dict(zip(ex_keys, ex_seqs))
        if exclude is not None:
            glob, per_session = _exclusions(self.item_index_, exclude, keys, handle)
            if glob is not None:
                blocked = np.zeros(self.n_items_, dtype=bool) if blocked is None else blocked
                blocked[glob - 1] = True
        return _CallFilters(encoded if exclude_seen else None, blocked, per_session)

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

    def recommend(
        self,
        sessions,
        k: int = 20,
        *,
        items=None,
        exclude=None,
        exclude_seen: bool | None = None,
        session_col: str | None = None,
        item_col: str | None = None,
        time_col: str | None = None,
    ) -> pd.DataFrame:
        """Top-``k`` recommendations as a tidy table.

        ``items``, ``exclude`` and ``exclude_seen`` filter, and ``session_col``, ``item_col``,
        ``time_col`` name a frame's columns, as in :meth:`predict`.

        Returns
        -------
        pandas.DataFrame
            Columns ``session_id`` (for a frame of prompts: its session column's name,
            e.g. ``user_id``), ``rank`` (1-based), ``item_id``, ``score``.
        """
        keys, codes, scores, key_name = self._predict_codes(
            sessions,
            k,
            return_scores=True,
            items=items,
            exclude=exclude,
            exclude_seen=exclude_seen,
            columns=_columns(session_col, item_col, time_col),
        )
        rows = [
            (key, rank, self.item_index_.ids[code - 1], float(score))
            for key, row, row_scores in zip(keys, codes, scores)
            for rank, (code, score) in enumerate(zip(row, row_scores), start=1)
            if code != PAD
        ]
        return pd.DataFrame(rows, columns=[key_name, "rank", "item_id", "score"])

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
