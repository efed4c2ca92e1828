"""Data structures and preprocessing: item index, sequences, metadata, splits."""

from ._ids import PAD, ItemIndex
from ._metadata import item_table
from ._preprocess import drop_repeated_interactions, kcore_filter, shuffle_ties
from ._sequences import as_sequences, infer_columns, session_times, to_sequences
from ._splits import (
    Split,
    TestCases,
    inner_validation_split,
    leave_one_out_split,
    make_test_cases,
    temporal_folds,
    temporal_split,
)

__all__ = [
    "PAD",
    "ItemIndex",
    "item_table",
    "kcore_filter",
    "drop_repeated_interactions",
    "shuffle_ties",
    "to_sequences",
    "as_sequences",
    "session_times",
    "infer_columns",
    "Split",
    "TestCases",
    "temporal_split",
    "temporal_folds",
    "leave_one_out_split",
    "inner_validation_split",
    "make_test_cases",
]
