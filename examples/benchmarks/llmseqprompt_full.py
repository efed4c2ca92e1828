"""Issue 28: LLMSeqPrompt at full size on Beauty (P1), resumable.

Fine-tunes on every training example (or ``--max-train-examples``) for ``--epochs``, then
evaluates every P1 test case (or a seeded ``--test-cases`` subset), with and without
catalogue-constrained decoding on the same fine-tuned adapter (``--modes``). Everything
can be killed and run again with the same command:

- fine-tuning checkpoints its adapter, optimizer, random state and place in the batch
  order every ``--checkpoint-every`` optimizer steps (``LLMSeqPrompt(checkpoint_dir=)``)
  and continues from the last one;
- the fine-tuned model is saved once (``OUT/model``) and loaded by later runs;
- predictions are appended to ``OUT/predictions-<mode>.jsonl`` a chunk at a time, and a
  run skips the test cases already written (chunks are whole multiples of the generation
  batch, so the answers are those of an uninterrupted run).

On a GPU the model loads in bf16 and fine-tunes under bf16 autocast; generation is
batched (``--generation-batch-size`` prompts, left-padded). ``OUT/results.json`` holds
the metrics, hallucination and duplicate shares, prompts/s, the fine-tuning history, the
device and the commands; ``--docs`` writes the table into docs/benchmarks/llmseqprompt.md.

    # the full run (a GPU; on CPU the same command runs for days)
    python examples/benchmarks/llmseqprompt_full.py --data-dir ../shared/data/beauty \\
        --variant genitem --epochs 3 --out results/llmseqprompt_full/genitem
    # within a CPU budget
    python examples/benchmarks/llmseqprompt_full.py --data-dir ../shared/data/beauty \\
        --variant genitem --max-train-examples 300 --test-cases 200 --out runs/genitem
    # end to end on the tiny offline model and synthetic data (what the test runs)
    python examples/benchmarks/llmseqprompt_full.py --tiny --out runs/tiny

Exit status 0 when everything is done, 3 when a planned stop (``--stop-after-steps``,
``--stop-after-cases``) left work for the next run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DOCS = HERE.parents[1] / "docs" / "benchmarks" / "llmseqprompt.md"
LLMSEQSIM_BEST = HERE / "results" / "beauty_p1_search" / "LLMSeqSim" / "best_params.json"
PAPER = {"model": "fine-tuned GPT-3 ada (paper)", "NDCG@20": 0.0295, "HR@20": 0.0691}
PAUSED = 3
#: Decoding modes: LLMSeqPrompt's ``constrained`` and ``decoding`` for each.
MODES = {
    "free": {"constrained": False, "decoding": "sample"},
    "constrained": {"constrained": True, "decoding": "sample"},
    "beam": {"constrained": False, "decoding": "beam"},
    "constrained-beam": {"constrained": True, "decoding": "beam"},
}


@dataclass
class Data:
    """What a run trains and evaluates on."""

    train: dict
    prompts: list
    targets: np.ndarray
    items: object  # item metadata (a DataFrame with titles)
    n_items: int
    counts: object
    cases: np.ndarray  # indices of the evaluated test cases
    name: str


# ----------------------------------------------------------------------------- arguments
def parse_args(argv=None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", help="the Beauty folder (interactions.csv.gz, items)")
    p.add_argument("--tiny", action="store_true", help="tiny offline model, synthetic data")
    p.add_argument("--model", default="smollm2", help="base model: name, folder or 'smollm2'")
    p.add_argument("--out", required=True, help="folder for checkpoint, model and results")
    p.add_argument(
        "--variant", default="genitem", choices=["genitem", "genlist", "classify", "rank"]
    )
    p.add_argument(
        "--modes",
        default=None,
        help="comma-separated, of free, constrained, beam, constrained-beam (GenItem's beam "
        "search; default: free,constrained where possible, else free)",
    )
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--max-train-examples", type=int, default=None)
    p.add_argument("--max-validation-examples", type=int, default=None)
    p.add_argument("--validation-share", type=float, default=0.2)
    p.add_argument("--patience", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--gradient-accumulation-steps", type=int, default=1)
    p.add_argument("--learning-rate", type=float, default=None)
    p.add_argument("--max-length", type=int, default=1024)
    p.add_argument("--max-prompt-items", type=int, default=10)
    p.add_argument("--gradient-checkpointing", action="store_true")
    p.add_argument("--checkpoint-every", type=int, default=200)
    p.add_argument("--test-cases", type=int, default=None, help="a seeded subset; default all")
    p.add_argument("--n-samples", type=int, default=None)
    p.add_argument("--temperature", type=float, default=0.25)
    p.add_argument("--max-new-tokens", type=int, default=None)
    p.add_argument("--generation-batch-size", type=int, default=8)
    p.add_argument("--eval-chunk", type=int, default=8, help="generation batches per write")
    p.add_argument("--device", default=None)
    p.add_argument("--stop-after-steps", type=int, default=None, help="planned stop (tests)")
    p.add_argument("--stop-after-cases", type=int, default=None, help="planned stop (tests)")
    p.add_argument("--docs", action="store_true", help="publish the table in the docs")
    p.add_argument(
        "--report-only",
        action="store_true",
        help="publish OUT/results.json's table in the docs (no model is loaded or run)",
    )
    p.add_argument("--docs-file", default=str(DOCS), help="the page --docs writes to")
    p.add_argument(
        "--written-only",
        action="store_true",
        help="generate nothing: summarise the cases every mode has written (a run cut short)",
    )
    args = p.parse_args(argv)
    if not args.tiny and not args.data_dir and not args.report_only:
        p.error("give --data-dir (Beauty) or --tiny")
    args.raw_argv = sys.argv[1:] if argv is None else list(argv)
    constrainable = args.variant in ("genitem", "genlist")
    args.modes = (args.modes or ("free,constrained" if constrainable else "free")).split(",")
    unknown = set(args.modes) - set(MODES)
    if unknown:
        p.error(f"unknown --modes {sorted(unknown)}; choose from {list(MODES)}")
    if any(MODES[m]["constrained"] for m in args.modes) and not constrainable:
        p.error(f"--variant {args.variant} has no constrained mode")
    if any(MODES[m]["decoding"] == "beam" for m in args.modes) and args.variant != "genitem":
        p.error("beam search (--modes beam, constrained-beam) is GenItem's")
    return args


# ----------------------------------------------------------------------------- data
def load_data(args) -> Data:
    """Beauty's P1 split (or the suite's synthetic data with ``--tiny``) and the cases."""
    from llmseqrec.metrics import item_counts_from

    if args.tiny:
        from llmseqrec.testing import synthetic_data

        train, prompts, targets, items = synthetic_data("str")
        n_items, name = len(items), "synthetic (llmseqrec.testing.synthetic_data)"
    else:
        from llmseqrec.data import temporal_split
        from llmseqrec.datasets import load_beauty

        data = load_beauty(args.data_dir)
        split = temporal_split(data.interactions)
        train, prompts, targets = split.train, split.test.prompts, split.test.targets
        items, n_items, name = data.items, len(split.items), "Beauty P1"
    cases = np.arange(len(prompts))
    if args.test_cases is not None and args.test_cases < len(prompts):
        rng = np.random.default_rng(0)
        cases = np.sort(rng.choice(len(prompts), size=args.test_cases, replace=False))
    counts = item_counts_from(train.values())
    return Data(train, prompts, np.asarray(targets), items, n_items, counts, cases, name)


# ----------------------------------------------------------------------------- the model
def build_model(args, out: Path):
    """The LLMSeqPrompt of this run, checkpointing into ``out / "checkpoint"``."""
    from llmseqrec import LLMSeqPrompt

    extra = {}
    if args.tiny:
        from llmseqrec.llm import tiny_causal_lm
        from llmseqrec.text import ItemTextEncoder

        extra["item_embeddings"] = ItemTextEncoder(
            backend="tfidf", dim=16, cache=False, random_state=0, show_progress=False
        )
        base = str(tiny_causal_lm())
    else:
        base = args.model
    if args.variant in ("genlist", "rank"):
        extra["candidate_model"] = _candidate_model(args)
    return LLMSeqPrompt(
        variant=args.variant,
        base_model=base,
        epochs=args.epochs,
        max_train_examples=args.max_train_examples,
        max_validation_examples=args.max_validation_examples,
        validation_share=args.validation_share,
        patience=args.patience,
        batch_size=args.batch_size,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        learning_rate=args.learning_rate,
        max_length=args.max_length,
        max_prompt_items=args.max_prompt_items,
        gradient_checkpointing=args.gradient_checkpointing,
        checkpoint_dir=str(out / "checkpoint"),
        checkpoint_every=args.checkpoint_every,
        n_samples=args.n_samples,
        temperature=args.temperature,
        max_new_tokens=args.max_new_tokens,
        generation_batch_size=args.generation_batch_size,
        device=args.device,
        show_progress=not args.tiny,
        random_state=0,
        **extra,
    )


def _candidate_model(args):
    """GenList targets / Rank candidates: MostPopular on the tiny data, else LLMSeqSim
    with the tuned parameters of the Beauty search (its defaults when absent)."""
    from llmseqrec import LLMSeqSim, MostPopular

    if args.tiny:
        return MostPopular()
    best = {}
    if LLMSEQSIM_BEST.exists():
        best = json.loads(LLMSEQSIM_BEST.read_text())["params"]
        best = {k: (None if v == "none" else v) for k, v in best.items()}
    return LLMSeqSim(**best, random_state=0)


def fitted_model(args, data: Data, out: Path, log):
    """The fine-tuned model: loaded from ``out / "model"``, or fitted (resuming the
    checkpoint) and saved there. ``None`` when a planned stop paused fine-tuning."""
    from llmseqrec import load
    from llmseqrec.llm import TrainingPaused, checkpoint_progress, finetune_checkpoints

    if (out / "model").exists():
        log("loaded the fine-tuned model from", out / "model")
        return load(out / "model")
    model = build_model(args, out)
    progress = checkpoint_progress(out / "checkpoint")
    log(
        "fine-tuning",
        f"resumes at optimizer step {progress['optimizer_steps']}" if progress else "starts",
    )
    start = time.perf_counter()
    try:
        with finetune_checkpoints(stop_after_steps=args.stop_after_steps):
            model.fit(data.train, item_metadata=data.items)
    except TrainingPaused as paused:
        log(f"fine-tuning paused at optimizer step {paused.steps} (planned stop)")
        return None
    log(
        f"fine-tuned: {model.history_.optimizer_steps} optimizer steps in all, "
        f"{time.perf_counter() - start:.1f} s in this run"
    )
    partial = out / "model.partial"
    shutil.rmtree(partial, ignore_errors=True)
    model.save(partial)
    os.replace(partial, out / "model")  # a kill mid-save leaves no half model behind
    return model


# ----------------------------------------------------------------------------- evaluation
def read_predictions(path: Path) -> dict[int, dict]:
    """The cases already written (a line cut by a kill is ignored)."""
    done = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            done[int(row["case"])] = row
    return done


def evaluate(args, model, data: Data, mode: str, out: Path, log) -> bool:
    """Append ``mode``'s predictions of the cases not yet written; False when a planned
    stop (``--stop-after-cases``) left some."""
    path = out / f"predictions-{mode}.jsonl"
    done = read_predictions(path)
    todo = [int(c) for c in data.cases if int(c) not in done]
    model.set_params(**MODES[mode], show_progress=False)
    chunk = max(1, args.eval_chunk) * args.generation_batch_size
    log(f"{mode}: {len(done)} of {len(data.cases)} cases written, {len(todo)} to go")
    written = 0
    for start in range(0, len(todo), chunk):
        if args.stop_after_cases is not None and written >= args.stop_after_cases:
            log(f"{mode}: paused after {written} cases (planned stop)")
            return False
        cases = todo[start : start + chunk]
        rate = _write_chunk(model, data, cases, path)
        written += len(cases)
        log(f"{mode}: {len(done) + written} of {len(data.cases)} cases, {rate:.2f} prompts/s")
    return True


def _write_chunk(model, data: Data, cases: list[int], path: Path) -> float:
    """Generate for ``cases`` and append one JSON line per case (flushed and synced);
    returns the prompts per second."""
    tick = time.perf_counter()
    frame = model.generate([data.prompts[c] for c in cases])
    seconds = (time.perf_counter() - tick) / len(cases)
    with path.open("a") as f:
        for case, row in zip(cases, frame.itertuples()):
            record = {
                "case": case,
                "items": [_plain(i) for i in row.items],
                "generated": list(row.generated),
                "hallucinated": float(row.hallucinated),
                "duplicates": float(row.duplicates),
                "in_prompt": float(row.in_prompt),
                "seconds": seconds,
            }
            f.write(json.dumps(record) + "\n")
        f.flush()
        os.fsync(f.fileno())
    return 1.0 / max(seconds, 1e-9)


def _plain(item):
    return item.item() if hasattr(item, "item") else item


# ----------------------------------------------------------------------------- results
def summarise(args, model, data: Data, out: Path, runs: list[dict]) -> dict:
    """``results.json``: per mode the metrics on the evaluated cases, hallucination,
    duplicate and prompt-item shares, prompts/s; the fine-tuning history; the device."""
    from llmseqrec.benchmark import machine_info

    modes = {}
    for mode in args.modes:
        rows = read_predictions(out / f"predictions-{mode}.jsonl")
        ordered = [rows[int(c)] for c in data.cases]
        modes[mode] = _mode_summary(ordered, data)
    result = {
        "variant": args.variant,
        "data": data.name,
        "base_model": "tiny offline test model" if args.tiny else args.model,
        "device": _device_name(model),
        "params": {
            k: (str(v) if not isinstance(v, (int, float, str, bool, type(None))) else v)
            for k, v in model.get_params(deep=False).items()
            if k not in ("candidate_model", "item_embeddings")
        },
        "examples": getattr(model, "n_examples_", None),
        "history": model.history_.to_json(),
        "test_cases": int(len(data.cases)),
        "modes": modes,
        "paper": PAPER,
        "runs": runs,
        "machine": machine_info(),
        "date": date.today().isoformat(),
    }
    (out / "results.json").write_text(json.dumps(result, indent=2, default=str))
    return result


def _mode_summary(rows: list[dict], data: Data) -> dict:
    from llmseqrec.metrics import compute_metrics

    recs = [r["items"] for r in rows]
    targets = data.targets[data.cases]
    table = compute_metrics(
        recs, targets, k=(10, 20), n_items=data.n_items, item_counts=data.counts
    )
    seconds = sum(r["seconds"] for r in rows)
    return {
        "metrics": {f"{r.metric}@{r.k}": float(r.value) for r in table.itertuples()},
        "hallucinated": float(np.mean([r["hallucinated"] for r in rows])),
        "duplicates": float(np.mean([r["duplicates"] for r in rows])),
        "in_prompt": float(np.mean([r["in_prompt"] for r in rows])),
        "generate_seconds": seconds,
        "prompts_per_second": len(rows) / max(seconds, 1e-9),
        "example_outputs": [r["generated"][:5] for r in rows[:3]],
    }


def _device_name(model) -> str:
    import torch

    device = str(getattr(model, "_device", "cpu"))
    if device.startswith("cuda") and torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} ({device})"
    return "CPU"


def render(result: dict) -> str:
    """The results table (Markdown), the paper's figure beside it."""
    h = result["history"]
    lines = [
        "| Variant | Decoding | Train examples | Epochs | Steps | Test cases | NDCG@20 | "
        "HR@20 | Hallucinated | Duplicates | Prompts/s | Device |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for mode, m in result["modes"].items():
        lines.append(
            f"| {result['variant']} | {mode} | {h.get('train_examples', '-')} | "
            f"{len(h.get('train_loss', []))} | {h.get('optimizer_steps', '-')} | "
            f"{result['test_cases']} | {m['metrics']['NDCG@20']:.4f} | "
            f"{m['metrics']['HR@20']:.4f} | {m['hallucinated']:.2f} | {m['duplicates']:.2f} | "
            f"{m['prompts_per_second']:.2f} | {result['device']} |"
        )
    p = result["paper"]
    lines.append(
        f"| {p['model']} | free | ~17,900 | ~10 | - | 4469 | {p['NDCG@20']:.4f} | "
        f"{p['HR@20']:.4f} | - | - | - | - |"
    )
    commands = "; ".join(f"`{r['command']}`" for r in result["runs"])
    lines += ["", f"Commands ({result['date']}): {commands}"]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- main
def main(argv=None) -> int:
    """Run (or continue) the whole thing; 0 when done, 3 after a planned stop."""
    args = parse_args(argv)
    out = Path(args.out)
    if args.report_only:
        from llmseqrec.benchmark import write_section

        result = json.loads((out / "results.json").read_text())
        write_section(args.docs_file, f"llmseqprompt_full_{result['variant']}", render(result))
        return 0
    out.mkdir(parents=True, exist_ok=True)
    runs = _runs(out, args)

    def log(*parts):
        line = " ".join(str(p) for p in parts)
        print(line, flush=True)
        with (out / "log.txt").open("a") as f:
            f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")

    data = load_data(args)
    model = fitted_model(args, data, out, log)
    if model is None:
        return PAUSED
    if args.written_only:  # every mode on the same cases: those all of them have written
        written = [set(read_predictions(out / f"predictions-{m}.jsonl")) for m in args.modes]
        data.cases = np.array([c for c in data.cases if all(int(c) in w for w in written)])
        log(f"summarising the {len(data.cases)} cases every mode has written")
    else:
        for mode in args.modes:
            if not evaluate(args, model, data, mode, out, log):
                return PAUSED
    result = summarise(args, model, data, out, runs)
    table = render(result)
    (out / "results.md").write_text(table + "\n")
    print(table)
    if args.docs and not args.tiny:
        from llmseqrec.benchmark import write_section

        write_section(args.docs_file, f"llmseqprompt_full_{args.variant}", table)
    return 0


def _runs(out: Path, args) -> list[dict]:
    """Every invocation on ``out`` (its command and what it found), this one appended."""
    from llmseqrec.llm import checkpoint_progress

    path = out / "runs.json"
    runs = json.loads(path.read_text()) if path.exists() else []
    progress = checkpoint_progress(out / "checkpoint")
    runs.append(
        {
            "command": "python examples/benchmarks/llmseqprompt_full.py " + " ".join(args.raw_argv),
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "checkpoint_step": progress["optimizer_steps"] if progress else None,
            "model_saved": (out / "model").exists(),
        }
    )
    path.write_text(json.dumps(runs, indent=2))
    return runs


if __name__ == "__main__":
    sys.exit(main())
