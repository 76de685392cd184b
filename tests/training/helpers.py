"""Helpers for the training tests: real AN4 fbank features and a tiny CTC model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from asr.corpora.an4 import parse_transcriptions
from asr.training.dataset import UtteranceDataset
from asr.training.tiny_model import TinyCTCConfig, TinyCTCModel

NUM_BINS = 40
ALPHABET = " ABCDEFGHIJKLMNOPQRSTUVWXYZ'"  # id = position + 1 (0 is the CTC blank)


def fbank(wave: np.ndarray, sample_rate: int = 16000) -> np.ndarray:
    """Kaldi fbank (40 bins, no dither) of float samples in [-1, 1] -> (T, 40)."""
    import kaldi_native_fbank as knf

    opts = knf.FbankOptions()
    opts.frame_opts.dither = 0.0
    opts.frame_opts.samp_freq = sample_rate
    opts.mel_opts.num_bins = NUM_BINS
    fb = knf.OnlineFbank(opts)
    fb.accept_waveform(sample_rate, (np.asarray(wave, dtype=np.float32) * 32768).tolist())
    fb.input_finished()
    return np.stack([fb.get_frame(i) for i in range(fb.num_frames_ready)]).astype(np.float32)


def encode(text: str) -> list[int]:
    return [ALPHABET.index(c) + 1 for c in text.upper() if c in ALPHABET]


class An4Subset:
    """A few AN4 train utterances: waves, fbank features, char targets, durations."""

    def __init__(self, an4_dir: Path, num: int) -> None:
        import soundfile as sf

        texts = parse_transcriptions(an4_dir / "etc" / "an4_train.transcription")
        flacs = sorted((an4_dir / "wav" / "an4_clstk").rglob("*.flac"))[:num]
        self.utt_ids = [p.stem for p in flacs]
        self.waves, self.feats, self.targets, self.durations = {}, {}, {}, {}
        self.paths, self.texts = {}, {}
        for path in flacs:
            wave, rate = sf.read(path, dtype="float32")
            assert rate == 16000
            utt = path.stem
            self.waves[utt] = wave
            self.paths[utt] = path
            self.texts[utt] = texts[utt]
            self.feats[utt] = fbank(wave)
            self.targets[utt] = encode(texts[utt])
            self.durations[utt] = len(wave) / rate

    def dataset(self, **kwargs) -> UtteranceDataset:
        return UtteranceDataset(self.utt_ids, self.targets, self.durations,
                                features=self.feats, **kwargs)


def tiny_model(seed: int = 0, **kwargs) -> TinyCTCModel:
    torch.manual_seed(seed)
    config = TinyCTCConfig(input_dim=NUM_BINS, vocab_size=len(ALPHABET) + 1, hidden=32,
                           **kwargs)
    return TinyCTCModel(config)
