"""Catalogue-constrained decoding: the model can only write a catalogue title."""

from __future__ import annotations

__all__ = ["TitleTrie"]


class _Node:
    __slots__ = ("children", "titles")

    def __init__(self):
        self.children: dict[int, _Node] = {}
        self.titles: set[int] = set()  # the titles whose token path passes here


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
        self.root, self.end_id = _Node(), int(end_id)
        #: The longest title in tokens, its end token included (a decoding budget).
        self.depth = 0
        for index, title in enumerate(titles):
            if not title:
                continue
            node = self.root
            node.titles.add(index)
            path = [*tokenizer.encode(title, add_special_tokens=False), self.end_id]
            self.depth = max(self.depth, len(path))
            for token in path:
                node = node.children.setdefault(int(token), _Node())
                node.titles.add(index)

    def allowed(self, generated: list[int], banned: set[int] = frozenset()) -> list[int]:
        """Tokens that may follow ``generated`` (the answer so far); after a finished
        title only the end token (a decoder then pads)."""
        node = self.root
        for token in generated:
            if token == self.end_id:
                return [self.end_id]
            node = node.children.get(int(token))
            if node is None:  # off the trie (cannot happen while constrained): end it
                return [self.end_id]
        allowed = [
            token
            for token, child in node.children.items()
            if len(child.titles) > sum(1 for b in banned if b in child.titles)
        ]
        return allowed or [self.end_id]

    def titles_at(self, generated: list[int]) -> set[int]:
        """The title indices a finished answer spells (several when titles tokenise alike)."""
        node = self.root
        for token in generated:
            node = node.children.get(int(token))
            if node is None:
                return set()
            if token == self.end_id:
                return set(node.titles)
        return set()
