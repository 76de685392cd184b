"""Decode a data dir with a GMM-HMM acoustic model over an HCLG graph.

Per utterance: features (the model's front end, :func:`asr.gmm.train_mono.datadir_features`:
MFCC + per-speaker CMVN + deltas) -> per-pdf GMM log-likelihoods ``(T, num_pdfs)`` ->
per-transition-id scores ``(T, num_transition_ids)`` -> WFST search
(:mod:`asr.decode.wfst`) -> words, and word timings from the best path's alignment.

A *setting* is an (LM weight, word insertion penalty) pair, as in Kaldi's scoring
sweep: the search minimises ``lm_weight * (graph_cost + penalty * num_words) -
loglike``, i.e. it decodes with acoustic scale ``1 / lm_weight`` over a graph whose
word arcs carry ``penalty``. By default each setting is decoded afresh (the
log-likelihoods are computed once), so a sweep is exact. ``tune_by="lattice"`` decodes
once, with lattices, at a reference setting (the middle LM weight of the sweep, its
lowest penalty) and takes every setting's best path from those lattices, as Kaldi's
scoring does. The lattice search is ~8.5x slower than one 1-best search, so this pays
for grids of more than ~10 settings (2.5x for 30 on the synthetic 1 h hybrid); only
paths inside the lattice beam can win (:func:`asr.decode.wfst.lattice_best_paths`).

Output directory::

    text                    hypotheses of the chosen setting (Kaldi text, utterance ids)
    ctm                     word timings: ``utt 1 start duration word`` (seconds, 10 ms frames)
    settings/<name>/text    one per setting when sweeping (``lmwt10_wip0.5``)
    nbest.txt               with ``nbest`` > 0: ``utt rank total graph acoustic words...``
                            per hypothesis (costs: :mod:`asr.decode.rescore`)
    decode_info.json        setting(s), options, timings and real-time factor
    best_setting.json       (tune_on_dev only) the chosen setting and every setting's WER

Choosing the setting is done on a dev set only (:func:`tune_on_dev`); a test set is
then decoded with that one fixed setting (``--setting best_setting.json``).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from asr.decode.rescore import NbestEntry, nbest_lines
from asr.decode.wfst import DecoderConfig, WfstDecoder, add_word_penalty
from asr.utils.io import atomic_write_text

log = logging.getLogger(__name__)

FRAME_SHIFT = 0.01  # seconds per feature frame
DEFAULT_LM_WEIGHTS = tuple(range(7, 18))  # GMM systems' dev sweep (the hybrid has its own)
DEFAULT_PENALTIES = (0.0, 0.5, 1.0)


@dataclass(frozen=True)
class Setting:
    """An LM weight and a word insertion penalty (graph-cost units per word)."""

    lm_weight: float = 10.0
    word_insertion_penalty: float = 0.0

    @property
    def name(self) -> str:
        return f"lmwt{self.lm_weight:g}_wip{self.word_insertion_penalty:g}"

    @classmethod
    def from_name(cls, name: str) -> "Setting":
        """The setting of a :attr:`name` (``lmwt10_wip0.5``); ValueError otherwise."""
        lm_weight, sep, penalty = name.removeprefix("lmwt").partition("_wip")
        if not name.startswith("lmwt") or not sep:
            raise ValueError(f"not a setting name: {name!r}")
        return cls(float(lm_weight), float(penalty))


@dataclass
class UttHyp:
    words: list[str]
    segments: list[tuple[str, int, int]]   # (word, first frame, number of frames)
    reached_final: bool
    nbest: list = field(default_factory=list)  # asr.decode.rescore.NbestEntry, best first


# ---------------------------------------------------------------- scores

def transition_scores(am, feats: torch.Tensor) -> np.ndarray:
    """``feats (T, D)`` -> ``(T, num_transition_ids)`` float32 log-likelihoods: column
    ``j`` is the log-likelihood of transition id ``j``'s pdf (graph label ``j + 1``)."""
    with torch.no_grad():
        pdf_ll = am.gmm.loglikes(feats.to(am.gmm.device).float())
    tid2pdf = am.transition_model.tid_to_pdf().to(pdf_ll.device)
    return pdf_ll[:, tid2pdf].float().cpu().numpy()


