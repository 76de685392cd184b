"""Human-readable scoring reports: sclite-style alignments, per-speaker rates, confusions."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Mapping

from asr.scoring.wer import CorpusScore, ErrorCounts, UttAlignment

GAP = "***"


def format_alignment(utt: UttAlignment) -> str:
    """One utterance as sclite's ``pralign`` shows it.

    Correct words are lower-cased, errors upper-cased, ``***`` fills a gap; columns are
    padded so that REF, HYP and EVAL line up::

        id: (utt1)
        Scores: (#C #S #D #I) 2 1 1 0
        REF:  a  B  c  D
        HYP:  a  X  c  ***
        EVAL:    S     D
    """
    ref_cells, hyp_cells, eval_cells = [], [], []
    for op, r, h in utt.pairs:
        if op == "C":
            r_txt, h_txt = r.lower(), h.lower()
        else:
            r_txt = GAP if r is None else r.upper()
            h_txt = GAP if h is None else h.upper()
        width = max(len(r_txt), len(h_txt))
        ref_cells.append(r_txt.ljust(width))
        hyp_cells.append(h_txt.ljust(width))
        eval_cells.append(("" if op == "C" else op).ljust(width))
    c = utt.counts
    lines = [
        f"id: ({utt.utt_id})" + ("  [no hypothesis]" if utt.missing else ""),
        f"Scores: (#C #S #D #I) {c.hits} {c.substitutions} {c.deletions} {c.insertions}",
        ("REF:  " + " ".join(ref_cells)).rstrip(),
        ("HYP:  " + " ".join(hyp_cells)).rstrip(),
        ("EVAL: " + " ".join(eval_cells)).rstrip(),
    ]
    return "\n".join(lines) + "\n"


def format_alignments(score: CorpusScore) -> str:
    """All utterances' alignments (``per_utt.txt``), separated by blank lines."""
    header = (
        "# Per-utterance alignments: errors upper-case, correct words lower-case, *** = gap.\n\n"
    )
    return header + "\n".join(format_alignment(u) for u in score.utts)


@dataclass
class SpeakerStats:
    sentences: int = 0
    sentence_errors: int = 0
    counts: ErrorCounts = field(default_factory=ErrorCounts)


def per_speaker(score: CorpusScore, utt2spk: Mapping[str, str]) -> dict[str, SpeakerStats]:
    """Error counts summed per speaker (speakers sorted by id)."""
    stats: dict[str, SpeakerStats] = {}
    for utt in score.utts:
        if utt.utt_id not in utt2spk:
            raise ValueError(f"utterance {utt.utt_id!r} has no speaker in utt2spk")
        s = stats.setdefault(utt2spk[utt.utt_id], SpeakerStats())
        s.sentences += 1
        s.sentence_errors += int(utt.counts.errors > 0)
        s.counts = s.counts + utt.counts
    return dict(sorted(stats.items()))


def _pct(num: int, den: int) -> str:
    return f"{100.0 * num / den:.2f}" if den else "-"


def format_per_speaker(stats: Mapping[str, SpeakerStats]) -> str:
    """A fixed-width table (``per_spk.txt``): one row per speaker and a ``SUM`` row."""
    rows = [("SPEAKER", "#SNT", "#WRD", "#COR", "#SUB", "#DEL", "#INS", "#ERR", "%WER", "%SER")]
    total = SpeakerStats()
    for spk, s in stats.items():
        total.sentences += s.sentences
        total.sentence_errors += s.sentence_errors
        total.counts = total.counts + s.counts
    for spk, s in [*stats.items(), ("SUM", total)]:
        c = s.counts
        rows.append(
            (
                spk,
                str(s.sentences),
                str(c.ref_len),
                str(c.hits),
                str(c.substitutions),
                str(c.deletions),
                str(c.insertions),
                str(c.errors),
                _pct(c.errors, c.ref_len),
                _pct(s.sentence_errors, s.sentences),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [v.rjust(w) for v, w in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells))
    return "\n".join(lines) + "\n"


@dataclass
class Confusions:
    """How often each error happened: (ref, hyp) substitutions, deleted and inserted words."""

    substitutions: Counter = field(default_factory=Counter)
    deletions: Counter = field(default_factory=Counter)
    insertions: Counter = field(default_factory=Counter)


def confusions(score: CorpusScore) -> Confusions:
    conf = Confusions()
    for utt in score.utts:
        for op, r, h in utt.pairs:
            if op == "S":
                conf.substitutions[(r, h)] += 1
            elif op == "D":
                conf.deletions[r] += 1
            elif op == "I":
                conf.insertions[h] += 1
    return conf


def _most_common(counter: Counter, top: int | None) -> list:
    # Ties broken by the item so that the report is deterministic.
    items = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    return items if top is None else items[:top]


def format_confusions(conf: Confusions, top: int | None = 100) -> str:
    """``confusions.txt``: the ``top`` most frequent substitutions, deletions and insertions."""
    lines = [f"SUBSTITUTIONS (count  ref -> hyp), {sum(conf.substitutions.values())} in total"]
    lines += [f"{n:6d}  {r} -> {h}" for (r, h), n in _most_common(conf.substitutions, top)]
    lines += ["", f"DELETIONS (count  ref), {sum(conf.deletions.values())} in total"]
    lines += [f"{n:6d}  {w}" for w, n in _most_common(conf.deletions, top)]
    lines += ["", f"INSERTIONS (count  hyp), {sum(conf.insertions.values())} in total"]
    lines += [f"{n:6d}  {w}" for w, n in _most_common(conf.insertions, top)]
    return "\n".join(lines) + "\n"
