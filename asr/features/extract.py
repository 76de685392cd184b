"""The per-job feature extraction worker behind ``asr compute-feats``.

One job turns its utterances into one shard (see :mod:`asr.features.storage`)::

    entries = extract_shard(items, config, "fbank/raw_fbank_train.3.bin")

``items`` yields ``(utt_id, waveform (T,) float32 in [-1, 1), sample_rate)``. The
utterances are read in order and computed in length-sorted batches of about
``batch_seconds`` of audio; the shard stores them in input order. An utterance too
short for one frame is skipped with a warning, as Kaldi does.

With ``dither > 0`` each utterance gets its own noise generator seeded from its id
(and ``seed``), so features do not depend on how the data was split into jobs.
"""

from __future__ import annotations

import logging
import zlib
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch

from asr.features.modules import FbankConfig, FeatureConfig, MfccConfig, make_extractor
from asr.features.storage import FeatEntry, ShardWriter

log = logging.getLogger(__name__)


def _as_waveform(utt: str, waveform) -> torch.Tensor:
    if isinstance(waveform, np.ndarray):
        waveform = torch.from_numpy(waveform)
    if not isinstance(waveform, torch.Tensor):
        raise ValueError(f"utterance {utt}: waveform must be a numpy array or tensor, "
                         f"got {type(waveform).__name__}")
    if waveform.dim() != 1 or not waveform.is_floating_point():
        raise ValueError(f"utterance {utt}: waveform must be (T,) float, got shape "
                         f"{tuple(waveform.shape)} {waveform.dtype}")
    return waveform.float()


def _buffers(items: Iterable, sample_rate: int, limit: int) -> Iterator[list]:
    """Consecutive groups of ``(utt, waveform)`` holding about ``limit`` samples."""
    group, total = [], 0
    for item in items:
        try:
            utt, waveform, rate = item
        except (TypeError, ValueError):
            raise ValueError(f"extract_shard items must be (utt_id, waveform, sample_rate), "
                             f"got {item!r:.80}") from None
        if int(rate) != sample_rate:
            raise ValueError(f"utterance {utt}: sample rate {rate} Hz, the feature config "
                             f"expects {sample_rate} Hz (resample when loading audio)")
        waveform = _as_waveform(utt, waveform)
        group.append((utt, waveform))
        total += waveform.shape[0]
        if total >= limit:
            yield group
            group, total = [], 0
    if group:
        yield group


def _batches(lengths: list[int], limit: int) -> list[list[int]]:
    """Indices sorted by decreasing length, cut so that rows x longest <= ``limit`` samples."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches, current = [], []
    for i in order:
        if current and (len(current) + 1) * lengths[current[0]] > limit:
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def _generator(utt: str, seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(zlib.crc32(utt.encode("utf-8")) + (seed << 32))


def compute_group(extractor, waveforms: list[torch.Tensor], limit: int,
                  dither_seed: tuple[list[str], int] | None = None) -> list[torch.Tensor]:
    """Features ``(frames, dim)`` of each waveform, computed in padded batches.

    ``dither_seed = (utt_ids, seed)`` computes one utterance at a time with a
    per-utterance generator (used when dithering).
    """
    out: list[torch.Tensor | None] = [None] * len(waveforms)
    if dither_seed is not None:
        utts, seed = dither_seed
        for i, waveform in enumerate(waveforms):
            out[i] = extractor(waveform, generator=_generator(utts[i], seed))
        return out
    lengths = [w.shape[0] for w in waveforms]
    for batch in _batches(lengths, limit):
        longest = lengths[batch[0]]
        padded = torch.zeros(len(batch), longest)
        for row, i in enumerate(batch):
            padded[row, :lengths[i]] = waveforms[i]
        feats, counts = extractor(padded, torch.tensor([lengths[i] for i in batch]))
        for row, i in enumerate(batch):
            out[i] = feats[row, :int(counts[row])]
    return out


def extract_shard(items: Iterable, config: FeatureConfig, shard_path: str | Path,
                  progress: bool = False, *, dtype: str = "float32",
                  batch_seconds: float = 60.0, seed: int = 0) -> list[FeatEntry]:
    """Compute features for ``items`` and write them to one shard.

    Args:
        items: iterable of ``(utt_id, waveform (T,) float32 in [-1, 1), sample_rate)``;
            the sample rate must equal ``config.sample_rate``.
        config: :class:`FbankConfig` or :class:`MfccConfig`.
        shard_path: the shard file to create (atomically; parents are created).
        progress: show a tqdm progress bar (per utterance).
        dtype: ``float32`` or ``float16`` storage.
        batch_seconds: audio held and computed at once (memory bound).
        seed: dither seed (combined with each utterance id).

    Returns:
        One :class:`FeatEntry` per stored utterance, in input order; write them with
        :func:`asr.features.storage.write_index` (or put ``entry.value`` into
        ``DataDir.feats_scp``) after every job has finished.
    """
    if not isinstance(config, (FbankConfig, MfccConfig)):
        raise TypeError(f"config must be FbankConfig or MfccConfig, got {type(config).__name__}")
    extractor = make_extractor(config)
    limit = max(1, int(batch_seconds * config.sample_rate))
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(desc=f"features {Path(shard_path).name}", unit="utt")
    try:
        with torch.inference_mode(), ShardWriter(shard_path, dtype=dtype) as writer:
            for group in _buffers(items, config.sample_rate, limit):
                utts = [utt for utt, _ in group]
                waveforms = [w for _, w in group]
                feats = compute_group(extractor, waveforms, limit,
                                      (utts, seed) if config.dither != 0.0 else None)
                for utt, waveform, f in zip(utts, waveforms, feats):
                    if f.shape[0] == 0:
                        log.warning("utterance %s: %d samples is too short for one frame; "
                                    "skipped", utt, waveform.shape[0])
                        continue
                    writer.write(utt, f)
                if bar is not None:
                    bar.update(len(group))
    finally:
        if bar is not None:
            bar.close()
    return list(writer.entries)
