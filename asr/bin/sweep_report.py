"""Tabulate a data-size sweep: %WER per system per training size, and the crossovers.

Reads every result.json under the given dirs (as `asr compare` does), keeps those of
one evaluation set (--set) that record their training hours (`asr score --hours`),
and writes a table with sizes as rows and systems as columns (Markdown to stdout or
--output, JSON with --json) plus, with --plot, WER against hours on a log axis with
each crossover (two systems swapping places) marked.

    asr sweep-report recipes/an4/exp_sweep --set test
    asr sweep-report exp_sweep --output sweep.md --json sweep.json --plot sweep.png
    asr sweep-report exp_sweep --export docs/sweep/results   # keep the cells' results
"""

from __future__ import annotations

import argparse
import sys

COMMAND = "sweep-report"
HELP = "WER per system per training size (Markdown/JSON) and a WER-vs-hours plot"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dirs", nargs="+", metavar="DIR",
                        help="directories searched recursively for result.json")
    parser.add_argument("--set", default="test", help="evaluation set to tabulate (default test)")
    parser.add_argument("--output", "-o", metavar="FILE",
                        help="write the Markdown table here instead of stdout")
    parser.add_argument("--json", metavar="FILE", help="also write the table as JSON here")
    parser.add_argument("--plot", metavar="OUT.png", help="write the WER-vs-hours plot here")
    parser.add_argument("--export", metavar="DIR",
                        help="also copy the result files the table reads (result.json, "
                             "best_setting.json, sweep_size.json, every set) into DIR "
                             "under their paths relative to the DIR they were found in, "
                             "so that `asr sweep-report DIR` rebuilds the table later "
                             "(e.g. a small tree committed with the code)")
    parser.add_argument("--plot-crossovers", choices=("e2e", "all", "none"), default="e2e",
                        help="crossovers the plot marks: those of an end-to-end system (e2e*) "
                             "with another (default), every pair's, or none; the table "
                             "lists every pair's")


def run(args: argparse.Namespace) -> int:
    from asr.scoring.sweep import (
        build_sweep,
        end_to_end_crossovers,
        export_results,
        find_crossovers,
        format_json,
        format_markdown,
        plot_sweep,
    )
    from asr.scoring.table import find_results
    from asr.utils.io import atomic_write_text

    results = find_results(args.dirs)
    if not results:
        raise FileNotFoundError(f"no result.json found under {', '.join(args.dirs)} "
                                "(run `asr score --hours H` on the decode dirs first)")
    table = build_sweep(results, args.set)
    crossovers = find_crossovers(table)
    markdown = format_markdown(table, crossovers)
    if args.output:
        atomic_write_text(args.output, markdown)
    else:
        sys.stdout.write(markdown)
    if args.json:
        atomic_write_text(args.json, format_json(table, crossovers))
    if args.export:
        written = export_results(results, args.dirs, args.export)
        print(f"asr sweep-report: copied {len(written)} files to {args.export}", file=sys.stderr)
    if args.plot:
        marked = {"all": crossovers, "none": [],
                  "e2e": end_to_end_crossovers(crossovers)}[args.plot_crossovers]
        plot_sweep(table, args.plot, marked)
        print(f"asr sweep-report: wrote {args.plot}", file=sys.stderr)
    return 0
