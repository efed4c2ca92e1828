"""SASRec, BERT4Rec and GRU4Rec recommenders, and their LLM-initialised versions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import torch

from .. import nn as lnn
from ._neural import NeuralSequentialRecommender, pad_left

if TYPE_CHECKING:
    from ..text._vectors import ItemEmbeddingsLike

__all__ = ["SASRec", "BERT4Rec", "GRU4Rec", "LLM2SASRec", "LLM2BERT4Rec", "LLM2GRU4Rec"]

_COMMON_DOC = """
    emb_dim : int
        Width of the item embeddings (and of the model). With LLM initialisation it is
        also the reduction target (LDA may cap it at n_classes - 1).
    max_prompt_items : int, default=20
        The model sees the last ``max_prompt_items`` items of a session, in training and
        prediction; also its number of positions (the paper's ``max_len``: 20).
    dropout : float
    epochs : int, default={epochs}
        Maximum epochs; training stops earlier on the inner-validation NDCG@20.
    batch_size : int, default={batch_size}
    learning_rate : float, default={learning_rate}
    warmup_steps : int, default=0
        Optimizer steps over which the learning rate rises linearly to ``learning_rate``
        (:func:`llmseqrec.training.lr_factor`).
    lr_decay : {{"none", "cosine", "linear"}}, default="none"
        After warmup, keep the learning rate, or decay it to 0 over ``epochs`` (cosine or
        linear); with early stopping the decay is cut where training stops.
    weight_decay : float, default={weight_decay}
        AdamW weight decay (not applied to biases and LayerNorms).
    decay_to_init : bool, default=False
        Weight decay pulls the item table toward its initial rows instead of toward zero
        (L2-SP, Li et al., ICML 2018). With a text-initialised table (the LLM2 models)
        the decay then keeps what the text says about items that training rarely
        reaches, instead of erasing it: AdamW shrinks every row by ``1 - lr *
        weight_decay`` per step, e.g. to 4% of its start after 4,900 steps at lr 0.0072
        and weight decay 0.089. No effect without ``weight_decay``, nor with
        ``freeze_text`` (no trainable item table); with ``dual_view`` it anchors the id
        rows, and the adapter decays toward zero.
    item_lr_scale : float, default=1.0
        The trainable item table's learning rate as a multiple of ``learning_rate`` (its
        weight decay, decoupled as AdamW's, scales alike). Adam moves every row that gets
        a gradient by about the learning rate per step whatever the gradient's size, and
        through the tied head every row gets one at every step, so at a large
        ``learning_rate`` and many steps an epoch the rows the text put there are soon
        overwritten; a scale below 1 lets the rest of the model learn at full speed while
        the table moves slowly. With ``dual_view`` it scales the id rows, not the adapter;
        no effect with ``freeze_text`` (no trainable item table).
    clip_norm : float or None, default=None
        Gradient-norm clipping.
    patience : int, default={patience}
        Epochs without improvement of the inner-validation NDCG@20 before stopping; the
        best epoch's weights are restored. ``0``/``None`` trains all ``epochs``.
    val_smoothing : int, default=1
        Early stopping reads the mean of the last ``val_smoothing`` epochs' inner-validation
        NDCG@20 (fewer in the first epochs) instead of the last epoch's alone, and keeps the
        weights of the last epoch of the best window; ``1`` = the raw score. On a few
        hundred held-out sessions the score moves by about its standard error from epoch
        to epoch, so a window of 3 damps single-epoch spikes and dips.
    ema_decay : float or None, default=None
        Beyond the paper: keep an exponential moving average of the weights, updated after
        every optimizer step with this decay (e.g. ``0.99`` averages about the last 100
        steps); inner validation, early stopping and the fitted model use the average.
        ``None`` keeps the last step's weights.
    val_frac : float, default=0.1
    val_max_sessions : int, default=500
        Inner validation = min(ceil(val_frac * n), val_max_sessions) training sessions,
        removed from training (the paper's rule).
    val_split : {{"random", "temporal"}}, default="random"
        Which sessions form the inner validation: drawn at random (the paper), or the
        latest ones, like the test split (by each session's largest timestamp when ``fit``
        gets a DataFrame with a time column, else the last sessions in the given order).
    refit : bool, default=False
        Beyond the paper: after early stopping has chosen the number of epochs, train the
        model again from the same initial weights and seeds on *all* training sessions (the
        inner-validation ones included) for that many epochs, and keep that model. Costs
        about one more fit; gives the model the held-out sessions back, which matters most
        with ``val_split="temporal"`` (the latest sessions). No effect without early stopping.
    loss : {{"softmax", "sampled_softmax", "gbce"}}, default="softmax"
        Full-catalogue cross-entropy; sampled softmax over the target and ``n_negatives``
        negatives shared by the batch (:func:`llmseqrec.nn.sampled_softmax_loss`, for very
        large catalogues); or gSASRec's generalised binary cross-entropy over as many
        uniform negatives (:func:`llmseqrec.nn.gbce_loss`).
    n_negatives : int, default=256
    negative_sampling : {{"uniform", "popularity"}}, default="uniform"
        How ``loss="sampled_softmax"`` draws its negatives: uniformly, or in proportion to
        each item's count in the training sessions (after their first item, plus one), with
        the logQ correction of the negatives' logits.
    gbce_t : float, default=0.75
        gBCE's calibration in [0, 1] (0 = plain binary cross-entropy).
    head : {{"projection", "linear", "dot"}}, default="{head}"
        How hidden states score items (:func:`llmseqrec.nn.make_head`): the paper's
        reference code (a dense layer with the model's activation, then the tied item
        table plus a per-item bias), the same without the activation, or a plain dot
        product with the tied item table (the original SASRec, RecBole). The ReLU of
        ``"projection"`` keeps every query in the positive orthant; on Beauty a vanilla
        SASRec gains from ``"linear"``/``"dot"`` (docs/benchmarks/sequential.md).
    item_init : {{"xavier", "normal"}}, default="xavier"
        How a random item table (``item_embeddings=None``) is drawn: Xavier-uniform, or
        N(0, 0.02) as RecBole draws every embedding (its ``initializer_range``). Text
        vectors, where given, replace it.
    item_embeddings : None, "default", ItemTextEncoder, mapping, DataFrame, array or path
        LLM initialisation: ``None`` = no text vectors, a random table (vanilla model);
        otherwise item text vectors (any form of
        :func:`llmseqrec.text.item_embedding_matrix`; ``"default"`` = the offline
        all-MiniLM-L6-v2 encoder over titles) reduced to ``emb_dim`` with ``reduction``
        initialise the item table and so the tied output layer, which then train normally.
    reduction : {{"pca", "lda", "random", "autoencoder"}}, default="pca"
    class_column : str, optional
        Item-metadata column of classes for ``reduction="lda"``.
    freeze_text : bool, default=False
        Beyond the paper: keep the text vectors frozen behind a trainable projection, so
        items never seen in training are scored from their text (the catalogue then holds
        every item of ``item_metadata``).
    dual_view : bool, default=False
        Beyond the paper (the two views of LLM-ESR, NeurIPS 2024, fused by a sum): each
        item is its trainable id row, initialised from the reduced text vectors as above,
        plus a trainable linear adapter (starting at zero) of its frozen full text vector
        (:class:`llmseqrec.nn.DualViewEmbedding`). Needs ``item_embeddings``; an
        alternative to ``freeze_text``.
    decay_text_adapter : bool, default=True
        Whether ``weight_decay`` shrinks the dual view's text adapter toward zero like the
        other weights. ``False`` leaves it out of the decay, as biases and LayerNorms are:
        at a large ``learning_rate * weight_decay`` the decay otherwise closes the text
        path the dual view adds (measured at GRU4Rec's defaults in
        docs/benchmarks/sequential.md). No effect without ``dual_view``.
    permute_embeddings : bool, default=False
        The paper's control: shuffle the text vectors across items before use.
    device : str, optional
        ``"cuda"`` when available, else ``"cpu"``.
    mixed_precision : {{"auto", True, False}}, default="auto"
        Training under autocast. ``"auto"``: on CUDA (bf16 where supported, else fp16).
        ``True`` also on a CPU that multiplies bf16 natively (AVX512-BF16 or AMX;
        :func:`llmseqrec.training.cpu_has_native_bf16`), where the matrix products run
        in bf16 (measured in docs/benchmarks/speed.md); elsewhere ``True`` is float32.
    show_progress : bool, default=True
    exclude_seen : bool, default=True
    handle_unknown : {{"ignore", "error"}}, default="ignore"
    random_state : int, optional
        Seeds initialisation, shuffling, masking, dropout and negatives.

    Attributes
    ----------
    module_ : torch.nn.Module
    history_ : TrainHistory
        Per-epoch loss, validation NDCG@20 and seconds; ``best_epoch``. With ``refit``,
        the early-stopping run that chose the epoch count.
    refit_history_ : TrainHistory or None
        The refit on all sessions (``refit=True`` with early stopping), else ``None``.
"""


class SASRec(NeuralSequentialRecommender):
    __doc__ = """SASRec: causal self-attention with learned positions, trained by full-softmax
    cross-entropy at every position.

    The defaults are the strong recipe validated on Beauty (issue 23,
    docs/benchmarks/sequential.md): post-LayerNorm blocks with a GELU feed-forward of width
    4x, N(0, 0.02) initialisation, positions counted from the prompt's first item, a dot
    product with the tied item table, 2 heads, batch 256, up to 40 epochs with patience 10.
    The paper's reference code is ``n_heads=1, batch_size=128, epochs=50, patience=3,
    head="projection", position_origin="last", block="pre_ln", ffn_scale=1,
    activation="relu", init="xavier"`` (the defaults of llmseqrec 0.1).

    Parameters
    ----------
    n_layers : int, default=2
    n_heads : int, default=2
    training_examples : {"positions", "windows", "prefixes"}, default="positions"
        ``"positions"``: one example per session, its last ``max_prompt_items + 1`` items,
        the loss at every position (the paper's reference code); the earlier items of a
        longer session are never targets (5% of Beauty's P1 training targets at 20).
        ``"windows"``: the same examples plus, for a longer session, windows of
        ``max_prompt_items + 1`` items tiling the rest of it (neighbours share one item),
        so every target of every session is trained once an epoch. ``"prefixes"``: one
        example per prefix of each session, the loss at its last position only (RecBole);
        every target too, in about as many more optimizer steps per epoch as sessions are
        long.
    position_origin : {"last", "first"}, default="first"
        Where the learned positions count from: the prompt's most recent item (the
        reference code: it always sits at the last position) or its first item (RecBole,
        :meth:`llmseqrec.nn.SASRec.position_ids`). With ``"first"``, the state after ``t``
        items inside a training example is the state that scores a ``t``-item prompt, so
        ``training_examples="positions"`` or ``"windows"`` trains every target exactly as
        it is scored.
    block : {"pre_ln", "post_ln", "ligr"}, default="post_ln"
        The transformer block (:class:`llmseqrec.nn.SASRec`): pre-LayerNorm with a final
        LayerNorm (the reference code); post-LayerNorm with a LayerNorm on the input
        embedding (RecBole); or gated pre-LN blocks (LiGR, as eSASRec), whose residual
        branches pass through learned sigmoid gates.
    ffn_scale : int, default=4
        Feed-forward width as a multiple of ``emb_dim`` (the reference code: 1; RecBole and
        eSASRec: 4).
    activation : {"relu", "gelu", "swiglu"}, default="gelu"
        Feed-forward activation (and the ``"projection"`` head's, ReLU for ``"swiglu"``).
    init : {"xavier", "normal"}, default="normal"
        Xavier-uniform blocks and head (the reference code), or N(0, 0.02) for every
        Linear and the position table (RecBole, BERT). A random item table follows
        ``item_init`` (RecBole draws it from N(0, 0.02) too: ``item_init="normal"``).
    attention_dropout : float, default=0.0
        Dropout on the attention probabilities in training (the original SASRec and
        RecBole use ``dropout``'s rate; the paper's reference code none). ``dropout``
        covers the embeddings and each block's two residual branches.""" + _COMMON_DOC.format(
        epochs=40, batch_size=256, learning_rate="1e-3", weight_decay="0.0", patience=10, head="dot"
    )

    def __init__(
        self, n_layers: int = 2, n_heads: int = 2, emb_dim: int = 64, max_prompt_items: int = 20, dropout: float = 0.2, attention_dropout: float = 0.0, epochs: int = 40, batch_size: int = 256, learning_rate: float = 1e-3,
        warmup_steps: int = 0, lr_decay: Literal["none", "cosine", "linear"] = "none", weight_decay: float = 0.0, decay_to_init: bool = False, item_lr_scale: float = 1.0, clip_norm: float | None = None, patience: int | None = 10, val_smoothing: int = 1, ema_decay: float | None = None, val_frac: float = 0.1, val_max_sessions: int | None = 500, val_split: Literal["random", "temporal"] = "random", refit: bool = False, loss: Literal["softmax", "sampled_softmax", "gbce"] = "softmax", n_negatives: int = 256, negative_sampling: Literal["uniform", "popularity"] = "uniform", gbce_t: float = 0.75, head: Literal["projection", "linear", "dot"] = "dot", training_examples: Literal["positions", "windows", "prefixes"] = "positions",
        position_origin: Literal["last", "first"] = "first", block: Literal["pre_ln", "post_ln", "ligr"] = "post_ln", ffn_scale: int = 4, activation: Literal["relu", "gelu", "swiglu"] = "gelu", init: Literal["xavier", "normal"] = "normal", item_init: Literal["xavier", "normal"] = "xavier", item_embeddings: ItemEmbeddingsLike | None = None, reduction: Literal["pca", "lda", "random", "autoencoder"] = "pca", class_column: str | None = None, freeze_text: bool = False, dual_view: bool = False, decay_text_adapter: bool = True, permute_embeddings: bool = False, device: str | None = None,
        mixed_precision: bool | Literal["auto"] = "auto", show_progress: bool = True, exclude_seen: bool = True, handle_unknown: Literal["ignore", "error"] = "ignore", random_state: int | np.random.Generator | np.random.RandomState | None = None, **deprecated: object,
    ) -> None:  # fmt: skip
        self._store(locals())

    # Parameters added after 0.1 whose default no longer reproduces the behaviour from before
    # they existed (read by the benchmark runner to tell stale run files).
    # Parameters whose default changed in issue 23 (run records written before then omit
    # them when they were at the old default).
    _changed_defaults = (
        "n_heads", "batch_size", "epochs", "patience", "head", "position_origin", "block",
        "ffn_scale", "activation", "init",
    )  # fmt: skip
    # Causal attention never reads padding and positions do not depend on the input width.
    _padding_invariant = True

    _value_before_added = {
        "head": "projection",
        "position_origin": "last",
        "block": "pre_ln",
        "ffn_scale": 1,
        "activation": "relu",
        "init": "xavier",
    }

    @classmethod
    def _testing_instances(cls):
        small = dict(
            emb_dim=16,
            n_heads=2,
            n_layers=1,
            epochs=8,
            batch_size=64,
            learning_rate=1e-2,
            dropout=0.1,
            show_progress=False,
        )
        return [
            cls(**small),
            cls(**small, head="dot", training_examples="prefixes", attention_dropout=0.1),
            cls(**small, position_origin="first", block="ligr", activation="swiglu", ffn_scale=2,
                training_examples="windows", max_prompt_items=4),
            # the paper's reference code (the defaults of 0.1)
            cls(**small, head="projection", position_origin="last", block="pre_ln",
                ffn_scale=1, activation="relu", init="xavier"),
        ]  # fmt: skip

    def _check_params(self):
        super()._check_params()
        if self.position_origin not in ("last", "first"):
            raise ValueError(
                f"position_origin must be 'last' or 'first', got {self.position_origin!r}"
            )
        self._check_choice("block", lnn.BLOCKS)
        self._check_choice("activation", lnn.ACTIVATIONS)
        self._check_choice("init", lnn.INITS)
        self._check_integer("ffn_scale", 1)
        self._check_number("attention_dropout", 0, high=1)

    def _build_encoder(self, n_items, item_embedding, generator):
        config = lnn.SASRecConfig(
            n_items,
            self.emb_dim_,
            self.n_layers,
            self.n_heads,
            self.max_prompt_items,
            self.dropout,
            head=self.head,
            position_origin=self.position_origin,
            block=self.block,
            init=self.init,
            ffn_scale=self.ffn_scale,
            activation=self.activation,
            attention_dropout=self.attention_dropout,
        )
        return lnn.SASRec(config, item_embedding, generator)


class BERT4Rec(NeuralSequentialRecommender):
    __doc__ = """BERT4Rec: a post-LayerNorm bidirectional encoder trained by masked-item prediction.

    Each epoch every training session yields one copy with only its last item masked
    (``last_item_copy``) and ``n_masked_copies`` copies with each item masked with
    probability ``mask_prob`` (the reference code's augmentation); the loss covers masked
    positions. Prediction appends a MASK token to the prompt.

    Parameters
    ----------
    n_layers : int, default=2
    n_heads : int, default=2
    mask_prob : float, default=0.2
    n_masked_copies : int, default=5
        (The reference code used 10.)
    last_item_copy : bool, default=True
        Add the copy with only the last item masked (as BERT4Rec's paper and the reference
        code). ``False`` with ``n_masked_copies=1`` is plain one-copy masked training.
    embedding_norm : bool, default=True
        LayerNorm on the summed item and position embeddings, as in BERT4Rec's paper.
        The paper's reference code has none (``False``).
    embedding_dropout : bool, default=True
        Dropout (rate ``dropout``) on the summed embeddings, as in BERT4Rec's paper. The
        reference code has none (``False``); dropout inside the blocks is unaffected.""" + _COMMON_DOC.format(
        epochs=50,
        batch_size=128,
        learning_rate="1e-3",
        weight_decay="0.0",
        patience=3,
        head="projection",
    )

    def __init__(
        self, n_layers: int = 2, n_heads: int = 2, mask_prob: float = 0.2, n_masked_copies: int = 5, last_item_copy: bool = True, embedding_norm: bool = True,
        embedding_dropout: bool = True, emb_dim: int = 64, max_prompt_items: int = 20, dropout: float = 0.2, epochs: int = 50,
        batch_size: int = 128, learning_rate: float = 1e-3, warmup_steps: int = 0, lr_decay: Literal["none", "cosine", "linear"] = "none", weight_decay: float = 0.0, decay_to_init: bool = False, item_lr_scale: float = 1.0, clip_norm: float | None = None, patience: int | None = 3, val_smoothing: int = 1, ema_decay: float | None = None, val_frac: float = 0.1, val_max_sessions: int | None = 500, val_split: Literal["random", "temporal"] = "random", refit: bool = False,
        loss: Literal["softmax", "sampled_softmax", "gbce"] = "softmax", n_negatives: int = 256, negative_sampling: Literal["uniform", "popularity"] = "uniform", gbce_t: float = 0.75, head: Literal["projection", "linear", "dot"] = "projection", item_init: Literal["xavier", "normal"] = "xavier", item_embeddings: ItemEmbeddingsLike | None = None, reduction: Literal["pca", "lda", "random", "autoencoder"] = "pca", class_column: str | None = None, freeze_text: bool = False, dual_view: bool = False, decay_text_adapter: bool = True,
        permute_embeddings: bool = False, device: str | None = None, mixed_precision: bool | Literal["auto"] = "auto", show_progress: bool = True, exclude_seen: bool = True,
        handle_unknown: Literal["ignore", "error"] = "ignore", random_state: int | np.random.Generator | np.random.RandomState | None = None, **deprecated: object,
    ) -> None:  # fmt: skip
        self._store(locals())

    @classmethod
    def _testing_instances(cls):
        return [
            cls(
                emb_dim=16,
                n_heads=2,
                n_layers=1,
                epochs=8,
                batch_size=64,
                learning_rate=1e-2,
                dropout=0.1,
                mask_prob=0.3,
                n_masked_copies=2,
                show_progress=False,
            )
        ]

    def _build_encoder(self, n_items, item_embedding, generator):
        config = lnn.BERT4RecConfig(
            n_items,
            self.emb_dim_,
            self.n_layers,
            self.n_heads,
            self.max_prompt_items,
            self.dropout,
            embedding_norm=bool(self.embedding_norm),
            embedding_dropout=bool(self.embedding_dropout),
            head=self.head,
        )
        return lnn.BERT4Rec(config, item_embedding, generator)

    def _training_batches(self, sequences, generator, device):
        if not 0 < self.mask_prob < 1:
            raise ValueError(f"mask_prob must be in (0, 1), got {self.mask_prob}")
        base = torch.from_numpy(
            pad_left([s for s in sequences if len(s) >= 2], self.max_prompt_items)
        )  # (n, T)
        n_copies = int(bool(self.last_item_copy)) + self.n_masked_copies
        if isinstance(self.n_masked_copies, bool) or self.n_masked_copies < 0 or n_copies < 1:
            raise ValueError(
                "n_masked_copies must be a non-negative integer, and at least 1 when "
                f"last_item_copy is False; got {self.n_masked_copies!r}"
            )
        mask_id = len(self.item_index_) + 1
        self._n_training_sequences = len(base) * n_copies

        def batches(epoch):
            masks = []
            if self.last_item_copy:
                last = torch.zeros_like(base, dtype=torch.bool)
                last[:, -1] = True
                masks.append(last)
            for _ in range(self.n_masked_copies):
                m = (torch.rand(base.shape, generator=generator) < self.mask_prob) & (base != 0)
                m[~m.any(1), -1] = True  # every copy predicts at least one item
                masks.append(m)
            m = torch.cat(masks)  # (n * copies, T)
            data = base.repeat(len(masks), 1)
            inputs = torch.where(m, torch.full_like(data, mask_id), data)
            targets = torch.where(m, data, torch.zeros_like(data))
            order = torch.randperm(len(data), generator=generator)
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                yield inputs[idx].to(device), targets[idx].to(device)

        return batches

    def _prompt_inputs(self, sequences) -> np.ndarray:
        mask_id = len(self.item_index_) + 1
        return pad_left(
            [np.append(s[-(self.max_prompt_items - 1) :], mask_id) for s in sequences],
            self.max_prompt_items,
        )


class GRU4Rec(NeuralSequentialRecommender):
    __doc__ = """GRU4Rec: a GRU over whole (truncated) sessions, a head scoring against the tied
    item table, and full-softmax cross-entropy over every position.

    The defaults are the configuration validated on Beauty's folds (issue 23,
    docs/benchmarks/sequential.md): the paper's TORS optimum (item table 80, GRU 32,
    dropout 0.2, learning rate 0.0072, batch 32, weight decay 0.089) with the projection
    head's ReLU removed (``head="linear"``), up to 40 epochs with patience 3; on MovieLens
    100K it more than doubles NDCG@20 over the earlier defaults
    (docs/benchmarks/movielens.md). The defaults of llmseqrec 0.1 (the reference code's
    head) are ``hidden_dim=100, emb_dim=64, epochs=50, batch_size=128,
    learning_rate=1e-3, weight_decay=0.0, head="projection"``.

    Parameters
    ----------
    hidden_dim : int, default=32
    training_examples : {"positions", "windows", "prefixes"}, default="positions"
        One example per session (its last ``max_prompt_items + 1`` items) with the loss
        at every position, the same plus windows tiling the rest of longer sessions, or
        one example per prefix with the loss at its last position (see :class:`SASRec`).""" + _COMMON_DOC.format(
        epochs=40,
        batch_size=32,
        learning_rate="0.0072",
        weight_decay="0.089",
        patience=3,
        head="linear",
    )

    def __init__(
        self, hidden_dim: int = 32, emb_dim: int = 80, max_prompt_items: int = 20, dropout: float = 0.2, epochs: int = 40, batch_size: int = 32, learning_rate: float = 0.0072, warmup_steps: int = 0, lr_decay: Literal["none", "cosine", "linear"] = "none", weight_decay: float = 0.089, decay_to_init: bool = False, item_lr_scale: float = 1.0,
        clip_norm: float | None = None, patience: int | None = 3, val_smoothing: int = 1, ema_decay: float | None = None, val_frac: float = 0.1, val_max_sessions: int | None = 500, val_split: Literal["random", "temporal"] = "random", refit: bool = False, loss: Literal["softmax", "sampled_softmax", "gbce"] = "softmax", n_negatives: int = 256, negative_sampling: Literal["uniform", "popularity"] = "uniform", gbce_t: float = 0.75, head: Literal["projection", "linear", "dot"] = "linear", training_examples: Literal["positions", "windows", "prefixes"] = "positions",
        item_init: Literal["xavier", "normal"] = "xavier", item_embeddings: ItemEmbeddingsLike | None = None, reduction: Literal["pca", "lda", "random", "autoencoder"] = "pca", class_column: str | None = None, freeze_text: bool = False, dual_view: bool = False, decay_text_adapter: bool = True, permute_embeddings: bool = False, device: str | None = None,
        mixed_precision: bool | Literal["auto"] = "auto", show_progress: bool = True, exclude_seen: bool = True, handle_unknown: Literal["ignore", "error"] = "ignore", random_state: int | np.random.Generator | np.random.RandomState | None = None, **deprecated: object,
    ) -> None:  # fmt: skip
        self._store(locals())

    # The head runs and models saved by llmseqrec 0.1 had (the parameter came later).
    _value_before_added = {"head": "projection"}
    # Defaults changed in issue 23 (see the benchmark runner's _same_value).
    _changed_defaults = (
        "hidden_dim",
        "emb_dim",
        "epochs",
        "batch_size",
        "learning_rate",
        "weight_decay",
        "head",
    )

    @classmethod
    def _testing_instances(cls):
        return [
            cls(
                emb_dim=16,
                hidden_dim=32,
                epochs=10,
                batch_size=32,
                learning_rate=1e-2,
                dropout=0.0,
                show_progress=False,
            )
        ]

    def _build_encoder(self, n_items, item_embedding, generator):
        config = lnn.GRU4RecConfig(
            n_items,
            self.emb_dim_,
            self.hidden_dim,
            self.max_prompt_items,
            self.dropout,
            head=self.head,
        )
        return lnn.GRU4Rec(config, item_embedding, generator)


def _with_tfidf_text(instances: list) -> list:
    """The suite's small instances with TF-IDF item vectors (no neural text model)."""
    from ..text import ItemTextEncoder

    tfidf = ItemTextEncoder(
        backend="tfidf", dim=16, cache=False, random_state=0, show_progress=False
    )
    return [m.set_params(item_embeddings=tfidf, reduction="pca") for m in instances]


class LLM2SASRec(SASRec):
    """LLM2SASRec: SASRec whose item table starts from reduced item-text embeddings (paper §1.4).

    The parameters are :class:`SASRec`'s; only the default of ``item_embeddings`` differs:
    ``"default"``, the offline all-MiniLM-L6-v2 encoder over titles, reduced to ``emb_dim``
    with ``reduction`` (PCA). Any other form of item text vectors works too.
    """

    def __init__(
        self, n_layers: int = 2, n_heads: int = 2, emb_dim: int = 64, max_prompt_items: int = 20, dropout: float = 0.2, attention_dropout: float = 0.0, epochs: int = 40, batch_size: int = 256, learning_rate: float = 1e-3,
        warmup_steps: int = 0, lr_decay: Literal["none", "cosine", "linear"] = "none", weight_decay: float = 0.0, decay_to_init: bool = False, item_lr_scale: float = 1.0, clip_norm: float | None = None, patience: int | None = 10, val_smoothing: int = 1, ema_decay: float | None = None, val_frac: float = 0.1, val_max_sessions: int | None = 500, val_split: Literal["random", "temporal"] = "random", refit: bool = False, loss: Literal["softmax", "sampled_softmax", "gbce"] = "softmax", n_negatives: int = 256, negative_sampling: Literal["uniform", "popularity"] = "uniform", gbce_t: float = 0.75, head: Literal["projection", "linear", "dot"] = "dot", training_examples: Literal["positions", "windows", "prefixes"] = "positions",
        position_origin: Literal["last", "first"] = "first", block: Literal["pre_ln", "post_ln", "ligr"] = "post_ln", ffn_scale: int = 4, activation: Literal["relu", "gelu", "swiglu"] = "gelu", init: Literal["xavier", "normal"] = "normal", item_init: Literal["xavier", "normal"] = "xavier", item_embeddings: ItemEmbeddingsLike | None = "default", reduction: Literal["pca", "lda", "random", "autoencoder"] = "pca", class_column: str | None = None, freeze_text: bool = False, dual_view: bool = False, decay_text_adapter: bool = True, permute_embeddings: bool = False, device: str | None = None,
        mixed_precision: bool | Literal["auto"] = "auto", show_progress: bool = True, exclude_seen: bool = True, handle_unknown: Literal["ignore", "error"] = "ignore", random_state: int | np.random.Generator | np.random.RandomState | None = None, **deprecated: object,
    ) -> None:  # fmt: skip
        self._store(locals())

    @classmethod
    def _testing_instances(cls):
        # The block variants run in SASRec's suite; here the text paths: init and dual view.
        plain, prefixes = _with_tfidf_text(SASRec._testing_instances.__func__(cls)[:2])
        return [plain, prefixes.set_params(dual_view=True)]


class LLM2BERT4Rec(BERT4Rec):
    """LLM2BERT4Rec: BERT4Rec whose item table starts from reduced item-text embeddings (paper §1.4).

    The parameters are :class:`BERT4Rec`'s; only the default of ``item_embeddings`` differs:
    ``"default"``, the offline all-MiniLM-L6-v2 encoder over titles, reduced to ``emb_dim``
    with ``reduction`` (PCA). Any other form of item text vectors works too.
    """

    def __init__(
        self, n_layers: int = 2, n_heads: int = 2, mask_prob: float = 0.2, n_masked_copies: int = 5, last_item_copy: bool = True, embedding_norm: bool = True,
        embedding_dropout: bool = True, emb_dim: int = 64, max_prompt_items: int = 20, dropout: float = 0.2, epochs: int = 50,
        batch_size: int = 128, learning_rate: float = 1e-3, warmup_steps: int = 0, lr_decay: Literal["none", "cosine", "linear"] = "none", weight_decay: float = 0.0, decay_to_init: bool = False, item_lr_scale: float = 1.0, clip_norm: float | None = None, patience: int | None = 3, val_smoothing: int = 1, ema_decay: float | None = None, val_frac: float = 0.1, val_max_sessions: int | None = 500, val_split: Literal["random", "temporal"] = "random", refit: bool = False,
        loss: Literal["softmax", "sampled_softmax", "gbce"] = "softmax", n_negatives: int = 256, negative_sampling: Literal["uniform", "popularity"] = "uniform", gbce_t: float = 0.75, head: Literal["projection", "linear", "dot"] = "projection", item_init: Literal["xavier", "normal"] = "xavier", item_embeddings: ItemEmbeddingsLike | None = "default", reduction: Literal["pca", "lda", "random", "autoencoder"] = "pca", class_column: str | None = None, freeze_text: bool = False, dual_view: bool = False, decay_text_adapter: bool = True,
        permute_embeddings: bool = False, device: str | None = None, mixed_precision: bool | Literal["auto"] = "auto", show_progress: bool = True, exclude_seen: bool = True,
        handle_unknown: Literal["ignore", "error"] = "ignore", random_state: int | np.random.Generator | np.random.RandomState | None = None, **deprecated: object,
    ) -> None:  # fmt: skip
        self._store(locals())

    @classmethod
    def _testing_instances(cls):
        return _with_tfidf_text(BERT4Rec._testing_instances.__func__(cls))


class LLM2GRU4Rec(GRU4Rec):
    """LLM2GRU4Rec: GRU4Rec whose item table starts from reduced item-text embeddings (paper §1.4).

    The parameters are :class:`GRU4Rec`'s; only the default of ``item_embeddings`` differs:
    ``"default"``, the offline all-MiniLM-L6-v2 encoder over titles, reduced to ``emb_dim``
    with ``reduction`` (PCA). Any other form of item text vectors works too.
    """

    def __init__(
        self, hidden_dim: int = 32, emb_dim: int = 80, max_prompt_items: int = 20, dropout: float = 0.2, epochs: int = 40, batch_size: int = 32, learning_rate: float = 0.0072, warmup_steps: int = 0, lr_decay: Literal["none", "cosine", "linear"] = "none", weight_decay: float = 0.089, decay_to_init: bool = False, item_lr_scale: float = 1.0,
        clip_norm: float | None = None, patience: int | None = 3, val_smoothing: int = 1, ema_decay: float | None = None, val_frac: float = 0.1, val_max_sessions: int | None = 500, val_split: Literal["random", "temporal"] = "random", refit: bool = False, loss: Literal["softmax", "sampled_softmax", "gbce"] = "softmax", n_negatives: int = 256, negative_sampling: Literal["uniform", "popularity"] = "uniform", gbce_t: float = 0.75, head: Literal["projection", "linear", "dot"] = "linear", training_examples: Literal["positions", "windows", "prefixes"] = "positions",
        item_init: Literal["xavier", "normal"] = "xavier", item_embeddings: ItemEmbeddingsLike | None = "default", reduction: Literal["pca", "lda", "random", "autoencoder"] = "pca", class_column: str | None = None, freeze_text: bool = False, dual_view: bool = False, decay_text_adapter: bool = True, permute_embeddings: bool = False, device: str | None = None,
        mixed_precision: bool | Literal["auto"] = "auto", show_progress: bool = True, exclude_seen: bool = True, handle_unknown: Literal["ignore", "error"] = "ignore", random_state: int | np.random.Generator | np.random.RandomState | None = None, **deprecated: object,
    ) -> None:  # fmt: skip
        self._store(locals())

    @classmethod
    def _testing_instances(cls):
        return _with_tfidf_text(GRU4Rec._testing_instances.__func__(cls))
