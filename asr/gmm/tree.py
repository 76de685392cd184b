"""Phonetic decision tree for state tying (Kaldi's ``acc-tree-stats`` / ``cluster-phones``
/ ``build-tree`` / ``ContextDependency``), triphone context by default.

Phone ids: a phone's id here is its index in the transition model's phone list plus 1
(so the same ids as the graph's phone table, :mod:`asr.graph.hclg`); 0 stands for
"no phone" (the utterance edge). A *window* is the ``context_width`` phone ids around a
phone occurrence, the phone itself at ``central_position`` (``(left, centre, right)``
for triphones). An *event* is ``(window, hmm_state)``.

Steps:

1. :func:`accumulate_tree_stats`: count, sum and sum of squares of the features of
   every event seen in an alignment (float64, ``(E,)``, ``(E, D)``, ``(E, D)``).
2. :func:`cluster_phones`: the context questions. All phones are clustered top-down
   into a binary tree of phone sets: each set is split in two by a 2-means on the
   single-Gaussian likelihood of its phones' statistics (per phone: three
   Gaussians, for its first, middle and last HMM state); every node of that tree is
   a question "is the left (right) phone in this set?". A node's two children
   partition it.
3. :func:`build_tree`: one root per phone (Kaldi's ``shared split`` roots): the
   questions may also ask about the HMM state, so a root can share a pdf between
   states of a phone. Context-independent phones (silence) get one leaf per HMM
   state and never split. The leaf with the best split (largest single-Gaussian
   log-likelihood gain, both sides with at least ``min_count`` frames) is split
   next, until ``num_leaves`` leaves or no positive gain. Then, within each root,
   pairs of leaves are merged bottom-up while merging loses less than
   ``cluster_thresh`` (default: the gain of the smallest split made, as Kaldi's
   ``build-tree --cluster-thresh=-1``); merged leaves share a pdf.

The result, :class:`ContextDependency`, maps any window and HMM state to a pdf
(windows never seen in training included: every question has an answer). It is
saved as JSON (``format: asr.gmm.tree``), written atomically.
"""

from __future__ import annotations

import heapq
import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from asr.hmm.transition_model import TransitionModel
from asr.utils.io import atomic_write_text

FORMAT = "asr.gmm.tree"
VERSION = 1
log = logging.getLogger(__name__)

STATE_KEY = -1          # question key for the HMM state (Kaldi's pdf-class key)
_LOG_2PI = math.log(2 * math.pi)


@dataclass
class TreeConfig:
    """Tree-building options.

    ``num_leaves``: at most this many leaves (before merging; never fewer than one per
    phone, and one per state of context-independent phones); ``min_count``: frames
    each side of a split must have; ``cluster_thresh``: merge leaves of one root
    while the likelihood loss is below it (None: the smallest split gain);
    ``var_floor``: floor of the variances in the likelihood (features' units);
    ``ci_phones``: context-independent phones (None: the topology's silence phones).
    """

    num_leaves: int = 500
    min_count: float = 100.0
    cluster_thresh: float | None = None
    var_floor: float = 0.01
    context_width: int = 3
    central_position: int = 1
    ci_phones: list[str] | None = None

    def __post_init__(self) -> None:
        if self.num_leaves < 1:
            raise ValueError(f"tree: num_leaves must be >= 1, got {self.num_leaves}")
        if not 0 <= self.central_position < self.context_width:
            raise ValueError(f"tree: need 0 <= central_position < context_width, got "
                             f"{self.central_position}, {self.context_width}")


# ---------------------------------------------------------------- statistics

@dataclass
class TreeStats:
    """Single-Gaussian statistics per event.

    ``events``: ``E`` keys ``(window tuple, hmm_state)``; ``count (E,)``, ``sum_x (E, D)``,
    ``sum_x2 (E, D)`` float64 (frames, feature units)."""

    events: list[tuple[tuple[int, ...], int]]
    count: torch.Tensor
    sum_x: torch.Tensor
    sum_x2: torch.Tensor
    context_width: int = 3
    central_position: int = 1

    @property
    def dim(self) -> int:
        return self.sum_x.shape[1]

    @property
    def frames(self) -> float:
        return float(self.count.sum())


def phone_windows(phones: Sequence[int], width: int = 3, central: int = 1) -> list[tuple[int, ...]]:
    """Window of every position of a phone-id sequence (0 beyond the edges)."""
    padded = [0] * central + list(phones) + [0] * (width - 1 - central)
    return [tuple(padded[i:i + width]) for i in range(len(phones))]


