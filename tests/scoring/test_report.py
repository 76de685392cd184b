from __future__ import annotations

import pytest

from asr.scoring.report import (
    confusions,
    format_alignment,
    format_alignments,
    format_confusions,
    format_per_speaker,
    per_speaker,
)
from asr.scoring.wer import score


def test_alignment_lines_are_column_aligned():
    result = score({"utt1": "the cat sat on the mat"}, {"utt1": "the bat sat the mat today"})
    text = format_alignment(result.utts[0])
    lines = text.splitlines()
    assert lines[0] == "id: (utt1)"
    assert lines[1] == "Scores: (#C #S #D #I) 4 1 1 1"
    assert lines[2] == "REF:  the CAT sat ON  the mat ***"
    assert lines[3] == "HYP:  the BAT sat *** the mat TODAY"
    assert lines[4] == "EVAL:     S       D           I"
    # Every column starts at the same offset in REF, HYP and EVAL.
    for word in ("CAT", "ON", "***"):
        col = lines[2].index(word) if word != "***" else lines[2].rindex(word)
        assert lines[4][col] in "SDI"


def test_missing_utterance_is_marked():
    result = score({"u1": "a b"}, {})
    text = format_alignment(result.utts[0])
    assert "[no hypothesis]" in text.splitlines()[0]
    assert text.splitlines()[3] == "HYP:  *** ***"
    assert text.splitlines()[4] == "EVAL: D   D"


def test_all_utterances_in_report(an4_ref, an4_hyp):
    text = format_alignments(score(an4_ref, an4_hyp))
    assert text.count("\nid: (") == len(an4_ref)
    assert text.count("\nREF:  ") == text.count("\nHYP:  ") == text.count("\nEVAL:") == len(an4_ref)


def test_per_speaker_sums_to_corpus(an4_ref, an4_hyp, an4_utt2spk):
    result = score(an4_ref, an4_hyp)
    stats = per_speaker(result, an4_utt2spk)
    assert sorted(stats) == sorted(set(an4_utt2spk.values()))
    assert sum(s.sentences for s in stats.values()) == len(an4_ref)
    total = sum((s.counts for s in stats.values()), start=type(result.counts)())
    assert total == result.counts
    table = format_per_speaker(stats).splitlines()
    assert table[0].split()[:3] == ["SPEAKER", "#SNT", "#WRD"]
    last = table[-1].split()
    assert last[0] == "SUM" and int(last[2]) == result.counts.ref_len
    assert float(last[8]) == pytest.approx(100 * result.error_rate, abs=0.005)


def test_per_speaker_hand_example():
    result = score({"a1": "x y", "a2": "z", "b1": "x"}, {"a1": "x q", "a2": "z", "b1": ""})
    stats = per_speaker(result, {"a1": "A", "a2": "A", "b1": "B"})
    assert stats["A"].counts.substitutions == 1 and stats["A"].counts.ref_len == 3
    assert stats["A"].sentence_errors == 1
    assert stats["B"].counts.deletions == 1


def test_per_speaker_unknown_utterance():
    with pytest.raises(ValueError, match="'u2' has no speaker"):
        per_speaker(score({"u1": "a", "u2": "b"}, {}), {"u1": "s"})


def test_confusions_counts():
    ref = {"u1": "one two three", "u2": "one two", "u3": "four"}
    hyp = {"u1": "won two three extra", "u2": "won", "u3": "four extra"}
    conf = confusions(score(ref, hyp))
    assert conf.substitutions == {("one", "won"): 2}
    assert conf.deletions == {"two": 1}
    assert conf.insertions == {"extra": 2}
    text = format_confusions(conf).splitlines()
    assert text[0].startswith("SUBSTITUTIONS") and text[1].split() == ["2", "one", "->", "won"]
    assert "     2  extra" in text


def test_confusions_top_limits_each_list():
    ref = {f"u{i}": f"w{i}" for i in range(10)}
    hyp = {f"u{i}": f"v{i}" for i in range(10)}
    text = format_confusions(confusions(score(ref, hyp)), top=3)
    assert sum(" -> v" in line for line in text.splitlines()) == 3
    assert "10 in total" in text
