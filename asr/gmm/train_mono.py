"""Flat-start monophone GMM-HMM training (Kaldi's ``train_mono.sh``).

1. Every pdf starts as one Gaussian with the global mean and variance of the
   features (CMVN-applied MFCC + deltas, :mod:`asr.gmm.feats`).
2. Iteration 0 uses equal alignments (frames shared evenly among the states of the
   mandatory phones); later iterations listed in ``realign_iters`` realign with
   Viterbi (:mod:`asr.gmm.align`) using the current model.
3. Each iteration accumulates statistics on the alignment, re-estimates GMMs (EM
   M-step) and transition probabilities, then splits mixtures towards a Gaussian
   count growing linearly up to ``total_gauss`` at iteration ``max_iter_inc``.

The average per-frame log-likelihood of the aligned frames (under the model before
the update) is logged every iteration and returned in the history.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import torch

from asr.gmm.align import (Alignment, align_utterances, compile_graph, equal_alignment,
                           save_alignments, transcript_slots)
from asr.gmm.am import AcousticModel
from asr.gmm.diag_gmm import DiagGmmSet, GmmStats, split_targets
from asr.hmm.topology import Topology, TopologyConfig
from asr.hmm.transition_model import TransitionModel
from asr.utils.io import atomic_write_text

log = logging.getLogger(__name__)


def _default_realign_iters() -> list[int]:
    return list(range(1, 11)) + list(range(12, 21, 2)) + list(range(23, 39, 3))


@dataclass
class GmmEmConfig:
    """Options shared by the GMM-HMM trainers (Viterbi EM with realignment and Gaussian
    splitting); defaults follow Kaldi's ``train_mono.sh``. :class:`MonoConfig` and
    :class:`asr.gmm.train_tri.TriConfig` add their own and change some defaults."""

    num_iters: int = 40
    total_gauss: int = 1000
    max_iter_inc: int = 30
    realign_iters: list[int] = field(default_factory=_default_realign_iters)
    acoustic_scale: float = 0.1
    # The Viterbi search is dense (every state every frame), so a beam saves no time
    # here; None keeps it exact. A beam only drops paths (an utterance whose path
    # falls out of it is retried with retry_beam, then skipped).
    beam: float | None = None
    retry_beam: float | None = None
    silence_phone: str = "SIL"
    sil_prob: float = 0.5
    min_gaussian_occupancy: float = 10.0
    min_gaussian_weight: float = 1e-5
    var_floor_fraction: float = 0.01
    split_power: float = 0.2
    split_min_count: float = 20.0
    perturb_factor: float = 0.01
    transition_floor: float = 0.01
    batch_size: int = 32
    seed: int = 0
    device: str = "cpu"
    # Realign everything with the final model at the end (written as ali.pt).
    final_align: bool = True


@dataclass
class MonoConfig(GmmEmConfig):
    """Monophone training options (defaults follow Kaldi's ``train_mono.sh``)."""

    first_min_gaussian_occupancy: float = 3.0
    topology: TopologyConfig = field(default_factory=TopologyConfig)


@dataclass
class MonoResult:
    """The trained model, per-iteration history, the utterances left out, and the
    alignments (by the final model with ``final_align``, else the last iteration's)."""

    model: AcousticModel
    history: list[dict]
    skipped: dict[str, str]
    alignments: dict[str, Alignment]


def phones_of(lexicon: Mapping[str, Sequence[Sequence[str]]], silence_phone: str = "SIL") -> list[str]:
    """Phone inventory: the silence phone first, then the lexicon's phones sorted."""
    phones = {p for prons in lexicon.values() for pron in prons for p in pron}
    phones.discard(silence_phone)
    return [silence_phone] + sorted(phones)


def accumulate(am: AcousticModel, feats: Mapping[str, torch.Tensor],
               alignments: Mapping[str, Alignment]) -> tuple[GmmStats, torch.Tensor]:
    """GMM statistics and transition counts ``(num_transition_ids,)`` over alignments."""
    utts = [u for u in alignments if u in feats]
    x = torch.cat([feats[u] for u in utts])
    pdfs = torch.cat([alignments[u].pdfs for u in utts])
    tids = torch.cat([alignments[u].transition_ids for u in utts])
    stats = am.gmm.accumulate(x, pdfs)
    counts = torch.bincount(tids, minlength=am.transition_model.num_transition_ids).double()
    return stats, counts


def train_mono(feats: Mapping[str, torch.Tensor], transcripts: Mapping[str, Sequence[str]],
               lexicon: Mapping[str, Sequence[Sequence[str]]],
               config: MonoConfig | None = None, out_dir: str | Path | None = None,
               phones: Sequence[str] | None = None, info: dict | None = None) -> MonoResult:
    """Train a monophone model.

    Args:
        feats: utterance id -> ``(T, D)`` features (e.g. :func:`asr.gmm.feats.mono_features`).
        transcripts: utterance id -> words.
        lexicon: word -> pronunciations (lists of phones).
        config: options (defaults: :class:`MonoConfig`).
        out_dir: when given, ``final.mdl`` (see :mod:`asr.gmm.am`), ``ali.pt``
            (:func:`asr.gmm.align.save_alignments`, with ``final_align``) and
            ``history.json`` are written there atomically.
        phones: phone inventory (default :func:`phones_of` the lexicon).
        info: extra metadata stored in the model (e.g. the feature pipeline).
    """
    cfg = config or MonoConfig()
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    topo = Topology(cfg.topology)
    tm = TransitionModel(phones or phones_of(lexicon, cfg.silence_phone), topo)
    skipped: dict[str, str] = {}
    graphs = {}
    for utt, words in transcripts.items():
        if utt not in feats:
            skipped[utt] = "no features"
            continue
        try:
            graph = compile_graph(transcript_slots(list(words), lexicon, cfg.silence_phone,
                                                   cfg.sil_prob, utt), tm)
        except ValueError as err:
            skipped[utt] = str(err)
            continue
        if feats[utt].shape[0] < graph.min_frames:
            skipped[utt] = (f"{feats[utt].shape[0]} frames < {graph.min_frames} states "
                            f"on the shortest path")
        else:
            graphs[utt] = graph
    for utt, why in skipped.items():
        log.warning("train_mono: skipping %s: %s", utt, why)
    if not graphs:
        raise ValueError("train_mono: no utterance has both features and a usable transcript")

    device = torch.device(cfg.device)
    feats = {u: feats[u].float() for u in graphs}
    all_x = torch.cat(list(feats.values())).double()
    mean, var = all_x.mean(0), all_x.var(0, unbiased=False).clamp_min(1e-6)
    gmm = DiagGmmSet.init_single(tm.num_pdfs, mean.float(), var.float()).to(device)
    am = AcousticModel(tm, gmm, {"type": "mono", "feat_dim": int(mean.numel()), **(info or {})})

    alignments = {}
    for utt, graph in graphs.items():
        ali = equal_alignment(graph, feats[utt].shape[0], tm)
        if ali is None:  # fits only through a shorter alternative: wait for realignment
            log.info("train_mono: %s left out of the flat-start pass", utt)
        else:
            alignments[utt] = ali
    if not alignments:
        raise ValueError("train_mono: no utterance fits its flat-start path")

    num_pdfs = tm.num_pdfs
    inc = max(0.0, (cfg.total_gauss - num_pdfs) / max(1, cfg.max_iter_inc))
    history: list[dict] = []
    for it in range(cfg.num_iters):
        realigned = it > 0 and it in cfg.realign_iters
        align_skipped = 0
        if realigned:
            res = align_utterances(am, feats, graphs,
                                   acoustic_scale=cfg.acoustic_scale, beam=cfg.beam,
                                   retry_beam=cfg.retry_beam, batch_size=cfg.batch_size)
            alignments = res.alignments
            align_skipped = res.num_skipped
        stats, counts = accumulate(am, feats, alignments)
        pdf_occ = am.gmm.pdf_occupancy(stats)
        min_occ = cfg.first_min_gaussian_occupancy if it == 0 else cfg.min_gaussian_occupancy
        gmm = am.gmm.update(stats, min_occupancy=min_occ, min_weight=cfg.min_gaussian_weight,
                            var_floor_fraction=cfg.var_floor_fraction)
        tm.update(counts, floor=cfg.transition_floor)
        target = int(round(num_pdfs + inc * min(it, cfg.max_iter_inc)))
        if it > 0 and target > gmm.num_gauss:
            targets = split_targets(pdf_occ, target, cfg.split_power, cfg.split_min_count,
                                    current=gmm.num_components)
            gmm = gmm.split(targets, cfg.perturb_factor, gen)
        am = AcousticModel(tm, gmm, am.info)
        entry = {"iter": it, "realigned": realigned, "avg_loglike": stats.avg_loglike,
                 "frames": stats.frames, "utts": len(alignments),
                 "align_skipped": align_skipped, "num_gauss": gmm.num_gauss}
        history.append(entry)
        log.info("mono iter %d: avg log-likelihood per frame %.4f over %d frames "
                 "(%d utts%s), %d Gaussians", it, stats.avg_loglike, int(stats.frames),
                 len(alignments), ", realigned" if realigned else "", gmm.num_gauss)
    am.info.update({"num_iters": cfg.num_iters, "num_gauss": am.gmm.num_gauss})
    if cfg.final_align:
        res = align_utterances(am, feats, graphs, acoustic_scale=cfg.acoustic_scale,
                               beam=cfg.beam, retry_beam=cfg.retry_beam,
                               batch_size=cfg.batch_size)
        alignments = res.alignments
        skipped.update(res.skipped)
    if out_dir is not None:
        out = Path(out_dir)
        am.save(out / "final.mdl")
        if cfg.final_align:
            save_alignments(out / "ali.pt", alignments)
        atomic_write_text(out / "history.json", json.dumps(history, indent=1) + "\n")
    return MonoResult(am, history, skipped, alignments)


def read_lexicon(path: str | Path) -> dict[str, list[list[str]]]:
    """``{word: [phones, ...]}`` from a Kaldi ``lexicon.txt`` or a CMU ``.dic`` file
    (read by :mod:`asr.lexicon`, which names the file and line of a bad entry)."""
    from asr.graph.mkgraph import load_lexicon_and_words

    lexicon, _ = load_lexicon_and_words(None, str(path))
    result: dict[str, list[list[str]]] = {}
    for entry in lexicon.entries:
        result.setdefault(entry.word, []).append(list(entry.phones))
    return result


FEATURES = "mfcc(13, kaldi defaults) + cmvn(mean, per speaker) + deltas(order 2, window 2)"


def datadir_features(data_dir: str | Path, max_utts: int | None = None,
                     transcribed_only: bool = True
                     ) -> tuple[dict[str, torch.Tensor], dict[str, list[str]]]:
    """MFCC + per-speaker CMVN + deltas and word transcripts of a Kaldi data dir.

    ``transcribed_only``: keep only utterances with a transcript (training); decoding
    passes False so that untranscribed audio is decoded too.
    """
    from asr.audio.io import load_audio
    from asr.data.datadir import DataDir
    from asr.features import functional as F
    from asr.gmm.feats import add_deltas_cmvn

    # Keep FEATURES (stored in the model) in step with this pipeline.
    data = DataDir.load(data_dir)
    utts = [u for u in data.utterances if u in data.text or not transcribed_only][:max_utts]
    mfccs = {}
    for utt in utts:
        entry, start, end = data.wav_entry(utt)
        mfccs[utt] = F.mfcc(load_audio(entry, 16000, start=start, end=end))
    utt2spk = {u: data.utt2spk.get(u, u) for u in utts}
    return add_deltas_cmvn(mfccs, utt2spk), {u: data.text[u].split() for u in utts
                                             if u in data.text}


def build_parser(parser=None):
    """The command-line arguments (also used by ``asr train-mono``)."""
    import argparse

    if parser is None:
        parser = argparse.ArgumentParser(prog="python -m asr.gmm.train_mono",
                                         description="Flat-start monophone GMM-HMM training.")
    parser.add_argument("--data", required=True, help="Kaldi data dir (wav.scp, text, utt2spk)")
    parser.add_argument("--lexicon", required=True, help="WORD PH1 PH2 ... per line (or CMU .dic)")
    parser.add_argument("--out", required=True, help="experiment dir (final.mdl, history.json)")
    parser.add_argument("--config", help="YAML with MonoConfig fields")
    parser.add_argument("--max-utts", type=int, help="use the first N utterances only")
    parser.add_argument("overrides", nargs="*", help="MonoConfig overrides, key=value")
    return parser


def run(args) -> int:
    import time

    from asr.config import load_config, save_config

    cfg = load_config(MonoConfig, args.config, args.overrides)
    start = time.perf_counter()
    feats, transcripts = datadir_features(args.data, args.max_utts)
    log.info("features of %d utterances in %.1f s", len(feats), time.perf_counter() - start)
    save_config(cfg, Path(args.out) / "config.yaml")
    start = time.perf_counter()
    result = train_mono(feats, transcripts, read_lexicon(args.lexicon), cfg, args.out,
                        info={"features": FEATURES})
    log.info("trained in %.1f s: %d Gaussians, %d utterances skipped; model %s",
             time.perf_counter() - start, result.model.gmm.num_gauss, len(result.skipped),
             Path(args.out) / "final.mdl")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m asr.gmm.train_mono --data D --lexicon L --out EXP [key=value ...]``."""
    from asr.utils import run_cli

    return run_cli(build_parser, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
