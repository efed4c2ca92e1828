"""Hyper-parameter search on the validation folds (never the test set) with optuna's TPE."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import pandas as pd

from ..model_selection._search import (
    PRUNED_SHARE,
    fold_objective,
    optuna_quiet,
    plain_choices,
    suggest,
)
from ..registry import get_class
from ..utils import current_names, import_optional
from ._config import BenchmarkConfig, build_model, read_params_from
from ._data import load_benchmark_data, validation_folds

__all__ = ["run_search", "suggest"]

logger = logging.getLogger(__name__)


def bottom_share_pruner(optuna, share: float):
    """A pruner that stops a trial whose running mean is in the bottom ``share`` of the
    finished trials at the same fold. optuna's ``PercentilePruner(p)`` *keeps* the top
    ``p`` percent, so the bottom 20% is pruned by ``p = 80``."""
    return optuna.pruners.PercentilePruner(
        100.0 * (1.0 - share), n_startup_trials=3, n_warmup_steps=0
    )


def run_search(
    config: BenchmarkConfig,
    label: str,
    out_dir,
    n_trials: int | None = None,
    log=None,
    timeout: float | None = None,
) -> dict:
    """TPE search for the model ``label`` over its ``[search.<label>]`` space.

    The objective is the mean NDCG@20 over the validation folds (P1: the 3 forward-chaining
    temporal folds of the training sessions). After each fold the trial reports its running
    mean and trials in the bottom 20% of the finished ones at that fold are pruned
    (:func:`bottom_share_pruner`). Writes ``trials.csv`` and ``best_params.json`` (loadable with
    ``params_from`` in a benchmark configuration). Both files are rewritten after every
    trial, so an interrupted search keeps what it found.

    The model's fixed parameters are its ``[models.<label>]`` table, on top of its
    ``params_from`` file when it has one (unless that file is this search's own
    ``best_params.json``, which is never read back); ``best_params.json`` holds them all.

    ``timeout`` (seconds) starts no new trial once that much time has passed (optuna's
    ``timeout``: the running trial finishes); the search then ends before ``n_trials``.
    Useful for slow models, whose trials take minutes each on a CPU.
    """
    log = log or logger.info
    if timeout is not None and not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    optuna = import_optional("optuna", extra="search", purpose="hyper-parameter search")
    if label not in config.search:
        raise KeyError(
            f"no [search.{label}] space in the configuration; have {sorted(config.search)}"
        )
    spec = config.search[label]
    out = Path(out_dir)
    model_spec = next(m for m in config.models if m.label == label)
    if model_spec.params_from:
        source = Path(model_spec.params_from)
        # Read once into the fixed parameters, unless it is the file this search writes:
        # never start from its own earlier result.
        base = (
            {}
            if source.resolve() == (out / "best_params.json").resolve()
            else current_names(get_class(model_spec.model), read_params_from(source))
        )
        model_spec = replace(model_spec, params={**base, **model_spec.params}, params_from=None)
    data = load_benchmark_data(config.dataset, config.data_dir, config)
    folds = validation_folds(data, config.protocol, config.n_folds)
    k = 20
    out.mkdir(parents=True, exist_ok=True)

    def make_model(params):
        model = build_model(model_spec, dict(params))
        if "random_state" in model.get_params(deep=False):
            model.set_params(random_state=spec.seed)
        return model

    objective = fold_objective(
        optuna, spec.space, folds, make_model, data.items, k, prune=True, log=log
    )

    sampler = optuna.samplers.TPESampler(
        seed=spec.seed, n_startup_trials=min(10, max(1, (n_trials or spec.n_trials) // 3))
    )
    pruner = bottom_share_pruner(optuna, PRUNED_SHARE)
    with optuna_quiet(optuna):
        study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)
    for start in spec.enqueue:  # known configurations first, judged like any trial
        study.enqueue_trial(_to_trial(start, spec.space))

    def save(study, _trial=None) -> dict | None:
        study.trials_dataframe().to_csv(out / "trials.csv", index=False)
        if not any(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials):
            return None
        best = study.best_trial
        best_params = {name: _from_trial(best.params, name, s) for name, s in spec.space.items()}
        payload = {
            "label": label,
            "model": model_spec.model,
            "params": {**model_spec.params, **best_params},
            "validation_ndcg20": best.value,
            "fold_ndcg20": best.user_attrs.get("fold_ndcg"),
            "n_trials": len(study.trials),
            "n_pruned": int(sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)),
            "protocol": config.protocol,
            "dataset": config.dataset,
        }
        if timeout is not None:
            payload["timeout_s"] = timeout
        (out / "best_params.json").write_text(json.dumps(payload, indent=2))
        return payload

    with optuna_quiet(optuna):  # per-trial INFO lines off; the caller's verbosity kept
        study.optimize(
            objective, n_trials=n_trials or spec.n_trials, timeout=timeout, callbacks=[save]
        )
    payload = save(study)
    if payload is None:
        raise RuntimeError(
            f"the search for {label!r} finished no trial (all pruned or stopped); "
            "raise n_trials or timeout (CLI: --trials, --timeout)"
        )
    log(
        f"best mean validation NDCG@20 {payload['validation_ndcg20']:.4f} after "
        f"{payload['n_trials']} trials: {payload['params']} -> {out / 'best_params.json'}"
    )
    return payload


def _to_trial(params: dict, space: dict) -> dict:
    """Parameters as optuna names them (choices that are not plain values go by index)."""
    out = {}
    for name, value in params.items():
        spec = space[name]
        if isinstance(spec, list) and not plain_choices(spec):
            out[f"{name}__index"] = spec.index(value)
        else:
            out[name] = value
    return out


def _from_trial(params: dict, name: str, spec):
    if name in params:
        return params[name]
    return spec[params[f"{name}__index"]]


def trials_table(out_dir) -> pd.DataFrame:
    """The trials of a finished search."""
    return pd.read_csv(Path(out_dir) / "trials.csv")
