"""Losses over item scores (pure functions)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["full_softmax_loss", "sampled_softmax_loss", "gbce_loss", "sample_negatives"]


def full_softmax_loss(
    query: torch.Tensor,
    targets: torch.Tensor,
    item_matrix: torch.Tensor,
    bias: torch.Tensor,
    chunk_rows: int | None = None,
) -> torch.Tensor:
    """Mean cross-entropy over the whole catalogue, computed in row chunks.

    Equal to ``F.cross_entropy(query @ item_matrix.T + bias, targets - 1)`` but the
    (N, n_items) logits are never held at once: each chunk of rows is scored, reduced to its
    target's log-probability, and scored again in the backward pass. Memory stays bounded
    for large catalogues; on a CPU the chunks stay in cache (the loss itself ran ~1.3-1.6x
    faster on Beauty, a whole epoch ~5%).

    Parameters
    ----------
    query : (N, dim) projected hidden states at the positions that have a target
    targets : (N,) internal ids ``1..n_items``
    item_matrix : (n_items, dim)
    bias : (n_items,)
    chunk_rows : int, optional
        Rows scored at a time (default: about 400k logits per chunk on CPU, 32M on GPU).
    """
    if chunk_rows is None:
        budget = 2**25 if query.is_cuda else 3 * 2**17  # ~1.5 MB of logits stays in cache
        chunk_rows = max(1, budget // max(1, item_matrix.shape[0]))
    return _ChunkedSoftmaxCE.apply(query, targets - 1, item_matrix, bias, int(chunk_rows))


class _ChunkedSoftmaxCE(torch.autograd.Function):
    """Cross-entropy of ``query @ weight.T + bias`` recomputing logits chunk by chunk.

    One logits buffer is reused across chunks (fresh allocations of this size cost as much
    as the product on a CPU). Under CUDA autocast the products run in the autocast dtype
    (``custom_fwd``/``custom_bwd`` keep backward in the same state); the softmax is taken in
    at least float32.
    """

    @staticmethod
    def _workspace(query, weight, chunk_rows):
        """The compute dtype (at least float32), the weight in it (converted once, not per
        chunk) and one logits buffer reused by every chunk."""
        dtype = torch.promote_types(torch.promote_types(query.dtype, weight.dtype), torch.float32)
        buffer = torch.empty(
            min(chunk_rows, len(query)), len(weight), dtype=dtype, device=query.device
        )
        return dtype, weight.to(dtype), buffer

    @staticmethod
    def _logits(query, weight, bias, rows, buffer):
        """Logits of ``query[rows]`` into ``buffer``; ``weight`` is already in its dtype."""
        out = buffer[: len(query[rows])]
        torch.mm(query[rows].to(out.dtype), weight.T, out=out)  # (c, n_items)
        return out.add_(bias)

    @staticmethod
    @torch.amp.custom_fwd(device_type="cuda")
    def forward(ctx, query, labels, weight, bias, chunk_rows):
        dtype, w, buffer = _ChunkedSoftmaxCE._workspace(query, weight, chunk_rows)
        total = torch.zeros((), dtype=dtype, device=query.device)
        with torch.no_grad():
            for start in range(0, len(query), chunk_rows):
                rows = slice(start, start + chunk_rows)
                logits = _ChunkedSoftmaxCE._logits(query, w, bias, rows, buffer)
                log_probs = torch.log_softmax(logits, dim=1)  # (c, n_items)
                total -= log_probs.gather(1, labels[rows, None]).sum()
        ctx.save_for_backward(query, labels, weight, bias)
        ctx.chunk_rows = chunk_rows
        return total / len(query)

    @staticmethod
    @torch.amp.custom_bwd(device_type="cuda")
    def backward(ctx, grad_out):
        query, labels, weight, bias = ctx.saved_tensors
        dtype, w, buffer = _ChunkedSoftmaxCE._workspace(query, weight, ctx.chunk_rows)
        scale = (grad_out / len(query)).to(dtype)
        grad_query = torch.empty_like(query, dtype=dtype) if ctx.needs_input_grad[0] else None
        grad_weight = torch.zeros_like(weight, dtype=dtype)
        grad_bias = torch.zeros_like(bias, dtype=dtype)
        for start in range(0, len(query), ctx.chunk_rows):
            rows = slice(start, start + ctx.chunk_rows)
            logits = _ChunkedSoftmaxCE._logits(query, w, bias, rows, buffer)
            # d loss / d logits = (softmax - one_hot) / N
            probs = torch.softmax(logits, dim=1)  # (c, n_items)
            probs[torch.arange(len(probs), device=probs.device), labels[rows]] -= 1.0
            probs.mul_(scale)
            if grad_query is not None:
                torch.mm(probs, w, out=grad_query[rows])  # (c, dim)
            grad_weight.addmm_(probs.T, query[rows].to(dtype))  # (n_items, dim)
            grad_bias += probs.sum(0)
        return (
            None if grad_query is None else grad_query.to(query.dtype),
            None,
            grad_weight.to(weight.dtype),
            grad_bias.to(bias.dtype),
            None,
        )


def sample_negatives(
    n_items: int, n_negatives: int, log_q: torch.Tensor | None = None, generator=None
) -> torch.Tensor:
    """``n_negatives`` item indices ``0..n_items-1`` (0-based), drawn with replacement
    uniformly, or from the distribution ``exp(log_q)`` (n_items,) when given. Drawn on the
    CPU from ``generator``, so a seed gives the same negatives on every device."""
    if log_q is None:
        return torch.randint(0, n_items, (n_negatives,), generator=generator, device="cpu")
    probs = log_q.detach().float().cpu().exp()
    return torch.multinomial(probs, n_negatives, replacement=True, generator=generator)


def _sampled_logits(query, targets, item_matrix, bias, neg):
    """(N, 1) positive and (N, K) negative logits; negatives equal to a row's target are -inf."""
    rows = targets - 1
    pos = (query * item_matrix[rows]).sum(-1, keepdim=True) + bias[rows, None]  # (N, 1)
    negs = query @ item_matrix[neg].T + bias[neg]  # (N, K)
    return pos, negs.masked_fill(neg[None, :] == rows[:, None], float("-inf"))


