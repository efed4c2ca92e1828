from __future__ import annotations

import importlib

from ..exceptions import OptionalDependencyError


def import_optional(module: str, extra: str | None = None, purpose: str = ""):
    """Import ``module`` or raise :class:`OptionalDependencyError` saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        # From PyPI the extra is named after the package; from a clone, after the folder.
        hint = (
            f'pip install "llmseqrec[{extra}]" (from a clone of the repository: '
            f'pip install ".[{extra}]")'
            if extra
            else f"pip install {module.split('.')[0]}"
        )
        what = f" for {purpose}" if purpose else ""
        raise OptionalDependencyError(f"{module} is needed{what}; install it with: {hint}") from exc
