"""The shared behavioural test suite every recommender must pass (ours or a user's).

Run it on a recommender with :func:`check_recommender`, or parametrise pytest with
:func:`parametrize_with_checks`::

    from llmseqrec.testing import parametrize_with_checks

    @parametrize_with_checks([MyRecommender(n_factors=8)])
    def test_my_recommender(estimator, check):
        check(estimator)

An estimator opts out of a check only with a stated reason:
``expected_failed_checks={"check_fit_idempotent": "sampling is stochastic"}``.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd
from sklearn.base import clone

from .data import temporal_split
from .datasets import make_synthetic_sessions
from .exceptions import NotFittedError, UnknownItemError

__all__ = [
    "CHECKS",
    "check_recommender",
    "recommender_checks",
    "parametrize_with_checks",
    "synthetic_data",
]


@functools.lru_cache(maxsize=4)
def synthetic_data(id_style: str = "str"):
    """The suite's data: (training sessions dict, test prompts list, test targets, item table)."""
    ds = make_synthetic_sessions(n_sessions=240, id_style=id_style, random_state=0)
    split = temporal_split(ds.interactions, test_frac=0.25)
    return split.train, split.test.prompts, split.test.targets, ds.items


def _prepared(estimator, id_style: str = "str"):
    est = clone(estimator)
    if "random_state" in est.get_params(deep=False):
        est.set_params(random_state=0)
    train, prompts, targets, items = synthetic_data(id_style)
    return est, train, prompts, targets, items


def _fit(est, train, items):
    return est.fit(train, item_metadata=items)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and all(
        x == y for x, y in zip(a.ravel().tolist(), b.ravel().tolist())
    )


# ----------------------------------------------------------------------------- checks
def check_default_constructible(estimator):
    """The class can be built with no arguments."""
    type(estimator)()


def check_no_attributes_set_in_init(estimator):
    """``__init__`` stores its parameters and nothing else."""
    est = clone(estimator)
    params = set(est.get_params(deep=False))
    attrs = {k for k in vars(est) if not k.startswith("_")}
    assert attrs == params, f"__init__ sets {sorted(attrs ^ params)} beyond/short of its parameters"
    assert not [k for k in vars(est) if k.endswith("_") and not k.startswith("_")], (
        "fitted attributes set in __init__"
    )


def check_clone_and_params(estimator):
    """``clone``/``get_params``/``set_params`` round-trip."""
    est = clone(estimator)
    params = est.get_params(deep=False)
    again = clone(est).get_params(deep=False)
    assert set(params) == set(again)
    for key in params:
        a, b = params[key], again[key]
        assert _param_equal(a, b), f"parameter {key!r} changed by clone: {a!r} -> {b!r}"
    assert est.set_params(**params) is est


def _param_equal(a, b) -> bool:
    if hasattr(a, "get_params"):  # clone makes new sub-estimators with equal parameters
        return type(a) is type(b) and repr(a) == repr(b)
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and np.array_equal(a, b)
    if isinstance(a, (list, tuple)):
        return (
            type(a) is type(b)
            and len(a) == len(b)
            and all(_param_equal(x, y) for x, y in zip(a, b))
        )
    return a == b


def check_renamed_parameters(estimator):
    """Deprecated names map to parameters that exist, and never show in ``get_params``."""
    est = clone(estimator)
    params = est.get_params(deep=False)
    renamed = getattr(type(est), "_renamed_parameters", {})
    assert not set(renamed) & set(params), f"deprecated names in get_params: {set(renamed)}"
    missing = {old: new for old, new in renamed.items() if new not in params}
    assert not missing, f"deprecated names mapped to no parameter: {missing}"


def check_not_fitted_error(estimator):
    """Inference before ``fit`` raises ``NotFittedError``."""
    est, _, prompts, _, _ = _prepared(estimator)
    for method in (lambda: est.predict(prompts[:2]), lambda: est.predict_scores(prompts[:2])):
        try:
            method()
        except NotFittedError:
            continue
        raise AssertionError("predicting before fit did not raise NotFittedError")


def check_fit_returns_self(estimator):
    """``fit`` returns the estimator itself."""
    est, train, _, _, items = _prepared(estimator)
    assert _fit(est, train, items) is est


def check_fit_idempotent(estimator):
    """Fitting twice on the same data gives the same predictions (fixed ``random_state``)."""
    est, train, prompts, _, items = _prepared(estimator)
    first = _fit(est, train, items).predict(prompts, k=5)
    second = _fit(est, train, items).predict(prompts, k=5)
    assert _same(first, second), "a second fit changed the predictions"


