"""Mapping between external item ids (any hashable) and contiguous internal ids."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

import numpy as np

from ..exceptions import UnknownItemError

__all__ = ["ItemIndex", "PAD"]

#: Internal id reserved for padding; real items are ``1..n_items``.
PAD = 0


def _as_id_array(ids: Sequence[Hashable]) -> np.ndarray:
    """Array of external ids: ``int64`` when every id is an integer that fits, else
    ``object`` (so ids beyond int64, e.g. 128-bit hashes, stay exact Python ints)."""
    ids = list(ids)
    if ids and all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in ids):
        try:
            return np.asarray(ids, dtype=np.int64)
        except OverflowError:
            pass
    out = np.empty(len(ids), dtype=object)
    out[:] = ids
    return out


class ItemIndex:
    """Bidirectional map between external item ids and internal ids ``1..n_items``.

    Internal id ``0`` is reserved for padding (:data:`PAD`). The order of the
    catalogue is the order in which ids are given, so it is deterministic.

    Parameters
    ----------
    ids : sequence of hashable
        Distinct external item ids, in catalogue order.

    Examples
    --------
    >>> index = ItemIndex(["b", "a", "c"])
    >>> index.encode(["a", "c"]).tolist()
    [2, 3]
    >>> index.decode([1, 3]).tolist()
    ['b', 'c']
    >>> len(index)
    3
    """

    def __init__(self, ids: Sequence[Hashable]):
        self._ids = _as_id_array(ids)
        self._lookup = {item: pos + 1 for pos, item in enumerate(self._ids.tolist())}
        if len(self._lookup) != len(self._ids):
            raise ValueError("ItemIndex ids must be distinct.")

    @classmethod
    def from_sequences(
        cls, sequences: Iterable[Iterable[Hashable]], extra: Iterable[Hashable] = ()
    ):
        """Index every item in ``sequences`` (first-appearance order), then any ``extra`` ids."""
        seen: dict = {}
        for seq in sequences:
            for item in seq:
                seen.setdefault(item, None)
        for item in extra:
            seen.setdefault(item, None)
        return cls(list(seen))

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, item: Hashable) -> bool:
        return item in self._lookup

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ItemIndex) and self._ids.tolist() == other._ids.tolist()

    @property
    def ids(self) -> np.ndarray:
        """External ids in internal order, shape (n_items,); ``ids[j]`` has internal id ``j + 1``."""
        return self._ids

    def encode(self, items: Iterable[Hashable], handle_unknown: str = "ignore") -> np.ndarray:
        """External ids -> internal ids (int64).

        Parameters
        ----------
        items : iterable of hashable
        handle_unknown : {"ignore", "error", "pad"}
            ``"ignore"`` drops unknown ids, ``"pad"`` maps them to ``PAD``,
            ``"error"`` raises :class:`UnknownItemError`.
        """
        lookup = self._lookup
        if handle_unknown == "pad":
            return np.fromiter((lookup.get(i, PAD) for i in items), dtype=np.int64)
        codes = [lookup.get(i) for i in items]
        if handle_unknown == "error":
            unknown = [i for i, c in zip(items, codes) if c is None]
            if unknown:
                raise UnknownItemError(f"Unknown item ids (not seen in fit): {unknown[:10]!r}")
        elif handle_unknown != "ignore":
            raise ValueError(
                f"handle_unknown must be 'ignore', 'error' or 'pad', got {handle_unknown!r}"
            )
        return np.asarray([c for c in codes if c is not None], dtype=np.int64)

    def decode(self, codes: Iterable[int]) -> np.ndarray:
        """Internal ids (``1..n_items``) -> external ids."""
        codes = np.asarray(codes, dtype=np.int64)
        if codes.size and (codes.min() < 1 or codes.max() > len(self)):
            raise IndexError("internal ids must lie in 1..n_items")
        return self._ids[codes - 1]

    def to_json(self) -> dict:
        """JSON-serialisable form; raises ``TypeError`` for ids JSON cannot hold exactly."""
        ids = self._ids.tolist()
        bad = [i for i in ids if not isinstance(i, (str, int)) or isinstance(i, bool)]
        if bad:
            raise TypeError(
                f"Only str and int item ids can be saved; got {type(bad[0]).__name__} ({bad[0]!r})."
            )
        return {"ids": ids}

    @classmethod
    def from_json(cls, data: dict) -> ItemIndex:
        """Inverse of :meth:`to_json`."""
        return cls(data["ids"])
