"""Exact, deterministic top-k over score matrices, whole or in item chunks.

The order is total: a higher score first, and among equal scores the smaller column.
``torch.topk`` is several times faster than ``numpy.argpartition`` on the CPU and runs where
the scores are (a GPU keeps them there), but the order it gives equal scores is not
specified; the functions here restore the total order, so results do not depend on the
hardware, the batch or the chunking.
"""

from __future__ import annotations

import torch

__all__ = ["topk_exact", "merge_topk", "chunked_topk"]


def _order(values: torch.Tensor, columns: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sort each row by (value descending, column ascending)."""
    columns, by_column = columns.sort(dim=1)
    values = values.gather(1, by_column)
    values, by_value = values.sort(dim=1, descending=True, stable=True)
    return values, columns.gather(1, by_value)


def topk_exact(scores: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` best columns of each row in the total order, with their scores.

    Parameters
    ----------
    scores : Tensor of shape (n, m)
        Without NaN (``-inf`` is allowed and ranks last).
    k : int
        ``1 <= k <= m``.

    Returns
    -------
    values : Tensor of shape (n, k)
        Best first.
    columns : Tensor of shape (n, k), int64
        Ties at equal scores are broken by the smaller column.

    Examples
    --------
    >>> v, c = topk_exact(torch.tensor([[0.1, 0.9, 0.5, 0.9, 0.5]]), 3)
    >>> c.tolist(), torch.equal(v, torch.tensor([[0.9, 0.9, 0.5]]))
    ([[1, 3, 2]], True)
    """
    # One more than asked: the k-th score also occurs outside the chosen set exactly when
    # the (k+1)-th equals it (no (n, m) temporary needed to find out).
    wider = min(k + 1, scores.shape[1])
    values, columns = torch.topk(scores, wider, dim=1, sorted=True)
    if scores.shape[0] == 0:
        return values[:, :k], columns[:, :k]
    tied = (
        values[:, k] == values[:, k - 1]
        if wider > k
        else torch.zeros(len(values), dtype=torch.bool, device=values.device)
    )
    values, columns = values[:, :k].clone(), columns[:, :k].clone()
    # Such rows must take the smallest columns among the tied ones (torch.topk picks any):
    # recompute them exactly.
    kth = values[:, -1:]
    for row in torch.nonzero(tied).flatten().tolist():
        s, t = scores[row], kth[row, 0]
        above = torch.nonzero(s > t).flatten()
        level = torch.nonzero(s == t).flatten()[: k - len(above)]  # ascending columns
        columns[row] = torch.cat([above, level])
        values[row] = s[columns[row]]
    return _order(values, columns)


def merge_topk(
    best: tuple[torch.Tensor, torch.Tensor] | None,
    chunk: tuple[torch.Tensor, torch.Tensor],
    k: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The top-k of two exact top-k lists (a running top-k and a new chunk's), exact.

    Parameters
    ----------
    best : (values, columns) of shape (n, <= k), or None
        The running top-k so far (None before the first chunk).
    chunk : (values, columns) of shape (n, <= k)
        A chunk's top-k, its columns already offset to catalogue columns.
    k : int

    Returns
    -------
    (values, columns) of shape (n, min(k, total width))
    """
    if best is None:
        return chunk
    values = torch.cat([best[0], chunk[0]], dim=1)
    columns = torch.cat([best[1], chunk[1]], dim=1)
    values, columns = _order(values, columns)
    return values[:, :k], columns[:, :k]


def chunked_topk(scorer, n_columns: int, width: int, k: int, mask=None):
    """Exact top-k of a score matrix produced a column chunk at a time.

    Parameters
    ----------
    scorer : callable
        ``scorer(c0, c1)`` returns the (n, c1 - c0) scores of columns ``c0..c1``.
    n_columns : int
    width : int
        Columns per chunk: at most (n x width) scores exist at once.
    k : int
        ``1 <= k <= n_columns``.
    mask : callable, optional
        ``mask(scores, c0)`` edits a chunk in place (e.g. ``-inf`` for excluded items) and
        returns it.

    Returns
    -------
    (values, columns) : Tensors of shape (n, k)
        As :func:`topk_exact` on the whole matrix.
    """
    best = None
    for c0 in range(0, n_columns, width):
        scores = scorer(c0, min(c0 + width, n_columns))
        if mask is not None:
            scores = mask(scores, c0)
        values, columns = topk_exact(scores, min(k, scores.shape[1]))
        del scores  # before the next chunk is computed: one chunk alive at a time
        best = merge_topk(best, (values, columns + c0), k)
    return best
