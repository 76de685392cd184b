"""``nn.Module`` wrappers around :mod:`asr.features.functional` with dataclass configs.

A YAML feature config names its kind with ``type`` and sets any option of the
matching dataclass, e.g.::

    type: mfcc
    num_ceps: 13
    use_energy: false

:func:`load_feature_config` reads such a file (with ``key=value`` overrides),
:func:`config_from_dict` builds the config from a mapping (unknown keys fail with a
message naming them) and :func:`make_extractor` the module.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Union

import torch
import yaml
from torch import nn

from asr.config import ConfigError, from_dict, load_config
from asr.features import functional as F


@dataclass
class _FrameOptions:
    """Options shared by fbank and MFCC; see :func:`asr.features.functional.fbank`."""

    sample_rate: int = 16000
    frame_length_ms: float = 25.0
    frame_shift_ms: float = 10.0
    dither: float = 0.0
    preemphasis_coefficient: float = 0.97
    remove_dc_offset: bool = True
    window_type: str = "povey"
    blackman_coeff: float = 0.42
    round_to_power_of_two: bool = True
    snip_edges: bool = True
    low_freq: float = 20.0
    high_freq: float = 0.0
    raw_energy: bool = True
    energy_floor: float = 0.0
    waveform_scale: float = 32768.0

    def _check(self, kind: str) -> None:
        if getattr(self, "type") != kind:
            raise ConfigError(f"{type(self).__name__}.type must be {kind!r}, got {self.type!r}")
        if self.window_type not in F.WINDOW_TYPES:
            raise ConfigError(
                f"{kind} config: window_type {self.window_type!r} is not one of {F.WINDOW_TYPES}")
        if self.sample_rate <= 0:
            raise ConfigError(
                f"{kind} config: sample_rate must be positive, got {self.sample_rate}")
        F.frame_sizes(self.sample_rate, self.frame_length_ms, self.frame_shift_ms)

    def options(self) -> dict[str, Any]:
        """Keyword arguments for the functional call (all but ``type``, ``sample_rate``)."""
        opts = dataclasses.asdict(self)
        del opts["type"], opts["sample_rate"]
        return opts

    def num_frames(self, num_samples):
        """Frames produced from ``num_samples`` samples (int or integer tensor)."""
        return F.num_frames(num_samples, self.frame_length_ms, self.frame_shift_ms,
                            self.sample_rate, self.snip_edges)

    @property
    def frame_shift_seconds(self) -> float:
        return F.frame_sizes(self.sample_rate, self.frame_length_ms,
                             self.frame_shift_ms)[1] / self.sample_rate


@dataclass
class FbankConfig(_FrameOptions):
    """Log mel filterbank options (Kaldi ``compute-fbank-feats`` names, in snake case)."""

    type: str = "fbank"
    num_mel_bins: int = 80
    use_energy: bool = False
    use_log_fbank: bool = True
    use_power: bool = True

    def __post_init__(self) -> None:
        self._check("fbank")

    @property
    def dim(self) -> int:
        """Feature dimension: mel bins, plus one for the energy."""
        return self.num_mel_bins + int(self.use_energy)


@dataclass
class MfccConfig(_FrameOptions):
    """MFCC options (Kaldi ``compute-mfcc-feats`` names, in snake case)."""

    type: str = "mfcc"
    num_ceps: int = 13
    num_mel_bins: int = 23
    cepstral_lifter: float = 22.0
    use_energy: bool = True

    def __post_init__(self) -> None:
        self._check("mfcc")
        if not 0 < self.num_ceps <= self.num_mel_bins:
            raise ConfigError(
                f"mfcc config: num_ceps={self.num_ceps} must be in "
                f"1..num_mel_bins={self.num_mel_bins}")

    @property
    def dim(self) -> int:
        return self.num_ceps


FeatureConfig = Union[FbankConfig, MfccConfig]
FEATURE_CONFIGS: dict[str, type] = {"fbank": FbankConfig, "mfcc": MfccConfig}


def load_feature_config(path: str | Path | None, kind: str = "fbank",
                        overrides: list[str] | None = None) -> FeatureConfig:
    """Load a feature config from YAML (its ``type`` picks the class; ``kind`` without a file).

    ``overrides`` are ``key=value`` strings as for :func:`asr.config.load_config`.
    """
    if path is not None:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path}: top level must be a mapping")
        kind = data.get("type", kind)
    if kind not in FEATURE_CONFIGS:
        where = f"{path}: " if path is not None else ""
        raise ConfigError(
            f"{where}feature 'type' must be one of {sorted(FEATURE_CONFIGS)}, got {kind!r}")
    return load_config(FEATURE_CONFIGS[kind], path, overrides)


def config_from_dict(data: Mapping[str, Any]) -> FeatureConfig:
    """Build an :class:`FbankConfig` or :class:`MfccConfig` from a mapping with a ``type`` key."""
    kind = data.get("type")
    if kind not in FEATURE_CONFIGS:
        raise ConfigError(
            f"feature config: 'type' must be one of {sorted(FEATURE_CONFIGS)}, got {kind!r}")
    return from_dict(FEATURE_CONFIGS[kind], data)


class _Extractor(nn.Module):
    def __init__(self, config: FeatureConfig) -> None:
        super().__init__()
        self.config = config

    def extra_repr(self) -> str:
        return repr(self.config)

    @property
    def dim(self) -> int:
        return self.config.dim


class Fbank(_Extractor):
    """Log mel filterbank features.

    ``forward(waveform (T,) or (B, T) in [-1, 1), lengths (B,) samples or None)``
    returns ``(N, F)`` / ``(B, N, F)``, or ``(feats, frame_lengths)`` with ``lengths``;
    see :func:`asr.features.functional.fbank`.
    """

    def __init__(self, config: FbankConfig | None = None) -> None:
        super().__init__(config or FbankConfig())

    def forward(self, waveform: torch.Tensor, lengths: torch.Tensor | None = None,
                generator: torch.Generator | None = None):
        return F.fbank(waveform, self.config.sample_rate, lengths=lengths,
                       generator=generator, **self.config.options())


class Mfcc(_Extractor):
    """MFCC features; same calling convention as :class:`Fbank`."""

    def __init__(self, config: MfccConfig | None = None) -> None:
        super().__init__(config or MfccConfig())

    def forward(self, waveform: torch.Tensor, lengths: torch.Tensor | None = None,
                generator: torch.Generator | None = None):
        return F.mfcc(waveform, self.config.sample_rate, lengths=lengths,
                      generator=generator, **self.config.options())


def make_extractor(config: FeatureConfig) -> Fbank | Mfcc:
    """The module for ``config``."""
    if isinstance(config, FbankConfig):
        return Fbank(config)
    if isinstance(config, MfccConfig):
        return Mfcc(config)
    raise TypeError(f"expected FbankConfig or MfccConfig, got {type(config).__name__}")