def check_global_random_state_untouched(estimator):
    """``fit`` and ``predict`` leave numpy's, Python's and torch's global RNGs as they were."""
    import random

    import torch

    est, train, prompts, _, items = _prepared(estimator)
    # A first call imports what is imported lazily (some third-party modules draw from
    # Python's RNG at import time); the second is the one that must leave no trace.
    _fit(clone(est), train, items).predict(prompts, k=5)
    states = (random.getstate(), np.random.get_state()[1].copy(), torch.random.get_rng_state())
    _fit(est, train, items).predict(prompts, k=5)
    assert random.getstate() == states[0], "fit/predict changed Python's global random state"
    assert np.array_equal(np.random.get_state()[1], states[1]), (
        "fit/predict changed numpy's global random state"
    )
    assert torch.equal(torch.random.get_rng_state(), states[2]), (
        "fit/predict changed torch's global random state"
    )


def check_save_load(estimator):
    """``save`` + ``llmseqrec.load`` give identical predictions and scores."""
    from .persistence import load

    est, train, prompts, _, items = _prepared(estimator)
    _fit(est, train, items)
    with tempfile.TemporaryDirectory() as tmp:
        est.save(tmp)
        loaded = load(tmp)
    assert type(loaded) is type(est)
    assert _same(est.predict(prompts, k=10), loaded.predict(prompts, k=10))
    np.testing.assert_array_equal(
        est.predict_scores(prompts[:5]), loaded.predict_scores(prompts[:5])
    )


def _check_ids(estimator, id_style):
    est, train, prompts, _, items = _prepared(estimator, id_style)
    recs = _fit(est, train, items).predict(prompts, k=5)
    catalogue = {i for s in train.values() for i in s.tolist()} | set(items.index.tolist())
    for value in recs.ravel().tolist():
        assert value in catalogue, f"predicted id {value!r} is not a catalogue id"
        expected_type = str if id_style == "str" else int
        assert isinstance(value, expected_type), (
            f"id {value!r} lost its type {expected_type.__name__}"
        )
    if id_style == "int":
        assert recs.dtype == np.int64, f"integer ids came back as {recs.dtype}"


def check_string_ids(estimator):
    """String item ids come back as the same strings."""
    _check_ids(estimator, "str")


def check_noncontiguous_int_ids(estimator):
    """Non-contiguous integer ids (10, 20, ...) come back unchanged, as int64."""
    _check_ids(estimator, "int")


def check_exclude_seen(estimator):
    """No prompt item is recommended, and lists hold no duplicates."""
    est, train, prompts, _, items = _prepared(estimator)
    est.set_params(exclude_seen=True)
    recs = _fit(est, train, items).predict(prompts, k=10)
    for prompt, row in zip(prompts, recs):
        row = [r for r in row.tolist() if r is not None]
        assert not set(prompt.tolist()) & set(row), "a prompt item was recommended"
        assert len(row) == len(set(row)), "duplicate items in a list"


def check_batch_equals_single(estimator):
    """Predicting a batch gives the same lists as predicting one session at a time."""
    est, train, prompts, _, items = _prepared(estimator)
    _fit(est, train, items)
    batch = est.predict(prompts[:12], k=10)
    single = np.concatenate([est.predict([p], k=10) for p in prompts[:12]])
    assert _same(batch, single), "batched predictions differ from one-by-one predictions"


def check_input_forms(estimator):
    """A list, a dict and a DataFrame of the same prompts give the same predictions."""
    est, train, prompts, _, items = _prepared(estimator)
    _fit(est, train, items)
    as_list = est.predict(prompts[:8], k=5)
    as_dict = est.predict({f"q{i}": p for i, p in enumerate(prompts[:8])}, k=5)
    frame = pd.DataFrame(
        [
            (f"q{i}", item, t)
            for i, p in enumerate(prompts[:8])
            for t, item in enumerate(p.tolist())
        ],
        columns=["session_id", "item_id", "timestamp"],
    )
    as_frame = est.predict(frame, k=5)
    assert _same(as_list, as_dict) and _same(as_list, as_frame)


def check_k_larger_than_catalogue(estimator):
    """``k`` beyond the catalogue returns every recommendable item, without error."""
    est, train, prompts, _, items = _prepared(estimator)
    _fit(est, train, items)
    recs = est.predict(prompts[:3], k=10_000)
    assert recs.shape == (3, est.n_items_)
    for prompt, row in zip(prompts[:3], recs):
        got = [r for r in row.tolist() if r is not None]
        assert len(got) == len(set(got))
        assert not set(prompt.tolist()) & set(got)


def check_unknown_items(estimator):
    """Unknown prompt items are ignored (default) or raise with ``handle_unknown='error'``."""
    est, train, prompts, _, items = _prepared(estimator)
    _fit(est, train, items)
    with_unknown = [list(p.tolist()) + ["never-seen-item"] for p in prompts[:5]]
    clean = [list(p.tolist()) for p in prompts[:5]]
    assert _same(est.predict(with_unknown, k=5), est.predict(clean, k=5)), (
        "unknown items changed predictions"
    )
    empty = est.predict([["never-seen-item"]], k=5)
    assert empty.shape == (1, 5)
    est.set_params(handle_unknown="error")
    try:
        est.predict(with_unknown, k=5)
    except UnknownItemError:
        return
    raise AssertionError("handle_unknown='error' did not raise UnknownItemError")