def accumulate_tree_stats(feats: Mapping[str, torch.Tensor], alignments: Mapping,
                          tm: TransitionModel, context_width: int = 3,
                          central_position: int = 1) -> TreeStats:
    """Statistics of every event in ``alignments`` (:class:`asr.gmm.align.Alignment`,
    interpreted by ``tm``) over ``feats`` (utterance -> ``(T, D)``).

    The context of a phone occurrence is its neighbours in the aligned phone sequence,
    silence included (an optional silence that was taken is a context phone)."""
    index: dict[tuple[tuple[int, ...], int], int] = {}
    frame_events: list[torch.Tensor] = []
    xs: list[torch.Tensor] = []
    tid_state = tm.tuples[:, 1].repeat_interleave(2).tolist()
    for utt, ali in alignments.items():
        x = feats.get(utt)
        if x is None:
            continue
        if x.shape[0] != len(ali.transition_ids):
            raise ValueError(f"tree stats: utterance {utt!r} has {x.shape[0]} frames but "
                             f"{len(ali.transition_ids)} aligned")
        ids = [tm.phone_id[p] + 1 for p, _, _ in ali.phones]
        windows = phone_windows(ids, context_width, central_position)
        tids = ali.transition_ids.tolist()
        ev = []
        for window, (_, start, end) in zip(windows, ali.phones):
            for t in range(start, end):
                key = (window, tid_state[tids[t]])
                k = index.get(key)
                if k is None:
                    k = index[key] = len(index)
                ev.append(k)
        frame_events.append(torch.tensor(ev, dtype=torch.long))
        xs.append(x)
    if not xs:
        raise ValueError("tree stats: no utterance has both features and an alignment")
    x = torch.cat(xs).double()
    ev = torch.cat(frame_events)
    E, D = len(index), x.shape[1]
    count = torch.zeros(E, dtype=torch.float64).index_add_(0, ev, torch.ones_like(ev, dtype=torch.float64))
    sum_x = torch.zeros(E, D, dtype=torch.float64).index_add_(0, ev, x)
    sum_x2 = torch.zeros(E, D, dtype=torch.float64).index_add_(0, ev, x * x)
    return TreeStats(list(index), count, sum_x, sum_x2, context_width, central_position)


def gauss_objf(count: torch.Tensor, sum_x: torch.Tensor, sum_x2: torch.Tensor,
               var_floor: float) -> torch.Tensor:
    """Log-likelihood of the data under its own ML diagonal Gaussian.

    ``count (...,)``, ``sum_x (..., D)``, ``sum_x2 (..., D)`` -> ``(...,)`` (0 where no data)."""
    n = count.clamp_min(1e-10)[..., None]
    mean = sum_x / n
    var = (sum_x2 / n - mean * mean).clamp_min(var_floor)
    D = sum_x.shape[-1]
    objf = -0.5 * count * (var.log().sum(-1) + D * (1.0 + _LOG_2PI))
    return torch.where(count > 0, objf, torch.zeros_like(objf))


def _stack(stats: TreeStats) -> torch.Tensor:
    """``(E, 1 + 2D)``: count, sum_x, sum_x2 side by side."""
    return torch.cat([stats.count[:, None], stats.sum_x, stats.sum_x2], 1)


def _objf(packed: torch.Tensor, var_floor: float) -> torch.Tensor:
    D = (packed.shape[-1] - 1) // 2
    return gauss_objf(packed[..., 0], packed[..., 1:1 + D], packed[..., 1 + D:], var_floor)


# ---------------------------------------------------------------- phone questions

@dataclass
class PhoneQuestions:
    """A binary tree of phone-id sets: ``sets[i]`` with ``children[i]`` the indices of
    its two halves (None for a single phone). ``sets[0]`` is every phone."""

    sets: list[frozenset[int]]
    children: list[tuple[int, int] | None]


def _phone_class_stats(stats: TreeStats, num_states: Mapping[int, int]) -> dict[int, torch.Tensor]:
    """Per centre phone: ``(3, 1 + 2D)`` statistics of its first, middle, last state."""
    packed = _stack(stats)
    out: dict[int, torch.Tensor] = {}
    c = stats.central_position
    for k, (window, state) in enumerate(stats.events):
        phone = window[c]
        n = num_states[phone]
        cls = 0 if state == 0 else (2 if state == n - 1 else 1)
        if phone not in out:
            out[phone] = torch.zeros(3, packed.shape[1], dtype=torch.float64)
        out[phone][cls] += packed[k]
    return out


