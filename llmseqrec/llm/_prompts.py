"""The paper's chat prompts for the four LLMSeqPrompt variants, and parsers for the answers.

Templates are the exact strings of the authors' notebooks (paper-digest §1.3.2), including
their typos ("availabe"), so fine-tuning data matches the paper's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "PromptTemplates",
    "PAPER_TEMPLATES",
    "build_messages",
    "numbered",
    "parse_item",
    "parse_numbered_list",
    "parse_genlist",
]

VARIANTS = ("genitem", "genlist", "classify", "rank")


@dataclass(frozen=True)
class PromptTemplates:
    """System/user/assistant templates of one variant (``str.format`` fields: ``items``,
    ``candidates``, ``answer``)."""

    system: str
    user: str
    assistant: str = "{answer}"


_CHOICE_SYSTEM = (
    "You are a recommender system assistant. You have access to the user's previous purchases and a list of availabe products.\n"
    "Provide 20 product recommendations for this user, only select from the available products.\n"
)
_CHOICE_USER = (
    "\nThe user's previous purchases: \n{items}\n\nAvailable products:\n{candidates}\n\n\n"
    "Please remember to only select recommendations from the available products.\n"
)

PAPER_TEMPLATES = {
    "genitem": PromptTemplates(
        system="Provide a unique item recommendation that is complementary to the user's item list. \n"
        "Ensure the recommendation is from items included in the data you are fine-tuned with. List only the item name.",
        user="The user's item list:\n{items}",
    ),
    "genlist": PromptTemplates(
        system="You are a recommender system assistant.\nProvide 20 unique item recommendations complementary to the user's "
        "item list, ordered by the confidence level of each recommendation.\nEnsure all recommendations are from items "
        "included in the data you are fine-tuned with. List only the item names.\n",
        user="The user's item list are in the following lines\ndelimited by BEGIN and END. Each item is in a separate line:\n"
        "BEGIN\n{items}\nEND\n",
        assistant="The recommendations are in the following\nlines, in decreasing confidence order. The recommendations are "
        "delimited by\nBEGIN and END. Each recommendation is in a separate line:\nBEGIN\n{answer}\nEND\n",
    ),
    "classify": PromptTemplates(system=_CHOICE_SYSTEM, user=_CHOICE_USER),
    # The paper's fine-tuning notebook has no space after "assistant." here.
    "rank": PromptTemplates(
        system=_CHOICE_SYSTEM.replace("assistant. You", "assistant.You"), user=_CHOICE_USER
    ),
}


def numbered(names: list[str]) -> str:
    """``"1. a\\n2. b"`` (no trailing newline).

    >>> numbered(["Lipstick", "Mascara"])
    '1. Lipstick\\n2. Mascara'
    """
    return "\n".join(f"{i}. {name}" for i, name in enumerate(names, start=1))


def build_messages(
    variant: str, items: list[str], answer=None, candidates: list[str] | None = None, templates=None
) -> list[dict]:
    """Chat messages for one example: system, user and (for training) assistant.

    Parameters
    ----------
    variant : {"genitem", "genlist", "classify", "rank"}
    items : list of str
        Titles of the prompt items, oldest first.
    answer : str or list of str, optional
        The target: one title (GenItem) or a ranked list of titles (the others). ``None``
        leaves the assistant turn out (inference).
    candidates : list of str, optional
        The "available products" of Classify (representatives) and Rank (candidates).
    templates : dict, optional
        Per-variant :class:`PromptTemplates`; default the paper's.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    t = (templates or PAPER_TEMPLATES)[variant]
    if variant in ("classify", "rank") and candidates is None:
        raise ValueError(f"variant {variant!r} needs candidates")
    user = t.user.format(items="\n".join(items), candidates="\n".join(candidates or []))
    messages = [{"role": "system", "content": t.system}, {"role": "user", "content": user}]
    if answer is not None:
        text = answer if isinstance(answer, str) else numbered(list(answer))
        messages.append({"role": "assistant", "content": t.assistant.format(answer=text)})
    return messages


def parse_item(text: str) -> str:
    """GenItem: the generated name, stripped (and cut at a ``###`` stop marker).

    >>> parse_item("  Duo Lash Adhesive ###")
    'Duo Lash Adhesive'
    """
    return text.split("###", 1)[0].strip()


_NUMBERED = re.compile(r"^\s*\d+[.)]\s*(.+?)\s*$", re.M)


def parse_numbered_list(text: str, limit: int = 20) -> list[str]:
    """Names from a numbered list (``"1. a\\n2. b"``); falls back to non-empty lines.

    >>> parse_numbered_list("1. Lipstick\\n2) Mascara\\n\\n3. Kohl")
    ['Lipstick', 'Mascara', 'Kohl']
    >>> parse_numbered_list("Lipstick\\nMascara")
    ['Lipstick', 'Mascara']
    """
    names = [m.strip() for m in _NUMBERED.findall(text) if m.strip()]
    if not names:
        names = [
            line.strip()
            for line in text.splitlines()
            if line.strip() and line.strip() not in ("BEGIN", "END")
        ]
    return names[:limit]


def parse_genlist(text: str, limit: int = 20) -> list[str]:
    """GenList: the numbered list between the answer's ``BEGIN`` and ``END`` lines.

    Malformed answers fall back to any numbered lines, then to plain lines.

    >>> parse_genlist("The recommendations ... delimited by\\nBEGIN and END. ...:\\nBEGIN\\n1. a\\n2. b\\nEND\\n")
    ['a', 'b']
    >>> parse_genlist("1. a\\n2. b")
    ['a', 'b']
    """
    block = re.search(r"^BEGIN\s*$(.*?)^END\s*$", text, re.M | re.S)
    return parse_numbered_list(block.group(1) if block else text, limit)
