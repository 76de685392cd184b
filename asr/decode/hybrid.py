"""Decode a data dir with a hybrid DNN-HMM model over its GMM system's HCLG graph.

Per utterance: features (the model's front end,
:func:`asr.training.frame_classifier.datadir_features`) -> network log posteriors
``log p(s | x_t)`` ``(T, num_pdfs)`` -> scaled likelihoods ``log p(s | x_t) -
prior_scale * log p(s)`` (Bayes' rule up to a per-frame constant) -> per-transition-id
scores ``(T, num_transition_ids)`` -> the same WFST search as the GMM decoder
(:func:`asr.decode.gmm.decode_settings`), so the graph (``asr mkgraph`` of the GMM
system whose alignments trained the network), the settings (LM weight x word insertion
penalty, chosen on dev), and the output directory are those of :mod:`asr.decode.gmm`::

    text, ctm, settings/<name>/text, nbest.txt, decode_info.json, best_setting.json
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from asr.decode.gmm import (
    FRAME_SHIFT, _load_lexicon, _settings, _write_hyps, add_output_options, choose_setting,
    decode_settings, run_tune_or_decode,
)
from asr.decode.wfst import DecoderConfig
from asr.utils.io import atomic_write_text

log = logging.getLogger(__name__)

DEFAULT_LM_WEIGHTS = tuple(range(4, 14))
DEFAULT_PENALTIES = (0.0, 0.5, 1.0)


def transition_scores(model, feats: torch.Tensor, prior_scale: float = 1.0) -> np.ndarray:
    """``feats (T, D)`` -> ``(T, num_transition_ids)`` float32 scaled log-likelihoods:
    column ``j`` scores transition id ``j``'s pdf (graph label ``j + 1``)."""
    pdf_scores = model.scaled_loglikes(feats, prior_scale)
    return pdf_scores[:, model.transition_model.tid_to_pdf()].float().numpy()


def _prepare(model_dir, graph_dir, data_dir, max_utts, prior_scale, transform_dir):
    from asr.data.datadir import DataDir
    from asr.graph.hclg import read_graph_dir
    from asr.training.frame_classifier import datadir_features, load_hybrid_model

    model = load_hybrid_model(model_dir)
    tm = model.transition_model
    hclg, words, info = read_graph_dir(graph_dir)
    if info.get("num_transition_ids") != tm.num_transition_ids:
        raise ValueError(f"graph {graph_dir} was built for {info.get('num_transition_ids')} "
                         f"transition ids, hybrid model {model_dir} has {tm.num_transition_ids} "
                         f"(use the graph of the GMM system it was trained on)")
    lexicon = _load_lexicon(Path(graph_dir) / "lexicon.txt")
    t0 = time.perf_counter()
    data = DataDir.load(data_dir)
    utts = data.utterances[:max_utts]  # transcripts are not needed to decode
    feats = datadir_features(data_dir, model.frontend, utts,
                             transform=model.gmm_transform(transform_dir))
    t1 = time.perf_counter()
    scores = {}
    for utt, x in feats.items():
        if len(x) == 0:
            log.warning("%s: no feature frames", utt)
            scores[utt] = np.zeros((0, tm.num_transition_ids), dtype=np.float32)
        else:
            scores[utt] = transition_scores(model, x, prior_scale)
    t2 = time.perf_counter()
    frames = sum(x.shape[0] for x in scores.values())
    return model, hclg, words, lexicon, scores, {"features_s": t1 - t0, "loglikes_s": t2 - t1,
                                                 "frames": frames,
                                                 "audio_s": frames * FRAME_SHIFT}


def decode_datadir(model_dir, graph_dir, data_dir, out_dir, *, beam: float = 13.0,
                   max_active: int = 7000, lattice_beam: float = 6.0,
                   acoustic_scale: float = 0.1, prior_scale: float = 1.0,
                   lm_weights: Sequence[float] | None = None,
                   word_insertion_penalties: Sequence[float] | None = None,
                   max_utts: int | None = None, nbest: int = 0,
                   transform_dir: str | Path | None = None, nj: int = 1,
                   tune_by: str = "search", _return_hyps: bool = False) -> dict:
    """Decode ``data_dir`` with the hybrid model ``model_dir`` (``final.pt``) over
    ``graph_dir``; writes ``out_dir`` as :func:`asr.decode.gmm.decode_datadir` does
    (one setting: ``text`` + ``ctm``; several: ``settings/<name>/text``). A model on
    fMLLR features reads its speakers' transforms from ``transform_dir/trans.pt`` (the
    SAT system's decode dir of ``data_dir``). Returns the summary written to
    ``decode_info.json``."""
    out = Path(out_dir)
    model, hclg, words, lexicon, scores, timing = _prepare(model_dir, graph_dir, data_dir,
                                                           max_utts, prior_scale,
                                                           transform_dir)
    settings = _settings(lm_weights, word_insertion_penalties, acoustic_scale)
    if nbest > 0 and len(settings) > 1:
        raise ValueError("decode: n-best lists are written for a single setting only")
    config = DecoderConfig(beam=beam, max_active=max_active, lattice_beam=lattice_beam,
                           acoustic_scale=acoustic_scale)
    hyps, times = decode_settings(model, hclg, words, lexicon, scores, settings, config, nbest,
                                  nj, tune_by)
    if len(settings) == 1:
        _write_hyps(out, hyps[settings[0]], with_ctm=True)
    else:
        for s in settings:
            _write_hyps(out / "settings" / s.name, hyps[s], with_ctm=False)
    search_s = sum(times.values()) / len(times)
    per_setting = timing["features_s"] + timing["loglikes_s"] + search_s
    summary = {
        "model": str(model_dir), "graph": str(graph_dir), "data": str(data_dir),
        "utterances": len(scores), "settings": [asdict(s) for s in settings],
        "prior_scale": prior_scale, "tune_by": tune_by, "beam": beam,
        "max_active": max_active, **timing,
        "transform_dir": None if transform_dir is None else str(transform_dir),
        "search_s_per_setting": search_s,
        "rtf": per_setting / max(timing["audio_s"], 1e-9),
        "search_rtf": search_s / max(timing["audio_s"], 1e-9),
        "not_final": {s.name: sum(not h.reached_final for h in hyps[s].values()) for s in settings},
    }
    atomic_write_text(out / "decode_info.json", json.dumps(summary, indent=1) + "\n")
    if _return_hyps:
        summary["_hyps"] = hyps
    return summary


