"""Saving and loading models as directories, without pickle.

A saved model is a directory holding

- ``config.json``: registered class name, constructor parameters, library/torch versions,
  and JSON extras of the fitted state;
- ``item_index.json``: the external item ids in internal order;
- ``arrays.safetensors``: the fitted numpy arrays (and array-valued parameters);
- ``model.safetensors``: torch weights, for neural models.
"""

from __future__ import annotations

import json
import platform
import warnings
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from ._version import __version__
from .data import ItemIndex
from .exceptions import SavedModelError
from .registry import get_class, registered_name
from .utils import current_names

__all__ = ["save", "load"]

_CONFIG = "config.json"
_INDEX = "item_index.json"
_ARRAYS = "arrays.safetensors"
_CARD = "README.md"  # the model card, for people; never read back


def _encode_param(value, arrays: dict, key: str):
    """JSON form of a constructor parameter; arrays go to ``arrays``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, tuple):
        return {"__tuple__": [_encode_param(v, arrays, f"{key}.{i}") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode_param(v, arrays, f"{key}.{i}") for i, v in enumerate(value)]
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise TypeError(f"parameter {key!r}: object arrays cannot be saved")
        arrays[f"param.{key}"] = np.ascontiguousarray(value)
        return {"__array__": f"param.{key}"}
    if isinstance(value, PathLike):
        return {"__path__": str(value)}
    if isinstance(value, pd.DataFrame):  # e.g. item embeddings: one row per item id
        keys = [*value.index, *value.columns]
        if any(not isinstance(k, (str, int, np.integer)) or isinstance(k, bool) for k in keys):
            raise TypeError(f"parameter {key!r}: only str/int DataFrame labels can be saved")
        arrays[f"param.{key}"] = np.ascontiguousarray(value.to_numpy())
        return {
            "__frame__": {
                "index": [k if isinstance(k, str) else int(k) for k in value.index],
                "columns": [k if isinstance(k, str) else int(k) for k in value.columns],
                "index_name": value.index.name if isinstance(value.index.name, str) else None,
            },
            "values": f"param.{key}",
        }
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and not any(
            isinstance(v, np.ndarray) for v in value.values()
        ):
            return {
                "__dict__": {k: _encode_param(v, arrays, f"{key}.{k}") for k, v in value.items()}
            }
        # A mapping item id -> vector: keys as JSON, values stacked into one array.
        keys = list(value.keys())
        bad = [k for k in keys if not isinstance(k, (str, int, np.integer)) or isinstance(k, bool)]
        if bad:
            raise TypeError(
                f"parameter {key!r}: only str/int mapping keys can be saved, got {bad[0]!r}"
            )
        arrays[f"param.{key}"] = np.ascontiguousarray(
            np.stack([np.asarray(value[k]) for k in keys])
        )
        return {
            "__mapping__": [k if isinstance(k, str) else int(k) for k in keys],
            "values": f"param.{key}",
        }
    if isinstance(value, BaseEstimator):
        name = registered_name(type(value))
        if name is None:
            raise TypeError(
                f"parameter {key!r}: {type(value).__name__} is not registered; decorate it with "
                "llmseqrec.registry.register to make it saveable"
            )
        params = value.get_params(deep=False)
        return {
            "__estimator__": name,
            "params": {k: _encode_param(v, arrays, f"{key}.{k}") for k, v in params.items()},
        }
    raise TypeError(f"parameter {key!r} of type {type(value).__name__} cannot be saved as JSON")


def _decode_param(value, arrays: dict):
    if isinstance(value, list):
        return [_decode_param(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tuple__" in value:
        return tuple(_decode_param(v, arrays) for v in value["__tuple__"])
    if "__array__" in value:
        return arrays[value["__array__"]]
    if "__dict__" in value:
        return {k: _decode_param(v, arrays) for k, v in value["__dict__"].items()}
    if "__path__" in value:
        return Path(value["__path__"])
    if "__frame__" in value:
        frame = value["__frame__"]
        index = pd.Index(frame["index"], name=frame.get("index_name"))
        return pd.DataFrame(arrays[value["values"]], index=index, columns=frame["columns"])
    if "__mapping__" in value:
        stacked = arrays[value["values"]]
        return dict(zip(value["__mapping__"], stacked))
    if "__estimator__" in value:
        cls = get_class(value["__estimator__"])
        return _construct(cls, {k: _decode_param(v, arrays) for k, v in value["params"].items()})
    raise ValueError(f"unrecognised saved parameter {value!r}")


def _construct(cls, params: dict):
    """``cls(**params)``; names an older version saved under are mapped without a warning,
    and parameters added since the save take the value that reproduces the behaviour from
    before they existed where the default no longer does (``cls._value_before_added``)."""
    params = current_names(cls, params)
    before = getattr(cls, "_value_before_added", {})
    return cls(**{**{k: v for k, v in before.items() if k not in params}, **params})


def _versions() -> dict:
    import torch

    info = {
        "llmseqrec": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
    }
    try:
        import transformers

        info["transformers"] = transformers.__version__
    except ImportError:  # pragma: no cover - optional
        pass
    return info


def _is_secondary_rank() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_rank() != 0


def save(model, path, overwrite: bool = False) -> None:
    """Save a fitted recommender to the directory ``path``.

    Parameters
    ----------
    model : Recommender
        A fitted, registered recommender.
    path : str or Path
        Target directory; created if needed.
    overwrite : bool, default=False
        Allow writing into a directory that already holds a saved model.
    """
    from safetensors.numpy import save_file

    model._check_fitted()
    if _is_secondary_rank():  # data-parallel: every rank holds the same model, one writes
        return
    name = registered_name(type(model))
    if name is None:
        raise TypeError(
            f"{type(model).__name__} is not registered; use llmseqrec.registry.register"
        )
    path = Path(path)
    if (path / _CONFIG).exists() and not overwrite:
        raise FileExistsError(
            f"{path} already holds a saved model; pass overwrite=True to replace it"
        )
    path.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    params = {k: _encode_param(v, arrays, k) for k, v in model.get_params(deep=False).items()}
    state_arrays, extra = model._get_state()
    for k, v in state_arrays.items():
        arrays[f"state.{k}"] = np.ascontiguousarray(v)
    arrays["state.item_popularity_"] = np.ascontiguousarray(model.item_popularity_)
    config = {"class": name, "params": params, "extra": extra, "versions": _versions()}
    if getattr(model, "frame_columns_", None) is not None:  # the frame columns fit read
        config["frame_columns"] = model.frame_columns_
    if getattr(model, "n_sessions_", None) is not None:
        config["n_sessions"] = int(model.n_sessions_)
    if getattr(model, "evaluation_", None) is not None:
        config["evaluation"] = model.evaluation_
    (path / _CONFIG).write_text(json.dumps(config, indent=2))
    (path / _INDEX).write_text(json.dumps(model.item_index_.to_json()))
    save_file(arrays, str(path / _ARRAYS))
    model._save_files(path)
    (path / _CARD).write_text(model_card(model, config))


def model_card(model, config: dict) -> str:
    """The ``README.md`` of a saved model: what it is, how it was trained, how it scored."""
    name = config["class"]
    lines = [
        f"# {name}",
        "",
        f"A fitted `{name}` saved by llmseqrec {config['versions']['llmseqrec']}. Load it with:",
        "",
        "```python",
        "import llmseqrec",
        'model = llmseqrec.load("path/to/this/directory")',
        "```",
        "",
        "## Training data",
        "",
        f"- catalogue: {len(model.item_index_)} items",
        f"- interactions: {int(model.item_popularity_.sum())}",
    ]
    if config.get("n_sessions") is not None:
        lines.append(f"- sessions: {config['n_sessions']}")
    if config.get("frame_columns"):
        cols = ", ".join(f"{role}: `{col}`" for role, col in config["frame_columns"].items() if col)
        lines.append(f"- columns read: {cols}")
    lines += ["", "## Parameters", "", "| parameter | value |", "|---|---|"]
    for key, value in sorted(model.get_params(deep=False).items()):
        shown = repr(value) if not hasattr(value, "get_params") else type(value).__name__
        lines.append(f"| `{key}` | `{shown[:80]}` |")
    evaluation = config.get("evaluation")
    if evaluation:
        lines += ["", "## Evaluation", "", f"{evaluation.get('protocol', '')}", ""]
        lines += ["| metric | k | value |", "|---|---|---|"]
        lines += [f"| {m} | {k} | {v:.4f} |" for m, k, v in evaluation["metrics"]]
    lines += ["", "## Versions", ""]
    lines += [f"- {lib}: {version}" for lib, version in config["versions"].items()]
    return "\n".join(lines) + "\n"


def _warn_on_versions(saved: dict, path) -> None:
    """Warn when the saving llmseqrec (minor version) or torch (major) differs from ours:
    models load, but defaults or numerics may have moved."""
    import torch

    ours = {"llmseqrec": __version__, "torch": torch.__version__}
    parts = {"llmseqrec": 2, "torch": 1}
    changed = [
        f"{lib} {saved[lib]} (now {ours[lib]})"
        for lib, n in parts.items()
        if isinstance(saved.get(lib), str) and saved[lib].split(".")[:n] != ours[lib].split(".")[:n]
    ]
    if changed:
        warnings.warn(
            f"{path} was saved with {', '.join(changed)}; it loads, but check its "
            "predictions before relying on them",
            UserWarning,
            stacklevel=3,
        )


def load(path: str | PathLike[str]) -> BaseEstimator:
    """Load a model saved with :meth:`Recommender.save`.

    Parameters
    ----------
    path : str or Path
        The directory written by ``save``.

    Returns
    -------
    Recommender
        A fitted model whose predictions equal the saved one's.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    path = Path(path)
    if not (path / _CONFIG).exists():
        raise FileNotFoundError(
            f"{path} does not contain a saved llmseqrec model ({_CONFIG} missing)"
        )
    try:
        config = json.loads((path / _CONFIG).read_text())
        name = config["class"]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise SavedModelError(
            f"{path / _CONFIG} is not a saved model's configuration ({type(exc).__name__}: "
            f"{exc}); the directory is corrupt or was not written by llmseqrec"
        ) from exc
    versions = config.get("versions") if isinstance(config, dict) else None
    _warn_on_versions(versions if isinstance(versions, dict) else {}, path)
    try:
        cls = get_class(name)
    except (KeyError, TypeError) as exc:
        raise SavedModelError(
            f"{path / _CONFIG} names the class {name!r}, which this version of llmseqrec does "
            f"not know ({exc}); the file is corrupt or was saved by a newer version"
        ) from exc
    try:
        arrays = load_file(str(path / _ARRAYS))
    except Exception as exc:  # safetensors raises its own error types for damaged files
        raise SavedModelError(
            f"{path / _ARRAYS} of a saved {name} cannot be read ({type(exc).__name__}: {exc}); "
            "the file is missing, truncated or corrupt"
        ) from exc
    for key, array in arrays.items():  # a fitted model never saves NaN or inf
        if array.dtype.kind in "fc" and not np.isfinite(array).all():
            raise SavedModelError(
                f"{path / _ARRAYS} of a saved {name}: array {key!r} holds NaN or infinite "
                "values; the file is corrupt"
            )
    try:
        model = _construct(cls, {k: _decode_param(v, arrays) for k, v in config["params"].items()})
        model.item_index_ = ItemIndex.from_json(json.loads((path / _INDEX).read_text()))
        model.frame_columns_ = config.get("frame_columns")
        if "n_sessions" in config:
            model.n_sessions_ = config["n_sessions"]
        if "evaluation" in config:
            model.evaluation_ = config["evaluation"]
        model.item_popularity_ = arrays.pop("state.item_popularity_")
        state = {k[len("state.") :]: v for k, v in arrays.items() if k.startswith("state.")}
        model._set_state(state, config.get("extra", {}))
    except (
        KeyError,
        ValueError,
        TypeError,
        AttributeError,
        RuntimeError,
        OSError,
        SafetensorError,
    ) as exc:
        raise SavedModelError(
            f"{path} does not hold a {name} this version can load ({type(exc).__name__}: "
            f"{exc}); was it saved as another class, or edited?"
        ) from exc
    try:
        model._load_files(path)  # weights, parts; environment errors pass through as they are
    except SavedModelError:
        raise
    except (SafetensorError, json.JSONDecodeError) as exc:
        raise SavedModelError(
            f"a file of the saved {name} in {path} is truncated or corrupt "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    except (ValueError, KeyError, TypeError, IndexError) as exc:  # an edited configuration
        raise SavedModelError(
            f"the saved {name} in {path} cannot be rebuilt from its configuration "
            f"({type(exc).__name__}: {exc}); was {_CONFIG} edited or damaged?"
        ) from exc
    except RuntimeError as exc:
        if "state_dict" not in str(exc):
            raise
        raise SavedModelError(
            f"the weights in {path} do not fit a {name} with the saved configuration "
            f"({exc}); was the directory saved as another class, or edited?"
        ) from exc
    return model
