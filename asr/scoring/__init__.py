"""Scoring: WER/CER (jiwer underneath), alignments, per-speaker reports, result tables, plots.

Main entry points:

- :func:`asr.scoring.wer.score` -> :class:`~asr.scoring.wer.CorpusScore`
  (per-utterance alignments and corpus totals);
- :func:`asr.scoring.results.score_files` and :func:`~asr.scoring.results.write_report`
  (a decode dir's result.json, per_utt.txt, per_spk.txt, confusions.txt);
- :func:`asr.scoring.table.find_results`, then ``format_markdown`` / ``format_csv`` /
  ``format_json`` / ``plot_wer_vs_hours``.
"""

from asr.scoring.bootstrap import bootstrap_error_rate_ci
from asr.scoring.kaldi_text import read_text, read_utt2spk
from asr.scoring.wer import (
    CorpusScore,
    ErrorCounts,
    UttAlignment,
    char_error_rate,
    score,
    word_error_rate,
)

__all__ = [
    "CorpusScore",
    "ErrorCounts",
    "UttAlignment",
    "bootstrap_error_rate_ci",
    "char_error_rate",
    "read_text",
    "read_utt2spk",
    "score",
    "word_error_rate",
]
