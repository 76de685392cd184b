"""The `asr decode-gmm-sat` command: see `python -m asr.decode.gmm_sat --help`."""

from __future__ import annotations

import argparse

COMMAND = "decode-gmm-sat"
HELP = "decode with a tri2 (LDA+MLLT) or tri3 (SAT, two-pass fMLLR) GMM system"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from asr.decode.gmm_sat import build_parser

    build_parser(parser)


def run(args: argparse.Namespace) -> int:
    from asr.decode.gmm_sat import run as run_command

    return run_command(args)
