"""Transition model: (phone, HMM state) -> pdf id and transition ids.

A *transition state* is one ``(phone, hmm_state, pdf)`` triple, as in Kaldi. With
monophones each phone state owns one pdf, so transition state ``k`` and pdf ``k``
coincide. In a tied (tree-clustered, context-dependent) model a phone state has one
transition state per pdf the tree can give it, so pdfs are shared between phones in
context and a lookup needs the pdf: ``transition_state(phone, state, pdf)``.

Each transition state has two transitions (see :mod:`asr.hmm.topology`)::

    transition_id = 2 * transition_state + {0: self-loop, 1: forward}

Ids are 0-based (Kaldi's start at 1 and reserve 0 for epsilon). Log-probabilities are
stored as ``log_probs (S, 2)``, re-estimated from alignment counts with a floor.
"""

from __future__ import annotations

from typing import Sequence

import torch

from asr.hmm.topology import FORWARD, SELF_LOOP, Topology


class TransitionModel:
    """Maps phones and their HMM states to pdf ids and transition ids.

    Args:
        phones: phone symbols; a phone's id is its position in this list.
        topology: state counts per phone.
        tuples: optional ``(S, 3)`` long ``[phone_id, hmm_state, pdf]`` rows (for a
            tied model); by default one pdf per (phone, state), numbered in order.
        log_probs: optional ``(S, 2)`` log [self-loop, forward] per transition state.
    """

    def __init__(self, phones: Sequence[str], topology: Topology,
                 tuples: torch.Tensor | None = None,
                 log_probs: torch.Tensor | None = None) -> None:
        self.phones = list(phones)
        if len(set(self.phones)) != len(self.phones):
            raise ValueError(f"transition model: duplicate phone symbols in {self.phones}")
        self.topology = topology
        self.phone_id = {p: i for i, p in enumerate(self.phones)}
        if tuples is None:
            rows = [(p, s) for p, name in enumerate(self.phones)
                    for s in range(topology.num_states(name))]
            tuples = torch.tensor([(p, s, k) for k, (p, s) in enumerate(rows)],
                                  dtype=torch.long).reshape(-1, 3)
        self.tuples = tuples.long()
        for p, s, _ in self.tuples.tolist():
            if not 0 <= p < len(self.phones) or not 0 <= s < topology.num_states(self.phones[p]):
                raise ValueError(f"transition model: bad tuple phone={p} state={s}")
        self.num_pdfs = int(self.tuples[:, 2].max()) + 1 if len(self.tuples) else 0
        rows = self.tuples.tolist()
        self._index3 = {tuple(row): k for k, row in enumerate(rows)}
        if len(self._index3) != len(rows):
            raise ValueError("transition model: duplicate [phone, state, pdf] tuples")
        # (phone, state) -> transition state, for (phone, state) pairs with one pdf only.
        pairs: dict[tuple[int, int], list[int]] = {}
        for k, row in enumerate(rows):
            pairs.setdefault(tuple(row[:2]), []).append(k)
        self._index = {key: ks[0] for key, ks in pairs.items() if len(ks) == 1}
        self._tied_pairs = {key for key, ks in pairs.items() if len(ks) > 1}
        if log_probs is None:
            log_probs = torch.stack([topology.initial_log_probs(self.phones[p])[s]
                                     for p, s, _ in self.tuples.tolist()])
        if log_probs.shape != (len(self.tuples), 2):
            raise ValueError(f"transition model: log_probs has shape {tuple(log_probs.shape)}, "
                             f"expected ({len(self.tuples)}, 2)")
        self.log_probs = log_probs.float()

    # -- sizes and lookups --------------------------------------------------------

    @property
    def num_transition_states(self) -> int:
        return len(self.tuples)

    @property
    def num_transition_ids(self) -> int:
        return 2 * len(self.tuples)

    def transition_state(self, phone: str | int, hmm_state: int, pdf: int | None = None) -> int:
        """Transition-state index of ``(phone, hmm_state)``, or of ``(phone, hmm_state,
        pdf)`` in a tied model, where a phone state has one transition state per pdf
        it can take (the pdf comes from the tree, :mod:`asr.gmm.tree`)."""
        p = self.phone_id[phone] if isinstance(phone, str) else phone
        if pdf is not None:
            k = self._index3.get((p, hmm_state, int(pdf)))
            if k is None:
                raise ValueError(f"transition model: no transition state for phone "
                                 f"{self.phones[p]!r} state {hmm_state} pdf {pdf}")
            return k
        try:
            return self._index[(p, hmm_state)]
        except KeyError:
            if (p, hmm_state) in self._tied_pairs:
                raise ValueError(f"transition model: phone {self.phones[p]!r} state "
                                 f"{hmm_state} has several pdfs; give the pdf") from None
            raise ValueError(f"transition model: no state {hmm_state} for phone "
                             f"{self.phones[p]!r}") from None

    def pdf_of(self, phone: str | int, hmm_state: int) -> int:
        return int(self.tuples[self.transition_state(phone, hmm_state), 2])

    @property
    def is_tied(self) -> bool:
        """True when some phone state has several pdfs (context-dependent model)."""
        return bool(self._tied_pairs)

    def phone_states(self, phone: str | int) -> list[int]:
        """Transition states of ``phone`` in HMM-state order (monophone lookup)."""
        p = self.phone_id[phone] if isinstance(phone, str) else phone
        return [self.transition_state(p, s) for s in range(self.topology.num_states(self.phones[p]))]

    def transition_id(self, transition_state: int, forward: bool) -> int:
        return 2 * transition_state + (FORWARD if forward else SELF_LOOP)

    def tid_to_pdf(self) -> torch.Tensor:
        """``(num_transition_ids,)`` long: pdf of each transition id."""
        return self.tuples[:, 2].repeat_interleave(2)

    def tid_to_phone(self) -> torch.Tensor:
        """``(num_transition_ids,)`` long: phone id of each transition id."""
        return self.tuples[:, 0].repeat_interleave(2)

    # -- estimation -------------------------------------------------------------

    def update(self, counts: torch.Tensor, floor: float = 0.01,
               min_count: float = 5.0) -> None:
        """Re-estimate ``log_probs`` from ``counts (num_transition_ids,)``.

        A transition state seen fewer than ``min_count`` times keeps its probabilities;
        otherwise each probability is floored at ``floor`` and the pair renormalised.
        """
        if counts.numel() != self.num_transition_ids:
            raise ValueError(f"transition model: {counts.numel()} counts for "
                             f"{self.num_transition_ids} transition ids")
        counts = counts.detach().double().cpu().reshape(-1, 2)
        total = counts.sum(1, keepdim=True)
        probs = (counts / total.clamp_min(1e-300)).clamp_min(floor)
        probs = probs / probs.sum(1, keepdim=True)
        seen = (total[:, 0] >= min_count)
        self.log_probs = torch.where(seen[:, None], probs.log().float(), self.log_probs)

    # -- serialisation ----------------------------------------------------------

    def state_dict(self) -> dict:
        return {"phones": list(self.phones), "tuples": self.tuples.clone(),
                "log_probs": self.log_probs.clone()}

    @classmethod
    def from_state_dict(cls, state: dict, topology: Topology) -> "TransitionModel":
        return cls(state["phones"], topology, tuples=state["tuples"],
                   log_probs=state["log_probs"])

    def __repr__(self) -> str:
        return (f"TransitionModel(phones={len(self.phones)}, "
                f"transition_states={self.num_transition_states}, pdfs={self.num_pdfs})")

