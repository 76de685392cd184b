import pytest
import torch

from asr.config import ConfigError, from_dict
from asr.decode import ArpaLM, DecodeConfig, decode_batch, load_lm
from asr.models import build_model
from asr.text import TokenizerConfig, build_tokenizer

from tests.decode.test_ctc import ARPA


@pytest.fixture(scope="module")
def model_and_tokenizer():
    tokenizer = build_tokenizer(TokenizerConfig(kind="char"), ["ONE WON", "TWO"])
    torch.manual_seed(0)
    model = build_model("conformer_aed", {
        "input_dim": 20, "vocab_size": tokenizer.vocab_size, "d_model": 32, "n_heads": 2,
        "ff_dim": 32, "num_blocks": 1, "conv_kernel": 3, "subsampling_channels": 4,
        "decoder_layers": 1, "decoder_ff_dim": 32, "dropout": 0.0}).eval()
    return model, tokenizer


@pytest.mark.parametrize("method", ["ctc_greedy", "ctc_prefix_beam", "attention",
                                    "attention_rescoring"])
def test_every_method_returns_ids_and_text(model_and_tokenizer, method):
    model, tokenizer = model_and_tokenizer
    feats, lens = torch.randn(2, 40, 20), torch.tensor([40, 25])
    hyps = decode_batch(model, feats, lens, DecodeConfig(method=method, beam_size=3), tokenizer)
    assert len(hyps) == 2
    for hyp in hyps:
        assert hyp.text == tokenizer.decode(hyp.tokens)
        if method != "attention":
            assert hyp.alignment is not None


def test_greedy_method_matches_function(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    feats, lens = torch.randn(1, 40, 20), torch.tensor([40])
    with torch.no_grad():
        enc, enc_lens = model.encode(feats, lens)
        best = model.ctc_log_probs(enc).argmax(-1)[0].tolist()
    hyp = decode_batch(model, feats, lens, DecodeConfig(method="ctc_greedy"), tokenizer)[0]
    assert hyp.alignment == best


def test_lm_loading_and_config_errors(tmp_path, model_and_tokenizer):
    path = tmp_path / "lm.arpa"
    path.write_text(ARPA)
    assert isinstance(load_lm(DecodeConfig(lm=str(path), lm_backend="arpa")), ArpaLM)
    assert load_lm(DecodeConfig()) is None
    with pytest.raises(FileNotFoundError, match="missing.arpa"):
        load_lm(DecodeConfig(lm=str(tmp_path / "missing.arpa")))
    with pytest.raises(ValueError, match="decode method"):
        DecodeConfig(method="viterbi")
    with pytest.raises(ConfigError, match="beam"):
        from_dict(DecodeConfig, {"beam": 4})
    model, tokenizer = model_and_tokenizer
    lm = load_lm(DecodeConfig(lm=str(path), lm_backend="arpa"))
    hyps = decode_batch(model, torch.randn(1, 40, 20), torch.tensor([40]),
                        DecodeConfig(method="ctc_prefix_beam", lm=str(path)), tokenizer, lm)
    assert hyps[0].lm_score < 0
