"""The HMM transducer H (transition ids -> phones, or phones in context), with self-loops included.

Input labels are transition ids + 1 (0 is epsilon; transition id ``2 * s + {0 self-loop,
1 forward}`` of transition state ``s``, see :mod:`asr.hmm.transition_model`); output
labels are phone ids of the graph's phone table. Every arc consumes one frame: the
transition taken at that frame, whose pdf is that of the state it leaves.

Layout: state 0 is the start state, final with cost 0, and the hub between phones.
A phone with HMM states ``0 .. n-1`` gets graph states ``q_0 .. q_(n-1)`` ("in HMM
state i, another frame to come"); with ``t_i^loop``, ``t_i^fwd`` its transition ids::

    hub --t_0^loop:phone--> q_0         (first frame stays in state 0)
    hub --t_0^fwd:phone---> q_1         (first frame leaves state 0; the hub if n = 1)
    q_i --t_i^loop:<eps>--> q_i         (self-loop)
    q_i --t_i^fwd:<eps>---> q_(i+1)     (from the last state: back to the hub)

The output phone is written on the phone's first arc, so H has no input epsilons.

Disambiguation symbols: for each phone-level ``#k`` a self-loop at the hub reads the
new input label ``num_transition_ids + 1 + k`` and writes ``#k``; they are removed
from HCLG after determinization (:mod:`asr.graph.hclg`).

Why self-loops are included here rather than added after determinization as Kaldi's
``add-self-loops`` does: the result is the same distribution over paths, the code is
a plain FST with no "reorder" bookkeeping, and the self-loop labels of a monophone or
tied model depend only on the transition state, so H∘CLG stays determinizable (the
twins property holds: equal labels have equal weights). The cost is a larger
determinization, which is negligible for vocabularies of AN4/LibriSpeech-LM size
with a pruned LM; a very large graph would want Kaldi's split approach.

Weights: ``-scale * ln p`` for every transition, with ``scale`` the self-loop scale
(Kaldi's default 0.1). For a two-transition topology this equals what Kaldi's
``mkgraph.sh`` builds with ``--transition-scale 1.0 --self-loop-scale 0.1``: the
forward probability ignoring self-loops is 1 and ``add-self-loops`` gives the
self-loop ``scale * ln p`` and the exits ``scale * ln (1 - p)``.

Context-dependent models (:func:`cd_hmm_fst_text`): H's output labels are CLG's input
labels, each standing for a phone window (``ilabels`` of :func:`asr.graph.c.compose_context`).
The window's HMM is the centre phone's chain with, for state ``s``, the transition
state ``(phone, s, tree.pdf(window, s))``. Windows whose transition-state sequences
are equal share one chain: each writes its own label on its first arc from the hub
(the ambiguity is resolved when H o CLG is determinized). Every disambiguation
label of CLG (``ilabels[i] == [-d]``, and ``[0]`` for Kaldi's ``#-1``) gets a hub
self-loop reading ``num_transition_ids + 1 + j`` (``j = 0, 1, ...`` in label order).
"""

from __future__ import annotations

from collections.abc import Sequence

from asr.graph.fstext import arc_line, final_line
from asr.hmm.transition_model import TransitionModel


def disambig_tid_label(tm: TransitionModel, k: int) -> int:
    """H's input label for the phone disambiguation symbol ``#k``."""
    return tm.num_transition_ids + 1 + k


