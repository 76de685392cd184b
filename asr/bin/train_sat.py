"""The `asr train-sat` command: tri3, speaker-adaptive training with per-speaker fMLLR
on tri2's LDA+MLLT features (:mod:`asr.gmm.train_sat`)."""

from __future__ import annotations

import argparse

COMMAND = "train-sat"
HELP = "tri3: speaker-adaptive training (per-speaker fMLLR) on tri2's LDA+MLLT features"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from asr.gmm.train_sat import build_parser

    build_parser(parser, sat=True)


def run(args: argparse.Namespace) -> int:
    from asr.gmm.train_sat import run as run_command

    return run_command(args, sat=True)
