#!/usr/bin/env python3
"""Mutation fuzzing of the audio loader and the data dir parser.

Each target starts from real seed files (AN4 FLAC, a WAV made from it, a prepared
AN4 data dir), applies random byte-level mutations (bit flips, byte overwrites,
truncation, insertion, deletion, duplicated chunks) and runs the real code on the
result. Allowed outcomes: success, or the documented user-facing errors (ValueError
and its subclasses AudioError/DataDirError, FileNotFoundError). Anything else, or an
input taking longer than --timeout seconds, is a finding: saved under --crash-dir and
counted. The last line is one JSON object with the counts.

    python scripts/fuzz.py --count 10000            # both targets
    python scripts/fuzz.py --target audio --count 500 --seed 1
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ALLOWED = (ValueError, FileNotFoundError)


class Hang(Exception):
    pass


def mutate(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        pos = rng.randrange(len(buf)) if buf else 0
        if op == 0 and buf:
            buf[pos] ^= 1 << rng.randrange(8)
        elif op == 1 and buf:
            buf[pos] = rng.randrange(256)
        elif op == 2:
            del buf[rng.randrange(len(buf) + 1):]
        elif op == 3:
            buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif op == 4 and buf:
            del buf[pos:pos + rng.randint(1, 64)]
        elif op == 5 and buf:
            chunk = buf[pos:pos + rng.randint(1, 64)]
            buf[pos:pos] = chunk
    return bytes(buf)


def audio_seeds(work: Path) -> list[Path]:
    import soundfile as sf

    flac = sorted((REPO / "corpora" / "an4" / "wav" / "an4_clstk").rglob("*.flac"))[0]
    samples, rate = sf.read(flac, dtype="int16")
    wav = work / "seed.wav"
    sf.write(wav, samples[:4000], rate, subtype="PCM_16")
    small = work / "seed.flac"
    sf.write(small, samples[:4000], rate, subtype="PCM_16", format="FLAC")
    return [small, wav]


def run_audio(path: Path) -> None:
    from asr.audio import load_audio

    load_audio(path, 16000)


def datadir_seed(work: Path) -> Path:
    from asr.corpora.an4 import read_subset

    data = read_subset(REPO / "corpora" / "an4", "test").first(12)
    data.save(work / "seed_dir")
    return work / "seed_dir"


def run_datadir(path: Path) -> None:
    from asr.data import DataDir

    DataDir.load(path).validate(check_audio=False)


def fuzz(target: str, count: int, seed: int, timeout: float, crash_dir: Path) -> dict:
    rng = random.Random(seed)
    outcomes = {"ok": 0, "rejected": 0, "crashed": 0, "hung": 0}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if target == "audio":
            seeds = [(p.suffix, p.read_bytes()) for p in audio_seeds(work)]
        else:
            seed_dir = datadir_seed(work)
            files = {p.name: p.read_bytes() for p in seed_dir.iterdir()}
        # Import the code under test before the per-input timer starts: a slow first
        # import (torch, on a loaded machine) must not count as a hang of input 0.
        import asr.audio  # noqa: F401
        import asr.data  # noqa: F401

        signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(Hang()))
        for i in range(count):
            if target == "audio":
                suffix, data = rng.choice(seeds)
                case = work / f"case{suffix}"
                case.write_bytes(mutate(data, rng))
            else:
                case = work / "case_dir"
                case.mkdir(exist_ok=True)
                victim = rng.choice(sorted(files))
                for name, data in files.items():
                    (case / name).write_bytes(mutate(data, rng) if name == victim else data)
            signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                (run_audio if target == "audio" else run_datadir)(case)
                outcomes["ok"] += 1
            except ALLOWED:
                outcomes["rejected"] += 1
            except Hang:
                outcomes["hung"] += 1
                _save(case, crash_dir / f"{target}-hang-{i}")
            except Exception:  # noqa: BLE001 - a finding, recorded and counted
                outcomes["crashed"] += 1
                _save(case, crash_dir / f"{target}-crash-{i}", traceback.format_exc())
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
    return outcomes


def _save(case: Path, dest: Path, trace: str = "") -> None:
    import shutil

    dest.mkdir(parents=True, exist_ok=True)
    if case.is_dir():
        shutil.copytree(case, dest / case.name, dirs_exist_ok=True)
    else:
        shutil.copy(case, dest / case.name)
    (dest / "trace.txt").write_text(trace)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", choices=["audio", "datadir", "all"], default="all")
    parser.add_argument("--count", type=int, default=10000, help="mutated inputs per target")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per input")
    parser.add_argument("--crash-dir", default="fuzz-findings")
    args = parser.parse_args(argv)
    targets = ["audio", "datadir"] if args.target == "all" else [args.target]
    report = {"bench": "fuzz", "seed": args.seed}
    failed = False
    for target in targets:
        start = time.perf_counter()
        outcomes = fuzz(target, args.count, args.seed, args.timeout, Path(args.crash_dir))
        outcomes["seconds"] = round(time.perf_counter() - start, 1)
        report[target] = outcomes
        failed |= outcomes["crashed"] > 0 or outcomes["hung"] > 0
        print(f"{target}: {outcomes}", file=sys.stderr)
    print(json.dumps(report))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
