"""tri2 (LDA+MLLT) and tri3 (SAT) training, as Kaldi's ``train_lda_mllt.sh`` and
``train_sat.sh``.

**tri2** (:func:`train_lda_mllt`): 13-dim CMVN'd MFCC spliced +-3 frames (91 dims) ->
LDA to 40 dims, the classes being the pdfs of the previous system's alignment
(silence frames weighted ``lda_silence_weight``, Kaldi 0) -> a context-dependent
system trained on those features from the previous alignment (tree built on the
new features). MLLT is re-estimated at ``mllt_iters`` (Kaldi: 2 4 6 12) from the
current model and alignment: ``A`` from :func:`asr.gmm.lda_mllt.estimate_mllt`,
the model moved to the new space (means ``A mu``, variances their ML value
``diag(A S_g A^T) / occ_g`` from the same statistics; Kaldi keeps the variances
until the next EM pass), and the feature matrix becomes ``A @ M``. Output:
``final.mat (40, 91)`` plus the model.

**tri3** (:func:`train_sat`): speaker-independent features ``final.mat @ splice(x)``
from tri2; per-speaker fMLLR estimated with tri2's model and alignment; a new
context-dependent system trained on the adapted features from tri2's alignment;
fMLLR re-estimated at ``fmllr_iters`` (Kaldi: 2 4 6 12) with the current model.
At the end, ``final.alimdl``: the speaker-independent model for the first decoding
pass (Kaldi's ``gmm-acc-stats-twofeats``: Gaussian posteriors of the adapted
frames under the final model, statistics of the unadapted frames, one M-step).
Output: ``final.mat``, ``final.mdl``, ``final.alimdl``, ``trans.pt`` (speaker ->
``(40, 41)`` fMLLR), ``ali.pt``.

The context-dependent trainer is :func:`asr.gmm.train_tri.train_tri` (``system:
tri``, options in ``trainer``); ``system: mono`` trains monophones from the previous
(monophone) alignment instead, with the same transforms, for small tests and as a
fallback.

Sizes: 500 leaves / 4000 Gaussians with 35 iterations overfit AN4 (0.6 h): tri3 7.2%
test WER against 4.3% with ``trainer.num_leaves=300 trainer.total_gauss=1500
trainer.num_iters=25 trainer.realign_iters=[10,20] trainer.max_iter_inc=20`` (dev-tuned;
tri2 9.2%). The trainer's defaults (:class:`asr.gmm.train_tri.TriConfig`) are those
300 / 1500 AN4 sizes, too small for tens of hours of speech: size larger corpora with
``trainer.num_leaves`` / ``trainer.total_gauss``.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch

from asr.gmm.align import Alignment, save_alignments
from asr.gmm.am import AcousticModel
from asr.gmm.diag_gmm import DiagGmmSet, GmmStats
from asr.gmm.fmllr import adapt_features, estimate_speaker_transforms
from asr.gmm.lda_mllt import (LdaStats, MlltStats, apply_transform, estimate_lda,
                              estimate_mllt, gauss_posteriors, load_transform,
                              mllt_g_stats, save_transform, silence_weights,
                              splice_frames, transform_model)
from asr.utils.io import atomic_open, atomic_write_text

log = logging.getLogger(__name__)

FEATURES = "mfcc(13, kaldi defaults) + cmvn(mean, per speaker)"


@dataclass
class LdaMlltConfig:
    """tri2 options (defaults follow Kaldi's ``train_lda_mllt.sh``)."""

    splice_context: int = 3
    dim: int = 40
    mllt_iters: list[int] = field(default_factory=lambda: [2, 4, 6, 12])
    mllt_row_passes: int = 10
    lda_silence_weight: float = 0.0
    mllt_silence_weight: float = 0.0
    system: str = "tri"          # "tri" (asr.gmm.train_tri) or "mono"
    trainer: dict = field(default_factory=dict)   # the trainer's config fields


@dataclass
class SatConfig:
    """tri3 options (defaults follow Kaldi's ``train_sat.sh``)."""

    fmllr_iters: list[int] = field(default_factory=lambda: [2, 4, 6, 12])
    fmllr_row_passes: int = 10
    fmllr_min_count: float = 50.0
    silence_weight: float = 0.0
    system: str = "tri"
    trainer: dict = field(default_factory=dict)


@dataclass
class SystemResult:
    """What a tri2/tri3 training returns."""

    model: AcousticModel
    matrix: torch.Tensor                      # (dim, 91) LDA+MLLT
    alignments: dict[str, Alignment]
    history: list[dict]
    transform_history: list[dict]
    skipped: dict[str, str]
    transforms: dict[str, torch.Tensor] = field(default_factory=dict)   # tri3: speaker -> fMLLR
    alignment_model: AcousticModel | None = None                        # tri3: final.alimdl
    tree: Any = None


# ------------------------------------------------------------------ features

def static_features(data_dir: str | Path, max_utts: int | None = None
                    ) -> tuple[dict[str, torch.Tensor], dict[str, list[str]], dict[str, str]]:
    """13-dim MFCC, mean-normalised per speaker, the word transcripts (empty when the
    data dir has no text) and ``utt2spk`` of a Kaldi data dir."""
    from asr.audio.io import load_audio
    from asr.data.datadir import DataDir
    from asr.features import functional as F

    data = DataDir.load(data_dir)
    utts = list(data.utterances)[:max_utts]
    utt2spk = {u: data.utt2spk.get(u, u) for u in utts}
    mfccs = {}
    for utt in utts:
        entry, start, end = data.wav_entry(utt)
        mfccs[utt] = F.mfcc(load_audio(entry, 16000, start=start, end=end))
    by_spk: dict[str, list[str]] = {}
    for u in utts:
        by_spk.setdefault(utt2spk[u], []).append(u)
    feats = {}
    for members in by_spk.values():
        stats = [F.cmvn_stats(mfccs[u]) for u in members]
        pooled = (sum(s[0] for s in stats), sum(s[1] for s in stats), sum(s[2] for s in stats))
        for u in members:
            feats[u] = F.apply_cmvn(mfccs[u], pooled)
    texts = {u: data.text[u].split() for u in utts if u in data.text}
    return {u: feats[u] for u in utts}, texts, utt2spk


def lda_mllt_features(feats: Mapping[str, torch.Tensor], matrix: torch.Tensor,
                      context: int = 3) -> dict[str, torch.Tensor]:
    """utt -> ``matrix @ splice(x)`` ``(T, dim)`` float32."""
    return {u: apply_transform(splice_frames(x.double(), context), matrix).float()
            for u, x in feats.items()}


def spk2utt_of(utt2spk: Mapping[str, str], utts: Sequence[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for u in utts:
        out.setdefault(utt2spk.get(u, u), []).append(u)
    return out


# ------------------------------------------------------------------ transforms

def estimate_lda_from_alignment(spliced: Mapping[str, torch.Tensor],
                                alignments: Mapping[str, Alignment], am: AcousticModel,
                                dim: int, silence_weight: float = 0.0
                                ) -> tuple[torch.Tensor, torch.Tensor]:
    """LDA ``(dim, D)`` and eigenvalues from spliced frames, classes = aligned pdfs."""
    utts = [u for u in alignments if u in spliced]
    d = spliced[utts[0]].shape[1]
    stats = LdaStats.zeros(am.transition_model.num_pdfs, d)
    for u in utts:
        ali = alignments[u]
        if ali.pdfs.shape[0] != spliced[u].shape[0]:
            raise ValueError(f"LDA: utterance {u!r} has {spliced[u].shape[0]} frames but "
                             f"{ali.pdfs.shape[0]} aligned")
        stats.accumulate(spliced[u], ali.pdfs,
                         silence_weights(am.transition_model, ali.transition_ids, silence_weight))
    return estimate_lda(stats, dim)


def estimate_mllt_step(am: AcousticModel, feats: Mapping[str, torch.Tensor],
                       alignments: Mapping[str, Alignment], silence_weight: float = 0.0,
                       row_passes: int = 10) -> tuple[torch.Tensor, AcousticModel, dict]:
    """One MLLT estimate from the current model and alignment: ``A (D, D)``, the model
    moved to ``A x`` space, and ``{"aux_before", "aux_after", "frames"}``."""
    utts = [u for u in alignments if u in feats]
    stats = MlltStats.zeros(am.gmm.num_gauss, am.gmm.dim)
    stats.accumulate(am.gmm, torch.cat([feats[u] for u in utts]),
                     torch.cat([alignments[u].pdfs for u in utts]),
                     torch.cat([silence_weights(am.transition_model, alignments[u].transition_ids,
                                                silence_weight) for u in utts]))
    g, beta = mllt_g_stats(stats, am.gmm)
    a, before, after = estimate_mllt(g, beta, row_passes)
    new_am = AcousticModel(am.transition_model, transform_model(am.gmm, a, stats), dict(am.info))
    return a, new_am, {"aux_before": before, "aux_after": after, "frames": beta}


def alignment_model(am: AcousticModel, adapted: Mapping[str, torch.Tensor],
                    unadapted: Mapping[str, torch.Tensor],
                    alignments: Mapping[str, Alignment]) -> AcousticModel:
    """Speaker-independent model with ``am``'s structure: Gaussian posteriors of the
    adapted frames under ``am``, statistics of the unadapted frames, one M-step."""
    gmm = am.gmm
    stats = GmmStats.zeros(gmm.num_gauss, gmm.dim)
    for u, ali in alignments.items():
        if u not in adapted:
            continue
        index, post, ll = gauss_posteriors(gmm, adapted[u], ali.pdfs)
        x = unadapted[u].double()
        keep = index < gmm.num_gauss
        rows = torch.arange(x.shape[0])[:, None].expand_as(index)[keep]
        idx, p = index[keep].cpu(), post[keep].cpu()
        stats.occ.index_add_(0, idx, p)
        stats.sum_x.index_add_(0, idx, p[:, None] * x[rows])
        stats.sum_x2.index_add_(0, idx, p[:, None] * x[rows] ** 2)
        stats.loglike += float(ll.sum())
        stats.frames += float(x.shape[0])
    # Gaussians with little data keep the adapted model's parameters.
    new = gmm.update(stats, min_occupancy=10.0, remove_low_count=False)
    return AcousticModel(am.transition_model, new, {**am.info, "type": "alignment model"})


# ------------------------------------------------------------------ trainers

def _train_tri(feats, transcripts, lexicon, alignments, prev_model, options, out_dir, info,
               hook):
    from asr.config import from_dict
    from asr.gmm.train_tri import TriConfig, train_tri

    cfg = from_dict(TriConfig, options, "trainer")
    return train_tri(feats, transcripts, lexicon, alignments, prev_model, cfg, out_dir,
                     info=info, iteration_hook=hook)


MONO_DEFAULTS = {"num_iters": 25, "total_gauss": 1000, "max_iter_inc": 15,
                 "realign_iters": [5, 10, 15, 20]}


def _train_mono(feats, transcripts, lexicon, alignments, prev_model, options, out_dir, info,
                hook):
    """Monophones on ``feats`` started from a monophone alignment (not a flat start)."""
    from asr.config import from_dict
    from asr.gmm.align import align_utterances, compile_graph, transcript_slots
    from asr.gmm.diag_gmm import split_targets
    from asr.gmm.train_mono import MonoConfig, MonoResult, accumulate
    from asr.hmm.transition_model import TransitionModel

    cfg = from_dict(MonoConfig, {**MONO_DEFAULTS, **options}, "trainer")
    old = prev_model.transition_model
    tm = TransitionModel(old.phones, old.topology)
    if tm.num_transition_ids != old.num_transition_ids or not torch.equal(tm.tuples, old.tuples):
        raise ValueError("system 'mono' needs a monophone alignment (previous model is "
                         "context dependent); use system 'tri'")
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    graphs, skipped = {}, {}
    for utt, words in transcripts.items():
        if utt not in feats:
            continue
        try:
            graphs[utt] = compile_graph(transcript_slots(list(words), lexicon, cfg.silence_phone,
                                                         cfg.sil_prob, utt), tm)
        except ValueError as err:
            skipped[utt] = str(err)
    feats = {u: feats[u].float() for u in graphs}
    alignments = {u: a for u, a in alignments.items() if u in feats}
    x = torch.cat(list(feats.values())).double()
    gmm = DiagGmmSet.init_single(tm.num_pdfs, x.mean(0).float(),
                                 x.var(0, unbiased=False).clamp_min(1e-6).float())
    am = AcousticModel(tm, gmm, {"type": "mono", "feat_dim": x.shape[1], **(info or {})})
    # Single Gaussians from the given alignment (one M-step from the flat model).
    stats, _ = accumulate(am, feats, alignments)
    am = AcousticModel(tm, am.gmm.update(stats, min_occupancy=0.0), am.info)
    inc = max(0.0, (cfg.total_gauss - tm.num_pdfs) / max(1, cfg.max_iter_inc))
    history = []
    for it in range(cfg.num_iters):
        realigned = it > 0 and it in cfg.realign_iters
        if realigned:
            res = align_utterances(am, feats, graphs, acoustic_scale=cfg.acoustic_scale,
                                   batch_size=cfg.batch_size)
            alignments = res.alignments
        if hook is not None and it >= 1:
            changed = hook(it, am, alignments, feats)
            if changed is not None:
                feats, am = changed
        stats, counts = accumulate(am, feats, alignments)
        pdf_occ = am.gmm.pdf_occupancy(stats)
        gmm = am.gmm.update(stats, min_occupancy=cfg.min_gaussian_occupancy,
                            min_weight=cfg.min_gaussian_weight,
                            var_floor_fraction=cfg.var_floor_fraction)
        tm.update(counts, floor=cfg.transition_floor)
        target = int(round(tm.num_pdfs + inc * min(it + 1, cfg.max_iter_inc)))
        if target > gmm.num_gauss:
            gmm = gmm.split(split_targets(pdf_occ, target, cfg.split_power, cfg.split_min_count,
                                          current=gmm.num_components), cfg.perturb_factor, gen)
        am = AcousticModel(tm, gmm, am.info)
        history.append({"iter": it, "realigned": realigned, "avg_loglike": stats.avg_loglike,
                        "frames": stats.frames, "num_gauss": gmm.num_gauss})
        log.info("mono iter %d: avg log-likelihood %.4f, %d Gaussians", it, stats.avg_loglike,
                 gmm.num_gauss)
    res = align_utterances(am, feats, graphs, acoustic_scale=cfg.acoustic_scale,
                           batch_size=cfg.batch_size)
    skipped.update(res.skipped)
    if out_dir is not None:
        am.save(Path(out_dir) / "final.mdl")
        save_alignments(Path(out_dir) / "ali.pt", res.alignments)
        atomic_write_text(Path(out_dir) / "history.json", json.dumps(history, indent=1) + "\n")
    return MonoResult(am, history, skipped, res.alignments)


TRAINERS = {"tri": _train_tri, "mono": _train_mono}


def _trainer(system: str):
    if system not in TRAINERS:
        raise ValueError(f"unknown system {system!r}; choose one of {sorted(TRAINERS)}")
    return TRAINERS[system]


# ------------------------------------------------------------------ tri2

def train_lda_mllt(feats: Mapping[str, torch.Tensor], transcripts: Mapping[str, Sequence[str]],
                   lexicon: Mapping[str, Sequence[Sequence[str]]],
                   alignments: Mapping[str, Alignment], prev_model: AcousticModel,
                   config: LdaMlltConfig | None = None, out_dir: str | Path | None = None,
                   info: dict | None = None) -> SystemResult:
    """Train tri2 on LDA+MLLT features.

    Args:
        feats: utt -> ``(T, 13)`` CMVN'd MFCC (:func:`static_features`).
        alignments, prev_model: the previous system's alignment and its model
            (interprets the transition ids).
        out_dir: when given, ``final.mat`` (see :mod:`asr.gmm.lda_mllt`), the trainer's
            ``final.mdl``/``ali.pt``/``history.json`` and ``transform_history.json``.
    """
    cfg = config or LdaMlltConfig()
    train = _trainer(cfg.system)
    utts = [u for u in alignments if u in feats]
    if not utts:
        raise ValueError("train-lda-mllt: no utterance has both features and an alignment")
    spliced = {u: splice_frames(feats[u].double(), cfg.splice_context) for u in feats}
    start = time.perf_counter()
    lda, evals = estimate_lda_from_alignment(spliced, alignments, prev_model, cfg.dim,
                                             cfg.lda_silence_weight)
    log.info("LDA %s in %.1f s; top eigenvalues %s", tuple(lda.shape), time.perf_counter() - start,
             [round(float(e), 2) for e in evals[:5]])
    state = {"matrix": lda}
    transform_history = [{"iter": 0, "kind": "lda",
                          "eigenvalues": [float(e) for e in evals[:cfg.dim]]}]

    def features(matrix):
        return {u: apply_transform(x, matrix).float() for u, x in spliced.items()}

    def hook(it, am, alis, cur_feats):
        if it not in cfg.mllt_iters:
            return None
        t0 = time.perf_counter()
        a, new_am, stats = estimate_mllt_step(am, cur_feats, alis, cfg.mllt_silence_weight,
                                              cfg.mllt_row_passes)
        state["matrix"] = a @ state["matrix"]
        transform_history.append({"iter": it, "kind": "mllt", **stats,
                                  "seconds": time.perf_counter() - t0})
        log.info("MLLT at iter %d: auxiliary %.4f -> %.4f per frame (%.1f s)", it,
                 stats["aux_before"], stats["aux_after"], time.perf_counter() - t0)
        return features(state["matrix"]), new_am

    meta = {"features": f"{FEATURES} + splice(+-{cfg.splice_context}) + lda_mllt({cfg.dim})",
            "transform": "final.mat", **(info or {})}
    result = train(features(lda), transcripts, lexicon, alignments, prev_model, cfg.trainer,
                   out_dir, meta, hook)
    matrix = state["matrix"]
    if out_dir is not None:
        out = Path(out_dir)
        save_transform(out / "final.mat", matrix, kind="lda_mllt", splice=cfg.splice_context)
        atomic_write_text(out / "transform_history.json",
                          json.dumps(transform_history, indent=1) + "\n")
    return SystemResult(result.model, matrix, result.alignments, result.history,
                        transform_history, result.skipped, tree=getattr(result, "tree", None))


# ------------------------------------------------------------------ tri3

def save_speaker_transforms(path: str | Path, transforms: Mapping[str, torch.Tensor]) -> None:
    """``{"format": "asr.gmm.fmllr", "transforms": {spk: (D, D + 1) float64}}``, atomically."""
    state = {"format": "asr.gmm.fmllr", "version": 1,
             "transforms": {s: w.double().cpu() for s, w in transforms.items()}}
    with atomic_open(path, "wb") as handle:
        torch.save(state, handle)


def load_speaker_transforms(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"speaker transforms {path} do not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(f"{path}: cannot read speaker transforms ({type(err).__name__})") from None
    if not isinstance(state, dict) or state.get("format") != "asr.gmm.fmllr":
        raise ValueError(f"{path}: not an asr.gmm.fmllr file")
    return dict(state["transforms"])


def train_sat(feats: Mapping[str, torch.Tensor], transcripts: Mapping[str, Sequence[str]],
              lexicon: Mapping[str, Sequence[Sequence[str]]], utt2spk: Mapping[str, str],
              alignments: Mapping[str, Alignment], prev_model: AcousticModel,
              matrix: torch.Tensor, config: SatConfig | None = None,
              out_dir: str | Path | None = None, splice_context: int = 3,
              info: dict | None = None) -> SystemResult:
    """Train tri3 (SAT) on fMLLR-adapted LDA+MLLT features.

    Args:
        feats: utt -> ``(T, 13)`` CMVN'd MFCC.
        alignments, prev_model: tri2's alignment and model (in the ``matrix`` space).
        matrix: tri2's ``final.mat`` ``(dim, 13 * (2 context + 1))``.
    """
    cfg = config or SatConfig()
    train = _trainer(cfg.system)
    si = lda_mllt_features({u: feats[u] for u in feats}, matrix, splice_context)
    spk2utt = spk2utt_of(utt2spk, list(si))

    def weights_of(am, alis):
        return {u: silence_weights(am.transition_model, a.transition_ids, cfg.silence_weight)
                for u, a in alis.items()}

    def estimate(am, alis, init):
        t0 = time.perf_counter()
        pdfs = {u: a.pdfs for u, a in alis.items() if u in si}
        transforms, per_spk = estimate_speaker_transforms(
            am.gmm, si, pdfs, spk2utt, init=init, weights=weights_of(am, alis),
            num_iters=cfg.fmllr_row_passes, min_count=cfg.fmllr_min_count)
        gains = [v["aux_after"] - v["aux_before"] for v in per_spk.values()
                 if v["aux_after"] == v["aux_after"]]
        entry = {"speakers": len(transforms), "seconds": time.perf_counter() - t0,
                 "mean_aux_gain": sum(gains) / max(1, len(gains))}
        return transforms, entry

    transforms, entry = estimate(prev_model, alignments, None)
    transform_history = [{"iter": 0, "kind": "fmllr", **entry}]
    log.info("fMLLR from the previous model: %d speakers, mean auxiliary gain %.3f per frame",
             entry["speakers"], entry["mean_aux_gain"])
    state = {"transforms": transforms}

    def hook(it, am, alis, cur_feats):
        if it not in cfg.fmllr_iters:
            return None
        new, entry = estimate(am, alis, state["transforms"])
        state["transforms"] = new
        transform_history.append({"iter": it, "kind": "fmllr", **entry})
        log.info("fMLLR at iter %d: mean auxiliary gain %.3f per frame (%.1f s)", it,
                 entry["mean_aux_gain"], entry["seconds"])
        return adapt_features(si, utt2spk, new), am

    meta = {"features": f"{FEATURES} + splice(+-{splice_context}) + lda_mllt + fmllr(speaker)",
            "transform": "final.mat", "speaker_transforms": "trans.pt", **(info or {})}
    adapted = adapt_features(si, utt2spk, transforms)
    result = train(adapted, transcripts, lexicon, alignments, prev_model, cfg.trainer, out_dir,
                   meta, hook)
    transforms = state["transforms"]
    adapted = adapt_features(si, utt2spk, transforms)
    ali_model = alignment_model(result.model, adapted, si, result.alignments)
    if out_dir is not None:
        out = Path(out_dir)
        save_transform(out / "final.mat", matrix, kind="lda_mllt", splice=splice_context)
        save_speaker_transforms(out / "trans.pt", transforms)
        ali_model.save(out / "final.alimdl")
        atomic_write_text(out / "transform_history.json",
                          json.dumps(transform_history, indent=1) + "\n")
    return SystemResult(result.model, matrix, result.alignments, result.history,
                        transform_history, result.skipped, transforms, ali_model,
                        getattr(result, "tree", None))


# ------------------------------------------------------------------ command line

def load_previous(ali_dir: str | Path) -> tuple[AcousticModel, dict[str, Alignment]]:
    """A previous system's ``final.mdl`` and ``ali.pt``."""
    from asr.gmm.align import load_alignments

    ali_dir = Path(ali_dir)
    am = AcousticModel.load(ali_dir / "final.mdl")
    return am, load_alignments(ali_dir / "ali.pt", am.transition_model)


def build_parser(parser=None, sat: bool = False):
    """Arguments of ``asr train-lda-mllt`` (``sat=False``) and ``asr train-sat``."""
    import argparse

    name = "train-sat" if sat else "train-lda-mllt"
    if parser is None:
        parser = argparse.ArgumentParser(prog=f"asr {name}")
    parser.add_argument("--data", required=True, help="Kaldi data dir (wav.scp, text, utt2spk)")
    parser.add_argument("--lexicon", required=True, help="WORD PH1 PH2 ... per line (or CMU .dic)")
    parser.add_argument("--ali-dir", required=True,
                        help="previous system (final.mdl, ali.pt" + (", final.mat)" if sat else ")"))
    parser.add_argument("--out", required=True, help="experiment dir")
    parser.add_argument("--config", help=f"YAML with {'SatConfig' if sat else 'LdaMlltConfig'} fields")
    parser.add_argument("--max-utts", type=int, help="use the first N utterances only")
    parser.add_argument("overrides", nargs="*", help="config overrides, key=value")
    return parser


def run(args, sat: bool = False) -> int:
    from asr.config import load_config, save_config
    from asr.gmm.train_mono import read_lexicon

    cfg = load_config(SatConfig if sat else LdaMlltConfig, args.config, args.overrides)
    _trainer(cfg.system)  # fail on a bad system name before any work
    start = time.perf_counter()
    feats, transcripts, utt2spk = static_features(args.data, args.max_utts)
    prev, alignments = load_previous(args.ali_dir)
    lexicon = read_lexicon(args.lexicon)
    log.info("features of %d utterances in %.1f s", len(feats), time.perf_counter() - start)
    save_config(cfg, Path(args.out) / "config.yaml")
    start = time.perf_counter()
    if sat:
        mat = load_transform(Path(args.ali_dir) / "final.mat")
        result = train_sat(feats, transcripts, lexicon, utt2spk, alignments, prev,
                           mat["matrix"], cfg, args.out, int(mat.get("splice", 3)))
    else:
        result = train_lda_mllt(feats, transcripts, lexicon, alignments, prev, cfg, args.out)
    seconds = time.perf_counter() - start
    atomic_write_text(Path(args.out) / "train_info.json", json.dumps(
        {"seconds": seconds, "utterances": len(result.alignments),
         "skipped": len(result.skipped), "num_pdfs": result.model.transition_model.num_pdfs,
         "num_gauss": result.model.gmm.num_gauss, "config": asdict(cfg)}, indent=1) + "\n")
    log.info("trained in %.1f s: %d pdfs, %d Gaussians; model %s", seconds,
             result.model.transition_model.num_pdfs, result.model.gmm.num_gauss,
             Path(args.out) / "final.mdl")
    return 0
