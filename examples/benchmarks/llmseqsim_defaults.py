"""Do LLMSeqSim's defaults transfer? 0.1's defaults against today's on a data set's folds.

LLMSeqSim's defaults became, in issue 23, the configuration a 30-trial search selected on
Beauty's validation folds (harmonic decay, PCA to 256 dimensions, Euclidean similarity).
This script fits three configurations on the three temporal validation folds and on the
test split of another data set and prints mean validation NDCG@20 and test NDCG@20:
0.1's defaults (plain mean, cosine over the full vectors), those with harmonic decay, and
today's defaults::

    python examples/benchmarks/llmseqsim_defaults.py --dataset ml-100k \\
        --data-dir ../shared/data/ml-100k --template "{title} ({year}) {genres}"
"""

from __future__ import annotations

import argparse

import numpy as np

from llmseqrec import LLMSeqSim
from llmseqrec.benchmark import load_benchmark_data, machine_info, machine_line
from llmseqrec.data import temporal_folds, temporal_split
from llmseqrec.metrics import ndcg_at_k
from llmseqrec.text import ItemTextEncoder

CONFIGS = {
    "0.1 defaults": {"decay": None, "similarity": "cosine", "reduction": None},
    "0.1 defaults + harmonic decay": {"decay": "harmonic", "similarity": "cosine", "reduction": None},
    "today's defaults": {},
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--template", default="{title}")
    args = parser.parse_args()
    data = load_benchmark_data(args.dataset, args.data_dir)
    split = temporal_split(data.interactions)
    encoder = ItemTextEncoder(template=args.template)
    print(machine_line(machine_info()))
    print("| configuration | validation NDCG@20 (folds) | mean | test NDCG@20 |")
    print("|---|---|---|---|")
    for name, params in CONFIGS.items():
        found = []
        for part in [*temporal_folds(split), split]:
            model = LLMSeqSim(item_embeddings=encoder, **params)
            model.fit(part.train, item_metadata=data.items)
            recs = [list(r) for r in model.predict(part.test.prompts, k=20)]
            found.append(ndcg_at_k(recs, part.test.targets, 20))
        folds = " / ".join(f"{v:.4f}" for v in found[:3])
        print(f"| {name} | {folds} | {np.mean(found[:3]):.4f} | {found[3]:.4f} |", flush=True)


if __name__ == "__main__":
    main()
