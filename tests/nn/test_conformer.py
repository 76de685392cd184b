import pytest
import torch

from asr.nn import ConformerEncoder, TransformerDecoder, make_non_pad_mask


def test_encoder_shapes_and_padding_invariance():
    torch.manual_seed(0)
    enc = ConformerEncoder(input_dim=20, d_model=16, n_heads=2, ff_dim=32, num_blocks=2,
                           conv_kernel=5, dropout=0.0).eval()
    x = torch.randn(1, 40, 20)
    alone, alone_lens = enc(x, torch.tensor([40]))
    batch = torch.cat([torch.cat([x, torch.zeros(1, 24, 20)], 1), torch.randn(1, 64, 20)])
    out, lens = enc(batch, torch.tensor([40, 64]))
    assert out.shape == (2, 15, 16) and lens.tolist() == [9, 15]
    assert alone.shape == (1, 9, 16)
    torch.testing.assert_close(out[:1, :9], alone, atol=1e-4, rtol=1e-4)


def test_decoder_is_causal():
    torch.manual_seed(0)
    dec = TransformerDecoder(vocab_size=11, d_model=16, n_heads=2, ff_dim=32, num_layers=2,
                             dropout=0.0).eval()
    memory = torch.randn(1, 7, 16)
    mem_mask = make_non_pad_mask(torch.tensor([7])).unsqueeze(1)
    ys = torch.tensor([[10, 3, 4, 5]])
    full = dec(memory, mem_mask, ys, torch.tensor([4]))
    changed = ys.clone()
    changed[0, 3] = 6
    other = dec(memory, mem_mask, changed, torch.tensor([4]))
    torch.testing.assert_close(full[:, :3], other[:, :3])
    step = dec.next_token_log_probs(memory, mem_mask, ys[:, :3])
    torch.testing.assert_close(step, full[:, 2].log_softmax(-1), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("conv_norm", ["masked_batch_norm", "batch_norm"])
def test_extra_padding_does_not_change_training_mode_outputs(conv_norm):
    """With ``masked_batch_norm`` the conv module takes its statistics from valid frames
    only, so padding a batch further (as ``trainer.pad_to_multiple`` does) changes
    nothing; plain batch norm counts the padded frames."""
    torch.manual_seed(0)
    enc = ConformerEncoder(input_dim=20, d_model=16, n_heads=2, ff_dim=32, num_blocks=2,
                           conv_kernel=5, dropout=0.0, conv_norm=conv_norm).train()
    x = torch.randn(2, 40, 20)
    x[1, 31:] = 0.0
    lens = torch.tensor([40, 31])
    out, out_lens = enc(x, lens)
    padded, padded_lens = enc(torch.cat([x, torch.zeros(2, 24, 20)], 1), lens)
    assert padded.shape == (2, 15, 16) and torch.equal(padded_lens, out_lens)
    same = all(torch.allclose(padded[i, :n], out[i, :n], atol=1e-5, rtol=1e-5)
               for i, n in enumerate(out_lens.tolist()))
    assert same == (conv_norm == "masked_batch_norm")
