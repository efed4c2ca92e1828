"""Item metadata: one row of text fields per catalogue item."""

from __future__ import annotations

import pandas as pd

from ._frames import as_pandas

__all__ = ["item_table"]


def item_table(df: pd.DataFrame, id_col: str = "item_id") -> pd.DataFrame:
    """Validate an item metadata table and index it by item id.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per item with an id column and text fields (``title``, ``brand``, ...).
    id_col : str, default="item_id"
        The id column; if it is already the index name, the index is used.

    Returns
    -------
    pandas.DataFrame
        Indexed by item id (index name ``item_id``), one row per item.

    Examples
    --------
    >>> t = item_table(pd.DataFrame({"item_id": ["a", "b"], "title": ["Red", "Blue"]}))
    >>> t.loc["b", "title"]
    'Blue'
    """
    df = as_pandas(df)
    if not isinstance(df, pd.DataFrame):
        raise TypeError(
            f"item metadata must be a pandas DataFrame with an {id_col!r} column (or index) "
            f"and text columns such as 'title'; got {type(df).__name__}"
        )
    if df.index.name == id_col and id_col not in df.columns:
        table = df.copy()
    elif id_col in df.columns:
        table = df.set_index(id_col)
    else:
        raise KeyError(
            f"item metadata needs an {id_col!r} column (or index); got {list(df.columns)}"
        )
    if table.index.has_duplicates:
        dup = table.index[table.index.duplicated()][:5].tolist()
        raise ValueError(f"item metadata has duplicated item ids, e.g. {dup}")
    table.index.name = "item_id"
    return table
