"""Fbank / Mfcc modules and their YAML-facing configs."""

from __future__ import annotations

import pytest
import torch
import yaml

from asr.config import ConfigError, from_dict, to_dict
from asr.features import functional as F
from asr.features.modules import (Fbank, FbankConfig, Mfcc, MfccConfig, config_from_dict,
                                  load_feature_config, make_extractor)

torch.set_num_threads(1)


def test_modules_equal_the_functions(parity_waves):
    wave = torch.from_numpy(parity_waves["an251-fash-b"])
    torch.testing.assert_close(Fbank()(wave), F.fbank(wave), rtol=0, atol=0)
    config = MfccConfig(num_ceps=20, num_mel_bins=30, snip_edges=False, use_energy=False)
    torch.testing.assert_close(Mfcc(config)(wave),
                               F.mfcc(wave, num_ceps=20, num_mel_bins=30, snip_edges=False,
                                      use_energy=False), rtol=0, atol=0)
    feats, counts = Fbank(FbankConfig(use_energy=True))(wave.unsqueeze(0), torch.tensor([8000]))
    assert feats.shape == (1, 48, 81) and counts.tolist() == [48]


def test_config_from_yaml_text():
    data = yaml.safe_load("type: mfcc\nnum_ceps: 12\nwindow_type: hamming\ndither: 1.0\n")
    config = config_from_dict(data)
    assert isinstance(config, MfccConfig)
    assert (config.num_ceps, config.window_type, config.dither) == (12, "hamming", 1.0)
    assert config.dim == 12
    assert isinstance(make_extractor(config), Mfcc)
    assert config_from_dict(to_dict(config)) == config  # round trip through save_config's form
    fbank = config_from_dict({"type": "fbank", "use_energy": True})
    assert fbank.dim == 81 and isinstance(make_extractor(fbank), Fbank)
    assert fbank.num_frames(16000) == 98 and fbank.frame_shift_seconds == 0.01


def test_load_feature_config_from_yaml_file(tmp_path):
    path = tmp_path / "mfcc.yaml"
    path.write_text("type: mfcc\nuse_energy: false\n")
    config = load_feature_config(path, overrides=["num_ceps=20", "num_mel_bins=30"])
    assert config == MfccConfig(use_energy=False, num_ceps=20, num_mel_bins=30)
    assert load_feature_config(None, "fbank", ["num_mel_bins=40"]) == FbankConfig(num_mel_bins=40)
    path.write_text("type: plp\n")
    with pytest.raises(ConfigError, match="plp"):
        load_feature_config(path)


def test_bad_configs_fail_with_the_key_named():
    with pytest.raises(ConfigError, match="num_cepz"):
        config_from_dict({"type": "mfcc", "num_cepz": 13})
    with pytest.raises(ConfigError, match="type"):
        config_from_dict({"num_ceps": 13})
    with pytest.raises(ConfigError, match="window_type"):
        from_dict(FbankConfig, {"window_type": "kaiser"})
    with pytest.raises(ConfigError, match="num_ceps"):
        MfccConfig(num_ceps=40)
    with pytest.raises(ConfigError, match="type"):
        from_dict(FbankConfig, {"type": "mfcc"})
