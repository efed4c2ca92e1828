"""The one seam between item text vectors and the models that use them.

Every model that can use item text vectors takes them through one parameter,
``item_embeddings``, and turns it into a matrix aligned with its item index with
:func:`item_embedding_matrix`. The accepted forms:

- ``None``: no text vectors (the model must then not ask for a matrix);
- ``"default"``: the offline default encoder (all-MiniLM-L6-v2 over titles);
- an :class:`ItemTextEncoder` (fitted inside ``fit`` on the item metadata);
- a mapping ``item id -> vector``;
- a :class:`pandas.DataFrame` indexed by item id, one column per dimension;
- a 2-D array, one row per row of the ``item_metadata`` given to ``fit``;
- a path to a ``.npz`` file (arrays ``ids`` and ``vectors``) or a ``.csv`` file (columns
  ``item_id`` and ``embedding`` as a JSON list: the paper's format).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from os import PathLike
from typing import TYPE_CHECKING, Literal, TypeVar

import numpy as np
import pandas as pd
from sklearn.base import clone

from ._files import read_item_embeddings

if TYPE_CHECKING:
    from typing import TypeAlias

    from numpy.typing import ArrayLike, DTypeLike

    from ._encoder import ItemTextEncoder

    #: The forms of a model's ``item_embeddings`` other than ``None`` (see the module
    #: docstring): ``"default"`` or a path (``str``), an :class:`ItemTextEncoder`, a mapping
    #: ``item id -> vector``, a DataFrame indexed by item id, or a 2-D array (or nested
    #: list) aligned with the rows of ``item_metadata``.
    ItemEmbeddingsLike: TypeAlias = (
        str
        | PathLike[str]
        | ItemTextEncoder
        | Mapping[Hashable, ArrayLike]
        | pd.DataFrame
        | np.ndarray
        | Sequence[Sequence[float]]
    )

_Estimator = TypeVar("_Estimator")

__all__ = [
    "item_embedding_matrix",
    "item_embedding_ids",
    "read_item_embeddings",
    "item_vectors",
    "reduce_item_vectors",
]

_FORMS = (
    "None, 'default', an ItemTextEncoder, a mapping item id -> vector, a DataFrame indexed "
    "by item id, a 2-D array aligned with the rows of item_metadata, or a .npz/.csv path"
)


def _is_path(value) -> bool:
    return isinstance(value, (str, PathLike)) and not (
        isinstance(value, str) and value == "default"
    )


def item_embedding_ids(item_embeddings: ItemEmbeddingsLike | None) -> list[Hashable] | None:
    """The item ids a mapping, DataFrame or file of vectors covers; ``None`` for other forms.

    Models whose catalogue may hold items never seen in training add these ids to it.
    """
    if isinstance(item_embeddings, pd.DataFrame):
        return list(item_embeddings.index)
    if isinstance(item_embeddings, Mapping):
        return list(item_embeddings.keys())
    if _is_path(item_embeddings):
        return list(read_item_embeddings(item_embeddings).keys())
    return None


def _as_mapping(item_embeddings, item_table: pd.DataFrame | None) -> Mapping | None:
    """The vectors of a precomputed form as a mapping; ``None`` for encoders."""
    if isinstance(item_embeddings, pd.DataFrame):
        return {i: row for i, row in zip(item_embeddings.index, item_embeddings.to_numpy())}
    if isinstance(item_embeddings, Mapping):
        return item_embeddings
    if _is_path(item_embeddings):
        return read_item_embeddings(item_embeddings)
    if isinstance(item_embeddings, (np.ndarray, list)):
        array = np.asarray(item_embeddings, dtype=np.float32)
        if item_table is None:
            raise ValueError(
                "an array of item embeddings is aligned with the rows of item_metadata; "
                "pass item_metadata to fit (or give a mapping item id -> vector)"
            )
        if array.ndim != 2 or len(array) != len(item_table):
            raise ValueError(
                f"item_embeddings array must have shape (n_rows of item_metadata="
                f"{len(item_table)}, dim), got {array.shape}"
            )
        return dict(zip(item_table.index.tolist(), array))
    return None


def _aligned_vectors(
    item_embeddings,
    item_ids: np.ndarray,
    item_metadata: pd.DataFrame | None = None,
    item_table: pd.DataFrame | None = None,
    dtype=np.float32,
) -> np.ndarray:
    """Item vectors in catalogue order, shape (n_items, dim).

    Parameters
    ----------
    item_embeddings : str, ItemTextEncoder, mapping, DataFrame, ndarray or path
        Any form listed in :mod:`llmseqrec.text._vectors` but ``None``. Items without
        a vector get zeros.
    item_ids : ndarray of shape (n_items,)
        The catalogue (external ids, internal order).
    item_metadata : pandas.DataFrame, optional
        Aligned with ``item_ids`` (rows may be all-NaN for items without metadata); what
        an encoder embeds.
    item_table : pandas.DataFrame, optional
        The item metadata as given to ``fit`` (indexed by item id): the rows a 2-D array
        of vectors is aligned with.
    dtype : numpy dtype, default=float32
        Of the matrix built from precomputed vectors (encoders give float32).
    """
    from ._encoder import ItemTextEncoder

    if item_embeddings is None:
        raise ValueError("item_embeddings is None: this model was asked for no text vectors")
    if isinstance(item_embeddings, str) and item_embeddings == "default":
        item_embeddings = ItemTextEncoder()
    if isinstance(item_embeddings, ItemTextEncoder):
        if item_metadata is None:
            raise ValueError(
                "item_embeddings is a text encoder, which needs item texts: pass "
                "item_metadata to fit"
            )
        encoder = clone(item_embeddings).fit(item_metadata)
        X = encoder.transform(item_metadata)
    else:
        mapping = _as_mapping(item_embeddings, item_table)
        if mapping is None:
            raise TypeError(
                f"item_embeddings must be one of: {_FORMS}; got {type(item_embeddings).__name__}"
            )
        if not len(mapping):
            raise ValueError("item_embeddings holds no vectors")
        dim = len(np.asarray(next(iter(mapping.values()))))
        X = np.zeros((len(item_ids), dim), dtype=dtype)
        for row, item in enumerate(item_ids.tolist()):
            vec = mapping.get(item)
            if vec is not None:
                vec = np.asarray(vec)
                if vec.size != dim:
                    raise ValueError(
                        f"item_embeddings: the vector of item {item!r} has shape {vec.shape}, "
                        f"the others ({dim},): every vector must have the same length"
                    )
                vec = vec.reshape(dim)
                X[row] = vec
    finite = np.isfinite(X).all(axis=1)
    if not finite.all():
        raise ValueError(
            f"item_embeddings has NaN or infinite values for {int((~finite).sum())} items "
            f"(first: item {item_ids[np.argmin(finite)]!r}); fix or drop those vectors"
        )
    return X


def item_vectors(
    embeddings: ItemEmbeddingsLike | None,
    item_ids: np.ndarray,
    item_metadata: pd.DataFrame | None = None,
) -> np.ndarray:
    """Deprecated: use :func:`item_embedding_matrix` (``None`` there means no vectors).

    Item vectors in catalogue order, shape (n_items, dim), float32; ``None`` or
    ``"default"`` use the default encoder, as in llmseqrec 0.1.
    """
    import warnings

    warnings.warn(
        "llmseqrec.text.item_vectors is deprecated and stops working in llmseqrec 0.3; use "
        "item_embedding_matrix (where None means no text vectors)",
        FutureWarning,
        stacklevel=2,
    )
    return _aligned_vectors(
        "default" if embeddings is None else embeddings, item_ids, item_metadata
    )


def pin_array_item_embeddings(estimator: _Estimator, item_table: pd.DataFrame | None) -> _Estimator:
    """``estimator`` with every array-valued ``item_embeddings`` (its own or a nested
    part's) turned into a mapping keyed by the rows of ``item_table``.

    A model that fits other models (hybrid parts, candidate models) hands them the item
    metadata in its own catalogue order, not in the order of the user's table that an
    array is aligned with; pinning the rows to their item ids first keeps them right.
    """
    if item_table is None or not hasattr(estimator, "get_params"):
        return estimator
    arrays = {
        key: value
        for key, value in estimator.get_params(deep=True).items()
        if key.split("__")[-1] == "item_embeddings" and isinstance(value, (np.ndarray, list))
    }
    if not arrays:
        return estimator
    from sklearn.base import clone

    return clone(estimator).set_params(
        **{key: _as_mapping(value, item_table) for key, value in arrays.items()}
    )


def reduce_item_vectors(
    X: ArrayLike,
    reduction: Literal["pca", "lda", "random", "autoencoder"] | None,
    n_components: int,
    item_metadata: pd.DataFrame | None = None,
    class_column: str | None = None,
    random_state: int | np.random.Generator | np.random.RandomState | None = None,
) -> tuple[np.ndarray, int]:
    """Reduce catalogue vectors with :class:`EmbeddingReducer`, reading LDA's item classes
    from ``item_metadata[class_column]``.

    Returns
    -------
    reduced : ndarray of shape (n_items, n_components_)
    n_components : int
        The size produced (LDA caps it at n_classes - 1).
    """
    from ._reduce import EmbeddingReducer

    labels = None
    if reduction == "lda":
        if class_column is None or item_metadata is None:
            raise ValueError(
                "reduction='lda' needs class_column naming an item-metadata column of classes"
            )
        labels = item_metadata[class_column].fillna(-1).astype(str).to_numpy()
    reducer = EmbeddingReducer(reduction, n_components, random_state=random_state).fit(X, labels)
    return reducer.transform(X), reducer.n_components_


def item_embedding_matrix(
    item_embeddings: ItemEmbeddingsLike,
    item_ids: np.ndarray,
    item_metadata: pd.DataFrame | None = None,
    *,
    item_table: pd.DataFrame | None = None,
    permute: bool = False,
    reduction: Literal["pca", "lda", "random", "autoencoder"] | None = None,
    n_components: int | None = None,
    class_column: str | None = None,
    normalize: bool = False,
    random_state: int | np.random.Generator | np.random.RandomState | None = None,
    dtype: DTypeLike = np.float32,
) -> tuple[np.ndarray, int]:
    """Convert, permute, reduce and normalise item text vectors: what every model does.

    Parameters
    ----------
    item_embeddings : str, ItemTextEncoder, mapping, DataFrame, ndarray or path
        A model's ``item_embeddings`` parameter (not ``None``).
    item_ids : ndarray of shape (n_items,)
        The model's catalogue, in internal order.
    item_metadata : pandas.DataFrame, optional
        Aligned with ``item_ids``.
    item_table : pandas.DataFrame, optional
        The item metadata as given to ``fit`` (for the array form).
    permute : bool, default=False
        The paper's control: shuffle the vectors across items (seeded by ``random_state``).
    reduction : {"pca", "lda", "random", "autoencoder"} or None
    n_components : int, optional
        The reduction's target size.
    class_column : str, optional
        Item-metadata column of classes for ``reduction="lda"``.
    normalize : bool, default=False
        L2-normalise the rows last (zero rows stay zero).
    random_state : int, optional
    dtype : numpy dtype, default=float32
        Of the matrix built from precomputed vectors, before any reduction.

    Returns
    -------
    X : ndarray of shape (n_items, dim)
    dim : int
        ``X.shape[1]`` (smaller than ``n_components`` when LDA caps it).
    """
    from ..utils import check_random_state
    from ._reduce import l2_normalize

    X = _aligned_vectors(item_embeddings, item_ids, item_metadata, item_table, dtype)
    if permute:
        X = X[check_random_state(random_state).permutation(len(X))]
    dim = X.shape[1]
    if reduction is not None:
        X, dim = reduce_item_vectors(
            X, reduction, n_components, item_metadata, class_column, random_state
        )
    if normalize:
        X = l2_normalize(X)
    return X, dim
