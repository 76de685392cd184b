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
from pathlib import Path

import numpy as np
import torch

from asr.decode.gmm import (
    _settings, add_output_options, add_search_options, choose_decoded_setting, load_graph,
    run_graph_decoder, search_and_write,
)
from asr.decode.wfst import DecoderConfig

log = logging.getLogger(__name__)

DEFAULT_LM_WEIGHTS = tuple(range(2, 14))  # the synthetic 1 h sweep chose 4, the old minimum
DEFAULT_PENALTIES = (0.0, 0.5, 1.0)


def transition_scores(model, feats: torch.Tensor, prior_scale: float = 1.0) -> np.ndarray:
    """``feats (T, D)`` -> ``(T, num_transition_ids)`` float32 scaled log-likelihoods:
    column ``j`` scores transition id ``j``'s pdf (graph label ``j + 1``)."""
    pdf_scores = model.scaled_loglikes(feats, prior_scale)
    return pdf_scores[:, model.transition_model.tid_to_pdf()].float().numpy()


def _prepare(model_dir, graph_dir, data_dir, max_utts, prior_scale, transform_dir):
    from asr.data.datadir import DataDir
    from asr.training.frame_classifier import datadir_features, load_hybrid_model

    model = load_hybrid_model(model_dir)
    tm = model.transition_model
    hclg, words, lexicon = load_graph(graph_dir, tm, f"hybrid {model_dir}",
                                      " (use the graph of the GMM system it was trained on)")
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
    return model, hclg, words, lexicon, scores, {"features_s": t1 - t0, "loglikes_s": t2 - t1}


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
    settings = _settings(lm_weights, word_insertion_penalties, acoustic_scale, nbest)
    model, hclg, words, lexicon, scores, stage_s = _prepare(model_dir, graph_dir, data_dir,
                                                            max_utts, prior_scale, transform_dir)
    config = DecoderConfig(beam=beam, max_active=max_active, lattice_beam=lattice_beam,
                           acoustic_scale=acoustic_scale)
    return search_and_write(
        Path(out_dir), model, hclg, words, lexicon, scores, settings, config, nbest=nbest,
        nj=nj, tune_by=tune_by, stage_s=stage_s, return_hyps=_return_hyps,
        header={"model": str(model_dir), "graph": str(graph_dir), "data": str(data_dir),
                "prior_scale": prior_scale,
                "transform_dir": None if transform_dir is None else str(transform_dir)})


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
    return choose_decoded_setting(summary.pop("_hyps"), dev_data_dir, out,
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
    add_search_options(parser, model_help="hybrid experiment dir with final.pt (or the file)",
                       graph_help="graph dir of the GMM system whose alignments trained the model",
                       out_example="exp/hybrid/decode_test", lm_weights=DEFAULT_LM_WEIGHTS,
                       penalties=DEFAULT_PENALTIES)
    parser.add_argument("--prior-scale", type=float, default=1.0,
                        help="weight of the log prior subtracted from the log posterior "
                             "(with --setting: the value stored in that file)")
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
    return run_graph_decoder(args, tune_on_dev, decode_datadir, common)


def main(argv: list[str] | None = None) -> int:
    from asr.utils import run_cli

    return run_cli(build_parser, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
