"""Peer SASRec implementations on Beauty (P1): same split, same configuration, our evaluator.

A head-to-head of other libraries' SASRec against ours under llmseqrec's protocol, so their
figures can sit next to ``evaluate(SASRec(...), split)``:

* **data**: ``load_beauty`` then ``temporal_split`` (P1), the 17,890 training sessions and the
  4,469 test prompts and targets of ``split.test``;
* **inner validation**: the very sessions our SASRec holds out for ``random_state=--seed``
  (``inner_validation_split`` over the sessions with at least 2 items, ``val_frac=0.1``,
  at most 500, drawn with ``check_random_state(seed)``, exactly as
  ``NeuralSequentialRecommender._inner_validation`` does; the script asserts that it got the
  same sessions). The peer trains on the other sessions and early-stops on NDCG@20 of the
  held-out sessions' last items (prompt = the session without its last item, prompt items
  excluded), the score our early stopping uses;
* **configuration** (RecBole 1.2.1's SASRec, CE): 64 factors, 2 blocks x 2 heads, dropout 0.2
  (hidden and attention), FFN 256, last 20 items, Adam lr 1e-3, no weight decay, batch 256,
  full-softmax cross-entropy, at most 40 epochs, patience 10, best epoch restored;
* **test**: each peer's top 20 for every test prompt (prompt items excluded), mapped back to
  the external item ids and scored by ``llmseqrec.metrics`` (NDCG@20, HR@20), the functions
  ``evaluate`` calls. Items that occur in no training session cannot be recommended, by the
  peers or by ours (``temporal_split`` drops them from the test cases anyway).

The peers live in benchmark-only environments (never dependencies of llmseqrec); this script
runs a peer's part in that environment's interpreter (``RECBOLE_PYTHON``,
``RECTOOLS_PYTHON``). A peer's part imports only numpy, pandas and the peer (with its own
torch); the data go there and back as temporary JSON files of integer item codes (our
``ItemIndex`` codes, 1..n_items, so that no id is re-typed on the way). CPU only. ::

    python -m venv "$RECBOLE_ENV" && "$RECBOLE_ENV/bin/pip" install torch==2.13.0 \\
        recbole==1.2.1 "numpy<2" "pandas<2.2"
    python -m venv "$RECTOOLS_ENV" && "$RECTOOLS_ENV/bin/pip" install torch==2.13.0 \\
        "rectools[torch]>=0.14"

(``recbole==1.2.1`` pulls its own requirements: colorlog 4.7.2, colorama 0.4.4, ray,
tensorboard, thop, tabulate, texttable, plotly, scipy, scikit-learn, psutil; nothing else is
needed. numpy 2 breaks it (its ``Config`` aliases ``np.float_``, removed in numpy 2); pandas
stays below 2.2 as a precaution. Tested on Python 3.11 with torch 2.13.0+cpu, numpy 1.26.4,
pandas 2.1.4, scipy 1.17.1; RecTools 0.19.0 with pytorch-lightning 2.5.2.) Then::

    RECBOLE_PYTHON="$RECBOLE_ENV/bin/python" python examples/benchmarks/peer_sasrec.py \\
        --peer recbole --data-dir ../shared/data/beauty
    RECTOOLS_PYTHON="$RECTOOLS_ENV/bin/python" python examples/benchmarks/peer_sasrec.py \\
        --peer rectools --data-dir ../shared/data/beauty
    python examples/benchmarks/peer_sasrec.py --peer popularity_check --data-dir ../shared/data/beauty

Each run appends one JSON line to ``--out`` (default
``examples/benchmarks/results/peer_sasrec.jsonl``): date, machine, command (without
interpreter paths), peer and version, configuration, seed, best epoch, validation NDCG@20 per
epoch, test NDCG@20 and HR@20, fit seconds and training seconds per epoch (validation
excluded). ``--peer popularity_check`` sends a popularity ranking through the same exchange
and scoring path and checks that it reproduces ``evaluate(MostPopular(), split)`` to 4
decimals (a guard against id-mapping mistakes; it exits with status 1 otherwise).
``--max-sessions`` and ``--epochs`` are for smoke tests only; published figures never use
them.

What the peers' APIs do not let us match (recorded in each line's ``notes``):

* RecBole: its evaluator ranks the items of the prompt too, so its validation is replaced by
  ours (a ``Trainer`` subclass overrides ``_valid_epoch``; training, the early-stopping rule
  and the optimizer are RecBole's). Its training data are RecBole's usual augmentation (one
  example per prefix, last <= 20 items), written out as benchmark files because RecBole's
  own splits are per user, not per session. Its early stopping counts ties as improvements
  and stops after ``stopping_step + 1`` epochs without one. The best weights are kept in
  memory instead of a checkpoint file (RecBole reloads its checkpoints with ``torch.load``,
  whose ``weights_only`` default changed in torch 2.6).
* RecTools: its validation needs the held-out sessions' prompts in the training
  interactions; they get weight 0, so they add no term to the loss (they still take places
  in the training batches, about 3% of the sequences). Its SASRec block is the SASRec
  authors' (pre-LN, ReLU FFN of width ``n_factors`` = 64, no FFN-size parameter), Adam's
  betas are fixed at (0.9, 0.98), and each session contributes one sequence of its last 21
  items per epoch (every position a target), not one example per prefix. Early stopping is
  Lightning's (strict improvement, patience 10) on our NDCG@20, computed by a callback from
  the logits of its validation step; items seen only as validation targets are not in its
  catalogue (they count as misses).
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
K = 20
# RecBole 1.2.1's SASRec (CE) configuration, the one issue 23 compares recipes at.
CONFIG = dict(
    n_factors=64, n_blocks=2, n_heads=2, dropout=0.2, inner_size=256, max_len=20, lr=1e-3,
    batch_size=256, weight_decay=0.0, loss="full-softmax CE", max_epochs=40, patience=10,
    valid_metric="NDCG@20",
)  # fmt: skip
# Our SASRec's inner-validation defaults (val_frac, val_max_sessions, val_split).
VAL_FRAC, VAL_MAX_SESSIONS = 0.1, 500
PEER_PYTHON = {"recbole": "RECBOLE_PYTHON", "rectools": "RECTOOLS_PYTHON"}
# Where a peer departs from the protocol (see the module docstring), recorded with each run.
NOTES = {
    "recbole": "validation by our NDCG@20 (Trainer._valid_epoch overridden; RecBole's evaluator "
    "does not exclude prompt items); prefix augmentation written as benchmark files; early "
    "stopping is RecBole's (ties improve, stops after stopping_step + 1 bad epochs); best "
    "weights kept in memory, not reloaded with torch.load",
    "rectools": "validation prompts in the training interactions with weight 0 (no loss term, "
    "batch places only); SASRec authors' block (pre-LN, ReLU FFN width 64); Adam betas "
    "(0.9, 0.98); one sequence of the last 21 items per session and epoch; Lightning early "
    "stopping (strict, patience 10) on our NDCG@20 from the validation logits",
    "popularity_check": "training popularity through the exchange and scoring path; must equal "
    "evaluate(MostPopular(), split)",
}


# ---------------------------------------------------------------------------------------------
# Run inside the peer's environment: standard library, numpy, pandas and the peer only.
# ---------------------------------------------------------------------------------------------
def _ranks(scores, targets, prompts, masked_cols=(0,)):
    """0-based rank of each target among the items not in its prompt (-1: target excluded).

    ``scores`` is (n, n_cols) over the peer's internal ids; ``masked_cols`` are its padding
    and other special tokens. A target ranks after every strictly better item, as a top-k
    list would place it (ties between float scores are left to chance).
    """
    import numpy as np

    scores = np.array(scores, dtype=np.float64, copy=True)
    scores[:, list(masked_cols)] = -np.inf
    for row, prompt in enumerate(prompts):
        scores[row, prompt] = -np.inf
    target = scores[np.arange(len(scores)), targets]
    rank = (scores > target[:, None]).sum(axis=1)
    return np.where(np.isneginf(target), -1, rank)


def _ndcg_from_ranks(ranks, n_cases, k=K):
    """NDCG@k of single-target cases from their ranks; cases not in ``ranks`` count as 0."""
    import numpy as np

    ranks = np.asarray(ranks)
    hit = (ranks >= 0) & (ranks < k)
    return float((1.0 / np.log2(ranks[hit] + 2)).sum() / max(n_cases, 1))


def _masked_top_k(scores, prompts, k=K, masked_cols=(0,)):
    """Columns of the ``k`` best scores per row, best first, skipping the prompt's items."""
    import numpy as np

    scores = np.array(scores, dtype=np.float64, copy=True)
    scores[:, list(masked_cols)] = -np.inf
    for row, prompt in enumerate(prompts):
        scores[row, prompt] = -np.inf
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    return [[int(c) for c in row if np.isfinite(s[c])] for row, s in zip(top, scores)]


