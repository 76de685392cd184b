"""HMM structure for the classical pipeline.

- :mod:`asr.hmm.topology`: left-to-right phone topologies (``TopologyConfig``, ``Topology``).
- :mod:`asr.hmm.transition_model`: (phone, HMM state[, pdf]) -> pdf id and transition ids
  (monophone or tree-tied),
  transition probabilities re-estimated from alignment counts (``TransitionModel``).
"""
