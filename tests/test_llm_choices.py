"""The request fields that tell an OpenAI-compatible server the allowed answers."""

import re

import pytest

from llmseqrec.llm import CHOICE_FIELDS, choice_payload, choices_from_payload

TITLES = [
    "Red Lipstick",
    'Say "hi"',
    "back\\slash",
    "tab\there",
    "naïve — ✓",
    "bell\bform\ffeed",
    "del\x7fend",
    "two\nlines",
    "a | b",
]


@pytest.mark.parametrize("field", CHOICE_FIELDS)
def test_every_field_carries_the_titles_exactly(field):
    payload = choice_payload(field, TITLES)
    assert list(payload) == [field]
    assert choices_from_payload(payload) == TITLES


def test_the_grammar_uses_only_the_escapes_llama_cpp_reads():
    grammar = choice_payload("grammar", TITLES)["grammar"]
    assert grammar.startswith("root ::= ")
    # llama.cpp's parse_char: \x \u \U \t \r \n \\ \" (and \[ \] \-); JSON's \b \f are errors
    escapes = re.findall(r"\\(.)", grammar.replace("\\\\", ""))
    assert set(escapes) <= set('xuUtrn"')
    assert "\\x08" in grammar and "\\x0C" in grammar and "\\x7F" in grammar
    assert "naïve — ✓" in grammar  # UTF-8 as it is
    assert not any(ord(c) < 0x20 for c in grammar)


def test_a_request_without_a_field_has_no_choices_and_bad_input_fails():
    assert choices_from_payload({"messages": []}) is None
    with pytest.raises(ValueError, match="one of"):
        choice_payload("logit_bias", TITLES)
    with pytest.raises(ValueError, match="empty"):
        choice_payload("guided_choice", [])
