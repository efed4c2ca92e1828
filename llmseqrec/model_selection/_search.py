"""Hyper-parameter search on your own sessions: optuna's TPE over forward-chaining folds."""

from __future__ import annotations

import contextlib
import logging
import time

import numpy as np
from sklearn.base import clone

from ..data import Split, TestCases, as_sequences, temporal_folds
from ..metrics import ndcg_at_k
from ..utils import import_optional

__all__ = ["search", "best_estimator", "sessions_in_time_order", "suggest", "optuna_quiet"]

logger = logging.getLogger(__name__)

#: Share of trials pruned after each fold: the paper's "bottom 20%".
PRUNED_SHARE = 0.2


def sessions_in_time_order(sessions, **columns) -> dict:
    """``{session: items}`` ordered by session time (its largest timestamp; stable).

    ``sessions`` is an interaction table with a time column (any frame
    :func:`~llmseqrec.data.as_sequences` reads; ``columns`` are its ``session_col``,
    ``item_col``, ``time_col``), or a dict/list already in time order (kept as it is).
    """
    keys, seqs, times = as_sequences(sessions, return_times=True, **columns)
    order = np.arange(len(keys)) if times is None else np.argsort(times, kind="stable")
    return {keys[i]: seqs[i] for i in order}


def plain_choices(choices: list) -> bool:
    """optuna's categorical choices must be None/bool/int/float/str; others go by index."""
    return all(v is None or isinstance(v, (bool, int, float, str)) for v in choices)


def suggest(trial, name: str, spec):
    """One optuna suggestion from a space entry: a list of choices, or a range
    ``{"low", "high", "log"?, "step"?}`` (integers if both ends are)."""
    if isinstance(spec, list):
        if plain_choices(spec):
            return trial.suggest_categorical(name, spec)
        # optuna's choices must be plain values; others are chosen by index
        return spec[trial.suggest_categorical(f"{name}__index", list(range(len(spec))))]
    if not isinstance(spec, dict) or not {"low", "high"} <= set(spec):
        raise ValueError(
            f"search space entry {name!r} must be a list of choices or a dict with 'low' and "
            f"'high' (and optionally 'log', 'step'); got {spec!r}"
        )
    low, high, log = spec["low"], spec["high"], bool(spec.get("log", False))
    if isinstance(low, int) and isinstance(high, int) and not isinstance(low, bool):
        return trial.suggest_int(name, low, high, log=log, step=spec.get("step", 1))
    return trial.suggest_float(name, float(low), float(high), log=log)


@contextlib.contextmanager
def optuna_quiet(optuna):
    """optuna's per-trial INFO lines off for the block, and its verbosity as it was after."""
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)


def fold_objective(
    optuna, space, folds, make_model, item_metadata, k, prune, log, record_params=False
):
    """optuna's objective: the mean NDCG@``k`` over ``folds`` of ``make_model(params)``,
    fitted on each fold's training sessions, the running mean reported after each fold and
    the trial pruned there when ``prune`` and optuna's pruner say so. Every finished trial
    keeps ``fold_ndcg`` and ``seconds`` (and with ``record_params`` the model's parameters,
    ``params``) in its user attributes; ``log(message)`` hears of each trial."""

    def objective(trial):
        params = {name: suggest(trial, name, spec) for name, spec in space.items()}
        values, start = [], time.perf_counter()
        for f, fold in enumerate(folds, start=1):
            model = make_model(params)
            model.fit(fold.train, item_metadata=item_metadata)
            recs = model.predict(fold.test.prompts, k=k)
            values.append(ndcg_at_k([list(r) for r in recs], fold.test.targets, k))
            trial.report(float(np.mean(values)), step=f)
            if prune and f < len(folds) and trial.should_prune():
                log(f"trial {trial.number}: pruned after fold {f} (NDCG@{k} {np.mean(values):.4f})")
                raise optuna.TrialPruned()
        if record_params:
            trial.set_user_attr("params", params)
        trial.set_user_attr("fold_ndcg", values)
        trial.set_user_attr("seconds", time.perf_counter() - start)
        log(f"trial {trial.number}: mean validation NDCG@{k} {np.mean(values):.4f} {params}")
        return float(np.mean(values))

    return objective


