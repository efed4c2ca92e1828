import json
import warnings

import numpy as np
import pandas as pd
import pytest

from llmseqrec.benchmark import (
    ConfigError,
    ResultsDirectoryError,
    load_config,
    parse_model_option,
    run_benchmark,
    run_search,
    write_section,
)
from llmseqrec.cli import main

BASE = {"name": "t", "dataset": "synthetic", "seeds": [0, 1]}


def test_config_parsing_and_clear_errors(tmp_path):
    cfg = load_config(
        {
            **BASE,
            "models": {"pop": {"model": "MostPopular", "exclude_seen": False}, "SKNN": {"k": 10}},
        }
    )
    assert [m.label for m in cfg.models] == ["pop", "SKNN"] and cfg.models[0].params == {
        "exclude_seen": False
    }
    with pytest.raises(ConfigError, match="unknown model 'NoSuchRec'"):
        load_config({**BASE, "models": {"x": {"model": "NoSuchRec"}}})
    with pytest.raises(ConfigError, match=r"has no parameter\(s\) \['kk'\]"):
        load_config({**BASE, "models": {"SKNN": {"kk": 3}}})
    with pytest.raises(ConfigError, match="unknown top-level keys"):
        load_config({**BASE, "modles": {}})
    with pytest.raises(ConfigError, match="protocol"):
        load_config({**BASE, "protocol": "P9"})
    with pytest.raises(ConfigError, match="no model with that label"):
        load_config({**BASE, "search": {"SKNN": {"space": {"k": [1, 2]}}}})
    with pytest.raises(ConfigError, match="low/high"):
        load_config({**BASE, "models": {"SKNN": {}}, "search": {"SKNN": {"space": {"k": 5}}}})
    toml = tmp_path / "c.toml"
    toml.write_text(
        'dataset = "synthetic"\n[models.SKNN]\nk = 7\n[models.enc]\nmodel = "LLMSeqSim"\nitem_embeddings = { component = "ItemTextEncoder", backend = "tfidf" }\n'
    )
    cfg = load_config(toml)
    assert cfg.name == "c" and cfg.models[0].params == {"k": 7}


def test_parse_model_option():
    spec = parse_model_option("fast=SKNN:k=5,sampling=random,idf_weighting=true")
    assert (spec.label, spec.model, spec.params) == (
        "fast",
        "SKNN",
        {"k": 5, "sampling": "random", "idf_weighting": True},
    )
    assert parse_model_option("MostPopular").label == "MostPopular"
    with pytest.raises(ConfigError):
        parse_model_option("SKNN:k")