def tune_on_dev(model_dir, graph_dir, dev_data_dir, out_dir, *,
                lm_weights: Sequence[float] = DEFAULT_LM_WEIGHTS,
                word_insertion_penalties: Sequence[float] = DEFAULT_PENALTIES,
                prior_scale: float = 1.0, beam: float = 13.0, max_active: int = 7000,
                max_utts: int | None = None, transform_dir: str | Path | None = None,
                nj: int = 1, tune_by: str = "search") -> dict:
    """Decode the dev set under every (LM weight, penalty) setting, score each against
    ``dev_data_dir/text`` and keep the lowest WER (ties: the first in sweep order).
    Writes ``out_dir/text``, ``ctm`` and ``best_setting.json`` as
    :func:`asr.decode.gmm.tune_on_dev` (plus ``prior_scale``)."""
    out = Path(out_dir)
    summary = decode_datadir(model_dir, graph_dir, dev_data_dir, out, beam=beam,
                             max_active=max_active, lm_weights=lm_weights,
                             word_insertion_penalties=word_insertion_penalties,
                             prior_scale=prior_scale, max_utts=max_utts,
                             transform_dir=transform_dir, nj=nj, tune_by=tune_by,
                             _return_hyps=True)
    hyps = summary.pop("_hyps")
    return choose_setting({s: {u: x.words for u, x in h.items()} for s, h in hyps.items()},
                          dev_data_dir, out, lambda best: _write_hyps(out, hyps[best], with_ctm=True),
                          extra={"prior_scale": prior_scale})


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The command-line arguments (also used by ``asr decode-hybrid``)."""
    if parser is None:
        parser = argparse.ArgumentParser(
            prog="python -m asr.decode.hybrid",
            description="Decode a data dir with a hybrid DNN-HMM model (scaled likelihoods: "
                        "log posterior - log prior) over the GMM system's HCLG graph. Dev: "
                        "--tune sweeps LM weights x word insertion penalties and writes "
                        "OUT/best_setting.json. Test: --setting DEV_OUT/best_setting.json. "
                        "Writes OUT/text, OUT/ctm and OUT/decode_info.json.")
    parser.add_argument("--model", required=True, help="hybrid experiment dir with final.pt (or the file)")
    parser.add_argument("--graph", required=True,
                        help="graph dir of the GMM system whose alignments trained the model")
    parser.add_argument("--data", required=True, help="Kaldi data dir to decode (wav.scp, utt2spk)")
    parser.add_argument("--out", required=True, help="output decode dir, e.g. exp/hybrid/decode_test")
    parser.add_argument("--beam", type=float, default=13.0, help="search beam (graph-cost units)")
    parser.add_argument("--max-active", type=int, default=7000, help="max active states per frame")
    parser.add_argument("--acoustic-scale", type=float, default=0.1,
                        help="acoustic scale when neither --tune nor --setting is given")
    parser.add_argument("--prior-scale", type=float, default=1.0,
                        help="weight of the log prior subtracted from the log posterior "
                             "(with --setting: the value stored in that file)")
    parser.add_argument("--tune", action="store_true", help="sweep settings and choose on this (dev) set")
    parser.add_argument("--lm-weights", default=" ".join(str(w) for w in DEFAULT_LM_WEIGHTS),
                        help="LM weights swept by --tune")
    parser.add_argument("--penalties", default=" ".join(f"{p:g}" for p in DEFAULT_PENALTIES),
                        help="word insertion penalties swept by --tune")
    parser.add_argument("--setting", help="best_setting.json from a dev --tune run")
    parser.add_argument("--transform-dir",
                        help="for a model on fMLLR features: the SAT system's decode dir of "
                             "the same data (its trans.pt), e.g. exp/tri3/decode_test")
    add_output_options(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    prior_scale = args.prior_scale
    if args.setting and not args.tune:  # the prior scale the dev sweep ran with
        prior_scale = float(json.loads(Path(args.setting).read_text()).get("prior_scale",
                                                                           prior_scale))
    common = dict(beam=args.beam, max_active=args.max_active, max_utts=args.max_utts,
                  prior_scale=prior_scale, transform_dir=args.transform_dir, nj=args.nj)
    return run_tune_or_decode(args, tune_on_dev, decode_datadir, common,
                              dict(acoustic_scale=args.acoustic_scale, nbest=args.nbest,
                                   lattice_beam=args.lattice_beam),
                              tune_only=dict(tune_by=args.tune_by))


def main(argv: list[str] | None = None) -> int:
    from asr.utils import run_cli

    return run_cli(build_parser, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
