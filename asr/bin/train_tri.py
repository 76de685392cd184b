"""The `asr train-tri` command: see `python -m asr.gmm.train_tri --help` (same arguments)."""

from __future__ import annotations

import argparse

COMMAND = "train-tri"
HELP = "triphone HMM-GMM training with decision-tree state tying (from a previous model's alignments)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from asr.gmm.train_tri import build_parser

    build_parser(parser)


def run(args: argparse.Namespace) -> int:
    from asr.gmm.train_tri import run as run_command

    return run_command(args)
