"""The `asr decode-hybrid` command: see `python -m asr.decode.hybrid --help` (same arguments)."""

from __future__ import annotations

import argparse

COMMAND = "decode-hybrid"
HELP = "decode a data dir with a hybrid DNN-HMM model over its GMM system's HCLG (--tune on dev)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from asr.decode.hybrid import build_parser

    build_parser(parser)


def run(args: argparse.Namespace) -> int:
    from asr.decode.hybrid import run as run_command

    return run_command(args)
