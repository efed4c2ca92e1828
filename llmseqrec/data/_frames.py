"""Any dataframe in, pandas inside: narwhals reads polars, pyarrow, modin, ... frames."""

from __future__ import annotations

import pandas as pd

__all__ = ["as_pandas"]


def as_pandas(obj):
    """``obj`` as a pandas DataFrame when it is a dataframe of any library narwhals knows
    (pandas, polars, pyarrow, ...); anything else is returned unchanged.

    Columns are copied one by one through numpy, so a polars frame needs neither pyarrow
    nor a polars-specific code path, and no frame library is a dependency.

    Examples
    --------
    >>> as_pandas({"a": [1]}) == {"a": [1]}
    True
    """
    if isinstance(obj, (pd.DataFrame, pd.Series, dict, list, tuple)) or obj is None:
        return obj
    try:
        import narwhals.stable.v1 as nw
    except ImportError:  # pragma: no cover - narwhals is a dependency
        return obj
    try:
        frame = nw.from_native(obj, eager_only=True)
    except TypeError:  # not a dataframe narwhals knows
        return obj
    return pd.DataFrame({name: frame.get_column(name).to_numpy() for name in frame.columns})
