"""Train an end-to-end model (Conformer CTC/attention) from data dirs.

The experiment dir gets config.yaml (the resolved config), tokenizer/ (BPE or chars,
trained on the training text unless tokenizer.dir is set), cmvn.npz, checkpoints/
and log/ (train_log.jsonl, TensorBoard events when tensorboard is installed).
Rerunning the same command resumes from the last checkpoint; a checkpoint from a
different model config is refused with the differing keys named.

Examples:
  asr train --config conf/e2e/an4.yaml --train data/train --valid data/dev --exp-dir exp/e2e
  asr train --config conf/e2e/an4.yaml ... -o trainer.epochs=5 -o model.num_blocks=6
  torchrun --nproc-per-node 4 -m asr.bin.main train --config conf/e2e/librispeech_100h.yaml ...
"""

from __future__ import annotations

import argparse

COMMAND = "train"
HELP = "train an end-to-end model (resumes from the last checkpoint)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="experiment YAML (e.g. conf/e2e/an4.yaml)")
    parser.add_argument("--train", required=True, help="training data dir")
    parser.add_argument("--valid", help="validation data dir (loss each epoch, best checkpoint)")
    parser.add_argument("--exp-dir", required=True, help="experiment dir to write")
    parser.add_argument("-o", "--override", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, e.g. trainer.epochs=5 (repeatable)")
    parser.add_argument("--no-resume", action="store_true",
                        help="start from scratch even if checkpoints exist")


def run(args: argparse.Namespace) -> int:
    from asr.training.experiment import train

    summary = train(args.config, args.train, args.valid, args.exp_dir,
                    overrides=args.override, resume=not args.no_resume)
    print({k: v for k, v in (summary or {}).items() if not isinstance(v, (list, dict))})
    return 0
