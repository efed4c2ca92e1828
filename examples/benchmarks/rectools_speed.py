"""Issue figure: training and prediction speed of our SASRec/BERT4Rec against RecTools'.

Same data (Beauty P1 training sessions, the 4,469 test prompts), same configuration (64
factors, 2 blocks, 2 heads, dropout 0.2, last 20 items, batch 128, lr 0.002, full-softmax
cross-entropy, one copy per session and epoch masked with RecTools' default mask_prob
0.15), same machine, one run. RecTools lives
in its own environment (never a dependency of llmseqrec); this script calls it there:

    python -m venv "$RECTOOLS_ENV" && "$RECTOOLS_ENV/bin/pip" install torch==2.13.0 "rectools[torch]"
    RECTOOLS_PYTHON="$RECTOOLS_ENV/bin/python" \\
        python examples/benchmarks/rectools_speed.py --data-dir ../shared/data/beauty

Seconds per epoch: ours from the training loop's epoch timer; RecTools' from two fits
(1 and 3 epochs), (t3 - t1) / 2, so both exclude data preparation. Writes
``examples/benchmarks/results/rectools_speed.json`` and its section of docs/benchmarks/sequential.md.
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

HERE = Path(__file__).resolve().parent
CONFIG = dict(
    n_factors=64, n_blocks=2, n_heads=2, dropout=0.2, max_len=20, batch_size=128, lr=0.002
)


def rectools_part(train_csv: str, prompts_csv: str, out_json: str) -> None:
    """Runs inside the RecTools environment: only pandas, numpy and rectools are imported."""
    import pandas as pd
    from rectools import Columns
    from rectools.dataset import Dataset
    from rectools.models import BERT4RecModel, SASRecModel
    from rectools.models.nn.item_net import IdEmbeddingsItemNet

    train = pd.read_csv(train_csv)
    prompts = pd.read_csv(prompts_csv)
    for frame in (train, prompts):
        frame[Columns.Weight] = 1.0
        frame[Columns.Datetime] = pd.to_datetime(frame[Columns.Datetime], unit="s")
    dataset = Dataset.construct(train)
    common = dict(
        n_factors=CONFIG["n_factors"],
        n_blocks=CONFIG["n_blocks"],
        n_heads=CONFIG["n_heads"],
        dropout_rate=CONFIG["dropout"],
        session_max_len=CONFIG["max_len"],
        batch_size=CONFIG["batch_size"],
        lr=CONFIG["lr"],
        loss="softmax",
        item_net_block_types=(IdEmbeddingsItemNet,),
        get_trainer_func_kwargs=None,
    )
    result = {}
    for name, cls in (("SASRec", SASRecModel), ("BERT4Rec", BERT4RecModel)):
        times = {}
        for epochs in (1, 3):
            model = cls(epochs=epochs, **common)
            start = time.perf_counter()
            model.fit(dataset)
            times[epochs] = time.perf_counter() - start
        # Predict: the test prompts as the histories of new users.
        with_prompts = Dataset.construct(pd.concat([train, prompts], ignore_index=True))
        users = prompts[Columns.User].unique()
        start = time.perf_counter()
        model.recommend(users, with_prompts, k=20, filter_viewed=True)
        predict = time.perf_counter() - start
        result[name] = {
            "fit_1_epoch_s": times[1],
            "fit_3_epochs_s": times[3],
            "s_per_epoch": (times[3] - times[1]) / 2,
            "predict_s": predict,
            "n_prompts": int(len(users)),
        }
    import rectools

    result["version"] = rectools.__version__
    Path(out_json).write_text(json.dumps(result, indent=2))


def ours(split) -> dict:
    from llmseqrec import BERT4Rec, SASRec

    common = dict(
        emb_dim=CONFIG["n_factors"],
        n_layers=CONFIG["n_blocks"],
        n_heads=CONFIG["n_heads"],
        dropout=CONFIG["dropout"],
        max_prompt_items=CONFIG["max_len"],
        batch_size=CONFIG["batch_size"],
        learning_rate=CONFIG["lr"],
        epochs=3,
        patience=10,
        show_progress=False,
        random_state=0,
        device="cpu",
    )
    out = {}
    for name, model in (
        # the architecture of the published timings (llmseqrec 0.1's defaults)
        (
            "SASRec",
            SASRec(
                **common,
                head="projection",
                position_origin="last",
                block="pre_ln",
                ffn_scale=1,
                activation="relu",
                init="xavier",
            ),
        ),  # fmt: skip
        ("BERT4Rec", BERT4Rec(n_masked_copies=1, last_item_copy=False, mask_prob=0.15, **common)),
    ):
        model.fit(split.train)
        h = model.history_
        start = time.perf_counter()
        model.predict(split.test.prompts, k=20)
        predict = time.perf_counter() - start
        out[name] = {
            "s_per_epoch": sum(h.epoch_seconds) / len(h.epoch_seconds),
            "sequences_per_epoch": h.sequences_per_epoch,
            "predict_s": predict,
            "n_prompts": len(split.test.prompts),
        }
    return out


def render(r: dict) -> str:
    lines = [
        "| Model | ours s/epoch | RecTools s/epoch | speed-up | ours train seq/s | "
        "ours predict prompts/s | RecTools predict prompts/s | speed-up |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in ("SASRec", "BERT4Rec"):
        a, b = r["ours"][name], r["rectools"][name]
        lines.append(
            f"| {name} | {a['s_per_epoch']:.1f} | {b['s_per_epoch']:.1f} | "
            f"{b['s_per_epoch'] / a['s_per_epoch']:.2f}x | "
            f"{a['sequences_per_epoch'] / a['s_per_epoch']:.0f} | "
            f"{a['n_prompts'] / a['predict_s']:.0f} | {b['n_prompts'] / b['predict_s']:.0f} | "
            f"{(b['predict_s'] / b['n_prompts']) / (a['predict_s'] / a['n_prompts']):.2f}x |"
        )
    lines += [
        "",
        f"`{r['command']}` ({r['date']}, {r['machine_line']}); RecTools {r['rectools']['version']} "
        f"in a separate environment, same torch. Configuration: {CONFIG}, full-softmax loss, "
        "one copy per session and epoch masked with probability 0.15 for BERT4Rec, item ids only. Speed-up = RecTools time / ours.",
    ]
    return "\n".join(lines)


def _portable_command(argv: list) -> str:
    """The command as run, with the RecTools interpreter (a path on the measuring machine)
    written as the environment variable that supplies it."""
    args = list(argv)
    for i, arg in enumerate(args):
        if arg == "--rectools-python" and i + 1 < len(args):
            del args[i : i + 2]
            break
        if arg.startswith("--rectools-python="):
            del args[i]
            break
    return "RECTOOLS_PYTHON=... python examples/benchmarks/rectools_speed.py " + " ".join(args)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument(
        "--rectools-python",
        default=os.environ.get("RECTOOLS_PYTHON"),
        help="Python of an environment with RecTools (default: $RECTOOLS_PYTHON)",
    )
    parser.add_argument(
        "--docs", default=str(HERE.parents[1] / "docs" / "benchmarks" / "sequential.md")
    )
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--part", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--files", nargs=3, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.part == "rectools":
        rectools_part(*args.files)
        return
    from llmseqrec.benchmark import machine_info, machine_line, write_section

    path = HERE / "results" / "rectools_speed.json"
    if not args.report_only and not args.rectools_python:
        parser.error("set RECTOOLS_PYTHON (or --rectools-python) to a Python with RecTools")
    if not args.report_only:
        import pandas as pd

        from llmseqrec.data import temporal_split
        from llmseqrec.datasets import load_beauty

        split = temporal_split(load_beauty(args.data_dir).interactions)
        with tempfile.TemporaryDirectory() as tmp:
            rows = [(s, i, t) for s, seq in split.train.items() for t, i in enumerate(seq)]
            train_csv, prompts_csv, out_json = (f"{tmp}/{n}" for n in ("t.csv", "p.csv", "r.json"))
            cols = ["user_id", "item_id", "datetime"]
            pd.DataFrame(rows, columns=cols).to_csv(train_csv, index=False)
            rows = [
                (f"test{j}", i, t)
                for j, seq in enumerate(split.test.prompts)
                for t, i in enumerate(seq)
            ]
            pd.DataFrame(rows, columns=cols).to_csv(prompts_csv, index=False)
            result = {"ours": ours(split)}
            subprocess.run(
                [args.rectools_python, __file__, "--part", "rectools", "--files",
                 train_csv, prompts_csv, out_json],
                check=True,
            )  # fmt: skip
            result["rectools"] = json.loads(Path(out_json).read_text())
        info = machine_info()
        result.update(
            machine=info,
            machine_line=machine_line(info),
            date=date.today().isoformat(),
            command=_portable_command(sys.argv[1:] if argv is None else argv),
        )
        path.write_text(json.dumps(result, indent=2))
    write_section(args.docs, "rectools_speed", render(json.loads(path.read_text())))


if __name__ == "__main__":
    main()