def test_end_to_end_resume_and_conflicts(tmp_path):
    cfg = load_config(
        {**BASE, "models": {"MostPopular": {}, "SKNN": {"k": 20, "sampling": "random"}}}
    )
    logs = []
    summary = run_benchmark(cfg, tmp_path / "r", log=logs.append)
    runs = sorted(p.name for p in (tmp_path / "r" / "runs").iterdir())
    assert runs == ["MostPopular__seedNone.json", "SKNN__seed0.json", "SKNN__seed1.json"]
    for name in ("results.csv", "summary.csv", "results.json", "results.md"):
        assert (tmp_path / "r" / name).exists()
    ndcg = summary.query("metric == 'NDCG' and k == 20").set_index("model")["mean"]
    assert ndcg["SKNN"] > ndcg["MostPopular"]
    assert summary.query("model == 'SKNN' and metric == 'NDCG' and k == 20")["n_runs"].item() == 2
    assert "fit_seconds" in set(summary["metric"])
    # Re-running resumes: nothing is refitted.
    logs.clear()
    run_benchmark(cfg, tmp_path / "r", log=logs.append)
    assert sum("skipped (resume)" in line for line in logs) == 3
    # A partly finished run: delete one run file, only it is recomputed.
    (tmp_path / "r" / "runs" / "SKNN__seed1.json").unlink()
    logs.clear()
    run_benchmark(cfg, tmp_path / "r", log=logs.append)
    assert sum("skipped (resume)" in line for line in logs) == 2
    # Same label, other parameters: refuses instead of mixing results.
    changed = load_config({**BASE, "models": {"SKNN": {"k": 5}}})
    with pytest.raises(ResultsDirectoryError, match="different 'SKNN'"):
        run_benchmark(changed, tmp_path / "r", log=logs.append)
    # More seeds resume: only the new seed is fitted.
    logs.clear()
    models = {"MostPopular": {}, "SKNN": {"k": 20, "sampling": "random"}}
    more_seeds = load_config({**BASE, "seeds": [0, 1, 2], "models": models})
    run_benchmark(more_seeds, tmp_path / "r", log=logs.append)
    assert sum("skipped (resume)" in line for line in logs) == 3
    assert (tmp_path / "r" / "runs" / "SKNN__seed2.json").exists()
    # A call that fits one seed still reports every finished run, and names their seeds.
    run_benchmark(load_config({**BASE, "seeds": [1], "models": models}), tmp_path / "r")
    table = (tmp_path / "r" / "results.md").read_text()
    assert "| SKNN | 3 (seeds 0, 1, 2) |" in table and "| MostPopular | 1 |" in table
    # Another protocol is another experiment: refused unless overwrite.
    other = load_config({**BASE, "protocol": "P3", "models": {"MostPopular": {}}})
    with pytest.raises(ResultsDirectoryError, match="protocol"):
        run_benchmark(other, tmp_path / "r", log=logs.append)
    run_benchmark(other, tmp_path / "r", overwrite=True, log=logs.append)
    assert sorted(p.name for p in (tmp_path / "r" / "runs").iterdir()) == [
        "MostPopular__seedNone.json"
    ]


def test_new_search_result_is_not_taken_for_the_old_run(tmp_path):
    best = tmp_path / "best_params.json"
    best.write_text(json.dumps({"params": {"k": 5}}))
    cfg = load_config({**BASE, "seeds": [0], "models": {"SKNN": {"params_from": str(best)}}})
    run_benchmark(cfg, tmp_path / "r", log=lambda *_: None)
    best.write_text(json.dumps({"params": {"k": 9}}))
    with pytest.raises(ResultsDirectoryError, match="different 'SKNN'"):
        run_benchmark(cfg, tmp_path / "r", log=lambda *_: None)
    run_benchmark(cfg, tmp_path / "r", overwrite=True, log=lambda *_: None)
    run = json.loads((tmp_path / "r" / "runs" / "SKNN__seed0.json").read_text())
    assert run["params"]["k"] == "9"


def test_search_on_validation_folds_writes_best_params(tmp_path):
    cfg = load_config(
        {
            **BASE,
            "models": {"SKNN": {"sample_size": 100}},
            "search": {
                "SKNN": {
                    "n_trials": 6,
                    "space": {
                        "k": {"low": 2, "high": 40, "log": True},
                        "similarity": ["cosine", "dot"],
                    },
                }
            },
        }
    )
    best = run_search(cfg, "SKNN", tmp_path / "s", log=lambda *_: None)
    saved = json.loads((tmp_path / "s" / "best_params.json").read_text())
    assert saved["params"]["sample_size"] == 100 and 2 <= saved["params"]["k"] <= 40
    assert (
        saved["validation_ndcg20"] == best["validation_ndcg20"] and len(saved["fold_ndcg20"]) == 3
    )
    trials = pd.read_csv(tmp_path / "s" / "trials.csv")
    assert len(trials) == 6
    # The best parameters feed a final run through params_from.
    final = load_config(
        {**BASE, "models": {"SKNN": {"params_from": str(tmp_path / "s" / "best_params.json")}}}
    )
    summary = run_benchmark(final, tmp_path / "final", log=lambda *_: None)
    assert summary.query("model == 'SKNN' and metric == 'NDCG' and k == 20")["mean"].item() > 0


