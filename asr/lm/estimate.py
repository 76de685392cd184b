"""N-gram counting and interpolated modified Kneser-Ney estimation (Chen & Goodman 1998).

The estimate follows KenLM's ``lmplz`` so that the two can be compared:

- Each sentence is ``<s> w1 ... wn </s>``; n-grams never extend to the left of ``<s>``.
- Adjusted counts ``a``: the highest order and every n-gram that starts with ``<s>`` keep
  their raw count; any other lower-order n-gram gets its number of distinct left
  extensions (the continuation count).
- Discounts per order from the counts-of-adjusted-counts ``n1..n4``:
  ``Y = n1 / (n1 + 2 n2)``, ``D_j = j - (j + 1) Y n_{j+1} / n_j`` for j = 1, 2, 3+.
- ``p(w | h) = (a(hw) - D(a(hw))) / sum_v a(hv) + gamma(h) p(w | h')`` with
  ``gamma(h) = (D1 N1(h.) + D2 N2(h.) + D3 N3+(h.)) / sum_v a(hv)``; the unigrams are
  interpolated with the uniform distribution over the vocabulary without ``<s>``.
- The ARPA back-off weight of a context ``h`` is ``gamma(h)``, which makes the back-off
  model equal to the interpolated one and sum to 1 in every context.

Known difference from lmplz (KenLM 0.3.0): when it flushes the last n-gram of each
lower order, lmplz appears to add that n-gram's raw count, not its adjusted count, to the
counts-of-counts, so its discounts can differ from the closed form in the third digit on
some corpora (identical models on AN4; up to 0.002 in log10 on AN4 repeated 20 times).

``<unk>`` (``unk`` argument): added to the unigrams with adjusted count 0, so it gets the
mass ``gamma() / |V|`` from the uniform distribution (lmplz's default). A ``<unk>`` token
in the training text is counted as an ordinary word. ``unk=None`` gives a closed-vocabulary
model without ``<unk>``.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Iterable, Sequence

from asr.lm.arpa import BOS, EOS, LOG_ZERO, UNK, ArpaModel, Ngram

DEFAULT_FALLBACK = (0.5, 1.0, 1.5)


def count_ngrams(sentences: Iterable[Sequence[str]], order: int) -> list[Counter]:
    """Raw n-gram counts of orders 1..``order``: ``counts[k - 1][ngram] = count``.

    ``sentences`` are lists of words without ``<s>``/``</s>``; they are added here. The
    unigram ``<s>`` is counted once per sentence. A sentence containing ``<s>`` or
    ``</s>`` is a ValueError naming its index.
    """
    if order < 1:
        raise ValueError(f"n-gram order must be >= 1, got {order}")
    counts = [Counter() for _ in range(order)]
    for index, sentence in enumerate(sentences):
        words = list(sentence)
        if BOS in words or EOS in words:
            raise ValueError(f"sentence {index} contains {BOS} or {EOS}: {' '.join(words)!r}")
        tokens = (BOS, *words, EOS)
        for k in range(1, order + 1):
            table = counts[k - 1]
            for i in range(len(tokens) - k + 1):
                table[tokens[i : i + k]] += 1
    return counts


def adjusted_counts(counts: list[Counter]) -> list[dict[Ngram, int]]:
    """Kneser-Ney adjusted counts (see the module docstring); same keys as ``counts``."""
    order = len(counts)
    adjusted: list[dict[Ngram, int]] = [dict() for _ in range(order)]
    adjusted[-1] = dict(counts[-1])
    for k in range(order - 1, 0, -1):  # k = length of the lower-order n-grams
        left_extensions: Counter = Counter(ngram[1:] for ngram in counts[k])
        table = adjusted[k - 1]
        for ngram, count in counts[k - 1].items():
            table[ngram] = count if ngram[0] == BOS else left_extensions[ngram]
    adjusted[0][(BOS,)] = 0  # <s> is never predicted
    return adjusted


def discounts(
    adjusted: list[dict[Ngram, int]], fallback: Sequence[float] | None = None
) -> list[tuple[float, float, float]]:
    """Modified Kneser-Ney discounts ``(D1, D2, D3+)`` for each order.

    Raises ValueError when an order lacks the counts-of-counts the closed form needs (tiny
    or artificial data) or gives a discount out of range, unless ``fallback`` (three
    discounts, like lmplz's ``--discount_fallback``) is given to use instead.
    """
    result = []
    for k, table in enumerate(adjusted, 1):
        n = Counter(c for c in table.values() if 1 <= c <= 4)
        try:
            for j in range(1, 5):
                if n[j] == 0:
                    raise ValueError(
                        f"cannot compute Kneser-Ney discounts for {k}-grams: no {k}-gram has "
                        f"adjusted count {j} (small or artificial data?); pass a discount fallback"
                    )
            y = n[1] / (n[1] + 2.0 * n[2])
            ds = tuple(j - (j + 1) * y * n[j + 1] / n[j] for j in range(1, 4))
            for j, d in enumerate(ds, 1):
                if not 0.0 <= d <= j:
                    raise ValueError(f"{k}-gram discount D{j}={d:.4f} is out of range [0, {j}]")
        except ValueError:
            if fallback is None:
                raise
            ds = tuple(float(d) for d in fallback)
            if len(ds) != 3:
                raise ValueError(
                    f"discount fallback needs 3 values (D1 D2 D3+), got {len(ds)}"
                ) from None
        result.append(ds)  # type: ignore[arg-type]
    return result


def estimate_kneser_ney(
    sentences: Iterable[Sequence[str]],
    order: int,
    unk: str | None = UNK,
    discount_fallback: Sequence[float] | None = None,
) -> ArpaModel:
    """Estimate an interpolated modified Kneser-Ney model of ``order`` from tokenized text.

    Args:
      sentences: lists of words, without ``<s>``/``</s>``.
      order: n-gram order (1 or more).
      unk: the unknown-word symbol to add (``None``: closed vocabulary).
      discount_fallback: ``(D1, D2, D3+)`` used for orders whose discounts cannot be
        estimated; ``None`` raises instead (``DEFAULT_FALLBACK`` is lmplz's).
    Returns:
      The model; n-grams are in first-seen order with ``<unk>``, ``<s>`` first.
    """
    counts = count_ngrams(sentences, order)
    if not counts[0]:
        raise ValueError("no sentences to estimate an n-gram model from")
    if unk is not None and (unk,) not in counts[0]:
        counts[0] = Counter({(unk,): 0, **counts[0]})
    adjusted = adjusted_counts(counts)
    ds = discounts(adjusted, discount_fallback)

    # Interpolated probabilities and gammas, lowest order first.
    vocab_size = sum(1 for ngram in adjusted[0] if ngram != (BOS,))
    probs: list[dict[Ngram, float]] = []
    gammas: list[dict[Ngram, float]] = []  # gammas[k - 1][h]: h is a (k-1)-gram context
    for k in range(1, order + 1):
        d1, d2, d3 = ds[k - 1]
        table = adjusted[k - 1]
        denominators: dict[Ngram, float] = defaultdict(float)
        mass: dict[Ngram, float] = defaultdict(float)
        for ngram, a in table.items():
            if ngram == (BOS,):
                continue
            history = ngram[:-1]
            denominators[history] += a
            mass[history] += 0.0 if a == 0 else d1 if a == 1 else d2 if a == 2 else d3
        gamma = {h: mass[h] / denom for h, denom in denominators.items()}
        gammas.append(gamma)
        lower = probs[-1] if probs else None
        level: dict[Ngram, float] = {}
        for ngram, a in table.items():
            if ngram == (BOS,):
                level[ngram] = 0.0
                continue
            history = ngram[:-1]
            discount = 0.0 if a == 0 else d1 if a == 1 else d2 if a == 2 else d3
            backoff_p = 1.0 / vocab_size if lower is None else lower[ngram[1:]]
            level[ngram] = (a - discount) / denominators[history] + gamma[history] * backoff_p
        probs.append(level)

    ngrams: list[dict[Ngram, tuple[float, float]]] = []
    for k in range(1, order + 1):
        next_gamma = gammas[k] if k < order else {}
        table: dict[Ngram, tuple[float, float]] = {}
        for ngram, p in probs[k - 1].items():
            logp = LOG_ZERO if ngram == (BOS,) else min(0.0, math.log10(p))
            g = next_gamma.get(ngram)
            table[ngram] = (logp, math.log10(g) if g else 0.0)
        ngrams.append(table)
    return ArpaModel(ngrams)
