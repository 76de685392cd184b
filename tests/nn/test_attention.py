import math

import torch

from asr.nn import MultiHeadAttention, RelPositionMultiHeadAttention, rel_shift
from asr.nn.pos_enc import RelativePositionalEncoding


def test_rel_shift_picks_distance_i_minus_k():
    t = 4
    # Column j of the input holds the distance T - 1 - j.
    distances = torch.arange(t - 1, -t, -1).float()
    scores = distances.expand(1, 1, t, 2 * t - 1)
    out = rel_shift(scores)[0, 0]
    expected = torch.arange(t).unsqueeze(1) - torch.arange(t).unsqueeze(0)
    assert torch.equal(out, expected.float())


def test_padding_does_not_change_valid_outputs():
    torch.manual_seed(0)
    d = 16
    for attn in (MultiHeadAttention(d, 4), RelPositionMultiHeadAttention(d, 4)):
        attn.eval()
        x = torch.randn(1, 5, d)
        padded = torch.cat([x, torch.randn(1, 3, d)], dim=1)
        pos_enc = RelativePositionalEncoding(d)
        outs = []
        for inp, length in ((x, 5), (padded, 5)):
            mask = (torch.arange(inp.size(1)) < length).view(1, 1, -1)
            if isinstance(attn, RelPositionMultiHeadAttention):
                _, pos = pos_enc(inp)
                outs.append(attn(inp, pos, mask))
            else:
                outs.append(attn(inp, inp, inp, mask))
        torch.testing.assert_close(outs[0], outs[1][:, :5], atol=1e-5, rtol=1e-5)


def test_fully_masked_rows_are_finite():
    attn = MultiHeadAttention(8, 2)
    x = torch.randn(2, 3, 8)
    mask = torch.zeros(2, 1, 3, dtype=torch.bool)
    x.requires_grad_(True)
    out = attn(x, x, x, mask)
    assert torch.isfinite(out).all()
    out.sum().backward()
    assert torch.isfinite(x.grad).all()


def test_plain_attention_matches_reference_formula():
    torch.manual_seed(1)
    attn = MultiHeadAttention(8, 1)
    q, k = torch.randn(1, 2, 8), torch.randn(1, 3, 8)
    out = attn(q, k, k)
    qq, kk, vv = attn.linear_q(q), attn.linear_k(k), attn.linear_v(k)
    weights = torch.softmax(qq @ kk.transpose(1, 2) / math.sqrt(8), dim=-1)
    torch.testing.assert_close(out, attn.linear_out(weights @ vv))


def test_memory_expanded_over_hypotheses_is_projected_once_with_the_same_result():
    torch.manual_seed(0)
    attn = MultiHeadAttention(16, 4).eval()
    query, memory = torch.randn(5, 3, 16), torch.randn(1, 7, 16)
    shared = memory.expand(5, -1, -1)  # stride 0 along the batch, as in beam search
    calls = []
    attn.linear_k.register_forward_hook(lambda m, inp, out: calls.append(inp[0].shape[0]))
    out = attn(query, shared, shared)
    assert calls == [1]  # keys projected for one row, not five
    copied = attn(query, shared.contiguous(), shared.contiguous())
    assert calls[-1] == 5
    torch.testing.assert_close(out, copied)
