"""TDNN frame classifier for hybrid DNN-HMM systems (Kaldi nnet3 "tdnn" style).

A stack of dilated 1-D convolutions over time, each followed by ReLU and batch
norm, then a linear layer to the ``num_pdfs`` tied HMM states of a GMM system. Layer
``i`` sees frames ``t + dilation_i * k`` for ``k`` in ``-(kernel_i // 2) ..
kernel_i // 2``, e.g. kernels ``(5, 3, 3, 3, 3, 3)`` with dilations ``(1, 1, 1, 3, 3,
3)`` are Kaldi's splicing ``{-2..2}, {-1,0,1}, {-1,0,1}, {-3,0,3}, {-3,0,3},
{-3,0,3}``: 13 frames of context on each side.

Interface (the frame-classifier trainer and :mod:`asr.decode.hybrid` rely on it)::

    forward(feats (B, T + 2C, F)) -> logits (B, T, num_pdfs)    C = context, no padding
    utterance_logits(feats (T, F)) -> logits (T, num_pdfs)       edges repeat the first/last frame
    context                                                       frames needed on each side
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from asr.models.registry import register_model


@dataclasses.dataclass
class TDNNConfig:
    """Sizes of the TDNN.

    Attributes:
        input_dim: feature dimension ``F`` (e.g. 40 fbank bins or 39 MFCC+deltas).
        num_pdfs: output classes: the pdfs (tied states) of the GMM system.
        hidden_dim: channels of every TDNN layer.
        kernel_sizes: taps per layer (odd).
        dilations: frame spacing of the taps per layer (as many as ``kernel_sizes``).
        dropout: dropout after each hidden layer (training only).
    """

    input_dim: int
    num_pdfs: int
    hidden_dim: int = 256
    kernel_sizes: list[int] = dataclasses.field(default_factory=lambda: [5, 3, 3, 3, 3, 3])
    dilations: list[int] = dataclasses.field(default_factory=lambda: [1, 1, 1, 3, 3, 3])
    dropout: float = 0.1

    def __post_init__(self) -> None:
        if self.input_dim < 1 or self.num_pdfs < 1 or self.hidden_dim < 1:
            raise ValueError(f"tdnn: input_dim, num_pdfs and hidden_dim must be >= 1, got "
                             f"{self.input_dim}, {self.num_pdfs}, {self.hidden_dim}")
        if len(self.kernel_sizes) != len(self.dilations) or not self.kernel_sizes:
            raise ValueError(f"tdnn: kernel_sizes {self.kernel_sizes} and dilations "
                             f"{self.dilations} must be non-empty and of equal length")
        if any(k < 1 or k % 2 == 0 for k in self.kernel_sizes) or any(d < 1 for d in self.dilations):
            raise ValueError(f"tdnn: kernel sizes must be odd and dilations >= 1, got "
                             f"{self.kernel_sizes}, {self.dilations}")

    @property
    def context(self) -> int:
        """Frames of context needed on each side of an output frame."""
        return sum(d * (k // 2) for k, d in zip(self.kernel_sizes, self.dilations))


@register_model("tdnn")
class TDNN(nn.Module):
    """Dilated-convolution frame classifier ``(B, T + 2C, F) -> (B, T, num_pdfs)``."""

    config_class = TDNNConfig

    def __init__(self, config: TDNNConfig) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        dim = config.input_dim
        for kernel, dilation in zip(config.kernel_sizes, config.dilations):
            layers += [nn.Conv1d(dim, config.hidden_dim, kernel, dilation=dilation),
                       nn.ReLU(), nn.BatchNorm1d(config.hidden_dim), nn.Dropout(config.dropout)]
            dim = config.hidden_dim
        self.layers = nn.Sequential(*layers)
        self.output = nn.Linear(dim, config.num_pdfs)

    @property
    def context(self) -> int:
        return self.config.context

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """``feats (B, T + 2C, F)`` -> unnormalised logits ``(B, T, num_pdfs)``; the
        caller supplies ``C = context`` frames of real or repeated context per side."""
        if feats.dim() != 3 or feats.shape[-1] != self.config.input_dim:
            raise ValueError(f"tdnn: expected feats (B, T, {self.config.input_dim}), "
                             f"got {tuple(feats.shape)}")
        if feats.shape[1] <= 2 * self.context:
            raise ValueError(f"tdnn: {feats.shape[1]} input frames leave no output frame "
                             f"(context {self.context} per side)")
        hidden = self.layers(feats.transpose(1, 2))          # (B, H, T)
        return self.output(hidden.transpose(1, 2))           # (B, T, P)

    def utterance_logits(self, feats: torch.Tensor) -> torch.Tensor:
        """One utterance ``(T, F)`` -> ``(T, num_pdfs)``; the first and last frames are
        repeated ``context`` times, so every input frame gets an output."""
        c = self.context
        padded = torch.cat([feats[:1].expand(c, -1), feats, feats[-1:].expand(c, -1)])
        return self(padded.unsqueeze(0))[0]