def test_search_fixes_the_parameters_of_its_models_params_from(tmp_path):
    best = tmp_path / "other" / "best_params.json"
    best.parent.mkdir()
    best.write_text(json.dumps({"params": {"sample_size": 100, "k": 3}}))
    space = {"similarity": ["cosine"]}

    def search(models, out):
        cfg = load_config(
            {
                **BASE,
                "models": {"SKNN": models},
                "search": {"SKNN": {"n_trials": 1, "space": space}},
            }
        )
        return run_search(cfg, "SKNN", tmp_path / out, log=lambda *_: None)

    from_file = search({"params_from": str(best)}, "a")
    explicit = search({"sample_size": 100, "k": 3}, "b")
    other_k = search({"sample_size": 100, "k": 40}, "c")
    assert from_file["validation_ndcg20"] == explicit["validation_ndcg20"]
    assert from_file["validation_ndcg20"] != other_k["validation_ndcg20"]
    saved = json.loads((tmp_path / "a" / "best_params.json").read_text())
    assert saved["params"] == {"sample_size": 100, "k": 3, "similarity": "cosine"}
    # A params_from naming the search's own output is never read back.
    own = tmp_path / "d" / "best_params.json"
    own.parent.mkdir()
    own.write_text(json.dumps({"params": {"k": 3}}))
    search({"params_from": str(own), "sample_size": 100}, "d")
    assert json.loads(own.read_text())["params"] == {"sample_size": 100, "similarity": "cosine"}


def _sknn_search_config(n_trials):
    space = {"k": {"low": 2, "high": 40, "log": True}, "similarity": ["cosine", "dot"]}
    return load_config(
        {
            **BASE,
            "models": {"SKNN": {"sample_size": 100}},
            "search": {"SKNN": {"n_trials": n_trials, "space": space}},
        }
    )


def test_search_timeout_stops_starting_trials(tmp_path):
    import time

    cfg = _sknn_search_config(50)
    # Each trial outlasts the budget (its log line sleeps 1 s): the first trial starts and
    # finishes, no second one starts.
    best = run_search(cfg, "SKNN", tmp_path / "s", log=lambda *_: time.sleep(1.0), timeout=0.5)
    assert best["n_trials"] == 1 and best["timeout_s"] == 0.5
    assert len(pd.read_csv(tmp_path / "s" / "trials.csv")) == 1
    with pytest.raises(ValueError, match="timeout"):
        run_search(cfg, "SKNN", tmp_path / "t", log=lambda *_: None, timeout=0)


def test_interrupted_search_keeps_the_finished_trials(tmp_path):
    finished = []

    def log(message):
        if "mean validation" in message:
            finished.append(message)
            if len(finished) == 3:
                raise KeyboardInterrupt  # as if the user stopped the search in trial 2

    with pytest.raises(KeyboardInterrupt):
        run_search(_sknn_search_config(10), "SKNN", tmp_path / "s", log=log)
    saved = json.loads((tmp_path / "s" / "best_params.json").read_text())
    trials = pd.read_csv(tmp_path / "s" / "trials.csv")
    assert (trials["state"] == "COMPLETE").sum() == 2 and saved["n_trials"] == 2
    assert saved["validation_ndcg20"] == trials["value"].max()


def test_search_that_finishes_no_trial_says_how_to_fix_it(tmp_path):
    import optuna

    def log(message):
        if "mean validation" in message:
            raise optuna.TrialPruned()  # as if every trial were pruned

    with pytest.raises(RuntimeError, match="finished no trial.*--trials, --timeout"):
        run_search(_sknn_search_config(2), "SKNN", tmp_path / "s", log=log)
    assert not (tmp_path / "s" / "best_params.json").exists()
    trials = pd.read_csv(tmp_path / "s" / "trials.csv")
    assert (trials["state"] == "PRUNED").sum() == 2


