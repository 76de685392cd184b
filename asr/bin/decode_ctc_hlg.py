"""The `asr decode-ctc-hlg` command: see `python -m asr.decode.ctc_wfst --help` (same arguments)."""

from __future__ import annotations

import argparse

COMMAND = "decode-ctc-hlg"
HELP = "decode a data dir with a CTC model over its HLG graph (--tune on dev)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from asr.decode.ctc_wfst import build_parser

    build_parser(parser)


def run(args: argparse.Namespace) -> int:
    from asr.decode.ctc_wfst import run as run_command

    return run_command(args)
