import pytest
import torch

from asr.gmm.diag_gmm import DiagGmmSet
from asr.gmm.fmllr import (FmllrStats, adapt_features, estimate_fmllr,
                           estimate_speaker_transforms, fmllr_objective, identity_transform)
from asr.gmm.lda_mllt import apply_transform

DIM = 4


def _model_and_data(num_pdfs=6, frames=6000, seed=0):
    """A diagonal model with two Gaussians per pdf and frames sampled from it."""
    gen = torch.Generator().manual_seed(seed)
    means = 2 * torch.randn(2 * num_pdfs, DIM, generator=gen, dtype=torch.float64)
    variances = 0.2 + torch.rand(2 * num_pdfs, DIM, generator=gen, dtype=torch.float64)
    gmm = DiagGmmSet(means, variances, torch.full((2 * num_pdfs,), 0.5, dtype=torch.float64).log(),
                     torch.arange(num_pdfs).repeat_interleave(2), num_pdfs)
    pdfs = torch.randint(0, num_pdfs, (frames,), generator=gen)
    g = 2 * pdfs + torch.randint(0, 2, (frames,), generator=gen)
    x = means[g] + variances[g].sqrt() * torch.randn(frames, DIM, generator=gen, dtype=torch.float64)
    return gmm, x, pdfs


def _distortion(seed=3):
    gen = torch.Generator().manual_seed(seed)
    a = torch.eye(DIM, dtype=torch.float64) + 0.3 * torch.randn(DIM, DIM, generator=gen,
                                                                 dtype=torch.float64)
    b = torch.randn(DIM, generator=gen, dtype=torch.float64)
    return a, b


def _stats(gmm, x, pdfs):
    stats = FmllrStats.zeros(DIM)
    stats.accumulate(gmm, x, pdfs)
    return stats


def test_identity_recovered_on_unadapted_data():
    gmm, x, pdfs = _model_and_data()
    w, before, after = estimate_fmllr(_stats(gmm, x, pdfs))
    assert after >= before
    assert after - before < 0.01                      # nats per frame: little to gain
    assert torch.allclose(w, identity_transform(DIM), atol=0.05)


def test_known_distortion_is_inverted():
    """Frames y = A x + b: fMLLR maps them back, W ~ [A^-1, -A^-1 b]."""
    gmm, x, pdfs = _model_and_data()
    a, b = _distortion()
    y = x @ a.T + b
    stats = _stats(gmm, y, pdfs)
    w, before, after = estimate_fmllr(stats)
    assert after > before + 0.5
    a_inv = torch.linalg.inv(a)
    expected = torch.cat([a_inv, -(a_inv @ b)[:, None]], 1)
    assert torch.allclose(w, expected, atol=0.08)


def test_objective_increases_every_row_pass_and_likelihood_follows():
    gmm, x, pdfs = _model_and_data(seed=5)
    a, b = _distortion(seed=6)
    y = x @ a.T + b
    stats = _stats(gmm, y, pdfs)
    objectives = [fmllr_objective(identity_transform(DIM), stats)]
    w = identity_transform(DIM)
    for _ in range(4):
        w, _, _ = estimate_fmllr(stats, init=w, num_iters=1)
        objectives.append(fmllr_objective(w, stats))
    assert all(o2 >= o1 - 1e-9 for o1, o2 in zip(objectives, objectives[1:])), objectives
    assert objectives[-1] > objectives[0]

    def loglike(feats, logdet):
        return float(gmm.loglikes(feats)[torch.arange(len(pdfs)), pdfs].sum()) + len(pdfs) * logdet

    adapted = apply_transform(y, w)
    assert loglike(adapted, float(torch.linalg.slogdet(w[:, :DIM])[1])) > loglike(y, 0.0)


def test_too_little_data_keeps_the_start():
    gmm, x, pdfs = _model_and_data(frames=30)
    w, before, _ = estimate_fmllr(_stats(gmm, x, pdfs), min_count=50)
    assert torch.equal(w, identity_transform(DIM))
    assert before != before                            # nan: not estimated


def test_per_speaker_transforms_and_adaptation():
    gmm, x, pdfs = _model_and_data(frames=8000)
    a, b = _distortion()
    feats = {"s1-u1": x[:4000], "s2-u1": x[4000:6000] @ a.T + b, "s2-u2": x[6000:] @ a.T + b}
    ali = {"s1-u1": pdfs[:4000], "s2-u1": pdfs[4000:6000], "s2-u2": pdfs[6000:]}
    spk2utt = {"s1": ["s1-u1"], "s2": ["s2-u1", "s2-u2"], "s3": ["missing"]}
    utt2spk = {u: s for s, us in spk2utt.items() for u in us}
    weights = {u: (p != 0).double() for u, p in ali.items()}       # pdf 0 plays silence
    transforms, info = estimate_speaker_transforms(gmm, feats, ali, spk2utt, weights=weights)
    assert set(transforms) == {"s1", "s2"}
    assert torch.allclose(transforms["s1"], identity_transform(DIM), atol=0.06)
    assert info["s2"]["aux_after"] > info["s2"]["aux_before"] + 0.5
    assert info["s2"]["frames"] < 4000                 # silence frames weighted 0
    # Re-estimating from the transform found (new Gaussian posteriors) gains little more.
    again, info2 = estimate_speaker_transforms(gmm, feats, ali, spk2utt, init=transforms,
                                               weights=weights)
    assert 0 <= info2["s2"]["aux_after"] - info2["s2"]["aux_before"] < 0.02
    adapted = adapt_features(feats, utt2spk, transforms)
    restored = torch.cat([adapted["s2-u1"], adapted["s2-u2"]])
    assert (restored - x[4000:]).abs().mean() < 0.1
    with pytest.raises(ValueError, match="s1-u1"):
        estimate_speaker_transforms(gmm, feats, {**ali, "s1-u1": pdfs[:10]}, spk2utt)
