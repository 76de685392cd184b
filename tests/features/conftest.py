"""Real AN4 utterances and a kaldi-native-fbank reference for the feature tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

# Train and test speakers; cen7-mjjs2-b has very low-energy low-frequency mel bins
# (see test_fbank_matches_kaldi_native_fbank).
PARITY_UTTS = (
    "an4_clstk/fash/an251-fash-b",
    "an4_clstk/mjjs2/cen7-mjjs2-b",
    "an4test_clstk/fcaw/an406-fcaw-b",
    "an4test_clstk/mmxg/an444-mmxg-b",
)


@pytest.fixture(scope="session")
def parity_waves(an4_dir: Path) -> dict[str, np.ndarray]:
    """``utt -> (T,) float32 in [-1, 1)`` for :data:`PARITY_UTTS`."""
    waves = {}
    for rel in PARITY_UTTS:
        audio, rate = sf.read(an4_dir / "wav" / f"{rel}.flac", dtype="float32")
        assert rate == 16000
        waves[rel.rsplit("/", 1)[1]] = audio
    return waves


def knf_features(wave: np.ndarray, kind: str, **opts) -> np.ndarray:
    """kaldi-native-fbank features of ``wave`` ([-1, 1) floats, given to it at int16 scale)."""
    knf = pytest.importorskip("kaldi_native_fbank",
                              reason="kaldi-native-fbank is the test reference")
    o = knf.MfccOptions() if kind == "mfcc" else knf.FbankOptions()
    o.frame_opts.dither = 0.0
    for key in ("window_type", "snip_edges", "samp_freq", "frame_length_ms", "frame_shift_ms",
                "preemph_coeff", "remove_dc_offset", "round_to_power_of_two"):
        if key in opts:
            setattr(o.frame_opts, key, opts.pop(key))
    for key in ("num_bins", "low_freq", "high_freq"):
        if key in opts:
            setattr(o.mel_opts, key, opts.pop(key))
    for key, value in opts.items():
        setattr(o, key, value)
    comp = knf.OnlineMfcc(o) if kind == "mfcc" else knf.OnlineFbank(o)
    comp.accept_waveform(o.frame_opts.samp_freq, (wave * 32768.0).astype(np.float32))
    comp.input_finished()
    frames = [comp.get_frame(i) for i in range(comp.num_frames_ready)]
    dim = comp.dim
    return np.stack(frames) if frames else np.zeros((0, dim), dtype=np.float32)


@pytest.fixture(scope="session")
def knf_ref():
    """:func:`knf_features` (skips when kaldi-native-fbank is missing)."""
    pytest.importorskip("kaldi_native_fbank", reason="kaldi-native-fbank is the test reference")
    return knf_features