def _two_means(members: list[int], st: dict[int, torch.Tensor], var_floor: float,
               iters: int = 20) -> tuple[list[int], list[int]]:
    """Split ``members`` in two, maximising the summed likelihood of the halves."""
    if len(members) == 2:
        return [members[0]], [members[1]]

    def objf(group: list[int]) -> float:
        return float(_objf(sum(st[p] for p in group), var_floor).sum())

    own = {p: float(_objf(st[p], var_floor).sum()) for p in members}
    # Seeds: the heaviest phone, and the phone that loses most when pooled with it.
    a = max(members, key=lambda p: float(st[p][:, 0].sum()))
    b = max((p for p in members if p != a),
            key=lambda p: own[a] + own[p] - objf([a, p]))
    assign = {p: 0 for p in members}
    assign[b] = 1
    for p in members:
        if p not in (a, b):
            assign[p] = 0 if (own[a] + own[p] - objf([a, p])) <= (own[b] + own[p] - objf([b, p])) else 1
    for _ in range(iters):
        groups = [[p for p in members if assign[p] == g] for g in (0, 1)]
        totals = [sum(st[p] for p in g) for g in groups]
        changed = False
        for p in members:
            g = assign[p]
            if len(groups[g]) == 1:
                continue
            without = totals[g] - st[p]
            # Loss of keeping p in its group vs. moving it to the other.
            stay = float(_objf(without, var_floor).sum()) + own[p] - float(_objf(totals[g], var_floor).sum())
            o = 1 - g
            move = own[p] + float(_objf(totals[o], var_floor).sum()) - float(_objf(totals[o] + st[p], var_floor).sum())
            if move < stay - 1e-9:
                assign[p] = o
                groups[g].remove(p)
                groups[o].append(p)
                totals[g] = without
                totals[o] = totals[o] + st[p]
                changed = True
        if not changed:
            break
    left = [p for p in members if assign[p] == 0]
    right = [p for p in members if assign[p] == 1]
    return left, right


def cluster_phones(stats: TreeStats, tm: TransitionModel, var_floor: float = 0.01) -> PhoneQuestions:
    """Top-down binary clustering of all phones of ``tm`` (ids ``1 .. P``) on their
    statistics. Phones without data form the second half of the root, split off one
    at a time, so that every phone is in some question."""
    num_states = {i + 1: tm.topology.num_states(p) for i, p in enumerate(tm.phones)}
    st = _phone_class_stats(stats, num_states)
    seen = sorted(st)
    unseen = sorted(set(num_states) - set(st))
    sets: list[frozenset[int]] = []
    children: list[tuple[int, int] | None] = []

    def grow(members: list[int]) -> int:
        i = len(sets)
        sets.append(frozenset(members))
        children.append(None)
        if len(members) > 1:
            left, right = _two_means(members, st, var_floor)
            children[i] = (grow(left), grow(right))
        return i

    def chain(members: list[int]) -> int:
        """Phones without data: split off one at a time."""
        i = len(sets)
        sets.append(frozenset(members))
        children.append(None)
        if len(members) > 1:
            children[i] = (chain(members[:1]), chain(members[1:]))
        return i

    if not seen:
        raise ValueError("cluster phones: no statistics")
    if not unseen:
        grow(seen)
    else:
        sets.append(frozenset(seen + unseen))
        children.append(None)
        children[0] = (grow(seen), chain(unseen))
    return PhoneQuestions(sets, children)


# ---------------------------------------------------------------- the tree

