"""Sinusoidal positional encodings: absolute (added to the input) and relative."""

from __future__ import annotations

import math

import torch
from torch import nn

from asr.nn.dropout import Dropout


def sinusoid(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """``(N,)`` float positions -> ``(N, dim)`` with sin on even and cos on odd channels."""
    freqs = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32, device=positions.device)
                      * (-math.log(10000.0) / dim))
    angles = positions.float().unsqueeze(1) * freqs.unsqueeze(0)
    table = torch.zeros(positions.numel(), dim, device=positions.device)
    table[:, 0::2] = torch.sin(angles)
    table[:, 1::2] = torch.cos(angles[:, : dim // 2])
    return table


class AbsolutePositionalEncoding(nn.Module):
    """``x * sqrt(D) + PE[t]`` then dropout. ``forward`` returns ``(x, None)``."""

    def __init__(self, d_model: int, dropout: float = 0.0):
        super().__init__()
        self.d_model = d_model
        self.scale = math.sqrt(d_model)
        self.dropout = Dropout(dropout)

    def forward(self, x: torch.Tensor, offset: int = 0) -> tuple[torch.Tensor, None]:
        """``x (B, T, D)`` -> ``(B, T, D)``; ``offset`` is the position of ``x[:, 0]``."""
        positions = torch.arange(offset, offset + x.size(1), device=x.device)
        pe = sinusoid(positions, self.d_model).to(x.dtype)
        return self.dropout(x * self.scale + pe.unsqueeze(0)), None


class RelativePositionalEncoding(nn.Module):
    """Scales ``x`` by ``sqrt(D)`` and returns encodings of relative distances.

    ``forward(x)`` returns ``(x * sqrt(D), pos (1, 2T-1, D))`` where ``pos[0, j]``
    encodes the distance ``T - 1 - j`` (from ``T-1`` down to ``-(T-1)``); see
    :class:`asr.nn.attention.RelPositionMultiHeadAttention`.
    """

    def __init__(self, d_model: int, dropout: float = 0.0):
        super().__init__()
        self.d_model = d_model
        self.scale = math.sqrt(d_model)
        self.dropout = Dropout(dropout)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t = x.size(1)
        distances = torch.arange(t - 1, -t, -1, device=x.device)
        pos = sinusoid(distances, self.d_model).to(x.dtype).unsqueeze(0)
        return self.dropout(x * self.scale), self.dropout(pos)
