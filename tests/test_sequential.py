import numpy as np
import pandas as pd
import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_pre_hook

import llmseqrec
from llmseqrec import nn as lnn
from llmseqrec.recommenders import BERT4Rec, GRU4Rec, LLM2SASRec, SASRec
from llmseqrec.recommenders._neural import pad_left
from llmseqrec.testing import synthetic_data
from llmseqrec.training import TrainConfig, lr_factor, train_module

N_ITEMS = 30


def _encoder(kind, dropout=0.0):
    gen = torch.Generator().manual_seed(0)
    emb = lnn.ItemEmbedding(N_ITEMS, 16, generator=gen)
    if kind == "sasrec":
        return lnn.SASRec(
            lnn.SASRecConfig(N_ITEMS, 16, 2, 2, max_len=8, dropout=dropout), emb, gen
        ).eval()
    if kind == "bert4rec":
        return lnn.BERT4Rec(
            lnn.BERT4RecConfig(N_ITEMS, 16, 2, 2, max_len=8, dropout=dropout), emb, gen
        ).eval()
    return lnn.GRU4Rec(
        lnn.GRU4RecConfig(N_ITEMS, 16, 24, max_len=8, dropout=dropout), emb, gen
    ).eval()


@pytest.mark.parametrize("kind", ["sasrec", "bert4rec", "gru4rec"])
def test_shapes(kind):
    model = _encoder(kind)
    ids = torch.tensor([[0, 0, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8]])
    hidden = model(ids)
    assert hidden.shape == (2, 8, 24 if kind == "gru4rec" else 16)
    assert model.scores(hidden[:, -1]).shape == (2, N_ITEMS)
    assert torch.isfinite(hidden).all()


@pytest.mark.parametrize("kind", ["sasrec", "gru4rec"])
def test_causality_later_items_never_change_earlier_outputs(kind):
    model = _encoder(kind)
    a = torch.tensor([[0, 0, 3, 4, 5, 6, 7, 8]])
    b = a.clone()
    b[0, 6:] = torch.tensor([20, 21])
    with torch.no_grad():
        ha, hb = model(a), model(b)
    torch.testing.assert_close(ha[:, :6], hb[:, :6])
    assert not torch.allclose(ha[:, 6:], hb[:, 6:])


@pytest.mark.parametrize("kind", ["sasrec", "bert4rec", "gru4rec"])
def test_extra_left_padding_changes_nothing(kind):
    model = _encoder(kind)
    short = torch.tensor([[0, 0, 0, 0, 0, 3, 4, 5]])
    shorter = torch.tensor([[0, 0, 0, 0, 0, 0, 0, 5]])
    with torch.no_grad():
        s = model.scores(model(short)[:, -1])
        # same prompt in a batch with a longer row: padding and batch mates don't matter
        batch = torch.tensor([[0, 0, 0, 0, 0, 3, 4, 5], [1, 2, 3, 4, 5, 6, 7, 8]])
        torch.testing.assert_close(model.scores(model(batch)[:, -1])[:1], s)
        assert not torch.allclose(model.scores(model(shorter)[:, -1]), s)
    if kind == "gru4rec":  # the GRU never sees padding at all
        padded = torch.tensor([[0, 0, 0, 0, 0, 0, 0, 3, 4, 5]])
        cfg = lnn.GRU4RecConfig(N_ITEMS, 16, 24, max_len=10, dropout=0.0)
        big = lnn.GRU4Rec(cfg, model.item_embedding, None).eval()
        big.load_state_dict(model.state_dict())
        torch.testing.assert_close(big(padded)[:, -1], model(short)[:, -1])


def test_bert4rec_masked_copies():
    model = BERT4Rec(mask_prob=0.5, n_masked_copies=3, max_prompt_items=6, batch_size=1000)
    model.item_index_ = llmseqrec.data.ItemIndex(list(range(1, 11)))
    batches = model._training_batches(
        [np.array([1, 2, 3, 4]), np.array([5, 6])], torch.Generator().manual_seed(0), "cpu"
    )
    inputs, targets = next(iter(batches(1)))
    mask_id = 11
    assert inputs.shape == (2 * 4, 6)
    assert ((inputs == mask_id) == (targets != 0)).all()  # loss exactly at masked positions
    assert ((targets != 0).sum(1) >= 1).all()  # every copy predicts something
    assert not ((inputs == mask_id) & (inputs == 0)).any()
    assert (targets[targets != 0] <= 10).all()
    # One copy per session masks only the last item.
    last_only = ((inputs == mask_id).sum(1) == 1) & (inputs[:, -1] == mask_id)
    assert last_only.sum() >= 2
    prompt = model._prompt_inputs([np.array([1, 2, 3, 4, 5, 6, 7])])
    assert prompt.tolist() == [[3, 4, 5, 6, 7, mask_id]]
    # Without the last-item copy: exactly n_masked_copies random copies per session.
    model.set_params(last_item_copy=False, n_masked_copies=1, mask_prob=0.01)
    batches = model._training_batches(
        [np.array([1, 2, 3, 4]), np.array([5, 6])], torch.Generator().manual_seed(0), "cpu"
    )
    inputs, targets = next(iter(batches(1)))
    assert inputs.shape == (2, 6) and model._n_training_sequences == 2
    model.set_params(n_masked_copies=0)
    with pytest.raises(ValueError, match="n_masked_copies"):
        model._training_batches([np.array([1, 2])], torch.Generator(), "cpu")


