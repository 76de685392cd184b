from __future__ import annotations

import jiwer
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asr.scoring.wer import ErrorCounts, char_error_rate, score, word_error_rate

from .conftest import corrupt


def test_an4_wer_equals_jiwer(an4_ref, an4_hyp):
    result = score(an4_ref, an4_hyp)
    ids = list(an4_ref)
    expected = jiwer.process_words([an4_ref[u] for u in ids], [an4_hyp[u] for u in ids])
    c = result.counts
    assert (c.hits, c.substitutions, c.deletions, c.insertions) == (
        expected.hits,
        expected.substitutions,
        expected.deletions,
        expected.insertions,
    )
    assert c.ref_len == sum(len(an4_ref[u].split()) for u in ids)
    assert result.error_rate == pytest.approx(
        jiwer.wer([an4_ref[u] for u in ids], [an4_hyp[u] for u in ids])
    )
    assert 0.05 < result.error_rate < 0.5  # the corruption really made errors


def test_an4_cer_equals_jiwer(an4_ref, an4_hyp):
    ids = list(an4_ref)
    assert char_error_rate(an4_ref, an4_hyp) == pytest.approx(
        jiwer.cer([an4_ref[u] for u in ids], [an4_hyp[u] for u in ids])
    )


def test_identical_is_zero(an4_ref):
    result = score(an4_ref, an4_ref)
    assert result.error_rate == 0.0
    assert result.sentence_errors == 0
    assert result.counts.hits == result.counts.ref_len


def test_whitespace_is_normalised():
    assert word_error_rate({"u": "a  b\tc"}, {"u": " a b c "}) == 0.0


def test_missing_hypothesis_counts_as_deletions(an4_ref):
    hyp = dict(an4_ref)
    gone = list(hyp)[3]
    del hyp[gone]
    result = score(an4_ref, hyp)
    assert result.missing_ids == [gone]
    assert result.counts.deletions == len(an4_ref[gone].split())
    assert result.counts.substitutions == result.counts.insertions == 0
    assert [u.utt_id for u in result.utts if u.missing] == [gone]


def test_hypothesis_not_in_reference_is_an_error():
    with pytest.raises(ValueError, match="not in the reference: x2"):
        score({"x1": "a"}, {"x1": "a", "x2": "b"})


def test_empty_hypothesis():
    result = score({"u1": "a b c", "u2": "d"}, {"u1": "", "u2": "d"})
    assert result.counts == ErrorCounts(hits=1, deletions=3)
    assert result.error_rate == pytest.approx(0.75)
    assert result.missing_ids == []


def test_empty_reference_utterance():
    result = score({"u1": "", "u2": "a b"}, {"u1": "x y", "u2": "a b"})
    assert result.counts == ErrorCounts(hits=2, insertions=2)
    assert result.utts[0].pairs == [("I", None, "x"), ("I", None, "y")]
    assert result.error_rate == pytest.approx(1.0)
    assert result.sentence_errors == 1


def test_reference_order_is_kept():
    result = score({"b": "x", "a": "y"}, {"a": "y", "b": "x"})
    assert [u.utt_id for u in result.utts] == ["b", "a"]


def test_bad_unit():
    with pytest.raises(ValueError, match="unit"):
        score({"u": "a"}, {"u": "a"}, unit="phone")


@pytest.mark.parametrize("seed", range(5))
def test_random_corruptions_equal_jiwer(an4_ref, seed):
    hyp = corrupt(an4_ref, seed=seed, drop_last=seed)
    ids = list(an4_ref)
    refs, hyps = [an4_ref[u] for u in ids], [hyp.get(u, "") for u in ids]
    assert word_error_rate(an4_ref, hyp) == pytest.approx(jiwer.wer(refs, hyps))


words = st.lists(st.sampled_from(["a", "b", "c", "d", "ee"]), max_size=8)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(words, words), min_size=1, max_size=6))
def test_alignment_counts_property(pairs):
    ref = {f"u{i}": " ".join(r) for i, (r, _) in enumerate(pairs)}
    hyp = {f"u{i}": " ".join(h) for i, (_, h) in enumerate(pairs)}
    result = score(ref, hyp)
    for utt, (r, h) in zip(result.utts, pairs):
        c = utt.counts
        assert c.substitutions + c.deletions + c.hits == len(r)
        assert c.substitutions + c.insertions + c.hits == len(h)
        # The aligned columns spell out the reference and the hypothesis.
        assert [x for _, x, _ in utt.pairs if x is not None] == r
        assert [y for _, _, y in utt.pairs if y is not None] == h
        assert all((op == "C") == (x == y) for op, x, y in utt.pairs)
    refs, hyps = [" ".join(r) for r, _ in pairs], [" ".join(h) for _, h in pairs]
    if all(refs):
        assert result.error_rate == pytest.approx(jiwer.wer(refs, hyps))
    else:  # empty references: jiwer 4 scores them as insertions, jiwer 3 refuses them
        try:
            expected = jiwer.process_words(refs, hyps)
        except ValueError:
            return
        c = result.counts
        assert (c.hits, c.substitutions, c.deletions, c.insertions) == (
            expected.hits,
            expected.substitutions,
            expected.deletions,
            expected.insertions,
        )
