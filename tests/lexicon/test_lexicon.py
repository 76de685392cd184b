from pathlib import Path

import pytest

from asr.lexicon import Lexicon, read_cmu_dict, read_lexicon, write_cmu_dict, write_lexicon
from asr.lexicon.lexicon import parse_cmu_dict

ETC = Path(__file__).resolve().parents[2] / "corpora" / "an4" / "etc"


def test_reads_an4_dic_with_variants():
    lexicon = read_cmu_dict(ETC / "an4.dic")
    assert len(lexicon) == 130
    assert lexicon.prons("A") == [("AH",), ("EY",)]
    assert lexicon.prons("AND") == [("AE", "N", "D"), ("AH", "N", "D")]
    assert len(lexicon.prons("FEBRUARY")) == 5
    assert "A(2)" not in lexicon
    assert len(lexicon.words()) == len(set(lexicon.words())) == 101
    assert set(lexicon.phones()) <= set((ETC / "an4.phone").read_text().split())


def test_kaldi_roundtrip_with_and_without_probs(tmp_path):
    lexicon = Lexicon.from_pairs([("A", "AH"), ("A", "EY"), ("AND", "AE N D")])
    write_lexicon(lexicon, tmp_path / "lexicon.txt")
    assert (tmp_path / "lexicon.txt").read_text() == "A AH\nA EY\nAND AE N D\n"
    assert read_lexicon(tmp_path / "lexicon.txt") == lexicon
    lexicon = Lexicon()
    lexicon.add("A", ["AH"])
    lexicon.add("A", ["EY"], 0.5)
    lexicon.add("AND", ["AE", "N", "D"])
    write_lexicon(lexicon, tmp_path / "lexiconp.txt", with_probs=True)
    assert (tmp_path / "lexiconp.txt").read_text() == "A 1 AH\nA 0.5 EY\nAND 1 AE N D\n"
    back = read_lexicon(tmp_path / "lexiconp.txt", with_probs=True)
    assert [e.prob for e in back] == [1.0, 0.5, 1.0]


def test_cmu_roundtrip(tmp_path):
    lexicon = read_cmu_dict(ETC / "an4.dic")
    write_cmu_dict(lexicon, tmp_path / "x.dic")
    text = (tmp_path / "x.dic").read_text()
    assert "A(2) EY\n" in text and "FEBRUARY(5) " in text
    assert read_cmu_dict(tmp_path / "x.dic") == lexicon


def test_cmu_comments_and_stress():
    lines = [
        ";;; comment",
        "hello HH AH0 L OW1",
        "hello(2) HH AH1 L OW1 # informal",
        "read R IY1 D",
        "",
    ]
    lexicon = parse_cmu_dict(lines, strip_stress=True, uppercase=True)
    assert lexicon.to_dict() == {"HELLO": [("HH", "AH", "L", "OW")], "READ": [("R", "IY", "D")]}


@pytest.mark.parametrize(
    "text, with_probs, message",
    [
        ("A AH\nB\n", False, r"lexicon.txt:2: word 'B' has no phones"),
        ("A AH\n\nA AH\n", False, r"lexicon.txt:3: duplicate entry A AH"),
        ("A 1.5 AH\n", True, r"lexicon.txt:1: pronunciation probability 1.5 is not in \(0, 1\]"),
        ("A AH\n", True, r"lexicon.txt:1: pronunciation probability 'AH' is not a number"),
    ],
)
def test_reading_errors_name_file_and_line(tmp_path, text, with_probs, message):
    (tmp_path / "lexicon.txt").write_text(text)
    with pytest.raises(ValueError, match=message):
        read_lexicon(tmp_path / "lexicon.txt", with_probs=with_probs)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        read_lexicon(tmp_path / "nope.txt")
