"""The GMM front end: MFCC -> CMVN (mean only) -> deltas, as Kaldi's ``train_mono.sh``.

Everything is computed by :mod:`asr.features.functional` (Kaldi-compatible
``mfcc``, ``cmvn_stats``/``apply_cmvn``, ``compute_deltas`` with order 2, window 2).
CMVN statistics are pooled per speaker when ``utt2spk`` is given (Kaldi's default),
per utterance otherwise.
"""

from __future__ import annotations

from typing import Mapping

import torch

from asr.features import functional as F


def add_deltas_cmvn(mfccs: Mapping[str, torch.Tensor],
                    utt2spk: Mapping[str, str] | None = None) -> dict[str, torch.Tensor]:
    """Static features ``utt -> (N, F)`` -> ``utt -> (N, 3F)``: mean-normalised per
    speaker (or per utterance without ``utt2spk``), then deltas and delta-deltas."""
    groups: dict[str, list[str]] = {}
    for utt in mfccs:
        groups.setdefault(utt2spk[utt] if utt2spk is not None else utt, []).append(utt)
    out = {}
    for utts in groups.values():
        stats = [F.cmvn_stats(mfccs[u]) for u in utts]
        pooled = (sum(s[0] for s in stats), sum(s[1] for s in stats), sum(s[2] for s in stats))
        for u in utts:
            out[u] = F.compute_deltas(F.apply_cmvn(mfccs[u], pooled))
    return {u: out[u] for u in mfccs}


def mono_features(waveform: torch.Tensor, sample_rate: int = 16000) -> torch.Tensor:
    """Waveform ``(T_samples,)`` in [-1, 1) -> ``(N, 39)``: MFCC (13, Kaldi defaults),
    mean-normalised over the utterance, plus deltas and delta-deltas."""
    mfcc = F.mfcc(waveform, sample_rate)
    return add_deltas_cmvn({"u": mfcc})["u"]
