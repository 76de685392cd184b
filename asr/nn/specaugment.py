"""SpecAugment (Park et al., 2019): time warping, frequency masks and time masks.

Works on a padded batch ``(B, T, F)`` with lengths ``(B,)`` in frames; masks and warps
stay inside each utterance's valid frames. Random numbers come from torch's global
generator (or the one passed in), so training stays reproducible from a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class SpecAugmentConfig:
    """Mask widths are maxima: each width is drawn uniformly from [0, max].

    freq_mask_width: max bins per frequency mask (F in the paper).
    time_mask_width: max frames per time mask (T in the paper).
    time_mask_max_ratio: if > 0, a time mask is also at most this fraction of the
        utterance's length (p in the paper).
    time_warp: max warp distance in frames (W); 0 disables warping.
    """

    num_freq_masks: int = 2
    freq_mask_width: int = 27
    num_time_masks: int = 2
    time_mask_width: int = 40
    time_mask_max_ratio: float = 0.0
    time_warp: int = 0
    mask_value: float = 0.0


def mask_along_axis(
    x: torch.Tensor,
    lengths: torch.Tensor,
    num_masks: int,
    max_width: torch.Tensor | int,
    axis: int,
    mask_value: float = 0.0,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mask ``num_masks`` random bands along ``axis`` (1 = time, 2 = frequency).

    x: (B, T, F); lengths: (B,) valid frames; max_width: int or (B,) per utterance.
    Returns (masked x, starts (B, num_masks), widths (B, num_masks)). A band lies inside
    ``[0, lengths[b])`` for time and ``[0, F)`` for frequency.
    """
    if axis not in (1, 2):
        raise ValueError(f"axis must be 1 (time) or 2 (frequency), got {axis}")
    B, T, Fb = x.shape
    device = x.device
    if num_masks <= 0:
        empty = torch.zeros(B, 0, dtype=torch.long, device=device)
        return x, empty, empty
    size = lengths.to(device) if axis == 1 else torch.full((B,), Fb, device=device)
    max_w = torch.as_tensor(max_width, device=device).expand(B)
    max_w = torch.minimum(max_w, size)  # (B,)
    u = torch.rand(B, num_masks, generator=generator, device="cpu" if generator is None
                   else generator.device).to(device)
    widths = (u * (max_w[:, None] + 1).float()).long().clamp(max=max_w[:, None])
    v = torch.rand(B, num_masks, generator=generator, device="cpu" if generator is None
                   else generator.device).to(device)
    starts = (v * (size[:, None] - widths + 1).float()).long()
    starts = torch.minimum(starts, size[:, None] - widths)
    pos = torch.arange(T if axis == 1 else Fb, device=device)  # (L,)
    band = (pos[None, None, :] >= starts[:, :, None]) & (pos[None, None, :] < (starts + widths)[:, :, None])
    band = band.any(dim=1)  # (B, L)
    mask = band[:, :, None] if axis == 1 else band[:, None, :]
    return x.masked_fill(mask, mask_value), starts, widths


def time_warp(x: torch.Tensor, lengths: torch.Tensor, max_warp: int,
              generator: torch.Generator | None = None) -> torch.Tensor:
    """Warp each utterance in time: a random point ``c`` moves to ``c + w``, |w| <= W.

    The valid part ``[0, len)`` is stretched left of ``c`` and squeezed right of it (or
    the reverse) by linear interpolation; lengths do not change.
    """
    if max_warp <= 0:
        return x
    out = x.clone()
    for b in range(x.shape[0]):
        n = int(lengths[b])
        if n <= 2 * max_warp + 1:
            continue
        c = int(torch.randint(max_warp + 1, n - max_warp, (1,), generator=generator))
        w = int(torch.randint(-max_warp, max_warp + 1, (1,), generator=generator))
        if w == 0:
            continue
        seg = x[b, :n].t()[None]  # (1, F, n)
        left = F.interpolate(seg[..., :c], size=c + w, mode="linear", align_corners=False)
        right = F.interpolate(seg[..., c:], size=n - c - w, mode="linear", align_corners=False)
        out[b, :n] = torch.cat([left, right], dim=-1)[0].t()
    return out


class SpecAugment(torch.nn.Module):
    """SpecAugment as a module: active in ``train()`` mode, the identity in ``eval()``.

    forward(x: (B, T, F), lengths: (B,)) -> (B, T, F). Order: warp, freq masks, time masks.
    """

    def __init__(self, config: SpecAugmentConfig | None = None, **kwargs) -> None:
        super().__init__()
        if config is None:
            config = SpecAugmentConfig(**kwargs)
        elif kwargs:
            raise ValueError("give either a SpecAugmentConfig or keyword arguments")
        self.config = config

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        c = self.config
        if x.ndim != 3:
            raise ValueError(f"SpecAugment expects (B, T, F), got {tuple(x.shape)}")
        x = time_warp(x, lengths, c.time_warp)
        x, _, _ = mask_along_axis(x, lengths, c.num_freq_masks, c.freq_mask_width, 2,
                                  c.mask_value)
        max_t = torch.full_like(lengths, c.time_mask_width)
        if c.time_mask_max_ratio > 0:
            max_t = torch.minimum(max_t, (lengths.float() * c.time_mask_max_ratio).long())
        x, _, _ = mask_along_axis(x, lengths, c.num_time_masks, max_t, 1, c.mask_value)
        return x

    def extra_repr(self) -> str:
        return repr(self.config)
