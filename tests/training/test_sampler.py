"""DurationBucketSampler: budgets, coverage, DDP sharding and mid-epoch resume."""

from __future__ import annotations

import numpy as np
import pytest

from asr.training.sampler import DurationBucketSampler, batch_cost


def durations(n: int = 200, seed: int = 0) -> list[float]:
    return np.random.default_rng(seed).uniform(0.5, 15.0, n).round(2).tolist()


@pytest.mark.parametrize("cost", ["padded", "sum"])
def test_batches_stay_within_max_duration(cost):
    durs = durations()
    sampler = DurationBucketSampler(durs, max_duration=40.0, num_buckets=5, cost=cost,
                                    world_size=1, rank=0)
    batches = list(sampler)
    assert batches
    for batch in batches:
        assert batch_cost([durs[i] for i in batch], cost) <= 40.0
    # the budget is used: most batches are more than half full
    fill = [batch_cost([durs[i] for i in b], cost) / 40.0 for b in batches]
    assert np.median(fill) > 0.5


def test_bucketing_limits_padding():
    durs = durations(400)
    bucketed = DurationBucketSampler(durs, 60.0, num_buckets=10, world_size=1, rank=0)
    flat = DurationBucketSampler(durs, 60.0, num_buckets=1, world_size=1, rank=0)

    def padding(sampler):
        return sum(len(b) * max(durs[i] for i in b) - sum(durs[i] for i in b) for b in sampler)

    assert padding(bucketed) < 0.5 * padding(flat)


def test_oversized_utterance_gets_its_own_batch():
    durs = [1.0, 2.0, 50.0, 3.0]
    sampler = DurationBucketSampler(durs, 10.0, num_buckets=1, world_size=1, rank=0)
    batches = list(sampler)
    assert [2] in batches
    assert sampler.num_oversized == 1
    assert sorted(i for b in batches for i in b) == [0, 1, 2, 3]


def test_epoch_covers_every_utterance_once_and_reshuffles():
    durs = durations()
    sampler = DurationBucketSampler(durs, 30.0, seed=3, world_size=1, rank=0)
    sampler.set_epoch(0)
    first = list(sampler)
    assert sorted(i for b in first for i in b) == list(range(len(durs)))
    sampler.set_epoch(1)
    second = list(sampler)
    assert sorted(i for b in second for i in b) == list(range(len(durs)))
    assert first != second
    sampler.set_epoch(0)
    assert list(sampler) == first  # an epoch's order depends on (seed, epoch) only


@pytest.mark.parametrize("world_size", [2, 3])
def test_ranks_get_disjoint_equal_shares(world_size):
    durs = durations(101)
    for epoch in range(3):
        shares = []
        for rank in range(world_size):
            s = DurationBucketSampler(durs, 25.0, seed=1, world_size=world_size, rank=rank)
            s.set_epoch(epoch)
            shares.append(list(s))
        assert len({len(share) for share in shares}) == 1, "unequal batch counts"
        seen = [i for share in shares for b in share for i in b]
        assert sorted(seen) == list(range(len(durs))), "utterance lost or duplicated"


@pytest.mark.parametrize("world_size", [2, 3])
def test_ranks_get_batches_of_similar_cost_at_each_step(world_size):
    """A rank waits for the slowest rank at every step, so the batches that the ranks
    take at the same step are paired by cost; the step order still reshuffles."""
    durs = durations(400)

    def step_costs(epoch):
        shares = []
        for rank in range(world_size):
            s = DurationBucketSampler(durs, 30.0, seed=2, world_size=world_size, rank=rank)
            s.set_epoch(epoch)
            shares.append([batch_cost([durs[i] for i in b]) for b in s])
        return np.array(shares)  # (world_size, steps)

    costs = step_costs(0)
    waste = costs.max(0).sum() / costs.mean(0).sum()
    assert waste < 1.02, f"slowest rank computes {waste:.3f}x the mean"
    assert not np.array_equal(costs, step_costs(1))
    # without pairing (one rank's batches against another epoch's) the waste is larger
    unpaired = np.stack([costs[0], step_costs(1)[1]])
    assert unpaired.max(0).sum() / unpaired.mean(0).sum() > waste


def test_resume_mid_epoch_yields_the_remaining_batches():
    durs = durations()
    sampler = DurationBucketSampler(durs, 30.0, seed=7, world_size=2, rank=1)
    sampler.set_epoch(4)
    full = list(sampler)
    sampler.set_epoch(4)
    sampler.position = 0
    it = iter(sampler)
    head = [next(it) for _ in range(5)]
    state = sampler.state_dict()
    assert state["epoch"] == 4 and state["position"] == 5

    fresh = DurationBucketSampler(durs, 30.0, seed=7, world_size=2, rank=1)
    fresh.load_state_dict(state)
    assert head + list(fresh) == full
    # a trainer passes the number of batches actually consumed
    assert sampler.state_dict(position=3)["position"] == 3


def test_resume_with_different_settings_fails():
    durs = durations()
    state = DurationBucketSampler(durs, 30.0, world_size=1, rank=0).state_dict()
    other = DurationBucketSampler(durs, 20.0, world_size=1, rank=0)
    with pytest.raises(ValueError, match="max_duration"):
        other.load_state_dict(state)


def test_single_utterance_batches_pad_to_equal_rank_shares():
    # 9 dev utterances each filling a batch on their own, 2 ranks: one is repeated
    durs = [9.0] * 9
    shares = [DurationBucketSampler(durs, 10.0, world_size=2, rank=r, shuffle=False)
              for r in range(2)]
    batches = [list(s) for s in shares]
    assert len(batches[0]) == len(batches[1]) == 5
    seen = sorted(i for rank in batches for batch in rank for i in batch)
    assert set(seen) == set(range(9)) and len(seen) == 10
