"""Score recognizer output against reference transcripts (WER, CER, alignments).

Writes result.json, per_utt.txt, confusions.txt and per_spk.txt (when an utt2spk is
known: --utt2spk, or the one beside --ref) into --out (default: the directory of
--hyp), and prints a Kaldi-like summary line, e.g.

    %WER 10.61 [ 82 / 773, 10 ins, 20 del, 52 sub ] exp/tri3/decode_test

System and set names default from the path exp/<system>/decode_<set>/text.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

COMMAND = "score"
HELP = "score a decode dir's text against the reference (WER/CER, alignments, result.json)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ref", required=True, help="reference Kaldi text, e.g. data/test/text")
    parser.add_argument(
        "--hyp", required=True, help="hypotheses (Kaldi text), e.g. exp/tri3/decode_test/text"
    )
    parser.add_argument(
        "--utt2spk", help="utt2spk for per-speaker rates (default: beside --ref if present)"
    )
    parser.add_argument("--system", help="system name (default: from exp/<system>/decode_<set>)")
    parser.add_argument(
        "--set",
        dest="set_name",
        metavar="SET",
        help="evaluation set name (default: from decode_<set>)",
    )
    parser.add_argument(
        "--hours", type=float, help="hours of training data (for WER-vs-data plots)"
    )
    parser.add_argument("--out", help="output directory (default: the directory of --hyp)")
    parser.add_argument(
        "--bootstrap", type=int, default=1000, help="bootstrap resamples for the 95%% CI (0: none)"
    )
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")


def run(args: argparse.Namespace) -> int:
    from asr.scoring.results import score_files, summary_line, write_report

    hyp = Path(args.hyp)
    out_dir = Path(args.out) if args.out else hyp.parent
    report = score_files(
        args.ref,
        hyp,
        utt2spk_path=args.utt2spk,
        system=args.system,
        set_name=args.set_name,
        hours=args.hours,
        num_resamples=args.bootstrap,
        seed=args.seed,
    )
    write_report(out_dir, report)
    missing = report.words.missing_ids
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        print(
            f"asr score: warning: {len(missing)} reference utterance(s) have no hypothesis "
            f"(scored as deletions): {shown}",
            file=sys.stderr,
        )
    print(summary_line(report.result, str(out_dir)))
    return 0
