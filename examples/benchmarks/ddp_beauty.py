"""Issue figure: data-parallel SASRec on Beauty (P1) — 2 processes x 1 thread (torchrun,
gloo) against 1 process x 2 threads, epoch time and test NDCG@20 / HR@20.

Both runs fit the same SASRec (emb 64, 2 blocks x 2 heads, last 20 items, batch 256, full
softmax, seed 0, early stopping on 500 held-out training sessions) on the P1 training
sessions; rank 0 of the torchrun run predicts the 4,469 test prompts. The machine's load
average is recorded before each run.

    python examples/benchmarks/ddp_beauty.py --data-dir ../shared/data/beauty
    python examples/benchmarks/ddp_beauty.py --report-only

Writes ``examples/benchmarks/results/ddp_beauty.json`` and the "ddp-beauty" section of
docs/scaling.md. Inside, the script runs itself as ``--worker`` (once plainly, once under
``python -m torch.distributed.run --nproc_per_node=2``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "ddp_beauty.json"
DOCS = HERE.parents[1] / "docs" / "scaling.md"


def worker(data_dir: str, epochs: int, out: str) -> None:
    """Fit and score (rank 0 writes the result)."""
    import torch

    from llmseqrec import SASRec
    from llmseqrec.data import temporal_split
    from llmseqrec.datasets import load_beauty
    from llmseqrec.metrics import hit_rate_at_k, ndcg_at_k

    split = temporal_split(load_beauty(data_dir).interactions)
    model = SASRec(
        emb_dim=64, n_layers=2, n_heads=2, max_prompt_items=20, batch_size=256,
        epochs=epochs, random_state=0, show_progress=False, device="cpu",
    )  # fmt: skip
    model.fit(split.train)
    if int(os.environ.get("RANK", "0")) != 0:
        return
    recs = model.predict(split.test.prompts, k=20)
    h = model.history_
    result = {
        "world_size": int(os.environ.get("WORLD_SIZE", "1")),
        "torch_threads": torch.get_num_threads(),
        "epochs_run": len(h.epoch_seconds),
        "best_epoch": int(h.best_epoch),
        "s_per_epoch": round(sum(h.epoch_seconds) / len(h.epoch_seconds), 2),
        "ndcg@20": round(float(ndcg_at_k(recs, split.test.targets, 20)), 4),
        "hr@20": round(float(hit_rate_at_k(recs, split.test.targets, 20)), 4),
    }
    Path(out).write_text(json.dumps(result))


def run(data_dir: str, epochs: int) -> dict:
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, launcher, threads in (
            ("1 process x 2 threads", [], "2"),
            ("2 processes x 1 thread", ["-m", "torch.distributed.run", "--nproc_per_node=2"], "1"),
        ):
            out = Path(tmp) / "r.json"
            env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
            load = round(os.getloadavg()[0], 2)
            cmd = [sys.executable, *launcher, __file__, "--worker", "--data-dir", data_dir]
            subprocess.run([*cmd, "--epochs", str(epochs), "--out", str(out)], check=True, env=env)
            runs[name] = {**json.loads(out.read_text()), "load_before": load}
            print(name, runs[name], flush=True)
    return runs


def report(payload: dict) -> None:
    from llmseqrec.benchmark import machine_line, write_section

    lines = [
        f"{payload['date']}, {machine_line(payload['machine'])}.",
        "",
        f"Command: `{payload['command']}`",
        "",
        "| run | s/epoch | epochs (best) | NDCG@20 | HR@20 | load before |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in payload["runs"].items():
        lines.append(
            f"| {name} | {r['s_per_epoch']} | {r['epochs_run']} ({r['best_epoch']}) | "
            f"{r['ndcg@20']} | {r['hr@20']} | {r['load_before']} |"
        )
    write_section(DOCS, "ddp-beauty", "\n".join(lines))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", default=os.environ.get("BEAUTY_DIR", "../shared/data/beauty"))
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.data_dir, args.epochs, args.out)
        return
    out = Path(args.out)
    if not args.report_only:
        from llmseqrec.benchmark import machine_info

        payload = {
            "date": date.today().isoformat(),
            "machine": machine_info(),
            "command": "python examples/benchmarks/ddp_beauty.py " + " ".join(argv or sys.argv[1:]),
            "runs": run(args.data_dir, args.epochs),
        }
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(payload, indent=1) + "\n")
    if out.resolve() == RESULTS.resolve():
        report(json.loads(out.read_text()))


if __name__ == "__main__":
    main()
