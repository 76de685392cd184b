"""WFST decoding of per-frame scores over an HCLG graph with kaldi-decoder.

The graph's input labels are ``1 .. num_labels`` (0 = epsilon; for GMM/hybrid models
the transition ids + 1). The decoder reads a score matrix ``(T, num_labels)`` whose
column ``j`` is the log-likelihood of label ``j + 1`` at each frame; it is multiplied
by ``acoustic_scale`` before the search (Kaldi's ``--acoustic-scale``), so the
search minimises ``graph_cost - acoustic_scale * loglike``.

Two searches (kaldi-decoder's classes):

- ``FasterDecoder`` (default): beam + ``max_active`` pruning, 1-best only.
- ``LatticeSimpleDecoder`` (``lattice=True``): beam + ``lattice_beam``; keeps the raw
  state-level lattice for n-best lists (:func:`nbest`). No ``max_active`` limit.

Word insertion penalties are graph costs added to every arc that outputs a word
(:func:`add_word_penalty`), as Kaldi's ``lattice-add-penalty`` does before scoring.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from asr.graph.fstext import compile_text, fst_text


@dataclass
class DecoderConfig:
    """Search options (Kaldi's ``decode.sh`` defaults: beam 13, max-active 7000,
    lattice-beam 6, acoustic scale 0.1)."""

    beam: float = 13.0
    max_active: int = 7000
    min_active: int = 200
    lattice_beam: float = 6.0
    acoustic_scale: float = 0.1
    lattice: bool = False


@dataclass
class DecodeResult:
    """The best path: ``words`` (word ids, in order), ``labels`` (``(T,)`` int input label
    per frame, i.e. transition id + 1), costs (graph cost, and the acoustic cost
    ``-acoustic_scale * loglike`` summed), whether a final state was reached, and the
    raw lattice when decoded with ``lattice=True``."""

    words: list[int]
    labels: np.ndarray
    graph_cost: float
    acoustic_cost: float
    reached_final: bool
    lattice: object | None = field(default=None, repr=False)

    @property
    def total_cost(self) -> float:
        return self.graph_cost + self.acoustic_cost


class WfstDecoder:
    """Decode score matrices over one graph (a ``kaldifst.StdVectorFst``)."""

    def __init__(self, graph, config: DecoderConfig | None = None) -> None:
        import kaldi_decoder

        self.graph = graph
        self.config = cfg = config or DecoderConfig()
        if cfg.lattice:
            opts = kaldi_decoder.LatticeSimpleDecoderConfig(beam=cfg.beam,
                                                            lattice_beam=cfg.lattice_beam)
            self._decoder = kaldi_decoder.LatticeSimpleDecoder(graph, opts)
        else:
            opts = kaldi_decoder.FasterDecoderOptions(beam=cfg.beam, max_active=cfg.max_active,
                                                      min_active=cfg.min_active)
            self._decoder = kaldi_decoder.FasterDecoder(graph, opts)

    def decode(self, loglikes: np.ndarray, utt: str = "") -> DecodeResult:
        """Best path for ``loglikes (T, num_labels)`` (unscaled log-likelihoods).

        Raises ValueError naming ``utt`` for an empty matrix or when no path survives.
        """
        import kaldi_decoder

        x = np.ascontiguousarray(loglikes, dtype=np.float32)
        if x.ndim != 2 or x.shape[0] == 0:
            raise ValueError(f"decode {utt}: need a non-empty (T, num_labels) matrix, "
                             f"got shape {x.shape}")
        decodable = kaldi_decoder.DecodableCtc(x * np.float32(self.config.acoustic_scale))
        self._decoder.decode(decodable)
        reached = bool(self._decoder.reached_final()) if hasattr(self._decoder, "reached_final") \
            else True
        ok, path = self._decoder.get_best_path(use_final_probs=True)
        if not ok:
            ok, path = self._decoder.get_best_path(use_final_probs=False)
            reached = False
        if not ok:
            raise ValueError(f"decode {utt}: no path survived the beam ({self.config.beam})")
        lattice = None
        if self.config.lattice:
            ok_lat, lattice = self._decoder.get_raw_lattice(use_final_probs=reached)
            lattice = lattice if ok_lat else None
        return _linear_result(path, reached, lattice)

    def nbest(self, result: DecodeResult, n: int, max_paths: int = 200
              ) -> list[tuple[list[int], float, float]]:
        """Up to ``n`` distinct word sequences from ``result``'s lattice as ``(word ids,
        graph cost, acoustic cost)``, best first (needs ``lattice=True``). The raw lattice
        holds many paths per word sequence, so up to ``max_paths`` best paths are read
        and the first path of each word sequence is kept."""
        import kaldifst

        if result.lattice is None:
            raise ValueError("n-best lists need a decoder built with lattice=True")
        paths = [_linear_result(p, True, None)
                 for p in kaldifst.lattice_to_nbest(result.lattice, n=max(n, max_paths))]
        out, seen = [], set()
        for r in sorted(paths, key=lambda r: r.total_cost):
            if tuple(r.words) not in seen:
                seen.add(tuple(r.words))
                out.append((r.words, r.graph_cost, r.acoustic_cost))
            if len(out) == n:
                break
        return out


def _linear_result(path, reached: bool, lattice) -> DecodeResult:
    """Labels, words and costs of a linear lattice (one path)."""
    labels, words = [], []
    graph_cost = acoustic_cost = 0.0
    state = path.start
    while state >= 0:
        final = path.final(state)
        nxt = -1
        for arc in _arcs(path, state):
            if arc.ilabel:
                labels.append(arc.ilabel)
            if arc.olabel:
                words.append(arc.olabel)
            graph_cost += arc.weight.value1
            acoustic_cost += arc.weight.value2
            nxt = arc.nextstate
        if nxt < 0:
            if np.isfinite(final.value1):
                graph_cost += final.value1
                acoustic_cost += final.value2
            break
        state = nxt
    return DecodeResult(words, np.asarray(labels, dtype=np.int64), graph_cost, acoustic_cost,
                        reached, lattice)


def _arcs(fst, state: int):
    import kaldifst
    from kaldifst.lib import _kaldifst

    if isinstance(fst, kaldifst.Lattice):
        it = _kaldifst._ArcIteratorLattice(fst, state)
    else:
        it = kaldifst.ArcIterator(fst, state)
    while not it.done:
        yield it.value
        it.next()


def add_word_penalty(graph, penalty: float):
    """A copy of ``graph`` with ``penalty`` added to the cost of every arc that outputs a
    word (olabel != 0): Kaldi's word insertion penalty (positive = fewer words)."""
    if penalty == 0.0:
        return graph
    lines = []
    for line in fst_text(graph).splitlines():
        cols = line.split("\t")
        if len(cols) >= 4 and cols[3] != "0":
            cost = float(cols[4]) if len(cols) > 4 else 0.0
            cols = cols[:4] + [f"{cost + penalty:.7g}"]
        lines.append("\t".join(cols))
    return compile_text("\n".join(lines) + "\n")
