"""One job of `asr compute-feats` (run by the job runner; not usually called by hand).

Reads the data dir PART, computes features with the config CONFIG and writes the
shard SHARD, PART/feats.scp, PART/failed and PART/progress.
"""

from __future__ import annotations

import argparse

COMMAND = "compute-feats-job"
HELP = "(internal) one feature-extraction job of compute-feats"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("part", help="data dir of this job's utterances")
    parser.add_argument("config", help="resolved feature config (YAML)")
    parser.add_argument("shard", help="shard file to write")
    parser.add_argument("--dtype", choices=["float32", "float16"], default="float32")


def run(args: argparse.Namespace) -> int:
    from asr.features.pipeline import run_feature_job

    run_feature_job(args.part, args.config, args.shard, dtype=args.dtype)
    return 0
