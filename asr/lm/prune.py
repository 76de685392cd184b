"""Relative-entropy (Stolcke 1998) pruning of a back-off n-gram model, as SRILM's ``-prune``.

For each explicit n-gram ``(h, w)`` of order >= 2 we compute the increase of the
Kullback-Leibler divergence (natural log, i.e. nats) between the model and the model
without that n-gram, where ``p(w | h)`` then becomes ``bo'(h) p(w | h')`` with the back-off
weight ``bo'(h)`` renormalized::

    D = -P(h) * [ p(w|h) (ln p(w|h') + ln bo'(h) - ln p(w|h))
                  + (1 - sum_{v seen after h} p(v|h)) (ln bo'(h) - ln bo(h)) ]

``P(h)`` is the model's probability of the history (a history starting with ``<s>`` is
taken as given). N-grams with ``D < threshold`` are removed, one order at a time from the
highest, each order judged against the model left by the previous one. Unigrams are never
removed, nor an n-gram that is a prefix or a suffix of a kept higher-order n-gram (so the
model stays well formed for KenLM and for G). All back-off weights are then recomputed
so that every context sums to 1.
"""

from __future__ import annotations

import math
from collections import defaultdict

from asr.lm.arpa import BOS, ArpaModel, Ngram


def prune_relative_entropy(model: ArpaModel, threshold: float) -> ArpaModel:
    """Return a pruned copy of ``model`` (``threshold`` in nats, e.g. 1e-7 ... 1e-4)."""
    if threshold < 0:
        raise ValueError(f"pruning threshold must be >= 0, got {threshold}")
    pruned = ArpaModel([dict(table) for table in model.ngrams])
    for k in range(pruned.order, 1, -1):
        table = pruned.ngrams[k - 1]
        protected: set[Ngram] = set()
        if k < pruned.order:
            for ngram in pruned.ngrams[k]:
                protected.add(ngram[:-1])
                protected.add(ngram[1:])
        by_context: dict[Ngram, list[Ngram]] = defaultdict(list)
        for ngram in table:
            by_context[ngram[:-1]].append(ngram)
        remove: list[Ngram] = []
        for history, ngrams in by_context.items():
            remove.extend(_prunable(pruned, history, ngrams, protected, threshold))
        for ngram in remove:
            del table[ngram]
    recompute_backoffs(pruned)
    return pruned


def _prunable(
    model: ArpaModel, history: Ngram, ngrams: list[Ngram], protected: set[Ngram], threshold: float
) -> list[Ngram]:
    lower_history = history[1:]
    p = {ng: 10.0 ** model.ngrams[len(history)][ng][0] for ng in ngrams}
    q = {ng: 10.0 ** model.log10_prob(ng[-1], lower_history) for ng in ngrams}
    numerator = 1.0 - sum(p.values())
    denominator = 1.0 - sum(q.values())
    context_entry = model.ngrams[len(history) - 1].get(history)
    ln_bo = (context_entry[1] if context_entry else 0.0) * math.log(10.0)
    p_history = 10.0 ** _history_log10_prob(model, history)
    result = []
    for ng in ngrams:
        if ng in protected:
            continue
        new_num = numerator + p[ng]
        new_den = denominator + q[ng]
        if new_num <= 0.0 or new_den <= 0.0:
            continue
        ln_new_bo = math.log(new_num) - math.log(new_den)
        delta = -p_history * (
            p[ng] * (math.log(q[ng]) + ln_new_bo - math.log(p[ng]))
            + max(numerator, 0.0) * (ln_new_bo - ln_bo)
        )
        if delta < threshold:
            result.append(ng)
    return result


def _history_log10_prob(model: ArpaModel, history: Ngram) -> float:
    start = 1 if history and history[0] == BOS else 0
    total = 0.0
    for i in range(start, len(history)):
        total += model.log10_prob(history[i], history[:i])
    return total


def recompute_backoffs(model: ArpaModel) -> None:
    """Set every back-off weight so that each context's distribution sums to 1 (in place).

    ``bo(h) = (1 - sum_{w seen after h} p(w|h)) / (1 - sum_{w seen after h} p(w|h'))``;
    a context without explicit extensions gets back-off 0.0 (log10 of 1). Orders are
    visited lowest first, since ``p(w|h')`` depends on lower-order back-offs.
    """
    for k in range(1, model.order):
        seen: dict[Ngram, list[str]] = defaultdict(list)
        for ngram in model.ngrams[k]:
            seen[ngram[:-1]].append(ngram[-1])
        table = model.ngrams[k - 1]
        for ngram, (prob, _) in list(table.items()):
            words = seen.get(ngram)
            if not words:
                table[ngram] = (prob, 0.0)
                continue
            numerator = 1.0 - sum(10.0 ** model.ngrams[k][ngram + (w,)][0] for w in words)
            denominator = 1.0 - sum(10.0 ** model.log10_prob(w, ngram[1:]) for w in words)
            if numerator <= 0.0 or denominator <= 0.0:
                # All mass is explicit: nothing is left to back off to.
                table[ngram] = (prob, -99.0 if numerator <= 0.0 else 0.0)
                continue
            table[ngram] = (prob, math.log10(numerator) - math.log10(denominator))