@pytest.mark.parametrize("norm", [True, False])
@pytest.mark.parametrize("drop", [True, False])
def test_bert4rec_embedding_norm_and_dropout_switches(norm, drop):
    gen = torch.Generator().manual_seed(0)
    emb = lnn.ItemEmbedding(N_ITEMS, 16, generator=gen)
    cfg = lnn.BERT4RecConfig(
        N_ITEMS, 16, n_layers=0, max_len=4, dropout=0.5, embedding_norm=norm,
        embedding_dropout=drop,
    )  # fmt: skip
    model = lnn.BERT4Rec(cfg, emb, gen).train()  # no blocks: the output is the embedding
    ids = torch.tensor([[0, 3, 4, 5], [1, 2, 3, 4]])
    summed = emb(ids) + model.positions.weight[None]  # (B, T, D)
    with torch.no_grad():
        out = model(ids)
    expected = torch.nn.functional.layer_norm(summed, (16,)) if norm else summed
    if drop:  # dropout zeroes about half the entries and scales the rest by 2
        kept = out != 0
        assert 0.3 < kept.float().mean() < 0.7
        torch.testing.assert_close(out[kept], 2 * expected[kept])
    else:
        torch.testing.assert_close(out, expected)
    assert any("emb_ln" in k for k in model.state_dict()) == norm
    # the recommender passes the switches through
    rec = BERT4Rec(embedding_norm=norm, embedding_dropout=drop, emb_dim=16, n_layers=1)
    rec.emb_dim_ = 16  # set by fit
    module = rec._build_encoder(N_ITEMS, lnn.ItemEmbedding(N_ITEMS, 16), None)
    assert (module.config.embedding_norm, module.config.embedding_dropout) == (norm, drop)


def test_pad_left():
    assert pad_left([np.array([1, 2, 3]), np.array([], dtype=np.int64)], 2).tolist() == [
        [2, 3],
        [0, 0],
    ]


def test_early_stopping_restores_the_best_epoch():
    module = torch.nn.Linear(1, 1)
    scores = iter([0.1, 0.5, 0.3, 0.2, 0.9])
    weights = []

    def batches(epoch):
        yield torch.ones(1, 1)

    def validate(mod):
        weights.append(mod.weight.detach().clone())
        return next(scores)

    history = train_module(
        module,
        batches,
        lambda m, b: (m(b) ** 2).sum(),
        validate,
        TrainConfig(epochs=5, patience=2, lr=0.1, show_progress=False),
    )
    assert history.best_epoch == 2 and history.stopped_early and len(history.val_score) == 4
    torch.testing.assert_close(module.weight, weights[1])


def _tiny(cls, **params):
    base = dict(emb_dim=8, epochs=2, batch_size=64, show_progress=False, random_state=0)
    return cls(**{**base, **params})


@pytest.mark.parametrize("cls", [SASRec, GRU4Rec, BERT4Rec])
def test_decay_to_init_anchors_the_item_table_of_every_model(cls):
    train, prompts, _, items = synthetic_data("str")
    rng = np.random.default_rng(0)
    vectors = {i: rng.normal(size=12) for i in items.index}
    text = dict(item_embeddings=vectors, reduction="pca", weight_decay=0.5)
    fits = {
        flag: _tiny(cls, decay_to_init=flag, **text).fit(train, item_metadata=items)
        for flag in (False, True)
    }
    names = fits[True]._item_table_names(fits[True].module_)
    assert names == ("item_embedding.table.weight",)
    scores = {flag: m.predict_scores(prompts[:5]) for flag, m in fits.items()}
    assert not np.allclose(scores[False], scores[True])  # the decay went elsewhere
    # the anchored table stays nearer its text start than the one decayed toward zero
    init = _tiny(cls, **text, epochs=1, learning_rate=1e-12).fit(train, item_metadata=items)
    start = init.module_.item_embedding.item_matrix().detach()
    gap = {
        flag: float((m.module_.item_embedding.item_matrix().detach() - start).norm())
        for flag, m in fits.items()
    }
    assert gap[True] < gap[False]
    dual = _tiny(cls, decay_to_init=True, dual_view=True, **text).fit(train, item_metadata=items)
    assert dual._item_table_names(dual.module_) == ("item_embedding.ids.table.weight",)
    with pytest.raises(ValueError, match="decay_to_init must be True or False"):
        _tiny(cls, decay_to_init="yes").fit(train)


@pytest.mark.parametrize("cls", [SASRec, GRU4Rec, BERT4Rec])
def test_item_lr_scale_slows_the_item_table_of_every_model(cls):
    train, prompts, _, items = synthetic_data("str")
    rng = np.random.default_rng(0)
    vectors = {i: rng.normal(size=12) for i in items.index}
    text = dict(item_embeddings=vectors, reduction="pca")
    init = _tiny(cls, **text, epochs=1, learning_rate=1e-12).fit(train, item_metadata=items)
    start = init.module_.item_embedding.item_matrix().detach()
    fits = {
        scale: _tiny(cls, item_lr_scale=scale, learning_rate=1e-2, **text).fit(
            train, item_metadata=items
        )
        for scale in (1.0, 0.1)
    }
    gap = {
        scale: float((m.module_.item_embedding.item_matrix().detach() - start).norm())
        for scale, m in fits.items()
    }
    assert 0 < gap[0.1] < 0.5 * gap[1.0]  # Adam's steps: about a tenth as far
    # the rest of the model trains at the full rate either way: the scores differ
    scores = {scale: m.predict_scores(prompts[:5]) for scale, m in fits.items()}
    assert not np.allclose(scores[1.0], scores[0.1])
    for bad in (0, -1.0, float("nan"), "fast"):
        with pytest.raises(ValueError, match="item_lr_scale must be a finite number > 0"):
            _tiny(cls, item_lr_scale=bad).fit(train)