class ContextDependency:
    """A decision tree mapping ``(window, hmm_state)`` to a pdf.

    Nodes are dicts: a leaf ``{"leaf": k}`` (pdf ``leaf_pdf[k]``), or a question
    ``{"key": position or -1 (HMM state), "values": [...], "yes": node, "no": node}``
    (node indices into ``nodes``). ``roots[phone_id]`` is the node of a centre phone.
    """

    def __init__(self, phones: Sequence[str], context_width: int, central_position: int,
                 nodes: list[dict], roots: Mapping[int, int], leaf_pdf: Sequence[int],
                 ci_phones: Sequence[str] = ()) -> None:
        self.phones = list(phones)
        self.context_width = context_width
        self.central_position = central_position
        self.nodes = nodes
        self.roots = {int(k): int(v) for k, v in roots.items()}
        self.leaf_pdf = list(leaf_pdf)
        self.ci_phones = list(ci_phones)
        self.num_pdfs = max(self.leaf_pdf) + 1 if self.leaf_pdf else 0
        self._values = [frozenset(n["values"]) if "key" in n else None for n in nodes]
        self._cache: dict[tuple[tuple[int, ...], int], int] = {}
        missing = [p for i, p in enumerate(self.phones) if i + 1 not in self.roots]
        if missing:
            raise ValueError(f"tree: no root for phones {missing}")

    @property
    def num_leaves(self) -> int:
        return len(self.leaf_pdf)

    def leaf(self, window: Sequence[int], hmm_state: int) -> int:
        """Leaf index of an event."""
        node = self.roots.get(int(window[self.central_position]))
        if node is None:
            raise ValueError(f"tree: no root for phone id {window[self.central_position]}")
        while True:
            n = self.nodes[node]
            if "leaf" in n:
                return n["leaf"]
            key = n["key"]
            value = hmm_state if key == STATE_KEY else window[key]
            node = n["yes"] if value in self._values[node] else n["no"]

    def pdf(self, window: Sequence[int], hmm_state: int) -> int:
        """pdf of ``hmm_state`` of the centre phone of ``window`` (phone ids, 0 = none)."""
        key = (tuple(int(v) for v in window), int(hmm_state))
        pdf = self._cache.get(key)
        if pdf is None:
            if len(key[0]) != self.context_width:
                raise ValueError(f"tree: window {key[0]} is not {self.context_width} phones wide")
            pdf = self._cache[key] = self.leaf_pdf[self.leaf(*key)]
        return pdf

    def pdfs_of(self, phone_id: int, hmm_state: int) -> list[int]:
        """Every pdf that ``hmm_state`` of the phone can map to, whatever the context."""
        out, todo = set(), [self.roots[phone_id]]
        while todo:
            n = self.nodes[todo.pop()]
            if "leaf" in n:
                out.add(self.leaf_pdf[n["leaf"]])
            elif n["key"] == STATE_KEY:
                todo.append(n["yes"] if hmm_state in n["values"] else n["no"])
            else:
                todo += [n["yes"], n["no"]]
        return sorted(out)

    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "phones": self.phones,
                "context_width": self.context_width, "central_position": self.central_position,
                "ci_phones": self.ci_phones, "num_pdfs": self.num_pdfs,
                "roots": {str(k): v for k, v in sorted(self.roots.items())},
                "leaf_pdf": self.leaf_pdf, "nodes": self.nodes}

    def save(self, path: str | Path) -> None:
        """Write the tree as JSON, atomically."""
        atomic_write_text(path, json.dumps(self.to_dict(), separators=(",", ":")) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> ContextDependency:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"tree {path} does not exist")
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not a JSON tree ({err})") from None
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise ValueError(f"{path}: not an {FORMAT} file")
        if state.get("version") != VERSION:
            raise ValueError(f"{path}: version {state.get('version')} is not {VERSION}")
        return cls(state["phones"], state["context_width"], state["central_position"],
                   state["nodes"], state["roots"], state["leaf_pdf"], state.get("ci_phones", []))

    def check_phones(self, tm: TransitionModel, where: str = "") -> None:
        """Raise ValueError unless the tree was built for ``tm``'s phone list."""
        if self.phones != list(tm.phones):
            raise ValueError(f"tree{' ' + where if where else ''}: built for phones "
                             f"{self.phones[:5]}..., model has {tm.phones[:5]}...")

    def __repr__(self) -> str:
        return (f"ContextDependency(width={self.context_width}, central={self.central_position}, "
                f"leaves={self.num_leaves}, pdfs={self.num_pdfs})")


@dataclass
class _Leaf:
    root: int                 # centre phone id
    events: torch.Tensor      # (n,) event indices
    total: torch.Tensor       # (1 + 2D,) pooled statistics
    node: int                 # its node index in the tree being grown
    best: tuple[float, int, frozenset, torch.Tensor] | None = None  # gain, key, values, yes-mask


@dataclass
class BuildInfo:
    """What :func:`build_tree` did: the gain of each split in order, the merge
    threshold, the number of leaves before and after merging, total objective gain."""

    split_gains: list[float] = field(default_factory=list)
    cluster_thresh: float = 0.0
    leaves_before_merge: int = 0
    leaves_after_merge: int = 0
    merge_losses: list[float] = field(default_factory=list)
    objf_before: float = 0.0
    objf_after: float = 0.0


