"""Dimensionality reduction of item embeddings: PCA, LDA, random projection, linear autoencoder."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Literal

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ..utils import RenamedParametersMixin, check_random_state, torch_generator

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = ["EmbeddingReducer", "REDUCTIONS", "l2_normalize"]

REDUCTIONS = ("pca", "lda", "random", "autoencoder")


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm; all-zero rows stay zero.

    >>> l2_normalize(np.array([[3.0, 4.0], [0.0, 0.0]])).tolist()
    [[0.6, 0.8], [0.0, 0.0]]
    """
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


class EmbeddingReducer(RenamedParametersMixin, TransformerMixin, BaseEstimator):
    """Reduce item embeddings to ``n_components`` dimensions.

    Parameters
    ----------
    method : {"pca", "lda", "random", "autoencoder"} or None, default="pca"
        ``None`` keeps the vectors as they are (then only ``normalize`` applies).
        ``"pca"``: scikit-learn PCA (centred, not whitened), at most
        min(n_items, dim) components (a warning says when that caps it). ``"lda"``: linear
        discriminant analysis on item classes passed as ``y``; its size is capped at
        ``n_classes - 1`` (a warning says so). ``"random"``: Gaussian random projection.
        ``"autoencoder"``: the paper's linear autoencoder (no activations; encoder
        widths ..., 4d, 2d, d; MSE; Adam).
    n_components : int, default=128
    normalize : bool, default=False
        L2-normalise the reduced rows (LLMSeqSim does; LLM2Sequential models do not).
    random_state : int, optional
    ae_epochs : int, default=3
    ae_batch_size : int, default=512
    ae_learning_rate : float, default=1e-3

    Attributes
    ----------
    n_components_ : int
        The size actually produced (smaller than asked for when LDA or the data caps it).
    """

    def __init__(
        self,
        method: Literal["pca", "lda", "random", "autoencoder"] | None = "pca",
        n_components: int = 128,
        normalize: bool = False,
        random_state: int | np.random.Generator | np.random.RandomState | None = None,
        ae_epochs: int = 3,
        ae_batch_size: int = 512,
        ae_learning_rate: float = 1e-3,
        **deprecated: object,
    ) -> None:
        self.method = method
        self.n_components = n_components
        self.normalize = normalize
        self.random_state = random_state
        self.ae_epochs = ae_epochs
        self.ae_batch_size = ae_batch_size
        self.ae_learning_rate = ae_learning_rate
        self._take_renamed(deprecated)

    _renamed_parameters = {"ae_lr": "ae_learning_rate"}

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> EmbeddingReducer:
        """Fit on embeddings ``X`` of shape (n_items, n_features); ``y`` = item classes (LDA)."""
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (n_items, n_features), got shape {X.shape}")
        if self.method is not None and self.method not in REDUCTIONS:
            raise ValueError(f"method must be one of {REDUCTIONS} or None, got {self.method!r}")
        if self.method is not None and (
            not isinstance(self.n_components, (int, np.integer)) or self.n_components < 1
        ):
            raise ValueError(f"n_components must be a positive integer, got {self.n_components!r}")
        seed = int(check_random_state(self.random_state).integers(0, 2**31 - 1))
        n = self.n_components
        if self.method is None:
            self.n_components_ = X.shape[1]
        elif self.method == "pca":
            from sklearn.decomposition import PCA

            cap = min(X.shape[0], X.shape[1])
            if n > cap:
                warnings.warn(
                    f"PCA gives at most min(n_items, dim) = min({X.shape[0]}, {X.shape[1]}) = "
                    f"{cap} components; using {cap} instead of {n}",
                    stacklevel=2,
                )
                n = cap
            self.model_ = PCA(n_components=n, random_state=seed).fit(X)
            self.n_components_ = n
        elif self.method == "lda":
            from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

            if y is None:
                raise ValueError("method='lda' needs item classes: fit(X, y=classes)")
            n_classes = len(np.unique(y))
            cap = min(X.shape[1], n_classes - 1)
            if cap < 1:
                raise ValueError("method='lda' needs at least 2 item classes")
            if n > cap:
                warnings.warn(
                    f"LDA gives at most n_classes - 1 = {cap} components; using {cap} instead of {n}",
                    stacklevel=2,
                )
                n = cap
            self.model_ = LinearDiscriminantAnalysis(n_components=n).fit(X, np.asarray(y))
            self.n_components_ = n
        elif self.method == "random":
            from sklearn.random_projection import GaussianRandomProjection

            self.model_ = GaussianRandomProjection(n_components=n, random_state=seed).fit(X)
            self.n_components_ = n
        else:
            self.model_ = _fit_linear_autoencoder(
                X, n, self.ae_epochs, self.ae_batch_size, self.ae_learning_rate, self.random_state
            )
            self.n_components_ = n
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        """Reduced embeddings, shape (n_items, n_components_), float32."""
        X = np.asarray(X, dtype=np.float32)
        if self.method is None:
            out = X
        elif self.method == "autoencoder":
            weight, bias = self.model_
            out = X @ weight + bias
        else:
            out = self.model_.transform(X)
        out = np.asarray(out, dtype=np.float32)
        return l2_normalize(out) if self.normalize else out


def _fit_linear_autoencoder(X, n, epochs, batch_size, lr, random_state):
    """Train the paper's linear autoencoder; return the composed encoder as (weight, bias).

    With no activations the encoder is one affine map, so it is returned as a single
    (n_features, n) matrix and bias.
    """
    import torch
    from torch import nn

    d_in = X.shape[1]
    widths = []
    w = 2 * n
    while w <= d_in:  # hidden widths 2d, 4d, ... while they fit the input
        widths.append(w)
        w *= 2
    enc_sizes = [d_in, *reversed(widths), n]
    gen = torch_generator(random_state)
    layers = [nn.Linear(a, b) for a, b in zip(enc_sizes[:-1], enc_sizes[1:])]
    dec = [nn.Linear(a, b) for a, b in zip(reversed(enc_sizes[1:]), reversed(enc_sizes[:-1]))]
    model = nn.Sequential(*layers, *dec)
    with torch.no_grad():
        for layer in model:  # seeded init (never the global RNG)
            bound = 1.0 / np.sqrt(layer.in_features)
            layer.weight.uniform_(-bound, bound, generator=gen)
            layer.bias.uniform_(-bound, bound, generator=gen)
    data = torch.from_numpy(X)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        perm = torch.randperm(len(data), generator=gen)
        for start in range(0, len(data), batch_size):
            batch = data[perm[start : start + batch_size]]  # (B, d_in)
            loss = torch.mean((model(batch) - batch) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        weight = torch.eye(d_in)
        bias = torch.zeros(d_in)
        for layer in layers:  # compose the affine maps: x W1^T + b1 -> ...
            bias = bias @ layer.weight.T + layer.bias
            weight = weight @ layer.weight.T
    return weight.numpy().astype(np.float32), bias.numpy().astype(np.float32)