def test_search_tries_enqueued_configurations_first(tmp_path):
    space = {"k": {"low": 2, "high": 40}, "similarity": ["cosine", "dot"]}
    starts = [{"k": 37, "similarity": "dot"}, {"k": 3, "similarity": "cosine"}]
    search = {"SKNN": {"n_trials": 3, "space": space, "enqueue": starts}}
    cfg = load_config({**BASE, "models": {"SKNN": {"sample_size": 100}}, "search": search})
    run_search(cfg, "SKNN", tmp_path / "s", log=lambda *_: None)
    trials = pd.read_csv(tmp_path / "s" / "trials.csv")
    assert trials[["params_k", "params_similarity"]].head(2).values.tolist() == [
        [37, "dot"],
        [3, "cosine"],
    ]
    with pytest.raises(ConfigError, match="outside the space"):
        load_config(
            {
                **BASE,
                "models": {"SKNN": {}},
                "search": {"SKNN": {"space": space, "enqueue": [{"k": 99}]}},
            }
        )


def test_cli_benchmark_writes_docs_section_and_plots(tmp_path):
    pytest.importorskip("matplotlib")
    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\nHand-written intro stays.\n")
    code = main(["benchmark", "--dataset", "synthetic", "-m", "MostPopular", "-m", "knn=SKNN:k=10", "--seeds", "0",
                 "--out", str(tmp_path / "res"), "--docs", str(docs), "--section", "synthetic", "--plots"])  # fmt: skip
    assert code == 0
    text = docs.read_text()
    assert (
        "Hand-written intro stays." in text
        and "<!-- BEGIN synthetic -->" in text
        and "| knn | 1 (seeds 0) |" in text
    )
    assert (tmp_path / "res" / "ndcg20.png").stat().st_size > 1000
    # Regenerating replaces the section instead of appending a second one.
    write_section(docs, "synthetic", "new table")
    assert (
        docs.read_text().count("<!-- BEGIN synthetic -->") == 1 and "new table" in docs.read_text()
    )


def test_cli_rejects_unknown_model_in_one_line_and_debug_shows_the_traceback(tmp_path, capsys):
    code = main(["benchmark", "--dataset", "synthetic", "-m", "Nope", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert err.startswith("llmseqrec: error: ") and "unknown model 'Nope'" in err
    assert len(err.strip().splitlines()) == 1
    with pytest.raises(ConfigError, match="unknown model"):
        main(
            ["--debug", "benchmark", "--dataset", "synthetic", "-m", "Nope", "--out", str(tmp_path)]
        )


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["benchmark", "no/such/config.toml"], "no/such/config.toml"),
        (["report", "no/such/results", "--docs", "x.md", "--section", "s"], "no/such/results"),
    ],
)
def test_cli_user_errors_are_one_line_naming_the_input(argv, expected, capsys, tmp_path):
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and expected in err and len(err.strip().splitlines()) == 1


def test_cli_seeds_that_are_not_integers_are_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["benchmark", "--dataset", "synthetic", "-m", "MostPopular", "--seeds", "a,b"])
    assert exit_info.value.code == 2
    assert "--seeds must be comma-separated integers" in capsys.readouterr().err


def test_neural_runs_record_training_speed(tmp_path):
    cfg = load_config(
        {
            **BASE,
            "seeds": [0],
            "models": {
                "SASRec": {"emb_dim": 8, "epochs": 2, "show_progress": False},
                "refitted": {
                    "model": "SASRec",
                    "emb_dim": 8,
                    "epochs": 2,
                    "refit": True,
                    "show_progress": False,
                },
            },
        }
    )
    summary = run_benchmark(cfg, tmp_path / "n", log=lambda *_: None)
    metrics = set(summary["metric"])
    assert {"seconds_per_epoch", "train_sequences_per_second", "epochs", "best_epoch"} <= metrics
    assert "train seq / s" in (tmp_path / "n" / "results.md").read_text()
    run = json.loads((tmp_path / "n" / "runs" / "SASRec__seed0.json").read_text())
    curve = run["inner_validation_ndcg20"]  # the early-stopping metric per epoch
    assert len(curve) == run["epochs"] == 2 and all(0.0 <= v <= 1.0 for v in curve)
    assert "refit_epochs" not in run
    refitted = json.loads((tmp_path / "n" / "runs" / "refitted__seed0.json").read_text())
    assert refitted["refit_epochs"] == max(1, refitted["best_epoch"])
    rows = {
        line.split(" | ")[0]: line
        for line in (tmp_path / "n" / "results.md").read_text().splitlines()
    }
    assert f"2 ({refitted['best_epoch']}) + {refitted['refit_epochs']} refit" in rows["| refitted"]
    assert "refit" not in rows["| SASRec"]


