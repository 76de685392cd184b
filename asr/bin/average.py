"""Average the parameters of an end-to-end experiment's checkpoints into final.pt.

Examples:
  asr average --exp-dir exp/e2e --num 5 --by best     # 5 lowest validation losses
  asr average --exp-dir exp/e2e --num 3 --by last
"""

from __future__ import annotations

import argparse
from pathlib import Path

COMMAND = "average"
HELP = "average the last/best N checkpoints into EXP/final.pt"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--exp-dir", required=True)
    parser.add_argument("--num", type=int, default=5, help="number of checkpoints")
    parser.add_argument("--by", choices=["best", "last"], default="best",
                        help="lowest validation loss, or most recent")
    parser.add_argument("--out", help="output model file (default EXP/final.pt)")


def run(args: argparse.Namespace) -> int:
    from asr.training.averaging import average_to_file
    from asr.training.checkpoint import CheckpointManager

    exp = Path(args.exp_dir)
    available = len(CheckpointManager(exp / "checkpoints").entries())
    if available == 0:
        raise FileNotFoundError(f"{exp}/checkpoints: no checkpoint to average; train first")
    num = min(args.num, available)
    by = args.by
    if by == "best" and not any(e.get("valid_loss") is not None
                                for e in CheckpointManager(exp / "checkpoints").entries()):
        by = "last"  # trained without a validation set
    out = Path(args.out) if args.out else exp / "final.pt"
    used = average_to_file(exp / "checkpoints", out, num, by=by)
    print(f"{out}: average of {len(used)} checkpoints ({by}): {', '.join(p.name for p in used)}")
    return 0
