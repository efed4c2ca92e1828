"""How much P1 figures on Beauty move with the order of same-day reviews.

Amazon reviews carry only a date, so the order of a reviewer's same-day reviews, and with it
the held-out last item of many test sessions, is arbitrary. The benchmark data fixes one
random order; the paper's pipeline used another one that cannot be recovered. This script
redraws that order (``llmseqrec.data.shuffle_ties``) and refits the non-neural models of
``beauty_p1.toml`` at their validation-selected configurations (and V-SKNN at the paper's
own configuration) on every draw, so that the spread of each test figure across equally
valid tie orders can be set beside the gap to the paper. Nothing here selects a model.

    python examples/benchmarks/tie_order.py --data-dir ../shared/data/beauty --draws 20

Writes ``examples/benchmarks/results/tie_order/results.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from llmseqrec.benchmark import load_benchmark_data
from llmseqrec.data import shuffle_ties, temporal_folds, temporal_split
from llmseqrec.metrics import hit_rate_at_k, ndcg_at_k
from llmseqrec.recommenders import SKNN, VSKNN, LLMSeqSim, MostPopular

HERE = Path(__file__).parent
SEARCH = HERE / "results" / "beauty_p1_search"
# The paper's figures (RecSys'23 Beauty table, benchmark protocol P1).
PAPER = {"MostPopular (prompt items not excluded)": 0.0064, "LLMSeqSim": 0.0480, "VSKNN": 0.0475}


def selected(label: str) -> dict:
    return json.loads((SEARCH / label / "best_params.json").read_text())["params"]


def models() -> dict:
    """Name -> (class, params); the same configurations as beauty_p1.toml."""
    return {
        "MostPopular (prompt items not excluded)": (MostPopular, {"exclude_seen": False}),
        "SKNN": (SKNN, selected("SKNN")),
        "VSKNN": (VSKNN, selected("VSKNN")),
        "VSKNN (paper's RecSys'23 config)": (
            VSKNN,
            dict(
                k=70, sample_size=1090, sampling="random", similarity="dot",
                idf_weighting=True, decay="harmonic", random_state=0,
            ),
        ),
        "LLMSeqSim": (LLMSeqSim, selected("LLMSeqSim")),
    }  # fmt: skip


def scores(cls, params, split, items) -> tuple[float, float]:
    model = cls(**params).fit(split.train, item_metadata=items)
    recs = [list(r) for r in model.predict(split.test.prompts, k=20)]
    return ndcg_at_k(recs, split.test.targets, 20), hit_rate_at_k(recs, split.test.targets, 20)


def tied_targets(df: pd.DataFrame, split) -> float:
    """Share of test cases whose session ends with two or more reviews of the same day."""
    last_time = df.groupby("session_id")["timestamp"].transform("max")
    n_last_day = df[df["timestamp"] == last_time].groupby("session_id").size()
    return float((n_last_day.reindex(split.test.session_ids) >= 2).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="Beauty folder (default: data home)")
    parser.add_argument("--draws", type=int, default=20, help="tie orders besides the file's")
    parser.add_argument("--out", default=str(HERE / "results" / "tie_order"))
    args = parser.parse_args()
    data = load_benchmark_data("beauty", args.data_dir)
    specs = models()
    fold_models = ("VSKNN", "VSKNN (paper's RecSys'23 config)")
    rows, base_targets = [], None
    for draw in [None, *range(1, args.draws + 1)]:
        start = time.perf_counter()
        df = data.interactions if draw is None else shuffle_ties(data.interactions, draw)
        split = temporal_split(df)
        targets = np.asarray(split.test.targets, dtype=object)
        if base_targets is None:
            base_targets = targets
        row = {
            "draw": "file" if draw is None else draw,
            "tied_target_share": tied_targets(df, split),
            "targets_changed": float((targets != base_targets).mean()),
        }
        for name, (cls, params) in specs.items():
            row[f"{name} NDCG@20"], row[f"{name} HR@20"] = scores(cls, params, split, data.items)
        folds = temporal_folds(split)
        for name in fold_models:
            cls, params = specs[name]
            per_fold = [scores(cls, params, f, data.items)[0] for f in folds]
            row[f"{name} validation NDCG@20"] = float(np.mean(per_fold))
        row["seconds"] = time.perf_counter() - start
        rows.append(row)
        print(json.dumps(row), flush=True)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(rows, indent=2) + "\n")
    table = pd.DataFrame(rows).set_index("draw")
    redrawn = table.drop(index="file")
    print(f"\n{len(redrawn)} redrawn tie orders besides the file's\n")
    print("| figure | file order | redrawn: mean ± std | min – max | paper |")
    print("|---|---|---|---|---|")
    for col in table.columns.drop("seconds"):
        paper = PAPER.get(col.removesuffix(" NDCG@20")) if col.endswith(" NDCG@20") else None
        print(
            f"| {col} | {table.loc['file', col]:.4f} | {redrawn[col].mean():.4f} ± "
            f"{redrawn[col].std():.4f} | {redrawn[col].min():.4f} – {redrawn[col].max():.4f} | "
            f"{'' if paper is None else f'{paper:.4f}'} |"
        )
    wins = (
        redrawn["VSKNN validation NDCG@20"]
        > redrawn["VSKNN (paper's RecSys'23 config) validation NDCG@20"]
    ).mean()  # noqa: E501
    print(
        f"\nThe folds prefer the selected V-SKNN over the paper's configuration in {wins:.0%} of draws."
    )  # noqa: E501


if __name__ == "__main__":
    main()
