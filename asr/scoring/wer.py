"""Word and character error rates with per-utterance alignments (jiwer underneath).

Counts are corpus-level: errors are summed over utterances and divided by the summed
reference length, exactly as ``jiwer.wer(list_of_refs, list_of_hyps)`` does.
An utterance present in the reference but absent from the hypotheses is scored
against an empty hypothesis (all deletions) and listed in ``missing_ids``; a
hypothesis id that is not in the reference is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import jiwer

# One aligned column: (op, ref_token, hyp_token); op is "C" (correct), "S", "D" or "I";
# ref_token is None for an insertion, hyp_token is None for a deletion.
AlignedPair = tuple[str, "str | None", "str | None"]


@dataclass(frozen=True)
class ErrorCounts:
    """Edit-distance counts of one utterance or a whole corpus (tokens: words or characters)."""

    hits: int = 0
    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0

    @property
    def ref_len(self) -> int:
        return self.hits + self.substitutions + self.deletions

    @property
    def hyp_len(self) -> int:
        return self.hits + self.substitutions + self.insertions

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def error_rate(self) -> float:
        """Errors / reference length (a fraction); 0 for an empty pair, inf for insertions only."""
        if self.ref_len == 0:
            return 0.0 if self.errors == 0 else float("inf")
        return self.errors / self.ref_len

    def __add__(self, other: "ErrorCounts") -> "ErrorCounts":
        return ErrorCounts(
            self.hits + other.hits,
            self.substitutions + other.substitutions,
            self.deletions + other.deletions,
            self.insertions + other.insertions,
        )

    @classmethod
    def from_alignment(cls, pairs: Sequence[AlignedPair]) -> "ErrorCounts":
        ops = [op for op, _, _ in pairs]
        return cls(ops.count("C"), ops.count("S"), ops.count("D"), ops.count("I"))


@dataclass
class UttAlignment:
    """The alignment of one utterance: reference/hypothesis tokens and the aligned columns."""

    utt_id: str
    ref: list[str]
    hyp: list[str]
    pairs: list[AlignedPair]
    counts: ErrorCounts
    missing: bool = False  # no hypothesis was given for this utterance


@dataclass
class CorpusScore:
    """Per-utterance alignments (reference order) and corpus totals."""

    utts: list[UttAlignment]
    counts: ErrorCounts
    missing_ids: list[str] = field(default_factory=list)

    @property
    def error_rate(self) -> float:
        return self.counts.error_rate

    @property
    def sentences(self) -> int:
        return len(self.utts)

    @property
    def sentence_errors(self) -> int:
        return sum(1 for u in self.utts if u.counts.errors > 0)


def _normalize(text: str) -> str:
    return " ".join(text.split())


def _check_ids(ref: Mapping[str, str], hyp: Mapping[str, str]) -> list[str]:
    extra = [utt for utt in hyp if utt not in ref]
    if extra:
        shown = ", ".join(extra[:5]) + (" ..." if len(extra) > 5 else "")
        raise ValueError(f"{len(extra)} hypothesis utterance(s) not in the reference: {shown}")
    return [utt for utt in ref if utt not in hyp]


def _pairs_from_chunks(ref: list[str], hyp: list[str], chunks) -> list[AlignedPair]:
    pairs: list[AlignedPair] = []
    for c in chunks:
        if c.type == "equal":
            pairs += [
                ("C", ref[i], hyp[j])
                for i, j in zip(
                    range(c.ref_start_idx, c.ref_end_idx), range(c.hyp_start_idx, c.hyp_end_idx)
                )
            ]
        elif c.type == "substitute":
            pairs += [
                ("S", ref[i], hyp[j])
                for i, j in zip(
                    range(c.ref_start_idx, c.ref_end_idx), range(c.hyp_start_idx, c.hyp_end_idx)
                )
            ]
        elif c.type == "delete":
            pairs += [("D", ref[i], None) for i in range(c.ref_start_idx, c.ref_end_idx)]
        elif c.type == "insert":
            pairs += [("I", None, hyp[j]) for j in range(c.hyp_start_idx, c.hyp_end_idx)]
        else:  # pragma: no cover - jiwer's alignment types are fixed
            raise ValueError(f"unknown jiwer alignment type {c.type!r}")
    return pairs


def _align(
    refs: list[str], hyps: list[str], unit: str
) -> list[tuple[list[str], list[str], list[AlignedPair]]]:
    """Align normalised strings with jiwer; ``unit`` is "word" or "char".

    Empty references are aligned here (all insertions) rather than by jiwer, whose
    3.x releases reject them.
    """
    process = jiwer.process_words if unit == "word" else jiwer.process_characters
    tokenize = str.split if unit == "word" else list
    out: list = [None] * len(refs)
    idx = [i for i, r in enumerate(refs) if r]
    for i, r in enumerate(refs):
        if not r:
            h = tokenize(hyps[i])
            out[i] = ([], h, [("I", None, t) for t in h])
    if idx:
        result = process([refs[i] for i in idx], [hyps[i] for i in idx])
        for k, i in enumerate(idx):
            r, h = list(result.references[k]), list(result.hypotheses[k])
            out[i] = (r, h, _pairs_from_chunks(r, h, result.alignments[k]))
    return out


def score(ref: Mapping[str, str], hyp: Mapping[str, str], unit: str = "word") -> CorpusScore:
    """Align every reference utterance with its hypothesis.

    Args:
        ref: ``{utt_id: text}``, the reference transcripts (e.g. ``data/test/text``).
        hyp: ``{utt_id: text}``, the recognizer output; every id must be in ``ref``.
        unit: ``"word"`` (WER) or ``"char"`` (CER; spaces count as characters, as in jiwer).
    """
    if unit not in ("word", "char"):
        raise ValueError(f"unit must be 'word' or 'char', got {unit!r}")
    missing = _check_ids(ref, hyp)
    ids = list(ref)
    refs = [_normalize(ref[u]) for u in ids]
    hyps = [_normalize(hyp.get(u, "")) for u in ids]
    utts = []
    total = ErrorCounts()
    missing_set = set(missing)
    for utt, (r, h, pairs) in zip(ids, _align(refs, hyps, unit)):
        counts = ErrorCounts.from_alignment(pairs)
        total = total + counts
        utts.append(UttAlignment(utt, r, h, pairs, counts, missing=utt in missing_set))
    return CorpusScore(utts, total, missing)


def word_error_rate(ref: Mapping[str, str], hyp: Mapping[str, str]) -> float:
    """Corpus WER as a fraction (equal to ``jiwer.wer`` on the same pairs)."""
    return score(ref, hyp, "word").error_rate


def char_error_rate(ref: Mapping[str, str], hyp: Mapping[str, str]) -> float:
    """Corpus CER as a fraction (equal to ``jiwer.cer`` on the same pairs)."""
    return score(ref, hyp, "char").error_rate