def check_predict_time_filters(estimator):
    """``items=`` (whitelist), ``exclude=`` (global, per-session list, dict) and
    ``exclude_seen=`` act as masks before the top-k: each filtered list is the unfiltered
    ranking with the masked items taken out."""
    est, train, prompts, _, items = _prepared(estimator)
    _fit(est, train, items)
    prompts = prompts[:4]
    n = est.n_items_

    def kept(rows, drop, k):  # the rows without the dropped items (a set per row), first k
        return [[x for x in row if x is not None and x not in d][:k] for row, d in zip(rows, drop)]

    def plain(rows):
        return [[x for x in row if x is not None] for row in rows]

    full = est.predict(prompts, k=n)
    allowed = set(est.items_[::2].tolist())
    got = est.predict(prompts, k=5, items=list(allowed))
    outside = [set(est.items_.tolist()) - allowed] * len(prompts)
    assert plain(got) == kept(full, outside, 5), "items= is not the ranking restricted to them"
    banned = {row[0] for row in full if row[0] is not None}
    got = est.predict(prompts, k=5, exclude=list(banned))
    assert plain(got) == kept(full, [banned] * len(prompts), 5), "a global exclude= differs"
    per_row = [set(row[:2].tolist()) for row in full]
    got = est.predict(prompts, k=5, exclude=[list(d) for d in per_row])
    assert plain(got) == kept(full, per_row, 5), "a per-session exclude= list differs"
    keyed = {f"q{i}": p for i, p in enumerate(prompts)}
    got = est.predict(keyed, k=5, exclude={"q1": list(per_row[1])})
    drop = [set(), per_row[1], set(), set()]
    assert plain(got) == kept(full, drop, 5), "a per-session exclude= dict differs"
    unmasked = est.predict(prompts, k=n, exclude_seen=not est.exclude_seen)
    seen = [set(p.tolist()) for p in prompts]
    with_seen, without_seen = (unmasked, full) if est.exclude_seen else (full, unmasked)
    assert kept(with_seen, seen, 10) == kept(without_seen, seen, 10), (
        "exclude_seen= does not only mask the prompt's items"
    )
    # and it does unmask: a prompt item with a finite raw score is in the unmasked ranking
    column = {item: j for j, item in enumerate(est.items_.tolist())}
    raw = est.predict_scores(prompts)
    for row, s, r in zip(with_seen, seen, raw):
        scorable = {i for i in s if i in column and np.isfinite(r[column[i]])}
        assert scorable <= set(row.tolist()), "exclude_seen=False still masks prompt items"
    masked = est.predict(prompts, k=n, exclude_seen=True)
    assert not any(set(m.tolist()) & s for m, s in zip(masked, seen)), "exclude_seen=True"


def check_bad_input_is_a_library_error(estimator):
    """Null ids in ``fit`` or in a prompt and a bad ``k`` raise a ``ValueError`` that names the
    input, never a wrong answer or an error from numpy/torch internals."""
    est, train, prompts, _, items = _prepared(estimator)
    rows = [(sid, item, t) for sid, seq in train.items() for t, item in enumerate(seq)]
    frame = pd.DataFrame(rows, columns=["session_id", "item_id", "timestamp"])
    frame.loc[3, "item_id"] = None
    _expect_value_error(lambda: _fit(clone(est), frame, items), "item_id", "a null item id in fit")
    _fit(est, train, items)
    bad_prompt = [list(prompts[0].tolist()) + [None]]
    _expect_value_error(lambda: est.predict(bad_prompt, k=5), "", "a None item in a prompt")
    for k in (0, -1, 2.5, "5"):
        _expect_value_error(lambda k=k: est.predict(prompts[:2], k=k), "k", f"k={k!r}")


def _spy_on_score_blocks(est) -> list:
    """Record the size of every block of scores ``est`` computes (instance attributes)."""
    sizes = []
    batch_scores, chunk_scorer = est._batch_scores, est._chunk_scorer

    def batch_spy(encoded):
        out = batch_scores(encoded)
        sizes.append(out.size)
        return out

    def chunk_spy(sequences):
        scorer = chunk_scorer(sequences)
        if scorer is None:
            return None

        def spy(c0, c1):
            out = scorer(c0, c1)
            sizes.append(out.numel())
            return out

        return spy

    est._batch_scores, est._chunk_scorer = batch_spy, chunk_spy
    return sizes


