"""Evaluating a recommender on a split: fit if needed, predict every test prompt, score."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..data import Split
from ..metrics import compute_metrics, item_counts_from

if TYPE_CHECKING:
    from ..base import Recommender

__all__ = ["evaluate"]


def evaluate(
    model: Recommender,
    split: Split,
    k: int | Iterable[int] = (10, 20),
    popularity: Literal["train", "train+test"] = "train",
    fit_params: dict | None = None,
    batch_size: int = 2048,
    show_progress: bool = True,
) -> pd.DataFrame:
    """Fit (if needed) and evaluate a recommender on a split's test cases.

    Parameters
    ----------
    model : Recommender
        Fitted, or unfitted (then fitted on ``split.train`` with ``fit_params``).
    split : Split
        From :func:`~llmseqrec.data.temporal_split` and friends.
    k : int or tuple of int, default=(10, 20)
    popularity : {"train", "train+test"}, default="train"
        Item counts used by serendipity and novelty: the training sessions (sound), or all
        interactions of the data set as the paper's code counted them (leaks test data;
        for comparison only).
    fit_params : dict, optional
        Extra ``fit`` arguments, e.g. ``{"item_metadata": items}``.
    batch_size : int, default=2048
        Test prompts per ``predict`` call (the progress bar advances per batch).
    show_progress : bool, default=True

    Returns
    -------
    pandas.DataFrame
        Columns ``metric``, ``k``, ``value``; ``df.attrs`` holds timings and counts. The
        figures are also kept in ``model.evaluation_``, and a saved model's card shows them.
    """
    if popularity not in ("train", "train+test"):
        raise ValueError(f"popularity must be 'train' or 'train+test', got {popularity!r}")
    ks = (k,) if isinstance(k, (int, np.integer)) else tuple(k)
    if split.test is None or len(split.test) == 0:
        raise ValueError(
            f"the split ({split.protocol or 'no protocol'}) has no test cases: every metric "
            "would be 0.0; a test session needs at least two items whose last one was seen "
            "in training"
        )
    fit_seconds = 0.0
    if not model.__sklearn_is_fitted__():
        start = time.perf_counter()
        model.fit(split.train, **(fit_params or {}))
        fit_seconds = time.perf_counter() - start
    prompts = split.test.prompts
    start = time.perf_counter()
    chunks = []
    for s in tqdm(
        range(0, len(prompts), batch_size),
        desc=f"predict {type(model).__name__}",
        disable=not show_progress,
        leave=False,
    ):
        recs = model.predict(prompts[s : s + batch_size], k=max(ks))
        chunks.extend(list(row) for row in recs)
    predict_seconds = time.perf_counter() - start
    if popularity == "train":
        counts = item_counts_from(split.train.values())
    else:
        if split.all_item_counts is None:
            raise ValueError("popularity='train+test' needs a split that recorded all item counts")
        counts = split.all_item_counts
    table = compute_metrics(
        chunks, split.test.targets, ks, n_items=split.n_items, item_counts=counts
    )
    table.attrs.update(
        {
            "n_cases": len(prompts),
            "fit_seconds": fit_seconds,
            "predict_seconds": predict_seconds,
            "popularity": popularity,
        }
    )
    # Kept on the model for its model card (save writes it into README.md and config.json).
    model.evaluation_ = {
        "protocol": f"{split.protocol or 'a split'}: {len(prompts)} test cases",
        "metrics": [
            [str(m), int(kk), float(v)]
            for m, kk, v in table[["metric", "k", "value"]].itertuples(index=False)
        ],
    }
    return table
