"""Position weights of prompt items (the paper's decay functions).

For a prompt of length ``L`` with items ``j = 1..L`` (``j = L`` most recent), let
``d = L - j`` be the distance from the end (0 for the last item).
"""

from __future__ import annotations

import numpy as np

__all__ = ["DECAYS", "decay_weights"]

_FLOOR = 1e-5

DECAYS = {
    None: lambda d, L: np.ones_like(d, dtype=np.float64),
    "constant_linear": lambda d, L: np.maximum(_FLOOR, 1.0 - 0.1 * d),
    "scaling_linear": lambda d, L: np.maximum(_FLOOR, 1.0 - d / L),
    "scaling_quadratic": lambda d, L: np.maximum(_FLOOR, 1.0 - d / L) ** 2,
    "scaling_cubic": lambda d, L: np.maximum(_FLOOR, 1.0 - d / L) ** 3,
    "log": lambda d, L: 1.0 / (np.log(d + 1.0) + 1.0),
    "harmonic": lambda d, L: 1.0 / (d + 1.0),
    "harmonic_squared": lambda d, L: 1.0 / (d + 1.0) ** 2,
}
# Names used by the SKNN code and the paper's online material.
_ALIASES = {
    "none": None,
    "linear": "constant_linear",
    "quadratic": "harmonic_squared",
    "squared_harmonic": "harmonic_squared",
}


def canonical_decay(name):
    """Resolve aliases; raise ``ValueError`` for unknown names."""
    name = _ALIASES.get(name, name) if isinstance(name, str) else name
    if name not in DECAYS:
        raise ValueError(
            f"decay must be one of {[k for k in DECAYS]} (or aliases {sorted(_ALIASES)}), got {name!r}"
        )
    return name


def decay_weights(name, length: int) -> np.ndarray:
    """Weights of the ``length`` prompt positions, oldest first.

    >>> decay_weights("harmonic", 3).tolist()
    [0.3333333333333333, 0.5, 1.0]
    >>> decay_weights("scaling_linear", 4).tolist()
    [0.25, 0.5, 0.75, 1.0]
    """
    d = np.arange(length - 1, -1, -1, dtype=np.float64)
    return DECAYS[canonical_decay(name)](d, float(length))