def test_hybrid_selection_is_reported(tmp_path):
    cfg = load_config(
        {
            **BASE,
            "seeds": [0],
            "models": {
                "switch": {
                    "model": "PopularitySwitch",
                    "popular": {"component": "SKNN", "k": 20, "sample_size": 100},
                    "unpopular": {"component": "MostPopular"},
                    "quantile": "auto",
                }
            },
        }
    )
    run_benchmark(cfg, tmp_path / "h", log=lambda *_: None)
    text = (tmp_path / "h" / "results.md").read_text()
    assert "Chosen on the validation folds" in text and "`quantile` = **" in text


def test_new_search_result_of_a_hybrid_component_is_a_changed_run(tmp_path):
    best = tmp_path / "best_params.json"
    best.write_text(json.dumps({"params": {"k": 5, "sample_size": 100}}))
    switch = {
        "model": "PopularitySwitch",
        "popular": {"component": "SKNN", "params_from": str(best)},
        "unpopular": {"component": "MostPopular"},
        "quantile": 0.5,
    }
    cfg = load_config({**BASE, "seeds": [0], "models": {"switch": switch}})
    run_benchmark(cfg, tmp_path / "h", log=lambda *_: None)
    best.write_text(json.dumps({"params": {"k": 9, "sample_size": 100}}))
    with pytest.raises(ResultsDirectoryError, match="different 'switch'"):
        run_benchmark(cfg, tmp_path / "h", log=lambda *_: None)


def test_pruner_stops_only_the_bottom_fifth():
    optuna = pytest.importorskip("optuna")
    from llmseqrec.benchmark._search import bottom_share_pruner

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", pruner=bottom_share_pruner(optuna, 0.2))
    for value in np.linspace(0.1, 1.0, 10):  # ten finished trials, one value each at fold 1
        trial = study.ask()
        trial.report(float(value), step=1)
        study.tell(trial, float(value))
    verdicts = {}
    for value in (0.05, 0.25, 0.5):
        trial = study.ask()
        trial.report(value, step=1)
        verdicts[value] = trial.should_prune()
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    # The 20th percentile of 0.1..1.0 is 0.28: below it pruned, above it kept.
    assert verdicts == {0.05: True, 0.25: True, 0.5: False}


def test_fitting_one_model_or_one_seed_keeps_every_finished_run_in_the_tables(tmp_path):
    models = {"MostPopular": {}, "SKNN": {"k": 20, "sampling": "random"}}
    cfg = load_config({**BASE, "seeds": [0, 1], "models": models})
    run_benchmark(cfg, tmp_path / "r", log=lambda *_: None)
    # Fit only SKNN at a new seed (as `--only SKNN --seeds 2` does): nothing else is fitted,
    # and the tables still hold MostPopular and SKNN's seeds 0 and 1.
    logs = []
    cfg_seed2 = load_config({**BASE, "seeds": [2], "models": models})
    summary = run_benchmark(cfg_seed2, tmp_path / "r", log=logs.append, only={"SKNN"})
    fitted = [line for line in logs if ": fitting on" in line]
    assert len(fitted) == 1 and "SKNN seed 2: fitting on" in fitted[0]
    ndcg = summary.query("metric == 'NDCG' and k == 20").set_index("model")
    assert set(ndcg.index) == {"MostPopular", "SKNN"}
    assert ndcg.loc["SKNN", "n_runs"] == 3 and ndcg.loc["MostPopular", "n_runs"] == 1
    csv = pd.read_csv(tmp_path / "r" / "results.csv")
    assert sorted(csv.query("model == 'SKNN'")["seed"].unique()) == [0, 1, 2]
    # A run on file at other parameters is not reported as this configuration's.
    changed = load_config({**BASE, "seeds": [0], "models": {"SKNN": {"k": 5}}})
    with pytest.raises(ResultsDirectoryError, match="no finished run"):
        run_benchmark(changed, tmp_path / "r", log=lambda *_: None, only=set())


