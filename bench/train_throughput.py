"""Training throughput: seconds of audio trained on per second of wall time.

Runs the real training loop (:class:`asr.training.trainer.Trainer`: sampler, dataset,
collate, SpecAugment, forward, backward, AdamW step) on synthetic utterances: random
log-mel-like features of 100 frames per second with durations drawn uniformly from
``--min-dur``..``--max-dur`` seconds and random token targets. The first
``--warmup-steps`` steps are not timed.

    python bench/train_throughput.py                           # tiny CTC model, CPU/GPU
    python bench/train_throughput.py --model conformer_aed --precision bf16 --vs-fp32

The last line printed is one JSON object ``{"bench": "train_throughput", ...}`` with
``audio_s_per_s`` (audio seconds per wall second) and ``steps_per_s``; with ``--vs-fp32``
also ``fp32_audio_s_per_s`` and ``speedup_vs_fp32`` (the same steps run again in fp32,
the reference). bf16 autocast runs on CUDA and on CPU; it pays on CPUs with AVX512-BF16
or AMX.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asr.nn.specaugment import SpecAugment  # noqa: E402
from asr.training.dataset import UtteranceDataset  # noqa: E402
from asr.training.logging import read_log  # noqa: E402
from asr.training.sampler import DurationBucketSampler  # noqa: E402
from asr.training.trainer import Trainer, TrainerConfig  # noqa: E402


def synthetic_corpus(num_utts: int, num_bins: int, vocab: int, min_dur: float,
                     max_dur: float, seed: int):
    rng = np.random.default_rng(seed)
    durations, feats, targets = {}, {}, {}
    for i in range(num_utts):
        utt = f"utt{i:05d}"
        dur = float(rng.uniform(min_dur, max_dur))
        frames = int(dur * 100)
        durations[utt] = dur
        feats[utt] = rng.standard_normal((frames, num_bins), dtype=np.float32)
        # about 3 tokens per second, as BPE-300 on read speech
        targets[utt] = rng.integers(2, vocab - 1, max(1, int(dur * 3))).tolist()
    return durations, feats, targets


def build_model(name: str, config: dict, num_bins: int, vocab: int):
    import asr.training.tiny_model  # noqa: F401  (registers tiny_ctc)
    from asr.models.registry import build_model as build

    try:
        import asr.models  # noqa: F401  (registers the toolkit's models)
    except ImportError as err:
        logging.warning("asr.models not importable (%s): only tiny_ctc", err)
    settings = {"input_dim": num_bins, "vocab_size": vocab, **config}
    return build(name, settings), {"name": name, **settings}


def measure(args: argparse.Namespace, precision: str) -> dict:
    """One timed training run at ``precision``; the result fields of the JSON line."""
    durations, feats, targets = synthetic_corpus(args.num_utts, args.num_bins, args.vocab,
                                                 args.min_dur, args.max_dur, seed=0)
    ids = sorted(durations)
    dataset = UtteranceDataset(ids, targets, durations, features=feats)
    sampler = DurationBucketSampler(dataset.duration_list(), args.max_duration, 10,
                                    world_size=1, rank=0)
    torch.manual_seed(0)
    model, model_config = build_model(args.model, json.loads(args.model_config),
                                      args.num_bins, args.vocab)
    total = args.warmup_steps + args.steps
    config = TrainerConfig(epochs=1000, max_steps=total, lr=1e-3, warmup_steps=10,
                           log_every_steps=1, checkpoint_every_steps=0, keep_last=1,
                           precision=precision, device=args.device,
                           num_workers=args.num_workers, progress_bar=False,
                           pad_to_multiple=args.pad_to_multiple,
                           tensorboard=False)
    with tempfile.TemporaryDirectory() as exp:
        trainer = Trainer(model, config, exp, dataset, sampler, model_config=model_config,
                          augment=SpecAugment())
        start = time.perf_counter()
        trainer.fit(resume=False)
        wall = time.perf_counter() - start
        records = read_log(Path(exp) / "log" / "train_log.jsonl", "train")
    timed = records[args.warmup_steps:]
    audio = sum(r["audio_s"] for r in timed)
    elapsed = sum(r["elapsed_s"] for r in timed)
    result = {
        "bench": "train_throughput",
        "model": args.model,
        "params": sum(p.numel() for p in model.parameters()),
        "device": str(trainer.device) + (f" ({torch.cuda.get_device_name(trainer.device)})"
                                         if trainer.device.type == "cuda" else ""),
        "precision": precision if trainer.amp_dtype is not None or
        precision == "fp32" else "fp32 (no CUDA)",
        "max_duration": args.max_duration,
        "pad_to_multiple": args.pad_to_multiple,
        "timed_steps": len(timed),
        "audio_s": round(audio, 2),
        "train_s": round(elapsed, 3),
        "audio_s_per_s": round(audio / elapsed, 2) if elapsed > 0 else None,
        "steps_per_s": round(len(timed) / elapsed, 3) if elapsed > 0 else None,
        "total_wall_s": round(wall, 2),
        "final_loss": records[-1]["loss"] if records else None,
        "torch": torch.__version__,
    }
    if trainer.device.type == "cuda":
        result["peak_mem_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 3)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="tiny_ctc", help="registered model name")
    p.add_argument("--model-config", default="{}", help="JSON dict of model config keys")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"])
    p.add_argument("--max-duration", type=float, default=60.0, help="seconds per batch")
    p.add_argument("--num-utts", type=int, default=200)
    p.add_argument("--min-dur", type=float, default=1.0)
    p.add_argument("--max-dur", type=float, default=6.0)
    p.add_argument("--num-bins", type=int, default=80)
    p.add_argument("--vocab", type=int, default=300)
    p.add_argument("--steps", type=int, default=20, help="timed optimizer steps")
    p.add_argument("--warmup-steps", type=int, default=3, help="untimed first steps")
    p.add_argument("--num-workers", type=int, default=0)
    p.add_argument("--pad-to-multiple", type=int, default=1, help="pad frames per batch")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    p.add_argument("--vs-fp32", action="store_true",
                   help="also run the same steps in fp32 and print the speed-up")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    result = measure(args, args.precision)
    if args.vs_fp32 and args.precision != "fp32":
        reference = measure(args, "fp32")
        result["fp32_audio_s_per_s"] = reference["audio_s_per_s"]
        if reference["audio_s_per_s"]:
            result["speedup_vs_fp32"] = round(result["audio_s_per_s"] /
                                              reference["audio_s_per_s"], 3)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
