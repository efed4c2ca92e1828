import json

import numpy as np
import pytest

from llmseqrec.llm import (
    NameMapper,
    build_messages,
    genitem_examples,
    parse_genlist,
    parse_item,
    parse_numbered_list,
    write_chat_jsonl,
)


def test_genitem_prompt_is_the_papers():
    messages = build_messages("genitem", ["Lip Venom", "Kohl"], answer="Mascara")
    assert [m["role"] for m in messages] == ["system", "user", "assistant"]
    assert messages[0]["content"].startswith(
        "Provide a unique item recommendation that is complementary"
    )
    assert messages[1]["content"] == "The user's item list:\nLip Venom\nKohl"
    assert messages[2]["content"] == "Mascara"
    assert len(build_messages("genitem", ["a"])) == 2  # inference: no assistant turn


def test_list_variants_prompts():
    gl = build_messages("genlist", ["a", "b"], answer=["x", "y"])
    assert gl[1]["content"].endswith("BEGIN\na\nb\nEND\n")
    assert gl[2]["content"].endswith("BEGIN\n1. x\n2. y\nEND\n")
    assert parse_genlist(gl[2]["content"]) == ["x", "y"]  # the parser reads what training teaches
    rank = build_messages("rank", ["a"], answer=["c2", "c1"], candidates=["c1", "c2"])
    assert "Available products:\nc1\nc2\n" in rank[1]["content"]
    assert rank[0]["content"].startswith("You are a recommender system assistant.You have")
    assert build_messages("classify", ["a"], candidates=["r"])[0]["content"].startswith(
        "You are a recommender system assistant. You"
    )
    with pytest.raises(ValueError, match="candidates"):
        build_messages("rank", ["a"])
    with pytest.raises(ValueError, match="variant"):
        build_messages("chat", ["a"])


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1. a\n2. b\n3. c", ["a", "b", "c"]),
        ("Sure! Here:\n1) a\n 2. b  \nthanks", ["a", "b"]),  # chatter around a list
        ("a\nb", ["a", "b"]),  # no numbers: lines
        ("", []),
    ],
)
def test_parse_numbered_list_well_and_malformed(text, expected):
    assert parse_numbered_list(text) == expected


def test_parse_limits_and_item():
    assert len(parse_numbered_list("\n".join(f"{i}. x{i}" for i in range(1, 30)))) == 20
    assert parse_item(" Duo ### rest") == "Duo"
    assert parse_genlist("BEGIN\n1. a\nEND\ntrailing") == ["a"]


TITLES = ["Red Lipstick", "Red Lipstick Matte", "Garden Hose", "Blue Kite", "Red Lipstick Gloss"]
VECS = np.array([[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0, 0, 1], [0.95, 0.05, 0]], dtype=float)


def _mapper(calls=None):
    def embed(names):
        if calls is not None:
            calls.extend(names)
        return np.array(
            [[1.0, 0.02, 0.0] if "lip" in n.lower() else [0.0, 0.0, 1.0] for n in names]
        )

    return NameMapper(TITLES, VECS, embed)


def test_exact_titles_map_directly_case_and_spacing_ignored():
    calls = []
    codes, stats = _mapper(calls).map(["red  lipstick", "Garden Hose"], prompt=[], k=2)
    assert codes == [1, 3] and calls == []  # no embedding call for exact titles
    assert stats.hallucinated == 0 and stats.duplicates == 0


def test_hallucinations_go_to_the_nearest_item_and_duplicates_to_the_next():
    codes, stats = _mapper().map(
        ["Red Lipstick", "red lipstick", "Shiny lip balm", "kite thing"], prompt=[], k=4
    )
    # duplicate of item 1 -> next nearest to it (5: gloss); "Shiny lip balm" -> nearest unused (2);
    # "kite thing" -> 4
    assert codes == [1, 5, 2, 4]
    assert stats.duplicates == pytest.approx(0.25) and stats.hallucinated == pytest.approx(0.5)


def test_prompt_items_excluded_and_always_k():
    codes, stats = _mapper().map(["Red Lipstick"], prompt=[1], k=3)
    assert 1 not in codes and len(codes) == 3 and len(set(codes)) == 3
    assert stats.in_prompt == 1.0
    codes, _ = _mapper().map([], prompt=[3], k=2)  # nothing generated: nearest to the prompt
    assert len(codes) == 2 and 3 not in codes
    codes, _ = _mapper().map(["x"] * 10, prompt=[], k=10)
    assert sorted(codes) == [1, 2, 3, 4, 5]  # never more than the catalogue


def test_genitem_examples_and_jsonl(tmp_path):
    sessions = {
        "s1": ["a", "b", "c"],
        "s2": ["a", "b"],
        "s3": ["a", "x", "c"],
        "s4": ["c", "b", "a"],
    }
    titles = {"a": "A", "b": "B", "c": "C"}  # x has no title
    train, val = genitem_examples(sessions, titles, validation_share=0.5, random_state=0)
    assert len(train) + len(val) == 2 and len(val) == 1  # s2 too short, s3 untitled
    assert {m[2]["content"] for m in train + val} == {"C", "A"}
    path = write_chat_jsonl(train + val, tmp_path / "ft.jsonl")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert all(
        list(line) == ["messages"] and line["messages"][0]["role"] == "system" for line in lines
    )
