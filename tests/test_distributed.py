"""Data-parallel training (issue 27): two CPU processes with the gloo backend, launched as
torchrun launches them (RANK, WORLD_SIZE, MASTER_ADDR/PORT in the environment), end with the
same weights, equal to one process training on the same batches; rank 0 validates for both."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

WORKER = textwrap.dedent(
    """
    import json, sys
    import torch
    from llmseqrec import SASRec
    from llmseqrec.testing import synthetic_data

    out, patience = sys.argv[1], int(sys.argv[2])
    train, prompts, _, _ = synthetic_data("str")
    model = SASRec(emb_dim=16, n_heads=2, n_layers=1, dropout=0.0, epochs=3, batch_size=32,
                   patience=patience, show_progress=False, random_state=0, device="cpu")
    model.fit(train)
    torch.save(model.module_.state_dict(), out + ".pt")
    json.dump({"best_epoch": model.history_.best_epoch,
               "recs": model.predict(prompts[:5], k=5).tolist()}, open(out + ".json", "w"))
    model.save(out + "-saved", overwrite=True)
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(tmp_path, world: int, patience: int):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    port = _free_port()
    procs = []
    for rank in range(world):
        env = {
            **os.environ,
            "OMP_NUM_THREADS": "1",
            **(
                {
                    "RANK": str(rank),
                    "LOCAL_RANK": str(rank),
                    "WORLD_SIZE": str(world),
                    "MASTER_ADDR": "127.0.0.1",
                    "MASTER_PORT": str(port),
                }
                if world > 1
                else {}
            ),
        }
        out = str(tmp_path / f"w{world}-r{rank}")
        procs.append(
            subprocess.Popen(
                [sys.executable, str(script), out, str(patience)],
                env=env,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-3000:]
    return [
        (
            torch.load(tmp_path / f"w{world}-r{r}.pt"),
            json.loads((tmp_path / f"w{world}-r{r}.json").read_text()),
        )
        for r in range(world)
    ]


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch without distributed")
def test_two_gloo_ranks_train_the_model_one_process_trains(tmp_path):
    (w0, r0), (w1, r1) = _launch(tmp_path, world=2, patience=0)
    for name in w0:
        torch.testing.assert_close(w0[name], w1[name], rtol=0, atol=0)  # identical ranks
    ((single, rs),) = _launch(tmp_path, world=1, patience=0)
    for name in single:  # the same batches, split in two and averaged
        torch.testing.assert_close(w0[name], single[name], rtol=1e-4, atol=1e-5)
    assert r0["recs"] == r1["recs"] == rs["recs"]
    assert (tmp_path / "w2-r0-saved" / "config.json").exists()
    assert not (tmp_path / "w2-r1-saved").exists()  # one rank writes


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch without distributed")
def test_rank_zero_validates_and_both_ranks_stop_together(tmp_path):
    (w0, r0), (w1, r1) = _launch(tmp_path, world=2, patience=2)
    assert r0["best_epoch"] == r1["best_epoch"] >= 1
    for name in w0:
        assert np.array_equal(w0[name].numpy(), w1[name].numpy())


LLM_WORKER = textwrap.dedent(
    """
    import sys
    import torch
    from safetensors.torch import save_file
    from llmseqrec import LLMSeqPrompt
    from llmseqrec.llm import tiny_causal_lm
    from llmseqrec.testing import synthetic_data
    from llmseqrec.text import ItemTextEncoder

    out = sys.argv[1]
    train, _, _, items = synthetic_data("str")
    model = LLMSeqPrompt(
        base_model=str(tiny_causal_lm()), lora_dropout=0.0, epochs=2, batch_size=3,
        max_train_examples=20, max_new_tokens=8, n_samples=1, temperature=0.0,
        item_embeddings=ItemTextEncoder(backend="tfidf", dim=16, cache=False, random_state=0,
                                        show_progress=False),
        show_progress=False, random_state=0, device="cpu",
    ).fit(train, item_metadata=items)
    trained = {k: v.detach().clone().contiguous() for k, v in model._lm.named_parameters()
               if v.requires_grad}
    save_file(trained, out + ".safetensors")
    print(model.history_.optimizer_steps)
    """
)


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch without distributed")
def test_llmseqprompt_fine_tunes_data_parallel(tmp_path):
    """LLMSeqPrompt's LoRA fine-tuning under torchrun: both ranks end with the same adapter,
    equal to one process's on the same batches (ranks weighted by their answer tokens; a
    batch of 3 rows leaves one rank 1 row, and the epoch's last batch may leave one none)."""
    from safetensors.torch import load_file

    script = tmp_path / "llm_worker.py"
    script.write_text(LLM_WORKER)

    def launch(world: int):
        port, procs = _free_port(), []
        for rank in range(world):
            env = {**os.environ, "OMP_NUM_THREADS": "1"}
            if world > 1:
                env.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world),
                           MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))  # fmt: skip
            out = str(tmp_path / f"llm-w{world}-r{rank}")
            procs.append(subprocess.Popen([sys.executable, str(script), out], env=env,
                                          stderr=subprocess.PIPE, text=True))  # fmt: skip
        for p in procs:
            _, err = p.communicate(timeout=600)
            assert p.returncode == 0, err[-3000:]
        return [load_file(tmp_path / f"llm-w{world}-r{r}.safetensors") for r in range(world)]

    rank0, rank1 = launch(2)
    (single,) = launch(1)
    assert rank0.keys() == single.keys() and len(single) > 0
    for name in rank0:
        torch.testing.assert_close(rank0[name], rank1[name], rtol=0, atol=0)
        torch.testing.assert_close(rank0[name], single[name], rtol=1e-4, atol=1e-5)
