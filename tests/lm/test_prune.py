import pytest

from asr.lm import perplexity, prune_relative_entropy
from asr.lm.arpa import BOS

from .test_estimate import context_sums


@pytest.mark.parametrize("order", [2, 3, 4])
def test_pruning_shrinks_and_stays_normalized(an4_models, an4_test_text, order):
    model = an4_models[order]
    pruned = prune_relative_entropy(model, 1e-5)
    assert pruned.counts[0] == model.counts[0]  # unigrams are kept
    assert sum(pruned.counts) < sum(model.counts)
    assert all(p <= m for p, m in zip(pruned.counts, model.counts))
    worst = max(abs(s - 1.0) for s in context_sums(pruned).values())
    assert worst < 1e-9, worst
    # Pruning costs a little perplexity at most (it may even help on held-out text).
    assert perplexity(pruned, an4_test_text).ppl < 1.05 * perplexity(model, an4_test_text).ppl
    assert model.counts == an4_models[order].counts  # input untouched


def test_larger_threshold_prunes_more(an4_models):
    model = an4_models[3]
    sizes = [sum(prune_relative_entropy(model, t).counts) for t in (1e-6, 1e-5, 1e-4, 1e-3)]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > sizes[-1]


def test_pruned_model_stays_well_formed(an4_models):
    pruned = prune_relative_entropy(an4_models[4], 1e-4)
    for k in range(2, pruned.order + 1):
        for ngram in pruned.ngrams[k - 1]:
            assert ngram[:-1] in pruned.ngrams[k - 2], ngram  # its context
            assert ngram[1:] in pruned.ngrams[k - 2], ngram  # its back-off n-gram
    assert pruned.ngrams[0][(BOS,)][0] == -99.0


def test_negative_threshold_rejected(an4_models):
    with pytest.raises(ValueError, match="threshold"):
        prune_relative_entropy(an4_models[2], -1.0)
