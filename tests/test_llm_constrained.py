"""Catalogue-constrained GenList and batched generation, on the tiny offline causal LM.

A tiny model fully fine-tuned for 60 steps on four sessions memorises one GenList answer;
decoded greedily with and without the constraint it shows what the constraint changes:
nothing where the free answer already is a list of titles, the banned titles where it
names prompt items, everything where it hallucinates.
"""

import warnings

import pandas as pd
import pytest

from llmseqrec.llm import (
    PAPER_TEMPLATES,
    LocalGenerator,
    TitleListConstraint,
    load_causal_lm,
    tiny_causal_lm,
)
from llmseqrec.recommenders import LLMSeqPrompt, MostPopular
from llmseqrec.recommenders._prompt_constrained import title_list_constraint
from llmseqrec.testing import synthetic_data
from llmseqrec.text import ItemTextEncoder

TITLES = {
    "a": "red lipstick 1",
    "b": "blue mascara 2",
    "c": "green shampoo 3",
    "d": "pink blush 4",
    "e": "red mascara 5",
    "f": "blue shampoo 6",
    "g": "pink blush 4",  # d's title again: one line names both
}


def encoder():
    return ItemTextEncoder(
        backend="tfidf", dim=16, cache=False, random_state=0, show_progress=False
    )


@pytest.fixture(scope="module")
def tiny():
    return str(tiny_causal_lm())


@pytest.fixture(scope="module")
def memorised(tiny):
    """GenList fine-tuned to answer "1. pink blush 4 / 2. red mascara 5 / 3. blue shampoo 6"
    (the true next item d, then MostPopular's candidates e, f) to every prompt."""
    items = pd.DataFrame(
        {"title": list(TITLES.values())}, index=pd.Index(list(TITLES), name="item_id")
    )
    sessions = {i: ["a", "b", "d"] if i % 2 else ["b", "a", "d"] for i in range(4)}
    popular = MostPopular().fit({0: ["e", "f", "a"], 1: ["e", "b"], 2: ["c", "e", "f"]})
    model = LLMSeqPrompt(
        variant="genlist",
        base_model=tiny,
        item_embeddings=encoder(),
        candidate_model=popular,
        n_candidates=3,
        lora=False,
        learning_rate=1e-2,
        epochs=60,
        batch_size=4,
        validation_share=0.0,
        temperature=0.0,
        n_recommendations=4,
        show_progress=False,
        random_state=0,
        device="cpu",
    )
    return model.fit(sessions, item_metadata=items)


def _both(model, prompts):
    """(unconstrained, constrained) generate() frames and answer ids of the same model."""
    out = {}
    for constrained in (False, True):
        model.set_params(constrained=constrained)
        frame = model.generate(prompts)
        convs = [model._conversation(model.item_index_.encode(p)) for p in prompts]
        ids = None
        if not constrained:
            ids = model._generator.generate_ids(convs, temperature=0.0, max_new_tokens=640)
        out[constrained] = (frame, ids)
    model.set_params(constrained=False)
    return out


def test_constrained_genlist_changes_only_what_the_constraint_forbids(memorised):
    model = memorised
    out = _both(model, [["a", "b"], ["a", "e"], ["b", "c", "f"]])
    free, bound = out[False][0], out[True][0]
    titles = set(model.titles_)
    memorised_answer = ["pink blush 4", "red mascara 5", "blue shampoo 6"]
    # 1. The free greedy answer already is a list of titles: the constraint changes nothing.
    assert free.loc[0, "generated"] == memorised_answer and free.loc[0, "hallucinated"] == 0
    assert bound.loc[0, "generated"] == memorised_answer
    text = model._tokenizer.decode(out[False][1][0][0], skip_special_tokens=True)
    assert text.endswith("BEGIN\n1. pink blush 4\n2. red mascara 5\n3. blue shampoo 6\nEND\n")
    # 2. The free answer names a prompt item (e): the constrained one never does, and is
    # the free one until that line.
    assert "red mascara 5" in free.loc[1, "generated"] and free.loc[1, "in_prompt"] > 0
    assert bound.loc[1, "generated"][0] == "pink blush 4"
    assert "red mascara 5" not in bound.loc[1, "generated"]
    # 3. Every constrained line is a distinct catalogue title that is not a prompt item.
    for prompt, row in zip([["a", "b"], ["a", "e"], ["b", "c", "f"]], bound.itertuples()):
        assert row.generated and set(row.generated) <= titles
        assert len(set(row.generated)) == len(row.generated)
        assert not {TITLES[i] for i in prompt} & set(row.generated)
        assert row.hallucinated == row.duplicates == row.in_prompt == 0
        assert not set(prompt) & set(row.items) and len(row.items) == 4


