"""UtteranceDataset on real AN4 audio: precomputed and on-the-fly features, CMVN,
speed perturbation."""

from __future__ import annotations

import numpy as np
import pytest

from asr.training.dataset import GlobalCMVN, UtteranceDataset

from .helpers import fbank


def test_precomputed_features_and_cmvn(an4_subset, tmp_path):
    cmvn = GlobalCMVN.from_features(an4_subset.feats.values())
    ds = an4_subset.dataset(cmvn=cmvn)
    stacked = np.concatenate([ds[i].feats.numpy() for i in range(len(ds))])
    assert np.allclose(stacked.mean(0), 0.0, atol=1e-3)
    assert np.allclose(stacked.std(0), 1.0, atol=1e-3)
    item = ds[0]
    assert item.utt_id == an4_subset.utt_ids[0]
    assert item.targets.tolist() == an4_subset.targets[item.utt_id]
    cmvn.save(tmp_path / "cmvn.npz")
    again = GlobalCMVN.load(tmp_path / "cmvn.npz")
    assert np.array_equal(again.mean, cmvn.mean) and np.array_equal(again.std, cmvn.std)


def test_callable_feature_source(an4_subset):
    ds = UtteranceDataset(an4_subset.utt_ids, an4_subset.targets, an4_subset.durations,
                          features=lambda utt: an4_subset.feats[utt])
    assert np.array_equal(ds[2].feats.numpy(), an4_subset.feats[an4_subset.utt_ids[2]])


def test_on_the_fly_matches_precomputed_without_perturbation(an4_subset):
    ds = UtteranceDataset(an4_subset.utt_ids, an4_subset.targets, an4_subset.durations,
                          audio=an4_subset.waves.__getitem__, feature_fn=fbank)
    assert np.array_equal(ds[1].feats.numpy(), an4_subset.feats[an4_subset.utt_ids[1]])


def test_speed_perturbation_changes_length_and_is_reproducible(an4_subset):
    kwargs = dict(audio=an4_subset.waves.__getitem__, feature_fn=fbank,
                  speed_factors=(0.9, 1.1), seed=5)
    ds = UtteranceDataset(an4_subset.utt_ids, an4_subset.targets, an4_subset.durations,
                          **kwargs)
    ratios = set()
    for i in range(6):
        item = ds[i]
        nominal = an4_subset.durations[item.utt_id]
        ratios.add(round(nominal / item.duration, 1))
        assert np.array_equal(item.feats.numpy(), ds[i].feats.numpy())  # same epoch, same draw
    assert ratios == {0.9, 1.1}
    ds.train = False  # validation: no perturbation
    assert ds[0].duration == pytest.approx(an4_subset.durations[an4_subset.utt_ids[0]])


def test_cached_features_are_the_computed_ones_and_skip_the_audio(an4_subset):
    reads = []

    def audio(utt):
        reads.append(utt)
        return an4_subset.waves[utt]

    kwargs = dict(audio=audio, feature_fn=fbank, speed_factors=(0.9, 1.0, 1.1), seed=3,
                  cmvn=GlobalCMVN.from_features(an4_subset.feats.values()))
    plain = UtteranceDataset(an4_subset.utt_ids, an4_subset.targets, an4_subset.durations,
                             **kwargs)
    cached = UtteranceDataset(an4_subset.utt_ids, an4_subset.targets, an4_subset.durations,
                              cache=True, **kwargs)
    for epoch in range(4):
        plain.set_epoch(epoch)
        cached.set_epoch(epoch)
        for i in range(len(cached)):
            a, b = plain[i], cached[i]
            assert np.array_equal(a.feats.numpy(), b.feats.numpy()) and a.duration == b.duration
    # one read per (utterance, speed factor) drawn, not per epoch
    assert len(reads) == 4 * len(plain) + len(cached.cache)
    assert len(cached.cache) <= 3 * len(cached)  # 3 factors: reused from the 4th epoch on
    reads.clear()
    cached.set_epoch(1)
    cached[0]
    assert reads == []


def test_bad_sources_are_rejected(an4_subset):
    with pytest.raises(ValueError, match="exactly one feature source"):
        UtteranceDataset(an4_subset.utt_ids, an4_subset.targets, an4_subset.durations)
    with pytest.raises(ValueError, match="speed perturbation"):
        an4_subset.dataset(speed_factors=(0.9, 1.0))
    with pytest.raises(ValueError, match="lack a transcript"):
        UtteranceDataset(an4_subset.utt_ids + ["nope"], an4_subset.targets,
                         an4_subset.durations, features=an4_subset.feats)
