"""Out-of-vocabulary words of a text against a lexicon (listed, never silently dropped)."""

from __future__ import annotations

from collections import Counter
from typing import Container, Iterable, Sequence


def find_oov(sentences: Iterable[Sequence[str]], lexicon: Container[str]) -> Counter:
    """Count the words of ``sentences`` that ``lexicon`` lacks; ``most_common()`` lists them.

    ``lexicon`` is anything with ``in`` (a ``Lexicon``, a set of words, a SymbolTable).
    """
    oov: Counter = Counter()
    for sentence in sentences:
        for word in sentence:
            if word not in lexicon:
                oov[word] += 1
    return oov


def oov_rate(sentences: Iterable[Sequence[str]], lexicon: Container[str]) -> tuple[int, int]:
    """``(number of OOV tokens, number of tokens)``."""
    oov = total = 0
    for sentence in sentences:
        for word in sentence:
            total += 1
            oov += word not in lexicon
    return oov, total


def map_oov(sentence: Sequence[str], lexicon: Container[str], oov_word: str = "<UNK>") -> list[str]:
    """``sentence`` with every word missing from ``lexicon`` replaced by ``oov_word``."""
    return [word if word in lexicon else oov_word for word in sentence]
