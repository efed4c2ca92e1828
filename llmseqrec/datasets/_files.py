"""Your own data from files: interactions (and item texts) as CSV, TSV or Parquet."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..data import infer_columns, item_table
from ..data._sequences import check_interactions
from ..exceptions import OptionalDependencyError
from ._base import InteractionDataset

__all__ = ["read_table", "load_interaction_files"]


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a ``.csv``, ``.tsv`` (tab-separated) or ``.parquet`` file into pandas.

    Parquet needs pyarrow or fastparquet (``pip install pyarrow``).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    suffix = "".join(path.suffixes[-2:]) if path.suffix == ".gz" else path.suffix
    if suffix in (".csv", ".csv.gz"):
        return pd.read_csv(path)
    if suffix in (".tsv", ".tsv.gz"):
        return pd.read_csv(path, sep="\t")
    if suffix == ".parquet":
        try:
            return pd.read_parquet(path)
        except ImportError as exc:
            raise OptionalDependencyError(
                f"reading {path} needs a Parquet engine: pip install pyarrow ({exc})"
            ) from exc
    raise ValueError(f"{path}: use a .csv, .tsv or .parquet file (got {path.suffix!r})")


def load_interaction_files(
    interactions: str | os.PathLike[str],
    items: str | os.PathLike[str] | None = None,
    session_col: str | None = None,
    item_col: str | None = None,
    time_col: str | None = None,
    name: str | None = None,
) -> InteractionDataset:
    """An :class:`InteractionDataset` from your files.

    Parameters
    ----------
    interactions : str or Path
        One row per interaction: a session (or user) column, an item column and a time
        column (``session_id``/``user_id``, ``item_id``, ``timestamp`` unless named).
    items : str or Path, optional
        One row per item: an ``item_id`` column (or the interactions' item column name)
        and text columns such as ``title``. Without it, the text-based models cannot run.
    session_col, item_col, time_col : str, optional
    name : str, optional
        Default: the interactions file's name without its suffix.

    Returns
    -------
    InteractionDataset
        Columns renamed to ``session_id``, ``item_id``, ``timestamp``; rows in time order
        within each session (stable: ties keep their file order).
    """
    df = read_table(interactions)
    s, i, t = infer_columns(df, session_col, item_col, time_col)
    if t is None:
        raise ValueError(
            f"{interactions}: no time column among {list(df.columns)}; the temporal protocols "
            "need one (name it timestamp, or pass time_col)"
        )
    df = df.rename(columns={s: "session_id", i: "item_id", t: "timestamp"})
    df = df[["session_id", "item_id", "timestamp"]]
    check_interactions(df, "session_id", "item_id", "timestamp")
    codes = pd.factorize(df["session_id"], sort=False)[0]
    # sessions in order of first appearance, each in time order (stable: ties keep file order)
    df = df.iloc[np.lexsort((df["timestamp"].to_numpy(), codes))].reset_index(drop=True)
    if items is not None:
        table = read_table(items)
        id_col = "item_id" if "item_id" in table.columns else i
        meta = item_table(table, id_col=id_col)
    else:
        meta = pd.DataFrame(index=pd.Index(df["item_id"].unique(), name="item_id"))
    return InteractionDataset(
        name=name or Path(interactions).name.split(".")[0], interactions=df, items=meta
    )