@pytest.mark.parametrize("cls", [SASRec, GRU4Rec, BERT4Rec])
def test_decay_text_adapter_false_keeps_the_dual_views_adapter_out_of_the_decay(cls):
    train, prompts, _, items = synthetic_data("str")
    rng = np.random.default_rng(0)
    vectors = {i: rng.normal(size=12) for i in items.index}
    text = dict(item_embeddings=vectors, reduction="pca", dual_view=True, weight_decay=5.0)
    fits = {
        flag: _tiny(cls, decay_text_adapter=flag, **text).fit(train, item_metadata=items)
        for flag in (True, False)
    }
    names = fits[False]._text_adapter_names(fits[False].module_)
    assert names == ("item_embedding.adapter.weight",)
    norm = {f: float(m.module_.item_embedding.adapter.weight.norm()) for f, m in fits.items()}
    assert norm[False] > norm[True]  # a strong decay holds the adapter near its zero start
    assert not np.allclose(
        fits[False].predict_scores(prompts[:5]), fits[True].predict_scores(prompts[:5])
    )
    plain = _tiny(cls, item_embeddings=vectors, reduction="pca", decay_text_adapter=False)
    assert plain._text_adapter_names(plain.fit(train, item_metadata=items).module_) == ()
    with pytest.raises(ValueError, match="decay_text_adapter must be True or False"):
        _tiny(cls, decay_text_adapter="no").fit(train)


def test_item_embedding_normal_init_draws_n_0_002_keeps_pad_zero_and_given_rows():
    gen = torch.Generator().manual_seed(0)
    table = lnn.ItemEmbedding(2000, 32, generator=gen, init="normal").table.weight.detach()
    assert abs(float(table[1:].std()) - 0.02) < 0.001
    assert abs(float(table[1:].mean())) < 0.001
    assert torch.count_nonzero(table[0]) == 0  # PAD
    xavier = lnn.ItemEmbedding(2000, 32, generator=gen).table.weight.detach()
    assert float(xavier[1:].abs().max()) <= (6.0 / (2002 + 32)) ** 0.5
    given = torch.randn(30, 8)
    kept = lnn.ItemEmbedding(30, 8, given, generator=gen, init="normal").item_matrix()
    torch.testing.assert_close(kept.detach(), given)
    with pytest.raises(ValueError, match="init must be one of"):
        lnn.ItemEmbedding(30, 8, init="uniform")


@pytest.mark.parametrize("cls", [SASRec, GRU4Rec, BERT4Rec])
def test_item_init_draws_a_random_table_and_leaves_text_vectors_alone(cls):
    train, prompts, _, items = synthetic_data("str")
    untrained = dict(epochs=1, learning_rate=1e-12)  # the table as drawn
    tables = {
        init: _tiny(cls, item_init=init, **untrained)
        .fit(train)
        .module_.item_embedding.item_matrix()
        .detach()
        for init in ("xavier", "normal")
    }
    assert abs(float(tables["normal"].std()) - 0.02) < 0.004
    assert float(tables["xavier"].std()) != pytest.approx(float(tables["normal"].std()), rel=0.1)
    rng = np.random.default_rng(0)
    text = dict(item_embeddings={i: rng.normal(size=12) for i in items.index}, reduction="pca")
    scores = [
        _tiny(cls, item_init=init, **text)
        .fit(train, item_metadata=items)
        .predict_scores(prompts[:5])
        for init in ("xavier", "normal")
    ]
    np.testing.assert_array_equal(scores[0], scores[1])  # text vectors replace the draw
    with pytest.raises(ValueError, match="item_init must be one of"):
        _tiny(cls, item_init="zeros").fit(train)


def test_llm_initialisation_sets_the_table_and_permutation_permutes():
    train, _, _, items = synthetic_data("str")
    rng = np.random.default_rng(0)
    vectors = {i: rng.normal(size=12) for i in items.index}
    model = _tiny(
        SASRec, item_embeddings=vectors, reduction="pca", epochs=1, learning_rate=1e-12
    )  # ~no training
    model.fit(train, item_metadata=items)
    from llmseqrec.text import EmbeddingReducer

    X = np.stack([vectors[i] for i in model.items_])
    expected = EmbeddingReducer("pca", 8, random_state=0).fit(X).transform(X)
    table = model.module_.item_embedding.item_matrix().detach().numpy()
    np.testing.assert_allclose(table, expected, atol=1e-4)
    permuted = _tiny(
        SASRec,
        item_embeddings=vectors,
        reduction="pca",
        epochs=1,
        learning_rate=1e-12,
        permute_embeddings=True,
    )
    ptable = (
        permuted.fit(train, item_metadata=items)
        .module_.item_embedding.item_matrix()
        .detach()
        .numpy()
    )
    order = np.random.default_rng(0).permutation(len(X))
    np.testing.assert_allclose(
        ptable,
        EmbeddingReducer("pca", 8, random_state=0).fit(X[order]).transform(X[order]),
        atol=1e-4,
    )
    assert not np.allclose(ptable, table, atol=1e-3)