def recbole_part(in_json: str, out_json: str) -> None:
    """Train and score RecBole 1.2.1's SASRec (CE) in its environment.

    Parameters
    ----------
    in_json : str
        The exchange file written by :func:`main` (item codes of the training sessions,
        the validation prompts and targets, the test prompts; seed; epochs).
    out_json : str
        Where the top-``K`` item codes of each test prompt and the training record go.
    """
    import copy
    import logging
    import warnings

    import numpy as np
    import recbole
    import torch
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.data.interaction import Interaction
    from recbole.model.sequential_recommender import SASRec
    from recbole.trainer import Trainer
    from recbole.utils import init_seed

    logging.getLogger().setLevel(logging.WARNING)  # RecBole logs every epoch at INFO
    # RecBole 1.2.1 on pandas 2.1 / torch 2.13: deprecation notices only (Series.agg(len),
    # torch.cuda.amp.GradScaler), one per call.
    warnings.filterwarnings("ignore", category=FutureWarning)
    data = json.loads(Path(in_json).read_text())
    L = CONFIG["max_len"]
    # Benchmark files (peer.{train,valid,test}.inter) with the history lists already made:
    # RecBole's own augmentation (one example per prefix, last <= L items) done here,
    # because RecBole splits per user, and our split is per session.
    folder = Path(out_json).parent / "recbole_data" / "peer"
    folder.mkdir(parents=True)
    header = "user_id:token\titem_id_list:token_seq\titem_id:token\n"

    def write(name, rows):
        lines = (f"{u}\t{' '.join(map(str, hist))}\t{target}\n" for u, hist, target in rows)
        (folder / f"peer.{name}.inter").write_text(header + "".join(lines))

    write(
        "train",
        ((u, seq[max(0, i - L) : i], seq[i]) for u, seq in enumerate(data["train"])
         for i in range(1, len(seq))),
    )  # fmt: skip
    n = len(data["train"])
    val_rows = [
        (n + j, p[-L:], t) for j, (p, t) in enumerate(zip(data["val_prompts"], data["val_targets"]))
    ]
    write("valid", val_rows)
    write("test", val_rows)  # placeholder: RecBole wants three files; ours are scored below
    # The catalogue, as ours: every item of the training sessions, even one seen only in a
    # validation prompt's items beyond the last L.
    items = "".join(f"{c}\n" for c in range(1, data["n_items"] + 1))
    (folder / "peer.item").write_text("item_id:token\n" + items)

    sys.argv = sys.argv[:1]  # RecBole's Config parses the command line (ours is not for it)
    config = Config(
        model="SASRec",
        dataset="peer",
        config_dict={
            "data_path": str(folder.parent),
            "benchmark_filename": ["train", "valid", "test"],
            "load_col": {"inter": ["user_id", "item_id_list", "item_id"], "item": ["item_id"]},
            "alias_of_item_id": ["item_id_list"],  # one id map for targets and histories
            "MAX_ITEM_LIST_LENGTH": L,
            "hidden_size": CONFIG["n_factors"],
            "inner_size": CONFIG["inner_size"],
            "n_layers": CONFIG["n_blocks"],
            "n_heads": CONFIG["n_heads"],
            "hidden_dropout_prob": CONFIG["dropout"],
            "attn_dropout_prob": CONFIG["dropout"],
            "loss_type": "CE",
            "train_neg_sample_args": None,
            "learner": "adam",
            "learning_rate": CONFIG["lr"],
            "weight_decay": CONFIG["weight_decay"],
            "train_batch_size": CONFIG["batch_size"],
            "epochs": data["epochs"],
            "stopping_step": CONFIG["patience"],
            "eval_step": 1,
            "valid_metric": CONFIG["valid_metric"],
            "metrics": ["NDCG", "Hit"],
            "topk": [K],
            "seed": data["seed"],
            "reproducibility": True,
            "use_gpu": False,
            "show_progress": False,
            "checkpoint_dir": str(Path(out_json).parent / "saved"),
        },
    )
    init_seed(config["seed"], config["reproducibility"])
    dataset = create_dataset(config)
    train_data, valid_data, _ = data_preparation(config, dataset)
    init_seed(config["seed"], config["reproducibility"])  # as run_recbole does before the model
    model = SASRec(config, train_data.dataset).to(config["device"])

    token_id = dataset.field2token_id["item_id"]  # our code (as a token) -> RecBole's id
    id_token = dataset.field2id_token["item_id"]  # RecBole's id -> token; 0 is [PAD]

    def internal(prompts):
        return [[token_id[str(c)] for c in p] for p in prompts]

    def scores(prompts):
        """Full-catalogue scores (RecBole ids) of prompts, RecBole's own forward pass."""
        model.eval()
        out = []
        with torch.no_grad():
            for s in range(0, len(prompts), 512):
                chunk = [p[-L:] for p in prompts[s : s + 512]]
                seq = np.zeros((len(chunk), L), dtype=np.int64)  # RecBole pads on the right
                for row, p in enumerate(chunk):
                    seq[row, : len(p)] = p
                batch = Interaction(
                    {model.ITEM_SEQ: torch.from_numpy(seq),
                     model.ITEM_SEQ_LEN: torch.tensor([len(p) for p in chunk])}
                )  # fmt: skip
                out.append(model.full_sort_predict(batch.to(config["device"])).cpu().numpy())
        return np.concatenate(out)

    val_prompts = internal(data["val_prompts"])
    val_targets = np.array([token_id[str(t)] for t in data["val_targets"]])
    record = {"val": [], "epoch_seconds": []}

    class PeerTrainer(Trainer):
        """RecBole's trainer, validated with our NDCG@20 (prompt items excluded)."""

        def _train_epoch(self, *args, **kwargs):
            start = time.perf_counter()
            loss = super()._train_epoch(*args, **kwargs)
            record["epoch_seconds"].append(time.perf_counter() - start)
            return loss

        def _valid_epoch(self, valid_data, show_progress=False):
            ranks = _ranks(scores(val_prompts), val_targets, val_prompts)
            score = _ndcg_from_ranks(ranks, len(val_targets))
            record["val"].append(score)
            return score, {"ndcg@20": score}

        def _save_checkpoint(self, epoch, verbose=True, **kwargs):
            # Called on each improvement: keep the weights in memory (no torch.load later).
            record["best_epoch"] = epoch + 1
            record["best_state"] = copy.deepcopy(self.model.state_dict())

    trainer = PeerTrainer(config, model)
    start = time.perf_counter()
    trainer.fit(train_data, valid_data, verbose=False, saved=True, show_progress=False)
    fit_seconds = time.perf_counter() - start
    model.load_state_dict(record.pop("best_state"))

    def top_k(prompts):
        """Top-K codes per prompt (prompt items excluded); an empty prompt gets no list."""
        prompts = internal(prompts)
        recs = [[] for _ in prompts]
        todo = [j for j, p in enumerate(prompts) if p]  # empty only in smoke subsets
        for s in range(0, len(todo), 512):
            chunk = [prompts[j] for j in todo[s : s + 512]]
            for j, row in zip(todo[s : s + 512], _masked_top_k(scores(chunk), chunk)):
                recs[j] = [int(id_token[i]) for i in row]
        return recs

    recs, val_recs = top_k(data["test_prompts"]), top_k(data["val_prompts"])
    result = {
        "peer_version": recbole.__version__,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "peer_config": {
            key: config[key]
            for key in (
                "hidden_size",
                "inner_size",
                "n_layers",
                "n_heads",
                "hidden_dropout_prob",
                "attn_dropout_prob",
                "hidden_act",
                "layer_norm_eps",
                "initializer_range",
                "loss_type",
                "MAX_ITEM_LIST_LENGTH",
                "learner",
                "learning_rate",
                "weight_decay",
                "train_batch_size",
                "epochs",
                "stopping_step",
                "valid_metric",
                "seed",
            )
        },  # fmt: skip
        "n_training_examples": len(train_data.dataset),
        "fit_seconds": fit_seconds,
        "recs": recs,
        "val_recs": val_recs,
        **record,
    }
    Path(out_json).write_text(json.dumps(result))


