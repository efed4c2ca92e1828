"""Meta-recommenders built from other recommenders (the parts)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from sklearn.base import clone

from ..base import Recommender
from ..data import Split, item_table, temporal_folds
from ..metrics import ndcg_at_k
from ..text import pin_array_item_embeddings

__all__ = ["HybridRecommender", "session_popularity"]


def session_popularity(sequences: list[np.ndarray], n_items: int) -> np.ndarray:
    """Share of sessions containing each item, (n_items,) for internal ids 1..n_items."""
    df = np.zeros(n_items + 1)
    for seq in sequences:
        df[np.unique(seq)] += 1
    return df[1:] / max(len(sequences), 1)


_PART_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def check_part_name(name) -> str:
    """A part name is a plain file name: letters, digits, ``_``, ``.``, ``-``, not starting
    with ``.`` (so never ``..``, a separator or an absolute path); it names the part's
    sub-directory of a saved hybrid."""
    if not isinstance(name, str) or not _PART_NAME.fullmatch(name):
        raise ValueError(
            f"part name {name!r} is not a plain name (letters, digits, '_', '.', '-', not "
            "starting with '.'): it names the part's folder when the hybrid is saved"
        )
    return name


def part_directory(path, name) -> Path:
    """``path/parts/name``, refusing a name that would leave ``path/parts``."""
    root = (Path(path) / "parts").resolve()
    target = (root / check_part_name(name)).resolve()
    if target.parent != root:
        raise ValueError(f"part {name!r} would be saved or loaded outside {root}")
    return target


class HybridRecommender(Recommender):
    """Base of the hybrids: fits (clones of) its parts on the same sessions, or uses fitted
    parts as they are with ``prefit=True``, and maps their scores onto one catalogue (the
    union of the training items and the item metadata).

    Subclasses name their parts in ``_part_names`` and combine rankings/scores in
    ``_score``. Parameters of the parts are reachable as ``part__param``.
    """

    _catalogue = "train+metadata"
    _part_names: tuple = ()

    def _parts(self) -> dict:
        return {name: getattr(self, name) for name in self._part_names}

    def _fit(self, sequences, item_metadata) -> None:
        # The parts (SKNN's "recent") and the validation folds see the sessions in time
        # order, as they would alone.
        sequences = self._in_time_order(sequences)
        external = [self.item_index_.ids[s - 1] for s in sequences]
        fitted = {}
        for name, part in self._parts().items():
            if part is None:
                raise ValueError(f"{type(self).__name__}: part {name!r} is not set")
            if self.prefit:
                part._check_fitted()
                fitted[name] = part
            else:
                # A part sees the metadata in this model's catalogue order: pin an array of
                # item embeddings to the item ids of the user's table first.
                part = pin_array_item_embeddings(part, self._fit_item_table)
                fitted[name] = clone(part).fit(external, item_metadata=item_metadata)
        self.parts_ = fitted
        self._map_parts()
        self.popularity_ = session_popularity(sequences, len(self.item_index_))
        self._fit_hybrid(sequences, item_metadata)

    def _fit_hybrid(self, sequences, item_metadata) -> None:
        """Learn the hybrid's own state (thresholds) after the parts are fitted."""

    def _map_parts(self) -> None:
        # columns_[name][j] = hybrid column of the part's internal item j + 1 (-1: unknown)
        self.columns_ = {}
        for name, part in self.parts_.items():
            codes = self.item_index_.encode(part.items_.tolist(), handle_unknown="pad")
            self.columns_[name] = codes - 1

    def _part_scores(self, name: str, sequences: list[np.ndarray]) -> np.ndarray:
        """The part's raw scores on the hybrid's columns (-inf where it has no item), with the
        prompt items masked when ``exclude_seen`` (so rankings never waste slots on them)."""
        cache = getattr(self, "_score_cache", None)
        if cache is not None:  # during threshold selection the same prompts are scored per value
            key = (name, tuple(len(s) for s in sequences), np.concatenate(sequences).tobytes())
            if key not in cache:
                self._score_cache = None
                cache[key] = self._part_scores(name, sequences)
                self._score_cache = cache
            return cache[key].copy()
        part = self.parts_[name]
        prompts = [
            part.item_index_.encode(self.item_index_.ids[s - 1].tolist(), handle_unknown="ignore")
            for s in sequences
        ]
        raw = part._batch_scores(prompts)  # (b, part_items)
        out = np.full((len(sequences), len(self.item_index_)), -np.inf, dtype=np.float64)
        cols = self.columns_[name]
        known = cols >= 0
        out[:, cols[known]] = raw[:, known]
        if self.exclude_seen:
            rows = np.repeat(np.arange(len(sequences)), [len(s) for s in sequences])
            out[rows, np.concatenate(sequences) - 1] = -np.inf
        return out

    @staticmethod
    def _ranking(scores: np.ndarray) -> list[np.ndarray]:
        """Column indices of finite scores, best first (ties by column)."""
        order = np.argsort(-scores, axis=1, kind="stable")
        return [row[np.isfinite(scores[r, row])] for r, row in enumerate(order)]

    def _scores_from_rankings(self, rankings: list[np.ndarray]) -> np.ndarray:
        """Scores that reproduce the given rankings (first = highest); other items -inf."""
        out = np.full((len(rankings), len(self.item_index_)), -np.inf)
        for r, ranking in enumerate(rankings):
            out[r, ranking] = np.arange(len(ranking), 0, -1, dtype=np.float64)
        return out

    # ------------------------------------------------------------------ selection on folds
    def _select_on_folds(self, param: str, grid, sequences, item_metadata, n_folds: int = 3):
        """Choose ``param`` from ``grid`` by mean NDCG@20 on forward-chaining folds of the
        (chronologically ordered) training sessions; the test set is never seen. Unfitted
        clones of the parts are fitted on each fold, also with ``prefit=True`` (whose parts
        saw every training session)."""
        external = {i: self.item_index_.ids[s - 1] for i, s in enumerate(sequences)}
        split = Split(train=external, test=None, items=self.item_index_.ids)
        try:
            folds = temporal_folds(split, n_folds=n_folds)
        except ValueError as exc:
            raise ValueError(
                f"{param}='auto' chooses {param} on {n_folds} validation folds of the training "
                f"sessions, which these {len(sequences)} sessions cannot give ({exc}); set "
                f"{param} to a value"
            ) from exc
        scores = {value: [] for value in grid}
        for fold in folds:
            hybrid = clone(self).set_params(**{param: grid[0]}, prefit=False)
            hybrid.fit(fold.train, item_metadata=self._fit_metadata)
            hybrid._score_cache = {}  # parts' scores do not depend on the value tried
            # _fit_hybrid sees what it sees inside fit: the item table as given (transient)
            # and the metadata in catalogue order.
            table = None if hybrid._fit_metadata is None else item_table(hybrid._fit_metadata)
            aligned = None if table is None else table.reindex(hybrid.item_index_.ids)
            hybrid._fit_item_table = table
            for value in grid:
                hybrid.set_params(**{param: value})
                encoded = [hybrid.item_index_.encode(seq.tolist()) for seq in fold.train.values()]
                hybrid._fit_hybrid(encoded, aligned)
                recs = hybrid.predict(fold.test.prompts, k=20)
                scores[value].append(ndcg_at_k([list(r) for r in recs], fold.test.targets, 20))
            del hybrid._fit_item_table
        means = {value: float(np.mean(v)) for value, v in scores.items()}
        chosen = max(grid, key=lambda v: means[v])
        self.selection_ = {
            "param": param,
            "chosen": chosen,
            "validation_ndcg20": {str(k): v for k, v in means.items()},
        }
        return chosen

    def fit(self, sessions, item_metadata=None):
        self._fit_metadata = item_metadata
        return super().fit(sessions, item_metadata)

    # ------------------------------------------------------------------ persistence
    def _get_state(self):
        return {"popularity_": self.popularity_}, {k: v for k, v in self._hybrid_state().items()}

    def _hybrid_state(self) -> dict:
        return {}

    def _set_state(self, arrays, extra):
        self.popularity_ = arrays["popularity_"]
        self._set_hybrid_state(extra)

    def _set_hybrid_state(self, extra: dict) -> None:
        pass

    def _save_files(self, path) -> None:
        for name, part in self.parts_.items():
            part.save(part_directory(path, name), overwrite=True)

    def _load_files(self, path) -> None:
        from ..persistence import load

        self.parts_ = {name: load(part_directory(path, name)) for name in self._part_names}
        self._map_parts()
