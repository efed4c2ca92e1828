"""Training curves: a history as a table, and as a figure."""

from __future__ import annotations

import pandas as pd

__all__ = ["history_frame", "plot_history"]


def history_frame(history) -> pd.DataFrame:
    """One row per epoch (index ``epoch``, 1-based): ``train_loss``, then ``val_score`` (the
    inner-validation metric, higher is better) or ``validation_loss`` where recorded, and
    ``seconds``; ``frame.attrs["best_epoch"]`` is the epoch whose weights were kept.

    ``history`` is a :class:`TrainHistory`, or the dict LLMSeqPrompt keeps in ``history_``.
    """
    data = history if isinstance(history, dict) else history.to_json()
    columns = {}
    for key, name in (
        ("train_loss", "train_loss"),
        ("val_score", "val_score"),
        ("validation_loss", "validation_loss"),
        ("epoch_seconds", "seconds"),
    ):
        values = data.get(key)
        if values:
            columns[name] = list(values)
    n = max((len(v) for v in columns.values()), default=0)
    frame = pd.DataFrame(
        {k: v + [float("nan")] * (n - len(v)) for k, v in columns.items()},
        index=pd.RangeIndex(1, n + 1, name="epoch"),
    )
    frame.attrs["best_epoch"] = int(data.get("best_epoch") or 0)
    return frame


def plot_history(history, ax=None, score_label: str = "validation NDCG@20"):
    """Training loss (left axis) and the validation curve (right axis) per epoch, with the
    epoch whose weights were kept marked.

    Parameters
    ----------
    history : TrainHistory, dict or DataFrame
        A model's ``history_`` (or :func:`history_frame` of it).
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

    frame = history if isinstance(history, pd.DataFrame) else history_frame(history)
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
    best = frame.attrs.get("best_epoch")
    if best:
        ax.axvline(best, color="grey", linestyle="--", linewidth=1)
        ax.set_title(f"kept: epoch {best}")
    fig.tight_layout()
    return fig
