"""Typed configuration: dataclass defaults -> YAML file -> `a.b=c` overrides. Unknown keys are errors."""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from ecgvision.io.atomic import atomic_write_text

T = TypeVar("T")


class ConfigError(ValueError):
    """A config key or value that does not fit the dataclass."""


def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Convert a YAML value to the annotated type (nested dataclasses, tuples, Optional)."""
    origin = typing.get_origin(tp)
    if _is_dataclass_type(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return merge(tp(), value, where)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return None if value is None else _coerce(value, args[0], where)
    if origin in (tuple, list):
        args = typing.get_args(tp)
        inner = args[0] if args else Any
        items = [_coerce(v, inner, where) for v in value]
        return tuple(items) if origin is tuple else items
    if tp is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if tp in (int, str, bool) and not isinstance(value, tp):
        raise ConfigError(f"{where}: expected {tp.__name__}, got {value!r}")
    return value


def merge(config: T, updates: dict[str, Any], where: str = "") -> T:
    """A copy of dataclass `config` with `updates` applied; unknown keys raise ConfigError."""
    types_ = _field_types(type(config))
    changes = {}
    for key, value in updates.items():
        path = f"{where}.{key}" if where else key
        if key not in types_:
            raise ConfigError(f"unknown config key {path!r}; known: {sorted(types_)}")
        current = getattr(config, key)
        if dataclasses.is_dataclass(current) and isinstance(value, dict):
            changes[key] = merge(current, value, path)
        else:
            changes[key] = _coerce(value, types_[key], path)
    return dataclasses.replace(config, **changes)


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """['train.lr=1e-3', 'model.name=x'] -> nested dict; values are parsed as YAML scalars."""
    nested: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"override {pair!r} is not key=value")
        key, raw = pair.split("=", 1)
        node = nested
        *parents, leaf = key.strip().split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(raw)
    return nested


def load_config(cls: type[T], yaml_path: str | os.PathLike | None = None, overrides: list[str] = ()) -> T:
    """Defaults of `cls`, then the YAML file, then `key=value` overrides."""
    config = cls()
    if yaml_path is not None:
        data = yaml.safe_load(Path(yaml_path).read_text()) or {}
        config = merge(config, data)
    return merge(config, parse_overrides(list(overrides)))


def to_dict(config: Any) -> dict[str, Any]:
    return json.loads(json.dumps(dataclasses.asdict(config)))


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    return merge(cls(), data)


def save_config(config: Any, path: str | os.PathLike) -> None:
    """Resolved config as JSON (beside weights) or YAML (run folders), by extension."""
    data = to_dict(config)
    text = (
        yaml.safe_dump(data, sort_keys=False)
        if str(path).endswith((".yaml", ".yml"))
        else json.dumps(data, indent=2)
    )
    atomic_write_text(path, text)
