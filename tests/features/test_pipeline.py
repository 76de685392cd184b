"""compute-feats over a data dir: parallel jobs, index, CMVN, bad audio."""

import numpy as np
import pytest
import soundfile as sf

from asr.bin.main import main
from asr.data import DataDir, DataDirError
from asr.features import FbankConfig, MfccConfig, fbank, mfcc
from asr.features.pipeline import compute_datadir_features
from asr.features.storage import FeatureReader, load_cmvn
from asr.audio import load_audio


@pytest.fixture()
def small_dir(tmp_path, an4_data):
    data = DataDir.load(an4_data["test"]).by_speakers(["fcaw", "mmxg"])
    data.save(tmp_path / "src")
    return tmp_path / "src"


def test_two_jobs_equal_direct_computation(tmp_path, small_dir):
    out = tmp_path / "mfcc"
    assert main(["compute-feats", str(small_dir), str(out), "--feature", "mfcc", "--nj", "2"]) == 0
    data = DataDir.load(out)
    data.validate(check_audio=True)
    assert sorted(data.feats_scp) == data.utterances
    assert len(list((out / "feats").glob("*.bin"))) == 2
    assert sorted(p.name for p in (out / "log").iterdir()) == ["feats.1.log", "feats.2.log"]
    reader = FeatureReader(out / "feats.scp")
    utt = data.utterances[-1]
    expected = mfcc(load_audio(data.wav_scp[utt]))
    assert np.allclose(reader[utt], expected.numpy(), atol=1e-4)
    stats = load_cmvn(out / "cmvn.npz")
    assert sorted(stats.keys) == ["fcaw", "mmxg"]


def test_global_cmvn_fbank_and_rerun_replaces_shards(tmp_path, small_dir):
    out = tmp_path / "fbank"
    config = FbankConfig(num_mel_bins=40)
    compute_datadir_features(small_dir, out, config, cmvn="global")
    first = sorted(p.name for p in (out / "feats").glob("*.bin"))
    import time
    time.sleep(1.1)  # shard names carry the run's second
    compute_datadir_features(small_dir, out, config, cmvn="global")
    second = sorted(p.name for p in (out / "feats").glob("*.bin"))
    assert len(second) == 1 and second != first
    reader = FeatureReader(out / "feats.scp")
    assert reader.dim == 40 and list(load_cmvn(out / "cmvn.npz").keys) == ["global"]
    utt = reader.utts[0]
    wave = load_audio(DataDir.load(out).wav_scp[utt])
    assert np.allclose(reader[utt], fbank(wave, num_mel_bins=40).numpy(), atol=1e-4)


def test_unreadable_audio_is_counted_and_dropped(tmp_path, small_dir):
    data = DataDir.load(small_dir)
    bad = data.utterances[3]
    corrupt = tmp_path / "corrupt.flac"
    corrupt.write_bytes(b"fLaC" + b"\x00" * 100)
    data.wav_scp[bad] = str(corrupt)
    data.save(small_dir)
    out = tmp_path / "mfcc"
    with pytest.raises(DataDirError, match=rf"1 of {len(data)} utterances have no features \({bad}\)"):
        compute_datadir_features(small_dir, out, MfccConfig(), num_jobs=2)
    assert not (out / "feats.scp").exists()  # nothing half-made is published
    result = compute_datadir_features(small_dir, out, MfccConfig(), num_jobs=1,
                                      max_failed_fraction=0.1)
    assert bad not in result.utterances and len(result) == len(data) - 1
    DataDir.load(out).validate()
    logs = "".join(p.read_text() for p in (out / "log").glob("*.log"))
    assert f"utterance {bad} skipped" in logs and "corrupt.flac" in logs


def test_resampled_stereo_input(tmp_path, small_dir):
    data = DataDir.load(small_dir).first(2)
    utt = data.utterances[0]
    wave = load_audio(data.wav_scp[utt]).numpy()
    from asr.audio import resample
    import torch
    wave44 = resample(torch.from_numpy(wave), 16000, 44100).numpy()
    sf.write(tmp_path / "stereo.wav", np.stack([wave44, wave44], 1), 44100, subtype="FLOAT")
    data.wav_scp[utt] = str(tmp_path / "stereo.wav")
    data.save(tmp_path / "st")
    out = tmp_path / "feats"
    compute_datadir_features(tmp_path / "st", out, MfccConfig(), cmvn="none")
    reader = FeatureReader(out / "feats.scp")
    # The job sees the file as load_audio gives it: mono, 16 kHz.
    converted = load_audio(tmp_path / "stereo.wav", 16000)
    assert converted.shape == (wave.shape[0],)
    assert np.allclose(reader[utt], mfcc(converted).numpy(), atol=1e-4)


@pytest.mark.parametrize("mode", ["speaker", "utterance", "global"])
def test_open_features_applies_cmvn(tmp_path, small_dir, mode):
    from asr.features.pipeline import open_features

    out = tmp_path / mode
    compute_datadir_features(small_dir, out, MfccConfig(), cmvn=mode)
    reader = open_features(out, norm_vars=True)
    data = DataDir.load(out)
    groups = {"speaker": data.spk2utt, "utterance": {u: [u] for u in data.utterances},
              "global": {"all": data.utterances}}[mode]
    for utts in groups.values():
        stacked = np.concatenate([reader[u] for u in utts])
        assert np.abs(stacked.mean(0)).max() < 1e-3
        assert np.abs(stacked.std(0) - 1).max() < 1e-3
    raw = open_features(out, apply_cmvn=False)
    assert not np.allclose(raw[data.utterances[0]], reader[data.utterances[0]])