def check_bounded_scoring_memory(estimator):
    """A predict under a tiny score-memory budget (the catalogue scored in chunks of a few
    items, or a few sessions per batch) gives the same items and scores as one with room for
    everything, filters and empty prompts included."""
    est, train, prompts, _, items = _prepared(estimator)
    _fit(est, train, items)
    prompts = [*prompts[:5], np.asarray([], dtype=prompts[0].dtype)]
    k = min(7, est.n_items_)
    kwargs = {"exclude": [est.items_[0]], "items": list(est.items_[: max(2, est.n_items_ - 3)])}

    def answers():
        ranked = est.recommend(prompts, k=k, **kwargs)
        return est.predict(prompts, k=k), ranked

    whole, whole_ranked = answers()
    budget = 3 * len(prompts)
    est._max_scores_in_memory = budget  # instance override: chunks of ~3 items
    blocks = _spy_on_score_blocks(est)
    try:
        chunked, chunked_ranked = answers()
    finally:
        for name in ("_max_scores_in_memory", "_batch_scores", "_chunk_scorer"):
            delattr(est, name)
    assert max(blocks) <= max(budget, est.n_items_), (
        f"a block of {max(blocks)} scores exceeds the budget of {budget} "
        f"(or one catalogue row of {est.n_items_})"
    )
    assert _same(whole, chunked), "predict differs when the catalogue is scored in chunks"
    # A chunk's matrix product may sum in another order: scores agree to float32 rounding.
    pd.testing.assert_frame_equal(whole_ranked, chunked_ranked, rtol=1e-5, atol=1e-6)


def _expect_value_error(call, mention: str, what: str) -> None:
    try:
        call()
    except ValueError as exc:
        assert mention in str(exc), f"{what}: the error does not name {mention!r}: {exc}"
        return
    except Exception as exc:  # an internal error is a failure of the check too
        raise AssertionError(f"{what} raised {type(exc).__name__}, not ValueError: {exc}") from exc
    raise AssertionError(f"{what} raised no error")


def check_beats_most_popular(estimator):
    """On data with a learnable next item, NDCG@10 clearly exceeds MostPopular's."""
    from .metrics import ndcg_at_k
    from .recommenders import MostPopular

    est, train, prompts, targets, items = _prepared(estimator)
    ours = ndcg_at_k(_fit(est, train, items).predict(prompts, k=10), targets, 10)
    base = ndcg_at_k(MostPopular().fit(train).predict(prompts, k=10), targets, 10)
    assert ours > base + 0.05, f"NDCG@10 {ours:.3f} does not beat MostPopular's {base:.3f}"


CHECKS: tuple[Callable, ...] = (
    check_default_constructible,
    check_no_attributes_set_in_init,
    check_clone_and_params,
    check_not_fitted_error,
    check_fit_returns_self,
    check_fit_idempotent,
    check_global_random_state_untouched,
    check_save_load,
    check_string_ids,
    check_noncontiguous_int_ids,
    check_exclude_seen,
    check_batch_equals_single,
    check_input_forms,
    check_renamed_parameters,
    check_k_larger_than_catalogue,
    check_unknown_items,
    check_predict_time_filters,
    check_bounded_scoring_memory,
    check_bad_input_is_a_library_error,
    check_beats_most_popular,
)


def recommender_checks(estimator, expected_failed_checks: dict[str, str] | None = None):
    """Yield ``(check_name, check)`` pairs; opted-out checks carry their reason."""
    expected = expected_failed_checks or {}
    unknown = set(expected) - {c.__name__ for c in CHECKS}
    if unknown:
        raise ValueError(f"unknown checks in expected_failed_checks: {sorted(unknown)}")
    for check in CHECKS:
        yield check.__name__, check, expected.get(check.__name__)


def check_recommender(estimator, expected_failed_checks: dict[str, str] | None = None) -> None:
    """Run every check on ``estimator``; raise ``AssertionError`` naming the first failure."""
    for name, check, reason in recommender_checks(estimator, expected_failed_checks):
        if reason is not None:
            continue
        try:
            check(estimator)
        except Exception as exc:  # re-raise with the check's name
            raise AssertionError(f"{type(estimator).__name__} failed {name}: {exc}") from exc


def parametrize_with_checks(estimators: Iterable, expected_failed_checks: Callable | None = None):
    """A ``pytest.mark.parametrize`` over (estimator, check) for every check.

    ``expected_failed_checks(estimator)`` may return ``{check name: reason}``; those
    checks are marked ``xfail`` with the reason (strict: they must fail).
    """
    import pytest

    params = []
    for est in estimators:
        expected = expected_failed_checks(est) if expected_failed_checks else {}
        for name, check, reason in recommender_checks(est, expected):
            marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
            params.append(pytest.param(est, check, id=f"{type(est).__name__}-{name}", marks=marks))
    return pytest.mark.parametrize("estimator, check", params)
