"""Why our SASRec trails RecBole's: screen recipe differences at RecBole's configuration.

Issue 23's first ablation (a screening, not a selection: seed 0, one fit per variant,
the inner-validation curve and the test figure are both printed). RecBole 1.2.1's SASRec
(CE) configuration: emb 64, 2 layers x 2 heads, dropout 0.2, max_len 20, lr 1e-3, batch 256,
no weight decay, early stopping on 500 held-out sessions (patience 10 here).

    python examples/benchmarks/sasrec_recipe_screen.py base --data-dir ../shared/data/beauty

Variants: ``base`` (our recipe), ``identity_head`` (= ``head="linear"``), ``dot_head`` (a
plain dot-product head; ``head="dot"`` differs only in the random draw of the blocks'
initial weights, because this script replaces a built projection head), ``batch32``,
``prefixes``, ``prefixes_identity``, ``prefixes_dot`` (one training example per prefix, as
RecBole; = ``training_examples="prefixes"``), ``recbole_blocks_dot``. One JSON line per run
is appended to ``--out``.
"""

import argparse
import json
import platform
import time

import numpy as np
import torch

import llmseqrec.nn as lnn
from llmseqrec import SASRec, evaluate
from llmseqrec.data import temporal_split
from llmseqrec.datasets import load_beauty

parser = argparse.ArgumentParser(
    description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
)
parser.add_argument("variant")
parser.add_argument(
    "--data-dir", required=True, help="folder with Beauty's interactions.csv.gz and items.csv.gz"
)
parser.add_argument("--out", default="examples/benchmarks/results/sasrec_recipe_screen.jsonl")
args = parser.parse_args()
variant = args.variant
data = load_beauty(args.data_dir)
split = temporal_split(data.interactions)
base = dict(
    emb_dim=64,
    n_layers=2,
    n_heads=2,
    dropout=0.2,
    max_prompt_items=20,
    learning_rate=1e-3,
    batch_size=256,
    weight_decay=0.0,
    patience=10,
    epochs=40,
    random_state=0,
    show_progress=False,
)


class Variant(SASRec):
    head_activation = "relu"

    def _build_encoder(self, n_items, item_embedding, generator):
        config = lnn.SASRecConfig(
            n_items, self.emb_dim_, self.n_layers, self.n_heads, self.max_prompt_items, self.dropout
        )
        m = lnn.SASRec(config, item_embedding, generator)
        if self.head_activation == "dot":
            m.head = DotHead(n_items)
        elif self.head_activation != "relu":
            m.head.act = {"identity": torch.nn.Identity(), "gelu": torch.nn.GELU()}[
                self.head_activation
            ]
        if getattr(self, "recbole_blocks", False):
            from llmseqrec.nn.layers import TransformerBlock

            m.blocks = torch.nn.ModuleList(
                TransformerBlock(64, self.n_heads, 256, self.dropout, "gelu", pre_ln=False)
                for _ in range(self.n_layers)
            )
            with torch.no_grad():
                for mod in m.blocks.modules():
                    if isinstance(mod, torch.nn.Linear):
                        mod.weight.normal_(0, 0.02, generator=generator)
                        mod.bias.zero_()
            m.final_ln = torch.nn.LayerNorm(64)
        return m


def prefix_arrays(self, sequences):
    """One example per prefix (RecBole): the last T items before each target; loss at the end."""
    from llmseqrec.recommenders._neural import pad_left

    T = self.max_prompt_items
    inputs, targets = [], []
    for s in sequences:
        for t in range(1, len(s)):
            inputs.append(s[max(0, t - T) : t])
            targets.append(s[t])
    X = pad_left(inputs, T)
    Y = np.zeros_like(X)
    Y[:, -1] = targets
    return X, Y


class DotHead(torch.nn.Module):
    def __init__(self, n_items):
        super().__init__()
        self.register_buffer("bias", torch.zeros(n_items))

    def project(self, h):
        return h

    def forward(self, h, M):
        return h @ M.T


params = dict(base)
cls = Variant
if variant == "identity_head":
    Variant.head_activation = "identity"
elif variant == "gelu_head":
    Variant.head_activation = "gelu"
elif variant == "dot_head":
    Variant.head_activation = "dot"
elif variant == "recbole_blocks_dot":
    Variant.head_activation = "dot"
    Variant.recbole_blocks = True
elif variant.startswith("prefixes"):
    Variant._next_item_arrays = prefix_arrays
    if "dot" in variant:
        Variant.head_activation = "dot"
    if "identity" in variant:
        Variant.head_activation = "identity"
elif variant.startswith("batch"):
    params["batch_size"] = int(variant[5:])
elif variant.startswith("lr"):
    params["learning_rate"] = float(variant[2:])
start = time.time()
model = cls(**params).fit(split.train, item_metadata=data.items)
fit_s = time.time() - start
h = model.history_
table = evaluate(model, split, show_progress=False)
ndcg = table.query("metric=='NDCG' and k==20")["value"].item()
hr = table.query("metric=='HR' and k==20")["value"].item()
line = json.dumps(
    {
        "date": time.strftime("%Y-%m-%d"),
        "machine": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "variant": variant,
        "best_epoch": h.best_epoch,
        "val": [round(v, 4) for v in h.val_score],
        "test_ndcg20": round(ndcg, 4),
        "test_hr20": round(hr, 4),
        "fit_s": round(fit_s),
    }
)
print(line)
with open(args.out, "a") as f:
    f.write(line + "\n")
