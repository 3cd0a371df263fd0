"""The one configuration loader: model defaults, overlaid by YAML files, overlaid by overrides.

Errors name the file that set the bad value, the dotted field path and what was expected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from .root import Config

DEFAULTS = "<defaults>"


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names file, field and expectation."""


def load_config(
    files: Iterable[str | Path] = (), overrides: Mapping[str, Any] | None = None
) -> Config:
    """Defaults, then each YAML file in order, then ``overrides`` (dotted keys, e.g. ROS params)."""
    merged = Config().model_dump(mode="json")
    origin: dict[tuple[str, ...], str] = {}
    for path in files:
        _merge(merged, _read_yaml(Path(path)), (), str(path), origin)
    if overrides:
        _merge(merged, unflatten(overrides), (), "<overrides>", origin)
    return validate(merged, origin)


def validate(
    data: Mapping[str, Any], origin: Mapping[tuple[str, ...], str] | None = None
) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_describe(e, origin or {})) from None


def overlay(config: Config, overrides: Mapping[str, Any], source: str = "<overrides>") -> Config:
    """``config`` with dotted-key overrides applied and validated again."""
    merged = config.model_dump(mode="json")
    origin: dict[tuple[str, ...], str] = {}
    _merge(merged, unflatten(overrides), (), source, origin)
    return validate(merged, origin)


def flatten(config: BaseModel) -> dict[str, Any]:
    """Dotted keys to plain values (str, int, float, bool, lists), e.g. for ROS parameters."""
    return flatten_tree(config.model_dump(mode="json"))


def flatten_tree(tree: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted keys to the leaves of nested mappings (a configuration as YAML holds it)."""
    out: dict[str, Any] = {}

    def walk(value: Any, prefix: str) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(v, f"{prefix}.{k}" if prefix else k)
        else:
            out[prefix] = value

    walk(tree, "")
    return out


def unflatten(flat: Mapping[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        *parents, leaf = key.split(".")
        node = nested
        for p in parents:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {key!r}: {p!r} is not a section")
        node[leaf] = value
    return nested


def to_yaml(config: BaseModel, comments: bool = True) -> str:
    """YAML of a model's values, each field preceded by its description as a comment."""
    lines: list[str] = []

    def emit(model: BaseModel, indent: int) -> None:
        pad = "  " * indent
        values = model.model_dump(mode="json")
        for name, field in type(model).model_fields.items():
            if comments and field.description:
                lines.append(f"{pad}# {field.description}")
            value = getattr(model, name)
            if isinstance(value, BaseModel):
                lines.append(f"{pad}{name}:")
                emit(value, indent + 1)
            else:
                dumped = yaml.safe_dump(values[name], default_flow_style=True, width=10_000)
                lines.append(
                    f"{pad}{name}: {dumped.removesuffix(chr(10)).removesuffix('...').strip()}"
                )

    emit(config, 0)
    return "\n".join(lines) + "\n"


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: expected a mapping of sections ({', '.join(Config.model_fields)}), "
            f"got {type(data).__name__}"
        )
    return data


def _merge(
    into: dict[str, Any],
    new: Mapping[str, Any],
    prefix: tuple[str, ...],
    source: str,
    origin: dict[tuple[str, ...], str],
) -> None:
    for key, value in new.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value, path, source, origin)
        else:
            into[key] = dict(value) if isinstance(value, Mapping) else value
            origin[path] = source
            for p in [p for p in origin if p[: len(path)] == path and p != path]:
                origin[p] = source


def _describe(error: ValidationError, origin: Mapping[tuple[str, ...], str]) -> str:
    problems = []
    for item in error.errors(include_url=False):
        loc = tuple(str(p) for p in item["loc"])
        source = _source(loc, origin)
        field = ".".join(loc) or "<root>"
        if item["type"] == "extra_forbidden":
            allowed = _allowed_keys(loc[:-1])
            msg = (
                f"unknown key; expected one of: {', '.join(allowed)}" if allowed else "unknown key"
            )
        else:
            msg = item["msg"]
            if "input" in item and not isinstance(item["input"], dict):
                msg += f" (got {_short(item['input'])})"
        problems.append(f"{source}: {field}: {msg}")
    return "invalid configuration:\n  " + "\n  ".join(problems)


def _source(loc: tuple[str, ...], origin: Mapping[tuple[str, ...], str]) -> str:
    """The file that set this field, one of its parents, or else (section checks) a child."""
    for n in range(len(loc), 0, -1):
        if loc[:n] in origin:
            return origin[loc[:n]]
    children = sorted({src for path, src in origin.items() if path[: len(loc)] == loc})
    return " + ".join(children) or DEFAULTS


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _allowed_keys(loc: tuple[str, ...]) -> list[str]:
    model: Any = Config
    for part in loc:
        fields = getattr(model, "model_fields", None)
        if not fields or part not in fields:
            return []
        model = fields[part].annotation
    fields = getattr(model, "model_fields", None)
    return list(fields) if fields else []
