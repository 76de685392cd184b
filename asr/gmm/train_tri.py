"""Triphone GMM-HMM training with decision-tree state tying (Kaldi's ``train_deltas.sh``).

1. Tree statistics (:func:`asr.gmm.tree.accumulate_tree_stats`) from the previous
   model's alignments (monophone, or any earlier system) over the given features,
   phone-set questions by clustering, and the tree (:func:`asr.gmm.tree.build_tree`).
2. A tied transition model: one transition state per ``(phone, HMM state, pdf)`` the
   tree can produce (:func:`tied_transition_model`); one Gaussian per pdf from the
   pooled tree statistics of its leaves.
3. The previous alignments are converted to the new model (:func:`convert_alignments`:
   same frames and HMM states, the pdf of each phone from its aligned neighbours).
4. ``num_iters`` iterations of Viterbi EM: realign (context-dependent graphs,
   :mod:`asr.gmm.align_cd`) at ``realign_iters``, re-estimate GMMs and transitions,
   split mixtures linearly towards ``total_gauss`` until ``max_iter_inc``.

The features are a parameter: ``train_tri`` takes any precomputed ``utt -> (T, D)``
dict (MFCC + deltas for tri1; a later system passes transformed features), and an
``iteration_hook`` may replace features and model between iterations (MLLT, fMLLR).

Context across optional silence: silence is a context phone (see
:mod:`asr.gmm.align_cd`); silence itself is context-independent.

Output directory: ``final.mdl`` (:mod:`asr.gmm.am`, ``info["type"] = "tri"``), ``tree``
(:class:`asr.gmm.tree.ContextDependency` JSON), ``ali.pt`` (final alignments),
``history.json``, ``tree_info.json``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from asr.gmm.align import (
    Alignment,
    AlignResult,
    UttGraph,
    align_utterances,
    compile_graph,
    save_alignments,
    transcript_slots,
)
from asr.gmm.align_cd import compile_cd_graph
from asr.gmm.am import AcousticModel
from asr.gmm.diag_gmm import DiagGmmSet, split_targets
from asr.gmm.train_mono import GmmEmConfig, accumulate
from asr.gmm.tree import (
    ContextDependency,
    TreeConfig,
    accumulate_tree_stats,
    build_tree,
    pdf_stats,
    phone_windows,
)
from asr.hmm.transition_model import TransitionModel
from asr.utils.io import atomic_write_text

log = logging.getLogger(__name__)

TREE_FILE = "tree"


@dataclass
class TriConfig(GmmEmConfig):
    """Triphone training options (schedule of Kaldi's ``train_deltas.sh``).

    Sizes are chosen for AN4 (0.6 h) by dev WER: 300 leaves / 1500 Gaussians (dev
    13.0%, test 8.8%; 200 / 1000 ties on dev); 500 / 2000 gave 17.9% dev and
    500 / 4000 20.3%: larger trees overfit the 66 training speakers. Kaldi's
    2000 / 10000 suit larger corpora. The other options are those of
    :class:`asr.gmm.train_mono.GmmEmConfig`.
    """

    num_iters: int = 35
    realign_iters: list[int] = field(default_factory=lambda: [10, 20, 30])
    total_gauss: int = 1500
    max_iter_inc: int = 25
    split_power: float = 0.25
    num_leaves: int = 300
    # Tree options; its num_leaves is set to the num_leaves above (the one to change).
    tree: TreeConfig = field(default_factory=TreeConfig)

    def __post_init__(self) -> None:
        self.tree.num_leaves = self.num_leaves


@dataclass
class TriResult:
    """The trained model and tree, per-iteration history, skipped utterances,
    alignments (final model's with ``final_align``) and the tree-building summary."""

    model: AcousticModel
    tree: ContextDependency
    history: list[dict]
    skipped: dict[str, str]
    alignments: dict[str, Alignment]
    tree_info: dict = field(default_factory=dict)


# ---------------------------------------------------------------- model pieces

def tied_transition_model(tree: ContextDependency, prev: TransitionModel) -> TransitionModel:
    """Transition states ``(phone, state, pdf)`` for every pdf the tree can give each
    phone state; phones and topology of ``prev``; initial transition probabilities."""
    tree.check_phones(prev)
    rows = []
    for p, name in enumerate(prev.phones):
        for s in range(prev.topology.num_states(name)):
            rows += [(p, s, pdf) for pdf in tree.pdfs_of(p + 1, s)]
    return TransitionModel(prev.phones, prev.topology, torch.tensor(rows, dtype=torch.long))


def convert_alignment(ali: Alignment, old_tm: TransitionModel, new_tm: TransitionModel,
                      tree: ContextDependency) -> Alignment:
    """Kaldi's ``convert-ali``: the same phones, HMM states and self-loop/forward
    choices per frame, re-labelled with ``new_tm``'s transition ids (pdf from the
    tree, context from the aligned phone sequence)."""
    tids = ali.transition_ids
    old_ts = (tids // 2).tolist()
    bits = (tids % 2).tolist()
    ids = [new_tm.phone_id[p] + 1 for p, _, _ in ali.phones]
    windows = phone_windows(ids, tree.context_width, tree.central_position)
    new = [0] * len(old_ts)
    old_rows = old_tm.tuples.tolist()
    for window, (phone, start, end) in zip(windows, ali.phones):
        p = new_tm.phone_id[phone]
        for t in range(start, end):
            op, s, _ = old_rows[old_ts[t]]
            if old_tm.phones[op] != phone:
                raise ValueError(f"convert alignment: frame {t} is in phone "
                                 f"{old_tm.phones[op]!r}, segment says {phone!r}")
            new[t] = 2 * new_tm.transition_state(p, s, tree.pdf(window, s)) + bits[t]
    new_tids = torch.tensor(new, dtype=torch.long)
    return Alignment(new_tids, new_tm.tid_to_pdf()[new_tids], list(ali.phones),
                     list(ali.words), ali.score)


def convert_alignments(alignments: Mapping[str, Alignment], old_tm: TransitionModel,
                       new_tm: TransitionModel, tree: ContextDependency) -> dict[str, Alignment]:
    return {u: convert_alignment(a, old_tm, new_tm, tree) for u, a in alignments.items()}


def init_gmm(tree: ContextDependency, stats, var_floor_fraction: float = 0.01) -> DiagGmmSet:
    """One Gaussian per pdf from the pooled tree statistics of its leaves (pdfs without
    data get the global mean and variance); variances floored at
    ``var_floor_fraction`` of the global variance."""
    s = pdf_stats(tree, stats)
    D = stats.dim
    count, sx, sx2 = s[:, 0], s[:, 1:1 + D], s[:, 1 + D:]
    total = count.sum()
    g_mean = sx.sum(0) / total
    g_var = (sx2.sum(0) / total - g_mean ** 2).clamp_min(1e-10)
    n = count.clamp_min(1e-10)[:, None]
    mean = sx / n
    var = torch.maximum(sx2 / n - mean ** 2, var_floor_fraction * g_var)
    empty = count <= 0
    mean[empty] = g_mean
    var[empty] = g_var
    P = tree.num_pdfs
    return DiagGmmSet(mean.float(), var.float(), torch.zeros(P), torch.arange(P), P)


# ---------------------------------------------------------------- graphs and alignment

def cd_graphs(transcripts: Mapping[str, Sequence[str]], lexicon, tm: TransitionModel,
              tree: ContextDependency | None, feats: Mapping[str, torch.Tensor] | None = None,
              silence_phone: str = "SIL", sil_prob: float = 0.5
              ) -> tuple[dict[str, UttGraph], dict[str, str]]:
    """Context-dependent alignment graphs per utterance (monophone graphs when ``tree``
    is None), and the utterances left out (no features, a word not in the lexicon,
    fewer frames than the shortest path)."""
    graphs, skipped = {}, {}
    for utt, words in transcripts.items():
        if feats is not None and utt not in feats:
            skipped[utt] = "no features"
            continue
        try:
            slots = transcript_slots(list(words), lexicon, silence_phone, sil_prob, utt)
            graph = compile_graph(slots, tm) if tree is None else compile_cd_graph(slots, tm, tree)
        except ValueError as err:
            skipped[utt] = str(err)
            continue
        if feats is not None and feats[utt].shape[0] < graph.min_frames:
            skipped[utt] = (f"{feats[utt].shape[0]} frames < {graph.min_frames} states "
                            f"on the shortest path")
        else:
            graphs[utt] = graph
    return graphs, skipped


def align_tri(am: AcousticModel, tree: ContextDependency, feats: Mapping[str, torch.Tensor],
              transcripts: Mapping[str, Sequence[str]], lexicon, *, acoustic_scale: float = 0.1,
              sil_prob: float = 0.5, silence_phone: str = "SIL", batch_size: int = 32,
              beam: float | None = None, retry_beam: float | None = None) -> AlignResult:
    """Viterbi-align ``transcripts`` with a triphone model (features ``(T, D)`` as the
    model was trained on). Returns :class:`asr.gmm.align.AlignResult`."""
    graphs, skipped = cd_graphs(transcripts, lexicon, am.transition_model, tree, feats,
                                silence_phone, sil_prob)
    res = align_utterances(am, feats, graphs, acoustic_scale=acoustic_scale, beam=beam,
                           retry_beam=retry_beam, batch_size=batch_size)
    res.skipped.update(skipped)
    return res


def align_unaligned(prev_dir: str | Path, prev: AcousticModel,
                    alignments: Mapping[str, Alignment], feats: Mapping[str, torch.Tensor],
                    transcripts: Mapping[str, Sequence[str]], lexicon,
                    cfg: TriConfig) -> dict[str, Alignment]:
    """``alignments`` completed with the previous system's model (Kaldi's
    ``align_si.sh`` before ``train_deltas.sh``): the utterances with features and a
    transcript that it has no alignment for, typically because that system trained on
    a subset (mono on ``--mono-hours``), are aligned with ``prev`` (the model of
    ``prev_dir``, monophone or triphone with its tree), so that the tree and the first
    iterations see the whole training set. ``feats`` must be the features ``prev``
    was trained on. Utterances that cannot be aligned are logged and left out."""
    missing = {u: w for u, w in transcripts.items() if u in feats and u not in alignments}
    if not missing:
        return dict(alignments)
    prev_dir = Path(prev_dir)
    tree = load_tri(prev_dir)[1] if (prev_dir / TREE_FILE).is_file() else None
    log.info("aligning the %d of %d utterances that %s has no alignment for with its model "
             "(as Kaldi's align_si.sh)", len(missing), len(missing) + len(alignments), prev_dir)
    graphs, skipped = cd_graphs(missing, lexicon, prev.transition_model, tree, feats,
                                cfg.silence_phone, cfg.sil_prob)
    for utt, why in skipped.items():
        log.warning("train_tri: not aligned with %s: %s: %s", prev_dir, utt, why)
    res = align_utterances(prev.to(cfg.device), feats, graphs, acoustic_scale=cfg.acoustic_scale,
                           beam=cfg.beam, retry_beam=cfg.retry_beam, batch_size=cfg.batch_size)
    return {**alignments, **res.alignments}


def load_tri(path: str | Path, device: str = "cpu") -> tuple[AcousticModel, ContextDependency]:
    """``(model, tree)`` of an experiment dir (``final.mdl`` + ``tree``) or a model file
    with ``tree`` beside it."""
    path = Path(path)
    mdl = path / "final.mdl" if path.is_dir() else path
    am = AcousticModel.load(mdl, device)
    tree = ContextDependency.load(mdl.parent / TREE_FILE)
    tree.check_phones(am.transition_model, str(mdl.parent / TREE_FILE))
    if tree.num_pdfs != am.gmm.num_pdfs:
        raise ValueError(f"{mdl}: {am.gmm.num_pdfs} pdfs, tree {mdl.parent / TREE_FILE} has "
                         f"{tree.num_pdfs}")
    return am, tree


# ---------------------------------------------------------------- training

IterationHook = Callable[[int, AcousticModel, dict, dict],
                         "tuple[dict[str, torch.Tensor], AcousticModel] | None"]


def train_tri(feats: Mapping[str, torch.Tensor], transcripts: Mapping[str, Sequence[str]],
              lexicon: Mapping[str, Sequence[Sequence[str]]],
              alignments: Mapping[str, Alignment], prev_model: AcousticModel,
              config: TriConfig | None = None, out_dir: str | Path | None = None,
              info: dict | None = None, iteration_hook: IterationHook | None = None) -> TriResult:
    """Build a tree on ``alignments`` and train a tied triphone model.

    Args:
        feats: utterance -> ``(T, D)`` features (any ``D``), used as given.
        transcripts: utterance -> words; lexicon: word -> pronunciations.
        alignments: the previous model's alignments (frames must match ``feats``).
        prev_model: the model whose transition ids ``alignments`` use.
        config: options (:class:`TriConfig`).
        out_dir: write ``final.mdl``, ``tree``, ``ali.pt``, ``history.json``,
            ``tree_info.json`` there (atomically).
        info: extra metadata stored in the model (e.g. the feature pipeline).
        iteration_hook: ``hook(it, am, alignments, feats)`` called for every
            iteration ``it >= 1`` after the realignment (if any), before
            accumulation; returning ``(feats, am)`` replaces both (the model must keep
            the transition model), None keeps them.
    """
    cfg = config or TriConfig()
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    old_tm = prev_model.transition_model
    feats = {u: x.float() for u, x in feats.items()}
    usable = {u: a for u, a in alignments.items() if u in feats and u in transcripts}
    if not usable:
        raise ValueError("train_tri: no utterance has features, a transcript and an alignment")
    for u, a in usable.items():
        if len(a.transition_ids) != feats[u].shape[0]:
            raise ValueError(f"train_tri: utterance {u!r} has {feats[u].shape[0]} frames, "
                             f"its alignment {len(a.transition_ids)}")

    tree_cfg = TreeConfig(**{**asdict(cfg.tree), "num_leaves": cfg.num_leaves})
    stats = accumulate_tree_stats(feats, usable, old_tm, tree_cfg.context_width,
                                  tree_cfg.central_position)
    tree, binfo = build_tree(stats, old_tm, tree_cfg)
    tree_info = {"events": len(stats.events), "frames": stats.frames,
                 "leaves_before_merge": binfo.leaves_before_merge,
                 "pdfs": tree.num_pdfs, "cluster_thresh": binfo.cluster_thresh,
                 "num_splits": len(binfo.split_gains),
                 "objf_gain_per_frame": (binfo.objf_after - binfo.objf_before) / stats.frames,
                 "merges": len(binfo.merge_losses)}
    log.info("tree: %d events, %d leaves before merging, %d pdfs; likelihood gain %.3f "
             "per frame", len(stats.events), binfo.leaves_before_merge, tree.num_pdfs,
             tree_info["objf_gain_per_frame"])
    tm = tied_transition_model(tree, old_tm)
    device = torch.device(cfg.device)
    gmm = init_gmm(tree, stats, cfg.var_floor_fraction).to(device)
    am = AcousticModel(tm, gmm, {"type": "tri", "feat_dim": stats.dim,
                                 "context_width": tree.context_width,
                                 "central_position": tree.central_position,
                                 "num_leaves": tree.num_leaves, **(info or {})})
    ali = convert_alignments(usable, old_tm, tm, tree)

    graphs, skipped = cd_graphs({u: transcripts[u] for u in transcripts if u in feats},
                                lexicon, tm, tree, feats, cfg.silence_phone, cfg.sil_prob)
    for utt, why in skipped.items():
        log.warning("train_tri: skipping %s: %s", utt, why)
    num_pdfs = tm.num_pdfs
    inc = max(0.0, (cfg.total_gauss - num_pdfs) / max(1, cfg.max_iter_inc))
    history: list[dict] = []
    for it in range(cfg.num_iters):
        realigned = it > 0 and it in cfg.realign_iters
        align_skipped = 0
        if realigned:
            res = align_utterances(am, feats, graphs, acoustic_scale=cfg.acoustic_scale,
                                   beam=cfg.beam, retry_beam=cfg.retry_beam,
                                   batch_size=cfg.batch_size)
            ali = res.alignments
            align_skipped = res.num_skipped
        if it > 0 and iteration_hook is not None:
            replaced = iteration_hook(it, am, ali, feats)
            if replaced is not None:
                feats, am = replaced
                if am.transition_model is not tm:
                    raise ValueError("train_tri: the iteration hook must keep the transition model")
        stats_it, counts = accumulate(am, feats, ali)
        pdf_occ = am.gmm.pdf_occupancy(stats_it)
        gmm = am.gmm.update(stats_it, min_occupancy=cfg.min_gaussian_occupancy,
                            min_weight=cfg.min_gaussian_weight,
                            var_floor_fraction=cfg.var_floor_fraction)
        tm.update(counts, floor=cfg.transition_floor)
        # Kaldi mixes up from the first update on (the single Gaussians start at
        # their ML estimate, so iteration 0's update alone would change nothing).
        target = round(num_pdfs + inc * min(it + 1, cfg.max_iter_inc))
        if target > gmm.num_gauss:
            targets = split_targets(pdf_occ, target, cfg.split_power, cfg.split_min_count,
                                    current=gmm.num_components)
            gmm = gmm.split(targets, cfg.perturb_factor, gen)
        am = AcousticModel(tm, gmm, am.info)
        entry = {"iter": it, "realigned": realigned, "avg_loglike": stats_it.avg_loglike,
                 "frames": stats_it.frames, "utts": len(ali), "align_skipped": align_skipped,
                 "num_gauss": gmm.num_gauss}
        history.append(entry)
        log.info("tri iter %d: avg log-likelihood per frame %.4f over %d frames (%d utts%s), "
                 "%d Gaussians", it, stats_it.avg_loglike, int(stats_it.frames), len(ali),
                 ", realigned" if realigned else "", gmm.num_gauss)
    am.info.update({"num_iters": cfg.num_iters, "num_gauss": am.gmm.num_gauss,
                    "num_pdfs": tm.num_pdfs})
    if cfg.final_align:
        res = align_utterances(am, feats, graphs, acoustic_scale=cfg.acoustic_scale,
                               beam=cfg.beam, retry_beam=cfg.retry_beam,
                               batch_size=cfg.batch_size)
        ali = res.alignments
        skipped.update(res.skipped)
    if out_dir is not None:
        out = Path(out_dir)
        am.save(out / "final.mdl")
        tree.save(out / TREE_FILE)
        if cfg.final_align:
            save_alignments(out / "ali.pt", ali)
        atomic_write_text(out / "history.json", json.dumps(history, indent=1) + "\n")
        atomic_write_text(out / "tree_info.json", json.dumps(tree_info, indent=1) + "\n")
    return TriResult(am, tree, history, skipped, dict(ali), tree_info)


# ---------------------------------------------------------------- command line

def build_parser(parser=None):
    """The command-line arguments (also used by ``asr train-tri``)."""
    import argparse

    if parser is None:
        parser = argparse.ArgumentParser(
            prog="python -m asr.gmm.train_tri",
            description="Triphone GMM-HMM training with decision-tree state tying "
                        "(MFCC + CMVN + deltas) from a previous model's alignments.")
    parser.add_argument("--data", required=True, help="Kaldi data dir (wav.scp, text, utt2spk)")
    parser.add_argument("--lexicon", required=True, help="WORD PH1 PH2 ... per line (or CMU .dic)")
    parser.add_argument("--ali-dir", required=True,
                        help="previous experiment dir with final.mdl and ali.pt (e.g. exp/mono)")
    parser.add_argument("--out", required=True, help="experiment dir (final.mdl, tree, ali.pt)")
    parser.add_argument("--config", help="YAML with TriConfig fields")
    parser.add_argument("--max-utts", type=int, help="use the first N utterances only")
    parser.add_argument("overrides", nargs="*", help="TriConfig overrides, key=value")
    return parser


def run(args) -> int:
    import time

    from asr.config import load_config, save_config
    from asr.gmm.align import load_alignments
    from asr.gmm.train_mono import FEATURES, datadir_features, read_lexicon

    cfg = load_config(TriConfig, args.config, args.overrides)
    ali_dir = Path(args.ali_dir)
    prev = AcousticModel.load(ali_dir / "final.mdl")
    alignments = load_alignments(ali_dir / "ali.pt", prev.transition_model)
    start = time.perf_counter()
    feats, transcripts = datadir_features(args.data, args.max_utts)
    log.info("features of %d utterances in %.1f s", len(feats), time.perf_counter() - start)
    save_config(cfg, Path(args.out) / "config.yaml")
    start = time.perf_counter()
    lexicon = read_lexicon(args.lexicon)
    if prev.info.get("features", FEATURES) == FEATURES:
        alignments = align_unaligned(ali_dir, prev, alignments, feats, transcripts, lexicon, cfg)
    result = train_tri(feats, transcripts, lexicon, alignments, prev, cfg,
                       args.out, info={"features": FEATURES, "ali_dir": str(ali_dir)})
    log.info("trained in %.1f s: %d pdfs, %d Gaussians, %d utterances skipped; model %s",
             time.perf_counter() - start, result.model.gmm.num_pdfs, result.model.gmm.num_gauss,
             len(result.skipped), Path(args.out) / "final.mdl")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m asr.gmm.train_tri --data D --lexicon L --ali-dir exp/mono --out EXP``."""
    from asr.utils import run_cli

    return run_cli(build_parser, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
