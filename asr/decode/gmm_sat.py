"""Decode with an LDA+MLLT system (tri2) or a SAT system (tri3, two-pass fMLLR).

Features: 13-dim MFCC + per-speaker CMVN, spliced +-3, times the system's
``final.mat`` (:mod:`asr.gmm.train_sat`). The search and the output directory are
those of :mod:`asr.decode.gmm` (same HCLG, settings sweep, ``text``/``ctm``/
``decode_info.json``/``best_setting.json``).

A SAT system (a model dir with ``trans.pt``) is decoded in passes, as Kaldi's
``decode_fmllr.sh`` but from 1-best paths instead of lattices:

1. First pass: speaker-independent features with ``final.alimdl`` (the SI model
   trained with the SAT model's posteriors; ``final.mdl`` when absent) at one fixed
   setting (``first_pass``: LM weight 12, as Kaldi's first-pass acoustic scale 1/12).
2. fMLLR per speaker (``utt2spk`` of the data dir) with ``final.mdl``, from the
   best paths' pdfs, silence frames weighted ``silence_weight`` (Kaldi 0.01).
3. With ``fmllr_passes`` = 2 (default): decode the adapted features at the first-pass
   setting, re-estimate fMLLR from those paths, starting from the first transform.
4. Final pass: the adapted features with ``final.mdl`` under every setting.

The transforms are written to ``OUT/trans.pt`` (speaker -> ``(40, 41)``).
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import asdict
from pathlib import Path
from typing import Mapping, Sequence

import torch

from asr.decode.gmm import (DEFAULT_LM_WEIGHTS, DEFAULT_PENALTIES, Setting, _settings,
                            add_output_options, add_search_options, choose_decoded_setting,
                            load_graph, run_graph_decoder, search_and_write,
                            transition_scores)
from asr.decode.wfst import DecoderConfig, WfstDecoder, add_word_penalty

log = logging.getLogger(__name__)

FIRST_PASS = Setting(12.0, 0.0)


def load_system(model_dir: str | Path):
    """``(final.mdl, final.alimdl or None, final.mat dict, speaker transforms or None)``:
    the SAT parts are None for an LDA+MLLT system."""
    from asr.gmm.am import AcousticModel
    from asr.gmm.lda_mllt import load_transform

    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise FileNotFoundError(f"model dir {model_dir} does not exist")
    am = AcousticModel.load(model_dir / "final.mdl")
    mat = load_transform(model_dir / "final.mat")
    sat = (model_dir / "trans.pt").is_file()
    alimdl = None
    if sat and (model_dir / "final.alimdl").is_file():
        alimdl = AcousticModel.load(model_dir / "final.alimdl")
    return am, alimdl, mat, sat


def best_paths(am, hclg, feats: Mapping[str, torch.Tensor], setting: Setting,
               config: DecoderConfig) -> dict[str, torch.Tensor]:
    """utt -> ``(T,)`` transition ids of the best path at ``setting`` (utterances that
    fail to decode are left out)."""
    cfg = DecoderConfig(**{**asdict(config), "acoustic_scale": 1.0 / setting.lm_weight,
                           "lattice": False})
    decoder = WfstDecoder(add_word_penalty(hclg, setting.word_insertion_penalty), cfg)
    out = {}
    for utt, x in feats.items():
        try:
            res = decoder.decode(transition_scores(am, x), utt)
        except ValueError as err:
            log.warning("first pass: %s", err)
            continue
        out[utt] = torch.as_tensor(res.labels - 1, dtype=torch.long)
    return out


def estimate_from_paths(am, si: Mapping[str, torch.Tensor], paths: Mapping[str, torch.Tensor],
                        utt2spk: Mapping[str, str], init=None, silence_weight: float = 0.01,
                        num_iters: int = 10, min_count: float = 50.0):
    """fMLLR per speaker from best-path transition ids (see :mod:`asr.gmm.fmllr`)."""
    from asr.gmm.fmllr import estimate_speaker_transforms
    from asr.gmm.lda_mllt import silence_weights
    from asr.gmm.train_sat import spk2utt_of

    tm = am.transition_model
    tid2pdf = tm.tid_to_pdf()
    pdfs = {u: tid2pdf[t] for u, t in paths.items()}
    weights = {u: silence_weights(tm, t, silence_weight) for u, t in paths.items()}
    return estimate_speaker_transforms(am.gmm, si, pdfs, spk2utt_of(utt2spk, list(si)),
                                       init=init, weights=weights, num_iters=num_iters,
                                       min_count=min_count)


def decode_datadir_sat(model_dir, graph_dir, data_dir, out_dir, *, beam: float = 13.0,
                       max_active: int = 7000, lm_weights: Sequence[float] | None = None,
                       word_insertion_penalties: Sequence[float] | None = None,
                       acoustic_scale: float = 0.1, first_pass: Setting = FIRST_PASS,
                       fmllr_passes: int = 2, silence_weight: float = 0.01,
                       max_utts: int | None = None, nbest: int = 0, lattice_beam: float = 6.0,
                       nj: int = 1, tune_by: str = "search",
                       _return_hyps: bool = False) -> dict:
    """Decode ``data_dir`` with a tri2/tri3 system; writes ``out_dir`` as
    :func:`asr.decode.gmm.decode_datadir` (plus ``trans.pt`` for SAT; ``nbest.txt``
    with ``nbest`` > 0, one setting only, from the adapted pass). Returns the summary
    written to ``decode_info.json``."""
    from asr.gmm.fmllr import adapt_features
    from asr.gmm.train_sat import lda_mllt_features, save_speaker_transforms, static_features

    out = Path(out_dir)
    settings = _settings(lm_weights, word_insertion_penalties, acoustic_scale, nbest)
    am, alimdl, mat, sat = load_system(model_dir)
    hclg, words, lexicon = load_graph(graph_dir, am.transition_model, model_dir)
    config = DecoderConfig(beam=beam, max_active=max_active, acoustic_scale=acoustic_scale,
                           lattice_beam=lattice_beam)  # lattices only for the n-best pass
    timing: dict = {}
    t0 = time.perf_counter()
    raw, _, utt2spk = static_features(data_dir, max_utts)
    si = lda_mllt_features(raw, mat["matrix"], int(mat.get("splice", 3)))
    if am.gmm.dim != next(iter(si.values())).shape[1]:
        raise ValueError(f"model {model_dir} has dim {am.gmm.dim}, its final.mat gives "
                         f"{next(iter(si.values())).shape[1]}")
    timing["features_s"] = time.perf_counter() - t0
    feats = si
    fmllr_info: dict = {}
    if sat:
        t0 = time.perf_counter()
        paths = best_paths(alimdl or am, hclg, si, first_pass, config)
        transforms, per_spk = estimate_from_paths(am, si, paths, utt2spk,
                                                  silence_weight=silence_weight)
        for _ in range(1, fmllr_passes):
            adapted = adapt_features(si, utt2spk, transforms)
            paths = best_paths(am, hclg, adapted, first_pass, config)
            transforms, per_spk = estimate_from_paths(am, si, paths, utt2spk, init=transforms,
                                                      silence_weight=silence_weight)
        feats = adapt_features(si, utt2spk, transforms)
        save_speaker_transforms(out / "trans.pt", transforms)
        timing["adaptation_s"] = time.perf_counter() - t0
        fmllr_info = {"first_pass": asdict(first_pass), "fmllr_passes": fmllr_passes,
                      "speakers": len(transforms), "silence_weight": silence_weight,
                      "alignment_model": "final.alimdl" if alimdl is not None else "final.mdl",
                      "aux_gain_last_pass": {s: v["aux_after"] - v["aux_before"]
                                             for s, v in per_spk.items()}}
    t0 = time.perf_counter()
    scores = {u: transition_scores(am, x) for u, x in feats.items()}
    timing["loglikes_s"] = time.perf_counter() - t0
    return search_and_write(
        out, am, hclg, words, lexicon, scores, settings, config, nbest=nbest, nj=nj,
        tune_by=tune_by, stage_s=timing, return_hyps=_return_hyps,
        header={"model": str(model_dir), "graph": str(graph_dir), "data": str(data_dir),
                "system": "sat" if sat else "lda_mllt"},
        extra={"fmllr": fmllr_info} if sat else None)


def tune_on_dev_sat(model_dir, graph_dir, dev_data_dir, out_dir, *,
                    lm_weights: Sequence[float] = DEFAULT_LM_WEIGHTS,
                    word_insertion_penalties: Sequence[float] = DEFAULT_PENALTIES,
                    **kwargs) -> dict:
    """As :func:`asr.decode.gmm.tune_on_dev`: sweep, score on ``dev/text``, keep the best
    (``best_setting.json``). The adaptation passes run once, at ``first_pass``."""
    out = Path(out_dir)
    summary = decode_datadir_sat(model_dir, graph_dir, dev_data_dir, out, lm_weights=lm_weights,
                                 word_insertion_penalties=word_insertion_penalties,
                                 _return_hyps=True, **kwargs)
    return choose_decoded_setting(summary.pop("_hyps"), dev_data_dir, out)


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """Arguments of ``asr decode-gmm-sat`` (those of ``asr decode-gmm`` plus the
    adaptation options)."""
    if parser is None:
        parser = argparse.ArgumentParser(
            prog="python -m asr.decode.gmm_sat",
            description="Decode with an LDA+MLLT (tri2) or SAT (tri3: two-pass fMLLR) GMM "
                        "system. --tune on dev writes OUT/best_setting.json; --setting uses it.")
    add_search_options(parser, out_example="exp/tri3/decode_test",
                       model_help="experiment dir (final.mdl, final.mat[, trans.pt, final.alimdl])")
    parser.add_argument("--first-pass-lm-weight", type=float, default=FIRST_PASS.lm_weight,
                        help="LM weight of the speaker-independent pass(es) (SAT)")
    parser.add_argument("--fmllr-passes", type=int, default=2,
                        help="fMLLR estimates, each from a decode (SAT)")
    parser.add_argument("--silence-weight", type=float, default=0.01,
                        help="weight of silence frames in the fMLLR statistics (SAT)")
    add_output_options(parser)  # n-best lists come from the adapted pass
    return parser


def run(args: argparse.Namespace) -> int:
    if args.fmllr_passes < 1:
        raise ValueError(f"--fmllr-passes must be >= 1, got {args.fmllr_passes}")
    common = dict(beam=args.beam, max_active=args.max_active,
                  first_pass=Setting(args.first_pass_lm_weight, 0.0),
                  fmllr_passes=args.fmllr_passes, silence_weight=args.silence_weight,
                  max_utts=args.max_utts, nj=args.nj)
    return run_graph_decoder(args, tune_on_dev_sat, decode_datadir_sat, common)


def main(argv: list[str] | None = None) -> int:
    from asr.utils import run_cli

    return run_cli(build_parser, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
