from __future__ import annotations

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
