import math

import numpy as np
import pytest
import soundfile as sf
import torch

from asr.audio import AudioError, audio_info, load_audio
from asr.audio.io import RawFormat, raw_entry


def test_flac_is_int16_scaled(an4_flacs):
    wave = load_audio(an4_flacs[0])
    ints, rate = sf.read(an4_flacs[0], dtype="int16")
    assert rate == 16000 and wave.dtype == torch.float32
    assert torch.equal(wave, torch.from_numpy(ints.astype(np.float32) / 32768))


def test_an4_raw_big_endian_matches_flac(an4_raw_tree, an4_dir):
    raw = sorted((an4_raw_tree / "wav" / "an4_clstk").rglob("*.raw"))[3]
    flac = an4_dir / raw.relative_to(an4_raw_tree).with_suffix(".flac")
    wave = load_audio(raw_entry(raw, RawFormat("s16be", 16000)))
    assert torch.equal(wave, load_audio(flac))
    # Read as little-endian (what CMU's README claims), the signal is noise-like garbage:
    wrong = load_audio(raw_entry(raw, RawFormat("s16le", 16000)))
    assert wrong.abs().mean() > 10 * wave.abs().mean()


@pytest.mark.parametrize("subtype,fmt", [("PCM_16", "WAV"), ("PCM_U8", "WAV"), ("FLOAT", "WAV"),
                                         ("PCM_24", "FLAC"), ("PCM_32", "WAV")])
def test_formats(tmp_path, an4_flacs, subtype, fmt):
    ref = load_audio(an4_flacs[1])
    path = tmp_path / f"x.{fmt.lower()}"
    sf.write(path, ref.numpy(), 16000, subtype=subtype, format=fmt)
    got = load_audio(path)
    tol = 1 / 64 if subtype == "PCM_U8" else 1e-4
    assert got.shape == ref.shape and (got - ref).abs().max() <= tol


def test_stereo_44k_is_mixed_and_resampled(tmp_path):
    rate = 44100
    t = np.arange(rate) / rate
    left = 0.5 * np.sin(2 * math.pi * 440 * t)
    stereo = np.stack([left, np.zeros_like(left)], axis=1)
    sf.write(tmp_path / "s.wav", stereo, rate, subtype="PCM_16")
    wave = load_audio(tmp_path / "s.wav", 16000)
    assert wave.shape == (16000,)
    t16 = torch.arange(16000) / 16000
    expected = 0.25 * torch.sin(2 * math.pi * 440 * t16)
    assert (wave - expected)[200:-200].abs().max() < 2e-3
    assert audio_info(tmp_path / "s.wav").channels == 2


def test_pipe_entry(an4_flacs):
    entry = f"cat {an4_flacs[0]} |"
    assert torch.equal(load_audio(entry), load_audio(an4_flacs[0]))
    with pytest.raises(AudioError, match="audio command failed"):
        load_audio("false |")


def test_segment(an4_flacs):
    full = load_audio(an4_flacs[2])
    part = load_audio(an4_flacs[2], start=0.25, end=0.5)
    assert torch.equal(part, full[4000:8000])


def test_bad_input_errors_name_the_file(tmp_path, an4_flacs):
    with pytest.raises(FileNotFoundError, match="missing.flac"):
        load_audio(tmp_path / "missing.flac")
    empty = tmp_path / "empty.flac"
    empty.write_bytes(b"")
    with pytest.raises(AudioError, match="empty.flac: empty file"):
        load_audio(empty)
    corrupt = tmp_path / "corrupt.flac"
    corrupt.write_bytes(an4_flacs[0].read_bytes()[:60])
    with pytest.raises(AudioError, match="corrupt.flac"):
        load_audio(corrupt)
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"RIFF\x00\x00\x00\x00not really a wave file" * 10)
    with pytest.raises(AudioError, match="garbage.wav"):
        load_audio(garbage)
    zero = tmp_path / "zero.wav"
    sf.write(zero, np.zeros(0, dtype=np.int16), 16000)
    with pytest.raises(AudioError, match="zero.wav: empty audio"):
        load_audio(zero)
    short = tmp_path / "short.wav"
    sf.write(short, np.zeros(80, dtype=np.int16), 16000)
    with pytest.raises(AudioError, match="short.wav: 0.005 s .* shorter than the minimum 0.025 s"):
        load_audio(short, min_duration=0.025)
    nan = tmp_path / "nan.wav"
    sf.write(nan, np.array([0.1, np.nan, 0.2] * 100, dtype=np.float32), 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="nan.wav: 100 samples are NaN"):
        load_audio(nan)
    with pytest.raises(ValueError, match="unknown raw encoding"):
        load_audio("raw:s12:16000:/x.raw")
