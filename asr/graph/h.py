"""The HMM transducer H (transition ids -> phones), with self-loops included.

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
