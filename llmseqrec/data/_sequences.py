"""Turning interaction tables and plain Python containers into item sequences."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._frames import as_pandas
from ._ids import _as_id_array

if TYPE_CHECKING:
    from typing import TypeAlias

    from narwhals.typing import IntoDataFrame

    #: The session inputs accepted by ``fit``, ``predict`` and :func:`as_sequences`: an
    #: interaction table (pandas, or any frame narwhals reads), a mapping or pandas Series
    #: ``{session id: [item ids]}``, or a sequence of item-id sequences.
    SessionsLike: TypeAlias = (
        pd.DataFrame
        | IntoDataFrame
        | pd.Series
        | Mapping[Hashable, Sequence[Hashable] | np.ndarray]
        | Sequence[Sequence[Hashable] | np.ndarray]
    )

__all__ = ["to_sequences", "as_sequences", "session_times", "infer_columns"]

_SESSION_CANDIDATES = ("session_id", "user_id", "SessionId", "UserId")
_ITEM_CANDIDATES = ("item_id", "ItemId")
_TIME_CANDIDATES = ("timestamp", "time", "Time")


def _pick(df: pd.DataFrame, given, candidates, what: str, required: bool = True):
    if given is not None:
        if given not in df.columns:
            raise KeyError(f"{what} column {given!r} not in DataFrame columns {list(df.columns)}")
        return given
    for name in candidates:
        if name in df.columns:
            return name
    if required:
        raise KeyError(
            f"Cannot find the {what} column among {list(df.columns)}; expected one of "
            f"{list(candidates)} or pass {what}_col=..."
        )
    return None


def infer_columns(
    df: pd.DataFrame,
    session_col: str | None = None,
    item_col: str | None = None,
    time_col: str | None = None,
) -> tuple[str, str, str | None]:
    """Resolve the session, item and (optional) time column names of an interaction table.

    Names given explicitly are checked; missing ones are looked up among common names
    (``session_id``/``user_id``, ``item_id``, ``timestamp``).
    """
    return (
        _pick(df, session_col, _SESSION_CANDIDATES, "session"),
        _pick(df, item_col, _ITEM_CANDIDATES, "item"),
        _pick(df, time_col, _TIME_CANDIDATES, "time", required=False),
    )


def check_interactions(df: pd.DataFrame, session_col, item_col, time_col=None) -> None:
    """Refuse missing session or item ids and missing or non-finite timestamps, naming the
    column, how many rows and the first of them: a NaN id would otherwise become an item
    (or shift rows between sessions), a NaN time would reorder sessions silently."""
    for col, what in ((session_col, "session ids"), (item_col, "item ids")):
        bad = df[col].isna().to_numpy()
        if bad.any():
            raise ValueError(
                f"column {col!r} has {int(bad.sum())} missing {what} (None/NaN), first at row "
                f"{df.index[np.argmax(bad)]!r}: drop or fill those rows first"
            )
    if time_col is not None:
        times = df[time_col]
        bad = times.isna().to_numpy()
        if pd.api.types.is_numeric_dtype(times) and not pd.api.types.is_bool_dtype(times):
            bad = bad | ~np.isfinite(times.to_numpy(dtype=float, na_value=np.nan))
        if bad.any():
            raise ValueError(
                f"column {time_col!r} has {int(bad.sum())} missing or non-finite timestamps, "
                f"first at row {df.index[np.argmax(bad)]!r}: drop or fill those rows first"
            )


def _ordered_groups(df: pd.DataFrame, session_col, item_col, time_col):
    """(session keys, item arrays, session max times or None) in first-appearance order."""
    check_interactions(df, session_col, item_col, time_col)
    codes, keys = pd.factorize(df[session_col], sort=False)
    items = df[item_col].to_numpy()
    if time_col is not None:
        times = df[time_col].to_numpy()
        # np.lexsort is stable: equal (session, time) rows keep their file order.
        order = np.lexsort((times, codes))
    else:
        times = None
        order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    bounds = np.flatnonzero(np.diff(sorted_codes)) + 1
    item_groups = np.split(items[order], bounds)
    max_times = None
    if times is not None:
        max_times = (
            np.asarray([g.max() for g in np.split(times[order], bounds)]) if len(df) else None
        )
    return list(keys), item_groups, max_times


def to_sequences(
    df: pd.DataFrame,
    session_col: str | None = None,
    item_col: str | None = None,
    time_col: str | None = None,
) -> dict[Hashable, np.ndarray]:
    """Group an interaction table into one chronological item sequence per session.

    Rows are sorted by time inside each session with a *stable* sort, so rows with equal
    timestamps keep their file order (which matters: it decides the held-out last item).
    Without a time column, file order is kept.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per interaction.
    session_col, item_col, time_col : str, optional
        Column names; by default ``session_id`` (or ``user_id``), ``item_id`` and
        ``timestamp`` (optional).

    Returns
    -------
    dict
        ``session id -> ndarray of item ids``, sessions in order of first appearance.

    Examples
    --------
    >>> df = pd.DataFrame({"user_id": [1, 1, 2, 1], "item_id": ["a", "b", "c", "d"],
    ...                    "timestamp": [5, 3, 1, 3]})
    >>> {k: v.tolist() for k, v in to_sequences(df).items()}
    {1: ['b', 'd', 'a'], 2: ['c']}
    """
    df = as_pandas(df)
    session_col, item_col, time_col = infer_columns(df, session_col, item_col, time_col)
    keys, groups, _ = _ordered_groups(df, session_col, item_col, time_col)
    return dict(zip(keys, groups))


def session_times(
    df: pd.DataFrame, session_col: str | None = None, time_col: str | None = None
) -> pd.Series:
    """Session time = the largest timestamp in each session (the paper's definition)."""
    session_col = _pick(df, session_col, _SESSION_CANDIDATES, "session")
    time_col = _pick(df, time_col, _TIME_CANDIDATES, "time")
    return df.groupby(session_col, sort=False)[time_col].max()


def as_sequences(
    sessions: SessionsLike,
    return_times: bool = False,
    session_col: str | None = None,
    item_col: str | None = None,
    time_col: str | None = None,
) -> (
    tuple[list[Hashable], list[np.ndarray]]
    | tuple[list[Hashable], list[np.ndarray], np.ndarray | None]
):
    """Normalise the accepted session inputs to ``(keys, sequences)``.

    Accepted forms: a DataFrame of interactions (see :func:`to_sequences`; pandas, or any
    frame narwhals reads, such as polars or pyarrow), a mapping ``session id -> sequence of
    item ids``, a pandas Series of item-id lists indexed by session, or a sequence of
    item-id sequences (keys are then the positions ``0..n-1``). A single flat list of ids is
    rejected, because it is ambiguous.

    ``session_col``, ``item_col`` and ``time_col`` name a frame's columns (default: the
    common names of :func:`infer_columns`); they are an error with any other input.

    With ``return_times=True`` a third value is returned: each session's largest
    timestamp (ndarray aligned with the keys) for a DataFrame with a time column, else
    ``None``.
    """
    sessions = as_pandas(sessions)
    if isinstance(sessions, pd.DataFrame):
        cols = infer_columns(sessions, session_col, item_col, time_col)
        keys, groups, times = _ordered_groups(sessions, *cols)
        return (keys, groups, times) if return_times else (keys, groups)
    given = [n for n, v in zip(("session_col", "item_col", "time_col"), (session_col, item_col, time_col)) if v is not None]  # fmt: skip
    if given:
        raise TypeError(
            f"{', '.join(given)} name columns of an interaction table; the sessions given are "
            f"a {type(sessions).__name__}"
        )
    if isinstance(sessions, pd.Series):  # session key -> list of items
        sessions = dict(zip(sessions.index, sessions.to_numpy()))
    keys, seqs = _as_plain_sequences(sessions)
    return (keys, seqs, None) if return_times else (keys, seqs)


def _as_plain_sequences(sessions) -> tuple[list, list[np.ndarray]]:
    if isinstance(sessions, Mapping):
        keys, seqs = list(sessions.keys()), [_as_item_array(s) for s in sessions.values()]
        _check_no_missing_items(keys, seqs)
        return keys, seqs
    if isinstance(sessions, (str, bytes)) or not isinstance(sessions, (Sequence, np.ndarray)):
        raise TypeError(
            "sessions must be a DataFrame of interactions, a dict {session: [items]} or a list "
            f"of item-id lists; got {type(sessions).__name__}"
        )
    seqs = list(sessions)
    if seqs and not all(
        isinstance(s, (Sequence, np.ndarray)) and not isinstance(s, (str, bytes)) for s in seqs
    ):
        raise TypeError(
            "sessions must be a list of item-id sequences (e.g. [['a', 'b'], ['c']]); "
            "wrap a single session in a list: [[...]]"
        )
    keys, arrays = list(range(len(seqs))), [_as_item_array(s) for s in seqs]
    _check_no_missing_items(keys, arrays)
    return keys, arrays


def _as_item_array(seq) -> np.ndarray:
    return seq if isinstance(seq, np.ndarray) else _as_id_array(list(seq))


def _check_no_missing_items(keys: list, seqs: list[np.ndarray]) -> None:
    """Refuse None/NaN item ids, naming the first session and position. One vectorised
    test over every float/object session; the loop runs only to name the culprit."""
    suspect = [i for i, s in enumerate(seqs) if s.dtype.kind in "fO" and len(s)]
    if not suspect or not pd.isna(np.concatenate([seqs[i] for i in suspect])).any():
        return
    for i in suspect:
        missing = pd.isna(seqs[i])
        if missing.any():
            raise ValueError(
                f"item ids of session {keys[i]!r} include None/NaN at position "
                f"{int(np.argmax(missing))}: a missing id is not an item"
            )
