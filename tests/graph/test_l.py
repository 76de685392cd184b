"""L (lexicon FST) in text form on a constructed 3-word lexicon: every arc line."""

import math

import pytest

from asr.graph.fstext import fmt_cost
from asr.graph.l import lexicon_fst_text

PHONES = {"<eps>": 0, "SIL": 1, "AH": 2, "B": 3, "K": 4, "#0": 5, "#1": 6, "#2": 7}
WORDS = {"<eps>": 0, "A": 1, "AB": 2, "BACK": 3, "#0": 4}
HALF = fmt_cost(-math.log(0.5))  # 0.6931472


def test_lexicon_fst_with_optional_silence_and_disambig():
    lexicon = [("A", ["AH", "#1"], 1.0), ("AB", ["AH", "B"], 0.5), ("BACK", ["B", "AH", "K"], 1.0)]
    text = lexicon_fst_text(lexicon, PHONES, WORDS, "SIL", 0.5, sil_disambig="#2")
    assert text.splitlines() == [
        f"0\t1\t0\t0\t{HALF}",          # start -> loop, no silence
        f"0\t2\t0\t0\t{HALF}",          # start -> silence state
        "2\t3\t1\t0\t0",                # SIL
        "3\t1\t7\t0\t0",                # silence disambiguation symbol #2
        "1\t4\t2\t1\t0",                # A: AH:A
        f"4\t1\t6\t0\t{HALF}",          # #1 ends the word, no silence after
        f"4\t2\t6\t0\t{HALF}",          # #1 ends the word, silence after
        f"1\t5\t2\t2\t{HALF}",          # AB: AH:AB with -ln(0.5) pronunciation cost
        f"5\t1\t3\t0\t{HALF}",
        f"5\t2\t3\t0\t{HALF}",
        "1\t6\t3\t3\t0",                # BACK: B:BACK AH K
        "6\t7\t2\t0\t0",
        f"7\t1\t4\t0\t{HALF}",
        f"7\t2\t4\t0\t{HALF}",
        "1\t0",                         # the loop state is final
    ]


def test_lexicon_fst_without_silence():
    text = lexicon_fst_text([("A", ["AH"], 1.0), ("AB", ["AH", "B"], 1.0)], PHONES, WORDS,
                            sil_phone=None)
    assert text.splitlines() == ["0\t0\t2\t1\t0", "0\t1\t2\t2\t0", "1\t0\t3\t0\t0", "0\t0"]


def test_lexicon_fst_sil_prob_weights():
    text = lexicon_fst_text([("A", ["AH"], 1.0)], PHONES, WORDS, "SIL", 0.2)
    assert text.splitlines() == [
        f"0\t1\t0\t0\t{fmt_cost(-math.log(0.8))}",
        f"0\t2\t0\t0\t{fmt_cost(-math.log(0.2))}",
        "2\t1\t1\t0\t0",
        f"1\t1\t2\t1\t{fmt_cost(-math.log(0.8))}",
        f"1\t2\t2\t1\t{fmt_cost(-math.log(0.2))}",
        "1\t0",
    ]


def test_lexicon_fst_errors_name_the_symbol():
    with pytest.raises(ValueError, match="'ZZ'"):
        lexicon_fst_text([("A", ["ZZ"], 1.0)], PHONES, WORDS)
    with pytest.raises(ValueError, match="'NOPE'"):
        lexicon_fst_text([("NOPE", ["AH"], 1.0)], PHONES, WORDS)
    with pytest.raises(ValueError, match="sil_prob"):
        lexicon_fst_text([("A", ["AH"], 1.0)], PHONES, WORDS, sil_prob=1.0)
