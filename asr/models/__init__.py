"""Models, one file each, found through a registry.

``build_model(name, config_dict)`` validates the config through the model's dataclass
(unknown keys fail); ``build_model_from_section({"name": ..., **config})`` does the same
for a YAML ``model`` section; ``list_models()`` names what is registered.
"""

from asr.models.registry import (
    build_model, build_model_from_section, count_parameters, get_model_class, list_models,
    model_config, register_model,
)
from asr.models import conformer_aed  # noqa: F401  (registers "conformer_aed")
from asr.models import tdnn  # noqa: F401  (registers "tdnn")
from asr.models.conformer_aed import ConformerAED, ConformerAEDConfig

__all__ = [
    "ConformerAED", "ConformerAEDConfig", "build_model", "build_model_from_section",
    "count_parameters", "get_model_class", "list_models", "model_config", "register_model",
]