def rectools_part(in_json: str, out_json: str) -> None:
    """Train and score RecTools' ``SASRecModel`` (softmax loss) in its environment.

    Parameters
    ----------
    in_json, out_json : str
        As for :func:`recbole_part`.
    """
    import numpy as np
    import pandas as pd
    import rectools
    import torch
    from pytorch_lightning import Callback, Trainer, seed_everything
    from pytorch_lightning.callbacks import EarlyStopping
    from rectools import Columns
    from rectools.dataset import Dataset
    from rectools.models import SASRecModel
    from rectools.models.nn.item_net import IdEmbeddingsItemNet

    data = json.loads(Path(in_json).read_text())
    n = len(data["train"])
    n_val = len(data["val_targets"])

    def frame(sessions, weights, first_user=0):
        """Interactions of sessions; positions stand for the times (the order is all that counts)."""
        rows = [
            (first_user + u, item, t, weights(t, len(seq)))
            for u, seq in enumerate(sessions)
            for t, item in enumerate(seq)
        ]
        df = pd.DataFrame(
            rows, columns=[Columns.User, Columns.Item, Columns.Datetime, Columns.Weight]
        )
        df[Columns.Datetime] = pd.to_datetime(df[Columns.Datetime], unit="s")
        return df

    # Validation sessions (users n..n+n_val-1): the prompt with weight 0 (RecTools' validation
    # reads it as the history; weight 0 keeps it out of the training loss), the target with 1.
    val_sessions = [p + [t] for p, t in zip(data["val_prompts"], data["val_targets"])]
    interactions = pd.concat(
        [frame(data["train"], lambda t, m: 1.0),
         frame(val_sessions, lambda t, m: float(t == m - 1), first_user=n)],
        ignore_index=True,
    )  # fmt: skip

    def val_mask(df, first_val_user):
        return ((df[Columns.User] >= first_val_user) & (df[Columns.Weight] > 0)).to_numpy()

    class ValidationNDCG(Callback):
        """Our NDCG@20 on the validation logits; keeps the best weights (strict improvement)."""

        def __init__(self):
            self.ranks, self.val, self.epoch_seconds = [], [], []
            self.best, self.best_epoch, self.best_state = -np.inf, 0, None

        def on_train_epoch_start(self, trainer, pl_module):
            self.started = time.perf_counter()

        def on_validation_start(self, trainer, pl_module):
            if not trainer.sanity_checking:
                self.epoch_seconds.append(time.perf_counter() - self.started)

        def on_validation_batch_end(
            self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0
        ):
            x, y = batch["x"].cpu().numpy(), batch["y"][:, -1].cpu().numpy()
            logits = outputs["logits"].reshape(len(x), -1).float().cpu().numpy()
            n_extra = pl_module.data_preparator.n_item_extra_tokens
            prompts = [row[row >= n_extra] for row in x]  # drop left padding
            self.ranks.append(_ranks(logits, y, prompts, masked_cols=range(n_extra)))

        def on_validation_epoch_end(self, trainer, pl_module):
            # Sessions whose target is not in RecTools' catalogue were dropped: they count 0.
            score = _ndcg_from_ranks(np.concatenate(self.ranks), n_val)
            self.ranks = []
            pl_module.log("val_ndcg20", score)
            self.val.append(score)
            # One line per epoch on stderr: a run of an hour can be followed in its log.
            print(
                f"epoch {trainer.current_epoch + 1}: validation NDCG@20 {score:.4f}, "
                f"{self.epoch_seconds[-1]:.0f} s",
                file=sys.stderr,
                flush=True,
            )
            if score > self.best:
                self.best, self.best_epoch = score, trainer.current_epoch + 1
                self.best_state = {k: v.detach().clone() for k, v in pl_module.state_dict().items()}

    def get_trainer():
        return Trainer(
            max_epochs=data["epochs"],
            deterministic=True,
            accelerator="cpu",
            devices=1,
            enable_progress_bar=False,
            enable_model_summary=False,
            logger=False,
            enable_checkpointing=False,
            num_sanity_val_steps=0,
            callbacks=[
                ValidationNDCG(),
                EarlyStopping(monitor="val_ndcg20", mode="max", patience=CONFIG["patience"]),
            ],
        )

    params = dict(
        n_factors=CONFIG["n_factors"],
        n_blocks=CONFIG["n_blocks"],
        n_heads=CONFIG["n_heads"],
        dropout_rate=CONFIG["dropout"],
        session_max_len=CONFIG["max_len"],
        lr=CONFIG["lr"],
        batch_size=CONFIG["batch_size"],
        loss="softmax",
        epochs=data["epochs"],
        deterministic=True,
        item_net_block_types=(IdEmbeddingsItemNet,),
        get_val_mask_func=val_mask,
        get_val_mask_func_kwargs={"first_val_user": n},
        get_trainer_func=get_trainer,
        recommend_torch_device="cpu",
    )
    seed_everything(data["seed"], workers=True)
    model = SASRecModel(**params)
    start = time.perf_counter()
    model.fit(Dataset.construct(interactions))
    fit_seconds = time.perf_counter() - start
    # RecTools fits a deep copy of the trainer: read the callback that actually ran.
    (callback,) = [c for c in model.fit_trainer.callbacks if isinstance(c, ValidationNDCG)]
    model.lightning_model.load_state_dict(callback.best_state)

    def top_k(prompt_lists):
        """Top-K codes per prompt, the prompts as the histories of new users.

        ``filter_viewed`` excludes the prompt's items. A prompt without an item RecTools
        knows (items seen only as validation targets; empty prompts of smoke subsets) gets
        no list: RecTools warns and skips it.
        """
        prompts = frame(prompt_lists, lambda t, m: 1.0)
        reco = model.recommend(
            prompts[Columns.User].unique(),
            Dataset.construct(prompts),
            k=K,
            filter_viewed=True,
            on_unsupported_targets="warn",
        )
        reco = reco.sort_values([Columns.User, Columns.Rank])
        by_user = reco.groupby(Columns.User)[Columns.Item].agg(list).to_dict()
        return [[int(i) for i in by_user.get(u, [])] for u in range(len(prompt_lists))]

    recs, val_recs = top_k(data["test_prompts"]), top_k(data["val_prompts"])
    config = {
        k: v for k, v in params.items() if not k.startswith("get_") and k != "item_net_block_types"
    }
    config.update(
        adam_betas=[0.9, 0.98],
        item_net="IdEmbeddingsItemNet",
        early_stopping="Lightning EarlyStopping(val_ndcg20, max, patience)",
    )
    result = {
        "peer_version": rectools.__version__,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "n_training_examples": n + n_val,  # one sequence per session (validation ones: weight 0)
        "peer_config": config,
        "fit_seconds": fit_seconds,
        "recs": recs,
        "val_recs": val_recs,
        "val": callback.val,
        "epoch_seconds": callback.epoch_seconds,
        "best_epoch": callback.best_epoch,
    }
    Path(out_json).write_text(json.dumps(result))