def test_llm2_default_encoder_and_frozen_text_scores_unseen_items(tmp_path):
    train, prompts, _, items = synthetic_data("str")
    seen = {i for s in train.values() for i in s.tolist()}
    unseen = [i for i in items.index if i not in seen]
    model = LLM2SASRec(emb_dim=8, epochs=2, show_progress=False, random_state=0)
    assert model.item_embeddings == "default"
    extra = items.copy()
    extra.loc["brand_new"] = ["red lipstick 99", 0]
    frozen = _tiny(SASRec, item_embeddings="default", freeze_text=True).fit(
        train, item_metadata=extra
    )
    assert "brand_new" in set(frozen.items_.tolist())
    assert np.isfinite(frozen.predict_scores(prompts[:2], items=["brand_new"])).all()
    assert set(unseen) <= set(frozen.items_.tolist())
    frozen.save(tmp_path / "m")
    loaded = llmseqrec.load(tmp_path / "m")
    np.testing.assert_array_equal(
        loaded.predict_scores(prompts[:3]), frozen.predict_scores(prompts[:3])
    )


def test_determinism_and_seeds():
    train, prompts, _, items = synthetic_data("str")
    a = _tiny(GRU4Rec, dropout=0.3).fit(train).predict_scores(prompts[:5])
    b = _tiny(GRU4Rec, dropout=0.3).fit(train).predict_scores(prompts[:5])
    c = _tiny(GRU4Rec, dropout=0.3, random_state=1).fit(train).predict_scores(prompts[:5])
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_sampled_softmax_trains():
    train, prompts, targets, _ = synthetic_data("str")
    model = SASRec(
        emb_dim=16,
        epochs=25,
        patience=None,
        learning_rate=1e-2,
        loss="sampled_softmax",
        n_negatives=10,
        show_progress=False,
        random_state=0,
    )
    recs = model.fit(train).predict(prompts, k=10)
    assert llmseqrec.metrics.hit_rate_at_k(recs, targets, 10) > 0.5


def test_parameter_errors():
    train, _, _, _ = synthetic_data("str")
    with pytest.raises(ValueError, match="loss"):
        _tiny(SASRec, loss="bpr").fit(train)
    with pytest.raises(ValueError, match="divisible"):
        _tiny(SASRec, n_heads=3).fit(train)
    with pytest.raises(ValueError, match="reduction"):
        _tiny(SASRec, item_embeddings={"x": [1.0]}, reduction="umap").fit(train)


@pytest.mark.parametrize("chunk_rows", [1, 5, 37, 1000])
def test_full_softmax_loss_equals_cross_entropy_in_every_chunking(chunk_rows):
    gen = torch.Generator().manual_seed(0)
    query = torch.randn(37, 8, dtype=torch.float64, generator=gen, requires_grad=True)
    items = torch.randn(50, 8, dtype=torch.float64, generator=gen, requires_grad=True)
    bias = torch.randn(50, dtype=torch.float64, generator=gen, requires_grad=True)
    targets = torch.randint(1, 51, (37,), generator=gen)  # internal ids 1..n_items
    reference = torch.nn.functional.cross_entropy(query @ items.T + bias, targets - 1)
    expected = torch.autograd.grad(reference, (query, items, bias))
    loss = lnn.full_softmax_loss(query, targets, items, bias, chunk_rows=chunk_rows)
    grads = torch.autograd.grad(3.0 * loss, (query, items, bias))  # upstream gradient scales
    torch.testing.assert_close(loss, reference)
    for got, want in zip(grads, expected):
        torch.testing.assert_close(got, 3.0 * want)


def test_temporal_inner_validation_holds_out_the_latest_sessions(monkeypatch):
    import llmseqrec.recommenders._neural as neural

    held_out = {}
    real_split = neural.inner_validation_split

    def spy(*args, **kwargs):
        train_idx, val_idx = real_split(*args, **kwargs)
        held_out["val"] = val_idx
        return train_idx, val_idx

    monkeypatch.setattr(neural, "inner_validation_split", spy)
    # 40 sessions listed in an order unrelated to time; session s ends at time (7 * s) % 40.
    sessions = [f"s{s}" for s in range(40) for _ in range(3)]
    ends = {f"s{s}": (7 * s) % 40 for s in range(40)}
    df = pd.DataFrame(
        {
            "session_id": sessions,
            "item_id": [f"i{(j * 5 + k) % 11}" for j in range(40) for k in range(3)],
            "timestamp": [ends[s] - 2 + k for s, k in zip(sessions, [0, 1, 2] * 40)],
        }
    )
    _tiny(SASRec, val_split="temporal", epochs=1, patience=1).fit(df)
    latest = sorted(range(40), key=lambda s: ends[f"s{s}"])[-4:]  # ceil(0.1 * 40)
    assert held_out["val"].tolist() == sorted(latest)
    _tiny(SASRec, epochs=1, patience=1, random_state=0).fit(df)  # the paper's random draw
    assert held_out["val"].tolist() != sorted(latest)
    with pytest.raises(ValueError, match="val_split"):
        _tiny(SASRec, val_split="last").fit(df)


