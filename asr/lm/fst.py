"""ARPA model -> grammar FST G, as Kaldi's ``arpa2fst --disambig-symbol=#0``.

G is an acceptor over words, except for back-off arcs, which read ``#0`` and write
``<eps>`` (so that G stays determinizable after composition with L).

- One state per history: the empty history (the unigram / back-off state) and every
  history ``h`` that has an explicit extension (an n-gram ``h w`` or ``h </s>``).
  A history without explicit extensions gets no state: arcs into it go to its longest
  suffix that has one, with the skipped histories' back-off weights added (this is what
  Kaldi's ``RemoveRedundantStates`` leaves).
- The start state is the history ``<s>`` (the empty history for a unigram model).
- n-gram ``h w``: arc ``state(h) -> state(h w)`` labelled ``w:w``; n-gram ``h </s>``: the
  final weight of ``state(h)``. ``<s>`` is never an arc label.
- Back-off arc of ``h``: ``state(h) -> state(h[1:])`` labelled ``#0:<eps>``.
- Weights are costs in the tropical semiring: ``-ln(10) * log10 value``.

State numbering: 0 is the start state, then the empty history (if not the start), then
the other histories by increasing length and in ARPA order. Within a state, word arcs
come in ARPA order, then the back-off arc, then the final weight.
"""

from __future__ import annotations

import math
from typing import Mapping

from asr.lm.arpa import BOS, EOS, ArpaModel, Ngram

LN10 = math.log(10.0)
EPS = "<eps>"
DISAMBIG = "#0"


def _cost(log10_value: float) -> float:
    return -log10_value * LN10 + 0.0  # + 0.0 turns -0.0 into 0.0


def _fmt(cost: float) -> str:
    return f"{cost:.7g}"


def arpa_to_fst_text(
    model: ArpaModel,
    words: Mapping[str, int] | None = None,
    disambig: str = DISAMBIG,
    oov: str = "error",
) -> str:
    """The G FST of ``model`` in OpenFst text format (``src dst ilabel olabel cost`` and
    ``state cost`` lines).

    Args:
      model: the n-gram model.
      words: a word symbol table (e.g. ``words.txt`` with ``<eps>`` 0 and ``#0``); when
        given, labels are written as integers, otherwise as the words themselves.
      disambig: the back-off input symbol.
      oov: what to do with an n-gram whose word is missing from ``words``: ``"error"``
        (ValueError naming the word) or ``"skip"`` (drop the n-gram, as arpa2fst warns).
    """
    if oov not in ("error", "skip"):
        raise ValueError(f"oov must be 'error' or 'skip', got {oov!r}")
    if words is not None:
        for symbol in (EPS, disambig):
            if symbol not in words:
                raise ValueError(f"word symbol table has no {symbol!r}")

    def label(word: str) -> str | None:
        if words is None:
            return word
        if word not in words:
            if oov == "error":
                raise ValueError(f"LM word {word!r} is not in the word symbol table")
            return None
        return str(words[word])

    order = model.order
    # Histories with a state: the empty one and every prefix of an explicit n-gram.
    states: dict[Ngram, int] = {}
    has_bos_state = order > 1 and any(ng[:-1] == (BOS,) for ng in model.ngrams[1])
    if has_bos_state:
        states[(BOS,)] = 0
    states[()] = len(states)
    for k in range(2, order + 1):
        for ngram in model.ngrams[k - 1]:
            history = ngram[:-1]
            if history not in states and _usable(history):
                states[history] = len(states)

    def backoff(history: Ngram) -> float:
        entry = model.ngrams[len(history) - 1].get(history) if history else None
        return entry[1] if entry else 0.0

    def destination(history: Ngram) -> tuple[int, float]:
        """State of ``history`` (at most order-1 words) and the log10 back-off to add."""
        history = history[-(order - 1) :] if order > 1 else ()
        extra = 0.0
        while history not in states:
            extra += backoff(history)
            history = history[1:]
        return states[history], extra

    arcs: dict[int, list[str]] = {s: [] for s in states.values()}
    finals: dict[int, str] = {}
    for k in range(1, order + 1):
        for ngram, (prob, _) in model.ngrams[k - 1].items():
            history, word = ngram[:-1], ngram[-1]
            if word == BOS or not _usable(history) or history not in states:
                continue
            src = states[history]
            if word == EOS:
                finals[src] = _fmt(_cost(prob))
                continue
            sym = label(word)
            if sym is None:
                continue
            dst, extra = destination(ngram)
            arcs[src].append(f"{src}\t{dst}\t{sym}\t{sym}\t{_fmt(_cost(prob + extra))}")
    backoff_in = label(disambig) if words is not None else disambig
    backoff_out = str(words[EPS]) if words is not None else EPS
    for history, src in states.items():
        if not history:
            continue
        dst, extra = destination(history[1:])
        arcs[src].append(
            f"{src}\t{dst}\t{backoff_in}\t{backoff_out}\t{_fmt(_cost(backoff(history) + extra))}"
        )

    lines: list[str] = []
    for src in sorted(arcs):
        lines.extend(arcs[src])
        if src in finals:
            lines.append(f"{src}\t{finals[src]}")
    return "\n".join(lines) + "\n"


def _usable(history: Ngram) -> bool:
    """A history can have a state unless it contains </s> or a non-initial <s>."""
    return EOS not in history and BOS not in history[1:]


def compile_g(
    model: ArpaModel, words: Mapping[str, int], disambig: str = DISAMBIG, oov: str = "error"
):
    """G as a ``kaldifst.StdVectorFst`` (input-label sorted); needs the kaldifst package."""
    try:
        import kaldifst
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "compile_g needs the kaldifst package: pip install 'kaldifst>=1.8,<1.9'"
        ) from err
    text = arpa_to_fst_text(model, words, disambig=disambig, oov=oov)
    fst = kaldifst.compile(text, acceptor=False, keep_state_numbering=True)
    kaldifst.arcsort(fst, sort_type="ilabel")
    return fst
