"""Learning-rate schedules with linear warmup (the peak lr is reached at ``warmup_steps``).

- ``inverse_sqrt`` (Noam): ``lr * min(s / warmup, sqrt(warmup / s))``; this is the
  Transformer schedule with its ``d_model ** -0.5`` factor folded into the peak ``lr``.
- ``cosine``: warmup, then cosine decay from ``lr`` to ``min_lr_ratio * lr`` at
  ``total_steps``.
- ``constant``: warmup, then ``lr``.

``s`` counts optimizer steps from 1. The scheduler sets each param group's lr from its
``initial_lr``; ``state_dict`` is just the step count.
"""

from __future__ import annotations

import math

import torch

SCHEDULES = ("inverse_sqrt", "noam", "cosine", "constant")


def lr_factor(name: str, step: int, warmup_steps: int, total_steps: int = 0,
              min_lr_ratio: float = 0.0) -> float:
    """Multiplier of the peak lr at optimizer step ``step`` (1-based; 0 before training)."""
    s = max(step, 1)
    warm = min(1.0, s / warmup_steps) if warmup_steps > 0 else 1.0
    if name in ("inverse_sqrt", "noam"):
        return warm if s <= warmup_steps else math.sqrt(max(warmup_steps, 1) / s)
    if name == "constant":
        return warm
    if name == "cosine":
        if s <= warmup_steps:
            return warm
        if total_steps <= warmup_steps:
            raise ValueError("cosine schedule needs total_steps > warmup_steps")
        progress = min(1.0, (s - warmup_steps) / (total_steps - warmup_steps))
        return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    raise ValueError(f"unknown lr schedule {name!r}; choose one of {SCHEDULES}")


class WarmupScheduler:
    """Call ``step()`` after every optimizer step."""

    def __init__(self, optimizer: torch.optim.Optimizer, name: str, warmup_steps: int,
                 total_steps: int = 0, min_lr_ratio: float = 0.0) -> None:
        lr_factor(name, 1, warmup_steps, max(total_steps, warmup_steps + 1), min_lr_ratio)
        self.optimizer = optimizer
        self.name = name
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.min_lr_ratio = min_lr_ratio
        self.step_count = 0
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self._apply()

    def _apply(self) -> None:
        f = lr_factor(self.name, self.step_count + 1, self.warmup_steps, self.total_steps,
                      self.min_lr_ratio)
        for group in self.optimizer.param_groups:
            group["lr"] = group["initial_lr"] * f

    def step(self) -> None:
        self.step_count += 1
        self._apply()

    def get_last_lr(self) -> list[float]:
        return [g["lr"] for g in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        return {"step_count": self.step_count, "name": self.name}

    def load_state_dict(self, state: dict) -> None:
        self.step_count = int(state["step_count"])
        self._apply()
