import pytest

from asr.lexicon import (
    Lexicon,
    PhoneSet,
    add_disambig_symbols,
    add_word_positions,
    strip_word_position,
)


def test_word_positions():
    assert add_word_positions(["AE", "N", "D"]) == ("AE_B", "N_I", "D_E")
    assert add_word_positions(["AE", "N"]) == ("AE_B", "N_E")
    assert add_word_positions(["AH"]) == ("AH_S",)
    assert [strip_word_position(p) for p in ("AE_B", "N_I", "D_E", "AH_S", "SIL")] == [
        "AE",
        "N",
        "D",
        "AH",
        "SIL",
    ]


def test_disambig_homophones_and_prefixes():
    lexicon = Lexicon.from_pairs(
        [
            ("A", "a"),  # prefix of "a b"            -> #1
            ("B", "a b"),  # shared with C               -> #1
            ("C", "a b"),  #                             -> #2
            ("D", "a b c"),  # unique, not a prefix        -> none
            ("E", "x y"),
            ("F", "x"),  # prefix of "x y"             -> #1
            ("G", "z"),  # unique                      -> none
            ("H", "a b"),  # third "a b"                 -> #3
        ]
    )
    out, max_disambig = add_disambig_symbols(lexicon)
    assert [" ".join(e.phones) for e in out] == [
        "a #1",
        "a b #1",
        "a b #2",
        "a b c",
        "x y",
        "x #1",
        "z",
        "a b #3",
    ]
    assert max_disambig == 3
    assert [e.word for e in out] == list("ABCDEFGH")


def test_disambig_empty_pronunciation_gets_its_own_symbol():
    lexicon = Lexicon.from_pairs([("X", "a"), ("Y", "a")])
    lexicon.add("<EMPTY>", [])
    lexicon.add("Z", ["a"])
    out, max_disambig = add_disambig_symbols(lexicon)
    # X, Y take #1, #2; the empty one takes a fresh #3, so Z skips it and takes #4.
    assert [" ".join(e.phones) for e in out] == ["a #1", "a #2", "#3", "a #4"]
    assert max_disambig == 4


def test_disambig_none_needed():
    out, max_disambig = add_disambig_symbols(Lexicon.from_pairs([("A", "a b"), ("B", "b a")]))
    assert max_disambig == 0 and [e.phones for e in out] == [("a", "b"), ("b", "a")]


def test_phone_set_validation():
    with pytest.raises(ValueError, match="both silence and non-silence"):
        PhoneSet(["SIL"], ["SIL", "AA"])
    with pytest.raises(ValueError, match="optional silence 'SPN'"):
        PhoneSet(["SIL"], ["AA"], optional_silence="SPN")
    with pytest.raises(ValueError, match="invalid phone name '#1'"):
        PhoneSet(["SIL"], ["#1"])
    ps = PhoneSet(["SIL", "SPN"], ["AA"])
    assert ps.all_symbols(True) == [
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
        "AA_B",
        "AA_E",
        "AA_I",
        "AA_S",
    ]
    assert ps.all_symbols(False) == ["SIL", "SPN", "AA"]
