"""Issue 26: training as time-to-accuracy, our SASRec against the peers, from the runs on file.

Every run of the head-to-head (peer_sasrec.py for RecBole and RecTools, the
``beauty_p1_strong`` benchmark for ours) recorded, per epoch, NDCG@20 on the same 500
inner-validation sessions of its seed, scored by our metric, and its seconds per epoch.
This script reads those files (it trains nothing) and reports, per seed, the seconds of
training until the inner-validation NDCG@20 first reaches a threshold: a fixed one
(``--threshold``, default 0.05) and the peer's own best of that seed. Per-epoch test figures
were not recorded, so the validation curve stands in for the test one.

    python examples/benchmarks/time_to_accuracy.py            # prints and writes the docs
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DOCS = HERE.parents[1] / "docs" / "benchmarks" / "speed.md"


def seconds_to(curve: list[float], seconds_per_epoch: float, threshold: float) -> float | None:
    """Training seconds until ``curve`` (one score per epoch) first reaches ``threshold``."""
    for epoch, score in enumerate(curve, start=1):
        if score >= threshold:
            return epoch * seconds_per_epoch
    return None


def load_runs() -> dict:
    """``{(library, seed): (curve, seconds per epoch, torch threads)}`` of the full runs."""
    runs = {}
    for line in (RESULTS / "peer_sasrec.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row.get("max_sessions") is None and row.get("val"):
            runs[(row["peer"], row["seed"])] = (
                row["val"], row["s_per_epoch"], row.get("torch_threads")
            )  # fmt: skip
    for path in sorted((RESULTS / "beauty_p1_strong" / "runs").glob("SASRec__seed*.json")):
        row = json.loads(path.read_text())
        runs[("llmseqrec", row["seed"])] = (
            row["inner_validation_ndcg20"], row["seconds_per_epoch"], 1
        )  # fmt: skip
    return runs


def _fmt(seconds: float | None) -> str:
    return "not reached" if seconds is None else f"{seconds:,.0f}"


def render(runs: dict, threshold: float) -> str:
    lines = [
        f"| library | seed | s / epoch (threads) | s to validation NDCG@20 >= {threshold} | "
        "best validation NDCG@20 (epoch) | s to RecBole's best of the seed |",
        "|---|---|---|---|---|---|",
    ]
    for (library, seed), (curve, per_epoch, threads) in sorted(runs.items()):
        best = max(curve)
        recbole = runs.get(("recbole", seed))
        target = max(recbole[0]) if recbole else None
        lines.append(
            f"| {library} | {seed} | {per_epoch:.1f} ({threads}) | "
            f"{_fmt(seconds_to(curve, per_epoch, threshold))} | {best:.4f} "
            f"({curve.index(best) + 1}) | "
            f"{'—' if target is None else _fmt(seconds_to(curve, per_epoch, target))} |"
        )
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threshold", type=float, default=0.05)
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args(argv)
    table = render(load_runs(), args.threshold)
    print(table)
    if not args.no_docs:
        from llmseqrec.benchmark import write_section

        note = (
            "From the result files of the head-to-head (2026-11-30, 2 CPU cores, AMD EPYC; "
            "1 torch thread per job with two jobs side by side, except RecBole's seed 2: "
            "2 threads alone). Command: "
            "`python examples/benchmarks/time_to_accuracy.py`\n\n"
        )
        write_section(DOCS, "time_to_accuracy", note + table)


if __name__ == "__main__":
    main()
