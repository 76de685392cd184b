"""Gather every result.json under the given dirs into one table.

Markdown (default) has systems as rows and evaluation sets as columns; --format csv
and --format json give one row per result (system, set, hours, wer, CI, cer, words,
sub, del, ins, sentences, sentence_errors, path). --plot draws WER against training
hours (log scale) for results that record hours.

    asr compare recipes/an4/exp
    asr compare exp_10h exp_100h --format json
    asr compare exp_* --plot wer_vs_hours.png
"""

from __future__ import annotations

import argparse
import sys

COMMAND = "compare"
HELP = "tabulate result.json files (Markdown, CSV, JSON) and plot WER against training hours"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "dirs", nargs="+", metavar="DIR", help="directories searched recursively for result.json"
    )
    parser.add_argument("--format", choices=("markdown", "csv", "json"), default="markdown")
    parser.add_argument("--plot", metavar="OUT.png", help="write a WER-vs-hours plot here")
    parser.add_argument(
        "--output", "-o", metavar="FILE", help="write the table here instead of stdout"
    )


def run(args: argparse.Namespace) -> int:
    from asr.scoring.table import (
        find_results,
        format_csv,
        format_json,
        format_markdown,
        plot_wer_vs_hours,
    )
    from asr.utils.io import atomic_write_text

    results = find_results(args.dirs)
    if not results:
        raise FileNotFoundError(
            f"no result.json found under {', '.join(args.dirs)} "
            "(run `asr score` on a decode dir first)"
        )
    formatter = {"markdown": format_markdown, "csv": format_csv, "json": format_json}[args.format]
    table = formatter(results)
    if args.output:
        atomic_write_text(args.output, table)
    else:
        sys.stdout.write(table)
    if args.plot:
        if plot_wer_vs_hours(results, args.plot) == 0:
            print(
                "asr compare: warning: no result records training hours (asr score --hours); "
                "no plot written",
                file=sys.stderr,
            )
        else:
            print(f"asr compare: wrote {args.plot}", file=sys.stderr)
    return 0
