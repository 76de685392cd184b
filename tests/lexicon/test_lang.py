from pathlib import Path

import pytest

from asr.lexicon import Lexicon, an4_lexicon, load_lang, prepare_lang

ETC = Path(__file__).resolve().parents[2] / "corpora" / "an4" / "etc"


def tiny_lexicon() -> Lexicon:
    return Lexicon.from_pairs(
        [
            ("<UNK>", "SPN"),
            ("!SIL", "SIL"),
            ("A", "AH"),
            ("AN", "AH N"),
            ("AND", "AH N D"),
            ("ANNE", "AH N"),
        ]
    )


def read(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_prepare_lang_position_dependent(tmp_path):
    lang = prepare_lang(tiny_lexicon(), tmp_path)
    phones = read(tmp_path / "phones.txt")
    assert phones[:6] == ["<eps> 0", "SIL 1", "SIL_B 2", "SIL_E 3", "SIL_I 4", "SIL_S 5"]
    assert phones[11:15] == ["AH_B 11", "AH_E 12", "AH_I 13", "AH_S 14"]
    # AN and ANNE are homophones (#1, #2); with markers "AH_S" is no prefix of "AH_B N_E".
    assert phones[-4:] == ["#0 23", "#1 24", "#2 25", "#3 26"]
    assert lang.num_disambig == 3
    assert read(tmp_path / "words.txt") == [
        "<eps> 0",
        "!SIL 1",
        "<UNK> 2",
        "A 3",
        "AN 4",
        "AND 5",
        "ANNE 6",
        "#0 7",
        "<s> 8",
        "</s> 9",
    ]
    assert read(tmp_path / "lexicon.txt") == [
        "<UNK> SPN_S",
        "!SIL SIL_S",
        "A AH_S",
        "AN AH_B N_E",
        "AND AH_B N_I D_E",
        "ANNE AH_B N_E",
    ]
    assert read(tmp_path / "lexicon_disambig.txt")[3:] == [
        "AN AH_B N_E #1",
        "AND AH_B N_I D_E",
        "ANNE AH_B N_E #2",
    ]
    assert read(tmp_path / "lexiconp.txt")[0] == "<UNK> 1 SPN_S"
    p = tmp_path / "phones"
    assert read(p / "silence.txt") == [
        "SIL",
        "SIL_B",
        "SIL_E",
        "SIL_I",
        "SIL_S",
        "SPN",
        "SPN_B",
        "SPN_E",
        "SPN_I",
        "SPN_S",
    ]
    assert read(p / "optional_silence.txt") == ["SIL"] and read(p / "optional_silence.int") == ["1"]
    assert read(p / "disambig.txt") == ["#0", "#1", "#2", "#3"]
    assert read(p / "disambig.csl") == ["23:24:25:26"]
    assert read(p / "wdisambig_words.int") == ["7"]
    assert read(tmp_path / "oov.txt") == ["<UNK>"] and read(tmp_path / "oov.int") == ["2"]
    boundary = dict(line.split() for line in read(p / "word_boundary.txt"))
    assert boundary["SIL"] == "nonword" and boundary["SIL_S"] == "singleton"
    assert (
        boundary["AH_B"] == "begin"
        and boundary["N_I"] == "internal"
        and boundary["AH_S"] == "singleton"
    )
    assert read(p / "align_lexicon.txt")[2] == "A A AH_S"
    assert read(p / "sets.txt")[2] == "AH_B AH_E AH_I AH_S"
    assert read(p / "roots.txt")[0] == "shared split SIL SIL_B SIL_E SIL_I SIL_S"

    back = load_lang(tmp_path)
    assert back.phones == lang.phones and back.words == lang.words
    assert back.lexicon_disambig == lang.lexicon_disambig
    assert back.phone_set == lang.phone_set and back.num_disambig == 3 and back.position_dependent


def test_prepare_lang_position_independent(tmp_path):
    lang = prepare_lang(tiny_lexicon(), tmp_path, position_dependent=False)
    assert read(tmp_path / "phones.txt") == [
        "<eps> 0",
        "SIL 1",
        "SPN 2",
        "AH 3",
        "D 4",
        "N 5",
        "#0 6",
        "#1 7",
        "#2 8",
        "#3 9",
    ]
    # Without markers A (AH) is a prefix of AN (AH N): A #1, AN #1, ANNE #2, AND none.
    assert read(tmp_path / "lexicon_disambig.txt")[2:] == [
        "A AH #1",
        "AN AH N #1",
        "AND AH N D",
        "ANNE AH N #2",
    ]
    assert lang.num_disambig == 2 + 1
    assert not (tmp_path / "phones" / "word_boundary.txt").exists()
    assert not load_lang(tmp_path).position_dependent


def test_prepare_lang_errors(tmp_path):
    with pytest.raises(ValueError, match="OOV word '<UNK>' is not in the lexicon"):
        prepare_lang(Lexicon.from_pairs([("A", "AH")]), tmp_path)
    with pytest.raises(ValueError, match="reserved word '<s>'"):
        prepare_lang(Lexicon.from_pairs([("<UNK>", "SPN"), ("<s>", "SIL")]), tmp_path)
    with pytest.raises(FileNotFoundError, match="phones.txt"):
        load_lang(tmp_path / "nothing")


def test_an4_lang(tmp_path):
    lexicon = an4_lexicon(ETC)
    assert lexicon.prons("<UNK>") == [("SPN",)] and lexicon.prons("<sil>") == [("SIL",)]
    assert "<s>" not in lexicon
    lang = prepare_lang(lexicon, tmp_path)
    disambig = {e.word: e.phones[-1] for e in lang.lexicon_disambig if e.phones[-1].startswith("#")}
    assert disambig == {"O": "#1", "OH": "#2"}  # the homophones O and OH (OW)
    assert lang.phone_set.silence == ["SIL", "SPN"]
    assert len(lang.phone_set.nonsilence) == 33
    assert len(lang.phones) == 1 + 10 + 33 * 4 + 4
    assert len(lang.words) == 103 + 4


def test_an4_lexicon_rejects_unknown_phones(tmp_path):
    for name in ("an4.dic", "an4.filler"):
        (tmp_path / name).write_text((ETC / name).read_text())
    (tmp_path / "an4.phone").write_text("AA\nSIL\n")
    with pytest.raises(ValueError, match="an4.dic uses phones not in an4.phone"):
        an4_lexicon(tmp_path)
