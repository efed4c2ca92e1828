"""Preprocessing of interaction tables: k-core filtering, repeated-pair removal, tie shuffling."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from ._frames import as_pandas
from ._sequences import infer_columns

__all__ = ["kcore_filter", "drop_repeated_interactions", "shuffle_ties"]


def kcore_filter(
    df: pd.DataFrame,
    k: int = 5,
    session_col: str | None = None,
    item_col: str | None = None,
    max_iter: int = 100,
) -> pd.DataFrame:
    """Iteratively keep sessions and items with at least ``k`` interactions each.

    Repeats until stable (removing items can push sessions below ``k`` and back).

    Parameters
    ----------
    df : pandas.DataFrame
        Interactions.
    k : int, default=5
    session_col, item_col : str, optional
        Column names (inferred by default).
    max_iter : int, default=100
        Safety cap on the number of passes.

    Returns
    -------
    pandas.DataFrame
        The filtered rows, in their original order and with their original index.

    Examples
    --------
    >>> df = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "item_id": ["a", "b", "a", "b", "a"]})
    >>> kcore_filter(df, k=2)["user_id"].tolist()
    [1, 1, 2, 2]
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    df = as_pandas(df)
    session_col, item_col, _ = infer_columns(df, session_col, item_col)
    out = df
    for _ in range(max_iter):
        item_counts = out[item_col].map(out[item_col].value_counts())
        session_counts = out[session_col].map(out[session_col].value_counts())
        keep = (item_counts >= k) & (session_counts >= k)
        if keep.all():
            return out
        out = out[keep]
    raise RuntimeError(f"k-core filtering did not converge in {max_iter} passes")


def drop_repeated_interactions(
    df: pd.DataFrame,
    session_col: str | None = None,
    item_col: str | None = None,
    keep: Literal["first", "last"] = "first",
) -> pd.DataFrame:
    """Drop repeated (session, item) pairs, keeping the first (or last) occurrence in file order.

    Examples
    --------
    >>> df = pd.DataFrame({"user_id": [1, 1, 1], "item_id": ["a", "b", "a"]})
    >>> drop_repeated_interactions(df)["item_id"].tolist()
    ['a', 'b']
    """
    df = as_pandas(df)
    session_col, item_col, _ = infer_columns(df, session_col, item_col)
    return df[~df.duplicated([session_col, item_col], keep=keep)]


def shuffle_ties(
    df: pd.DataFrame,
    random_state: int | np.random.Generator | None = None,
    session_col: str | None = None,
    time_col: str | None = None,
) -> pd.DataFrame:
    """Put the interactions of each session that share a timestamp in a random order.

    Sequences are built by a stable sort on time, so rows with equal timestamps keep their
    file order, and that order decides which item is a session's held-out last item. With
    day-resolution timestamps (Amazon reviews) the public files list same-day rows in item-id
    order, which biases the targets; this gives every tie an explicit, seeded random order.
    Rows of different timestamps and different sessions are never reordered relative to
    each other.

    Parameters
    ----------
    df : pandas.DataFrame
        Interactions with session and time columns.
    random_state : int, numpy.random.Generator or None
        Seed of the tie order.
    session_col, time_col : str, optional
        Column names (inferred by default).

    Returns
    -------
    pandas.DataFrame
        The same rows (index kept), grouped by session in order of first appearance and
        sorted by time inside each session, ties in a random order.

    Examples
    --------
    >>> df = pd.DataFrame({"user_id": [1, 1, 1], "item_id": ["a", "b", "c"], "timestamp": [5, 5, 9]})
    >>> shuffle_ties(df, random_state=1)["item_id"].tolist()[-1]
    'c'
    """
    df = as_pandas(df)
    session_col, _, time_col = infer_columns(df, session_col, None, time_col)
    if time_col is None:
        raise KeyError("shuffle_ties needs a time column (time_col=...)")
    rng = np.random.default_rng(random_state)
    codes, _ = pd.factorize(df[session_col], sort=False)
    key = rng.random(len(df))
    # Sort by session (first appearance), then time, then the random key.
    order = np.lexsort((key, df[time_col].to_numpy(), codes))
    return df.iloc[order]
