"""Building blocks of LLMSeqPrompt (a fine-tuned causal LM as the recommender).

Prompts of the paper's four variants and their parsers, the mapping of generated names
back to catalogue items, catalogue-constrained decoding (token tries of the titles), the
completion-only tokenisation and fine-tuning loop (LoRA via peft; resumable checkpoints),
generation from a local model or an OpenAI-compatible chat endpoint, a local chat
server, chat-JSONL export, and a tiny offline causal LM for tests. The recommender is
:class:`llmseqrec.recommenders.LLMSeqPrompt`.
"""

from ._checkpoint import TrainingPaused, checkpoint_progress, finetune_checkpoints
from ._choices import CHOICE_FIELDS, choice_payload, choices_from_payload
from ._constrain import TitleListConstraint, TitleTrie
from ._export import genitem_examples, write_chat_jsonl
from ._finetune import apply_lora, completion_loss, finetune_causal_lm
from ._generate import ChatAPIError, ChatCompletionsClient, LocalGenerator
from ._mapping import MappingStats, NameMapper
from ._model import (
    CHATML_TEMPLATE,
    DEFAULT_BASE_MODEL,
    load_causal_lm,
    prepare_tokenizer,
    resolve_base_model,
)
from ._prompts import (
    PAPER_TEMPLATES,
    PromptTemplates,
    build_messages,
    numbered,
    parse_genlist,
    parse_item,
    parse_numbered_list,
)
from ._server import ChatServer
from ._tiny import tiny_causal_lm
from ._tokenize import IGNORE_INDEX, encode_example, pad_batch, render_prompt

__all__ = [
    "TitleTrie",
    "TitleListConstraint",
    "PromptTemplates",
    "PAPER_TEMPLATES",
    "build_messages",
    "numbered",
    "parse_item",
    "parse_numbered_list",
    "parse_genlist",
    "NameMapper",
    "MappingStats",
    "genitem_examples",
    "write_chat_jsonl",
    "DEFAULT_BASE_MODEL",
    "CHATML_TEMPLATE",
    "resolve_base_model",
    "load_causal_lm",
    "prepare_tokenizer",
    "IGNORE_INDEX",
    "render_prompt",
    "encode_example",
    "pad_batch",
    "apply_lora",
    "completion_loss",
    "finetune_causal_lm",
    "finetune_checkpoints",
    "checkpoint_progress",
    "TrainingPaused",
    "LocalGenerator",
    "ChatCompletionsClient",
    "ChatAPIError",
    "ChatServer",
    "CHOICE_FIELDS",
    "choice_payload",
    "choices_from_payload",
    "tiny_causal_lm",
]
