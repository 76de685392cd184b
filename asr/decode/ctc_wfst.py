"""Decode a data dir with a CTC model over an HLG graph (the ``phone_ctc`` system).

Per utterance: fbank + global CMVN (the experiment's front end, :class:`E2ERecognizer`)
-> encoder -> CTC log-probabilities ``(T', V)`` (``T'`` frames of 40 ms) -> WFST search
(:mod:`asr.decode.wfst`, kaldi-decoder) over HLG (:mod:`asr.graph.ctc_topo`) -> words.

Scores: column ``j`` of the log-probabilities is the score of HLG input label ``j + 1``
(token ``j``; the blank is label 1, an ordinary label of the standard CTC topology).
They are log-posteriors, used as they are (no prior division); ``blank_penalty`` (nats,
default 0) is subtracted from the blank column, which trades deletions for insertions.

A *setting* is an (LM weight, word insertion penalty) pair as in :mod:`asr.decode.gmm`:
the search minimises ``lm_weight * (graph_cost + penalty * num_words) - log_prob``,
i.e. acoustic scale ``1 / lm_weight``. The search ``beam`` is given in the units of that
objective divided by ``lm_weight`` (nats of log-probability), so one beam means the same
pruning for every LM weight. Log-probabilities are computed once; each setting is decoded
afresh.

Output directory (the format ``asr score`` / ``asr compare`` read)::

    text                    hypotheses of the chosen setting (Kaldi text)
    settings/<name>/text    one per setting when sweeping (``lmwt0.6_wip0``)
    decode_info.json        setting(s), options, timings and real-time factor
    best_setting.json       (tuning on dev only) the chosen setting and every setting's WER

The setting is chosen on a dev set (:func:`tune_on_dev`); a test set is then decoded
with it (``--setting DEV_OUT/best_setting.json``).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from asr.decode.gmm import Setting, choose_setting, run_tune_or_decode
from asr.decode.wfst import DecoderConfig, WfstDecoder, add_word_penalty
from asr.utils.io import atomic_write_text

log = logging.getLogger(__name__)

FRAME_SHIFT = 0.04  # seconds per encoder frame (10 ms features, subsampling 4)
DEFAULT_LM_WEIGHTS = (0.1, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0, 1.5)
DEFAULT_PENALTIES = (-2.0, -1.0, 0.0, 1.0)


# ---------------------------------------------------------------- scores

def ctc_log_probs(model, feats: Sequence[np.ndarray], batch_frames: int = 6000,
                  device: str | torch.device = "cpu") -> list[np.ndarray]:
    """CTC log-probabilities of each ``(T_i, F)`` feature matrix -> ``(T'_i, V)`` float32,
    in input order (length-sorted batches of at most ``batch_frames`` padded frames)."""
    order = sorted(range(len(feats)), key=lambda i: -feats[i].shape[0])
    out: list[np.ndarray | None] = [None] * len(feats)
    start = 0
    with torch.no_grad():
        while start < len(order):
            size = max(1, batch_frames // max(feats[order[start]].shape[0], 1))
            batch = order[start:start + size]
            start += len(batch)
            lens = torch.tensor([feats[i].shape[0] for i in batch])
            padded = torch.zeros(len(batch), int(lens.max()), feats[batch[0]].shape[1])
            for row, i in enumerate(batch):
                padded[row, :feats[i].shape[0]] = torch.from_numpy(feats[i])
            enc, enc_lens = model.encode(padded.to(device), lens.to(device))
            logp = model.ctc_log_probs(enc).float().cpu().numpy()
            for row, i in enumerate(batch):
                out[i] = np.ascontiguousarray(logp[row, : int(enc_lens[row])])
    return out  # type: ignore[return-value]


def apply_blank_penalty(log_probs: np.ndarray, penalty: float, blank_id: int = 0) -> np.ndarray:
    """A copy of ``log_probs (T', V)`` with ``penalty`` subtracted from the blank column."""
    if penalty == 0.0:
        return log_probs
    x = log_probs.copy()
    x[:, blank_id] -= penalty
    return x


# ---------------------------------------------------------------- search

def decode_settings(hlg, words_table, scores: Mapping[str, np.ndarray],
                    settings: Sequence[Setting], beam: float = 16.0, max_active: int = 7000,
                    nj: int = 1
                    ) -> tuple[dict[Setting, dict[str, list[str]]], dict[Setting, float]]:
    """Decode every utterance's ``(T', V)`` log-probabilities under every setting
    (``nj`` settings at a time, in forked processes).

    Returns the word sequences per setting and utterance (an utterance whose search
    fails gets no words, with a warning) and the search time (seconds) per setting.
    """
    from asr.parallel.forked import forked_map

    graphs = {s.word_insertion_penalty: None for s in settings}
    for wip in graphs:
        graphs[wip] = add_word_penalty(hlg, wip)

    def one(setting: Setting) -> tuple[dict[str, list[str]], float]:
        start = time.perf_counter()
        scale = 1.0 / setting.lm_weight
        decoder = WfstDecoder(graphs[setting.word_insertion_penalty],
                              DecoderConfig(beam=beam * scale, max_active=max_active,
                                            acoustic_scale=scale))
        out: dict[str, list[str]] = {}
        for utt, x in scores.items():
            try:
                out[utt] = [words_table[w] for w in decoder.decode(x, utt).words]
            except ValueError as err:
                log.warning("%s", err)
                out[utt] = []
        seconds = time.perf_counter() - start
        log.info("decoded %d utterances with %s in %.1f s", len(out), setting.name, seconds)
        return out, seconds

    results = forked_map(one, list(settings), nj)
    return ({s: r[0] for s, r in zip(settings, results)},
            {s: r[1] for s, r in zip(settings, results)})


def _write_text(path: Path, hyps: Mapping[str, Sequence[str]]) -> None:
    atomic_write_text(path, "".join(f"{u} {' '.join(w)}".rstrip() + "\n"
                                    for u, w in sorted(hyps.items())))


def _prepare(model_dir, graph_dir, data_dir, max_utts, blank_penalty, model_file=None):
    from asr.data import DataDir
    from asr.decode import DecodeConfig
    from asr.decode.e2e import E2ERecognizer
    from asr.graph.ctc_topo import read_hlg_dir

    hlg, words, tokens, info = read_hlg_dir(graph_dir)
    recognizer = E2ERecognizer(model_dir, DecodeConfig(method="ctc_greedy"),
                               model_file=model_file)
    if recognizer.tokenizer.tokens != tokens.symbols:
        raise ValueError(f"graph {graph_dir} was built for other tokens than the model "
                         f"{model_dir} (compare {Path(graph_dir) / 'tokens.txt'} with "
                         f"{Path(model_dir) / 'tokenizer' / 'tokens.txt'})")
    data = DataDir.load(data_dir)
    data.validate(name=str(data_dir), require_text=False)
    if max_utts:
        data = data.first(max_utts)
    utts = data.utterances
    t0 = time.perf_counter()
    feats = recognizer.datadir_features(data)
    t1 = time.perf_counter()
    logp = ctc_log_probs(recognizer.model, feats, device=recognizer.device)
    t2 = time.perf_counter()
    scores = {u: apply_blank_penalty(x, blank_penalty, recognizer.model.blank_id)
              for u, x in zip(utts, logp)}
    audio_s = sum(f.shape[0] for f in feats) * 0.01
    return hlg, words, scores, {"features_s": t1 - t0, "nnet_s": t2 - t1,
                                "frames": sum(x.shape[0] for x in scores.values()),
                                "audio_s": audio_s}, recognizer.model_file


def decode_datadir(model_dir, graph_dir, data_dir, out_dir, *, beam: float = 16.0,
                   max_active: int = 7000, lm_weights: Sequence[float] = (1.0,),
                   word_insertion_penalties: Sequence[float] = (0.0,),
                   blank_penalty: float = 0.0, max_utts: int | None = None,
                   model_file: str | None = None, nj: int = 1,
                   _return_hyps: bool = False) -> dict:
    """Decode the data dir ``data_dir`` (wav.scp; fbank computed with the experiment's
    front end) under every (LM weight, penalty) pair (``nj`` at a time) and write
    ``out_dir`` (see the module docstring): ``text`` for a single setting,
    ``settings/<name>/text`` for several.
    Returns the summary written to ``decode_info.json``."""
    out = Path(out_dir)
    hlg, words, scores, timing, used_model = _prepare(model_dir, graph_dir, data_dir, max_utts,
                                                      blank_penalty, model_file)
    settings = [Setting(float(w), float(p)) for p in word_insertion_penalties
                for w in lm_weights]
    if not settings:
        raise ValueError("decode: no (LM weight, penalty) setting to decode with")
    hyps, times = decode_settings(hlg, words, scores, settings, beam, max_active, nj)
    if len(settings) == 1:
        _write_text(out / "text", hyps[settings[0]])
    else:
        for s in settings:
            _write_text(out / "settings" / s.name / "text", hyps[s])
    search_s = sum(times.values()) / len(times)
    per_setting = timing["features_s"] + timing["nnet_s"] + search_s
    summary = {
        "model": str(used_model), "graph": str(graph_dir), "data": str(data_dir),
        "utterances": len(scores), "settings": [asdict(s) for s in settings],
        "beam": beam, "max_active": max_active, "blank_penalty": blank_penalty, **timing,
        "search_s_per_setting": search_s,
        "rtf": per_setting / max(timing["audio_s"], 1e-9),
        "search_rtf": search_s / max(timing["audio_s"], 1e-9),
        "empty": {s.name: sum(not h for h in hyps[s].values()) for s in settings},
    }
    atomic_write_text(out / "decode_info.json", json.dumps(summary, indent=1) + "\n")
    if _return_hyps:
        summary["_hyps"] = hyps
    return summary


def tune_on_dev(model_dir, graph_dir, dev_data_dir, out_dir, *,
                lm_weights: Sequence[float] = DEFAULT_LM_WEIGHTS,
                word_insertion_penalties: Sequence[float] = DEFAULT_PENALTIES,
                beam: float = 16.0, max_active: int = 7000, blank_penalty: float = 0.0,
                max_utts: int | None = None, model_file: str | None = None,
                nj: int = 1) -> dict:
    """Decode the dev set under every setting, score each against ``dev_data_dir/text``
    and pick the lowest WER (ties: the first in sweep order). Writes ``out_dir/text`` of
    the best setting, the per-setting texts and ``best_setting.json``
    (``{"lm_weight", "word_insertion_penalty", "wer", "sweep": {name: wer}}``)."""
    ref_path = Path(dev_data_dir) / "text"
    if not ref_path.is_file():  # before decoding, not after
        raise FileNotFoundError(f"tuning needs reference transcripts: {ref_path} is missing")
    out = Path(out_dir)
    summary = decode_datadir(model_dir, graph_dir, dev_data_dir, out, beam=beam,
                             max_active=max_active, lm_weights=lm_weights,
                             word_insertion_penalties=word_insertion_penalties,
                             blank_penalty=blank_penalty, max_utts=max_utts,
                             model_file=model_file, nj=nj, _return_hyps=True)
    hyps = summary.pop("_hyps")
    return choose_setting(hyps, dev_data_dir, out,
                          lambda best: _write_text(out / "text", hyps[best]),
                          extra={"blank_penalty": blank_penalty})


# ---------------------------------------------------------------- command line

def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The command-line arguments (also used by the `asr decode-ctc-hlg` subcommand)."""
    if parser is None:
        parser = argparse.ArgumentParser(
            prog="python -m asr.decode.ctc_wfst",
            description="Decode a data dir with a CTC model (asr train) over an HLG graph "
                        "(asr mkgraph-ctc). Dev: --tune sweeps LM weights x word insertion "
                        "penalties, scores each against DATA/text and writes "
                        "OUT/best_setting.json. Test: --setting DEV_OUT/best_setting.json. "
                        "Writes OUT/text and OUT/decode_info.json.")
    parser.add_argument("--model", required=True, help="experiment dir of `asr train`")
    parser.add_argument("--model-file", help="model file or checkpoint (default: final.pt, "
                                             "else the best checkpoint)")
    parser.add_argument("--graph", required=True, help="HLG graph dir (asr mkgraph-ctc)")
    parser.add_argument("--data", required=True, help="Kaldi data dir to decode (wav.scp)")
    parser.add_argument("--out", required=True, help="decode dir, e.g. exp/phone_ctc/decode_test")
    parser.add_argument("--beam", type=float, default=16.0,
                        help="search beam in nats of CTC log-probability")
    parser.add_argument("--max-active", type=int, default=7000, help="max active states per frame")
    parser.add_argument("--lm-weight", type=float, default=1.0,
                        help="LM weight when neither --tune nor --setting is given")
    parser.add_argument("--penalty", type=float, default=0.0,
                        help="word insertion penalty when neither --tune nor --setting is given")
    parser.add_argument("--blank-penalty", type=float, default=0.0,
                        help="nats subtracted from the blank's log-probability")
    parser.add_argument("--tune", action="store_true",
                        help="sweep settings and choose on this (dev) set")
    parser.add_argument("--lm-weights", default=" ".join(f"{w:g}" for w in DEFAULT_LM_WEIGHTS),
                        help="LM weights swept by --tune")
    parser.add_argument("--penalties", default=" ".join(f"{p:g}" for p in DEFAULT_PENALTIES),
                        help="word insertion penalties swept by --tune")
    parser.add_argument("--setting", help="best_setting.json from a dev --tune run")
    parser.add_argument("--nj", type=int, default=1,
                        help="settings decoded in parallel by --tune (forked processes)")
    parser.add_argument("--max-utts", type=int, help="decode the first N utterances only")
    return parser


def run(args: argparse.Namespace) -> int:
    common = dict(beam=args.beam, max_active=args.max_active, blank_penalty=args.blank_penalty,
                  max_utts=args.max_utts, model_file=args.model_file, nj=args.nj)
    return run_tune_or_decode(args, tune_on_dev, decode_datadir, common,
                              defaults=([args.lm_weight], [args.penalty]))


def main(argv: list[str] | None = None) -> int:
    from asr.utils import run_cli

    return run_cli(build_parser, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
