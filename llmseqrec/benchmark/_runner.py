"""Running a benchmark: every model x seed under one protocol, resumable, with timings."""

from __future__ import annotations

import ast
import inspect
import json
import logging
import os
import re
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from ..evaluation import evaluate
from ..registry import get_class
from ..utils import current_names
from ._config import BenchmarkConfig, build_model, read_params_from
from ._data import load_benchmark_data, make_split
from ._machine import machine_info
from ._report import render_markdown, summarize

__all__ = ["run_benchmark", "ResultsDirectoryError"]

logger = logging.getLogger(__name__)

#: Configuration keys of your own data (absent from results written before they existed).
_OWN_DATA_KEYS = ("interactions", "items", "columns")


_TIMINGS = (
    "fit_seconds",
    "predict_seconds",
    "test_prompts_per_second",
    "epochs",
    "best_epoch",
    "seconds_per_epoch",
    "train_sequences_per_second",
    "refit_epochs",
)


class ResultsDirectoryError(RuntimeError):
    """The results directory holds results of a different configuration."""


def _safe(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", label)


def _write_json(path: Path, payload: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str))
    os.replace(tmp, path)  # a run file exists only once complete


def _seeds_for(model, seeds):
    return list(seeds) if "random_state" in model.get_params(deep=False) else [None]


def run_single(model, split, data, k, popularity: str) -> dict:
    """Fit on ``split.train``, predict the test prompts, evaluate; returns metrics and timings."""
    table = evaluate(
        model, split, k, popularity, fit_params={"item_metadata": data.items}, show_progress=False
    )
    predict_seconds = table.attrs["predict_seconds"]
    result = {
        "metrics": table.to_dict("records"),
        "fit_seconds": table.attrs["fit_seconds"],
        "predict_seconds": predict_seconds,
        "test_prompts_per_second": len(split.test) / predict_seconds
        if predict_seconds > 0
        else None,
    }
    if hasattr(model, "selection_"):  # hybrids: the value chosen on the validation folds
        result["selection"] = model.selection_
    history = getattr(model, "history_", None)
    if history is not None:  # neural models: training speed
        per_epoch = float(np.mean(history.epoch_seconds))
        result.update(
            {
                "epochs": len(history.epoch_seconds),
                "best_epoch": history.best_epoch,
                "inner_validation_ndcg20": [float(v) for v in history.val_score],
                "seconds_per_epoch": per_epoch,
                "train_sequences_per_second": history.sequences_per_epoch / per_epoch
                if per_epoch > 0
                else None,
            }
        )
        refit = getattr(model, "refit_history_", None)
        if refit is not None:  # the retraining on all sessions for the chosen epoch count
            result["refit_epochs"] = len(refit.epoch_seconds)
            result["refit_seconds_per_epoch"] = float(np.mean(refit.epoch_seconds))
    return result


def _params_from_files(params: dict) -> dict:
    """The parameters read from every ``params_from`` file, the model's own and those of
    hybrid components (``{component: ..., params_from: ...}`` tables), keyed by where."""
    found = {}
    if params.get("params_from"):
        found["."] = read_params_from(params["params_from"])
    for name, value in params.items():
        if isinstance(value, dict) and value.get("params_from"):
            found[name] = read_params_from(value["params_from"])
    return found


def _renamed(cls_name: str, params):
    """``params`` under the current parameter names of the registered class ``cls_name``."""
    if not isinstance(params, dict):
        return params
    params = current_names(get_class(cls_name), params)
    return {
        k: _renamed(v["component"], v) if isinstance(v, dict) and "component" in v else v
        for k, v in params.items()
    }


def _same_spec(a: dict | None, b: dict) -> bool:
    """Whether two recorded model specs are one configuration, once parameters renamed
    since (``lr`` -> ``learning_rate``, ...) are read under their current names."""
    if a is None:
        return False

    def canonical(spec):
        spec = dict(spec)
        model = spec["model"]
        spec["params"] = _renamed(model, spec.get("params", {}))
        if "params_from_params" in spec:
            renamed = getattr(get_class(model), "_renamed_parameters", {})
            found_by_where = {}
            for where, found in spec["params_from_params"].items():
                where = where if where == "." else renamed.get(where, where)
                owner = model if where == "." else spec["params"][where]["component"]
                found_by_where[where] = _renamed(owner, found)
            spec["params_from_params"] = found_by_where
        return spec

    return canonical(a) == canonical(b)


