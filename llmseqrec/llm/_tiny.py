"""A tiny randomly initialised causal LM with a locally trained tokenizer (for tests and docs).

Nothing is downloaded: the byte-level BPE tokenizer is trained on a few lines of text and
the Llama-architecture model is built from a config, so code paths that need a causal LM
(fine-tuning, generation, saving, serving) run offline in seconds.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..utils._random import seeded_torch_rng
from ._model import CHATML_TEMPLATE
from ._prompts import PAPER_TEMPLATES

__all__ = ["tiny_causal_lm"]

_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
_CONFIG = dict(
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=4096,
    tie_word_embeddings=True,
)


def _corpus() -> list[str]:
    lines = []
    for t in PAPER_TEMPLATES.values():
        lines += [t.system, t.user, t.assistant]
    lines += ["red lipstick 1", "blue mascara 2", "green shampoo 3", "0123456789 BEGIN END"]
    return lines


def tiny_causal_lm(path=None, vocab_size: int = 512, seed: int = 0) -> Path:
    """Build (once) a tiny Llama model and tokenizer in ``path`` and return the folder.

    Parameters
    ----------
    path : str or Path, optional
        Target folder; default a folder under the data home keyed by the settings.
    vocab_size : int, default=512
    seed : int, default=0
        Seed of the random weights.

    Returns
    -------
    Path
        A folder that ``AutoModelForCausalLM.from_pretrained`` and
        ``AutoTokenizer.from_pretrained`` load, and that ``LLMSeqPrompt(base_model=...)``
        accepts.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    key = hashlib.sha256(json.dumps([_CONFIG, vocab_size, seed, _corpus()]).encode()).hexdigest()
    if path is None:
        from ..datasets import get_data_home

        path = get_data_home() / "models" / f"tiny-causal-lm-{key[:12]}"
    path = Path(path)
    if (path / "config.json").exists() and (path / "tokenizer.json").exists():
        return path
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=_SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(_corpus(), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token="<|im_start|>",
    )
    tokenizer.chat_template = CHATML_TEMPLATE
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **_CONFIG,
    )
    with seeded_torch_rng(seed):  # a model's __init__ takes no generator
        model = LlamaForCausalLM(config)
    tmp = path.with_name(path.name + ".tmp")
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    if path.exists():  # another process finished first
        return path
    tmp.rename(path)
    return path