def popularity_part(in_json: str, out_json: str) -> None:
    """The exchange-and-scoring check: a popularity ranking sent through the peers' path.

    Counts every training session (the validation ones too, as ``MostPopular`` does), ties
    broken by the smaller item code (first appearance, as ``MostPopular``).
    """
    import numpy as np

    data = json.loads(Path(in_json).read_text())
    sessions = data["train"] + [p + [t] for p, t in zip(data["val_prompts"], data["val_targets"])]
    counts = np.bincount(np.concatenate(sessions), minlength=data["n_items"] + 1)
    order = np.argsort(-counts[1:], kind="stable") + 1  # codes, most popular first
    recs = []
    for prompt in data["test_prompts"]:
        seen = set(prompt)
        recs.append([int(c) for c in order[: K + len(seen)] if c not in seen][:K])
    result = {
        "peer_version": "numpy " + np.__version__,
        "recs": recs,
        "val": [],
        "fit_seconds": 0.0,
    }
    Path(out_json).write_text(json.dumps(result))


PARTS = {"recbole": recbole_part, "rectools": rectools_part, "popularity_check": popularity_part}


# ---------------------------------------------------------------------------------------------
# Run in llmseqrec's environment.
# ---------------------------------------------------------------------------------------------
def _training_sessions(split, max_sessions: int | None) -> list:
    """``split.train``'s sessions; for smoke tests the latest ``max_sessions`` of them."""
    sessions = list(split.train.values())
    return sessions[-max_sessions:] if max_sessions else sessions


