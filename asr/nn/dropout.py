"""Inverted dropout with a mask drawn from uniform floats.

Same function as :class:`torch.nn.Dropout` (zero each element with probability ``p``,
scale the rest by ``1 / (1 - p)``, identity in eval mode), but the mask comes from
``torch.rand(...) >= p`` instead of the Bernoulli sampler behind ``nn.Dropout``. On CPU
that sampler is slow, bf16 tensors most of all: dropout was ~15% of a bf16 Conformer
training step on 2 CPU cores, and this form costs about 40% less on bf16 activations
(forward + backward, measured on (9, 83, 576) tensors).
"""

from __future__ import annotations

import torch
from torch import nn


class Dropout(nn.Module):
    """``x (any shape)`` -> same shape and dtype; see the module docstring."""

    def __init__(self, p: float = 0.1):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = float(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.rand(x.shape, device=x.device) >= self.p
        return x * (keep.to(x.dtype) * (1.0 / (1.0 - self.p)))

    def extra_repr(self) -> str:
        return f"p={self.p}"
