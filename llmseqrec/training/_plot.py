"""Training curves: a history as a table, and as a figure."""

from __future__ import annotations

import pandas as pd

from ._history import TrainHistory

__all__ = ["history_frame", "plot_history"]


def history_frame(history) -> pd.DataFrame:
    """One row per epoch (index ``epoch``, 1-based): ``train_loss``, then ``val_score`` (the
    inner-validation metric, higher is better) or ``validation_loss`` where recorded,
    ``seconds`` and ``lr``, as a plain DataFrame; ``frame.attrs["best_epoch"]`` is the epoch
    whose weights were kept.

    ``history`` is a :class:`TrainHistory` (itself a DataFrame; this is its
    :meth:`~TrainHistory.to_frame`), or a record of one as a dict (``to_json()``, or the
    dict older LLMSeqPrompt models kept in ``history_``).
    """
    if not isinstance(history, TrainHistory):
        history = TrainHistory(**history)
    return history.to_frame()


def plot_history(history, ax=None, score_label: str = "validation NDCG@20"):
    """Training loss (left axis) and the validation curve (right axis) per epoch, with the
    epoch whose weights were kept marked.

    Parameters
    ----------
    history : TrainHistory, dict or DataFrame
        A model's ``history_``, a record of one (``to_json()``), or a DataFrame with
        ``attrs["best_epoch"]`` (:func:`history_frame`).
    ax : matplotlib Axes, optional
        Draw here; by default on a new ``Figure`` (pyplot's state and backend untouched).
    score_label : str

    Returns
    -------
    matplotlib.figure.Figure
        Displayed by Jupyter; ``fig.savefig(path)`` writes it.
    """
    from ..utils import import_optional

    import_optional("matplotlib", extra="plot", purpose="training curves")
    from matplotlib.figure import Figure

    if isinstance(history, TrainHistory):
        frame, best = history, history.best_epoch
    else:
        frame = history if isinstance(history, pd.DataFrame) else history_frame(history)
        best = frame.attrs.get("best_epoch")
    if ax is None:
        fig = Figure(figsize=(6.5, 3.5))
        ax = fig.subplots()
    fig = ax.figure
    if "train_loss" in frame:
        ax.plot(frame.index, frame["train_loss"], color="#4C72B0", label="training loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    curve = "val_score" if "val_score" in frame else "validation_loss"
    if curve in frame:
        right = ax.twinx()
        label = score_label if curve == "val_score" else "validation loss"
        right.plot(frame.index, frame[curve], color="#DD8452", label=label)
        right.set_ylabel(label)
    if best:
        ax.axvline(best, color="grey", linestyle="--", linewidth=1)
        ax.set_title(f"kept: epoch {best}")
    fig.tight_layout()
    return fig
