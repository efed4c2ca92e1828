"""Hybrids of the best parts (issue 23): LLM2SASRec at the strong recipe with LLMSeqSim.

Two hybrids of the validation-selected LLMSeqSim (all-MiniLM-L6-v2 titles) and LLM2SASRec at
the strong recipe (``beauty_p1_strong.toml``), on Beauty (P1):

* **LLMSeqSim & Sequential**, the paper's popularity switch (:class:`PopularitySwitch`): the
  sequential model's list when the prompt's last item is at least as popular as the
  ``quantile`` of item popularity, LLMSeqSim's otherwise;
* **score fusion** (:class:`ScoreFusion`): ``(1 - w) * LLM2SASRec + w * LLMSeqSim`` on
  per-session min-max normalised scores.

The settings are chosen on the 3 temporal validation folds of the training sessions (never the
test set): on each fold both parts are fitted once (LLM2SASRec with seed 0) and every setting is
scored by NDCG@20; the grids include the parts alone (``quantile`` 0 and 1, ``w`` 0 and 1), so
the choice can fall back to a part. Then, for each seed, both parts are fitted on all training
sessions and the two parts and the two hybrids at the chosen settings are evaluated on the test
cases::

    python examples/benchmarks/strong_hybrids.py --data-dir ../shared/data/beauty

With ``--protocol P2`` the same runs on leave-one-out (benchmark-protocol.md, "P2"): the
settings are chosen on the validation target (each user's second-last item, trained without
it), the test figures on the last item, with the published P2 history length
(``--max-prompt-items 50``)::

    python examples/benchmarks/strong_hybrids.py --data-dir ../shared/data/beauty \
        --protocol P2 --max-prompt-items 50 --out examples/benchmarks/results/strong_hybrids_p2.jsonl

One JSON line per fold selection and per seed is appended to ``--out`` (default
``examples/benchmarks/results/strong_hybrids.jsonl``).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from llmseqrec import LLM2SASRec, LLMSeqSim, PopularitySwitch, ScoreFusion
from llmseqrec.benchmark import machine_info, machine_line
from llmseqrec.benchmark._config import read_params_from
from llmseqrec.data import leave_one_out_split, temporal_folds, temporal_split
from llmseqrec.datasets import load_beauty
from llmseqrec.evaluation import evaluate
from llmseqrec.metrics import ndcg_at_k

STRONG = dict(
    emb_dim=64, n_layers=2, n_heads=2, dropout=0.2, learning_rate=1e-3, batch_size=256,
    weight_decay=0.0, head="dot", position_origin="first", block="post_ln", activation="gelu",
    ffn_scale=4, init="normal", epochs=40, patience=10, reduction="pca", show_progress=False,
)  # fmt: skip
LLMSEQSIM_PARAMS = "examples/benchmarks/results/beauty_p1_search/LLMSeqSim/best_params.json"
QUANTILES = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)  # 0: always the sequential model
WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0)  # 0: LLM2SASRec alone


def machine() -> str:
    """The machine line every benchmark records (CPU, memory, GPU, torch, llmseqrec)."""
    return machine_line(machine_info())


def parts(train, items, seed, max_prompt_items=20):
    """(LLM2SASRec, LLMSeqSim), both fitted on ``train``."""
    sequential = LLM2SASRec(**STRONG, max_prompt_items=max_prompt_items, random_state=seed).fit(
        train, item_metadata=items
    )
    similarity = LLMSeqSim(**read_params_from(LLMSEQSIM_PARAMS)).fit(train, item_metadata=items)
    return sequential, similarity


def switch(sequential, similarity, q):
    return PopularitySwitch(popular=sequential, unpopular=similarity, quantile=q, prefit=True)


def fusion(sequential, similarity, w):
    return ScoreFusion(
        models=[("sequential", sequential), ("llmseqsim", similarity)],
        weights=[1.0 - w, w],
        prefit=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--out", default="examples/benchmarks/results/strong_hybrids.jsonl")
    parser.add_argument("--protocol", choices=("P1", "P2"), default="P1")
    parser.add_argument("--max-prompt-items", type=int, default=20)
    args = parser.parse_args()
    data = load_beauty(args.data_dir)
    if args.protocol == "P2":
        split = leave_one_out_split(data.interactions)
        folds = [leave_one_out_split(data.interactions, validation=True)]
    else:
        split = temporal_split(data.interactions)
        folds = temporal_folds(split, n_folds=3)
    items = data.items
    common = {
        "date": time.strftime("%Y-%m-%d"), "machine": machine(), "torch": torch.__version__,
        "protocol": args.protocol, "max_prompt_items": args.max_prompt_items,
    }  # fmt: skip
    ks = (10, 20) if args.protocol == "P2" else (20,)

    def write(record):
        print(json.dumps(record), flush=True)
        with open(args.out, "a") as f:
            f.write(json.dumps(record) + "\n")

    # 1. Settings on the validation folds (seed 0).
    scores = {("switch", q): [] for q in QUANTILES} | {("fusion", w): [] for w in WEIGHTS}
    for fold in folds:
        sequential, similarity = parts(
            fold.train, items, seed=0, max_prompt_items=args.max_prompt_items
        )
        for (kind, value), found in scores.items():
            hybrid = (switch if kind == "switch" else fusion)(sequential, similarity, value)
            recs = hybrid.fit(fold.train, item_metadata=items).predict(fold.test.prompts, k=20)
            found.append(ndcg_at_k([list(r) for r in recs], fold.test.targets, ks[0]))
    means = {f"{kind}={value}": float(np.mean(v)) for (kind, value), v in scores.items()}
    best_q = max(QUANTILES, key=lambda q: np.mean(scores[("switch", q)]))
    best_w = max(WEIGHTS, key=lambda w: np.mean(scores[("fusion", w)]))
    write({**common, "stage": "folds", f"validation_ndcg{ks[0]}": means, "quantile": best_q,
           "weight": best_w})  # fmt: skip

    # 2. Test figures at the chosen settings, per seed.
    for seed in [int(s) for s in args.seeds.split(",")]:
        start = time.time()
        sequential, similarity = parts(split.train, items, seed, args.max_prompt_items)
        fit_s = time.time() - start
        models = {
            "LLM2SASRec": sequential,
            "LLMSeqSim": similarity,
            f"LLMSeqSim & Sequential (quantile {best_q})": switch(sequential, similarity, best_q),
            f"score fusion (LLMSeqSim weight {best_w})": fusion(sequential, similarity, best_w),
        }
        results = {}
        for name, model in models.items():
            if name.startswith(("LLMSeqSim &", "score fusion")):
                model.fit(split.train, item_metadata=items)
            table = evaluate(model, split, show_progress=False)
            results[name] = {
                f"{row.metric}@{row.k}": round(float(row.value), 4)
                for row in table.itertuples()
                if row.metric in ("NDCG", "HR")
            }
        write({**common, "stage": "test", "seed": seed, "fit_s": round(fit_s), "results": results,
               "best_epoch": sequential.history_.best_epoch})  # fmt: skip


if __name__ == "__main__":
    main()
