"""Your own files wherever a built-in data set goes (issue 25): the loader, a benchmark
configuration and the CLI's --interactions/--items; the library logs instead of printing."""

import json
import logging

import pandas as pd
import pytest

from llmseqrec.benchmark import load_config, run_benchmark
from llmseqrec.cli import main
from llmseqrec.datasets import load_interaction_files, make_synthetic_sessions


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The synthetic data written as a user would have it: other column names, shuffled rows."""
    ds = make_synthetic_sessions(n_sessions=120, random_state=0)
    folder = tmp_path_factory.mktemp("own")
    clicks = ds.interactions.rename(
        columns={"session_id": "visitor", "item_id": "sku", "timestamp": "ts"}
    ).sample(frac=1.0, random_state=0)
    clicks.to_csv(folder / "clicks.csv", index=False)
    ds.items.reset_index().rename(columns={"item_id": "sku"}).to_csv(
        folder / "products.csv", index=False
    )
    return folder, ds


def test_the_loader_reads_named_columns_and_restores_time_order(files):
    folder, ds = files
    data = load_interaction_files(
        folder / "clicks.csv", folder / "products.csv", "visitor", "sku", "ts"
    )
    assert data.name == "clicks"
    assert list(data.interactions.columns) == ["session_id", "item_id", "timestamp"]
    original = ds.interactions.groupby("session_id", sort=False)["item_id"].agg(list)
    loaded = data.interactions.groupby("session_id", sort=False)["item_id"].agg(list)
    assert loaded.sort_index().equals(original.sort_index())
    assert data.items.index.name == "item_id" and "title" in data.items.columns


def test_a_file_without_a_time_column_or_of_another_kind_is_a_clear_error(tmp_path):
    pd.DataFrame({"user_id": [1], "item_id": ["a"]}).to_csv(tmp_path / "x.csv", index=False)
    with pytest.raises(ValueError, match="no time column"):
        load_interaction_files(tmp_path / "x.csv")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(ValueError, match="use a .csv, .tsv or .parquet file"):
        load_interaction_files(tmp_path / "x.json")


def test_a_benchmark_configuration_runs_on_your_files(files, tmp_path):
    folder, _ = files
    config = load_config(
        {
            "name": "mine",
            "interactions": str(folder / "clicks.csv"),
            "items": str(folder / "products.csv"),
            "columns": {"session": "visitor", "item": "sku", "time": "ts"},
            "seeds": [0],
            "models": {"MostPopular": {}, "SKNN": {"k": 20, "sample_size": 50}},
        }
    )
    assert config.dataset == "clicks"
    summary = run_benchmark(config, tmp_path / "out")
    ndcg = summary[(summary.metric == "NDCG") & (summary.k == 20)].set_index("model")["mean"]
    assert ndcg["SKNN"] > ndcg["MostPopular"]


def test_the_cli_takes_your_files_and_logs_at_the_level_asked(files, tmp_path, caplog, capsys):
    folder, _ = files
    argv = [
        "benchmark", "--interactions", str(folder / "clicks.csv"), "--items",
        str(folder / "products.csv"), "--session-col", "visitor", "--item-col", "sku",
        "--time-col", "ts", "-m", "MostPopular", "--seeds", "0", "--out", str(tmp_path / "b"),
    ]  # fmt: skip
    with caplog.at_level(logging.INFO, logger="llmseqrec"):
        assert main(argv) == 0
    assert any("Loading clicks" in r.getMessage() for r in caplog.records)
    assert json.loads((tmp_path / "b" / "config.json").read_text())["columns"]["item"] == "sku"
    assert "Loading clicks" in capsys.readouterr().err  # the CLI's handler: stderr
    assert main(["-q", *argv]) == 0  # resumes; -q: nothing on stderr
    assert capsys.readouterr().err == ""


def test_the_cli_search_takes_your_files(files, tmp_path):
    pytest.importorskip("optuna")
    folder, _ = files
    config = tmp_path / "search.toml"
    config.write_text(
        'name = "mine"\ndataset = "mine"\n[models.knn]\nmodel = "SKNN"\nsample_size = 50\n'
        "[search.knn]\nn_trials = 2\nspace = { k = [5, 50] }\n"
    )
    argv = [
        "-q", "search", str(config), "--model", "knn", "--interactions",
        str(folder / "clicks.csv"), "--session-col", "visitor", "--item-col", "sku",
        "--time-col", "ts", "--out", str(tmp_path / "s"),
    ]  # fmt: skip
    assert main(argv) == 0
    best = json.loads((tmp_path / "s" / "best_params.json").read_text())
    assert best["params"]["k"] in (5, 50) and best["n_trials"] == 2


def test_items_without_interactions_is_a_clear_error(capsys):
    assert (
        main(["benchmark", "--dataset", "synthetic", "--items", "x.csv", "-m", "MostPopular"]) == 1
    )
    assert "--items needs --interactions" in capsys.readouterr().err
