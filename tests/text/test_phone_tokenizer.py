"""The phone tokenizer: ids from the AN4 lexicon, save/load, and CTC training on its targets."""

import pytest
import torch

from asr.text import TokenizerConfig, build_tokenizer, load_tokenizer
from asr.text.phone_tokenizer import PhoneTokenizer, read_any_lexicon


@pytest.fixture(scope="module")
def an4_tok(an4_dir):
    return build_tokenizer(TokenizerConfig(kind="phone", lexicon=str(an4_dir / "etc" / "an4.dic")),
                           [])


def test_an4_phone_set_and_layout(an4_tok, an4_dir):
    assert isinstance(an4_tok, PhoneTokenizer)
    phones = (an4_dir / "etc" / "an4.phone").read_text().split()
    assert an4_tok.phones == sorted(p for p in phones if p != "SIL")  # silence is no target
    assert an4_tok.tokens[:2] == ["<blank>", "<unk>"] and an4_tok.tokens[-1] == "<sos/eos>"
    assert an4_tok.vocab_size == len(phones) - 1 + 3


def test_encode_uses_the_first_pronunciation(an4_tok):
    # an4.dic: AND AE N D, AND(2) AH N D; A AH, A(2) EY
    assert an4_tok.decode(an4_tok.encode("and a")) == "AE N D AH"
    ids = an4_tok.encode("AND")
    assert ids == [an4_tok.symbols["AE"], an4_tok.symbols["N"], an4_tok.symbols["D"]]
    assert an4_tok.decode([0, *ids, 0, an4_tok.sos_id]) == "AE N D"  # blank, sos/eos skipped


def test_unknown_words_and_silence(tmp_path):
    lex = tmp_path / "lexicon.txt"
    lex.write_text("YES Y_B EH_I S_E\nNO N_B OW_E\n<SIL> SIL\n")
    tok = build_tokenizer(TokenizerConfig(kind="phone", lexicon=str(lex)), [])
    assert tok.phones == ["EH", "N", "OW", "S", "Y"]  # markers stripped, SIL left out
    assert tok.decode(tok.encode("yes <sil> no")) == "Y EH S N OW"
    assert tok.encode("yes maybe") == tok.encode("yes") + [tok.unk_id]
    assert tok.num_unk == 1
    strict = build_tokenizer(TokenizerConfig(kind="phone", lexicon=str(lex), strict=True), [])
    with pytest.raises(ValueError, match="MAYBE"):
        strict.encode("yes maybe")
    with pytest.raises(ValueError, match="lexicon"):
        build_tokenizer(TokenizerConfig(kind="phone"), [])
    with pytest.raises(FileNotFoundError, match="nope.dic"):
        build_tokenizer(TokenizerConfig(kind="phone", lexicon=str(tmp_path / "nope.dic")), [])


def test_save_load_keeps_its_own_lexicon(an4_tok, tmp_path):
    an4_tok.save(tmp_path / "tok")
    for name in ("tokenizer.yaml", "tokens.txt", "lexicon.txt"):
        assert (tmp_path / "tok" / name).is_file()
    again = load_tokenizer(tmp_path / "tok")
    assert isinstance(again, PhoneTokenizer) and again.tokens == an4_tok.tokens
    text = "ERASE Z Y G N P EIGHT HUNDRED AND TWENTY THREE"
    assert again.encode(text) == an4_tok.encode(text)
    assert len(read_any_lexicon(tmp_path / "tok" / "lexicon.txt")) == len(an4_tok.lexicon)


def test_ctc_training_step_lowers_the_loss_on_real_an4(an4_tok, an4_dir, an4_flacs):
    """A CTC-only Conformer on phone targets of real AN4 fbank: a few steps on one batch
    lower the CTC loss."""
    from asr.audio import load_audio
    from asr.corpora.an4 import parse_transcriptions
    from asr.features.functional import fbank
    from asr.models.registry import build_model

    texts = parse_transcriptions(an4_dir / "etc" / "an4_train.transcription")
    feats, targets = [], []
    waves = [(load_audio(p, 16000), p.stem) for p in an4_flacs]
    for wave, utt in sorted(waves, key=lambda w: w[0].shape[0])[:3]:  # the shortest
        x = fbank(wave, 16000, num_mel_bins=40, dither=0.0)
        feats.append(x)
        targets.append(torch.tensor(an4_tok.encode(texts[utt])))
    lens = torch.tensor([f.shape[0] for f in feats])
    x = torch.nn.utils.rnn.pad_sequence(feats, batch_first=True)
    tlens = torch.tensor([len(t) for t in targets])
    y = torch.nn.utils.rnn.pad_sequence(targets, batch_first=True, padding_value=-1)
    torch.manual_seed(0)
    model = build_model("conformer_aed", dict(
        input_dim=40, vocab_size=an4_tok.vocab_size, d_model=48, n_heads=2, ff_dim=96,
        num_blocks=1, subsampling_channels=16, decoder_layers=0, ctc_weight=1.0, dropout=0.0))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(6):
        out = model(x, lens, y, tlens)
        assert out["att_loss"] == 0.0
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        losses.append(float(out["ctc_loss"]))
    assert losses[-1] < 0.8 * losses[0], losses
