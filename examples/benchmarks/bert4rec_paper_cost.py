"""What one training epoch of BERT4Rec costs here at the paper's two Beauty optima.

The paper's BERT4Rec configurations (paper-digest §3.1 and §4.5) train on 1 + 10 copies of
every session per epoch with a wide item table. This script fits our BERT4Rec for one epoch
at each configuration on a random subset of the P1 training sessions of Beauty (a full epoch
of the RecSys'23 configuration would take far longer), measures the masked training
sequences per second, and scales the epoch to all 17,890 training sessions (500 held out for
early stopping, as in a real fit), to size what a test run and a search on the validation
folds would cost on this machine. Nothing is evaluated on the test set.

    python examples/benchmarks/bert4rec_paper_cost.py --data-dir ../shared/data/beauty --sessions 1500

Writes ``examples/benchmarks/results/bert4rec_paper_cost.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from llmseqrec.benchmark import load_benchmark_data, machine_info, machine_line, make_split
from llmseqrec.data import inner_validation_split
from llmseqrec.recommenders import BERT4Rec

OUT = Path(__file__).parent / "results" / "bert4rec_paper_cost.json"
COMMON = dict(n_masked_copies=10, last_item_copy=True, batch_size=256, max_len=20)
CONFIGS = {
    "TORS optimum": dict(
        emb_dim=192, n_layers=1, n_heads=2, dropout=0.4, mask_prob=0.9,
        lr=0.0023, weight_decay=0.0409, clip_norm=92.0,
    ),
    "RecSys'23 configuration": dict(
        emb_dim=512, n_layers=2, n_heads=2, dropout=0.25, mask_prob=0.65,
        lr=1e-4, weight_decay=0.004, clip_norm=5.0,
    ),
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="Beauty folder (default: data home)")
    parser.add_argument("--sessions", type=int, default=1500, help="training sessions timed")
    args = parser.parse_args()
    data = load_benchmark_data("beauty", args.data_dir)
    train = make_split(data, "P1").train
    rng = np.random.default_rng(0)
    keys = list(train)
    subset = {keys[i]: train[keys[i]] for i in np.sort(rng.choice(len(keys), args.sessions, False))}
    # Sessions a fit trains on: the model holds some out for early stopping (same rule).
    trained_sessions = len(inner_validation_split(args.sessions)[0])
    full_sessions = len(inner_validation_split(len(train))[0])
    results = {"machine": machine_line(machine_info()), "sessions": args.sessions, "configs": {}}
    for name, params in CONFIGS.items():
        model = BERT4Rec(**COMMON, **params, epochs=1, random_state=0, show_progress=False)
        model.fit(subset)
        seconds = model.history_.epoch_seconds[0]
        sequences = model.history_.sequences_per_epoch
        per_second = sequences / seconds
        full_epoch = sequences / trained_sessions * full_sessions / per_second
        results["configs"][name] = {
            "params": {**COMMON, **params},
            "timed_sessions": trained_sessions,
            "timed_seconds": seconds,
            "masked_sequences_per_second": per_second,
            "full_epoch_seconds": full_epoch,
        }
        print(
            f"{name}: {sequences:,} masked sequences from {trained_sessions:,} sessions in "
            f"{seconds:.0f} s ({per_second:.0f}/s); a full epoch: {full_epoch / 60:.0f} min",
            flush=True,
        )
    OUT.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
