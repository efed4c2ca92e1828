"""Small shared helpers: device choice, optional imports, random states."""

from ._device import init_distributed_from_env, resolve_device
from ._http import ClientOptions
from ._optional import import_optional
from ._random import check_random_state, seeded_torch_rng, torch_generator
from ._renamed import RenamedParametersMixin, current_names

__all__ = [
    "ClientOptions",
    "init_distributed_from_env",
    "resolve_device",
    "import_optional",
    "check_random_state",
    "torch_generator",
    "seeded_torch_rng",
    "RenamedParametersMixin",
    "current_names",
]
