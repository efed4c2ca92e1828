from __future__ import annotations

from contextlib import contextmanager

import numpy as np


def check_random_state(random_state) -> np.random.Generator:
    """A numpy Generator from ``None``, an int, a Generator or a legacy RandomState."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    return np.random.default_rng(random_state)


def torch_generator(random_state, device: str = "cpu"):
    """A seeded ``torch.Generator`` derived from ``random_state`` (never the global seed)."""
    import torch

    seed = int(check_random_state(random_state).integers(0, 2**63 - 1))
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen


@contextmanager
def seeded_torch_rng(seed: int, device="cpu"):
    """Run a block under torch's global RNG seeded with ``seed``, then restore the caller's state.

    For third-party code that takes no ``generator`` (Hugging Face ``generate``, a model's
    ``__init__``, peft's LoRA initialisation). The CPU state and, when ``device`` is a CUDA
    device, that device's state are forked, so neither leaks out of the block.
    """
    import torch

    dev = torch.device(device)
    cuda = [dev.index or 0] if dev.type == "cuda" and torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=cuda):
        # Seed exactly the states fork_rng restores: torch.manual_seed would also reseed every
        # other GPU, whose state would then leak out of the block.
        torch.random.default_generator.manual_seed(int(seed))
        for index in cuda:
            with torch.cuda.device(index):
                torch.cuda.manual_seed(int(seed))
        yield
