"""Grapheme-to-phoneme conversion with a joint-sequence n-gram model (after Bisani & Ney 2008).

Training, from a lexicon:

1. Align letters and phones of every entry into *graphones*: pairs of a letter chunk and
   a phone chunk, of shapes 1:0 (silent letter), 1:1, 1:2 (``X`` -> ``K S``) and 2:1
   (``PH`` -> ``F``). The graphone probabilities are estimated by EM (forward-backward
   over all alignments of each entry); each entry is then Viterbi-aligned. Entries with
   no alignment of these shapes (more than two phones per letter) are skipped.
2. Estimate an interpolated Kneser-Ney n-gram model over the graphone sequences with
   ``asr.lm.estimate_kneser_ney``.

Prediction: a beam search over the segmentations of the word's letters into chunks,
scored by the graphone n-gram model.

The model is saved as one ARPA file whose words are graphones written
``L|E|T}P|H`` (letters, ``}``, phones; ``|`` joins the units of a chunk).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from asr.lexicon.lexicon import Lexicon
from asr.lm.arpa import EOS, ArpaModel, read_arpa, write_arpa
from asr.lm.estimate import DEFAULT_FALLBACK, estimate_kneser_ney

SHAPES = ((1, 0), (1, 1), (1, 2), (2, 1))  # (letters, phones) of a graphone

Graphone = tuple[tuple[str, ...], tuple[str, ...]]


def graphone_token(g: Graphone) -> str:
    return "|".join(g[0]) + "}" + "|".join(g[1])


def parse_graphone(token: str) -> Graphone:
    letters, _, phones = token.partition("}")
    return tuple(letters.split("|")), tuple(phones.split("|")) if phones else ()


def _letters(word: str) -> tuple[str, ...]:
    return tuple(word.upper())


def _lattice_edges(letters: Sequence[str], phones: Sequence[str]):
    """Every (i, j, graphone, i2, j2) step of the alignment lattice."""
    for i in range(len(letters) + 1):
        for j in range(len(phones) + 1):
            for dl, dp in SHAPES:
                if i + dl <= len(letters) and j + dp <= len(phones):
                    yield (
                        i,
                        j,
                        (tuple(letters[i : i + dl]), tuple(phones[j : j + dp])),
                        i + dl,
                        j + dp,
                    )


def _alignable(n_letters: int, n_phones: int) -> bool:
    return n_phones <= 2 * n_letters


def align_lexicon(
    pairs: Sequence[tuple[Sequence[str], Sequence[str]]], iterations: int = 5
) -> list[list[Graphone]]:
    """EM-estimate graphone probabilities on ``(letters, phones)`` pairs and return the
    Viterbi graphone sequence of each pair (``[]`` for a pair that cannot be aligned)."""
    lattices = [
        sorted(_lattice_edges(letters, phones), key=lambda e: (e[0], e[1]))
        if _alignable(len(letters), len(phones))
        else []
        for letters, phones in pairs
    ]
    prob: dict[Graphone, float] = defaultdict(lambda: 1.0)
    for _ in range(iterations):
        counts: dict[Graphone, float] = defaultdict(float)
        for (letters, phones), edges in zip(pairs, lattices):
            if not edges:
                continue
            end = (len(letters), len(phones))
            alpha: dict[tuple[int, int], float] = defaultdict(float)
            alpha[(0, 0)] = 1.0
            for i, j, g, i2, j2 in edges:  # sorted by source: a topological order
                if alpha.get((i, j)):
                    alpha[(i2, j2)] += alpha[(i, j)] * prob[g]
            total = alpha.get(end, 0.0)
            if total <= 0.0:
                continue
            beta: dict[tuple[int, int], float] = defaultdict(float)
            beta[end] = 1.0
            for i, j, g, i2, j2 in reversed(edges):
                if beta.get((i2, j2)):
                    beta[(i, j)] += prob[g] * beta[(i2, j2)]
            for i, j, g, i2, j2 in edges:
                a, b = alpha.get((i, j), 0.0), beta.get((i2, j2), 0.0)
                if a and b:
                    counts[g] += a * prob[g] * b / total
        norm = sum(counts.values())
        prob = defaultdict(float, {g: c / norm for g, c in counts.items()})
    return [
        _viterbi(letters, phones, edges, prob) if edges else []
        for (letters, phones), edges in zip(pairs, lattices)
    ]


def _viterbi(letters, phones, edges, prob) -> list[Graphone]:
    best: dict[tuple[int, int], tuple[float, tuple | None, Graphone | None]] = {
        (0, 0): (0.0, None, None)
    }
    for i, j, g, i2, j2 in edges:
        if (i, j) not in best or prob.get(g, 0.0) <= 0.0:
            continue
        score = best[(i, j)][0] + math.log(prob[g])
        if (i2, j2) not in best or score > best[(i2, j2)][0]:
            best[(i2, j2)] = (score, (i, j), g)
    node = (len(letters), len(phones))
    if node not in best:
        return []
    out: list[Graphone] = []
    while best[node][1] is not None:
        _, prev, g = best[node]
        out.append(g)  # type: ignore[arg-type]
        node = prev  # type: ignore[assignment]
    return out[::-1]


@dataclass
class G2P:
    """A joint-sequence G2P model: a graphone n-gram model and its letter-chunk index."""

    model: ArpaModel

    def __post_init__(self) -> None:
        self.units: dict[tuple[str, ...], list[tuple[str, Graphone]]] = defaultdict(list)
        for word in self.model.vocab:
            if "}" in word:
                g = parse_graphone(word)
                self.units[g[0]].append((word, g))

    @classmethod
    def train(cls, lexicon: Lexicon, order: int = 3, iterations: int = 5) -> "G2P":
        """Train on every entry of ``lexicon`` (words are upper-cased letter by letter)."""
        pairs = [(_letters(e.word), e.phones) for e in lexicon]
        alignments = align_lexicon(pairs, iterations)
        sequences = [[graphone_token(g) for g in a] for a in alignments if a]
        if not sequences:
            raise ValueError("G2P training: no lexicon entry could be aligned")
        return cls(
            estimate_kneser_ney(sequences, order, unk=None, discount_fallback=DEFAULT_FALLBACK)
        )

    def save(self, path: str | Path) -> None:
        write_arpa(self.model, path)

    @classmethod
    def load(cls, path: str | Path) -> "G2P":
        return cls(read_arpa(path))

    def predict(
        self, word: str, nbest: int = 1, beam: int = 50
    ) -> list[tuple[tuple[str, ...], float]]:
        """Up to ``nbest`` ``(phones, log10 score)`` for ``word``, best first.

        Raises ValueError naming the word when a letter has no graphone in the model.
        """
        letters = _letters(word)
        history_len = self.model.order - 1
        # hyps[i]: {history: (score, phones)} after consuming i letters
        hyps: list[dict[tuple[str, ...], tuple[float, tuple[str, ...]]]] = [
            dict() for _ in range(len(letters) + 1)
        ]
        hyps[0][("<s>",)] = (0.0, ())
        for i in range(len(letters)):
            if not hyps[i]:
                continue
            best = sorted(hyps[i].items(), key=lambda kv: -kv[1][0])[:beam]
            for history, (score, phones) in best:
                for dl in (1, 2):
                    for token, g in (
                        self.units.get(tuple(letters[i : i + dl]), ())
                        if i + dl <= len(letters)
                        else ()
                    ):
                        new = score + self.model.log10_prob(token, history)
                        key = (history + (token,))[-history_len:] if history_len else ()
                        target = hyps[i + dl]
                        if key not in target or new > target[key][0]:
                            target[key] = (new, phones + g[1])
        if not hyps[-1]:
            missing = [c for c in letters if (c,) not in self.units]
            raise ValueError(f"G2P: cannot spell {word!r} (letters without graphones: {missing})")
        finals: dict[tuple[str, ...], float] = {}
        for history, (score, phones) in hyps[-1].items():
            total = score + self.model.log10_prob(EOS, history)
            if phones not in finals or total > finals[phones]:
                finals[phones] = total
        return sorted(finals.items(), key=lambda kv: -kv[1])[:nbest]

    def pronounce(self, words: Iterable[str]) -> Lexicon:
        """A lexicon with the best pronunciation of each word."""
        lexicon = Lexicon()
        for word in words:
            lexicon.add(word, self.predict(word)[0][0])
        return lexicon


def _edit_distance(a: Sequence[str], b: Sequence[str]) -> int:
    row = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        prev, row[0] = row[0], i
        for j in range(1, len(b) + 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] != b[j - 1]))
    return row[-1]


def evaluate_g2p(g2p: G2P, reference: Lexicon) -> dict[str, float]:
    """Word error rate (best hypothesis not among the word's pronunciations) and phone
    error rate (edit distance to the closest pronunciation / its length) on ``reference``.

    A word with a letter the model has never seen gets an empty hypothesis (all its phones
    count as deleted); ``unspellable`` counts them.
    """
    words = reference.to_dict()
    word_errors = phone_errors = phone_total = unspellable = 0
    for word, prons in words.items():
        try:
            hyp = g2p.predict(word)[0][0]
        except ValueError:
            hyp, unspellable = (), unspellable + 1
        distance, ref = min((_edit_distance(hyp, p), p) for p in prons)
        word_errors += distance > 0
        phone_errors += distance
        phone_total += len(ref)
    return {
        "words": len(words),
        "wer": word_errors / len(words),
        "per": phone_errors / phone_total,
        "unspellable": unspellable,
    }
