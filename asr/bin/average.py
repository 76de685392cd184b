"""Average the parameters of an end-to-end experiment's checkpoints into final.pt.

Examples:
  asr average --exp-dir exp/e2e --num 5 --by best     # 5 lowest validation losses
  asr average --exp-dir exp/e2e --num 3 --by last
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

COMMAND = "average"
HELP = "average the last/best N checkpoints into EXP/final.pt"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--exp-dir", required=True)
    parser.add_argument("--num", type=int, default=5,
                        help="number of checkpoints (fewer, with a warning, if fewer exist)")
    parser.add_argument("--by", choices=["best", "last"], default="best",
                        help="lowest validation loss, or most recent")
    parser.add_argument("--out", help="output model file (default EXP/final.pt)")


def run(args: argparse.Namespace) -> int:
    from asr.training.averaging import average_to_file
    from asr.training.checkpoint import CheckpointManager

    exp = Path(args.exp_dir)
    entries = CheckpointManager(exp / "checkpoints").entries()
    if not entries:
        raise FileNotFoundError(f"{exp}/checkpoints: no checkpoint to average; train first")
    by = args.by
    scored = [e for e in entries if e.get("valid_loss") is not None]
    if by == "best" and not scored:
        by = "last"  # trained without a validation set
    available = len(scored) if by == "best" else len(entries)
    num = min(args.num, available)
    if num < args.num:
        log.warning("%s/checkpoints: %d %s checkpoint(s) asked for, %d available%s: averaging "
                    "%d", exp, args.num, by, available,
                    " with a validation loss" if by == "best" else "", num)
    out = Path(args.out) if args.out else exp / "final.pt"
    used = average_to_file(exp / "checkpoints", out, num, by=by)
    print(f"{out}: average of {len(used)} checkpoints ({by}): {', '.join(p.name for p in used)}")
    return 0