@pytest.mark.parametrize("cls", [SASRec, BERT4Rec, GRU4Rec])
def test_refit_retrains_on_every_session_for_the_best_epoch_count(cls, tmp_path):
    train, prompts, _, _ = synthetic_data("str")
    params = dict(epochs=6, patience=2, learning_rate=1e-2, dropout=0.1, val_split="temporal")
    refit = _tiny(cls, refit=True, **params).fit(train)
    plain = _tiny(cls, **params).fit(train)
    assert plain.refit_history_ is None
    # The early-stopping run is the plain model's; the refit adds back the held-out sessions.
    assert refit.history_.val_score == plain.history_.val_score
    best = refit.history_.best_epoch
    assert len(refit.refit_history_.train_loss) == best and refit.refit_history_.val_score == []
    assert refit.refit_history_.sequences_per_epoch > refit.history_.sequences_per_epoch
    # Same initial weights and seeds: identical to training on all sessions for `best` epochs.
    full = _tiny(cls, **{**params, "epochs": best, "patience": None}).fit(train)
    np.testing.assert_array_equal(
        refit.predict_scores(prompts[:5]), full.predict_scores(prompts[:5])
    )
    assert not np.allclose(refit.predict_scores(prompts[:5]), plain.predict_scores(prompts[:5]))
    refit.save(tmp_path / "m")
    loaded = llmseqrec.load(tmp_path / "m")
    assert loaded.refit_history_.train_loss == refit.refit_history_.train_loss
    np.testing.assert_array_equal(
        loaded.predict_scores(prompts[:5]), refit.predict_scores(prompts[:5])
    )
    with pytest.raises(ValueError, match="refit"):
        _tiny(cls, refit="yes").fit(train)


@pytest.mark.parametrize("cls", [SASRec, BERT4Rec, GRU4Rec])
def test_ema_decay_trains_the_same_way_and_keeps_averaged_weights(cls):
    train, prompts, _, _ = synthetic_data("str")
    params = dict(epochs=3, patience=None, learning_rate=1e-2, dropout=0.1)
    plain = _tiny(cls, **params).fit(train)
    averaged = _tiny(cls, ema_decay=0.9, **params).fit(train)
    # the same live trajectory (the training loss is the live weights'), other final weights
    assert averaged.history_.train_loss == plain.history_.train_loss
    assert not np.allclose(averaged.predict_scores(prompts[:5]), plain.predict_scores(prompts[:5]))


@pytest.mark.parametrize("origin", ["first", "last"])
def test_sasrec_scores_length_sorted_trimmed_prompts_exactly_as_full_width(origin):
    train, prompts, _, _ = synthetic_data("str")
    model = _tiny(SASRec, epochs=2, position_origin=origin, max_prompt_items=12).fit(train)
    mixed = [p[-n:] for p, n in zip(prompts * 3, [1, 7, 3, 2, 5, 4, 6] * 20)][:60]
    # shorter than the model's width (12): the slab is cut to 7 columns
    assert len({len(p) for p in mixed}) > 3 and max(len(p) for p in mixed) < 12
    trimmed = model.predict_scores(mixed)
    model._padding_invariant = False  # every prompt at the full width, in input order
    np.testing.assert_array_equal(model.predict_scores(mixed), trimmed)


def test_prefix_training_examples_are_every_prefix_scored_at_its_end():
    model = SASRec(max_prompt_items=2, training_examples="prefixes")
    inputs, targets = model._next_item_arrays([np.array([1, 2, 3, 4]), np.array([5, 6])])
    assert inputs.tolist() == [[0, 1], [1, 2], [2, 3], [0, 5]]
    assert targets.tolist() == [[0, 2], [0, 3], [0, 4], [0, 6]]
    positions = SASRec(max_prompt_items=2)._next_item_arrays([np.array([1, 2, 3, 4])])
    assert positions[0].tolist() == [[2, 3]] and positions[1].tolist() == [[3, 4]]


def test_window_training_examples_make_every_item_after_the_first_a_target_once():
    model = SASRec(max_prompt_items=2, training_examples="windows")
    sessions = [
        np.array([1, 2, 3, 4, 5, 6]),
        np.array([7, 8, 9]),
        np.array([10, 11]),
        np.array([12]),
    ]
    inputs, targets = model._next_item_arrays(sessions)
    # windows of 3 items from each session's end, neighbours sharing one item
    assert inputs.tolist() == [[4, 5], [2, 3], [0, 1], [7, 8], [0, 10]]
    assert targets.tolist() == [[5, 6], [3, 4], [0, 2], [8, 9], [0, 11]]
    trained = sorted(t for t in targets.ravel().tolist() if t)
    assert trained == sorted(x for s in sessions for x in s[1:].tolist())
    # "positions" keeps only each session's last window: items 2 and 3 are never targets
    positions = SASRec(max_prompt_items=2)._next_item_arrays(sessions)[1]
    assert 2 not in positions and 3 not in positions
    assert (
        GRU4Rec(max_prompt_items=2, training_examples="windows")
        ._next_item_arrays(sessions)[1]
        .tolist()
        == targets.tolist()
    )


