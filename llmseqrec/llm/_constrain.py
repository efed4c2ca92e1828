"""Catalogue-constrained decoding: the model can only write catalogue titles.

:class:`TitleTrie` constrains a GenItem answer (one title, then the end of the turn);
:class:`TitleListConstraint` a GenList answer (the template's header, then numbered lines
that are each a catalogue title, then the template's footer). Both give, for the tokens
generated so far, the tokens that may come next: transformers' ``prefix_allowed_tokens_fn``.
"""

from __future__ import annotations

import warnings
from collections import Counter

from ._prompts import numbered

__all__ = ["TitleTrie", "TitleListConstraint"]


class _Node:
    __slots__ = ("children", "titles")

    def __init__(self):
        self.children: dict[int, _Node] = {}
        self.titles: set[int] = set()  # the titles whose token path passes here


class _Trie:
    """Token paths of titles; a path's last node is a leaf that belongs to its titles."""

    def __init__(self):
        self.root = _Node()
        self.paths: dict[int, list[int]] = {}
        #: The longest path in tokens.
        self.depth = 0

    def add(self, index: int, path: list[int]) -> None:
        node = self.root
        node.titles.add(index)
        self.paths[index] = path
        self.depth = max(self.depth, len(path))
        for token in path:
            node = node.children.setdefault(int(token), _Node())
            node.titles.add(index)

    def open_tokens(self, node: _Node, depth: int, banned) -> list[int]:
        """Children of ``node`` (``depth`` tokens below the root) on the path of at least
        one title that is not banned: O(children + banned), however large ``banned``'s
        titles' subtrees are."""
        blocked = Counter(
            self.paths[b][depth] for b in banned if b in node.titles and len(self.paths[b]) > depth
        )
        return [
            token
            for token, child in node.children.items()
            if blocked.get(token, 0) < len(child.titles)
        ]


class TitleTrie:
    """A token trie of catalogue titles, each followed by the end-of-answer token.

    ``allowed(generated, banned)`` gives the tokens that keep the answer on the path of a
    catalogue title that is not banned (e.g. the prompt's own items), so a constrained
    decoder writes exactly one title and stops. Titles that tokenise identically share a
    path: its end belongs to all of their items.

    Parameters
    ----------
    tokenizer
        Encodes a title as the model writes it in an answer (no special tokens).
    titles : list of str
        Index ``i`` is item code ``i + 1``; empty titles are left out.
    end_id : int
        The token that ends an answer (the chat template's end of turn).

    Examples
    --------
    >>> class Chars:  # a toy tokenizer: one token per character
    ...     def encode(self, text, add_special_tokens=False):
    ...         return [ord(c) for c in text]
    >>> trie = TitleTrie(Chars(), ["ab", "ac", "b"], end_id=0)
    >>> sorted(trie.allowed([]))
    [97, 98]
    >>> sorted(trie.allowed([97], banned={0}))  # "ab" banned: only "ac" goes on
    [99]
    >>> trie.allowed([97, 99])
    [0]
    """

    def __init__(self, tokenizer, titles: list[str], end_id: int):
        self.end_id = int(end_id)
        self._trie = _Trie()
        for index, title in enumerate(titles):
            if title:
                path = [*tokenizer.encode(title, add_special_tokens=False), self.end_id]
                self._trie.add(index, [int(t) for t in path])

    @property
    def root(self) -> _Node:
        return self._trie.root

    @property
    def depth(self) -> int:
        """The longest title in tokens, its end token included (a decoding budget)."""
        return self._trie.depth

    def allowed(self, generated: list[int], banned: set[int] = frozenset()) -> list[int]:
        """Tokens that may follow ``generated`` (the answer so far); after a finished
        title only the end token (a decoder then pads)."""
        node = self._trie.root
        for token in generated:
            if token == self.end_id:
                return [self.end_id]
            node = node.children.get(int(token))
            if node is None:  # off the trie (cannot happen while constrained): end it
                return [self.end_id]
        return self._trie.open_tokens(node, len(generated), banned) or [self.end_id]

    def titles_at(self, generated: list[int]) -> set[int]:
        """The title indices a finished answer spells (several when titles tokenise alike)."""
        node = self._trie.root
        for token in generated:
            node = node.children.get(int(token))
            if node is None:
                return set()
            if token == self.end_id:
                return set(node.titles)
        return set()