def search(
    estimator,
    space: dict,
    sessions,
    *,
    item_metadata=None,
    n_trials: int = 20,
    n_folds: int = 3,
    k: int = 20,
    timeout: float | None = None,
    random_state: int | None = 0,
    prune: bool = True,
    study=None,
    **columns,
):
    """Search ``space`` for ``estimator`` on your sessions; returns the optuna study.

    Each trial fits the estimator with the suggested parameters on the forward-chaining
    folds of ``sessions`` (:class:`TemporalSessionSplit`: fold ``f`` trains on the oldest
    ``f`` of ``n_folds + 1`` bins and validates on the next), and scores the mean NDCG@k of
    predicting each validation session's last item. With ``prune``, a trial whose running
    mean falls in the bottom 20% of the finished trials at the same fold stops early (the
    paper's rule). Keep your own test sessions out of ``sessions``.

    Parameters
    ----------
    estimator : Recommender or class
        A configured instance (the fixed parameters) or a recommender class (its defaults).
    space : dict
        ``{parameter: [choices]}`` or ``{parameter: {"low": ..., "high": ..., "log": bool}}``;
        any name ``estimator.get_params()`` shows, nested ones of hybrids included
        (e.g. ``"knn__k"``).
    sessions : DataFrame, dict or list of sequences
        Training sessions; a frame with a time column is ordered by session time, a dict or
        list must already be in time order.
    item_metadata : DataFrame, optional
        Passed to ``fit`` (text-based models).
    n_trials, timeout : int, float, optional
        optuna's budget: trials, and seconds after which no new trial starts.
    n_folds : int, default=3
    k : int, default=20
    random_state : int or None, default=0
        Seeds the TPE sampler and, when the estimator has one, its ``random_state``.
    prune : bool, default=True
    study : optuna.Study, optional
        Continue this study (e.g. one with RDB storage) instead of a new one.
    **columns
        ``session_col``, ``item_col``, ``time_col`` of a frame.

    Returns
    -------
    optuna.Study
        ``study.best_params`` (optuna's names) and ``study.best_value``; every finished
        trial's ``user_attrs`` hold ``"params"`` (the estimator's parameters),
        ``"fold_ndcg"`` and ``"seconds"``. :func:`best_estimator` builds the winner.
    """
    optuna = import_optional("optuna", extra="search", purpose="hyper-parameter search")
    base = estimator() if isinstance(estimator, type) else estimator
    if not isinstance(space, dict) or not space:
        raise ValueError("space must be a non-empty dict {parameter: choices or range}")
    unknown = set(space) - set(base.get_params(deep=True))
    if unknown:
        raise ValueError(
            f"space names parameters {sorted(unknown)} that {type(base).__name__} does not "
            "have (see get_params())"
        )
    ordered = sessions_in_time_order(sessions, **columns)
    holder = Split(train=ordered, test=TestCases([], [], np.zeros(0)), items=np.zeros(0))
    folds = temporal_folds(holder, n_folds=n_folds)

    def make_model(params):
        model = clone(base).set_params(**params)
        if "random_state" in model.get_params(deep=False) and random_state is not None:
            model.set_params(random_state=random_state)
        return model

    objective = fold_objective(
        optuna, space, folds, make_model, item_metadata, k, prune, logger.info, record_params=True
    )

    if study is None:
        sampler = optuna.samplers.TPESampler(
            seed=random_state, n_startup_trials=min(10, max(1, n_trials // 3))
        )
        pruner = optuna.pruners.PercentilePruner(
            100.0 * (1.0 - PRUNED_SHARE), n_startup_trials=3, n_warmup_steps=0
        )
        with optuna_quiet(optuna):
            study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)
    with optuna_quiet(optuna):
        study.optimize(objective, n_trials=n_trials, timeout=timeout)
    return study


def best_estimator(study, estimator):
    """An unfitted clone of ``estimator`` with the best trial's parameters."""
    base = estimator() if isinstance(estimator, type) else estimator
    return clone(base).set_params(**study.best_trial.user_attrs["params"])
