"""V-SKNN on the validation folds and the test set, with two ways of breaking score ties.

Diagnostic for docs/benchmarks.md (nothing here selects a model): prints, for the
validation-selected V-SKNN and the paper's two published configurations, the NDCG@20 of each
validation fold, their mean, and the test NDCG@20, once with the library's tie-breaking
(smaller internal id first) and once with ties broken by training popularity.

    python examples/benchmarks/vsknn_ties.py --data-dir ../shared/data/beauty
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from llmseqrec.benchmark import load_benchmark_data, make_split, validation_folds
from llmseqrec.metrics import ndcg_at_k
from llmseqrec.recommenders import VSKNN

SEARCH = Path(__file__).parent / "results" / "beauty_p1_search" / "VSKNN" / "best_params.json"


class VSKNNPopularityTies(VSKNN):
    """V-SKNN whose equal scores are ordered by training popularity (more popular first)."""

    def _score(self, sequences):
        scores = super()._score(sequences)
        popularity = self.item_popularity_ / (self.item_popularity_.max() + 1.0)  # in [0, 1)
        return scores + 1e-9 * popularity[None, :]  # far below any gap between distinct scores


def ndcg20(cls, params, split, items) -> float:
    model = cls(**params).fit(split.train, item_metadata=items)
    recs = model.predict(split.test.prompts, k=20)
    return ndcg_at_k([list(r) for r in recs], split.test.targets, 20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir",
        default=None,
        help="Beauty folder (default: <data home>/beauty, see get_data_home)",
    )
    args = parser.parse_args()
    data = load_benchmark_data("beauty", args.data_dir)
    folds = validation_folds(data, "P1", 3)
    split = make_split(data, "P1")
    configs = {
        "validation-selected": json.loads(SEARCH.read_text())["params"],
        "paper RecSys'23": dict(
            k=70, sample_size=1090, sampling="random", similarity="dot",
            idf_weighting=True, decay="harmonic", random_state=0,
        ),
        "paper TORS": dict(
            k=320, sample_size=1530, sampling="random", similarity="dot",
            idf_weighting=False, decay="harmonic", random_state=0,
        ),
    }  # fmt: skip
    for name, params in configs.items():
        for cls, ties in ((VSKNN, "item id"), (VSKNNPopularityTies, "popularity")):
            per_fold = [ndcg20(cls, params, fold, data.items) for fold in folds]
            test = ndcg20(cls, params, split, data.items)
            print(
                f"{name:20s} ties by {ties:10s} folds {' / '.join(f'{v:.4f}' for v in per_fold)}"
                f"  mean {np.mean(per_fold):.4f}  test {test:.4f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
