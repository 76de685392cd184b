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
