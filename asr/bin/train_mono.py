"""The `asr train-mono` command: see `python -m asr.gmm.train_mono --help` (same arguments)."""

from __future__ import annotations

import argparse

COMMAND = "train-mono"
HELP = "flat-start monophone HMM-GMM training (Viterbi EM, mixture splitting)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from asr.gmm.train_mono import build_parser

    build_parser(parser)


def run(args: argparse.Namespace) -> int:
    from asr.gmm.train_mono import run as run_command

    return run_command(args)
