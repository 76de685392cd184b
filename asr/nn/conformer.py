"""Conformer encoder: macaron feed-forward, self-attention, convolution module."""

from __future__ import annotations

import torch
from torch import nn

from asr.nn.attention import MultiHeadAttention, RelPositionMultiHeadAttention
from asr.nn.dropout import Dropout
from asr.nn.mask import make_non_pad_mask
from asr.nn.norm import MaskedBatchNorm1d
from asr.nn.pos_enc import AbsolutePositionalEncoding, RelativePositionalEncoding
from asr.nn.subsampling import Conv2dSubsampling


CONV_NORMS = ("batch_norm", "masked_batch_norm", "layer_norm")


class FeedForward(nn.Module):
    """``Linear(D, ff) -> Swish -> Dropout -> Linear(ff, D)`` on ``(B, T, D)``."""

    def __init__(self, d_model: int, ff_dim: int, dropout: float = 0.0,
                 activation: type[nn.Module] = nn.SiLU):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d_model, ff_dim), activation(), Dropout(dropout),
                                 nn.Linear(ff_dim, d_model))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ConvModule(nn.Module):
    """Pointwise conv + GLU, depthwise conv, norm, Swish, pointwise conv.

    Args:
        d_model: channels ``D``.
        kernel_size: depthwise kernel (odd), same-padded in time.
        norm: after the depthwise conv, ``"batch_norm"`` (padded frames count in the
            batch statistics), ``"masked_batch_norm"`` (valid frames only, see
            :class:`MaskedBatchNorm1d`; the same parameters, so checkpoints of either load
            into the other) or ``"layer_norm"``.
    """

    def __init__(self, d_model: int, kernel_size: int = 15, norm: str = "batch_norm"):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"conv kernel_size must be odd, got {kernel_size}")
        if norm not in CONV_NORMS:
            raise ValueError(f"conv norm must be one of {CONV_NORMS}, got {norm!r}")
        self.pointwise1 = nn.Conv1d(d_model, 2 * d_model, 1)
        self.depthwise = nn.Conv1d(d_model, d_model, kernel_size, padding=kernel_size // 2,
                                   groups=d_model)
        self.norm_type = norm
        self.norm = {"batch_norm": nn.BatchNorm1d, "masked_batch_norm": MaskedBatchNorm1d,
                     "layer_norm": nn.LayerNorm}[norm](d_model)
        self.act = nn.SiLU()
        self.pointwise2 = nn.Conv1d(d_model, d_model, 1)

    def forward(self, x: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        """``x (B, T, D)``, ``valid (B, T)`` bool -> ``(B, T, D)``.

        Padded frames are zeroed before the depthwise conv so they do not leak into
        valid ones.
        """
        x = nn.functional.glu(self.pointwise1(x.transpose(1, 2)), dim=1)  # (B, D, T)
        if valid is not None:
            x = x.masked_fill(~valid.unsqueeze(1), 0.0)
        x = self.depthwise(x)
        if self.norm_type == "masked_batch_norm":
            x = self.norm(x, valid)
        elif self.norm_type == "batch_norm":
            x = self.norm(x)
        else:
            x = self.norm(x.transpose(1, 2)).transpose(1, 2)
        x = self.pointwise2(self.act(x))
        return x.transpose(1, 2)


class ConformerBlock(nn.Module):
    """``x + FF/2, x + MHSA, x + Conv, x + FF/2``, then LayerNorm (pre-norm residuals).

    Args:
        d_model, n_heads, ff_dim: sizes.
        conv_kernel: depthwise kernel size.
        dropout: residual and attention dropout.
        relative_pos: relative (``True``) or plain self-attention.
        conv_norm: the conv module's norm (see :class:`ConvModule`).
    """

    def __init__(self, d_model: int, n_heads: int, ff_dim: int, conv_kernel: int = 15,
                 dropout: float = 0.1, relative_pos: bool = True, conv_norm: str = "batch_norm"):
        super().__init__()
        self.ff1 = FeedForward(d_model, ff_dim, dropout)
        self.ff2 = FeedForward(d_model, ff_dim, dropout)
        attn_cls = RelPositionMultiHeadAttention if relative_pos else MultiHeadAttention
        self.attn = attn_cls(d_model, n_heads, dropout)
        self.relative_pos = relative_pos
        self.conv = ConvModule(d_model, conv_kernel, conv_norm)
        self.norm_ff1 = nn.LayerNorm(d_model)
        self.norm_attn = nn.LayerNorm(d_model)
        self.norm_conv = nn.LayerNorm(d_model)
        self.norm_ff2 = nn.LayerNorm(d_model)
        self.norm_out = nn.LayerNorm(d_model)
        self.dropout = Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, pos: torch.Tensor | None = None
                ) -> torch.Tensor:
        """``x (B, T, D)``, ``mask (B, 1, T)`` bool valid, ``pos (1, 2T-1, D)`` -> ``(B, T, D)``."""
        x = x + 0.5 * self.dropout(self.ff1(self.norm_ff1(x)))
        h = self.norm_attn(x)
        if self.relative_pos:
            h = self.attn(h, pos, mask)
        else:
            h = self.attn(h, h, h, mask)
        x = x + self.dropout(h)
        x = x + self.dropout(self.conv(self.norm_conv(x), mask.squeeze(1)))
        x = x + 0.5 * self.dropout(self.ff2(self.norm_ff2(x)))
        return self.norm_out(x)


class ConformerEncoder(nn.Module):
    """Conv subsampling (4x, 6x or 8x), positional encoding, ``num_blocks`` Conformer blocks.

    ``forward(feats (B, T, F), feat_lens (B,)) -> (enc (B, T', D), enc_lens (B,))``
    with ``T' = ((T - 1) // 2 - 1) // 2`` at the default 4x.
    """

    def __init__(self, input_dim: int, d_model: int = 144, n_heads: int = 4, ff_dim: int = 576,
                 num_blocks: int = 8, conv_kernel: int = 15, dropout: float = 0.1,
                 relative_pos: bool = True, conv_norm: str = "batch_norm",
                 subsampling_channels: int | None = None, subsampling: int = 4):
        super().__init__()
        self.subsampling = Conv2dSubsampling(input_dim, d_model, subsampling_channels,
                                             subsampling)
        pos_cls = RelativePositionalEncoding if relative_pos else AbsolutePositionalEncoding
        self.pos_enc = pos_cls(d_model, dropout)
        self.blocks = nn.ModuleList(
            ConformerBlock(d_model, n_heads, ff_dim, conv_kernel, dropout, relative_pos, conv_norm)
            for _ in range(num_blocks))

    def forward(self, feats: torch.Tensor, feat_lens: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        x, lens = self.subsampling(feats, feat_lens)
        x, pos = self.pos_enc(x)
        mask = make_non_pad_mask(lens, x.size(1)).unsqueeze(1)  # (B, 1, T')
        for block in self.blocks:
            x = block(x, mask, pos)
        return x, lens
