"""Evaluation splits: the paper's temporal session split, its forward-chaining folds,
leave-one-out, and the inner validation split used for early stopping."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from ._frames import as_pandas
from ._sequences import _ordered_groups, infer_columns

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = [
    "TestCases",
    "Split",
    "temporal_split",
    "temporal_folds",
    "leave_one_out_split",
    "inner_validation_split",
    "make_test_cases",
]


@dataclass
class TestCases:
    """Next-item test cases: for each case a prompt (item sequence) and the held-out target.

    Attributes
    ----------
    session_ids : list
        The session each case comes from, length n_cases.
    prompts : list of ndarray
        Prompt item sequences (external ids), length n_cases.
    targets : ndarray of shape (n_cases,)
        The held-out next item of each case.
    """

    __test__ = False  # not a pytest class

    session_ids: list
    prompts: list
    targets: np.ndarray

    def __len__(self) -> int:
        return len(self.prompts)

    def as_dict(self) -> dict:
        """``session id -> prompt``, the form ``Recommender.predict`` accepts."""
        return dict(zip(self.session_ids, self.prompts))


@dataclass
class Split:
    """Training sessions plus test cases, and the catalogue of the whole data set.

    Attributes
    ----------
    train : dict
        ``session id -> item array`` of the training sessions (whole sessions), in
        chronological order of session time when the split is temporal.
    test : TestCases
        The evaluation cases.
    items : ndarray
        Every item of the data set (the denominator of catalogue coverage).
    train_times : ndarray or None
        Session time of each training session (aligned with ``train``), for folds.
    protocol : str
        A short description of how the split was made.
    info : dict
        Extra counts (e.g. dropped test sessions).
    all_item_counts : pandas.Series or None
        Interaction counts over the whole data set (train and test), for reproducing the
        paper's popularity statistics; never used unless asked for.
    """

    train: dict
    test: TestCases
    items: np.ndarray
    train_times: np.ndarray | None = None
    protocol: str = ""
    info: dict = field(default_factory=dict)
    all_item_counts: pd.Series | None = None

    @property
    def n_items(self) -> int:
        """Number of items in the data set."""
        return len(self.items)

    def train_interactions(self) -> pd.DataFrame:
        """Training sessions as an interaction table (``session_id``, ``item_id``)."""
        sids = np.repeat(
            np.asarray(list(self.train.keys()), dtype=object), [len(s) for s in self.train.values()]
        )
        items = np.concatenate(list(self.train.values())) if self.train else np.array([])
        return pd.DataFrame({"session_id": sids, "item_id": items})

    def stats(self) -> dict:
        """Counts that describe the split."""
        n_train_inter = int(sum(len(s) for s in self.train.values()))
        return {
            "protocol": self.protocol,
            "n_items": self.n_items,
            "n_train_sessions": len(self.train),
            "n_train_interactions": n_train_inter,
            "n_train_items": len({i for s in self.train.values() for i in s.tolist()}),
            "n_test_cases": len(self.test),
            "mean_test_prompt_length": float(np.mean([len(p) for p in self.test.prompts]))
            if len(self.test)
            else 0.0,
            **self.info,
        }


def make_test_cases(
    session_ids: list, sequences: list, known_items: set | None = None, min_length: int = 2
) -> tuple[TestCases, int]:
    """Leave-last-out test cases from whole sessions.

    Items never seen in training (``known_items``) are deleted first, keeping the order of
    the rest; sessions left with fewer than ``min_length`` items are dropped.

    Returns
    -------
    cases : TestCases
    n_dropped : int
        Sessions dropped because they became too short.
    """
    sids, prompts, targets = [], [], []
    dropped = 0
    for sid, seq in zip(session_ids, sequences):
        if known_items is not None:
            seq = seq[
                np.fromiter((i in known_items for i in seq.tolist()), dtype=bool, count=len(seq))
            ]
        if len(seq) < max(min_length, 2):
            dropped += 1
            continue
        sids.append(sid)
        prompts.append(seq[:-1])
        targets.append(seq[-1])
    target_arr = np.empty(len(targets), dtype=object)
    target_arr[:] = targets
    if targets and all(isinstance(t, (int, np.integer)) for t in targets):
        target_arr = target_arr.astype(np.int64)
    return TestCases(sids, prompts, target_arr), dropped


def _sorted_sessions(df, session_col, item_col, time_col):
    session_col, item_col, time_col = infer_columns(df, session_col, item_col, time_col)
    if time_col is None:
        raise KeyError("a temporal split needs a time column (time_col=...)")
    keys, groups, max_times = _ordered_groups(df, session_col, item_col, time_col)
    # Sort sessions by (session time, session id): deterministic for ties.
    frame = pd.DataFrame({"t": max_times, "k": keys, "pos": np.arange(len(keys))})
    order = frame.sort_values(["t", "k"], kind="stable")["pos"].to_numpy()
    return [keys[i] for i in order], [groups[i] for i in order], np.asarray(max_times)[order]


def _unique_items(df, item_col) -> np.ndarray:
    return pd.unique(df[item_col])


def temporal_split(
    df: pd.DataFrame,
    test_frac: float = 0.2,
    filter_unknown_test_items: bool = True,
    min_test_length: int = 2,
    session_col: str | None = None,
    item_col: str | None = None,
    time_col: str | None = None,
) -> Split:
    """The paper's temporal session split (protocol P1).

    1. Session time = the largest timestamp of the session; sessions are sorted by
       (session time, session id) and the last ``ceil(test_frac * n_sessions)`` are test
       sessions, all others training sessions.
    2. In test sessions every item absent from the training sessions is deleted (order of
       the rest kept); test sessions left with fewer than ``min_test_length`` items are dropped.
    3. Test case = (all items but the last, the last item).

    Parameters
    ----------
    df : DataFrame
        Interactions with session, item and time columns (pandas, or any frame narwhals
        reads: polars, pyarrow, ...).
    test_frac : float, default=0.2
    filter_unknown_test_items : bool, default=True
    min_test_length : int, default=2
    session_col, item_col, time_col : str, optional

    Returns
    -------
    Split
    """
    if not 0 < test_frac < 1:
        raise ValueError(f"test_frac must be in (0, 1), got {test_frac}")
    df = as_pandas(df)
    _, item_col_, _ = infer_columns(df, session_col, item_col, time_col)
    if len(df) == 0:
        raise ValueError(
            "temporal_split got an empty interaction table (after filtering? kcore_filter "
            "removes every session shorter than its k)"
        )
    keys, groups, times = _sorted_sessions(df, session_col, item_col, time_col)
    n_test = math.ceil(test_frac * len(keys))
    n_train = len(keys) - n_test
    train = dict(zip(keys[:n_train], groups[:n_train]))
    known = {i for s in groups[:n_train] for i in s.tolist()} if filter_unknown_test_items else None
    cases, dropped = make_test_cases(keys[n_train:], groups[n_train:], known, min_test_length)
    if dropped:
        warnings.warn(
            f"temporal_split: {dropped} of {n_test} test sessions were dropped: fewer than "
            f"{min_test_length} items left after removing items unseen in training "
            "(split.info['n_test_sessions_dropped'])",
            UserWarning,
            stacklevel=2,
        )
    return Split(
        train=train,
        test=cases,
        items=_unique_items(df, item_col_),
        train_times=times[:n_train],
        protocol=f"temporal session split (test_frac={test_frac}, leave-last-out, "
        f"unknown test items {'removed' if filter_unknown_test_items else 'kept'})",
        info={"n_test_sessions": n_test, "n_test_sessions_dropped": dropped},
        all_item_counts=df[item_col_].value_counts(sort=False).astype(float),
    )


def temporal_folds(split: Split, n_folds: int = 3, min_test_length: int = 2) -> list[Split]:
    """Forward-chaining validation folds cut from the training sessions of a temporal split.

    The training sessions (sorted by session time) are cut into ``n_folds + 1`` equal bins;
    fold ``f`` trains on bins ``1..f`` and validates on bin ``f + 1`` with the same item
    filtering and leave-last-out rule as the test set. The test set is never touched.
    """
    if n_folds < 1:
        raise ValueError(f"n_folds must be >= 1, got {n_folds}")
    keys = list(split.train.keys())
    seqs = list(split.train.values())
    bins = np.array_split(np.arange(len(keys)), n_folds + 1)
    folds = []
    for f in range(1, n_folds + 1):
        train_idx = np.concatenate(bins[:f])
        val_idx = bins[f]
        train = {keys[i]: seqs[i] for i in train_idx}
        known = {i for s in train.values() for i in s.tolist()}
        cases, dropped = make_test_cases(
            [keys[i] for i in val_idx], [seqs[i] for i in val_idx], known, min_test_length
        )
        if len(cases) == 0:
            raise ValueError(
                f"temporal validation fold {f}/{n_folds} has no validation cases: "
                f"{len(keys)} training sessions are too few for {n_folds} folds (each fold "
                f"validates on about {len(keys) // (n_folds + 1)} sessions, of which a case "
                "needs at least two items and a last item seen in the fold's training); use "
                "fewer folds"
            )
        folds.append(
            Split(
                train=train,
                test=cases,
                items=split.items,
                train_times=None if split.train_times is None else split.train_times[train_idx],
                protocol=f"temporal validation fold {f}/{n_folds}",
                info={"fold": f, "n_validation_sessions_dropped": dropped},
            )
        )
    return folds


def leave_one_out_split(
    df: pd.DataFrame,
    validation: bool = False,
    session_col: str | None = None,
    item_col: str | None = None,
    time_col: str | None = None,
) -> Split:
    """Per-user leave-one-out (protocol P2).

    With ``validation=False`` each user's last item is the test target and the rest is
    both the prompt and the training sequence. With ``validation=True`` the second-last
    item is the target and training sequences stop before it (for model selection).
    Users with fewer than 3 interactions are skipped.
    """
    df = as_pandas(df)
    session_col, item_col, time_col = infer_columns(df, session_col, item_col, time_col)
    keys, groups, _ = _ordered_groups(df, session_col, item_col, time_col)
    cut = 2 if validation else 1
    keep = [i for i, g in enumerate(groups) if len(g) >= 3]
    train = {keys[i]: groups[i][:-cut] for i in keep}
    targets = np.empty(len(keep), dtype=object)
    targets[:] = [groups[i][-cut] for i in keep]
    if len(keep) and all(isinstance(t, (int, np.integer)) for t in targets):
        targets = targets.astype(np.int64)
    cases = TestCases([keys[i] for i in keep], [groups[i][:-cut] for i in keep], targets)
    return Split(
        train=train,
        test=cases,
        items=_unique_items(df, item_col),
        protocol=f"leave-one-out ({'validation' if validation else 'test'} target)",
    )


def inner_validation_split(
    n_sessions: int,
    frac: float = 0.1,
    max_sessions: int | None = 500,
    random_state: int | np.random.Generator | None = None,
    strategy: Literal["random", "temporal"] = "random",
    times: ArrayLike | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Hold out sessions for early stopping (the paper: min(ceil(0.1 n), 500), removed from training).

    Parameters
    ----------
    n_sessions : int
    frac : float, default=0.1
    max_sessions : int or None, default=500
    random_state : int, Generator or None
        Used by ``strategy="random"``.
    strategy : {"random", "temporal"}, default="random"
        ``"random"`` draws the sessions uniformly (the paper). ``"temporal"`` holds out the
        latest ones, as the test split does: the largest ``times`` (ties broken by
        position), or the last positions when ``times`` is None.
    times : array-like of shape (n_sessions,), optional
        Session times (e.g. each session's largest timestamp) for ``"temporal"``.

    Returns
    -------
    train_idx, val_idx : ndarray of int
        Sorted indices into the session list.

    Examples
    --------
    >>> tr, va = inner_validation_split(20, frac=0.1, random_state=0)
    >>> len(tr), len(va), sorted(set(tr) | set(va)) == list(range(20))
    (18, 2, True)
    >>> inner_validation_split(5, frac=0.4, strategy="temporal", times=[9, 1, 8, 2, 3])[1].tolist()
    [0, 2]
    """
    if not 0 < frac < 1:
        raise ValueError(f"frac must be in (0, 1), got {frac}")
    if strategy not in ("random", "temporal"):
        raise ValueError(f"strategy must be 'random' or 'temporal', got {strategy!r}")
    n_val = math.ceil(frac * n_sessions)
    if max_sessions is not None:
        n_val = min(n_val, max_sessions)
    if strategy == "random":
        rng = np.random.default_rng(random_state)
        val = np.sort(rng.choice(n_sessions, size=n_val, replace=False))
    else:
        if times is None:
            order = np.arange(n_sessions)
        else:
            times = np.asarray(times)
            if times.shape != (n_sessions,):
                raise ValueError(f"times must have shape ({n_sessions},), got {times.shape}")
            order = np.lexsort((np.arange(n_sessions), times))  # by time, then position
        val = np.sort(order[n_sessions - n_val :])
    train = np.setdiff1d(np.arange(n_sessions), val)
    return train, val
