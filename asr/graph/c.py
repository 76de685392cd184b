"""Context expansion C: phones in context -> phones, applied to LG (giving CLG).

A :class:`ContextSpec` states the phonetic context window an acoustic model's states
depend on: ``width`` phones with the centre at ``central_position`` (monophones:
1 and 0; triphones from a decision tree: 3 and 1, Kaldi's ``N`` and ``P``).

:func:`compose_context` returns CLG and ``ilabels``: the phone window that each input
label of CLG stands for (``ilabels[i]`` a list of ``width`` phone ids, 0 for "no phone"
at an utterance edge; ``[]`` for epsilon and ``[-d]`` for disambiguation symbol ``d``, as in Kaldi's
``ilabels`` file). For monophones C is the
identity: CLG is LG and label ``i`` stands for ``[i]``. H for a context-dependent
model reads ``ilabels`` to map each window to the tree's transition states
(:func:`asr.graph.h.cd_hmm_fst_text`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ContextSpec:
    """Phonetic context window: ``width`` phones, the modelled one at ``central_position``."""

    width: int = 1
    central_position: int = 0

    def __post_init__(self) -> None:
        if self.width < 1 or not 0 <= self.central_position < self.width:
            raise ValueError(f"context: need width >= 1 and 0 <= central_position < width, "
                             f"got width={self.width}, central_position={self.central_position}")

    @property
    def is_monophone(self) -> bool:
        return self.width == 1


def compose_context(lg, spec: ContextSpec, disambig_ids: Sequence[int]):
    """``(CLG, ilabels)`` for ``lg`` (a ``kaldifst.StdVectorFst``).

    Monophone: ``(lg, None)``, i.e. the identity (input label ``i`` is phone ``i``).
    Wider context: Kaldi's ``fstcomposecontext`` through ``kaldifst.compose_context``.
    """
    if spec.is_monophone:
        return lg, None
    import kaldifst

    clg, ilabels = kaldifst.compose_context(list(disambig_ids), spec.width,
                                            spec.central_position, lg)
    return clg, ilabels
