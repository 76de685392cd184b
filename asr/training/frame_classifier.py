"""Train a frame-level classifier of GMM tied states (the DNN of a hybrid DNN-HMM).

Inputs and targets:

- features of a Kaldi data dir computed from its audio by a :class:`FrontendConfig`
  (log mel fbank or MFCC, per-speaker CMVN, optional deltas; 10 ms frames), or the
  GMM system's own transformed features (``lda_mllt``: its LDA+MLLT projection of
  spliced MFCC; ``fmllr``: that, then each speaker's fMLLR transform, as Kaldi feeds
  its nnet recipes on top of a SAT system);
- targets: the pdf id of every frame, from a GMM system's alignment dir
  (``final.mdl`` + ``ali.pt`` as ``asr train-mono`` writes them; any system whose
  model loads with :class:`asr.gmm.am.AcousticModel`).

Training: utterances are cut into chunks of ``chunk_frames`` output frames with
their real left/right context (the first/last frame repeated at utterance edges; the
grid offset changes every epoch), shuffled, cross-entropy per frame, Adam with a
cosine learning-rate decay. A few speakers of the training set are held out
(``valid_fraction``); after each epoch the validation frame loss and accuracy are
measured, a checkpoint is saved (:class:`asr.training.checkpoint.CheckpointManager`,
resumable) and training stops early when the chosen metric has not improved for
``patience`` epochs. The best epoch becomes the model.

State priors ``p(s)`` are pdf frequencies in the training alignments, floored at
``prior_floor`` and renormalised; decoding divides the posteriors by them
(:mod:`asr.decode.hybrid`).

Experiment dir::

    config.yaml         resolved :class:`FrameTrainConfig`
    checkpoints/        one checkpoint per epoch (resume), best.pt
    history.json        per-epoch train/valid loss and accuracy, learning rate, seconds
    final.pt            the model file (:func:`save_hybrid_model`)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import random
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as TF

from asr.utils.io import atomic_open, atomic_write_text

log = logging.getLogger(__name__)

MODEL_FORMAT = "asr.hybrid"
MODEL_VERSION = 1
IGNORE = -100  # target of padding frames (torch cross_entropy's ignore_index)


# ---------------------------------------------------------------- front end

FEATURES = ("fbank", "mfcc", "gmm", "lda_mllt", "fmllr")


@dataclass
class FrontendConfig:
    """Features of the classifier (computed from audio, 10 ms frames).

    Attributes:
        feature: ``fbank`` (log mel energies), ``mfcc`` (``num_ceps`` cepstra, no
            energy: Kaldi's "hires" MFCC with 40/40), ``gmm`` (the GMM front end:
            13 MFCC with energy, as :mod:`asr.gmm.feats`), ``lda_mllt`` (the GMM
            system's ``final.mat`` applied to its spliced, speaker-mean-normalised
            MFCC) or ``fmllr`` (``lda_mllt`` followed by each speaker's fMLLR
            transform: ``trans.pt`` of the SAT system when training, of its decode
            dir when decoding). For ``lda_mllt`` and ``fmllr`` the GMM system fixes
            the normalisation, so ``cmvn``, ``norm_vars`` and ``deltas`` are unused.
        num_mel_bins: mel filters (fbank and mfcc).
        num_ceps: cepstra kept (mfcc).
        cmvn: ``speaker`` (stats pooled per speaker, utt2spk) or ``utterance``.
        norm_vars: also divide by the standard deviation.
        deltas: append deltas and delta-deltas (order 2, window 2) after CMVN.
    """

    feature: str = "fbank"
    num_mel_bins: int = 40
    num_ceps: int = 40
    cmvn: str = "speaker"
    norm_vars: bool = True
    deltas: bool = False

    def __post_init__(self) -> None:
        if self.feature not in FEATURES:
            raise ValueError(f"frontend.feature must be one of {', '.join(FEATURES)}, "
                             f"got {self.feature!r}")
        if self.cmvn not in ("speaker", "utterance"):
            raise ValueError(f"frontend.cmvn must be speaker or utterance, got {self.cmvn!r}")

    @property
    def uses_gmm_transform(self) -> bool:
        """The features need the GMM system's LDA+MLLT matrix (and fMLLR transforms)."""
        return self.feature in ("lda_mllt", "fmllr")


