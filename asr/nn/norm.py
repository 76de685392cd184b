"""Batch normalisation over the valid frames of a padded batch."""

from __future__ import annotations

import torch
from torch import nn


class MaskedBatchNorm1d(nn.BatchNorm1d):
    """``nn.BatchNorm1d`` on ``(B, C, T)`` whose training statistics skip padded frames.

    A padded batch's zero (or garbage) frames would otherwise enter the batch mean and
    variance, and through them the running statistics used at test time, where a single
    utterance has no padding. With ``valid`` given in training mode, only the valid
    frames are normalised with their own statistics (and update the running ones);
    padded frames come out as zeros. Without ``valid``, or in eval mode, it is the plain
    ``nn.BatchNorm1d``. Same parameters and buffers, so checkpoints of either load into
    the other.
    """

    def forward(self, x: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        """``x (B, C, T)``, ``valid (B, T)`` bool (True = a real frame) -> ``(B, C, T)``."""
        if valid is None or not self.training or bool(valid.all()):
            return super().forward(x)
        frames = x.transpose(1, 2)[valid]  # (N, C): the valid frames only
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # a cumulative average, as nn.BatchNorm1d's
                momentum = 1.0 / float(self.num_batches_tracked)
        normed = nn.functional.batch_norm(frames, self.running_mean, self.running_var,
                                          self.weight, self.bias, True, momentum, self.eps)
        out = normed.new_zeros(x.size(0), x.size(2), x.size(1))  # (B, T, C)
        out[valid] = normed
        return out.transpose(1, 2)
