from __future__ import annotations


def resolve_device(device: str | None = None) -> str:
    """``device`` if given, else ``"cuda"`` when a GPU is visible (``cuda:LOCAL_RANK``
    under torchrun), else ``"cpu"``."""
    if device is not None:
        return str(device)
    import os

    import torch

    if not torch.cuda.is_available():
        return "cpu"
    # Under torchrun each process takes its own GPU of the node.
    local_rank = os.environ.get("LOCAL_RANK")
    return f"cuda:{int(local_rank)}" if local_rank is not None else "cuda"


def init_distributed_from_env(device: str) -> bool:
    """Join the process group torchrun describes (``WORLD_SIZE`` > 1 in the environment)
    unless one is initialised already: ``nccl`` on CUDA, else ``gloo``. Returns whether a
    group of more than one process is ready."""
    import os

    import torch.distributed as dist

    if not dist.is_available():
        return False
    if not dist.is_initialized():
        if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
            return False
        dist.init_process_group(backend="nccl" if str(device).startswith("cuda") else "gloo")
    return dist.get_world_size() > 1
