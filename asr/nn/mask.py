"""Mask helpers. Convention: a boolean mask is ``True`` where attention may look."""

from __future__ import annotations

import torch


def make_pad_mask(lengths: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
    """``True`` at padding.

    Args:
        lengths: ``(B,)`` valid lengths.
        max_len: mask width; default ``lengths.max()``.

    Returns:
        ``(B, max_len)`` bool, ``mask[b, t] = t >= lengths[b]``.
    """
    if max_len is None:
        max_len = int(lengths.max()) if lengths.numel() else 0
    steps = torch.arange(max_len, device=lengths.device)
    return steps.unsqueeze(0) >= lengths.unsqueeze(1)


def make_non_pad_mask(lengths: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
    """``(B, max_len)`` bool, ``True`` at valid positions (complement of :func:`make_pad_mask`)."""
    return ~make_pad_mask(lengths, max_len)


def subsequent_mask(size: int, device: torch.device | None = None) -> torch.Tensor:
    """``(size, size)`` bool lower-triangular mask: position ``i`` sees ``j <= i``."""
    return torch.ones(size, size, dtype=torch.bool, device=device).tril()


def target_mask(ys_lens: torch.Tensor, max_len: int) -> torch.Tensor:
    """Decoder self-attention mask: causal and not padding.

    Args:
        ys_lens: ``(B,)`` decoder input lengths.
        max_len: padded decoder length ``U``.

    Returns:
        ``(B, U, U)`` bool.
    """
    valid = make_non_pad_mask(ys_lens, max_len).unsqueeze(1)  # (B, 1, U)
    return valid & subsequent_mask(max_len, ys_lens.device).unsqueeze(0)