@dataclass
class GmmTransform:
    """The GMM system's feature transforms for the ``lda_mllt``/``fmllr`` front ends.

    Attributes:
        matrix: LDA+MLLT ``(D, 13 * (2 splice + 1))`` float64 (``final.mat``).
        splice: frames of context on each side before the projection.
        speakers: speaker -> fMLLR ``(D, D + 1)`` (``trans.pt``); empty for ``lda_mllt``.
        speakers_file: where ``speakers`` came from (for error messages).
    """

    matrix: torch.Tensor
    splice: int = 3
    speakers: Mapping[str, torch.Tensor] = field(default_factory=dict)
    speakers_file: str = ""


def load_gmm_transform(system_dir: str | Path, transform_dir: str | Path | None = None,
                       with_speakers: bool = True) -> GmmTransform:
    """``final.mat`` of ``system_dir`` and (``with_speakers``) the fMLLR transforms in
    ``transform_dir/trans.pt`` (default: ``system_dir/trans.pt``, the training speakers')."""
    from asr.gmm.lda_mllt import load_transform
    from asr.gmm.train_sat import load_speaker_transforms

    mat = load_transform(Path(system_dir) / "final.mat")
    speakers, source = {}, ""
    if with_speakers:
        path = Path(transform_dir if transform_dir is not None else system_dir) / "trans.pt"
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} does not exist: fMLLR features need the SAT system's speaker "
                f"transforms (decode the data with it first, e.g. asr decode-gmm-sat)")
        speakers, source = load_speaker_transforms(path), str(path)
    return GmmTransform(mat["matrix"].double(), int(mat.get("splice", 3)), speakers, source)


def transformed_features(statics: Mapping[str, torch.Tensor], utt2spk: Mapping[str, str],
                         frontend: FrontendConfig, transform: GmmTransform
                         ) -> dict[str, torch.Tensor]:
    """GMM front-end ``statics`` (13 MFCC, ``utt -> (T, 13)``) -> speaker mean
    normalisation -> splice -> LDA+MLLT (-> fMLLR): ``utt -> (T, D)`` float32."""
    from asr.gmm.fmllr import adapt_features
    from asr.gmm.train_sat import lda_mllt_features

    cmvn = dataclasses.replace(frontend, feature="gmm", cmvn="speaker", norm_vars=False,
                               deltas=False)
    feats = lda_mllt_features(normalize(statics, utt2spk, cmvn), transform.matrix,
                              transform.splice)
    if frontend.feature == "fmllr":
        missing = sorted({utt2spk.get(u, u) for u in feats} - set(transform.speakers))
        if missing:
            raise ValueError(f"{transform.speakers_file} has no fMLLR transform for "
                             f"{len(missing)} speakers, e.g. {missing[0]!r} (was it made "
                             f"from this data dir?)")
        feats = adapt_features(feats, utt2spk, transform.speakers)
    return {u: x.float() for u, x in feats.items()}


def static_features(waveform: torch.Tensor, frontend: FrontendConfig) -> torch.Tensor:
    """Waveform ``(N_samples,)`` at 16 kHz -> ``(T, F)`` static features (before CMVN)."""
    from asr.features import functional as F

    if frontend.feature == "fbank":
        return F.fbank(waveform, num_mel_bins=frontend.num_mel_bins)
    if frontend.feature == "mfcc":
        return F.mfcc(waveform, num_mel_bins=frontend.num_mel_bins, num_ceps=frontend.num_ceps,
                      use_energy=False, high_freq=-400.0)
    return F.mfcc(waveform)  # gmm, lda_mllt, fmllr: the GMM front end


def normalize(statics: Mapping[str, torch.Tensor], utt2spk: Mapping[str, str],
              frontend: FrontendConfig) -> dict[str, torch.Tensor]:
    """CMVN per speaker (or utterance), then deltas: ``utt -> (T, F)`` -> ``utt -> (T, D)``."""
    from asr.features import functional as F

    groups: dict[str, list[str]] = {}
    for utt in statics:
        key = utt2spk.get(utt, utt) if frontend.cmvn == "speaker" else utt
        groups.setdefault(key, []).append(utt)
    out = {}
    for utts in groups.values():
        stats = [F.cmvn_stats(statics[u]) for u in utts if len(statics[u])]
        if not stats:
            width = statics[utts[0]].shape[1] * (3 if frontend.deltas else 1)
            out.update({u: statics[u].new_zeros(0, width) for u in utts})
            continue
        pooled = (sum(s[0] for s in stats), sum(s[1] for s in stats), sum(s[2] for s in stats))
        for u in utts:
            x = F.apply_cmvn(statics[u], pooled, norm_vars=frontend.norm_vars)
            out[u] = F.compute_deltas(x) if frontend.deltas else x
    return {u: out[u].float() for u in statics}