def hmm_fst_text(
    tm: TransitionModel,
    phone_ids: Sequence[int],
    disambig_ids: Sequence[int] = (),
    self_loop_scale: float = 0.1,
) -> str:
    """H in OpenFst text form.

    Args:
        tm: the transition model (its ``phones`` in order).
        phone_ids: graph phone id of each ``tm.phones[i]`` (``len(tm.phones)`` ints > 0).
        disambig_ids: graph phone ids of ``#0, #1, ...`` (hub self-loops, see above).
        self_loop_scale: multiplies every transition log-probability.
    """
    if len(phone_ids) != len(tm.phones):
        raise ValueError(f"H: {len(phone_ids)} phone ids for {len(tm.phones)} phones")
    log_probs = tm.log_probs.tolist()
    lines: list[str] = []
    hub = 0
    next_state = 1
    for p, name in enumerate(tm.phones):
        states = tm.phone_states(p)
        n = len(states)
        chain = list(range(next_state, next_state + n))  # q_0 .. q_(n-1)
        next_state += n

        dest = chain[1:] + [hub]  # where the forward arc of HMM state i goes
        s0 = states[0]
        lines.append(arc_line(hub, chain[0], tm.transition_id(s0, False) + 1, phone_ids[p],
                              -self_loop_scale * log_probs[s0][0]))
        lines.append(arc_line(hub, dest[0], tm.transition_id(s0, True) + 1, phone_ids[p],
                              -self_loop_scale * log_probs[s0][1]))
        for i, s in enumerate(states):
            lines.append(arc_line(chain[i], chain[i], tm.transition_id(s, False) + 1, 0,
                                  -self_loop_scale * log_probs[s][0]))
            lines.append(arc_line(chain[i], dest[i], tm.transition_id(s, True) + 1, 0,
                                  -self_loop_scale * log_probs[s][1]))
    for k, d in enumerate(disambig_ids):
        lines.append(arc_line(hub, hub, disambig_tid_label(tm, k), d, 0.0))
    lines.append(final_line(hub, 0.0))
    return "\n".join(lines) + "\n"


def _chain_arcs(tm: TransitionModel, states: Sequence[int], hub: int, first: int,
                olabels: Sequence[int], self_loop_scale: float) -> list[str]:
    """Arcs of one HMM chain ``states`` (transition states) on graph states
    ``first .. first + n - 1``: the entry arcs from ``hub``, one pair per output
    label in ``olabels``, then the chain's own arcs (see the module docstring)."""
    log_probs = tm.log_probs.tolist()
    n = len(states)
    chain = list(range(first, first + n))
    dest = chain[1:] + [hub]
    s0 = states[0]
    lines = []
    for olabel in olabels:
        lines.append(arc_line(hub, chain[0], tm.transition_id(s0, False) + 1, olabel,
                              -self_loop_scale * log_probs[s0][0]))
        lines.append(arc_line(hub, dest[0], tm.transition_id(s0, True) + 1, olabel,
                              -self_loop_scale * log_probs[s0][1]))
    for i, s in enumerate(states):
        lines.append(arc_line(chain[i], chain[i], tm.transition_id(s, False) + 1, 0,
                              -self_loop_scale * log_probs[s][0]))
        lines.append(arc_line(chain[i], dest[i], tm.transition_id(s, True) + 1, 0,
                              -self_loop_scale * log_probs[s][1]))
    return lines


def cd_hmm_fst_text(tm: TransitionModel, tree, ilabels: Sequence[Sequence[int]],
                    self_loop_scale: float = 0.1) -> tuple[str, int]:
    """Context-dependent H in OpenFst text form, and its number of disambiguation labels.

    Args:
        tm: the tied transition model (phone ids in windows are ``tm`` index + 1).
        tree: :class:`asr.gmm.tree.ContextDependency` (``pdf(window, state)``).
        ilabels: CLG's input-label windows (``[]`` epsilon, ``[-d]``/``[0]``
            disambiguation, else ``tree.context_width`` phone ids).
        self_loop_scale: multiplies every transition log-probability.
    """
    hub = 0
    chains: dict[tuple[int, ...], list[int]] = {}       # transition states -> labels
    disambig: list[int] = []
    central = tree.central_position
    for label, window in enumerate(ilabels):
        if label == 0 or len(window) == 0:
            continue
        if len(window) == 1 and window[0] <= 0:
            disambig.append(label)
            continue
        if len(window) != tree.context_width:
            raise ValueError(f"H: input label {label} has window {list(window)}, expected "
                             f"{tree.context_width} phones")
        phone = window[central] - 1
        if not 0 <= phone < len(tm.phones):
            raise ValueError(f"H: input label {label} has centre phone id {window[central]}")
        n = tm.topology.num_states(tm.phones[phone])
        states = tuple(tm.transition_state(phone, s, tree.pdf(window, s)) for s in range(n))
        chains.setdefault(states, []).append(label)
    lines: list[str] = []
    next_state = 1
    for states, labels in chains.items():
        lines += _chain_arcs(tm, states, hub, next_state, labels, self_loop_scale)
        next_state += len(states)
    for j, label in enumerate(disambig):
        lines.append(arc_line(hub, hub, tm.num_transition_ids + 1 + j, label, 0.0))
    lines.append(final_line(hub, 0.0))
    return "\n".join(lines) + "\n", len(disambig)
