"""A tiny self-contained CTC model for tests, smoke runs and the throughput benchmark.

It follows the trainer's model interface (see :mod:`asr.training.trainer`) and is
registered as ``tiny_ctc`` in :mod:`asr.models.registry` once this module is imported
(:mod:`asr.training.experiment` does); the real models live in :mod:`asr.models`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from asr.models.registry import register_model


@dataclass
class TinyCTCConfig:
    input_dim: int = 40      # input feature dim F
    vocab_size: int = 30     # output tokens, blank (id 0) included
    hidden: int = 64
    num_layers: int = 1
    subsample: int = 2       # frame-rate reduction by stacking frames
    dropout: float = 0.1


@register_model("tiny_ctc")
class TinyCTCModel(torch.nn.Module):
    """Frame stacking -> linear -> LSTM -> linear -> CTC (blank = 0, mean over batch).

    forward(feats (B, T, F), feat_lens (B,), targets (B, U) padded -1, target_lens (B,))
    -> {"loss", "ctc_loss", "frames"}.
    """

    config_class = TinyCTCConfig

    def __init__(self, config: TinyCTCConfig | None = None) -> None:
        super().__init__()
        self.config = c = config or TinyCTCConfig()
        self.proj = torch.nn.Linear(c.input_dim * c.subsample, c.hidden)
        self.dropout = torch.nn.Dropout(c.dropout)
        self.lstm = torch.nn.LSTM(c.hidden, c.hidden, num_layers=c.num_layers, batch_first=True)
        self.out = torch.nn.Linear(c.hidden, c.vocab_size)

    def encode(self, feats: torch.Tensor, feat_lens: torch.Tensor):
        """(B, T, F) -> log-probs (B, T', V), lengths (B,) with T' = T // subsample."""
        s = self.config.subsample
        B, T, Fb = feats.shape
        T2 = T // s
        x = feats[:, : T2 * s].reshape(B, T2, Fb * s)
        x = self.dropout(torch.tanh(self.proj(x)))
        x, _ = self.lstm(x)
        return self.out(self.dropout(x)).log_softmax(-1), feat_lens // s

    def forward(self, feats, feat_lens, targets, target_lens) -> dict:
        log_probs, out_lens = self.encode(feats, feat_lens)
        loss = F.ctc_loss(log_probs.transpose(0, 1).float(), targets.clamp(min=0), out_lens,
                          target_lens, blank=0, reduction="sum", zero_infinity=True)
        loss = loss / feats.shape[0]
        return {"loss": loss, "ctc_loss": loss.detach(), "frames": float(out_lens.sum())}
