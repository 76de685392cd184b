import logging
import re

import pytest

from asr.text import (SPACE, BpeTokenizer, CharTokenizer, TokenizerConfig, build_tokenizer,
                      load_tokenizer)


@pytest.fixture(scope="module")
def an4_sentences(an4_dir):
    lines = (an4_dir / "etc" / "an4_train.transcription").read_text().splitlines()
    return [re.sub(r"</?s>|\(.*\)", "", line).strip() for line in lines]


def test_bpe_round_trip_save_load(an4_sentences, tmp_path):
    tok = build_tokenizer(TokenizerConfig(kind="bpe", vocab_size=60), an4_sentences)
    assert isinstance(tok, BpeTokenizer)
    assert tok.vocab_size <= 60
    assert tok.tokens[0] == "<blank>" and tok.tokens[1] == "<unk>"
    assert tok.tokens[-1] == "<sos/eos>" and tok.sos_id == tok.eos_id == tok.vocab_size - 1
    for sentence in an4_sentences[:50]:
        ids = tok.encode(sentence)
        assert ids and all(1 < i < tok.vocab_size - 1 for i in ids)
        assert tok.decode(ids) == " ".join(sentence.split())
    assert tok.decode(tok.encode("one two")) == "ONE TWO"  # case normalization
    tok.save(tmp_path / "lang")
    for name in ("bpe.model", "tokens.txt", "tokenizer.yaml"):
        assert (tmp_path / "lang" / name).is_file()
    again = load_tokenizer(tmp_path / "lang")
    assert again.tokens == tok.tokens
    assert again.encode("ENTER SIX TWO FOUR") == tok.encode("ENTER SIX TWO FOUR")


def test_bpe_training_is_deterministic(an4_sentences):
    config = TokenizerConfig(kind="bpe", vocab_size=40)
    first = build_tokenizer(config, an4_sentences[:300])
    second = build_tokenizer(config, an4_sentences[:300])
    assert first.tokens == second.tokens


def test_char_tokenizer_and_unknown_characters(an4_sentences, tmp_path, caplog):
    tok = build_tokenizer(TokenizerConfig(kind="char"), an4_sentences)
    assert isinstance(tok, CharTokenizer)
    assert SPACE in tok.tokens
    ids = tok.encode("GO ON")
    assert [tok.id_to_token(i) for i in ids] == ["G", "O", SPACE, "O", "N"]
    assert tok.decode(ids) == "GO ON"
    with caplog.at_level(logging.WARNING):
        ids = tok.encode("GO Ü")
    assert ids[-1] == tok.unk_id and tok.num_unk == 1
    assert "out-of-vocabulary" in caplog.text
    tok.save(tmp_path / "chars")
    assert load_tokenizer(tmp_path / "chars").tokens == tok.tokens

    strict = build_tokenizer(TokenizerConfig(kind="char", strict=True), ["ABC"])
    with pytest.raises(ValueError, match="outside the vocabulary.*'Z'"):
        strict.encode("ABZ")


def test_bpe_unknown_characters_strict(an4_sentences):
    tok = build_tokenizer(TokenizerConfig(vocab_size=40), an4_sentences[:200])
    assert tok.unk_id in tok.encode("ONE Ω")
    strict = build_tokenizer(TokenizerConfig(vocab_size=40, strict=True), an4_sentences[:200])
    with pytest.raises(ValueError, match="Ω"):
        strict.encode("ONE Ω")


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="tokenizer.yaml"):
        load_tokenizer(tmp_path)
    with pytest.raises(ValueError, match="kind"):
        TokenizerConfig(kind="word")
