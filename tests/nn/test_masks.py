import torch

from asr.nn import make_non_pad_mask, make_pad_mask, subsequent_mask, target_mask


def test_pad_masks():
    lens = torch.tensor([3, 1, 0])
    expected = torch.tensor([[0, 0, 0, 1], [0, 1, 1, 1], [1, 1, 1, 1]], dtype=torch.bool)
    assert torch.equal(make_pad_mask(lens, 4), expected)
    assert torch.equal(make_non_pad_mask(lens, 4), ~expected)
    assert make_pad_mask(lens).shape == (3, 3)


def test_subsequent_and_target_masks():
    assert torch.equal(subsequent_mask(3), torch.tensor([[1, 0, 0], [1, 1, 0], [1, 1, 1]],
                                                        dtype=torch.bool))
    mask = target_mask(torch.tensor([2, 3]), 3)
    assert mask.shape == (2, 3, 3)
    assert not mask[0, 2, 2] and not mask[0, 1, 2] and mask[0, 1, 1]
    assert mask[1, 2].all()