def _state_questions(num_states: int) -> list[frozenset[int]]:
    """Every two-way partition of the states, as the half holding state 0."""
    out = []
    for mask in range(1, 2 ** (num_states - 1)):
        out.append(frozenset([0] + [s for s in range(1, num_states) if mask >> (s - 1) & 1]))
    return [q for q in out if len(q) < num_states]


def build_tree(stats: TreeStats, tm: TransitionModel, config: TreeConfig | None = None,
               questions: PhoneQuestions | None = None) -> tuple[ContextDependency, BuildInfo]:
    """Grow the tree on ``stats`` (see the module docstring); returns the tree and
    a :class:`BuildInfo`. ``questions`` default to :func:`cluster_phones`."""
    cfg = config or TreeConfig()
    if (stats.context_width, stats.central_position) != (cfg.context_width, cfg.central_position):
        raise ValueError("tree: statistics and config disagree on the context window")
    W, C = cfg.context_width, cfg.central_position
    questions = questions or cluster_phones(stats, tm, cfg.var_floor)
    phone_q = [q for q in questions.sets]
    P = len(tm.phones)
    ci_names = set(cfg.ci_phones if cfg.ci_phones is not None else
                   [p for p in tm.phones if tm.topology.is_silence(p)])
    num_states = {i + 1: tm.topology.num_states(p) for i, p in enumerate(tm.phones)}
    packed = _stack(stats)
    ev_window = torch.tensor([w for w, _ in stats.events], dtype=torch.long).reshape(-1, W)
    ev_state = torch.tensor([s for _, s in stats.events], dtype=torch.long)
    # Membership of every value in every context question: (Q, P + 1).
    ctx_member = torch.zeros(len(phone_q), P + 1, dtype=torch.float64)
    for i, q in enumerate(phone_q):
        ctx_member[i, sorted(q)] = 1.0
    ctx_keys = [k for k in range(W) if k != C]
    floor = cfg.var_floor

    nodes: list[dict] = []
    roots: dict[int, int] = {}
    leaves: list[_Leaf] = []
    info = BuildInfo()

    def new_node() -> int:
        nodes.append({})
        return len(nodes) - 1

    def best_split(leaf: _Leaf) -> None:
        ev = leaf.events
        total = leaf.total
        parent = float(_objf(total, floor))
        best = None
        n = num_states[leaf.root]
        keys: list[tuple[int, torch.Tensor, list[frozenset]]] = []
        state_qs = _state_questions(n)
        if state_qs:
            m = torch.zeros(len(state_qs), n, dtype=torch.float64)
            for i, q in enumerate(state_qs):
                m[i, sorted(q)] = 1.0
            keys.append((STATE_KEY, m, state_qs))
        for k in ctx_keys:
            keys.append((k, ctx_member, phone_q))
        for key, member, qsets in keys:
            values = ev_state[ev] if key == STATE_KEY else ev_window[ev, key]
            V = member.shape[1]
            grouped = torch.zeros(V, packed.shape[1], dtype=torch.float64)
            grouped.index_add_(0, values, packed[ev])
            yes = member @ grouped                                   # (Q, 1 + 2D)
            no = total[None, :] - yes
            ok = (yes[:, 0] >= cfg.min_count) & (no[:, 0] >= cfg.min_count)
            if not bool(ok.any()):
                continue
            gain = _objf(yes, floor) + _objf(no, floor) - parent
            gain = torch.where(ok, gain, torch.full_like(gain, -math.inf))
            i = int(gain.argmax())
            g = float(gain[i])
            if g > 0 and (best is None or g > best[0]):
                q = qsets[i]
                mask = torch.tensor([int(v) in q for v in values.tolist()], dtype=torch.bool)
                best = (g, key, q, mask)
        leaf.best = best

    # Roots: CI phones (and phones without data) one leaf per state; others one leaf.
    ev_phone = ev_window[:, C] if len(stats.events) else torch.zeros(0, dtype=torch.long)
    for phone in range(1, P + 1):
        name = tm.phones[phone - 1]
        ev = torch.nonzero(ev_phone == phone).flatten()
        n = num_states[phone]
        root = new_node()
        roots[phone] = root
        if name in ci_names or len(ev) == 0 or n == 1:
            # A chain of state questions {s} down to one leaf per state.
            node = root
            for s in range(n):
                sub = ev[ev_state[ev] == s]
                leaf_node = node if s == n - 1 else new_node()
                leaves.append(_Leaf(phone, sub, packed[sub].sum(0) if len(sub) else
                                    torch.zeros(packed.shape[1], dtype=torch.float64), leaf_node))
                if s < n - 1:
                    rest = new_node()
                    nodes[node] = {"key": STATE_KEY, "values": [s], "yes": leaf_node, "no": rest}
                    node = rest
        else:
            leaves.append(_Leaf(phone, ev, packed[ev].sum(0), root))
            best_split(leaves[-1])
    info.objf_before = sum(float(_objf(l.total, floor)) for l in leaves)
    if len(leaves) > cfg.num_leaves:
        log.warning("tree: %d leaves before any split (one per phone, one per state of "
                    "context-independent phones and phones without data) > num_leaves %d",
                    len(leaves), cfg.num_leaves)

    heap = [(-l.best[0], i) for i, l in enumerate(leaves) if l.best is not None]
    heapq.heapify(heap)
    while len(leaves) < cfg.num_leaves and heap:
        _, i = heapq.heappop(heap)
        leaf = leaves[i]
        gain, key, q, mask = leaf.best
        yes_ev, no_ev = leaf.events[mask], leaf.events[~mask]
        yes_node, no_node = new_node(), new_node()
        nodes[leaf.node] = {"key": key, "values": sorted(int(v) for v in q),
                            "yes": yes_node, "no": no_node}
        info.split_gains.append(gain)
        leaves[i] = _Leaf(leaf.root, yes_ev, packed[yes_ev].sum(0), yes_node)
        leaves.append(_Leaf(leaf.root, no_ev, packed[no_ev].sum(0), no_node))
        for j in (i, len(leaves) - 1):
            best_split(leaves[j])
            if leaves[j].best is not None:
                heapq.heappush(heap, (-leaves[j].best[0], j))
    info.leaves_before_merge = len(leaves)
    info.objf_after = sum(float(_objf(l.total, floor)) for l in leaves)

    # Merge leaves within each root (never across roots, never for CI phones).
    thresh = cfg.cluster_thresh
    if thresh is None:
        thresh = min(info.split_gains) if info.split_gains else 0.0
    info.cluster_thresh = thresh
    group = list(range(len(leaves)))            # leaf -> representative leaf
    by_root: dict[int, list[int]] = {}
    for i, l in enumerate(leaves):
        if tm.phones[l.root - 1] not in ci_names:
            by_root.setdefault(l.root, []).append(i)
    for members in by_root.values():
        clusters = {i: leaves[i].total.clone() for i in members}
        own = {i: float(_objf(t, floor)) for i, t in clusters.items()}
        while len(clusters) > 1:
            ids = sorted(clusters)
            best = None
            for a_i, a in enumerate(ids):
                for b in ids[a_i + 1:]:
                    loss = own[a] + own[b] - float(_objf(clusters[a] + clusters[b], floor))
                    if best is None or loss < best[0]:
                        best = (loss, a, b)
            loss, a, b = best
            if loss >= thresh:
                break
            clusters[a] = clusters[a] + clusters.pop(b)
            own[a] = float(_objf(clusters[a], floor))
            own.pop(b)
            for j, g in enumerate(group):
                if g == b:
                    group[j] = a
            info.merge_losses.append(loss)
    # Number pdfs by representative, in leaf order.
    pdf_of_rep: dict[int, int] = {}
    leaf_pdf = []
    for i, l in enumerate(leaves):
        rep = group[i]
        if rep not in pdf_of_rep:
            pdf_of_rep[rep] = len(pdf_of_rep)
        nodes[l.node] = {"leaf": i}
        leaf_pdf.append(pdf_of_rep[rep])
    info.leaves_after_merge = len(pdf_of_rep)
    tree = ContextDependency(tm.phones, W, C, nodes, roots, leaf_pdf, sorted(ci_names))
    return tree, info


def pdf_stats(tree: ContextDependency, stats: TreeStats) -> torch.Tensor:
    """``(num_pdfs, 1 + 2D)`` pooled statistics (count, sum_x, sum_x2) of each pdf."""
    packed = _stack(stats)
    pdfs = torch.tensor([tree.pdf(w, s) for w, s in stats.events], dtype=torch.long)
    out = torch.zeros(tree.num_pdfs, packed.shape[1], dtype=torch.float64)
    return out.index_add_(0, pdfs, packed)
