"""Real AN4 fbank features (kaldi-native-fbank) and BPE targets for model tests."""

from __future__ import annotations

import re

import numpy as np
import pytest
import soundfile as sf
import torch

from asr.text import TokenizerConfig, build_tokenizer


def _fbank(path, num_bins: int = 40) -> np.ndarray:
    import kaldi_native_fbank as knf

    samples, rate = sf.read(str(path), dtype="float32")
    opts = knf.FbankOptions()
    opts.frame_opts.dither = 0.0
    opts.frame_opts.samp_freq = rate
    opts.mel_opts.num_bins = num_bins
    fbank = knf.OnlineFbank(opts)
    fbank.accept_waveform(rate, (samples * 32768.0).tolist())
    fbank.input_finished()
    return np.stack([fbank.get_frame(i) for i in range(fbank.num_frames_ready)])


@pytest.fixture(scope="session")
def an4_batch(an4_dir):
    """4 AN4 train utterances: ``feats (4, T, 40)``, lens, BPE targets padded with -1, tokenizer."""
    pytest.importorskip("kaldi_native_fbank", reason="real fbank features need kaldi-native-fbank")
    text = {}
    for line in (an4_dir / "etc" / "an4_train.transcription").read_text().splitlines():
        m = re.match(r"^(.*)\(([^()]+)\)\s*$", line)
        text[m.group(2)] = re.sub(r"</?s>", "", m.group(1)).strip()
    tokenizer = build_tokenizer(TokenizerConfig(vocab_size=40), list(text.values()))
    flacs = sorted((an4_dir / "wav" / "an4_clstk").rglob("*.flac"))[:4]
    feats = [torch.from_numpy(_fbank(f)) for f in flacs]
    ids = [tokenizer.encode(text[f.stem]) for f in flacs]
    feat_lens = torch.tensor([len(f) for f in feats])
    target_lens = torch.tensor([len(i) for i in ids])
    padded = torch.zeros(len(feats), int(feat_lens.max()), feats[0].shape[1])
    targets = torch.full((len(ids), int(target_lens.max())), -1, dtype=torch.long)
    for b, (f, i) in enumerate(zip(feats, ids)):
        padded[b, : len(f)] = f
        targets[b, : len(i)] = torch.tensor(i)
    return padded, feat_lens, targets, target_lens, tokenizer
