import math

import pytest
import torch

from asr.audio import resample, speed_perturb


@pytest.mark.parametrize("orig,new", [(44100, 16000), (8000, 16000), (48000, 16000), (16000, 22050)])
def test_sine_survives_resampling(orig, new):
    t = torch.arange(orig) / orig
    x = torch.sin(2 * math.pi * 440 * t)
    y = resample(x, orig, new)
    assert y.shape[-1] == math.ceil(orig * new / orig)
    ref = torch.sin(2 * math.pi * 440 * torch.arange(y.shape[-1]) / new)
    assert (y - ref)[100:-100].abs().max() < 3e-3


def test_aliasing_is_removed():
    # 7 kHz at 44.1 kHz cannot exist at 8 kHz (Nyquist 4 kHz): it must be filtered out.
    t = torch.arange(44100) / 44100
    y = resample(torch.sin(2 * math.pi * 7000 * t), 44100, 8000)
    assert y[200:-200].abs().max() < 0.02


def test_batched_equals_single():
    x = torch.randn(3, 1000)
    y = resample(x, 16000, 8000)
    assert torch.allclose(y[1], resample(x[1], 16000, 8000), atol=1e-6)


def test_speed_perturb_changes_length_and_pitch():
    rate = 16000
    t = torch.arange(rate) / rate
    x = torch.sin(2 * math.pi * 500 * t)
    fast = speed_perturb(x, rate, 1.1)
    assert abs(fast.shape[-1] - rate / 1.1) <= 2
    spectrum = torch.fft.rfft(fast[: 8000] * torch.hann_window(8000))
    peak_hz = spectrum.abs().argmax().item() * rate / 8000
    assert abs(peak_hz - 550) <= 4
    assert speed_perturb(x, rate, 1.0) is x