def test_cli_only_rejects_an_unknown_label(tmp_path):
    with pytest.raises(SystemExit):
        main(["benchmark", "--dataset", "synthetic", "-m", "MostPopular", "--only", "Nope",
              "--out", str(tmp_path)])  # fmt: skip


def test_runs_recorded_under_old_parameter_names_resume_under_the_new_ones(tmp_path):
    new = load_config({**BASE, "seeds": [0], "models": {"SKNN": {"k": 20, "max_prompt_items": 5}}})
    run_benchmark(new, tmp_path / "r", log=lambda *_: None)
    # Rewrite the record as 0.1 wrote it (the old name), then resume under the new one.
    record = tmp_path / "r" / "runs" / "SKNN__seed0.json"
    run = json.loads(record.read_text())
    run["spec"]["params"] = {"k": 20, "last_n_items": 5}
    record.write_text(json.dumps(run))
    logs = []
    run_benchmark(new, tmp_path / "r", log=logs.append)
    assert sum("skipped (resume)" in line for line in logs) == 1
    other = load_config(
        {**BASE, "seeds": [0], "models": {"SKNN": {"k": 20, "max_prompt_items": 6}}}
    )
    with pytest.raises(ResultsDirectoryError, match="different 'SKNN'"):
        run_benchmark(other, tmp_path / "r", log=logs.append)


def test_old_names_in_a_configuration_warn_once_and_are_recorded_under_the_new_ones(tmp_path):
    with pytest.warns(FutureWarning, match="'last_n_items' is now 'max_prompt_items'"):
        old = load_config({**BASE, "seeds": [0], "models": {"SKNN": {"last_n_items": 5}}})
    assert old.models[0].params == {"max_prompt_items": 5}
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        run_benchmark(old, tmp_path / "r", log=lambda *_: None)
    with pytest.raises(ConfigError, match="old name of 'max_prompt_items'"):
        load_config({**BASE, "models": {"SKNN": {"last_n_items": 5, "max_prompt_items": 6}}})


