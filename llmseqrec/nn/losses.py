"""Losses over item scores (pure functions)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["full_softmax_loss", "sampled_softmax_loss"]


def full_softmax_loss(
    query: torch.Tensor, targets: torch.Tensor, item_matrix: torch.Tensor, bias: torch.Tensor
) -> torch.Tensor:
    """Cross-entropy over the whole catalogue.

    Parameters
    ----------
    query : (N, dim) projected hidden states at the positions that have a target
    targets : (N,) internal ids ``1..n_items``
    item_matrix : (n_items, dim)
    bias : (n_items,)
    """
    logits = query @ item_matrix.T + bias  # (N, n_items)
    return F.cross_entropy(logits.float(), targets - 1)


def sampled_softmax_loss(
    query: torch.Tensor,
    targets: torch.Tensor,
    item_matrix: torch.Tensor,
    bias: torch.Tensor,
    n_negatives: int,
    generator=None,
) -> torch.Tensor:
    """Cross-entropy over the target and ``n_negatives`` uniformly sampled items (shared by
    the batch), with the logQ correction of uniform sampling omitted (it is constant).
    Negatives that equal a row's target are masked out.
    """
    n_items = item_matrix.shape[0]
    neg = torch.randint(0, n_items, (n_negatives,), generator=generator, device="cpu").to(
        query.device
    )  # (K,)
    pos_logit = (query * item_matrix[targets - 1]).sum(-1, keepdim=True) + bias[
        targets - 1, None
    ]  # (N, 1)
    neg_logit = query @ item_matrix[neg].T + bias[neg]  # (N, K)
    neg_logit = neg_logit.masked_fill(neg[None, :] == (targets - 1)[:, None], float("-inf"))
    logits = torch.cat([pos_logit, neg_logit], dim=1).float()  # (N, 1 + K)
    return F.cross_entropy(logits, torch.zeros(len(targets), dtype=torch.long, device=query.device))
