"""The `asr train-lda-mllt` command: tri2, a triphone system on spliced LDA+MLLT features
(:mod:`asr.gmm.train_sat`)."""

from __future__ import annotations

import argparse

COMMAND = "train-lda-mllt"
HELP = "tri2: LDA+MLLT features (splice +-3, 40 dims) and a triphone GMM system on them"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from asr.gmm.train_sat import build_parser

    build_parser(parser, sat=False)


def run(args: argparse.Namespace) -> int:
    from asr.gmm.train_sat import run as run_command

    return run_command(args, sat=False)