def test_a_title_that_several_items_share_names_all_of_them_most_popular_first(memorised):
    model = memorised.set_params(constrained=True)
    try:
        out = model.generate([["a", "b"], ["a", "d"]])
    finally:
        model.set_params(constrained=False)
    # d (in every training session) and g (never) are both "pink blush 4": d first
    assert out.loc[0, "items"][:2] == ["d", "g"]
    # d in the prompt: the title is still open (g is not), and its line names g only
    names, listed = out.loc[1, "generated"], out.loc[1, "items"]
    assert names == ["red mascara 5", "pink blush 4"] and listed[:2] == ["e", "g"]
    assert "d" not in listed


def test_batched_left_padded_greedy_decoding_is_one_at_a_time_decoding(memorised):
    model = memorised
    prompts = [["a", "b"], ["c"], ["b", "c", "e", "f", "a"], ["f", "e"]]  # unequal lengths
    convs = [model._conversation(model.item_index_.encode(p)) for p in prompts]
    lengths = {len(model._tokenizer.apply_chat_template(c, tokenize=False)) for c in convs}
    assert len(lengths) == len(prompts)  # so the batch is really left-padded
    args = dict(temperature=0.0, max_new_tokens=80)
    batched = LocalGenerator(model._lm, model._tokenizer, batch_size=4).generate_ids(convs, **args)
    alone = LocalGenerator(model._lm, model._tokenizer, batch_size=1).generate_ids(convs, **args)
    assert batched == alone
    assert len({tuple(a[0]) for a in alone}) > 1  # the answers differ between prompts
    # and under the constraint too
    c = title_list_constraint(model)
    banned = [{int(x) - 1 for x in model.item_index_.encode(p)} for p in prompts]
    rule = dict(args, allowed_tokens=lambda i, ids: c.allowed(ids, banned[i]))
    rule["max_new_tokens"] = c.max_new_tokens
    gen = LocalGenerator(model._lm, model._tokenizer, batch_size=4)
    assert gen.generate_ids(convs, **rule) == LocalGenerator(
        model._lm, model._tokenizer, batch_size=1
    ).generate_ids(convs, **rule)


def test_constrained_genlist_on_an_untrained_model_writes_only_titles(tiny):
    train, prompts, _, items = synthetic_data("str")
    model = LLMSeqPrompt(
        variant="genlist",
        base_model=tiny,
        item_embeddings=encoder(),
        candidate_model=MostPopular().fit(train),
        finetune=False,
        constrained=True,
        temperature=1.0,
        n_recommendations=6,
        max_new_tokens=120,
        show_progress=False,
        random_state=0,
        device="cpu",
    ).fit(train, item_metadata=items)
    out = model.generate(prompts[:8])
    titles = dict(zip(items.index, items["title"]))
    for prompt, row in zip(prompts[:8], out.itertuples()):
        assert row.generated and set(row.generated) <= set(titles.values())
        assert len(set(row.generated)) == len(row.generated)
        assert not {titles[i] for i in prompt} & set(row.generated)
        assert row.hallucinated == 0 and len(row.items) == 6
    # the same model left free writes noise
    free = model.set_params(constrained=False).generate(prompts[:8])
    assert (free["hallucinated"] > 0).any()


# ----------------------------------------------------------------------------- the constraint
class Chars:
    """A toy tokenizer: one token per character."""

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": [ord(ch) for ch in text]}


def _ids(text):
    return [ord(ch) for ch in text]


def _decode(constraint, banned=frozenset(), limit=200):
    """Greedy walk that always takes the smallest allowed token."""
    ids = []
    while len(ids) < limit:
        nxt = min(constraint.allowed(ids, banned))
        ids.append(nxt)
        if nxt == 0:
            return ids
    raise AssertionError("no end")


def test_the_list_constraint_forces_the_format_and_bans_repeats_and_prompt_items():
    c = TitleListConstraint(Chars(), ["ab", "b", "ab", "c", ""], 0, "<{answer}\n>", max_items=9)
    assert c.allowed([]) == _ids("<")
    assert c.allowed(_ids("<")) == _ids("1")  # the first line must start
    assert sorted(c.allowed(_ids("<1. "))) == _ids("abc")
    assert sorted(c.allowed(_ids("<1. "), banned={0, 2})) == _ids("bc")  # both "ab"s banned
    assert sorted(c.allowed(_ids("<1. "), banned={0})) == _ids("abc")  # item 2 is still "ab"
    ids = _decode(c, banned={3})
    text = "".join(map(chr, ids[:-1]))
    assert text == "<1. ab\n2. b\n>"  # "c" banned; nothing left after "b", so the footer
    assert c.entries(ids, banned={3}) == [[0, 2], [1]]
    assert c.entries(ids, banned={0}) == [[2], [1]]  # ties: only the unbanned items


