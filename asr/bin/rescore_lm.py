"""The `asr rescore-lm` command: see `python -m asr.decode.rescore --help` (same arguments)."""

from __future__ import annotations

import argparse

COMMAND = "rescore-lm"
HELP = "rescore a graph decode's n-best list with a larger n-gram LM"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from asr.decode.rescore import build_parser

    build_parser(parser)


def run(args: argparse.Namespace) -> int:
    from asr.decode.rescore import run as run_command

    return run_command(args)
