"""Tables (Markdown) and plots of benchmark results."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ._machine import machine_line

__all__ = ["summarize", "render_markdown", "render_results_dir", "plot_results"]

_COLUMNS = [
    ("NDCG", 10),
    ("HR", 10),
    ("MRR", 10),
    ("NDCG", 20),
    ("HR", 20),
    ("MRR", 20),
    ("CatCov", 20),
    ("Serendipity", 20),
    ("Novelty", 20),
]


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation (ddof=1; 0 for one run) and run count per model, metric and k."""
    grouped = results.groupby(["model", "metric", "k"], dropna=False, sort=False)["value"]
    summary = grouped.agg(
        mean="mean", std=lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0, n_runs="count"
    )
    return summary.reset_index()


def _select(summary, model, metric, k) -> pd.DataFrame:
    """The summary rows of one model, metric and cut-off (``k=None``: metrics without one)."""
    sel = summary[(summary["model"] == model) & (summary["metric"] == metric)]
    return sel[sel["k"].isna()] if k is None else sel[sel["k"] == k]


def _cell(summary, model, metric, k, digits=4):
    sel = _select(summary, model, metric, k)
    if sel.empty:
        return "–"
    row = sel.iloc[0]
    if row["n_runs"] > 1:
        return f"{row['mean']:.{digits}f} ± {row['std']:.{digits}f}"
    return f"{row['mean']:.{digits}f}"


def render_markdown(summary: pd.DataFrame, meta: dict) -> str:
    """A results table with the protocol, data, machine, date and command above it."""
    config, data = meta["config"], meta["data"]
    models = list(dict.fromkeys(summary["model"]))
    runs = {
        m: int(summary[(summary["model"] == m) & (summary["metric"] == "NDCG")]["n_runs"].max())
        for m in models
    }
    neural = "seconds_per_epoch" in set(summary["metric"])
    header = (
        "| model | runs | "
        + " | ".join(f"{m}@{k}" for m, k in _COLUMNS)
        + " | fit (s) | predict (s) | test prompts / s |"
        + (" epochs (best) | s / epoch | train seq / s |" if neural else "")
    )
    lines = [
        f"**Protocol** {config['protocol']}: {data.get('protocol', '')}; popularity for serendipity/novelty counted on "
        f"{'training data' if config['popularity'] == 'train' else 'train+test data (the paper’s leaky counting, for comparison)'}.",
        f"**Data** {data.get('dataset')}: {data.get('n_sessions'):,} sessions, {data.get('n_items'):,} items, "
        f"{data.get('n_interactions'):,} interactions; {data.get('n_train_sessions'):,} training sessions, "
        f"{data.get('n_test_cases'):,} test cases.",
        f"**Machine** {machine_line(meta['machine'])}. **Date** {meta['date']}.",
        f"**Command** (the last call) `{meta.get('command') or 'llmseqrec benchmark'}`",
        "",
        "Mean ± standard deviation over seeds (models without randomness run once). Each row "
        "holds every finished run of its configuration on file, whichever call fitted it; "
        "the runs column lists their seeds.",
        "",
        header,
        "|" + "---|" * (len(_COLUMNS) + 5 + (3 if neural else 0)),
    ]
    for m in models:
        cells = [
            _cell(summary, m, metric, k, 2 if metric == "Novelty" else 4) for metric, k in _COLUMNS
        ]
        timing = [_cell(summary, m, t, None, 1) for t in ("fit_seconds", "predict_seconds")]
        timing.append(_cell(summary, m, "test_prompts_per_second", None, 0))
        if neural:
            epochs = f"{_cell(summary, m, 'epochs', None, 0)} ({_cell(summary, m, 'best_epoch', None, 0)})"
            if not _select(summary, m, "refit_epochs", None).empty:
                # refit=True: the retraining on every session, after early stopping
                epochs += f" + {_cell(summary, m, 'refit_epochs', None, 0)} refit"
            timing.append(epochs)
            timing.append(_cell(summary, m, "seconds_per_epoch", None, 1))
            timing.append(_cell(summary, m, "train_sequences_per_second", None, 0))
        seeds = (meta.get("seeds") or {}).get(m)
        n_runs = f"{runs[m]} (seeds {', '.join(map(str, seeds))})" if seeds else str(runs[m])
        lines.append(f"| {m} | {n_runs} | " + " | ".join(cells + timing) + " |")
    selections = meta.get("selections") or {}
    if selections:
        lines += [
            "",
            "Chosen on the validation folds (mean validation NDCG@20 per candidate value):",
            "",
        ]
        for model, sel in selections.items():
            grid = ", ".join(f"{k}: {v:.4f}" for k, v in sel["validation_ndcg20"].items())
            lines.append(f"- {model}: `{sel['param']}` = **{sel['chosen']}** ({grid})")
    return "\n".join(lines) + "\n"


def render_results_dir(out_dir) -> str:
    """Re-render ``results.md`` from the files in a results directory."""
    out = Path(out_dir)
    payload = json.loads((out / "results.json").read_text())
    summary = pd.read_csv(out / "summary.csv")
    return render_markdown(summary, payload)


def plot_results(out_dir, metric: str = "NDCG", k: int = 20) -> list[Path]:
    """Bar chart of ``metric@k`` with error bars, and accuracy against catalogue coverage.

    Needs matplotlib (``pip install "llmseqrec[plot]"``). Returns the PNG paths.
    """
    from ..utils import import_optional

    import_optional("matplotlib", extra="plot", purpose="benchmark plots")
    # Figure objects draw without pyplot: the caller's backend and open figures are untouched.
    from matplotlib.figure import Figure

    out = Path(out_dir)
    summary = pd.read_csv(out / "summary.csv")
    acc = summary[(summary["metric"] == metric) & (summary["k"] == k)]
    cov = summary[(summary["metric"] == "CatCov") & (summary["k"] == k)].set_index("model")
    fig = Figure(figsize=(8, 1.0 + 0.45 * len(acc)))
    ax = fig.subplots()
    ax.barh(
        acc["model"], acc["mean"], xerr=acc["std"], capsize=4, color="#4C72B0"
    )  # long labels read best sideways
    ax.invert_yaxis()
    ax.set_xlabel(f"{metric}@{k}")
    ax.set_title(f"{metric}@{k} (mean ± std over seeds)")
    fig.tight_layout()
    bar_path = out / f"{metric.lower()}{k}.png"
    fig.savefig(bar_path, dpi=120)
    fig = Figure(figsize=(8, 4.5))
    ax = fig.subplots()
    for _, row in acc.iterrows():
        c = cov.loc[row["model"], "mean"] if row["model"] in cov.index else np.nan
        ax.errorbar(c, row["mean"], yerr=row["std"], fmt="o", capsize=3)
        ax.annotate(
            row["model"], (c, row["mean"]), textcoords="offset points", xytext=(4, 4), fontsize=8
        )
    ax.set_xlim(-0.05, 1.3)  # room for the labels
    ax.set_xlabel(f"catalogue coverage@{k}")
    ax.set_ylabel(f"{metric}@{k}")
    ax.set_title("Accuracy against coverage")
    fig.tight_layout()
    scatter_path = out / f"{metric.lower()}{k}_vs_coverage.png"
    fig.savefig(scatter_path, dpi=120)
    return [bar_path, scatter_path]
