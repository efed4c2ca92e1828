"""A training run's history: a pandas DataFrame with one row per epoch."""

from __future__ import annotations

import types

import pandas as pd

__all__ = ["TrainHistory"]

#: Per-epoch series: (keyword and JSON key, column name).
_SERIES = (
    ("train_loss", "train_loss"),
    ("val_score", "val_score"),
    ("validation_loss", "validation_loss"),
    ("epoch_seconds", "seconds"),
    ("lr", "lr"),
)
_FRAME_ARGS = ("data", "index", "columns", "dtype", "copy")


class TrainHistory(pd.DataFrame):
    """A training run, one row per epoch (index ``epoch``, 1-based).

    Columns, where recorded: ``train_loss`` (mean over the epoch's batches), ``val_score``
    (the inner-validation metric, higher is better, e.g. NDCG@20) or ``validation_loss``
    (LLMSeqPrompt), ``seconds`` (the epoch's training time, validation excluded) and ``lr``
    (the learning rate of the epoch's last optimizer step).

    It is a :class:`pandas.DataFrame` (``history.plot(y="train_loss")``,
    ``history["val_score"].idxmax()``, ``history.to_csv(...)``) that also carries the
    run's scalars as attributes, kept by copies and row selections:

    - ``best_epoch``: the epoch whose weights were kept (1-based; 0 when none);
    - ``stopped_early``: whether early stopping ended the run;
    - ``optimizer_steps``: optimizer steps taken in all;
    - ``sequences_per_epoch``: training sequences one epoch visits (neural models);
    - ``extra``: further counts a model records (LLMSeqPrompt: ``train_examples``,
      ``validation_examples``, ``skipped_too_long``, ``train_tokens``, ``seconds``).

    ``train_loss``, ``val_score``, ``validation_loss``, ``epoch_seconds`` and ``lr`` as
    attributes are plain lists (empty when not recorded), as in the record this class
    replaces; ``history["train_loss"]`` is the column.

    Built from those fields as keywords (``TrainHistory(train_loss=[...], best_epoch=2)``,
    further keywords go to ``extra``), or like any DataFrame. :meth:`to_json` with no
    arguments gives the JSON-ready record that ``TrainHistory(**record)`` rebuilds exactly
    (what ``save()`` stores).
    """

    _metadata = ["sequences_per_epoch", "best_epoch", "stopped_early", "optimizer_steps", "extra"]

    # Defaults of the metadata, for frames pandas builds without finalising them.
    sequences_per_epoch: int = 0
    best_epoch: int = 0
    stopped_early: bool = False
    optimizer_steps: int = 0
    extra = types.MappingProxyType({})

    def __init__(
        self,
        data=None,
        index=None,
        columns=None,
        dtype=None,
        copy=None,
        *,
        train_loss=(),
        val_score=(),
        validation_loss=(),
        epoch_seconds=(),
        lr=(),
        sequences_per_epoch: int = 0,
        best_epoch: int = 0,
        stopped_early: bool = False,
        optimizer_steps: int = 0,
        **extra,
    ):
        fields = {
            "train_loss": train_loss,
            "val_score": val_score,
            "validation_loss": validation_loss,
            "epoch_seconds": epoch_seconds,
            "lr": lr,
        }
        if data is not None or index is not None or columns is not None:
            # pandas (or a caller) building a frame: the DataFrame constructor.
            given = [k for k, v in fields.items() if len(v)] + sorted(extra)
            if given:
                raise TypeError(
                    f"TrainHistory takes either DataFrame arguments or history fields, not "
                    f"both (got data and {given})"
                )
            super().__init__(data, index, columns, dtype, copy)
            return
        series = {}
        for key, column in _SERIES:
            values = list(fields[key])
            if values:
                series[column] = values
        lengths = {column: len(v) for column, v in series.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"per-epoch series of different lengths: {lengths}")
        n = next(iter(lengths.values()), 0)
        super().__init__(series, index=pd.RangeIndex(1, n + 1, name="epoch"), dtype=dtype)
        self.sequences_per_epoch = sequences_per_epoch
        self.best_epoch = best_epoch
        self.stopped_early = stopped_early
        self.optimizer_steps = optimizer_steps
        self.extra = dict(extra)

    @property
    def _constructor(self):
        return TrainHistory

    # The per-epoch series as lists, as the record this class replaces had them.
    def _series(self, column: str) -> list:
        return self[column].tolist() if column in self.columns else []

    @property
    def train_loss(self) -> list:
        """The training loss per epoch (a list; ``history["train_loss"]`` is the column)."""
        return self._series("train_loss")

    @property
    def val_score(self) -> list:
        """The inner-validation score per epoch (a list; empty without validation)."""
        return self._series("val_score")

    @property
    def validation_loss(self) -> list:
        """The validation loss per epoch (a list; LLMSeqPrompt records it)."""
        return self._series("validation_loss")

    @property
    def epoch_seconds(self) -> list:
        """Each epoch's training seconds (a list; the column is ``seconds``)."""
        return self._series("seconds")

    @property
    def lr(self) -> list:
        """The learning rate of each epoch's last optimizer step (a list)."""
        return self._series("lr")

    def to_json(self, *args, **kwargs):
        """With no arguments: the JSON-ready record, a dict of plain lists and numbers
        that ``TrainHistory(**record)`` rebuilds exactly. With arguments: pandas'
        :meth:`pandas.DataFrame.to_json`."""
        if args or kwargs:
            return super().to_json(*args, **kwargs)
        record = {key: self._series(column) for key, column in _SERIES}
        record.update(
            sequences_per_epoch=self.sequences_per_epoch,
            best_epoch=self.best_epoch,
            stopped_early=self.stopped_early,
            optimizer_steps=self.optimizer_steps,
        )
        for key, value in self.extra.items():
            record.setdefault(key, value)
        return record

    def to_frame(self) -> pd.DataFrame:
        """A plain :class:`pandas.DataFrame` copy, ``attrs["best_epoch"]`` set."""
        frame = pd.DataFrame(self, copy=True)
        frame.attrs["best_epoch"] = int(self.best_epoch or 0)
        return frame
