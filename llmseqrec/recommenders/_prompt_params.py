"""Parameter checks of LLMSeqPrompt (run at ``fit``, as scikit-learn asks)."""

from __future__ import annotations

import numpy as np

from ..llm import PromptTemplates

__all__ = ["check_prompt_params", "VARIANTS", "GENITEM_ORDERS"]

VARIANTS = ("genitem", "genlist", "classify", "rank")
GENITEM_ORDERS = ("count", "first")


def check_prompt_params(est) -> None:
    """Raise ``ValueError``/``TypeError`` naming the first invalid parameter of ``est``."""
    if est.variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {est.variant!r}")
    if est.genitem_order not in GENITEM_ORDERS:
        raise ValueError(
            f"genitem_order must be one of {GENITEM_ORDERS}, got {est.genitem_order!r}"
        )
    for name in (
        "max_prompt_items",
        "min_prompt_items",
        "epochs",
        "batch_size",
        "gradient_accumulation_steps",
        "n_recommendations",
        "generation_batch_size",
        "n_clusters",
        "n_candidates",
        "max_length",
        "max_workers",
    ):
        value = getattr(est, name)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            if not (name == "min_prompt_items" and value == 0):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
    for name in ("max_steps", "max_train_examples", "max_validation_examples", "n_samples"):
        value = getattr(est, name)
        if value is not None and (not isinstance(value, (int, np.integer)) or value < 1):
            raise ValueError(f"{name} must be a positive integer or None, got {value!r}")
    if not 0.0 <= est.validation_share < 1.0:
        raise ValueError(f"validation_share must be in [0, 1), got {est.validation_share!r}")
    if est.temperature < 0 or not 0 < est.top_p <= 1:
        raise ValueError("temperature must be >= 0 and top_p in (0, 1]")
    if est.api_base is not None and not est.api_model:
        raise ValueError("api_base needs api_model (the endpoint's model name)")
    for variant, t in (est.templates or {}).items():
        if variant not in VARIANTS:
            raise ValueError(f"templates has an unknown variant {variant!r}")
        if not isinstance(t, (dict, PromptTemplates)):
            raise TypeError("templates values must be dicts with system/user/assistant")
