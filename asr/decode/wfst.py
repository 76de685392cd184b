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

import math
from collections.abc import Sequence
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

    def nbest(self, result: DecodeResult, n: int) -> list[tuple[list[int], float, float]]:
        """Up to ``n`` distinct word sequences from ``result``'s lattice as ``(word ids,
        graph cost, acoustic cost)``, best first (needs ``lattice=True``).

        The raw state-level lattice holds many alignments of each word sequence, so its
        best paths are mostly one sentence. The lattice is first reduced to words: an
        acceptor of its word labels weighted by total cost, epsilon-removed and
        determinised (tropical: each sentence keeps its best path's cost), whose ``n``
        shortest paths are the distinct sentences. Each sentence's graph/acoustic split
        is then read from its best path in the raw lattice (:func:`_split_costs`).
        """
        import kaldifst

        if result.lattice is None:
            raise ValueError("n-best lists need a decoder built with lattice=True")
        graph = _read_lattice(result.lattice)
        words_fst = compile_text(_word_acceptor_text(graph))
        kaldifst.rmepsilon(words_fst)
        words_fst = kaldifst.determinize(words_fst)
        sentences = []
        for path in kaldifst.lattice_to_nbest(words_fst, n=n):
            sentences.append(_linear_words(path))
        splits = _split_costs(graph, [ws for ws, _ in sentences])
        return [(ws, g, a) for (ws, _), (g, a) in zip(sentences, splits)]


@dataclass
class _RawLattice:
    """A lattice read into Python: ``arcs[state] = [(next, word, graph, acoustic,
    input label)]``, ``finals[state] = (graph, acoustic)``, ``start``."""

    start: int
    arcs: list[list[tuple[int, int, float, float, int]]]
    finals: dict[int, tuple[float, float]]


def _read_lattice(lattice) -> _RawLattice:
    arcs, finals = [], {}
    for state in range(lattice.num_states):
        arcs.append([(a.nextstate, a.olabel, a.weight.value1, a.weight.value2, a.ilabel)
                     for a in _arcs(lattice, state)])
        final = lattice.final(state)
        if np.isfinite(final.value1):
            finals[state] = (final.value1, final.value2)
    return _RawLattice(lattice.start, arcs, finals)


def _word_acceptor_text(lat: _RawLattice) -> str:
    """OpenFst text of the lattice as a word acceptor with total costs (0 = epsilon);
    the start state is renumbered 0 as the text format requires."""
    def sid(state: int) -> int:
        return 0 if state == lat.start else state + 1 if state < lat.start else state

    lines = [f"{sid(s)}\t{sid(t)}\t{w}\t{w}\t{g + a:.7g}"
             for s, out in enumerate(lat.arcs) for t, w, g, a, _ in out]
    # the start state's arcs must come first
    lines.sort(key=lambda line: line.split("\t", 1)[0] != "0")
    lines += [f"{sid(s)}\t{g + a:.7g}" for s, (g, a) in lat.finals.items()]
    return "\n".join(lines) + "\n"


def _linear_words(path) -> tuple[list[int], float]:
    """Word labels and total cost of a linear tropical FST."""
    words, cost, state = [], 0.0, path.start
    while state >= 0:
        nxt = -1
        for arc in _arcs(path, state):
            if arc.olabel:
                words.append(arc.olabel)
            cost += arc.weight.value
            nxt = arc.nextstate
        if nxt < 0:
            cost += path.final(state).value
            break
        state = nxt
    return words, cost


def _topological_order(lat: _RawLattice) -> list[int]:
    indegree = [0] * len(lat.arcs)
    for out in lat.arcs:
        for t, *_ in out:
            indegree[t] += 1
    order, stack = [], [s for s, d in enumerate(indegree) if d == 0]
    while stack:
        s = stack.pop()
        order.append(s)
        for t, *_ in lat.arcs[s]:
            indegree[t] -= 1
            if indegree[t] == 0:
                stack.append(t)
    if len(order) != len(lat.arcs):
        raise ValueError("the lattice has a cycle")
    return order


