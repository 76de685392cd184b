"""collate: zero-padded features, -1-padded targets, lengths."""

from __future__ import annotations

import pytest
import torch

from asr.training.collate import collate
from asr.training.dataset import Item


def test_collate_pads_features_and_targets():
    items = [Item("a", torch.ones(5, 3), torch.tensor([4, 5]), 0.05),
             Item("b", torch.full((7, 3), 2.0), torch.tensor([6, 7, 8]), 0.07)]
    batch = collate(items)
    assert batch.feats.shape == (2, 7, 3)
    assert batch.feat_lens.tolist() == [5, 7]
    assert torch.all(batch.feats[0, 5:] == 0) and torch.all(batch.feats[0, :5] == 1)
    assert batch.targets.tolist() == [[4, 5, -1], [6, 7, 8]]
    assert batch.target_lens.tolist() == [2, 3]
    assert batch.utt_ids == ["a", "b"]
    assert batch.total_duration == pytest.approx(0.12)


def test_collate_rejects_mismatched_feature_dims():
    items = [Item("a", torch.ones(5, 3), torch.tensor([1]), 0.1),
             Item("b", torch.ones(5, 4), torch.tensor([1]), 0.1)]
    with pytest.raises(ValueError, match="utterance b"):
        collate(items)


def test_collate_pads_frames_to_a_multiple():
    items = [Item("a", torch.ones(5, 3), torch.tensor([4]), 0.05),
             Item("b", torch.ones(33, 3), torch.tensor([6]), 0.33)]
    batch = collate(items, pad_to_multiple=16)
    assert batch.feats.shape == (2, 48, 3)
    assert batch.feat_lens.tolist() == [5, 33]
    assert torch.all(batch.feats[1, 33:] == 0)
