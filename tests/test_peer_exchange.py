"""examples/benchmarks/peer_sasrec.py's data exchange, without the peers' environments:
a peer must get exactly the training sessions our SASRec trains on and its held-out ones."""

import importlib.util
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from llmseqrec import SASRec
from llmseqrec.data import temporal_split
from llmseqrec.testing import synthetic_data

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "benchmarks" / "peer_sasrec.py"


def _script():
    spec = importlib.util.spec_from_file_location("peer_sasrec", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(spec.name, None)
    return module


def _split():
    train, _, _, _ = synthetic_data("str")
    rows = [(session, item, t) for session, items in train.items() for t, item in enumerate(items)]
    frame = pd.DataFrame(rows, columns=["session_id", "item_id", "timestamp"])
    return temporal_split(frame, test_frac=0.2)


def test_the_peer_gets_our_sasrecs_training_and_held_out_sessions():
    script, split = _script(), _split()
    payload, index = script.exchange(split, seed=1, max_sessions=None, epochs=2)
    held_out = [tuple(p) + (t,) for p, t in zip(payload["val_prompts"], payload["val_targets"])]
    trained = [tuple(s) for s in payload["train"]]
    every = [tuple(int(i) for i in index.encode(s)) for s in split.train.values()]
    # every training session goes to the peer once, either to train on or held out
    assert Counter(trained) + Counter(held_out) == Counter(every) and held_out
    # the sessions trained on are the ones our SASRec trains on for that seed, in order
    model = SASRec(random_state=1)
    model.item_index_ = index
    ours_train, _ = model._inner_validation([np.asarray(s) for s in every])
    assert [tuple(int(i) for i in s) for s in ours_train] == trained
    other, _ = script.exchange(split, seed=2, max_sessions=None, epochs=2)
    assert (
        other["val_targets"] != payload["val_targets"]
        or other["val_prompts"] != payload["val_prompts"]
    )
    assert payload["n_items"] == len(index) and payload["epochs"] == 2
