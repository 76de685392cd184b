"""Learning-rate schedules."""

from __future__ import annotations

import math

import pytest
import torch

from asr.training.schedulers import WarmupScheduler, lr_factor


def test_inverse_sqrt_peaks_at_warmup():
    f = [lr_factor("inverse_sqrt", s, 100) for s in range(1, 1001)]
    assert f[0] == pytest.approx(0.01)
    assert max(f) == f[99] == 1.0
    assert f[399] == pytest.approx(math.sqrt(100 / 400))


def test_cosine_decays_to_min():
    assert lr_factor("cosine", 10, 10, 110, 0.1) == 1.0
    assert lr_factor("cosine", 60, 10, 110, 0.1) == pytest.approx(0.55)
    assert lr_factor("cosine", 110, 10, 110, 0.1) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="unknown lr schedule"):
        lr_factor("linear", 1, 1)


def test_scheduler_state_round_trip():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=2.0)
    sched = WarmupScheduler(opt, "constant", warmup_steps=4)
    assert sched.get_last_lr() == [0.5]
    for _ in range(2):
        sched.step()
    opt2 = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=2.0)
    sched2 = WarmupScheduler(opt2, "constant", warmup_steps=4)
    sched2.load_state_dict(sched.state_dict())
    assert sched2.get_last_lr() == sched.get_last_lr() == [1.5]
