"""extract_shard: the per-job worker of asr compute-feats, on real AN4 audio."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import soundfile as sf
import torch

from asr.features import functional as F
from asr.features.extract import extract_shard
from asr.features.modules import FbankConfig, MfccConfig
from asr.features.storage import FeatureReader, write_index

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def items(an4_flacs):
    out = []
    for path in an4_flacs:
        audio, rate = sf.read(path, dtype="float32")
        out.append((path.stem, audio, rate))
    return out


@pytest.mark.parametrize("config", [FbankConfig(), MfccConfig(snip_edges=False)])
def test_shard_holds_the_functional_features(tmp_path, items, config):
    # A small batch_seconds forces several groups and several padded batches.
    entries = extract_shard(iter(items), config, tmp_path / "raw.1.bin", batch_seconds=5.0)
    assert [e.utt for e in entries] == [utt for utt, _, _ in items]
    write_index(tmp_path / "feats.scp", entries)
    reader = FeatureReader(tmp_path / "feats.scp")
    fn = F.fbank if config.type == "fbank" else F.mfcc
    for utt, audio, rate in items:
        expected = fn(torch.from_numpy(audio), rate, **config.options())
        np.testing.assert_allclose(reader[utt], expected.numpy(), rtol=1e-6, atol=1e-5)
        assert reader.entries[utt].frames == config.num_frames(len(audio))


def test_dither_is_per_utterance_and_independent_of_job_split(tmp_path, items):
    config = FbankConfig(dither=1.0)
    whole = extract_shard(items, config, tmp_path / "all.bin")
    first = extract_shard(items[:2], config, tmp_path / "a.bin")
    second = extract_shard(items[2:], config, tmp_path / "b.bin")
    one = FeatureReader(whole)
    split = FeatureReader(first + second)
    clean = FeatureReader(extract_shard(items, FbankConfig(), tmp_path / "clean.bin"))
    for utt in one.utts:
        np.testing.assert_array_equal(one[utt], split[utt])
        assert not np.array_equal(one[utt], clean[utt])


def test_float16_short_utterances_and_errors(tmp_path, items, caplog):
    utt, audio, rate = items[0]
    mixed = [(utt, audio, rate), ("tiny", audio[:100], rate)]
    with caplog.at_level(logging.WARNING):
        entries = extract_shard(mixed, MfccConfig(), tmp_path / "x.bin", dtype="float16")
    assert [e.utt for e in entries] == [utt] and entries[0].dtype == "float16"
    assert "tiny" in caplog.text
    with pytest.raises(ValueError, match=f"{utt}: sample rate 8000"):
        extract_shard([(utt, audio, 8000)], MfccConfig(), tmp_path / "y.bin")
    assert not (tmp_path / "y.bin").exists()
    with pytest.raises(ValueError, match="bad: waveform must be"):
        extract_shard([("bad", np.zeros((2, 100), np.float32), rate)], MfccConfig(),
                      tmp_path / "z.bin")
