"""Item-embedding layers: a trainable id table (optionally initialised from text vectors), or
frozen text vectors behind a trainable projection."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ItemEmbedding", "ProjectedTextEmbedding", "DualViewEmbedding", "ITEM_INITS"]

#: How a random item table is drawn (:class:`ItemEmbedding`).
ITEM_INITS = ("xavier", "normal")


class ItemEmbedding(nn.Module):
    """Trainable item table with rows ``0 = PAD``, ``1..n_items`` items, ``n_items + 1 = MASK``.

    Parameters
    ----------
    n_items : int
    dim : int
    init_vectors : Tensor of shape (n_items, dim), optional
        Initial rows of the items (e.g. reduced text embeddings); they then train normally.
    generator : torch.Generator, optional
        Seeds the random initialisation.
    init : {"xavier", "normal"}, default="xavier"
        How the random rows are drawn: Xavier-uniform (the reference Keras code leaves
        its item table at Keras's default, uniform in [-0.05, 0.05], and initialises its
        transformer layers Xavier-uniform), or N(0, 0.02) (RecBole's ``initializer_range``,
        BERT). Rows given by ``init_vectors`` keep them.
    """

    def __init__(
        self,
        n_items: int,
        dim: int,
        init_vectors: torch.Tensor | None = None,
        generator=None,
        init: str = "xavier",
    ):
        super().__init__()
        if init not in ITEM_INITS:
            raise ValueError(f"init must be one of {ITEM_INITS}, got {init!r}")
        self.n_items, self.dim = n_items, dim
        self.table = nn.Embedding(n_items + 2, dim, padding_idx=0)
        with torch.no_grad():
            if init == "normal":
                self.table.weight.normal_(0.0, 0.02, generator=generator)
            else:
                bound = (6.0 / (n_items + 2 + dim)) ** 0.5
                self.table.weight.uniform_(-bound, bound, generator=generator)
            self.table.weight[0].zero_()
            if init_vectors is not None:
                if tuple(init_vectors.shape) != (n_items, dim):
                    raise ValueError(
                        f"init_vectors must have shape ({n_items}, {dim}), got {tuple(init_vectors.shape)}"
                    )
                self.table.weight[1 : n_items + 1] = init_vectors

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, T) int64 -> (B, T, dim)."""
        return self.table(ids)

    def item_matrix(self) -> torch.Tensor:
        """Embeddings of the real items, (n_items, dim): the tied output layer."""
        return self.table.weight[1 : self.n_items + 1]


class ProjectedTextEmbedding(nn.Module):
    """Frozen text vectors behind a trainable linear projection (beyond the paper).

    Every item, including items never seen in training, is represented by
    ``W @ text_vector + b``, so the model can score new items from their text alone.
    PAD is zero; MASK has its own trainable vector.

    Parameters
    ----------
    text_vectors : Tensor of shape (n_items, text_dim)
    dim : int
    generator : torch.Generator, optional
    """

    def __init__(self, text_vectors: torch.Tensor, dim: int, generator=None):
        super().__init__()
        self.n_items, self.dim = text_vectors.shape[0], dim
        self.register_buffer("text", text_vectors.float())  # (n_items, text_dim), not trained
        self.proj = nn.Linear(text_vectors.shape[1], dim)
        self.mask = nn.Parameter(torch.zeros(dim))
        with torch.no_grad():
            bound = (6.0 / (text_vectors.shape[1] + dim)) ** 0.5
            self.proj.weight.uniform_(-bound, bound, generator=generator)
            self.proj.bias.zero_()
            self.mask.uniform_(-0.05, 0.05, generator=generator)

    def full_table(self) -> torch.Tensor:
        """(n_items + 2, dim): PAD, items, MASK."""
        items = self.proj(self.text)  # (n_items, dim)
        pad = torch.zeros(1, self.dim, device=items.device, dtype=items.dtype)
        return torch.cat([pad, items, self.mask[None].to(items.dtype)], dim=0)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, T) int64 -> (B, T, dim)."""
        return self.full_table()[ids]

    def item_matrix(self) -> torch.Tensor:
        return self.proj(self.text)


class DualViewEmbedding(nn.Module):
    """An item's trainable id row plus a trainable adapter of its frozen text vector (beyond
    the paper; the two views of LLM-ESR, NeurIPS 2024, fused by a sum at the input).

    ``e_i = table[i] + A @ text_i``: the id table starts from the reduced text vectors (the
    LLM-initialised model) and trains freely (the collaborative view); the full text vectors
    stay frozen behind the linear adapter ``A`` (the semantic view), which starts at zero, so
    training starts exactly from the LLM-initialised model.

    Parameters
    ----------
    text_vectors : Tensor of shape (n_items, text_dim)
    init_vectors : Tensor of shape (n_items, dim)
        Initial id rows (the reduced text vectors).
    generator : torch.Generator, optional
        Seeds the id table's PAD/MASK rows.
    """

    def __init__(self, text_vectors: torch.Tensor, init_vectors: torch.Tensor, generator=None):
        super().__init__()
        self.n_items, self.dim = init_vectors.shape
        if text_vectors.shape[0] != self.n_items:
            raise ValueError(
                f"text_vectors and init_vectors need one row per item, got "
                f"{text_vectors.shape[0]} and {self.n_items}"
            )
        self.ids = ItemEmbedding(self.n_items, self.dim, init_vectors, generator)
        self.register_buffer("text", text_vectors.float())  # (n_items, text_dim), not trained
        self.adapter = nn.Linear(text_vectors.shape[1], self.dim, bias=False)
        nn.init.zeros_(self.adapter.weight)

    def full_table(self) -> torch.Tensor:
        """(n_items + 2, dim): PAD (zero), items, MASK (its id row only)."""
        adapted = self.adapter(self.text)  # (n_items, dim)
        edge = torch.zeros(1, self.dim, device=adapted.device, dtype=adapted.dtype)
        return self.ids.table.weight + torch.cat([edge, adapted, edge], dim=0)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, T) int64 -> (B, T, dim)."""
        return self.full_table()[ids]

    def item_matrix(self) -> torch.Tensor:
        """(n_items, dim): the tied output layer."""
        return self.ids.item_matrix() + self.adapter(self.text)