def test_scoring_heads():
    gen = torch.Generator().manual_seed(0)
    hidden, items = torch.randn(3, 8, generator=gen), torch.randn(5, 8, generator=gen)
    dot = lnn.make_head("dot", 8, 5, "relu")
    torch.testing.assert_close(dot(hidden, items), hidden @ items.T)
    assert not list(dot.parameters())
    linear = lnn.make_head("linear", 8, 5, "relu", gen)
    projection = lnn.make_head("projection", 8, 5, "relu", torch.Generator().manual_seed(0))
    linear.load_state_dict(projection.state_dict())
    q_lin, q_proj = linear.project(hidden), projection.project(hidden)
    torch.testing.assert_close(q_proj, torch.relu(q_lin))  # only the activation differs
    assert (q_lin < 0).any()
    with pytest.raises(ValueError, match="head must be one of"):
        lnn.make_head("mlp", 8, 5, "relu")
    with pytest.raises(ValueError, match="hidden states"):
        lnn.make_head("dot", 8, 5, "relu", in_dim=16)
    with pytest.raises(ValueError, match="head must be one of"):
        SASRec(head="mlp", epochs=1, show_progress=False).fit([[1, 2, 3]] * 20)
    with pytest.raises(ValueError, match="training_examples"):
        GRU4Rec(training_examples="all", epochs=1, show_progress=False).fit([[1, 2, 3]] * 20)


@pytest.mark.parametrize("head", ["linear", "dot"])
def test_head_passes_through_and_round_trips(head, tmp_path):
    train, prompts, _, _ = synthetic_data("str")
    model = _tiny(SASRec, head=head, training_examples="prefixes").fit(train)
    assert model.module_.head.__class__.__name__ == (
        "DotScoringHead" if head == "dot" else "TiedScoringHead"
    )
    model.save(tmp_path / "m")
    again = llmseqrec.load(tmp_path / "m")
    np.testing.assert_array_equal(
        again.predict_scores(prompts[:5]), model.predict_scores(prompts[:5])
    )


def _sasrec(**config):
    gen = torch.Generator().manual_seed(0)
    emb = lnn.ItemEmbedding(N_ITEMS, 16, generator=gen)
    cfg = lnn.SASRecConfig(N_ITEMS, 16, 2, 2, max_len=8, dropout=0.0, **config)
    return lnn.SASRec(cfg, emb, gen).eval()


def test_position_ids_count_from_the_last_or_the_first_item():
    ids = torch.tensor([[0, 0, 0, 0, 0, 3, 4, 5], [1, 2, 3, 4, 5, 6, 7, 8]])
    last = _sasrec().position_ids(ids)
    assert last.tolist() == [list(range(8))] * 2
    first = _sasrec(position_origin="first").position_ids(ids)
    assert first[0, -3:].tolist() == [0, 1, 2] and first[1].tolist() == list(range(8))


@pytest.mark.parametrize("block", ["pre_ln", "post_ln", "ligr"])
def test_positions_from_the_first_item_make_every_position_a_prompt(block):
    """With positions counted from the first item, the state after t items inside a
    session is exactly the state that scores the t-item prompt (so training on every
    position trains what is scored); counted from the last item it is not."""
    session = torch.tensor([[0, 0, 0, 3, 4, 5, 6, 7]])
    prompt = torch.tensor([[0, 0, 0, 0, 0, 3, 4, 5]])  # the first 3 items, left-padded
    with torch.no_grad():
        first = _sasrec(position_origin="first", block=block)
        torch.testing.assert_close(first(session)[:, 5], first(prompt)[:, -1])
        last = _sasrec(block=block)
        assert not torch.allclose(last(session)[:, 5], last(prompt)[:, -1])


def test_blocks_and_initialisations():
    pre, post, ligr = _sasrec(), _sasrec(block="post_ln"), _sasrec(block="ligr")
    assert isinstance(pre.final_ln, torch.nn.LayerNorm) and isinstance(
        pre.input_ln, torch.nn.Identity
    )
    assert isinstance(post.input_ln, torch.nn.LayerNorm) and isinstance(
        post.final_ln, torch.nn.Identity
    )
    assert all(isinstance(b, lnn.LiGRBlock) for b in ligr.blocks)
    normal = _sasrec(init="normal")
    w = torch.cat(
        [
            m.weight.detach().flatten()
            for m in normal.blocks.modules()
            if isinstance(m, torch.nn.Linear)
        ]
    )
    assert abs(float(w.std()) - 0.02) < 0.002
    for bad in (dict(block="rms"), dict(init="kaiming"), dict(activation="tanh")):
        with pytest.raises(ValueError, match=next(iter(bad))):
            _sasrec(**bad)
    with pytest.raises(ValueError, match="ffn_scale"):
        SASRec(ffn_scale=0, epochs=1, show_progress=False).fit([[1, 2, 3]] * 20)
    with pytest.raises(ValueError, match="position_origin"):
        SASRec(position_origin="middle", epochs=1, show_progress=False).fit([[1, 2, 3]] * 20)


def test_ligr_gates_can_close_a_block():
    gen = torch.Generator().manual_seed(0)
    block = lnn.LiGRBlock(16, 2, 32, 0.0, "swiglu").eval()
    x = torch.randn(2, 5, 16, generator=gen)
    mask = lnn.attention_mask(torch.ones(2, 5, dtype=torch.long), causal=True)
    with torch.no_grad():
        assert not torch.allclose(block(x, mask), x)
        for gate in (block.gate1, block.gate2):
            gate.weight.zero_()
            gate.bias.fill_(-30.0)  # sigmoid ~ 1e-13: both residual branches shut
        torch.testing.assert_close(block(x, mask), x)


