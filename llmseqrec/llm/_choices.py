"""Telling an OpenAI-compatible server which answers it may write (constrained GenItem).

Servers that constrain decoding take the allowed answers in different request fields:

- ``"structured_outputs"``: vLLM >= 0.12, ``{"structured_outputs": {"choice": [...]}}``;
- ``"guided_choice"``: vLLM before 0.12 (and servers that copied its API),
  ``{"guided_choice": [...]}``;
- ``"grammar"``: llama.cpp's server, a GBNF grammar ``root ::= "a" | "b" | ...``.

OpenAI's own API has no such field (``logit_bias`` raises or lowers single tokens for the
whole answer and cannot follow a title token by token).
"""

from __future__ import annotations

import re

__all__ = ["CHOICE_FIELDS", "check_choice_field", "choice_payload", "choices_from_payload"]

#: Request fields that carry the allowed answers (see the module's docstring).
CHOICE_FIELDS = ("structured_outputs", "guided_choice", "grammar")

_GBNF_LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')
_GBNF_NAMED = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_GBNF_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)")


def _gbnf_literal(text: str) -> str:
    r"""A GBNF string literal: llama.cpp reads only \\ \" \n \r \t and \xHH / \uHHHH
    escapes (JSON's \b and \f would be rejected); other control characters as \xHH,
    everything else as it is (UTF-8)."""
    out = []
    for ch in text:
        if ch in _GBNF_NAMED:
            out.append(_GBNF_NAMED[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _gbnf_unescape(body: str) -> str:
    named = {"n": "\n", "r": "\r", "t": "\t"}

    def one(m):
        e = m.group(1)
        return chr(int(e[1:], 16)) if e[0] in "xuU" and len(e) > 1 else named.get(e, e)

    return _GBNF_ESCAPE.sub(one, body)


def _gbnf(choices: list[str]) -> str:
    return "root ::= " + " | ".join(_gbnf_literal(c) for c in choices)


def check_choice_field(field: str) -> None:
    """Raise unless ``field`` is one of :data:`CHOICE_FIELDS`."""
    if field not in CHOICE_FIELDS:
        raise ValueError(f"the choice field must be one of {CHOICE_FIELDS}, got {field!r}")


def choice_payload(field: str, choices: list[str]) -> dict:
    """The request fields that restrict the answer to one of ``choices``.

    >>> choice_payload("guided_choice", ["Red Lipstick", "Blue"])
    {'guided_choice': ['Red Lipstick', 'Blue']}
    >>> choice_payload("grammar", ['Say "hi"', "x"])["grammar"]
    'root ::= "Say \\\\"hi\\\\"" | "x"'
    """
    check_choice_field(field)
    if not choices:
        raise ValueError("no answer is allowed: choices is empty")
    if field == "structured_outputs":
        return {"structured_outputs": {"choice": list(choices)}}
    if field == "guided_choice":
        return {"guided_choice": list(choices)}
    return {"grammar": _gbnf(choices)}


def choices_from_payload(request: dict) -> list[str] | None:
    """The allowed answers a request carries in any of :data:`CHOICE_FIELDS`, else ``None``
    (what a constraining server reads; the grammar only in :func:`choice_payload`'s form).

    >>> choices_from_payload(choice_payload("grammar", ['Say "hi"', "a | b"]))
    ['Say "hi"', 'a | b']
    """
    structured = request.get("structured_outputs")
    if isinstance(structured, dict) and structured.get("choice") is not None:
        return [str(c) for c in structured["choice"]]
    if request.get("guided_choice") is not None:
        return [str(c) for c in request["guided_choice"]]
    grammar = request.get("grammar")
    if grammar is not None:
        body = str(grammar).split("::=", 1)[-1]
        return [_gbnf_unescape(m) for m in _GBNF_LITERAL.findall(body)]
    return None