# ---------------------------------------------------------------- word timings

def phone_segments(labels: np.ndarray, tm) -> list[tuple[str, int, int]]:
    """Phone instances ``(phone, first frame, number of frames)`` of a best path's
    per-frame labels (transition id + 1): a phone ends at the forward transition of its
    last HMM state."""
    tuples = tm.tuples.tolist()
    out, start = [], 0
    for t, label in enumerate(labels.tolist()):
        tid = label - 1
        phone, hmm_state, _ = tuples[tid // 2]
        name = tm.phones[phone]
        if tid % 2 == 1 and hmm_state == tm.topology.num_states(name) - 1:
            out.append((name, start, t + 1 - start))
            start = t + 1
    return out


def word_segments(words: Sequence[str], phones: Sequence[tuple[str, int, int]],
                  lexicon: Mapping[str, Sequence[Sequence[str]]],
                  optional: Sequence[str] = ("SIL",)) -> list[tuple[str, int, int]] | None:
    """Match the phone instances to the words' pronunciations (optional-silence phones
    may sit between words). Returns ``(word, first frame, number of frames)`` per word,
    or None when no pronunciation sequence fits."""
    opt = set(optional)

    def match(wi: int, pi: int) -> list[tuple[str, int, int]] | None:
        if wi == len(words):
            return [] if all(p in opt for p, _, _ in phones[pi:]) else None
        for pron in lexicon.get(words[wi], ()):
            n = len(pron)
            if [p for p, _, _ in phones[pi:pi + n]] == list(pron):
                rest = match(wi + 1, pi + n)
                if rest is not None:
                    start = phones[pi][1]
                    end = phones[pi + n - 1][1] + phones[pi + n - 1][2]
                    return [(words[wi], start, end - start)] + rest
        if pi < len(phones) and phones[pi][0] in opt:
            return match(wi, pi + 1)
        return None

    return match(0, 0)


def ctm_lines(utt: str, segments: Sequence[tuple[str, int, int]]) -> list[str]:
    """Kaldi CTM lines ``utt 1 start duration word`` (seconds, two decimals)."""
    return [f"{utt} 1 {s * FRAME_SHIFT:.2f} {n * FRAME_SHIFT:.2f} {w}" for w, s, n in segments]


# ---------------------------------------------------------------- decoding

def _settings(lm_weights, penalties, acoustic_scale: float, nbest: int = 0) -> list[Setting]:
    """Every (LM weight, penalty) pair, penalties outer; no LM weights = ``1 /
    acoustic_scale``, no penalties = 0. N-best lists are for one setting only."""
    lm_weights = list(lm_weights) if lm_weights else [1.0 / acoustic_scale]
    penalties = list(penalties) if penalties else [0.0]
    settings = [Setting(float(w), float(p)) for p in penalties for w in lm_weights]
    if nbest > 0 and len(settings) > 1:
        raise ValueError("decode: n-best lists are written for a single setting only")
    return settings


def _load_lexicon(path: Path) -> dict[str, list[list[str]]]:
    lex: dict[str, list[list[str]]] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                word, *phones = line.split()
                lex.setdefault(word, []).append(phones)
    return lex


TUNE_BY = ("search", "lattice")


class _HypBuilder:
    """A best path's word ids and ``(T,)`` input labels -> :class:`UttHyp` (words and
    word timings from the alignment)."""

    def __init__(self, tm, words_table, lexicon):
        self.tm, self.words_table, self.lexicon = tm, words_table, lexicon
        self.silence = [p for p in tm.phones if tm.topology.is_silence(p)]

    def __call__(self, word_ids: Sequence[int], labels: np.ndarray, reached_final: bool
                 ) -> UttHyp:
        words = [self.words_table[w] for w in word_ids]
        segments = word_segments(words, phone_segments(labels, self.tm), self.lexicon,
                                 self.silence) or []
        return UttHyp(words, segments, reached_final)


def decode_settings(am, hclg, words_table, lexicon, scores: Mapping[str, np.ndarray],
                    settings: Sequence[Setting], config: DecoderConfig, nbest: int = 0,
                    nj: int = 1, tune_by: str = "search"
                    ) -> tuple[dict[Setting, dict[str, UttHyp]], dict[Setting, float]]:
    """Decode every utterance's scores under every setting (``nj`` settings at a time,
    in forked processes).

    With ``nbest`` > 0 the lattice decoder is used and each hypothesis carries up to
    ``nbest`` distinct word sequences with their costs (graph + scaled acoustic).
    With ``tune_by="lattice"`` and several settings, one lattice pass serves them all
    (:func:`_settings_from_lattices`). Returns hypotheses per setting and the search
    time (seconds) per setting (the lattice pass shared out evenly).
    """
    from asr.parallel.forked import forked_map

    if tune_by not in TUNE_BY:
        raise ValueError(f"tune_by must be one of {TUNE_BY}, got {tune_by!r}")
    if tune_by == "lattice" and len(settings) > 1 and nbest == 0:
        return _settings_from_lattices(am, hclg, words_table, lexicon, scores, settings,
                                       config, nj)
    to_hyp = _HypBuilder(am.transition_model, words_table, lexicon)
    graphs = {s.word_insertion_penalty: None for s in settings}
    for wip in graphs:
        graphs[wip] = add_word_penalty(hclg, wip)

    def one(setting: Setting) -> tuple[dict[str, UttHyp], float]:
        start = time.perf_counter()
        cfg = DecoderConfig(**{**asdict(config), "acoustic_scale": 1.0 / setting.lm_weight,
                               "lattice": config.lattice or nbest > 0})
        decoder = WfstDecoder(graphs[setting.word_insertion_penalty], cfg)
        out: dict[str, UttHyp] = {}
        for utt, x in scores.items():
            try:
                res = decoder.decode(x, utt)
            except ValueError as err:
                log.warning("%s", err)
                out[utt] = UttHyp([], [], False)
                continue
            out[utt] = to_hyp(res.words, res.labels, res.reached_final)
            if nbest > 0:
                out[utt].nbest = [NbestEntry([words_table[w] for w in ids], g, a)
                                  for ids, g, a in decoder.nbest(res, nbest)]
        seconds = time.perf_counter() - start
        log.info("decoded %d utterances with %s in %.1f s", len(out), setting.name, seconds)
        return out, seconds

    results = forked_map(one, list(settings), nj)
    hyps = {s: r[0] for s, r in zip(settings, results)}
    times = {s: r[1] for s, r in zip(settings, results)}
    return hyps, times


def _settings_from_lattices(am, hclg, words_table, lexicon, scores: Mapping[str, np.ndarray],
                            settings: Sequence[Setting], config: DecoderConfig, nj: int
                            ) -> tuple[dict[Setting, dict[str, UttHyp]], dict[Setting, float]]:
    """Every setting's hypotheses from one lattice decode per utterance (utterances
    shared over ``nj`` forked processes) at the reference setting: the middle of the
    sorted LM weights and the lowest penalty. A setting ``(w, p)`` rescales the
    lattice's acoustic costs by ``w_ref / w`` and adds ``p - p_ref`` per word."""
    from asr.decode.wfst import lattice_best_paths
    from asr.parallel.forked import forked_map

    to_hyp = _HypBuilder(am.transition_model, words_table, lexicon)
    weights = sorted({s.lm_weight for s in settings})
    ref = Setting(weights[len(weights) // 2], min(s.word_insertion_penalty for s in settings))
    graph = add_word_penalty(hclg, ref.word_insertion_penalty)
    cfg = DecoderConfig(**{**asdict(config), "acoustic_scale": 1.0 / ref.lm_weight,
                           "lattice": True})
    scales = [ref.lm_weight / s.lm_weight for s in settings]
    changes = [s.word_insertion_penalty - ref.word_insertion_penalty for s in settings]

    def share(utts: list[str]) -> tuple[list[dict[str, UttHyp]], float]:
        start = time.perf_counter()
        decoder = WfstDecoder(graph, cfg)
        out: list[dict[str, UttHyp]] = [{} for _ in settings]
        for utt in utts:
            try:
                res = decoder.decode(scores[utt], utt)
                paths = lattice_best_paths(res, scales, changes)
            except ValueError as err:
                log.warning("%s", err)
                for hyps in out:
                    hyps[utt] = UttHyp([], [], False)
                continue
            for hyps, (ids, labels) in zip(out, paths):
                hyps[utt] = to_hyp(ids, labels, res.reached_final)
        return out, time.perf_counter() - start

    utts = list(scores)
    jobs = max(1, min(nj, len(utts)))
    results = forked_map(share, [utts[k::jobs] for k in range(jobs)], jobs)
    hyps = {s: {u: h for part, _ in results for u, h in part[k].items()}
            for k, s in enumerate(settings)}
    seconds = sum(t for _, t in results)
    log.info("decoded %d utterances once with lattices at %s for %d settings in %.1f s",
             len(utts), ref.name, len(settings), seconds)
    return hyps, {s: seconds / len(settings) for s in settings}


def _write_hyps(out: Path, hyps: Mapping[str, UttHyp], with_ctm: bool) -> None:
    atomic_write_text(out / "text", "".join(f"{u} {' '.join(h.words)}".rstrip() + "\n"
                                            for u, h in sorted(hyps.items())))
    if any(h.nbest for h in hyps.values()):
        atomic_write_text(out / "nbest.txt", nbest_lines({u: h.nbest for u, h in hyps.items()}))
    if with_ctm:
        lines = [line for u, h in sorted(hyps.items()) for line in ctm_lines(u, h.segments)]
        atomic_write_text(out / "ctm", "".join(line + "\n" for line in lines))


def _prepare(model_dir, graph_dir, data_dir, max_utts):
    from asr.gmm.am import AcousticModel
    from asr.gmm.train_mono import datadir_features

    model_path = Path(model_dir)
    if (model_path.parent if model_path.is_file() else model_path).joinpath("final.mat").is_file():
        raise ValueError(f"{model_dir} has final.mat (an LDA+MLLT or SAT system): decode it "
                         "with `asr decode-gmm-sat`")
    model_path = model_path / "final.mdl" if model_path.is_dir() else model_path
    am = AcousticModel.load(model_path)
    hclg, words, lexicon = load_graph(graph_dir, am.transition_model, model_path)
    t0 = time.perf_counter()
    feats, _ = datadir_features(data_dir, max_utts, transcribed_only=False)
    t1 = time.perf_counter()
    scores = {u: transition_scores(am, x) for u, x in feats.items()}
    t2 = time.perf_counter()
    return am, hclg, words, lexicon, scores, {"features_s": t1 - t0, "loglikes_s": t2 - t1}


def load_graph(graph_dir, transition_model, model_name, hint: str = ""):
    """``graph_dir``'s HCLG, word table and lexicon, checked against the model's
    transition ids (``hint`` ends the error message)."""
    from asr.graph.hclg import read_graph_dir

    hclg, words, info = read_graph_dir(graph_dir)
    if info.get("num_transition_ids") != transition_model.num_transition_ids:
        raise ValueError(f"graph {graph_dir} was built for {info.get('num_transition_ids')} "
                         f"transition ids, model {model_name} has "
                         f"{transition_model.num_transition_ids}{hint}")
    return hclg, words, _load_lexicon(Path(graph_dir) / "lexicon.txt")


def search_and_write(out: Path, am, hclg, words, lexicon, scores: Mapping[str, np.ndarray],
                     settings: Sequence[Setting], config: DecoderConfig, *, nbest: int,
                     nj: int, tune_by: str, header: Mapping, stage_s: Mapping[str, float],
                     extra: Mapping | None = None, return_hyps: bool = False) -> dict:
    """The end shared by the graph decoders' ``decode_datadir``: search ``scores``
    (utt -> ``(T, num_transition_ids)``) under every setting (:func:`decode_settings`),
    write ``text`` + ``ctm`` (one setting) or ``settings/<name>/text`` (several), and
    ``decode_info.json``: ``header``, the settings, ``stage_s`` (seconds of each step
    before the search), frames, audio seconds, search seconds per setting, the real-time
    factors (all steps + one setting's search, and the search alone, over the audio),
    utterances that reached no final state per setting, then ``extra``. Returns that
    summary, plus ``_hyps`` (setting -> utt -> :class:`UttHyp`) with ``return_hyps``."""
    hyps, times = decode_settings(am, hclg, words, lexicon, scores, settings, config, nbest,
                                  nj, tune_by)
    if len(settings) == 1:
        _write_hyps(out, hyps[settings[0]], with_ctm=True)
    else:
        for s in settings:
            _write_hyps(out / "settings" / s.name, hyps[s], with_ctm=False)
    search_s = sum(times.values()) / len(times)
    frames = sum(x.shape[0] for x in scores.values())
    audio_s = frames * FRAME_SHIFT
    summary = {
        **header, "utterances": len(scores), "settings": [asdict(s) for s in settings],
        "tune_by": tune_by, "beam": config.beam, "max_active": config.max_active,
        **stage_s, "frames": frames, "audio_s": audio_s, "search_s_per_setting": search_s,
        "rtf": (sum(stage_s.values()) + search_s) / max(audio_s, 1e-9),
        "search_rtf": search_s / max(audio_s, 1e-9),
        "not_final": {s.name: sum(not h.reached_final for h in hyps[s].values()) for s in settings},
        **(extra or {}),
    }
    atomic_write_text(out / "decode_info.json", json.dumps(summary, indent=1) + "\n")
    if return_hyps:
        summary["_hyps"] = hyps
    return summary


def decode_datadir(model_dir, graph_dir, feats_data_dir, out_dir, *, beam: float = 13.0,
                   max_active: int = 7000, lattice_beam: float = 6.0,
                   acoustic_scale: float = 0.1, lm_weights: Sequence[float] | None = None,
                   word_insertion_penalties: Sequence[float] | None = None,
                   max_utts: int | None = None, nbest: int = 0, nj: int = 1,
                   tune_by: str = "search", _return_hyps: bool = False) -> dict:
    """Decode the data dir ``feats_data_dir`` (wav.scp/utt2spk; features are computed
    with the model's front end) and write ``out_dir`` (see the module docstring).

    Settings: every (LM weight, penalty) pair of ``lm_weights`` x
    ``word_insertion_penalties``; without ``lm_weights`` one LM weight
    ``1 / acoustic_scale``. With a single setting ``text`` and ``ctm`` are written for
    it; with several, ``settings/<name>/text`` each (choose with :func:`tune_on_dev`).
    ``nbest`` > 0 (single setting): decode with the lattice decoder (``lattice_beam``)
    and also write ``nbest.txt``: ``utt rank total graph acoustic words...`` lines, best
    first (:func:`asr.decode.rescore.nbest_lines`). ``tune_by``: how several settings
    are decoded (see the module docstring).
    Returns the decode summary written to ``decode_info.json``.
    """
    settings = _settings(lm_weights, word_insertion_penalties, acoustic_scale, nbest)
    am, hclg, words, lexicon, scores, stage_s = _prepare(model_dir, graph_dir, feats_data_dir,
                                                         max_utts)
    config = DecoderConfig(beam=beam, max_active=max_active, lattice_beam=lattice_beam,
                           acoustic_scale=acoustic_scale)
    return search_and_write(
        Path(out_dir), am, hclg, words, lexicon, scores, settings, config, nbest=nbest, nj=nj,
        tune_by=tune_by, stage_s=stage_s, return_hyps=_return_hyps,
        header={"model": str(model_dir), "graph": str(graph_dir), "data": str(feats_data_dir)})


def choose_setting(words: Mapping[Setting, Mapping[str, Sequence[str]]], dev_data_dir,
                   out_dir, write_best, extra: Mapping | None = None) -> dict:
    """Score each setting's hypotheses (``utt -> words``) against ``dev_data_dir/text``,
    keep the lowest WER (ties: the first in sweep order), call ``write_best(setting)`` to
    write that setting's outputs, then (last) ``out_dir/best_setting.json``:
    ``{"lm_weight", "word_insertion_penalty", **extra, "wer", "dev", "grid_edges",
    "sweep": {name: wer}}`` (``grid_edges``: :func:`grid_edges`, also logged as a
    warning). Shared by every graph decoder's dev tuning."""
    from asr.scoring.kaldi_text import read_text
    from asr.scoring.wer import score

    ref_path = Path(dev_data_dir) / "text"
    if not ref_path.is_file():
        raise FileNotFoundError(f"tuning needs reference transcripts: {ref_path} is missing")
    ref = read_text(ref_path)
    ref = {u: ref[u] for u in next(iter(words.values()))}
    sweep, best, best_wer = {}, None, float("inf")
    for setting, hyps in words.items():
        wer = score(ref, {u: " ".join(w) for u, w in hyps.items()}).error_rate
        sweep[setting.name] = wer
        if wer < best_wer:
            best, best_wer = setting, wer
    write_best(best)
    edges = grid_edges(best, list(words))
    choice = {**asdict(best), **(extra or {}), "wer": best_wer, "dev": str(dev_data_dir),
              "grid_edges": edges, "sweep": sweep}
    atomic_write_text(Path(out_dir) / "best_setting.json", json.dumps(choice, indent=1) + "\n")
    log.info("best setting on dev: %s (WER %.2f%%)", best.name, 100 * best_wer)
    if edges:
        log.warning("the dev choice %s is on the edge of the swept grid (%s): a wider grid "
                    "may do better", best.name, ", ".join(edges))
    return choice


def grid_edges(best: Setting, settings: Sequence[Setting]) -> list[str]:
    """``best``'s values that are the largest or smallest swept on their axis (an axis
    with one value has no edge): ``["lm_weight=max", "word_insertion_penalty=min"]``.
    A choice on an edge says the optimum may lie outside the grid."""
    from asr.utils import range_edge

    edges = [(axis, range_edge(getattr(best, axis), (getattr(s, axis) for s in settings)))
             for axis in ("lm_weight", "word_insertion_penalty")]
    return [f"{axis}={edge}" for axis, edge in edges if edge]


def tune_on_dev(model_dir, graph_dir, dev_data_dir, out_dir, *,
                lm_weights: Sequence[float] = DEFAULT_LM_WEIGHTS,
                word_insertion_penalties: Sequence[float] = DEFAULT_PENALTIES,
                beam: float = 13.0, max_active: int = 7000, max_utts: int | None = None,
                nj: int = 1, tune_by: str = "search") -> dict:
    """Decode the dev set under every setting (``nj`` at a time; or, with
    ``tune_by="lattice"``, once with lattices for all), score each against
    ``dev_data_dir/text`` and pick the lowest WER (ties: the first in sweep order).
    Writes ``out_dir/text`` and ``ctm`` of the best setting, the per-setting texts and ``best_setting.json``
    (``{"lm_weight", "word_insertion_penalty", "wer", "sweep": {name: wer}}``)."""
    out = Path(out_dir)
    summary = decode_datadir(model_dir, graph_dir, dev_data_dir, out, beam=beam,
                             max_active=max_active, lm_weights=lm_weights,
                             word_insertion_penalties=word_insertion_penalties,
                             max_utts=max_utts, nj=nj, tune_by=tune_by, _return_hyps=True)
    return choose_decoded_setting(summary.pop("_hyps"), dev_data_dir, out)


def choose_decoded_setting(hyps: Mapping[Setting, Mapping[str, UttHyp]], dev_data_dir, out_dir,
                           extra: Mapping | None = None) -> dict:
    """:func:`choose_setting` over the hypotheses of :func:`search_and_write`; the best
    setting's ``text`` and ``ctm`` go to ``out_dir``."""
    out = Path(out_dir)
    return choose_setting({s: {u: x.words for u, x in h.items()} for s, h in hyps.items()},
                          dev_data_dir, out, lambda best: _write_hyps(out, hyps[best], with_ctm=True),
                          extra=extra)


def read_setting(path: str | Path) -> Setting:
    """The setting stored by :func:`tune_on_dev` (``best_setting.json``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"setting file {path} does not exist (run the dev tuning first)")
    data = json.loads(path.read_text(encoding="utf-8"))
    try:
        return Setting(float(data["lm_weight"]), float(data["word_insertion_penalty"]))
    except KeyError as err:
        raise ValueError(f"{path}: missing key {err}") from None


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.replace(",", " ").split()]


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The command-line arguments (also used by the `asr` subcommand)."""
    if parser is None:
        parser = argparse.ArgumentParser(
            prog="python -m asr.decode.gmm",
            description="Decode a data dir with a GMM-HMM model over an HCLG graph. "
                        "Dev: --tune sweeps LM weights x word insertion penalties, scores each "
                        "against DATA/text and writes OUT/best_setting.json. Test: --setting "
                        "DEV_OUT/best_setting.json decodes with that fixed setting. Writes "
                        "OUT/text, OUT/ctm and OUT/decode_info.json.")
    add_search_options(parser, model_help="experiment dir with final.mdl (or the file)",
                       out_example="exp/mono/decode_test")
    add_output_options(parser)
    return parser


def add_search_options(parser: argparse.ArgumentParser, *, model_help: str,
                       out_example: str,
                       graph_help: str = "graph dir (HCLG.fst, words.txt, info.json)",
                       lm_weights: Sequence[float] = DEFAULT_LM_WEIGHTS,
                       penalties: Sequence[float] = DEFAULT_PENALTIES) -> None:
    """``--model``, ``--graph``, ``--data``, ``--out``, the search options and the
    setting options (``--tune``, ``--lm-weights``, ``--penalties``, ``--setting``):
    shared by the GMM, SAT and hybrid decoding commands."""
    parser.add_argument("--model", required=True, help=model_help)
    parser.add_argument("--graph", required=True, help=graph_help)
    parser.add_argument("--data", required=True, help="Kaldi data dir to decode (wav.scp, utt2spk)")
    parser.add_argument("--out", required=True, help=f"output decode dir, e.g. {out_example}")
    parser.add_argument("--beam", type=float, default=13.0, help="search beam (graph-cost units)")
    parser.add_argument("--max-active", type=int, default=7000, help="max active states per frame")
    parser.add_argument("--acoustic-scale", type=float, default=0.1,
                        help="acoustic scale when neither --tune nor --setting is given")
    parser.add_argument("--tune", action="store_true", help="sweep settings and choose on this (dev) set")
    parser.add_argument("--lm-weights", default=" ".join(f"{w:g}" for w in lm_weights),
                        help="LM weights swept by --tune")
    parser.add_argument("--penalties", default=" ".join(f"{p:g}" for p in penalties),
                        help="word insertion penalties swept by --tune")
    parser.add_argument("--setting", help="best_setting.json from a dev --tune run")


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """``--nbest``, ``--lattice-beam``, ``--nj``, ``--tune-by`` and ``--max-utts``: shared
    by the GMM, SAT and hybrid decoding commands."""
    parser.add_argument("--nbest", type=int, default=0,
                        help="also write OUT/nbest.txt with N distinct hypotheses per utterance "
                             "(lattice decoder; not with --tune), for asr rescore-lm")
    parser.add_argument("--lattice-beam", type=float, default=6.0, help="lattice beam for --nbest")
    parser.add_argument("--nj", type=int, default=1,
                        help="settings decoded in parallel by --tune (forked processes)")
    parser.add_argument("--tune-by", choices=TUNE_BY, default="search",
                        help="--tune: 'search' decodes the dev set once per setting (exact); "
                             "'lattice' decodes it once with lattices at the middle LM weight "
                             "and takes every setting's best path from them (Kaldi's scoring; "
                             "several times faster on large graphs)")
    parser.add_argument("--max-utts", type=int, help="decode the first N utterances only")


def run_tune_or_decode(args: argparse.Namespace, tune, decode, common: dict,
                       decode_only: dict | None = None, defaults=(None, None),
                       tune_only: dict | None = None) -> int:
    """The body shared by the graph decoders' commands: with ``--tune``, ``tune(model,
    graph, data, out, lm_weights=..., word_insertion_penalties=..., **common,
    **tune_only)`` sweeps ``--lm-weights`` x ``--penalties`` and prints the choice;
    otherwise ``decode`` runs with the setting of ``--setting`` (else ``defaults``: LM
    weights, penalties) and ``decode_only`` added to ``common``."""
    if args.tune and args.setting:
        raise ValueError("--tune chooses a setting; --setting uses a fixed one: give only one")
    if args.tune:
        choice = tune(args.model, args.graph, args.data, args.out,
                      lm_weights=_floats(args.lm_weights),
                      word_insertion_penalties=_floats(args.penalties), **common,
                      **(tune_only or {}))
        print(f"best setting lmwt={choice['lm_weight']:g} wip={choice['word_insertion_penalty']:g} "
              f"dev WER {100 * choice['wer']:.2f}% -> {Path(args.out) / 'best_setting.json'}")
        return 0
    lm_weights, penalties = defaults
    if args.setting:
        s = read_setting(args.setting)
        lm_weights, penalties = [s.lm_weight], [s.word_insertion_penalty]
    summary = decode(args.model, args.graph, args.data, args.out, lm_weights=lm_weights,
                     word_insertion_penalties=penalties, **common, **(decode_only or {}))
    print(f"decoded {summary['utterances']} utterances, RTF {summary['rtf']:.3f} "
          f"-> {Path(args.out) / 'text'}")
    return 0


def run_graph_decoder(args: argparse.Namespace, tune, decode, common: dict) -> int:
    """:func:`run_tune_or_decode` for a command built with :func:`add_search_options` and
    :func:`add_output_options`: ``--tune-by`` goes to ``tune``; the acoustic scale and
    the n-best options go to ``decode``."""
    return run_tune_or_decode(args, tune, decode, common,
                              dict(acoustic_scale=args.acoustic_scale, nbest=args.nbest,
                                   lattice_beam=args.lattice_beam),
                              tune_only=dict(tune_by=args.tune_by))


def run(args: argparse.Namespace) -> int:
    return run_graph_decoder(
        args, tune_on_dev, decode_datadir,
        dict(beam=args.beam, max_active=args.max_active, max_utts=args.max_utts, nj=args.nj))


def main(argv: list[str] | None = None) -> int:
    from asr.utils import run_cli

    return run_cli(build_parser, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
