"""Issue figure: a 1,000,000-item catalogue on one machine — fit and predict time and peak
resident memory of SASRec (sampled softmax), LLMSeqSim (exact, chunked; faiss flat and HNSW)
and V-SKNN.

Synthetic data (no download): ``--items`` items in topics of 100, ``--sessions`` sessions of
5-20 items, each within one topic (every item of a topic clicked at least once, its popular
items more often; a tenth of the clicks anywhere); the last item of ``--test`` sessions is
held out. LLMSeqSim's
item vectors are the topic centroid plus noise (``--dim`` dimensions), standing in for text
embeddings, which on this machine would take hours to encode for a million titles.

Each model runs in its own process; its peak resident memory is read from the kernel
(``VmHWM``), reset after fit (``/proc/self/clear_refs``) so that the predict peak is
measured on its own. The predict memory bound printed beside it is:

    resident after fit + _max_scores_in_memory x bytes per score + rows x k x 12 bytes
        + 0.1 GB (working memory of a predict call: prompt encoding, BLAS buffers; measured
          at 20,000 items, where the score chunk is small)

(4 bytes per score for the neural models' float32 chunk; 12 for LLMSeqSim's float64
product and its float32 copy; the running top-k keeps rows x k values and int64 ids).

    python examples/benchmarks/million_items.py                     # everything
    python examples/benchmarks/million_items.py --items 20000 --sessions 5000 --test 500 \\
        --models sasrec vsknn --out small.json                 # a quick check

Writes ``examples/benchmarks/results/million_items.json`` and its section of docs/scaling.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DOCS = HERE.parents[1] / "docs" / "scaling.md"
MODELS = ("sasrec", "llmseqsim_exact", "llmseqsim_flat", "llmseqsim_hnsw", "vsknn")


def make_data(n_items: int, n_sessions: int, dim: int, seed: int = 0):
    """(sessions, item vectors (n_items, dim)).

    Each topic of 100 items gets ``n_sessions / n_topics`` sessions (5-20 items) that
    together click every item of the topic once, plus Zipf-like draws of its popular items;
    a tenth of the clicks go anywhere in the catalogue. So (nearly) every item is in the
    training sessions and the catalogue really holds ``n_items`` items.
    """
    rng = np.random.default_rng(seed)
    topic_size = 100
    n_topics = n_items // topic_size
    per_topic = max(1, n_sessions // n_topics)
    rank_weight = 1.0 / np.arange(1, topic_size + 1)
    rank_weight /= rank_weight.sum()
    sessions = []
    for topic in range(n_topics):
        lengths = rng.integers(5, 21, per_topic)
        extra = max(0, int(lengths.sum()) - topic_size)
        clicks = np.concatenate(
            [rng.permutation(topic_size), rng.choice(topic_size, size=extra, p=rank_weight)]
        )
        clicks = topic * topic_size + rng.permutation(clicks)[: lengths.sum()]
        noise = rng.random(len(clicks)) < 0.1
        clicks[noise] = rng.integers(0, n_items, int(noise.sum()))
        sessions += np.split(clicks.astype(np.int64), np.cumsum(lengths)[:-1])
    order = rng.permutation(len(sessions))
    sessions = [sessions[i] for i in order]
    centroids = rng.standard_normal((n_topics, dim)).astype(np.float32)
    vectors = np.repeat(centroids, topic_size, axis=0)
    vectors += 0.5 * rng.standard_normal(vectors.shape).astype(np.float32)
    return sessions, vectors


def _vm(field: str) -> int:
    """A /proc/self/status memory field in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        return True
    except OSError:
        return False


def _estimator(name: str, args):
    from llmseqrec import VSKNN, LLMSeqSim, SASRec

    if name == "sasrec":
        return SASRec(
            loss="sampled_softmax",
            n_negatives=256,
            emb_dim=64,
            n_layers=2,
            n_heads=2,
            max_prompt_items=20,
            batch_size=256,
            epochs=args.epochs,
            patience=3,  # inner validation each epoch (top-20 in catalogue chunks)
            random_state=0,
            show_progress=False,
        )
    if name.startswith("llmseqsim"):
        ann = {"llmseqsim_exact": None, "llmseqsim_flat": "flat", "llmseqsim_hnsw": "hnsw"}[name]
        return LLMSeqSim(
            item_embeddings=None,  # set in run_model: the synthetic vectors
            reduction=None,
            similarity="cosine",
            ann=ann,
        )
    if name == "vsknn":
        return VSKNN(k=100, sample_size=1000)
    raise ValueError(name)


