import math

import pytest
import torch

from asr.hmm.topology import FORWARD, SELF_LOOP, Topology, TopologyConfig


def test_default_states_and_silence():
    topo = Topology()
    assert topo.num_states("AA") == 3
    assert topo.num_states("SIL") == 5
    assert topo.is_silence("SIL") and not topo.is_silence("AA")


def test_initial_probabilities_are_normalised():
    topo = Topology(TopologyConfig(num_states=4, silence_num_states=2, self_loop_prob=0.6))
    lp = topo.initial_log_probs("B")
    assert lp.shape == (4, 2)
    assert torch.allclose(lp.exp().sum(1), torch.ones(4))
    assert math.isclose(float(lp[0, SELF_LOOP].exp()), 0.6, rel_tol=1e-6)
    assert math.isclose(float(lp[0, FORWARD].exp()), 0.4, rel_tol=1e-6)
    assert topo.initial_log_probs("SIL").shape == (2, 2)


@pytest.mark.parametrize("kwargs", [dict(num_states=0), dict(silence_num_states=0),
                                    dict(self_loop_prob=1.0), dict(self_loop_prob=0.0)])
def test_bad_config_is_rejected(kwargs):
    with pytest.raises(ValueError, match="topology"):
        TopologyConfig(**kwargs)
