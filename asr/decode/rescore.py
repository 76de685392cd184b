"""Rescore the n-best lists of a graph decode with a larger n-gram LM (Kaldi's
``lmrescore`` on n-best lists).

A graph decoder's n-best entry has a graph cost (LM + word insertion penalty +
transition/pronunciation costs) and an acoustic cost (``-loglike / lm_weight``), both in
natural-log units, as :mod:`asr.decode.gmm` writes them to ``nbest.txt``::

    utt rank total_cost graph_cost acoustic_cost word1 word2 ...

Rescoring takes the decode LM's cost out of the graph cost and puts the new LM's in::

    graph' = graph - ln(10) * (lm_scale * log10 P_new(words) - log10 P_old(words))

(both sentence probabilities with ``<s>`` and ``</s>``), and re-ranks by
``graph' + acoustic``. The old LM must be the one in the decoding graph
(``GRAPH/lm.arpa``). The graph's search may have taken a backoff arc where a longer
n-gram existed (the usual WFST approximation of an ARPA model), so the subtracted cost
can differ slightly from what the path paid; Kaldi's n-best rescoring has the same
property.

Output dir: ``text`` (the new best hypothesis per utterance), ``nbest.txt`` (re-ranked,
new costs), ``rescore_info.json`` (LMs, counts, how many 1-best hypotheses changed).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from asr.utils.io import atomic_write_text

log = logging.getLogger(__name__)

LN10 = math.log(10.0)


@dataclass
class NbestEntry:
    """One hypothesis: its words and costs (natural-log units, lower is better)."""

    words: list[str]
    graph_cost: float
    acoustic_cost: float

    @property
    def total_cost(self) -> float:
        return self.graph_cost + self.acoustic_cost


def nbest_lines(nbest: Mapping[str, Sequence[NbestEntry]]) -> str:
    """The ``nbest.txt`` text: ``utt rank total graph acoustic words...``, ranks from 1."""
    return "".join(
        f"{u} {rank} {e.total_cost:.4f} {e.graph_cost:.4f} {e.acoustic_cost:.4f} "
        f"{' '.join(e.words)}".rstrip() + "\n"
        for u, entries in sorted(nbest.items()) for rank, e in enumerate(entries, 1))


def read_nbest(path: str | Path) -> dict[str, list[NbestEntry]]:
    """Parse ``nbest.txt`` (:func:`nbest_lines`) into ``utt -> entries`` in rank order."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist (decode with --nbest N to write it)")
    out: dict[str, list[NbestEntry]] = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split()
        try:
            if len(fields) < 5:
                raise ValueError
            rank, graph, acoustic = int(fields[1]), float(fields[3]), float(fields[4])
        except ValueError:
            raise ValueError(f"{path}:{lineno}: expected 'utt rank total graph acoustic "
                             f"words...', got {line!r}") from None
        entries = out.setdefault(fields[0], [])
        if rank != len(entries) + 1:
            raise ValueError(f"{path}:{lineno}: rank {rank} after {len(entries)} entries "
                             f"of {fields[0]}")
        entries.append(NbestEntry(fields[5:], graph, acoustic))
    return out


def sentence_scorer(lm_path: str | Path) -> Callable[[Sequence[str]], float]:
    """``words -> log10 P(<s> words </s>)`` of an ARPA model (read with
    :func:`asr.lm.arpa.read_arpa`; KenLM serves large or binary models when installed)."""
    path = Path(lm_path)
    if not path.is_file():
        raise FileNotFoundError(f"language model {path} does not exist")
    from asr.lm.kenlm_model import KenLM, kenlm_available

    if kenlm_available() and (path.stat().st_size > 50_000_000 or path.suffix != ".arpa"):
        model = KenLM(path)
        return lambda words: model.score(list(words))
    from asr.lm.arpa import read_arpa

    arpa = read_arpa(path)
    return lambda words: arpa.score_sentence(words)


