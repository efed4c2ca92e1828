"""Building blocks of LLMSeqPrompt (a fine-tuned causal LM as the recommender).

Available so far: the paper's prompt templates for the four variants, answer parsers and
the mapping of generated names back to catalogue items, and the export of GenItem
fine-tuning data in the OpenAI chat JSONL format. The recommender itself
(fine-tuning, generation, the HTTP backend) is not implemented yet.
"""

from ._export import genitem_examples, write_chat_jsonl
from ._mapping import MappingStats, NameMapper
from ._prompts import (
    PAPER_TEMPLATES,
    PromptTemplates,
    build_messages,
    numbered,
    parse_genlist,
    parse_item,
    parse_numbered_list,
)

__all__ = [
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
]