def _effective_params(model) -> dict:
    """The parameters a run is recorded with: ``repr`` of each value, components (hybrid
    parts, encoders) written out with every parameter (:func:`_canonical`)."""
    return {k: _canonical(v) for k, v in model.get_params(deep=False).items()}


def _canonical(value) -> str:
    """``repr``, except that estimators list *every* parameter, sorted: scikit-learn's repr
    omits those at their default, so it would change meaning when a default changes."""
    if hasattr(value, "get_params") and not isinstance(value, type):
        inner = ", ".join(
            f"{k}={_canonical(v)}" for k, v in sorted(value.get_params(deep=False).items())
        )
        return f"{type(value).__name__}({inner})"
    if isinstance(value, (list, tuple)) and any(
        hasattr(v, "get_params") or isinstance(v, (list, tuple)) for v in value
    ):
        inner = ", ".join(_canonical(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    return repr(value)


def _same_params(recorded: dict | None, current: dict, model_name: str) -> bool:
    """Whether a run's recorded effective parameters are the ones the spec gives now.

    The spec alone is not enough: a TOML that leaves a parameter at its default gets the
    new default when the library's default changes, and its old runs are then stale.
    Parameters the run predates count as the value that reproduces the behaviour from
    before they existed: the class's ``_value_before_added`` where that is no longer the
    default, else the signature default (a new parameter set to anything else is a
    different configuration). Values are read under the current parameter names; an old
    name whose ``None`` meant what a new default means now (``_renamed_with_new_meaning``:
    LLMSeqSim's ``embeddings=None`` was the default encoder) is not compared. Components
    compare parameter by parameter (:func:`_same_value`). ``random_state`` is the seed,
    compared through the run file's name.
    """
    if recorded is None:  # runs written before effective parameters were recorded
        return True
    cls = get_class(model_name)
    new_meaning = getattr(cls, "_renamed_with_new_meaning", ())
    # An old name whose None meant what a new default means now: nothing to compare.
    recorded = {k: v for k, v in recorded.items() if not (k in new_meaning and v == "None")}
    recorded = current_names(cls, recorded)
    before = getattr(cls, "_value_before_added", {})
    defaults = _signature_defaults(cls)
    for name, value in current.items():
        if name == "random_state":
            continue
        if name in recorded:
            if not _same_value(recorded[name], value):
                return False
        elif name in before:
            if not _same_value(repr(before[name]), value):
                return False
        elif name in defaults and not _same_value(repr(defaults[name]), value):
            return False  # added since the run, and set to something else than its default
    return True


def _signature_defaults(cls) -> dict:
    return {
        name: p.default
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def _same_value(a: str, b: str) -> bool:
    """Whether a recorded value and today's (both ``repr``-like strings) are one value.

    Plain values compare as Python literals (a TOML list is the default's tuple).
    Components compare parameter by parameter (:func:`_same_expr`), so a parameter a
    component gained since the run counts as its default, and an old record written with
    scikit-learn's ``repr`` (which omits parameters at the defaults of its day) is read
    with today's defaults, except parameters whose default changed since
    (``_changed_defaults``): a record that omits one of those is not trusted.
    """
    if a == b:
        return True
    try:
        return _same_expr(ast.parse(a, mode="eval").body, ast.parse(b, mode="eval").body)
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        return False


def _same_expr(a: ast.AST, b: ast.AST) -> bool:
    if isinstance(a, ast.Call) and isinstance(b, ast.Call):
        name = ast.unparse(a.func)
        if name != ast.unparse(b.func) or a.args or b.args:
            return False
        try:
            cls = get_class(name)
        except KeyError:
            return ast.unparse(a) == ast.unparse(b)
        defaults = _signature_defaults(cls)
        changed = getattr(cls, "_changed_defaults", ())
        ka = {k.arg: k.value for k in a.keywords}
        kb = {k.arg: k.value for k in b.keywords}
        for key in set(ka) | set(kb):
            if key in ka and key in kb:
                if not _same_expr(ka[key], kb[key]):
                    return False
            elif key in changed:
                return False  # written out on one side only: an old default may hide there
            elif key in defaults:
                present = ka[key] if key in ka else kb[key]
                default = ast.parse(repr(defaults[key]), mode="eval").body
                if not _same_expr(present, default):
                    return False
        return True
    if isinstance(a, (ast.List, ast.Tuple)) and isinstance(b, (ast.List, ast.Tuple)):
        return len(a.elts) == len(b.elts) and all(_same_expr(x, y) for x, y in zip(a.elts, b.elts))
    try:
        return _as_tuples(ast.literal_eval(a)) == _as_tuples(ast.literal_eval(b))
    except (ValueError, SyntaxError, TypeError):
        return ast.unparse(a) == ast.unparse(b)


def _as_tuples(value):
    if isinstance(value, (list, tuple)):
        return tuple(_as_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _as_tuples(v) for k, v in value.items()}
    return value


def _same_run(result: dict, spec_json: dict, params: dict) -> bool:
    """Whether a run file holds a fit of this spec: the same model with the same effective
    parameters (for runs recorded before those were written, the same spec)."""
    if result.get("params") is None:
        return _same_spec(result.get("spec"), spec_json)
    return result.get("model", spec_json["model"]) == spec_json["model"] and _same_params(
        result["params"], params, spec_json["model"]
    )


def _finished_runs(runs_dir: Path, label: str, spec_json: dict, params: dict) -> list[dict]:
    """The finished runs of ``label`` at exactly this configuration, ordered by seed."""
    found = []
    for path in runs_dir.glob(f"{_safe(label)}__seed*.json"):
        result = json.loads(path.read_text())
        if result.get("label") == label and _same_run(result, spec_json, params):
            found.append(result)
    return sorted(found, key=lambda r: (r["seed"] is None, r["seed"] or 0))


def _fit_or_resume(
    spec, seed, spec_json, params, runs_dir, split, data, config, overwrite, tag, log
):
    """Fit ``spec`` at ``seed`` unless an identical finished run is on file (``params``:
    the spec's effective parameters, :func:`_effective_params`)."""
    run_file = runs_dir / f"{_safe(spec.label)}__seed{seed}.json"
    result = json.loads(run_file.read_text()) if run_file.exists() else None
    if result is not None and not _same_run(result, spec_json, params):
        if not overwrite:
            raise ResultsDirectoryError(
                f"{run_file} is a finished run of a different '{spec.label}' configuration "
                "(other parameters, or a library default that changed since: pin the old "
                "values in the configuration to keep it); use another label or directory, "
                "or pass overwrite=True"
            )
        result = None
    if result is not None:
        log(f"{tag}: finished earlier, skipped (resume)")
        return
    log(
        f"{tag}: fitting on {len(split.train):,} sessions, predicting {len(split.test):,} prompts ..."
    )
    model = build_model(spec, {"random_state": seed} if seed is not None else None)
    result = run_single(model, split, data, config.k, config.popularity)
    result.update(
        {
            "label": spec.label,
            "model": spec.model,
            "seed": seed,
            "spec": spec_json,
            "params": _effective_params(model),
        }
    )
    _write_json(run_file, result)
    ndcg = next(
        r["value"] for r in result["metrics"] if r["metric"] == "NDCG" and r["k"] == max(config.k)
    )
    log(
        f"{tag}: NDCG@{max(config.k)} {ndcg:.4f} (fit {result['fit_seconds']:.1f} s, predict {result['predict_seconds']:.1f} s)"
    )


def run_benchmark(
    config: BenchmarkConfig,
    out_dir,
    overwrite: bool = False,
    command: str | None = None,
    log=None,
    only=None,
) -> pd.DataFrame:
    """Run (or resume) a benchmark and write its result files.

    Files under ``out_dir``: ``config.json`` (the configuration the results belong to),
    ``runs/<model>__seed<s>.json`` (one per finished fit, written atomically, so an
    interrupted benchmark resumes where it stopped), ``results.csv`` (long table),
    ``summary.csv`` (mean and std over seeds), ``results.json`` and ``results.md``.

    A directory holding results of another configuration is never overwritten silently:
    :class:`ResultsDirectoryError` unless ``overwrite=True``.

    ``only`` (a set of model labels) and ``config.seeds`` choose what this call *fits*; the
    tables always summarise every finished run on file of the configuration's models at
    their current parameters, so fitting one model or one more seed never drops the others.

    Returns
    -------
    pandas.DataFrame
        The summary (model, metric, k, mean, std, n_runs).
    """
    out = Path(out_dir)
    runs_dir = out / "runs"
    config_json = json.loads(json.dumps(config.to_json(), default=str))
    # Models and seeds may change between runs (run files are per model and seed, so adding
    # a seed resumes); the data set, protocol and metrics may not.
    log = log or logger.info
    per_run = ("models", "search", "name", "seeds")

    def setup_of(snapshot: dict) -> dict:
        # Keys added later (your own data files) count as absent at their empty default,
        # so results written before they existed still resume.
        return {
            k: v
            for k, v in snapshot.items()
            if k not in per_run and not (k in _OWN_DATA_KEYS and v in (None, {}))
        }

    setup = setup_of(config_json)
    snapshot = out / "config.json"
    if snapshot.exists():
        previous = json.loads(snapshot.read_text())
        if setup_of(previous) != setup:
            if not overwrite:
                raise ResultsDirectoryError(
                    f"{out} holds results for another data set/protocol/k; choose another directory or pass overwrite=True"
                )
            for f in runs_dir.glob("*.json"):
                f.unlink()
    runs_dir.mkdir(parents=True, exist_ok=True)
    _write_json(snapshot, config_json)

    log(f"Loading {config.dataset} ({config.protocol}) ...")
    data = load_benchmark_data(config.dataset, config.data_dir, config)
    split = make_split(data, config.protocol)
    stats = {**data.stats(), **split.stats()}
    records, selections, seeds_on_file = [], {}, {}
    n_models = len(config.models)
    for m, spec in enumerate(config.models, start=1):
        spec_json = {
            "model": spec.model,
            "params": json.loads(json.dumps(spec.params, default=str)),
            "params_from": spec.params_from,
        }
        # A new search result must not pass for the old one: record what the files say.
        read = _params_from_files({"params_from": spec.params_from, **spec.params})
        if read:
            spec_json["params_from_params"] = read
        template = build_model(spec)  # what the spec gives, before any seed
        params = _effective_params(template)
        if only is None or spec.label in only:
            for seed in _seeds_for(template, config.seeds):
                tag = f"[{m}/{n_models}] {spec.label}" + (
                    f" seed {seed}" if seed is not None else ""
                )
                _fit_or_resume(
                    spec, seed, spec_json, params, runs_dir, split, data, config, overwrite,
                    tag, log,
                )  # fmt: skip
        # The tables hold every finished run of this configuration on file, whichever seeds
        # or models this invocation fitted (so `--only`/`--seeds` never shrink them).
        for result in _finished_runs(runs_dir, spec.label, spec_json, params):
            seed = result["seed"]
            if seed is not None:
                seeds_on_file.setdefault(spec.label, []).append(seed)
            if "selection" in result:
                selections[spec.label] = result["selection"]
            for row in result["metrics"]:
                records.append({"model": spec.label, "seed": seed, **row})
            for timing in _TIMINGS:
                if result.get(timing) is not None:
                    records.append(
                        {
                            "model": spec.label,
                            "seed": seed,
                            "metric": timing,
                            "k": np.nan,
                            "value": result[timing],
                        }
                    )
    if not records:
        raise ResultsDirectoryError(f"{out} holds no finished run of the selected models")
    results = pd.DataFrame(records)
    summary = summarize(results)
    results.to_csv(out / "results.csv", index=False)
    summary.to_csv(out / "summary.csv", index=False)
    meta = {
        "config": config_json,
        "data": stats,
        "machine": machine_info(),
        "date": date.today().isoformat(),
        "command": command,
        "selections": selections,
        "seeds": seeds_on_file,
    }
    _write_json(out / "results.json", {**meta, "summary": summary.to_dict("records")})
    (out / "results.md").write_text(render_markdown(summary, meta))
    log(f"Results written to {out}")
    return summary
