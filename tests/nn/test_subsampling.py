import pytest
import torch

from asr.nn import Conv2dSubsampling, Conv2dSubsampling4


def test_output_lengths_match_real_output():
    torch.manual_seed(0)
    layer = Conv2dSubsampling4(input_dim=80, d_model=16, channels=4)
    for frames in [7, 8, 9, 10, 11, 57, 100, 101, 102, 103]:
        out, lens = layer(torch.randn(1, frames, 80), torch.tensor([frames]))
        assert out.shape == (1, int(lens[0]), 16), frames
        assert int(lens[0]) == ((frames - 1) // 2 - 1) // 2


def test_padded_batch_lengths():
    layer = Conv2dSubsampling4(input_dim=40, d_model=8, channels=2)
    out, lens = layer(torch.randn(3, 50, 40), torch.tensor([50, 31, 7]))
    assert out.shape[1] == int(lens[0]) == 11
    assert lens.tolist() == [11, 7, 1]


@pytest.mark.parametrize("factor", [4, 6, 8])
def test_every_factor_gives_the_lengths_it_promises(factor):
    torch.manual_seed(0)
    layer = Conv2dSubsampling(input_dim=80, d_model=16, channels=4, factor=factor)
    shortest = layer.min_input_frames
    with pytest.raises(ValueError, match=f"needs at least {shortest}"):
        layer(torch.randn(1, shortest - 1, 80), torch.tensor([shortest - 1]))
    for frames in range(shortest, shortest + 30):
        out, lens = layer(torch.randn(1, frames, 80), torch.tensor([frames]))
        assert out.shape == (1, int(lens[0]), 16) and int(lens[0]) >= 1, frames
        # one output frame per `factor` input frames, minus the kernels' edges
        assert frames // factor - 2 <= int(lens[0]) <= frames // factor, frames
    with pytest.raises(ValueError, match="one of"):
        Conv2dSubsampling(80, 16, factor=3)
