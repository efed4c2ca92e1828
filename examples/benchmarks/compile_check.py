"""Issue 26: does ``torch.compile`` pay for SASRec's training on this machine?

Fits SASRec (the library's defaults, 3 epochs, no early stopping) on the first 6,000
training sessions of Beauty's P1 split twice eagerly and twice with the module's forward
compiled by ``torch.compile`` (inductor), alternating, in one process, and prints each
epoch's seconds and the final training loss.

    python examples/benchmarks/compile_check.py --data-dir ../shared/data/beauty
"""

import argparse
import time
import warnings

import torch

from llmseqrec import SASRec
from llmseqrec.data import temporal_split
from llmseqrec.datasets import load_beauty
from llmseqrec.recommenders import _neural


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default="../shared/data/beauty")
    parser.add_argument("--sessions", type=int, default=6000)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    split = temporal_split(load_beauty(args.data_dir).interactions)
    train = dict(list(split.train.items())[: args.sessions])
    eager = _neural.train_module

    def compiled(module, *a, **k):
        module.forward = torch.compile(module.forward, dynamic=False)
        return eager(module, *a, **k)

    try:
        for name in ("eager", "compiled", "eager", "compiled"):
            _neural.train_module = compiled if name == "compiled" else eager
            model = SASRec(epochs=3, patience=None, random_state=0, show_progress=False)
            start = time.perf_counter()
            model.fit(train)
            seconds = [round(s, 2) for s in model.history_.epoch_seconds]
            print(name, seconds, "total", round(time.perf_counter() - start, 1),
                  "loss", model.history_.train_loss[-1])  # fmt: skip
    finally:
        _neural.train_module = eager


if __name__ == "__main__":
    main()
