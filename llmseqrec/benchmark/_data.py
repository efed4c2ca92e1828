"""Data sets and splits for the benchmark protocols."""

from __future__ import annotations

from pathlib import Path

from ..data import leave_one_out_split, temporal_folds, temporal_split
from ..datasets import (
    fetch_movielens,
    load_beauty,
    load_interaction_files,
    load_movielens,
    load_movielens_atomic,
    make_synthetic_sessions,
)

__all__ = ["load_benchmark_data", "make_split", "validation_folds"]


def load_benchmark_data(dataset: str, data_dir: str | None = None, config=None):
    """``beauty``, ``ml-100k`` (downloaded when no folder is given) or ``synthetic``; or
    your own files when ``config`` (a :class:`BenchmarkConfig`) names ``interactions``."""
    if config is not None and config.interactions:
        columns = config.columns or {}
        return load_interaction_files(
            config.interactions,
            config.items,
            session_col=columns.get("session"),
            item_col=columns.get("item"),
            time_col=columns.get("time"),
            name=dataset,
        )
    if dataset == "beauty":
        return load_beauty(data_dir)
    if dataset == "ml-100k":
        if data_dir is None:
            return fetch_movielens("100k")
        path = Path(data_dir)
        return load_movielens(path) if (path / "u.data").exists() else load_movielens_atomic(path)
    if dataset == "synthetic":
        return make_synthetic_sessions(n_sessions=400, random_state=0)
    raise ValueError(
        f"unknown dataset {dataset!r}; use 'beauty', 'ml-100k' or 'synthetic', or your own "
        "files (CLI: --interactions FILE [--items FILE]; configuration: interactions = ...)"
    )


def make_split(data, protocol: str):
    """P1/P3: the temporal session split; P2: per-user leave-one-out."""
    if protocol == "P2":
        return leave_one_out_split(data.interactions)
    return temporal_split(data.interactions)


def validation_folds(data, protocol: str, n_folds: int = 3):
    """Model-selection folds (never the test set): temporal folds, or LOO's second-last item."""
    if protocol == "P2":
        return [leave_one_out_split(data.interactions, validation=True)]
    return temporal_folds(temporal_split(data.interactions), n_folds=n_folds)
