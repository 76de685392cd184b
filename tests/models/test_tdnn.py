"""TDNN frame classifier: shapes, receptive field, registry and config checks."""

import pytest
import torch

from asr.config import ConfigError
from asr.models import build_model, build_model_from_section
from asr.models.tdnn import TDNN, TDNNConfig


def small(**kw) -> TDNN:
    torch.manual_seed(0)
    cfg = {"input_dim": 8, "num_pdfs": 5, "hidden_dim": 16, "dropout": 0.0, **kw}
    return build_model("tdnn", cfg).eval()


def test_context_is_the_sum_of_dilated_half_kernels():
    assert TDNNConfig(input_dim=1, num_pdfs=1).context == 2 + 1 + 1 + 3 + 3 + 3
    assert TDNNConfig(input_dim=1, num_pdfs=1, kernel_sizes=[3, 1], dilations=[4, 1]).context == 4


def test_forward_shapes_and_utterance_padding():
    model = small()
    c = model.context
    assert model(torch.randn(2, 10 + 2 * c, 8)).shape == (2, 10, 5)
    for t in (1, 7, 40):
        assert model.utterance_logits(torch.randn(t, 8)).shape == (t, 5)
    with pytest.raises(ValueError, match="no output frame"):
        model(torch.randn(1, 2 * c, 8))
    with pytest.raises(ValueError, match="expected feats"):
        model(torch.randn(1, 50, 7))


def test_receptive_field_is_exactly_the_context():
    model = small()
    c = model.context
    x = torch.randn(1, 60, 8)
    base = model(x)                       # output frame j sees inputs j .. j + 2c
    j = 10
    inside, outside = x.clone(), x.clone()
    inside[0, j + 2 * c] += 5.0           # last frame output j depends on
    outside[0, j + 2 * c + 1] += 5.0      # one beyond it
    assert not torch.allclose(model(inside)[0, j], base[0, j])
    assert torch.allclose(model(outside)[0, j], base[0, j])


def test_utterance_logits_repeat_edge_frames():
    model = small()
    c = model.context
    x = torch.randn(12, 8)
    padded = torch.cat([x[:1].repeat(c, 1), x, x[-1:].repeat(c, 1)])
    assert torch.allclose(model.utterance_logits(x), model(padded[None])[0])


def test_registry_validates_the_config():
    model = build_model_from_section({"name": "tdnn", "input_dim": 4, "num_pdfs": 3})
    assert isinstance(model, TDNN) and model.config.hidden_dim == 256
    with pytest.raises(ConfigError, match="hiden_dim"):
        build_model("tdnn", {"input_dim": 4, "num_pdfs": 3, "hiden_dim": 8})
    with pytest.raises(ValueError, match="odd"):
        build_model("tdnn", {"input_dim": 4, "num_pdfs": 3, "kernel_sizes": [4], "dilations": [1]})
    with pytest.raises(ValueError, match="equal length"):
        build_model("tdnn", {"input_dim": 4, "num_pdfs": 3, "kernel_sizes": [3], "dilations": []})
