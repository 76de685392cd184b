"""Band-limited resampling and speed perturbation in torch.

The resampler is polyphase windowed-sinc interpolation: with ``g = gcd(orig, new)``,
output sample ``n`` of every block of ``new/g`` samples is a fixed filter (one of
``new/g`` phases) applied to the input at stride ``orig/g``, so the whole signal is
one ``conv1d`` with ``new/g`` output channels. The low-pass cut-off sits at
``rolloff`` times the lower Nyquist frequency; the filter is a Hann-windowed sinc
with ``lowpass_width`` zero crossings on each side.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch


@lru_cache(maxsize=32)
def _polyphase_kernel(orig: int, new: int, lowpass_width: int, rolloff: float,
                      dtype: torch.dtype) -> tuple[torch.Tensor, int]:
    """Filters ``(new, 1, K)`` and the half-width in input samples."""
    base = min(orig, new) * rolloff  # cut-off, in units where orig is the input rate
    width = math.ceil(lowpass_width * orig / base)
    # Input offsets -width..width (inclusive) relative to each output phase.
    idx = torch.arange(-width, width + orig, dtype=torch.float64)[None, :] / orig
    phase = -torch.arange(new, dtype=torch.float64)[:, None] / new
    t = (phase + idx) * base
    t = t.clamp(-lowpass_width, lowpass_width)
    window = torch.cos(t * math.pi / lowpass_width / 2) ** 2
    t = t * math.pi
    scale = base / orig
    kernel = torch.where(t == 0, torch.ones_like(t), torch.sin(t) / t) * window * scale
    return kernel.to(dtype)[:, None, :], width


def resample(waveform: torch.Tensor, orig_freq: int, new_freq: int,
             lowpass_width: int = 6, rolloff: float = 0.99) -> torch.Tensor:
    """Resample ``(..., T)`` from ``orig_freq`` to ``new_freq`` Hz.

    Output length is ``ceil(T * new / orig)`` samples.
    """
    if orig_freq <= 0 or new_freq <= 0:
        raise ValueError(f"sample rates must be positive, got {orig_freq} -> {new_freq}")
    if orig_freq == new_freq:
        return waveform
    g = math.gcd(int(orig_freq), int(new_freq))
    orig, new = int(orig_freq) // g, int(new_freq) // g
    kernel, width = _polyphase_kernel(orig, new, lowpass_width, rolloff, waveform.dtype)
    shape = waveform.shape
    x = waveform.reshape(-1, 1, shape[-1])
    num_samples = shape[-1]
    x = torch.nn.functional.pad(x, (width, width + orig))
    y = torch.nn.functional.conv1d(x, kernel.to(x.device), stride=orig)  # (N, new, blocks)
    y = y.transpose(1, 2).reshape(x.shape[0], -1)
    target = math.ceil(new * num_samples / orig)
    return y[..., :target].reshape(*shape[:-1], target)


def speed_perturb(waveform: torch.Tensor, sample_rate: int, factor: float) -> torch.Tensor:
    """Play ``(..., T)`` ``factor`` times faster (tempo and pitch), keeping the rate.

    As Kaldi's ``sox speed``: the signal is read as if sampled at
    ``sample_rate * factor`` and resampled to ``sample_rate``; length becomes about
    ``T / factor``.
    """
    if factor <= 0:
        raise ValueError(f"speed factor must be positive, got {factor}")
    if factor == 1.0:
        return waveform
    # Round the virtual rate to a multiple of 100 Hz to keep the polyphase filter small.
    virtual_rate = int(round(sample_rate * factor / 100.0)) * 100
    return resample(waveform, virtual_rate, sample_rate)
