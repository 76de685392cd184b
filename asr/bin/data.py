"""Inspect and manipulate Kaldi-style data dirs.

Actions:
  validate DIR                 check the invariants (sorted unique ids, audio and text
                               for every utterance, speakers consistent); exit 1 if broken
  info DIR [--hours]           utterances, speakers, hours (--hours: the number only)
  durations DIR                write utt2dur from the audio headers
  subset SRC DST (--first N | --last N | --random N | --hours H | --speakers S,... |
              --utt-list FILE) [--seed K]
  split DIR N [--per-utt]      write DIR/splitN/{1..N} (by speaker unless --per-utt)
  combine DST SRC [SRC ...]    merge data dirs
  copy SRC DST                 read and rewrite (normalises a Kaldi/ESPnet data dir)
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

COMMAND = "data"
HELP = "validate, subset, split, combine data dirs"

log = logging.getLogger("asr.data")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = sub.add_parser("validate", help="check a data dir")
    p.add_argument("dir")
    p.add_argument("--no-audio-check", action="store_true", help="skip checking audio files exist")
    p.add_argument("--no-text", action="store_true", help="allow a data dir without text")
    p = sub.add_parser("info", help="print counts and hours")
    p.add_argument("dir")
    p.add_argument("--hours", action="store_true", help="print only the hours of audio")
    p = sub.add_parser("durations", help="write utt2dur from audio headers")
    p.add_argument("dir")
    p = sub.add_parser("subset", help="write a subset")
    p.add_argument("src")
    p.add_argument("dst")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--first", type=int)
    how.add_argument("--last", type=int)
    how.add_argument("--random", type=int, help="N utterances at random (seeded)")
    how.add_argument("--hours", type=float, help="about H hours, speaker-balanced (seeded)")
    how.add_argument("--speakers", help="comma-separated speaker ids")
    how.add_argument("--utt-list", help="file with one utterance id per line")
    p.add_argument("--seed", type=int, default=0)
    p = sub.add_parser("split", help="split into N parts under DIR/splitN/")
    p.add_argument("dir")
    p.add_argument("num_jobs", type=int)
    p.add_argument("--per-utt", action="store_true")
    p = sub.add_parser("combine", help="merge data dirs")
    p.add_argument("dst")
    p.add_argument("srcs", nargs="+")
    p = sub.add_parser("copy", help="read and rewrite a data dir")
    p.add_argument("src")
    p.add_argument("dst")


def split_dir(path: Path, num_jobs: int, per_utt: bool = False) -> list[Path]:
    """Write ``path/split<N>[utt]/<1..N>`` (reused when already up to date)."""
    from asr.data import DataDir

    data = DataDir.load(path)
    root = path / (f"split{num_jobs}utt" if per_utt else f"split{num_jobs}")
    parts = [root / str(i + 1) for i in range(num_jobs)]
    newest_input = max(f.stat().st_mtime for f in path.iterdir() if f.is_file())
    if all((p / "utt2spk").exists() and (p / "utt2spk").stat().st_mtime >= newest_input
           for p in parts):
        return parts
    for part_dir, part in zip(parts, data.split(num_jobs, per_utt=per_utt)):
        part.save(part_dir)
    return parts


def run(args: argparse.Namespace) -> int:
    from asr.data import DataDir, combine, compute_durations

    if args.action == "validate":
        data = DataDir.load(args.dir)
        data.validate(name=args.dir, check_audio=not args.no_audio_check,
                      require_text=not args.no_text)
        print(f"{args.dir}: OK ({len(data)} utterances, {len(data.speakers)} speakers)")
    elif args.action == "info":
        data = DataDir.load(args.dir)
        if args.hours:
            if not data.utt2dur:
                raise ValueError(f"{args.dir}: no utt2dur; run `asr data durations` first")
            print(f"{data.num_hours:.4f}")
            return 0
        hours = f"{data.num_hours:.2f} h" if data.utt2dur else "unknown duration (no utt2dur)"
        print(f"{args.dir}: {len(data)} utterances, {len(data.speakers)} speakers, {hours}, "
              f"features: {'yes' if data.feats_scp else 'no'}")
    elif args.action == "durations":
        data = DataDir.load(args.dir)
        data.utt2dur = compute_durations(data)
        data.save(args.dir)
        print(f"{args.dir}: {data.num_hours:.2f} h")
    elif args.action == "subset":
        data = DataDir.load(args.src)
        if args.first is not None:
            part = data.first(args.first)
        elif args.last is not None:
            part = data.last(args.last)
        elif args.random is not None:
            part = data.random(args.random, seed=args.seed)
        elif args.hours is not None:
            part = data.by_hours(args.hours, seed=args.seed)
        elif args.speakers is not None:
            part = data.by_speakers(s for s in args.speakers.split(",") if s)
        else:
            part = data.subset(Path(args.utt_list).read_text(encoding="utf-8").split())
        part.save(args.dst)
        print(f"{args.dst}: {len(part)} utterances, {len(part.speakers)} speakers")
    elif args.action == "split":
        for part in split_dir(Path(args.dir), args.num_jobs, args.per_utt):
            print(part)
    elif args.action == "combine":
        merged = combine(DataDir.load(src) for src in args.srcs)
        merged.validate(name=args.dst, require_text=False)
        merged.save(args.dst)
        print(f"{args.dst}: {len(merged)} utterances")
    elif args.action == "copy":
        DataDir.load(args.src).save(args.dst)
    return 0