def exchange(split, seed: int, max_sessions: int | None, epochs: int):
    """The data a peer gets, as item codes, and the item index that decodes its answer.

    The validation sessions are drawn exactly as our SASRec draws them for
    ``random_state=seed``: the same library calls with the same arguments, over the
    sessions in ``split.train`` order encoded by an ``ItemIndex`` built as ``fit`` builds it.
    """
    import numpy as np

    from llmseqrec import SASRec
    from llmseqrec.data import ItemIndex, inner_validation_split
    from llmseqrec.utils import check_random_state

    sessions = _training_sessions(split, max_sessions)
    index = ItemIndex.from_sequences(sessions)
    seqs = [index.encode(s) for s in sessions]
    eligible = [i for i, s in enumerate(seqs) if len(s) >= 2]
    _, val_pos = inner_validation_split(
        len(eligible), VAL_FRAC, VAL_MAX_SESSIONS, check_random_state(seed), strategy="random"
    )
    val_idx = {eligible[i] for i in val_pos}
    train = [s for i, s in enumerate(seqs) if i not in val_idx]
    val = [seqs[i] for i in sorted(val_idx)]
    # Guard against drift: our SASRec (defaults, patience on) holds out the same sessions.
    ours = SASRec(random_state=seed, patience=CONFIG["patience"])
    ours.item_index_ = index  # what fit sets first; the validator reads the catalogue size
    ours_train, _ = ours._inner_validation(seqs)
    assert len(ours_train) == len(train) and all(
        np.array_equal(a, b) for a, b in zip(ours_train, train)
    ), "inner-validation sessions differ from our SASRec's"
    # Unknown prompt items are dropped, as our models' handle_unknown="ignore" does.
    test_prompts = [index.encode(p.tolist()) for p in split.test.prompts]
    payload = {
        "train": [s.tolist() for s in train],
        "val_prompts": [s[:-1].tolist() for s in val],
        "val_targets": [int(s[-1]) for s in val],
        "test_prompts": [p.tolist() for p in test_prompts],
        "n_items": len(index),
        "seed": seed,
        "epochs": epochs,
    }
    return payload, index


