"""Utterance dataset: features ``(T, F)`` float32 + target token ids for one utterance.

Features come from one of two sources:

- precomputed: ``features`` is a ``Mapping[str, np.ndarray]`` (e.g. a feature index
  reader) or a callable ``utt_id -> (T, F)`` array;
- on the fly: ``audio`` is a callable ``utt_id -> waveform`` (1-D float32 samples at
  ``sample_rate``) and ``feature_fn`` a callable ``(waveform, sample_rate) -> (T, F)``.
  Only this source can apply speed perturbation (``speed_factors``, e.g. (0.9, 1.0,
  1.1): one factor drawn per utterance and epoch, applied by resampling with
  :func:`asr.audio.resample.speed_perturb`).

Global CMVN (``cmvn``) is applied last. An utterance whose audio cannot be used (missing,
corrupt, empty, non-finite: :class:`asr.audio.AudioError` or ``OSError``) becomes a
:class:`Skipped` item, logged with the reason; :func:`asr.training.collate.collate` drops
it and the trainer counts it, so one bad file among thousands does not stop a run. Random choices depend only on ``(seed, epoch,
index)``, so an epoch is reproducible whatever the worker count or resume point. The
sampler's batch budget uses the nominal ``durations``; speed 0.9 makes an utterance
about 11% longer than that.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence, Union

import numpy as np
import torch

log = logging.getLogger(__name__)

FeatureSource = Union[Mapping[str, np.ndarray], Callable[[str], np.ndarray]]


@dataclass
class Item:
    """One utterance. feats: (T, F) float32; targets: (U,) long; duration: seconds."""

    utt_id: str
    feats: torch.Tensor
    targets: torch.Tensor
    duration: float


@dataclass
class Skipped:
    """An utterance left out because its audio could not be read (``reason``)."""

    utt_id: str
    reason: str


@dataclass
class GlobalCMVN:
    """Global mean/variance normalization: ``(x - mean) / std`` per feature bin, (F,)."""

    mean: np.ndarray
    std: np.ndarray

    def __post_init__(self) -> None:
        self.mean = np.asarray(self.mean, dtype=np.float32).reshape(-1)
        self.std = np.asarray(self.std, dtype=np.float32).reshape(-1)
        if self.mean.shape != self.std.shape:
            raise ValueError(f"CMVN mean {self.mean.shape} and std {self.std.shape} differ")
        if np.any(self.std <= 0):
            raise ValueError("CMVN std must be > 0 in every bin")

    def __call__(self, feats: np.ndarray) -> np.ndarray:
        if feats.shape[-1] != self.mean.shape[0]:
            raise ValueError(
                f"CMVN has {self.mean.shape[0]} bins, features have {feats.shape[-1]}"
            )
        return (feats - self.mean) / self.std

    @classmethod
    def from_features(cls, feats: Iterable[np.ndarray], floor: float = 1e-5) -> "GlobalCMVN":
        """Statistics over every frame of ``feats`` (each (T, F)), in float64."""
        total = sq = None
        count = 0
        for f in feats:
            f = np.asarray(f, dtype=np.float64)
            total = f.sum(0) if total is None else total + f.sum(0)
            sq = (f * f).sum(0) if sq is None else sq + (f * f).sum(0)
            count += f.shape[0]
        if not count:
            raise ValueError("no frames to compute CMVN statistics from")
        mean = total / count
        var = np.maximum(sq / count - mean * mean, floor * floor)
        return cls(mean, np.sqrt(var))

    def save(self, path: str | Path) -> None:
        """Write as a ``.npz`` with arrays ``mean`` and ``std`` (atomically)."""
        from asr.utils.io import atomic_open

        with atomic_open(path, "wb") as handle:
            np.savez(handle, mean=self.mean, std=self.std)

    @classmethod
    def load(cls, path: str | Path) -> "GlobalCMVN":
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"CMVN file not found: {path}")
        with np.load(path) as data:
            return cls(data["mean"], data["std"])


class UtteranceDataset(torch.utils.data.Dataset):
    """Map-style dataset over ``utt_ids``; ``dataset[i]`` is an :class:`Item`.

    Args:
        utt_ids: utterance ids, in dataset index order.
        targets: utt_id -> token ids (already tokenized).
        durations: utt_id -> duration in seconds (``utt2dur``).
        features: precomputed source (mapping or callable), or None.
        audio, feature_fn, sample_rate: on-the-fly source (see module docstring).
        speed_factors: speed perturbation factors (on-the-fly source only).
        cmvn: global CMVN applied to every utterance, or None.
        train: False disables speed perturbation (validation).
        seed: seed of the per-utterance random choices.
        cache: keep each (utterance, speed factor)'s normalised features in memory
            after first use; later epochs get the same array without reading audio,
            resampling or computing fbank (on AN4, ~10% of a training process's time).
            Each DataLoader worker holds its own cache, so use it with ``num_workers=0``
            or persistent workers.
    """

    def __init__(
        self,
        utt_ids: Sequence[str],
        targets: Mapping[str, Sequence[int]],
        durations: Mapping[str, float],
        features: FeatureSource | None = None,
        audio: Callable[[str], np.ndarray] | None = None,
        feature_fn: Callable[[np.ndarray, int], np.ndarray] | None = None,
        sample_rate: int = 16000,
        speed_factors: Sequence[float] = (1.0,),
        cmvn: GlobalCMVN | None = None,
        train: bool = True,
        seed: int = 0,
        cache: bool = False,
    ) -> None:
        if (features is None) == (audio is None):
            raise ValueError("give exactly one feature source: features=... or audio=...")
        if audio is not None and feature_fn is None:
            raise ValueError("audio= needs feature_fn=(waveform, sample_rate) -> (T, F)")
        if features is not None and tuple(speed_factors) != (1.0,):
            raise ValueError("speed perturbation needs the on-the-fly (audio=) source")
        if not speed_factors or any(f <= 0 for f in speed_factors):
            raise ValueError(f"speed_factors must be positive, got {speed_factors}")
        self.utt_ids = list(utt_ids)
        missing = [u for u in self.utt_ids if u not in targets or u not in durations]
        if missing:
            raise ValueError(
                f"{len(missing)} utterance(s) lack a transcript or duration, e.g. {missing[0]}"
            )
        self.targets = targets
        self.durations = durations
        self.features = features
        self.audio = audio
        self.feature_fn = feature_fn
        self.sample_rate = sample_rate
        self.speed_factors = tuple(float(f) for f in speed_factors)
        self.cmvn = cmvn
        self.train = train
        self.seed = seed
        self.epoch = 0
        self.cache: dict[tuple[str, float], tuple[np.ndarray, float]] | None = (
            {} if cache else None)

    def set_epoch(self, epoch: int) -> None:
        """Random choices (speed factor) are drawn from ``(seed, epoch, index)``."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.utt_ids)

    def duration_list(self) -> list[float]:
        """Nominal durations in seconds, in index order (for the sampler)."""
        return [float(self.durations[u]) for u in self.utt_ids]

    def _speed(self, index: int) -> float:
        if not self.train or len(self.speed_factors) == 1:
            return self.speed_factors[0] if self.train else 1.0
        rng = np.random.default_rng([self.seed, self.epoch, index])
        return self.speed_factors[int(rng.integers(len(self.speed_factors)))]

    def _load_features(self, utt: str, speed: float) -> tuple[np.ndarray, float]:
        if self.features is not None:
            try:
                feats = (self.features[utt] if isinstance(self.features, Mapping)
                         else self.features(utt))
            except KeyError:
                raise KeyError(f"no features for utterance {utt}") from None
            return np.asarray(feats), float(self.durations[utt])
        wave = np.asarray(self.audio(utt), dtype=np.float32)
        if wave.ndim != 1:
            raise ValueError(f"utterance {utt}: waveform must be 1-D samples, got {wave.shape}")
        if speed != 1.0:
            from asr.audio.resample import speed_perturb

            wave = speed_perturb(torch.from_numpy(wave), self.sample_rate, speed).numpy()
        return np.asarray(self.feature_fn(wave, self.sample_rate)), len(wave) / self.sample_rate

    def __getitem__(self, index: int) -> Item | Skipped:
        from asr.audio import AudioError

        utt = self.utt_ids[index]
        speed = self._speed(index)
        cached = self.cache.get((utt, speed)) if self.cache is not None else None
        if cached is not None:
            feats, duration = cached
        else:
            try:
                feats, duration = self._load_features(utt, speed)
            except (AudioError, OSError) as err:
                if self.audio is None:  # precomputed features: a missing entry is a real error
                    raise
                log.warning("skipping utterance %s: %s", utt, err)
                return Skipped(utt, str(err))
            if feats.ndim != 2:
                raise ValueError(f"utterance {utt}: features must be (T, F), got {feats.shape}")
            feats = feats.astype(np.float32, copy=False)
            if self.cmvn is not None:
                feats = self.cmvn(feats)
            if self.cache is not None:  # shared with the item: collate copies, never edits
                self.cache[(utt, speed)] = (feats, duration)
        targets = torch.as_tensor(np.asarray(self.targets[utt], dtype=np.int64))
        return Item(utt, torch.from_numpy(np.ascontiguousarray(feats, dtype=np.float32)),
                    targets, duration)
