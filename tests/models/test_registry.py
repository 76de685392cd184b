import dataclasses

import pytest
from torch import nn

from asr.config import ConfigError
from asr.models import (ConformerAED, build_model, build_model_from_section, list_models,
                        register_model)


def test_build_known_model():
    assert "conformer_aed" in list_models()
    model = build_model("conformer_aed", {"input_dim": 40, "vocab_size": 20, "d_model": 16,
                                          "n_heads": 2, "ff_dim": 16, "num_blocks": 1,
                                          "decoder_layers": 1, "decoder_ff_dim": 16})
    assert isinstance(model, ConformerAED)


def test_unknown_key_and_model_fail_clearly():
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['d_modle'\]"):
        build_model("conformer_aed", {"input_dim": 40, "vocab_size": 20, "d_modle": 16})
    with pytest.raises(ConfigError, match="missing required key.*vocab_size"):
        build_model("conformer_aed", {"input_dim": 40})
    with pytest.raises(ConfigError, match="num_blocks"):
        build_model("conformer_aed", {"input_dim": 40, "vocab_size": 20, "num_blocks": "two"})
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        build_model("nope", {})


def test_register_requires_a_dataclass_config():
    with pytest.raises(TypeError, match="config_class"):
        @register_model("broken")
        class Broken(nn.Module):
            pass

    @dataclasses.dataclass
    class Cfg:
        width: int = 2

    @register_model("test_linear")
    class Linear(nn.Module):
        config_class = Cfg

        def __init__(self, config):
            super().__init__()
            self.layer = nn.Linear(config.width, 1)

    assert build_model("test_linear", {"width": 3}).layer.in_features == 3


def test_build_from_a_named_section():
    model = build_model_from_section({"name": "conformer_aed", "input_dim": 40, "vocab_size": 20,
                                      "d_model": 16, "n_heads": 2, "ff_dim": 16,
                                      "num_blocks": 1, "decoder_layers": 0, "ctc_weight": 1.0})
    assert model.decoder is None
    with pytest.raises(ValueError, match="no 'name'"):
        build_model_from_section({"input_dim": 40})