def sampled_softmax_loss(
    query: torch.Tensor,
    targets: torch.Tensor,
    item_matrix: torch.Tensor,
    bias: torch.Tensor,
    n_negatives: int,
    generator=None,
    log_q: torch.Tensor | None = None,
) -> torch.Tensor:
    """Cross-entropy over the target and ``n_negatives`` items shared by the batch.

    Negatives are drawn uniformly (the logQ correction is then the same constant for every
    negative and is omitted), or from ``exp(log_q)`` (e.g. item popularity), in which case each
    negative's logit is corrected by ``- log(n_negatives * q_j)`` (the sampled-softmax
    estimator of Bengio & Senecal; Blanc & Rendle, 2018): the target is always present, not
    drawn, so its logit stays as it is, and the loss estimates the full softmax instead of
    one that pushes popular items down. Negatives that equal a row's target are masked out.

    Parameters
    ----------
    query : (N, dim)
    targets : (N,) internal ids ``1..n_items``
    item_matrix : (n_items, dim)
    bias : (n_items,)
    n_negatives : int
    generator : torch.Generator, optional
    log_q : (n_items,), optional
        Log-probabilities of sampling each item (summing to 1 in probability); best kept on
        the CPU, where the negatives are drawn.
    """
    neg = sample_negatives(item_matrix.shape[0], n_negatives, log_q, generator).to(query.device)
    pos, negs = _sampled_logits(query, targets, item_matrix, bias, neg)
    if log_q is not None:
        correction = log_q.to(negs.device)[neg] + math.log(n_negatives)  # (K,)
        negs = negs - correction[None, :].to(negs.dtype)
    logits = torch.cat([pos, negs], dim=1).float()  # (N, 1 + K)
    return F.cross_entropy(logits, torch.zeros(len(targets), dtype=torch.long, device=query.device))


def gbce_loss(
    query: torch.Tensor,
    targets: torch.Tensor,
    item_matrix: torch.Tensor,
    bias: torch.Tensor,
    n_negatives: int,
    t: float = 0.75,
    generator=None,
) -> torch.Tensor:
    """Generalised binary cross-entropy (gSASRec, Petrov & Macdonald, RecSys 2023).

    ``-beta * log sigmoid(s+) - sum_j log sigmoid(-s_j)`` over ``n_negatives`` uniform
    negatives shared by the batch, with ``beta = alpha * (t * (1 - 1/alpha) + 1/alpha)`` and
    ``alpha = n_negatives / (n_items - 1)``: ``t = 0`` is plain BCE, ``t = 1`` calibrates the
    positive's probability to the full catalogue (the overconfidence that negative sampling
    causes). Mean over rows.
    """
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"gbce t must be in [0, 1], got {t}")
    if n_negatives < 1:
        raise ValueError(f"n_negatives must be >= 1, got {n_negatives}")
    n_items = item_matrix.shape[0]
    neg = sample_negatives(n_items, n_negatives, None, generator).to(query.device)
    pos, negs = _sampled_logits(query, targets, item_matrix, bias, neg)
    alpha = n_negatives / max(1, n_items - 1)
    beta = 1.0 - t * (1.0 - alpha)  # = alpha * (t * (1 - 1/alpha) + 1/alpha), without 1/alpha
    pos_term = -beta * F.logsigmoid(pos.float()).squeeze(1)  # (N,)
    neg_term = -F.logsigmoid(-negs.float()).sum(1)  # (N,); masked -inf -> log 1 = 0
    return (pos_term + neg_term).mean()