def test_a_search_result_file_with_old_names_is_read_under_the_new_ones(tmp_path):
    best = tmp_path / "best_params.json"
    best.write_text(json.dumps({"params": {"k": 20, "last_n_items": 1}}))
    by_file = load_config({**BASE, "seeds": [0], "models": {"SKNN": {"params_from": str(best)}}})
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # no warning for a file a search wrote
        run_benchmark(by_file, tmp_path / "r", log=lambda *_: None)
    run = json.loads((tmp_path / "r" / "runs" / "SKNN__seed0.json").read_text())
    assert run["params"]["max_prompt_items"] == "1"
    # A search over the new name really varies it, though the file fixes the old one.
    cfg = load_config(
        {
            **BASE,
            "models": {"SKNN": {"params_from": str(best)}},
            "search": {"SKNN": {"n_trials": 2, "space": {"max_prompt_items": [3, 50]}}},
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        run_search(cfg, "SKNN", tmp_path / "s", log=lambda *_: None)
    saved = json.loads((tmp_path / "s" / "best_params.json").read_text())["params"]
    assert "last_n_items" not in saved and saved["max_prompt_items"] in (3, 50)
    tried = pd.read_csv(tmp_path / "s" / "trials.csv")
    assert set(tried.filter(like="max_prompt_items").iloc[:, 0]) <= {3, 50}


def test_same_spec_reads_renamed_component_parameters():
    from llmseqrec.benchmark._runner import _same_spec

    old = {
        "model": "PopularityDiversityFilter",
        "params": {"item_vectors": {"component": "ItemTextEncoder", "vectors": "v.npz"}},
        "params_from": None,
        "params_from_params": {"item_vectors": {"vectors": "v.npz"}},
    }
    new = {
        "model": "PopularityDiversityFilter",
        "params": {"item_embeddings": {"component": "ItemTextEncoder", "item_embeddings": "v.npz"}},
        "params_from": None,
        "params_from_params": {"item_embeddings": {"item_embeddings": "v.npz"}},
    }
    assert _same_spec(old, new)
    changed = json.loads(json.dumps(new))
    changed["params_from_params"]["item_embeddings"]["item_embeddings"] = "w.npz"
    assert not _same_spec(old, changed)


def test_a_changed_library_default_makes_old_runs_stale_until_the_old_value_is_pinned(tmp_path):
    cfg = load_config({**BASE, "seeds": [0], "models": {"SKNN": {"sampling": "random"}}})
    run_benchmark(cfg, tmp_path / "r", log=lambda *_: None)
    # Rewrite the record as if it had been fitted when SKNN's default k was 7: the TOML is
    # unchanged, but its effective configuration is not, so the run must not be resumed.
    record = tmp_path / "r" / "runs" / "SKNN__seed0.json"
    run = json.loads(record.read_text())
    assert run["params"]["k"] != "7"
    run["params"]["k"] = "7"
    record.write_text(json.dumps(run))
    with pytest.raises(ResultsDirectoryError, match="default that changed"):
        run_benchmark(cfg, tmp_path / "r", log=lambda *_: None)
    # Nor is it reported in the tables of a call that fits nothing.
    with pytest.raises(ResultsDirectoryError, match="no finished run"):
        run_benchmark(cfg, tmp_path / "r", log=lambda *_: None, only=set())
    # Pinning the old value in the configuration resumes the old run.
    logs = []
    pinned = load_config({**BASE, "seeds": [0], "models": {"SKNN": {"sampling": "random", "k": 7}}})
    summary = run_benchmark(pinned, tmp_path / "r", log=logs.append)
    assert sum("skipped (resume)" in line for line in logs) == 1
    assert "SKNN" in set(summary["model"])


def test_parameters_a_run_predates_count_as_their_behaviour_from_before(tmp_path):
    from llmseqrec.benchmark._runner import _same_params

    current = {k: repr(v) for k, v in __import__("llmseqrec").SASRec().get_params().items()}
    recorded = {k: v for k, v in current.items() if k != "block"}  # a run from before `block`
    # `block` did not exist: the run used pre-LN blocks, which is no longer the default.
    assert not _same_params(recorded, current, "SASRec")
    assert _same_params(recorded, {**current, "block": repr("pre_ln")}, "SASRec")
    # A parameter whose default kept the old behaviour (dual_view=False) is not in the way.
    recorded = {**recorded, "block": repr("post_ln")}
    assert _same_params({k: v for k, v in recorded.items() if k != "dual_view"}, current, "SASRec")


def test_components_inside_lists_are_built_score_fusion_from_a_configuration(tmp_path):
    cfg = load_config(
        {
            **BASE,
            "seeds": [0],
            "models": {
                "fusion": {
                    "model": "ScoreFusion",
                    "models": [
                        ["knn", {"component": "SKNN", "k": 20, "sample_size": 100}],
                        ["pop", {"component": "MostPopular"}],
                    ],
                    "weights": [1.0, 0.5],
                }
            },
        }
    )
    from llmseqrec.benchmark._config import build_model

    model = build_model(cfg.models[0])
    assert [name for name, _ in model.models] == ["knn", "pop"]
    assert type(model.models[0][1]).__name__ == "SKNN" and model.models[0][1].k == 20
    summary = run_benchmark(cfg, tmp_path / "r", log=lambda *_: None)
    assert "fusion" in set(summary["model"])


def test_gru4rec_runs_from_before_its_default_changes_resume_only_where_pinned():
    from llmseqrec import GRU4Rec
    from llmseqrec.benchmark._runner import (
        _canonical,
        _effective_params,
        _same_params,
        _same_value,
    )

    # A run of 0.1's defaults, recorded before `head` existed (it used the projection head).
    old = dict(emb_dim=64, hidden_dim=100, learning_rate=1e-3, batch_size=128, weight_decay=0.0)
    recorded = _effective_params(GRU4Rec(**old, epochs=50))
    del recorded["head"]
    assert not _same_params(recorded, _effective_params(GRU4Rec()), "GRU4Rec")
    pinned = _effective_params(GRU4Rec(**old, epochs=50, head="projection"))
    assert _same_params(recorded, pinned, "GRU4Rec")
    assert not _same_params(recorded, {**pinned, "head": repr("linear")}, "GRU4Rec")
    # A component recorded by scikit-learn's repr (defaults omitted) meant 0.1's defaults.
    assert not _same_value("GRU4Rec(random_state=0)", _canonical(GRU4Rec(random_state=0)))


def test_components_are_recorded_with_every_parameter():
    from llmseqrec import SKNN, EmbeddingEnsemble, MostPopular
    from llmseqrec.benchmark._runner import _effective_params

    params = _effective_params(EmbeddingEnsemble(first=SKNN(), second=MostPopular()))
    # scikit-learn's repr would write "SKNN()": its meaning would change with SKNN's defaults.
    assert params["first"].startswith("SKNN(") and f"k={SKNN().k!r}" in params["first"]
    assert params["rank"] == repr("auto")


def test_a_parameter_set_away_from_its_default_is_never_taken_for_a_run_that_predates_it():
    from llmseqrec import SASRec
    from llmseqrec.benchmark._runner import _effective_params, _same_params

    current = _effective_params(SASRec(lr_decay="cosine"))
    recorded = {k: v for k, v in _effective_params(SASRec()).items() if k != "lr_decay"}
    assert not _same_params(recorded, current, "SASRec")
    assert _same_params(recorded, _effective_params(SASRec()), "SASRec")


def test_components_compare_parameter_by_parameter():
    from llmseqrec.benchmark._runner import _same_value

    full = "LLMSeqSim(decay='harmonic', similarity='euclidean', reduction='pca', n_components=256)"
    # A parameter the component gained since (at its default) does not make a run stale ...
    assert _same_value(full, full[:-1] + ", ann=None)")
    # ... a different value does ...
    assert not _same_value(full, full.replace("256", "128"))
    # ... and an old scikit-learn repr that omits a parameter whose default changed since
    # (it meant the old default) is not taken for today's value.
    assert not _same_value("LLMSeqSim()", full)
    assert _same_value("[('a', SKNN(k=5))]", "[['a', SKNN(k=5, sampling='recent')]]")


def test_plot_results_writes_pngs_without_touching_matplotlibs_backend(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    from llmseqrec.benchmark._report import plot_results

    rows = [
        (model, metric, 20, mean, 0.001)
        for model, mean in (("A", 0.04), ("B", 0.05))
        for metric in ("NDCG", "CatCov")
    ]
    pd.DataFrame(rows, columns=["model", "metric", "k", "mean", "std"]).to_csv(
        tmp_path / "summary.csv", index=False
    )
    before = matplotlib.get_backend()
    paths = plot_results(tmp_path)
    assert matplotlib.get_backend() == before
    assert [p.name for p in paths] == ["ndcg20.png", "ndcg20_vs_coverage.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths)