def rescore(nbest: Mapping[str, Sequence[NbestEntry]],
            old_lm: Callable[[Sequence[str]], float], new_lm: Callable[[Sequence[str]], float],
            lm_scale: float = 1.0) -> dict[str, list[NbestEntry]]:
    """Swap the LM cost of every entry (see the module docstring) and re-rank each
    utterance's list by the new total cost (stable: ties keep the decoder's order)."""
    out = {}
    for utt, entries in nbest.items():
        new = []
        for e in entries:
            try:
                delta = lm_scale * new_lm(e.words) - old_lm(e.words)
            except ValueError as err:
                raise ValueError(f"{utt}: {err}") from None
            new.append(NbestEntry(list(e.words), e.graph_cost - LN10 * delta, e.acoustic_cost))
        out[utt] = sorted(new, key=lambda e: e.total_cost)
    return out


def rescore_dir(nbest_path: str | Path, old_lm: str | Path, new_lm: str | Path,
                out_dir: str | Path, lm_scale: float = 1.0) -> dict:
    """Rescore ``nbest_path`` and write ``out_dir`` (``text``, ``nbest.txt``,
    ``rescore_info.json``); returns the info."""
    nbest = read_nbest(nbest_path)
    if not nbest:
        raise ValueError(f"{nbest_path} holds no hypotheses")
    rescored = rescore(nbest, sentence_scorer(old_lm), sentence_scorer(new_lm), lm_scale)
    out = Path(out_dir)
    atomic_write_text(out / "nbest.txt", nbest_lines(rescored))
    atomic_write_text(out / "text", "".join(
        f"{u} {' '.join(entries[0].words)}".rstrip() + "\n"
        for u, entries in sorted(rescored.items())))
    changed = sum(nbest[u][0].words != rescored[u][0].words for u in nbest)
    info = {"nbest": str(nbest_path), "old_lm": str(old_lm), "new_lm": str(new_lm),
            "lm_scale": lm_scale, "utterances": len(nbest),
            "hypotheses": sum(len(v) for v in nbest.values()), "changed_1best": changed}
    atomic_write_text(out / "rescore_info.json", json.dumps(info, indent=1) + "\n")
    return info


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The command-line arguments (also used by ``asr rescore-lm``)."""
    if parser is None:
        parser = argparse.ArgumentParser(prog="python -m asr.decode.rescore")
    parser.description = ("Rescore a graph decode's n-best list (decode-gmm / decode-gmm-sat / "
                          "decode-hybrid / decode-ctc-hlg --nbest N) with a larger n-gram LM: "
                          "the decoding LM's cost is replaced by the new one's. Writes "
                          "OUT/text, OUT/nbest.txt, OUT/rescore_info.json.")
    parser.add_argument("--decode-dir", required=True,
                        help="decode dir holding nbest.txt (e.g. exp/tri3/decode_test)")
    parser.add_argument("--old-lm", required=True,
                        help="the ARPA LM compiled into the decoding graph (GRAPH/lm.arpa)")
    new = parser.add_mutually_exclusive_group(required=True)
    new.add_argument("--new-lm", help="the larger ARPA LM")
    new.add_argument("--new-lm-text", help="Kaldi text file to estimate the larger LM from "
                                           "(Kneser-Ney, --new-lm-order; saved as OUT/lm.arpa)")
    parser.add_argument("--new-lm-order", type=int, default=3, help="order with --new-lm-text")
    parser.add_argument("--lm-scale", type=float, default=1.0,
                        help="weight of the new LM relative to the graph LM")
    parser.add_argument("--out", required=True, help="output dir, e.g. exp/tri3/decode_test_tg")
    return parser


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    new_lm = args.new_lm
    if args.new_lm_text:
        from asr.graph.mkgraph import estimate_lm_from_text

        new_lm = out / "lm.arpa"
        estimate_lm_from_text(args.new_lm_text, args.new_lm_order, new_lm)
    info = rescore_dir(Path(args.decode_dir) / "nbest.txt", args.old_lm, new_lm, out,
                       args.lm_scale)
    print(f"rescored {info['utterances']} utterances ({info['hypotheses']} hypotheses), "
          f"{info['changed_1best']} 1-best changed -> {out / 'text'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from asr.utils import run_cli

    return run_cli(build_parser, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
