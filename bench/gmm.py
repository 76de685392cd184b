"""GMM log-likelihood throughput: ours (batched matrix products) vs a per-Gaussian loop.

Features are real AN4 frames (CMVN MFCC + deltas, 39 dims) repeated to
``--frames``; the GMM set has ``--gauss`` Gaussians spread over ``--pdfs`` pdfs
(the size of Kaldi's AN4 monophone model), means drawn from the frames.

- ours: :meth:`asr.gmm.diag_gmm.DiagGmmSet.loglikes` (float32) on ``--device``;
- reference: numpy float64, one vectorised ``N(x; mu_g, var_g)`` per Gaussian in a
  Python loop, then a log-sum-exp per pdf (what one writes without the expanded
  quadratic form).

Also timed (ours only): EM accumulation on an alignment and batched Viterbi
alignment of real AN4 utterances, both in frames per second.

    python bench/gmm.py                 # CPU (and CUDA when present)
    python bench/gmm.py --device cuda

The last line printed is one JSON object ``{"bench": "gmm", ...}``; throughputs are
frames x Gaussians per second, ``ratio`` is ours / reference.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asr.audio.io import load_audio  # noqa: E402
from asr.gmm.align import align_utterances, compile_graph, transcript_slots  # noqa: E402
from asr.gmm.am import AcousticModel  # noqa: E402
from asr.gmm.diag_gmm import DiagGmmSet  # noqa: E402
from asr.gmm.feats import mono_features  # noqa: E402
from asr.hmm.topology import Topology  # noqa: E402
from asr.hmm.transition_model import TransitionModel  # noqa: E402

AN4 = Path(__file__).resolve().parents[1] / "corpora" / "an4"


def an4_utterances(n: int):
    import re
    texts = {}
    for line in (AN4 / "etc" / "an4_train.transcription").read_text().splitlines():
        m = re.match(r"^(.*)\(([^()]+)\)\s*$", line)
        if m:
            texts[m[2]] = [w for w in m[1].split() if w not in ("<s>", "</s>")]
    lexicon: dict[str, list[list[str]]] = {}
    for line in (AN4 / "etc" / "an4.dic").read_text().splitlines():
        if line.strip():
            word, *phones = line.split()
            lexicon.setdefault(re.sub(r"\(\d+\)$", "", word), []).append(phones)
    ids = (AN4 / "etc" / "an4_train.fileids").read_text().split()[:n]
    feats = {f.split("/")[-1]: mono_features(load_audio(AN4 / "wav" / f"{f}.flac")) for f in ids}
    return feats, {u: texts[u] for u in feats}, lexicon


def make_gmm(x: torch.Tensor, num_gauss: int, num_pdfs: int, seed: int = 0) -> DiagGmmSet:
    g = torch.Generator().manual_seed(seed)
    counts = torch.full((num_pdfs,), num_gauss // num_pdfs)
    counts[: num_gauss - int(counts.sum())] += 1
    gauss_pdf = torch.repeat_interleave(torch.arange(num_pdfs), counts)
    means = x[torch.randint(0, x.shape[0], (num_gauss,), generator=g)]
    variances = x.var(0) * (0.3 + torch.rand(num_gauss, x.shape[1], generator=g))
    w = torch.rand(num_gauss, generator=g) + 0.1
    pdf_w = torch.zeros(num_pdfs).index_add_(0, gauss_pdf, w)
    return DiagGmmSet(means, variances, (w / pdf_w[gauss_pdf]).log(), gauss_pdf, num_pdfs)


def reference_loglikes(gmm: DiagGmmSet, x: np.ndarray) -> np.ndarray:
    """Per-Gaussian loop in numpy float64, then log-sum-exp within each pdf."""
    means = gmm.means.double().numpy()
    variances = gmm.variances.double().numpy()
    log_w = gmm.log_weights.double().numpy()
    pdf = gmm.gauss_pdf.numpy()
    G, D = means.shape
    per_gauss = np.empty((x.shape[0], G))
    for g in range(G):
        diff = x - means[g]
        per_gauss[:, g] = (log_w[g] - 0.5 * (D * math.log(2 * math.pi) + np.log(variances[g]).sum())
                           - 0.5 * (diff * diff / variances[g]).sum(1))
    out = np.empty((x.shape[0], gmm.num_pdfs))
    for p in range(gmm.num_pdfs):
        block = per_gauss[:, pdf == p]
        top = block.max(1, keepdims=True)
        out[:, p] = (top + np.log(np.exp(block - top).sum(1, keepdims=True)))[:, 0]
    return out


def timed(fn, repeats: int, sync=lambda: None) -> float:
    fn()
    sync()
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20000)
    parser.add_argument("--gauss", type=int, default=1000)
    parser.add_argument("--pdfs", type=int, default=104)
    parser.add_argument("--utts", type=int, default=64, help="AN4 utterances read")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    feats, transcripts, lexicon = an4_utterances(args.utts)
    real = torch.cat(list(feats.values()))
    x = real.repeat(math.ceil(args.frames / real.shape[0]), 1)[: args.frames].contiguous()
    gmm = make_gmm(x, args.gauss, args.pdfs)
    work = args.frames * args.gauss

    ours_gmm, ours_x = gmm.to(device), x.to(device)
    ours_s = timed(lambda: ours_gmm.loglikes(ours_x), args.repeats, sync)
    ours = ours_gmm.loglikes(ours_x).double().cpu().numpy()
    # The numpy loop is slow: time it on a slice and scale (it is linear in frames).
    ref_frames = min(args.frames, 4000)
    x_np = x[:ref_frames].double().numpy()
    ref_s = timed(lambda: reference_loglikes(gmm, x_np), 1) * args.frames / ref_frames
    ref = reference_loglikes(gmm, x_np)
    max_abs_diff = float(np.abs(ours[:ref_frames] - ref).max())
    max_rel_diff = float((np.abs(ours[:ref_frames] - ref) / np.abs(ref)).max())

    pdfs = torch.randint(0, args.pdfs, (args.frames,), generator=torch.Generator().manual_seed(1))
    acc_s = timed(lambda: ours_gmm.accumulate(ours_x, pdfs.to(device)), args.repeats, sync)

    tm = TransitionModel(["SIL"] + sorted({p for prons in lexicon.values() for pr in prons
                                           for p in pr} - {"SIL"}), Topology())
    am = AcousticModel(tm, make_gmm(real, args.gauss, tm.num_pdfs).to(device))
    graphs = {u: compile_graph(transcript_slots(transcripts[u], lexicon, utt=u), tm) for u in feats}
    align_frames = sum(feats[u].shape[0] for u in feats)
    align_s = timed(lambda: align_utterances(am, feats, graphs, batch_size=32), 1, sync)

    result = {
        "bench": "gmm", "device": str(device), "torch_threads": torch.get_num_threads(),
        "frames": args.frames, "gauss": args.gauss, "pdfs": args.pdfs, "dim": x.shape[1],
        "ours_s": round(ours_s, 5), "ref_s": round(ref_s, 4),
        "ours_frame_gauss_per_s": round(work / ours_s), "ref_frame_gauss_per_s": round(work / ref_s),
        "ratio": round(ref_s / ours_s, 2), "max_abs_diff": max_abs_diff,
        "max_rel_diff": max_rel_diff,
        "accumulate_frames_per_s": round(args.frames / acc_s),
        "align_frames_per_s": round(align_frames / align_s), "align_utts": len(feats),
    }
    print(f"log-likelihoods: ours {result['ours_frame_gauss_per_s']:.3g} frame*gauss/s, "
          f"reference {result['ref_frame_gauss_per_s']:.3g} ({result['ratio']}x), "
          f"max |diff| {max_abs_diff:.2e}")
    print(f"EM accumulation {result['accumulate_frames_per_s']} frames/s; "
          f"Viterbi alignment {result['align_frames_per_s']} frames/s on {device}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
