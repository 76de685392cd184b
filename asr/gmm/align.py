"""Batched Viterbi forced alignment against per-utterance HMM graphs.

An utterance's transcript becomes a sequence of *slots*: each word is a slot whose
alternatives are the word's pronunciations (all of them, weight 1 each, as in
Kaldi's lexicon FST without pronunciation probabilities); an optional silence slot
(present with probability ``sil_prob``, 0.5 as Kaldi's lexicon with optional
silence) goes before the first word, between words and after the last one.
Expanding every phone of every alternative through the topology gives the HMM
states of the utterance. Each state ``s`` is entered from itself (self-loop) or
from up to ``K`` predecessor states ``pred_src[s, :]`` (arc weights
``pred_lp[s, :]``), so one Viterbi step is a gather and a max over a padded batch
``(B, S, K)`` of utterances, whatever the branching.

Scores: ``acoustic_scale * log p(x | pdf) + log transition probs + log graph probs``
(Kaldi aligns monophones with acoustic scale 0.1). An utterance with fewer frames
than its shortest path, or whose path falls out of the beam (``beam``, then
``retry_beam``), is skipped, counted and logged. The search is dense (every state
every frame), so the beam saves no time; it is there for Kaldi-like behaviour.

Alignment output per utterance (frames of 10 ms): ``transition_ids (T,)`` (the
transition taken out of each frame's state, the last one leaving the utterance),
``pdfs (T,)``, phone segments and word segments ``(symbol, start_frame, end_frame)``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import torch

from asr.gmm.am import AcousticModel
from asr.hmm.transition_model import TransitionModel

log = logging.getLogger(__name__)

NEG_INF = -math.inf
SILENCE_SLOT = "<sil>"


@dataclass(frozen=True)
class Slot:
    """One position of a transcript: ``label`` (a word, or ``<sil>``), its
    alternatives ``prons`` (phone sequences) and ``prob``, the probability that it
    is present (1: mandatory)."""

    label: str
    prons: tuple[tuple[str, ...], ...]
    prob: float = 1.0

    @property
    def optional(self) -> bool:
        return self.prob < 1.0


@dataclass
class UttGraph:
    """The HMM graph of one utterance, ``S`` states, at most ``K`` entering arcs each.

    - ``trans_states (S,)``: transition state (:class:`TransitionModel`) of each state;
    - ``pred_src (S, K)``, ``pred_lp (S, K)``: arcs ``pred_src[s, k] -> s`` with graph
      log-probability ``pred_lp[s, k]`` (``-inf`` pads);
    - ``init_lp (S,)``, ``final_lp (S,)``: start and end weights (``-inf``: not allowed);
    - ``phone_instance (S,)``: which phone occurrence a state belongs to, with
      ``instance_phone`` its phone id; ``slot (S,)`` the slot index of each state;
    - ``slots``: the transcript slots; ``min_frames``: length of the shortest path;
      ``default_path``: states of the flat-start path (see :func:`equal_alignment`).
    """

    trans_states: torch.Tensor
    pred_src: torch.Tensor
    pred_lp: torch.Tensor
    init_lp: torch.Tensor
    final_lp: torch.Tensor
    phone_instance: torch.Tensor
    instance_phone: list[int]
    slot: torch.Tensor
    slots: list[Slot]
    min_frames: int
    default_path: list[list[int]]

    @property
    def num_states(self) -> int:
        return len(self.trans_states)


@dataclass
class Alignment:
    """A frame-level alignment: ``transition_ids (T,)``, ``pdfs (T,)`` (long, CPU),
    ``phones`` and ``words`` as ``(symbol, start_frame, end_frame)`` (end exclusive;
    silence slots are left out of ``words``) and the Viterbi ``score``."""

    transition_ids: torch.Tensor
    pdfs: torch.Tensor
    phones: list[tuple[str, int, int]]
    words: list[tuple[str, int, int]]
    score: float

    @property
    def segments(self) -> list[tuple[str, int, int]]:
        """Alias of ``phones``."""
        return self.phones


@dataclass
class AlignResult:
    """Alignments by utterance, and the skipped utterances with the reason."""

    alignments: dict[str, Alignment] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def num_skipped(self) -> int:
        return len(self.skipped)


def transcript_slots(words: Sequence[str], lexicon: Mapping[str, Sequence[Sequence[str]]],
                     silence_phone: str = "SIL", sil_prob: float = 0.5,
                     utt: str = "") -> list[Slot]:
    """Slots of ``words`` with optional silences between and around them.

    ``lexicon`` maps a word to its pronunciations (lists of phones); all are
    alternatives. ``sil_prob`` 0 gives no silences, 1 forces one at each word
    boundary. Raises ValueError naming ``utt`` and the word for a word not in the
    lexicon.
    """
    if not words:
        raise ValueError(f"utterance {utt!r}: empty transcript")
    sil = [Slot(SILENCE_SLOT, ((silence_phone,),), sil_prob)] if sil_prob > 0 else []
    slots = list(sil)
    for word in words:
        prons = lexicon.get(word)
        if not prons or not all(prons):
            raise ValueError(f"utterance {utt!r}: word {word!r} is not in the lexicon")
        unique = tuple(dict.fromkeys(tuple(p) for p in prons))
        slots.append(Slot(word, unique, 1.0))
        slots.extend(sil)
    return slots


def compile_graph(slots: Sequence[Slot], tm: TransitionModel,
                  edge_optional: bool = True) -> UttGraph:
    """Expand transcript slots into an :class:`UttGraph`.

    ``edge_optional`` puts the optional slots at the start and end of the utterance
    on the flat-start path (``default_path``); other optional slots are off it.
    Raises ValueError when no slot is mandatory or a phone is not in ``tm``.
    """
    if not any(not s.optional for s in slots):
        raise ValueError("alignment graph: needs at least one mandatory slot")
    for slot in slots:
        if not slot.prons or not all(slot.prons):
            raise ValueError(f"alignment graph: slot {slot.label!r} has an empty pronunciation")
    ts: list[int] = []
    instance: list[int] = []
    instance_phone: list[int] = []
    slot_of: list[int] = []
    preds: list[list[tuple[int, float]]] = []
    init: dict[int, float] = {}
    START = -1
    frontier: list[tuple[int, float]] = [(START, 0.0)]   # states that may exit, weight
    min_frames = 0
    default_path: list[list[int]] = []
    for i, slot in enumerate(slots):
        enter_lp = math.log(slot.prob) if slot.optional else 0.0
        new_frontier: list[tuple[int, float]] = []
        alt_lengths = []
        first_alt_states: list[int] = []
        for a, pron in enumerate(slot.prons):
            prev = None
            for phone in pron:
                if phone not in tm.phone_id:
                    raise ValueError(f"alignment graph: phone {phone!r} is not in the phone set")
                instance_phone.append(tm.phone_id[phone])
                for tstate in tm.phone_states(phone):
                    s = len(ts)
                    ts.append(tstate)
                    instance.append(len(instance_phone) - 1)
                    slot_of.append(i)
                    if prev is None:
                        arcs = [(u, w + enter_lp) for u, w in frontier]
                        for u, w in arcs:
                            if u == START:
                                init[s] = max(init.get(s, NEG_INF), w)
                        preds.append([(u, w) for u, w in arcs if u != START])
                    else:
                        preds.append([(prev, 0.0)])
                    if a == 0:
                        first_alt_states.append(s)
                    prev = s
            alt_lengths.append(sum(len(tm.phone_states(p)) for p in pron))
            new_frontier.append((prev, 0.0))
        if slot.optional:
            skip_lp = math.log1p(-slot.prob)
            new_frontier += [(u, w + skip_lp) for u, w in frontier]
        else:
            min_frames += min(alt_lengths)
        on_default = not slot.optional or (edge_optional and i in (0, len(slots) - 1))
        default_path.append(first_alt_states if on_default else [])
        frontier = new_frontier
    S = len(ts)
    K = max(1, max(len(p) for p in preds))
    pred_src = torch.zeros(S, K, dtype=torch.long)
    pred_lp = torch.full((S, K), NEG_INF)
    for s, arcs in enumerate(preds):
        for k, (u, w) in enumerate(arcs):
            pred_src[s, k] = u
            pred_lp[s, k] = w
    init_lp = torch.full((S,), NEG_INF)
    for s, w in init.items():
        init_lp[s] = w
    final_lp = torch.full((S,), NEG_INF)
    for u, w in frontier:
        if u != START:
            final_lp[u] = max(float(final_lp[u]), w)
    return UttGraph(torch.tensor(ts, dtype=torch.long), pred_src, pred_lp, init_lp, final_lp,
                    torch.tensor(instance, dtype=torch.long), instance_phone,
                    torch.tensor(slot_of, dtype=torch.long), list(slots), min_frames,
                    default_path)


def _pad(rows: list[torch.Tensor], value: float, device) -> torch.Tensor:
    """Stack ``(S_b, ...)`` tensors into ``(B, S_max, ...)``, padding with ``value``."""
    shape = [len(rows)] + [max(r.shape[d] for r in rows) for d in range(rows[0].dim())]
    out = torch.full(shape, value, dtype=rows[0].dtype)
    for i, r in enumerate(rows):
        out[(i,) + tuple(slice(0, n) for n in r.shape)] = r
    return out.to(device)


def viterbi(graphs: Sequence[UttGraph], loglikes: Sequence[torch.Tensor],
            tm: TransitionModel, acoustic_scale: float = 0.1,
            beam: float | None = None, pdf_columns: Sequence[torch.Tensor] | None = None
            ) -> list[tuple[torch.Tensor, float] | None]:
    """Best state sequence of each utterance, batched.

    Args:
        graphs: ``B`` utterance graphs.
        loglikes: ``B`` tensors ``(T_b, P)`` of pdf log-likelihoods (same device), or
            ``(T_b, P_b)`` of some pdfs each (``pdf_columns``).
        tm: transition model (log-probs per transition state).
        acoustic_scale: weight of the acoustic log-likelihoods.
        beam: prune states scoring below the best minus ``beam`` (None: exact).
        pdf_columns: per utterance, the pdf of each of its ``loglikes`` columns,
            ``(P_b,)``, when they hold only some pdfs (every pdf of that graph's
            states must be among them); None: column ``p`` is pdf ``p``.

    Returns:
        Per utterance ``(states (T_b,) long on CPU, score)``, or None when no path
        exists (too few frames, or pruned away).
    """
    device = loglikes[0].device
    B = len(graphs)
    lengths = torch.tensor([ll.shape[0] for ll in loglikes], device=device)
    T = int(lengths.max())
    ts = _pad([g.trans_states for g in graphs], 0, device)                      # (B, S)
    S = ts.shape[1]
    pred_src = _pad([g.pred_src for g in graphs], 0, device)                    # (B, S, K)
    pred_lp = _pad([g.pred_lp for g in graphs], NEG_INF, device)
    K = pred_src.shape[2]
    flat_src = pred_src.reshape(B, S * K)
    init_lp = _pad([g.init_lp for g in graphs], NEG_INF, device)
    final_lp = _pad([g.final_lp for g in graphs], NEG_INF, device)
    log_probs = tm.log_probs.to(device)
    loop_lp = log_probs[ts, 0]
    exit_lp = log_probs[ts, 1]
    pdf_of_tstate = tm.tuples[:, 2].to(device)
    pdf = pdf_of_tstate[ts]                                                       # (B, S)
    if pdf_columns is not None:
        # pdf id -> its column in each utterance's loglikes; padding states (never
        # entered) may point at any valid column
        column_of = torch.zeros(B, int(pdf_of_tstate.max()) + 1, dtype=torch.long,
                                device=device)
        for b, columns in enumerate(pdf_columns):
            column_of[b, columns.to(device)] = torch.arange(len(columns), device=device)
        pdf = torch.gather(column_of, 1, pdf)
    P = max(x.shape[1] for x in loglikes)
    ll = torch.zeros(B, T, P, dtype=loglikes[0].dtype, device=device)
    for b, x in enumerate(loglikes):
        ll[b, :x.shape[0], :x.shape[1]] = x
    emit = torch.gather(ll, 2, pdf[:, None, :].expand(B, T, S)).float() * acoustic_scale
    del ll

    # back[t, b, s]: 0 = came by the self-loop, k + 1 = from pred_src[b, s, k].
    back = torch.zeros(T, B, S, dtype=torch.int8, device=device)
    delta = init_lp + emit[:, 0]
    for t in range(1, T):
        out = delta + exit_lp
        enter = torch.gather(out, 1, flat_src).view(B, S, K) + pred_lp
        best_enter, k = enter.max(2)
        stay = delta + loop_lp
        take = best_enter > stay
        new = torch.where(take, best_enter, stay) + emit[:, t]
        if beam is not None:
            top = new.max(1, keepdim=True).values
            new = torch.where(new >= top - beam, new, NEG_INF)
        active = (t < lengths)[:, None]
        delta = torch.where(active, new, delta)
        back[t] = torch.where(take, k + 1, 0).to(torch.int8)
    final = delta + exit_lp + final_lp
    scores, state = final.max(1)

    states = torch.zeros(B, T, dtype=torch.long, device=device)
    rows = torch.arange(B, device=device)
    for t in range(T - 1, -1, -1):
        in_range = t < lengths
        states[:, t] = torch.where(in_range, state, 0)
        if t == 0:
            break
        choice = back[t][rows, state].long()
        came_from = pred_src[rows, state, (choice - 1).clamp_min(0)]
        prev = torch.where(choice == 0, state, came_from)
        state = torch.where(in_range, prev, state)
    states = states.cpu()
    result: list[tuple[torch.Tensor, float] | None] = []
    for b, score in enumerate(scores.tolist()):
        result.append(None if score == NEG_INF else (states[b, :int(lengths[b])], score))
    return result


def _runs(labels: torch.Tensor) -> list[tuple[int, int, int]]:
    """Runs of equal values in ``labels (T,)`` as ``(value, start, end)``."""
    change = torch.nonzero(labels[1:] != labels[:-1]).flatten() + 1
    bounds = [0] + change.tolist() + [len(labels)]
    return [(int(labels[a]), a, b) for a, b in zip(bounds[:-1], bounds[1:])]


def to_alignment(graph: UttGraph, states: torch.Tensor, score: float,
                 tm: TransitionModel) -> Alignment:
    """Turn a state path ``(T,)`` through ``graph`` into an :class:`Alignment`."""
    tstates = graph.trans_states[states]
    moved = torch.ones_like(states)
    moved[:-1] = (states[1:] != states[:-1]).long()
    tids = 2 * tstates + moved
    pdfs = tm.tuples[tstates, 2]
    phones = [(tm.phones[graph.instance_phone[i]], a, b)
              for i, a, b in _runs(graph.phone_instance[states])]
    words = [(graph.slots[i].label, a, b) for i, a, b in _runs(graph.slot[states])
             if graph.slots[i].label != SILENCE_SLOT]
    return Alignment(tids, pdfs, phones, words, score)


def equal_alignment(graph: UttGraph, num_frames: int, tm: TransitionModel) -> Alignment | None:
    """Flat-start alignment: frames shared equally among the states of one path.

    The path takes each slot's first pronunciation, the mandatory slots and (see
    :func:`compile_graph`'s ``edge_optional``) the optional slots at the utterance's
    edges, the leading and trailing silence almost every recording has. With too
    few frames for that it uses the mandatory slots alone; returns None when
    ``num_frames`` is under the shortest path.
    """
    if num_frames < graph.min_frames:
        return None
    path = [s for states in graph.default_path for s in states]
    if len(path) > num_frames:
        path = [s for i, states in enumerate(graph.default_path)
                if not graph.slots[i].optional for s in states]
        if len(path) > num_frames:
            return None  # only a shorter alternative pronunciation would fit
    path_states = torch.tensor(path, dtype=torch.long)
    which = (torch.arange(num_frames) * len(path_states)) // num_frames
    return to_alignment(graph, path_states[which], 0.0, tm)


def align_utterances(am: AcousticModel, feats: Mapping[str, torch.Tensor],
                     graphs: Mapping[str, UttGraph], *, acoustic_scale: float = 0.1,
                     beam: float | None = None, retry_beam: float | None = None,
                     batch_size: int = 32) -> AlignResult:
    """Viterbi-align every utterance in ``graphs`` (features ``(T, D)`` in ``feats``).

    Utterances are batched by length; pdf log-likelihoods are computed on the GMM's
    device. Utterances without features, with too few frames or not alignable within
    ``retry_beam`` are skipped (logged and listed in ``AlignResult.skipped``).
    """
    result = AlignResult()
    todo = []
    for utt, graph in graphs.items():
        x = feats.get(utt)
        if x is None:
            result.skipped[utt] = "no features"
        elif x.shape[0] < graph.min_frames:
            result.skipped[utt] = (f"{x.shape[0]} frames < {graph.min_frames} states on "
                                   f"the shortest path")
        else:
            todo.append(utt)
    todo.sort(key=lambda u: feats[u].shape[0])
    beams = [beam] if beam is None or retry_beam is None else [beam, retry_beam]
    pdf_of_tstate = am.transition_model.tuples[:, 2]
    for pass_beam in beams:
        failed = []
        for start in range(0, len(todo), batch_size):
            batch = todo[start:start + batch_size]
            # each utterance's own pdfs only: tens of a tree's thousands
            used = [torch.unique(pdf_of_tstate[graphs[u].trans_states]) for u in batch]
            ll = [am.gmm.loglikes(feats[u].to(am.gmm.device), pdfs=pdfs)
                  for u, pdfs in zip(batch, used)]
            paths = viterbi([graphs[u] for u in batch], ll, am.transition_model,
                            acoustic_scale, pass_beam, pdf_columns=used)
            for utt, path in zip(batch, paths):
                if path is None:
                    failed.append(utt)
                else:
                    result.alignments[utt] = to_alignment(graphs[utt], path[0], path[1],
                                                          am.transition_model)
        todo = failed
    for utt in todo:
        result.skipped[utt] = f"no path within beam {beams[-1]}"
    for utt, why in result.skipped.items():
        log.warning("alignment: skipping %s: %s", utt, why)
    if result.skipped:
        log.warning("alignment: skipped %d of %d utterances", len(result.skipped), len(graphs))
    return result


ALI_FORMAT = "asr.gmm.ali"


def save_alignments(path, alignments: Mapping[str, Alignment]) -> None:
    """Write alignments atomically (``torch.save``, loadable with ``weights_only``)::

        {"format": "asr.gmm.ali", "version": 1,
         "transition_ids": {utt: (T,) int32}, "scores": {utt: float},
         "words": {utt: [[word, start_frame, end_frame], ...]}}

    Transition ids are those of the model that made them (0-based; pdfs and phones
    follow from ``TransitionModel.tid_to_pdf()`` / ``tid_to_phone()``).
    """
    from asr.utils.io import atomic_open

    state = {"format": ALI_FORMAT, "version": 1,
             "transition_ids": {u: a.transition_ids.to(torch.int32) for u, a in alignments.items()},
             "scores": {u: float(a.score) for u, a in alignments.items()},
             "words": {u: [list(w) for w in a.words] for u, a in alignments.items()}}
    with atomic_open(path, "wb") as handle:
        torch.save(state, handle)


def load_alignments(path, tm: TransitionModel) -> dict[str, Alignment]:
    """Read :func:`save_alignments` output back; phones are rebuilt from ``tm``."""
    from pathlib import Path

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"alignments {path} do not exist")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or state.get("format") != ALI_FORMAT:
        raise ValueError(f"{path}: not an {ALI_FORMAT} file")
    tid_pdf, tid_phone = tm.tid_to_pdf(), tm.tid_to_phone()
    out = {}
    for utt, tids in state["transition_ids"].items():
        tids = tids.long()
        if len(tids) and int(tids.max()) >= tm.num_transition_ids:
            raise ValueError(f"{path}: utterance {utt!r} has transition id {int(tids.max())}, "
                             f"the model has {tm.num_transition_ids}")
        # A phone ends on a forward transition out of its last HMM state.
        ends = (tids % 2 == 1) & (tm.tuples[tids // 2, 1] == torch.tensor(
            [tm.topology.num_states(tm.phones[p]) - 1 for p in tm.tuples[tids // 2, 0].tolist()]))
        bounds = [0] + (torch.nonzero(ends).flatten() + 1).tolist()
        phones = [(tm.phones[int(tid_phone[tids[a]])], a, b) for a, b in zip(bounds[:-1], bounds[1:])]
        words = [(w, int(a), int(b)) for w, a, b in state["words"][utt]]
        out[utt] = Alignment(tids, tid_pdf[tids], phones, words, state["scores"][utt])
    return out
