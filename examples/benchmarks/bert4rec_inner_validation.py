"""BERT4Rec's inner-validation curve at two masking settings (P1 Beauty training sessions only).

Fits BERT4Rec on the P1 training sessions and prints, per epoch, the early-stopping metric
(NDCG@20 on the inner validation sessions held out of the training data) and the training
loss. The test set is never touched: this is how the masking setting of the sequential table
was compared, on validation data only.

    python examples/benchmarks/bert4rec_inner_validation.py a b --data-dir ../shared/data/beauty

``a`` = the table's configuration (mask 0.2, patience 3), ``b`` = mask 0.5, patience 5; both
capped at 15 epochs, random_state 0.
"""

import argparse
import time

from llmseqrec.benchmark import load_benchmark_data, make_split
from llmseqrec.recommenders import BERT4Rec

BASE = dict(
    emb_dim=64, n_layers=2, n_heads=2, dropout=0.2, mask_prob=0.2, n_masked_copies=3, lr=0.002,
    batch_size=256, weight_decay=0.05, epochs=15, patience=3, show_progress=False, random_state=0,
)  # fmt: skip
VARIANTS = {"a": {}, "b": {"mask_prob": 0.5, "patience": 5}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="+", choices=sorted(VARIANTS))
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    data = load_benchmark_data("beauty", args.data_dir)
    split = make_split(data, "P1")
    for name in args.variants:
        params = {**BASE, **VARIANTS[name]}
        start = time.time()
        model = BERT4Rec(**params).fit(split.train, item_metadata=data.items)
        h = model.history_
        print(
            name, VARIANTS[name], "best", h.best_epoch,
            "val", [round(v, 4) for v in h.val_score],
            "loss", [round(v, 3) for v in h.train_loss],
            f"{time.time() - start:.0f}s", flush=True,
        )  # fmt: skip


if __name__ == "__main__":
    main()
