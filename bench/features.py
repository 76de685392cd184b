"""Feature extraction speed and numerics: asr.features vs kaldi-native-fbank.

Collects AN4 train utterances (real speech) until there are 60 s of audio, then on
one thread measures seconds of audio per second of compute (xRT) for our fbank
(80 bins) and MFCC (13 ceps, energy) and for kaldi-native-fbank's, with the same
options and dither off. Ours runs the way ``extract_shard`` does (length-sorted
padded batches); the reference runs utterance by utterance through its Python API
(numpy input, ``get_frame`` per frame), which is how it is called. Its binding
converts a numpy array element by element, so its time with the input already a
Python list (converted before timing: its fastest form) is shown too, as the
stricter comparison. Runs alternate between the implementations and the best of
``--repeats`` is kept for each.

Prints a table and, as the last line, one JSON object.

    python bench/features.py [--seconds 60] [--repeats 7]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from asr.features.extract import compute_group
from asr.features.modules import FbankConfig, MfccConfig, make_extractor

REPO = Path(__file__).resolve().parents[1]
AN4_TRAIN = REPO / "corpora" / "an4" / "wav" / "an4_clstk"


def load_audio(seconds: float) -> list[np.ndarray]:
    waves, total = [], 0
    for path in sorted(AN4_TRAIN.rglob("*.flac")):
        audio, rate = sf.read(path, dtype="float32")
        assert rate == 16000, path
        waves.append(audio)
        total += len(audio)
        if total >= seconds * 16000:
            return waves
    raise SystemExit(f"only {total / 16000:.1f} s of audio under {AN4_TRAIN}")


def ours(config, waves: list[torch.Tensor]) -> list[torch.Tensor]:
    extractor = make_extractor(config)
    with torch.inference_mode():
        return compute_group(extractor, waves, limit=60 * 16000)


def reference(kind: str, waves) -> list[np.ndarray]:
    import kaldi_native_fbank as knf

    out = []
    for wave in waves:
        if kind == "fbank":
            opts = knf.FbankOptions()
            opts.mel_opts.num_bins = 80
        else:
            opts = knf.MfccOptions()
        opts.frame_opts.dither = 0.0
        comp = knf.OnlineFbank(opts) if kind == "fbank" else knf.OnlineMfcc(opts)
        comp.accept_waveform(16000, wave)
        comp.input_finished()
        out.append(np.stack([comp.get_frame(i) for i in range(comp.num_frames_ready)]))
    return out


def best_times(fns: dict, repeats: int) -> dict[str, float]:
    best = {name: math.inf for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(1)

    waves = load_audio(args.seconds)
    audio_seconds = sum(len(w) for w in waves) / 16000
    tensors = [torch.from_numpy(w) for w in waves]
    int16_scale = [w * 32768.0 for w in waves]            # knf uses its input as is
    int16_lists = [w.tolist() for w in int16_scale]       # its fastest input form, untimed
    fbank_cfg, mfcc_cfg = FbankConfig(num_mel_bins=80), MfccConfig()

    fns = {
        "ours_fbank": lambda: ours(fbank_cfg, tensors),
        "ref_fbank": lambda: reference("fbank", int16_scale),
        "ref_fbank_list": lambda: reference("fbank", int16_lists),
        "ours_mfcc": lambda: ours(mfcc_cfg, tensors),
        "ref_mfcc": lambda: reference("mfcc", int16_scale),
        "ref_mfcc_list": lambda: reference("mfcc", int16_lists),
    }
    for fn in fns.values():  # warm up caches and lazy initialisation
        fn()
    times = best_times(fns, args.repeats)
    xrt = {name: audio_seconds / t for name, t in times.items()}

    diffs = {}
    for kind, cfg in (("fbank", fbank_cfg), ("mfcc", mfcc_cfg)):
        a = ours(cfg, tensors)
        b = reference(kind, int16_scale)
        diffs[kind] = max(float(np.abs(x.numpy() - y).max()) for x, y in zip(a, b))
    # Mel bins under 1e-6 of their frame's energy are at float32 FFT resolution in
    # both implementations; the bound on the other bins is the meaningful one.
    cond = []
    for x, wave in zip(ours(FbankConfig(use_energy=True), tensors), int16_scale):
        import kaldi_native_fbank as knf
        opts = knf.FbankOptions()
        opts.mel_opts.num_bins, opts.frame_opts.dither, opts.use_energy = 80, 0.0, True
        comp = knf.OnlineFbank(opts)
        comp.accept_waveform(16000, wave)
        comp.input_finished()
        y = np.stack([comp.get_frame(i) for i in range(comp.num_frames_ready)])
        keep = (y[:, :1] - y[:, 1:]) < math.log(1e6)
        cond.append(float(np.abs(x.numpy()[:, 1:] - y[:, 1:])[keep].max()))

    print(f"{len(waves)} AN4 utterances, {audio_seconds:.1f} s of audio, 1 thread, "
          f"best of {args.repeats} (wall clock)")
    print(f"{'':28s}{'seconds':>10s}{'xRT':>10s}")
    for name, t in times.items():
        print(f"{name:28s}{t:10.4f}{xrt[name]:10.0f}")
    fbank_ratio = xrt["ours_fbank"] / xrt["ref_fbank"]
    mfcc_ratio = xrt["ours_mfcc"] / xrt["ref_mfcc"]
    print(f"fbank: ours/ref {fbank_ratio:.2f}x (vs ref given Python lists "
          f"{xrt['ours_fbank'] / xrt['ref_fbank_list']:.2f}x); max |diff| {diffs['fbank']:.2e} "
          f"(bins above 1e-6 of frame energy: {max(cond):.2e})")
    print(f"mfcc:  ours/ref {mfcc_ratio:.2f}x (vs ref given Python lists "
          f"{xrt['ours_mfcc'] / xrt['ref_mfcc_list']:.2f}x); max |diff| {diffs['mfcc']:.2e}")
    print(json.dumps({
        "bench": "features",
        "audio_seconds": round(audio_seconds, 2),
        "ours_fbank_xrt": round(xrt["ours_fbank"], 1),
        "ref_fbank_xrt": round(xrt["ref_fbank"], 1),
        "fbank_ratio": round(fbank_ratio, 3),
        "ref_fbank_list_xrt": round(xrt["ref_fbank_list"], 1),
        "fbank_ratio_list": round(xrt["ours_fbank"] / xrt["ref_fbank_list"], 3),
        "ours_mfcc_xrt": round(xrt["ours_mfcc"], 1),
        "ref_mfcc_xrt": round(xrt["ref_mfcc"], 1),
        "mfcc_ratio": round(mfcc_ratio, 3),
        "ref_mfcc_list_xrt": round(xrt["ref_mfcc_list"], 1),
        "mfcc_ratio_list": round(xrt["ours_mfcc"] / xrt["ref_mfcc_list"], 3),
        "max_abs_diff_fbank": diffs["fbank"],
        "max_abs_diff_fbank_conditioned": max(cond),
        "max_abs_diff_mfcc": diffs["mfcc"],
    }))


if __name__ == "__main__":
    main()
