"""SpecAugment: mask counts and widths, lengths respected, identity in eval mode."""

from __future__ import annotations

import torch

from asr.nn.specaugment import SpecAugment, SpecAugmentConfig, mask_along_axis, time_warp


def runs(flags: torch.Tensor) -> list[tuple[int, int]]:
    """(start, width) of each run of True in a 1-D bool tensor."""
    out, start = [], None
    for i, f in enumerate(flags.tolist() + [False]):
        if f and start is None:
            start = i
        elif not f and start is not None:
            out.append((start, i - start))
            start = None
    return out


def test_frequency_masks_count_and_width():
    torch.manual_seed(0)
    x = torch.ones(8, 50, 80)
    lengths = torch.tensor([50, 40, 30, 50, 20, 10, 50, 45])
    y, starts, widths = mask_along_axis(x, lengths, num_masks=2, max_width=10, axis=2)
    assert starts.shape == widths.shape == (8, 2)
    assert torch.all(widths <= 10) and torch.all(widths >= 0)
    assert torch.all(starts + widths <= 80)
    for b in range(8):
        masked_bins = (y[b] == 0).all(dim=0)  # a frequency mask covers every frame
        assert torch.equal((y[b] == 0).any(dim=0), masked_bins)
        assert len(runs(masked_bins)) <= 2
        expected = torch.zeros(80, dtype=torch.bool)
        for s, w in zip(starts[b].tolist(), widths[b].tolist()):
            expected[s:s + w] = True
        assert torch.equal(masked_bins, expected)
    assert widths.float().mean() > 2  # widths are drawn, not all zero


def test_time_masks_stay_inside_lengths_and_respect_ratio():
    torch.manual_seed(1)
    x = torch.ones(16, 100, 4)
    lengths = torch.randint(20, 101, (16,))
    aug = SpecAugment(num_freq_masks=0, num_time_masks=3, time_mask_width=40,
                      time_mask_max_ratio=0.1)
    y = aug.train()(x, lengths)
    for b in range(16):
        masked = (y[b] == 0).all(dim=1)
        assert not masked[lengths[b]:].any(), "mask beyond the utterance"
        spans = runs(masked)
        assert len(spans) <= 3
        limit = int(lengths[b] * 0.1)
        # overlapping masks merge, so a run is at most 3 masks wide
        assert all(w <= 3 * limit for _, w in spans)
    # a single mask of fixed ratio: every run within the limit exactly
    y, starts, widths = mask_along_axis(x, lengths, 1, (lengths * 0.1).long(), axis=1)
    assert torch.all(widths <= (lengths * 0.1).long()[:, None])
    assert torch.all(starts + widths <= lengths[:, None])


def test_identity_in_eval_mode():
    x = torch.randn(3, 30, 10)
    lengths = torch.tensor([30, 20, 10])
    aug = SpecAugment(SpecAugmentConfig(time_warp=5))
    assert torch.equal(aug.eval()(x, lengths), x)
    assert not torch.equal(aug.train()(x, lengths), x)


def test_time_warp_keeps_shape_and_padding():
    torch.manual_seed(2)
    x = torch.randn(4, 60, 8)
    x[1, 40:] = 0
    lengths = torch.tensor([60, 40, 60, 60])
    y = time_warp(x, lengths, max_warp=5)
    assert y.shape == x.shape
    assert torch.equal(y[1, 40:], x[1, 40:])
    assert not torch.equal(y, x)
    # endpoints of the valid region barely move (linear interpolation keeps the ends near)
    assert torch.allclose(y[:, 0], x[:, 0], atol=1.5)
