"""Declarative benchmark configuration (TOML or JSON), validated against the registry."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..registry import all_recommenders, get_class
from ..utils import current_names

__all__ = [
    "ModelSpec",
    "SearchSpec",
    "BenchmarkConfig",
    "load_config",
    "parse_model_option",
    "build_model",
]

PROTOCOLS = ("P1", "P2", "P3")
_TOP_KEYS = {
    "name",
    "dataset",
    "data_dir",
    "protocol",
    "k",
    "seeds",
    "popularity",
    "models",
    "search",
    "n_folds",
    "interactions",
    "items",
    "columns",
}


class ConfigError(ValueError):
    """A benchmark configuration is invalid (the message says where and why)."""


@dataclass
class ModelSpec:
    """One model of a benchmark: its label (row name), registered class name and parameters."""

    label: str
    model: str
    params: dict = field(default_factory=dict)
    params_from: str | None = None  # a best_params.json written by a search


@dataclass
class SearchSpec:
    """A hyper-parameter search space for one model label."""

    label: str
    space: dict
    n_trials: int = 20
    seed: int = 0
    #: Parameter sets tried first (e.g. a published optimum); each must lie in ``space``.
    #: They count towards ``n_trials`` and are judged on the validation folds like the rest.
    enqueue: list = field(default_factory=list)


@dataclass
class BenchmarkConfig:
    name: str
    dataset: str
    data_dir: str | None = None
    protocol: str = "P1"
    k: list = field(default_factory=lambda: [10, 20])
    seeds: list = field(default_factory=lambda: [0, 1, 2])
    popularity: str = "train"
    n_folds: int = 3
    models: list = field(default_factory=list)
    search: dict = field(default_factory=dict)
    #: Your own data instead of a built-in data set: an interactions file (CSV, TSV or
    #: Parquet), optionally an item file, and the column names if they are not the usual.
    interactions: str | None = None
    items: str | None = None
    columns: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)


def _params_of(cls) -> set:
    return set(cls().get_params(deep=False)) if cls is not None else set()


def _check_params(label: str, cls, params: dict, where: str) -> None:
    # Deprecated names still pass; constructing the model warns and maps them.
    known = set(cls._get_param_names()) | set(getattr(cls, "_renamed_parameters", {}))
    unknown = sorted(set(params) - known)
    if unknown:
        raise ConfigError(
            f"{where}: {cls.__name__} has no parameter(s) {unknown}; valid: "
            f"{sorted(cls._get_param_names())}"
        )


def read_params_from(path) -> dict:
    """The ``params`` of a ``best_params.json`` written by a search (``params_from``)."""
    return json.loads(Path(path).read_text())["params"]


def _config_names(cls, params: dict, where: str) -> dict:
    """A configuration table under the current parameter names (old names warn once here,
    so every later step, the records of runs included, sees one name per parameter)."""
    try:
        return current_names(cls, params, warn=True, stacklevel=4)
    except TypeError as exc:  # the same parameter under its old and its new name
        raise ConfigError(f"{where}: {exc}") from None


def _resolve_value(value):
    """``{"component": "ItemTextEncoder", ...}`` tables become component instances, also
    inside lists (ScoreFusion's ``models = [["name", {component = ...}], ...]``), and the
    string ``"none"`` becomes ``None`` (TOML has no null)."""
    if isinstance(value, str) and value.lower() == "none":
        return None
    if isinstance(value, list):
        return [_resolve_value(v) for v in value]
    if isinstance(value, dict) and "component" in value:
        params = {}
        if "params_from" in value:  # e.g. the best parameters of a search
            # A search's file (maybe an older version's): current names, no warning.
            found = read_params_from(value["params_from"])
            params.update(current_names(get_class(value["component"]), found))
        params.update({k: v for k, v in value.items() if k not in ("component", "params_from")})
        params = {k: _resolve_value(v) for k, v in params.items()}
        cls = get_class(value["component"])
        _check_params(value["component"], cls, params, f"component {value['component']}")
        return cls(**params)
    return value


def build_model(spec: ModelSpec, overrides: dict | None = None):
    """Instantiate a model spec (``params_from`` first, then ``params``, then ``overrides``)."""
    cls = get_class(spec.model)
    params = {}
    if spec.params_from:
        params.update(current_names(cls, read_params_from(spec.params_from)))
    params.update(spec.params)
    params.update(overrides or {})
    _check_params(spec.label, cls, params, f"model {spec.label!r}")
    return cls(**{k: _resolve_value(v) for k, v in params.items()})


def _model_spec(label: str, table: dict) -> ModelSpec:
    if not isinstance(table, dict):
        raise ConfigError(f"models.{label} must be a table of parameters")
    table = dict(table)
    name = table.pop("model", label)
    params_from = table.pop("params_from", None)
    registry = all_recommenders()
    if name not in registry:
        raise ConfigError(
            f"models.{label}: unknown model {name!r}; registered models: {sorted(registry)}"
        )
    _check_params(label, registry[name], table, f"models.{label}")
    table = _config_names(registry[name], table, f"models.{label}")
    return ModelSpec(label=label, model=name, params=table, params_from=params_from)


def _search_spec(label: str, table: dict, models: dict) -> SearchSpec:
    if label not in models:
        raise ConfigError(f"search.{label}: no model with that label in [models]")
    table = dict(table)
    space = table.pop("space", None)
    if not isinstance(space, dict) or not space:
        raise ConfigError(f"search.{label}.space must be a non-empty table")
    cls = get_class(models[label].model)
    _check_params(label, cls, space, f"search.{label}.space")
    space = _config_names(cls, space, f"search.{label}.space")
    if "enqueue" in table:
        table["enqueue"] = [
            _config_names(cls, start, f"search.{label}.enqueue")
            if isinstance(start, dict)
            else start
            for start in table["enqueue"]
        ]
    for param, spec in space.items():
        if not (isinstance(spec, list) and spec) and not (
            isinstance(spec, dict) and {"low", "high"} <= set(spec)
        ):
            raise ConfigError(
                f"search.{label}.space.{param}: use a list of choices or a table with low/high (and optional log)"
            )
    extra = set(table) - {"n_trials", "seed", "enqueue"}
    if extra:
        raise ConfigError(f"search.{label}: unknown keys {sorted(extra)}")
    for i, start in enumerate(table.get("enqueue", [])):
        if not isinstance(start, dict) or set(start) - set(space):
            raise ConfigError(
                f"search.{label}.enqueue[{i}]: a table of parameters from the space {sorted(space)}"
            )
        for param, value in start.items():
            spec = space[param]
            inside = (
                value in spec
                if isinstance(spec, list)
                else isinstance(value, (int, float)) and spec["low"] <= value <= spec["high"]
            )
            if not inside:
                raise ConfigError(
                    f"search.{label}.enqueue[{i}].{param}={value!r} is outside the space"
                )
    return SearchSpec(label=label, space=space, **table)


def load_config(source) -> BenchmarkConfig:
    """Read and validate a configuration from a TOML/JSON file path or a dict."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        text = path.read_text()
        if path.suffix == ".json":
            data = json.loads(text)
        else:
            try:
                import tomllib
            except ImportError:  # Python 3.10
                import tomli as tomllib
            data = tomllib.loads(text)
        data.setdefault("name", path.stem)
    else:
        data = dict(source)
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ConfigError(f"unknown top-level keys {sorted(unknown)}; valid: {sorted(_TOP_KEYS)}")
    if "interactions" in data:
        data.setdefault("dataset", Path(str(data["interactions"])).name.split(".")[0])
    elif "items" in data:
        raise ConfigError("'items' needs 'interactions' (the file of your interactions)")
    for key in ("name", "dataset"):
        if key not in data:
            raise ConfigError(f"the configuration needs a {key!r}")
    unknown_columns = set(data.get("columns", {})) - {"session", "item", "time"}
    if unknown_columns:
        raise ConfigError(
            f"columns: unknown roles {sorted(unknown_columns)}; use session, item and time"
        )
    if data.get("protocol", "P1") not in PROTOCOLS:
        raise ConfigError(f"protocol must be one of {PROTOCOLS}, got {data['protocol']!r}")
    if data.get("popularity", "train") not in ("train", "train+test"):
        raise ConfigError("popularity must be 'train' or 'train+test'")
    models = {label: _model_spec(label, table) for label, table in data.get("models", {}).items()}
    search = {
        label: _search_spec(label, table, models) for label, table in data.get("search", {}).items()
    }
    return BenchmarkConfig(
        name=data["name"],
        dataset=data["dataset"],
        data_dir=data.get("data_dir"),
        protocol=data.get("protocol", "P1"),
        k=list(data.get("k", [10, 20])),
        seeds=list(data.get("seeds", [0, 1, 2])),
        popularity=data.get("popularity", "train"),
        n_folds=int(data.get("n_folds", 3)),
        models=list(models.values()),
        search=search,
        interactions=data.get("interactions"),
        items=data.get("items"),
        columns=dict(data.get("columns", {})),
    )


def _parse_scalar(text: str):
    for conv in (json.loads,):
        try:
            return conv(text)
        except ValueError:
            pass
    return {"none": None, "true": True, "false": False}.get(text.lower(), text)


def parse_model_option(option: str) -> ModelSpec:
    """``"LLMSeqSim"`` or ``"label=LLMSeqSim:decay=harmonic,similarity=dot"`` -> ModelSpec."""
    match = re.fullmatch(
        r"(?:(?P<label>[^=:]+)=)?(?P<model>[\w.-]+)(?::(?P<params>.*))?", option.strip()
    )
    if not match:
        raise ConfigError(
            f"cannot parse model option {option!r}; use NAME or LABEL=NAME:param=value,..."
        )
    params = {}
    if match["params"]:
        for pair in match["params"].split(","):
            if "=" not in pair:
                raise ConfigError(f"model option {option!r}: {pair!r} is not param=value")
            key, value = pair.split("=", 1)
            params[key.strip()] = _parse_scalar(value.strip())
    label = match["label"] or match["model"]
    return _model_spec(label, {"model": match["model"], **params})
