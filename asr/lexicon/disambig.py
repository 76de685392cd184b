"""Disambiguation symbols for a lexicon, as Kaldi's ``utils/add_lex_disambig.pl``.

L must be determinizable, so a pronunciation that is shared by several words
(homophones) or that is a proper prefix of another pronunciation gets a symbol
``#1``, ``#2``, ... appended; the n-th such entry with the same phone sequence gets
``#n``. ``#0`` is left for the LM back-off arcs of G. The phone sequences compared are
the final ones (with word-position markers when used), as in Kaldi.
"""

from __future__ import annotations

from collections import Counter

from asr.lexicon.lexicon import Lexicon, Pronunciation


def add_disambig_symbols(lexicon: Lexicon) -> tuple[Lexicon, int]:
    """Return ``(lexicon with #n appended where needed, highest n used)``.

    An empty pronunciation gets a symbol of its own that no other entry uses (as in
    Kaldi). The highest n is 0 when no entry needed one.
    """
    counts = Counter(e.phones for e in lexicon)
    prefixes: set[tuple[str, ...]] = set()
    for e in lexicon:
        for i in range(1, len(e.phones)):
            prefixes.add(e.phones[:i])
    last_used: dict[tuple[str, ...], int] = {}
    reserved: set[int] = set()  # symbols given to empty pronunciations, used nowhere else
    max_disambig = 0
    out = Lexicon()
    for e in lexicon:
        phones = e.phones
        if not phones:
            max_disambig += 1
            reserved.add(max_disambig)
            phones = (f"#{max_disambig}",)
        elif counts[phones] > 1 or phones in prefixes:
            n = last_used.get(phones, 0) + 1
            while n in reserved:
                n += 1
            last_used[phones] = n
            max_disambig = max(max_disambig, n)
            phones = (*phones, f"#{n}")
        out.entries.append(Pronunciation(e.word, phones, e.prob))
    return out, max_disambig
