"""Context-dependent alignment graphs (triphones) for :func:`asr.gmm.align.viterbi`.

:func:`compile_cd_graph` turns the same transcript slots as
:func:`asr.gmm.align.compile_graph` (words with alternative pronunciations, optional
silences) into an :class:`asr.gmm.align.UttGraph` whose HMM states carry the pdf of
their phone *in context*, from a decision tree (:mod:`asr.gmm.tree`).

1. Phone level: one node per phone of every pronunciation of every slot, with the
   arcs (and log-probabilities) of the slot structure: entering an optional slot
   costs ``log prob``, skipping it ``log(1 - prob)``.
2. Context: a phone's left (right) context is the phone of a predecessor
   (successor) node, or 0 at the utterance edge. Silence is a context phone like
   any other: when an optional silence between two words is taken, the last phone of
   the first word has right context SIL and the first phone of the second word left
   context SIL; when it is skipped they see each other (as Kaldi's C o L does). So a
   node becomes one copy per (left, right) pair it can have; context-independent
   phones (silence) keep one copy. An arc joins two copies only when each is the
   other's context.
3. Each copy expands into its HMM states, the transition state of state ``s`` being
   ``(phone, s, tree.pdf(window, s))``.

Only triphone trees (width 3, central position 1) are supported here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from asr.gmm.align import NEG_INF, Slot, UttGraph
from asr.gmm.tree import ContextDependency
from asr.hmm.transition_model import TransitionModel

START = -1


def compile_cd_graph(slots: Sequence[Slot], tm: TransitionModel, tree: ContextDependency,
                     edge_optional: bool = True) -> UttGraph:
    """Expand transcript slots into a context-dependent :class:`UttGraph`.

    ``edge_optional`` as in :func:`asr.gmm.align.compile_graph` (for ``default_path``).
    Raises ValueError when no slot is mandatory or a phone is not in ``tm``.
    """
    if (tree.context_width, tree.central_position) != (3, 1):
        raise ValueError(f"alignment graph: only triphone trees (width 3, central 1), got "
                         f"width {tree.context_width}, central {tree.central_position}")
    if not any(not s.optional for s in slots):
        raise ValueError("alignment graph: needs at least one mandatory slot")
    ci = set(tree.ci_phones)
    # -- 1. phone-level nodes
    node_phone: list[int] = []          # tm phone index
    node_slot: list[int] = []
    preds: list[list[tuple[int, float]]] = []
    frontier: list[tuple[int, float]] = [(START, 0.0)]
    min_frames = 0
    default_nodes: list[list[int]] = []
    for i, slot in enumerate(slots):
        if not slot.prons or not all(slot.prons):
            raise ValueError(f"alignment graph: slot {slot.label!r} has an empty pronunciation")
        enter = math.log(slot.prob) if slot.optional else 0.0
        new_frontier: list[tuple[int, float]] = []
        first_alt: list[int] = []
        for a, pron in enumerate(slot.prons):
            prev = None
            for phone in pron:
                if phone not in tm.phone_id:
                    raise ValueError(f"alignment graph: phone {phone!r} is not in the phone set")
                v = len(node_phone)
                node_phone.append(tm.phone_id[phone])
                node_slot.append(i)
                preds.append([(u, w + enter) for u, w in frontier] if prev is None
                             else [(prev, 0.0)])
                if a == 0:
                    first_alt.append(v)
                prev = v
            new_frontier.append((prev, 0.0))
        if slot.optional:
            new_frontier += [(u, w + math.log1p(-slot.prob)) for u, w in frontier]
        else:
            min_frames += min(sum(tm.topology.num_states(p) for p in pron) for pron in slot.prons)
        on_default = not slot.optional or (edge_optional and i in (0, len(slots) - 1))
        default_nodes.append(first_alt if on_default else [])
        frontier = new_frontier
    final = {}
    for u, w in frontier:
        if u != START:
            final[u] = max(final.get(u, NEG_INF), w)
    N = len(node_phone)
    succs: list[list[int]] = [[] for _ in range(N)]
    for v, arcs in enumerate(preds):
        for u, _ in arcs:
            if u != START:
                succs[u].append(v)
    gid = [p + 1 for p in node_phone]                       # graph/tree phone ids

    # -- 2. copies per (left, right) context
    is_ci = [tm.phones[p] in ci for p in node_phone]
    copies: list[list[tuple[int | None, int | None]]] = []
    for v in range(N):
        if is_ci[v]:
            copies.append([(None, None)])
            continue
        lefts = sorted({0 if u == START else gid[u] for u, _ in preds[v]})
        rights = sorted({gid[w] for w in succs[v]} | ({0} if v in final else set()))
        copies.append([(l, r) for l in lefts for r in rights])

    # -- 3. HMM states of every copy
    ts: list[int] = []
    instance: list[int] = []
    instance_phone: list[int] = []
    slot_of: list[int] = []
    first_state: dict[tuple[int, int], int] = {}
    last_state: dict[tuple[int, int], int] = {}
    for v in range(N):
        p = node_phone[v]
        n = tm.topology.num_states(tm.phones[p])
        for c, (l, r) in enumerate(copies[v]):
            window = (l or 0, gid[v], r or 0)
            instance_phone.append(p)
            first_state[(v, c)] = len(ts)
            for s in range(n):
                ts.append(tm.transition_state(p, s, tree.pdf(window, s)))
                instance.append(len(instance_phone) - 1)
                slot_of.append(node_slot[v])
            last_state[(v, c)] = len(ts) - 1
    S = len(ts)
    state_preds: list[list[tuple[int, float]]] = [[] for _ in range(S)]
    for s in range(S):
        if s > 0 and instance[s] == instance[s - 1]:
            state_preds[s].append((s - 1, 0.0))
    init_lp = torch.full((S,), NEG_INF)
    final_lp = torch.full((S,), NEG_INF)
    for v in range(N):
        for c, (lv, rv) in enumerate(copies[v]):
            head = first_state[(v, c)]
            for u, w in preds[v]:
                if u == START:
                    if is_ci[v] or lv == 0:
                        init_lp[head] = max(float(init_lp[head]), w)
                    continue
                for cu, (lu, ru) in enumerate(copies[u]):
                    if (is_ci[u] or ru == gid[v]) and (is_ci[v] or lv == gid[u]):
                        state_preds[head].append((last_state[(u, cu)], w))
            if v in final and (is_ci[v] or rv == 0):
                tail = last_state[(v, c)]
                final_lp[tail] = max(float(final_lp[tail]), final[v])
    K = max(1, max(len(p) for p in state_preds))
    if K > 126:   # viterbi's back-pointers are int8
        raise ValueError(f"alignment graph: a state has {K} predecessors (at most 126)")
    pred_src = torch.zeros(S, K, dtype=torch.long)
    pred_lp = torch.full((S, K), NEG_INF)
    for s, arcs in enumerate(state_preds):
        for k, (u, w) in enumerate(arcs):
            pred_src[s, k] = u
            pred_lp[s, k] = w

    # Flat-start path: the default nodes, each copy chosen by its path neighbours.
    path_nodes = [v for nodes in default_nodes for v in nodes]
    chosen: dict[int, int] = {}
    for k, v in enumerate(path_nodes):
        if is_ci[v]:
            chosen[v] = 0
            continue
        want = (gid[path_nodes[k - 1]] if k > 0 else 0,
                gid[path_nodes[k + 1]] if k + 1 < len(path_nodes) else 0)
        chosen[v] = copies[v].index(want) if want in copies[v] else 0
    default_path = []
    for nodes in default_nodes:
        states = []
        for v in nodes:
            states += list(range(first_state[(v, chosen[v])], last_state[(v, chosen[v])] + 1))
        default_path.append(states)
    return UttGraph(torch.tensor(ts, dtype=torch.long), pred_src, pred_lp, init_lp, final_lp,
                    torch.tensor(instance, dtype=torch.long), instance_phone,
                    torch.tensor(slot_of, dtype=torch.long), list(slots), min_frames,
                    default_path)