def test_attention_dropout_drops_attention_probabilities_only_in_training():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 6, 16, generator=gen)
    ids = torch.tensor([[0, 0, 1, 2, 3, 4], [1, 2, 3, 4, 5, 6], [0, 0, 0, 0, 0, 7]])
    mask = lnn.attention_mask(ids, causal=True)
    plain = lnn.MultiHeadSelfAttention(16, 2)
    dropped = lnn.MultiHeadSelfAttention(16, 2, attention_dropout=0.5)
    dropped.load_state_dict(plain.state_dict())
    with torch.no_grad():
        expected = plain(x, mask)
        # At evaluation (and at rate 0) both run the fused kernel: the same attention.
        torch.testing.assert_close(dropped.eval()(x, mask), expected)
        # The explicit path with nothing dropped is the fused kernel's attention.
        dropped.train()
        dropped.attn_drop.p = 1e-12
        torch.testing.assert_close(dropped(x, mask), expected, atol=1e-6, rtol=1e-5)
        dropped.attn_drop.p = 0.5
        outputs = []
        for _ in range(2):
            dropped.attn_drop.generator = torch.Generator().manual_seed(7)
            outputs.append(dropped(x, mask))
    torch.testing.assert_close(outputs[0], outputs[1])  # seeded: the same mask twice
    assert not torch.allclose(outputs[0], expected)
    assert torch.isfinite(outputs[0]).all()  # rows of padding keep themselves


def test_attention_dropout_reaches_every_block_and_is_validated():
    for block in ("pre_ln", "post_ln", "ligr"):
        module = _sasrec(block=block, attention_dropout=0.3)
        assert [b.attn.attn_drop.p for b in module.blocks] == [0.3, 0.3]
    model = _tiny(SASRec, attention_dropout=0.2).fit(synthetic_data("str")[0])
    assert all(b.attn.attn_drop.p == 0.2 for b in model.module_.blocks)
    for bad in (-0.1, 1.0, "0.2"):
        with pytest.raises(ValueError, match="attention_dropout"):
            SASRec(attention_dropout=bad, epochs=1, show_progress=False).fit([[1, 2, 3]] * 20)


def test_feed_forwards_and_their_old_state_dict_keys():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4, 8, generator=gen)
    swiglu = lnn.FeedForward(8, 16, "swiglu")
    expected = swiglu.down(torch.nn.functional.silu(swiglu.gate(x)) * swiglu.up(x))
    torch.testing.assert_close(swiglu(x), expected)
    assert swiglu.up.bias is None
    old = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 8))
    relu = lnn.FeedForward(8, 16, "relu")
    relu.load_state_dict(old.state_dict())  # a model saved by 0.1 (keys "0.*", "2.*")
    torch.testing.assert_close(relu(x), old(x))


@pytest.mark.parametrize(
    "options",
    [dict(block="ligr", activation="swiglu", ffn_scale=2, position_origin="first"),
     dict(block="post_ln", activation="gelu", init="normal", head="dot",
          attention_dropout=0.2)],
)  # fmt: skip
def test_block_options_round_trip(options, tmp_path):
    train, prompts, _, _ = synthetic_data("str")
    model = _tiny(SASRec, **options).fit(train)
    model.save(tmp_path / "m")
    again = llmseqrec.load(tmp_path / "m")
    assert {k: again.get_params()[k] for k in options} == options
    np.testing.assert_array_equal(
        again.predict_scores(prompts[:5]), model.predict_scores(prompts[:5])
    )


@pytest.mark.parametrize("cls", [SASRec, BERT4Rec])
def test_warmup_and_decay_span_the_models_optimizer_steps(cls):
    """The schedule reaches 0 exactly at epochs x batches per epoch (BERT4Rec: its copies)."""
    train, _, _, _ = synthetic_data("str")
    lrs = []
    hook = register_optimizer_step_pre_hook(
        lambda opt, args, kwargs: lrs.append(opt.param_groups[0]["lr"])
    )
    try:
        model = _tiny(
            cls, patience=0, epochs=3, learning_rate=0.01, warmup_steps=3, lr_decay="linear"
        )
        model.fit(train)
    finally:
        hook.remove()
    n = model.history_.optimizer_steps
    assert n == len(lrs) > 6
    expected = [0.01 * lr_factor(s, 3, "linear", n) for s in range(n)]
    np.testing.assert_allclose(lrs, expected)
    assert lrs[:3] == pytest.approx([0.01 / 3, 0.02 / 3, 0.01]) and lrs[-1] == pytest.approx(
        0.01 / (n - 3)
    )
    for bad in (dict(warmup_steps=-1), dict(lr_decay="step")):
        with pytest.raises(ValueError, match=next(iter(bad))):
            _tiny(SASRec, **bad).fit(train)


@pytest.mark.parametrize("cls", [SASRec, GRU4Rec])
def test_dual_view_starts_as_the_llm_initialised_model_and_round_trips(cls, tmp_path):
    train, prompts, _, items = synthetic_data("str")
    rng = np.random.default_rng(0)
    vectors = {i: rng.normal(size=12) for i in items.index}
    frozen_start = dict(item_embeddings=vectors, epochs=1, learning_rate=1e-12)
    init = _tiny(cls, **frozen_start).fit(train, item_metadata=items)
    dual = _tiny(cls, dual_view=True, **frozen_start).fit(train, item_metadata=items)
    emb = dual.module_.item_embedding
    assert isinstance(emb, lnn.DualViewEmbedding) and emb.text.shape[1] == 12
    np.testing.assert_allclose(  # the adapter starts at zero: the LLM2 model's table
        emb.item_matrix().detach().numpy(),
        init.module_.item_embedding.item_matrix().detach().numpy(),
        atol=1e-5,
    )
    trained = _tiny(cls, item_embeddings=vectors, dual_view=True).fit(train, item_metadata=items)
    assert trained.module_.item_embedding.adapter.weight.abs().sum() > 0  # the text view trains
    trained.save(tmp_path / "m")
    again = llmseqrec.load(tmp_path / "m")
    np.testing.assert_array_equal(
        again.predict_scores(prompts[:4]), trained.predict_scores(prompts[:4])
    )
    with pytest.raises(ValueError, match="needs item_embeddings"):
        _tiny(cls, dual_view=True).fit(train)
    with pytest.raises(ValueError, match="alternatives"):
        _tiny(cls, item_embeddings=vectors, dual_view=True, freeze_text=True).fit(
            train, item_metadata=items
        )


