"""Shared machinery of the neural sequential recommenders (SASRec, BERT4Rec, GRU4Rec)."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
import torch

from ..base import Recommender, _CallFilters
from ..data import PAD, inner_validation_split
from ..exceptions import SavedModelError
from ..metrics import ndcg_at_k
from ..nn import (
    HEADS,
    ITEM_INITS,
    DualViewEmbedding,
    ItemEmbedding,
    ProjectedTextEmbedding,
    full_softmax_loss,
    gbce_loss,
    sampled_softmax_loss,
)
from ..text import REDUCTIONS, item_embedding_matrix, reduce_item_vectors
from ..training import LR_DECAYS, TrainConfig, train_module
from ..utils import (
    check_random_state,
    init_distributed_from_env,
    resolve_device,
    seeded_torch_rng,
    torch_generator,
)
from ..utils._topk import chunked_topk

__all__ = ["NeuralSequentialRecommender", "pad_left"]

_WEIGHTS = "model.safetensors"

#: Training losses of the neural models (see ``loss`` in their docstrings).
LOSSES = ("softmax", "sampled_softmax", "gbce")
#: How training sessions become examples (see ``training_examples`` in SASRec's docstring).
TRAINING_EXAMPLES = ("positions", "windows", "prefixes")


def pad_left(sequences: list[np.ndarray], max_len: int) -> np.ndarray:
    """Last ``max_len`` items of each sequence, left-padded with 0: (n, max_len) int64.

    >>> pad_left([np.array([1, 2, 3]), np.array([4])], 2).tolist()
    [[2, 3], [0, 4]]
    """
    out = np.zeros((len(sequences), max_len), dtype=np.int64)
    for r, seq in enumerate(sequences):
        tail = seq[-max_len:]
        if len(tail):
            out[r, max_len - len(tail) :] = tail
    return out


class NeuralSequentialRecommender(Recommender):
    """Base of the neural models: LLM initialisation, training loop, batched scoring, save/load.

    Subclasses define ``_build_encoder(n_items, item_embedding, generator)`` and, for
    masked training, override ``_training_batches``/``_prompt_inputs``.
    """

    _renamed_parameters = {"lr": "learning_rate", "max_len": "max_prompt_items"}

    # ------------------------------------------------------------------ catalogue
    @property
    def _catalogue(self):
        # Frozen text vectors behind a projection can score items never seen in training.
        return (
            "train+metadata"
            if getattr(self, "freeze_text", False) and self.item_embeddings is not None
            else "train"
        )

    def _check_integer(self, name: str, minimum: int) -> None:
        """Raise unless parameter ``name`` is an integer (not a bool) of at least ``minimum``."""
        value = getattr(self, name)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
            kind = "a positive" if minimum == 1 else "a non-negative"
            raise ValueError(f"{name} must be {kind} integer, got {value!r}")

    def _check_choice(self, name: str, allowed: tuple) -> None:
        """Raise unless parameter ``name`` is one of ``allowed``."""
        if getattr(self, name) not in allowed:
            raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")

    def _check_bool(self, name: str) -> None:
        """Raise unless parameter ``name`` is ``True`` or ``False``."""
        if not isinstance(getattr(self, name), (bool, np.bool_)):
            raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")

    def _check_number(self, name: str, low: float, low_open: bool = False, high=None) -> None:
        """Raise unless parameter ``name`` is a finite real number in its documented range."""
        value = getattr(self, name)
        ok = (
            not isinstance(value, bool)
            and isinstance(value, (int, float, np.number))
            and np.isfinite(value)
            and (value > low if low_open else value >= low)
            and (high is None or value < high)
        )
        if not ok:
            bound = f"{'>' if low_open else '>='} {low}" + (
                "" if high is None else f" and < {high}"
            )
            raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")

    @staticmethod
    def _item_table_names(module) -> tuple[str, ...]:
        """The trainable item tables' parameter names (the id table; in the dual view its
        id rows, not the adapter)."""
        return tuple(
            name
            for name, p in module.named_parameters()
            if p.requires_grad
            and name.startswith("item_embedding.")
            and name.endswith("table.weight")
        )

    @staticmethod
    def _text_adapter_names(module) -> tuple[str, ...]:
        """The dual view's text-adapter parameter names (none without the dual view)."""
        return tuple(
            name
            for name, p in module.named_parameters()
            if p.requires_grad and name.startswith("item_embedding.adapter.")
        )

    def _check_params(self):
        self._check_number("learning_rate", 0, low_open=True)
        self._check_number("weight_decay", 0)
        self._check_number("item_lr_scale", 0, low_open=True)
        for name in ("decay_to_init", "decay_text_adapter", "dual_view", "refit"):
            self._check_bool(name)
        self._check_choice("item_init", ITEM_INITS)
        self._check_number("val_frac", 0, high=1)
        if self.clip_norm is not None:
            self._check_number("clip_norm", 0, low_open=True)
        if self.patience is not None:
            self._check_integer("patience", 0)
        if self.val_max_sessions is not None:
            self._check_integer("val_max_sessions", 1)
        for name in ("n_layers", "n_heads", "hidden_dim"):
            if hasattr(self, name):
                self._check_integer(name, 1)
        if hasattr(self, "n_heads"):
            self._check_integer("emb_dim", 1)
            if self.emb_dim % self.n_heads:
                raise ValueError(
                    f"emb_dim ({self.emb_dim}) must be divisible by n_heads ({self.n_heads}): "
                    "each head attends over emb_dim / n_heads dimensions"
                )
        self._check_choice("loss", LOSSES)
        if self.negative_sampling not in ("uniform", "popularity"):
            raise ValueError(
                f"negative_sampling must be 'uniform' or 'popularity', got {self.negative_sampling!r}"
            )
        if self.negative_sampling == "popularity" and self.loss != "sampled_softmax":
            raise ValueError("negative_sampling='popularity' needs loss='sampled_softmax'")
        if (
            isinstance(self.gbce_t, bool)
            or not isinstance(self.gbce_t, (int, float, np.number))
            or not 0.0 <= self.gbce_t <= 1.0
        ):
            raise ValueError(f"gbce_t must be a number in [0, 1], got {self.gbce_t!r}")
        if self.loss != "softmax":
            self._check_integer("n_negatives", 1)
        if (
            self.item_embeddings is not None
            and not self.freeze_text
            and self.reduction not in REDUCTIONS
        ):
            raise ValueError(
                f"reduction must be one of {REDUCTIONS} when item_embeddings is set, got {self.reduction!r}"
            )
        for name in ("emb_dim", "max_prompt_items", "epochs", "batch_size"):
            self._check_integer(name, 1)
        if self.val_split not in ("random", "temporal"):
            raise ValueError(f"val_split must be 'random' or 'temporal', got {self.val_split!r}")
        if self.dual_view and self.item_embeddings is None:
            raise ValueError("dual_view needs item_embeddings (item text vectors)")
        if self.dual_view and self.freeze_text:
            raise ValueError("dual_view and freeze_text are alternatives; set one of them")
        self._check_number("dropout", 0, high=1)
        self._check_choice("head", HEADS)
        self._check_integer("warmup_steps", 0)
        self._check_integer("val_smoothing", 1)
        if self.ema_decay is not None:
            self._check_number("ema_decay", 0, low_open=True, high=1)
        self._check_choice("lr_decay", LR_DECAYS)
        examples = getattr(self, "training_examples", "positions")
        if examples not in TRAINING_EXAMPLES:
            raise ValueError(
                f"training_examples must be one of {TRAINING_EXAMPLES}, got {examples!r}"
            )

    # ------------------------------------------------------------------ item table
    def _item_embedding(self, item_metadata: pd.DataFrame | None, generator) -> torch.nn.Module:
        n_items = len(self.item_index_)
        self.emb_dim_ = self.emb_dim
        if self.item_embeddings is None:
            return ItemEmbedding(n_items, self.emb_dim, generator=generator, init=self.item_init)
        # freeze_text keeps the full text vectors behind a trainable projection; otherwise
        # they are reduced to emb_dim, not normalised (as the paper); LDA may cap the width.
        # dual_view keeps both: the full vectors behind an adapter, the reduced ones as ids.
        keep_full = self.freeze_text or self.dual_view
        X, width = item_embedding_matrix(
            self.item_embeddings,
            self.item_index_.ids,
            item_metadata,
            item_table=self._fit_item_table,
            permute=self.permute_embeddings,  # the paper's control: same vectors, wrong items
            reduction=None if keep_full else self.reduction,
            n_components=self.emb_dim,
            class_column=self.class_column,
            random_state=self.random_state,
        )  # (n_items, width)
        if self.freeze_text:
            X = torch.from_numpy(np.ascontiguousarray(X))
            return ProjectedTextEmbedding(X, self.emb_dim, generator=generator)
        if self.dual_view:
            reduced, width = reduce_item_vectors(
                X, self.reduction, self.emb_dim, item_metadata, self.class_column, self.random_state
            )  # (n_items, width)
            self.emb_dim_ = width
            return DualViewEmbedding(
                torch.from_numpy(np.ascontiguousarray(X)),
                torch.from_numpy(np.ascontiguousarray(reduced, dtype=np.float32)),
                generator=generator,
            )
        self.emb_dim_ = width
        X = torch.from_numpy(np.ascontiguousarray(X))
        return ItemEmbedding(n_items, width, X, generator=generator)

    # ------------------------------------------------------------------ training data
    def _next_item_arrays(self, sequences):
        """Inputs and shifted targets (n, T) of the training examples (T = max_prompt_items).

        ``"positions"``: each session's last T + 1 items; ``"windows"``: windows of T + 1
        items tiling each session from its end, one item shared by neighbours, so that
        every item after a session's first is a target exactly once; ``"prefixes"``: one
        example per prefix, its last T items, the loss at the last position only.
        """
        T = self.max_prompt_items
        examples = getattr(self, "training_examples", "positions")
        if examples == "prefixes":
            # One example per prefix: its last T items, the loss at the last position only.
            prompts = [s[max(0, t - T) : t] for s in sequences for t in range(1, len(s))]
            inputs = pad_left(prompts, T)
            targets = np.zeros_like(inputs)
            targets[:, -1] = [s[t] for s in sequences for t in range(1, len(s))]
            return inputs, targets
        # Window ends from each session's end, T apart; "positions" keeps only the first.
        n_windows = None if examples == "windows" else 1
        windows = [
            s[max(0, end - T - 1) : end]
            for s in sequences
            for end in range(len(s), 1, -T)[:n_windows]
        ]
        return pad_left([w[:-1] for w in windows], T), pad_left([w[1:] for w in windows], T)

    def _training_batches(self, sequences, generator, device):
        inputs, targets = self._next_item_arrays(sequences)
        inputs, targets = torch.from_numpy(inputs), torch.from_numpy(targets)
        self._n_training_sequences = len(inputs)

        def batches(epoch):
            order = torch.randperm(len(inputs), generator=generator)
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                yield inputs[idx].to(device), targets[idx].to(device)

        return batches

    def _prompt_inputs(self, sequences) -> np.ndarray:
        """Model input for scoring the next item of each prompt, (n, max_prompt_items)."""
        return pad_left(sequences, self.max_prompt_items)

    def _loss(self, module, batch, generator, log_q=None):
        inputs, targets = batch
        hidden = module(inputs)  # (B, T, H)
        where = targets != 0
        query = module.head.project(hidden[where])  # (N, D)
        items = module.item_embedding.item_matrix()  # (n_items, D)
        if self.loss == "softmax":
            return full_softmax_loss(query, targets[where], items, module.head.bias)
        if self.loss == "gbce":
            return gbce_loss(
                query,
                targets[where],
                items,
                module.head.bias,
                self.n_negatives,
                self.gbce_t,
                generator,
            )
        return sampled_softmax_loss(
            query, targets[where], items, module.head.bias, self.n_negatives, generator,
            log_q=log_q,
        )  # fmt: skip

    # ------------------------------------------------------------------ fit
    def _fit(self, sequences, item_metadata) -> None:
        self._check_params()
        device = resolve_device(self.device)
        init_distributed_from_env(device)  # under torchrun: train data-parallel
        # Layers draw their default initialisation from torch's global RNG before ours
        # overwrites it: fork that RNG, so fit never touches the caller's random state.
        seed = int(check_random_state(self.random_state).integers(2**31))
        with seeded_torch_rng(seed, device):
            self._fit_on(sequences, item_metadata, device)

    def _fit_on(self, sequences, item_metadata, device) -> None:
        if not any(len(s) >= 2 for s in sequences):
            raise ValueError(
                f"{type(self).__name__} learns from sessions of two or more items (an item and "
                f"the next); none of the {len(sequences)} training sessions has two"
            )
        single = sum(len(s) < 2 for s in sequences)
        if single:
            warnings.warn(
                f"{single} of {len(sequences)} training sessions hold a single item: "
                f"{type(self).__name__} cannot learn a next item from them and leaves them out",
                UserWarning,
                stacklevel=4,
            )
        self.device_ = device
        module_gen = torch_generator(check_random_state(self.random_state).integers(2**31))
        item_embedding = self._item_embedding(item_metadata, module_gen)
        if hasattr(self, "n_heads") and self.emb_dim_ % self.n_heads:
            raise ValueError(
                f"the item vectors were reduced to {self.emb_dim_} dimensions (asked: "
                f"{self.emb_dim}; {self.reduction} caps it), which {self.n_heads} heads cannot "
                "share: set n_heads to a divisor of it (e.g. 1) or give more items / classes"
            )
        module = self._build_encoder(len(self.item_index_), item_embedding, module_gen).to(device)
        initial = copy.deepcopy(module) if self.refit else None  # the refit restarts from here
        train_seqs, validate = self._inner_validation(sequences)
        self.history_ = self._train(module, train_seqs, validate, self.epochs, device)
        self.refit_history_ = None
        if initial is not None and validate is not None:
            # Same initial weights and seeds, every training session, the chosen epoch count.
            module = initial
            epochs = max(1, self.history_.best_epoch)
            self.refit_history_ = self._train(module, sequences, None, epochs, device)
        self.module_ = module

    def _inner_validation(self, sequences):
        """Split off the inner-validation sessions: (training sequences, validate or None)."""
        eligible = [i for i, s in enumerate(sequences) if len(s) >= 2]
        if not (self.val_frac and self.patience and len(eligible) >= 10):
            return sequences, None
        times = getattr(self, "_fit_session_times", None)
        _, val_pos = inner_validation_split(
            len(eligible),
            self.val_frac,
            self.val_max_sessions,
            check_random_state(self.random_state),
            strategy=self.val_split,
            times=None if times is None else np.asarray(times)[eligible],
        )
        val_idx = {eligible[i] for i in val_pos}
        train_seqs = [s for i, s in enumerate(sequences) if i not in val_idx]
        val_seqs = [sequences[i] for i in sorted(val_idx)]
        prompts, targets = [s[:-1] for s in val_seqs], np.array([s[-1] for s in val_seqs])

        seen = _CallFilters(prompts, None, None)  # the prompts' own items are masked
        n_items = len(self.item_index_)
        width = max(1, self._max_scores_in_memory // len(prompts))

        def validate(mod):  # top-20 in catalogue chunks: memory bounded as in predict
            scorer = self._module_chunk_scorer(mod, prompts)
            values, columns = chunked_topk(
                scorer, n_items, width, min(20, n_items), lambda s, c0: seen.mask(s, 0, c0)
            )
            codes = np.where(np.isneginf(values.cpu().numpy()), PAD, columns.cpu().numpy() + 1)
            return ndcg_at_k(codes, targets, 20)

        return train_seqs, validate

    def _train(self, module, sequences, validate, epochs, device):
        """One training run from fresh seeded generators (shuffling, masking, dropout)."""
        gen = torch_generator(self.random_state)  # shuffling, masking, negatives (CPU)
        dropout_gen = torch.Generator(device=device)
        dropout_gen.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
        for m in module.modules():
            if hasattr(m, "generator"):
                m.generator = dropout_gen
        mp = (
            self.mixed_precision == "auto"
            and device.startswith("cuda")
            or self.mixed_precision is True
        )
        batches = self._training_batches(sequences, gen, device)  # sets _n_training_sequences
        log_q = None
        if self.loss == "sampled_softmax" and self.negative_sampling == "popularity":
            # Sampling distribution: each item's count in the training sessions after their
            # first item, +1 so that every item can be drawn; kept on the CPU, where the
            # negatives are drawn (no device sync per batch).
            counts = (
                np.bincount(
                    np.concatenate([s[1:] for s in sequences if len(s) >= 2]) - 1,
                    minlength=len(self.item_index_),
                )
                + 1.0
            )
            log_q = torch.from_numpy(np.log(counts / counts.sum())).float()
        steps_per_epoch = max(1, -(-self._n_training_sequences // self.batch_size))
        config = TrainConfig(
            epochs=epochs, lr=self.learning_rate, weight_decay=self.weight_decay, clip_norm=self.clip_norm,
            patience=self.patience or epochs, device=device, mixed_precision=mp,
            show_progress=self.show_progress,
            desc=type(self).__name__ + (" (refit)" if validate is None and self.refit else ""),
            warmup_steps=int(self.warmup_steps), lr_decay=self.lr_decay,
            batch_weight=lambda b: float((b[1] != 0).sum()),  # the loss: a mean over targets
            val_smoothing=int(self.val_smoothing), ema_decay=self.ema_decay,
            total_steps=self.epochs * steps_per_epoch,  # a refit keeps the first run's schedule
            decay_to_init=self._item_table_names(module) if self.decay_to_init else (),
            no_decay=() if self.decay_text_adapter else self._text_adapter_names(module),
            lr_scales=dict.fromkeys(self._item_table_names(module), float(self.item_lr_scale)),
        )  # fmt: skip
        history = train_module(
            module, batches, lambda mod, b: self._loss(mod, b, gen, log_q), validate, config
        )
        history.sequences_per_epoch = self._n_training_sequences
        return history

    # ------------------------------------------------------------------ scoring
    def _score(self, sequences) -> np.ndarray:
        if not len(sequences):
            return np.zeros((0, len(self.item_index_)), dtype=np.float32)
        scores = self._chunk_scorer(sequences)
        return scores(0, len(self.item_index_)).float().cpu().numpy()

    _scores_in_chunks = True
    #: Whether the module's last hidden state ignores left padding exactly (attention that
    #: never reads padding, positions independent of the input width): scoring then cuts
    #: each slab of length-sorted prompts to its longest prompt instead of the full width.
    _padding_invariant = False

    def _chunk_scorer(self, sequences):
        return self._module_chunk_scorer(self.module_, sequences)

    def _module_chunk_scorer(self, module, sequences):
        """Scores are ``project(hidden) @ item_matrix.T + bias``: the session queries are
        computed once, each catalogue chunk's scores on demand (:meth:`_score` is the
        whole catalogue as one chunk)."""
        module.eval()
        inputs = self._prompt_inputs(sequences)  # (b, T), left-padded
        lengths = (inputs != 0).sum(axis=1)
        order = np.arange(len(inputs))
        if self._padding_invariant:  # shortest prompts together, each slab cut to its longest
            order = np.argsort(lengths, kind="stable")
        parts = []
        with torch.no_grad():
            for s in range(0, len(inputs), 512):
                rows = inputs[order[s : s + 512]]
                if self._padding_invariant:
                    rows = rows[:, -max(1, int(lengths[order[s : s + 512]].max())) :]
                hidden = module(torch.from_numpy(rows).to(self.device_))[:, -1]
                parts.append(module.head.project(hidden))
            queries = torch.cat(parts)  # (b, dim), in `order`
            if self._padding_invariant:
                queries = queries[torch.from_numpy(np.argsort(order)).to(queries.device)]
            items = module.item_embedding.item_matrix()  # (n_items, dim)
        bias = module.head.bias

        def scores(c0: int, c1: int) -> torch.Tensor:
            # In 512-row slabs, written in place: the chunk's scores are the only
            # (b, c1 - c0) block held.
            out = torch.empty((len(queries), c1 - c0), dtype=queries.dtype, device=queries.device)
            with torch.no_grad():
                for s in range(0, len(queries), 512):
                    torch.matmul(queries[s : s + 512], items[c0:c1].T, out=out[s : s + 512])
                    out[s : s + 512] += bias[c0:c1]
            return out

        return scores

    # ------------------------------------------------------------------ persistence
    def _get_state(self):
        refit = getattr(self, "refit_history_", None)
        return {}, {
            "emb_dim_": int(self.emb_dim_),
            "history": self.history_.to_json(),
            "refit_history": None if refit is None else refit.to_json(),
        }

    def _set_state(self, arrays, extra):
        self.emb_dim_ = extra["emb_dim_"]
        from ..training import TrainHistory

        self.history_ = TrainHistory(**extra["history"])
        refit = extra.get("refit_history")  # absent in models saved without the refit option
        self.refit_history_ = None if refit is None else TrainHistory(**refit)

    def plot_history(self, ax=None):
        """Training loss and inner-validation NDCG@20 per epoch, the kept epoch marked
        (needs matplotlib); ``history_.to_frame()`` gives the same as a table.

        Returns
        -------
        matplotlib.figure.Figure
        """
        self._check_fitted()
        from ..training import plot_history

        return plot_history(self.history_, ax=ax)

    def _save_files(self, path) -> None:
        from safetensors.torch import save_file

        state = {k: v.detach().cpu().contiguous() for k, v in self.module_.state_dict().items()}
        save_file(state, str(path / _WEIGHTS))

    def _load_files(self, path) -> None:
        from safetensors.torch import load_file

        state = load_file(str(path / _WEIGHTS))
        for key, tensor in state.items():  # trained weights are finite; damage may not be
            if tensor.is_floating_point() and not torch.isfinite(tensor).all():
                raise SavedModelError(
                    f"{path / _WEIGHTS}: tensor {key!r} holds NaN or infinite values; the "
                    "file is corrupt"
                )
        n_items = len(self.item_index_)
        if "item_embedding.adapter.weight" in state:
            embedding = DualViewEmbedding(
                torch.zeros_like(state["item_embedding.text"]),
                torch.zeros(n_items, self.emb_dim_),
            )
        elif "item_embedding.text" in state:
            embedding = ProjectedTextEmbedding(
                torch.zeros_like(state["item_embedding.text"]), self.emb_dim_
            )
        else:
            embedding = ItemEmbedding(n_items, self.emb_dim_)
        self.device_ = resolve_device(self.device)
        module = self._build_encoder(n_items, embedding, None)
        module.load_state_dict(state, strict=True)  # names any missing/unexpected key
        self.module_ = module.to(self.device_).eval()