class TitleListConstraint:
    """Constrain a GenList answer to a numbered list of distinct catalogue titles.

    The answer the model was fine-tuned on is the assistant template with ``{answer}``
    replaced by ``numbered(titles)``: a header (the text before ``{answer}``), lines
    ``"1. <title>"``, ``"2. <title>"``, ... and a footer (the text after ``{answer}``),
    then the end-of-turn token. :meth:`allowed` forces the header and the line numbers,
    lets each line's title follow only the token trie of the catalogue titles, and after a
    finished line offers the next line's number or the footer. A title is banned while
    decoding once it is listed, and the caller's ``banned`` titles (the prompt's items)
    never start: no duplicates and no prompt items, by construction.

    Each piece is tokenised in context, as it is inside the whole answer; the tokens of a
    whole example answer are checked against the pieces once, with a warning if the
    tokenizer merges across their boundaries (the model would then be steered onto token
    sequences it never saw in fine-tuning).

    Parameters
    ----------
    tokenizer
        The model's tokenizer (``tokenizer(text, add_special_tokens=False)``).
    titles : list of str
        Index ``i`` is item code ``i + 1``; empty titles and titles with a line break
        (which cannot be one line of the list) are left out.
    end_id : int
        The token that ends an answer (the chat template's end of turn).
    assistant_template : str
        The GenList assistant template, ``"{answer}"`` inside; the text after it must
        start with a line break (the paper's does: ``"\\nEND\\n"``).
    max_items : int, default=20
        No new line starts once the listed lines name this many items.
    max_new_tokens : int, optional
        The decoding budget: no new line starts unless it and the footer surely fit, so
        the answer always ends with the footer. ``None``: no budget.

    Examples
    --------
    Decoding an answer and reading its lines back (titles that tokenise alike share a
    line: ``"ab"`` is items 0 and 2):

    >>> class Chars:  # one token per character
    ...     def __call__(self, text, add_special_tokens=False):
    ...         return {"input_ids": [ord(c) for c in text]}
    >>> c = TitleListConstraint(Chars(), ["ab", "b", "ab"], 0, "<{answer}\\n>", max_items=3)
    >>> answer = [ord(ch) for ch in "<1. ab\\n"]
    >>> [chr(t) for t in sorted(c.allowed(answer))]  # the next line's number or the footer
    ['2', '>']
    >>> [chr(t) for t in c.allowed(answer + [ord("2"), ord("."), ord(" ")])]  # "ab" is used
    ['b']
    >>> c.entries(answer + [ord(ch) for ch in "2. b\\n>"] + [0])
    [[0, 2], [1]]
    """

    def __init__(
        self,
        tokenizer,
        titles: list[str],
        end_id: int,
        assistant_template: str,
        max_items: int = 20,
        max_new_tokens: int | None = None,
    ):
        if "{answer}" not in assistant_template:
            raise ValueError("the GenList assistant template has no {answer} field")
        header, footer = assistant_template.split("{answer}", 1)
        if not footer.startswith("\n"):
            raise ValueError(
                "constrained GenList needs the text after {answer} in the assistant template "
                f"to start with a line break (the paper's is '\\nEND\\n'); got {footer!r}"
            )
        self._tok, self.end_id = tokenizer, int(end_id)
        self.max_items, self.max_new_tokens = int(max_items), max_new_tokens
        self.header = self._ids(header)
        self.footer = [*self._after("x\n", footer[1:]), self.end_id]
        self._numbers: dict[int, list[int]] = {}
        self._header_text = header
        self._trie = _Trie()
        for index, title in enumerate(titles):
            if title and "\n" not in title:
                self._trie.add(index, self._after("1.", f" {title}\n"))
        self._check_tokenisation([t for t in titles if t and "\n" not in t][:2], footer)

    # -------------------------------------------------------------- tokenisation
    def _ids(self, text: str) -> list[int]:
        return [int(t) for t in self._tok(text, add_special_tokens=False)["input_ids"]]

    def _after(self, context: str, text: str) -> list[int]:
        """The tokens of ``text`` when it follows ``context`` (as inside the answer)."""
        whole, head = self._ids(context + text), self._ids(context)
        return whole[len(head) :] if whole[: len(head)] == head else self._ids(text)

    def _number(self, k: int) -> list[int]:
        """Tokens of line ``k``'s number (``"k."``; the space belongs to the title)."""
        if k not in self._numbers:
            context = self._header_text if k == 1 else "x\n"
            self._numbers[k] = self._after(context, f"{k}.")
        return self._numbers[k]

    def _check_tokenisation(self, sample: list[str], footer: str) -> None:
        if not sample:
            return
        whole = self._ids(self._header_text + numbered(sample) + footer) + [self.end_id]
        pieces = list(self.header)
        for k, title in enumerate(sample, start=1):
            pieces += self._number(k) + self._after("1.", f" {title}\n")
        if pieces + self.footer[:-1] + [self.end_id] != whole:
            warnings.warn(
                "this tokenizer splits a GenList answer differently from the pieces the "
                "constraint is built of; constrained GenList may write token sequences that "
                "the model never saw in fine-tuning",
                stacklevel=3,
            )

    @property
    def min_new_tokens(self) -> int:
        """Tokens an answer with one line of the longest title needs (a budget floor)."""
        return len(self.header) + len(self._number(1)) + self._trie.depth + len(self.footer)

    # -------------------------------------------------------------- decoding
    def allowed(self, generated: list[int], banned: set[int] = frozenset()) -> list[int]:
        """Tokens that may follow ``generated`` (the answer so far; never empty)."""
        return self._walk(generated, banned)[1]

    def entries(self, generated: list[int], banned: set[int] = frozenset()) -> list[list[int]]:
        """The finished lines of an answer, each as the sorted indices of the titles it
        names that are not ``banned`` (several when titles tokenise alike)."""
        return self._walk(generated, banned)[0]

    def _walk(self, generated, banned):
        """Replay ``generated``: (finished lines, tokens allowed next)."""
        generated = [int(t) for t in generated]
        used, lines, items = set(banned), [], 0
        _, pos = _choose({"header": self.header}, generated, 0)
        if isinstance(pos, list):
            return lines, pos or [self.end_id]
        while True:
            if pos == len(generated):  # at a line boundary: what may start here
                return lines, self._starts(len(lines) + 1, items, pos, used)
            # Past the boundary the choice was made under _starts' rules: just follow it.
            options = {"line": self._number(len(lines) + 1), "footer": self.footer}
            kind, pos = _choose(options, generated, pos)
            if isinstance(pos, list):
                return lines, pos or [self.end_id]  # mid-piece, or off (cannot happen)
            if kind == "footer":
                return lines, [self.end_id]  # finished; the decoder pads
            pos, titles = self._title(generated, pos, used)
            if isinstance(pos, list):
                return lines, pos
            named = sorted(titles - used)
            used |= titles
            lines.append(named)
            items += len(named)

    def _starts(self, k: int, items: int, pos: int, used: set) -> list[int]:
        """First tokens of what may begin at a line boundary: line ``k`` (while items are
        wanted, a title is left and the line and the footer fit the budget) or the footer
        (after at least one line, or when no line can start)."""
        line = self._number(k)
        fits = self.max_new_tokens is None or (
            pos + len(line) + self._trie.depth + len(self.footer) <= self.max_new_tokens
        )
        starts = set()
        if items < self.max_items and fits and self._trie.open_tokens(self._trie.root, 0, used):
            starts.add(line[0])
        if k > 1 or not starts:
            starts.add(self.footer[0])
        return sorted(starts)

    def _title(self, generated, pos, used):
        """Follow one line's title from ``pos``: (position after it, its titles), or
        (allowed tokens, None) when ``generated`` ends inside it."""
        node, start = self._trie.root, pos
        while True:
            if pos == len(generated):
                return self._trie.open_tokens(node, pos - start, used) or [self.end_id], None
            node = node.children.get(generated[pos])
            if node is None:  # off the trie (cannot happen while constrained): end it
                return [self.end_id], None
            pos += 1
            if not node.children:
                return pos, set(node.titles)


def _choose(options: dict[str, list[int]], generated: list[int], pos: int):
    """Which of ``options`` (token sequences) ``generated`` follows from ``pos``:
    ``(name, position after it)``; ``(None, allowed next tokens)`` while undecided;
    ``(None, [])`` when it left every option."""
    live, j = dict(options), 0
    while True:
        done = [name for name, seq in live.items() if len(seq) == j]
        if done:
            return done[0], pos + j
        if pos + j == len(generated):
            return None, sorted({seq[j] for seq in live.values()})
        live = {name: seq for name, seq in live.items() if seq[j] == generated[pos + j]}
        if not live:
            return None, []
        j += 1
