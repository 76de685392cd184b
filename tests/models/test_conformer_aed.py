import pytest
import torch

from asr.models import build_model, count_parameters
from asr.models.conformer_aed import IGNORE_ID, add_sos_eos

TINY = {"input_dim": 40, "d_model": 64, "n_heads": 4, "ff_dim": 128, "num_blocks": 2,
        "conv_kernel": 7, "subsampling_channels": 16, "decoder_layers": 2,
        "decoder_ff_dim": 128, "dropout": 0.0, "ctc_weight": 0.3}


def tiny_model(vocab_size: int, **overrides):
    torch.manual_seed(0)
    return build_model("conformer_aed", {**TINY, "vocab_size": vocab_size, **overrides})


def test_add_sos_eos():
    targets = torch.tensor([[3, 4, 5], [6, -1, -1]])
    ys_in, ys_out = add_sos_eos(targets, torch.tensor([3, 1]), sos=9, eos=9)
    assert ys_in.tolist() == [[9, 3, 4, 5], [9, 6, 9, 9]]
    assert ys_out.tolist() == [[3, 4, 5, 9], [6, 9, IGNORE_ID, IGNORE_ID]]


def test_forward_backward_on_real_features(an4_batch):
    feats, feat_lens, targets, target_lens, tokenizer = an4_batch
    model = tiny_model(tokenizer.vocab_size)
    assert 100_000 < count_parameters(model) < 1_000_000
    out = model(feats, feat_lens, targets, target_lens)
    assert set(out) >= {"loss", "ctc_loss", "att_loss", "acc"}
    assert out["loss"].dim() == 0 and torch.isfinite(out["loss"])
    expected = 0.3 * out["ctc_loss"] + 0.7 * out["att_loss"]
    torch.testing.assert_close(out["loss"].detach(), expected)
    out["loss"].backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)

    enc, enc_lens = model.encode(feats, feat_lens)
    assert enc.shape == (4, int(enc_lens.max()), 64)
    assert enc_lens.tolist() == (((feat_lens - 1) // 2 - 1) // 2).tolist()
    log_probs = model.ctc_log_probs(enc)
    assert log_probs.shape == (4, enc.size(1), tokenizer.vocab_size)
    torch.testing.assert_close(log_probs.exp().sum(-1), torch.ones(4, enc.size(1)))


def test_attention_scores_match_teacher_forced_loss(an4_batch):
    feats, feat_lens, targets, target_lens, tokenizer = an4_batch
    model = tiny_model(tokenizer.vocab_size, label_smoothing=0.0, ctc_weight=0.0).eval()
    with torch.no_grad():
        out = model(feats[:1, : feat_lens[0]], feat_lens[:1], targets[:1, : target_lens[0]],
                    target_lens[:1])
        enc, enc_lens = model.encode(feats[:1, : feat_lens[0]], feat_lens[:1])
        score = model.attention_scores(enc, enc_lens[0], [targets[0, : target_lens[0]].tolist()])
    torch.testing.assert_close(-score[0], out["att_loss"], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("subsampling", [4, 6])
def test_a_few_steps_lower_the_loss(an4_batch, subsampling):
    feats, feat_lens, targets, target_lens, tokenizer = an4_batch
    model = tiny_model(tokenizer.vocab_size, subsampling=subsampling)
    enc, enc_lens = model.encode(feats, feat_lens)
    assert enc_lens.tolist() == model.encoder.subsampling.output_lengths(feat_lens).tolist()
    assert enc.size(1) == int(enc_lens.max()) and (enc_lens > target_lens).all()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(8):
        loss = model(feats, feat_lens, targets, target_lens)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0], losses


def test_ctc_only_model_and_config_checks():
    model = tiny_model(10, decoder_layers=0, ctc_weight=1.0)
    assert model.decoder is None
    feats = torch.randn(2, 30, 40)
    out = model(feats, torch.tensor([30, 20]), torch.tensor([[2, 3], [4, -1]]),
                torch.tensor([2, 1]))
    assert out["att_loss"] == 0 and out["loss"] > 0
    with pytest.raises(ValueError, match="ctc_weight"):
        tiny_model(10, decoder_layers=0, ctc_weight=0.5)
    with pytest.raises(ValueError, match="ctc_weight"):
        tiny_model(10, ctc_weight=1.5)


def test_utterance_normalization_ignores_padding():
    from asr.models.conformer_aed import normalize_utterances

    x = torch.randn(1, 10, 3) * 4 + 7
    padded = torch.cat([x, torch.full((1, 5, 3), 100.0)], dim=1)
    out = normalize_utterances(padded, torch.tensor([10]))
    torch.testing.assert_close(out[:, :10], normalize_utterances(x, torch.tensor([10])))
    assert torch.all(out[:, 10:] == 0)
    torch.testing.assert_close(out[0, :10].mean(0), torch.zeros(3), atol=1e-5, rtol=0)


def test_batched_encoding_equals_one_at_a_time(an4_batch):
    feats, feat_lens, _, _, tokenizer = an4_batch
    model = tiny_model(tokenizer.vocab_size, feat_norm="utterance").eval()
    with torch.no_grad():
        enc, enc_lens = model.encode(feats, feat_lens)
        for b in range(feats.size(0)):
            n = int(feat_lens[b])
            alone, alone_len = model.encode(feats[b: b + 1, :n], feat_lens[b: b + 1])
            assert int(alone_len) == int(enc_lens[b])
            torch.testing.assert_close(enc[b: b + 1, : int(alone_len)], alone,
                                       atol=1e-4, rtol=1e-4)
