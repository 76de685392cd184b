import math

import pytest

from asr.lm import (count_ngrams, estimate_kneser_ney, lmplz_path, perplexity, read_arpa, run_lmplz,
                    train_arpa)
from asr.lm.arpa import BOS, EOS, UNK
from asr.lm.estimate import DEFAULT_FALLBACK, adjusted_counts


def context_sums(model):
    """Sum of p(w | h) over the vocabulary (without <s>) for every context h of the model."""
    vocab = [w for w in model.vocab if w != BOS]
    contexts = [()] + [ng for table in model.ngrams[:-1] for ng in table if ng[-1] != EOS]
    return {h: sum(10.0 ** model.log10_prob(w, h) for w in vocab) for h in contexts}


def brute_force_ngrams(sentences, k):
    found = set()
    for words in sentences:
        tokens = [BOS] + list(words) + [EOS]
        for start in range(len(tokens)):
            for end in range(start + 1, len(tokens) + 1):
                if end - start == k:
                    found.add(tuple(tokens[start:end]))
    return found


def test_counts_match_brute_force(an4_train_text, an4_models):
    raw = count_ngrams(an4_train_text, 4)
    for k in range(1, 5):
        expected = brute_force_ngrams(an4_train_text, k)
        assert set(raw[k - 1]) == expected
        tokens = sum(max(len(s) + 2 - k + 1, 0) for s in an4_train_text)
        assert sum(raw[k - 1].values()) == tokens
    for order, model in an4_models.items():
        for k in range(1, order + 1):
            expected = brute_force_ngrams(an4_train_text, k) | ({(UNK,)} if k == 1 else set())
            assert set(model.ngrams[k - 1]) == expected
            assert model.counts[k - 1] == len(expected)


def test_adjusted_counts_are_continuation_counts():
    sentences = [["a", "b"], ["c", "b"], ["a", "b"]]
    adjusted = adjusted_counts(count_ngrams(sentences, 2))
    assert adjusted[1][("a", "b")] == 2  # highest order: raw count
    assert adjusted[0][("b",)] == 2  # preceded by a and c
    assert adjusted[0][(EOS,)] == 1  # preceded by b only
    assert adjusted[0][("a",)] == 1  # preceded by <s> only
    assert adjusted[0][(BOS,)] == 0


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_models_are_normalized(an4_models, order):
    sums = context_sums(an4_models[order])
    worst = max(abs(s - 1.0) for s in sums.values())
    assert worst < 1e-9, worst


def test_unigram_by_hand():
    # Counts a:2 b:1 </s>:2, discounts (0.5, 1, 1.5): gamma = (0.5*1 + 1*2) / 5 = 0.5 over |V| = 4.
    model = estimate_kneser_ney([["a", "b"], ["a"]], 1, discount_fallback=DEFAULT_FALLBACK)
    expected = {"a": 1 / 5 + 0.125, "b": 0.5 / 5 + 0.125, EOS: 1 / 5 + 0.125, UNK: 0.125}
    for word, p in expected.items():
        assert model.ngrams[0][(word,)][0] == pytest.approx(math.log10(p), abs=1e-12)
    assert model.ngrams[0][(BOS,)][0] == -99.0


def test_tiny_data_needs_discount_fallback():
    with pytest.raises(ValueError, match="discount"):
        estimate_kneser_ney([["a", "b"], ["a"]], 2)
    with pytest.raises(ValueError, match="sentence 1 contains"):
        count_ngrams([["a"], ["<s>", "a"]], 2)


def test_closed_vocabulary_has_no_unk(an4_train_text, an4_test_text):
    model = estimate_kneser_ney(an4_train_text, 2, unk=None)
    assert UNK not in model
    assert max(abs(s - 1.0) for s in context_sums(model).values()) < 1e-9
    result = perplexity(model, an4_test_text)
    assert result.num_oov == result.num_excluded > 0


def test_an4_test_perplexity(an4_models, an4_test_text):
    ppl = {order: perplexity(an4_models[order], an4_test_text) for order in (1, 2, 3, 4)}
    assert ppl[2].num_sentences == 130 and ppl[2].num_oov == 2
    # Measured values (identical to lmplz's models): 2-gram 20.50, 3-gram 16.79, 4-gram 15.80.
    assert ppl[2].ppl == pytest.approx(20.505, rel=1e-3)
    assert ppl[3].ppl == pytest.approx(16.787, rel=1e-3)
    assert ppl[1].ppl > ppl[2].ppl > ppl[3].ppl > ppl[4].ppl


def test_train_arpa_python_backend(tmp_path, an4_train_text, an4_models):
    text = tmp_path / "train.txt"
    text.write_text("".join(" ".join(s) + "\n" for s in an4_train_text))
    assert train_arpa(text, tmp_path / "lm.arpa", 3, backend="python") == "python"
    model = read_arpa(tmp_path / "lm.arpa")
    assert model.counts == an4_models[3].counts
    with pytest.raises(FileNotFoundError):
        train_arpa(tmp_path / "missing.txt", tmp_path / "x.arpa", 3)


@pytest.mark.skipif(
    lmplz_path() is None,
    reason="KenLM's lmplz is neither on PATH nor beside python (build it with scripts/build_lmplz.sh)",
)
@pytest.mark.parametrize("order", [2, 3, 4])
def test_matches_lmplz(tmp_path, an4_train_text, an4_test_text, an4_models, order):
    text = tmp_path / "train.txt"
    text.write_text("".join(" ".join(s) + "\n" for s in an4_train_text))
    run_lmplz(text, tmp_path / "ref.arpa", order, memory="64M")
    ref, ours = read_arpa(tmp_path / "ref.arpa"), an4_models[order]
    assert ref.counts == ours.counts
    for k in range(order):
        assert set(ref.ngrams[k]) == set(ours.ngrams[k])
        for ngram, (prob, backoff) in ref.ngrams[k].items():
            if ngram == (BOS,):
                continue  # lmplz writes log10 p(<s>) = 0, we write -99: never used
            assert ours.ngrams[k][ngram][0] == pytest.approx(prob, abs=1e-5)
            assert ours.ngrams[k][ngram][1] == pytest.approx(backoff, abs=1e-5)
    assert perplexity(ours, an4_test_text).ppl == pytest.approx(
        perplexity(ref, an4_test_text).ppl, rel=1e-4
    )