def run_model(name: str, args) -> dict:
    """Runs in a child process: fit, reset the peak, predict; times and memory."""
    import pandas as pd

    sessions, vectors = make_data(args.items, args.sessions, args.dim)
    test = sessions[-args.test :]
    train = {i: s for i, s in enumerate(sessions[: -args.test])}
    prompts = [s[:-1] for s in test]
    targets = np.array([s[-1] for s in test])
    est = _estimator(name, args)
    fit_kwargs = {}
    if name.startswith("llmseqsim"):
        est.set_params(item_embeddings=vectors)
        fit_kwargs["item_metadata"] = pd.DataFrame({"item_id": np.arange(args.items)})
    del sessions
    rss_data = _vm("VmRSS")
    t0 = time.perf_counter()
    est.fit(train, **fit_kwargs)
    fit_s = time.perf_counter() - t0
    fit_peak = _vm("VmHWM")
    rss_after_fit = _vm("VmRSS")
    reset = _reset_peak()
    t0 = time.perf_counter()
    recs = est.predict(prompts, k=20)
    predict_s = time.perf_counter() - t0
    predict_peak = _vm("VmHWM") if reset else None
    hits = np.array([t in r for t, r in zip(targets, recs.tolist())])
    bytes_per_score = 12 if name == "llmseqsim_exact" else 4
    bound = (
        rss_after_fit
        + est._max_scores_in_memory * bytes_per_score
        + len(prompts) * 20 * 12
        + 0.1 * 2**30
    )
    return {
        "model": name,
        "n_items_in_catalogue": int(est.n_items_),
        "fit_s": round(fit_s, 1),
        "predict_s": round(predict_s, 2),
        "prompts": len(prompts),
        "rss_data_gb": round(rss_data / 2**30, 2),
        "fit_peak_rss_gb": round(fit_peak / 2**30, 2),
        "rss_after_fit_gb": round(rss_after_fit / 2**30, 2),
        "predict_peak_rss_gb": None if predict_peak is None else round(predict_peak / 2**30, 2),
        "predict_bound_gb": round(bound / 2**30, 2)
        if name in ("sasrec", "llmseqsim_exact")
        else None,
        "hr@20": round(float(hits.mean()), 4),
    }


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--test", type=int, default=10_000, help="held-out sessions to predict")
    parser.add_argument("--dim", type=int, default=64, help="LLMSeqSim vector size")
    parser.add_argument("--epochs", type=int, default=1, help="SASRec epochs")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--out", default=str(HERE / "results" / "million_items.json"))
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_model(args.child, args)))
        return
    out = Path(args.out)
    if not args.report_only:
        results = json.loads(out.read_text())["runs"] if out.exists() else {}
        for name in args.models:
            load = _load()
            cmd = [sys.executable, __file__, "--child", name]
            for key in ("items", "sessions", "test", "dim", "epochs"):
                cmd += [f"--{key}", str(getattr(args, key))]
            print(f"{name}: load {load} ...", flush=True)
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                print(proc.stderr[-3000:], file=sys.stderr)
                last = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
                results[name] = {"model": name, "error": last}
                continue
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            result["load_before"] = load
            results[name] = result
            print(json.dumps(result), flush=True)
        from llmseqrec.benchmark import machine_info

        payload = {
            "date": date.today().isoformat(),
            "machine": machine_info(),
            "threads": os.environ.get("OMP_NUM_THREADS", "default"),
            "command": "python examples/benchmarks/million_items.py " + " ".join(sys.argv[1:]),
            "data": {"items": args.items, "sessions": args.sessions, "test": args.test},
            "runs": results,
        }
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(payload, indent=1) + "\n")
    if out.resolve() == (HERE / "results" / "million_items.json").resolve():
        report(json.loads(out.read_text()))


def report(payload: dict) -> None:
    from llmseqrec.benchmark import machine_line, write_section

    d = payload["data"]
    lines = [
        f"Synthetic catalogue of {d['items']:,} items, {d['sessions']:,} sessions, "
        f"{d['test']:,} prompts predicted (top-20). {payload['date']}, "
        f"{machine_line(payload['machine'])}; threads: {payload['threads']}.",
        "",
        f"Command: `{payload['command']}`",
        "",
        "| model | catalogue | fit s | predict s | peak RSS in fit (GB) | RSS after fit (GB) | peak RSS in predict (GB) | predict bound (GB) | HR@20 | load before |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in payload["runs"].values():
        if "error" in r:
            lines.append(f"| {r['model']} | failed: {r['error']} ||||||||")
            continue
        lines.append(
            f"| {r['model']} | {r['n_items_in_catalogue']:,} | {r['fit_s']} | {r['predict_s']} | {r['fit_peak_rss_gb']} | "
            f"{r['rss_after_fit_gb']} | {r['predict_peak_rss_gb']} | {r['predict_bound_gb'] or '—'} | "
            f"{r['hr@20']} | {r['load_before']} |"
        )
    write_section(DOCS, "million-items", "\n".join(lines))


if __name__ == "__main__":
    main()
