"""The `asr decode-gmm` command: see `python -m asr.decode.gmm --help` (same arguments)."""

from __future__ import annotations

import argparse

COMMAND = "decode-gmm"
HELP = "decode a data dir with a GMM system over its HCLG graph (--tune on dev)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from asr.decode.gmm import build_parser

    build_parser(parser)


def run(args: argparse.Namespace) -> int:
    from asr.decode.gmm import run as run_command

    return run_command(args)
