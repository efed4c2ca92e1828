"""Faster runtimes for the neural text backends (same model, same vectors within a tolerance).

A neural backend (sentence-transformers or plain ``transformers``) is a tokenizer plus a torch
module that maps token ids to one pooled vector per text. The runtimes here run that module
differently:

- ``"torch"``: as loaded (float32 on the CPU, float16 on CUDA with ``fp16="auto"``);
- ``"torch-int8"``: dynamic int8 quantisation of the ``Linear`` layers on the CPU;
- ``"onnx"`` / ``"onnx-int8"``: the module exported to ONNX (offline, with ``torch.onnx``) and
  run by ONNX Runtime, in float32 or with dynamically quantised int8 weights;
- ``"openvino"``: the same ONNX graph compiled by OpenVINO for the CPU.

Exported graphs are kept in memory for the process (and on disk next to the vector cache when
the cache is on), keyed by a digest of the module's weights and configuration, so a second
``fit`` does not export again.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import io
import platform
import tempfile
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np

__all__ = [
    "RUNTIMES",
    "AUTO_ORDER",
    "MIN_COSINE",
    "PROBE_TEXTS",
    "missing_packages",
    "int8_full_range",
    "quantize_int8",
    "ExportedBackend",
    "rowwise_cosine",
]

RUNTIMES = ("auto", "torch", "torch-int8", "onnx", "onnx-int8", "openvino")
#: Runtimes ``"auto"`` tries on the CPU, in this order; the first one that is installed,
#: exports, and reproduces the float32 torch vectors (cosine >= MIN_COSINE on PROBE_TEXTS)
#: is used, else ``"torch"``. Only float runtimes: int8 is always an explicit choice.
#: Fastest first, as measured on Beauty's titles (docs/embeddings.md): OpenVINO 1.85x plain
#: sentence-transformers (bf16 on CPUs with bf16 units, cosine >= 0.9999), ONNX Runtime 1.06x.
AUTO_ORDER = ("openvino", "onnx")
MIN_COSINE = 0.99
_PACKAGES = {
    "torch": (),
    "torch-int8": (),
    "onnx": ("onnx", "onnxruntime"),
    "onnx-int8": ("onnx", "onnxruntime"),
    "openvino": ("onnx", "openvino"),
}
_EXTRA = {"onnx": "onnx", "onnx-int8": "onnx", "openvino": "openvino"}
_EXPORT_VERSION = 1  # bump when the exported graph changes for the same module
_OPSET = 17

# Checked at fit against the float32 torch vectors (short and long, with and without padding).
PROBE_TEXTS = [
    "red lipstick",
    "OPI Nail Lacquer, Big Apple Red, 0.5 fl oz",
    "Neutrogena Hydro Boost Water Gel, 1.7 Ounce",
    "Conair 1875 Watt Hair Dryer",
    "Duo Lash Adhesive, Clear, 0.25 Ounce",
    "Herbal Essences Drama Clean Refreshing Hair Shampoo 10.1 Fl Oz",
    "Youth Dew by Estee Lauder for Women - 2.2 Ounce EDP Spray",
    "Seki Edge Baby Nail Clipper",
    "Moroccan Argan Hair Oil Conditioning Treatment With Natural Pure Ingredients From "
    "Morocco 100ml, for dry, damaged and frizzy hair; paraben free, sulfate free, cruelty "
    "free, made in the USA, 3.4 fluid ounces, with a pump dispenser",
    "garden hose",
]
# The example batch traced by the exporter: two texts of different lengths, so that the
# traced graph applies the attention mask (a batch without padding may trace it away).
_EXPORT_EXAMPLE = ["a short text", "a longer text, so that the first one is padded in the batch"]

_SESSIONS: OrderedDict = OrderedDict()  # (digest, runtime, threads) -> (session, detail)
_GRAPHS: OrderedDict = OrderedDict()  # digest -> ONNX bytes
_MEMO_SIZE = 2


def missing_packages(runtime: str) -> list[str]:
    """Packages ``runtime`` needs that are not installed (empty when it can run)."""
    return [p for p in _PACKAGES.get(runtime, ()) if importlib.util.find_spec(p) is None]


def install_hint(runtime: str) -> str:
    extra = _EXTRA.get(runtime)
    return (
        f'pip install "llmseqrec[{extra}]" (or: pip install {" ".join(_PACKAGES[runtime])})'
        if extra
        else ""
    )


def rowwise_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine of each row of ``a`` with the same row of ``b`` (1 where both are zero)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    dot = (a * b).sum(1)
    out = np.ones(len(a))
    nz = (na > 0) & (nb > 0)
    out[nz] = dot[nz] / (na[nz] * nb[nz])
    out[(na > 0) != (nb > 0)] = 0.0
    return out


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def int8_full_range() -> bool:
    """Whether int8 kernels may use the full 8-bit activation range on this CPU.

    x86 CPUs without VNNI multiply u8 x s8 with 16-bit saturating adds, so PyTorch and ONNX
    Runtime quantise activations to 7 bits there (``reduce_range``), which costs accuracy.
    With VNNI (AVX512-VNNI, AVX-VNNI, AMX) and on ARM the full range is exact.
    """
    if platform.machine().lower() in ("arm64", "aarch64"):
        return True
    return bool(_cpu_flags() & {"avx512_vnni", "avx_vnni", "amx_int8"})


def _full_range_linear():
    import torch
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    class FullRangeDynamicLinear(DynamicLinear):
        """Dynamically quantised Linear with 8-bit (not 7-bit) activations."""

        def forward(self, x):
            y = torch.ops.quantized.linear_dynamic(
                x, self._packed_params._packed_params, reduce_range=False
            )
            return y.to(x.dtype)

    return FullRangeDynamicLinear


def _quantizable(module) -> list[str]:
    """Names of the Linear layers that do not reduce width.

    The feed-forward down-projections (e.g. 1536 -> 384 in MiniLM) see the largest and most
    outlying activations; quantising them costs most of int8's accuracy, so they stay float.
    """
    import torch

    return [
        name
        for name, m in module.named_modules()
        if type(m) is torch.nn.Linear and m.in_features <= m.out_features
    ]


def quantize_int8(module) -> str:
    """Quantise ``module``'s Linear layers to int8 in place (dynamic, per-channel weights).

    Returns a short description of the scheme (part of the vector cache key).
    """
    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    full = int8_full_range()
    spec = {name: per_channel_dynamic_qconfig for name in _quantizable(module)}
    mapping = {torch.nn.Linear: _full_range_linear()} if full else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notices
        quantize_dynamic(module, spec, mapping=mapping, inplace=True)
    return "int8-per-channel-" + ("full-range" if full else "reduced-range")


# ---------------------------------------------------------------------------- export
def _digest(module, names: list[str], kind: str) -> str:
    import torch

    h = hashlib.sha256()
    h.update(repr((_EXPORT_VERSION, _OPSET, kind, names, torch.__version__, repr(module))).encode())
    for name, tensor in module.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        h.update(name.encode())
        h.update(repr((tuple(t.shape), str(t.dtype))).encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().data)
    return h.hexdigest()[:24]


def _remember(memo: OrderedDict, key, value):
    memo[key] = value
    memo.move_to_end(key)
    while len(memo) > _MEMO_SIZE:
        memo.popitem(last=False)
    return value


def _positional(inner, names: list[str]):
    """``inner`` (a module on a dict of tensors) taking the tensors positionally, as ONNX does."""
    import torch

    class Positional(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = inner

        def forward(self, *tensors):
            return self.inner(dict(zip(names, tensors)))

    return Positional().eval()


def export_onnx(source, export_dir: Path | None) -> tuple[bytes, list[str], str]:
    """ONNX bytes of ``source``'s float32 graph, its input names and its digest.

    ``source`` is a torch text backend with ``features(texts)`` (dict of tensors) and
    ``pooled_module()`` (a module mapping that dict to (batch, dim) vectors).
    """
    import torch

    example = source.features(_EXPORT_EXAMPLE)
    names = list(example)
    inner = source.pooled_module()
    digest = _digest(inner, names, type(source).__name__)
    if digest in _GRAPHS:
        return _GRAPHS[digest], names, digest
    path = export_dir / digest / "model.onnx" if export_dir is not None else None
    if path is not None and path.exists():
        return _remember(_GRAPHS, digest, path.read_bytes()), names, digest
    buffer = io.BytesIO()
    graph = _positional(inner, names)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings on Python-level shape logic
        torch.onnx.export(
            graph,
            tuple(example[n] for n in names),
            buffer,
            input_names=names,
            output_names=["embedding"],
            dynamic_axes={
                **{n: {0: "batch", 1: "tokens"} for n in names},
                "embedding": {0: "batch"},
            },
            opset_version=_OPSET,
            # The TorchScript exporter: no onnxscript needed (torch >= 2.9 defaults to dynamo).
            **(
                {"dynamo": False}
                if "dynamo" in inspect.signature(torch.onnx.export).parameters
                else {}
            ),
        )
    data = buffer.getvalue()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{np.random.default_rng().integers(1 << 30)}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return _remember(_GRAPHS, digest, data), names, digest


def _down_projections(model_bytes: bytes) -> list[str]:
    """MatMul/Gemm nodes whose constant weight reduces width (kept float in onnx-int8)."""
    import onnx

    model = onnx.load_from_string(model_bytes)
    shapes = {init.name: list(init.dims) for init in model.graph.initializer}
    out = []
    for node in model.graph.node:
        if node.op_type not in ("MatMul", "Gemm") or len(node.input) < 2:
            continue
        dims = shapes.get(node.input[1])
        if dims is None or len(dims) != 2:
            continue
        n_in, n_out = dims
        if node.op_type == "Gemm" and any(a.name == "transB" and a.i for a in node.attribute):
            n_out, n_in = dims
        if n_in > n_out:
            out.append(node.name)
    return out


def _quantize_onnx(model_bytes: bytes) -> tuple[bytes, str]:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    full = int8_full_range()
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "model.onnx", Path(tmp) / "model.int8.onnx"
        src.write_bytes(model_bytes)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import logging

            previous = logging.getLogger().level
            logging.getLogger().setLevel(logging.ERROR)  # "consider pre-processing" notice
            try:
                quantize_dynamic(
                    src,
                    dst,
                    per_channel=True,
                    reduce_range=not full,
                    weight_type=QuantType.QInt8,
                    nodes_to_exclude=_down_projections(model_bytes),
                )
            finally:
                logging.getLogger().setLevel(previous)
        return dst.read_bytes(), "int8-per-channel-" + ("full-range" if full else "reduced-range")


class _OnnxRuntimeSession:
    def __init__(self, model_bytes: bytes, threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self.session = ort.InferenceSession(
            model_bytes, options, providers=["CPUExecutionProvider"]
        )

    def __call__(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        return self.session.run(None, feeds)[0]


class _OpenVINOSession:
    def __init__(self, model_bytes: bytes, threads: int):
        import openvino as ov

        core = ov.Core()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.onnx"
            path.write_bytes(model_bytes)
            model = core.read_model(str(path))
            self.compiled = core.compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": threads})
        # bf16 on CPUs that have it (OpenVINO's default), else f32: part of the cache key.
        hint = self.compiled.get_property("INFERENCE_PRECISION_HINT")
        self.precision = hint.to_string() if hasattr(hint, "to_string") else str(hint)

    def __call__(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        return np.asarray(self.compiled(feeds)[0])


class ExportedBackend:
    """A torch text backend's model run by ONNX Runtime or OpenVINO on the CPU.

    Tokenisation stays with the source backend (same truncation, same special tokens); the
    exported graph does the transformer, the pooling and any normalisation.
    """

    def __init__(
        self,
        source,
        runtime: str,
        batch_size: int,
        sort_by_length: bool = True,
        export_dir: Path | None = None,
    ):
        import torch

        if runtime not in ("onnx", "onnx-int8", "openvino"):
            raise ValueError(f"not an exported runtime: {runtime!r}")
        self.source, self.runtime = source, runtime
        self.batch_size, self.sort_by_length = batch_size, sort_by_length
        model_bytes, self.names, digest = export_onnx(source, export_dir)
        threads = torch.get_num_threads()  # follows OMP_NUM_THREADS / torch.set_num_threads
        key = (digest, runtime, threads)
        if key in _SESSIONS:
            _SESSIONS.move_to_end(key)
            self.session, self.detail = _SESSIONS[key]
            return
        if runtime == "onnx-int8":
            model_bytes, self.detail = _quantize_onnx(model_bytes)
            self.session = _OnnxRuntimeSession(model_bytes, threads)
        elif runtime == "onnx":
            self.session, self.detail = _OnnxRuntimeSession(model_bytes, threads), "float32"
        else:
            self.session = _OpenVINOSession(model_bytes, threads)
            self.detail = self.session.precision
        _remember(_SESSIONS, key, (self.session, self.detail))

    def encode(self, texts: list[str], show_progress: bool = True) -> np.ndarray:
        from tqdm.auto import tqdm

        order = (
            np.argsort([-len(t) for t in texts], kind="stable")
            if self.sort_by_length
            else np.arange(len(texts))
        )
        out = None
        starts = range(0, len(texts), self.batch_size)
        for start in tqdm(
            starts, desc="embed", disable=not show_progress or len(starts) < 2, leave=False
        ):
            rows = order[start : start + self.batch_size]
            features = self.source.features([texts[i] for i in rows])
            vectors = self.session({n: features[n].cpu().numpy() for n in self.names})
            if out is None:
                out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
            out[rows] = vectors
        return out if out is not None else np.zeros((0, 0), np.float32)
