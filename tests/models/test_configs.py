"""The shipped conf/e2e YAML files build models of the documented sizes."""

from pathlib import Path

import pytest
import torch
import yaml

from asr.models import build_model, count_parameters

CONF = Path(__file__).resolve().parents[2] / "conf" / "e2e"

# name -> (vocab_size it is documented with, lower, upper parameter bound); AN4 uses
# characters (30 symbols with blank, <unk> and <sos/eos>), the others BPE.
SIZES = {"an4.yaml": (30, 3.5e6, 4.5e6), "librispeech_100h.yaml": (300, 28e6, 33e6),
         "librispeech_960h.yaml": (5000, 95e6, 120e6), "synthetic_cpu.yaml": (31, 3.5e6, 4.5e6)}


@pytest.mark.parametrize("name", sorted(SIZES))
def test_config_builds_documented_size(name):
    data = yaml.safe_load((CONF / name).read_text())
    model_section = dict(data["model"])
    model_name = model_section.pop("name")
    vocab, low, high = SIZES[name]
    if data["tokenizer"]["kind"] == "bpe":
        assert data["tokenizer"]["vocab_size"] == vocab
    with torch.device("meta"):  # no memory for the weights
        model = build_model(model_name, {**model_section, "input_dim": 80, "vocab_size": vocab})
    assert low < count_parameters(model) < high


@pytest.mark.parametrize("name", sorted(SIZES))
def test_config_loads_as_experiment_config(name):
    experiment = pytest.importorskip("asr.training.experiment",
                                     reason="the trainer's experiment config is not importable")
    config = experiment.load_experiment_config(CONF / name)
    assert config.model["name"] == "conformer_aed"


def test_decode_config_loads():
    from asr.config import load_config
    from asr.decode import DecodeConfig

    config = load_config(DecodeConfig, CONF / "decode.yaml")
    assert config.method == "attention_rescoring"


@pytest.mark.parametrize("path", sorted((CONF.parent / "ctc_phone").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_phone_ctc_configs_load_as_ctc_only_experiments(path):
    from asr.training.experiment import load_experiment_config

    config = load_experiment_config(path)
    assert config.tokenizer.kind == "phone"
    assert config.model["decoder_layers"] == 0 and config.model["ctc_weight"] == 1.0


@pytest.mark.parametrize("path", sorted((CONF.parent / "hybrid").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_hybrid_configs_load(path):
    from asr.config import load_config
    from asr.training.frame_classifier import FrameTrainConfig

    config = load_config(FrameTrainConfig, path)
    assert config.frontend.feature == "fmllr" and config.max_epochs >= 1
