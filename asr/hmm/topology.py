"""Left-to-right HMM topologies for phones.

Every phone is a chain of emitting states ``0 .. n-1``. State ``i`` has exactly two
transitions: a self-loop (stay in ``i``) and a forward one (to ``i + 1``; from the
last state it leaves the phone). Silence phones may use a longer chain (Kaldi uses
5 states for silence and 3 for other phones, the defaults here).

Transitions are indexed ``0`` = self-loop, ``1`` = forward everywhere in
:mod:`asr.hmm` and :mod:`asr.gmm`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

SELF_LOOP = 0
FORWARD = 1


@dataclass
class TopologyConfig:
    """Numbers of emitting states and the initial self-loop probability.

    ``silence_phones`` take ``silence_num_states`` states, the others ``num_states``.
    ``self_loop_prob`` is the probability every transition model starts from before
    it is re-estimated from alignments (Kaldi's prototype uses 0.75).
    """

    num_states: int = 3
    silence_num_states: int = 5
    silence_phones: list[str] = field(default_factory=lambda: ["SIL"])
    self_loop_prob: float = 0.75

    def __post_init__(self) -> None:
        if self.num_states < 1 or self.silence_num_states < 1:
            raise ValueError(f"topology: phones need at least one emitting state, got "
                             f"num_states={self.num_states}, "
                             f"silence_num_states={self.silence_num_states}")
        if not 0.0 < self.self_loop_prob < 1.0:
            raise ValueError(f"topology: self_loop_prob must lie in (0, 1), "
                             f"got {self.self_loop_prob}")


class Topology:
    """Per-phone state counts and initial transition probabilities."""

    def __init__(self, config: TopologyConfig | None = None) -> None:
        self.config = config or TopologyConfig()
        self._silence = frozenset(self.config.silence_phones)

    def is_silence(self, phone: str) -> bool:
        return phone in self._silence

    def num_states(self, phone: str) -> int:
        """Number of emitting states of ``phone``."""
        if self.is_silence(phone):
            return self.config.silence_num_states
        return self.config.num_states

    def initial_log_probs(self, phone: str) -> torch.Tensor:
        """``(num_states(phone), 2)`` float32: log [self-loop, forward] per state."""
        p = self.config.self_loop_prob
        row = torch.tensor([math.log(p), math.log1p(-p)], dtype=torch.float32)
        return row.repeat(self.num_states(phone), 1)
