"""Why our SASRec trailed RecBole's: screen recipe differences at RecBole's configuration.

Issue 23's ablation (a screening, not a selection: one fit per variant and seed; the
inner-validation curve and the test figure are both recorded). RecBole 1.2.1's SASRec (CE)
configuration: emb 64, 2 layers x 2 heads, dropout 0.2, max_len 20, lr 1e-3, batch 256, no
weight decay, early stopping on 500 held-out sessions (patience 10 here).

    python examples/benchmarks/sasrec_recipe_screen.py dot+first --data-dir "$BEAUTY_DIR"

A variant is ``base`` or ``+``-joined changes to our recipe, each one public parameter:
``dot`` / ``linear`` (``head``), ``prefixes`` (``training_examples``), ``first``
(``position_origin``), ``postln`` (``block="post_ln"``), ``ligr`` (``block="ligr"``),
``batchN``, ``lrX``, ``seedN``, ``ffnN`` (``ffn_scale``), ``gelu`` / ``swiglu``
(``activation``), ``normal`` (``init``), ``gbce`` (``loss``), ``cosine`` (``lr_decay``),
``llm2`` (``item_embeddings="default"``: LLM2SASRec), ``dual`` (``dual_view``),
``permuted`` (``permute_embeddings``), ``warmupN`` (``warmup_steps``), ``dropX``, ``layersN``, ``headsN``, ``lenN``
(``max_prompt_items``), ``embN``. One JSON line per run is appended to ``--out``.
(The first four lines of the results, 2026-11-29, came from an earlier version of this
script that patched the head in place: ``identity_head`` = ``linear``, ``dot_head`` =
``dot`` up to the random draw of the blocks' initial weights; ``git show 534ec74``.)
"""

import argparse
import json
import time

import torch

from llmseqrec import SASRec
from llmseqrec.benchmark import machine_info, machine_line
from llmseqrec.data import temporal_split
from llmseqrec.datasets import load_beauty
from llmseqrec.evaluation import evaluate

CHANGES = {
    "dot": {"head": "dot"},
    "linear": {"head": "linear"},
    "prefixes": {"training_examples": "prefixes"},
    "first": {"position_origin": "first"},
    "postln": {"block": "post_ln"},
    "ligr": {"block": "ligr"},
    "gelu": {"activation": "gelu"},
    "swiglu": {"activation": "swiglu"},
    "normal": {"init": "normal"},
    "gbce": {"loss": "gbce"},
    "cosine": {"lr_decay": "cosine"},
    "llm2": {"item_embeddings": "default"},  # LLM2SASRec: all-MiniLM-L6-v2 titles, PCA
    "dual": {"item_embeddings": "default", "dual_view": True},
    "permuted": {"permute_embeddings": True},
}
PREFIXED = {"batch": ("batch_size", int), "lr": ("learning_rate", float),
            "seed": ("random_state", int), "ffn": ("ffn_scale", int),
            "warmup": ("warmup_steps", int), "drop": ("dropout", float),
            "layers": ("n_layers", int), "heads": ("n_heads", int),
            "len": ("max_prompt_items", int), "emb": ("emb_dim", int)}  # fmt: skip

parser = argparse.ArgumentParser(
    description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
)
parser.add_argument("variant")
parser.add_argument(
    "--data-dir", required=True, help="folder with Beauty's interactions.csv.gz and items.csv.gz"
)
parser.add_argument("--out", default="examples/benchmarks/results/sasrec_recipe_screen.jsonl")
parser.add_argument("--patience", type=int, default=10)
parser.add_argument("--progress", action="store_true", help="show the training progress bars")
args = parser.parse_args()


def machine() -> str:
    """The machine line every benchmark records (CPU, memory, GPU, torch, llmseqrec)."""
    return machine_line(machine_info())


# ``base`` is the paper's reference recipe (llmseqrec 0.1's defaults) at RecBole's configuration;
# the changes name what the screening moved away from it (the strong recipe, now SASRec's
# defaults, is dot+first+postln+gelu+ffn4+normal).
params = dict(
    emb_dim=64, n_layers=2, n_heads=2, dropout=0.2, max_prompt_items=20, learning_rate=1e-3,
    batch_size=256, weight_decay=0.0, patience=args.patience, epochs=40, random_state=0,
    show_progress=args.progress, head="projection", position_origin="last", block="pre_ln",
    ffn_scale=1, activation="relu", init="xavier",
)  # fmt: skip
for change in args.variant.split("+"):
    if change == "base":
        continue
    if change in CHANGES:
        params.update(CHANGES[change])
        continue
    prefix = next((p for p in PREFIXED if change.startswith(p)), None)
    if prefix is None:
        parser.error(f"unknown change {change!r}")
    name, kind = PREFIXED[prefix]
    params[name] = kind(change[len(prefix) :])

data = load_beauty(args.data_dir)
split = temporal_split(data.interactions)
start = time.time()
model = SASRec(**params).fit(split.train, item_metadata=data.items)
fit_s = time.time() - start
h = model.history_
table = evaluate(model, split, show_progress=False)
ndcg = table.query("metric=='NDCG' and k==20")["value"].item()
hr = table.query("metric=='HR' and k==20")["value"].item()
record = {
    "date": time.strftime("%Y-%m-%d"),
    "machine": machine(),
    "torch": torch.__version__,
    "variant": args.variant,
    "patience": args.patience,
    "best_epoch": h.best_epoch,
    "optimizer_steps": h.optimizer_steps,
    "val": [round(v, 4) for v in h.val_score],
    "test_ndcg20": round(ndcg, 4),
    "test_hr20": round(hr, 4),
    "fit_s": round(fit_s),
}
print(json.dumps(record))
with open(args.out, "a") as f:
    f.write(json.dumps(record) + "\n")
