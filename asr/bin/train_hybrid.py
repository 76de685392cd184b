"""The `asr train-hybrid` command: see `python -m asr.training.frame_classifier --help`
(same arguments)."""

from __future__ import annotations

import argparse

COMMAND = "train-hybrid"
HELP = "train the frame classifier (TDNN) of a hybrid DNN-HMM on a GMM system's alignments"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from asr.training.frame_classifier import build_parser

    build_parser(parser)


def run(args: argparse.Namespace) -> int:
    from asr.training.frame_classifier import run as run_command

    return run_command(args)
