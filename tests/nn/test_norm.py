import pytest
import torch
from torch import nn

from asr.nn.norm import MaskedBatchNorm1d


def _padded(lengths, channels=6, fill=0.0):
    """Valid frames ``(C, sum(lengths))`` and the same frames as a padded batch ``(B, C, T)``."""
    torch.manual_seed(0)
    t = max(lengths)
    valid = torch.arange(t)[None] < torch.tensor(lengths)[:, None]
    batch = torch.full((len(lengths), channels, t), fill)
    frames = torch.randn(channels, sum(lengths)) * 3 + 1
    batch.transpose(1, 2)[valid] = frames.t()
    return frames, batch, valid


@pytest.mark.parametrize("fill", [0.0, 50.0])
def test_training_statistics_and_gradients_come_from_the_valid_frames_only(fill):
    frames, batch, valid = _padded([7, 3, 5], fill=fill)
    ref, ours = nn.BatchNorm1d(6).train(), MaskedBatchNorm1d(6).train()
    with torch.no_grad():
        ref.weight.uniform_(0.5, 2)
        ref.bias.uniform_(-1, 1)
    ours.load_state_dict(ref.state_dict())

    frames.requires_grad_(True)
    batch.requires_grad_(True)
    expected = ref(frames.unsqueeze(0))[0]  # (C, N): one "utterance" with no padding
    got = ours(batch, valid)
    torch.testing.assert_close(got.transpose(1, 2)[valid].t(), expected)
    assert (got.transpose(1, 2)[~valid] == 0).all()
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        torch.testing.assert_close(getattr(ours, name), getattr(ref, name))

    weights = torch.randn_like(expected)
    (expected * weights).sum().backward()
    grad_in = torch.zeros_like(batch)
    grad_in.transpose(1, 2)[valid] = weights.t()
    (got * grad_in).sum().backward()
    torch.testing.assert_close(batch.grad.transpose(1, 2)[valid].t(), frames.grad)
    assert (batch.grad.transpose(1, 2)[~valid] == 0).all()
    for name in ("weight", "bias"):
        torch.testing.assert_close(getattr(ours, name).grad, getattr(ref, name).grad)


def test_without_padding_or_in_eval_it_is_plain_batch_norm():
    _, batch, valid = _padded([4, 4])
    ref, ours = nn.BatchNorm1d(6), MaskedBatchNorm1d(6)
    assert ref.state_dict().keys() == ours.state_dict().keys()
    torch.testing.assert_close(ours(batch, valid), ref(batch))
    torch.testing.assert_close(ours.running_var, ref.running_var)
    _, batch, valid = _padded([4, 2])
    ref.eval(), ours.eval()
    torch.testing.assert_close(ours(batch, valid), ref(batch))


@pytest.mark.parametrize("kwargs", [{"momentum": None}, {"track_running_stats": False}])
def test_cumulative_or_untracked_statistics_follow_batch_norm(kwargs):
    ref, ours = nn.BatchNorm1d(6, **kwargs), MaskedBatchNorm1d(6, **kwargs)
    for lengths in ([7, 3, 5], [2, 6]):
        frames, batch, valid = _padded(lengths)
        expected = ref(frames.unsqueeze(0))[0]
        torch.testing.assert_close(ours(batch, valid).transpose(1, 2)[valid].t(), expected)
    if ref.track_running_stats:
        torch.testing.assert_close(ours.running_mean, ref.running_mean)
        torch.testing.assert_close(ours.running_var, ref.running_var)