@pytest.mark.parametrize(
    "options", [dict(loss="gbce"), dict(loss="sampled_softmax", negative_sampling="popularity")]
)
def test_gbce_and_popularity_sampled_softmax_train(options):
    # gBCE learns more slowly than softmax: small batches give it enough steps.
    train, prompts, targets, _ = synthetic_data("str")
    model = SASRec(
        emb_dim=16, epochs=25, patience=None, learning_rate=1e-2, n_negatives=10, batch_size=16,
        show_progress=False, random_state=0, **options,
    )  # fmt: skip
    recs = model.fit(train).predict(prompts, k=10)
    assert llmseqrec.metrics.hit_rate_at_k(recs, targets, 10) > 0.5


def test_gbce_loss_is_bce_at_t0_and_downweights_the_positive_at_t1():
    gen = torch.Generator().manual_seed(0)
    q, items = torch.randn(6, 4, generator=gen), torch.randn(20, 4, generator=gen)
    targets, bias = torch.arange(1, 7), torch.zeros(20)
    neg = lnn.sample_negatives(20, 5, generator=torch.Generator().manual_seed(1))
    pos_logit = (q * items[targets - 1]).sum(1)
    neg_logits = (q @ items[neg].T).masked_fill(neg[None] == (targets - 1)[:, None], -torch.inf)
    neg_term = -torch.nn.functional.logsigmoid(-neg_logits).sum(1)

    def gbce(t):
        return lnn.gbce_loss(q, targets, items, bias, 5, t, torch.Generator().manual_seed(1))

    bce = (-torch.nn.functional.logsigmoid(pos_logit) + neg_term).mean()
    torch.testing.assert_close(gbce(0.0), bce)
    alpha = 5 / 19  # beta = alpha at t = 1
    torch.testing.assert_close(
        gbce(1.0), (-alpha * torch.nn.functional.logsigmoid(pos_logit) + neg_term).mean()
    )
    with pytest.raises(ValueError, match=r"t must be in \[0, 1\]"):
        gbce(1.5)


def test_popularity_negatives_follow_log_q_and_are_corrected():
    log_q = torch.log(torch.tensor([0.7, 0.1, 0.1, 0.1]))
    neg = lnn.sample_negatives(4, 4000, log_q, torch.Generator().manual_seed(0))
    assert abs(float((neg == 0).float().mean()) - 0.7) < 0.03
    gen = torch.Generator().manual_seed(0)
    q, items = torch.randn(3, 4, generator=gen), torch.randn(4, 4, generator=gen)
    targets, bias = torch.tensor([1, 2, 3]), torch.zeros(4)
    a = lnn.sampled_softmax_loss(
        q, targets, items, bias, 8, torch.Generator().manual_seed(2), log_q
    )
    neg = lnn.sample_negatives(4, 8, log_q, torch.Generator().manual_seed(2))
    pos = (q * items[targets - 1]).sum(1, keepdim=True)  # the target's logit: not corrected
    negs = q @ items[neg].T - (log_q[neg] + np.log(8))[None]  # negatives: - log(K q_j)
    negs = negs.masked_fill(neg[None] == (targets - 1)[:, None], -torch.inf)
    expected = torch.nn.functional.cross_entropy(
        torch.cat([pos, negs], 1), torch.zeros(3, dtype=torch.long)
    )
    torch.testing.assert_close(a, expected)
    uncorrected = lnn.sampled_softmax_loss(
        q, targets, items, bias, 8, torch.Generator().manual_seed(2)
    )
    assert not torch.isclose(a, uncorrected)
    with pytest.raises(ValueError, match="needs loss='sampled_softmax'"):
        SASRec(negative_sampling="popularity", epochs=1, show_progress=False).fit([[1, 2, 3]] * 20)
    with pytest.raises(ValueError, match="loss must be one of"):
        SASRec(loss="bpr", epochs=1, show_progress=False).fit([[1, 2, 3]] * 20)


def test_loss_parameters_are_validated_in_fit():
    seqs = [[1, 2, 3]] * 20
    for bad, match in [
        (dict(loss="gbce", n_negatives=0), "n_negatives must be a positive integer"),
        (dict(loss="gbce", gbce_t="a"), "gbce_t must be a number"),
        (dict(loss="gbce", gbce_t=1.5), "gbce_t must be a number"),
    ]:
        model = SASRec(epochs=1, show_progress=False, **bad)  # construction never validates
        with pytest.raises(ValueError, match=match):
            model.fit(seqs)
    model = SASRec(
        epochs=1, show_progress=False, loss="sampled_softmax", negative_sampling="popularity"
    )
    model.fit(seqs)
    assert "_log_q" not in vars(model)  # the sampling distribution does not outlive fit
