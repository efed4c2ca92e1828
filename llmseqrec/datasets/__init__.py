"""Data set loaders, downloaders and synthetic data."""

from ._base import InteractionDataset, RemoteFile, download, get_data_home
from ._files import load_interaction_files, read_table
from ._synthetic import make_synthetic_sessions
from .amazon import (
    clean_text,
    fetch_amazon_reviews,
    load_amazon_csv,
    load_amazon_reviews,
    load_beauty,
)
from .movielens import fetch_movielens, load_movielens, load_movielens_atomic

__all__ = [
    "InteractionDataset",
    "RemoteFile",
    "download",
    "get_data_home",
    "make_synthetic_sessions",
    "clean_text",
    "load_amazon_csv",
    "load_beauty",
    "load_amazon_reviews",
    "fetch_amazon_reviews",
    "load_movielens",
    "load_movielens_atomic",
    "fetch_movielens",
    "load_interaction_files",
    "read_table",
]