def datadir_features(data_dir: str | Path, frontend: FrontendConfig,
                     utterances: Sequence[str] | None = None, progress: bool = False,
                     transform: GmmTransform | None = None) -> dict[str, torch.Tensor]:
    """Features ``utt -> (T, D)`` of a Kaldi data dir's utterances (all, or
    ``utterances``), computed from ``wav.scp`` (and ``segments``). The ``lda_mllt``
    and ``fmllr`` front ends need ``transform``."""
    if frontend.uses_gmm_transform and transform is None:
        raise ValueError(f"frontend.feature={frontend.feature} needs the GMM system's "
                         "transforms (final.mat, trans.pt)")
    from asr.audio.io import load_audio
    from asr.data.datadir import DataDir

    data = DataDir.load(data_dir)
    utts = list(data.utterances if utterances is None else utterances)
    missing = [u for u in utts if u not in data.utt2spk]
    if missing:
        raise ValueError(f"{data_dir}: {len(missing)} utterances not in the data dir, "
                         f"e.g. {missing[0]!r}")
    from tqdm import tqdm

    statics = {}
    for utt in tqdm(utts, desc="features", unit="utt", disable=not progress, file=sys.stderr,
                    leave=False):
        entry, start, end = data.wav_entry(utt)
        statics[utt] = static_features(load_audio(entry, 16000, start=start, end=end), frontend)
    if frontend.uses_gmm_transform:
        return transformed_features(statics, data.utt2spk, frontend, transform)
    return normalize(statics, data.utt2spk, frontend)


# ---------------------------------------------------------------- targets, priors, split

def load_alignment_targets(ali_dir: str | Path):
    """``(transition_model, {utt: pdfs (T,) long})`` from a GMM dir with ``final.mdl``
    and ``ali.pt``."""
    from asr.gmm.align import load_alignments
    from asr.gmm.am import AcousticModel

    ali_dir = Path(ali_dir)
    am = AcousticModel.load(ali_dir / "final.mdl")
    alignments = load_alignments(ali_dir / "ali.pt", am.transition_model)
    return am.transition_model, {u: a.pdfs.long() for u, a in alignments.items()}


def estimate_priors(targets: Mapping[str, torch.Tensor], num_pdfs: int,
                    floor: float = 1e-5) -> torch.Tensor:
    """State priors ``(num_pdfs,)`` float64 summing to one: pdf frequencies over all
    frames of ``targets`` (``utt -> (T,)`` pdf ids), floored at ``floor`` (so that a
    pdf never seen does not get an infinite boost), renormalised."""
    counts = torch.zeros(num_pdfs, dtype=torch.float64)
    for pdfs in targets.values():
        counts += torch.bincount(pdfs.long(), minlength=num_pdfs)[:num_pdfs].double()
    if counts.sum() <= 0:
        raise ValueError("priors: the alignments have no frames")
    priors = (counts / counts.sum()).clamp_min(floor)
    return priors / priors.sum()


def split_speakers(utt2spk: Mapping[str, str], valid_fraction: float, seed: int = 0
                   ) -> tuple[list[str], list[str]]:
    """``(train_utts, valid_utts)``: whole speakers, chosen at random (``seed``), are
    held out until they cover at least ``valid_fraction`` of the utterances. At least
    one speaker stays on each side when there are two or more."""
    speakers = sorted(set(utt2spk.values()))
    random.Random(seed).shuffle(speakers)
    target = valid_fraction * len(utt2spk)
    held: set[str] = set()
    count = 0
    for spk in speakers[:-1]:
        if count >= target or valid_fraction <= 0:
            break
        held.add(spk)
        count += sum(s == spk for s in utt2spk.values())
    train = sorted(u for u, s in utt2spk.items() if s not in held)
    valid = sorted(u for u, s in utt2spk.items() if s in held)
    return train, valid


