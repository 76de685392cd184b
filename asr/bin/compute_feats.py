"""Compute MFCC or fbank features for a data dir, in parallel jobs.

Writes DST as a full data dir (SRC's files) plus feature shards (DST/feats/), the
index DST/feats.scp, CMVN statistics DST/cmvn.npz (per speaker, per utterance, global or none) and
the resolved config DST/conf/feats.yaml. Jobs log to --log-dir (default DST/log).
Utterances whose audio cannot be read are logged, counted and dropped; more than 1%
of them fail the command.

Examples:
  asr compute-feats data/train data/mfcc/train --feature mfcc --cmvn speaker --nj 4
  asr compute-feats data/train data/fbank/train --feature fbank --config conf/fbank.yaml
  asr compute-feats data/train data/fbank/train --feature fbank -o num_mel_bins=40
"""

from __future__ import annotations

import argparse

COMMAND = "compute-feats"
HELP = "compute MFCC/fbank features for a data dir (parallel jobs, CMVN stats)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("src", help="input data dir")
    parser.add_argument("dst", help="output data dir (gets feats.scp, cmvn.npz, feats/)")
    parser.add_argument("--feature", choices=["mfcc", "fbank"], default="mfcc")
    parser.add_argument("--config", help="YAML feature config (default: Kaldi's defaults, dither 0)")
    parser.add_argument("-o", "--override", action="append", default=[], metavar="KEY=VALUE",
                        help="override one config key, e.g. num_mel_bins=40 (repeatable)")
    parser.add_argument("--cmvn", choices=["speaker", "utterance", "global", "none"],
                        default="speaker", help="CMVN statistics to accumulate (keyed by "
                        "speaker, by utterance, or one global row)")
    parser.add_argument("--nj", type=int, default=1, help="number of parallel jobs")
    parser.add_argument("--cmd", default="local",
                        help='job runner: "local" or "slurm --partition P --time T ..."')
    parser.add_argument("--log-dir", help="per-job logs (default DST/log)")
    parser.add_argument("--dtype", choices=["float32", "float16"], default="float32",
                        help="storage precision of the shards")
    parser.add_argument("--max-failed-fraction", type=float, default=0.01,
                        help="fail if more utterances than this fraction cannot be read")


def run(args: argparse.Namespace) -> int:
    from asr.features.pipeline import compute_datadir_features, load_config_for

    config = load_config_for(args.feature, args.config, args.override)
    compute_datadir_features(args.src, args.dst, config, num_jobs=args.nj, cmd=args.cmd,
                             log_dir=args.log_dir, cmvn=args.cmvn, dtype=args.dtype,
                             max_failed_fraction=args.max_failed_fraction)
    return 0
