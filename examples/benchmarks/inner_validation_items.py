"""What holding out 500 training sessions for early stopping removes from training.

Diagnostic for docs/benchmarks.md: for the paper's random draw of 500 inner-validation
sessions and for the latest 500 (``val_split="temporal"``), prints how many test targets
become items never seen in the remaining training sessions, how many lose some training
occurrences, and the mean share of occurrences they lose. A model whose item table starts
at random cannot rank an item it never trains on; one started from text vectors still can.

    python examples/benchmarks/inner_validation_items.py --data-dir ../shared/data/beauty
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np

from llmseqrec.benchmark import load_benchmark_data, make_split
from llmseqrec.data import inner_validation_split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seeds", default="0,1,2", help="seeds of the random draw")
    args = parser.parse_args()
    split = make_split(load_benchmark_data("beauty", args.data_dir), "P1")
    sessions = list(split.train.values())  # sorted by session time (the split's order)
    eligible = np.array([i for i, s in enumerate(sessions) if len(s) >= 2])
    counts = Counter(x for s in sessions for x in s.tolist())
    targets = np.asarray(split.test.targets).tolist()
    print(f"{len(targets):,} test targets, {len(sessions):,} training sessions")
    draws = [("latest 500 (temporal)", "temporal", None)] + [
        (f"random 500 (seed {s})", "random", int(s)) for s in args.seeds.split(",")
    ]
    for name, strategy, seed in draws:
        _, val = inner_validation_split(len(eligible), 0.1, 500, seed, strategy=strategy)
        held = set(eligible[val].tolist())
        kept = Counter(x for i, s in enumerate(sessions) if i not in held for x in s.tolist())
        unseen = sum(kept.get(t, 0) == 0 for t in targets)
        losing = sum(kept.get(t, 0) < counts[t] for t in targets)
        share = np.mean([1 - kept.get(t, 0) / counts[t] for t in targets])
        print(
            f"{name:24s} targets unseen in training: {unseen:4d} ({unseen / len(targets):.1%}); "
            f"losing occurrences: {losing:5d}; mean share of occurrences lost: {share:.1%}"
        )


if __name__ == "__main__":
    main()
