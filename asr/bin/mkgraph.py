"""The `asr mkgraph` command: see `python -m asr.graph.mkgraph --help` (same arguments)."""

from __future__ import annotations

import argparse

COMMAND = "mkgraph"
HELP = "build the HCLG decoding graph of a GMM system (lexicon + n-gram LM)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from asr.graph.mkgraph import build_parser

    build_parser(parser)


def run(args: argparse.Namespace) -> int:
    from asr.graph.mkgraph import run as run_command

    return run_command(args)
