import pytest

from asr.corpora.an4 import parse_transcriptions, prepare_an4, read_subset
from asr.data import DataDir


def test_counts_and_speakers(an4_data):
    sets = {name: DataDir.load(path) for name, path in an4_data.items()}
    assert {k: len(v) for k, v in sets.items()} == {"train": 848, "dev": 100, "test": 130}
    assert len(sets["test"].speakers) == 10
    assert not set(sets["train"].speakers) & set(sets["test"].speakers)
    full = sorted(sets["train"].utterances + sets["dev"].utterances)
    assert sets["dev"].utterances == full[:100]
    for data in sets.values():
        data.validate(check_audio=True)
    assert 0.5 < sets["train"].num_hours < 0.8


def test_text_normalisation(an4_data):
    text = DataDir.load(an4_data["train"]).text
    assert "<s>" not in " ".join(text.values())
    assert text["fkai-an312-fkai-b"] == "ERASE Z Y G N P EIGHT HUNDRED AND TWENTY THREE"
    test_text = DataDir.load(an4_data["test"]).text
    assert test_text["fcaw-an406-fcaw-b"] == "RUBOUT G M E F THREE NINE"


def test_raw_tree_gives_the_same_dirs(an4_raw_tree, an4_dir):
    raw = read_subset(an4_raw_tree, "test")
    flac = read_subset(an4_dir, "test")
    assert raw.text == flac.text and raw.utt2spk == flac.utt2spk
    assert next(iter(raw.wav_scp.values())).startswith("raw:s16be:16000:")


def test_parse_errors(tmp_path):
    bad = tmp_path / "t.transcription"
    bad.write_text("<s> YES </s> (a-b-c)\nNO ID HERE\n")
    with pytest.raises(ValueError, match="t.transcription:2"):
        parse_transcriptions(bad)


def test_missing_audio_fails_before_writing(tmp_path, an4_dir, an4_data):
    # A copy of the corpus with one audio file gone must fail without touching
    # data dirs written earlier.
    import shutil

    corpus = tmp_path / "an4"
    shutil.copytree(an4_dir / "etc", corpus / "etc")
    (corpus / "wav").symlink_to(an4_dir / "wav")
    out = tmp_path / "data"
    prepare_an4(corpus, out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    fileids = (corpus / "etc" / "an4_test.fileids")
    fileids.write_text(fileids.read_text() + "an4test_clstk/fcaw/an999-fcaw-b\n")
    transcripts = corpus / "etc" / "an4_test.transcription"
    transcripts.write_text(transcripts.read_text() + "HELLO (an999-fcaw-b)\n")
    with pytest.raises(FileNotFoundError, match="an999-fcaw-b"):
        prepare_an4(corpus, out)
    assert before == {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
