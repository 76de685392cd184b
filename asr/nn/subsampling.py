"""Convolutional front-end that shortens the frame sequence 4x, 6x or 8x."""

from __future__ import annotations

import torch
from torch import nn


def conv_output_lengths(lengths, kernel: int = 3, stride: int = 2):
    """Frames after one unpadded convolution: ``(L - kernel) // stride + 1``, for a
    ``(B,)`` tensor or a plain int (floor division either way)."""
    return (lengths - kernel) // stride + 1


# (kernel, stride) of each 2-D convolution, per subsampling factor: 4x as in ESPnet's
# Conformer, 6x with a 5x5 stride-3 second layer, 8x with three stride-2 layers.
SUBSAMPLING_LAYERS = {4: ((3, 2), (3, 2)), 6: ((3, 2), (5, 3)), 8: ((3, 2), (3, 2), (3, 2))}


class Conv2dSubsampling(nn.Module):
    """Strided 3x3/5x5 convolutions (ReLU) over (time, feature), then a linear layer.

    ``factor`` 4 turns 10 ms frames into 40 ms ones with two stride-2 convolutions
    (``T' = ((T - 1) // 2 - 1) // 2``), 6 into 60 ms and 8 into 80 ms; fewer encoder
    frames make every Conformer block cheaper. :meth:`output_lengths` gives ``T'``
    exactly, and ``min_input_frames`` is the shortest input with one output frame.

    Args:
        input_dim: feature dimension ``F``.
        d_model: output dimension ``D``.
        channels: convolution channels (default ``d_model``).
        factor: 4, 6 or 8.
    """

    def __init__(self, input_dim: int, d_model: int, channels: int | None = None,
                 factor: int = 4):
        super().__init__()
        if factor not in SUBSAMPLING_LAYERS:
            raise ValueError(f"subsampling factor must be one of {sorted(SUBSAMPLING_LAYERS)}, "
                             f"got {factor}")
        channels = channels or d_model
        self.factor = factor
        self.layers = SUBSAMPLING_LAYERS[factor]
        convs: list[nn.Module] = []
        freq = input_dim
        for i, (kernel, stride) in enumerate(self.layers):
            convs += [nn.Conv2d(1 if i == 0 else channels, channels, kernel, stride), nn.ReLU()]
            freq = (freq - kernel) // stride + 1
        if freq < 1:
            raise ValueError(f"input_dim {input_dim} is too small for {factor}x subsampling")
        self.conv = nn.Sequential(*convs)
        self.out = nn.Linear(channels * freq, d_model)
        self.min_input_frames = 1  # plain integers: this also runs under torch.device("meta")
        while self.output_lengths(self.min_input_frames) < 1:
            self.min_input_frames += 1

    def output_lengths(self, lengths):
        """``(B,)`` input frame counts -> ``(B,)`` output frame counts (or int -> int)."""
        for kernel, stride in self.layers:
            lengths = conv_output_lengths(lengths, kernel, stride)
        return lengths

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x (B, T, F)``, ``lengths (B,)`` -> ``(B, T', D)``, ``(B,)``."""
        if x.size(1) < self.min_input_frames:
            raise ValueError(f"input has {x.size(1)} frames; {self.factor}x subsampling needs at "
                             f"least {self.min_input_frames}")
        x = self.conv(x.unsqueeze(1))  # (B, C, T', F')
        b, c, t, f = x.shape
        x = self.out(x.transpose(1, 2).reshape(b, t, c * f))
        return x, self.output_lengths(lengths).clamp(min=0)


class Conv2dSubsampling4(Conv2dSubsampling):
    """:class:`Conv2dSubsampling` with ``factor=4`` (10 ms frames become 40 ms)."""

    def __init__(self, input_dim: int, d_model: int, channels: int | None = None):
        super().__init__(input_dim, d_model, channels, factor=4)
