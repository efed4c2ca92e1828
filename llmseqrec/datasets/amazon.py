"""Amazon review data: the 2014 McAuley-lab files and the CSV layout of the Beauty benchmark."""

from __future__ import annotations

import ast
import gzip
import html
import json
import os
import re
from pathlib import Path

import pandas as pd

from ._base import InteractionDataset, RemoteFile, download, get_data_home

__all__ = [
    "clean_text",
    "load_amazon_csv",
    "load_beauty",
    "load_amazon_reviews",
    "fetch_amazon_reviews",
]

_AMAZON_2014 = "http://snap.stanford.edu/data/amazon/productGraph/categoryFiles"


def clean_text(text: object) -> str:
    """Unescape HTML entities (``&amp;``, ``&eacute;`` ...) and collapse whitespace; NaN -> ``""``.

    >>> clean_text("Rose &amp; Oud  &eacute;dition")
    'Rose & Oud édition'
    """
    if not isinstance(text, str):
        return ""
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


def load_amazon_csv(path: str | os.PathLike[str], name: str = "amazon") -> InteractionDataset:
    """Load the ``interactions.csv.gz`` + ``items.csv.gz`` layout.

    ``interactions.csv.gz`` has ``user_id,item_id,timestamp`` in canonical order (the file
    order decides same-day ties); ``items.csv.gz`` has ``item_id,title``. Ids are read as
    strings (ASINs such as ``0205616461`` keep their leading zeros).
    """
    path = Path(path)
    inter_file, items_file = path / "interactions.csv.gz", path / "items.csv.gz"
    for f in (inter_file, items_file):
        if not f.exists():
            raise FileNotFoundError(
                f"{f} not found: expected interactions.csv.gz and items.csv.gz in {path}"
            )
    inter = pd.read_csv(inter_file, dtype={"user_id": str, "item_id": str, "timestamp": "int64"})
    inter = inter.rename(columns={"user_id": "session_id"})[["session_id", "item_id", "timestamp"]]
    items = pd.read_csv(items_file, dtype={"item_id": str, "title": str}, keep_default_na=False)
    items["title"] = items["title"].map(clean_text)
    return InteractionDataset(name=name, interactions=inter, items=items.set_index("item_id"))


def load_beauty(path: str | os.PathLike[str] | None = None) -> InteractionDataset:
    """Amazon Beauty 5-core (22,363 sessions, 12,101 items, 198,502 interactions).

    Parameters
    ----------
    path : str or Path, optional
        Folder with ``interactions.csv.gz`` and ``items.csv.gz``; default
        ``<data home>/beauty`` (see :func:`~llmseqrec.datasets.get_data_home`). To build
        the data from the original 2014 files instead, use :func:`fetch_amazon_reviews`.
    """
    return load_amazon_csv(path or get_data_home() / "beauty", name="beauty")


def _read_lines(path: Path):
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                yield line


def _parse_record(line: str) -> dict:
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return ast.literal_eval(line)  # the 2014 metadata uses Python-dict quoting


def load_amazon_reviews(
    reviews_path: str | os.PathLike[str],
    meta_path: str | os.PathLike[str] | None = None,
    name: str = "amazon",
) -> InteractionDataset:
    """Load the 2014 ``reviews_<Category>_5.json.gz`` (+ ``meta_<Category>.json.gz``) files.

    A session is a reviewer's history (``reviewerID``), ordered by ``unixReviewTime``;
    same-day reviews keep file order. Item texts come from the metadata: ``title``,
    ``brand`` and ``category`` (the deepest level of the first category path). Items
    without a title get an empty one.
    """
    rows = [
        (r["reviewerID"], r["asin"], int(r["unixReviewTime"]))
        for r in map(_parse_record, _read_lines(Path(reviews_path)))
    ]
    inter = pd.DataFrame(rows, columns=["session_id", "item_id", "timestamp"])
    item_ids = pd.unique(inter["item_id"])
    items = pd.DataFrame(
        index=pd.Index(item_ids, name="item_id"), columns=["title", "brand", "category"], data=""
    )
    if meta_path is not None:
        wanted = set(item_ids)
        for record in map(_parse_record, _read_lines(Path(meta_path))):
            asin = record.get("asin")
            if asin in wanted:
                cats = record.get("categories") or [[]]
                items.loc[asin] = [
                    clean_text(record.get("title")),
                    clean_text(record.get("brand")),
                    clean_text(cats[0][-1] if cats and cats[0] else ""),
                ]
    return InteractionDataset(name=name, interactions=inter, items=items)


def fetch_amazon_reviews(
    category: str = "Beauty", data_home: str | os.PathLike[str] | None = None
) -> InteractionDataset:
    """Download the 2014 5-core reviews and metadata of a category, then load them.

    Files come from the McAuley lab's Amazon product data pages and are cached in
    ``<data home>/amazon2014``. The publisher gives no checksums: a warning reports the
    SHA-256 of what was downloaded. Note that these files list same-day reviews in ASIN
    order, which biases the held-out last item; the Beauty benchmark data fixes a random
    tie order, and :func:`llmseqrec.data.shuffle_ties` gives these files one
    (see ``docs/data.md``).
    """
    directory = get_data_home(data_home) / "amazon2014"
    reviews = download(
        RemoteFile(f"{_AMAZON_2014}/reviews_{category}_5.json.gz", f"reviews_{category}_5.json.gz"),
        directory,
    )
    meta = download(
        RemoteFile(f"{_AMAZON_2014}/meta_{category}.json.gz", f"meta_{category}.json.gz"), directory
    )
    return load_amazon_reviews(reviews, meta, name=category.lower())
