"""H (HMM transducer) in text form for a two-phone model: every arc line."""

import math

import pytest
import torch

from asr.graph.fstext import fmt_cost
from asr.graph.h import disambig_tid_label, hmm_fst_text
from asr.hmm.topology import Topology, TopologyConfig
from asr.hmm.transition_model import TransitionModel


def _cost(p: float, scale: float = 0.1) -> str:
    return fmt_cost(-scale * math.log(p))


def test_hmm_fst_text_every_arc():
    # SIL: 1 state, AH: 2 states; transition states 0 (SIL,0), 1 (AH,0), 2 (AH,1).
    topo = Topology(TopologyConfig(num_states=2, silence_num_states=1))
    probs = torch.tensor([[0.5, 0.5], [0.75, 0.25], [0.6, 0.4]])
    tm = TransitionModel(["SIL", "AH"], topo, log_probs=probs.log())
    # tids (+1): SIL loop 1, fwd 2; AH s0 loop 3, fwd 4; AH s1 loop 5, fwd 6
    text = hmm_fst_text(tm, phone_ids=[1, 2], disambig_ids=[3, 4])
    assert text.splitlines() == [
        f"0\t1\t1\t1\t{_cost(0.5)}",    # SIL first frame, stays
        f"0\t0\t2\t1\t{_cost(0.5)}",    # SIL first frame, leaves (one-state phone)
        f"1\t1\t1\t0\t{_cost(0.5)}",
        f"1\t0\t2\t0\t{_cost(0.5)}",
        f"0\t2\t3\t2\t{_cost(0.75)}",   # AH first frame, stays in state 0
        f"0\t3\t4\t2\t{_cost(0.25)}",   # AH first frame, moves to state 1
        f"2\t2\t3\t0\t{_cost(0.75)}",
        f"2\t3\t4\t0\t{_cost(0.25)}",
        f"3\t3\t5\t0\t{_cost(0.6)}",
        f"3\t0\t6\t0\t{_cost(0.4)}",    # last state's forward arc returns to the hub
        "0\t0\t7\t3\t0",                # #0 loop (input label num_tids + 1)
        "0\t0\t8\t4\t0",                # #1 loop
        "0\t0",
    ]
    assert disambig_tid_label(tm, 0) == 7


def test_hmm_fst_scale():
    topo = Topology(TopologyConfig(num_states=1, silence_num_states=1))
    tm = TransitionModel(["SIL"], topo, log_probs=torch.tensor([[0.5, 0.5]]).log())
    text = hmm_fst_text(tm, [1], self_loop_scale=1.0)
    assert text.splitlines()[0] == f"0\t1\t1\t1\t{_cost(0.5, 1.0)}"


def test_cd_hmm_fst_text_every_arc():
    """Triphone H for SIL (1 state) and AH (2 states; state 0 has pdf 1 after SIL,
    pdf 2 otherwise): windows with equal transition states share one chain."""
    from asr.gmm.tree import ContextDependency
    from asr.graph.h import cd_hmm_fst_text

    nodes = [{"leaf": 0},
             {"key": -1, "values": [0], "yes": 2, "no": 5},
             {"key": 0, "values": [1], "yes": 3, "no": 4},
             {"leaf": 1}, {"leaf": 2}, {"leaf": 3}]
    tree = ContextDependency(["SIL", "AH"], 3, 1, nodes, {1: 0, 2: 1}, [0, 1, 2, 3], ["SIL"])
    topo = Topology(TopologyConfig(num_states=2, silence_num_states=1))
    tuples = torch.tensor([[0, 0, 0], [1, 0, 1], [1, 0, 2], [1, 1, 3]])
    probs = torch.tensor([[0.5, 0.5], [0.75, 0.25], [0.6, 0.4], [0.9, 0.1]])
    tm = TransitionModel(["SIL", "AH"], topo, tuples, probs.log())
    # tids (+1): ts0 1/2, ts1 3/4, ts2 5/6, ts3 7/8; disambiguation inputs from 9.
    ilabels = [[], [0], [0, 1, 2], [1, 2, 0], [2, 2, 2], [0, 2, 1], [-4]]
    text, num_disambig = cd_hmm_fst_text(tm, tree, ilabels)
    c = _cost
    assert num_disambig == 2
    assert text.splitlines() == [
        f"0\t1\t1\t2\t{c(0.5)}",      # label 2 = SIL (any context)
        f"0\t0\t2\t2\t{c(0.5)}",
        f"1\t1\t1\t0\t{c(0.5)}",
        f"1\t0\t2\t0\t{c(0.5)}",
        f"0\t2\t3\t3\t{c(0.75)}",     # label 3 = AH after SIL: pdf 1 (ts1), then ts3
        f"0\t3\t4\t3\t{c(0.25)}",
        f"2\t2\t3\t0\t{c(0.75)}",
        f"2\t3\t4\t0\t{c(0.25)}",
        f"3\t3\t7\t0\t{c(0.9)}",
        f"3\t0\t8\t0\t{c(0.1)}",
        f"0\t4\t5\t4\t{c(0.6)}",      # labels 4 and 5 = AH after AH / at the start: ts2, ts3
        f"0\t5\t6\t4\t{c(0.4)}",
        f"0\t4\t5\t5\t{c(0.6)}",
        f"0\t5\t6\t5\t{c(0.4)}",
        f"4\t4\t5\t0\t{c(0.6)}",
        f"4\t5\t6\t0\t{c(0.4)}",
        f"5\t5\t7\t0\t{c(0.9)}",
        f"5\t0\t8\t0\t{c(0.1)}",
        "0\t0\t9\t1\t0",              # #-1 (window [0])
        "0\t0\t10\t6\t0",             # #k (window [-4])
        "0\t0",
    ]


def test_cd_hmm_fst_text_rejects_bad_windows():
    from asr.gmm.tree import ContextDependency
    from asr.graph.h import cd_hmm_fst_text

    tree = ContextDependency(["SIL"], 3, 1, [{"leaf": 0}], {1: 0}, [0], ["SIL"])
    tm = TransitionModel(["SIL"], Topology(TopologyConfig(silence_num_states=1)))
    with pytest.raises(ValueError, match="window"):
        cd_hmm_fst_text(tm, tree, [[], [1, 1]])
    with pytest.raises(ValueError, match="centre phone"):
        cd_hmm_fst_text(tm, tree, [[], [1, 5, 1]])
