import math

import pytest
import torch

from asr.hmm.topology import Topology, TopologyConfig
from asr.hmm.transition_model import TransitionModel

PHONES = ["SIL", "AA", "B"]


@pytest.fixture
def tm():
    return TransitionModel(PHONES, Topology())


def test_monophone_pdfs_one_per_phone_state(tm):
    assert tm.num_pdfs == 5 + 3 + 3
    pdfs = [tm.pdf_of(p, s) for p in PHONES for s in range(tm.topology.num_states(p))]
    assert sorted(pdfs) == list(range(tm.num_pdfs))
    assert tm.phone_states("AA") == [5, 6, 7]
    with pytest.raises(ValueError, match="no state 3"):
        tm.pdf_of("AA", 3)


def test_transition_id_maps(tm):
    assert tm.num_transition_ids == 2 * tm.num_transition_states
    ts = tm.transition_state("B", 1)
    loop, fwd = tm.transition_id(ts, False), tm.transition_id(ts, True)
    assert fwd == loop + 1
    assert int(tm.tid_to_pdf()[loop]) == tm.pdf_of("B", 1) == int(tm.tid_to_pdf()[fwd])
    assert int(tm.tid_to_phone()[fwd]) == PHONES.index("B")


def test_update_from_counts_with_floor_and_min_count(tm):
    counts = torch.zeros(tm.num_transition_ids)
    a = tm.transition_state("AA", 0)
    counts[2 * a] = 30.0      # self-loops
    counts[2 * a + 1] = 10.0  # forward
    b = tm.transition_state("B", 2)
    counts[2 * b] = 100.0     # never left: forward prob floored
    c = tm.transition_state("B", 0)
    counts[2 * c] = 3.0       # under min_count: unchanged
    before = tm.log_probs.clone()
    tm.update(counts, floor=0.01, min_count=5.0)
    assert math.isclose(float(tm.log_probs[a, 0].exp()), 0.75, rel_tol=1e-5)
    assert math.isclose(float(tm.log_probs[a, 1].exp()), 0.25, rel_tol=1e-5)
    p = tm.log_probs[b].exp()
    assert math.isclose(float(p[1]), 0.01 / 1.01, rel_tol=1e-5)
    assert math.isclose(float(p.sum()), 1.0, rel_tol=1e-6)
    assert torch.equal(tm.log_probs[c], before[c])


def test_state_dict_round_trip(tm):
    tm.log_probs[0] = torch.tensor([0.5, 0.5]).log()
    topo = Topology(TopologyConfig())
    again = TransitionModel.from_state_dict(tm.state_dict(), topo)
    assert torch.equal(again.tuples, tm.tuples)
    assert torch.equal(again.log_probs, tm.log_probs)
    assert again.phones == PHONES


def test_duplicate_phones_rejected():
    with pytest.raises(ValueError, match="duplicate"):
        TransitionModel(["A", "A"], Topology())


def test_tied_model_lookup_needs_the_pdf():
    """A tied model: AH state 0 has two pdfs (two contexts), state 1 shares pdf 1."""
    topo = Topology(TopologyConfig(num_states=2, silence_num_states=1))
    tuples = torch.tensor([[0, 0, 0], [1, 0, 1], [1, 0, 2], [1, 1, 1]])
    tm = TransitionModel(["SIL", "AH"], topo, tuples)
    assert tm.is_tied and tm.num_pdfs == 3 and tm.num_transition_ids == 8
    assert tm.transition_state("AH", 0, pdf=2) == 2
    assert tm.transition_state("AH", 1) == 3 == tm.transition_state("AH", 1, pdf=1)
    assert tm.transition_state("SIL", 0) == 0
    with pytest.raises(ValueError, match="several pdfs"):
        tm.transition_state("AH", 0)
    with pytest.raises(ValueError, match="pdf 0"):
        tm.transition_state("AH", 1, pdf=0)
    assert tm.tid_to_pdf().tolist() == [0, 0, 1, 1, 2, 2, 1, 1]
    assert not TransitionModel(["SIL", "AH"], topo).is_tied


def test_duplicate_tuples_are_rejected():
    topo = Topology(TopologyConfig(num_states=1, silence_num_states=1))
    with pytest.raises(ValueError, match="duplicate"):
        TransitionModel(["SIL"], topo, torch.tensor([[0, 0, 0], [0, 0, 0]]))