def score(recs: list, targets, index) -> dict:
    """NDCG@20 and HR@20 of code lists, decoded to external ids, by llmseqrec's metrics."""
    from llmseqrec.metrics import hit_rate_at_k, ndcg_at_k

    lists = [list(index.decode(row)) for row in recs]
    assert len(lists) == len(targets)
    return {"ndcg20": ndcg_at_k(lists, targets, K), "hr20": hit_rate_at_k(lists, targets, K)}


def _machine() -> str:
    from llmseqrec.benchmark import machine_info

    info = machine_info()
    return f"{info['cpu_count']} CPU cores, {info['cpu']}, {info['memory_gb']} GiB, {info['gpu'] or 'no GPU'}"


def _portable_command(argv: list, peer: str) -> str:
    """The command as run, the peer's interpreter (a local path) written as its variable."""
    args, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--peer-python":
            skip = True
        elif not arg.startswith("--peer-python="):
            args.append(arg)
    env = f"{PEER_PYTHON[peer]}=... " if peer in PEER_PYTHON else ""
    return f"{env}python examples/benchmarks/peer_sasrec.py " + " ".join(args)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--peer", choices=sorted(PARTS), required=False)
    parser.add_argument(
        "--data-dir", default=None, help="Beauty's folder (the docs use ../shared/data/beauty)"
    )
    parser.add_argument("--seed", type=int, default=0, help="peer seed and inner-validation draw")
    parser.add_argument(
        "--peer-python",
        default=None,
        help="interpreter of the peer's environment (default: $RECBOLE_PYTHON / $RECTOOLS_PYTHON)",
    )
    parser.add_argument("--out", default=str(HERE / "results" / "peer_sasrec.jsonl"))
    parser.add_argument(
        "--max-sessions",
        type=int,
        default=None,
        help="smoke tests only: latest N training sessions",
    )
    parser.add_argument(
        "--epochs", type=int, default=CONFIG["max_epochs"], help="smoke tests only: fewer epochs"
    )
    parser.add_argument("--part", choices=sorted(PARTS), default=None, help=argparse.SUPPRESS)
    parser.add_argument("--files", nargs=2, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.part:  # inside the peer's environment
        PARTS[args.part](*args.files)
        return
    if args.peer is None:
        parser.error("--peer is required")
    python = args.peer_python or os.environ.get(PEER_PYTHON.get(args.peer, ""), "")
    if args.peer == "popularity_check":
        python = sys.executable  # numpy only: llmseqrec's environment will do
    if not python:
        parser.error(f"set {PEER_PYTHON[args.peer]} (or --peer-python) to the peer's Python")

    # Everything this process needs after the peer's run is imported now: a run takes an
    # hour, and a module edited meanwhile must not break its scoring (it once did).
    from llmseqrec.data import temporal_split
    from llmseqrec.datasets import load_beauty

    machine = _machine()
    split = temporal_split(load_beauty(args.data_dir).interactions)
    payload, index = exchange(split, args.seed, args.max_sessions, args.epochs)
    with tempfile.TemporaryDirectory() as tmp:
        in_json, out_json = f"{tmp}/in.json", f"{tmp}/out.json"
        Path(in_json).write_text(json.dumps(payload))
        # cwd=tmp: RecBole writes log_tensorboard/ (and would write saved/) into the cwd.
        subprocess.run(
            [python, str(Path(__file__).resolve()), "--part", args.peer, "--files", in_json, out_json],
            check=True, cwd=tmp,
        )  # fmt: skip
        result = json.loads(Path(out_json).read_text())
        raw = Path(args.out).with_suffix("") / f"{args.peer}-seed{args.seed}-raw.json"
        raw.parent.mkdir(parents=True, exist_ok=True)
        raw.write_text(json.dumps(result))  # the peer's lists, kept before anything can fail
    seconds = result.get("epoch_seconds") or []
    test = score(result["recs"], split.test.targets, index)
    record = {
        "date": date.today().isoformat(),
        "machine": machine,
        "command": _portable_command(sys.argv[1:] if argv is None else list(argv), args.peer),
        "peer": args.peer,
        "peer_version": result["peer_version"],
        "torch": result.get("torch"),
        "torch_threads": result.get("torch_threads"),
        "config": CONFIG,
        "peer_config": result.get("peer_config"),
        "notes": NOTES[args.peer],
        "seed": args.seed,
        "max_sessions": args.max_sessions,
        "max_epochs": args.epochs,
        "n_train_sessions": len(payload["train"]),
        "n_val_sessions": len(payload["val_targets"]),
        "n_test_cases": len(payload["test_prompts"]),
        "n_training_examples": result.get("n_training_examples"),
        "best_epoch": result.get("best_epoch"),
        "val": [round(v, 4) for v in result["val"]],
        **{f"test_{k}": round(v, 4) for k, v in test.items()},
        "fit_s": round(result["fit_seconds"], 1),
        "s_per_epoch": round(sum(seconds) / len(seconds), 1) if seconds else None,
    }
    status = 0
    if result.get("val_recs") is not None:
        # Consistency check of the test path: the best model's validation lists, decoded and
        # scored like the test lists, must give the best validation NDCG@20 of training.
        targets = index.decode(payload["val_targets"])
        rescored = score(result["val_recs"], targets, index)["ndcg20"]
        record["val_best_rescored"] = round(rescored, 4)
        if abs(rescored - max(result["val"])) > 1e-4:
            print(
                f"warning: best validation NDCG@20 {max(result['val']):.4f} is {rescored:.4f} "
                "through the test path",
                file=sys.stderr,
            )
    if args.peer == "popularity_check":
        from llmseqrec import MostPopular
        from llmseqrec.evaluation import evaluate

        model = MostPopular().fit(_training_sessions(split, args.max_sessions))
        table = evaluate(model, split, k=K, show_progress=False).set_index("metric")["value"]
        record["reference"] = {
            "test_ndcg20": round(float(table["NDCG"]), 4),
            "test_hr20": round(float(table["HR"]), 4),
        }
        record["match"] = record["reference"] == {
            k: record[k] for k in ("test_ndcg20", "test_hr20")
        }
        status = 0 if record["match"] else 1
    print(json.dumps(record))
    with open(args.out, "a") as f:
        f.write(json.dumps(record) + "\n")
    sys.exit(status)


if __name__ == "__main__":
    main()
