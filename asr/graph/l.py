"""The lexicon transducer L (phones -> words), as Kaldi's ``make_lexicon_fst.py``.

Layout with optional silence (``sil_prob`` > 0)::

    state 0 (start) --<eps>:<eps> / -ln(1 - sil_prob)--> state 1 (loop, final 0)
    state 0 (start) --<eps>:<eps> / -ln(sil_prob)-----> state 2 (silence state)
    state 2 --SIL:<eps> / 0--> state 3 --#S:<eps> / 0--> state 1
                                       (#S = the silence disambiguation symbol; without
                                        one, state 2 --SIL:<eps>--> state 1 directly)

and for each pronunciation ``w: p1 .. pk`` (``pk`` may be a ``#n`` disambiguation
symbol) a chain leaving the loop state: the first arc reads ``p1`` and writes ``w``
with cost ``-ln(pron_prob)``, the inner arcs read ``p2 .. p(k-1)``, and the last phone
goes back to the loop state (cost ``-ln(1 - sil_prob)``) and to the silence state
(``-ln(sil_prob)``), both ending a word. A one-phone word has only these two arcs.
With ``sil_prob`` = 0 there is no silence state and the start state is the loop state.

All costs are natural-log costs (tropical semiring). Labels are integers: phone ids
(input) and word ids (output), with 0 = ``<eps>``. Arcs appear in lexicon order, which
the tests rely on to check every line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from asr.graph.fstext import arc_line, final_line


def lexicon_fst_text(
    lexicon: Sequence[tuple[str, Sequence[str], float]],
    phones: Mapping[str, int],
    words: Mapping[str, int],
    sil_phone: str | None = "SIL",
    sil_prob: float = 0.5,
    sil_disambig: str | None = None,
) -> str:
    """L in OpenFst text form (``src dst ilabel olabel cost`` lines, then final states).

    Args:
        lexicon: ``(word, phones, prob)`` entries; ``phones`` may end in a ``#n``
            disambiguation symbol (see :func:`asr.lexicon.add_disambig_symbols`).
        phones: phone symbol -> id (``<eps>`` = 0), including the ``#n`` symbols used.
        words: word symbol -> id (``<eps>`` = 0).
        sil_phone: the optional-silence phone (None or ``sil_prob`` 0: no silence).
        sil_prob: probability of silence after each word and at the start.
        sil_disambig: symbol on the arc that leaves the silence state (Kaldi's
            ``--sil-disambig``, needed for determinizing L∘G); None for none.
    Raises:
        ValueError: a phone or word missing from the symbol tables (named), or a
            ``sil_prob`` outside [0, 1).
    """
    if not 0.0 <= sil_prob < 1.0:
        raise ValueError(f"lexicon FST: sil_prob must lie in [0, 1), got {sil_prob}")
    use_sil = sil_phone is not None and sil_prob > 0.0

    def pid(p: str) -> int:
        if p not in phones:
            raise ValueError(f"lexicon FST: phone {p!r} is not in the phone table")
        return phones[p]

    def wid(w: str) -> int:
        if w not in words:
            raise ValueError(f"lexicon FST: word {w!r} is not in the word table")
        return words[w]

    lines: list[str] = []
    if use_sil:
        start, loop, sil_state = 0, 1, 2
        no_sil_cost, sil_cost = -math.log(1.0 - sil_prob), -math.log(sil_prob)
        lines.append(arc_line(start, loop, 0, 0, no_sil_cost))
        lines.append(arc_line(start, sil_state, 0, 0, sil_cost))
        if sil_disambig is None:
            lines.append(arc_line(sil_state, loop, pid(sil_phone), 0, 0.0))
        else:
            disambig_state = 3
            lines.append(arc_line(sil_state, disambig_state, pid(sil_phone), 0, 0.0))
            lines.append(arc_line(disambig_state, loop, pid(sil_disambig), 0, 0.0))
        next_state = 4 if sil_disambig is not None else 3
    else:
        start = loop = 0
        next_state = 1
    for word, prons, prob in lexicon:
        if not prons:
            raise ValueError(f"lexicon FST: word {word!r} has an empty pronunciation")
        if not 0.0 < prob <= 1.0:
            raise ValueError(f"lexicon FST: word {word!r} has pronunciation probability {prob}")
        src, olabel, cost = loop, wid(word), -math.log(prob)
        for p in prons[:-1]:
            lines.append(arc_line(src, next_state, pid(p), olabel, cost))
            src, olabel, cost = next_state, 0, 0.0
            next_state += 1
        last = pid(prons[-1])
        if use_sil:
            lines.append(arc_line(src, loop, last, olabel, cost + no_sil_cost))
            lines.append(arc_line(src, sil_state, last, olabel, cost + sil_cost))
        else:
            lines.append(arc_line(src, loop, last, olabel, cost))
    lines.append(final_line(loop, 0.0))
    return "\n".join(lines) + "\n"

