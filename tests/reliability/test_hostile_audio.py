"""Hostile audio through the real loader and the real feature stage: each case gets a
clear error naming the file, or is converted where conversion is the right answer."""

import math

import numpy as np
import pytest
import soundfile as sf
import torch

from asr.audio import AudioError, load_audio
from asr.data import DataDir, DataDirError
from asr.features import MfccConfig
from asr.features.pipeline import compute_datadir_features

RATE = 16000


def tone(rate: int, seconds: float = 1.0, channels: int = 1) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    mono = 0.3 * np.sin(2 * math.pi * 300 * t)
    return np.repeat(mono[:, None], channels, axis=1) if channels > 1 else mono


@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000])
def test_any_rate_is_resampled(tmp_path, rate):
    path = tmp_path / f"r{rate}.wav"
    sf.write(path, tone(rate), rate, subtype="PCM_16")
    wave = load_audio(path, RATE)
    assert wave.shape == (RATE,)
    expected = torch.from_numpy(tone(RATE)).float()
    assert (wave - expected)[300:-300].abs().max() < 5e-3


def test_six_channels_are_mixed_down(tmp_path):
    data = tone(RATE, channels=6)
    data[:, 3:] = 0.0  # half the channels silent: the mix halves the amplitude
    sf.write(tmp_path / "six.wav", data, RATE, subtype="FLOAT")
    wave = load_audio(tmp_path / "six.wav", RATE)
    assert torch.allclose(wave, torch.from_numpy(tone(RATE) / 2).float(), atol=1e-6)


@pytest.mark.parametrize("subtype,tolerance", [("PCM_U8", 1 / 64), ("FLOAT", 1e-7),
                                               ("PCM_32", 1e-7), ("DOUBLE", 1e-7)])
def test_sample_formats(tmp_path, subtype, tolerance):
    sf.write(tmp_path / "x.wav", tone(RATE), RATE, subtype=subtype)
    wave = load_audio(tmp_path / "x.wav", RATE)
    assert (wave - torch.from_numpy(tone(RATE)).float()).abs().max() <= tolerance


@pytest.mark.parametrize("name,content,message", [
    ("zero.flac", None, "empty file|empty audio"),
    ("zero.wav", None, "empty audio"),
    ("empty.wav", b"", "empty file"),
    ("header_only.wav", "truncate:44", "empty audio|cannot decode"),
    ("truncated.flac", "truncate:100", "cannot decode"),
    ("garbage.flac", b"fLaC" + bytes(range(256)) * 4, "cannot decode"),
])
def test_broken_files_name_themselves(tmp_path, name, content, message):
    path = tmp_path / name
    if content is None:
        sf.write(path, np.zeros(0, dtype=np.int16), RATE)
    elif isinstance(content, str):
        full = tmp_path / ("full" + path.suffix)
        sf.write(full, tone(RATE), RATE, subtype="PCM_16")
        path.write_bytes(full.read_bytes()[: int(content.split(":")[1])])
    else:
        path.write_bytes(content)
    with pytest.raises(AudioError, match=message) as err:
        load_audio(path, RATE)
    assert name in str(err.value)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_samples(tmp_path, bad):
    data = tone(RATE).astype(np.float32)
    data[100:110] = bad
    sf.write(tmp_path / "nf.wav", data, RATE, subtype="FLOAT")
    with pytest.raises(AudioError, match="nf.wav: 10 samples are NaN or infinite"):
        load_audio(tmp_path / "nf.wav", RATE)


def test_feature_stage_counts_skips_and_keeps_the_rest(tmp_path):
    """A data dir mixing good, odd-but-usable and broken audio (with a space in a path):
    the broken ones are logged, counted and dropped; the rest get features."""
    audio = tmp_path / "audio dir"
    audio.mkdir()
    data = DataDir()
    cases = {
        "s1-good": ("good.wav", lambda p: sf.write(p, tone(RATE), RATE)),
        "s1-six": ("six ch.wav", lambda p: sf.write(p, tone(48000, channels=6), 48000)),
        "s1-u8": ("u8.wav", lambda p: sf.write(p, tone(8000), 8000, subtype="PCM_U8")),
        "s2-empty": ("empty.flac", lambda p: p.write_bytes(b"")),
        "s2-nan": ("nan.wav", lambda p: sf.write(p, np.full(RATE, np.nan, np.float32), RATE,
                                                 subtype="FLOAT")),
    }
    for utt, (name, make) in cases.items():
        make(audio / name)
        data.wav_scp[utt] = str(audio / name)
        data.text[utt] = "HELLO"
        data.utt2spk[utt] = utt.split("-")[0]
    data.save(tmp_path / "src")
    with pytest.raises(DataDirError, match=r"2 of 5 utterances have no features \(s2-empty, s2-nan\)"):
        compute_datadir_features(tmp_path / "src", tmp_path / "feats", MfccConfig())
    kept = compute_datadir_features(tmp_path / "src", tmp_path / "feats", MfccConfig(),
                                    max_failed_fraction=0.5)
    assert kept.utterances == ["s1-good", "s1-six", "s1-u8"]
    DataDir.load(tmp_path / "feats").validate(check_audio=True)