def test_the_list_constraint_respects_max_items_and_the_token_budget():
    titles = ["ab", "b", "c"]
    c = TitleListConstraint(Chars(), titles, 0, "<{answer}\n>", max_items=1)
    assert c.allowed(_ids("<1. b\n")) == _ids(">")  # one item listed: only the footer
    budget = c.min_new_tokens  # room for exactly one line of the longest title
    c = TitleListConstraint(Chars(), titles, 0, "<{answer}\n>", max_new_tokens=budget)
    assert c.allowed(_ids("<1. b\n")) == _ids(">")
    roomy = TitleListConstraint(Chars(), titles, 0, "<{answer}\n>", max_new_tokens=budget + 6)
    assert sorted(roomy.allowed(_ids("<1. b\n"))) == _ids("2>")


def test_the_list_constraint_needs_a_footer_on_its_own_line():
    with pytest.raises(ValueError, match="line break"):
        TitleListConstraint(Chars(), ["a"], 0, "{answer} END")
    with pytest.raises(ValueError, match="no \\{answer\\}"):
        TitleListConstraint(Chars(), ["a"], 0, "nothing")


def test_the_list_constraint_tokenises_like_the_fine_tuning_answer(tiny):
    _, tok = load_causal_lm(tiny)
    titles = ["Lip Venom (Red)", "3 Pack Kohl!", 'L\'Oreal "Voluminous" 12.5 oz.']
    assistant = PAPER_TEMPLATES["genlist"].assistant
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the self-check would warn on a mismatch
        c = TitleListConstraint(tok, titles, tok.eos_token_id, assistant)
    from llmseqrec.llm import build_messages, encode_example

    messages = build_messages("genlist", ["x"], answer=titles[::-1])
    enc = encode_example(tok, messages)
    answer = enc["input_ids"][enc["labels"] != -100].tolist()  # what fine-tuning teaches
    answer = answer[: answer.index(tok.eos_token_id) + 1]
    for j in range(len(answer)):  # every fine-tuning token is allowed at its step
        assert answer[j] in c.allowed(answer[:j]), tok.decode(answer[: j + 1])
    assert c.entries(answer) == [[2], [1], [0]]


@pytest.mark.slow
def test_the_list_constraint_tokenises_like_smollm2():
    from transformers import AutoTokenizer

    from llmseqrec.llm import resolve_base_model

    name, gguf = resolve_base_model("smollm2")
    tok = AutoTokenizer.from_pretrained(name, gguf_file=gguf)
    titles = ["Lip Venom (Red)", "3 Pack Kohl!", 'L\'Oreal "Voluminous" 12.5 oz.']
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TitleListConstraint(tok, titles, tok.eos_token_id, PAPER_TEMPLATES["genlist"].assistant)


def test_generate_ids_are_the_answers_that_generate_decodes(tiny):
    model, tok = load_causal_lm(tiny)
    gen = LocalGenerator(model, tok, batch_size=2)
    conv = [[{"role": "user", "content": "red lipstick 1"}], [{"role": "user", "content": "x"}]]
    ids = gen.generate_ids(conv, n=2, temperature=1.0, max_new_tokens=6, seed=3)
    texts = gen.generate(conv, n=2, temperature=1.0, max_new_tokens=6, seed=3)
    assert [[tok.decode(a, skip_special_tokens=True) for a in row] for row in ids] == texts
    assert all(len(a) <= 6 for row in ids for a in row)
    assert all(tok.pad_token_id not in a for row in ids for a in row)  # no padding


def test_constrained_beam_search_returns_each_open_title_once(tiny):
    from llmseqrec.llm import TitleTrie

    model, tok = load_causal_lm(tiny)
    gen = LocalGenerator(model, tok, batch_size=2)
    titles = list(TITLES.values())  # 6 distinct titles ("pink blush 4" twice)
    trie = TitleTrie(tok, titles, tok.eos_token_id)
    conv = [[{"role": "user", "content": "red lipstick 1"}], [{"role": "user", "content": "x"}]]
    banned = [{0}, {1, 2}]  # red lipstick 1; blue mascara 2 and green shampoo 3
    ids = gen.generate_ids(
        conv, n=8, max_new_tokens=trie.depth, num_beams=8,
        allowed_tokens=lambda i, answer: trie.allowed(answer, banned[i]),
    )  # fmt: skip
    for answers, ban in zip(ids, banned):
        written = [tok.decode(a, skip_special_tokens=True) for a in answers]
        open_titles = {t for i, t in enumerate(titles) if i not in ban}
        # fewer open titles than beams: each once, no repeat fills the missing beams
        assert sorted(written) == sorted(open_titles)
    with pytest.raises(ValueError, match="num_beams >= n"):
        gen.generate_ids(conv, n=8, num_beams=4)
