import pytest
import torch

from asr.nn.dropout import Dropout


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_dropout_zeroes_about_p_and_keeps_the_expected_value(dtype):
    torch.manual_seed(0)
    drop = Dropout(0.25)
    x = torch.ones(200, 500, dtype=dtype, requires_grad=True)
    y = drop(x)
    assert y.dtype == dtype and y.shape == x.shape
    zeroed = (y == 0).float().mean().item()
    assert abs(zeroed - 0.25) < 0.01
    kept = y[y != 0].float()
    torch.testing.assert_close(kept, torch.full_like(kept, 1 / 0.75), rtol=1e-2, atol=0)
    y.sum().backward()  # the gradient is the same mask and scale
    torch.testing.assert_close(x.grad.float(), y.detach().float())


def test_dropout_is_identity_in_eval_mode_or_at_p_zero():
    x = torch.randn(4, 5)
    assert Dropout(0.5).eval()(x) is x
    assert Dropout(0.0)(x) is x
    with pytest.raises(ValueError, match="dropout probability"):
        Dropout(1.0)


@pytest.mark.parametrize("shape", [(7,), (3, 5, 7), (10, 66, 576)])
def test_keep_mask_keeps_one_minus_p_in_every_lane_of_the_random_words(shape):
    """Four mask elements share one 64-bit draw: each lane must be uniform on its own
    (a lane stuck on a constant top bit would keep all or nothing)."""
    from asr.nn.dropout import keep_mask

    torch.manual_seed(1)
    kept, seen = torch.zeros(4), torch.zeros(4)
    for _ in range(max(1, 400_000 // torch.Size(shape).numel())):
        keep, p = keep_mask(shape, 0.3)
        assert keep.shape == torch.Size(shape) and keep.dtype == torch.bool
        flat = keep.reshape(-1)
        lane = torch.arange(flat.numel()) % 4
        kept += torch.bincount(lane[flat], minlength=4)
        seen += torch.bincount(lane, minlength=4)
    assert p == round(0.3 * 65536) / 65536
    per_lane = kept / seen
    assert torch.all((per_lane - 0.7).abs() < 0.02), per_lane


def test_dropout_mask_follows_the_torch_seed_and_scales_by_the_realised_p():
    x = torch.ones(1000, 100)
    torch.manual_seed(3)
    a = Dropout(0.1)(x)
    torch.manual_seed(3)
    b = Dropout(0.1)(x)
    assert torch.equal(a, b)
    realised = round(0.1 * 65536) / 65536
    assert a.max().item() == pytest.approx(1 / (1 - realised), rel=1e-6)
