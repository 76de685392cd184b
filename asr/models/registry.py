"""Model registry: each model file registers its class under a name with a dataclass config.

A registered class has a class attribute ``config_class`` (a dataclass) and is built
as ``cls(config)``. ``build_model(name, config_dict)`` validates the mapping through
:func:`asr.config.from_dict`, so an unknown or mistyped key fails with its name.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

from torch import nn

_MODELS: dict[str, type[nn.Module]] = {}


def register_model(name: str) -> Callable[[type[nn.Module]], type[nn.Module]]:
    """Class decorator: make the model buildable as ``build_model(name, ...)``."""

    def wrap(cls: type[nn.Module]) -> type[nn.Module]:
        config_class = getattr(cls, "config_class", None)
        if config_class is None or not dataclasses.is_dataclass(config_class):
            raise TypeError(f"model {cls.__name__} needs a dataclass attribute config_class")
        if name in _MODELS and _MODELS[name] is not cls:
            raise ValueError(f"model name {name!r} is already registered by "
                             f"{_MODELS[name].__name__}")
        _MODELS[name] = cls
        return cls

    return wrap


def list_models() -> list[str]:
    return sorted(_MODELS)


def get_model_class(name: str) -> type[nn.Module]:
    if name not in _MODELS:
        raise ValueError(f"unknown model {name!r}; registered models: {list_models()}")
    return _MODELS[name]


def model_config(name: str, config: Mapping[str, Any] | Any) -> Any:
    """Validate ``config`` (a mapping or the config dataclass) for model ``name``."""
    from asr.config import from_dict

    cls = get_model_class(name)
    if isinstance(config, cls.config_class):  # type: ignore[attr-defined]
        return config
    if not isinstance(config, Mapping):
        raise ValueError(f"model {name!r}: config must be a mapping, got {type(config).__name__}")
    return from_dict(cls.config_class, config, path=f"model({name})")  # type: ignore[attr-defined]


def build_model(name: str, config: Mapping[str, Any] | Any) -> nn.Module:
    """Build model ``name`` from a config mapping (or its config dataclass)."""
    return get_model_class(name)(model_config(name, config))


def build_model_from_section(section: Mapping[str, Any]) -> nn.Module:
    """Build from a config section that names the model: ``{"name": ..., **config}``
    (the ``model`` section of ``exp/<name>/config.yaml`` and of ``conf/e2e/*.yaml``)."""
    settings = dict(section)
    name = settings.pop("name", None)
    if not name:
        raise ValueError(f"model section has no 'name' (registered models: {list_models()})")
    return build_model(name, settings)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
