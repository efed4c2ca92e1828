"""How much P2 (leave-one-out) figures on Beauty move with the order of same-day reviews.

Amazon reviews carry only a date, so which of a reviewer's same-day reviews is the held-out
last item (P2's test target) is arbitrary. Our data fixes one order; the published P2
figures (SASRec+SS, eSASRec: the ``blondered/transformer_benchmark`` README) come from their
own preprocessing, whose order differs. This script redraws the order of ties
(``llmseqrec.data.shuffle_ties``) and refits models at fixed configurations on each draw, so
that the spread of a P2 figure across equally valid orders can be set beside the gap to the
published ones. Nothing here selects a model.

* every draw: the share of test targets that are tied with the user's previous review, the
  share changed against the file's order, LLMSeqSim (the validation-selected P1
  configuration) and SKNN;
* the first ``--neural-draws`` redraws also fit SASRec at the P2 configuration of
  ``beauty_p2_strong.toml`` (seed 0; about 20 minutes a fit on 2 CPU cores).

    python examples/benchmarks/p2_tie_order.py --data-dir ../shared/data/beauty --draws 10 \\
        --neural-draws 1

One JSON line per draw is appended to ``--out``
(default ``examples/benchmarks/results/p2_tie_order.jsonl``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from llmseqrec import SASRec
from llmseqrec.benchmark import load_benchmark_data, load_config, machine_info, machine_line
from llmseqrec.benchmark._config import read_params_from
from llmseqrec.data import leave_one_out_split, shuffle_ties
from llmseqrec.metrics import hit_rate_at_k, ndcg_at_k
from llmseqrec.recommenders import SKNN, LLMSeqSim

HERE = Path(__file__).parent
SEARCH = HERE / "results" / "beauty_p1_search"


def scores(model, split, items) -> dict:
    model.fit(split.train, item_metadata=items)
    recs = [list(r) for r in model.predict(split.test.prompts, k=20)]
    out = {}
    for k in (10, 20):
        top = [r[:k] for r in recs]
        out[f"NDCG@{k}"] = round(ndcg_at_k(top, split.test.targets, k), 4)
        out[f"HR@{k}"] = round(hit_rate_at_k(top, split.test.targets, k), 4)
    return out


def tied_target_share(df) -> float:
    """Share of users whose last review has the date of their second-last one."""
    ordered = df.sort_values(["session_id", "timestamp"], kind="stable")
    last_two = ordered.groupby("session_id")["timestamp"].apply(lambda t: t.iloc[-2:].tolist())
    last_two = last_two[last_two.map(len) == 2]
    return float(np.mean([a == b for a, b in last_two]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", default=None, help="Beauty folder (default: data home)")
    parser.add_argument("--draws", type=int, default=10, help="tie orders besides the file's")
    parser.add_argument("--neural-draws", type=int, default=0, help="redraws that fit SASRec")
    parser.add_argument("--out", default=str(HERE / "results" / "p2_tie_order.jsonl"))
    args = parser.parse_args()
    data = load_benchmark_data("beauty", args.data_dir)
    sasrec = load_config(HERE / "beauty_p2_strong.toml").models[0].params
    common = {"date": time.strftime("%Y-%m-%d"), "machine": machine_line(machine_info())}
    base_targets = None
    for draw in [None, *range(1, args.draws + 1)]:
        start = time.perf_counter()
        df = data.interactions if draw is None else shuffle_ties(data.interactions, draw)
        split = leave_one_out_split(df)
        targets = np.asarray(split.test.targets, dtype=object)
        base_targets = targets if base_targets is None else base_targets
        row = {
            **common,
            "draw": "file" if draw is None else draw,
            "tied_target_share": round(tied_target_share(df), 4),
            "targets_changed": round(float((targets != base_targets).mean()), 4),
            "LLMSeqSim": scores(
                LLMSeqSim(**read_params_from(SEARCH / "LLMSeqSim" / "best_params.json")),
                split,
                data.items,
            ),
            "SKNN": scores(
                SKNN(**read_params_from(SEARCH / "SKNN" / "best_params.json")), split, data.items
            ),
        }
        if draw is not None and draw <= args.neural_draws:
            row["SASRec"] = scores(SASRec(**sasrec, random_state=0), split, data.items)
        row["seconds"] = round(time.perf_counter() - start)
        print(json.dumps(row), flush=True)
        with open(args.out, "a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
