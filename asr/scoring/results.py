"""Score a decode dir and write its result files.

Convention: hypotheses are Kaldi ``text`` at ``exp/<system>/decode_<set>/text``.
Scoring writes, each file atomically, into the decode dir (or ``out_dir``):

- ``result.json``: ``{"system", "set", "wer", "cer", "words", "sub", "del", "ins",
  "sentences", "sentence_errors", "wer_ci95", "hours", "extra"}``; rates in percent,
  ``wer_ci95`` = [low, high] percent (null without bootstrap), ``hours`` = training hours or null.
- ``per_utt.txt``: sclite-style alignments (:func:`asr.scoring.report.format_alignments`).
- ``per_spk.txt``: per-speaker rates (only when an utt2spk is known).
- ``confusions.txt``: the most frequent substitutions, deletions and insertions.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from asr.scoring.bootstrap import bootstrap_error_rate_ci
from asr.scoring.kaldi_text import read_text, read_utt2spk
from asr.scoring.report import (
    confusions,
    format_alignments,
    format_confusions,
    format_per_speaker,
    per_speaker,
)
from asr.scoring.wer import CorpusScore, score
from asr.utils.io import atomic_write_text

log = logging.getLogger(__name__)

RESULT_FILE = "result.json"


@dataclass
class ScoreReport:
    """Everything scoring produces: the result record, the word alignment and report texts."""

    result: dict[str, Any]
    words: CorpusScore
    per_utt: str
    per_spk: str | None
    confusions: str


def names_from_decode_dir(decode_dir: str | Path) -> tuple[str | None, str | None]:
    """``exp/<system>/decode_<set>`` -> ``(system, set)``; ``None`` for a part that does not fit."""
    decode_dir = Path(decode_dir).resolve()
    name = decode_dir.name
    set_name = name[len("decode_") :] if name.startswith("decode_") and len(name) > 7 else None
    system = decode_dir.parent.name if set_name is not None and decode_dir.parent.name else None
    return system, set_name


def _pct(x: float) -> float:
    return round(100.0 * x, 4)


def score_texts(
    ref: Mapping[str, str],
    hyp: Mapping[str, str],
    *,
    system: str,
    set_name: str,
    hours: float | None = None,
    utt2spk: Mapping[str, str] | None = None,
    num_resamples: int = 1000,
    seed: int = 0,
    extra: Mapping[str, Any] | None = None,
) -> ScoreReport:
    """Score ``hyp`` against ``ref`` (``{utt_id: text}``): the result record and reports."""
    words = score(ref, hyp, "word")
    if words.counts.ref_len == 0:
        raise ValueError(f"the reference for {system}/{set_name} has no words: WER is undefined")
    chars = score(ref, hyp, "char")
    errors = np.array([u.counts.errors for u in words.utts])
    lens = np.array([u.counts.ref_len for u in words.utts])
    ci = None
    if num_resamples > 0:
        lo, hi = bootstrap_error_rate_ci(errors, lens, num_resamples=num_resamples, seed=seed)
        ci = [_pct(lo), _pct(hi)]
    c = words.counts
    result = {
        "system": system,
        "set": set_name,
        "wer": _pct(c.error_rate),
        "cer": _pct(chars.error_rate),
        "words": c.ref_len,
        "sub": c.substitutions,
        "del": c.deletions,
        "ins": c.insertions,
        "sentences": words.sentences,
        "sentence_errors": words.sentence_errors,
        "wer_ci95": ci,
        "hours": None if hours is None else float(hours),
        "extra": {
            "hits": c.hits,
            "chars": chars.counts.ref_len,
            "char_errors": chars.counts.errors,
            "missing_hyps": len(words.missing_ids),
            "missing_ids": words.missing_ids,
            "bootstrap": {"resamples": num_resamples, "seed": seed},
            **(extra or {}),
        },
    }
    spk_text = format_per_speaker(per_speaker(words, utt2spk)) if utt2spk is not None else None
    return ScoreReport(
        result, words, format_alignments(words), spk_text, format_confusions(confusions(words))
    )


def score_files(
    ref_path: str | Path,
    hyp_path: str | Path,
    *,
    utt2spk_path: str | Path | None = None,
    system: str | None = None,
    set_name: str | None = None,
    hours: float | None = None,
    num_resamples: int = 1000,
    seed: int = 0,
) -> ScoreReport:
    """Score Kaldi ``text`` files; names default from ``exp/<system>/decode_<set>/text``.

    Without ``utt2spk_path``, the ``utt2spk`` beside the reference (``data/<set>/utt2spk``)
    is used when it exists.
    """
    ref_path, hyp_path = Path(ref_path), Path(hyp_path)
    ref, hyp = read_text(ref_path), read_text(hyp_path)
    dir_system, dir_set = names_from_decode_dir(hyp_path.parent)
    system = system or dir_system or hyp_path.parent.name
    set_name = set_name or dir_set or ref_path.parent.name
    if utt2spk_path is None and (ref_path.parent / "utt2spk").is_file():
        utt2spk_path = ref_path.parent / "utt2spk"
    utt2spk = read_utt2spk(utt2spk_path) if utt2spk_path is not None else None
    extra = {"ref": str(ref_path), "hyp": str(hyp_path)}
    return score_texts(
        ref,
        hyp,
        system=system,
        set_name=set_name,
        hours=hours,
        utt2spk=utt2spk,
        num_resamples=num_resamples,
        seed=seed,
        extra=extra,
    )


def write_report(out_dir: str | Path, report: ScoreReport) -> list[Path]:
    """Write result.json, per_utt.txt, confusions.txt and per_spk.txt (if known); return paths."""
    out_dir = Path(out_dir)
    files = {
        RESULT_FILE: json.dumps(report.result, indent=2) + "\n",
        "per_utt.txt": report.per_utt,
        "confusions.txt": report.confusions,
    }
    if report.per_spk is not None:
        files["per_spk.txt"] = report.per_spk
    paths = []
    for name, text in files.items():
        atomic_write_text(out_dir / name, text)
        paths.append(out_dir / name)
    return paths


def summary_line(result: Mapping[str, Any], label: str) -> str:
    """Kaldi-style: ``%WER 10.61 [ 82 / 773, 10 ins, 20 del, 52 sub ] exp/x/decode_test``."""
    errors = result["sub"] + result["del"] + result["ins"]
    return (
        f"%WER {result['wer']:.2f} [ {errors} / {result['words']}, {result['ins']} ins, "
        f"{result['del']} del, {result['sub']} sub ] {label}"
    )


def load_result(path: str | Path) -> dict[str, Any]:
    """Read one result.json, checking the keys that tables need."""
    path = Path(path)
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(result, dict):
        raise ValueError(f"{path}: expected a JSON object")
    missing = [k for k in ("system", "set", "wer", "words") if k not in result]
    if missing:
        raise ValueError(f"{path}: missing key(s) {', '.join(missing)}")
    return result
