"""Convolutional front-end that shortens the frame sequence 4x."""

from __future__ import annotations

import torch
from torch import nn


def conv_output_lengths(lengths: torch.Tensor, kernel: int = 3, stride: int = 2) -> torch.Tensor:
    """Frames after one unpadded convolution: ``(L - kernel) // stride + 1``."""
    return torch.div(lengths - kernel, stride, rounding_mode="floor") + 1


class Conv2dSubsampling4(nn.Module):
    """Two 3x3 stride-2 convolutions (ReLU) over (time, feature), then a linear layer.

    ``T`` input frames give ``T' = ((T - 1) // 2 - 1) // 2`` output frames (10 ms frames
    become 40 ms); :meth:`output_lengths` gives it exactly. Needs ``T >= 7``.

    Args:
        input_dim: feature dimension ``F``.
        d_model: output dimension ``D``.
        channels: convolution channels (default ``d_model``).
    """

    min_input_frames = 7

    def __init__(self, input_dim: int, d_model: int, channels: int | None = None):
        super().__init__()
        channels = channels or d_model
        self.conv = nn.Sequential(
            nn.Conv2d(1, channels, 3, 2), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, 2), nn.ReLU(),
        )
        freq = ((input_dim - 1) // 2 - 1) // 2
        if freq < 1:
            raise ValueError(f"input_dim {input_dim} is too small for 4x subsampling")
        self.out = nn.Linear(channels * freq, d_model)

    @staticmethod
    def output_lengths(lengths: torch.Tensor) -> torch.Tensor:
        """``(B,)`` input frame counts -> ``(B,)`` output frame counts."""
        return conv_output_lengths(conv_output_lengths(lengths))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x (B, T, F)``, ``lengths (B,)`` -> ``(B, T', D)``, ``(B,)``."""
        if x.size(1) < self.min_input_frames:
            raise ValueError(f"input has {x.size(1)} frames; 4x subsampling needs at least "
                             f"{self.min_input_frames}")
        x = self.conv(x.unsqueeze(1))  # (B, C, T', F')
        b, c, t, f = x.shape
        x = self.out(x.transpose(1, 2).reshape(b, t, c * f))
        return x, self.output_lengths(lengths).clamp(min=0)