def _split_costs(lat: _RawLattice, sentences: list[list[int]]) -> list[tuple[float, float]]:
    """``(graph, acoustic)`` of the best raw-lattice path of each word sequence: one
    Viterbi pass over (lattice state, node of the sentences' prefix trie)."""
    children: list[dict[int, int]] = [{}]
    ends: dict[int, list[int]] = {}
    for k, words in enumerate(sentences):
        node = 0
        for w in words:
            if w not in children[node]:
                children[node][w] = len(children)
                children.append({})
            node = children[node][w]
        ends.setdefault(node, []).append(k)
    inf = (math.inf, 0.0, 0.0)
    best: list[dict[int, tuple[float, float, float]]] = [dict() for _ in lat.arcs]
    best[lat.start][0] = (0.0, 0.0, 0.0)  # (total, graph, acoustic)
    out = [(math.inf, math.inf)] * len(sentences)
    totals = [math.inf] * len(sentences)
    for s in _topological_order(lat):
        for node, (tot, g, a) in best[s].items():
            if s in lat.finals and node in ends:
                fg, fa = lat.finals[s]
                for k in ends[node]:
                    if tot + fg + fa < totals[k]:
                        totals[k], out[k] = tot + fg + fa, (g + fg, a + fa)
            for t, w, ag, aa, _ in lat.arcs[s]:
                nxt = node if w == 0 else children[node].get(w)
                if nxt is None:
                    continue
                cand = (tot + ag + aa, g + ag, a + aa)
                if cand[0] < best[t].get(nxt, inf)[0]:
                    best[t][nxt] = cand
        best[s] = {}  # done with this state
    return out


def lattice_best_paths(result: DecodeResult, acoustic_scales: Sequence[float],
                       penalty_changes: Sequence[float]) -> list[tuple[list[int], np.ndarray]]:
    """Best path of ``result``'s lattice under other weights, one per setting ``k``: each
    arc's acoustic cost multiplied by ``acoustic_scales[k]`` and ``penalty_changes[k]``
    added to the graph cost of each arc with a word. Kaldi scores a dev set this way
    (``lattice-scale``, ``lattice-add-penalty``, ``lattice-best-path`` per LM weight)
    instead of searching once per weight. Returns ``(word ids, (T,) input labels)`` per
    setting; needs ``lattice=True``.

    One Viterbi pass over the lattice (states in topological order) carries every
    setting's best cost at once; a path outside the lattice beam cannot be found.
    """
    if result.lattice is None:
        raise ValueError("lattice best paths need a decoder built with lattice=True")
    lat = _read_lattice(result.lattice)
    scales = np.asarray(acoustic_scales, dtype=np.float64)
    changes = np.asarray(penalty_changes, dtype=np.float64)
    if scales.shape != changes.shape or scales.ndim != 1:
        raise ValueError("need one acoustic scale and one penalty change per setting")
    num = len(scales)
    cost = np.full((len(lat.arcs), num), np.inf)
    cost[lat.start] = 0.0
    arc_list: list[tuple[int, int, float, float, int]] = []
    back = np.full((len(lat.arcs), num), -1, dtype=np.int64)  # best incoming arc
    for s in _topological_order(lat):
        here = cost[s]
        for t, w, g, a, i in lat.arcs[s]:
            cand = here + (g + (changes if w else 0.0) + a * scales)
            better = cand < cost[t]
            if better.any():
                cost[t] = np.where(better, cand, cost[t])
                back[t, better] = len(arc_list)
            arc_list.append((s, t, w, i))
    if not lat.finals:
        raise ValueError("the lattice has no final state")
    finals = list(lat.finals)
    totals = np.stack([cost[f] + lat.finals[f][0] + lat.finals[f][1] * scales for f in finals])
    paths = []
    for k, best in enumerate(np.argmin(totals, axis=0)):
        words, labels, state = [], [], finals[int(best)]
        while state != lat.start:
            src, _, w, i = arc_list[back[state, k]]
            if w:
                words.append(w)
            if i:
                labels.append(i)
            state = src
        paths.append((words[::-1], np.asarray(labels[::-1], dtype=np.int64)))
    return paths


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
