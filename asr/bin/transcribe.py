"""Transcribe audio files with a trained system.

Any format soundfile reads (WAV, FLAC, OGG, ...), any sample rate, stereo mixed down;
long audio is cut into chunks. Output: plain text (one line per file: path and
transcript), JSON (with word timings from the CTC alignment) or SRT subtitles.

Examples:
  asr transcribe --model recipes/an4/exp/e2e audio1.flac audio2.wav
  asr transcribe --model recipes/an4/exp/tri3 audio1.flac     # GMM, SAT, hybrid, phone CTC: via their graph
  asr transcribe --model exp/e2e --format json --out result.json *.wav
  asr transcribe --model exp/e2e --format srt talk.wav > talk.srt

From Python:
  from asr import transcribe
  print(transcribe("recipes/an4/exp/e2e", ["audio.wav"])[0]["text"])
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

COMMAND = "transcribe"
HELP = "transcribe audio files (text, JSON with word timings, or SRT)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="experiment dir of a trained system")
    parser.add_argument("files", nargs="+", help="audio files")
    parser.add_argument("--format", choices=["text", "json", "srt"], default="text")
    parser.add_argument("--out", help="write here instead of standard output")
    parser.add_argument("-o", "--override", action="append", default=[], metavar="KEY=VALUE",
                        help="decoding option, e.g. method=ctc_greedy (repeatable)")
    parser.add_argument("--chunk-seconds", type=float, default=30.0,
                        help="cut longer audio into chunks of this many seconds")
    parser.add_argument("--device", help="cpu or cuda (default: cuda when available)")


def _srt_time(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def format_srt(results: list[dict], words_per_caption: int = 8) -> str:
    """SRT captions of up to ``words_per_caption`` words, timed from word timings."""
    lines, index = [], 1
    for result in results:
        words = result.get("words", [])
        for i in range(0, len(words), words_per_caption):
            group = words[i:i + words_per_caption]
            lines += [str(index), f"{_srt_time(group[0]['start'])} --> {_srt_time(group[-1]['end'])}",
                      " ".join(w["word"] for w in group), ""]
            index += 1
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from asr.api import transcribe

    files = [Path(f) for f in args.files]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise FileNotFoundError(f"audio file(s) not found: {', '.join(missing)}")
    results = []
    for path in tqdm(files, desc="transcribing", unit="file", disable=len(files) < 3 or None):
        results.extend(transcribe(args.model, [path], timings=args.format != "text",
                                  overrides=args.override, chunk_seconds=args.chunk_seconds,
                                  device=args.device))
    if args.format == "json":
        output = json.dumps(results, indent=2, ensure_ascii=False) + "\n"
    elif args.format == "srt":
        output = format_srt(results)
    else:
        output = "".join(f"{r['file']}\t{r['text']}\n" for r in results)
    if args.out:
        from asr.utils.io import atomic_write_text
        atomic_write_text(args.out, output)
    else:
        sys.stdout.write(output)
    return 0
