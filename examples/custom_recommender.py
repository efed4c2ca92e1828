"""Write your own recommender on llmseqrec's contract and run the shared test suite on it.

python examples/custom_recommender.py
"""

import numpy as np

from llmseqrec import Recommender
from llmseqrec.registry import register
from llmseqrec.testing import check_recommender


@register("LastItemCooccurrence")
class LastItemCooccurrence(Recommender):
    """Score items by how often they directly followed the prompt's last item in training."""

    def __init__(
        self, smoothing: float = 0.0, exclude_seen: bool = True, handle_unknown: str = "ignore"
    ):
        self.smoothing = smoothing
        self.exclude_seen = exclude_seen
        self.handle_unknown = handle_unknown

    def _fit(self, sequences, item_metadata):
        n = len(self.item_index_)
        counts = np.zeros((n, n))  # (n_items, n_items): counts[a, b] = b followed a
        for seq in sequences:
            np.add.at(counts, (seq[:-1] - 1, seq[1:] - 1), 1.0)
        self.transitions_ = counts + self.smoothing

    def _score(self, sequences):
        last = np.array([s[-1] - 1 for s in sequences])
        return self.transitions_[last] + 1e-9 * self.item_popularity_  # ties -> popularity

    def _get_state(self):  # what save() writes (safetensors), and load() restores
        return {"transitions_": self.transitions_}, {}

    def _set_state(self, arrays, extra):
        self.transitions_ = arrays["transitions_"]


if __name__ == "__main__":
    check_recommender(LastItemCooccurrence())
    print("LastItemCooccurrence passes the shared recommender suite")