# ---------------------------------------------------------------- chunks

def make_chunks(feats: Mapping[str, torch.Tensor], targets: Mapping[str, torch.Tensor],
                chunk_frames: int, context: int, offset: int = 0
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut utterances into training examples.

    Each utterance ``(T, F)`` is padded with ``context`` copies of its first/last frame
    and cut at ``offset, offset + chunk_frames, ...`` (``offset`` taken modulo the
    chunk size; the first piece is the frames before ``offset``); a piece shorter than
    ``chunk_frames`` has its targets padded with ``IGNORE``.

    Returns ``inputs (N, chunk_frames + 2 context, F)`` and ``targets (N, chunk_frames)``.
    """
    inputs, labels = [], []
    c, n = context, chunk_frames
    for utt, x in feats.items():
        y = targets[utt]
        t = len(x)
        if t == 0:
            continue
        padded = torch.cat([x[:1].expand(c, -1), x, x[-1:].expand(c + n, -1)])
        y_padded = torch.cat([y, y.new_full((n,), IGNORE)])
        first = offset % n
        starts = ([0] if first else []) + list(range(first, t, n))
        for k, s in enumerate(starts):
            length = (starts[k + 1] if k + 1 < len(starts) else t) - s
            length = min(length, n)
            inputs.append(padded[s:s + n + 2 * c])
            lab = y_padded[s:s + n].clone()
            lab[length:] = IGNORE
            labels.append(lab)
    if not inputs:
        raise ValueError("make_chunks: no frames")
    return torch.stack(inputs), torch.stack(labels)


# ---------------------------------------------------------------- model file

def save_hybrid_model(path: str | Path, model_name: str, model_config: Mapping,
                      state_dict: Mapping[str, torch.Tensor], log_priors: torch.Tensor,
                      frontend: FrontendConfig, transition_model, info: Mapping | None = None,
                      transform: GmmTransform | None = None) -> None:
    """Write the hybrid model file (``torch.save`` of a plain dict, atomically)::

        {"format": "asr.hybrid", "version": 1, "model": {"name", **config},
         "state_dict", "log_priors": (num_pdfs,) float32, "frontend": {...},
         "topology": {...}, "transition": TransitionModel.state_dict(), "info": {...},
         "lda_mllt": {"matrix", "splice"} (lda_mllt/fmllr front ends only)}

    The per-speaker fMLLR transforms are not stored: they belong to the data decoded.
    """
    state = {
        "format": MODEL_FORMAT, "version": MODEL_VERSION,
        "model": {"name": model_name, **dict(model_config)},
        "state_dict": {k: v.detach().cpu() for k, v in state_dict.items()},
        "log_priors": log_priors.float().cpu(),
        "frontend": dataclasses.asdict(frontend),
        "topology": dataclasses.asdict(transition_model.topology.config),
        "transition": transition_model.state_dict(),
        "info": dict(info or {}),
    }
    if frontend.uses_gmm_transform:
        if transform is None:
            raise ValueError(f"frontend.feature={frontend.feature}: the model file needs "
                             "the LDA+MLLT matrix")
        state["lda_mllt"] = {"matrix": transform.matrix.double().cpu(),
                             "splice": transform.splice}
    with atomic_open(path, "wb") as handle:
        torch.save(state, handle)


@dataclass
class HybridModel:
    """A loaded hybrid model: the network (eval mode), ``log_priors (num_pdfs,)``, the
    front end and the GMM system's transition model (for the HCLG's transition ids)."""

    network: torch.nn.Module
    log_priors: torch.Tensor
    frontend: FrontendConfig
    transition_model: object
    info: dict = field(default_factory=dict)
    lda_mllt: dict | None = None   # {"matrix", "splice"} of the lda_mllt/fmllr front ends

    def gmm_transform(self, transform_dir: str | Path | None = None) -> GmmTransform | None:
        """The feature transform for decoding: the stored LDA+MLLT matrix and, for
        ``fmllr``, the speaker transforms in ``transform_dir/trans.pt`` (a SAT decode
        dir of the same data). None for the other front ends."""
        if not self.frontend.uses_gmm_transform:
            return None
        transform = GmmTransform(self.lda_mllt["matrix"], int(self.lda_mllt["splice"]))
        if self.frontend.feature == "fmllr":
            if transform_dir is None:
                raise ValueError("this hybrid model reads fMLLR features: give the SAT "
                                 "decode dir of the same data (--transform-dir)")
            from asr.gmm.train_sat import load_speaker_transforms

            path = Path(transform_dir) / "trans.pt"
            transform.speakers, transform.speakers_file = load_speaker_transforms(path), str(path)
        return transform

    def log_posteriors(self, feats: torch.Tensor) -> torch.Tensor:
        """``feats (T, D)`` -> ``(T, num_pdfs)`` log p(pdf | x_t)."""
        with torch.no_grad():
            return TF.log_softmax(self.network.utterance_logits(feats.float()), dim=-1)

    def scaled_loglikes(self, feats: torch.Tensor, prior_scale: float = 1.0) -> torch.Tensor:
        """``(T, num_pdfs)`` pseudo log-likelihoods ``log p(s | x) - prior_scale * log p(s)``."""
        return self.log_posteriors(feats) - prior_scale * self.log_priors


def load_hybrid_model(path: str | Path) -> HybridModel:
    """Read :func:`save_hybrid_model` output (a dir means ``DIR/final.pt``)."""
    from asr.config import from_dict
    from asr.hmm.topology import Topology, TopologyConfig
    from asr.hmm.transition_model import TransitionModel
    from asr.models import build_model_from_section

    path = Path(path)
    path = path / "final.pt" if path.is_dir() else path
    if not path.is_file():
        raise FileNotFoundError(f"hybrid model {path} does not exist")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or state.get("format") != MODEL_FORMAT:
        raise ValueError(f"{path}: not an {MODEL_FORMAT} model file")
    if state.get("version") != MODEL_VERSION:
        raise ValueError(f"{path}: version {state.get('version')} is not {MODEL_VERSION}")
    network = build_model_from_section(state["model"])
    network.load_state_dict(state["state_dict"])
    network.eval()
    tm = TransitionModel.from_state_dict(state["transition"],
                                         Topology(TopologyConfig(**state["topology"])))
    if len(state["log_priors"]) != tm.num_pdfs:
        raise ValueError(f"{path}: {len(state['log_priors'])} priors for {tm.num_pdfs} pdfs")
    frontend = from_dict(FrontendConfig, state["frontend"])
    if frontend.uses_gmm_transform and "lda_mllt" not in state:
        raise ValueError(f"{path}: front end {frontend.feature} but no LDA+MLLT matrix")
    return HybridModel(network, state["log_priors"].float(), frontend, tm, dict(state["info"]),
                       state.get("lda_mllt"))


# ---------------------------------------------------------------- training

@dataclass
class FrameTrainConfig:
    """Frame-classifier training.

    Attributes:
        frontend: the features (stored with the model; decoding uses the same).
        model: registered model section ``{"name": ..., **config}`` without
            ``input_dim`` / ``num_pdfs`` (filled in from the front end and the alignment).
        max_epochs: upper bound on epochs.
        patience: stop after this many epochs without a better validation metric.
        early_stop_metric: ``loss`` (validation cross-entropy) or ``error`` (1 - frame accuracy).
        chunk_frames: output frames per training example.
        batch_chunks: examples per mini-batch.
        lr: peak Adam learning rate (cosine decay to ``lr * final_lr_fraction`` over
            ``max_epochs``, after ``warmup_steps`` linear warm-up steps).
        weight_decay: AdamW weight decay.
        label_smoothing: cross-entropy label smoothing.
        grad_clip: max gradient norm.
        valid_fraction: share of training utterances held out (whole speakers).
        prior_floor: floor on the state priors before renormalising.
        seed: shuffling, initialisation and the validation split.
        progress_bar: a tqdm bar per epoch on stderr.
    """

    frontend: FrontendConfig = field(default_factory=FrontendConfig)
    model: dict = field(default_factory=lambda: {"name": "tdnn", "hidden_dim": 256})
    max_epochs: int = 8
    patience: int = 3
    early_stop_metric: str = "loss"
    chunk_frames: int = 64
    batch_chunks: int = 32
    lr: float = 0.002
    final_lr_fraction: float = 0.05
    warmup_steps: int = 100
    weight_decay: float = 0.01
    label_smoothing: float = 0.0
    grad_clip: float = 5.0
    valid_fraction: float = 0.1
    prior_floor: float = 1e-5
    seed: int = 0
    progress_bar: bool = True

    def __post_init__(self) -> None:
        if self.early_stop_metric not in ("loss", "error"):
            raise ValueError(f"early_stop_metric must be loss or error, "
                             f"got {self.early_stop_metric!r}")
        if self.max_epochs < 1 or self.chunk_frames < 1 or self.batch_chunks < 1:
            raise ValueError("max_epochs, chunk_frames and batch_chunks must be >= 1")


@dataclass
class TrainResult:
    model: torch.nn.Module
    model_section: dict          # {"name", **config} the model was built from
    log_priors: torch.Tensor
    history: list[dict]
    best_epoch: int
    skipped: dict[str, str]


def _lr_at(cfg: FrameTrainConfig, step: int, progress: float) -> float:
    """Learning rate at optimizer step ``step`` (warm-up) and ``progress`` in [0, 1]
    (epochs done / ``max_epochs``, cosine decay)."""
    low = cfg.lr * cfg.final_lr_fraction
    lr = low + 0.5 * (cfg.lr - low) * (1.0 + math.cos(math.pi * min(1.0, progress)))
    return lr * min(1.0, (step + 1) / max(1, cfg.warmup_steps))


def evaluate(model: torch.nn.Module, inputs: torch.Tensor, labels: torch.Tensor,
             batch_chunks: int = 64) -> tuple[float, float]:
    """Mean cross-entropy per frame and frame accuracy of ``model`` (eval mode) on
    chunks ``inputs (N, L, F)``, ``labels (N, chunk)``."""
    model.eval()
    loss_sum, correct, frames = 0.0, 0, 0
    with torch.no_grad():
        for i in range(0, len(inputs), batch_chunks):
            logits = model(inputs[i:i + batch_chunks])
            y = labels[i:i + batch_chunks]
            mask = y != IGNORE
            loss_sum += float(TF.cross_entropy(logits[mask], y[mask], reduction="sum"))
            correct += int((logits.argmax(-1)[mask] == y[mask]).sum())
            frames += int(mask.sum())
    return loss_sum / max(frames, 1), correct / max(frames, 1)


def _match(feats: Mapping[str, torch.Tensor], targets: Mapping[str, torch.Tensor]
           ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], dict[str, str]]:
    keep_f, keep_t, skipped = {}, {}, {}
    for utt, x in feats.items():
        if utt not in targets:
            skipped[utt] = "no alignment"
        elif len(targets[utt]) != len(x):
            skipped[utt] = f"{len(x)} feature frames, {len(targets[utt])} aligned frames"
        else:
            keep_f[utt], keep_t[utt] = x, targets[utt]
    return keep_f, keep_t, skipped


def train_frame_classifier(feats: Mapping[str, torch.Tensor],
                           targets: Mapping[str, torch.Tensor],
                           utt2spk: Mapping[str, str], num_pdfs: int,
                           cfg: FrameTrainConfig, exp_dir: str | Path | None = None
                           ) -> TrainResult:
    """Train on ``feats`` (``utt -> (T, D)``) against ``targets`` (``utt -> (T,)`` pdf
    ids). Utterances without an alignment or with a frame-count mismatch are skipped
    (logged). With ``exp_dir``, checkpoints go to ``exp_dir/checkpoints`` every epoch and
    an interrupted run resumes from the latest one; ``history.json`` is rewritten each
    epoch. Returns the best epoch's model (eval mode) and the log priors."""
    from asr.models import build_model_from_section
    from asr.training.checkpoint import (
        CheckpointManager, capture_rng_state, check_model_config, config_hash,
        load_checkpoint, restore_rng_state, seed_everything)

    feats, targets, skipped = _match(feats, targets)
    for utt, why in list(skipped.items())[:5]:
        log.warning("skipping %s: %s", utt, why)
    if skipped:
        log.warning("%d utterances skipped (no alignment or length mismatch)", len(skipped))
    if not feats:
        raise ValueError("frame classifier: no utterance has both features and an alignment")
    dims = {x.shape[1] for x in feats.values()}
    if len(dims) != 1:
        raise ValueError(f"frame classifier: features of different dimensions {sorted(dims)}")
    seed_everything(cfg.seed)
    train_utts, valid_utts = split_speakers({u: utt2spk.get(u, u) for u in feats},
                                            cfg.valid_fraction, cfg.seed)
    log.info("%d training and %d validation utterances (held-out speakers)",
             len(train_utts), len(valid_utts))
    priors = estimate_priors({u: targets[u] for u in train_utts}, num_pdfs, cfg.prior_floor)
    section = {**cfg.model, "input_dim": dims.pop(), "num_pdfs": num_pdfs}
    model = build_model_from_section(section)
    context = model.context
    train_feats = {u: feats[u] for u in train_utts}
    train_targets = {u: targets[u] for u in train_utts}
    if valid_utts:
        valid_x, valid_y = make_chunks({u: feats[u] for u in valid_utts},
                                       {u: targets[u] for u in valid_utts},
                                       cfg.chunk_frames, context)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)

    manager = CheckpointManager(Path(exp_dir) / "checkpoints", keep_last=1) if exp_dir else None
    # What a resumed run must share with the checkpoint: the network and its input.
    model_cfg = {**section, "frontend": dataclasses.asdict(cfg.frontend)}
    history: list[dict] = []
    epoch, step, best, bad = 0, 0, math.inf, 0
    best_epoch = 0
    best_state = {k: v.clone() for k, v in model.state_dict().items()}
    if manager is not None and manager.latest() is not None:
        ckpt = load_checkpoint(manager.latest())
        check_model_config(ckpt["model_config"], model_cfg, str(manager.latest()))
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        restore_rng_state(ckpt["rng"][0])
        epoch, step, best, bad = ckpt["epoch"], ckpt["step"], ckpt["best_valid_loss"], ckpt["bad_epochs"]
        history = json.loads(ckpt["trainer_config"]["history"])
        best_epoch = ckpt["trainer_config"]["best_epoch"]
        best_state = load_checkpoint(manager.best())["model"] if manager.best() else best_state
        log.info("resumed from %s (epoch %d done)", manager.latest(), epoch)

    from tqdm import tqdm

    while epoch < cfg.max_epochs and bad < cfg.patience:
        start = time.perf_counter()
        offset = random.randrange(cfg.chunk_frames)
        x, y = make_chunks(train_feats, train_targets, cfg.chunk_frames, context, offset)
        order = torch.randperm(len(x))
        model.train()
        loss_sum, correct, frames = 0.0, 0, 0
        starts = range(0, len(x), cfg.batch_chunks)
        bar = tqdm(starts, desc=f"epoch {epoch + 1}", unit="batch",
                   disable=not cfg.progress_bar, file=sys.stderr, leave=False)
        for b, i in enumerate(bar):
            idx = order[i:i + cfg.batch_chunks]
            lr = _lr_at(cfg, step, (epoch + b / len(starts)) / cfg.max_epochs)
            for group in optimizer.param_groups:
                group["lr"] = lr
            logits = model(x[idx])
            labels = y[idx]
            mask = labels != IGNORE
            loss = TF.cross_entropy(logits[mask], labels[mask],
                                    label_smoothing=cfg.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            step += 1
            n = int(mask.sum())
            loss_sum += loss.item() * n
            correct += int((logits.detach().argmax(-1)[mask] == labels[mask]).sum())
            frames += n
            bar.set_postfix(loss=f"{loss_sum / frames:.3f}", acc=f"{correct / frames:.3f}")
        bar.close()
        epoch += 1
        row = {"epoch": epoch, "step": step, "lr": lr,
               "train_loss": loss_sum / max(frames, 1), "train_acc": correct / max(frames, 1)}
        if valid_utts:
            row["valid_loss"], row["valid_acc"] = evaluate(model, valid_x, valid_y)
            metric = row["valid_loss"] if cfg.early_stop_metric == "loss" else 1 - row["valid_acc"]
        else:
            metric = row["train_loss"]
        row["seconds"] = time.perf_counter() - start
        if metric < best:
            best, bad, best_epoch = metric, 0, epoch
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            bad += 1
        row["best_epoch"] = best_epoch
        history.append(row)
        log.info("epoch %d: train loss %.3f acc %.3f, valid loss %s acc %s, %.1f s", epoch,
                 row["train_loss"], row["train_acc"], f"{row.get('valid_loss', math.nan):.3f}",
                 f"{row.get('valid_acc', math.nan):.3f}", row["seconds"])
        if manager is not None:
            manager.save({
                "format": "asr-checkpoint-v1", "model": model.state_dict(),
                "optimizer": optimizer.state_dict(), "scheduler": None, "scaler": None,
                "sampler": None, "epoch": epoch, "step": step, "rng": [capture_rng_state()],
                "model_config": model_cfg, "model_config_hash": config_hash(model_cfg),
                "trainer_config": {"history": json.dumps(history), "best_epoch": best_epoch},
                "valid_loss": metric, "best_valid_loss": best, "bad_epochs": bad,
            }, step=step, epoch=epoch, valid_loss=metric)
            atomic_write_text(Path(exp_dir) / "history.json", json.dumps(history, indent=1) + "\n")
    model.load_state_dict(best_state)
    model.eval()
    return TrainResult(model, section, priors.log().float(), history, best_epoch, skipped)


# ---------------------------------------------------------------- command line

def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The command-line arguments (also used by ``asr train-hybrid``)."""
    if parser is None:
        parser = argparse.ArgumentParser(
            prog="python -m asr.training.frame_classifier",
            description="Train the frame classifier of a hybrid DNN-HMM system on a GMM "
                        "system's alignments; writes OUT/final.pt, config.yaml, history.json.")
    parser.add_argument("--data", required=True, help="Kaldi training data dir (wav.scp, utt2spk)")
    parser.add_argument("--ali-dir", required=True,
                        help="GMM system dir with final.mdl and ali.pt (e.g. exp/mono, exp/tri3); "
                             "the lda_mllt/fmllr front ends also read its final.mat and "
                             "trans.pt")
    parser.add_argument("--out", required=True, help="experiment dir, e.g. exp/hybrid")
    parser.add_argument("--config", help="YAML with FrameTrainConfig fields")
    parser.add_argument("--max-utts", type=int, help="use the first N aligned utterances only")
    parser.add_argument("overrides", nargs="*",
                        help="FrameTrainConfig overrides, key=value (e.g. max_epochs=5 "
                             "frontend.feature=mfcc model.hidden_dim=512)")
    return parser


def run(args: argparse.Namespace) -> int:
    from asr.config import load_config, save_config

    cfg = load_config(FrameTrainConfig, args.config, args.overrides)
    out = Path(args.out)
    start = time.perf_counter()
    tm, targets = load_alignment_targets(args.ali_dir)
    from asr.data.datadir import DataDir

    data = DataDir.load(args.data)
    utts = [u for u in data.utterances if u in targets][:args.max_utts]
    if not utts:
        raise ValueError(f"no utterance of {args.data} is in the alignments of {args.ali_dir}")
    transform = None
    if cfg.frontend.uses_gmm_transform:
        transform = load_gmm_transform(args.ali_dir,
                                       with_speakers=cfg.frontend.feature == "fmllr")
    feats = datadir_features(args.data, cfg.frontend, utts, progress=cfg.progress_bar,
                             transform=transform)
    feat_s = time.perf_counter() - start
    log.info("features of %d utterances in %.1f s", len(feats), feat_s)
    save_config(cfg, out / "config.yaml")
    start = time.perf_counter()
    result = train_frame_classifier(feats, targets, data.utt2spk, tm.num_pdfs, cfg, out)
    train_s = time.perf_counter() - start
    best = result.history[result.best_epoch - 1] if result.best_epoch else {}
    info = {"ali_dir": str(args.ali_dir), "data": str(args.data), "utterances": len(feats),
            "skipped": len(result.skipped), "best_epoch": result.best_epoch,
            "epochs": len(result.history), "valid_acc": best.get("valid_acc", math.nan),
            "valid_loss": best.get("valid_loss", math.nan), "features_s": feat_s,
            "train_s": train_s}
    section = dict(result.model_section)
    save_hybrid_model(out / "final.pt", section.pop("name"), section,
                      result.model.state_dict(), result.log_priors, cfg.frontend, tm, info,
                      transform)
    print(f"trained {len(result.history)} epochs (best {result.best_epoch}: valid acc "
          f"{100 * info['valid_acc']:.1f}%) in {train_s:.0f} s -> {out / 'final.pt'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from asr.utils import run_cli

    return run_cli(build_parser, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
